//! Functional NN ops: softmax family, dropout, embedding lookup (losses: `loss_api.rs`).

use super::convert::{IntoRR, num};
use super::registrar::Api;
use crate::tensor::Tensor;
use rhai::Dynamic;

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
        "dropout(x, p) / dropout(x, p, training) — zeroes elements with probability p and rescales the rest (identity when training is false)",
        |x: &mut Tensor, p: Dynamic| x.dropout(num("dropout", &p)?, true).rr()
    );
    reg!(api, "dropout", "", |x: &mut Tensor, p: Dynamic, t: bool| x
        .dropout(num("dropout", &p)?, t)
        .rr());
    reg!(
        api,
        "embedding",
        "embedding(ids, weight) — rows of weight [V, D] for i64 ids; the gradient scatter-adds into those rows",
        |i: &mut Tensor, w: Tensor| Tensor::embedding(i, &w).rr()
    );
}
