//! Layout copies on CUDA storage: permute, expand, slice, flip and cat, all through the strided
//! gather/scatter kernels (and a tiled transpose for swapping the last two axes).

use super::super::kernels::{Layout, layout as k};
use super::super::storage::CudaStorage;
use super::{THREADS, same_device};
use crate::tensor::DType;
use crate::tensor::shape::{contiguous_strides, numel};
use anyhow::{Context, Result, bail};

fn strides(shape: &[usize]) -> Vec<i64> {
    contiguous_strides(shape)
        .into_iter()
        .map(|s| s as i64)
        .collect()
}

/// `out[i] = x[base + sum(coord_i * st)]` over `dims` into a new storage.
fn read(x: &CudaStorage, what: &str, dims: &[usize], st: &[i64], base: i64) -> Result<CudaStorage> {
    let dev = x.dev();
    let n = numel(dims);
    let out = CudaStorage::alloc(dev, x.dtype(), n)?;
    if n == 0 {
        return Ok(out);
    }
    let m = Layout::new(what, dims, st, base)?;
    let n = n as u64;
    let cfg = dev.grid(n, THREADS);
    // SAFETY: every offset the layout produces lies inside x (the callers derive it from x's
    // shape); out holds n elements.
    unsafe {
        match x.dtype() {
            DType::F32 => k::strided_read_32(dev, &cfg, x.ptr(), out.ptr(), n, m),
            DType::I64 => k::strided_read_64(dev, &cfg, x.ptr(), out.ptr(), n, m),
            DType::Bool => k::strided_read_8(dev, &cfg, x.ptr(), out.ptr(), n, m),
        }
    }
    .with_context(|| format!("{what} over shape {dims:?}"))?;
    Ok(out)
}

pub fn permute(x: &CudaStorage, shape: &[usize], perm: &[usize]) -> Result<CudaStorage> {
    let nd = shape.len();
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let swaps_last_two = nd >= 2
        && perm[nd - 2] == nd - 1
        && perm[nd - 1] == nd - 2
        && perm[..nd - 2].iter().enumerate().all(|(i, &p)| i == p);
    if swaps_last_two && !x.is_empty() {
        let dev = x.dev();
        let out = CudaStorage::alloc(dev, x.dtype(), x.len())?;
        let (rows, cols) = (shape[nd - 2] as u64, shape[nd - 1] as u64);
        let batch = (x.len() as u64) / (rows * cols);
        let tiles = batch * rows.div_ceil(32) * cols.div_ceil(32);
        let cfg = dev.grid(tiles, 1).with_block(32, 8);
        // SAFETY: both buffers hold batch * rows * cols elements.
        unsafe {
            match x.dtype() {
                DType::F32 => k::transpose_32(dev, &cfg, x.ptr(), out.ptr(), batch, rows, cols),
                DType::I64 => k::transpose_64(dev, &cfg, x.ptr(), out.ptr(), batch, rows, cols),
                DType::Bool => k::transpose_8(dev, &cfg, x.ptr(), out.ptr(), batch, rows, cols),
            }
        }
        .with_context(|| format!("permute {perm:?} of shape {shape:?}"))?;
        return Ok(out);
    }
    let st = strides(shape);
    let walk: Vec<i64> = perm.iter().map(|&p| st[p]).collect();
    read(x, "permute", &out_shape, &walk, 0)
}

pub fn expand(x: &CudaStorage, shape: &[usize], out: &[usize]) -> Result<CudaStorage> {
    let st: Vec<i64> = crate::tensor::shape::broadcast_strides(shape, out)
        .into_iter()
        .map(|s| s as i64)
        .collect();
    read(x, "expand", out, &st, 0)
}

pub fn slice(
    x: &CudaStorage,
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
    len: usize,
) -> Result<CudaStorage> {
    let mut st = strides(shape);
    let base = start as i64 * st[dim];
    st[dim] *= step as i64;
    let mut dims = shape.to_vec();
    dims[dim] = len;
    read(x, "slice", &dims, &st, base)
}

pub fn flip(x: &CudaStorage, shape: &[usize], dims: &[usize]) -> Result<CudaStorage> {
    let mut st = strides(shape);
    let mut base = 0i64;
    for &d in dims {
        if shape[d] > 0 {
            base += (shape[d] as i64 - 1) * st[d];
        }
        st[d] = -st[d];
    }
    read(x, "flip", shape, &st, base)
}

pub fn cat(parts: &[(&CudaStorage, &[usize])], dim: usize) -> Result<CudaStorage> {
    let Some(&(first, first_shape)) = parts.first() else {
        bail!("cat: no tensors to concatenate");
    };
    let storages: Vec<&CudaStorage> = parts.iter().map(|p| p.0).collect();
    same_device("cat", &storages)?;
    if let Some(p) = parts.iter().find(|p| p.0.dtype() != first.dtype()) {
        bail!("cat: all tensors need one dtype, found {}", p.0.dtype());
    }
    let mut out_shape = first_shape.to_vec();
    out_shape[dim] = parts.iter().map(|p| p.1[dim]).sum();
    let dev = first.dev();
    let out = CudaStorage::alloc(dev, first.dtype(), numel(&out_shape))?;
    let ost = strides(&out_shape);
    let mut at = 0usize;
    for (part, shape) in parts {
        let n = numel(shape) as u64;
        if n > 0 {
            let m = Layout::new("cat", shape, &ost, at as i64 * ost[dim])?;
            let cfg = dev.grid(n, THREADS);
            // SAFETY: the part's elements land inside the output block for this part.
            unsafe {
                match first.dtype() {
                    DType::F32 => k::strided_write_32(dev, &cfg, part.ptr(), out.ptr(), n, m),
                    DType::I64 => k::strided_write_64(dev, &cfg, part.ptr(), out.ptr(), n, m),
                    DType::Bool => k::strided_write_8(dev, &cfg, part.ptr(), out.ptr(), n, m),
                }
            }
            .with_context(|| format!("cat of shape {shape:?} along axis {dim}"))?;
        }
        at += shape[dim];
    }
    Ok(out)
}
