//! Elementwise kernels: unary maps and broadcasting binary maps. Each op gets its own
//! monomorphised closure so the loops vectorise.

use super::CpuStorage;
use super::parallel::build_vec;
use crate::backend::memory::{self, Buffer};
use crate::backend::{BinaryOp, CompareOp, LogicalOp, UnaryOp};
use crate::tensor::shape::{broadcast_strides, numel};
use anyhow::{Result, bail};
use std::mem::MaybeUninit;

/// `e^x` in a form the compiler vectorises: range reduction by powers of two and a degree-6
/// polynomial (relative error about 2e-7, within an ulp or two of libm's `expf`).
#[inline(always)]
pub fn fast_exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round to nearest by adding and subtracting 1.5 * 2^23 (no SSE4.1 needed).
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-104.0, 88.722_84);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    // The rounded integer sits in the low mantissa bits of `t` (offset by 2^22).
    let n_int = (t.to_bits() as i32) - 0x4B40_0000;
    let f = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0))))));
    // 2^n as 2^(n/2) * 2^(n - n/2): both halves are normal floats for n in [-150, 128], so
    // results near the ends of the range (subnormal, or just below f32::MAX) stay right.
    let n1 = n_int >> 1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n_int - n1 + 127) as u32) << 23);
    p * s1 * s2
}

/// Maps `f` over a slice, in parallel when large; `op` names the op in an allocation error.
pub fn map_slice<T: Copy + Sync, U: Copy + Send>(
    op: &str,
    x: &[T],
    f: impl Fn(T) -> U + Sync,
) -> Result<Vec<U>> {
    build_vec(op, x.len(), 1, |row0, chunk| {
        for (o, &v) in chunk.iter_mut().zip(&x[row0..]) {
            o.write(f(v));
        }
    })
}

/// Dispatches a float unary op to a specialised closure.
fn unary_f32(op: UnaryOp, v: &[f32]) -> Result<Vec<f32>> {
    let name = op.name();
    match op {
        UnaryOp::Neg => map_slice(name, v, |x| -x),
        UnaryOp::Exp => map_slice(name, v, fast_exp),
        UnaryOp::Log => map_slice(name, v, f32::ln),
        UnaryOp::Sqrt => map_slice(name, v, f32::sqrt),
        UnaryOp::Abs => map_slice(name, v, f32::abs),
        UnaryOp::Sin => map_slice(name, v, f32::sin),
        UnaryOp::Cos => map_slice(name, v, f32::cos),
        UnaryOp::Tanh => map_slice(name, v, |x| {
            // tanh(x) = 1 - 2 / (e^{2x} + 1), stable at both ends.
            1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
        }),
        UnaryOp::Sigmoid => map_slice(name, v, |x| 1.0 / (1.0 + fast_exp(-x))),
        UnaryOp::Relu => map_slice(name, v, |x| x.max(0.0)),
        UnaryOp::Elu(a) => map_slice(
            name,
            v,
            move |x| if x > 0.0 { x } else { a * (fast_exp(x) - 1.0) },
        ),
        UnaryOp::LeakyRelu(s) => map_slice(name, v, move |x| if x > 0.0 { x } else { s * x }),
        UnaryOp::PowScalar(2.0) => map_slice(name, v, |x| x * x),
        UnaryOp::PowScalar(0.5) => map_slice(name, v, f32::sqrt),
        UnaryOp::PowScalar(-1.0) => map_slice(name, v, |x| 1.0 / x),
        UnaryOp::PowScalar(p) => map_slice(name, v, move |x| x.powf(p)),
        UnaryOp::Clamp(lo, hi) => map_slice(name, v, move |x| x.max(lo).min(hi)),
        UnaryOp::Sign => map_slice(name, v, |x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }),
        UnaryOp::InRange(lo, hi) => {
            map_slice(name, v, move |x| ((x >= lo) & (x <= hi)) as u8 as f32)
        }
        UnaryOp::Affine(a, b) => map_slice(name, v, move |x| x * a + b),
        UnaryOp::Recip => map_slice(name, v, |x| 1.0 / x),
        UnaryOp::Floor => map_slice(name, v, f32::floor),
    }
}

pub fn unary(op: UnaryOp, x: &CpuStorage) -> Result<CpuStorage> {
    match x {
        CpuStorage::F32(v) => Ok(CpuStorage::f32(unary_f32(op, v)?)),
        CpuStorage::I64(v) => match op {
            UnaryOp::Neg => Ok(CpuStorage::i64(map_slice(op.name(), v, i64::wrapping_neg)?)),
            UnaryOp::Abs => Ok(CpuStorage::i64(map_slice(op.name(), v, i64::wrapping_abs)?)),
            UnaryOp::Sign => Ok(CpuStorage::i64(map_slice(op.name(), v, i64::signum)?)),
            UnaryOp::Floor => Ok(CpuStorage::i64(memory::copy_of(op.name(), v)?)),
            _ => bail!("{op:?} is not defined for i64 tensors (convert with .float() first)"),
        },
        CpuStorage::Bool(_) => bail!("{op:?} is not defined for bool tensors"),
    }
}

/// True where a value is neither infinite nor NaN (integers and bools always are).
pub fn is_finite(x: &CpuStorage) -> Result<CpuStorage> {
    let op = "is_finite";
    Ok(CpuStorage::bool(match x {
        CpuStorage::F32(v) => map_slice(op, v, f32::is_finite)?,
        other => memory::filled(op, other.len(), true)?,
    }))
}

/// Trailing blocks shorter than this are gathered into a contiguous buffer before mapping.
const SMALL_INNER: usize = 16;

/// Copies `len` elements read with `stride` into `buf` (or borrows them when contiguous).
fn strided<'a, T: Copy>(
    src: &'a [T],
    at: usize,
    stride: usize,
    len: usize,
    buf: &'a mut Vec<T>,
) -> &'a [T] {
    if stride == 1 {
        return &src[at..at + len];
    }
    buf.clear();
    if stride == 0 {
        buf.resize(len, src[at]);
    } else {
        buf.extend((0..len).map(|k| src[at + k * stride]));
    }
    buf
}

/// The broadcasting map of two operands into `out` (row-major), in parallel when large.
pub fn broadcast_map<A: Copy + Sync, B: Copy + Sync, U: Copy + Send>(
    op: &str,
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    out: &[usize],
    f: impl Fn(A, B) -> U + Sync,
) -> Result<Vec<U>> {
    let n = numel(out);
    if sa == out && sb == out {
        return build_vec(op, n, 1, |row0, chunk| {
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[row0..]).zip(&b[row0..]) {
                o.write(f(x, y));
            }
        });
    }
    if b.len() == 1 && sa == out {
        let y = b[0];
        return map_slice(op, a, |x| f(x, y));
    }
    if a.len() == 1 && sb == out {
        let x = a[0];
        return map_slice(op, b, |y| f(x, y));
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    if out.is_empty() {
        return memory::collect(op, 1, [f(a[0], b[0])]);
    }
    let astr = broadcast_strides(sa, out);
    let bstr = broadcast_strides(sb, out);
    // An odometer walks the outer dimensions; the trailing block (last dimension, or the last
    // two when the last is short) is mapped with flat loops over contiguous buffers.
    let nd = out.len();
    let two = nd >= 2 && out[nd - 1] < SMALL_INNER;
    let (inner, ia, ib) = (out[nd - 1], astr[nd - 1], bstr[nd - 1]);
    let (rows, ra, rb) = if two {
        (out[nd - 2], astr[nd - 2], bstr[nd - 2])
    } else {
        (1, 0, 0)
    };
    let outer_dims = if two { nd - 2 } else { nd - 1 };
    let block = inner * rows;
    // Within a block, element (j, k) sits at j*r + k*i; it is one flat stride when r = inner*i.
    let flat = |r: usize, i: usize| {
        if rows == 1 || r == inner * i {
            Some(i)
        } else {
            None
        }
    };
    let (fa, fb) = (flat(ra, ia), flat(rb, ib));
    build_vec(op, n, block, |block0, chunk: &mut [MaybeUninit<U>]| {
        let mut idx = vec![0usize; outer_dims];
        let mut rem = block0;
        for ax in (0..outer_dims).rev() {
            idx[ax] = rem % out[ax];
            rem /= out[ax];
        }
        let mut oa: usize = (0..outer_dims).map(|ax| idx[ax] * astr[ax]).sum();
        let mut ob: usize = (0..outer_dims).map(|ax| idx[ax] * bstr[ax]).sum();
        let (mut abuf, mut bbuf) = (Vec::new(), Vec::new());
        for blk in chunk.chunks_mut(block) {
            let av: &[A] = match fa {
                Some(s) => strided(a, oa, s, block, &mut abuf),
                None => {
                    abuf.clear();
                    for j in 0..rows {
                        abuf.extend((0..inner).map(|k| a[oa + j * ra + k * ia]));
                    }
                    &abuf
                }
            };
            let bv: &[B] = match fb {
                Some(s) => strided(b, ob, s, block, &mut bbuf),
                None => {
                    bbuf.clear();
                    for j in 0..rows {
                        bbuf.extend((0..inner).map(|k| b[ob + j * rb + k * ib]));
                    }
                    &bbuf
                }
            };
            for ((o, &x), &y) in blk.iter_mut().zip(av).zip(bv) {
                o.write(f(x, y));
            }
            for ax in (0..outer_dims).rev() {
                idx[ax] += 1;
                oa += astr[ax];
                ob += bstr[ax];
                if idx[ax] < out[ax] {
                    break;
                }
                oa -= astr[ax] * out[ax];
                ob -= bstr[ax] * out[ax];
                idx[ax] = 0;
            }
        }
    })
}

fn max_f32(x: f32, y: f32) -> f32 {
    if x.is_nan() || x >= y { x } else { y }
}

fn min_f32(x: f32, y: f32) -> f32 {
    if x.is_nan() || x <= y { x } else { y }
}

/// Floor division of integers (PyTorch's `//`); division by zero gives 0.
fn floor_div(x: i64, y: i64) -> i64 {
    if y == 0 {
        return 0;
    }
    let q = x.wrapping_div(y);
    if (x.wrapping_rem(y) != 0) && ((x < 0) != (y < 0)) {
        q - 1
    } else {
        q
    }
}

pub fn binary(
    op: BinaryOp,
    a: &CpuStorage,
    sa: &[usize],
    b: &CpuStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CpuStorage> {
    let name = op.name();
    Ok(match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::f32(match op {
            BinaryOp::Add => broadcast_map(name, x, sa, y, sb, out, |p, q| p + q),
            BinaryOp::Sub => broadcast_map(name, x, sa, y, sb, out, |p, q| p - q),
            BinaryOp::Mul => broadcast_map(name, x, sa, y, sb, out, |p, q| p * q),
            BinaryOp::Div => broadcast_map(name, x, sa, y, sb, out, |p, q| p / q),
            BinaryOp::Pow => broadcast_map(name, x, sa, y, sb, out, f32::powf),
            BinaryOp::Maximum => broadcast_map(name, x, sa, y, sb, out, max_f32),
            BinaryOp::Minimum => broadcast_map(name, x, sa, y, sb, out, min_f32),
            BinaryOp::SquaredDifference => {
                broadcast_map(name, x, sa, y, sb, out, |p, q| (p - q) * (p - q))
            }
        }?),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::i64(match op {
            BinaryOp::Add => broadcast_map(name, x, sa, y, sb, out, i64::wrapping_add),
            BinaryOp::Sub => broadcast_map(name, x, sa, y, sb, out, i64::wrapping_sub),
            BinaryOp::Mul => broadcast_map(name, x, sa, y, sb, out, i64::wrapping_mul),
            BinaryOp::Div => broadcast_map(name, x, sa, y, sb, out, floor_div),
            BinaryOp::Pow => broadcast_map(name, x, sa, y, sb, out, |p: i64, q: i64| {
                if q < 0 {
                    0
                } else {
                    p.wrapping_pow(q.min(u32::MAX as i64) as u32)
                }
            }),
            BinaryOp::Maximum => broadcast_map(name, x, sa, y, sb, out, i64::max),
            BinaryOp::Minimum => broadcast_map(name, x, sa, y, sb, out, i64::min),
            BinaryOp::SquaredDifference => {
                broadcast_map(name, x, sa, y, sb, out, |p: i64, q: i64| {
                    p.wrapping_sub(q).wrapping_mul(p.wrapping_sub(q))
                })
            }
        }?),
        _ => bail!(
            "{op:?} needs two operands of one numeric dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        ),
    })
}

fn compare_typed<T: PartialOrd + Copy + Sync>(
    op: CompareOp,
    x: &[T],
    sa: &[usize],
    y: &[T],
    sb: &[usize],
    out: &[usize],
) -> Result<Vec<bool>> {
    let name = op.name();
    match op {
        CompareOp::Eq => broadcast_map(name, x, sa, y, sb, out, |p, q| p == q),
        CompareOp::Ne => broadcast_map(name, x, sa, y, sb, out, |p, q| p != q),
        CompareOp::Lt => broadcast_map(name, x, sa, y, sb, out, |p, q| p < q),
        CompareOp::Le => broadcast_map(name, x, sa, y, sb, out, |p, q| p <= q),
        CompareOp::Gt => broadcast_map(name, x, sa, y, sb, out, |p, q| p > q),
        CompareOp::Ge => broadcast_map(name, x, sa, y, sb, out, |p, q| p >= q),
    }
}

pub fn compare(
    op: CompareOp,
    a: &CpuStorage,
    sa: &[usize],
    b: &CpuStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CpuStorage> {
    Ok(CpuStorage::bool(match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => compare_typed(op, x, sa, y, sb, out)?,
        (CpuStorage::I64(x), CpuStorage::I64(y)) => compare_typed(op, x, sa, y, sb, out)?,
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => compare_typed(op, x, sa, y, sb, out)?,
        _ => bail!(
            "comparison needs operands of one dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        ),
    }))
}

pub fn logical(
    op: LogicalOp,
    a: &CpuStorage,
    sa: &[usize],
    b: &CpuStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CpuStorage> {
    let (CpuStorage::Bool(x), CpuStorage::Bool(y)) = (a, b) else {
        bail!(
            "logical ops need bool tensors, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    };
    let name = op.name();
    Ok(CpuStorage::bool(match op {
        LogicalOp::And => broadcast_map(name, x, sa, y, sb, out, |p, q| p & q),
        LogicalOp::Or => broadcast_map(name, x, sa, y, sb, out, |p, q| p | q),
        LogicalOp::Xor => broadcast_map(name, x, sa, y, sb, out, |p, q| p ^ q),
    }?))
}

pub fn select(
    cond: &CpuStorage,
    sc: &[usize],
    a: &CpuStorage,
    sa: &[usize],
    b: &CpuStorage,
    sb: &[usize],
    out: &[usize],
) -> Result<CpuStorage> {
    let op = "where";
    let CpuStorage::Bool(c) = cond else {
        bail!(
            "where: the condition must be a bool tensor, got {}",
            cond.dtype()
        );
    };
    let pick = super::layout::expand_vec(op, c, sc, out)?;
    macro_rules! choose {
        ($x:expr, $y:expr, $wrap:path) => {{
            let av = super::layout::expand_vec(op, $x, sa, out)?;
            let bv = super::layout::expand_vec(op, $y, sb, out)?;
            $wrap(Buffer::from(memory::collect(
                op,
                pick.len(),
                pick.iter()
                    .zip(av.into_iter().zip(bv))
                    .map(|(&p, (u, v))| if p { u } else { v }),
            )?))
        }};
    }
    Ok(match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => choose!(x, y, CpuStorage::F32),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => choose!(x, y, CpuStorage::I64),
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => choose!(x, y, CpuStorage::Bool),
        _ => bail!(
            "where: both branches need one dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        ),
    })
}
