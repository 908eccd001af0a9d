//! Convolution: `conv2d` is a fused op on a backend kernel (one image at a time in cache);
//! groups split the channels into independent convolutions; `conv1d` is a 2-D convolution of
//! height 1; the transposed convolution is a matrix product folded back into images (col2im as
//! a differentiable op whose backward is im2col). `unfold`/`fold` and the window geometry
//! (`Window`, `Padding`) are shared with pooling (`pool.rs`).

use super::resize::PadMode;
use super::{record, same_device};
use crate::backend::{Patches, Storage, Wanted};
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
    /// Top, bottom, left, right (pooling with `ceil_mode` pads the end further).
    Sides(usize, usize, usize, usize),
}

impl Padding {
    /// Top, bottom, left and right amounts for a kernel with the given dilation.
    pub fn sides(&self, kernel: (usize, usize), dilation: (usize, usize)) -> [usize; 4] {
        match *self {
            Padding::Explicit(ph, pw) => [ph, ph, pw, pw],
            Padding::Sides(t, b, l, r) => [t, b, l, r],
            Padding::Same => {
                let th = dilation.0.saturating_mul(kernel.0.saturating_sub(1));
                let tw = dilation.1.saturating_mul(kernel.1.saturating_sub(1));
                [th / 2, th - th / 2, tw / 2, tw - tw / 2]
            }
        }
    }
}

/// Settings of a convolution (PyTorch's defaults: stride 1, no padding, dilation 1, 1 group).
#[derive(Clone, Copy, Debug)]
pub struct ConvOptions {
    pub stride: (usize, usize),
    pub padding: Padding,
    pub dilation: (usize, usize),
    /// Input and output channels split into this many independent convolutions (the input
    /// channels for a depthwise convolution).
    pub groups: usize,
}

impl Default for ConvOptions {
    fn default() -> Self {
        ConvOptions {
            stride: (1, 1),
            padding: Padding::Explicit(0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// Settings of a transposed convolution (PyTorch's defaults: stride 1, no padding or output
/// padding, dilation 1, 1 group).
#[derive(Clone, Copy, Debug)]
pub struct ConvTransposeOptions {
    pub stride: (usize, usize),
    /// Removed from both sides of the output (`dilation * (k - 1) - padding` pads the input).
    pub padding: (usize, usize),
    /// Added to one side of the output, to pick among the sizes a strided convolution maps
    /// to the same input size; smaller than the stride or the dilation.
    pub output_padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for ConvTransposeOptions {
    fn default() -> Self {
        ConvTransposeOptions {
            stride: (1, 1),
            padding: (0, 0),
            output_padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
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
    /// The geometry of this window over an input `[N, C, H, W]`, checked.
    pub(super) fn patches(&self, op: &str, shape: &[usize]) -> Result<Patches> {
        let [n, c, h, w] = shape else {
            bail!("{op}: expects a 4-D input [N, C, H, W], got shape {shape:?}");
        };
        let (kh, kw) = self.kernel;
        let (sh, sw) = self.stride;
        let (dh, dw) = self.dilation;
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            bail!("{op}: kernel, stride and dilation must be positive, got {self:?}");
        }
        if self.padding == Padding::Same && (sh != 1 || sw != 1) {
            bail!(
                "{op}: padding \"same\" needs stride 1, got {:?}",
                self.stride
            );
        }
        let [pt, pb, pl, pr] = self.padding.sides(self.kernel, self.dilation);
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
        // a window larger than the padded input has no position
        let fits = |x: usize, a: usize, b: usize, d: usize, k: usize| {
            let padded = x.checked_add(a).and_then(|v| v.checked_add(b));
            let span = d.checked_mul(k - 1).and_then(|v| v.checked_add(1));
            matches!((padded, span), (Some(p), Some(s)) if p >= s)
        };
        if !fits(*h, pt, pb, dh, kh) || !fits(*w, pl, pr, dw, kw) {
            bail!(
                "{op}: kernel {:?} (dilation {:?}) is larger than the padded input {:?}",
                self.kernel,
                self.dilation,
                &shape[2..]
            );
        }
        // every size the kernels compute must be representable (whether the buffers fit in
        // memory is checked when they are allocated)
        p.validate(op)?;
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

    /// col2im: patch columns `[C*kh*kw, N*OH*OW]` summed back into images `[N, C, H, W]` (the
    /// adjoint of [`Tensor::unfold_patches`], whose forward is this op's backward).
    pub fn fold_patches(&self, p: &Patches) -> Result<Tensor> {
        let cols = vec![p.c * p.kh * p.kw, p.n * p.out_h() * p.out_w()];
        if self.shape() != cols.as_slice() || self.dtype() != DType::F32 {
            bail!(
                "fold: expects f32 patch columns {cols:?}, got {} {:?}",
                self.dtype(),
                self.shape()
            );
        }
        let st = self.storage().col2im(p)?;
        let p = *p;
        Ok(record(
            "fold",
            st,
            vec![p.n, p.c, p.h, p.w],
            &[self],
            move |g| {
                let st = g.storage().im2col(&p, 0.0)?;
                Ok(vec![Some(Tensor::from_storage(st, cols.clone()))])
            },
        ))
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
        let o = ConvOptions {
            stride,
            padding,
            dilation,
            groups: 1,
        };
        self.conv2d_with(weight, bias, &o)
    }

    /// 2-D convolution with groups: input `[N, C, H, W]`, weight `[O, C/groups, kh, kw]`,
    /// optional bias `[O]`; each group of `C/groups` input channels makes `O/groups` outputs
    /// (`groups = C` is a depthwise convolution).
    pub fn conv2d_with(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        o: &ConvOptions,
    ) -> Result<Tensor> {
        let (ws, g) = (weight.shape(), o.groups);
        if g == 0 {
            bail!("conv2d: groups must be positive");
        }
        if ws.len() != 4
            || self.ndim() != 4
            || ws[1] * g != self.shape()[1]
            || !ws[0].is_multiple_of(g)
        {
            bail!(
                "conv2d: input {:?} and weight {:?} do not fit with {g} group(s) ([N, C, H, W] and \
                 [O, C/groups, kh, kw], O divisible by groups)",
                self.shape(),
                ws
            );
        }
        if let Some(b) = bias
            && (b.shape() != [ws[0]] || b.dtype() != DType::F32)
        {
            bail!(
                "conv2d: bias should be f32 [{}], got {} {:?}",
                ws[0],
                b.dtype(),
                b.shape()
            );
        }
        if g == 1 {
            return self.conv2d_fused(weight, bias, o);
        }
        let (cg, og) = (ws[1] as i64, (ws[0] / g) as i64);
        let parts = (0..g as i64)
            .map(|i| {
                let x = self.narrow(1, i * cg, cg)?;
                let w = weight.narrow(0, i * og, og)?;
                let b = bias.map(|b| b.narrow(0, i * og, og)).transpose()?;
                x.conv2d_fused(&w, b.as_ref(), o)
            })
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&parts, 1)
    }

    /// One group's convolution: the fused backend kernel.
    fn conv2d_fused(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        o: &ConvOptions,
    ) -> Result<Tensor> {
        let ws = weight.shape();
        let window = Window {
            kernel: (ws[2], ws[3]),
            stride: o.stride,
            padding: o.padding,
            dilation: o.dilation,
        };
        let p = window.patches("conv2d", self.shape())?;
        let o = ws[0];
        if self.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            bail!(
                "conv2d: expects f32 input and weight, got {} and {}",
                self.dtype(),
                weight.dtype()
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
        let o = ConvOptions {
            stride: (1, stride),
            padding,
            dilation: (1, dilation),
            groups: 1,
        };
        self.conv1d_with(weight, bias, &o)
    }

    /// 1-D convolution with groups: input `[N, C, L]`, weight `[O, C/groups, k]`; the second
    /// (width) component of each setting in `o` applies.
    pub fn conv1d_with(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        o: &ConvOptions,
    ) -> Result<Tensor> {
        if self.ndim() != 3 || weight.ndim() != 3 {
            bail!(
                "conv1d: expects input [N, C, L] and weight [O, C/groups, k], got {:?} and {:?}",
                self.shape(),
                weight.shape()
            );
        }
        let padding = match o.padding {
            Padding::Explicit(_, p) => Padding::Explicit(0, p),
            Padding::Sides(_, _, l, r) => Padding::Sides(0, 0, l, r),
            Padding::Same => Padding::Same,
        };
        let o2 = ConvOptions {
            stride: (1, o.stride.1),
            padding,
            dilation: (1, o.dilation.1),
            groups: o.groups,
        };
        self.unsqueeze(2)?
            .conv2d_with(&weight.unsqueeze(2)?, bias, &o2)
            .map_err(|e| anyhow::anyhow!("{}", format!("{e:#}").replacen("conv2d", "conv1d", 1)))?
            .squeeze_dim(2)
    }

    /// Transposed 2-D convolution (the gradient of `conv2d` with respect to its input, as
    /// PyTorch's `conv_transpose2d`): input `[N, C_in, H, W]`, weight
    /// `[C_in, C_out/groups, kh, kw]`, optional bias `[C_out]`; output height
    /// `(H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1`.
    pub fn conv_transpose2d_with(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        o: &ConvTransposeOptions,
    ) -> Result<Tensor> {
        let op = "conv_transpose2d";
        let (ws, g) = (weight.shape(), o.groups);
        if g == 0 {
            bail!("{op}: groups must be positive");
        }
        if self.ndim() != 4 || ws.len() != 4 || ws[0] != self.shape()[1] || !ws[0].is_multiple_of(g)
        {
            bail!(
                "{op}: input {:?} and weight {:?} do not fit with {g} group(s) ([N, C_in, H, W] and \
                 [C_in, C_out/groups, kh, kw], C_in divisible by groups)",
                self.shape(),
                ws
            );
        }
        if self.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            bail!(
                "{op}: expects f32 input and weight, got {} and {}",
                self.dtype(),
                weight.dtype()
            );
        }
        let (n, cin, h, w) = (
            self.shape()[0],
            self.shape()[1],
            self.shape()[2],
            self.shape()[3],
        );
        let (cout_g, kh, kw) = (ws[1], ws[2], ws[3]);
        let cout = cout_g * g;
        if let Some(b) = bias
            && (b.shape() != [cout] || b.dtype() != DType::F32)
        {
            bail!(
                "{op}: bias should be f32 [{cout}], got {} {:?}",
                b.dtype(),
                b.shape()
            );
        }
        let (s, d, p, e) = (o.stride, o.dilation, o.padding, o.output_padding);
        if s.0 == 0 || s.1 == 0 || d.0 == 0 || d.1 == 0 || kh == 0 || kw == 0 {
            bail!("{op}: kernel, stride and dilation must be positive, got {o:?}");
        }
        if (e.0 >= s.0 && e.0 >= d.0) || (e.1 >= s.1 && e.1 >= d.1) {
            bail!(
                "{op}: output_padding {e:?} must be smaller than the stride {s:?} or the dilation {d:?}"
            );
        }
        let size = |i: usize, s: usize, p: usize, d: usize, k: usize, e: usize| -> i64 {
            (i as i64 - 1) * s as i64 - 2 * p as i64 + d as i64 * (k as i64 - 1) + e as i64 + 1
        };
        let (ho, wo) = (
            size(h, s.0, p.0, d.0, kh, e.0),
            size(w, s.1, p.1, d.1, kw, e.1),
        );
        if ho <= 0 || wo <= 0 || h == 0 || w == 0 {
            bail!(
                "{op}: input {:?} with kernel ({kh}, {kw}) and padding {p:?} gives no output (size {ho} x {wo})",
                self.shape()
            );
        }
        let (ho, wo) = (ho as usize, wo as usize);
        // Output padding comes out of the far-side padding; what exceeds it is plain zeros.
        let (mh, mw) = (e.0.min(p.0), e.1.min(p.1));
        let (hf, wf) = (ho - (e.0 - mh), wo - (e.1 - mw));
        let window = Window {
            kernel: (kh, kw),
            stride: s,
            padding: Padding::Sides(p.0, p.0 - mh, p.1, p.1 - mw),
            dilation: d,
        };
        let patches = window.patches(op, &[n, cout_g, hf, wf])?;
        if patches.out_h() != h || patches.out_w() != w {
            bail!("{op}: internal: window geometry {patches:?} does not map back to [{h}, {w}]");
        }
        let cin_g = (cin / g) as i64;
        let parts = (0..g as i64)
            .map(|i| {
                let x = self.narrow(1, i * cin_g, cin_g)?;
                let wg = weight.narrow(0, i * cin_g, cin_g)?;
                let cols = wg
                    .reshape(&[cin_g, (cout_g * kh * kw) as i64])?
                    .t()?
                    .matmul(&x.reshape(&[n as i64, cin_g, (h * w) as i64])?)?;
                let cols = cols
                    .permute(&[1, 0, 2])?
                    .reshape(&[(cout_g * kh * kw) as i64, (n * h * w) as i64])?;
                cols.fold_patches(&patches)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut y = if g == 1 {
            parts.into_iter().next().expect("one group")
        } else {
            Tensor::cat(&parts, 1)?
        };
        if hf < ho || wf < wo {
            y = y.pad(
                &[0, (wo - wf) as i64, 0, (ho - hf) as i64],
                PadMode::Constant,
                0.0,
            )?;
        }
        match bias {
            Some(b) => y.add(&b.reshape_usize(&[1, cout, 1, 1])?),
            None => Ok(y),
        }
    }

    /// Transposed 1-D convolution: input `[N, C_in, L]`, weight `[C_in, C_out/groups, k]`;
    /// the second (width) component of each setting in `o` applies.
    pub fn conv_transpose1d_with(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        o: &ConvTransposeOptions,
    ) -> Result<Tensor> {
        if self.ndim() != 3 || weight.ndim() != 3 {
            bail!(
                "conv_transpose1d: expects input [N, C_in, L] and weight [C_in, C_out/groups, k], got {:?} and {:?}",
                self.shape(),
                weight.shape()
            );
        }
        let o2 = ConvTransposeOptions {
            stride: (1, o.stride.1),
            padding: (0, o.padding.1),
            output_padding: (0, o.output_padding.1),
            dilation: (1, o.dilation.1),
            groups: o.groups,
        };
        self.unsqueeze(2)?
            .conv_transpose2d_with(&weight.unsqueeze(2)?, bias, &o2)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    format!("{e:#}").replacen("conv_transpose2d", "conv_transpose1d", 1)
                )
            })?
            .squeeze_dim(2)
    }
}
