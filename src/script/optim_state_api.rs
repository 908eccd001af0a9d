//! Optimiser and schedule state dicts as Rhai maps (PyTorch's layout), and checkpoint files.

use super::convert::{IntoRR, RR, fail, num};
use crate::optim::{Optimizer, Scheduler, StateDict};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, Map};
use std::collections::BTreeMap;

/// Hyperparameters that are flags (shown as booleans).
const FLAGS: [&str; 4] = ["maximize", "amsgrad", "nesterov", "centered"];

/// `#{state: #{"0": #{step, exp_avg, ...}}, param_groups: [#{lr, betas, ..., params}]}`.
pub fn to_map(sd: &StateDict, n_params: usize) -> Map {
    let mut state = Map::new();
    for (i, entry) in &sd.state {
        let e: Map = entry
            .iter()
            .map(|(k, t)| (k.as_str().into(), Dynamic::from(t.clone())))
            .collect();
        state.insert(i.to_string().into(), Dynamic::from_map(e));
    }
    let mut group = Map::new();
    for (k, &v) in &sd.hyper {
        match k.as_str() {
            "beta1" | "beta2" => {}
            f if FLAGS.contains(&f) => {
                group.insert(k.as_str().into(), Dynamic::from(v != 0.0));
            }
            _ => {
                group.insert(k.as_str().into(), Dynamic::from(v));
            }
        }
    }
    if let (Some(b1), Some(b2)) = (sd.hyper.get("beta1"), sd.hyper.get("beta2")) {
        let betas: Array = vec![Dynamic::from(*b1), Dynamic::from(*b2)];
        group.insert("betas".into(), Dynamic::from_array(betas));
    }
    let params: Array = (0..n_params as i64).map(Dynamic::from).collect();
    group.insert("params".into(), Dynamic::from_array(params));
    let mut m = Map::new();
    m.insert("kind".into(), Dynamic::from(sd.kind.clone()));
    m.insert("state".into(), Dynamic::from_map(state));
    m.insert(
        "param_groups".into(),
        Dynamic::from_array(vec![Dynamic::from_map(group)]),
    );
    m
}

/// Reads a map made by [`to_map`] (possibly edited) back.
pub fn from_map(op: &str, kind: &str, m: &Map) -> RR<StateDict> {
    let kind = match m.get("kind") {
        Some(k) => k.clone().into_string().map_err(|t| {
            super::convert::fail::<()>(format!("{op}: kind should be a string, got {t}"))
                .unwrap_err()
        })?,
        None => kind.to_string(),
    };
    let mut hyper = BTreeMap::new();
    if let Some(groups) = m.get("param_groups") {
        let groups = groups.clone().try_cast::<Array>().unwrap_or_default();
        if groups.len() != 1 {
            return fail(format!(
                "{op}: expects one parameter group, got {}",
                groups.len()
            ));
        }
        let Some(g) = groups[0].clone().try_cast::<Map>() else {
            return fail(format!("{op}: a parameter group should be a map"));
        };
        for (k, v) in &g {
            match k.as_str() {
                "params" => {}
                "betas" => {
                    let b = v.clone().try_cast::<Array>().filter(|a| a.len() == 2);
                    let Some(b) = b else {
                        return fail(format!("{op}: betas takes [beta1, beta2]"));
                    };
                    hyper.insert("beta1".to_string(), num(op, &b[0])?);
                    hyper.insert("beta2".to_string(), num(op, &b[1])?);
                }
                _ => {
                    hyper.insert(k.to_string(), num(op, v)?);
                }
            }
        }
    }
    let mut state = BTreeMap::new();
    if let Some(s) = m.get("state") {
        let Some(s) = s.clone().try_cast::<Map>() else {
            return fail(format!("{op}: state should be a map of parameter indices"));
        };
        for (i, entry) in s {
            let Ok(idx) = i.parse::<usize>() else {
                return fail(format!("{op}: state key {i:?} is not a parameter index"));
            };
            let Some(entry) = entry.try_cast::<Map>() else {
                return fail(format!("{op}: state of parameter {idx} should be a map"));
            };
            let mut e = BTreeMap::new();
            for (name, t) in entry {
                let t = if let Some(t) = t.clone().try_cast::<Tensor>() {
                    t
                } else if name == "step" {
                    Tensor::full(
                        &[],
                        num(op, &t)?,
                        crate::tensor::DType::F32,
                        super::convert::default_device(),
                    )
                    .rr()?
                } else {
                    return fail(format!(
                        "{op}: parameter {idx}: {name} should be a tensor, got {}",
                        t.type_name()
                    ));
                };
                e.insert(name.to_string(), t);
            }
            state.insert(idx, e);
        }
    }
    Ok(StateDict { kind, hyper, state })
}

/// A schedule's state: `#{last_epoch, base_lr}`.
pub fn schedule_map(s: &Scheduler) -> Map {
    let (base, t) = s.position();
    let mut m = Map::new();
    m.insert("last_epoch".into(), Dynamic::from(t as i64));
    m.insert("base_lr".into(), Dynamic::from(base));
    m
}

/// Restores `#{last_epoch, base_lr}`.
pub fn load_schedule(s: &Scheduler, m: &Map) -> RR<()> {
    let op = "load_state_dict";
    let t = match m.get("last_epoch") {
        Some(v) => v.as_int().ok().filter(|&t| t >= 0).ok_or_else(|| {
            fail::<()>(format!("{op}: last_epoch must be a whole number")).unwrap_err()
        })?,
        None => return fail(format!("{op}: a schedule's state needs last_epoch")),
    };
    let base = match m.get("base_lr") {
        Some(v) => num(op, v)?,
        None => s.position().0,
    };
    s.set_position(base, t as u64).rr()
}

/// Writes an optimiser (or a schedule and its optimiser) to a checkpoint file.
pub fn save(v: &Dynamic, path: &str) -> RR<()> {
    let p = std::path::Path::new(path);
    if let Some(s) = v.clone().try_cast::<Scheduler>() {
        let (base, t) = s.position();
        let extra = vec![
            ("scheduler.base_lr".to_string(), format!("{base:?}")),
            ("scheduler.last_epoch".to_string(), t.to_string()),
        ];
        return s.optimizer().save(p, &extra).rr();
    }
    match v.clone().try_cast::<Optimizer>() {
        Some(o) => o.save(p, &[]).rr(),
        None => fail(format!(
            "optim::save: expects an optimiser or a schedule, got {}",
            v.type_name()
        )),
    }
}

/// Reads a checkpoint file into an optimiser (or a schedule and its optimiser).
pub fn load(v: &Dynamic, path: &str) -> RR<()> {
    let p = std::path::Path::new(path);
    if let Some(s) = v.clone().try_cast::<Scheduler>() {
        let meta = s.optimizer().load(p).rr()?;
        let (Some(base), Some(t)) = (
            meta.get("scheduler.base_lr"),
            meta.get("scheduler.last_epoch"),
        ) else {
            return fail(format!("optim::load: {path} holds no schedule state"));
        };
        let base: f64 = base.parse().unwrap_or(f64::NAN);
        let t: u64 = t.parse().map_err(|_| {
            fail::<()>(format!("optim::load: {path}: bad last_epoch {t:?}")).unwrap_err()
        })?;
        return s.set_position(base, t).rr();
    }
    match v.clone().try_cast::<Optimizer>() {
        Some(o) => o.load(p).map(|_| ()).rr(),
        None => fail(format!(
            "optim::load: expects an optimiser or a schedule, got {}",
            v.type_name()
        )),
    }
}
