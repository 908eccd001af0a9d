//! Reductions along one axis (viewed as `[outer, len, inner]`) or over everything.

use super::CpuStorage;
use crate::backend::memory;
use crate::backend::{ArgReduceOp, ReduceOp};
use crate::tensor::shape::numel;
use anyhow::{Result, bail};

/// Splits a shape around `axis` into (outer, len, inner); `None` treats the tensor as flat.
fn split(shape: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        // a 0-d tensor reduced "along dimension 0" is reduced whole
        Some(a) if a < shape.len() => (
            shape[..a].iter().product(),
            shape[a],
            shape[a + 1..].iter().product(),
        ),
        _ => (1, numel(shape), 1),
    }
}

/// Sum of a contiguous slice: blocks of 4096 summed with eight f32 lanes (vectorised), the
/// block totals added in f64, so long sums keep f32 precision as PyTorch's cascade sum does.
fn sum_f32(x: &[f32]) -> f32 {
    if x.len() < 16 {
        return x.iter().sum();
    }
    let mut total = 0f64;
    for block in x.chunks(4096) {
        let mut acc = [0f32; 8];
        let chunks = block.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for i in 0..8 {
                acc[i] += c[i];
            }
        }
        let mut s: f32 = acc.iter().sum();
        for &v in rest {
            s += v;
        }
        total += s as f64;
    }
    total as f32
}

/// Reduces `[outer, len, inner]` data with `init`/`step` into `[outer, inner]`.
fn reduce_generic<T: Copy>(
    x: &[T],
    (outer, len, inner): (usize, usize, usize),
    init: T,
    step: impl Fn(T, T) -> T,
) -> Result<Vec<T>> {
    let mut out = memory::filled("reduce", outer * inner, init)?;
    for o in 0..outer {
        let dst = &mut out[o * inner..(o + 1) * inner];
        for j in 0..len {
            let src = &x[(o * len + j) * inner..(o * len + j + 1) * inner];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = step(*d, s);
            }
        }
    }
    Ok(out)
}

fn max_f32(a: f32, b: f32) -> f32 {
    if a.is_nan() || a >= b { a } else { b }
}

fn min_f32(a: f32, b: f32) -> f32 {
    if a.is_nan() || a <= b { a } else { b }
}

pub fn reduce(
    op: ReduceOp,
    x: &CpuStorage,
    shape: &[usize],
    axis: Option<usize>,
) -> Result<CpuStorage> {
    let dims = split(shape, axis);
    if dims.1 == 0 && matches!(op, ReduceOp::Max | ReduceOp::Min) {
        bail!("{op:?}: cannot reduce an empty dimension of a tensor of shape {shape:?}");
    }
    Ok(match (x, op) {
        (CpuStorage::F32(v), ReduceOp::Sum) if dims.2 == 1 => {
            let len = dims.1;
            CpuStorage::f32(super::parallel::build_vec(
                "sum",
                dims.0,
                1,
                |o0, chunk| {
                    if len == 0 {
                        chunk.iter_mut().for_each(|o| {
                            o.write(0.0);
                        });
                    } else if len < 16 {
                        for (o, row) in chunk.iter_mut().zip(v[o0 * len..].chunks_exact(len.max(1)))
                        {
                            o.write(row.iter().sum());
                        }
                    } else {
                        for (i, o) in chunk.iter_mut().enumerate() {
                            let start = (o0 + i) * len;
                            o.write(sum_f32(&v[start..start + len]));
                        }
                    }
                },
            )?)
        }
        (CpuStorage::F32(v), ReduceOp::Sum) => {
            CpuStorage::f32(reduce_generic(v, dims, 0.0, |a, b| a + b)?)
        }
        (CpuStorage::F32(v), ReduceOp::Prod) => {
            CpuStorage::f32(reduce_generic(v, dims, 1.0, |a, b| a * b)?)
        }
        (CpuStorage::F32(v), ReduceOp::Max) => {
            CpuStorage::f32(reduce_generic(v, dims, f32::NEG_INFINITY, max_f32)?)
        }
        (CpuStorage::F32(v), ReduceOp::Min) => {
            CpuStorage::f32(reduce_generic(v, dims, f32::INFINITY, min_f32)?)
        }
        (CpuStorage::I64(v), ReduceOp::Sum) => {
            CpuStorage::i64(reduce_generic(v, dims, 0, i64::wrapping_add)?)
        }
        (CpuStorage::I64(v), ReduceOp::Prod) => {
            CpuStorage::i64(reduce_generic(v, dims, 1, i64::wrapping_mul)?)
        }
        (CpuStorage::I64(v), ReduceOp::Max) => {
            CpuStorage::i64(reduce_generic(v, dims, i64::MIN, i64::max)?)
        }
        (CpuStorage::I64(v), ReduceOp::Min) => {
            CpuStorage::i64(reduce_generic(v, dims, i64::MAX, i64::min)?)
        }
        (CpuStorage::Bool(v), ReduceOp::All) => {
            CpuStorage::bool(reduce_generic(v, dims, true, |a, b| a && b)?)
        }
        (CpuStorage::Bool(v), ReduceOp::Any) => {
            CpuStorage::bool(reduce_generic(v, dims, false, |a, b| a || b)?)
        }
        (CpuStorage::Bool(_), ReduceOp::Max) => reduce(ReduceOp::Any, x, shape, axis)?,
        (CpuStorage::Bool(_), ReduceOp::Min) => reduce(ReduceOp::All, x, shape, axis)?,
        (CpuStorage::Bool(_), ReduceOp::Sum | ReduceOp::Prod) => {
            reduce(op, &x.cast(crate::tensor::DType::I64)?, shape, axis)?
        }
        (other, ReduceOp::All | ReduceOp::Any) => {
            reduce(op, &other.cast(crate::tensor::DType::Bool)?, shape, axis)?
        }
    })
}

pub fn arg_reduce(
    op: ArgReduceOp,
    x: &CpuStorage,
    shape: &[usize],
    axis: Option<usize>,
) -> Result<CpuStorage> {
    let (outer, len, inner) = split(shape, axis);
    if len == 0 {
        bail!("{op:?}: cannot reduce an empty dimension of a tensor of shape {shape:?}");
    }
    let v = match x {
        CpuStorage::F32(v) => std::borrow::Cow::Borrowed(&v[..]),
        other => std::borrow::Cow::Owned(other.to_f32_vec()?),
    };
    let better = |cand: f32, best: f32| match op {
        ArgReduceOp::ArgMax => cand > best || (cand.is_nan() && !best.is_nan()),
        ArgReduceOp::ArgMin => cand < best || (cand.is_nan() && !best.is_nan()),
    };
    let mut out = memory::filled(op.name(), outer * inner, 0i64)?;
    // Walk the reduced dimension outermost so rows are read contiguously.
    let mut best = vec![0f32; inner];
    for o in 0..outer {
        best.copy_from_slice(&v[o * len * inner..o * len * inner + inner]);
        let at = &mut out[o * inner..(o + 1) * inner];
        for j in 1..len {
            let row = &v[(o * len + j) * inner..(o * len + j + 1) * inner];
            for ((b, a), &c) in best.iter_mut().zip(at.iter_mut()).zip(row) {
                if better(c, *b) {
                    *b = c;
                    *a = j as i64;
                }
            }
        }
    }
    Ok(CpuStorage::i64(out))
}

pub fn cumsum(x: &CpuStorage, shape: &[usize], axis: usize) -> Result<CpuStorage> {
    let (outer, len, inner) = split(shape, Some(axis));
    fn run<T: Copy>(
        v: &[T],
        (outer, len, inner): (usize, usize, usize),
        add: impl Fn(T, T) -> T,
    ) -> Result<Vec<T>> {
        let mut out = memory::copy_of("cumsum", v)?;
        for o in 0..outer {
            for j in 1..len {
                for i in 0..inner {
                    let prev = out[(o * len + j - 1) * inner + i];
                    out[(o * len + j) * inner + i] = add(out[(o * len + j) * inner + i], prev);
                }
            }
        }
        Ok(out)
    }
    let dims = (outer, len, inner);
    Ok(match x {
        CpuStorage::F32(v) => CpuStorage::f32(run(v, dims, |a, b| a + b)?),
        CpuStorage::I64(v) => CpuStorage::i64(run(v, dims, i64::wrapping_add)?),
        CpuStorage::Bool(_) => CpuStorage::i64(run(&x.to_i64_vec()?, dims, i64::wrapping_add)?),
    })
}
