//! Data movement: permutation, broadcast materialisation, strided slices, flips, concatenation.

use super::{CpuStorage, same_dtype};
use crate::backend::memory::{self, Buffer};
use anyhow::{Result, bail};
use ndarray::{ArrayViewD, IxDyn};

fn view<'a, T>(op: &str, v: &'a [T], shape: &[usize]) -> Result<ArrayViewD<'a, T>> {
    ArrayViewD::from_shape(IxDyn(shape), v)
        .map_err(|e| anyhow::anyhow!("{op}: {} values do not fit shape {shape:?} ({e})", v.len()))
}

/// Checks a storage of `len` values matches `shape`.
fn fits(op: &str, len: usize, shape: &[usize]) -> Result<()> {
    if crate::tensor::shape::checked_numel(op, shape)? != len {
        bail!("{op}: {len} values do not fill shape {shape:?}");
    }
    Ok(())
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

fn permute_vec<T: Copy>(v: &[T], shape: &[usize], perm: &[usize]) -> Result<Vec<T>> {
    let nd = shape.len();
    fits("permute", v.len(), shape)?;
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if !sorted.iter().copied().eq(0..nd) {
        bail!("permute: {perm:?} is not a permutation of the {nd} axes of shape {shape:?}");
    }
    let mut out = memory::alloc("permute", v.len())?;
    if v.is_empty() {
        return Ok(out);
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
        return Ok(out);
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
    Ok(out)
}

pub fn permute(x: &CpuStorage, shape: &[usize], perm: &[usize]) -> Result<CpuStorage> {
    Ok(same_dtype!(x, v => permute_vec(v, shape, perm)))
}

/// Materialises a broadcast of `v` (of `shape`) to `out` (`op` names the op in errors).
pub fn expand_vec<T: Copy + Send + Sync>(
    op: &str,
    v: &[T],
    shape: &[usize],
    out: &[usize],
) -> Result<Vec<T>> {
    fits(op, v.len(), shape)?;
    if shape == out {
        return memory::copy_of(op, v);
    }
    let bcast = crate::tensor::shape::broadcast_shapes(op, shape, out)?;
    if bcast != out {
        bail!("{op}: shape {shape:?} cannot be broadcast to {out:?}");
    }
    super::elementwise::broadcast_map(op, v, shape, &[()], &[], out, |x, _| x)
}

pub fn expand(x: &CpuStorage, shape: &[usize], out: &[usize]) -> Result<CpuStorage> {
    Ok(same_dtype!(x, v => expand_vec("expand", v, shape, out)))
}

fn slice_vec<T: Copy>(
    v: &[T],
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
    len: usize,
) -> Result<Vec<T>> {
    let op = "slice";
    fits(op, v.len(), shape)?;
    if dim >= shape.len() {
        bail!("{op}: dimension {dim} is out of range for shape {shape:?}");
    }
    let outer: usize = shape[..dim].iter().product();
    let inner: usize = shape[dim + 1..].iter().product();
    let full = shape[dim];
    let last = len
        .checked_sub(1)
        .map(|l| l.checked_mul(step).and_then(|x| x.checked_add(start)));
    if matches!(last, Some(None)) || last.flatten().is_some_and(|l| l >= full) {
        bail!(
            "{op}: {len} elements from {start} by {step} leave dimension {dim} of shape {shape:?}"
        );
    }
    let Some(n) = outer.checked_mul(len).and_then(|x| x.checked_mul(inner)) else {
        bail!("{op}: the result has too many elements");
    };
    let mut out = memory::alloc(op, n)?;
    for o in 0..outer {
        for j in 0..len {
            let at = (o * full + start + j * step) * inner;
            out.extend_from_slice(&v[at..at + inner]);
        }
    }
    Ok(out)
}

pub fn slice(
    x: &CpuStorage,
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
    len: usize,
) -> Result<CpuStorage> {
    Ok(same_dtype!(x, v => slice_vec(v, shape, dim, start, step, len)))
}

fn flip_vec<T: Copy>(v: &[T], shape: &[usize], dims: &[usize]) -> Result<Vec<T>> {
    let op = "flip";
    let mut a = view(op, v, shape)?;
    for &d in dims {
        if d >= shape.len() {
            bail!("{op}: dimension {d} is out of range for shape {shape:?}");
        }
        a.invert_axis(ndarray::Axis(d));
    }
    memory::collect(op, v.len(), a.iter().copied())
}

pub fn flip(x: &CpuStorage, shape: &[usize], dims: &[usize]) -> Result<CpuStorage> {
    Ok(same_dtype!(x, v => flip_vec(v, shape, dims)))
}

fn cat_vec<T: Copy>(parts: &[(&Buffer<T>, &[usize])], dim: usize) -> Result<Vec<T>> {
    let op = "cat";
    let first = parts[0].1;
    if dim >= first.len() {
        bail!("{op}: dimension {dim} is out of range for shape {first:?}");
    }
    for (v, s) in parts {
        fits(op, v.len(), s)?;
        if s.len() != first.len()
            || s.iter()
                .zip(first)
                .enumerate()
                .any(|(i, (a, b))| i != dim && a != b)
        {
            bail!("{op}: shapes {first:?} and {s:?} differ outside dimension {dim}");
        }
    }
    let outer: usize = first[..dim].iter().product();
    let inner: usize = first[dim + 1..].iter().product();
    let Some(total) = parts
        .iter()
        .try_fold(0usize, |acc, (v, _)| acc.checked_add(v.len()))
    else {
        bail!("{op}: the result has too many elements");
    };
    let mut out = memory::alloc(op, total)?;
    for o in 0..outer {
        for (v, s) in parts {
            let block = s[dim] * inner;
            out.extend_from_slice(&v[o * block..(o + 1) * block]);
        }
    }
    Ok(out)
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
            $variant(Buffer::from(cat_vec(&typed, dim)?))
        }};
    }
    let Some(first) = parts.first() else {
        bail!("cat: needs at least one tensor");
    };
    Ok(match first.0 {
        CpuStorage::F32(_) => gather_parts!(CpuStorage::F32),
        CpuStorage::I64(_) => gather_parts!(CpuStorage::I64),
        CpuStorage::Bool(_) => gather_parts!(CpuStorage::Bool),
    })
}
