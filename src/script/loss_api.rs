//! Loss functions and `cosine_similarity`, with PyTorch's options in a trailing map.

use super::convert::{IntoRR, RR, check_opts, fail, opt, opt_num, opt_str, opt_tensor};
use super::registrar::Api;
use crate::ops::{ClassLossOptions, Reduction};
use crate::tensor::Tensor;
use rhai::{Dynamic, Map};

fn reduction(op: &str, o: &Map) -> RR<Reduction> {
    match opt_str(op, o, "reduction")? {
        None => Ok(Reduction::Mean),
        Some(s) => Reduction::parse(op, &s).rr(),
    }
}

fn class_options(op: &str, o: &Map) -> RR<ClassLossOptions> {
    let mut known = vec!["weight", "ignore_index", "reduction"];
    if op == "cross_entropy" {
        known.push("label_smoothing");
    }
    check_opts(op, o, &known)?;
    Ok(ClassLossOptions {
        weight: opt_tensor(op, o, "weight")?,
        ignore_index: opt::<i64>(op, o, "ignore_index")?.unwrap_or(-100),
        label_smoothing: opt_num(op, o, "label_smoothing")?.unwrap_or(0.0),
        reduction: reduction(op, o)?,
    })
}

fn cross_entropy(x: &mut Tensor, t: Tensor, o: Map) -> RR<Tensor> {
    Tensor::cross_entropy_with(x, &t, &class_options("cross_entropy", &o)?).rr()
}

fn nll_loss(x: &mut Tensor, t: Tensor, o: Map) -> RR<Tensor> {
    Tensor::nll_loss_with(x, &t, &class_options("nll_loss", &o)?).rr()
}

/// A loss whose only option is `reduction` (plus one named parameter with a default).
fn pointwise(op: &'static str, x: &Tensor, t: &Tensor, o: &Map) -> RR<Tensor> {
    let param = match op {
        "smooth_l1_loss" => Some(("beta", 1.0)),
        "huber_loss" => Some(("delta", 1.0)),
        _ => None,
    };
    let mut known = vec!["reduction"];
    known.extend(param.map(|p| p.0));
    check_opts(op, o, &known)?;
    let r = reduction(op, o)?;
    let value = match param {
        Some((k, d)) => opt_num(op, o, k)?.unwrap_or(d),
        None => 0.0,
    };
    match op {
        "mse_loss" => Tensor::mse_loss_with(x, t, r),
        "l1_loss" => Tensor::l1_loss(x, t, r),
        "smooth_l1_loss" => Tensor::smooth_l1_loss(x, t, value, r),
        _ => Tensor::huber_loss(x, t, value, r),
    }
    .rr()
}

fn bce(x: &mut Tensor, t: Tensor, o: Map) -> RR<Tensor> {
    let op = "binary_cross_entropy";
    check_opts(op, &o, &["weight", "reduction"])?;
    let w = opt_tensor(op, &o, "weight")?;
    Tensor::binary_cross_entropy_with(x, &t, w.as_ref(), reduction(op, &o)?).rr()
}

fn bce_logits(x: &mut Tensor, t: Tensor, o: Map) -> RR<Tensor> {
    let op = "binary_cross_entropy_with_logits";
    check_opts(op, &o, &["weight", "pos_weight", "reduction"])?;
    let w = opt_tensor(op, &o, "weight")?;
    let pw = opt_tensor(op, &o, "pos_weight")?;
    Tensor::bce_with_logits(x, &t, w.as_ref(), pw.as_ref(), reduction(op, &o)?).rr()
}

fn kl_div(x: &mut Tensor, t: Tensor, o: Map) -> RR<Tensor> {
    let op = "kl_div";
    check_opts(op, &o, &["reduction", "log_target"])?;
    let log_target = opt::<bool>(op, &o, "log_target")?.unwrap_or(false);
    Tensor::kl_div(x, &t, reduction(op, &o)?, log_target).rr()
}

fn cosine(a: &mut Tensor, b: Tensor, o: Map) -> RR<Tensor> {
    let op = "cosine_similarity";
    check_opts(op, &o, &["dim", "eps"])?;
    let dim = opt::<i64>(op, &o, "dim")?.unwrap_or(1);
    let eps = opt_num(op, &o, "eps")?.unwrap_or(1e-8);
    Tensor::cosine_similarity(a, &b, dim, eps).rr()
}

fn one_hot(ids: &mut Tensor, n: i64, o: Map) -> RR<Tensor> {
    let op = "one_hot";
    check_opts(op, &o, &["dtype", "num_classes"])?;
    let n = match opt::<i64>(op, &o, "num_classes")? {
        Some(k) if n != -1 && k != n => {
            return fail(format!("one_hot: num_classes given twice ({n} and {k})"));
        }
        Some(k) => k,
        None => n,
    };
    let dtype = super::convert::opt_dtype(op, &o, crate::tensor::DType::I64)?;
    Tensor::one_hot(ids, n, dtype).rr()
}

pub fn register(api: &mut Api) {
    reg!(
        api,
        "cross_entropy",
        "cross_entropy(input, target, #{weight: (), ignore_index: -100, reduction: \"mean\", label_smoothing: 0.0}) — softmax cross-entropy as PyTorch: input [N, C, d1, ...] with i64 labels [N, d1, ...] (or [..., C] with labels [...]), or f32 class probabilities of the input's shape. weight: one per class; the mean is weighted by the targets' weights; targets equal to ignore_index count for nothing; label smoothing mixes the target with the uniform distribution. An empty batch gives nan (mean), as PyTorch\nexample: cross_entropy(tensor([[2.0, 0.5, -1.0]]), tensor([0]), #{label_smoothing: 0.1})",
        |x: &mut Tensor, t: Tensor| cross_entropy(x, t, Map::new())
    );
    reg!(api, "cross_entropy", "", cross_entropy);
    reg!(
        api,
        "nll_loss",
        "nll_loss(log_probs, target, #{weight: (), ignore_index: -100, reduction: \"mean\"}) — negative log-likelihood of i64 labels (classes in dimension 1, or last); with weights the mean is sum(w[t] * loss) / sum(w[t])\nexample: nll_loss(log_softmax(tensor([[1.0, 2.0], [0.5, 0.0]]), 1), tensor([1, -100]))",
        |x: &mut Tensor, t: Tensor| nll_loss(x, t, Map::new())
    );
    reg!(api, "nll_loss", "", nll_loss);
    for (name, doc) in [
        (
            "mse_loss",
            "mse_loss(input, target, #{reduction: \"mean\"}) — squared error (input - target)^2, reduced (\"mean\", \"sum\" or \"none\")\nexample: mse_loss(tensor([1.0, 2.0]), tensor([0.0, 0.0]), #{reduction: \"sum\"})",
        ),
        (
            "l1_loss",
            "l1_loss(input, target, #{reduction: \"mean\"}) — absolute error |input - target|, reduced\nexample: l1_loss(tensor([1.0, -2.0]), tensor([0.0, 0.0]))",
        ),
        (
            "smooth_l1_loss",
            "smooth_l1_loss(input, target, #{beta: 1.0, reduction: \"mean\"}) — 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta 0: the L1 loss)\nexample: smooth_l1_loss(tensor([0.5, 3.0]), tensor([0.0, 0.0]), #{beta: 1.0})",
        ),
        (
            "huber_loss",
            "huber_loss(input, target, #{delta: 1.0, reduction: \"mean\"}) — 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)\nexample: huber_loss(tensor([0.5, 3.0]), tensor([0.0, 0.0]), #{delta: 2.0})",
        ),
    ] {
        reg!(api, name, doc, move |x: &mut Tensor, t: Tensor| pointwise(
            name,
            x,
            &t,
            &Map::new()
        ));
        reg!(api, name, "", move |x: &mut Tensor, t: Tensor, o: Map| {
            pointwise(name, x, &t, &o)
        });
    }
    reg!(
        api,
        "binary_cross_entropy",
        "binary_cross_entropy(p, target, #{weight: (), reduction: \"mean\"}) — -w (y log p + (1 - y) log(1 - p)) for probabilities p, log terms clamped at -100 as PyTorch; weight broadcasts over the input\nexample: binary_cross_entropy(tensor([0.8, 0.3]), tensor([1.0, 0.0]))",
        |x: &mut Tensor, t: Tensor| bce(x, t, Map::new())
    );
    reg!(api, "binary_cross_entropy", "", bce);
    reg!(
        api,
        "binary_cross_entropy_with_logits",
        "binary_cross_entropy_with_logits(x, target, #{weight: (), pos_weight: (), reduction: \"mean\"}) — binary cross-entropy of logits, computed stably; pos_weight (one per class, along the last dimension) weighs the positive term, weight the whole loss\nexample: binary_cross_entropy_with_logits(tensor([[2.0, -1.0]]), tensor([[1.0, 0.0]]), #{pos_weight: tensor([3.0, 1.0])})",
        |x: &mut Tensor, t: Tensor| bce_logits(x, t, Map::new())
    );
    reg!(api, "binary_cross_entropy_with_logits", "", bce_logits);
    reg!(
        api,
        "kl_div",
        "kl_div(input, target, #{reduction: \"mean\", log_target: false}) — KL divergence with input as log-probabilities: target (log target - input), or exp(target) (target - input) with log_target. \"mean\" averages over every element (PyTorch's default); \"batchmean\" divides the sum by the batch size (the true KL)\nexample: kl_div(log_softmax(tensor([[1.0, 2.0]]), 1), tensor([[0.3, 0.7]]), #{reduction: \"batchmean\"})",
        |x: &mut Tensor, t: Tensor| kl_div(x, t, Map::new())
    );
    reg!(api, "kl_div", "", kl_div);
    reg!(
        api,
        "cosine_similarity",
        "cosine_similarity(a, b, #{dim: 1, eps: 1e-8}) / cosine_similarity(a, b, dim) — cosine of the angle between a and b along dim (broadcasting), each norm clamped to at least eps as PyTorch\nexample: cosine_similarity(tensor([[1.0, 0.0]]), tensor([[1.0, 1.0]]))",
        |a: &mut Tensor, b: Tensor| cosine(a, b, Map::new())
    );
    reg!(api, "cosine_similarity", "", cosine);
    reg!(
        api,
        "cosine_similarity",
        "",
        |a: &mut Tensor, b: Tensor, d: i64| {
            let mut o = Map::new();
            o.insert("dim".into(), Dynamic::from(d));
            cosine(a, b, o)
        }
    );
    reg!(
        api,
        "one_hot",
        "one_hot(ids, num_classes: -1, #{dtype: \"i64\"}) — one-hot rows (shape ids.shape + [num_classes]) for i64 ids; i64 as PyTorch (dtype: \"f32\" for floats); num_classes -1 (or left out) is the largest id + 1\nexample: one_hot(tensor([2, 0]), 3, #{dtype: \"f32\"})",
        |i: &mut Tensor| one_hot(i, -1, Map::new())
    );
    reg!(api, "one_hot", "", |i: &mut Tensor, n: i64| one_hot(
        i,
        n,
        Map::new()
    ));
    reg!(api, "one_hot", "", one_hot);
    reg!(api, "one_hot", "", |i: &mut Tensor, o: Map| one_hot(
        i, -1, o
    ));
}
