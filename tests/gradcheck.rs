//! Finite-difference checks of the backward rule of every differentiable op.
//!
//! Each case projects the op's output onto fixed weights (so every output element matters,
//! with different weights) and compares the analytic gradient of that scalar with central
//! differences, element by element, for every input.
// Cases pass cheap Rc-handle clones in slices; that reads better than slice::from_ref.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;

use anyhow::Result;
use common::{dev, on_cpu, on_each_device, spread, tb, ti};
use ember::ops::{ClassLossOptions, Reduction};
use ember::{Device, Tensor, tensor::random};
use std::cell::RefCell;
use std::collections::HashMap;

const EPS: f32 = 4e-3;
const TOL: f64 = 2e-2;

fn projected(
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    xs: &[Tensor],
    seed: Option<u64>,
) -> Result<(Tensor, Tensor)> {
    if let Some(s) = seed {
        random::manual_seed(s);
    }
    let y = f(xs)?;
    let w = spread(y.shape(), 0.5, 1.5, 99);
    Ok((y.mul(&w)?.sum()?, y))
}

thread_local! {
    /// Each case's output and input gradients on the CPU, by name, for the other devices'
    /// runs of the same test body to be compared with.
    static CPU_RESULTS: RefCell<HashMap<String, Vec<Vec<f32>>>> = RefCell::new(HashMap::new());
}

/// Compares analytic and numeric gradients of `f` at `inputs` (all f32; reseeds the RNG
/// before every evaluation when `seed` is given, for ops that draw random numbers).
///
/// On the CPU the analytic gradients are checked against central differences. On any other
/// device (the test body runs once per device, the CPU first) the forward values and the
/// analytic gradients are compared with the CPU's; a case that draws random numbers (a
/// device has its own generator) is checked against central differences there instead.
fn check_seeded(
    name: &str,
    inputs: &[Tensor],
    seed: Option<u64>,
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    let xs: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().requires_grad_(true).unwrap())
        .collect();
    let (loss, y) =
        projected(&f, &xs, seed).unwrap_or_else(|e| panic!("{name}: forward failed: {e:#}"));
    assert_eq!(y.device(), dev(), "{name}: the output is on another device");
    loss.backward()
        .unwrap_or_else(|e| panic!("{name}: backward failed: {e:#}"));
    let mut results = vec![y.to_dtype(ember::DType::F32).unwrap().to_f32_vec().unwrap()];
    for x in &xs {
        results.push(
            x.grad()
                .map(|g| g.to_f32_vec().unwrap())
                .unwrap_or_else(|| vec![0.0; x.numel()]),
        );
    }
    if !on_cpu() && seed.is_none() {
        let cpu = CPU_RESULTS.with(|r| r.borrow().get(name).cloned());
        let cpu = cpu.unwrap_or_else(|| panic!("{name}: no CPU result to compare with"));
        for (k, (got, want)) in results.iter().zip(&cpu).enumerate() {
            let what = if k == 0 {
                format!("{name} on {}: forward", dev())
            } else {
                format!("{name} on {}: gradient of input {}", dev(), k - 1)
            };
            assert_eq!(got.len(), want.len(), "{what}: lengths differ");
            for (j, (g, w)) in got.iter().zip(want).enumerate() {
                let same = (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-4 * (1.0 + w.abs());
                assert!(same, "{what}: element {j} is {g}, the CPU gives {w}");
            }
        }
        return;
    }
    if on_cpu() {
        CPU_RESULTS.with(|r| r.borrow_mut().insert(name.to_string(), results.clone()));
    }
    for (i, x) in xs.iter().enumerate() {
        let analytic = &results[i + 1];
        let base = x.to_f32_vec().unwrap();
        for j in 0..base.len() {
            let eval = |delta: f32| -> f64 {
                let _g = ember::tensor::no_grad();
                let mut v = base.clone();
                v[j] += delta;
                let mut moved: Vec<Tensor> = xs.iter().map(|t| t.detach()).collect();
                moved[i] = Tensor::from_f32(v, x.shape(), x.device()).unwrap();
                projected(&f, &moved, seed).unwrap().0.item().unwrap()
            };
            let numeric = (eval(EPS) - eval(-EPS)) / (2.0 * EPS as f64);
            let a = analytic[j] as f64;
            assert!(
                (a - numeric).abs() <= TOL * (1.0 + numeric.abs()),
                "{name} on {}: input {i} element {j}: analytic {a} vs numeric {numeric}",
                dev()
            );
        }
    }
}

fn check(name: &str, inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    check_seeded(name, inputs, None, f)
}

fn a23() -> Tensor {
    spread(&[2, 3], -1.0, 1.0, 1)
}
fn b23() -> Tensor {
    spread(&[2, 3], -1.0, 1.0, 2)
}
fn pos23() -> Tensor {
    spread(&[2, 3], 0.5, 2.0, 3)
}

#[test]
fn arithmetic_with_broadcasting() {
    on_each_device("arithmetic_with_broadcasting", || {
        let row = spread(&[3], -1.0, 1.0, 4);
        let col = spread(&[2, 1], 0.5, 1.5, 5);
        check("add", &[a23(), row.clone()], |x| x[0].add(&x[1]));
        check("sub", &[col.clone(), a23()], |x| x[0].sub(&x[1]));
        check("mul", &[a23(), col.clone()], |x| x[0].mul(&x[1]));
        check("div", &[a23(), pos23()], |x| x[0].div(&x[1]));
        check("div broadcast", &[row.clone(), col.clone()], |x| {
            x[0].div(&x[1])
        });
        check("pow tensor", &[pos23(), a23()], |x| x[0].pow(&x[1]));
        check("maximum", &[a23(), b23()], |x| x[0].maximum(&x[1]));
        check("minimum", &[a23(), b23()], |x| x[0].minimum(&x[1]));
        check("squared_difference", &[a23(), row], |x| {
            x[0].squared_difference(&x[1])
        });
        check("scalar ops", &[a23()], |x| {
            x[0].mul_scalar(3.0)?
                .add_scalar(1.0)?
                .rsub_scalar(2.0)?
                .div_scalar(4.0)
        });
        check("rdiv", &[pos23()], |x| x[0].rdiv_scalar(2.0));
        check("rpow", &[a23()], |x| x[0].rpow_scalar(2.0));
        check("where", &[a23(), b23()], |x| {
            let c = tb(&[true, false, true, false, false, true], &[2, 3]);
            Tensor::where_(&c, &x[0], &x[1])
        });
    });
}

#[test]
fn unary_functions() {
    on_each_device("unary_functions", || {
        let away = spread(&[2, 3], 0.2, 1.0, 6)
            .mul(&common::t(&[1., -1., 1., -1., 1., -1.], &[2, 3]))
            .unwrap();
        check("neg", &[a23()], |x| x[0].neg());
        check("exp", &[a23()], |x| x[0].exp());
        check("log", &[pos23()], |x| x[0].log());
        check("sqrt", &[pos23()], |x| x[0].sqrt());
        check("abs", &[away.clone()], |x| x[0].abs());
        check("sin", &[a23()], |x| x[0].sin());
        check("cos", &[a23()], |x| x[0].cos());
        check("tanh", &[a23()], |x| x[0].tanh());
        check("sigmoid", &[a23()], |x| x[0].sigmoid());
        check("relu", &[away.clone()], |x| x[0].relu());
        check("elu", &[away.clone()], |x| x[0].elu(1.5));
        check("leaky_relu", &[away.clone()], |x| x[0].leaky_relu(0.1));
        check("pow scalar", &[pos23()], |x| x[0].pow_scalar(2.5));
        check("pow 2", &[a23()], |x| x[0].pow_scalar(2.0));
        check("clamp", &[spread(&[2, 3], -2.0, 2.0, 7)], |x| {
            x[0].clamp(-0.5, 0.7)
        });
        check("reciprocal", &[pos23()], |x| x[0].reciprocal());
        check("affine", &[a23()], |x| x[0].affine(2.0, -1.0));
        check("clone", &[a23()], |x| {
            x[0].clone_tensor().unwrap().mul(&x[0])
        });
    });
}

#[test]
fn reductions() {
    on_each_device("reductions", || {
        let x = spread(&[2, 3, 4], -1.0, 1.0, 8);
        check("sum", &[x.clone()], |x| x[0].sum());
        check("sum dim", &[x.clone()], |x| x[0].sum_dim(1, false));
        check("sum dim keepdim", &[x.clone()], |x| x[0].sum_dim(-1, true));
        check("mean", &[x.clone()], |x| x[0].mean());
        check("mean dim", &[x.clone()], |x| x[0].mean_dim(0, true));
        check("max", &[x.clone()], |x| x[0].max());
        check("min", &[x.clone()], |x| x[0].min());
        check("max dim", &[x.clone()], |x| {
            Ok(x[0].max_dim(2, false)?.values)
        });
        check("min dim", &[x.clone()], |x| {
            Ok(x[0].min_dim(1, true)?.values)
        });
        // Inputs chosen without near-ties: at a tie the maximum has no derivative.
        check("amax", &[spread(&[2, 3, 4], -1.0, 1.0, 41)], |x| {
            x[0].amax(0, false)
        });
        check("var", &[x.clone()], |x| x[0].var(Some(1), true, false));
        check("var all", &[x.clone()], |x| x[0].var(None, false, false));
        check("std", &[x.clone()], |x| x[0].std(Some(2), true, true));
        check("logsumexp", &[x.clone()], |x| x[0].logsumexp(1, false));
        check("norm", &[x.clone()], |x| x[0].norm(2.0, None, false));
        check("norm p dim", &[spread(&[2, 3], 0.3, 1.0, 9)], |x| {
            x[0].norm(3.0, Some(1), false)
        });
        check("prod", &[spread(&[2, 3], 0.5, 1.5, 10)], |x| {
            x[0].prod(Some(1), false)
        });
        check("prod all", &[spread(&[2, 3], 0.5, 1.5, 11)], |x| {
            x[0].prod(None, false)
        });
        check("cumsum", &[x.clone()], |x| x[0].cumsum(1));
        check("median", &[spread(&[7], -1.0, 1.0, 12)], |x| x[0].median());
        check("sort", &[spread(&[2, 5], -1.0, 1.0, 13)], |x| {
            Ok(x[0].sort(1, true)?.values)
        });
    });
}

#[test]
fn linear_algebra() {
    on_each_device("linear_algebra", || {
        check(
            "matmul 2d",
            &[spread(&[2, 3], -1., 1., 14), spread(&[3, 4], -1., 1., 15)],
            |x| x[0].matmul(&x[1]),
        );
        check(
            "matmul 1d·1d",
            &[spread(&[3], -1., 1., 16), spread(&[3], -1., 1., 17)],
            |x| x[0].matmul(&x[1]),
        );
        check(
            "matmul 1d·2d",
            &[spread(&[3], -1., 1., 18), spread(&[3, 2], -1., 1., 19)],
            |x| x[0].matmul(&x[1]),
        );
        check(
            "matmul 2d·1d",
            &[spread(&[2, 3], -1., 1., 20), spread(&[3], -1., 1., 21)],
            |x| x[0].matmul(&x[1]),
        );
        check(
            "matmul batched broadcast",
            &[
                spread(&[2, 2, 3], -1., 1., 22),
                spread(&[3, 2], -1., 1., 23),
            ],
            |x| x[0].matmul(&x[1]),
        );
        check(
            "matmul batch broadcast both",
            &[
                spread(&[2, 1, 2, 3], -1., 1., 24),
                spread(&[3, 3, 2], -1., 1., 25),
            ],
            |x| x[0].matmul(&x[1]),
        );
        check(
            "outer",
            &[spread(&[3], -1., 1., 26), spread(&[2], -1., 1., 27)],
            |x| x[0].outer(&x[1]),
        );
        check("t", &[a23()], |x| x[0].t());
    });
}

#[test]
fn shape_ops() {
    on_each_device("shape_ops", || {
        let x = spread(&[2, 3, 4], -1.0, 1.0, 28);
        check("reshape", &[x.clone()], |x| {
            x[0].reshape(&[4, -1])?.mul(&x[0].reshape(&[4, 6])?)
        });
        check("flatten", &[x.clone()], |x| x[0].flatten(1, 2));
        check("squeeze/unsqueeze", &[x.clone()], |x| {
            x[0].unsqueeze(1)?.squeeze_dim(1)?.unsqueeze(-1)
        });
        check("permute", &[x.clone()], |x| x[0].permute(&[2, 0, 1]));
        check("transpose", &[x.clone()], |x| x[0].transpose(0, 2));
        check("expand", &[spread(&[3, 1], -1., 1., 29)], |x| {
            x[0].expand(&[2, 3, 4])
        });
        check("cat", &[a23(), spread(&[2, 2], -1., 1., 30)], |x| {
            Tensor::cat(&[x[0].clone(), x[1].clone()], 1)
        });
        check("stack", &[a23(), b23()], |x| {
            Tensor::stack(&[x[0].clone(), x[1].clone()], 1)
        });
        check("split", &[x.clone()], |x| {
            let parts = x[0].split(2, 2)?;
            parts[0].mul(&parts[1])
        });
        check("chunk", &[x.clone()], |x| {
            let parts = x[0].chunk(2, 1)?;
            parts[1].sum_dim(1, true)?.add(&parts[0])
        });
        check("flip", &[x.clone()], |x| x[0].flip(&[0, 2]));
        check("repeat", &[a23()], |x| x[0].repeat(&[2, 1, 2]));
        check("narrow", &[x.clone()], |x| x[0].narrow(1, 1, 2));
        check("slice step", &[x.clone()], |x| x[0].slice(2, 0, 4, 2));
        check("slice negative", &[x.clone()], |x| x[0].slice(1, -2, 3, 1));
    });
}

#[test]
fn indexing_ops() {
    on_each_device("indexing_ops", || {
        use ember::IndexArg;
        let x = spread(&[4, 3], -1.0, 1.0, 31);
        check("index int", &[x.clone()], |x| {
            x[0].index(&IndexArg::Int(-2))
        });
        check("index range", &[x.clone()], |x| {
            x[0].index(&IndexArg::Range {
                start: 1,
                end: 3,
                step: 1,
            })
        });
        check("index tensor", &[x.clone()], |x| {
            x[0].index(&IndexArg::Tensor(ti(&[3, 0, 3], &[3])))
        });
        check("index mask", &[x.clone()], |x| {
            x[0].index(&IndexArg::Tensor(tb(&[true, false, false, true], &[4])))
        });
        check("masked_select elements", &[a23()], |x| {
            x[0].masked_select(&tb(&[true, false, true, true, false, false], &[2, 3]))
        });
        check("index_select", &[x.clone()], |x| {
            x[0].index_select(1, &ti(&[2, 2, 0], &[3]))
        });
        check("gather", &[x.clone()], |x| {
            x[0].gather(1, &ti(&[0, 2, 1, 1, 0, 0, 2, 2], &[4, 2]))
        });
        check(
            "scatter_add",
            &[x.clone(), spread(&[2, 3], -1., 1., 32)],
            |x| x[0].scatter_add(0, &ti(&[0, 3, 1, 0, 0, 2], &[2, 3]), &x[1]),
        );
        check(
            "index_add",
            &[x.clone(), spread(&[3, 3], -1., 1., 33)],
            |x| x[0].index_add(0, &ti(&[1, 1, 3], &[3]), &x[1]),
        );
        check("unsorted_segment_sum", &[x.clone()], |x| {
            Tensor::unsorted_segment_sum(&x[0], &ti(&[1, 0, 1, 2], &[4]), 3)
        });
        check("dynamic_partition", &[x.clone()], |x| {
            let parts = Tensor::dynamic_partition(&x[0], &ti(&[1, 0, 1, 1], &[4]), 2)?;
            Tensor::cat(&[parts[1].sum_dim(0, true)?, parts[0].mul_scalar(2.0)?], 0)
        });
        check("embedding", &[spread(&[5, 3], -1., 1., 34)], |x| {
            Tensor::embedding(&ti(&[4, 0, 4, 2, 1, 4], &[2, 3]), &x[0])
        });
    });
}

#[test]
fn neural_network_functions() {
    on_each_device("neural_network_functions", || {
        let logits = spread(&[4, 5], -2.0, 2.0, 35);
        let labels = ti(&[1, 0, 4, 2], &[4]);
        check("softmax", &[logits.clone()], |x| x[0].softmax(1));
        check("log_softmax", &[logits.clone()], |x| x[0].log_softmax(-1));
        check("cross_entropy labels", &[logits.clone()], |x| {
            Tensor::cross_entropy(&x[0], &labels)
        });
        check(
            "cross_entropy 3d",
            &[spread(&[2, 3, 4], -1., 1., 36)],
            |x| Tensor::cross_entropy(&x[0], &ti(&[0, 3, 1, 2, 2, 0], &[2, 3])),
        );
        let probs = spread(&[4, 5], 0.1, 1.0, 37);
        let probs = probs.div(&probs.sum_dim(1, true).unwrap()).unwrap();
        check("cross_entropy probs", &[logits.clone()], |x| {
            Tensor::cross_entropy(&x[0], &probs)
        });
        check("nll_loss", &[logits.clone()], |x| {
            Tensor::nll_loss(&x[0].log_softmax(1)?, &labels)
        });
        check("mse_loss", &[a23(), b23()], |x| {
            Tensor::mse_loss(&x[0], &x[1])
        });
        let targets = common::t(&[1., 0., 1., 0.5, 0., 1.], &[2, 3]);
        check(
            "binary_cross_entropy",
            &[spread(&[2, 3], 0.1, 0.9, 38)],
            |x| Tensor::binary_cross_entropy(&x[0], &targets),
        );
        check("bce_with_logits", &[a23()], |x| {
            Tensor::binary_cross_entropy_with_logits(&x[0], &targets)
        });
        check("l1_loss sum", &[a23(), b23()], |x| {
            Tensor::l1_loss(&x[0], &x[1], Reduction::Sum)
        });
        check("smooth_l1_loss", &[a23(), b23()], |x| {
            Tensor::smooth_l1_loss(&x[0], &x[1], 0.7, Reduction::None)
        });
        check("huber_loss", &[a23(), b23()], |x| {
            Tensor::huber_loss(&x[0], &x[1], 0.6, Reduction::Mean)
        });
        check("kl_div", &[logits.log_softmax(1).unwrap()], |x| {
            Tensor::kl_div(&x[0], &probs, Reduction::BatchMean, false)
        });
        check(
            "kl_div log_target",
            &[logits.log_softmax(1).unwrap(), probs.log().unwrap()],
            |x| Tensor::kl_div(&x[0], &x[1], Reduction::None, true),
        );
        check(
            "cosine_similarity",
            &[a23(), spread(&[1, 3], -1.0, 1.0, 40)],
            |x| Tensor::cosine_similarity(&x[0], &x[1], -1, 1e-8),
        );
        let weights = spread(&[2, 3], 0.5, 1.5, 41);
        check(
            "binary_cross_entropy weighted",
            &[spread(&[2, 3], 0.1, 0.9, 38)],
            |x| Tensor::binary_cross_entropy_with(&x[0], &targets, Some(&weights), Reduction::Sum),
        );
        let pos = spread(&[3], 0.5, 3.0, 42);
        check("bce_with_logits pos_weight", &[a23()], |x| {
            Tensor::bce_with_logits(&x[0], &targets, Some(&weights), Some(&pos), Reduction::None)
        });
        check_seeded("dropout", &[spread(&[4, 5], -1., 1., 39)], Some(5), |x| {
            x[0].dropout(0.4, true)
        });
    });
}

#[test]
fn class_losses_with_options() {
    on_each_device("class_losses_with_options", || {
        let logits = spread(&[6, 4], -2.0, 2.0, 43);
        let labels = ti(&[1, -100, 3, 2, 2, 0], &[6]);
        let weight = spread(&[4], 0.3, 2.0, 44);
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let o = ClassLossOptions {
                weight: Some(weight.clone()),
                ignore_index: 2,
                label_smoothing: 0.2,
                reduction,
            };
            let labels = ti(&[1, 0, 3, 2, 2, 0], &[6]);
            check(
                &format!("cross_entropy options {reduction:?}"),
                &[logits.clone()],
                |x| Tensor::cross_entropy_with(&x[0], &labels, &o),
            );
        }
        let o = ClassLossOptions {
            weight: Some(weight.clone()),
            ..Default::default()
        };
        check("nll_loss weighted, ignored", &[logits.clone()], |x| {
            Tensor::nll_loss_with(&x[0].log_softmax(1)?, &labels, &o)
        });
        // [N, C, d] with targets [N, d]: classes in dimension 1, as PyTorch
        let o = ClassLossOptions {
            label_smoothing: 0.1,
            ..Default::default()
        };
        check(
            "cross_entropy k-dim",
            &[spread(&[2, 4, 3], -1.0, 1.0, 45)],
            |x| Tensor::cross_entropy_with(&x[0], &ti(&[0, 3, 1, 2, 2, 0], &[2, 3]), &o),
        );
        let probs = spread(&[6, 4], 0.1, 1.0, 46);
        let probs = probs.div(&probs.sum_dim(1, true).unwrap()).unwrap();
        let o = ClassLossOptions {
            weight: Some(weight),
            label_smoothing: 0.3,
            ..Default::default()
        };
        check("cross_entropy probabilities weighted", &[logits], |x| {
            Tensor::cross_entropy_with(&x[0], &probs, &o)
        });
    });
}

#[test]
fn gradients_accumulate_and_reach_shared_inputs() {
    on_each_device("gradients_accumulate_and_reach_shared_inputs", || {
        let x = common::t(&[1.0, 2.0, 3.0], &[3])
            .requires_grad_(true)
            .unwrap();
        let y = x.mul(&x).unwrap().sum().unwrap(); // dy/dx = 2x
        y.backward().unwrap();
        let y2 = x.mul_scalar(3.0).unwrap().sum().unwrap(); // + 3
        y2.backward().unwrap();
        common::assert_close(
            &x.grad().unwrap().to_f32_vec().unwrap(),
            &[5.0, 7.0, 9.0],
            1e-6,
        );
        x.zero_grad();
        assert!(x.grad().is_none());
        // Non-scalar backward takes an explicit gradient.
        let z = x.mul_scalar(2.0).unwrap();
        z.backward_with(&common::t(&[1.0, 0.0, -1.0], &[3]))
            .unwrap();
        common::assert_close(
            &x.grad().unwrap().to_f32_vec().unwrap(),
            &[2.0, 0.0, -2.0],
            1e-6,
        );
        assert!(
            z.backward().is_err(),
            "backward on a non-scalar without a gradient is an error"
        );
    });
}

#[test]
fn no_grad_and_detach_stop_recording() {
    on_each_device("no_grad_and_detach_stop_recording", || {
        let x = common::t(&[1.0, 2.0], &[2]).requires_grad_(true).unwrap();
        {
            let _g = ember::tensor::no_grad();
            let y = x.mul_scalar(2.0).unwrap();
            assert!(!y.requires_grad());
        }
        assert!(x.mul_scalar(2.0).unwrap().requires_grad());
        assert!(!x.detach().requires_grad());
        let y = x.detach().mul(&x).unwrap().sum().unwrap();
        y.backward().unwrap();
        common::assert_close(&x.grad().unwrap().to_f32_vec().unwrap(), &[1.0, 2.0], 1e-6);
    });
}

#[test]
fn convolution_and_pooling() {
    use ember::ops::Padding;
    let x = spread(&[2, 2, 5, 5], -1.0, 1.0, 50);
    let w = spread(&[3, 2, 3, 3], -1.0, 1.0, 51);
    let b = spread(&[3], -1.0, 1.0, 52);
    check("conv2d", &[x.clone(), w.clone(), b.clone()], |v| {
        v[0].conv2d(&v[1], Some(&v[2]), (1, 1), Padding::Explicit(0, 0), (1, 1))
    });
    check("conv2d stride 2 pad 1", &[x.clone(), w.clone()], |v| {
        v[0].conv2d(&v[1], None, (2, 2), Padding::Explicit(1, 1), (1, 1))
    });
    check("conv2d dilation 2", &[x.clone(), w.clone()], |v| {
        v[0].conv2d(&v[1], None, (1, 1), Padding::Explicit(1, 1), (2, 2))
    });
    check(
        "conv2d same",
        &[x.clone(), spread(&[3, 2, 2, 2], -1., 1., 53)],
        |v| v[0].conv2d(&v[1], None, (1, 1), Padding::Same, (1, 1)),
    );
    let x1 = spread(&[2, 3, 7], -1.0, 1.0, 54);
    check(
        "conv1d",
        &[
            x1.clone(),
            spread(&[4, 3, 3], -1., 1., 55),
            spread(&[4], -1., 1., 56),
        ],
        |v| v[0].conv1d(&v[1], Some(&v[2]), 2, Padding::Explicit(0, 1), 1),
    );
    // Distinct values (no ties inside a window) for max pooling.
    let distinct = Tensor::from_f32(
        (0..100)
            .map(|i| ((i * 37) % 100) as f32 / 50.0 - 1.0)
            .collect(),
        &[2, 2, 5, 5],
        Device::Cpu,
    )
    .unwrap();
    check("max_pool2d", std::slice::from_ref(&distinct), |v| {
        v[0].max_pool2d((2, 2), (2, 2), (0, 0))
    });
    check(
        "max_pool2d overlapping padded",
        std::slice::from_ref(&distinct),
        |v| v[0].max_pool2d((3, 3), (2, 2), (1, 1)),
    );
    check("avg_pool2d", &[x.clone()], |v| {
        v[0].avg_pool2d((2, 2), (1, 1), (0, 0))
    });
    let distinct1 = Tensor::from_f32(
        (0..42)
            .map(|i| ((i * 17) % 42) as f32 / 21.0 - 1.0)
            .collect(),
        &[2, 3, 7],
        Device::Cpu,
    )
    .unwrap();
    check("max_pool1d", &[distinct1], |v| v[0].max_pool1d(2, 2, 0));
    check("global_avg_pool", &[x], |v| v[0].global_avg_pool());
}

#[test]
fn normalisation_and_embedding_layers() {
    use ember::nn::Module;
    use ember::nn::init::Init;
    use ember::nn::layers::{BatchNorm, Embedding, LayerNorm, Linear};
    // Batch norm in training mode (batch statistics), 1-D and 2-D, through the input.
    let bn1 = Module::new(BatchNorm::new(1, 3, Some(0.1), 1e-5, true, true, Device::Cpu).unwrap());
    bn1.set_tensor("weight", spread(&[3], 0.5, 1.5, 60))
        .unwrap();
    bn1.set_tensor("bias", spread(&[3], -0.5, 0.5, 61)).unwrap();
    check("batch_norm1d", &[spread(&[5, 3], -1., 1., 62)], |v| {
        bn1.forward(&v[0])
    });
    let bn2 = Module::new(BatchNorm::new(2, 2, Some(0.1), 1e-5, true, true, Device::Cpu).unwrap());
    check("batch_norm2d", &[spread(&[3, 2, 2, 2], -1., 1., 63)], |v| {
        bn2.forward(&v[0])
    });
    let ln = Module::new(LayerNorm::new(vec![4], 1e-5, true, Device::Cpu).unwrap());
    ln.set_tensor("weight", spread(&[4], 0.5, 1.5, 64)).unwrap();
    check("layer_norm", &[spread(&[3, 4], -1., 1., 65)], |v| {
        ln.forward(&v[0])
    });
    // Layer parameters get their gradients: compare with the functional form.
    let lin = Module::new(Linear::new(3, 2, true, &Init::Default, Device::Cpu).unwrap());
    let x = spread(&[4, 3], -1., 1., 66);
    let w = lin.get_tensor("weight").unwrap();
    check("linear weight", &[w.clone()], |v| x.matmul(&v[0].t()?));
    lin.forward(&x).unwrap().sum().unwrap().backward().unwrap();
    let expected = Tensor::ones(&[4, 2], ember::DType::F32, Device::Cpu)
        .unwrap()
        .t()
        .unwrap()
        .matmul(&x)
        .unwrap();
    common::assert_close(
        &w.grad().unwrap().to_f32_vec().unwrap(),
        &expected.to_f32_vec().unwrap(),
        1e-5,
    );
    // Embedding with a padding row: no gradient reaches it, the others scatter-add.
    let emb = Module::new(Embedding::new(4, 2, Some(0), &Init::Default, Device::Cpu).unwrap());
    let ids = ti(&[1, 0, 3, 1], &[2, 2]);
    emb.forward(&ids)
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    let g = emb
        .get_tensor("weight")
        .unwrap()
        .grad()
        .unwrap()
        .to_f32_vec()
        .unwrap();
    assert_eq!(g, vec![0., 0., 2., 2., 0., 0., 1., 1.]);
}

#[test]
fn fused_batch_norm_all_inputs() {
    let x = spread(&[4, 3, 2, 2], -1.0, 1.0, 70);
    let w = spread(&[3], 0.5, 1.5, 71);
    let b = spread(&[3], -0.5, 0.5, 72);
    check(
        "batch_norm_train x, weight, bias",
        &[x.clone(), w.clone(), b.clone()],
        |v| Ok(v[0].batch_norm_train(Some(&v[1]), Some(&v[2]), 1e-5)?.0),
    );
    check(
        "batch_norm_train 2-D, no affine",
        &[spread(&[6, 4], -1.0, 1.0, 73)],
        |v| Ok(v[0].batch_norm_train(None, None, 1e-5)?.0),
    );
    let (m, var) = (spread(&[3], -0.2, 0.2, 74), spread(&[3], 0.5, 1.5, 75));
    check("batch_norm_eval", &[x, w, b], |v| {
        v[0].batch_norm_eval(&m, &var, Some(&v[1]), Some(&v[2]), 1e-5)
    });
}

#[test]
fn functional_forms_with_pytorch_options() {
    use ember::ops::{
        BatchNormOptions, ConvOptions, ConvTransposeOptions, InterpMode, InterpolateOptions,
        PadMode, Padding, PoolOptions,
    };
    let x = spread(&[2, 4, 5, 5], -1.0, 1.0, 70);
    let wg = spread(&[6, 2, 3, 3], -1.0, 1.0, 71);
    let b6 = spread(&[6], -1.0, 1.0, 72);
    let grouped = ConvOptions {
        stride: (2, 1),
        padding: Padding::Explicit(1, 2),
        dilation: (1, 2),
        groups: 2,
    };
    check("conv2d groups", &[x.clone(), wg, b6.clone()], |v| {
        v[0].conv2d_with(&v[1], Some(&v[2]), &grouped)
    });
    let same = ConvOptions {
        padding: Padding::Same,
        dilation: (2, 1),
        groups: 4,
        ..Default::default()
    };
    check(
        "conv2d depthwise same",
        &[x.clone(), spread(&[4, 1, 2, 3], -1.0, 1.0, 73)],
        |v| v[0].conv2d_with(&v[1], None, &same),
    );
    let x1 = spread(&[2, 4, 6], -1.0, 1.0, 74);
    let o1 = ConvOptions {
        stride: (1, 2),
        padding: Padding::Explicit(0, 1),
        groups: 2,
        ..Default::default()
    };
    check(
        "conv1d groups",
        &[x1.clone(), spread(&[2, 2, 3], -1.0, 1.0, 75)],
        |v| v[0].conv1d_with(&v[1], None, &o1),
    );
    let t = ConvTransposeOptions {
        stride: (2, 2),
        padding: (1, 0),
        output_padding: (1, 1),
        dilation: (1, 2),
        groups: 2,
    };
    let xt = spread(&[1, 4, 3, 3], -1.0, 1.0, 76);
    check(
        "conv_transpose2d",
        &[xt.clone(), spread(&[4, 3, 2, 3], -1.0, 1.0, 77), b6],
        |v| v[0].conv_transpose2d_with(&v[1], Some(&v[2]), &t),
    );
    let t1 = ConvTransposeOptions {
        stride: (1, 3),
        output_padding: (0, 2),
        ..Default::default()
    };
    check(
        "conv_transpose1d",
        &[x1.clone(), spread(&[4, 2, 2], -1.0, 1.0, 78)],
        |v| v[0].conv_transpose1d_with(&v[1], None, &t1),
    );
    // distinct values for max pooling (no ties within a window)
    let distinct = Tensor::from_f32(
        (0..2 * 2 * 7 * 6)
            .map(|i| ((i * 37) % 168) as f32 / 84.0 - 1.0)
            .collect(),
        &[2, 2, 7, 6],
        Device::Cpu,
    )
    .unwrap();
    let ceil = PoolOptions {
        stride: (2, 2),
        padding: (1, 1),
        dilation: (1, 2),
        ceil_mode: true,
        ..PoolOptions::new((3, 2))
    };
    check(
        "max_pool2d ceil dilation",
        std::slice::from_ref(&distinct),
        |v| v[0].max_pool2d_with(&ceil),
    );
    let avg = PoolOptions {
        stride: (2, 2),
        padding: (1, 1),
        ceil_mode: true,
        count_include_pad: false,
        ..PoolOptions::new((3, 3))
    };
    check("avg_pool2d ceil exclude padding", &[x.clone()], |v| {
        v[0].avg_pool2d_with(&avg)
    });
    let avg1 = PoolOptions {
        stride: (1, 2),
        padding: (0, 1),
        divisor_override: Some(3),
        ..PoolOptions::new((1, 3))
    };
    check("avg_pool1d divisor", &[x1.clone()], |v| {
        v[0].avg_pool1d_with(&avg1)
    });
    check("adaptive_avg_pool2d", &[x.clone()], |v| {
        v[0].adaptive_avg_pool2d((Some(3), Some(2)))
    });
    check("adaptive_avg_pool1d", &[x1.clone()], |v| {
        v[0].adaptive_avg_pool1d(4)
    });
    for mode in [
        PadMode::Constant,
        PadMode::Reflect,
        PadMode::Replicate,
        PadMode::Circular,
    ] {
        check(&format!("pad {mode:?}"), &[x.clone()], move |v| {
            v[0].pad(&[2, 1, 0, 3], mode, 0.5)
        });
    }
    check("pad crop", &[x.clone()], |v| {
        v[0].pad(&[-1, 2], PadMode::Constant, 0.0)
    });
    for (mode, align) in [
        (InterpMode::Bilinear, Some(false)),
        (InterpMode::Bilinear, Some(true)),
        (InterpMode::Nearest, None),
        (InterpMode::NearestExact, None),
        (InterpMode::Area, None),
    ] {
        let o = InterpolateOptions {
            size: Some(vec![7, 3]),
            mode,
            align_corners: align,
            ..Default::default()
        };
        check(
            &format!("interpolate {mode:?} {align:?}"),
            &[x.clone()],
            move |v| v[0].interpolate(&o),
        );
    }
    let lin = InterpolateOptions {
        scale_factor: Some(vec![1.5]),
        mode: InterpMode::Linear,
        ..Default::default()
    };
    check("interpolate linear", &[x1.clone()], move |v| {
        v[0].interpolate(&lin)
    });
    let bn = BatchNormOptions {
        training: true,
        ..Default::default()
    };
    check(
        "batch_norm functional",
        &[
            x.clone(),
            spread(&[4], 0.5, 1.5, 79),
            spread(&[4], -0.5, 0.5, 80),
        ],
        |v| v[0].batch_norm(None, None, Some(&v[1]), Some(&v[2]), &bn),
    );
    check(
        "layer_norm functional",
        &[
            x.clone(),
            spread(&[5, 5], 0.5, 1.5, 81),
            spread(&[5, 5], -0.5, 0.5, 82),
        ],
        |v| v[0].layer_norm(&[5, 5], Some(&v[1]), Some(&v[2]), 1e-5),
    );
    check(
        "linear",
        &[
            x1,
            spread(&[3, 6], -1.0, 1.0, 83),
            spread(&[3], -1.0, 1.0, 84),
        ],
        |v| v[0].linear(&v[1], Some(&v[2])),
    );
    // embedding with padding_idx withholds the padding row's gradient on purpose (it is not
    // the derivative), so its check is against PyTorch in tests/pytorch_golden.rs
}
