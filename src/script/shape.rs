//! Shape functions: reshape/view, squeeze, permute, expand, cat/stack, split, flip, slices.

use super::convert::{IntoRR, RR, fail, int_list};
use super::registrar::Api;
use crate::tensor::Tensor;
use rhai::{Array, Dynamic};

fn tensors(op: &str, arr: &Array) -> RR<Vec<Tensor>> {
    arr.iter()
        .map(|v| match v.clone().try_cast::<Tensor>() {
            Some(t) => Ok(t),
            None => fail(format!(
                "{op}: expected an array of tensors, found {}",
                v.type_name()
            )),
        })
        .collect()
}

fn to_array(ts: Vec<Tensor>) -> Array {
    ts.into_iter().map(Dynamic::from).collect()
}

pub fn register(api: &mut Api) {
    for name in ["reshape", "view"] {
        reg!(
            api,
            name,
            "reshape(x, shape) / x.view(a, b, ...) — same values in a new shape; one dimension may be -1",
            |x: &mut Tensor, s: Dynamic| x.reshape(&int_list("reshape", &s)?).rr()
        );
        reg!(api, name, "", |x: &mut Tensor, a: i64, b: i64| x
            .reshape(&[a, b])
            .rr());
        reg!(api, name, "", |x: &mut Tensor, a: i64, b: i64, c: i64| x
            .reshape(&[a, b, c])
            .rr());
        reg!(api, name, "", |x: &mut Tensor,
                             a: i64,
                             b: i64,
                             c: i64,
                             d: i64| x
            .reshape(&[a, b, c, d])
            .rr());
    }
    reg!(
        api,
        "flatten",
        "flatten(x) / flatten(x, start) / flatten(x, start, end) — merges dimensions start..=end (all by default)",
        |x: &mut Tensor| x.flatten(0, -1).rr()
    );
    reg!(api, "flatten", "", |x: &mut Tensor, s: i64| x
        .flatten(s, -1)
        .rr());
    reg!(api, "flatten", "", |x: &mut Tensor, s: i64, e: i64| x
        .flatten(s, e)
        .rr());
    reg!(
        api,
        "squeeze",
        "squeeze(x) / squeeze(x, dim) — removes size-1 dimensions",
        |x: &mut Tensor| x.squeeze().rr()
    );
    reg!(api, "squeeze", "", |x: &mut Tensor, d: i64| x
        .squeeze_dim(d)
        .rr());
    reg!(
        api,
        "unsqueeze",
        "unsqueeze(x, dim) — inserts a size-1 dimension at dim",
        |x: &mut Tensor, d: i64| x.unsqueeze(d).rr()
    );
    reg!(
        api,
        "permute",
        "permute(x, dims) / x.permute(a, b, ...) — reorders dimensions",
        |x: &mut Tensor, p: Dynamic| x.permute(&int_list("permute", &p)?).rr()
    );
    reg!(api, "permute", "", |x: &mut Tensor, a: i64, b: i64| x
        .permute(&[a, b])
        .rr());
    reg!(api, "permute", "", |x: &mut Tensor,
                              a: i64,
                              b: i64,
                              c: i64| x
        .permute(&[a, b, c])
        .rr());
    reg!(api, "permute", "", |x: &mut Tensor,
                              a: i64,
                              b: i64,
                              c: i64,
                              d: i64| x
        .permute(&[a, b, c, d])
        .rr());
    reg!(
        api,
        "transpose",
        "transpose(x, dim0, dim1) — swaps two dimensions",
        |x: &mut Tensor, a: i64, b: i64| x.transpose(a, b).rr()
    );
    reg!(
        api,
        "t",
        "t(x) — transpose of a 2-D tensor",
        |x: &mut Tensor| x.t().rr()
    );
    reg!(
        api,
        "outer",
        "outer(a, b) — outer product of two 1-D tensors",
        |a: &mut Tensor, b: Tensor| a.outer(&b).rr()
    );
    reg!(
        api,
        "expand",
        "expand(x, shape) — broadcasts to shape (-1 keeps a dimension)",
        |x: &mut Tensor, s: Dynamic| x.expand(&int_list("expand", &s)?).rr()
    );
    reg!(
        api,
        "cat",
        "cat(tensors) / cat(tensors, dim) — joins an array of tensors along an existing dimension (0 by default)",
        |a: Array| Tensor::cat(&tensors("cat", &a)?, 0).rr()
    );
    reg!(api, "cat", "", |a: Array, d: i64| Tensor::cat(
        &tensors("cat", &a)?,
        d
    )
    .rr());
    reg!(
        api,
        "stack",
        "stack(tensors) / stack(tensors, dim) — joins equally shaped tensors along a new dimension",
        |a: Array| Tensor::stack(&tensors("stack", &a)?, 0).rr()
    );
    reg!(api, "stack", "", |a: Array, d: i64| Tensor::stack(
        &tensors("stack", &a)?,
        d
    )
    .rr());
    reg!(
        api,
        "split",
        "split(x, size) / split(x, size, dim) — an array of pieces of size along dim",
        |x: &mut Tensor, s: i64| Ok::<_, Box<rhai::EvalAltResult>>(to_array(x.split(s, 0).rr()?))
    );
    reg!(api, "split", "", |x: &mut Tensor, s: i64, d: i64| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        to_array(x.split(s, d).rr()?)
    ));
    reg!(
        api,
        "chunk",
        "chunk(x, n) / chunk(x, n, dim) — an array of n nearly equal pieces",
        |x: &mut Tensor, n: i64| Ok::<_, Box<rhai::EvalAltResult>>(to_array(x.chunk(n, 0).rr()?))
    );
    reg!(api, "chunk", "", |x: &mut Tensor, n: i64, d: i64| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        to_array(x.chunk(n, d).rr()?)
    ));
    reg!(
        api,
        "flip",
        "flip(x, dims) — reverses the order along each listed dimension",
        |x: &mut Tensor, d: Dynamic| x.flip(&int_list("flip", &d)?).rr()
    );
    reg!(
        api,
        "repeat",
        "repeat(x, reps) — tiles x reps[i] times along each dimension",
        |x: &mut Tensor, r: Dynamic| x.repeat(&int_list("repeat", &r)?).rr()
    );
    reg!(
        api,
        "narrow",
        "narrow(x, dim, start, length) — length elements from start along dim",
        |x: &mut Tensor, d: i64, s: i64, l: i64| x.narrow(d, s, l).rr()
    );
    reg!(
        api,
        "select",
        "select(x, dim, index) — the slice at index along dim, without that dimension (x.select(1, 0) is x[:, 0])",
        |x: &mut Tensor, d: i64, i: i64| x.select(d, i).rr()
    );
    reg!(
        api,
        "slice",
        "slice(x, dim, start, end) / slice(x, dim, start, end, step) — Python-style slice along dim",
        |x: &mut Tensor, d: i64, s: i64, e: i64| x.slice(d, s, e, 1).rr()
    );
    reg!(api, "slice", "", |x: &mut Tensor,
                            d: i64,
                            s: i64,
                            e: i64,
                            st: i64| x
        .slice(d, s, e, st)
        .rr());
    reg!(
        api,
        "matmul_nt",
        "matmul_nt(x, w) — x @ w.T without copying w (what a linear layer computes)",
        |x: &mut Tensor, w: Tensor| x.matmul_nt(&w).rr()
    );
}
