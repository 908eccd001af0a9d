//! Recurrent layers against PyTorch's numbers, gradients through time (finite differences),
//! padding and lengths, stateful mode, attention and the sequence helpers.

mod common;

use common::{assert_close, spread, t};
use ember::nn::Module;
use ember::nn::layers::{
    Attention, CellInit, CellKind, Recurrent, RecurrentCell, SequenceConfig, SequenceInput,
};
use ember::{Device, Runtime, Tensor};

/// The same formula as the PyTorch reference script: sin(0.7 k + salt) / 2.
fn f(shape: &[usize], salt: f32) -> Tensor {
    let n: usize = shape.iter().product();
    t(
        &(0..n)
            .map(|k| ((k as f32) * 0.7 + salt).sin() * 0.5)
            .collect::<Vec<_>>(),
        shape,
    )
}

fn cfg(kind: CellKind, input: usize, hidden: usize) -> SequenceConfig {
    SequenceConfig {
        kind,
        input,
        hidden,
        layers: 1,
        bidirectional: false,
        batch_first: true,
        return_sequences: true,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        stateful: false,
        bias: true,
    }
}

fn layer(c: SequenceConfig) -> Module {
    Module::new(Recurrent::new(c, &CellInit::default(), Device::Cpu).unwrap())
}

fn run(m: &Module, x: &Tensor, inp: &SequenceInput) -> (Tensor, Tensor, Option<Tensor>) {
    let o = m.run_sequence(x, inp).unwrap();
    (o.output, o.h, o.c)
}

#[test]
fn lstm_matches_pytorch_bidirectional() {
    let m = layer(SequenceConfig {
        bidirectional: true,
        ..cfg(CellKind::Lstm, 3, 2)
    });
    for (sfx, s) in [("", 1.0), ("_reverse", 2.0)] {
        m.set_tensor(&format!("weight_ih_l0{sfx}"), f(&[8, 3], s))
            .unwrap();
        m.set_tensor(&format!("weight_hh_l0{sfx}"), f(&[8, 2], s + 0.3))
            .unwrap();
        // PyTorch's two biases; only their sum matters, so one carries it all
        m.set_tensor(&format!("bias_ih_l0{sfx}"), f(&[8], s + 0.6))
            .unwrap();
        m.set_tensor(&format!("bias_hh_l0{sfx}"), common::zeros(&[8]))
            .unwrap();
    }
    let (out, h, c) = run(&m, &f(&[2, 3, 3], 0.1), &SequenceInput::default());
    assert_eq!(out.shape(), &[2, 3, 4]);
    #[rustfmt::skip]
    assert_close(&out.to_f32_vec().unwrap(), &[-0.237356, -0.094788, -0.296662, 0.027659, -0.243325, -0.276578, -0.181466, -0.084054, -0.163805, -0.253868, 0.033489, -0.148101, -0.238807, -0.095376, -0.297451, 0.027318, -0.241389, -0.277766, -0.178936, -0.085514, -0.164187, -0.252645, 0.032872, -0.146267], 1e-5);
    assert_close(
        &h.to_f32_vec().unwrap(),
        &[
            -0.163805, -0.253868, -0.164187, -0.252645, -0.296662, 0.027659, -0.297451, 0.027318,
        ],
        1e-5,
    );
    assert_close(
        &c.unwrap().to_f32_vec().unwrap(),
        &[
            -0.503113, -0.413755, -0.503607, -0.41231, -0.544891, 0.051962, -0.545508, 0.051497,
        ],
        1e-5,
    );
}

#[test]
fn gru_and_relu_rnn_match_pytorch() {
    let g = layer(cfg(CellKind::Gru, 3, 2));
    g.set_tensor("weight_ih_l0", f(&[6, 3], 1.0)).unwrap();
    g.set_tensor("weight_hh_l0", f(&[6, 2], 1.3)).unwrap();
    g.set_tensor("bias_ih_l0", f(&[6], 1.6)).unwrap();
    g.set_tensor("bias_hh_l0", f(&[6], 1.9)).unwrap();
    let (out, h, c) = run(&g, &f(&[2, 3, 3], 0.1), &SequenceInput::default());
    assert!(c.is_none());
    #[rustfmt::skip]
    assert_close(&out.to_f32_vec().unwrap(), &[-0.42517, -0.339464, -0.57195, -0.611872, -0.572347, -0.63401, -0.426527, -0.340118, -0.570783, -0.612862, -0.572574, -0.633003], 1e-5);
    assert_close(
        &h.to_f32_vec().unwrap(),
        &[-0.572347, -0.63401, -0.572574, -0.633003],
        1e-5,
    );

    let r = layer(cfg(CellKind::Rnn { relu: true }, 3, 2));
    r.set_tensor("weight_ih_l0", f(&[2, 3], 1.0)).unwrap();
    r.set_tensor("weight_hh_l0", f(&[2, 2], 1.3)).unwrap();
    r.set_tensor("bias_ih_l0", f(&[2], 1.6)).unwrap();
    r.set_tensor("bias_hh_l0", common::zeros(&[2])).unwrap();
    let (out, _, _) = run(&r, &f(&[2, 3, 3], 0.1), &SequenceInput::default());
    #[rustfmt::skip]
    assert_close(&out.to_f32_vec().unwrap(), &[0.867075, 0.02039, 1.081465, 0.635485, 0.78628, 0.79449, 0.873648, 0.018531, 1.075089, 0.643195, 0.788922, 0.787875], 1e-5);
}

/// Loss = sum(output * w) + sum(h * w2) for fixed projection weights.
fn loss_of(m: &Module, x: &Tensor, inp: &SequenceInput) -> Tensor {
    let (out, h, c) = run(m, x, inp);
    let w = spread(out.shape(), 0.5, 1.5, 7);
    let w2 = spread(h.shape(), -1.0, 1.0, 8);
    let mut l = out.mul(&w).unwrap().sum().unwrap();
    l = l.add(&h.mul(&w2).unwrap().sum().unwrap()).unwrap();
    if let Some(c) = c {
        l = l.add(&c.mul(&w2).unwrap().sum().unwrap()).unwrap();
    }
    l
}

/// Central differences on every parameter element and the input, against backward.
fn gradcheck_layer(name: &str, m: &Module, x: &Tensor, lengths: Option<Vec<usize>>) {
    let inp = || SequenceInput {
        lengths: lengths.clone(),
        ..Default::default()
    };
    let x = x.detach().requires_grad_(true).unwrap();
    m.zero_grad();
    loss_of(m, &x, &inp()).backward().unwrap();
    let eps = 3e-3f32;
    let mut targets: Vec<(String, Tensor)> = m.named_parameters();
    targets.push(("input".into(), x.clone()));
    for (pname, p) in targets {
        let analytic = p
            .grad()
            .unwrap_or_else(|| panic!("{name}: no gradient for {pname}"))
            .to_f32_vec()
            .unwrap();
        let base = p.to_f32_vec().unwrap();
        for j in 0..base.len() {
            let eval = |d: f32| -> f64 {
                let _g = ember::tensor::no_grad();
                let mut v = base.clone();
                v[j] += d;
                let moved = Tensor::from_f32(v, p.shape(), Device::Cpu).unwrap();
                let l = if pname == "input" {
                    loss_of(m, &moved, &inp())
                } else {
                    m.set_state(&pname, moved).unwrap();
                    let l = loss_of(m, &x.detach(), &inp());
                    m.set_state(&pname, t(&base, p.shape())).unwrap();
                    l
                };
                l.item().unwrap()
            };
            let numeric = (eval(eps) - eval(-eps)) / (2.0 * eps as f64);
            let a = analytic[j] as f64;
            assert!(
                (a - numeric).abs() <= 2e-2 * (1.0 + numeric.abs()),
                "{name}: {pname}[{j}]: analytic {a} vs numeric {numeric}"
            );
        }
    }
}

#[test]
fn gradients_through_time_for_each_cell() {
    for (name, kind) in [
        ("rnn tanh", CellKind::Rnn { relu: false }),
        ("lstm", CellKind::Lstm),
        ("gru", CellKind::Gru),
    ] {
        ember::tensor::random::manual_seed(3);
        let m = layer(SequenceConfig {
            layers: 2,
            bidirectional: true,
            ..cfg(kind, 3, 2)
        });
        let x = spread(&[2, 4, 3], -1.0, 1.0, 5);
        gradcheck_layer(name, &m, &x, None);
        gradcheck_layer(&format!("{name} with lengths"), &m, &x, Some(vec![4, 2]));
    }
}

#[test]
fn cells_step_like_the_layer() {
    ember::tensor::random::manual_seed(1);
    let seq = layer(cfg(CellKind::Lstm, 3, 4));
    let cell = Module::new(
        RecurrentCell::new(
            CellKind::Lstm,
            3,
            4,
            true,
            &CellInit::default(),
            Device::Cpu,
        )
        .unwrap(),
    );
    cell.set_tensor("weight_ih", seq.get_tensor("weight_ih_l0").unwrap())
        .unwrap();
    cell.set_tensor("weight_hh", seq.get_tensor("weight_hh_l0").unwrap())
        .unwrap();
    cell.set_tensor("bias_ih", seq.get_tensor("bias_ih_l0").unwrap())
        .unwrap();
    cell.set_tensor("bias_hh", seq.get_tensor("bias_hh_l0").unwrap())
        .unwrap();
    let x = spread(&[2, 5, 3], -1.0, 1.0, 9);
    let (out, h, c) = run(&seq, &x, &SequenceInput::default());
    let mut s = vec![common::zeros(&[2, 4]), common::zeros(&[2, 4])];
    for step in 0..5 {
        let xt = x.narrow(1, step, 1).unwrap().reshape(&[2, 3]).unwrap();
        s = cell.step(&xt, &s).unwrap();
        let want = out.narrow(1, step, 1).unwrap().reshape(&[2, 4]).unwrap();
        assert_close(
            &s[0].to_f32_vec().unwrap(),
            &want.to_f32_vec().unwrap(),
            1e-6,
        );
    }
    assert_close(&s[0].to_f32_vec().unwrap(), &h.to_f32_vec().unwrap(), 1e-6);
    assert_close(
        &s[1].to_f32_vec().unwrap(),
        &c.unwrap().to_f32_vec().unwrap(),
        1e-6,
    );
}

#[test]
fn a_sequence_alone_equals_it_inside_a_padded_batch() {
    for kind in [CellKind::Lstm, CellKind::Gru, CellKind::Rnn { relu: false }] {
        ember::tensor::random::manual_seed(2);
        let m = layer(SequenceConfig {
            bidirectional: true,
            layers: 2,
            ..cfg(kind, 3, 4)
        });
        let alone = spread(&[1, 3, 3], -1.0, 1.0, 11);
        let other = spread(&[1, 5, 3], -1.0, 1.0, 12);
        // pad `alone` to 5 steps with junk (not zeros) that must be ignored
        let padded = Tensor::cat(&[alone.clone(), spread(&[1, 2, 3], 5.0, 9.0, 13)], 1).unwrap();
        let batch = Tensor::cat(&[padded, other], 0).unwrap();
        let (o1, h1, c1) = run(&m, &alone, &SequenceInput::default());
        let lengths = Some(vec![3, 5]);
        let (ob, hb, cb) = run(
            &m,
            &batch,
            &SequenceInput {
                lengths,
                ..Default::default()
            },
        );
        let first = ob.narrow(0, 0, 1).unwrap();
        assert_close(
            &first.narrow(1, 0, 3).unwrap().to_f32_vec().unwrap(),
            &o1.to_f32_vec().unwrap(),
            1e-5,
        );
        assert!(
            first
                .narrow(1, 3, 2)
                .unwrap()
                .to_f32_vec()
                .unwrap()
                .iter()
                .all(|&v| v == 0.0),
            "outputs past the length are zero"
        );
        assert_close(
            &hb.narrow(1, 0, 1).unwrap().to_f32_vec().unwrap(),
            &h1.to_f32_vec().unwrap(),
            1e-5,
        );
        if let (Some(cb), Some(c1)) = (cb, c1) {
            assert_close(
                &cb.narrow(1, 0, 1).unwrap().to_f32_vec().unwrap(),
                &c1.to_f32_vec().unwrap(),
                1e-5,
            );
        }
    }
}

#[test]
fn stateful_mode_carries_state_until_reset() {
    ember::tensor::random::manual_seed(4);
    let plain = layer(cfg(CellKind::Lstm, 2, 3));
    let stateful = layer(SequenceConfig {
        stateful: true,
        ..cfg(CellKind::Lstm, 2, 3)
    });
    for (n, t) in plain.named_parameters() {
        stateful.set_state(&n, t).unwrap();
    }
    let x = spread(&[2, 6, 2], -1.0, 1.0, 21);
    let (whole, _, _) = run(&plain, &x, &SequenceInput::default());
    let (a, _, _) = run(
        &stateful,
        &x.narrow(1, 0, 3).unwrap(),
        &SequenceInput::default(),
    );
    let (b, _, _) = run(
        &stateful,
        &x.narrow(1, 3, 3).unwrap(),
        &SequenceInput::default(),
    );
    let joined = Tensor::cat(&[a, b], 1).unwrap();
    assert_close(
        &joined.to_f32_vec().unwrap(),
        &whole.to_f32_vec().unwrap(),
        1e-6,
    );
    stateful.reset_states();
    let (again, _, _) = run(
        &stateful,
        &x.narrow(1, 0, 3).unwrap(),
        &SequenceInput::default(),
    );
    assert_close(
        &again.to_f32_vec().unwrap(),
        &whole.narrow(1, 0, 3).unwrap().to_f32_vec().unwrap(),
        1e-6,
    );
    // a different batch size without a reset is an error, not a panic
    let err = stateful
        .run_sequence(&spread(&[3, 2, 2], 0.0, 1.0, 1), &SequenceInput::default())
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("reset_states"), "{err:#}");
}

#[test]
fn initial_state_and_last_output() {
    ember::tensor::random::manual_seed(5);
    let m = layer(SequenceConfig {
        return_sequences: false,
        bidirectional: true,
        ..cfg(CellKind::Gru, 2, 3)
    });
    let x = spread(&[2, 4, 2], -1.0, 1.0, 3);
    let h0 = spread(&[2, 2, 3], -1.0, 1.0, 4);
    let o = m
        .run_sequence(
            &x,
            &SequenceInput {
                h: Some(h0.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(o.output.shape(), &[2, 6]);
    // the last output is the final state of each direction, concatenated
    let want = Tensor::cat(
        &[
            o.h.narrow(0, 0, 1).unwrap().reshape(&[2, 3]).unwrap(),
            o.h.narrow(0, 1, 1).unwrap().reshape(&[2, 3]).unwrap(),
        ],
        -1,
    )
    .unwrap();
    assert_close(
        &o.output.to_f32_vec().unwrap(),
        &want.to_f32_vec().unwrap(),
        0.0,
    );
    // a different initial state changes the result
    let o0 = m.run_sequence(&x, &SequenceInput::default()).unwrap();
    assert!(o0.output.to_f32_vec().unwrap() != o.output.to_f32_vec().unwrap());
    // a wrong-shaped state is a clear error
    let err = m
        .run_sequence(
            &x,
            &SequenceInput {
                h: Some(common::zeros(&[1, 2, 3])),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("[2, 2, 3]"), "{err:#}");
}

#[test]
fn attention_weights_are_masked_and_sum_to_one() {
    ember::tensor::random::manual_seed(6);
    let att = Module::new(Attention::new(4, 3, 5, Device::Cpu).unwrap());
    let keys = spread(&[2, 4, 4], -1.0, 1.0, 1);
    let q = spread(&[2, 3], -1.0, 1.0, 2);
    let mask = t(&[1., 1., 1., 1., 1., 1., 0., 0.], &[2, 4]);
    let (ctx, w) = att.attend(&keys, &q, Some(&mask)).unwrap();
    assert_eq!(ctx.shape(), &[2, 4]);
    let w = w.to_f32_vec().unwrap();
    assert_eq!(&w[6..], &[0.0, 0.0]);
    assert!((w[..4].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!((w[4..].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    // the context is the weighted sum of the keys
    let k = keys.to_f32_vec().unwrap();
    for e in 0..4 {
        let want: f32 = (0..4).map(|j| w[4 + j] * k[16 + j * 4 + e]).sum();
        assert!((ctx.to_f32_vec().unwrap()[4 + e] - want).abs() < 1e-5);
    }
}

fn eval(src: &str) -> rhai::Dynamic {
    let mut rt = Runtime::builder().seed(0).build().unwrap();
    rt.eval(src).unwrap_or_else(|e| panic!("{src}\n{e}"))
}

#[test]
fn script_surface_for_sequences() {
    // Keras pad_sequences: pre-padding and pre-truncation by default
    let r =
        eval("let p = pad_sequences([[1, 2, 3], [4, 5], [6, 7, 8, 9]], #{maxlen: 3}); p.tolist()");
    assert_eq!(format!("{r:?}"), "[[1, 2, 3], [0, 4, 5], [7, 8, 9]]");
    let r = eval(
        "pad_sequences([[1, 2, 3], [4]], #{maxlen: 2, padding: \"post\", truncating: \"post\", value: 9}).tolist()",
    );
    assert_eq!(format!("{r:?}"), "[[1, 2], [4, 9]]");
    let r = eval("nn::repeat_vector(3).forward(tensor([[1.0, 2.0]])).tolist()");
    assert_eq!(format!("{r:?}"), "[[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]");
    // lesson 6: embedding(86, 42) -> rnn(256, relu, identity) -> linear(86); the RNN holds
    // PyTorch's two biases (76,800 values), Keras counts one (76,544)
    let r = eval(
        r#"let m = nn::sequential([nn::embedding(86, 42), nn::rnn(42, 256, #{nonlinearity: "relu", recurrent_init: "identity"}), nn::linear(256, 86)]);
           [m.layers().map(|l| l.count_parameters()), m.layers().map(|l| l.keras_parameter_count()), m.keras_parameter_count()]"#,
    );
    assert_eq!(
        format!("{r:?}"),
        "[[3612, 76800, 22102], [3612, 76544, 22102], 102258]"
    );
    let s = eval(
        r#"let m = nn::sequential([nn::embedding(86, 42), nn::rnn(42, 256), nn::linear(256, 86)]); m.summary([1, 8])"#,
    )
    .into_string()
    .unwrap();
    assert!(
        s.contains("Keras count") && s.contains("76,544") && s.contains("76,800"),
        "{s}"
    );
    let r = eval(
        "let l = nn::lstm(3, 4, #{bidirectional: true}); let r = l.run(randn([2, 5, 3])); [r.output.shape, r.h.shape, r.c.shape]",
    );
    assert_eq!(format!("{r:?}"), "[[2, 5, 8], [2, 2, 4], [2, 2, 4]]");
    let r = eval(
        "let c = nn::lstm_cell(3, 4); let s = c.step(randn([2, 3]), [zeros([2, 4]), zeros([2, 4])]); [s.len(), s[1].shape]",
    );
    assert_eq!(format!("{r:?}"), "[2, [2, 4]]");
    let r = eval("nn::gru_cell(3, 4).step(randn([2, 3]), zeros([2, 4])).shape");
    assert_eq!(format!("{r:?}"), "[2, 4]");
    let r = eval(
        "let m = masked_softmax(tensor([[1.0, 2.0, 3.0]]), tensor([[true, true, false]]), 1); m.tolist()",
    );
    let s = format!("{r:?}");
    assert!(s.ends_with("0.0]]"), "{s}");
}

#[test]
fn dropout_applies_only_in_training_mode() {
    ember::tensor::random::manual_seed(8);
    let m = layer(SequenceConfig {
        layers: 2,
        dropout: 0.5,
        recurrent_dropout: 0.5,
        ..cfg(CellKind::Lstm, 3, 8)
    });
    let x = spread(&[2, 6, 3], -1.0, 1.0, 30);
    m.set_training(false);
    let (e1, _, _) = run(&m, &x, &SequenceInput::default());
    let (e2, _, _) = run(&m, &x, &SequenceInput::default());
    assert_eq!(
        e1.to_f32_vec().unwrap(),
        e2.to_f32_vec().unwrap(),
        "evaluation is deterministic"
    );
    m.set_training(true);
    let (t1, _, _) = run(&m, &x, &SequenceInput::default());
    let (t2, _, _) = run(&m, &x, &SequenceInput::default());
    assert!(
        t1.to_f32_vec().unwrap() != e1.to_f32_vec().unwrap(),
        "training mode drops units"
    );
    assert!(
        t1.to_f32_vec().unwrap() != t2.to_f32_vec().unwrap(),
        "a new mask per call"
    );
    // with dropout off, training and evaluation agree
    let plain = layer(cfg(CellKind::Gru, 3, 4));
    plain.set_training(true);
    let (a, _, _) = run(&plain, &x, &SequenceInput::default());
    plain.set_training(false);
    let (b, _, _) = run(&plain, &x, &SequenceInput::default());
    assert_eq!(a.to_f32_vec().unwrap(), b.to_f32_vec().unwrap());
}
