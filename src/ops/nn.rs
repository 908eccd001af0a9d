//! Functional neural-network ops: softmax family, one-hot, dropout, embedding lookup (losses are
//! in `loss.rs`).

use crate::backend::Storage;
use crate::tensor::{DType, Device, Tensor, random};
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

    /// One-hot rows for i64 ids (shape `ids.shape + [num_classes]`), as PyTorch's `one_hot`:
    /// i64 unless `dtype` says otherwise; `num_classes` -1 means one more than the largest id.
    pub fn one_hot(ids: &Tensor, num_classes: i64, dtype: DType) -> Result<Tensor> {
        if ids.dtype() != DType::I64 {
            bail!(
                "one_hot: ids must be i64, got {} (shape {:?})",
                ids.dtype(),
                ids.shape()
            );
        }
        let depth = match num_classes {
            -1 if ids.numel() == 0 => bail!(
                "one_hot: cannot infer the number of classes from an empty tensor (shape {:?}); pass num_classes",
                ids.shape()
            ),
            -1 => (ids.max()?.item()? as i64).max(-1) + 1,
            n if n < 0 => bail!("one_hot: num_classes must be -1 or non-negative, got {n}"),
            n => n,
        };
        if let Some(bad) = ids.storage().first_outside(0, depth)? {
            bail!("one_hot: id {bad} is outside 0..{depth}");
        }
        let classes = Tensor::arange(0.0, depth as f64, 1.0, true, ids.device())?;
        ids.unsqueeze(-1)?.eq(&classes)?.to_dtype(dtype)
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
        if self.device() != Device::Cpu {
            // On a device the mask is drawn there (Philox) and built with device ops.
            let d = self.device();
            let u = Tensor::from_storage(
                Storage::uniform(self.numel(), 0.0, 1.0, d)?,
                self.shape().to_vec(),
            );
            let kept = u.lt(&Tensor::scalar_like(keep, DType::F32, d)?)?;
            return self.mul(&kept.to_dtype(DType::F32)?.mul_scalar(scale as f64)?);
        }
        let mut mask = random::uniform_vec(self.numel(), 0.0, 1.0)?;
        for u in &mut mask {
            *u = if (*u as f64) < keep { scale } else { 0.0 };
        }
        self.mul(&Tensor::from_f32(mask, self.shape(), self.device())?)
    }

    /// `x @ weight.T + bias` on the last dimension (PyTorch's `F.linear`; weight `[out, in]`,
    /// bias `[out]`).
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let ws = weight.shape();
        if ws.len() != 2 || self.ndim() == 0 || self.shape()[self.ndim() - 1] != ws[1] {
            bail!(
                "linear: input {:?} and weight {ws:?} do not fit (the input's last dimension must be the weight's in-features, weight [out, in])",
                self.shape()
            );
        }
        if let Some(b) = bias
            && b.shape() != [ws[0]]
        {
            bail!(
                "linear: bias of shape {:?} should be [{}]",
                b.shape(),
                ws[0]
            );
        }
        let y = self.matmul_nt(weight)?;
        match bias {
            Some(b) => y.add(b),
            None => Ok(y),
        }
    }

    /// [`Tensor::embedding`] where ids equal to `padding_idx` (negative counts from the end)
    /// take their row as it is but pass no gradient to it, as PyTorch.
    pub fn embedding_with(
        ids: &Tensor,
        weight: &Tensor,
        padding_idx: Option<i64>,
    ) -> Result<Tensor> {
        let out = Tensor::embedding(ids, weight)?;
        let Some(p) = padding_idx else {
            return Ok(out);
        };
        let v = weight.shape()[0] as i64;
        let p = if p < 0 { p + v } else { p };
        if !(0..v).contains(&p) {
            bail!(
                "embedding: padding_idx {} is outside the vocabulary of {v} rows",
                padding_idx.unwrap_or(p)
            );
        }
        let pad = ids
            .eq(&Tensor::scalar_like(p as f64, DType::I64, ids.device())?)?
            .unsqueeze(-1)?;
        Tensor::where_(&pad, &out.detach(), &out)
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
        if let Some(bad) = ids.storage().first_outside(0, v)? {
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
