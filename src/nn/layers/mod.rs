//! The layer types.

mod conv;
mod dense;
mod norm;
mod simple;

pub use conv::{Conv, Pool, PoolKind};
pub use dense::{Embedding, Linear};
pub use norm::{BatchNorm, LayerNorm};
pub use simple::{Activation, Dropout, Flatten, GlobalAvgPool, Sequential};

use crate::tensor::Tensor;
use anyhow::{Result, bail};

/// Replaces `slot` with `t` (shape already checked by `Module::set_tensor`).
pub(crate) fn replace(slot: &mut Tensor, t: Tensor) -> Result<()> {
    *slot = t;
    Ok(())
}

/// Checks a layer's input rank.
pub(crate) fn expect_rank(layer: &str, x: &Tensor, ranks: &[usize]) -> Result<()> {
    if !ranks.contains(&x.ndim()) {
        bail!(
            "{layer}: expects an input with {ranks:?} dimensions, got shape {:?}",
            x.shape()
        );
    }
    Ok(())
}
