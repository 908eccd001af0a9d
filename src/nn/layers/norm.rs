//! Batch normalisation (with running statistics) and layer normalisation, over the functional
//! `batch_norm` and `layer_norm`.

use super::{expect_rank, replace, set_weight_or_bias, weight_and_bias};
use crate::nn::Layer;
use crate::ops::BatchNormOptions;
use crate::tensor::{DType, Device, Tensor, no_grad};
use anyhow::{Result, bail};

/// Batch norm over the channel dimension 1 of `[N, C]`, `[N, C, L]` or `[N, C, H, W]`, the
/// functional `batch_norm` with the layer's buffers. Training normalises with the batch's
/// statistics and updates the running ones (`running = (1 - momentum) running + momentum
/// batch`, unbiased variance; with `momentum` unset, the cumulative average over
/// `num_batches_tracked` batches), as PyTorch; evaluation uses the running statistics. Without
/// `track_running_stats` there are no buffers and the batch's statistics are always used.
pub struct BatchNorm {
    pub dims: usize,
    pub channels: usize,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running_mean: Option<Tensor>,
    pub running_var: Option<Tensor>,
    /// i64 scalar: training batches seen (PyTorch's buffer of the same name).
    pub num_batches_tracked: Option<Tensor>,
    /// `None`: a cumulative moving average.
    pub momentum: Option<f64>,
    pub eps: f64,
}

impl BatchNorm {
    pub fn new(
        dims: usize,
        channels: usize,
        momentum: Option<f64>,
        eps: f64,
        affine: bool,
        track_running_stats: bool,
        device: Device,
    ) -> Result<BatchNorm> {
        if momentum.is_some_and(|m| !(0.0..=1.0).contains(&m))
            || eps.is_nan()
            || eps <= 0.0
            || channels == 0
        {
            bail!(
                "batch_norm: channels must be positive, momentum in [0, 1] and eps positive, got {channels}, {momentum:?} and {eps}"
            );
        }
        let param = |v: f64| {
            Tensor::full(&[channels], v, DType::F32, device).and_then(|t| t.requires_grad_(true))
        };
        let buffer = |v: f64| -> Result<Option<Tensor>> {
            track_running_stats
                .then(|| Tensor::full(&[channels], v, DType::F32, device))
                .transpose()
        };
        Ok(BatchNorm {
            dims,
            channels,
            weight: if affine { Some(param(1.0)?) } else { None },
            bias: if affine { Some(param(0.0)?) } else { None },
            running_mean: buffer(0.0)?,
            running_var: buffer(1.0)?,
            num_batches_tracked: track_running_stats
                .then(|| Tensor::zeros(&[], DType::I64, device))
                .transpose()?,
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
        format!("{}({})", self.kind(), self.channels)
    }
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        let ranks: &[usize] = if self.dims == 1 { &[2, 3] } else { &[4] };
        expect_rank(self.kind(), x, ranks)?;
        let c = self.channels;
        if x.shape()[1] != c {
            bail!(
                "expects {c} channels in dimension 1, got shape {:?}",
                x.shape()
            );
        }
        let tracking = self.running_mean.is_some();
        let use_batch = training || !tracking;
        let mut momentum = self.momentum.unwrap_or(0.0);
        if training && let Some(n) = &self.num_batches_tracked {
            let _g = no_grad();
            n.assign_(&n.add_scalar(1.0)?)?;
            if self.momentum.is_none() {
                momentum = 1.0 / n.item()?;
            }
        }
        let o = BatchNormOptions {
            training: use_batch,
            momentum,
            eps: self.eps,
        };
        // without tracking there are no buffers, and the batch's statistics are used
        x.batch_norm(
            self.running_mean.as_ref(),
            self.running_var.as_ref(),
            self.weight.as_ref(),
            self.bias.as_ref(),
            &o,
        )
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        weight_and_bias(self.weight.as_ref(), self.bias.as_ref())
    }
    fn buffers(&self) -> Vec<(&'static str, Tensor)> {
        let mut b = Vec::new();
        for (name, t) in [
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ] {
            if let Some(t) = t {
                b.push((name, t.clone()));
            }
        }
        b
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        let kind = self.kind();
        let slot = match name {
            "running_mean" => &mut self.running_mean,
            "running_var" => &mut self.running_var,
            "num_batches_tracked" => &mut self.num_batches_tracked,
            _ => {
                return set_weight_or_bias(kind, name, t, self.weight.as_mut(), self.bias.as_mut());
            }
        };
        match slot {
            Some(s) => replace(s, t.detach()),
            None => bail!("{kind} does not track running statistics, so it has no {name:?}"),
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
        x.layer_norm(
            &self.shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
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
