//! The `optim::` namespace: optimisers, schedules, gradient clipping.

use super::convert::{IntoRR, RR, check_opts, fail, num, opt, opt_num};
use super::registrar::Api;
use crate::nn::Module;
use crate::optim::{Optimizer, Rule, Schedule, Scheduler, clip_grad_norm, clip_grad_value};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, ImmutableString, Map};

/// Parameters from an array of tensors or a model.
fn params(op: &str, v: &Dynamic) -> RR<Vec<Tensor>> {
    if let Some(m) = v.clone().try_cast::<Module>() {
        return Ok(m.parameters());
    }
    let Some(arr) = v.clone().try_cast::<Array>() else {
        return fail(format!(
            "{op}: expects model.parameters() (an array of tensors) or a model"
        ));
    };
    arr.iter()
        .map(|p| {
            p.clone().try_cast::<Tensor>().ok_or_else(|| {
                fail::<()>(format!(
                    "{op}: parameters must be tensors, found {}",
                    p.type_name()
                ))
                .unwrap_err()
            })
        })
        .collect()
}

fn betas(op: &str, o: &Map) -> RR<(f64, f64)> {
    match o.get("betas") {
        None => Ok((0.9, 0.999)),
        Some(v) => {
            let arr = v
                .clone()
                .try_cast::<Array>()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| {
                    fail::<()>(format!("{op}: betas takes [beta1, beta2]")).unwrap_err()
                })?;
            Ok((num(op, &arr[0])?, num(op, &arr[1])?))
        }
    }
}

fn make(op: &str, p: Dynamic, o: Map) -> RR<Optimizer> {
    let lr_default = match op {
        "optim::rmsprop" | "optim::adagrad" => 0.01,
        _ => 1e-3,
    };
    let lr = opt_num(op, &o, "lr")?.unwrap_or(lr_default);
    let wd =
        opt_num(op, &o, "weight_decay")?.unwrap_or(if op == "optim::adamw" { 0.01 } else { 0.0 });
    let flag = |k: &str| -> RR<bool> { Ok(opt::<bool>(op, &o, k)?.unwrap_or(false)) };
    let rule = match op {
        "optim::sgd" => {
            check_opts(
                op,
                &o,
                &[
                    "lr",
                    "momentum",
                    "dampening",
                    "weight_decay",
                    "nesterov",
                    "maximize",
                ],
            )?;
            Rule::Sgd {
                momentum: opt_num(op, &o, "momentum")?.unwrap_or(0.0),
                dampening: opt_num(op, &o, "dampening")?.unwrap_or(0.0),
                nesterov: flag("nesterov")?,
            }
        }
        "optim::adam" | "optim::adamw" => {
            check_opts(
                op,
                &o,
                &["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
            )?;
            let (beta1, beta2) = betas(op, &o)?;
            let eps = opt_num(op, &o, "eps")?.unwrap_or(1e-8);
            let amsgrad = flag("amsgrad")?;
            if op == "optim::adam" {
                Rule::Adam {
                    beta1,
                    beta2,
                    eps,
                    amsgrad,
                }
            } else {
                Rule::AdamW {
                    beta1,
                    beta2,
                    eps,
                    amsgrad,
                }
            }
        }
        "optim::rmsprop" => {
            check_opts(
                op,
                &o,
                &[
                    "lr",
                    "alpha",
                    "eps",
                    "weight_decay",
                    "momentum",
                    "centered",
                    "maximize",
                ],
            )?;
            Rule::RmsProp {
                alpha: opt_num(op, &o, "alpha")?.unwrap_or(0.99),
                eps: opt_num(op, &o, "eps")?.unwrap_or(1e-8),
                momentum: opt_num(op, &o, "momentum")?.unwrap_or(0.0),
                centered: flag("centered")?,
            }
        }
        _ => {
            check_opts(
                op,
                &o,
                &[
                    "lr",
                    "lr_decay",
                    "weight_decay",
                    "initial_accumulator_value",
                    "eps",
                    "maximize",
                ],
            )?;
            Rule::Adagrad {
                eps: opt_num(op, &o, "eps")?.unwrap_or(1e-10),
                lr_decay: opt_num(op, &o, "lr_decay")?.unwrap_or(0.0),
                initial_accumulator_value: opt_num(op, &o, "initial_accumulator_value")?
                    .unwrap_or(0.0),
            }
        }
    };
    let opt = Optimizer::new(params(op, &p)?, rule, lr, wd).rr()?;
    opt.set_maximize(flag("maximize")?);
    Ok(opt)
}

fn int(op: &str, o: &Map, key: &str) -> RR<u64> {
    match opt::<i64>(op, o, key)? {
        Some(v) if v > 0 => Ok(v as u64),
        Some(v) => fail(format!("{op}: {key} must be positive, got {v}")),
        None => fail(format!("{op}: needs the option {key}")),
    }
}

fn need(op: &str, o: &Map, key: &str) -> RR<f64> {
    opt_num(op, o, key)?
        .ok_or_else(|| fail::<()>(format!("{op}: needs the option {key}")).unwrap_err())
}

pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<Optimizer>("Optimizer");
    api.engine.register_type_with_name::<Scheduler>("Scheduler");
    let mut m = rhai::Module::new();
    macro_rules! of {
        ($name:literal, $doc:literal, $f:expr) => {{
            api.docs.add(concat!("optim::", $name), $doc);
            m.set_native_fn($name, $f);
        }};
    }
    of!(
        "sgd",
        "optim::sgd(params, #{lr: 1e-3, momentum: 0, dampening: 0, weight_decay: 0, nesterov: false, maximize: false}) — stochastic gradient descent with PyTorch's update: g += weight_decay * p; buf = momentum * buf + (1 - dampening) * g (buf = g at the first step); g = g + momentum * buf with nesterov, else buf; p -= lr * g (maximize: ascend)\nexample: optim::sgd(nn::linear(2, 1).parameters(), #{lr: 0.1, momentum: 0.9, nesterov: true}).lr",
        |p: Dynamic, o: Map| make("optim::sgd", p, o)
    );
    of!(
        "adam",
        "optim::adam(params, #{lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false}) — Adam (PyTorch's bias-corrected update; weight_decay adds weight_decay * p to the gradient; amsgrad divides by the largest second moment so far)\nexample: optim::adam(nn::linear(2, 1).parameters(), #{amsgrad: true}).lr",
        |p: Dynamic, o: Map| make("optim::adam", p, o)
    );
    for (name, op) in [
        ("sgd", "optim::sgd"),
        ("adam", "optim::adam"),
        ("adamw", "optim::adamw"),
        ("rmsprop", "optim::rmsprop"),
        ("adagrad", "optim::adagrad"),
    ] {
        m.set_native_fn(name, move |p: Dynamic| make(op, p, Map::new()));
    }
    of!(
        "adamw",
        "optim::adamw(params, #{lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, amsgrad: false, maximize: false}) — Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step\nexample: optim::adamw(nn::linear(2, 1).parameters()).lr",
        |p: Dynamic, o: Map| make("optim::adamw", p, o)
    );
    of!(
        "rmsprop",
        "optim::rmsprop(params, #{lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, centered: false, maximize: false}) — RMSprop: avg = sqrt(square_avg (- grad_avg^2 when centered)) + eps; with momentum, buf = momentum * buf + g / avg and p -= lr * buf\nexample: optim::rmsprop(nn::linear(2, 1).parameters(), #{centered: true, momentum: 0.9}).lr",
        |p: Dynamic, o: Map| make("optim::rmsprop", p, o)
    );
    of!(
        "adagrad",
        "optim::adagrad(params, #{lr: 0.01, lr_decay: 0, weight_decay: 0, initial_accumulator_value: 0, eps: 1e-10, maximize: false}) — Adagrad: sum += g^2 (starting at initial_accumulator_value); p -= lr / (1 + (step - 1) lr_decay) * g / (sqrt(sum) + eps)\nexample: optim::adagrad(nn::linear(2, 1).parameters(), #{lr_decay: 0.01}).lr",
        |p: Dynamic, o: Map| make("optim::adagrad", p, o)
    );
    of!(
        "step_lr",
        "optim::step_lr(opt, #{step_size, gamma: 0.1}) — multiplies the rate by gamma every step_size steps",
        |opt_: Optimizer, o: Map| {
            check_opts("optim::step_lr", &o, &["step_size", "gamma"])?;
            Scheduler::new(
                opt_,
                Schedule::Step {
                    step_size: int("optim::step_lr", &o, "step_size")?,
                    gamma: opt_num("optim::step_lr", &o, "gamma")?.unwrap_or(0.1),
                },
            )
            .rr()
        }
    );
    of!(
        "exponential_lr",
        "optim::exponential_lr(opt, #{gamma}) — multiplies the rate by gamma every step",
        |opt_: Optimizer, o: Map| {
            check_opts("optim::exponential_lr", &o, &["gamma"])?;
            Scheduler::new(
                opt_,
                Schedule::Exponential {
                    gamma: need("optim::exponential_lr", &o, "gamma")?,
                },
            )
            .rr()
        }
    );
    of!(
        "cosine_lr",
        "optim::cosine_lr(opt, #{t_max, eta_min: 0}) — cosine annealing to eta_min over t_max steps",
        |opt_: Optimizer, o: Map| {
            check_opts("optim::cosine_lr", &o, &["t_max", "eta_min"])?;
            Scheduler::new(
                opt_,
                Schedule::Cosine {
                    t_max: int("optim::cosine_lr", &o, "t_max")?,
                    eta_min: opt_num("optim::cosine_lr", &o, "eta_min")?.unwrap_or(0.0),
                },
            )
            .rr()
        }
    );
    of!(
        "cyclic_lr",
        "optim::cyclic_lr(opt, #{base_lr, max_lr, step_size}) — Leslie Smith's triangular cycle",
        |opt_: Optimizer, o: Map| {
            let op = "optim::cyclic_lr";
            check_opts(op, &o, &["base_lr", "max_lr", "step_size"])?;
            Scheduler::new(
                opt_,
                Schedule::Cyclic {
                    base_lr: need(op, &o, "base_lr")?,
                    max_lr: need(op, &o, "max_lr")?,
                    step_size: int(op, &o, "step_size")?,
                },
            )
            .rr()
        }
    );
    of!(
        "one_cycle",
        "optim::one_cycle(opt, #{max_lr, total_steps, pct_start: 0.3, div_factor: 25, final_div_factor: 1e4}) — warm up then anneal (call step() every batch)",
        |opt_: Optimizer, o: Map| {
            let op = "optim::one_cycle";
            check_opts(
                op,
                &o,
                &[
                    "max_lr",
                    "total_steps",
                    "pct_start",
                    "div_factor",
                    "final_div_factor",
                ],
            )?;
            Scheduler::new(
                opt_,
                Schedule::OneCycle {
                    max_lr: need(op, &o, "max_lr")?,
                    total_steps: int(op, &o, "total_steps")?,
                    pct_start: opt_num(op, &o, "pct_start")?.unwrap_or(0.3),
                    div: opt_num(op, &o, "div_factor")?.unwrap_or(25.0),
                    final_div: opt_num(op, &o, "final_div_factor")?.unwrap_or(1e4),
                },
            )
            .rr()
        }
    );
    of!(
        "clip_grad_norm",
        "optim::clip_grad_norm(params, max_norm) — scales gradients so their joint norm is at most max_norm; returns the norm before",
        |p: Dynamic, n: Dynamic| clip_grad_norm(
            &params("optim::clip_grad_norm", &p)?,
            num("clip_grad_norm", &n)?
        )
        .rr()
    );
    of!(
        "clip_grad_value",
        "optim::clip_grad_value(params, value) — clamps every gradient element to [-value, value]",
        |p: Dynamic, v: Dynamic| clip_grad_value(
            &params("optim::clip_grad_value", &p)?,
            num("clip_grad_value", &v)?
        )
        .rr()
    );
    of!(
        "save",
        "optim::save(opt, path) / optim::save(sched, path) — writes the optimiser's state (hyperparameters, step counts, buffers; with a schedule also its position) to a safetensors file, atomically, for an exact resume\nexample: let o = optim::adam(nn::linear(2, 1).parameters()); optim::save(o, env(\"TMPDIR\", \"/tmp\") + \"/ember-help-opt.safetensors\")",
        |v: Dynamic, p: ImmutableString| super::optim_state_api::save(&v, &p)
    );
    of!(
        "load",
        "optim::load(opt, path) / optim::load(sched, path) — restores a state written by optim::save into an optimiser of the same kind over parameters of the same shapes (and a schedule's position)\nexample: let o = optim::adam(nn::linear(2, 1).parameters()); let f = env(\"TMPDIR\", \"/tmp\") + \"/ember-help-opt2.safetensors\"; optim::save(o, f); optim::load(o, f)",
        |v: Dynamic, p: ImmutableString| super::optim_state_api::load(&v, &p)
    );
    api.engine.register_static_module("optim", m.into());

    reg!(
        api,
        "step",
        "opt.step() — updates the parameters from their gradients; sched.step() — advances a schedule and sets the rate",
        |o: &mut Optimizer| o.step().rr()
    );
    reg!(api, "step", "", |s: &mut Scheduler| s.step().rr());
    reg!(api, "zero_grad", "", |o: &mut Optimizer| o.zero_grad());
    get!(
        api,
        "lr",
        "opt.lr — the learning rate; set it with opt.lr = 0.01 (sched.lr reads the scheduled rate)",
        |o: &mut Optimizer| o.lr()
    );
    api.engine
        .register_set("lr", |o: &mut Optimizer, v: Dynamic| {
            o.set_lr(num("lr", &v)?).rr()
        });
    api.engine.register_get("lr", |s: &mut Scheduler| s.lr());
    reg!(
        api,
        "set_lr",
        "opt.set_lr(rate) — sets the learning rate",
        |o: &mut Optimizer, v: Dynamic| o.set_lr(num("set_lr", &v)?).rr()
    );
    reg!(
        api,
        "params",
        "opt.params() — the tensors the optimiser updates",
        |o: &mut Optimizer| o.params().into_iter().map(Dynamic::from).collect::<Array>()
    );
    reg!(
        api,
        "state_dict",
        "opt.state_dict() — a snapshot as PyTorch lays it out: #{kind, state: #{\"0\": #{step, exp_avg, ...}}, param_groups: [#{lr, betas, eps, weight_decay, ..., params}]}; sched.state_dict() — #{last_epoch, base_lr}\nexample: let o = optim::sgd(nn::linear(2, 1).parameters(), #{momentum: 0.9}); o.state_dict().param_groups[0].momentum",
        |o: &mut Optimizer| -> RR<Map> {
            let n = o.params().len();
            Ok(super::optim_state_api::to_map(&o.state_dict().rr()?, n))
        }
    );
    reg!(api, "state_dict", "", |s: &mut Scheduler| {
        super::optim_state_api::schedule_map(s)
    });
    reg!(
        api,
        "load_state_dict",
        "opt.load_state_dict(state) — restores a snapshot from opt.state_dict() (same kind, parameters of the same shapes; copies the buffers) so training resumes exactly; sched.load_state_dict(#{last_epoch, base_lr})\nexample: let o = optim::adam(nn::linear(2, 1).parameters()); o.load_state_dict(o.state_dict())",
        |o: &mut Optimizer, m: Map| -> RR<()> {
            let sd = super::optim_state_api::from_map("load_state_dict", o.name(), &m)?;
            o.load_state_dict(&sd).rr()
        }
    );
    reg!(api, "load_state_dict", "", |s: &mut Scheduler, m: Map| {
        super::optim_state_api::load_schedule(s, &m)
    });
    reg!(api, "to_string", "", |o: &mut Optimizer| format!(
        "{}(lr={}, {} params, {} steps)",
        o.name(),
        o.lr(),
        o.params().len(),
        o.steps()
    ));
}
