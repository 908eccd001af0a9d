//! Functional neural-network ops: softmax family, losses, dropout, embedding lookup.

use crate::tensor::{DType, Tensor, random};
use anyhow::{Result, bail};

impl Tensor {
    /// `exp(x) / sum(exp(x))` along `dim`, computed stably.
    /// Softmax along `dim` where `mask` (bool or 0/1, broadcastable) is false gets weight
    /// exactly 0; a row with nothing unmasked is all zeros.
    pub fn masked_softmax(&self, mask: &Tensor, dim: i64) -> Result<Tensor> {
        let m = mask.to_dtype(DType::F32)?;
        let shifted = self.add(&m.sub_scalar(1.0)?.mul_scalar(1e9)?)?;
        shifted.softmax(dim)?.mul(&m)
    }

    pub fn softmax(&self, dim: i64) -> Result<Tensor> {
        let x = self.to_dtype(DType::F32)?;
        let e = x.sub(&x.amax(dim, true)?.detach())?.exp()?;
        e.div(&e.sum_dim(dim, true)?)
    }

    /// `log(softmax(x))` along `dim`, computed stably.
    pub fn log_softmax(&self, dim: i64) -> Result<Tensor> {
        let x = self.to_dtype(DType::F32)?;
        let z = x.sub(&x.amax(dim, true)?.detach())?;
        z.sub(&z.exp()?.sum_dim(dim, true)?.log()?)
    }

    /// f32 one-hot rows of length `depth` for i64 ids (shape `ids.shape + [depth]`).
    pub fn one_hot(ids: &Tensor, depth: i64) -> Result<Tensor> {
        if ids.dtype() != DType::I64 {
            bail!(
                "one_hot: ids must be i64, got {} (shape {:?})",
                ids.dtype(),
                ids.shape()
            );
        }
        if let Some(bad) = ids.to_i64_vec().iter().find(|&&i| i < 0 || i >= depth) {
            bail!("one_hot: id {bad} is outside 0..{depth}");
        }
        let classes = Tensor::arange(0.0, depth as f64, 1.0, true, ids.device())?;
        ids.unsqueeze(-1)?.eq(&classes)?.to_dtype(DType::F32)
    }

    /// Checks `logits [..., C]` against labels `[...]` and returns `(logits [N, C], labels [N])`.
    fn class_rows(op: &str, logits: &Tensor, target: &Tensor) -> Result<(Tensor, Tensor)> {
        let lead = &logits.shape()[..logits.ndim().saturating_sub(1)];
        if logits.ndim() == 0 || target.shape() != lead {
            bail!(
                "{op}: logits of shape {:?} need labels of shape {lead:?} (classes along the last dimension), got {:?}",
                logits.shape(),
                target.shape()
            );
        }
        let c = logits.shape()[logits.ndim() - 1];
        if let Some(bad) = target
            .to_i64_vec()
            .iter()
            .find(|&&t| t < 0 || t >= c as i64)
        {
            bail!(
                "{op}: label {bad} is outside 0..{c} for logits of shape {:?}",
                logits.shape()
            );
        }
        Ok((logits.reshape(&[-1, c as i64])?, target.reshape(&[-1, 1])?))
    }

    /// Mean negative log-likelihood of i64 labels under log-probabilities `[..., C]`.
    pub fn nll_loss(logp: &Tensor, target: &Tensor) -> Result<Tensor> {
        if target.dtype() != DType::I64 {
            bail!("nll_loss: labels must be i64, got {}", target.dtype());
        }
        let (lp, t) = Tensor::class_rows("nll_loss", logp, target)?;
        lp.gather(1, &t)?.mean()?.neg()
    }

    /// Softmax cross-entropy of logits `[..., C]` with i64 labels `[...]`, or with probability
    /// targets of the logits' shape; averaged over rows.
    pub fn cross_entropy(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
        match target.dtype() {
            DType::I64 => {
                let (lg, t) = Tensor::class_rows("cross_entropy", logits, target)?;
                lg.log_softmax(1)?.gather(1, &t)?.mean()?.neg()
            }
            DType::F32 => {
                if target.shape() != logits.shape() {
                    bail!(
                        "cross_entropy: probability targets of shape {:?} must match logits {:?}",
                        target.shape(),
                        logits.shape()
                    );
                }
                let rows =
                    (logits.numel() / logits.shape().last().copied().unwrap_or(1).max(1)).max(1);
                logits
                    .log_softmax(-1)?
                    .mul(target)?
                    .sum()?
                    .div_scalar(rows as f64)?
                    .neg()
            }
            DType::Bool => bail!("cross_entropy: targets must be i64 labels or f32 probabilities"),
        }
    }

    /// Mean squared error.
    pub fn mse_loss(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        Tensor::check_same_shape("mse_loss", pred, target)?;
        pred.squared_difference(target)?.mean()
    }

    fn check_same_shape(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
        if a.shape() != b.shape() {
            bail!(
                "{op}: prediction shape {:?} and target shape {:?} differ",
                a.shape(),
                b.shape()
            );
        }
        Ok(())
    }

    /// Mean binary cross-entropy of probabilities (log terms clamped at -100, as PyTorch does).
    pub fn binary_cross_entropy(p: &Tensor, y: &Tensor) -> Result<Tensor> {
        Tensor::check_same_shape("binary_cross_entropy", p, y)?;
        let y = y.to_dtype(DType::F32)?;
        let lp = p.log()?.clamp(-100.0, f64::MAX)?;
        let lq = p.rsub_scalar(1.0)?.log()?.clamp(-100.0, f64::MAX)?;
        y.mul(&lp)?
            .add(&y.rsub_scalar(1.0)?.mul(&lq)?)?
            .mean()?
            .neg()
    }

    /// Mean binary cross-entropy of logits: `max(x,0) - x*y + log(1 + e^-|x|)`.
    pub fn binary_cross_entropy_with_logits(x: &Tensor, y: &Tensor) -> Result<Tensor> {
        Tensor::check_same_shape("binary_cross_entropy_with_logits", x, y)?;
        let y = y.to_dtype(DType::F32)?;
        x.relu()?
            .sub(&x.mul(&y)?)?
            .add(&x.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?)?
            .mean()
    }

    /// Zeroes each element with probability `p` and scales the rest by `1/(1-p)` when training.
    pub fn dropout(&self, p: f64, training: bool) -> Result<Tensor> {
        if !(0.0..=1.0).contains(&p) {
            bail!("dropout: probability must be in [0, 1], got {p}");
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        if p == 1.0 {
            return self.mul_scalar(0.0);
        }
        let keep = 1.0 - p;
        let scale = (1.0 / keep) as f32;
        let mask: Vec<f32> = random::uniform_vec(self.numel(), 0.0, 1.0)
            .into_iter()
            .map(|u| if (u as f64) < keep { scale } else { 0.0 })
            .collect();
        self.mul(&Tensor::from_f32(mask, self.shape(), self.device())?)
    }

    /// Rows of `weight [V, D]` for i64 ids of any shape (result `ids.shape + [D]`); the
    /// gradient scatter-adds into the rows used.
    pub fn embedding(ids: &Tensor, weight: &Tensor) -> Result<Tensor> {
        if weight.ndim() != 2 {
            bail!(
                "embedding: weight must be 2-D [vocab, dim], got shape {:?}",
                weight.shape()
            );
        }
        if ids.dtype() != DType::I64 {
            bail!(
                "embedding: ids must be i64, got {} (shape {:?})",
                ids.dtype(),
                ids.shape()
            );
        }
        let v = weight.shape()[0] as i64;
        if let Some(bad) = ids.to_i64_vec().iter().find(|&&i| i < 0 || i >= v) {
            bail!(
                "embedding: id {bad} is outside the vocabulary 0..{v} (weight shape {:?})",
                weight.shape()
            );
        }
        let rows = weight.index_select(0, &ids.flatten_all()?)?;
        let mut shape = ids.shape().to_vec();
        shape.push(weight.shape()[1]);
        rows.reshape_usize(&shape)
    }
}
