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
        let (mean, var) = (
            Tensor::from_storage(mean, vec![c]),
            Tensor::from_storage(var, vec![c]),
        );
        let invstd = {
            let _guard = crate::tensor::no_grad();
            var.add_scalar(eps)?.sqrt()?.reciprocal()?
        };
        let (wd, bd) = (weight.map(|w| w.detach()), bias.map(|b| b.detach()));
        let st = self.storage().channel_normalize(
            dims,
            &mean.storage(),
            &invstd.storage(),
            wd.as_ref().map(|w| w.storage()).as_deref(),
            bd.as_ref().map(|b| b.storage()).as_deref(),
        )?;
        let stats = BatchStats {
            mean: mean.clone(),
            var,
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
                &mean.storage(),
                &invstd.storage(),
                wd.as_ref().map(|w| w.storage()).as_deref(),
            )?;
            let mut out = vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))];
            if has_w {
                out.push(Some(Tensor::from_storage(dw, vec![c])));
            }
            if has_b {
                out.push(Some(Tensor::from_storage(db, vec![c])));
            }
            Ok(out)
        });
        Ok((y, stats))
    }
}

/// Settings of the functional batch norm (PyTorch's defaults: evaluation mode, momentum 0.1,
/// eps 1e-5).
#[derive(Clone, Copy, Debug)]
pub struct BatchNormOptions {
    /// Normalise with the batch's statistics (and update the running ones, if given).
    pub training: bool,
    /// `running = (1 - momentum) running + momentum batch` (the variance unbiased).
    pub momentum: f64,
    pub eps: f64,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            training: false,
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}

impl Tensor {
    /// PyTorch's `F.batch_norm` over `[N, C, ...]`: in training mode the batch's statistics
    /// normalise (fused op) and `running_mean`/`running_var`, when given, are updated in place
    /// with `momentum` and the unbiased variance; otherwise the running statistics normalise.
    pub fn batch_norm(
        &self,
        running_mean: Option<&Tensor>,
        running_var: Option<&Tensor>,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        o: &BatchNormOptions,
    ) -> Result<Tensor> {
        let (_, c, _) = self.channel_dims("batch_norm")?;
        for (name, t) in [
            ("running_mean", running_mean),
            ("running_var", running_var),
            ("weight", weight),
            ("bias", bias),
        ] {
            if let Some(t) = t
                && (t.shape() != [c] || t.dtype() != DType::F32)
            {
                bail!(
                    "batch_norm: {name} should be f32 [{c}] for input {:?}, got {} {:?}",
                    self.shape(),
                    t.dtype(),
                    t.shape()
                );
            }
        }
        if o.eps.is_nan() || o.eps <= 0.0 || !(0.0..=1.0).contains(&o.momentum) {
            bail!(
                "batch_norm: eps must be positive and momentum in [0, 1], got {} and {}",
                o.eps,
                o.momentum
            );
        }
        if !o.training {
            let (Some(m), Some(v)) = (running_mean, running_var) else {
                bail!("batch_norm: evaluation mode needs running_mean and running_var");
            };
            return self.batch_norm_eval(m, v, weight, bias, o.eps);
        }
        let (y, stats) = self.batch_norm_train(weight, bias, o.eps)?;
        let _g = crate::tensor::no_grad();
        let m = o.momentum;
        if let Some(rm) = running_mean {
            rm.assign_(&rm.mul_scalar(1.0 - m)?.add(&stats.mean.mul_scalar(m)?)?)?;
        }
        if let Some(rv) = running_var {
            let unbiased = stats
                .var
                .mul_scalar(stats.count as f64 / (stats.count - 1) as f64)?;
            rv.assign_(&rv.mul_scalar(1.0 - m)?.add(&unbiased.mul_scalar(m)?)?)?;
        }
        Ok(y)
    }

    /// PyTorch's `F.layer_norm`: normalises over the trailing dimensions `shape` (biased
    /// variance, `eps` inside the square root), then scales by `weight` and shifts by `bias`
    /// (both of `shape`).
    pub fn layer_norm(
        &self,
        shape: &[usize],
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        let k = shape.len();
        if k == 0 || self.ndim() < k || self.shape()[self.ndim() - k..] != *shape {
            bail!(
                "layer_norm: expects an input ending in the normalised shape {shape:?}, got {:?}",
                self.shape()
            );
        }
        for (name, t) in [("weight", weight), ("bias", bias)] {
            if let Some(t) = t
                && t.shape() != shape
            {
                bail!(
                    "layer_norm: {name} of shape {:?} should be {shape:?}",
                    t.shape()
                );
            }
        }
        let x = self.to_dtype(DType::F32)?;
        let mut flat_shape = x.shape()[..x.ndim() - k].to_vec();
        flat_shape.push(shape.iter().product());
        let flat = x.reshape_usize(&flat_shape)?;
        let mean = flat.mean_dim(-1, true)?;
        let centred = flat.sub(&mean)?;
        let var = centred.mul(&centred)?.mean_dim(-1, true)?;
        let mut y = centred
            .div(&var.add_scalar(eps)?.sqrt()?)?
            .reshape_usize(x.shape())?;
        if let Some(w) = weight {
            y = y.mul(w)?;
        }
        if let Some(b) = bias {
            y = y.add(b)?;
        }
        Ok(y)
    }
}
