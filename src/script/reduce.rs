//! Reductions: sum, mean, max/min (with indices), arg-extrema, var/std, norms, logic, cumsum.

use super::convert::{IntoRR, RR, check_opts, num, opt};
use super::registrar::Api;
use crate::ops::MinMax;
use crate::tensor::Tensor;
use rhai::{Dynamic, Map};

fn minmax_map(m: MinMax) -> Map {
    let mut map = Map::new();
    map.insert("values".into(), Dynamic::from(m.values));
    map.insert("indices".into(), Dynamic::from(m.indices));
    map
}

/// `unbiased` and `keepdim` from a trailing map (defaults: true, false).
fn var_opts(op: &str, o: &Map) -> RR<(bool, bool)> {
    check_opts(op, o, &["unbiased", "keepdim"])?;
    Ok((
        opt::<bool>(op, o, "unbiased")?.unwrap_or(true),
        opt::<bool>(op, o, "keepdim")?.unwrap_or(false),
    ))
}

pub fn register(api: &mut Api) {
    reg!(
        api,
        "sum",
        "sum(x) / sum(x, dim) / sum(x, dim, keepdim) — sum of all elements or along dim",
        |x: &mut Tensor| x.sum().rr()
    );
    reg!(api, "sum", "", |x: &mut Tensor, d: i64| x
        .sum_dim(d, false)
        .rr());
    reg!(api, "sum", "", |x: &mut Tensor, d: i64, k: bool| x
        .sum_dim(d, k)
        .rr());
    reg!(
        api,
        "mean",
        "mean(x) / mean(x, dim) / mean(x, dim, keepdim) — mean of all elements or along dim",
        |x: &mut Tensor| x.mean().rr()
    );
    reg!(api, "mean", "", |x: &mut Tensor, d: i64| x
        .mean_dim(d, false)
        .rr());
    reg!(api, "mean", "", |x: &mut Tensor, d: i64, k: bool| x
        .mean_dim(d, k)
        .rr());
    reg!(
        api,
        "max",
        "max(x) — largest element; max(x, dim[, keepdim]) — #{values, indices} along dim; max(a, b) — elementwise maximum",
        |x: &mut Tensor| x.max().rr()
    );
    reg!(api, "max", "", |x: &mut Tensor, d: i64| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(minmax_map(
        x.max_dim(d, false).rr()?
    )));
    reg!(api, "max", "", |x: &mut Tensor, d: i64, k: bool| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        minmax_map(x.max_dim(d, k).rr()?)
    ));
    reg!(api, "max", "", |x: &mut Tensor, o: Tensor| x
        .maximum(&o)
        .rr());
    reg!(
        api,
        "min",
        "min(x) — smallest element; min(x, dim[, keepdim]) — #{values, indices} along dim; min(a, b) — elementwise minimum",
        |x: &mut Tensor| x.min().rr()
    );
    reg!(api, "min", "", |x: &mut Tensor, d: i64| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(minmax_map(
        x.min_dim(d, false).rr()?
    )));
    reg!(api, "min", "", |x: &mut Tensor, d: i64, k: bool| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        minmax_map(x.min_dim(d, k).rr()?)
    ));
    reg!(api, "min", "", |x: &mut Tensor, o: Tensor| x
        .minimum(&o)
        .rr());
    reg!(
        api,
        "amax",
        "amax(x, dim) / amax(x, dim, keepdim) — largest values along dim",
        |x: &mut Tensor, d: i64| x.amax(d, false).rr()
    );
    reg!(api, "amax", "", |x: &mut Tensor, d: i64, k: bool| x
        .amax(d, k)
        .rr());
    reg!(
        api,
        "amin",
        "amin(x, dim) / amin(x, dim, keepdim) — smallest values along dim",
        |x: &mut Tensor, d: i64| x.amin(d, false).rr()
    );
    reg!(api, "amin", "", |x: &mut Tensor, d: i64, k: bool| x
        .amin(d, k)
        .rr());
    reg!(
        api,
        "argmax",
        "argmax(x) / argmax(x, dim) / argmax(x, dim, keepdim) — index of the largest element (i64)",
        |x: &mut Tensor| x.argmax().rr()
    );
    reg!(api, "argmax", "", |x: &mut Tensor, d: i64| x
        .argmax_dim(d, false)
        .rr());
    reg!(api, "argmax", "", |x: &mut Tensor, d: i64, k: bool| x
        .argmax_dim(d, k)
        .rr());
    reg!(
        api,
        "argmin",
        "argmin(x) / argmin(x, dim) / argmin(x, dim, keepdim) — index of the smallest element (i64)",
        |x: &mut Tensor| x.argmin().rr()
    );
    reg!(api, "argmin", "", |x: &mut Tensor, d: i64| x
        .argmin_dim(d, false)
        .rr());
    reg!(api, "argmin", "", |x: &mut Tensor, d: i64, k: bool| x
        .argmin_dim(d, k)
        .rr());
    reg!(
        api,
        "variance",
        "variance(x) / variance(x, dim) / variance(x, dim, keepdim) / variance(x, dim, #{unbiased, keepdim}) — torch.var (unbiased by default); named variance because var is reserved in Rhai",
        |x: &mut Tensor| x.var(None, true, false).rr()
    );
    reg!(api, "variance", "", |x: &mut Tensor, d: i64| x
        .var(Some(d), true, false)
        .rr());
    reg!(api, "variance", "", |x: &mut Tensor, d: i64, k: bool| x
        .var(Some(d), true, k)
        .rr());
    reg!(api, "variance", "", |x: &mut Tensor, d: i64, o: Map| {
        let (u, k) = var_opts("variance", &o)?;
        x.var(Some(d), u, k).rr()
    });
    reg!(
        api,
        "std",
        "std(x) / std(x, dim) / std(x, dim, #{unbiased, keepdim}) — standard deviation",
        |x: &mut Tensor| x.std(None, true, false).rr()
    );
    reg!(api, "std", "", |x: &mut Tensor, d: i64| x
        .std(Some(d), true, false)
        .rr());
    reg!(api, "std", "", |x: &mut Tensor, d: i64, k: bool| x
        .std(Some(d), true, k)
        .rr());
    reg!(api, "std", "", |x: &mut Tensor, d: i64, o: Map| {
        let (u, k) = var_opts("std", &o)?;
        x.std(Some(d), u, k).rr()
    });
    reg!(
        api,
        "all",
        "all(x) / all(x, dim) / all(x, dim, keepdim) — whether every element is true",
        |x: &mut Tensor| x.all(None, false).rr()
    );
    reg!(api, "all", "", |x: &mut Tensor, d: i64| x
        .all(Some(d), false)
        .rr());
    reg!(api, "all", "", |x: &mut Tensor, d: i64, k: bool| x
        .all(Some(d), k)
        .rr());
    reg!(
        api,
        "any",
        "any(x) / any(x, dim) / any(x, dim, keepdim) — whether any element is true",
        |x: &mut Tensor| x.any(None, false).rr()
    );
    reg!(api, "any", "", |x: &mut Tensor, d: i64| x
        .any(Some(d), false)
        .rr());
    reg!(api, "any", "", |x: &mut Tensor, d: i64, k: bool| x
        .any(Some(d), k)
        .rr());
    reg!(
        api,
        "logsumexp",
        "logsumexp(x, dim) / logsumexp(x, dim, keepdim) — log(sum(exp(x))) along dim, computed stably",
        |x: &mut Tensor, d: i64| x.logsumexp(d, false).rr()
    );
    reg!(api, "logsumexp", "", |x: &mut Tensor, d: i64, k: bool| x
        .logsumexp(d, k)
        .rr());
    reg!(
        api,
        "norm",
        "norm(x) / norm(x, p) / norm(x, p, dim) / norm(x, p, dim, keepdim) — the p-norm (2 by default)",
        |x: &mut Tensor| x.norm(2.0, None, false).rr()
    );
    reg!(api, "norm", "", |x: &mut Tensor, p: Dynamic| x
        .norm(num("norm", &p)?, None, false)
        .rr());
    reg!(api, "norm", "", |x: &mut Tensor, p: Dynamic, d: i64| x
        .norm(num("norm", &p)?, Some(d), false)
        .rr());
    reg!(api, "norm", "", |x: &mut Tensor,
                           p: Dynamic,
                           d: i64,
                           k: bool| x
        .norm(num("norm", &p)?, Some(d), k)
        .rr());
    reg!(
        api,
        "prod",
        "prod(x) / prod(x, dim) / prod(x, dim, keepdim) — product of elements",
        |x: &mut Tensor| x.prod(None, false).rr()
    );
    reg!(api, "prod", "", |x: &mut Tensor, d: i64| x
        .prod(Some(d), false)
        .rr());
    reg!(api, "prod", "", |x: &mut Tensor, d: i64, k: bool| x
        .prod(Some(d), k)
        .rr());
    reg!(
        api,
        "cumsum",
        "cumsum(x, dim) — running sum along dim",
        |x: &mut Tensor, d: i64| x.cumsum(d).rr()
    );
    reg!(
        api,
        "sort",
        "sort(x) / sort(x, dim) / sort(x, dim, descending) — #{values, indices} sorted along dim (last by default)",
        |x: &mut Tensor| Ok::<_, Box<rhai::EvalAltResult>>(minmax_map(x.sort(-1, false).rr()?))
    );
    reg!(api, "sort", "", |x: &mut Tensor, d: i64| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(minmax_map(
        x.sort(d, false).rr()?
    )));
    reg!(api, "sort", "", |x: &mut Tensor, d: i64, desc: bool| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        minmax_map(x.sort(d, desc).rr()?)
    ));
    reg!(
        api,
        "argsort",
        "argsort(x) / argsort(x, dim) / argsort(x, dim, descending) — positions that sort x along dim",
        |x: &mut Tensor| x.argsort(-1, false).rr()
    );
    reg!(api, "argsort", "", |x: &mut Tensor, d: i64| x
        .argsort(d, false)
        .rr());
    reg!(api, "argsort", "", |x: &mut Tensor, d: i64, desc: bool| x
        .argsort(d, desc)
        .rr());
    reg!(
        api,
        "median",
        "median(x) — the lower median of all elements",
        |x: &mut Tensor| x.median().rr()
    );
}
