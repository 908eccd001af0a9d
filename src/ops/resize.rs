//! Padding (`pad`: constant, reflect, replicate, circular) and resampling (`interpolate`:
//! nearest, nearest-exact, linear, bilinear, area), with PyTorch's index rules computed in f32
//! as PyTorch does. Non-constant padding and nearest resampling gather along each dimension;
//! (bi)linear resampling multiplies by interpolation matrices (it is separable); everything is
//! made of differentiable ops.

use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// How `pad` fills the new border.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value (negative amounts crop).
    Constant,
    /// Mirror without repeating the edge: `[a b c]` padded by 2 on the left is `c b a b c`.
    Reflect,
    /// Repeat the edge value.
    Replicate,
    /// Wrap around.
    Circular,
}

impl PadMode {
    pub fn parse(op: &str, s: &str) -> Result<PadMode> {
        Ok(match s {
            "constant" | "zeros" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            "replicate" => PadMode::Replicate,
            "circular" => PadMode::Circular,
            other => bail!(
                "{op}: mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got {other:?}"
            ),
        })
    }

    fn name(self) -> &'static str {
        match self {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Replicate => "replicate",
            PadMode::Circular => "circular",
        }
    }
}

/// Resampling rule of `interpolate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpMode {
    /// PyTorch's `nearest`: source `floor(dst * scale)` (a known off-centre rule, kept).
    Nearest,
    /// Source `floor((dst + 0.5) * scale)`, the centred rule.
    NearestExact,
    /// 1-D linear interpolation of `[N, C, L]`.
    Linear,
    /// 2-D linear interpolation of `[N, C, H, W]`.
    Bilinear,
    /// Adaptive average pooling to the output size.
    Area,
}

impl InterpMode {
    pub fn parse(s: &str) -> Result<InterpMode> {
        Ok(match s {
            "nearest" => InterpMode::Nearest,
            "nearest-exact" => InterpMode::NearestExact,
            "linear" => InterpMode::Linear,
            "bilinear" => InterpMode::Bilinear,
            "area" => InterpMode::Area,
            other => bail!(
                "interpolate: mode must be \"nearest\", \"nearest-exact\", \"linear\", \"bilinear\" or \"area\", got {other:?}"
            ),
        })
    }
}

/// Options of `interpolate` (PyTorch's defaults: mode nearest, `align_corners` unset, which
/// means false for the linear modes).
#[derive(Clone, Debug)]
pub struct InterpolateOptions {
    /// Output size of each spatial dimension (one value applies to all).
    pub size: Option<Vec<usize>>,
    /// Multiplier of each spatial dimension (one value applies to all); the output size is
    /// `floor(input * factor)`.
    pub scale_factor: Option<Vec<f64>>,
    pub mode: InterpMode,
    /// Linear modes: map corner pixel centres onto each other (else pixel areas, `false`).
    pub align_corners: Option<bool>,
    /// With `scale_factor`: index from the computed output size instead of the factor.
    pub recompute_scale_factor: bool,
}

impl Default for InterpolateOptions {
    fn default() -> Self {
        InterpolateOptions {
            size: None,
            scale_factor: None,
            mode: InterpMode::Nearest,
            align_corners: None,
            recompute_scale_factor: false,
        }
    }
}

/// PyTorch's `compute_scales_value`: `1 / scale` when a positive scale factor was given, else
/// `input / output`, as f32.
fn scale_value(scale: Option<f64>, input: usize, output: usize) -> f32 {
    match scale {
        Some(s) if s > 0.0 => (1.0 / s) as f32,
        _ => input as f32 / output as f32,
    }
}

/// Source index of every output position for the nearest modes.
fn nearest_indices(
    input: usize,
    output: usize,
    scale: Option<f64>,
    exact: bool,
) -> Result<Vec<i64>> {
    crate::backend::memory::check::<i64>("interpolate", output)?;
    let last = input as i64 - 1;
    let s = scale_value(scale, input, output);
    let idx = (0..output)
        .map(|dst| {
            if !exact && output == input {
                dst as i64
            } else if !exact && output == 2 * input {
                (dst >> 1) as i64
            } else if exact {
                (((dst as f64 + 0.5) * s as f64) as f32).floor() as i64
            } else {
                (dst as f32 * s).floor() as i64
            }
            .min(last)
        })
        .collect();
    Ok(idx)
}

/// The `[output, input]` matrix of 1-D linear interpolation (PyTorch's source index and
/// weights, in f32).
fn linear_matrix(input: usize, output: usize, scale: Option<f64>, align: bool) -> Result<Vec<f32>> {
    let n = crate::tensor::shape::checked_numel("interpolate", &[output, input])?;
    let mut m = crate::backend::memory::filled("interpolate", n, 0f32)?;
    let ratio = if align {
        if output > 1 {
            (input as f32 - 1.0) / (output as f32 - 1.0)
        } else {
            0.0
        }
    } else {
        scale_value(scale, input, output)
    };
    for dst in 0..output {
        let (i0, i1, l0, l1) = if output == input {
            (dst, dst, 1f32, 0f32)
        } else {
            let real = if align {
                ratio * dst as f32
            } else {
                (ratio * (dst as f32 + 0.5) - 0.5).max(0.0)
            };
            let i0 = (real.floor() as usize).min(input - 1);
            let l1 = (real - i0 as f32).clamp(0.0, 1.0);
            let i1 = if i0 + 1 < input { i0 + 1 } else { i0 };
            (i0, i1, 1.0 - l1, l1)
        };
        m[dst * input + i0] += l0;
        m[dst * input + i1] += l1;
    }
    Ok(m)
}

impl Tensor {
    /// PyTorch's `F.pad`: `pads` lists (before, after) amounts from the last dimension
    /// backwards. Constant padding fills with `value` (negative amounts crop); reflect,
    /// replicate and circular pad up to the last three dimensions, keeping a leading one.
    pub fn pad(&self, pads: &[i64], mode: PadMode, value: f64) -> Result<Tensor> {
        let op = "pad";
        if !pads.len().is_multiple_of(2) || pads.len() / 2 > self.ndim() {
            bail!(
                "{op}: needs (before, after) pairs for at most {} dimensions, got {pads:?} for shape {:?}",
                self.ndim(),
                self.shape()
            );
        }
        let dims = pads.len() / 2;
        if mode != PadMode::Constant {
            if dims > 3 || dims + 1 > self.ndim() {
                bail!(
                    "{op}: {} padding applies to at most the last 3 dimensions and keeps a leading one; got {dims} of shape {:?}",
                    mode.name(),
                    self.shape()
                );
            }
            if let Some(bad) = pads.iter().find(|&&p| p < 0) {
                bail!(
                    "{op}: {} padding amounts must be non-negative, got {bad}",
                    mode.name()
                );
            }
        }
        let mut x = self.clone();
        for k in 0..dims {
            let dim = self.ndim() - 1 - k;
            let (before, after) = (pads[2 * k], pads[2 * k + 1]);
            x = match mode {
                PadMode::Constant => x.pad_constant(dim, before, after, value)?,
                _ => x.pad_gather(dim, before as usize, after as usize, mode)?,
            };
        }
        Ok(x)
    }

    fn pad_constant(&self, dim: usize, before: i64, after: i64, value: f64) -> Result<Tensor> {
        let size = self.shape()[dim] as i64;
        let (crop_b, crop_a) = ((-before).max(0), (-after).max(0));
        if crop_b + crop_a > size {
            bail!(
                "pad: cropping {crop_b} and {crop_a} from dimension {dim} of shape {:?} leaves nothing",
                self.shape()
            );
        }
        let mut x = if crop_b + crop_a > 0 {
            self.narrow(dim as i64, crop_b, size - crop_b - crop_a)?
        } else {
            self.clone()
        };
        let fill = |n: i64, x: &Tensor| -> Result<Tensor> {
            let mut shape = x.shape().to_vec();
            shape[dim] = n as usize;
            Tensor::full(&shape, value, x.dtype(), x.device())
        };
        if before > 0 || after > 0 {
            let mut parts = Vec::new();
            if before > 0 {
                parts.push(fill(before, &x)?);
            }
            parts.push(x.clone());
            if after > 0 {
                parts.push(fill(after, &x)?);
            }
            x = Tensor::cat(&parts, dim as i64)?;
        }
        Ok(x)
    }

    fn pad_gather(&self, dim: usize, before: usize, after: usize, mode: PadMode) -> Result<Tensor> {
        let size = self.shape()[dim];
        let ok = match mode {
            PadMode::Reflect => before < size && after < size,
            PadMode::Circular => before <= size && after <= size && size > 0,
            _ => size > 0,
        };
        if !ok {
            bail!(
                "pad: {} padding of ({before}, {after}) does not fit dimension {dim} of shape {:?} ({})",
                mode.name(),
                self.shape(),
                if mode == PadMode::Reflect {
                    "each amount must be smaller than the size"
                } else {
                    "the amounts may not exceed the size"
                }
            );
        }
        if before == 0 && after == 0 {
            return Ok(self.clone());
        }
        let (n, last) = (size as i64, size as i64 - 1);
        let idx: Vec<i64> = (-(before as i64)..n + after as i64)
            .map(|j| match mode {
                PadMode::Reflect if j < 0 => -j,
                PadMode::Reflect if j > last => 2 * last - j,
                PadMode::Replicate => j.clamp(0, last),
                PadMode::Circular => j.rem_euclid(n),
                _ => j,
            })
            .collect();
        let len = idx.len();
        let idx = Tensor::from_i64(idx, &[len], self.device())?;
        self.index_select(dim as i64, &idx)
    }

    /// PyTorch's `F.interpolate` over the spatial dimensions of `[N, C, ...]`: nearest and
    /// nearest-exact for 1 to 3 of them, linear for `[N, C, L]`, bilinear for
    /// `[N, C, H, W]`, area (adaptive average pooling) for 1 or 2.
    pub fn interpolate(&self, o: &InterpolateOptions) -> Result<Tensor> {
        let op = "interpolate";
        let spatial = self.ndim().saturating_sub(2);
        if spatial == 0 {
            bail!(
                "{op}: expects [N, C, ...] with spatial dimensions, got {:?}",
                self.shape()
            );
        }
        let want = match o.mode {
            InterpMode::Linear => Some(1),
            InterpMode::Bilinear => Some(2),
            _ => None,
        };
        if let Some(w) = want
            && w != spatial
        {
            bail!(
                "{op}: mode {:?} needs {} spatial dimension(s) ([N, C, {}]), got shape {:?}",
                o.mode,
                w,
                if w == 1 { "L" } else { "H, W" },
                self.shape()
            );
        }
        if spatial > 3 || (o.mode == InterpMode::Area && spatial > 2) {
            bail!(
                "{op}: mode {:?} does not take shape {:?}",
                o.mode,
                self.shape()
            );
        }
        let linear = matches!(o.mode, InterpMode::Linear | InterpMode::Bilinear);
        if o.align_corners.is_some() && !linear {
            bail!("{op}: align_corners applies only to the linear modes");
        }
        let input = &self.shape()[2..];
        let broadcast = |v: &[f64]| -> Result<Vec<f64>> {
            match v.len() {
                1 => Ok(vec![v[0]; spatial]),
                n if n == spatial => Ok(v.to_vec()),
                n => bail!("{op}: {n} sizes or factors for {spatial} spatial dimension(s)"),
            }
        };
        let (out, scales): (Vec<usize>, Vec<Option<f64>>) = match (&o.size, &o.scale_factor) {
            (Some(s), None) => {
                let s: Vec<f64> = s.iter().map(|&v| v as f64).collect();
                (
                    broadcast(&s)?.iter().map(|&v| v as usize).collect(),
                    vec![None; spatial],
                )
            }
            (None, Some(f)) => {
                let f = broadcast(f)?;
                if let Some(bad) = f.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                    bail!("{op}: scale factors must be positive, got {bad}");
                }
                let out = input
                    .iter()
                    .zip(&f)
                    .map(|(&i, &s)| (i as f64 * s).floor() as usize)
                    .collect();
                let scales = if o.recompute_scale_factor {
                    vec![None; spatial]
                } else {
                    f.into_iter().map(Some).collect()
                };
                (out, scales)
            }
            _ => bail!("{op}: give exactly one of size and scale_factor"),
        };
        if out.contains(&0) || input.contains(&0) {
            bail!(
                "{op}: input {:?} to output {out:?}: sizes must be positive",
                self.shape()
            );
        }
        let align = o.align_corners.unwrap_or(false);
        let x = self;
        match o.mode {
            InterpMode::Nearest | InterpMode::NearestExact => {
                let exact = o.mode == InterpMode::NearestExact;
                let mut y = x.clone();
                for (k, (&i, &n)) in input.iter().zip(&out).enumerate() {
                    let idx = nearest_indices(i, n, scales[k], exact)?;
                    let idx = Tensor::from_i64(idx, &[n], x.device())?;
                    y = y.index_select((k + 2) as i64, &idx)?;
                }
                Ok(y)
            }
            InterpMode::Linear => {
                let m = linear_matrix(input[0], out[0], scales[0], align)?;
                let m = Tensor::from_f32(m, &[out[0], input[0]], x.device())?;
                x.to_dtype(DType::F32)?.matmul_nt(&m)
            }
            InterpMode::Bilinear => {
                let mh = linear_matrix(input[0], out[0], scales[0], align)?;
                let mw = linear_matrix(input[1], out[1], scales[1], align)?;
                let mh = Tensor::from_f32(mh, &[out[0], input[0]], x.device())?;
                let mw = Tensor::from_f32(mw, &[out[1], input[1]], x.device())?;
                mh.matmul(&x.to_dtype(DType::F32)?.matmul_nt(&mw)?)
            }
            InterpMode::Area => {
                if spatial == 1 {
                    x.adaptive_avg_pool1d(out[0])
                } else {
                    x.adaptive_avg_pool2d((Some(out[0]), Some(out[1])))
                }
            }
        }
    }
}
