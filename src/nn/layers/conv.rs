//! Convolution, transposed convolution, pooling and resampling layers (1-D and 2-D). Each
//! forward is the functional op of the same name (`Tensor::conv2d_with`, `max_pool2d_with`,
//! `interpolate`, ...): a layer only holds its weights and settings.

use super::{expect_rank, set_weight_or_bias, weight_and_bias};
use crate::nn::Layer;
use crate::nn::init::{Init, fans, make};
use crate::ops::{
    ConvOptions, ConvTransposeOptions, InterpolateOptions, PadMode, Padding, PoolOptions,
};
use crate::tensor::{Device, Tensor};
use anyhow::{Result, bail};

/// Weights of a convolution: `shape` in PyTorch's layout, `init` for the weight, and the bias
/// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` PyTorch draws (zeros for another initialiser's weight).
fn conv_weights(
    shape: &[usize],
    bias: Option<usize>,
    init: &Init,
    device: Device,
) -> Result<(Tensor, Option<Tensor>)> {
    let weight = make(init, shape, device)?.requires_grad_(true)?;
    let bias = match bias {
        None => None,
        Some(n) => {
            // PyTorch's fan_in of a weight [a, b, k...] is b * prod(k), for plain and
            // transposed convolutions alike.
            let bound = 1.0 / (fans(shape).0.max(1) as f64).sqrt();
            let b = if *init == Init::Default {
                Tensor::uniform(&[n], -bound, bound, device)?
            } else {
                Tensor::zeros(&[n], crate::tensor::DType::F32, device)?
            };
            Some(b.requires_grad_(true)?)
        }
    };
    Ok((weight, bias))
}

/// Convolution over `[N, C, L]` (1-D) or `[N, C, H, W]` (2-D); weight `[O, C/groups, k...]`.
pub struct Conv {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub dims: usize,
    pub options: ConvOptions,
    /// How the padding is filled: `Constant` (zeros, inside the convolution), or reflect,
    /// replicate, circular (padded first, as PyTorch's `padding_mode`).
    pub padding_mode: PadMode,
}

impl Conv {
    /// A convolution from `inp` to `out` channels; `kernel` is (height, width), height 1 in 1-D.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dims: usize,
        inp: usize,
        out: usize,
        kernel: (usize, usize),
        options: ConvOptions,
        padding_mode: PadMode,
        bias: bool,
        init: &Init,
        device: Device,
    ) -> Result<Conv> {
        let name = if dims == 1 {
            "nn::conv1d"
        } else {
            "nn::conv2d"
        };
        let g = options.groups;
        let (s, d) = (options.stride, options.dilation);
        if kernel.0 == 0 || kernel.1 == 0 || s.0 == 0 || s.1 == 0 || d.0 == 0 || d.1 == 0 {
            bail!("{name}: kernel, stride and dilation must be positive");
        }
        if inp == 0 || out == 0 || g == 0 || !inp.is_multiple_of(g) || !out.is_multiple_of(g) {
            bail!(
                "{name}: in ({inp}) and out ({out}) channels must be positive and divisible by groups ({g})"
            );
        }
        if options.padding == Padding::Same && (s.0 != 1 || s.1 != 1) {
            bail!("{name}: padding \"same\" needs stride 1, got {s:?}");
        }
        let mut shape = vec![out, inp / g];
        if dims == 2 {
            shape.push(kernel.0);
        }
        shape.push(kernel.1);
        let (weight, bias) = conv_weights(&shape, bias.then_some(out), init, device)?;
        Ok(Conv {
            weight,
            bias,
            dims,
            options,
            padding_mode,
        })
    }

    fn kernel(&self) -> (usize, usize) {
        let s = self.weight.shape();
        if self.dims == 1 {
            (1, s[2])
        } else {
            (s[2], s[3])
        }
    }
}

impl Layer for Conv {
    fn kind(&self) -> &'static str {
        if self.dims == 1 { "Conv1d" } else { "Conv2d" }
    }
    fn describe(&self) -> String {
        let s = self.weight.shape();
        let o = &self.options;
        let k = self.kernel();
        let mut d = format!(
            "{}({} -> {}, kernel {}, stride {}",
            self.kind(),
            s[1] * o.groups,
            s[0],
            if self.dims == 1 {
                k.1.to_string()
            } else {
                format!("{k:?}")
            },
            if self.dims == 1 {
                o.stride.1.to_string()
            } else {
                format!("{:?}", o.stride)
            },
        );
        if o.groups > 1 {
            d.push_str(&format!(", groups {}", o.groups));
        }
        if self.padding_mode != PadMode::Constant {
            d.push_str(&format!(", padding_mode {:?}", self.padding_mode).to_lowercase());
        }
        d + ")"
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank(self.kind(), x, &[self.dims + 2])?;
        let mut o = self.options;
        let x = if self.padding_mode == PadMode::Constant {
            x.clone()
        } else {
            let [t, b, l, r] = o.padding.sides(self.kernel(), o.dilation);
            o.padding = Padding::Explicit(0, 0);
            let pads: Vec<i64> = if self.dims == 1 {
                vec![l as i64, r as i64]
            } else {
                vec![l as i64, r as i64, t as i64, b as i64]
            };
            x.pad(&pads, self.padding_mode, 0.0)?
        };
        if self.dims == 1 {
            x.conv1d_with(&self.weight, self.bias.as_ref(), &o)
        } else {
            x.conv2d_with(&self.weight, self.bias.as_ref(), &o)
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

/// Transposed convolution (U-Net style upsampling); weight `[C_in, C_out/groups, k...]`.
pub struct ConvTranspose {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub dims: usize,
    pub options: ConvTransposeOptions,
}

impl ConvTranspose {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dims: usize,
        inp: usize,
        out: usize,
        kernel: (usize, usize),
        options: ConvTransposeOptions,
        bias: bool,
        init: &Init,
        device: Device,
    ) -> Result<ConvTranspose> {
        let name = if dims == 1 {
            "nn::conv_transpose1d"
        } else {
            "nn::conv_transpose2d"
        };
        let g = options.groups;
        if kernel.0 == 0 || kernel.1 == 0 || inp == 0 || out == 0 || g == 0 {
            bail!("{name}: channels, kernel and groups must be positive");
        }
        if !inp.is_multiple_of(g) || !out.is_multiple_of(g) {
            bail!("{name}: in ({inp}) and out ({out}) channels must be divisible by groups ({g})");
        }
        let mut shape = vec![inp, out / g];
        if dims == 2 {
            shape.push(kernel.0);
        }
        shape.push(kernel.1);
        let (weight, bias) = conv_weights(&shape, bias.then_some(out), init, device)?;
        Ok(ConvTranspose {
            weight,
            bias,
            dims,
            options,
        })
    }
}

impl Layer for ConvTranspose {
    fn kind(&self) -> &'static str {
        if self.dims == 1 {
            "ConvTranspose1d"
        } else {
            "ConvTranspose2d"
        }
    }
    fn describe(&self) -> String {
        let s = self.weight.shape();
        format!(
            "{}({} -> {}, kernel {:?}, stride {:?})",
            self.kind(),
            s[0],
            s[1] * self.options.groups,
            &s[2..],
            if self.dims == 1 {
                vec![self.options.stride.1]
            } else {
                vec![self.options.stride.0, self.options.stride.1]
            }
        )
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank(self.kind(), x, &[self.dims + 2])?;
        if self.dims == 1 {
            x.conv_transpose1d_with(&self.weight, self.bias.as_ref(), &self.options)
        } else {
            x.conv_transpose2d_with(&self.weight, self.bias.as_ref(), &self.options)
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

/// Max or average pooling, 1-D or 2-D, with PyTorch's options.
pub struct Pool {
    pub kind: PoolKind,
    pub dims: usize,
    pub options: PoolOptions,
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
        let o = &self.options;
        if self.dims == 1 {
            format!("{}({}, stride {})", self.kind(), o.kernel.1, o.stride.1)
        } else if o.kernel.0 == o.kernel.1 && o.stride.0 == o.stride.1 {
            format!("{}({}, stride {})", self.kind(), o.kernel.0, o.stride.0)
        } else {
            format!("{}({:?}, stride {:?})", self.kind(), o.kernel, o.stride)
        }
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank(self.kind(), x, &[self.dims + 1, self.dims + 2])?;
        let o = &self.options;
        match (self.kind, self.dims) {
            (PoolKind::Max, 1) => x.max_pool1d_with(o),
            (PoolKind::Max, _) => x.max_pool2d_with(o),
            (PoolKind::Avg, 1) => x.avg_pool1d_with(o),
            (PoolKind::Avg, _) => x.avg_pool2d_with(o),
        }
    }
}

/// Adaptive average pooling to a fixed output size (`None` keeps that dimension).
pub struct AdaptiveAvgPool {
    pub dims: usize,
    pub size: (Option<usize>, Option<usize>),
}

impl Layer for AdaptiveAvgPool {
    fn kind(&self) -> &'static str {
        if self.dims == 1 {
            "AdaptiveAvgPool1d"
        } else {
            "AdaptiveAvgPool2d"
        }
    }
    fn describe(&self) -> String {
        let show = |v: Option<usize>| v.map_or("None".to_string(), |v| v.to_string());
        if self.dims == 1 {
            format!("{}({})", self.kind(), show(self.size.1))
        } else {
            format!(
                "{}(({}, {}))",
                self.kind(),
                show(self.size.0),
                show(self.size.1)
            )
        }
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        expect_rank(self.kind(), x, &[self.dims + 1, self.dims + 2])?;
        if self.dims == 1 {
            let n = self.size.1.unwrap_or(x.shape()[x.ndim() - 1]);
            x.adaptive_avg_pool1d(n)
        } else {
            x.adaptive_avg_pool2d(self.size)
        }
    }
}

/// Resampling as a layer (PyTorch's `nn.Upsample`): `interpolate` with fixed options.
pub struct Upsample {
    pub options: InterpolateOptions,
}

impl Layer for Upsample {
    fn kind(&self) -> &'static str {
        "Upsample"
    }
    fn describe(&self) -> String {
        let o = &self.options;
        match (&o.size, &o.scale_factor) {
            (Some(s), _) => format!("Upsample(size {s:?}, {:?})", o.mode),
            (_, Some(f)) => format!("Upsample(scale {f:?}, {:?})", o.mode),
            _ => "Upsample".into(),
        }
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        x.interpolate(&self.options)
    }
}
