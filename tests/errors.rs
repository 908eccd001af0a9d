//! Bad shapes, dtypes, indices and sizes return errors naming the op and the shapes; nothing
//! reachable from a script panics.

mod common;

use common::{t, ti};
use ember::{DType, Device, IndexArg, Runtime, Tensor};

fn err_text<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

#[test]
fn shape_errors_name_op_and_shapes() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = t(&[1., 2., 3., 4., 5., 6., 7., 8.], &[4, 2]);
    let m = err_text(a.matmul(&b));
    assert!(
        m.contains("matmul") && m.contains("[2, 3]") && m.contains("[4, 2]"),
        "{m}"
    );
    let m = err_text(a.add(&b));
    assert!(
        m.contains("add") && m.contains("[2, 3]") && m.contains("[4, 2]"),
        "{m}"
    );
    assert!(err_text(a.reshape(&[4, -1])).contains("reshape"));
    assert!(err_text(a.reshape(&[-1, -1])).contains("only one"));
    assert!(err_text(Tensor::cat(&[a.clone(), b.clone()], 0)).contains("cat"));
    assert!(err_text(Tensor::stack(&[a.clone(), b.clone()], 0)).contains("stack"));
    assert!(err_text(a.expand(&[3, 3])).contains("expand"));
    assert!(err_text(a.permute(&[0, 0])).contains("permute"));
    assert!(err_text(a.sum_dim(2, false)).contains("dimension 2"));
    assert!(err_text(a.transpose(0, -3)).contains("out of range"));
    assert!(err_text(a.t().unwrap().unsqueeze(0).unwrap().t()).contains("t:"));
    assert!(err_text(a.narrow(1, 2, 5)).contains("narrow"));
    assert!(err_text(a.split(0, 0)).contains("split"));
    assert!(err_text(Tensor::mse_loss(&a, &b)).contains("mse_loss"));
    assert!(err_text(Tensor::cross_entropy(&a, &ti(&[0, 1, 2], &[3]))).contains("cross_entropy"));
    assert!(err_text(a.matmul(&Tensor::scalar(1.0).unwrap())).contains("matmul"));
    assert!(err_text(a.repeat(&[2])).contains("repeat"));
    assert!(err_text(a.clamp(1.0, 0.0)).contains("clamp"));
}

#[test]
fn dtype_errors() {
    let i = ti(&[1, 2], &[2]);
    assert!(err_text(i.matmul(&i)).contains("f32"));
    assert!(err_text(Tensor::embedding(&t(&[0.], &[1]), &t(&[1., 2.], &[1, 2]))).contains("i64"));
    assert!(
        err_text(
            t(&[1.], &[1])
                .requires_grad_(true)
                .unwrap()
                .to_dtype(DType::I64)
                .unwrap()
                .requires_grad_(true)
        )
        .contains("f32")
    );
    assert!(err_text(Tensor::where_(&i, &i, &i)).contains("bool"));
    assert!(err_text(t(&[1.], &[1]).bincount(0)).contains("bincount"));
    assert!(err_text(t(&[1.], &[1]).index_select(0, &t(&[0.], &[1]))).contains("i64"));
}

#[test]
fn index_errors() {
    let x = t(&[1., 2., 3., 4., 5., 6.], &[3, 2]);
    let m = err_text(x.index(&IndexArg::Int(3)));
    assert!(m.contains("index 3") && m.contains("size 3"), "{m}");
    assert!(err_text(x.index(&IndexArg::Int(-4))).contains("out of range"));
    assert!(err_text(x.index_select(0, &ti(&[0, 3], &[2]))).contains("index 3"));
    assert!(err_text(x.gather(1, &ti(&[0, 2, 0, 0, 0, 0], &[3, 2]))).contains("index 2"));
    assert!(
        err_text(x.scatter_add(0, &ti(&[5, 0], &[1, 2]), &t(&[1., 1.], &[1, 2])))
            .contains("index 5")
    );
    assert!(
        err_text(x.index_put_(&IndexArg::Int(7), &Tensor::scalar(1.0).unwrap()))
            .contains("out of range")
    );
    assert!(
        err_text(x.index_put_(&IndexArg::Int(0), &t(&[1., 2., 3.], &[3]))).contains("index_put")
    );
    assert!(err_text(Tensor::embedding(&ti(&[9], &[1]), &x)).contains("outside the vocabulary"));
    assert!(err_text(Tensor::one_hot(&ti(&[3], &[1]), 3, DType::I64)).contains("one_hot"));
    assert!(err_text(Tensor::one_hot(&ti(&[], &[0]), -1, DType::I64)).contains("empty"));
    assert!(err_text(Tensor::scalar(1.0).unwrap().index(&IndexArg::Int(0))).contains("0-d"));
    assert!(err_text(ti(&[-1], &[1]).bincount(0)).contains("non-negative"));
}

#[test]
fn huge_allocations_are_refused() {
    assert!(
        err_text(ember::tensor::shape::checked_shape(
            "zeros",
            &[1 << 40, 1 << 30]
        ))
        .contains("overflows")
    );
    assert!(Tensor::arange(0.0, 1e20, 1.0, true, Device::Cpu).is_err());
    let mut rt = Runtime::builder().seed(0).build().unwrap();
    let e = rt.eval("zeros([100000, 100000, 100000])").unwrap_err();
    assert!(
        e.message.contains("zeros") && e.message.contains("limit"),
        "{e}"
    );
    let e = rt.eval("randn([-1, 3])").unwrap_err();
    assert!(e.message.contains("negative"), "{e}");
}

#[test]
fn script_errors_carry_position_op_and_shapes() {
    let mut rt = Runtime::builder().seed(0).build().unwrap();
    let e = rt
        .eval("let a = randn([2, 3]);\nlet b = randn([4, 5]);\nlet c = a @ b;")
        .unwrap_err();
    assert_eq!(e.line, Some(3));
    assert!(
        e.message.contains("matmul")
            && e.message.contains("[2, 3]")
            && e.message.contains("[4, 5]")
    );
    let shown = e.to_string();
    assert!(
        shown.contains("<eval>:3:") && shown.contains("let c = a @ b;") && shown.contains('^'),
        "{shown}"
    );
    // Errors inside script functions report where the op failed, and the call chain.
    let e = rt
        .eval("fn f(x) {\n  x.reshape([7])\n}\nf(zeros([2]))")
        .unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.call_stack.iter().any(|f| f == "f"), "{e}");
    // A syntax error is reported with its place too.
    let e = rt.eval("let x = ;").unwrap_err();
    assert!(
        e.message.contains("syntax error") && e.line == Some(1),
        "{e}"
    );
}

#[test]
fn an_error_keeps_the_session_state() {
    let mut rt = Runtime::builder().seed(0).build().unwrap();
    let _ = rt
        .eval("let keep = tensor([1, 2, 3]); fn twice(x) { x * 2 }")
        .unwrap();
    assert!(rt.eval("keep @ randn([5, 5])").is_err());
    let v = rt.eval("twice(keep).sum().item()").unwrap();
    assert_eq!(v.as_int().unwrap(), 12);
}

/// Calls many surface functions with wrong argument kinds and values; each must error, not panic.
#[test]
fn bad_calls_from_scripts_never_panic() {
    let cases = [
        "tensor([[1, 2], [3]])",
        "tensor([[1, 2], 3])",
        "tensor(\"text\")",
        "zeros(\"x\")",
        "zeros([2, \"x\"])",
        "randint(5, 2, [3])",
        "randperm(-3)",
        "eye(-1)",
        "linspace(0, 1, -2)",
        "arange(0, 10, 0)",
        "uniform([2], 1, 0)",
        "normal([2], 0, -1)",
        "let x = zeros([2, 2]); x[5]",
        "let x = zeros([2, 2]); x[-3]",
        "let x = zeros([2, 2]); x[5] = 1.0;",
        "let x = zeros([2, 2]); x[\"a\"]",
        "let x = zeros([2, 2]); x[0] = zeros([3]);",
        "let x = zeros([2, 2]); x.sum(5)",
        "let x = zeros([2, 2]); x.reshape([3, -1])",
        "let x = zeros([2, 2]); x.permute([0])",
        "let x = zeros([2, 2]); x.flip([4])",
        "let x = zeros([2, 2]); x.slice(0, 0, 2, 0)",
        "let x = zeros([2, 2]); x.split(-1)",
        "let x = zeros([2, 2]); x.chunk(0)",
        "let x = zeros([2, 2]); x.gather(0, tensor([[5, 0]]))",
        "let x = zeros([2, 2]); x.index_select(0, tensor([[0]]))",
        "let x = zeros([2, 2]); x.to(\"tpu\")",
        "let x = zeros([2, 2]); x.to_dtype(\"f16\")",
        "let x = zeros([2, 2]); x.item()",
        "let x = zeros([2, 2]); x.backward()",
        "let x = zeros([2]); x.requires_grad = true; (x * 2).backward()",
        "cat([], 0)",
        "cat([1, 2], 0)",
        "stack([zeros([2]), zeros([3])])",
        "dynamic_partition(zeros([3, 2]), tensor([0, 1]), 2)",
        "dynamic_partition(zeros([3, 2]), tensor([0, 1, 2]), -1)",
        "unsorted_segment_sum(zeros([3, 2]), tensor([0.0, 1.0, 2.0]), 3)",
        "one_hot(tensor([1.5]), 3)",
        "cross_entropy(zeros([2, 3]), tensor([0, 7]))",
        "cross_entropy(zeros([2, 3]), tensor([true, false]))",
        "dropout(zeros([2]), 1.5)",
        "embedding(tensor([3]), zeros([2, 2]))",
        "embedding(tensor([0]), zeros([2]))",
        "softmax(zeros([2, 2]), 3)",
        "where(tensor([1, 0]), 1.0, 2.0)",
        "allclose(zeros([2]), zeros([3]))",
        "bincount(tensor([[1]]))",
        "no_grad(42)",
        "clamp(zeros([2]), \"a\", 1)",
        "zeros([2]) @ zeros([3])",
        "zeros([2]).expand([-1, 2])",
        "assert(false, \"boom\")",
        "nn::linear(0, 3)",
        "nn::linear(3, 2).forward(zeros([2, 4]))",
        "nn::conv2d(1, 2, 3).forward(zeros([1, 1, 2, 2]))",
        "nn::conv2d(1, 2, 3).forward(zeros([1, 2, 5, 5]))",
        "nn::conv2d(1, 2, 3, #{stride: 2, padding: \"same\"}).forward(zeros([1, 1, 5, 5]))",
        "nn::conv2d(1, 2, 3, #{padding: 1000000}).forward(zeros([8, 1, 2, 2]))",
        "nn::max_pool2d(2, #{padding: 2}).forward(zeros([4, 4, 2, 2]))",
        "nn::avg_pool2d(3, #{stride: 1, padding: 1000000}).forward(zeros([4, 4, 2, 2]))",
        "nn::max_pool2d(0)",
        "nn::max_pool2d(2).forward(zeros([4, 4]))",
        "nn::sequential([]).forward(zeros([1]))",
        "nn::sequential([1, 2])",
        "nn::embedding(3, 2).forward(tensor([5]))",
        "nn::embedding(3, 2, #{padding_idx: 7})",
        "nn::batch_norm2d(3).forward(zeros([2, 4, 2, 2]))",
        "nn::batch_norm1d(3).forward(zeros([1, 3]))",
        "nn::batch_norm1d(3, #{momentum: 2.0})",
        "nn::layer_norm(4).forward(zeros([2, 3]))",
        "nn::dropout(2.0)",
        "nn::init(\"nope\", [2, 2])",
        "let l = nn::linear(2, 2); l.weight = zeros([3, 3]);",
        "let l = nn::linear(2, 2); l[\"gamma\"]",
        "let l = nn::linear(2, 2, #{bias: false}); l.bias",
        "optim::sgd([1, 2])",
        "optim::sgd(nn::linear(2, 2).parameters(), #{lr: -1.0})",
        "optim::sgd(nn::linear(2, 2), #{nesterov: true})",
        "optim::adam(nn::linear(2, 2), #{betas: [0.9]})",
        "optim::step_lr(optim::sgd(nn::linear(2, 2), #{lr: 0.1}), #{step_size: 0})",
        "optim::cosine_lr(optim::sgd(nn::linear(2, 2), #{lr: 0.1}), #{})",
        "let o = optim::sgd(nn::linear(2, 2), #{lr: 0.1}); o.lr = -3;",
        "data::mnist(#{split: \"validation\"})",
        "nn::save(#{a: 1}, \"/tmp/x.safetensors\")",
        "nn::save(nn::linear(2, 2), \"/no/such/dir/m.safetensors\")",
        "nn::load(\"/no/such/file.safetensors\")",
        "nn::lstm(0, 3)",
        "nn::lstm(3, 4).forward(zeros([2, 5]))",
        "nn::lstm(3, 4).forward(zeros([2, 5, 2]))",
        "nn::lstm(3, 4).forward(zeros([2, 0, 3]))",
        "nn::lstm(3, 4, #{dropout: 1.5})",
        "nn::lstm(3, 4, #{nonlinearity: \"relu\"})",
        "nn::rnn(3, 4, #{nonlinearity: \"gelu\"})",
        "nn::gru(3, 4).run(zeros([2, 5, 3]), #{lengths: [1]})",
        "nn::gru(3, 4).run(zeros([2, 5, 3]), #{lengths: [9, 1]})",
        "nn::gru(3, 4).run(zeros([2, 5, 3]), #{lengths: [-1, 1]})",
        "nn::gru(3, 4).run(zeros([2, 5, 3]), #{c: zeros([1, 2, 4])})",
        "nn::lstm(3, 4).run(zeros([2, 5, 3]), #{h: zeros([3, 2, 4])})",
        "nn::lstm_cell(3, 4).step(zeros([2, 3]), zeros([2, 4]))",
        "nn::lstm_cell(3, 4).step(zeros([2, 3]), [zeros([2, 5]), zeros([2, 4])])",
        "nn::gru_cell(3, 4).step(zeros([2, 2]), zeros([2, 4]))",
        "nn::linear(2, 2).step(zeros([2, 2]), zeros([2, 2]))",
        "nn::linear(2, 2).run(zeros([2, 2, 2]))",
        "nn::attention(4, 3, 2).context(zeros([2, 5, 4]), zeros([2, 4]))",
        "nn::attention(4, 3, 2).context(zeros([2, 5, 4]), zeros([2, 3]), zeros([2, 4]))",
        "nn::attention(4, 3, 2).forward(zeros([2, 3]))",
        "nn::repeat_vector(3).forward(zeros([2]))",
        "nn::time_distributed(nn::linear(2, 2)).forward(zeros([2, 2]))",
        "pad_sequences([[1, 2], \"x\"])",
        "pad_sequences([[1, 2]], #{padding: \"middle\"})",
        "pad_sequences([[1, 2]], #{maxlen: -1})",
        "multinomial(tensor([-1.0, 2.0]), 1)",
        "multinomial(tensor([0.0, 0.0]), 1)",
        "zeros([2, 3]).select(1, 3)",
        "data::random_sequences(5, 3, 2, 9, 10)",
        "data::random_sequences(3, 5, 2, 9, -1)",
        "data::blobs(0, 10)",
        "data::blobs(2, 10, #{spread: -1.0})",
        "data::text(\"/no/such/file.txt\")",
        "data::text(\"/etc/hostname\", #{encoding: \"ebcdic\"})",
        "data::cmudict(\"/no/such/file.dict\")",
        "data::vocab([1, 2])",
        "data::encode(#{}, [\"a\"])",
        "data::loader([zeros([3]), zeros([4])])",
        "data::loader([], #{batch_size: 2})",
        "data::loader([zeros([3])], #{batch_size: 0})",
        "data::mix([])",
        "data::mix([data::loader([zeros([3, 2])]), data::loader([zeros([3, 5])])])",
        "data::balanced([zeros([4])], tensor([true, true, true, true]))",
        "data::balanced([zeros([4])], tensor([true, false, true, false]), #{fraction: 2.0})",
        "let l = data::loader([zeros([4])]); l.fraction = 0.5;",
        "train_test_split([zeros([4])], #{test_size: 9})",
        "train_test_split([zeros([4])], #{test_size: 1.5})",
        "data::augment(zeros([2, 3]), #{flip: true})",
        "data::augment(zeros([1, 1, 4, 4]), #{normalize: [0.0, 0.0]})",
        "data::augment(zeros([1, 1, 4, 4]), #{normalize: [[0.0, 1.0], 1.0]})",
        "data::csv(\"/no/such.csv\")",
        "data::csv(\"/etc/hostname\", #{delimiter: \"ab\"})",
        "data::npy(\"/etc/hostname\")",
        "data::npz(\"/etc/hostname\")",
        "data::save_npy(\"/no/such/dir/x.npy\", zeros([2]))",
        "data::idx(\"/etc/hostname\")",
        "data::movielens(\"/no/such/dir\")",
        "data::imdb(\"/no/such/dir\")",
        "plot::scatter(zeros([4]))",
        "plot::scatter(zeros([4, 2]), #{labels: tensor([1, 2])})",
        "plot::line(\"nope\")",
        "plot::line([1, 2], #{x: [1]})",
        "plot::hist([1, 2], #{bins: 0})",
        "plot::bar([\"a\"], [1, 2])",
        "plot::imshow(zeros([2, 2, 2, 2, 2]))",
        "plot::imshow(zeros([2, 1, 4, 4]))",
        "plot::grid(zeros([500, 1, 2, 2]))",
        "plot::history(#{})",
        "plot::line([1, 2], #{format: \"jpeg\"})",
        "progress(\"nope\")",
        "progress(3, #{colour: true})",
    ];
    for code in cases {
        let mut rt = Runtime::builder().seed(0).build().unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.eval(code)));
        match outcome {
            Err(_) => panic!("panicked on {code:?}"),
            Ok(Ok(v)) => panic!(
                "expected an error from {code:?}, got {}",
                ember::script::format_value(&v)
            ),
            Ok(Err(e)) => assert!(!e.message.is_empty(), "{code}"),
        }
    }
}

/// Bad options of the PyTorch-style functions: each errors (never panics), naming the function.
#[test]
fn pytorch_options_fail_naming_the_function() {
    let cases = [
        (
            "cross_entropy(zeros([2, 3]), tensor([0, 1]), #{reduction: \"avg\"})",
            "cross_entropy",
        ),
        (
            "cross_entropy(zeros([2, 3]), tensor([0, 1]), #{weight: zeros([2])})",
            "cross_entropy",
        ),
        (
            "cross_entropy(zeros([2, 3]), tensor([0, 1]), #{label_smoothing: 2.0})",
            "cross_entropy",
        ),
        (
            "cross_entropy(zeros([2, 3, 4]), tensor([[0]]))",
            "cross_entropy",
        ),
        (
            "cross_entropy(zeros([2, 3]), zeros([2, 3]), #{ignore_index: 1})",
            "cross_entropy",
        ),
        (
            "nll_loss(zeros([2, 3]), tensor([0, 1]), #{label_smoothing: 0.1})",
            "nll_loss",
        ),
        ("nll_loss(zeros([2, 3]), tensor([0, 5]))", "nll_loss"),
        ("kl_div(zeros([2]), zeros([3]))", "kl_div"),
        (
            "mse_loss(zeros([2]), zeros([2]), #{reduction: \"batchmean\"})",
            "mse_loss",
        ),
        (
            "huber_loss(zeros([2]), zeros([2]), #{delta: -1})",
            "huber_loss",
        ),
        (
            "smooth_l1_loss(zeros([2]), zeros([2]), #{beta: -1})",
            "smooth_l1_loss",
        ),
        (
            "binary_cross_entropy_with_logits(zeros([2, 3]), zeros([2, 3]), #{pos_weight: zeros([4])})",
            "binary_cross_entropy_with_logits",
        ),
        (
            "binary_cross_entropy(zeros([2]), zeros([2]), #{weight: \"w\"})",
            "binary_cross_entropy",
        ),
        ("one_hot(tensor([1]), -3)", "one_hot"),
        ("one_hot(tensor([1]), 3, #{dtype: \"f16\"})", "f16"),
        (
            "cosine_similarity(zeros([2, 3]), zeros([2, 4]))",
            "cosine_similarity",
        ),
        ("zeros([0, 3]).max()", "max:"),
        ("zeros([0, 3]).min()", "min:"),
        ("zeros([3, 0]).max(1)", "max:"),
        (
            "conv2d(zeros([1, 4, 5, 5]), zeros([6, 3, 3, 3]), #{groups: 2})",
            "conv2d",
        ),
        (
            "conv2d(zeros([1, 4, 5, 5]), zeros([6, 4, 3, 3]), #{stride: 2, padding: \"same\"})",
            "conv2d",
        ),
        (
            "conv2d(zeros([1, 4, 5, 5]), zeros([6, 4, 3, 3]), zeros([5]))",
            "conv2d",
        ),
        (
            "conv2d(zeros([1, 4, 5, 5]), zeros([6, 4, 3, 3]), #{stride: [1, 2, 3]})",
            "conv2d",
        ),
        ("conv1d(zeros([1, 4, 5]), zeros([6, 4, 9]))", "conv1d"),
        (
            "conv_transpose2d(zeros([1, 2, 3, 3]), zeros([2, 1, 2, 2]), #{stride: 2, output_padding: 2})",
            "conv_transpose2d",
        ),
        (
            "conv_transpose2d(zeros([1, 2, 3, 3]), zeros([3, 1, 2, 2]))",
            "conv_transpose2d",
        ),
        (
            "conv_transpose1d(zeros([1, 2, 1]), zeros([2, 1, 1]), #{padding: 3})",
            "conv_transpose1d",
        ),
        (
            "max_pool2d(zeros([1, 1, 4, 4]), 2, #{padding: 2})",
            "max_pool2d",
        ),
        ("max_pool2d(zeros([1, 1, 4, 4]), 0)", "max_pool2d"),
        ("max_pool2d(zeros([1, 1, 2, 2]), 3)", "max_pool2d"),
        (
            "max_pool1d(zeros([1, 1, 4]), 2, #{count_include_pad: true})",
            "max_pool1d",
        ),
        (
            "avg_pool2d(zeros([1, 1, 4, 4]), 2, #{dilation: 2})",
            "avg_pool2d",
        ),
        (
            "avg_pool2d(zeros([1, 1, 4, 4]), 2, #{divisor_override: 0})",
            "avg_pool2d",
        ),
        ("avg_pool1d(zeros([4]), 2)", "avg_pool1d"),
        (
            "adaptive_avg_pool2d(zeros([1, 1, 4, 4]), [0, 2])",
            "adaptive_avg_pool2d",
        ),
        (
            "adaptive_avg_pool1d(zeros([1, 1, 0]), 2)",
            "adaptive_avg_pool1d",
        ),
        (
            "interpolate(zeros([1, 1, 4, 4]), #{size: 2, scale_factor: 2})",
            "interpolate",
        ),
        (
            "interpolate(zeros([1, 1, 4, 4]), #{size: 2, align_corners: true})",
            "interpolate",
        ),
        (
            "interpolate(zeros([1, 1, 4]), #{size: 2, mode: \"bilinear\"})",
            "interpolate",
        ),
        (
            "interpolate(zeros([1, 1, 4, 4]), #{size: 2, mode: \"cubic\"})",
            "interpolate",
        ),
        (
            "interpolate(zeros([1, 1, 4, 4]), #{scale_factor: -1})",
            "interpolate",
        ),
        ("pad(zeros([2, 3]), [1])", "pad"),
        ("pad(zeros([2, 3]), [3, 0], \"reflect\")", "pad"),
        ("pad(zeros([3]), [1, 1], \"reflect\")", "pad"),
        ("pad(zeros([2, 3]), [-2, -2])", "pad"),
        ("pad(zeros([2, 3]), [1, 1], #{mode: \"wrap\"})", "pad"),
        ("batch_norm(zeros([4, 3]), (), ())", "batch_norm"),
        (
            "batch_norm(zeros([4, 3]), zeros([2]), ones([3]))",
            "batch_norm",
        ),
        (
            "batch_norm(zeros([1, 3]), (), (), #{training: true})",
            "batch_norm",
        ),
        ("layer_norm(zeros([2, 3]), [4])", "layer_norm"),
        (
            "layer_norm(zeros([2, 3]), [3], #{weight: zeros([2])})",
            "layer_norm",
        ),
        ("linear(zeros([2, 3]), zeros([4, 2]))", "linear"),
        ("linear(zeros([2, 3]), zeros([4, 3]), zeros([3]))", "linear"),
        (
            "embedding(tensor([0]), zeros([3, 2]), #{padding_idx: 5})",
            "embedding",
        ),
        ("dropout(zeros([2]), #{p: 2.0})", "dropout"),
        ("nn::conv2d(4, 6, 3, #{groups: 4})", "nn::conv2d"),
        (
            "nn::conv2d(4, 6, 3, #{padding_mode: \"constant\"})",
            "nn::conv2d",
        ),
        (
            "nn::conv2d(4, 6, 3, #{padding_mode: \"mirror\"})",
            "nn::conv2d",
        ),
        ("nn::conv1d(4, 6, [3, 3])", "nn::conv1d"),
        (
            "nn::conv_transpose2d(4, 6, 3, #{groups: 4})",
            "nn::conv_transpose2d",
        ),
        ("nn::max_pool2d(2, #{padding: 2})", "nn::max_pool2d"),
        (
            "nn::max_pool2d(2, #{return_indices: true})",
            "nn::max_pool2d",
        ),
        ("nn::avg_pool1d(2, #{dilation: 2})", "nn::avg_pool1d"),
        ("nn::adaptive_avg_pool1d([2, 2])", "nn::adaptive_avg_pool1d"),
        (
            "nn::batch_norm2d(3, #{track_running_stats: false}).running_mean",
            "running_mean",
        ),
        (
            "optim::adagrad(nn::linear(2, 2), #{lr_decay: -1})",
            "Adagrad",
        ),
        (
            "optim::rmsprop(nn::linear(2, 2), #{centered: 1})",
            "optim::rmsprop",
        ),
        (
            "optim::adam(nn::linear(2, 2), #{amsgrad: \"yes\"})",
            "optim::adam",
        ),
        ("optim::sgd(nn::linear(2, 2), #{momentum: -0.5})", "SGD"),
        ("optim::save(1, \"/tmp/x.safetensors\")", "optim::save"),
        (
            "optim::load(optim::sgd(nn::linear(2, 2)), \"/no/such.safetensors\")",
            "load",
        ),
        (
            "optim::sgd(nn::linear(2, 2)).load_state_dict(#{state: 3})",
            "load_state_dict",
        ),
        ("nn::upsample(#{})", "nn::upsample"),
        (
            "nn::upsample(#{size: 4, align_corners: true})",
            "nn::upsample",
        ),
    ];
    for (code, needle) in cases {
        let mut rt = Runtime::builder().seed(0).build().unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.eval(code)));
        match outcome {
            Err(_) => panic!("panicked on {code:?}"),
            Ok(Ok(v)) => panic!(
                "expected an error from {code:?}, got {}",
                ember::script::format_value(&v)
            ),
            Ok(Err(e)) => assert!(
                e.message.contains(needle) && !e.message.starts_with("argmax"),
                "{code}: {}",
                e.message
            ),
        }
    }
    // PyTorch reduces an empty tensor along a dimension that is not empty
    let mut rt = Runtime::new().unwrap();
    let v = rt.eval("zeros([0, 3]).amax(1)").unwrap();
    assert_eq!(v.try_cast::<Tensor>().unwrap().shape(), &[0]);
}
