//! Random numbers generated on the device: Philox4x32-10 keyed by the session seed, with a
//! counter that advances by each draw's size (see `tensor::random::device_draw`), so the same
//! seed gives the same numbers on every run.

use super::super::device::CudaDevice;
use super::super::kernels::random as k;
use super::super::storage::CudaStorage;
use super::THREADS;
use crate::tensor::DType;
use crate::tensor::random::device_draw;
use anyhow::{Context, Result, bail};
use std::sync::Arc;

/// `n` draws from U[lo, hi).
pub fn uniform(dev: &Arc<CudaDevice>, n: usize, lo: f32, hi: f32) -> Result<CudaStorage> {
    let out = CudaStorage::alloc(dev, DType::F32, n)?;
    if n > 0 {
        let (seed, offset) = device_draw(n.div_ceil(4) as u64);
        let cfg = dev.grid(n as u64, THREADS);
        // SAFETY: out holds n floats.
        unsafe { k::rand_uniform(dev, &cfg, out.ptr(), n as u64, seed, offset, lo, hi) }
            .with_context(|| format!("rand of {n} elements"))?;
    }
    Ok(out)
}

/// `n` draws from N(mean, std²).
pub fn normal(dev: &Arc<CudaDevice>, n: usize, mean: f32, std: f32) -> Result<CudaStorage> {
    let out = CudaStorage::alloc(dev, DType::F32, n)?;
    if n > 0 {
        let (seed, offset) = device_draw(n.div_ceil(2) as u64);
        let cfg = dev.grid(n as u64, THREADS);
        // SAFETY: out holds n floats.
        unsafe { k::rand_normal(dev, &cfg, out.ptr(), n as u64, seed, offset, mean, std) }
            .with_context(|| format!("randn of {n} elements"))?;
    }
    Ok(out)
}

/// `n` integers uniform in [lo, hi).
pub fn int(dev: &Arc<CudaDevice>, n: usize, lo: i64, hi: i64) -> Result<CudaStorage> {
    if hi <= lo {
        bail!("randint: empty range [{lo}, {hi})");
    }
    let out = CudaStorage::alloc(dev, DType::I64, n)?;
    if n > 0 {
        let span = hi.wrapping_sub(lo) as u64;
        let (seed, offset) = device_draw(n.div_ceil(2) as u64);
        let cfg = dev.grid(n as u64, THREADS);
        // SAFETY: out holds n integers.
        unsafe { k::rand_int(dev, &cfg, out.ptr(), n as u64, seed, offset, lo, span) }
            .with_context(|| format!("randint of {n} elements"))?;
    }
    Ok(out)
}
