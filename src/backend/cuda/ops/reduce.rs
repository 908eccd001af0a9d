//! Reductions, arg-reductions and cumulative sums along an axis on CUDA storage.

use super::super::kernels::reduce as k;
use super::super::storage::CudaStorage;
use super::THREADS;
use crate::backend::{ArgReduceOp, ReduceOp};
use crate::tensor::DType;
use anyhow::{Context, Result, bail};

/// `shape` viewed as `[outer, len, inner]` around `axis` (everything when `None`).
fn split(shape: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        // a 0-d tensor reduced "along dimension 0" is reduced whole
        Some(a) if a < shape.len() => (
            shape[..a].iter().product(),
            shape[a],
            shape[a + 1..].iter().product(),
        ),
        _ => (1, shape.iter().product(), 1),
    }
}

/// Rows shorter than this are reduced by one warp each, longer ones by a block.
const WARP_ROW_LIMIT: usize = 2048;

/// Rows this short are reduced by one thread each (the column kernel with `inner == 1`): a
/// warp per row would leave most of its lanes idle, and on `cuda-sim` every warp shuffle costs
/// a round of fiber switches.
const THREAD_ROW_LIMIT: usize = 32;

pub fn reduce(
    op: ReduceOp,
    x: &CudaStorage,
    shape: &[usize],
    axis: Option<usize>,
) -> Result<CudaStorage> {
    let (outer, len, inner) = split(shape, axis);
    if len == 0 && matches!(op, ReduceOp::Max | ReduceOp::Min) {
        bail!("{op:?}: cannot reduce an empty dimension of a tensor of shape {shape:?}");
    }
    // The CPU backend's dtype rules: bool max/min are any/all, bool sums count as i64,
    // all/any of numbers test for non-zero.
    match (x.dtype(), op) {
        (DType::Bool, ReduceOp::Max) => return reduce(ReduceOp::Any, x, shape, axis),
        (DType::Bool, ReduceOp::Min) => return reduce(ReduceOp::All, x, shape, axis),
        (DType::Bool, ReduceOp::Sum | ReduceOp::Prod) => {
            return reduce(op, &x.cast(DType::I64)?, shape, axis);
        }
        (DType::F32 | DType::I64, ReduceOp::All | ReduceOp::Any) => {
            return reduce(op, &x.cast(DType::Bool)?, shape, axis);
        }
        _ => {}
    }
    let dev = x.dev();
    let out = CudaStorage::alloc(dev, x.dtype(), outer * inner)?;
    if outer * inner == 0 {
        return Ok(out);
    }
    let (xp, op_) = (x.ptr(), op as u32);
    let (o, l, i) = (outer as u64, len as u64, inner as u64);
    // SAFETY: x holds outer * len * inner elements, out outer * inner.
    unsafe {
        if inner > 1 || len <= THREAD_ROW_LIMIT {
            let cfg = dev.grid(o * i, THREADS);
            match x.dtype() {
                DType::F32 => k::reduce_cols_f32(dev, &cfg, xp, out.ptr(), o, l, i, op_),
                DType::I64 => k::reduce_cols_i64(dev, &cfg, xp, out.ptr(), o, l, i, op_),
                DType::Bool => k::reduce_cols_u8(dev, &cfg, xp, out.ptr(), o, l, i, op_),
            }
        } else if len < WARP_ROW_LIMIT {
            let cfg = dev.grid(o * 32, THREADS);
            match x.dtype() {
                DType::F32 => k::reduce_rows_warp_f32(dev, &cfg, xp, out.ptr(), o, l, op_),
                DType::I64 => k::reduce_rows_warp_i64(dev, &cfg, xp, out.ptr(), o, l, op_),
                DType::Bool => k::reduce_rows_warp_u8(dev, &cfg, xp, out.ptr(), o, l, op_),
            }
        } else {
            let cfg = dev.grid(o * THREADS as u64, THREADS);
            match x.dtype() {
                DType::F32 => k::reduce_rows_block_f32(dev, &cfg, xp, out.ptr(), o, l, op_),
                DType::I64 => k::reduce_rows_block_i64(dev, &cfg, xp, out.ptr(), o, l, op_),
                DType::Bool => k::reduce_rows_block_u8(dev, &cfg, xp, out.ptr(), o, l, op_),
            }
        }
    }
    .with_context(|| format!("{op:?} of shape {shape:?} along {axis:?}"))?;
    Ok(out)
}

pub fn arg_reduce(
    op: ArgReduceOp,
    x: &CudaStorage,
    shape: &[usize],
    axis: Option<usize>,
) -> Result<CudaStorage> {
    let (outer, len, inner) = split(shape, axis);
    if len == 0 {
        bail!("{op:?}: cannot reduce an empty dimension of a tensor of shape {shape:?}");
    }
    if x.dtype() == DType::Bool {
        return arg_reduce(op, &x.cast(DType::F32)?, shape, axis);
    }
    let dev = x.dev();
    let out = CudaStorage::alloc(dev, DType::I64, outer * inner)?;
    if outer * inner == 0 {
        return Ok(out);
    }
    let (xp, op_) = (x.ptr(), op as u32);
    let (o, l, i) = (outer as u64, len as u64, inner as u64);
    let f32s = x.dtype() == DType::F32;
    // SAFETY: as in `reduce`, with an i64 output.
    unsafe {
        if inner > 1 || len <= THREAD_ROW_LIMIT {
            let cfg = dev.grid(o * i, THREADS);
            if f32s {
                k::arg_cols_f32(dev, &cfg, xp, out.ptr(), o, l, i, op_)
            } else {
                k::arg_cols_i64(dev, &cfg, xp, out.ptr(), o, l, i, op_)
            }
        } else {
            let cfg = dev.grid(o * 32, THREADS);
            if f32s {
                k::arg_rows_f32(dev, &cfg, xp, out.ptr(), o, l, op_)
            } else {
                k::arg_rows_i64(dev, &cfg, xp, out.ptr(), o, l, op_)
            }
        }
    }
    .with_context(|| format!("{op:?} of shape {shape:?} along {axis:?}"))?;
    Ok(out)
}

pub fn cumsum(x: &CudaStorage, shape: &[usize], axis: usize) -> Result<CudaStorage> {
    if x.dtype() == DType::Bool {
        return cumsum(&x.cast(DType::I64)?, shape, axis);
    }
    let (outer, len, inner) = split(shape, Some(axis));
    let dev = x.dev();
    let out = CudaStorage::alloc(dev, x.dtype(), x.len())?;
    if x.is_empty() {
        return Ok(out);
    }
    let (o, l, i) = (outer as u64, len as u64, inner as u64);
    let cfg = dev.grid(o * i, THREADS);
    // SAFETY: input and output hold outer * len * inner elements.
    unsafe {
        if x.dtype() == DType::F32 {
            k::cumsum_f32(dev, &cfg, x.ptr(), out.ptr(), o, l, i)
        } else {
            k::cumsum_i64(dev, &cfg, x.ptr(), out.ptr(), o, l, i)
        }
    }
    .with_context(|| format!("cumsum of shape {shape:?} along axis {axis}"))?;
    Ok(out)
}
