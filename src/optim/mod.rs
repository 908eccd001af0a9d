//! Optimisers (SGD with momentum/Nesterov, Adam, AdamW, RMSprop, Adagrad) with PyTorch's update
//! equations, learning-rate schedules, and gradient clipping. Updates run under `no_grad` with
//! tensor ops, and are written into the parameters' storage in place.

mod schedule;

pub use schedule::{Schedule, Scheduler};

use crate::backend::AdamStep;
use crate::tensor::{Tensor, no_grad};
use anyhow::{Result, bail};
use std::cell::RefCell;
use std::rc::Rc;

/// Which update rule, with its settings.
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
    },
    /// Adam with decoupled weight decay.
    AdamW {
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
    RmsProp {
        alpha: f64,
        eps: f64,
        momentum: f64,
    },
    Adagrad {
        eps: f64,
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

/// Per-parameter state: two slots (momentum buffer; Adam's m and v; RMSprop's square average
/// and momentum; Adagrad's sum).
#[derive(Default, Clone)]
struct Slots {
    a: Option<Tensor>,
    b: Option<Tensor>,
}

pub struct OptimizerState {
    params: Vec<Tensor>,
    rule: Rule,
    lr: f64,
    weight_decay: f64,
    steps: u64,
    slots: Vec<Slots>,
}

/// Shared handle to an optimiser (schedules and scripts hold the same one).
#[derive(Clone)]
pub struct Optimizer(Rc<RefCell<OptimizerState>>);

impl Optimizer {
    pub fn new(params: Vec<Tensor>, rule: Rule, lr: f64, weight_decay: f64) -> Result<Optimizer> {
        if lr.is_nan() || lr < 0.0 || weight_decay.is_nan() || weight_decay < 0.0 {
            bail!(
                "{}: learning rate and weight decay must be non-negative, got {lr} and {weight_decay}",
                rule.name()
            );
        }
        if let Some(p) = params
            .iter()
            .find(|p| p.dtype() != crate::tensor::DType::F32)
        {
            bail!(
                "{}: parameters must be f32, got {} of shape {:?}",
                rule.name(),
                p.dtype(),
                p.shape()
            );
        }
        match &rule {
            Rule::Adam { beta1, beta2, .. } | Rule::AdamW { beta1, beta2, .. }
                if !(0.0..1.0).contains(beta1) || !(0.0..1.0).contains(beta2) =>
            {
                bail!(
                    "{}: betas must be in [0, 1), got ({beta1}, {beta2})",
                    rule.name()
                )
            }
            Rule::Sgd {
                nesterov: true,
                momentum,
                dampening,
            } if *momentum <= 0.0 || *dampening != 0.0 => {
                bail!("SGD: Nesterov momentum needs momentum > 0 and dampening 0")
            }
            _ => {}
        }
        let n = params.len();
        Ok(Optimizer(Rc::new(RefCell::new(OptimizerState {
            params,
            rule,
            lr,
            weight_decay,
            steps: 0,
            slots: vec![Slots::default(); n],
        }))))
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

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.0.borrow().steps
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
        let mut st = self.0.borrow_mut();
        st.steps += 1;
        let (t, lr, wd, rule) = (st.steps as f64, st.lr, st.weight_decay, st.rule.clone());
        let params = st.params.clone();
        for (i, p) in params.iter().enumerate() {
            let Some(mut g) = p.grad() else { continue };
            if !p.requires_grad() {
                continue;
            }
            let slots = &mut st.slots[i];
            if let Rule::Adam { beta1, beta2, eps } | Rule::AdamW { beta1, beta2, eps } = rule {
                // Fused in-place update: one pass instead of a dozen temporary tensors.
                let m = slots.a.get_or_insert(Tensor::zeros_like(p)?).clone();
                let v = slots.b.get_or_insert(Tensor::zeros_like(p)?).clone();
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
            if wd > 0.0 && !matches!(rule, Rule::AdamW { .. }) {
                g = g.add(&p.mul_scalar(wd)?)?;
            }
            let new = match rule {
                Rule::Sgd {
                    momentum,
                    dampening,
                    nesterov,
                } => {
                    let d = if momentum > 0.0 {
                        let buf = match slots.a.take() {
                            None => g.clone(),
                            Some(b) => b
                                .mul_scalar(momentum)?
                                .add(&g.mul_scalar(1.0 - dampening)?)?,
                        };
                        slots.a = Some(buf.clone());
                        if nesterov {
                            g.add(&buf.mul_scalar(momentum)?)?
                        } else {
                            buf
                        }
                    } else {
                        g
                    };
                    p.sub(&d.mul_scalar(lr)?)?
                }
                Rule::Adam { beta1, beta2, eps } | Rule::AdamW { beta1, beta2, eps } => {
                    let m = match slots.a.take() {
                        None => g.mul_scalar(1.0 - beta1)?,
                        Some(m) => m.mul_scalar(beta1)?.add(&g.mul_scalar(1.0 - beta1)?)?,
                    };
                    let v = match slots.b.take() {
                        None => g.mul(&g)?.mul_scalar(1.0 - beta2)?,
                        Some(v) => v
                            .mul_scalar(beta2)?
                            .add(&g.mul(&g)?.mul_scalar(1.0 - beta2)?)?,
                    };
                    let m_hat = m.div_scalar(1.0 - beta1.powf(t))?;
                    let v_hat = v.div_scalar(1.0 - beta2.powf(t))?;
                    slots.a = Some(m);
                    slots.b = Some(v);
                    let base = if matches!(rule, Rule::AdamW { .. }) && wd > 0.0 {
                        p.mul_scalar(1.0 - lr * wd)?
                    } else {
                        p.clone()
                    };
                    base.sub(&m_hat.div(&v_hat.sqrt()?.add_scalar(eps)?)?.mul_scalar(lr)?)?
                }
                Rule::RmsProp {
                    alpha,
                    eps,
                    momentum,
                } => {
                    let sq = match slots.a.take() {
                        None => g.mul(&g)?.mul_scalar(1.0 - alpha)?,
                        Some(s) => s
                            .mul_scalar(alpha)?
                            .add(&g.mul(&g)?.mul_scalar(1.0 - alpha)?)?,
                    };
                    let step = g.div(&sq.sqrt()?.add_scalar(eps)?)?;
                    slots.a = Some(sq);
                    let d = if momentum > 0.0 {
                        let buf = match slots.b.take() {
                            None => step,
                            Some(b) => b.mul_scalar(momentum)?.add(&step)?,
                        };
                        slots.b = Some(buf.clone());
                        buf
                    } else {
                        step
                    };
                    p.sub(&d.mul_scalar(lr)?)?
                }
                Rule::Adagrad { eps } => {
                    let sum = match slots.a.take() {
                        None => g.mul(&g)?,
                        Some(s) => s.add(&g.mul(&g)?)?,
                    };
                    let d = g.div(&sum.sqrt()?.add_scalar(eps)?)?;
                    slots.a = Some(sum);
                    p.sub(&d.mul_scalar(lr)?)?
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
