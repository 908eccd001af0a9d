//! Elementwise kernels: unary maps and broadcasting binary maps.

use super::CpuStorage;
use super::parallel::for_row_chunks;
use crate::backend::{BinaryOp, CompareOp, LogicalOp, UnaryOp};
use crate::tensor::shape::{broadcast_strides, numel};
use anyhow::{Result, bail};

fn unary_f32(op: UnaryOp) -> impl Fn(f32) -> f32 + Sync {
    move |x: f32| match op {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        UnaryOp::Relu => x.max(0.0),
        UnaryOp::Elu(a) => {
            if x > 0.0 {
                x
            } else {
                a * x.exp_m1()
            }
        }
        UnaryOp::LeakyRelu(s) => {
            if x > 0.0 {
                x
            } else {
                s * x
            }
        }
        UnaryOp::PowScalar(p) => {
            if p == 2.0 {
                x * x
            } else {
                x.powf(p)
            }
        }
        UnaryOp::Clamp(lo, hi) => x.max(lo).min(hi),
        UnaryOp::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        UnaryOp::InRange(lo, hi) => ((x >= lo) & (x <= hi)) as u8 as f32,
        UnaryOp::Affine(scale, shift) => x * scale + shift,
        UnaryOp::Recip => 1.0 / x,
    }
}

/// Maps `f` over a slice, in parallel when large.
fn map_slice<T: Copy + Sync, U: Copy + Default + Send>(
    x: &[T],
    f: impl Fn(T) -> U + Sync,
) -> Vec<U> {
    let mut out = vec![U::default(); x.len()];
    for_row_chunks(&mut out, 1, |row0, chunk| {
        for (o, &v) in chunk.iter_mut().zip(&x[row0..]) {
            *o = f(v);
        }
    });
    out
}

pub fn unary(op: UnaryOp, x: &CpuStorage) -> Result<CpuStorage> {
    match x {
        CpuStorage::F32(v) => {
            // Specialise the hottest maps so the compiler vectorises them.
            Ok(CpuStorage::F32(match op {
                UnaryOp::Neg => map_slice(v, |x| -x),
                UnaryOp::Relu => map_slice(v, |x| x.max(0.0)),
                UnaryOp::Exp => map_slice(v, f32::exp),
                UnaryOp::PowScalar(p) if p == 2.0 => map_slice(v, |x| x * x),
                UnaryOp::Affine(a, b) => map_slice(v, |x| x * a + b),
                _ => map_slice(v, unary_f32(op)),
            }))
        }
        CpuStorage::I64(v) => match op {
            UnaryOp::Neg => Ok(CpuStorage::I64(map_slice(v, |x: i64| x.wrapping_neg()))),
            UnaryOp::Abs => Ok(CpuStorage::I64(map_slice(v, |x: i64| x.wrapping_abs()))),
            UnaryOp::Sign => Ok(CpuStorage::I64(map_slice(v, |x: i64| x.signum()))),
            _ => bail!("{op:?} is not defined for i64 tensors (convert with .float() first)"),
        },
        CpuStorage::Bool(_) => bail!("{op:?} is not defined for bool tensors"),
    }
}

/// The broadcasting map of two operands into `out` (row-major), in parallel when large.
pub fn broadcast_map<A: Copy + Sync, B: Copy + Sync, U: Copy + Default + Send>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    out: &[usize],
    f: impl Fn(A, B) -> U + Sync,
) -> Vec<U> {
    let n = numel(out);
    if sa == out && sb == out {
        let mut res = vec![U::default(); n];
        for_row_chunks(&mut res, 1, |row0, chunk| {
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[row0..]).zip(&b[row0..]) {
                *o = f(x, y);
            }
        });
        return res;
    }
    if b.len() == 1 && sa == out {
        let y = b[0];
        return map_slice(a, |x| f(x, y));
    }
    if a.len() == 1 && sb == out {
        let x = a[0];
        return map_slice(b, |y| f(x, y));
    }
    let mut res = vec![U::default(); n];
    if n == 0 {
        return res;
    }
    if out.is_empty() {
        res[0] = f(a[0], b[0]);
        return res;
    }
    let astr = broadcast_strides(sa, out);
    let bstr = broadcast_strides(sb, out);
    let nd = out.len();
    let inner = out[nd - 1];
    let (ia, ib) = (astr[nd - 1], bstr[nd - 1]);
    for_row_chunks(&mut res, inner, |row0, chunk| {
        // Multi-index of the first row over the outer dimensions.
        let mut idx = vec![0usize; nd - 1];
        let mut rem = row0;
        for ax in (0..nd - 1).rev() {
            idx[ax] = rem % out[ax];
            rem /= out[ax];
        }
        let mut oa: usize = (0..nd - 1).map(|ax| idx[ax] * astr[ax]).sum();
        let mut ob: usize = (0..nd - 1).map(|ax| idx[ax] * bstr[ax]).sum();
        for row in chunk.chunks_mut(inner) {
            match (ia, ib) {
                (1, 1) => {
                    for ((o, &x), &y) in row
                        .iter_mut()
                        .zip(&a[oa..oa + inner])
                        .zip(&b[ob..ob + inner])
                    {
                        *o = f(x, y);
                    }
                }
                (1, 0) => {
                    let y = b[ob];
                    for (o, &x) in row.iter_mut().zip(&a[oa..oa + inner]) {
                        *o = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = a[oa];
                    for (o, &y) in row.iter_mut().zip(&b[ob..ob + inner]) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for (k, o) in row.iter_mut().enumerate() {
                        *o = f(a[oa + k * ia], b[ob + k * ib]);
                    }
                }
            }
            for ax in (0..nd - 1).rev() {
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
    });
    res
}

fn binary_f32(op: BinaryOp) -> impl Fn(f32, f32) -> f32 + Sync {
    move |x: f32, y: f32| match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Maximum => {
            if x.is_nan() || x >= y {
                x
            } else {
                y
            }
        }
        BinaryOp::Minimum => {
            if x.is_nan() || x <= y {
                x
            } else {
                y
            }
        }
        BinaryOp::SquaredDifference => (x - y) * (x - y),
    }
}

fn binary_i64(op: BinaryOp) -> impl Fn(i64, i64) -> i64 + Sync {
    move |x: i64, y: i64| match op {
        BinaryOp::Add => x.wrapping_add(y),
        BinaryOp::Sub => x.wrapping_sub(y),
        BinaryOp::Mul => x.wrapping_mul(y),
        // Integer division is floor division (PyTorch's `//`); division by zero gives 0.
        BinaryOp::Div => {
            if y == 0 {
                0
            } else {
                x.div_euclid(y)
                    - if (x.rem_euclid(y) != 0) && y < 0 {
                        1
                    } else {
                        0
                    }
            }
        }
        BinaryOp::Pow => {
            if y < 0 {
                0
            } else {
                x.wrapping_pow(y.min(u32::MAX as i64) as u32)
            }
        }
        BinaryOp::Maximum => x.max(y),
        BinaryOp::Minimum => x.min(y),
        BinaryOp::SquaredDifference => (x - y).wrapping_mul(x - y),
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
    Ok(match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::F32(match op {
            // The common ones get their own closures so they vectorise.
            BinaryOp::Add => broadcast_map(x, sa, y, sb, out, |p, q| p + q),
            BinaryOp::Sub => broadcast_map(x, sa, y, sb, out, |p, q| p - q),
            BinaryOp::Mul => broadcast_map(x, sa, y, sb, out, |p, q| p * q),
            BinaryOp::Div => broadcast_map(x, sa, y, sb, out, |p, q| p / q),
            _ => broadcast_map(x, sa, y, sb, out, binary_f32(op)),
        }),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => {
            CpuStorage::I64(broadcast_map(x, sa, y, sb, out, binary_i64(op)))
        }
        _ => bail!(
            "{op:?} needs two operands of one numeric dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        ),
    })
}

fn cmp<T: PartialOrd>(op: CompareOp) -> impl Fn(T, T) -> bool + Sync {
    move |x: T, y: T| match op {
        CompareOp::Eq => x == y,
        CompareOp::Ne => x != y,
        CompareOp::Lt => x < y,
        CompareOp::Le => x <= y,
        CompareOp::Gt => x > y,
        CompareOp::Ge => x >= y,
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
    Ok(CpuStorage::Bool(match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => broadcast_map(x, sa, y, sb, out, cmp(op)),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => broadcast_map(x, sa, y, sb, out, cmp(op)),
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => broadcast_map(x, sa, y, sb, out, cmp(op)),
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
    match (a, b) {
        (CpuStorage::Bool(x), CpuStorage::Bool(y)) => Ok(CpuStorage::Bool(broadcast_map(
            x,
            sa,
            y,
            sb,
            out,
            move |p, q| match op {
                LogicalOp::And => p && q,
                LogicalOp::Or => p || q,
                LogicalOp::Xor => p ^ q,
            },
        ))),
        _ => bail!(
            "logical ops need bool tensors, got {} and {}",
            a.dtype(),
            b.dtype()
        ),
    }
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
    let CpuStorage::Bool(c) = cond else {
        bail!(
            "where: the condition must be a bool tensor, got {}",
            cond.dtype()
        );
    };
    // Pair each value with its position in `b`'s broadcast so one two-operand walk does it:
    // first choose from `a` or a marker, then fill from `b`.
    let pick_a = broadcast_map(c, sc, &vec![(); 1], &[], out, |x, _| x);
    macro_rules! choose {
        ($x:expr, $y:expr, $wrap:path) => {{
            let av = super::layout::expand_vec($x, sa, out);
            let bv = super::layout::expand_vec($y, sb, out);
            $wrap(
                pick_a
                    .iter()
                    .zip(av.into_iter().zip(bv))
                    .map(|(&p, (u, v))| if p { u } else { v })
                    .collect(),
            )
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
