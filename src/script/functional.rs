//! Functional NN ops: softmax family, dropout, embedding lookup (losses: `loss_api.rs`).

use super::convert::{IntoRR, check_opts, num, opt, opt_num};
use super::registrar::Api;
use crate::tensor::Tensor;
use rhai::{Dynamic, Map};

pub fn register(api: &mut Api) {
    reg!(
        api,
        "softmax",
        "softmax(x, dim) — exp(x) / sum(exp(x)) along dim",
        |x: &mut Tensor, d: i64| x.softmax(d).rr()
    );
    reg!(
        api,
        "log_softmax",
        "log_softmax(x, dim) — log of softmax along dim, computed stably",
        |x: &mut Tensor, d: i64| x.log_softmax(d).rr()
    );
    reg!(
        api,
        "dropout",
        "dropout(x, #{p: 0.5, training: true}) / dropout(x, p) / dropout(x, p, training) — zeroes elements with probability p and scales the rest by 1/(1-p) (identity when training is false), as F.dropout\nexample: dropout(ones([2, 4]), 0.5, false)",
        |x: &mut Tensor| x.dropout(0.5, true).rr()
    );
    reg!(api, "dropout", "", |x: &mut Tensor, p: Dynamic| x
        .dropout(num("dropout", &p)?, true)
        .rr());
    reg!(api, "dropout", "", |x: &mut Tensor, p: Dynamic, t: bool| x
        .dropout(num("dropout", &p)?, t)
        .rr());
    reg!(api, "dropout", "", |x: &mut Tensor, o: Map| {
        check_opts("dropout", &o, &["p", "training"])?;
        let p = opt_num("dropout", &o, "p")?.unwrap_or(0.5);
        let t = opt::<bool>("dropout", &o, "training")?.unwrap_or(true);
        x.dropout(p, t).rr()
    });
    reg!(
        api,
        "embedding",
        "embedding(ids, weight, #{padding_idx: ()}) — rows of weight [V, D] for i64 ids (result ids.shape + [D]); the gradient scatter-adds into those rows, except the padding_idx row (negative counts from the end), which gets none, as F.embedding\nexample: embedding(tensor([[0, 2]]), eye(3), #{padding_idx: 0})",
        |i: &mut Tensor, w: Tensor| Tensor::embedding(i, &w).rr()
    );
    reg!(api, "embedding", "", |i: &mut Tensor, w: Tensor, o: Map| {
        check_opts("embedding", &o, &["padding_idx"])?;
        let p = match o.get("padding_idx") {
            Some(v) if v.is_unit() => None,
            _ => opt::<i64>("embedding", &o, "padding_idx")?,
        };
        Tensor::embedding_with(i, &w, p).rr()
    });
}
