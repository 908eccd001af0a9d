//! Loss functions with PyTorch's options and semantics: `reduction` on every loss; class
//! weights, `ignore_index` and label smoothing on the class losses; `pos_weight` on binary
//! cross-entropy of logits. Every loss is written with differentiable ops, so gradients (and
//! other devices) come for free.

use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// Runs `f`, naming `op` in its error unless the error already starts with it (a composite
/// loss's inner ops would otherwise name themselves: `mul: shapes ...`).
fn in_op<T>(op: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    f().map_err(|e| {
        let msg = format!("{e:#}");
        if msg.starts_with(op) {
            e
        } else {
            anyhow::anyhow!("{op}: {msg}")
        }
    })
}

/// How a loss combines its per-element values (PyTorch's `reduction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean (for class losses with weights: the weighted mean).
    #[default]
    Mean,
    Sum,
    /// Per-element losses, unreduced.
    None,
    /// `kl_div` only: the sum divided by the batch size (the mathematically correct KL).
    BatchMean,
}

impl Reduction {
    /// Parses `"mean"`, `"sum"` or `"none"` (and `"batchmean"` where `op` is `kl_div`).
    pub fn parse(op: &str, s: &str) -> Result<Reduction> {
        Ok(match s {
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            "none" => Reduction::None,
            "batchmean" if op == "kl_div" => Reduction::BatchMean,
            other => {
                let extra = if op == "kl_div" {
                    ", \"batchmean\""
                } else {
                    ""
                };
                bail!("{op}: reduction must be \"mean\", \"sum\"{extra} or \"none\", got {other:?}")
            }
        })
    }

    /// Reduces per-element losses (`BatchMean` divides the sum by the first dimension).
    fn apply(self, loss: &Tensor) -> Result<Tensor> {
        match self {
            Reduction::Mean => loss.sum()?.div_scalar(loss.numel() as f64),
            Reduction::Sum => loss.sum(),
            Reduction::None => Ok(loss.clone()),
            Reduction::BatchMean => {
                let n = if loss.ndim() == 0 { 1 } else { loss.shape()[0] };
                loss.sum()?.div_scalar(n as f64)
            }
        }
    }
}

/// Options of `cross_entropy` and `nll_loss` (PyTorch's defaults: no weight, ignore index
/// -100, no smoothing, mean).
#[derive(Clone, Debug)]
pub struct ClassLossOptions {
    /// A weight per class `[C]`.
    pub weight: Option<Tensor>,
    /// Targets equal to this contribute nothing (neither loss nor weight).
    pub ignore_index: i64,
    /// In `[0, 1]`: the target becomes `(1 - s) * target + s / C` (cross-entropy only).
    pub label_smoothing: f64,
    pub reduction: Reduction,
}

impl Default for ClassLossOptions {
    fn default() -> Self {
        ClassLossOptions {
            weight: None,
            ignore_index: -100,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        }
    }
}

/// Class scores moved to rows `[M, C]` with their targets `[M]`, and the target's shape (the
/// shape of unreduced losses).
struct ClassRows {
    rows: Tensor,
    target: Tensor,
    shape: Vec<usize>,
    classes: usize,
}

/// The dimension holding the classes: PyTorch's dimension 1 (`[N, C, d1, ...]` with a target
/// `[N, d1, ...]`), dimension 0 for an unbatched `[C]` with a 0-d target, and otherwise the
/// last dimension (`[..., C]` with a target `[...]`), which sequence models produce.
fn class_dim(op: &str, input: &Tensor, target: &Tensor) -> Result<usize> {
    let (s, t) = (input.shape(), target.shape());
    if s.len() == 1 && t.is_empty() {
        return Ok(0);
    }
    if s.len() >= 2 {
        let mut torch = s.to_vec();
        torch.remove(1);
        if t == torch.as_slice() {
            return Ok(1);
        }
        if t == &s[..s.len() - 1] {
            return Ok(s.len() - 1);
        }
        bail!(
            "{op}: input of shape {s:?} needs a target of shape {torch:?} (classes in dimension 1, \
             as PyTorch) or {:?} (classes last), got {t:?}",
            &s[..s.len() - 1]
        );
    }
    bail!("{op}: input of shape {s:?} has no class dimension for a target of shape {t:?}")
}

/// Moves dimension `dim` of `x` to the end (a no-op when it is already last).
fn dim_to_last(x: &Tensor, dim: usize) -> Result<Tensor> {
    if dim + 1 == x.ndim() {
        return Ok(x.clone());
    }
    let mut perm: Vec<i64> = (0..x.ndim() as i64).filter(|&d| d != dim as i64).collect();
    perm.push(dim as i64);
    x.permute(&perm)
}

/// Reshapes `x` so `[C]` broadcasts along dimension `dim` of an `ndim`-dimensional tensor.
fn along(x: &Tensor, dim: usize, ndim: usize) -> Result<Tensor> {
    let mut shape = vec![1usize; ndim];
    shape[dim] = x.numel();
    x.reshape_usize(&shape)
}

impl Tensor {
    /// Splits class scores and i64 labels into rows; checks every label that is not ignored.
    fn class_rows(op: &str, input: &Tensor, target: &Tensor, ignore: i64) -> Result<ClassRows> {
        if target.dtype() != DType::I64 {
            bail!(
                "{op}: class targets must be i64 labels, got {} (shape {:?})",
                target.dtype(),
                target.shape()
            );
        }
        let dim = class_dim(op, input, target)?;
        let classes = input.shape()[dim];
        // ignored labels are checked as 0, which is in range when there are classes at all
        let checked = {
            let _guard = crate::tensor::no_grad();
            let device = target.device();
            let skip = target.eq(&Tensor::scalar_like(ignore as f64, DType::I64, device)?)?;
            Tensor::where_(
                &skip,
                &Tensor::scalar_like(0.0, DType::I64, device)?,
                target,
            )?
        };
        let first_bad = checked.storage().first_outside(0, classes as i64)?;
        if let Some(bad) = first_bad {
            bail!(
                "{op}: target {bad} is out of bounds for {classes} classes (input shape {:?})",
                input.shape()
            );
        }
        Ok(ClassRows {
            rows: dim_to_last(input, dim)?.reshape(&[-1, classes as i64])?,
            target: target.reshape(&[-1])?,
            shape: target.shape().to_vec(),
            classes,
        })
    }

    /// Checks a class weight is f32 `[C]`.
    fn check_class_weight(op: &str, weight: Option<&Tensor>, classes: usize) -> Result<()> {
        if let Some(w) = weight
            && (w.shape() != [classes] || w.dtype() != DType::F32)
        {
            bail!(
                "{op}: weight should be f32 [{classes}] (one per class), got {} {:?}",
                w.dtype(),
                w.shape()
            );
        }
        Ok(())
    }

    /// Negative log-likelihood of i64 targets under log-probabilities (classes in dimension 1
    /// as PyTorch, or last), averaged (PyTorch's `nll_loss` defaults).
    pub fn nll_loss(logp: &Tensor, target: &Tensor) -> Result<Tensor> {
        Tensor::nll_loss_with(logp, target, &ClassLossOptions::default())
    }

    /// [`Tensor::nll_loss`] with class weights, an ignored index and a reduction. The mean is
    /// weighted: `sum(-w[t] * logp[t]) / sum(w[t])` over targets that are not ignored.
    pub fn nll_loss_with(logp: &Tensor, target: &Tensor, o: &ClassLossOptions) -> Result<Tensor> {
        in_op("nll_loss", || {
            if o.label_smoothing != 0.0 {
                bail!("nll_loss: label_smoothing belongs to cross_entropy");
            }
            let r = Tensor::class_rows("nll_loss", logp, target, o.ignore_index)?;
            Tensor::check_class_weight("nll_loss", o.weight.as_ref(), r.classes)?;
            let (loss, weight) = Tensor::picked_nll(&r, o)?;
            match o.reduction {
                Reduction::Mean => loss.sum()?.div(&weight.sum()?),
                Reduction::None => loss.reshape_usize(&r.shape),
                other => other.apply(&loss),
            }
        })
    }

    /// Per-row `-w[t] * logp[t]` (zero where ignored) and the per-row weights `w[t]` (zero where
    /// ignored).
    fn picked_nll(r: &ClassRows, o: &ClassLossOptions) -> Result<(Tensor, Tensor)> {
        let device = r.rows.device();
        let ignore = Tensor::scalar_like(o.ignore_index as f64, DType::I64, device)?;
        let valid = r.target.ne(&ignore)?;
        let zero = Tensor::scalar_like(0.0, DType::I64, device)?;
        let safe = Tensor::where_(&valid, &r.target, &zero)?;
        let picked = r.rows.gather(1, &safe.unsqueeze(1)?)?.squeeze_dim(1)?;
        let keep = valid.to_dtype(DType::F32)?;
        let weight = match &o.weight {
            Some(w) => w.index_select(0, &safe)?.mul(&keep)?,
            None => keep,
        };
        let zf = Tensor::scalar_like(0.0, DType::F32, device)?;
        let loss = Tensor::where_(&valid, &picked.mul(&weight)?.neg()?, &zf)?;
        Ok((loss, weight))
    }

    /// Softmax cross-entropy with PyTorch's defaults (see [`Tensor::cross_entropy_with`]).
    pub fn cross_entropy(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
        Tensor::cross_entropy_with(logits, target, &ClassLossOptions::default())
    }

    /// Softmax cross-entropy of logits (classes in dimension 1 as PyTorch, or last for
    /// `[..., C]` with labels `[...]`) against i64 labels, or f32 class probabilities of the
    /// logits' shape (classes in dimension 1). Weights, `ignore_index` and label smoothing
    /// follow PyTorch: the smoothed part is `-sum_c w_c logp_c` per row, normalised like the
    /// main part; probability targets average over rows, never over weights.
    pub fn cross_entropy_with(
        logits: &Tensor,
        target: &Tensor,
        o: &ClassLossOptions,
    ) -> Result<Tensor> {
        in_op("cross_entropy", || {
            let ls = o.label_smoothing;
            if !(0.0..=1.0).contains(&ls) {
                bail!("cross_entropy: label_smoothing must be in [0, 1], got {ls}");
            }
            match target.dtype() {
                DType::I64 => {}
                DType::F32 => return Tensor::cross_entropy_probs(logits, target, o),
                DType::Bool => {
                    bail!(
                        "cross_entropy: targets must be i64 labels or f32 probabilities, got bool"
                    )
                }
            }
            let r = Tensor::class_rows("cross_entropy", logits, target, o.ignore_index)?;
            Tensor::check_class_weight("cross_entropy", o.weight.as_ref(), r.classes)?;
            let logp = r.rows.log_softmax(1)?;
            let r = ClassRows { rows: logp, ..r };
            let (loss, weight) = Tensor::picked_nll(&r, o)?;
            let main = match o.reduction {
                Reduction::Mean => loss.sum()?.div(&weight.sum()?)?,
                Reduction::None => loss.reshape_usize(&r.shape)?,
                other => other.apply(&loss)?,
            };
            if ls == 0.0 {
                return Ok(main);
            }
            let weighted = match &o.weight {
                Some(w) => r.rows.mul(&w.unsqueeze(0)?)?,
                None => r.rows.clone(),
            };
            let device = r.rows.device();
            let ignore = Tensor::scalar_like(o.ignore_index as f64, DType::I64, device)?;
            let valid = r.target.ne(&ignore)?;
            let zf = Tensor::scalar_like(0.0, DType::F32, device)?;
            let smooth = Tensor::where_(&valid, &weighted.sum_dim(1, false)?.neg()?, &zf)?;
            let smooth = match o.reduction {
                Reduction::Mean => smooth.sum()?.div(&weight.sum()?)?,
                Reduction::None => smooth.reshape_usize(&r.shape)?,
                other => other.apply(&smooth)?,
            };
            main.mul_scalar(1.0 - ls)?
                .add(&smooth.mul_scalar(ls / r.classes as f64)?)
        })
    }

    /// Cross-entropy against class probabilities (PyTorch: classes in dimension 1).
    fn cross_entropy_probs(
        logits: &Tensor,
        target: &Tensor,
        o: &ClassLossOptions,
    ) -> Result<Tensor> {
        if target.shape() != logits.shape() || logits.ndim() == 0 {
            bail!(
                "cross_entropy: probability targets of shape {:?} must match the logits {:?}",
                target.shape(),
                logits.shape()
            );
        }
        if o.ignore_index >= 0 {
            bail!("cross_entropy: ignore_index only applies to i64 label targets");
        }
        let dim = if logits.ndim() == 1 { 0 } else { 1 };
        let classes = logits.shape()[dim];
        Tensor::check_class_weight("cross_entropy", o.weight.as_ref(), classes)?;
        let ls = o.label_smoothing;
        let target = if ls > 0.0 {
            target.affine(1.0 - ls, ls / classes as f64)?
        } else {
            target.clone()
        };
        let mut terms = logits.log_softmax(dim as i64)?.mul(&target)?;
        if let Some(w) = &o.weight {
            terms = terms.mul(&along(w, dim, logits.ndim())?)?;
        }
        let per_row = terms.sum_dim(dim as i64, false)?.neg()?;
        match o.reduction {
            Reduction::Mean => per_row
                .sum()?
                .div_scalar((logits.numel() / classes.max(1)) as f64),
            other => other.apply(&per_row),
        }
    }

    fn check_same_shape(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
        if a.shape() != b.shape() {
            bail!(
                "{op}: prediction shape {:?} and target shape {:?} differ",
                a.shape(),
                b.shape()
            );
        }
        Ok(())
    }

    /// Mean squared error.
    pub fn mse_loss(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        Tensor::mse_loss_with(pred, target, Reduction::Mean)
    }

    /// Squared error `(pred - target)^2`, reduced.
    pub fn mse_loss_with(pred: &Tensor, target: &Tensor, r: Reduction) -> Result<Tensor> {
        Tensor::check_same_shape("mse_loss", pred, target)?;
        r.apply(&pred.squared_difference(target)?)
    }

    /// Absolute error `|pred - target|`, reduced.
    pub fn l1_loss(pred: &Tensor, target: &Tensor, r: Reduction) -> Result<Tensor> {
        Tensor::check_same_shape("l1_loss", pred, target)?;
        r.apply(&pred.sub(target)?.abs()?)
    }

    /// `0.5 d^2 / beta` where `|d| < beta`, else `|d| - 0.5 beta` (beta 0 is the L1 loss).
    pub fn smooth_l1_loss(
        pred: &Tensor,
        target: &Tensor,
        beta: f64,
        r: Reduction,
    ) -> Result<Tensor> {
        Tensor::check_same_shape("smooth_l1_loss", pred, target)?;
        if beta.is_nan() || beta < 0.0 {
            bail!("smooth_l1_loss: beta must be non-negative, got {beta}");
        }
        let d = pred.sub(target)?.abs()?;
        if beta == 0.0 {
            return r.apply(&d);
        }
        let small = d.lt(&Tensor::scalar_like(beta, DType::F32, d.device())?)?;
        let quad = d.mul(&d)?.mul_scalar(0.5 / beta)?;
        r.apply(&Tensor::where_(&small, &quad, &d.add_scalar(-0.5 * beta)?)?)
    }

    /// `0.5 d^2` where `|d| < delta`, else `delta (|d| - 0.5 delta)`.
    pub fn huber_loss(pred: &Tensor, target: &Tensor, delta: f64, r: Reduction) -> Result<Tensor> {
        Tensor::check_same_shape("huber_loss", pred, target)?;
        if delta.is_nan() || delta <= 0.0 {
            bail!("huber_loss: delta must be positive, got {delta}");
        }
        let d = pred.sub(target)?.abs()?;
        let small = d.lt(&Tensor::scalar_like(delta, DType::F32, d.device())?)?;
        let quad = d.mul(&d)?.mul_scalar(0.5)?;
        let lin = d.affine(delta, -0.5 * delta * delta)?;
        r.apply(&Tensor::where_(&small, &quad, &lin)?)
    }

    /// Mean binary cross-entropy of probabilities (log terms clamped at -100, as PyTorch does).
    pub fn binary_cross_entropy(p: &Tensor, y: &Tensor) -> Result<Tensor> {
        Tensor::binary_cross_entropy_with(p, y, None, Reduction::Mean)
    }

    /// `-w (y log p + (1 - y) log(1 - p))`, log terms clamped at -100; `weight` broadcasts.
    pub fn binary_cross_entropy_with(
        p: &Tensor,
        y: &Tensor,
        weight: Option<&Tensor>,
        r: Reduction,
    ) -> Result<Tensor> {
        in_op("binary_cross_entropy", || {
            Tensor::check_same_shape("binary_cross_entropy", p, y)?;
            // PyTorch refuses probabilities outside [0, 1] (NaN included) instead of
            // returning a meaningless loss.
            let zero = Tensor::scalar_like(0.0, DType::F32, p.device())?;
            let one = Tensor::scalar_like(1.0, DType::F32, p.device())?;
            let inside = p.ge(&zero)?.logical_and(&p.le(&one)?)?;
            let outside = inside.logical_not()?.sum()?.item()?;
            if outside > 0.0 {
                bail!(
                    "binary_cross_entropy: every input must be a probability in [0, 1]; {outside} of the {} elements of input {:?} are not (use binary_cross_entropy_with_logits for raw scores)",
                    p.numel(),
                    p.shape()
                );
            }
            let y = y.to_dtype(DType::F32)?;
            let lp = p.log()?.clamp(-100.0, f64::MAX)?;
            let lq = p.rsub_scalar(1.0)?.log()?.clamp(-100.0, f64::MAX)?;
            let mut loss = y.mul(&lp)?.add(&y.rsub_scalar(1.0)?.mul(&lq)?)?.neg()?;
            if let Some(w) = weight {
                loss = loss.mul(w)?;
            }
            r.apply(&loss)
        })
    }

    /// Mean binary cross-entropy of logits, computed stably.
    pub fn binary_cross_entropy_with_logits(x: &Tensor, y: &Tensor) -> Result<Tensor> {
        Tensor::bce_with_logits(x, y, None, None, Reduction::Mean)
    }

    /// PyTorch's `binary_cross_entropy_with_logits`: with `l = 1 + (pos_weight - 1) y`,
    /// `w ((1 - y) x + l (log(1 + e^-|x|) + max(-x, 0)))`; `pos_weight` broadcasts along the
    /// last dimension (one per class), `weight` over the whole input.
    pub fn bce_with_logits(
        x: &Tensor,
        y: &Tensor,
        weight: Option<&Tensor>,
        pos_weight: Option<&Tensor>,
        r: Reduction,
    ) -> Result<Tensor> {
        in_op("binary_cross_entropy_with_logits", || {
            let op = "binary_cross_entropy_with_logits";
            Tensor::check_same_shape(op, x, y)?;
            let y = y.to_dtype(DType::F32)?;
            let softplus = x.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?;
            let tail = softplus.add(&x.neg()?.relu()?)?;
            let tail = match pos_weight {
                Some(pw) => tail.mul(&pw.add_scalar(-1.0)?.mul(&y)?.add_scalar(1.0)?)?,
                None => tail,
            };
            let mut loss = y.rsub_scalar(1.0)?.mul(x)?.add(&tail)?;
            if let Some(w) = weight {
                loss = loss.mul(w)?;
            }
            r.apply(&loss)
        })
    }

    /// PyTorch's `kl_div(input, target)`: `input` holds log-probabilities; pointwise
    /// `target (log target - input)` (0 where target is 0), or `exp(target) (target - input)`
    /// when `log_target`. `Mean` averages over every element (PyTorch's default);
    /// `BatchMean` divides the sum by the batch size.
    pub fn kl_div(
        input: &Tensor,
        target: &Tensor,
        r: Reduction,
        log_target: bool,
    ) -> Result<Tensor> {
        in_op("kl_div", || {
            Tensor::check_same_shape("kl_div", input, target)?;
            let t = target.to_dtype(DType::F32)?;
            let pointwise = if log_target {
                t.exp()?.mul(&t.sub(input)?)?
            } else {
                let zero = t.eq(&Tensor::scalar_like(0.0, DType::F32, t.device())?)?;
                let one = Tensor::scalar_like(1.0, DType::F32, t.device())?;
                let xlogx = t.mul(&Tensor::where_(&zero, &one, &t)?.log()?)?;
                xlogx.sub(&t.mul(input)?)?
            };
            r.apply(&pointwise)
        })
    }

    /// Cosine of the angle between `a` and `b` along `dim` (broadcasting), each norm clamped
    /// to at least `eps`, as PyTorch computes it.
    pub fn cosine_similarity(a: &Tensor, b: &Tensor, dim: i64, eps: f64) -> Result<Tensor> {
        in_op("cosine_similarity", || {
            let (a, b) = (a.to_dtype(DType::F32)?, b.to_dtype(DType::F32)?);
            let shape =
                crate::tensor::shape::broadcast_shapes("cosine_similarity", a.shape(), b.shape())?;
            let (a, b) = (a.expand_to(&shape)?, b.expand_to(&shape)?);
            let unit = |x: &Tensor| -> Result<Tensor> {
                let n = x.mul(x)?.sum_dim(dim, true)?.sqrt()?;
                let floor = Tensor::scalar_like(eps, DType::F32, x.device())?;
                x.div(&n.maximum(&floor)?)
            };
            unit(&a)?.mul(&unit(&b)?)?.sum_dim(dim, false)
        })
    }
}
