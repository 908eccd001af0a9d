//! The layer types.

mod attention;
mod conv;
mod dense;
mod norm;
mod recurrent;
mod sequence;
mod simple;

pub use attention::Attention;
pub use conv::{AdaptiveAvgPool, Conv, ConvTranspose, Pool, PoolKind, Upsample};
pub use dense::{Embedding, Linear};
pub use norm::{BatchNorm, LayerNorm};
pub use recurrent::{
    CellInit, CellKind, Recurrent, RecurrentCell, SequenceConfig, SequenceInput, SequenceOutput,
};
pub use sequence::{RepeatVector, TimeDistributed};
pub use simple::{Activation, Dropout, Flatten, GlobalAvgPool, Sequential};

use crate::tensor::Tensor;
use anyhow::{Result, bail};

/// Replaces `slot` with `t` (shape already checked by `Module::set_tensor`).
pub(crate) fn replace(slot: &mut Tensor, t: Tensor) -> Result<()> {
    *slot = t;
    Ok(())
}

/// The `weight` and `bias` entries of a layer's parameter list (either may be absent).
pub(crate) fn weight_and_bias(
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
) -> Vec<(&'static str, Tensor)> {
    let mut p = Vec::new();
    if let Some(w) = weight {
        p.push(("weight", w.clone()));
    }
    if let Some(b) = bias {
        p.push(("bias", b.clone()));
    }
    p
}

/// Replaces `weight` or `bias` by name, when the layer has it.
pub(crate) fn set_weight_or_bias(
    kind: &str,
    name: &str,
    t: Tensor,
    weight: Option<&mut Tensor>,
    bias: Option<&mut Tensor>,
) -> Result<()> {
    match (name, weight, bias) {
        ("weight", Some(w), _) => replace(w, t),
        ("bias", _, Some(b)) => replace(b, t),
        _ => bail!("{kind} has no {name:?}"),
    }
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
