//! Unary maps, broadcasting binary maps, comparisons, logic and `where` on CUDA storage.

use super::super::kernels::{Bcast, elementwise as k};
use super::super::storage::CudaStorage;
use super::{THREADS, same_device};
use crate::backend::{BinaryOp, CompareOp, LogicalOp, UnaryOp};
use crate::tensor::DType;
use crate::tensor::shape::numel;
use anyhow::{Context, Result, bail};

pub fn unary(op: UnaryOp, x: &CudaStorage) -> Result<CudaStorage> {
    let dev = x.dev();
    let out = CudaStorage::alloc(dev, x.dtype(), x.len())?;
    let n = x.len() as u64;
    if n == 0 {
        return Ok(out);
    }
    let cfg = dev.grid(n, THREADS);
    let [p0, p1] = op.params();
    // SAFETY: input and output hold `n` elements of the dtype.
    match x.dtype() {
        DType::F32 => unsafe { k::unary_f32(dev, &cfg, x.ptr(), out.ptr(), n, op.code(), p0, p1) },
        DType::I64 if UnaryOp::CUDA[op.code() as usize].3.is_some() => unsafe {
            k::unary_i64(dev, &cfg, x.ptr(), out.ptr(), n, op.code())
        },
        DType::I64 => bail!("{op:?} is not defined for i64 tensors (convert with .float() first)"),
        DType::Bool => bail!("{op:?} is not defined for bool tensors"),
    }
    .with_context(|| format!("{op:?} of {} elements", x.len()))?;
    Ok(out)
}

/// The common shape of a broadcasting kernel: checks, output, launch configuration.
fn prepare(
    what: &str,
    parts: &[(&CudaStorage, &[usize])],
    out_shape: &[usize],
    out_dtype: DType,
) -> Result<(CudaStorage, Bcast, u64)> {
    let storages: Vec<&CudaStorage> = parts.iter().map(|p| p.0).collect();
    same_device(what, &storages)?;
    for (s, shape) in parts {
        if s.len() != numel(shape) {
            bail!(
                "{what}: storage of {} elements for shape {shape:?}",
                s.len()
            );
        }
    }
    let shapes: Vec<&[usize]> = parts.iter().map(|p| p.1).collect();
    let m = Bcast::new(what, out_shape, &shapes)?;
    let n = numel(out_shape);
    Ok((
        CudaStorage::alloc(parts[0].0.dev(), out_dtype, n)?,
        m,
        n as u64,
    ))
}

pub fn binary(
    op: BinaryOp,
    a: &CudaStorage,
    sa: &[usize],
    b: &CudaStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CudaStorage> {
    let what = format!("{op:?}");
    if a.dtype() != b.dtype() || a.dtype() == DType::Bool {
        bail!(
            "{op:?} needs two operands of one numeric dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    let (o, m, n) = prepare(&what, &[(a, sa), (b, sb)], out, a.dtype())?;
    if n == 0 {
        return Ok(o);
    }
    let dev = a.dev();
    let cfg = dev.grid(n, THREADS);
    // SAFETY: operands hold their shapes' elements; `m` maps every output to them.
    unsafe {
        if a.dtype() == DType::F32 {
            k::binary_f32(dev, &cfg, a.ptr(), b.ptr(), o.ptr(), n, op.code(), m)
        } else {
            k::binary_i64(dev, &cfg, a.ptr(), b.ptr(), o.ptr(), n, op.code(), m)
        }
    }
    .with_context(|| format!("{op:?} of shapes {sa:?} and {sb:?}"))?;
    Ok(o)
}

pub fn compare(
    op: CompareOp,
    a: &CudaStorage,
    sa: &[usize],
    b: &CudaStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CudaStorage> {
    if a.dtype() != b.dtype() {
        bail!(
            "comparison needs operands of one dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    let (o, m, n) = prepare(&format!("{op:?}"), &[(a, sa), (b, sb)], out, DType::Bool)?;
    if n == 0 {
        return Ok(o);
    }
    let dev = a.dev();
    let cfg = dev.grid(n, THREADS);
    let (pa, pb, po, c) = (a.ptr(), b.ptr(), o.ptr(), op.code());
    // SAFETY: as in `binary`.
    unsafe {
        match a.dtype() {
            DType::F32 => k::compare_f32(dev, &cfg, pa, pb, po, n, c, m),
            DType::I64 => k::compare_i64(dev, &cfg, pa, pb, po, n, c, m),
            DType::Bool => k::compare_u8(dev, &cfg, pa, pb, po, n, c, m),
        }
    }
    .with_context(|| format!("{op:?} of shapes {sa:?} and {sb:?}"))?;
    Ok(o)
}

pub fn logical(
    op: LogicalOp,
    a: &CudaStorage,
    sa: &[usize],
    b: &CudaStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CudaStorage> {
    if a.dtype() != DType::Bool || b.dtype() != DType::Bool {
        bail!(
            "logical ops need bool tensors, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    let (o, m, n) = prepare(&format!("{op:?}"), &[(a, sa), (b, sb)], out, DType::Bool)?;
    if n == 0 {
        return Ok(o);
    }
    let dev = a.dev();
    let cfg = dev.grid(n, THREADS);
    // SAFETY: as in `binary`.
    unsafe { k::logical_u8(dev, &cfg, a.ptr(), b.ptr(), o.ptr(), n, op.code(), m) }
        .with_context(|| format!("{op:?} of shapes {sa:?} and {sb:?}"))?;
    Ok(o)
}

#[allow(clippy::too_many_arguments)]
pub fn select(
    cond: &CudaStorage,
    sc: &[usize],
    a: &CudaStorage,
    sa: &[usize],
    b: &CudaStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CudaStorage> {
    if cond.dtype() != DType::Bool {
        bail!(
            "where: the condition must be a bool tensor, got {}",
            cond.dtype()
        );
    }
    if a.dtype() != b.dtype() {
        bail!(
            "where: both branches need one dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    let (o, m, n) = prepare("where", &[(cond, sc), (a, sa), (b, sb)], out, a.dtype())?;
    if n == 0 {
        return Ok(o);
    }
    let dev = a.dev();
    let cfg = dev.grid(n, THREADS);
    let (pc, pa, pb, po) = (cond.ptr(), a.ptr(), b.ptr(), o.ptr());
    // SAFETY: as in `binary`, with three operands.
    unsafe {
        match a.dtype() {
            DType::F32 => k::where_f32(dev, &cfg, pc, pa, pb, po, n, m),
            DType::I64 => k::where_i64(dev, &cfg, pc, pa, pb, po, n, m),
            DType::Bool => k::where_u8(dev, &cfg, pc, pa, pb, po, n, m),
        }
    }
    .with_context(|| format!("where of shapes {sc:?}, {sa:?} and {sb:?}"))?;
    Ok(o)
}

/// True where a value is neither infinite nor NaN (integers and bools always are).
pub fn is_finite(x: &CudaStorage) -> Result<CudaStorage> {
    let dev = x.dev();
    if x.dtype() != DType::F32 {
        return CudaStorage::full(dev, DType::Bool, x.len(), 1.0);
    }
    let out = CudaStorage::alloc(dev, DType::Bool, x.len())?;
    let n = x.len() as u64;
    if n > 0 {
        let cfg = dev.grid(n, THREADS);
        // SAFETY: x holds n floats, out n bytes.
        unsafe { k::is_finite_f32(dev, &cfg, x.ptr(), out.ptr(), n) }
            .with_context(|| format!("is_finite of {n} elements"))?;
    }
    Ok(out)
}
