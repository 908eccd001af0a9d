//! Batch normalisation (with running statistics) and layer normalisation.

use super::{expect_rank, replace, set_weight_or_bias, weight_and_bias};
use crate::nn::Layer;
use crate::tensor::{DType, Device, Tensor, no_grad};
use anyhow::{Result, bail};

/// Batch norm over the channel dimension 1 of `[N, C]`, `[N, C, L]` or `[N, C, H, W]`.
/// Training normalises with the batch's statistics and updates the running ones
/// (`running = (1 - momentum) * running + momentum * batch`, unbiased variance, as PyTorch);
/// evaluation uses the running statistics.
pub struct BatchNorm {
    pub dims: usize,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub momentum: f64,
    pub eps: f64,
}

impl BatchNorm {
    pub fn new(
        dims: usize,
        channels: usize,
        momentum: f64,
        eps: f64,
        affine: bool,
        device: Device,
    ) -> Result<BatchNorm> {
        if !(0.0..=1.0).contains(&momentum) || eps <= 0.0 {
            bail!(
                "batch_norm: momentum must be in [0, 1] and eps positive, got {momentum} and {eps}"
            );
        }
        let param = |v: f64| {
            Tensor::full(&[channels], v, DType::F32, device).and_then(|t| t.requires_grad_(true))
        };
        Ok(BatchNorm {
            dims,
            weight: if affine { Some(param(1.0)?) } else { None },
            bias: if affine { Some(param(0.0)?) } else { None },
            running_mean: Tensor::zeros(&[channels], DType::F32, device)?,
            running_var: Tensor::ones(&[channels], DType::F32, device)?,
            momentum,
            eps,
        })
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> &'static str {
        if self.dims == 1 {
            "BatchNorm1d"
        } else {
            "BatchNorm2d"
        }
    }
    fn describe(&self) -> String {
        format!("{}({})", self.kind(), self.running_mean.numel())
    }
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        let ranks: &[usize] = if self.dims == 1 { &[2, 3] } else { &[4] };
        expect_rank(self.kind(), x, ranks)?;
        let c = self.running_mean.numel();
        if x.shape()[1] != c {
            bail!(
                "expects {c} channels in dimension 1, got shape {:?}",
                x.shape()
            );
        }
        if training {
            let (y, stats) =
                x.batch_norm_train(self.weight.as_ref(), self.bias.as_ref(), self.eps)?;
            let _g = no_grad();
            let m = self.momentum;
            let unbiased = stats
                .var
                .mul_scalar(stats.count as f64 / (stats.count - 1) as f64)?;
            self.running_mean = self
                .running_mean
                .mul_scalar(1.0 - m)?
                .add(&stats.mean.mul_scalar(m)?)?;
            self.running_var = self
                .running_var
                .mul_scalar(1.0 - m)?
                .add(&unbiased.mul_scalar(m)?)?;
            Ok(y)
        } else {
            x.batch_norm_eval(
                &self.running_mean,
                &self.running_var,
                self.weight.as_ref(),
                self.bias.as_ref(),
                self.eps,
            )
        }
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        weight_and_bias(self.weight.as_ref(), self.bias.as_ref())
    }
    fn buffers(&self) -> Vec<(&'static str, Tensor)> {
        vec![
            ("running_mean", self.running_mean.clone()),
            ("running_var", self.running_var.clone()),
        ]
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        match name {
            "running_mean" => replace(&mut self.running_mean, t.detach()),
            "running_var" => replace(&mut self.running_var, t.detach()),
            _ => {
                let kind = self.kind();
                set_weight_or_bias(kind, name, t, self.weight.as_mut(), self.bias.as_mut())
            }
        }
    }
}

/// Normalises over the last dimensions (`normalized_shape`), with an optional affine map.
pub struct LayerNorm {
    pub shape: Vec<usize>,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub eps: f64,
}

impl LayerNorm {
    pub fn new(shape: Vec<usize>, eps: f64, affine: bool, device: Device) -> Result<LayerNorm> {
        if shape.is_empty() {
            bail!("layer_norm: needs the normalised shape (the last dimensions of the input)");
        }
        let param = |v: f64| {
            Tensor::full(&shape, v, DType::F32, device).and_then(|t| t.requires_grad_(true))
        };
        Ok(LayerNorm {
            weight: if affine { Some(param(1.0)?) } else { None },
            bias: if affine { Some(param(0.0)?) } else { None },
            shape,
            eps,
        })
    }
}

impl Layer for LayerNorm {
    fn kind(&self) -> &'static str {
        "LayerNorm"
    }
    fn describe(&self) -> String {
        format!("LayerNorm({:?})", self.shape)
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let k = self.shape.len();
        if x.ndim() < k || x.shape()[x.ndim() - k..] != self.shape[..] {
            bail!(
                "expects inputs ending in {:?}, got shape {:?}",
                self.shape,
                x.shape()
            );
        }
        let lead = x.shape()[..x.ndim() - k].to_vec();
        let mut flat_shape = lead.clone();
        flat_shape.push(self.shape.iter().product());
        let flat = x.reshape_usize(&flat_shape)?;
        let mean = flat.mean_dim(-1, true)?;
        let centred = flat.sub(&mean)?;
        let var = centred.mul(&centred)?.mean_dim(-1, true)?;
        let mut y = centred
            .div(&var.add_scalar(self.eps)?.sqrt()?)?
            .reshape_usize(x.shape())?;
        if let Some(w) = &self.weight {
            y = y.mul(w)?;
        }
        if let Some(b) = &self.bias {
            y = y.add(b)?;
        }
        Ok(y)
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        weight_and_bias(self.weight.as_ref(), self.bias.as_ref())
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        set_weight_or_bias(
            "LayerNorm",
            name,
            t,
            self.weight.as_mut(),
            self.bias.as_mut(),
        )
    }
}
