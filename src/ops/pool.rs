//! Pooling with PyTorch's options and output sizes. Max pooling is a fused op on a backend
//! kernel that keeps where each maximum came from (so backward is a scatter); average pooling
//! sums `unfold`ed patches and divides by PyTorch's divisor; adaptive average pooling is a
//! product with averaging matrices (it is separable); `ceil_mode` pads the far side further.

use super::conv::{Padding, Window};
use super::record;
use crate::backend::{Patches, Storage};
use crate::tensor::{DType, Tensor};
use anyhow::{Result, anyhow, bail};

/// Settings of a pooling op, per (height, width). [`PoolOptions::new`] gives PyTorch's
/// defaults: stride = kernel, no padding, dilation 1, floor mode, padding counted in averages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoolOptions {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    /// Implicit padding on both sides, at most half the kernel (`-inf` for max, 0 for average).
    pub padding: (usize, usize),
    /// Max pooling only.
    pub dilation: (usize, usize),
    /// Output sizes round up (a last window may start in the padding's near half), as PyTorch.
    pub ceil_mode: bool,
    /// Average pooling: divide by the window's size including explicit padding (else only the
    /// input elements it covers).
    pub count_include_pad: bool,
    /// Average pooling: divide every window's sum by this instead.
    pub divisor_override: Option<usize>,
}

impl PoolOptions {
    pub fn new(kernel: (usize, usize)) -> PoolOptions {
        PoolOptions {
            kernel,
            stride: kernel,
            padding: (0, 0),
            dilation: (1, 1),
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }

    /// The same settings for a 1-D op on width only (height 1, no padding there).
    fn as_1d(&self) -> PoolOptions {
        PoolOptions {
            kernel: (1, self.kernel.1),
            stride: (1, self.stride.1),
            padding: (0, self.padding.1),
            dilation: (1, self.dilation.1),
            ..*self
        }
    }
}

/// PyTorch's `pooling_output_shape`: floor or ceil of the window count, where a ceil-mode last
/// window must start inside the input or the near-side padding.
fn pooled_size(size: usize, k: usize, pad: usize, stride: usize, dil: usize, ceil: bool) -> i64 {
    let (size, k, pad, stride, dil) =
        (size as i64, k as i64, pad as i64, stride as i64, dil as i64);
    let num = size + 2 * pad - dil * (k - 1) - 1 + if ceil { stride - 1 } else { 0 };
    let mut out = num.div_euclid(stride) + 1;
    if ceil && (out - 1) * stride >= size + pad {
        out -= 1;
    }
    out
}

/// Checks `o` against an input `[N, C, H, W]` and returns the window (with the extra far-side
/// padding ceil mode needs) and its geometry.
fn pool_window(op: &str, shape: &[usize], o: &PoolOptions) -> Result<(Window, Patches)> {
    let (k, s, p, d) = (o.kernel, o.stride, o.padding, o.dilation);
    if k.0 == 0 || k.1 == 0 || s.0 == 0 || s.1 == 0 || d.0 == 0 || d.1 == 0 {
        bail!("{op}: kernel, stride and dilation must be positive, got {o:?}");
    }
    if p.0 > k.0 / 2 || p.1 > k.1 / 2 {
        bail!("{op}: padding {p:?} should be at most half the kernel {k:?}");
    }
    let [_, _, h, w] = shape else {
        bail!("{op}: expects a 4-D input [N, C, H, W], got shape {shape:?}");
    };
    let oh = pooled_size(*h, k.0, p.0, s.0, d.0, o.ceil_mode);
    let ow = pooled_size(*w, k.1, p.1, s.1, d.1, o.ceil_mode);
    if oh < 1 || ow < 1 {
        bail!(
            "{op}: input {shape:?} with kernel {k:?}, stride {s:?}, padding {p:?} and dilation \
             {d:?} gives output size {oh} x {ow}, which is too small"
        );
    }
    let extra = |out: i64, size: usize, k: usize, p: usize, s: usize, d: usize| {
        ((out - 1) * s as i64 + (d * (k - 1) + 1) as i64 - (size + 2 * p) as i64).max(0) as usize
    };
    let window = Window {
        kernel: k,
        stride: s,
        padding: Padding::Sides(
            p.0,
            p.0 + extra(oh, *h, k.0, p.0, s.0, d.0),
            p.1,
            p.1 + extra(ow, *w, k.1, p.1, s.1, d.1),
        ),
        dilation: d,
    };
    let patches = window.patches(op, shape)?;
    if patches.out_h() as i64 != oh || patches.out_w() as i64 != ow {
        bail!("{op}: internal: window geometry {patches:?} does not give {oh} x {ow}");
    }
    Ok((window, patches))
}

/// Runs `f` on a batched view of an unbatched input (`batched_rank - 1` dimensions) and
/// removes the batch dimension again.
fn batched(
    x: &Tensor,
    op: &str,
    batched_rank: usize,
    f: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    if x.ndim() == batched_rank {
        f(x)
    } else if x.ndim() + 1 == batched_rank {
        f(&x.unsqueeze(0)?)?.squeeze_dim(0)
    } else {
        let dims = if batched_rank == 4 {
            "[N, C, H, W] or [C, H, W]"
        } else {
            "[N, C, L] or [C, L]"
        };
        bail!("{op}: expects {dims}, got shape {:?}", x.shape())
    }
}

/// Averaging matrix `[out, size]` of adaptive pooling: row `i` averages
/// `floor(i*size/out) .. ceil((i+1)*size/out)`.
fn adaptive_matrix(op: &str, size: usize, out: usize) -> Result<Vec<f32>> {
    let n = crate::tensor::shape::checked_numel(op, &[out, size])?;
    let mut m = crate::backend::memory::filled(op, n, 0f32)?;
    for i in 0..out {
        let start = i * size / out;
        let end = ((i + 1) * size).div_ceil(out);
        let v = 1.0 / (end - start) as f32;
        for j in start..end {
            m[i * size + j] = v;
        }
    }
    Ok(m)
}

impl Tensor {
    /// Max pooling over `[N, C, H, W]` with PyTorch's defaults (stride = kernel).
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let o = PoolOptions {
            stride,
            padding,
            ..PoolOptions::new(kernel)
        };
        self.max_pool2d_with(&o)
    }

    /// Max pooling over `[N, C, H, W]` (or unbatched `[C, H, W]`) with every PyTorch option
    /// (padding never wins; NaN propagates as in PyTorch).
    pub fn max_pool2d_with(&self, o: &PoolOptions) -> Result<Tensor> {
        Ok(self.max_pool2d_indices(o)?.0)
    }

    /// [`Tensor::max_pool2d_with`] and, per output, the index of its maximum within its input
    /// plane `[H, W]` (PyTorch's `return_indices`).
    pub fn max_pool2d_indices(&self, o: &PoolOptions) -> Result<(Tensor, Tensor)> {
        if self.ndim() == 3 {
            let (v, i) = self.unsqueeze(0)?.max_pool2d_indices(o)?;
            return Ok((v.squeeze_dim(0)?, i.squeeze_dim(0)?));
        }
        if self.dtype() != DType::F32 {
            bail!("max_pool2d: expects f32 input, got {}", self.dtype());
        }
        let (_, p) = pool_window("max_pool2d", self.shape(), o)?;
        let (st, idx) = Storage::max_pool2d(&self.storage(), &p)?;
        let own = self.shape().to_vec();
        let shape = vec![p.n, p.c, p.out_h(), p.out_w()];
        let indices = Tensor::from_storage(idx.try_clone()?, shape.clone());
        let out = record("max_pool2d", st, shape, &[self], move |g| {
            let dx = Storage::max_pool2d_backward(&g.storage(), &idx, &p)?;
            Ok(vec![Some(Tensor::from_storage(dx, own.clone()))])
        });
        Ok((out, indices))
    }

    /// Max pooling over `[N, C, L]` (or `[C, L]`); the width components of `o` apply.
    pub fn max_pool1d_with(&self, o: &PoolOptions) -> Result<Tensor> {
        Ok(self.max_pool1d_indices(o)?.0)
    }

    /// [`Tensor::max_pool1d_with`] and the index of each maximum along `L`.
    pub fn max_pool1d_indices(&self, o: &PoolOptions) -> Result<(Tensor, Tensor)> {
        let o = o.as_1d();
        let mut indices = None;
        let out = batched(self, "max_pool1d", 3, |x| {
            let (v, i) = x.unsqueeze(2)?.max_pool2d_indices(&o).map_err(|e| {
                anyhow!(
                    "{}",
                    format!("{e:#}").replacen("max_pool2d", "max_pool1d", 1)
                )
            })?;
            indices = Some(i.squeeze_dim(2)?);
            v.squeeze_dim(2)
        })?;
        let mut indices = indices.expect("set by the pooling");
        if self.ndim() == 2 {
            indices = indices.squeeze_dim(0)?;
        }
        Ok((out, indices))
    }

    /// Max pooling over `[N, C, L]` with stride and padding.
    pub fn max_pool1d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        let o = PoolOptions {
            stride: (1, stride),
            padding: (0, padding),
            ..PoolOptions::new((1, kernel))
        };
        self.max_pool1d_with(&o)
    }

    /// Average pooling over `[N, C, H, W]` (padding counts as zeros, as PyTorch's default).
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let o = PoolOptions {
            stride,
            padding,
            ..PoolOptions::new(kernel)
        };
        self.avg_pool2d_with(&o)
    }

    /// Average pooling over `[N, C, H, W]` (or `[C, H, W]`) with PyTorch's options: the sum
    /// of each window over the divisor — `divisor_override`, or the window's size clipped to
    /// the padded input (`count_include_pad`), or the input elements it covers.
    pub fn avg_pool2d_with(&self, o: &PoolOptions) -> Result<Tensor> {
        let op = "avg_pool2d";
        batched(self, op, 4, |x| {
            if o.dilation != (1, 1) {
                bail!(
                    "{op}: average pooling has no dilation, got {:?}",
                    o.dilation
                );
            }
            if o.divisor_override == Some(0) {
                bail!("{op}: divisor_override must be positive");
            }
            if x.dtype() != DType::F32 {
                bail!("{op}: expects f32 input, got {}", x.dtype());
            }
            let (window, _) = pool_window(op, x.shape(), o)?;
            let (cols, p) = x
                .unfold_patches(&window, 0.0)
                .map_err(|e| anyhow!("{op}: {e:#}"))?;
            let (oh, ow) = (p.out_h(), p.out_w());
            let sums = cols
                .reshape_usize(&[p.c, p.kh * p.kw, p.n * oh * ow])?
                .sum_dim(1, false)?
                .reshape_usize(&[p.c, p.n, oh, ow])?
                .permute(&[1, 0, 2, 3])?;
            let divisor = Tensor::from_f32(avg_divisors(&p, o), &[oh, ow], x.device())?;
            sums.div(&divisor)
        })
    }

    /// Average pooling over `[N, C, L]` (or `[C, L]`); the width components of `o` apply.
    pub fn avg_pool1d_with(&self, o: &PoolOptions) -> Result<Tensor> {
        let o = o.as_1d();
        batched(self, "avg_pool1d", 3, |x| {
            x.unsqueeze(2)?
                .avg_pool2d_with(&o)
                .map_err(|e| {
                    anyhow!(
                        "{}",
                        format!("{e:#}").replacen("avg_pool2d", "avg_pool1d", 1)
                    )
                })?
                .squeeze_dim(2)
        })
    }

    /// Adaptive average pooling of `[N, C, H, W]` (or `[C, H, W]`) to `[.., OH, OW]` (`None`
    /// keeps that size): output cell `(i, j)` averages rows `floor(i H / OH) .. ceil((i+1) H /
    /// OH)` and the columns likewise, as PyTorch.
    pub fn adaptive_avg_pool2d(&self, out: (Option<usize>, Option<usize>)) -> Result<Tensor> {
        let op = "adaptive_avg_pool2d";
        batched(self, op, 4, |x| {
            let (h, w) = (x.shape()[2], x.shape()[3]);
            let (oh, ow) = (out.0.unwrap_or(h), out.1.unwrap_or(w));
            if h == 0 || w == 0 || oh == 0 || ow == 0 {
                bail!(
                    "{op}: input {:?} and output size ({oh}, {ow}) must not be empty",
                    x.shape()
                );
            }
            let x = x.to_dtype(DType::F32)?;
            let rows = Tensor::from_f32(adaptive_matrix(op, h, oh)?, &[oh, h], x.device())?;
            let cols = Tensor::from_f32(adaptive_matrix(op, w, ow)?, &[ow, w], x.device())?;
            rows.matmul(&x.matmul_nt(&cols)?)
        })
    }

    /// Adaptive average pooling of `[N, C, L]` (or `[C, L]`) to length `out`.
    pub fn adaptive_avg_pool1d(&self, out: usize) -> Result<Tensor> {
        let op = "adaptive_avg_pool1d";
        batched(self, op, 3, |x| {
            let l = x.shape()[2];
            if l == 0 || out == 0 {
                bail!(
                    "{op}: input {:?} and output size {out} must not be empty",
                    x.shape()
                );
            }
            let m = Tensor::from_f32(adaptive_matrix(op, l, out)?, &[out, l], x.device())?;
            x.to_dtype(DType::F32)?.matmul_nt(&m)
        })
    }

    /// Mean over all spatial positions: `[N, C, ...]` to `[N, C]`.
    pub fn global_avg_pool(&self) -> Result<Tensor> {
        if self.ndim() < 3 {
            bail!(
                "global_avg_pool: expects [N, C, ...] with spatial dimensions, got {:?}",
                self.shape()
            );
        }
        self.flatten(2, -1)?.mean_dim(2, false)
    }
}

/// PyTorch's divisor of every average-pooling window, `[OH * OW]`.
fn avg_divisors(p: &Patches, o: &PoolOptions) -> Vec<f32> {
    let (ph, pw) = o.padding;
    let along = |i: usize, k: usize, s: usize, pad: usize, size: usize| -> (i64, i64) {
        let start = (i * s) as i64 - pad as i64;
        let end = (start + k as i64).min((size + pad) as i64);
        let full = end - start;
        let covered = end.min(size as i64) - start.max(0);
        (full, covered)
    };
    let mut out = Vec::with_capacity(p.out_h() * p.out_w());
    for i in 0..p.out_h() {
        let (fh, ch) = along(i, p.kh, p.sh, ph, p.h);
        for j in 0..p.out_w() {
            let (fw, cw) = along(j, p.kw, p.sw, pw, p.w);
            let d = match o.divisor_override {
                Some(d) => d as i64,
                None if ch <= 0 || cw <= 0 => 1, // a window over padding only sums to 0
                None if o.count_include_pad => fh * fw,
                None => ch * cw,
            };
            out.push(d as f32);
        }
    }
    out
}
