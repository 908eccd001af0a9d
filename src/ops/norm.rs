//! Batch normalisation as one fused op: statistics and normalisation in two passes, and the
//! closed-form backward (instead of a dozen elementwise ops and reductions).

use super::record;
use crate::backend::Storage;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// What a training-mode batch norm returns besides its output: the batch statistics.
pub struct BatchStats {
    pub mean: Tensor,
    /// Biased variance (divided by the count), as used for normalising.
    pub var: Tensor,
    /// Values per channel (N times the spatial size).
    pub count: usize,
}

impl Tensor {
    fn channel_dims(&self, op: &str) -> Result<(usize, usize, usize)> {
        if self.ndim() < 2 || self.dtype() != DType::F32 {
            bail!(
                "{op}: expects an f32 input [N, C, ...], got {} of shape {:?}",
                self.dtype(),
                self.shape()
            );
        }
        let (n, c) = (self.shape()[0], self.shape()[1]);
        Ok((n, c, self.shape()[2..].iter().product()))
    }

    /// Batch norm with per-channel `mean` and `var` given (evaluation mode): plain ops, so
    /// gradients flow to the input and the affine parameters.
    pub fn batch_norm_eval(
        &self,
        mean: &Tensor,
        var: &Tensor,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        let (_, c, _) = self.channel_dims("batch_norm")?;
        let mut cs = vec![1; self.ndim()];
        cs[1] = c;
        let mut y = self
            .sub(&mean.reshape_usize(&cs)?)?
            .div(&var.add_scalar(eps)?.sqrt()?.reshape_usize(&cs)?)?;
        if let Some(w) = weight {
            y = y.mul(&w.reshape_usize(&cs)?)?;
        }
        if let Some(b) = bias {
            y = y.add(&b.reshape_usize(&cs)?)?;
        }
        Ok(y)
    }

    /// Batch norm with the batch's own statistics (training mode), fused. Returns the output
    /// and the statistics (for the running averages).
    pub fn batch_norm_train(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<(Tensor, BatchStats)> {
        let dims = self.channel_dims("batch_norm")?;
        let (n, c, l) = dims;
        if n * l < 2 {
            bail!(
                "batch_norm: needs more than one value per channel in training mode, got shape {:?}",
                self.shape()
            );
        }
        for (name, p) in [("weight", weight), ("bias", bias)] {
            if let Some(p) = p
                && p.shape() != [c]
            {
                bail!(
                    "batch_norm: {name} of shape {:?} should be [{c}]",
                    p.shape()
                );
            }
        }
        let (mean, var) = self.storage().channel_stats(dims)?;
        let invstd: Vec<f32> = var.iter().map(|&v| 1.0 / (v + eps as f32).sqrt()).collect();
        let wv = weight.map(|w| w.to_f32_vec());
        let bv = bias.map(|b| b.to_f32_vec());
        let st =
            self.storage()
                .channel_normalize(dims, &mean, &invstd, wv.as_deref(), bv.as_deref())?;
        let device = self.device();
        let stats = BatchStats {
            mean: Tensor::from_f32(mean.clone(), &[c], device)?,
            var: Tensor::from_f32(var, &[c], device)?,
            count: n * l,
        };
        let mut inputs: Vec<&Tensor> = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (x, has_w, has_b) = (self.clone(), weight.is_some(), bias.is_some());
        let y = record("batch_norm", st, self.shape().to_vec(), &inputs, move |g| {
            let (dx, dw, db) = Storage::batch_norm_backward(
                &g.storage(),
                &x.storage(),
                dims,
                &mean,
                &invstd,
                wv.as_deref(),
            )?;
            let mut out = vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))];
            if has_w {
                out.push(Some(Tensor::from_f32(dw, &[c], device)?));
            }
            if has_b {
                out.push(Some(Tensor::from_f32(db, &[c], device)?));
            }
            Ok(out)
        });
        Ok((y, stats))
    }
}
