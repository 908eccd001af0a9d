//! Per-row argsort and categorical sampling on CUDA storage.

use super::super::kernels::sort as k;
use super::super::storage::CudaStorage;
use super::{THREADS, same_device};
use crate::tensor::DType;
use anyhow::{Context, Result, bail};

/// Positions that sort each contiguous row of `len` values (stable, NaNs last), as i64.
pub fn argsort_rows(x: &CudaStorage, len: usize, descending: bool) -> Result<CudaStorage> {
    if !x.is_empty() && (len == 0 || !x.len().is_multiple_of(len)) {
        bail!("argsort: {} values are not whole rows of {len}", x.len());
    }
    let dev = x.dev();
    let out = CudaStorage::alloc(dev, DType::I64, x.len())?;
    if x.is_empty() {
        return Ok(out);
    }
    let rows = (x.len() / len) as u64;
    let n = x.len() as u64;
    let cfg = dev.grid(n, THREADS);
    let (xp, op, l, d) = (x.ptr(), out.ptr(), len as u64, descending as u32);
    // SAFETY: x and out hold rows * len elements.
    unsafe {
        match x.dtype() {
            DType::F32 => k::argsort_f32(dev, &cfg, xp, op, rows, l, d),
            DType::I64 => k::argsort_i64(dev, &cfg, xp, op, rows, l, d),
            DType::Bool => k::argsort_u8(dev, &cfg, xp, op, rows, l, d),
        }
    }
    .with_context(|| format!("argsort of {rows} rows of {len}"))?;
    Ok(out)
}

/// `n` draws per row of `k` non-negative weights with replacement, from `u` (`rows * n`
/// uniforms in `[0, 1)`): i64 category indices.
pub fn multinomial(p: &CudaStorage, k_: usize, n: usize, u: &CudaStorage) -> Result<CudaStorage> {
    let op = "multinomial";
    same_device(op, &[p, u])?;
    let converted;
    let p = if p.dtype() == DType::F32 {
        p
    } else {
        converted = p.cast(DType::F32)?;
        &converted
    };
    if u.dtype() != DType::F32 {
        bail!("{op}: the uniform draws must be f32");
    }
    let rows = p.len().checked_div(k_).unwrap_or(0);
    if k_ == 0 || p.len() != rows * k_ || rows.checked_mul(n) != Some(u.len()) {
        bail!(
            "{op}: {} weights in rows of {k_} do not match {} draws",
            p.len(),
            u.len()
        );
    }
    let dev = p.dev();
    let out = CudaStorage::alloc(dev, DType::I64, rows * n)?;
    if rows * n == 0 {
        return Ok(out);
    }
    let flags = CudaStorage::from_i64(dev, &[rows as i64, rows as i64])?;
    let (bad, empty) = (flags.ptr(), super::super::kernels::Ptr(flags.ptr().0 + 8));
    let total = (rows * n) as u64;
    let cfg = dev.grid(total, THREADS);
    // SAFETY: p holds rows * k weights, u and out rows * n values, flags two words.
    unsafe {
        k::multinomial(
            dev,
            &cfg,
            p.ptr(),
            rows as u64,
            k_ as u64,
            n as u64,
            u.ptr(),
            out.ptr(),
            bad,
            empty,
        )
    }
    .with_context(|| format!("{op} of {rows} rows of {k_}"))?;
    let f = flags.to_i64_vec()?;
    if (f[0] as usize) < rows {
        bail!("{op}: row {} has negative, infinite or NaN weights", f[0]);
    }
    if (f[1] as usize) < rows {
        bail!("{op}: row {} has no positive weight", f[1]);
    }
    Ok(out)
}
