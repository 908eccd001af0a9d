//! Layers, optimisers, schedules, summaries and save/load, against hand-computed values.

mod common;

use common::{assert_close, t, ti};
use ember::nn::Module;
use ember::nn::init::Init;
use ember::nn::layers::{BatchNorm, Linear};
use ember::ops::Padding;
use ember::optim::{Optimizer, Rule, Schedule, clip_grad_norm};
use ember::{DType, Device, Tensor};

#[test]
fn conv_and_pool_values() {
    // torch.conv2d(arange(1,10).view(1,1,3,3), ones(1,1,2,2)) = [[12, 16], [24, 28]]
    let x = t(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], &[1, 1, 3, 3]);
    let w = Tensor::ones(&[1, 1, 2, 2], DType::F32, Device::Cpu).unwrap();
    let y = x
        .conv2d(&w, None, (1, 1), Padding::Explicit(0, 0), (1, 1))
        .unwrap();
    assert_eq!(y.shape(), &[1, 1, 2, 2]);
    assert_eq!(y.to_f32_vec().unwrap(), vec![12., 16., 24., 28.]);
    // padding 1, stride 2: corners of the zero-padded sums
    let y = x
        .conv2d(
            &w,
            Some(&t(&[1.], &[1])),
            (2, 2),
            Padding::Explicit(1, 1),
            (1, 1),
        )
        .unwrap();
    assert_eq!(y.to_f32_vec().unwrap(), vec![2., 6., 12., 29.]);
    // "same" keeps the size, with an even kernel too
    assert_eq!(
        x.conv2d(&w, None, (1, 1), Padding::Same, (1, 1))
            .unwrap()
            .shape(),
        &[1, 1, 3, 3]
    );
    assert_eq!(
        x.max_pool2d((2, 2), (1, 1), (0, 0))
            .unwrap()
            .to_f32_vec()
            .unwrap(),
        vec![5., 6., 8., 9.]
    );
    assert_eq!(
        x.avg_pool2d((2, 2), (1, 1), (0, 0))
            .unwrap()
            .to_f32_vec()
            .unwrap(),
        vec![3., 4., 6., 7.]
    );
    assert_eq!(x.global_avg_pool().unwrap().to_f32_vec().unwrap(), vec![5.]);
    let s = t(&[1., 3., 2., 5., 4., 0.], &[1, 1, 6]);
    assert_eq!(
        s.max_pool1d(2, 2, 0).unwrap().to_f32_vec().unwrap(),
        vec![3., 5., 4.]
    );
    let k = t(&[1., -1.], &[1, 1, 2]);
    assert_eq!(
        s.conv1d(&k, None, 1, Padding::Explicit(0, 0), 2)
            .unwrap()
            .to_f32_vec()
            .unwrap(),
        vec![-1., -2., -2., 5.]
    );
    assert!(
        x.conv2d(
            &Tensor::ones(&[1, 2, 2, 2], DType::F32, Device::Cpu).unwrap(),
            None,
            (1, 1),
            Padding::Explicit(0, 0),
            (1, 1)
        )
        .is_err()
    );
    assert!(
        x.conv2d(
            &Tensor::ones(&[1, 1, 5, 5], DType::F32, Device::Cpu).unwrap(),
            None,
            (1, 1),
            Padding::Explicit(0, 0),
            (1, 1)
        )
        .is_err()
    );
}

#[test]
fn batch_norm_running_statistics_and_modes() {
    let bn = Module::new(BatchNorm::new(1, 2, Some(0.1), 1e-5, true, true, Device::Cpu).unwrap());
    let x = t(&[1., 10., 3., 20.], &[2, 2]);
    let y = bn.forward(&x).unwrap();
    // Normalised with the batch's (biased) statistics: each column becomes [-1, 1].
    assert_close(&y.to_f32_vec().unwrap(), &[-1., -1., 1., 1.], 1e-4);
    // running = 0.9 * running + 0.1 * batch, with the unbiased variance.
    assert_close(
        &bn.get_tensor("running_mean").unwrap().to_f32_vec().unwrap(),
        &[0.2, 1.5],
        1e-6,
    );
    assert_close(
        &bn.get_tensor("running_var").unwrap().to_f32_vec().unwrap(),
        &[0.9 + 0.1 * 2.0, 0.9 + 0.1 * 50.0],
        1e-5,
    );
    bn.set_training(false);
    bn.set_tensor("running_mean", t(&[1., 2.], &[2])).unwrap();
    bn.set_tensor("running_var", t(&[4., 9.], &[2])).unwrap();
    let y = bn.forward(&t(&[3., 8.], &[1, 2])).unwrap();
    assert_close(&y.to_f32_vec().unwrap(), &[1.0, 2.0], 1e-4);
    assert!(
        bn.set_tensor("running_mean", t(&[1.], &[1])).is_err(),
        "shape is checked"
    );
}

#[test]
fn layers_are_shared_between_models() {
    let lin = Module::new(Linear::new(2, 2, false, &Init::Identity, Device::Cpu).unwrap());
    let a = Module::new(ember::nn::layers::Sequential {
        layers: vec![lin.clone(), lin.clone()],
    });
    assert_eq!(
        a.parameters().len(),
        1,
        "a layer used twice has one set of weights"
    );
    let x = t(&[1., 2.], &[1, 2]);
    a.forward(&x).unwrap().sum().unwrap().backward().unwrap();
    // Both uses contribute to the one gradient: d/dW of sum(W W x) at W = I is 2 x 1^T-ish.
    let g = lin
        .get_tensor("weight")
        .unwrap()
        .grad()
        .unwrap()
        .to_f32_vec()
        .unwrap();
    assert_close(&g, &[2., 4., 2., 4.], 1e-6);
}

fn one_param(rule: Rule, lr: f64, wd: f64, steps: usize) -> Vec<f32> {
    let p = t(&[1.0], &[1]).requires_grad_(true).unwrap();
    let opt = Optimizer::new(vec![p.clone()], rule, lr, wd).unwrap();
    let mut seen = Vec::new();
    for _ in 0..steps {
        opt.zero_grad();
        p.mul_scalar(0.5)
            .unwrap()
            .sum()
            .unwrap()
            .backward()
            .unwrap(); // gradient 0.5
        opt.step().unwrap();
        seen.push(p.to_f32_vec().unwrap()[0]);
    }
    seen
}

#[test]
fn optimizers_follow_the_reference_equations() {
    let sgd = |m: f64, n: bool| Rule::Sgd {
        momentum: m,
        dampening: 0.0,
        nesterov: n,
    };
    assert_close(
        &one_param(sgd(0.0, false), 0.1, 0.0, 2),
        &[0.95, 0.90],
        1e-6,
    );
    // momentum 0.9: buf 0.5 then 0.95
    assert_close(
        &one_param(sgd(0.9, false), 0.1, 0.0, 2),
        &[0.95, 0.855],
        1e-6,
    );
    // Nesterov: step g + 0.9 buf = 0.95, then 0.5 + 0.9 * 0.95 = 1.355
    assert_close(
        &one_param(sgd(0.9, true), 0.1, 0.0, 2),
        &[0.905, 0.7695],
        1e-6,
    );
    // weight decay: g' = 0.5 + 0.1 * 1
    assert_close(&one_param(sgd(0.0, false), 0.1, 0.1, 1), &[0.94], 1e-6);
    let adam = Rule::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        amsgrad: false,
    };
    assert_close(
        &one_param(adam.clone(), 0.1, 0.0, 3),
        &[0.9, 0.8, 0.7],
        1e-5,
    );
    // AdamW: p *= 1 - lr * wd first
    let adamw = Rule::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        amsgrad: false,
    };
    assert_close(&one_param(adamw, 0.1, 0.1, 1), &[0.89], 1e-5);
    // Adam with L2 weight decay: g' = 0.6, m̂/sqrt(v̂) = 1
    assert_close(&one_param(adam, 0.1, 0.1, 1), &[0.9], 1e-5);
    let rms = Rule::RmsProp {
        alpha: 0.99,
        eps: 1e-8,
        momentum: 0.0,
        centered: false,
    };
    // sq = 0.01 * 0.25; step = 0.5 / 0.05 = 10
    assert_close(&one_param(rms, 0.01, 0.0, 1), &[0.9], 1e-5);
    let ada = Rule::Adagrad {
        eps: 1e-10,
        lr_decay: 0.0,
        initial_accumulator_value: 0.0,
    };
    assert_close(
        &one_param(ada, 0.1, 0.0, 2),
        &[0.9, 0.9 - 0.1 * 0.5 / 0.5f32.sqrt()],
        1e-5,
    );
    assert!(
        Optimizer::new(
            vec![],
            Rule::Sgd {
                momentum: 0.0,
                dampening: 0.0,
                nesterov: true
            },
            0.1,
            0.0
        )
        .is_err()
    );
    assert!(
        Optimizer::new(
            vec![],
            Rule::Adam {
                beta1: 1.5,
                beta2: 0.9,
                eps: 1e-8,
                amsgrad: false,
            },
            0.1,
            0.0
        )
        .is_err()
    );
}

#[test]
fn schedules_and_clipping() {
    let step = Schedule::Step {
        step_size: 2,
        gamma: 0.5,
    };
    assert_eq!(
        (0..5).map(|t| step.lr_at(1.0, t)).collect::<Vec<_>>(),
        vec![1., 1., 0.5, 0.5, 0.25]
    );
    assert!((Schedule::Exponential { gamma: 0.9 }.lr_at(1.0, 2) - 0.81).abs() < 1e-12);
    let cos = Schedule::Cosine {
        t_max: 4,
        eta_min: 0.0,
    };
    assert!((cos.lr_at(1.0, 2) - 0.5).abs() < 1e-12 && cos.lr_at(1.0, 4).abs() < 1e-12);
    let cyc = Schedule::Cyclic {
        base_lr: 0.1,
        max_lr: 1.0,
        step_size: 2,
    };
    let lrs: Vec<f64> = (0..5).map(|t| cyc.lr_at(0.0, t)).collect();
    assert_close(
        &lrs.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        &[0.1, 0.55, 1.0, 0.55, 0.1],
        1e-6,
    );
    let one = Schedule::OneCycle {
        max_lr: 1.0,
        total_steps: 100,
        pct_start: 0.3,
        div: 25.0,
        final_div: 1e4,
    };
    assert!(
        (one.lr_at(0.0, 0) - 0.04).abs() < 1e-9
            && (one.lr_at(0.0, 30) - 1.0).abs() < 1e-9
            && one.lr_at(0.0, 100) < 1e-5
    );
    // A scheduler drives the optimiser's rate.
    let p = t(&[1.0], &[1]).requires_grad_(true).unwrap();
    let opt = Optimizer::new(
        vec![p.clone()],
        Rule::Sgd {
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
        },
        1.0,
        0.0,
    )
    .unwrap();
    let s = ember::optim::Scheduler::new(opt.clone(), step).unwrap();
    s.step().unwrap();
    s.step().unwrap();
    assert_eq!(opt.lr(), 0.5);
    // Clipping by norm: gradient [3, 4] (norm 5) scaled to norm 1.
    let q = t(&[0.0, 0.0], &[2]).requires_grad_(true).unwrap();
    q.mul(&t(&[3., 4.], &[2]))
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    let norm = clip_grad_norm(std::slice::from_ref(&q), 1.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-6);
    assert_close(&q.grad().unwrap().to_f32_vec().unwrap(), &[0.6, 0.8], 1e-5);
}

#[test]
fn summary_counts_parameters() {
    let mut rt = common::builder_with_files().seed(0).build().unwrap();
    let text = rt
        .eval("let m = nn::sequential([nn::embedding(5000, 32), nn::flatten(), nn::linear(16000, 100), nn::linear(100, 1)]); m.summary(zeros([1, 500], #{dtype: \"i64\"}))")
        .unwrap()
        .into_string()
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(name))
            .copied()
            .unwrap_or_else(|| panic!("no row {name} in\n{text}"))
    };
    assert!(
        row("Embedding(5000, 32)").ends_with("160,000")
            && row("Embedding(5000, 32)").contains("[1, 500, 32]"),
        "{text}"
    );
    assert!(
        row("Linear(16000 -> 100)").ends_with("1,600,100")
            && row("Linear(16000 -> 100)").contains("[1, 100]"),
        "{text}"
    );
    assert!(text.contains("Total params: 1,760,201"), "{text}");
    // Frozen layers count as non-trainable.
    let text = rt
        .eval("m.layers()[0].freeze(); m.summary()")
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        text.contains("Trainable params: 1,600,201")
            && text.contains("Non-trainable params: 160,000"),
        "{text}"
    );
}

#[test]
fn saved_models_load_with_identical_predictions_and_mismatches_are_listed() {
    let dir = std::env::temp_dir().join(format!("ember-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let mut rt = common::builder_with_files().seed(3).build().unwrap();
    let _ = rt.eval("fn make() { nn::sequential([nn::conv2d(1, 2, 3), nn::batch_norm2d(2), nn::relu(), nn::flatten(), nn::linear(8, 3)]) }").unwrap();
    let _ = rt.eval(&format!(
        "let a = make(); a.forward(randn([4, 1, 4, 4])); a.train(false); let x = randn([2, 1, 4, 4]); let ya = a.forward(x); nn::save(a, {:?});",
        path.display().to_string()
    ))
    .unwrap();
    let _ = rt
        .eval(&format!(
            "let b = make(); b.load({:?}); b.train(false); let yb = b.forward(x);",
            path.display().to_string()
        ))
        .unwrap();
    let (ya, yb) = (rt.get_tensor("ya").unwrap(), rt.get_tensor("yb").unwrap());
    assert_eq!(
        ya.to_f32_vec().unwrap(),
        yb.to_f32_vec().unwrap(),
        "identical predictions after loading"
    );
    // The file holds parameters and running statistics under dotted names, readable back.
    let names: Vec<String> = ember::nn::serialize::load_tensors(&path)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.contains(&"1.running_var".to_string()) && names.contains(&"4.weight".to_string()),
        "{names:?}"
    );
    let e = rt
        .eval(&format!(
            "let c = nn::sequential([nn::conv2d(1, 3, 3)]); c.load({:?});",
            path.display().to_string()
        ))
        .unwrap_err();
    assert!(
        e.message
            .contains("0.weight: the file has shape [2, 1, 3, 3], the model [3, 1, 3, 3]")
            && e.message.contains("unexpected 4.weight"),
        "{e}"
    );
    let e = rt
        .eval("let d = make(); d.load(\"/no/such/file.safetensors\");")
        .unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
    std::fs::write(dir.join("junk.safetensors"), b"not a safetensors file").unwrap();
    let e = rt
        .eval(&format!(
            "make().load({:?})",
            dir.join("junk.safetensors").display().to_string()
        ))
        .unwrap_err();
    assert!(e.message.contains("not a valid safetensors"), "{e}");
    assert!(!dir.join("model.tmp").exists());
}

#[test]
fn script_defined_modules_train_with_the_same_optimizers() {
    let mut rt = common::builder_with_files().seed(1).build().unwrap();
    let loss = rt
        .eval(
            r#"
            import "train" as train;
            // A module written in Rhai: parameters plus a forward closure.
            let w = randn([2, 1]) * 0.1; w.requires_grad = true;
            let b = zeros([1]); b.requires_grad = true;
            let model = #{ w: w, b: b };
            model.forward = |x| x @ this.w + this.b;
            model.parameters = || [this.w, this.b];
            let x = randn([128, 2]);
            let y = x @ tensor([[1.5], [-2.0]]) + 0.5;
            let opt = optim::sgd(model.parameters(), #{lr: 0.1, momentum: 0.9});
            train::fit(model, opt, |o, t| mse_loss(o, t), [x, y], #{epochs: 30, batch_size: 32, verbose: false});
            train::evaluate(model, |o, t| mse_loss(o, t), [x, y]).loss
            "#,
        )
        .unwrap()
        .as_float()
        .unwrap();
    assert!(loss < 1e-4, "loss {loss}");
    // L2 on a layer adds its penalty; the learning rate can be read and changed mid-training.
    let v = rt.eval("let l = nn::linear(2, 2, #{l2: 0.5, bias: false, init: \"ones\"}); l.regularization().item()").unwrap();
    assert_eq!(v.as_float().unwrap(), 2.0);
    let v = rt
        .eval("let o = optim::adam(l.parameters()); o.lr = 0.5; o.lr")
        .unwrap();
    assert_eq!(v.as_float().unwrap(), 0.5);
    assert!(rt.eval("optim::adam(l.parameters(), #{lrr: 1})").is_err());
    assert!(
        rt.eval("nn::conv2d(1, 2, 3, #{padding: \"full\"})")
            .is_err()
    );
}

#[test]
fn initialisers() {
    use ember::nn::init::make;
    ember::tensor::random::manual_seed(0);
    let w = make(&Init::GlorotUniform, &[200, 300], Device::Cpu).unwrap();
    let bound = (6.0f32 / 500.0).sqrt();
    assert!(w.to_f32_vec().unwrap().iter().all(|v| v.abs() <= bound));
    let h = make(&Init::HeNormal, &[400, 500], Device::Cpu).unwrap();
    assert!(
        (h.std(None, true, false).unwrap().item().unwrap() - (2.0f64 / 500.0).sqrt()).abs() < 0.003
    );
    let o = make(&Init::Orthogonal, &[3, 5], Device::Cpu).unwrap();
    let gram = o.matmul(&o.t().unwrap()).unwrap();
    assert!(
        gram.allclose(&Tensor::eye(3, 3, Device::Cpu).unwrap(), 1e-4, 1e-5)
            .unwrap()
    );
    assert_eq!(
        make(&Init::Identity, &[2, 2], Device::Cpu)
            .unwrap()
            .to_f32_vec()
            .unwrap(),
        vec![1., 0., 0., 1.]
    );
    assert!(make(&Init::Identity, &[2, 2, 2], Device::Cpu).is_err());
    assert!(Init::parse("glorot").is_err());
    let _ = ti(&[0], &[1]);
}
