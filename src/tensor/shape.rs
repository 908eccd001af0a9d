//! Shape arithmetic: broadcasting, axis normalisation, element counts.

use anyhow::{Result, bail};

/// Number of elements of a shape (1 for a scalar shape `[]`). Saturates instead of
/// overflowing; every tensor's shape has passed [`checked_numel`], so for a tensor it is exact.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d))
}

/// Largest element count a shape may describe: sizes in bytes and offsets must stay
/// representable as `isize` for every dtype (8 bytes per element at most).
const MAX_NUMEL: usize = isize::MAX as usize / 8;

/// The number of elements of `shape`, or an error naming `op` when the product of its sizes
/// overflows. Zero-sized dimensions count as one for the check, so that every partial product
/// a kernel forms (`outer`, `inner`, strides) stays representable too.
pub fn checked_numel(op: &str, shape: &[usize]) -> Result<usize> {
    let mut nonzero: usize = 1;
    for &d in shape {
        match nonzero.checked_mul(d.max(1)) {
            Some(v) if v <= MAX_NUMEL => nonzero = v,
            _ => bail!("{op}: shape {shape:?} has too many elements (the count overflows)"),
        }
    }
    Ok(if shape.contains(&0) { 0 } else { nonzero })
}

/// Row-major strides of a contiguous tensor of this shape.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// NumPy broadcasting of two shapes; `op` names the operation in the error.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() {
            1
        } else {
            a[i - (n - a.len())]
        };
        let db = if i < n - b.len() {
            1
        } else {
            b[i - (n - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => bail!("{op}: shapes {a:?} and {b:?} cannot be broadcast together"),
        };
    }
    checked_numel(op, &out)?;
    Ok(out)
}

/// Strides for reading a tensor of `shape` as if it had the (broadcast) shape `out`:
/// 0 where the dimension is broadcast.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let own = contiguous_strides(shape);
    let offset = out.len() - shape.len();
    (0..out.len())
        .map(|i| {
            if i < offset || shape[i - offset] == 1 {
                0
            } else {
                own[i - offset]
            }
        })
        .collect()
}

/// Turns a possibly negative axis into an index in `0..ndim`.
pub fn normalize_axis(op: &str, axis: i64, ndim: usize) -> Result<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n.max(1) || (ndim == 0 && a != 0) {
        bail!("{op}: dimension {axis} is out of range for a tensor with {ndim} dimensions");
    }
    Ok(a as usize)
}

/// [`normalize_axis`] for ops that index the dimension itself: a 0-d tensor has none.
pub fn existing_dim(op: &str, axis: i64, ndim: usize) -> Result<usize> {
    if ndim == 0 {
        bail!("{op}: a 0-d tensor has no dimension {axis}");
    }
    normalize_axis(op, axis, ndim)
}

/// Checks a shape requested by a script: sizes are non-negative and their product does not
/// overflow (whether it fits in memory is checked when it is allocated).
pub fn checked_shape(op: &str, dims: &[i64]) -> Result<Vec<usize>> {
    let mut shape = Vec::with_capacity(dims.len());
    for &d in dims {
        if d < 0 {
            bail!("{op}: negative dimension {d} in shape {dims:?}");
        }
        shape.push(d as usize);
    }
    checked_numel(op, &shape)?;
    Ok(shape)
}

/// Resolves a reshape target with at most one `-1` against a number of elements.
pub fn infer_reshape(op: &str, from: &[usize], dims: &[i64]) -> Result<Vec<usize>> {
    let total = checked_numel(op, from)?;
    let mut known: usize = 1;
    let mut infer = None;
    for (i, &d) in dims.iter().enumerate() {
        if d == -1 {
            if infer.is_some() {
                bail!("{op}: only one dimension can be -1 in {dims:?}");
            }
            infer = Some(i);
        } else if d < 0 {
            bail!("{op}: invalid dimension {d} in {dims:?}");
        } else {
            known = known.saturating_mul(d as usize);
        }
    }
    let as_usize: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    checked_numel(op, &as_usize)?;
    let mut shape: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            bail!("{op}: cannot reshape a tensor of shape {from:?} into {dims:?}");
        }
        shape[i] = total / known;
        checked_numel(op, &shape)?;
    } else if known != total {
        bail!("{op}: cannot reshape a tensor of shape {from:?} ({total} elements) into {dims:?}");
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        assert!(broadcast_shapes("t", &[3], &[4]).is_err());
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
    }

    #[test]
    fn reshape_infers_one_dimension() {
        assert_eq!(infer_reshape("r", &[2, 6], &[-1, 3]).unwrap(), vec![4, 3]);
        assert!(infer_reshape("r", &[2, 6], &[-1, 5]).is_err());
        assert!(infer_reshape("r", &[2, 6], &[-1, -1]).is_err());
        assert!(infer_reshape("r", &[0], &[0, 1 << 62, 1 << 62]).is_err());
    }

    #[test]
    fn element_counts_never_overflow() {
        assert_eq!(numel(&[usize::MAX, 2]), usize::MAX);
        assert!(checked_numel("t", &[4611686018427387905, 4]).is_err());
        assert!(checked_numel("t", &[0, 1 << 40, 1 << 40]).is_err());
        assert_eq!(checked_numel("t", &[0, 3]).unwrap(), 0);
        assert_eq!(checked_numel("t", &[]).unwrap(), 1);
        assert!(broadcast_shapes("t", &[1 << 40, 1], &[1, 1 << 40]).is_err());
    }
}
