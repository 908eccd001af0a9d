//! Functional NN ops: softmax family, losses, dropout, embedding lookup.

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
        "one_hot",
        "one_hot(ids, depth) — f32 one-hot rows (shape ids.shape + [depth]) for i64 ids",
        |i: &mut Tensor, n: i64| Tensor::one_hot(i, n).rr()
    );
    reg!(
        api,
        "cross_entropy",
        "cross_entropy(logits, target) — mean softmax cross-entropy; target: i64 labels (classes along the last dim of logits) or f32 probabilities of the logits' shape",
        |l: &mut Tensor, t: Tensor| Tensor::cross_entropy(l, &t).rr()
    );
    reg!(
        api,
        "nll_loss",
        "nll_loss(log_probs, labels) — mean negative log-likelihood of i64 labels",
        |l: &mut Tensor, t: Tensor| Tensor::nll_loss(l, &t).rr()
    );
    reg!(
        api,
        "mse_loss",
        "mse_loss(pred, target) — mean squared error",
        |p: &mut Tensor, t: Tensor| Tensor::mse_loss(p, &t).rr()
    );
    reg!(
        api,
        "binary_cross_entropy",
        "binary_cross_entropy(p, y) — mean binary cross-entropy of probabilities p",
        |p: &mut Tensor, t: Tensor| Tensor::binary_cross_entropy(p, &t).rr()
    );
    reg!(
        api,
        "binary_cross_entropy_with_logits",
        "binary_cross_entropy_with_logits(x, y) — mean binary cross-entropy of logits, computed stably",
        |p: &mut Tensor, t: Tensor| Tensor::binary_cross_entropy_with_logits(p, &t).rr()
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
