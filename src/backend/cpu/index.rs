//! Indexing kernels: select, gather, scatter-add, index-add, in-place copy, nonzero.
//! Callers have range-checked the indices.

use super::{CpuStorage, same_dtype};
use anyhow::{Result, bail};

fn indices(idx: &CpuStorage) -> Result<&Vec<i64>> {
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
    Ok(same_dtype!(x, v => {
        let mut out = Vec::with_capacity(outer * ids.len() * inner);
        for o in 0..outer {
            for &i in ids {
                let at = (o * len + i as usize) * inner;
                out.extend_from_slice(&v[at..at + inner]);
            }
        }
        out
    }))
}

/// Offsets into a tensor of `shape` for every position of an index tensor of `idx_shape`,
/// with the `dim` coordinate replaced by the index value.
fn gather_offsets(shape: &[usize], dim: usize, ids: &[i64], idx_shape: &[usize]) -> Vec<usize> {
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
        let mut out = Vec::with_capacity(ids.len());
        for o in 0..outer {
            for j in 0..ilen {
                let base = (o * ilen + j) * inner;
                for (i, &id) in ids[base..base + inner].iter().enumerate() {
                    out.push((o * len + id as usize) * inner + i);
                }
            }
        }
        return out;
    }
    let strides = crate::tensor::shape::contiguous_strides(shape);
    let nd = idx_shape.len();
    let mut coord = vec![0usize; nd];
    let mut out = Vec::with_capacity(ids.len());
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
    out
}

pub fn gather(
    x: &CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
    idx_shape: &[usize],
) -> Result<CpuStorage> {
    let offs = gather_offsets(shape, dim, indices(idx)?, idx_shape);
    Ok(same_dtype!(x, v => offs.iter().map(|&o| v[o]).collect()))
}

pub fn scatter_add(
    base: &CpuStorage,
    shape: &[usize],
    dim: usize,
    idx: &CpuStorage,
    idx_shape: &[usize],
    src: &CpuStorage,
) -> Result<CpuStorage> {
    let offs = gather_offsets(shape, dim, indices(idx)?, idx_shape);
    Ok(match (base, src) {
        (CpuStorage::F32(b), CpuStorage::F32(s)) => {
            let mut out = b.clone();
            for (&o, &v) in offs.iter().zip(s) {
                out[o] += v;
            }
            CpuStorage::F32(out)
        }
        (CpuStorage::I64(b), CpuStorage::I64(s)) => {
            let mut out = b.clone();
            for (&o, &v) in offs.iter().zip(s) {
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
    let ids = indices(idx)?;
    let dims = split(shape, dim);
    Ok(match (base, src) {
        (CpuStorage::F32(b), CpuStorage::F32(s)) => {
            let mut out = b.clone();
            index_add_into(&mut out, s, ids, dims, |x, y| x + y);
            CpuStorage::F32(out)
        }
        (CpuStorage::I64(b), CpuStorage::I64(s)) => {
            let mut out = b.clone();
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
    let ids = indices(idx)?.clone();
    let (outer, len, inner) = split(shape, dim);
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

pub fn nonzero(x: &CpuStorage) -> CpuStorage {
    let flags = x.to_bool_vec();
    CpuStorage::I64(
        flags
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .map(|(i, _)| i as i64)
            .collect(),
    )
}
