//! Indexing on CUDA storage: index_select, gather, scatter_add, index_add, index_copy_,
//! nonzero, and the range check of index tensors.

use super::super::kernels::{Gather, index as k};
use super::super::storage::CudaStorage;
use super::{THREADS, same_device};
use crate::tensor::DType;
use crate::tensor::shape::numel;
use anyhow::{Context, Result, bail};

fn split(shape: &[usize], dim: usize) -> (u64, u64, u64) {
    (
        shape[..dim].iter().product::<usize>() as u64,
        shape[dim] as u64,
        shape[dim + 1..].iter().product::<usize>() as u64,
    )
}

fn indices<'a>(op: &str, idx: &'a CudaStorage) -> Result<&'a CudaStorage> {
    if idx.dtype() != DType::I64 {
        bail!("{op}: indices must be i64, got {}", idx.dtype());
    }
    Ok(idx)
}

pub fn index_select(
    x: &CudaStorage,
    shape: &[usize],
    dim: usize,
    idx: &CudaStorage,
) -> Result<CudaStorage> {
    same_device("index_select", &[x, idx])?;
    let idx = indices("index_select", idx)?;
    let (outer, len, inner) = split(shape, dim);
    let nidx = idx.len() as u64;
    let dev = x.dev();
    let out = CudaStorage::alloc(dev, x.dtype(), (outer * nidx * inner) as usize)?;
    let n = outer * nidx * inner;
    if n == 0 {
        return Ok(out);
    }
    let cfg = dev.grid(n, THREADS);
    let (xp, ip, op) = (x.ptr(), idx.ptr(), out.ptr());
    // SAFETY: shapes as described; out-of-range indices are skipped by the kernel.
    unsafe {
        match x.dtype() {
            DType::F32 => k::index_select_32(dev, &cfg, xp, ip, op, outer, len, nidx, inner),
            DType::I64 => k::index_select_64(dev, &cfg, xp, ip, op, outer, len, nidx, inner),
            DType::Bool => k::index_select_8(dev, &cfg, xp, ip, op, outer, len, nidx, inner),
        }
    }
    .with_context(|| format!("index_select of shape {shape:?} along {dim}"))?;
    Ok(out)
}

pub fn gather(
    x: &CudaStorage,
    shape: &[usize],
    dim: usize,
    idx: &CudaStorage,
    idx_shape: &[usize],
) -> Result<CudaStorage> {
    same_device("gather", &[x, idx])?;
    let idx = indices("gather", idx)?;
    let m = Gather::new("gather", shape, dim, idx_shape)?;
    let dev = x.dev();
    let n = numel(idx_shape);
    let out = CudaStorage::alloc(dev, x.dtype(), n)?;
    if n == 0 {
        return Ok(out);
    }
    let n = n as u64;
    let cfg = dev.grid(n, THREADS);
    let (xp, ip, op) = (x.ptr(), idx.ptr(), out.ptr());
    // SAFETY: as in index_select.
    unsafe {
        match x.dtype() {
            DType::F32 => k::gather_32(dev, &cfg, xp, ip, op, n, m),
            DType::I64 => k::gather_64(dev, &cfg, xp, ip, op, n, m),
            DType::Bool => k::gather_8(dev, &cfg, xp, ip, op, n, m),
        }
    }
    .with_context(|| format!("gather of shape {shape:?} along {dim} by {idx_shape:?}"))?;
    Ok(out)
}

fn numeric_pair(op: &str, a: &CudaStorage, b: &CudaStorage) -> Result<()> {
    if a.dtype() != b.dtype() || a.dtype() == DType::Bool {
        bail!(
            "{op}: needs numeric tensors of one dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    Ok(())
}

pub fn scatter_add(
    base: &CudaStorage,
    shape: &[usize],
    dim: usize,
    idx: &CudaStorage,
    idx_shape: &[usize],
    src: &CudaStorage,
) -> Result<CudaStorage> {
    same_device("scatter_add", &[base, idx, src])?;
    let idx = indices("scatter_add", idx)?;
    numeric_pair("scatter_add", base, src)?;
    let m = Gather::new("scatter_add", shape, dim, idx_shape)?;
    let out = base.try_clone()?;
    let n = numel(idx_shape) as u64;
    if n == 0 {
        return Ok(out);
    }
    let dev = base.dev();
    let cfg = dev.grid(n, THREADS);
    // SAFETY: as in gather, writing atomically into the copy.
    unsafe {
        if base.dtype() == DType::F32 {
            k::scatter_add_f32(dev, &cfg, out.ptr(), idx.ptr(), src.ptr(), n, m)
        } else {
            k::scatter_add_i64(dev, &cfg, out.ptr(), idx.ptr(), src.ptr(), n, m)
        }
    }
    .with_context(|| format!("scatter_add into {shape:?} along {dim} by {idx_shape:?}"))?;
    Ok(out)
}

pub fn index_add(
    base: &CudaStorage,
    shape: &[usize],
    dim: usize,
    idx: &CudaStorage,
    src: &CudaStorage,
) -> Result<CudaStorage> {
    same_device("index_add", &[base, idx, src])?;
    let idx = indices("index_add", idx)?;
    numeric_pair("index_add", base, src)?;
    let out = base.try_clone()?;
    let (outer, len, inner) = split(shape, dim);
    let nidx = idx.len() as u64;
    let n = outer * nidx * inner;
    if n == 0 {
        return Ok(out);
    }
    let dev = base.dev();
    let cfg = dev.grid(n, THREADS);
    let (op, ip, sp) = (out.ptr(), idx.ptr(), src.ptr());
    // SAFETY: src holds outer * nidx * inner elements; out-of-range indices are skipped.
    unsafe {
        if base.dtype() == DType::F32 {
            k::index_add_f32(dev, &cfg, op, ip, sp, outer, len, nidx, inner)
        } else {
            k::index_add_i64(dev, &cfg, op, ip, sp, outer, len, nidx, inner)
        }
    }
    .with_context(|| format!("index_add into {shape:?} along {dim}"))?;
    Ok(out)
}

pub fn index_copy(
    dst: &mut CudaStorage,
    shape: &[usize],
    dim: usize,
    idx: &CudaStorage,
    src: &CudaStorage,
) -> Result<()> {
    same_device("index_put", &[dst, idx, src])?;
    let idx = indices("index_put", idx)?;
    if dst.dtype() != src.dtype() {
        bail!(
            "index_put: dtypes differ ({} and {})",
            dst.dtype(),
            src.dtype()
        );
    }
    let (outer, len, inner) = split(shape, dim);
    let nidx = idx.len() as u64;
    let n = outer * nidx * inner;
    if n == 0 {
        return Ok(());
    }
    let dev = dst.dev().clone();
    let cfg = dev.grid(n, THREADS);
    let (dp, ip, sp) = (dst.ptr(), idx.ptr(), src.ptr());
    // SAFETY: as in index_add, writing in place.
    unsafe {
        match dst.dtype() {
            DType::F32 => k::index_copy_32(&dev, &cfg, dp, ip, sp, outer, len, nidx, inner),
            DType::I64 => k::index_copy_64(&dev, &cfg, dp, ip, sp, outer, len, nidx, inner),
            DType::Bool => k::index_copy_8(&dev, &cfg, dp, ip, sp, outer, len, nidx, inner),
        }
    }
    .with_context(|| format!("index_put into {shape:?} along {dim}"))
}

/// Elements per block in nonzero's two passes.
const NZ_CHUNK: u64 = 4096;

/// Flat positions of the non-zero elements, as i64: counts per chunk on the device, offsets
/// on the host (the output's size must be known to allocate it), positions on the device.
pub fn nonzero(x: &CudaStorage) -> Result<CudaStorage> {
    let dev = x.dev();
    let n = x.len() as u64;
    if n == 0 {
        return CudaStorage::alloc(dev, DType::I64, 0);
    }
    let chunks = n.div_ceil(NZ_CHUNK);
    let counts = CudaStorage::alloc(dev, DType::I64, chunks as usize)?;
    let cfg = dev.grid(chunks * THREADS as u64, THREADS);
    // SAFETY: counts holds one u64 per chunk.
    unsafe {
        match x.dtype() {
            DType::F32 => k::nonzero_count_f32(dev, &cfg, x.ptr(), n, NZ_CHUNK, counts.ptr()),
            DType::I64 => k::nonzero_count_i64(dev, &cfg, x.ptr(), n, NZ_CHUNK, counts.ptr()),
            DType::Bool => k::nonzero_count_u8(dev, &cfg, x.ptr(), n, NZ_CHUNK, counts.ptr()),
        }
    }
    .context("nonzero (counting)")?;
    let mut offsets = counts.to_i64_vec()?;
    let mut total = 0i64;
    for c in offsets.iter_mut() {
        let here = *c;
        *c = total;
        total += here;
    }
    let offsets = CudaStorage::from_i64(dev, &offsets)?;
    let out = CudaStorage::alloc(dev, DType::I64, total as usize)?;
    if total > 0 {
        // SAFETY: offsets has one entry per chunk; out holds `total` positions.
        unsafe {
            let (xp, op, out_p) = (x.ptr(), offsets.ptr(), out.ptr());
            match x.dtype() {
                DType::F32 => k::nonzero_write_f32(dev, &cfg, xp, n, NZ_CHUNK, op, out_p),
                DType::I64 => k::nonzero_write_i64(dev, &cfg, xp, n, NZ_CHUNK, op, out_p),
                DType::Bool => k::nonzero_write_u8(dev, &cfg, xp, n, NZ_CHUNK, op, out_p),
            }
        }
        .context("nonzero (writing positions)")?;
    }
    Ok(out)
}

/// The first index value outside `lo..hi`, if any (reads back one position and one value).
pub fn first_outside(idx: &CudaStorage, lo: i64, hi: i64) -> Result<Option<i64>> {
    let idx = indices("index check", idx)?;
    let n = idx.len() as u64;
    if n == 0 {
        return Ok(None);
    }
    let dev = idx.dev();
    let first = CudaStorage::from_i64(dev, &[n as i64])?;
    let cfg = dev.grid(n, THREADS);
    // SAFETY: idx holds n indices; first one word.
    unsafe { k::index_check(dev, &cfg, idx.ptr(), n, lo, hi, first.ptr()) }
        .context("index range check")?;
    let at = first.to_i64_vec()?[0] as u64;
    if at >= n {
        return Ok(None);
    }
    let value = super::layout::slice(idx, &[n as usize], 0, at as usize, 1, 1)?;
    Ok(value.to_i64_vec()?.first().copied())
}
