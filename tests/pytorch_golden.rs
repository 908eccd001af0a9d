//! Golden cases computed with PyTorch: every case in `tests/fixtures/pytorch/<group>.safetensors`
//! (made by `make_fixtures.py` beside them) runs its ember code on its inputs and must match
//! PyTorch's outputs to 1e-5 (relative to the value's size, absolute below 1). Each group
//! reports how many values it compared and the worst deviation.

mod common;

use ember::nn::serialize::load_tensors;
use ember::{DType, Tensor};
use rhai::Dynamic;
use std::collections::BTreeMap;
use std::path::PathBuf;

const TOL: f64 = 1e-5;

fn fixture(group: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch")
        .join(format!("{group}.safetensors"))
}

/// The code of every case, by name.
fn cases(group: &str) -> BTreeMap<String, String> {
    let bytes = std::fs::read(fixture(group)).expect("fixture file");
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).expect("safetensors header");
    meta.metadata()
        .clone()
        .expect("case code in the metadata")
        .into_iter()
        .collect()
}

fn outputs(v: Dynamic) -> Vec<Tensor> {
    if let Some(t) = v.clone().try_cast::<Tensor>() {
        return vec![t];
    }
    v.try_cast::<rhai::Array>()
        .expect("a case returns a tensor or an array of tensors")
        .into_iter()
        .map(|d| d.try_cast::<Tensor>().expect("outputs are tensors"))
        .collect()
}

/// Compares `got` with `want`; returns the worst scaled deviation and the values compared.
fn compare(case: &str, i: usize, got: &Tensor, want: &Tensor) -> (f64, usize) {
    assert_eq!(
        got.shape(),
        want.shape(),
        "{case}: output {i} has shape {:?}, PyTorch {:?}",
        got.shape(),
        want.shape()
    );
    if want.dtype() != DType::F32 {
        assert_eq!(got.dtype(), want.dtype(), "{case}: output {i} dtype");
        assert_eq!(
            got.to_i64_vec().unwrap(),
            want.to_i64_vec().unwrap(),
            "{case}: output {i} differs"
        );
        return (0.0, want.numel());
    }
    let (g, w) = (got.to_f32_vec().unwrap(), want.to_f32_vec().unwrap());
    let mut worst = 0f64;
    for (j, (&a, &e)) in g.iter().zip(&w).enumerate() {
        if e.is_nan() {
            assert!(
                a.is_nan(),
                "{case}: output {i} element {j}: {a}, PyTorch nan"
            );
            continue;
        }
        let dev = (a as f64 - e as f64).abs() / (1.0f64).max((e as f64).abs());
        assert!(
            dev <= TOL,
            "{case}: output {i} element {j}: {a}, PyTorch {e} (deviation {dev:e})\n  got  {g:?}\n  want {w:?}"
        );
        worst = worst.max(dev);
    }
    (worst, w.len())
}

/// Runs every case of a group; returns (cases, values compared, worst deviation).
pub fn run_group(group: &str) -> (usize, usize, f64) {
    let tensors = load_tensors(&fixture(group)).expect("fixture tensors");
    let cases = cases(group);
    let (mut values, mut worst) = (0usize, 0f64);
    for (name, code) in &cases {
        let mut rt = common::builder_with_files().seed(0).build().unwrap();
        let prefix = format!("{name}/");
        let mut expected = BTreeMap::new();
        for (n, t) in &tensors {
            let Some(var) = n.strip_prefix(&prefix) else {
                continue;
            };
            match var.strip_prefix("out.") {
                Some(i) => {
                    expected.insert(i.parse::<usize>().unwrap(), t.clone());
                }
                None => rt.set_tensor(var, t.detach()),
            }
        }
        // model cases load PyTorch state_dicts from the `models` folder beside the group files
        let models = fixture("models").with_extension("");
        let code = &code.replace("$MODELS", &models.to_string_lossy());
        let got = rt
            .eval(code)
            .unwrap_or_else(|e| panic!("{group}/{name}: {code}\n{e}"));
        let got = outputs(got);
        assert_eq!(
            got.len(),
            expected.len(),
            "{group}/{name}: {} outputs, PyTorch {}",
            got.len(),
            expected.len()
        );
        for (i, want) in expected.values().enumerate() {
            let (w, n) = compare(&format!("{group}/{name}"), i, &got[i], want);
            worst = worst.max(w);
            values += n;
        }
    }
    println!(
        "{group}: {} cases, {values} values, worst deviation {worst:.2e}",
        cases.len()
    );
    (cases.len(), values, worst)
}

#[test]
fn losses_match_pytorch() {
    let (cases, _, _) = run_group("losses");
    assert!(cases >= 60, "the losses group has {cases} cases");
}

#[test]
fn functional_forms_and_layers_match_pytorch() {
    let (cases, _, _) = run_group("functional");
    assert!(cases >= 60, "the functional group has {cases} cases");
}

#[test]
fn a_deviation_beyond_the_tolerance_fails() {
    let want = Tensor::from_f32(vec![1.0, 2.0], &[2], ember::Device::Cpu).unwrap();
    let close = Tensor::from_f32(vec![1.0, 2.0 + 1e-6], &[2], ember::Device::Cpu).unwrap();
    let far = Tensor::from_f32(vec![1.0, 2.001], &[2], ember::Device::Cpu).unwrap();
    assert!(compare("close", 0, &close, &want).0 <= TOL);
    let far_off = std::panic::AssertUnwindSafe(|| compare("far", 0, &far, &want));
    assert!(std::panic::catch_unwind(far_off).is_err());
}

#[test]
fn optimizers_match_pytorch() {
    let (cases, _, _) = run_group("optim");
    assert!(cases >= 15, "the optim group has {cases} cases");
}

#[test]
fn pytorch_state_dicts_load_and_match() {
    // an MLP (also through a name map), a CNN with batch norm, 2-layer bidirectional LSTM and
    // GRU, and RNNs, saved from PyTorch as safetensors and loaded with nn::load
    let (cases, _, _) = run_group("models");
    assert!(cases >= 10, "the models group has {cases} cases");
}
