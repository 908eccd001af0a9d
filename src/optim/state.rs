//! Optimiser state dicts, laid out as PyTorch's `optimizer.state_dict()`: hyperparameters (one
//! parameter group) and, per parameter index, its `step` and buffers. Loading one into an
//! optimiser over the same parameters makes the next steps exactly those an uninterrupted run
//! takes; `save`/`load` put one in a safetensors file (buffers as `state.<i>.<name>`, the
//! hyperparameters in the metadata).

use super::{Optimizer, Rule};
use crate::nn::serialize::{load_tensors_with_metadata, save_tensors_with_metadata};
use crate::tensor::{DType, Tensor};
use anyhow::{Result, anyhow, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// A snapshot of an optimiser: its kind (`"Adam"`, ...), hyperparameters by PyTorch's names
/// (`lr`, `weight_decay`, `maximize`, `beta1`, `beta2`, `eps`, `amsgrad`, `momentum`,
/// `dampening`, `nesterov`, `alpha`, `centered`, `lr_decay`, `initial_accumulator_value`; flags
/// as 0 or 1) and each parameter's state (`step` as an f32 scalar, then its buffers).
#[derive(Clone, Debug)]
pub struct StateDict {
    pub kind: String,
    pub hyper: BTreeMap<String, f64>,
    pub state: BTreeMap<usize, BTreeMap<String, Tensor>>,
}

/// Buffer names each rule keeps (PyTorch's).
fn buffer_names(rule: &Rule) -> &'static [&'static str] {
    match rule {
        Rule::Sgd { .. } => &["momentum_buffer"],
        Rule::Adam { .. } | Rule::AdamW { .. } => &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        Rule::RmsProp { .. } => &["square_avg", "momentum_buffer", "grad_avg"],
        Rule::Adagrad { .. } => &["sum"],
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The hyperparameters of a rule (without lr, weight_decay, maximize).
fn rule_hyper(rule: &Rule) -> Vec<(&'static str, f64)> {
    match *rule {
        Rule::Sgd {
            momentum,
            dampening,
            nesterov,
        } => vec![
            ("momentum", momentum),
            ("dampening", dampening),
            ("nesterov", flag(nesterov)),
        ],
        Rule::Adam {
            beta1,
            beta2,
            eps,
            amsgrad,
        }
        | Rule::AdamW {
            beta1,
            beta2,
            eps,
            amsgrad,
        } => vec![
            ("beta1", beta1),
            ("beta2", beta2),
            ("eps", eps),
            ("amsgrad", flag(amsgrad)),
        ],
        Rule::RmsProp {
            alpha,
            eps,
            momentum,
            centered,
        } => vec![
            ("alpha", alpha),
            ("eps", eps),
            ("momentum", momentum),
            ("centered", flag(centered)),
        ],
        Rule::Adagrad {
            eps,
            lr_decay,
            initial_accumulator_value,
        } => vec![
            ("eps", eps),
            ("lr_decay", lr_decay),
            ("initial_accumulator_value", initial_accumulator_value),
        ],
    }
}

/// The rule of kind `kind` with the hyperparameters in `h` (missing ones keep `current`'s).
fn rule_from(kind: &str, h: &BTreeMap<String, f64>, current: &Rule) -> Result<Rule> {
    let base: BTreeMap<&str, f64> = rule_hyper(current).into_iter().collect();
    let get = |k: &str| -> Result<f64> {
        h.get(k)
            .copied()
            .or_else(|| base.get(k).copied())
            .ok_or_else(|| anyhow!("load_state_dict: {kind} state lacks {k}"))
    };
    let on = |k: &str| -> Result<bool> { Ok(get(k)? != 0.0) };
    Ok(match kind {
        "SGD" => Rule::Sgd {
            momentum: get("momentum")?,
            dampening: get("dampening")?,
            nesterov: on("nesterov")?,
        },
        "Adam" | "AdamW" => {
            let (beta1, beta2, eps, amsgrad) =
                (get("beta1")?, get("beta2")?, get("eps")?, on("amsgrad")?);
            if kind == "Adam" {
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
        "RMSprop" => Rule::RmsProp {
            alpha: get("alpha")?,
            eps: get("eps")?,
            momentum: get("momentum")?,
            centered: on("centered")?,
        },
        "Adagrad" => Rule::Adagrad {
            eps: get("eps")?,
            lr_decay: get("lr_decay")?,
            initial_accumulator_value: get("initial_accumulator_value")?,
        },
        other => bail!("load_state_dict: unknown optimiser kind {other:?}"),
    })
}

impl Optimizer {
    /// A snapshot (copies) of the hyperparameters and every parameter's state.
    pub fn state_dict(&self) -> Result<StateDict> {
        let st = self.0.borrow();
        let mut hyper: BTreeMap<String, f64> = rule_hyper(&st.rule)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        hyper.insert("lr".into(), st.lr);
        hyper.insert("weight_decay".into(), st.weight_decay);
        hyper.insert("maximize".into(), flag(st.maximize));
        let mut state = BTreeMap::new();
        for (i, (p, ps)) in st.params.iter().zip(&st.state).enumerate() {
            if ps.step == 0 && ps.slots.is_empty() {
                continue;
            }
            let mut entry = BTreeMap::new();
            let step = Tensor::full(&[], ps.step as f64, DType::F32, p.device())?;
            entry.insert("step".to_string(), step);
            for (name, t) in &ps.slots {
                entry.insert(name.to_string(), t.detach().clone_tensor()?);
            }
            state.insert(i, entry);
        }
        Ok(StateDict {
            kind: st.rule.name().to_string(),
            hyper,
            state,
        })
    }

    /// Restores a snapshot taken from an optimiser of the same kind over parameters of the same
    /// shapes: hyperparameters, step counts and buffers (copied). Every mismatch is an error
    /// and leaves the optimiser unchanged.
    pub fn load_state_dict(&self, sd: &StateDict) -> Result<()> {
        let op = "load_state_dict";
        let (params, current) = {
            let st = self.0.borrow();
            (st.params.clone(), st.rule.clone())
        };
        if sd.kind != current.name() {
            bail!(
                "{op}: the state is for {}, this optimiser is {}",
                sd.kind,
                current.name()
            );
        }
        let known_hyper: Vec<&str> = rule_hyper(&current)
            .iter()
            .map(|(k, _)| *k)
            .chain(["lr", "weight_decay", "maximize"])
            .collect();
        if let Some(k) = sd.hyper.keys().find(|k| !known_hyper.contains(&k.as_str())) {
            bail!("{op}: {} has no hyperparameter {k:?}", sd.kind);
        }
        let rule = rule_from(&sd.kind, &sd.hyper, &current)?;
        let mut states = vec![super::ParamState::default(); params.len()];
        let names = buffer_names(&rule);
        for (&i, entry) in &sd.state {
            let Some(p) = params.get(i) else {
                bail!(
                    "{op}: the state has parameter {i}, the optimiser only {}",
                    params.len()
                );
            };
            for (name, t) in entry {
                if name == "step" {
                    let s = t.to_dtype(DType::F32)?;
                    if s.numel() != 1 {
                        bail!(
                            "{op}: parameter {i}: step should be a scalar, got {:?}",
                            t.shape()
                        );
                    }
                    let v = s.item()?;
                    if !(v >= 0.0 && v.fract() == 0.0) {
                        bail!("{op}: parameter {i}: step should be a whole number, got {v}");
                    }
                    states[i].step = v as u64;
                    continue;
                }
                let Some(&slot) = names.iter().find(|n| **n == name) else {
                    bail!("{op}: parameter {i}: {} keeps no {name:?}", sd.kind);
                };
                if t.shape() != p.shape() {
                    bail!(
                        "{op}: parameter {i}: {name} has shape {:?}, the parameter {:?}",
                        t.shape(),
                        p.shape()
                    );
                }
                let copy = t
                    .detach()
                    .to_dtype(DType::F32)?
                    .to_device(p.device())?
                    .clone_tensor()?;
                states[i].slots.insert(slot, copy);
            }
        }
        let lr = sd.hyper.get("lr").copied().unwrap_or(self.lr());
        let mut st = self.0.borrow_mut();
        let wd = sd
            .hyper
            .get("weight_decay")
            .copied()
            .unwrap_or(st.weight_decay);
        if lr.is_nan() || lr < 0.0 || wd.is_nan() || wd < 0.0 {
            bail!("{op}: lr and weight_decay must be non-negative, got {lr} and {wd}");
        }
        st.lr = lr;
        st.weight_decay = wd;
        st.maximize = sd.hyper.get("maximize").is_some_and(|&v| v != 0.0);
        st.rule = rule;
        st.state = states;
        Ok(())
    }

    /// Writes [`Optimizer::state_dict`] to a safetensors file (atomically); `extra` metadata
    /// (a schedule's position) goes along.
    pub fn save(&self, path: &Path, extra: &[(String, String)]) -> Result<()> {
        let sd = self.state_dict()?;
        let mut meta: Vec<(String, String)> = vec![("optimizer".into(), sd.kind.clone())];
        meta.extend(sd.hyper.iter().map(|(k, v)| (k.clone(), format!("{v:?}"))));
        meta.extend(extra.iter().cloned());
        let tensors: Vec<(String, Tensor)> = sd
            .state
            .iter()
            .flat_map(|(i, e)| {
                e.iter()
                    .map(move |(n, t)| (format!("state.{i}.{n}"), t.clone()))
            })
            .collect();
        save_tensors_with_metadata(&tensors, &meta, path)
    }

    /// Reads a file written by [`Optimizer::save`] into this optimiser; returns the file's
    /// metadata (for a schedule's position).
    pub fn load(&self, path: &Path) -> Result<BTreeMap<String, String>> {
        let (tensors, meta) = load_tensors_with_metadata(path)?;
        let where_ = path.display();
        let kind = meta
            .get("optimizer")
            .cloned()
            .ok_or_else(|| anyhow!("load: {where_} holds no optimiser state"))?;
        let mut hyper = BTreeMap::new();
        for (k, v) in &meta {
            if k == "optimizer" || k.starts_with("scheduler") {
                continue;
            }
            let x: f64 = v
                .parse()
                .map_err(|_| anyhow!("load: {where_}: {k} = {v:?} is not a number"))?;
            hyper.insert(k.clone(), x);
        }
        let mut state: BTreeMap<usize, BTreeMap<String, Tensor>> = BTreeMap::new();
        for (name, t) in tensors {
            let parsed = name
                .strip_prefix("state.")
                .and_then(|r| r.split_once('.'))
                .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.to_string())));
            let Some((i, n)) = parsed else {
                bail!("load: {where_}: unexpected tensor {name:?} in an optimiser file");
            };
            state.entry(i).or_default().insert(n, t);
        }
        self.load_state_dict(&StateDict { kind, hyper, state })
            .map_err(|e| anyhow!("load: {where_}: {e:#}"))?;
        Ok(meta)
    }
}
