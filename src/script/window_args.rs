//! Reading the window arguments of convolution and pooling from script values: an int for
//! every spatial dimension or an array with one per dimension; padding also `"same"`/`"valid"`.

use super::convert::{RR, fail, opt};
use crate::ops::Padding;
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, Map};

/// One non-negative int per spatial dimension (`dims` is 1 or 2) from an int or an array.
pub fn ints(op: &str, key: &str, v: &Dynamic, dims: usize) -> RR<Vec<usize>> {
    let list: Vec<i64> = if let Some(i) = v.clone().try_cast::<i64>() {
        vec![i; dims]
    } else if let Some(a) = v.clone().try_cast::<Array>() {
        a.iter()
            .map(|d| {
                d.as_int().map_err(|_| {
                    fail::<()>(format!("{op}: {key} takes integers, got {}", d.type_name()))
                        .unwrap_err()
                })
            })
            .collect::<RR<_>>()?
    } else {
        return fail(format!(
            "{op}: {key} takes an integer or an array of {dims}, got {}",
            v.type_name()
        ));
    };
    if list.len() != dims {
        return fail(format!(
            "{op}: {key} needs {dims} value(s), got {}",
            list.len()
        ));
    }
    if let Some(bad) = list.iter().find(|&&v| v < 0) {
        return fail(format!("{op}: {key} must be non-negative, got {bad}"));
    }
    Ok(list.into_iter().map(|v| v as usize).collect())
}

/// A (height, width) pair from `ints`, with height `fill` for a 1-D op.
pub fn pair(op: &str, key: &str, v: &Dynamic, dims: usize, fill: usize) -> RR<(usize, usize)> {
    let v = ints(op, key, v, dims)?;
    Ok(if dims == 1 {
        (fill, v[0])
    } else {
        (v[0], v[1])
    })
}

/// A positive (height, width) option with a default.
pub fn pair_opt(
    op: &str,
    o: &Map,
    key: &str,
    dims: usize,
    default: (usize, usize),
) -> RR<(usize, usize)> {
    match o.get(key) {
        None => Ok(default),
        Some(v) => {
            let p = pair(op, key, v, dims, 1)?;
            if key != "padding" && key != "output_padding" && (p.0 == 0 || p.1 == 0) {
                return fail(format!("{op}: {key} must be positive, got {p:?}"));
            }
            Ok(p)
        }
    }
}

/// Convolution padding: an int or array, `"same"` or `"valid"`.
pub fn padding(op: &str, o: &Map, dims: usize) -> RR<Padding> {
    match o.get("padding") {
        None => Ok(Padding::Explicit(0, 0)),
        Some(v) if v.is_string() => match v.clone().into_string().unwrap_or_default().as_str() {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Explicit(0, 0)),
            other => fail(format!(
                "{op}: padding must be a number, \"same\" or \"valid\", got {other:?}"
            )),
        },
        Some(v) => {
            let (h, w) = pair(op, "padding", v, dims, 0)?;
            Ok(Padding::Explicit(h, w))
        }
    }
}

/// An optional tensor argument: a tensor, or `()` for none.
pub fn maybe_tensor(op: &str, what: &str, v: &Dynamic) -> RR<Option<Tensor>> {
    if v.is_unit() {
        return Ok(None);
    }
    v.clone().try_cast::<Tensor>().map(Some).ok_or_else(|| {
        fail::<()>(format!(
            "{op}: {what} should be a tensor or (), got {}",
            v.type_name()
        ))
        .unwrap_err()
    })
}

/// A positive integer option.
pub fn positive(op: &str, o: &Map, key: &str, default: usize) -> RR<usize> {
    match opt::<i64>(op, o, key)? {
        None => Ok(default),
        Some(v) if v > 0 => Ok(v as usize),
        Some(v) => fail(format!("{op}: {key} must be positive, got {v}")),
    }
}
