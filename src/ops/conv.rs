//! Convolution and pooling. `conv2d` and `max_pool2d` are fused ops on backend kernels (one
//! image at a time in cache; max pooling keeps where each maximum came from); average pooling is
//! a mean over `unfold`ed patches (im2col as a differentiable op whose backward is col2im).

use super::{record, same_device};
use crate::backend::{Patches, Storage, Wanted};
use crate::tensor::shape::MAX_ELEMENTS;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// Padding of a convolution or pooling window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Padding {
    /// The same amount on both sides of (height, width).
    Explicit(usize, usize),
    /// Output the size of the input (stride 1): total padding `dilation * (k - 1)`, the odd one
    /// at the end, as TensorFlow and PyTorch do.
    Same,
}

/// Window settings for a 2-D op: kernel, stride, padding, dilation.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: Padding,
    pub dilation: (usize, usize),
}

impl Window {
    /// A pooling window: explicit symmetric padding of at most half the kernel (PyTorch's rule,
    /// so every window covers some input), no dilation.
    fn pooling(
        op: &str,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Window> {
        if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
            bail!("{op}: padding {padding:?} should be at most half the kernel {kernel:?}");
        }
        Ok(Window {
            kernel,
            stride,
            padding: Padding::Explicit(padding.0, padding.1),
            dilation: (1, 1),
        })
    }

    fn patches(&self, op: &str, shape: &[usize]) -> Result<Patches> {
        let [n, c, h, w] = shape else {
            bail!("{op}: expects a 4-D input [N, C, H, W], got shape {shape:?}");
        };
        let (kh, kw) = self.kernel;
        let (sh, sw) = self.stride;
        let (dh, dw) = self.dilation;
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            bail!("{op}: kernel, stride and dilation must be positive, got {self:?}");
        }
        let (pt, pb, pl, pr) = match self.padding {
            Padding::Explicit(ph, pw) => (ph, ph, pw, pw),
            Padding::Same => {
                if sh != 1 || sw != 1 {
                    bail!(
                        "{op}: padding \"same\" needs stride 1, got {:?}",
                        self.stride
                    );
                }
                let (th, tw) = (dh * (kh - 1), dw * (kw - 1));
                (th / 2, th - th / 2, tw / 2, tw - tw / 2)
            }
        };
        let p = Patches {
            n: *n,
            c: *c,
            h: *h,
            w: *w,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw,
            pt,
            pb,
            pl,
            pr,
        };
        // the patch columns (the largest buffer any window op builds) must be allocatable
        let (oh, ow) = (p.out_h(), p.out_w());
        let values = [*n, *c, kh, kw, oh, ow]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&v| v <= MAX_ELEMENTS);
        if values.is_none() {
            let padding = match self.padding {
                Padding::Explicit(a, b) => format!("({a}, {b})"),
                Padding::Same => "\"same\"".to_string(),
            };
            bail!(
                "{op}: input {shape:?} with kernel {:?}, stride {:?} and padding {padding} makes \
                 more than {MAX_ELEMENTS} window values",
                self.kernel,
                self.stride,
            );
        }
        if h + pt + pb < dh * (kh - 1) + 1 || w + pl + pr < dw * (kw - 1) + 1 {
            bail!(
                "{op}: kernel {:?} (dilation {:?}) is larger than the padded input {:?}",
                self.kernel,
                self.dilation,
                &shape[2..]
            );
        }
        Ok(p)
    }
}

impl Tensor {
    /// im2col: `[N, C, H, W]` to patch columns `[C*kh*kw, N*OH*OW]`; `pad` fills outside.
    pub fn unfold_patches(&self, window: &Window, pad: f32) -> Result<(Tensor, Patches)> {
        if self.dtype() != DType::F32 {
            bail!("unfold: expects f32 input, got {}", self.dtype());
        }
        let p = window.patches("unfold", self.shape())?;
        let st = self.storage().im2col(&p, pad)?;
        let shape = vec![p.c * p.kh * p.kw, p.n * p.out_h() * p.out_w()];
        let own = self.shape().to_vec();
        let out = record("unfold", st, shape, &[self], move |g| {
            let st = g.storage().col2im(&p)?;
            Ok(vec![Some(Tensor::from_storage(st, own.clone()))])
        });
        Ok((out, p))
    }

    /// 2-D convolution (cross-correlation, as in PyTorch): input `[N, C, H, W]`, weight
    /// `[O, C, kh, kw]`, optional bias `[O]`; output `[N, O, OH, OW]`.
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: (usize, usize),
        padding: Padding,
        dilation: (usize, usize),
    ) -> Result<Tensor> {
        let ws = weight.shape();
        if ws.len() != 4 || self.ndim() != 4 || ws[1] != self.shape()[1] {
            bail!(
                "conv2d: input {:?} and weight {:?} do not fit ([N, C, H, W] and [O, C, kh, kw])",
                self.shape(),
                ws
            );
        }
        let window = Window {
            kernel: (ws[2], ws[3]),
            stride,
            padding,
            dilation,
        };
        let p = window.patches("conv2d", self.shape())?;
        let o = ws[0];
        if p.n.saturating_mul(o).saturating_mul(p.out_h() * p.out_w()) > MAX_ELEMENTS {
            bail!(
                "conv2d: the output [{}, {o}, {}, {}] would hold more than {MAX_ELEMENTS} values",
                p.n,
                p.out_h(),
                p.out_w()
            );
        }
        if self.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            bail!(
                "conv2d: expects f32 input and weight, got {} and {}",
                self.dtype(),
                weight.dtype()
            );
        }
        if let Some(b) = bias
            && (b.shape() != [o] || b.dtype() != DType::F32)
        {
            bail!(
                "conv2d: bias should be f32 [{o}], got {} {:?}",
                b.dtype(),
                b.shape()
            );
        }
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        same_device("conv2d", &inputs)?;
        let bias_storage = bias.map(|b| b.storage());
        let st = Storage::conv2d(
            &self.storage(),
            &weight.storage(),
            bias_storage.as_deref(),
            &p,
            o,
        )?;
        drop(bias_storage);
        let want = Wanted {
            input: self.requires_grad(),
            weight: weight.requires_grad(),
            bias: bias.is_some_and(|b| b.requires_grad()),
        };
        let has_bias = bias.is_some();
        let (x, w) = (self.clone(), weight.clone());
        let shape = vec![p.n, o, p.out_h(), p.out_w()];
        Ok(record("conv2d", st, shape, &inputs, move |g| {
            let (dx, dw, db) =
                Storage::conv2d_backward(&x.storage(), &w.storage(), &g.storage(), &p, o, want)?;
            let mut grads = vec![
                dx.map(|s| Tensor::from_storage(s, x.shape().to_vec())),
                dw.map(|s| Tensor::from_storage(s, w.shape().to_vec())),
            ];
            if has_bias {
                grads.push(db.map(|s| Tensor::from_storage(s, vec![o])));
            }
            Ok(grads)
        }))
    }

    /// 1-D convolution: input `[N, C, L]`, weight `[O, C, k]`, optional bias `[O]`.
    pub fn conv1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: Padding,
        dilation: usize,
    ) -> Result<Tensor> {
        if self.ndim() != 3 || weight.ndim() != 3 {
            bail!(
                "conv1d: expects input [N, C, L] and weight [O, C, k], got {:?} and {:?}",
                self.shape(),
                weight.shape()
            );
        }
        let pad = match padding {
            Padding::Explicit(_, p) => Padding::Explicit(0, p),
            Padding::Same => Padding::Same,
        };
        let out = self.unsqueeze(2)?.conv2d(
            &weight.unsqueeze(2)?,
            bias,
            (1, stride),
            pad,
            (1, dilation),
        )?;
        out.squeeze_dim(2)
    }

    /// Applies `reduce` to each pooling window: patches regrouped as `[C, kh*kw, N*L]`.
    fn pool2d(
        &self,
        op: &str,
        window: &Window,
        pad: f32,
        reduce: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let (cols, p) = self
            .unfold_patches(window, pad)
            .map_err(|e| anyhow::anyhow!("{op}: {e:#}"))?;
        let grouped = cols.reshape_usize(&[p.c, p.kh * p.kw, p.n * p.out_h() * p.out_w()])?;
        reduce(&grouped)?
            .reshape_usize(&[p.c, p.n, p.out_h(), p.out_w()])?
            .permute(&[1, 0, 2, 3])
    }

    /// Max pooling over `[N, C, H, W]` (padding never wins; NaN propagates as in PyTorch).
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        if self.dtype() != DType::F32 {
            bail!("max_pool2d: expects f32 input, got {}", self.dtype());
        }
        let p = Window::pooling("max_pool2d", kernel, stride, padding)?
            .patches("max_pool2d", self.shape())?;
        let (st, idx) = Storage::max_pool2d(&self.storage(), &p)?;
        let own = self.shape().to_vec();
        let shape = vec![p.n, p.c, p.out_h(), p.out_w()];
        Ok(record("max_pool2d", st, shape, &[self], move |g| {
            let dx = Storage::max_pool2d_backward(&g.storage(), &idx, &p)?;
            Ok(vec![Some(Tensor::from_storage(dx, own.clone()))])
        }))
    }

    /// Average pooling over `[N, C, H, W]` (padding counts as zeros, as PyTorch's default).
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let window = Window::pooling("avg_pool2d", kernel, stride, padding)?;
        self.pool2d("avg_pool2d", &window, 0.0, |g| g.mean_dim(1, false))
    }

    /// Max pooling over `[N, C, L]`.
    pub fn max_pool1d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        if self.ndim() != 3 {
            bail!("max_pool1d: expects [N, C, L], got {:?}", self.shape());
        }
        self.unsqueeze(2)?
            .max_pool2d((1, kernel), (1, stride), (0, padding))?
            .squeeze_dim(2)
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
