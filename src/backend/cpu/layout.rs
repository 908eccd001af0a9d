//! Data movement: permutation, broadcast materialisation, strided slices, flips, concatenation.

use super::{CpuStorage, same_dtype};
use anyhow::{Result, bail};
use ndarray::{ArrayViewD, IxDyn};

fn view<'a, T>(v: &'a [T], shape: &[usize]) -> ArrayViewD<'a, T> {
    ArrayViewD::from_shape(IxDyn(shape), v).expect("storage length matches its shape")
}

/// Blocked transpose of one `[r, c]` matrix, appended to `out` (cache friendly).
fn transpose_block<T: Copy>(v: &[T], r: usize, c: usize, out: &mut Vec<T>) {
    let start = out.len();
    out.extend_from_slice(v); // sizes the output; every element is overwritten below
    let dst = &mut out[start..];
    const B: usize = 32;
    for i0 in (0..r).step_by(B) {
        for j0 in (0..c).step_by(B) {
            for i in i0..(i0 + B).min(r) {
                for j in j0..(j0 + B).min(c) {
                    dst[j * r + i] = v[i * c + j];
                }
            }
        }
    }
}

fn permute_vec<T: Copy>(v: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let nd = shape.len();
    let mut out = Vec::with_capacity(v.len());
    if v.is_empty() {
        return out;
    }
    // Transposing the last two dimensions of a batch: blocked transposes.
    let batch_transpose = nd >= 2
        && perm[nd - 2] == nd - 1
        && perm[nd - 1] == nd - 2
        && perm[..nd - 2].iter().enumerate().all(|(i, &p)| i == p);
    if batch_transpose {
        let (r, c) = (shape[nd - 2], shape[nd - 1]);
        for m in v.chunks(r * c) {
            transpose_block(m, r, c, &mut out);
        }
        return out;
    }
    // General case: walk the output in order, reading the input with the permuted strides.
    let strides = crate::tensor::shape::contiguous_strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let src: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let inner = out_shape[nd - 1];
    let is = src[nd - 1];
    let mut idx = vec![0usize; nd - 1];
    let mut off = 0usize;
    for _ in 0..v.len() / inner {
        if is == 1 {
            out.extend_from_slice(&v[off..off + inner]);
        } else {
            out.extend((0..inner).map(|k| v[off + k * is]));
        }
        for ax in (0..nd - 1).rev() {
            idx[ax] += 1;
            off += src[ax];
            if idx[ax] < out_shape[ax] {
                break;
            }
            off -= src[ax] * out_shape[ax];
            idx[ax] = 0;
        }
    }
    out
}

pub fn permute(x: &CpuStorage, shape: &[usize], perm: &[usize]) -> CpuStorage {
    same_dtype!(x, v => permute_vec(v, shape, perm))
}

/// Materialises a broadcast of `v` (of `shape`) to `out`.
pub fn expand_vec<T: Copy + Send + Sync>(v: &[T], shape: &[usize], out: &[usize]) -> Vec<T> {
    if shape == out {
        return v.to_vec();
    }
    super::elementwise::broadcast_map(v, shape, &[()], &[], out, |x, _| x)
}

pub fn expand(x: &CpuStorage, shape: &[usize], out: &[usize]) -> CpuStorage {
    same_dtype!(x, v => expand_vec(v, shape, out))
}

fn slice_vec<T: Copy>(
    v: &[T],
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
    len: usize,
) -> Vec<T> {
    let outer: usize = shape[..dim].iter().product();
    let inner: usize = shape[dim + 1..].iter().product();
    let full = shape[dim];
    let mut out = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        for j in 0..len {
            let at = (o * full + start + j * step) * inner;
            out.extend_from_slice(&v[at..at + inner]);
        }
    }
    out
}

pub fn slice(
    x: &CpuStorage,
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
    len: usize,
) -> CpuStorage {
    same_dtype!(x, v => slice_vec(v, shape, dim, start, step, len))
}

fn flip_vec<T: Copy>(v: &[T], shape: &[usize], dims: &[usize]) -> Vec<T> {
    let mut a = view(v, shape);
    for &d in dims {
        a.invert_axis(ndarray::Axis(d));
    }
    a.iter().copied().collect()
}

pub fn flip(x: &CpuStorage, shape: &[usize], dims: &[usize]) -> CpuStorage {
    same_dtype!(x, v => flip_vec(v, shape, dims))
}

fn cat_vec<T: Copy>(parts: &[(&Vec<T>, &[usize])], dim: usize) -> Vec<T> {
    let first = parts[0].1;
    let outer: usize = first[..dim].iter().product();
    let inner: usize = first[dim + 1..].iter().product();
    let total: usize = parts.iter().map(|(v, _)| v.len()).sum();
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (v, s) in parts {
            let block = s[dim] * inner;
            out.extend_from_slice(&v[o * block..(o + 1) * block]);
        }
    }
    out
}

pub fn cat(parts: &[(&CpuStorage, &[usize])], dim: usize) -> Result<CpuStorage> {
    macro_rules! gather_parts {
        ($variant:path) => {{
            let mut typed = Vec::with_capacity(parts.len());
            for (s, sh) in parts {
                match s {
                    $variant(v) => typed.push((v, *sh)),
                    other => bail!("cat: all tensors need one dtype, found {}", other.dtype()),
                }
            }
            $variant(cat_vec(&typed, dim))
        }};
    }
    Ok(match parts[0].0 {
        CpuStorage::F32(_) => gather_parts!(CpuStorage::F32),
        CpuStorage::I64(_) => gather_parts!(CpuStorage::I64),
        CpuStorage::Bool(_) => gather_parts!(CpuStorage::Bool),
    })
}
