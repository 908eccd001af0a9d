//! The Rhai surface through the embedding API: operators, methods, indexing, autograd,
//! options, persistence, host functions, docs.

mod common;

use ember::{Device, Runtime, Tensor};
use rhai::Dynamic;

fn rt() -> Runtime {
    Runtime::builder()
        .seed(0)
        .device(Device::Cpu)
        .build()
        .unwrap()
}

fn run(rt: &mut Runtime, code: &str) {
    let _ = rt.eval(code).unwrap_or_else(|e| panic!("{code}: {e}"));
}

fn eval_f(rt: &mut Runtime, code: &str) -> f64 {
    let v = rt.eval(code).unwrap_or_else(|e| panic!("{code}: {e}"));
    v.as_float()
        .or_else(|_| v.as_int().map(|i| i as f64))
        .unwrap_or_else(|_| panic!("{code}: not a number"))
}

fn eval_t(rt: &mut Runtime, code: &str) -> Tensor {
    rt.eval(code)
        .unwrap_or_else(|e| panic!("{code}: {e}"))
        .try_cast::<Tensor>()
        .expect("a tensor")
}

#[test]
fn operators_and_scalars_on_either_side() {
    let mut r = rt();
    assert_eq!(
        eval_t(&mut r, "2 * tensor([1.0, 2.0]) + 1")
            .to_f32_vec()
            .unwrap(),
        vec![3., 5.]
    );
    assert_eq!(
        eval_t(&mut r, "1.0 - tensor([1, 2])").to_f32_vec().unwrap(),
        vec![0., -1.]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([1, 2]) - 1").to_i64_vec().unwrap(),
        vec![0, 1]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([3.0]) / 2").to_f32_vec().unwrap(),
        vec![1.5]
    );
    assert_eq!(
        eval_t(&mut r, "6 / tensor([3.0])").to_f32_vec().unwrap(),
        vec![2.0]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([3.0]) ** 2").to_f32_vec().unwrap(),
        vec![9.0]
    );
    assert_eq!(
        eval_t(&mut r, "2 ** tensor([3.0])").to_f32_vec().unwrap(),
        vec![8.0]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([2.0, 3.0]) ** tensor([2.0, 0.5])")
            .to_f32_vec()
            .unwrap()[0],
        4.0
    );
    assert_eq!(
        eval_t(&mut r, "-tensor([1.0])").to_f32_vec().unwrap(),
        vec![-1.0]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([1, 5]) > 2").to_bool_vec().unwrap(),
        vec![false, true]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([1, 5]) == tensor([1, 4])")
            .to_bool_vec()
            .unwrap(),
        vec![true, false]
    );
    assert_eq!(
        eval_t(&mut r, "!(tensor([1, 5]) >= 5)")
            .to_bool_vec()
            .unwrap(),
        vec![true, false]
    );
    assert_eq!(
        eval_t(&mut r, "(tensor([1, 5]) > 0) & (tensor([1, 5]) < 3)")
            .to_bool_vec()
            .unwrap(),
        vec![true, false]
    );
    let m = eval_t(&mut r, "let a = tensor([[1.0, 2.0], [3.0, 4.0]]); a @ a");
    assert_eq!(m.to_f32_vec().unwrap(), vec![7., 10., 15., 22.]);
    // `@` binds like `*`: tighter than `+`.
    assert_eq!(
        eval_t(&mut r, "tensor([1.0]) + tensor([[2.0]]) @ tensor([[3.0]])")
            .to_f32_vec()
            .unwrap(),
        vec![7.0]
    );
    assert_eq!(
        eval_t(
            &mut r,
            "where(tensor([true, false]), 1.0, tensor([5.0, 6.0]))"
        )
        .to_f32_vec()
        .unwrap(),
        vec![1., 6.]
    );
    assert_eq!(
        eval_t(&mut r, "maximum(tensor([1.0, 4.0]), 2)")
            .to_f32_vec()
            .unwrap(),
        vec![2., 4.]
    );
    assert_eq!(
        eval_t(&mut r, "tensor([-1.0, 2.0]).clamp((), 1)")
            .to_f32_vec()
            .unwrap(),
        vec![-1., 1.]
    );
}

#[test]
fn methods_and_functions_are_interchangeable() {
    let mut r = rt();
    run(
        &mut r,
        "let x = tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]);",
    );
    assert_eq!(
        eval_t(&mut r, "x.sum(1)").to_f32_vec().unwrap(),
        eval_t(&mut r, "sum(x, 1)").to_f32_vec().unwrap()
    );
    assert_eq!(eval_t(&mut r, "x.mean(0, true)").shape(), &[1, 3]);
    assert_eq!(
        eval_t(&mut r, "x.max(1).values").to_f32_vec().unwrap(),
        vec![5., 6.]
    );
    assert_eq!(
        eval_t(&mut r, "x.max(1).indices").to_i64_vec().unwrap(),
        vec![1, 2]
    );
    assert_eq!(eval_t(&mut r, "x.min(0, true).values").shape(), &[1, 3]);
    assert_eq!(
        eval_t(&mut r, "x.max(tensor(4.5))").to_f32_vec().unwrap(),
        vec![4.5, 5., 4.5, 4.5, 4.5, 6.]
    );
    assert_eq!(eval_f(&mut r, "x.max().item()"), 6.0);
    assert_eq!(
        eval_t(&mut r, "x.argmax(1)").to_i64_vec().unwrap(),
        vec![1, 2]
    );
    assert_eq!(eval_t(&mut r, "x.view(-1, 2)").shape(), &[3, 2]);
    assert_eq!(eval_t(&mut r, "x.reshape([3, -1])").shape(), &[3, 2]);
    assert_eq!(eval_t(&mut r, "x.permute(1, 0)").shape(), &[3, 2]);
    assert_eq!(eval_t(&mut r, "x.t()").shape(), &[3, 2]);
    assert_eq!(
        eval_t(&mut r, "x.variance(1, #{unbiased: false})")
            .to_f32_vec()
            .unwrap()[0],
        8.0 / 3.0
    );
    assert_eq!(eval_f(&mut r, "x.shape[1]"), 3.0);
    assert_eq!(r.eval("x.dtype").unwrap().into_string().unwrap(), "f32");
    assert_eq!(r.eval("x.device").unwrap().into_string().unwrap(), "cpu");
    assert_eq!(eval_f(&mut r, "x.numel()"), 6.0);
    assert_eq!(eval_f(&mut r, "x.size(-1)"), 3.0);
    assert_eq!(
        r.eval("x.long().tolist()")
            .unwrap()
            .into_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        r.eval("x.float().dtype").unwrap().into_string().unwrap(),
        "f32"
    );
    assert_eq!(
        eval_t(&mut r, "zeros([2], #{dtype: \"i64\"})").dtype(),
        ember::DType::I64
    );
    assert!(
        r.eval("zeros([2], #{dtyp: \"i64\"})").is_err(),
        "unknown options are reported"
    );
    assert_eq!(
        eval_t(&mut r, "split(arange(5), 2)[2]")
            .to_i64_vec()
            .unwrap(),
        vec![4]
    );
    assert_eq!(
        eval_t(&mut r, "arange(6).chunk(3)[1]")
            .to_i64_vec()
            .unwrap(),
        vec![2, 3]
    );
    assert_eq!(
        eval_t(&mut r, "cat([ones([1, 2]), zeros([1, 2])])").shape(),
        &[2, 2]
    );
    assert_eq!(
        eval_t(&mut r, "stack([ones([2]), zeros([2])], 1)").shape(),
        &[2, 2]
    );
    assert!(r.eval("allclose(x, x.clone())").unwrap().as_bool().unwrap());
    assert_eq!(eval_t(&mut r, "tensor(3)").dtype(), ember::DType::I64);
    assert_eq!(
        eval_t(&mut r, "tensor([true, false])").dtype(),
        ember::DType::Bool
    );
    assert_eq!(
        eval_t(&mut r, "tensor([1, 2.5])").dtype(),
        ember::DType::F32
    );
}

#[test]
fn indexing_reads_and_writes() {
    let mut r = rt();
    run(&mut r, "let X = arange(12).reshape([4, 3]).float();");
    assert_eq!(
        eval_t(&mut r, "X[1]").to_f32_vec().unwrap(),
        vec![3., 4., 5.]
    );
    assert_eq!(eval_f(&mut r, "X[1][2].item()"), 5.0);
    assert_eq!(
        eval_t(&mut r, "X[-1]").to_f32_vec().unwrap(),
        vec![9., 10., 11.]
    );
    assert_eq!(eval_t(&mut r, "X[1..3]").shape(), &[2, 3]);
    assert_eq!(eval_t(&mut r, "X[2..=3]").shape(), &[2, 3]);
    assert_eq!(
        eval_t(&mut r, "X[tensor([3, 0])]").to_f32_vec().unwrap()[..3],
        [9., 10., 11.]
    );
    assert_eq!(
        eval_t(&mut r, "X[X > 9.5]").to_f32_vec().unwrap(),
        vec![10., 11.]
    );
    run(
        &mut r,
        "X[0] = tensor([7.0, 8.0, 9.0]); X[1] = 0; X[2..4] = tensor([1.0, 1.0, 1.0]);",
    );
    assert_eq!(
        eval_t(&mut r, "X").to_f32_vec().unwrap(),
        vec![7., 8., 9., 0., 0., 0., 1., 1., 1., 1., 1., 1.]
    );
    run(&mut r, "X[tensor([0, 3])] = -1.0;");
    assert_eq!(
        eval_t(&mut r, "X.sum(1)").to_f32_vec().unwrap(),
        vec![-3., 0., 3., -3.]
    );
    run(&mut r, "X[1][2] = 42.0;");
    assert_eq!(eval_f(&mut r, "X[1][2].item()"), 42.0);
    run(&mut r, "index_put(X, 2, 5.0);");
    assert_eq!(
        eval_t(&mut r, "X[2]").to_f32_vec().unwrap(),
        vec![5., 5., 5.]
    );
}

#[test]
fn autograd_from_scripts() {
    let mut r = rt();
    run(
        &mut r,
        "let w = tensor([1.0, -2.0]); w.requires_grad = true; let y = (w * w * 3).sum(); y.backward();",
    );
    assert_eq!(
        eval_t(&mut r, "w.grad").to_f32_vec().unwrap(),
        vec![6., -12.]
    );
    assert!(r.eval("w.is_leaf").unwrap().as_bool().unwrap());
    run(&mut r, "w.zero_grad();");
    assert!(r.eval("w.grad").unwrap().is_unit());
    let v = r
        .eval("let z = no_grad(|| w * 2); z.requires_grad")
        .unwrap();
    assert!(!v.as_bool().unwrap());
    assert!(r.eval("is_grad_enabled()").unwrap().as_bool().unwrap());
    // Explicit gradient, and requires_grad_ as a builder.
    run(
        &mut r,
        "let a = requires_grad_(tensor([1.0, 2.0])); (a * 3).backward(tensor([1.0, 10.0]));",
    );
    assert_eq!(
        eval_t(&mut r, "a.grad").to_f32_vec().unwrap(),
        vec![3., 30.]
    );
    // In-place writes into a tensor that requires grad are refused outside no_grad.
    assert!(r.eval("a[0] = 5.0;").is_err());
    run(&mut r, "no_grad(|| { a[0] = 5.0; });");
    // A small regression fit by gradient descent, written in script.
    let loss = eval_f(
        &mut r,
        r#"
        manual_seed(1);
        let x = randn([64, 3]);
        let true_w = tensor([[2.0], [-1.0], [0.5]]);
        let y = x @ true_w + 0.25;
        let w = zeros([3, 1]); w.requires_grad = true;
        let b = zeros([1]); b.requires_grad = true;
        for step in 0..200 {
            let loss = mse_loss(x @ w + b, y);
            w.zero_grad(); b.zero_grad();
            loss.backward();
            no_grad(|| { w[0..3] = w - 0.1 * w.grad; b[0] = b - 0.1 * b.grad; });
        }
        mse_loss(x @ w + b, y).item()
        "#,
    );
    assert!(loss < 1e-6, "loss {loss}");
    assert!(
        eval_t(&mut r, "w")
            .allclose(&common::t(&[2.0, -1.0, 0.5], &[3, 1]), 1e-3, 1e-3)
            .unwrap()
    );
}

#[test]
fn seeds_make_runs_reproducible() {
    let mut r = rt();
    let a = eval_t(&mut r, "manual_seed(3); randn([5])")
        .to_f32_vec()
        .unwrap();
    let b = eval_t(&mut r, "manual_seed(3); randn([5])")
        .to_f32_vec()
        .unwrap();
    assert_eq!(a, b);
    // The generator is global (as PyTorch's is): a runtime built with a seed reseeds it.
    let mut r2 = Runtime::builder().seed(11).build().unwrap();
    let first = eval_t(&mut r2, "rand([4])").to_f32_vec().unwrap();
    let mut r3 = Runtime::builder().seed(11).build().unwrap();
    assert_eq!(first, eval_t(&mut r3, "rand([4])").to_f32_vec().unwrap());
}

#[test]
fn session_state_persists_and_host_functions_plug_in() {
    let mut r = rt();
    run(&mut r, "fn double(x) { x * 2 }");
    run(&mut r, "let v = tensor([1.0, 2.0]);");
    assert_eq!(
        eval_t(&mut r, "double(v)").to_f32_vec().unwrap(),
        vec![2., 4.]
    );
    // Host program → script and back.
    r.set_tensor(
        "host",
        Tensor::from_f32(vec![1.0, 2.0, 3.0], &[3], Device::Cpu).unwrap(),
    );
    r.engine_mut()
        .register_fn("host_scale", |t: Tensor, k: f64| t.mul_scalar(k).unwrap());
    run(&mut r, "let out = host_scale(host, 10.0);");
    assert_eq!(
        r.get_tensor("out").unwrap().to_f32_vec().unwrap(),
        vec![10., 20., 30.]
    );
    assert!(r.get_value("v").is_some());
    assert!(r.get_tensor("missing").is_none());
}

#[test]
fn stdlib_modules_import_from_anywhere() {
    let mut r = rt();
    let d = eval_t(
        &mut r,
        "import \"cluster\" as c; c::pairwise_sq_dist(tensor([[0.0, 0.0]]), tensor([[3.0, 4.0], [1.0, 0.0]]))",
    );
    assert_eq!(d.to_f32_vec().unwrap(), vec![25., 1.]);
    let e = r.eval("import \"no_such_module\" as m;").unwrap_err();
    assert!(e.message.contains("no_such_module"), "{e}");
}

#[test]
fn every_registered_function_is_documented() {
    let r = rt();
    let docs = r.docs();
    let mut missing = Vec::new();
    for (name, doc) in docs.iter() {
        if doc.trim().is_empty() {
            missing.push(name.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "functions registered without a doc: {missing:?}"
    );
    for name in [
        "randn",
        "matmul",
        "@",
        "dynamic_partition",
        "cross_entropy",
        "no_grad",
        "backward",
    ] {
        assert!(docs.get(name).is_some(), "{name} has no doc");
    }
}

#[test]
fn args_are_visible_to_scripts() {
    let mut r = Runtime::builder()
        .args(vec!["a".into(), "7".into()])
        .build()
        .unwrap();
    let v: Dynamic = r.eval("ARGS[1]").unwrap();
    assert_eq!(v.into_string().unwrap(), "7");
}
