//! Indexing kernels: select, gather, scatter-add, index-add, in-place copy, nonzero.
//! Callers have range-checked the indices.

use super::{CpuStorage, same_dtype};
use crate::backend::memory;
use anyhow::{Result, bail};

fn indices(idx: &CpuStorage) -> Result<&[i64]> {
    match idx {
        CpuStorage::I64(v) => Ok(v),
        other => bail!("indices must be an i64 tensor, got {}", other.dtype()),
    }
}

fn split(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (
        shape[..dim].iter().product(),
        shape[dim],
        shape[dim + 1..].iter().product(),
    )
}

pub fn index_select(
    x: &CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
) -> Result<CpuStorage> {
    let ids = indices(idx)?;
    let (outer, len, inner) = split(shape, dim);
    check_range("index_select", ids, len)?;
    let Some(n) = outer
        .checked_mul(ids.len())
        .and_then(|x| x.checked_mul(inner))
    else {
        bail!("index_select: the result has too many elements");
    };
    Ok(same_dtype!(x, v => {
        memory::alloc("index_select", n).map(|mut out| {
            for o in 0..outer {
                for &i in ids {
                    let at = (o * len + i as usize) * inner;
                    out.extend_from_slice(&v[at..at + inner]);
                }
            }
            out
        })
    }))
}

/// Offsets into a tensor of `shape` for every position of an index tensor of `idx_shape`,
/// with the `dim` coordinate replaced by the index value.
fn gather_offsets(
    op: &str,
    shape: &[usize],
    dim: usize,
    ids: &[i64],
    idx_shape: &[usize],
) -> Result<Vec<usize>> {
    check_range(op, ids, shape[dim])?;
    if idx_shape.len() != shape.len()
        || idx_shape
            .iter()
            .zip(shape)
            .enumerate()
            .any(|(i, (a, b))| i != dim && a > b)
    {
        bail!("{op}: index shape {idx_shape:?} does not fit shape {shape:?}");
    }
    // Common case: the index spans every other dimension fully, so each position decomposes
    // as (outer, j, inner) around `dim`.
    let same_rest = idx_shape
        .iter()
        .zip(shape)
        .enumerate()
        .all(|(i, (a, b))| i == dim || a == b);
    if same_rest {
        let outer: usize = shape[..dim].iter().product();
        let inner: usize = shape[dim + 1..].iter().product();
        let (len, ilen) = (shape[dim], idx_shape[dim]);
        let mut out = memory::alloc(op, ids.len())?;
        for o in 0..outer {
            for j in 0..ilen {
                let base = (o * ilen + j) * inner;
                for (i, &id) in ids[base..base + inner].iter().enumerate() {
                    out.push((o * len + id as usize) * inner + i);
                }
            }
        }
        return Ok(out);
    }
    let strides = crate::tensor::shape::contiguous_strides(shape);
    let nd = idx_shape.len();
    let mut coord = vec![0usize; nd];
    let mut out = memory::alloc(op, ids.len())?;
    for &id in ids {
        let mut off = 0;
        for ax in 0..nd {
            let c = if ax == dim { id as usize } else { coord[ax] };
            off += c * strides[ax];
        }
        out.push(off);
        for ax in (0..nd).rev() {
            coord[ax] += 1;
            if coord[ax] < idx_shape[ax] {
                break;
            }
            coord[ax] = 0;
        }
    }
    Ok(out)
}

pub fn gather(
    x: &CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
    idx_shape: &[usize],
) -> Result<CpuStorage> {
    let offs = gather_offsets("gather", shape, dim, indices(idx)?, idx_shape)?;
    Ok(same_dtype!(x, v => memory::collect("gather", offs.len(), offs.iter().map(|&o| v[o]))))
}

pub fn scatter_add(
    base: &CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
    idx_shape: &[usize],
    src: &CpuStorage,
) -> Result<CpuStorage> {
    let op = "scatter_add";
    let offs = gather_offsets(op, shape, dim, indices(idx)?, idx_shape)?;
    Ok(match (base, src) {
        (CpuStorage::F32(b), CpuStorage::F32(s)) => {
            let mut out = b.try_clone(op)?;
            for (&o, &v) in offs.iter().zip(s.iter()) {
                out[o] += v;
            }
            CpuStorage::F32(out)
        }
        (CpuStorage::I64(b), CpuStorage::I64(s)) => {
            let mut out = b.try_clone(op)?;
            for (&o, &v) in offs.iter().zip(s.iter()) {
                out[o] = out[o].wrapping_add(v);
            }
            CpuStorage::I64(out)
        }
        _ => bail!(
            "scatter_add: needs numeric tensors of one dtype, got {} and {}",
            base.dtype(),
            src.dtype()
        ),
    })
}

/// Adds the slices of `src` into `dst` at entries `ids` along a dimension seen as
/// `[outer, len, inner]`.
fn index_add_into<T: Copy>(
    dst: &mut [T],
    src: &[T],
    ids: &[i64],
    (outer, len, inner): (usize, usize, usize),
    add: impl Fn(T, T) -> T,
) {
    let n = ids.len();
    for o in 0..outer {
        for (j, &i) in ids.iter().enumerate() {
            let d = (o * len + i as usize) * inner;
            let sp = (o * n + j) * inner;
            for (x, &y) in dst[d..d + inner].iter_mut().zip(&src[sp..sp + inner]) {
                *x = add(*x, y);
            }
        }
    }
}

pub fn index_add(
    base: &CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
    src: &CpuStorage,
) -> Result<CpuStorage> {
    let op = "index_add";
    let ids = indices(idx)?;
    let dims = split(shape, dim);
    check_slices(op, ids, dims, src.len())?;
    Ok(match (base, src) {
        (CpuStorage::F32(b), CpuStorage::F32(s)) => {
            let mut out = b.try_clone(op)?;
            index_add_into(&mut out, s, ids, dims, |x, y| x + y);
            CpuStorage::F32(out)
        }
        (CpuStorage::I64(b), CpuStorage::I64(s)) => {
            let mut out = b.try_clone(op)?;
            index_add_into(&mut out, s, ids, dims, i64::wrapping_add);
            CpuStorage::I64(out)
        }
        _ => bail!(
            "index_add: needs numeric tensors of one dtype, got {} and {}",
            base.dtype(),
            src.dtype()
        ),
    })
}

pub fn index_copy(
    dst: &mut CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
    src: &CpuStorage,
) -> Result<()> {
    let ids = memory::copy_of("index_put", indices(idx)?)?;
    let (outer, len, inner) = split(shape, dim);
    check_slices("index_put", &ids, (outer, len, inner), src.len())?;
    let n = ids.len();
    macro_rules! copy {
        ($d:expr, $s:expr) => {{
            for o in 0..outer {
                for (j, &i) in ids.iter().enumerate() {
                    let d = (o * len + i as usize) * inner;
                    let sp = (o * n + j) * inner;
                    $d[d..d + inner].copy_from_slice(&$s[sp..sp + inner]);
                }
            }
        }};
    }
    match (dst, src) {
        (CpuStorage::F32(d), CpuStorage::F32(s)) => copy!(d, s),
        (CpuStorage::I64(d), CpuStorage::I64(s)) => copy!(d, s),
        (CpuStorage::Bool(d), CpuStorage::Bool(s)) => copy!(d, s),
        (d, s) => bail!("index_put: dtypes differ ({} and {})", d.dtype(), s.dtype()),
    }
    Ok(())
}

pub fn nonzero(x: &CpuStorage) -> Result<CpuStorage> {
    fn positions<T: Copy>(v: &[T], on: impl Fn(T) -> bool) -> Result<Vec<i64>> {
        let n = v.iter().filter(|&&x| on(x)).count();
        let hits = v.iter().enumerate().filter(|(_, x)| on(**x));
        memory::collect("nonzero", n, hits.map(|(i, _)| i as i64))
    }
    Ok(CpuStorage::i64(match x {
        CpuStorage::F32(v) => positions(v, |x| x != 0.0)?,
        CpuStorage::I64(v) => positions(v, |x| x != 0)?,
        CpuStorage::Bool(v) => positions(v, |x| x)?,
    }))
}

/// The first value outside `lo..hi`, if any (index range checks).
pub fn first_outside(x: &CpuStorage, lo: i64, hi: i64) -> Result<Option<i64>> {
    let CpuStorage::I64(v) = x else {
        bail!("indices must be an i64 tensor, got {}", x.dtype());
    };
    Ok(v.iter().copied().find(|&i| i < lo || i >= hi))
}

/// Errors unless every index lies in `0..len` (the kernels' own guard: callers have already
/// checked and normalised them, with messages that name the op's dimension).
fn check_range(op: &str, ids: &[i64], len: usize) -> Result<()> {
    if let Some(bad) = ids.iter().find(|&&i| i < 0 || i as u64 >= len as u64) {
        bail!("{op}: index {bad} is out of range for a dimension of size {len}");
    }
    Ok(())
}

/// Checks indices into `[outer, len, inner]` and a source of `outer * ids * inner` values.
fn check_slices(
    op: &str,
    ids: &[i64],
    (outer, len, inner): (usize, usize, usize),
    src_len: usize,
) -> Result<()> {
    check_range(op, ids, len)?;
    let want = outer
        .checked_mul(ids.len())
        .and_then(|x| x.checked_mul(inner));
    if want != Some(src_len) {
        bail!("{op}: the source holds {src_len} values, not one slice per index");
    }
    Ok(())
}
