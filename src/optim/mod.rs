//! Optimisers (SGD, Adam, AdamW, RMSprop, Adagrad) with PyTorch's update equations and options
//! (`maximize` on all; SGD dampening and Nesterov; Adam/AdamW `amsgrad`; RMSprop momentum and
//! `centered`; Adagrad `lr_decay` and `initial_accumulator_value`), learning-rate schedules,
//! gradient clipping, and state dicts (`state.rs`) so a checkpoint resumes exactly. Updates
//! run under `no_grad` with tensor ops (Adam/AdamW without amsgrad on a fused kernel) and are
//! written into the parameters' storage in place.

mod schedule;
mod state;

pub use schedule::{Schedule, Scheduler};
pub use state::StateDict;

use crate::backend::AdamStep;
use crate::tensor::{Tensor, no_grad};
use anyhow::{Result, bail};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Which update rule, with its settings (PyTorch's names and defaults in the script surface).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    Sgd {
        momentum: f64,
        dampening: f64,
        nesterov: bool,
    },
    Adam {
        beta1: f64,
        beta2: f64,
        eps: f64,
        amsgrad: bool,
    },
    /// Adam with decoupled weight decay.
    AdamW {
        beta1: f64,
        beta2: f64,
        eps: f64,
        amsgrad: bool,
    },
    RmsProp {
        alpha: f64,
        eps: f64,
        momentum: f64,
        centered: bool,
    },
    Adagrad {
        eps: f64,
        lr_decay: f64,
        initial_accumulator_value: f64,
    },
}

impl Rule {
    fn name(&self) -> &'static str {
        match self {
            Rule::Sgd { .. } => "SGD",
            Rule::Adam { .. } => "Adam",
            Rule::AdamW { .. } => "AdamW",
            Rule::RmsProp { .. } => "RMSprop",
            Rule::Adagrad { .. } => "Adagrad",
        }
    }
}

/// One parameter's state: its step count and named buffers (PyTorch's names:
/// `momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`, `square_avg`, `grad_avg`,
/// `sum`).
#[derive(Default, Clone)]
struct ParamState {
    step: u64,
    slots: BTreeMap<&'static str, Tensor>,
}

impl ParamState {
    /// The buffer `name`, created as zeros like `p` the first time.
    fn slot(&mut self, name: &'static str, p: &Tensor) -> Result<Tensor> {
        if let Some(t) = self.slots.get(name) {
            return Ok(t.clone());
        }
        let t = Tensor::zeros_like(p)?;
        self.slots.insert(name, t.clone());
        Ok(t)
    }
}

pub struct OptimizerState {
    params: Vec<Tensor>,
    rule: Rule,
    lr: f64,
    weight_decay: f64,
    maximize: bool,
    state: Vec<ParamState>,
}

/// Shared handle to an optimiser (schedules and scripts hold the same one).
#[derive(Clone)]
pub struct Optimizer(Rc<RefCell<OptimizerState>>);

impl Optimizer {
    pub fn new(params: Vec<Tensor>, rule: Rule, lr: f64, weight_decay: f64) -> Result<Optimizer> {
        let name = rule.name();
        if lr.is_nan() || lr < 0.0 || weight_decay.is_nan() || weight_decay < 0.0 {
            bail!(
                "{name}: learning rate and weight decay must be non-negative, got {lr} and {weight_decay}"
            );
        }
        if let Some(p) = params
            .iter()
            .find(|p| p.dtype() != crate::tensor::DType::F32)
        {
            bail!(
                "{name}: parameters must be f32, got {} of shape {:?}",
                p.dtype(),
                p.shape()
            );
        }
        let bad = |what: &str, v: f64| -> Result<()> {
            bail!("{name}: {what} must be non-negative, got {v}")
        };
        match &rule {
            Rule::Adam {
                beta1, beta2, eps, ..
            }
            | Rule::AdamW {
                beta1, beta2, eps, ..
            } => {
                if !(0.0..1.0).contains(beta1) || !(0.0..1.0).contains(beta2) {
                    bail!("{name}: betas must be in [0, 1), got ({beta1}, {beta2})");
                }
                if eps.is_nan() || *eps < 0.0 {
                    bad("eps", *eps)?;
                }
            }
            Rule::Sgd {
                momentum,
                dampening,
                nesterov,
            } => {
                if momentum.is_nan() || *momentum < 0.0 {
                    bad("momentum", *momentum)?;
                }
                if *nesterov && (*momentum <= 0.0 || *dampening != 0.0) {
                    bail!("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
                }
            }
            Rule::RmsProp {
                alpha,
                eps,
                momentum,
                ..
            } => {
                for (what, v) in [("alpha", alpha), ("eps", eps), ("momentum", momentum)] {
                    if v.is_nan() || *v < 0.0 {
                        bad(what, *v)?;
                    }
                }
            }
            Rule::Adagrad {
                eps,
                lr_decay,
                initial_accumulator_value,
            } => {
                for (what, v) in [
                    ("eps", eps),
                    ("lr_decay", lr_decay),
                    ("initial_accumulator_value", initial_accumulator_value),
                ] {
                    if v.is_nan() || *v < 0.0 {
                        bad(what, *v)?;
                    }
                }
            }
        }
        // Adagrad's accumulator starts at initial_accumulator_value, as PyTorch makes it at
        // construction; the other rules create their buffers at the first step.
        let mut state = vec![ParamState::default(); params.len()];
        if let Rule::Adagrad {
            initial_accumulator_value: v,
            ..
        } = rule
        {
            for (s, p) in state.iter_mut().zip(&params) {
                let sum = Tensor::full(p.shape(), v, p.dtype(), p.device())?;
                s.slots.insert("sum", sum);
            }
        }
        Ok(Optimizer(Rc::new(RefCell::new(OptimizerState {
            params,
            rule,
            lr,
            weight_decay,
            maximize: false,
            state,
        }))))
    }

    /// Follows the gradient uphill (PyTorch's `maximize`): every update uses `-grad`.
    pub fn set_maximize(&self, on: bool) {
        self.0.borrow_mut().maximize = on;
    }

    pub fn lr(&self) -> f64 {
        self.0.borrow().lr
    }

    /// Sets the learning rate (lessons lower it in the middle of training).
    pub fn set_lr(&self, lr: f64) -> Result<()> {
        if lr.is_nan() || lr < 0.0 {
            bail!("learning rate must be non-negative, got {lr}");
        }
        self.0.borrow_mut().lr = lr;
        Ok(())
    }

    pub fn params(&self) -> Vec<Tensor> {
        self.0.borrow().params.clone()
    }

    pub fn name(&self) -> &'static str {
        self.0.borrow().rule.name()
    }

    /// The update rule and its settings.
    pub fn rule(&self) -> Rule {
        self.0.borrow().rule.clone()
    }

    /// Number of steps taken (by the parameter stepped most often; each keeps its own count,
    /// as in PyTorch, since a parameter without a gradient is skipped).
    pub fn steps(&self) -> u64 {
        self.0
            .borrow()
            .state
            .iter()
            .map(|s| s.step)
            .max()
            .unwrap_or(0)
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&self) {
        for p in &self.0.borrow().params {
            p.zero_grad();
        }
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&self) -> Result<()> {
        let _g = no_grad();
        let mut guard = self.0.borrow_mut();
        let st = &mut *guard;
        let (lr, wd, maximize, rule) = (st.lr, st.weight_decay, st.maximize, st.rule.clone());
        for (p, ps) in st.params.iter().zip(st.state.iter_mut()) {
            let Some(mut g) = p.grad() else { continue };
            if !p.requires_grad() {
                continue;
            }
            ps.step += 1;
            let t = ps.step as f64;
            if maximize {
                g = g.neg()?;
            }
            match rule {
                Rule::Adam {
                    beta1,
                    beta2,
                    eps,
                    amsgrad: false,
                }
                | Rule::AdamW {
                    beta1,
                    beta2,
                    eps,
                    amsgrad: false,
                } => {
                    // Fused in-place update: one pass instead of a dozen temporary tensors.
                    let m = ps.slot("exp_avg", p)?;
                    let v = ps.slot("exp_avg_sq", p)?;
                    let step = AdamStep {
                        lr,
                        beta1,
                        beta2,
                        eps,
                        weight_decay: wd,
                        decoupled: matches!(rule, Rule::AdamW { .. }),
                        bias_correction1: 1.0 - beta1.powf(t),
                        bias_correction2: 1.0 - beta2.powf(t),
                    };
                    Tensor::adam_step_(p, &g, &m, &v, &step)?;
                    continue;
                }
                _ => {}
            }
            let decoupled = matches!(rule, Rule::AdamW { .. });
            let mut base = p.clone();
            if wd > 0.0 {
                if decoupled {
                    base = p.mul_scalar(1.0 - lr * wd)?;
                } else {
                    g = g.add(&p.mul_scalar(wd)?)?;
                }
            }
            let new = match rule {
                Rule::Sgd {
                    momentum,
                    dampening,
                    nesterov,
                } => {
                    let d = if momentum > 0.0 {
                        let buf = match ps.slots.get("momentum_buffer") {
                            None => g.clone(),
                            Some(b) => b
                                .mul_scalar(momentum)?
                                .add(&g.mul_scalar(1.0 - dampening)?)?,
                        };
                        ps.slots.insert("momentum_buffer", buf.clone());
                        if nesterov {
                            g.add(&buf.mul_scalar(momentum)?)?
                        } else {
                            buf
                        }
                    } else {
                        g
                    };
                    base.sub(&d.mul_scalar(lr)?)?
                }
                Rule::Adam {
                    beta1, beta2, eps, ..
                }
                | Rule::AdamW {
                    beta1, beta2, eps, ..
                } => {
                    // amsgrad: the denominator uses the largest second moment so far
                    let m = ps.slot("exp_avg", p)?;
                    let m = m.add(&g.sub(&m)?.mul_scalar(1.0 - beta1)?)?;
                    let v = ps
                        .slot("exp_avg_sq", p)?
                        .mul_scalar(beta2)?
                        .add(&g.mul(&g)?.mul_scalar(1.0 - beta2)?)?;
                    let vmax = ps.slot("max_exp_avg_sq", p)?.maximum(&v)?;
                    let denom = vmax
                        .sqrt()?
                        .div_scalar((1.0 - beta2.powf(t)).sqrt())?
                        .add_scalar(eps)?;
                    let step = m.div(&denom)?.mul_scalar(lr / (1.0 - beta1.powf(t)))?;
                    ps.slots.insert("exp_avg", m);
                    ps.slots.insert("exp_avg_sq", v);
                    ps.slots.insert("max_exp_avg_sq", vmax);
                    base.sub(&step)?
                }
                Rule::RmsProp {
                    alpha,
                    eps,
                    momentum,
                    centered,
                } => {
                    let sq = ps
                        .slot("square_avg", p)?
                        .mul_scalar(alpha)?
                        .add(&g.mul(&g)?.mul_scalar(1.0 - alpha)?)?;
                    ps.slots.insert("square_avg", sq.clone());
                    let avg = if centered {
                        let ga = ps.slot("grad_avg", p)?;
                        let ga = ga.add(&g.sub(&ga)?.mul_scalar(1.0 - alpha)?)?;
                        ps.slots.insert("grad_avg", ga.clone());
                        sq.sub(&ga.mul(&ga)?)?.sqrt()?
                    } else {
                        sq.sqrt()?
                    }
                    .add_scalar(eps)?;
                    let d = if momentum > 0.0 {
                        let buf = ps
                            .slot("momentum_buffer", p)?
                            .mul_scalar(momentum)?
                            .add(&g.div(&avg)?)?;
                        ps.slots.insert("momentum_buffer", buf.clone());
                        buf
                    } else {
                        g.div(&avg)?
                    };
                    base.sub(&d.mul_scalar(lr)?)?
                }
                Rule::Adagrad { eps, lr_decay, .. } => {
                    let clr = lr / (1.0 + (t - 1.0) * lr_decay);
                    let sum = ps.slot("sum", p)?.add(&g.mul(&g)?)?;
                    ps.slots.insert("sum", sum.clone());
                    let d = g.div(&sum.sqrt()?.add_scalar(eps)?)?;
                    base.sub(&d.mul_scalar(clr)?)?
                }
            };
            p.assign_(&new)?;
        }
        Ok(())
    }
}

/// Scales all gradients so their joint 2-norm is at most `max_norm`; returns the norm before.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) -> Result<f64> {
    let _g = no_grad();
    let grads: Vec<Tensor> = params.iter().filter_map(Tensor::grad).collect();
    let mut total = 0f64;
    for g in &grads {
        total += g.mul(g)?.sum()?.item()?;
    }
    let norm = total.sqrt();
    if norm > max_norm && norm > 0.0 {
        let scale = max_norm / (norm + 1e-6);
        for p in params {
            if let Some(g) = p.grad() {
                p.set_grad_value(g.mul_scalar(scale)?);
            }
        }
    }
    Ok(norm)
}

/// Clamps every gradient element to `[-value, value]`.
pub fn clip_grad_value(params: &[Tensor], value: f64) -> Result<()> {
    let _g = no_grad();
    for p in params {
        if let Some(g) = p.grad() {
            p.set_grad_value(g.clamp(-value.abs(), value.abs())?);
        }
    }
    Ok(())
}
