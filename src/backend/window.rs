//! Device dispatch for the fused convolution and max-pooling kernels (see `cpu/conv2d.rs` and
//! `cpu/pool.rs`).

use super::cpu::{CpuStorage, conv2d, pool};
use super::{Patches, Storage, f32s, host_f32};
use anyhow::{Result, bail};

pub use super::cpu::conv2d::Wanted;

/// Checks a storage holds exactly `len` values of the shape the op expects.
fn sized<'a>(op: &str, what: &str, s: &'a Storage, len: usize) -> Result<&'a [f32]> {
    let v = f32s(op, s)?;
    if v.len() != len {
        bail!("{op}: {what} holds {} values, expected {len}", v.len());
    }
    Ok(v)
}

impl Storage {
    /// 2-D convolution of `x [N, C, H, W]` with `w [O, C, kh, kw]` and an optional bias `[O]`.
    pub fn conv2d(
        x: &Storage,
        w: &Storage,
        bias: Option<&Storage>,
        p: &Patches,
        out_channels: usize,
    ) -> Result<Storage> {
        let op = "conv2d";
        p.validate(op)?;
        let x = sized(op, "input", x, p.n * p.c * p.h * p.w)?;
        let w = sized(
            op,
            "weight",
            w,
            out_channels.saturating_mul(p.c * p.kh * p.kw),
        )?;
        let b = bias
            .map(|b| sized(op, "bias", b, out_channels))
            .transpose()?;
        Ok(host_f32(conv2d::forward(x, w, b, p, out_channels)?))
    }

    /// Gradients of [`Storage::conv2d`] for input, weight and bias (`None` where not wanted).
    pub fn conv2d_backward(
        x: &Storage,
        w: &Storage,
        g: &Storage,
        p: &Patches,
        out_channels: usize,
        want: Wanted,
    ) -> Result<(Option<Storage>, Option<Storage>, Option<Storage>)> {
        let op = "conv2d backward";
        p.validate(op)?;
        let x = sized(op, "input", x, p.n * p.c * p.h * p.w)?;
        let w = sized(
            op,
            "weight",
            w,
            out_channels.saturating_mul(p.c * p.kh * p.kw),
        )?;
        let l = p.out_h() * p.out_w();
        let g = sized(op, "gradient", g, out_channels.saturating_mul(p.n * l))?;
        let (dx, dw, db) = conv2d::backward(x, w, g, p, out_channels, want)?;
        let keep = |wanted: bool, v: Vec<f32>| wanted.then(|| host_f32(v));
        Ok((
            keep(want.input, dx),
            keep(want.weight, dw),
            keep(want.bias, db),
        ))
    }

    /// Max pooling of `[N, C, H, W]`: the output and where each maximum came from (i64 plane
    /// indices).
    pub fn max_pool2d(x: &Storage, p: &Patches) -> Result<(Storage, Storage)> {
        p.validate("max_pool2d")?;
        let x = sized("max_pool2d", "input", x, p.n * p.c * p.h * p.w)?;
        let (out, idx) = pool::max_forward(x, p)?;
        Ok((host_f32(out), Storage::Cpu(CpuStorage::i64(idx))))
    }

    /// Gradient of [`Storage::max_pool2d`] from the output gradient and the saved indices.
    pub fn max_pool2d_backward(g: &Storage, idx: &Storage, p: &Patches) -> Result<Storage> {
        let op = "max_pool2d backward";
        p.validate(op)?;
        let l = p.n * p.c * p.out_h() * p.out_w();
        let g = sized(op, "gradient", g, l)?;
        let idx = match idx {
            Storage::Cpu(CpuStorage::I64(v)) if v.len() == l => v,
            _ => bail!("{op}: the saved indices do not match the output"),
        };
        Ok(host_f32(pool::max_backward(g, idx, p)?))
    }
}
