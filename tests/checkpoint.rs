//! Optimiser state dicts and checkpoints: saving a model, its optimiser and its schedule, then
//! loading them into fresh objects, continues training exactly (bit for bit) as an
//! uninterrupted run.

mod common;

use ember::{Runtime, Tensor};

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ember-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Defines `make()` (model, optimiser and schedule from `ctor`) and `train(m, o, s, n)`.
fn setup(rt: &mut Runtime, ctor: &str) {
    let code = format!(
        r#"
        fn make() {{
            manual_seed(3);
            let model = nn::sequential([nn::linear(4, 8), nn::tanh(), nn::linear(8, 2)]);
            let opt = {ctor};
            let sched = optim::step_lr(opt, #{{step_size: 2, gamma: 0.5}});
            [model, opt, sched]
        }}
        fn train(model, opt, sched, start, n) {{
            for t in start..start + n {{
                let x = linspace(-1.0, 1.0, 12).reshape([3, 4]) * (t + 1);
                let y = tensor([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0]]);
                opt.zero_grad();
                mse_loss(model.forward(x), y).backward();
                opt.step();
                sched.step();
            }}
        }}
        "#
    );
    let _ = rt.eval(&code).unwrap();
}

fn params(rt: &mut Runtime, var: &str) -> Vec<f32> {
    let v = rt
        .eval(&format!("{var}[0].parameters()"))
        .unwrap()
        .try_cast::<rhai::Array>()
        .unwrap();
    v.into_iter()
        .flat_map(|p| p.try_cast::<Tensor>().unwrap().to_f32_vec().unwrap())
        .collect()
}

#[test]
fn a_checkpoint_resumes_training_exactly() {
    let d = dir();
    for (i, ctor) in [
        "optim::sgd(model, #{lr: 0.05, momentum: 0.9, dampening: 0.1, nesterov: false, weight_decay: 0.01})",
        "optim::sgd(model, #{lr: 0.05, momentum: 0.9, nesterov: true, maximize: false})",
        "optim::adam(model, #{lr: 0.01, amsgrad: true, weight_decay: 0.1})",
        "optim::adam(model, #{lr: 0.01})",
        "optim::adamw(model, #{lr: 0.01, betas: [0.8, 0.99]})",
        "optim::rmsprop(model, #{lr: 0.01, momentum: 0.5, centered: true})",
        "optim::adagrad(model, #{lr: 0.1, lr_decay: 0.1, initial_accumulator_value: 0.2})",
    ]
    .iter()
    .enumerate()
    {
        let mut rt = common::builder_with_files().seed(0).build().unwrap();
        setup(&mut rt, ctor);
        let model = d.join(format!("model{i}.safetensors"));
        let opt = d.join(format!("opt{i}.safetensors"));
        let _ = rt.eval(&format!(
            "let a = make(); train(a[0], a[1], a[2], 0, 3); nn::save(a[0], {model:?}); optim::save(a[2], {opt:?}); train(a[0], a[1], a[2], 3, 4);"
        ))
        .unwrap();
        let _ = rt.eval(&format!(
            "let b = make(); nn::load(b[0], {model:?}); optim::load(b[2], {opt:?}); train(b[0], b[1], b[2], 3, 4);"
        ))
        .unwrap();
        let (pa, pb) = (params(&mut rt, "a"), params(&mut rt, "b"));
        assert_eq!(pa, pb, "{ctor}: the resumed run differs");
        let lr: f64 = rt.eval("[a[1].lr, b[1].lr]").unwrap().try_cast::<rhai::Array>().map(|v| {
            let (x, y) = (v[0].as_float().unwrap(), v[1].as_float().unwrap());
            assert_eq!(x, y, "{ctor}: the schedule's rate differs");
            x
        }).unwrap();
        assert!(lr > 0.0);
        // the same through state dicts in memory
        let _ = rt.eval(&format!(
            "let c = make(); train(c[0], c[1], c[2], 0, 3); nn::save(c[0], {model:?}); \
             let sd = c[1].state_dict(); let ss = c[2].state_dict(); \
             let e = make(); nn::load(e[0], {model:?}); \
             e[1].load_state_dict(sd); e[2].load_state_dict(ss); \
             train(c[0], c[1], c[2], 3, 2); train(e[0], e[1], e[2], 3, 2);"
        ))
        .unwrap();
        assert_eq!(params(&mut rt, "c"), params(&mut rt, "e"), "{ctor}: state dicts");
    }
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn state_dicts_refuse_what_does_not_fit() {
    let mut rt = common::builder_with_files().seed(0).build().unwrap();
    for (code, needle) in [
        (
            "let o = optim::adam(nn::linear(2, 2)); optim::sgd(nn::linear(2, 2)).load_state_dict(o.state_dict())",
            "Adam",
        ),
        (
            "let l = nn::linear(2, 3); let a = optim::sgd(l, #{momentum: 0.9}); \
             l.forward(ones([1, 2])).sum().backward(); a.step(); \
             optim::sgd(nn::linear(3, 2), #{momentum: 0.9}).load_state_dict(a.state_dict())",
            "shape",
        ),
        (
            "let o = optim::adam(nn::linear(2, 2)); let sd = o.state_dict(); sd.param_groups[0].nonsense = 1; o.load_state_dict(sd)",
            "nonsense",
        ),
        (
            "optim::load(optim::adam(nn::linear(2, 2)), \"/no/such/file.safetensors\")",
            "load",
        ),
        (
            "let o = optim::adam(nn::linear(2, 2)); let s = optim::step_lr(o, #{step_size: 1}); s.load_state_dict(#{})",
            "last_epoch",
        ),
    ] {
        let e = rt.eval(code).unwrap_err();
        assert!(e.message.contains(needle), "{code}: {}", e.message);
    }
}

#[test]
fn non_strict_loading_reports_what_it_skipped() {
    let f = dir().join("partial.safetensors");
    let mut rt = common::builder_with_files().seed(0).build().unwrap();
    let code = format!(
        r#"
        let a = nn::sequential([nn::linear(2, 3), nn::relu(), nn::linear(3, 1)]);
        a.save("{p}");
        // one more layer than the file: strict refuses and names it
        let b = nn::sequential([nn::linear(2, 3), nn::relu(), nn::linear(3, 1), nn::linear(1, 2)]);
        let refused = "";
        try {{ b.load("{p}"); }} catch (e) {{ refused = `${{e}}`; }}
        let kept = b["3.weight"].clone();
        let r = nn::load(b, "{p}", #{{strict: false}});
        // a renamed layer: the file's "2." becomes "4." (and the model's own "2." stays missing)
        let c = nn::sequential([nn::linear(2, 3), nn::relu(), nn::relu(), nn::relu(), nn::linear(3, 1)]);
        let r2 = c.load("{p}", #{{strict: false, map: #{{"2.": "4.", "0.weight": "0.weight"}}}});
        let x = tensor([[0.5, -1.0], [2.0, 0.25]]);
        [refused, r.missing_keys, r.unexpected_keys, (b["3.weight"] - kept).abs().sum().item(),
         (b["0.weight"] - a["0.weight"]).abs().sum().item(), r2.missing_keys, r2.unexpected_keys,
         (c.forward(x) - a.forward(x)).abs().max().item()]
        "#,
        p = f.display()
    );
    let r = rt.eval(&code).unwrap();
    let r = r.into_typed_array::<rhai::Dynamic>().unwrap();
    let refused = r[0].clone().into_string().unwrap();
    assert!(
        refused.contains("missing 3.weight (shape [2, 1])") && refused.contains("missing 3.bias"),
        "{refused}"
    );
    assert_eq!(format!("{:?}", r[1]), r#"["3.weight", "3.bias"]"#);
    assert_eq!(format!("{:?}", r[2]), "[]");
    assert_eq!(
        r[3].as_float().unwrap(),
        0.0,
        "a missing tensor keeps its values"
    );
    assert_eq!(r[4].as_float().unwrap(), 0.0, "the rest is loaded");
    assert_eq!(format!("{:?}", r[5]), "[]");
    assert_eq!(format!("{:?}", r[6]), "[]");
    assert_eq!(
        r[7].as_float().unwrap(),
        0.0,
        "the renamed layer computes the same"
    );
    let _ = std::fs::remove_file(&f);
}
