//! `x[...]` reads and writes, and the gather/scatter/partition family.

use super::convert::{IntoRR, RR, fail, num};
use super::registrar::Api;
use crate::ops::IndexArg;
use crate::tensor::Tensor;
use rhai::{Array, Dynamic};
use std::ops::{Range, RangeInclusive};

fn range_arg(r: &Range<i64>) -> IndexArg {
    IndexArg::Range {
        start: r.start,
        end: r.end,
        step: 1,
    }
}

fn incl_arg(r: &RangeInclusive<i64>) -> IndexArg {
    IndexArg::Range {
        start: *r.start(),
        end: *r.end() + 1,
        step: 1,
    }
}

/// A value for assignment: a tensor, or a number in the target's dtype.
fn value_for(target: &Tensor, v: &Dynamic) -> RR<Tensor> {
    match v.clone().try_cast::<Tensor>() {
        Some(t) => Ok(t),
        None => Tensor::scalar_like(num("index_put", v)?, target.dtype(), target.device()).rr(),
    }
}

fn index_arg(v: &Dynamic) -> RR<IndexArg> {
    if let Some(i) = v.clone().try_cast::<i64>() {
        Ok(IndexArg::Int(i))
    } else if let Some(t) = v.clone().try_cast::<Tensor>() {
        Ok(IndexArg::Tensor(t))
    } else if let Some(r) = v.clone().try_cast::<Range<i64>>() {
        Ok(range_arg(&r))
    } else if let Some(r) = v.clone().try_cast::<RangeInclusive<i64>>() {
        Ok(incl_arg(&r))
    } else {
        fail(format!(
            "index: cannot index a tensor with {}",
            v.type_name()
        ))
    }
}

pub fn register(api: &mut Api) {
    api.engine
        .register_indexer_get(|x: &mut Tensor, i: i64| x.index(&IndexArg::Int(i)).rr());
    api.engine
        .register_indexer_get(|x: &mut Tensor, i: Tensor| x.index(&IndexArg::Tensor(i)).rr());
    api.engine
        .register_indexer_get(|x: &mut Tensor, r: Range<i64>| x.index(&range_arg(&r)).rr());
    api.engine
        .register_indexer_get(|x: &mut Tensor, r: RangeInclusive<i64>| x.index(&incl_arg(&r)).rr());
    api.engine
        .register_indexer_set(|x: &mut Tensor, i: i64, v: Dynamic| {
            let val = value_for(x, &v)?;
            x.index_put_(&IndexArg::Int(i), &val).rr()
        });
    api.engine
        .register_indexer_set(|x: &mut Tensor, i: Tensor, v: Dynamic| {
            let val = value_for(x, &v)?;
            x.index_put_(&IndexArg::Tensor(i), &val).rr()
        });
    api.engine
        .register_indexer_set(|x: &mut Tensor, r: Range<i64>, v: Dynamic| {
            let val = value_for(x, &v)?;
            x.index_put_(&range_arg(&r), &val).rr()
        });
    api.engine
        .register_indexer_set(|x: &mut Tensor, r: RangeInclusive<i64>, v: Dynamic| {
            let val = value_for(x, &v)?;
            x.index_put_(&incl_arg(&r), &val).rr()
        });
    api.docs.add("[]", "x[i], x[i][j], x[a..b], x[idx_tensor], x[bool_mask] — reads along the first dimension (negative i counts from the end); x[i] = v writes in place");
    reg!(
        api,
        "index_put",
        "index_put(x, index, value) — writes value into x[index] in place (index: int, range, i64 tensor or row mask)",
        |x: &mut Tensor, i: Dynamic, v: Dynamic| {
            let val = value_for(x, &v)?;
            x.index_put_(&index_arg(&i)?, &val).rr()
        }
    );
    reg!(
        api,
        "index_select",
        "index_select(x, dim, idx) — entries idx (1-D i64) along dim",
        |x: &mut Tensor, d: i64, i: Tensor| x.index_select(d, &i).rr()
    );
    reg!(
        api,
        "masked_select",
        "masked_select(x, mask) — elements (or leading rows) where the bool mask is true",
        |x: &mut Tensor, m: Tensor| x.masked_select(&m).rr()
    );
    reg!(
        api,
        "gather",
        "gather(x, dim, idx) — out[i][j] = x[idx[i][j]][j] (dim 0) / x[i][idx[i][j]] (dim 1)",
        |x: &mut Tensor, d: i64, i: Tensor| x.gather(d, &i).rr()
    );
    reg!(
        api,
        "scatter_add",
        "scatter_add(x, dim, idx, src) — a copy of x with src added at idx along dim",
        |x: &mut Tensor, d: i64, i: Tensor, s: Tensor| x.scatter_add(d, &i, &s).rr()
    );
    reg!(
        api,
        "index_add",
        "index_add(x, dim, idx, src) — a copy of x with the slices of src added at entries idx along dim",
        |x: &mut Tensor, d: i64, i: Tensor, s: Tensor| x.index_add(d, &i, &s).rr()
    );
    reg!(
        api,
        "nonzero",
        "nonzero(x) — flat positions of the non-zero elements (1-D i64)",
        |x: &mut Tensor| x.nonzero_flat().rr()
    );
    reg!(
        api,
        "dynamic_partition",
        "dynamic_partition(data, partitions, n) — an array of n tensors: the rows of data whose partition id is 0, 1, ...",
        |d: Tensor, p: Tensor, n: i64| {
            Ok::<Array, Box<rhai::EvalAltResult>>(
                Tensor::dynamic_partition(&d, &p, n)
                    .rr()?
                    .into_iter()
                    .map(Dynamic::from)
                    .collect(),
            )
        }
    );
    reg!(
        api,
        "unsorted_segment_sum",
        "unsorted_segment_sum(data, ids, n) — sums the rows of data by segment id into n rows",
        |d: Tensor, i: Tensor, n: i64| Tensor::unsorted_segment_sum(&d, &i, n).rr()
    );
    reg!(
        api,
        "bincount",
        "bincount(x) / bincount(x, minlength) — counts of each value of a 1-D i64 tensor",
        |x: &mut Tensor| x.bincount(0).rr()
    );
    reg!(api, "bincount", "", |x: &mut Tensor, m: i64| x
        .bincount(m)
        .rr());
}
