//! Sequence helpers: a layer applied at every time step, and a vector repeated over time.

use super::expect_rank;
use crate::nn::{Layer, Module};
use crate::tensor::Tensor;
use anyhow::{Result, bail};

/// Applies a layer to every step of `[B, T, ...]` by folding time into the batch.
/// (Linear layers already act on the last dimension; this also covers layers that do not.)
pub struct TimeDistributed {
    pub inner: Module,
}

impl Layer for TimeDistributed {
    fn kind(&self) -> &'static str {
        "TimeDistributed"
    }
    fn describe(&self) -> String {
        format!("TimeDistributed({})", self.inner.describe())
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        if x.ndim() < 3 {
            bail!(
                "expects [B, T, ...] (at least 3 dimensions), got shape {:?}",
                x.shape()
            );
        }
        let (b, t) = (x.shape()[0], x.shape()[1]);
        let mut folded = vec![b * t];
        folded.extend_from_slice(&x.shape()[2..]);
        let y = self.inner.forward(&x.reshape_usize(&folded)?)?;
        let mut out = vec![b, t];
        out.extend_from_slice(&y.shape()[1..]);
        y.reshape_usize(&out)
    }
    fn children(&self) -> Vec<Module> {
        vec![self.inner.clone()]
    }
}

/// `[B, F]` to `[B, n, F]`: the same vector at each of `n` steps (a decoder's input).
pub struct RepeatVector {
    pub n: usize,
}

impl Layer for RepeatVector {
    fn kind(&self) -> &'static str {
        "RepeatVector"
    }
    fn describe(&self) -> String {
        format!("RepeatVector({})", self.n)
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank("RepeatVector", x, &[2])?;
        let (b, f) = (x.shape()[0] as i64, x.shape()[1] as i64);
        x.unsqueeze(1)?.expand(&[b, self.n as i64, f])
    }
}
