//! Shape arithmetic: broadcasting, axis normalisation, element counts.

use anyhow::{Result, bail};

/// Number of elements of a shape (1 for a scalar shape `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
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

/// Largest number of elements one tensor may hold: guards against runaway allocations.
pub const MAX_ELEMENTS: usize = 1 << 34;

/// Checks a shape requested by a script: sizes are non-negative and the total is allocatable.
pub fn checked_shape(op: &str, dims: &[i64]) -> Result<Vec<usize>> {
    let mut total: usize = 1;
    let mut shape = Vec::with_capacity(dims.len());
    for &d in dims {
        if d < 0 {
            bail!("{op}: negative dimension {d} in shape {dims:?}");
        }
        total = total.saturating_mul(d as usize);
        shape.push(d as usize);
    }
    if total > MAX_ELEMENTS {
        bail!("{op}: shape {dims:?} holds {total} elements, more than the limit of {MAX_ELEMENTS}");
    }
    Ok(shape)
}

/// Resolves a reshape target with at most one `-1` against a number of elements.
pub fn infer_reshape(op: &str, from: &[usize], dims: &[i64]) -> Result<Vec<usize>> {
    let total = numel(from);
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
    let mut shape: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            bail!("{op}: cannot reshape a tensor of shape {from:?} into {dims:?}");
        }
        shape[i] = total / known;
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
    }
}
