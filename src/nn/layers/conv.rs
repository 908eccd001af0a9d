//! Convolution and pooling layers (1-D and 2-D).

use super::{expect_rank, set_weight_or_bias, weight_and_bias};
use crate::nn::Layer;
use crate::nn::init::{Init, make};
use crate::ops::Padding;
use crate::tensor::{Device, Tensor};
use anyhow::{Result, bail};

/// Convolution over `[N, C, L]` (1-D) or `[N, C, H, W]` (2-D); weight `[O, C, k...]`.
pub struct Conv {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub dims: usize,
    pub stride: usize,
    pub padding: Padding,
    pub dilation: usize,
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dims: usize,
        inp: usize,
        out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        dilation: usize,
        bias: bool,
        init: &Init,
        device: Device,
    ) -> Result<Conv> {
        if kernel == 0 || stride == 0 || dilation == 0 || inp == 0 || out == 0 {
            bail!("conv{dims}d: channels, kernel, stride and dilation must be positive");
        }
        let shape: Vec<usize> = if dims == 1 {
            vec![out, inp, kernel]
        } else {
            vec![out, inp, kernel, kernel]
        };
        let weight = make(init, &shape, device)?.requires_grad_(true)?;
        let bias = if bias {
            let fan_in = (inp * kernel.pow(dims as u32)) as f64;
            Some(
                Tensor::uniform(&[out], -1.0 / fan_in.sqrt(), 1.0 / fan_in.sqrt(), device)?
                    .requires_grad_(true)?,
            )
        } else {
            None
        };
        Ok(Conv {
            weight,
            bias,
            dims,
            stride,
            padding,
            dilation,
        })
    }
}

impl Layer for Conv {
    fn kind(&self) -> &'static str {
        if self.dims == 1 { "Conv1d" } else { "Conv2d" }
    }
    fn describe(&self) -> String {
        let s = self.weight.shape();
        format!(
            "{}({} -> {}, kernel {}, stride {})",
            self.kind(),
            s[1],
            s[0],
            s[2],
            self.stride
        )
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank(self.kind(), x, &[self.dims + 2])?;
        if self.dims == 1 {
            x.conv1d(
                &self.weight,
                self.bias.as_ref(),
                self.stride,
                self.padding,
                self.dilation,
            )
        } else {
            x.conv2d(
                &self.weight,
                self.bias.as_ref(),
                (self.stride, self.stride),
                self.padding,
                (self.dilation, self.dilation),
            )
        }
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        weight_and_bias(Some(&self.weight), self.bias.as_ref())
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        let kind = self.kind();
        set_weight_or_bias(kind, name, t, Some(&mut self.weight), self.bias.as_mut())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// Max or average pooling, 1-D or 2-D.
pub struct Pool {
    pub kind: PoolKind,
    pub dims: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Layer for Pool {
    fn kind(&self) -> &'static str {
        match (self.kind, self.dims) {
            (PoolKind::Max, 1) => "MaxPool1d",
            (PoolKind::Max, _) => "MaxPool2d",
            (PoolKind::Avg, 1) => "AvgPool1d",
            (PoolKind::Avg, _) => "AvgPool2d",
        }
    }
    fn describe(&self) -> String {
        format!("{}({}, stride {})", self.kind(), self.kernel, self.stride)
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank(self.kind(), x, &[self.dims + 2])?;
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        match (self.kind, self.dims) {
            (PoolKind::Max, 1) => x.max_pool1d(k, s, p),
            (PoolKind::Max, _) => x.max_pool2d((k, k), (s, s), (p, p)),
            (PoolKind::Avg, 1) => x
                .unsqueeze(2)?
                .avg_pool2d((1, k), (1, s), (0, p))?
                .squeeze_dim(2),
            (PoolKind::Avg, _) => x.avg_pool2d((k, k), (s, s), (p, p)),
        }
    }
}
