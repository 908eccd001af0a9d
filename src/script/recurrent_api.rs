//! The recurrent part of `nn::` (rnn, lstm, gru and their cells, time_distributed,
//! repeat_vector, attention), the methods sequence models call (`run`, `step`,
//! `reset_states`, `context`), and `pad_sequences`.

use super::convert::{IntoRR, RR, check_opts, default_device, fail, num, opt, opt_num};
use super::nn_api::{init_opt_key, size};
use super::registrar::Api;
use crate::nn::Module;
use crate::nn::init::Init;
use crate::nn::layers::{
    Attention, CellInit, CellKind, Recurrent, RecurrentCell, RepeatVector, SequenceConfig,
    SequenceInput, TimeDistributed,
};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, ImmutableString, Map};

const SEQ_OPTS: &[&str] = &[
    "nonlinearity",
    "layers",
    "num_layers",
    "bidirectional",
    "batch_first",
    "return_sequences",
    "dropout",
    "recurrent_dropout",
    "stateful",
    "bias",
    "init",
    "recurrent_init",
];

fn cell_init(op: &str, o: &Map) -> RR<CellInit> {
    let get = |k: &str| -> RR<Option<Init>> {
        Ok(if o.contains_key(k) {
            Some(init_opt_key(op, o, k)?)
        } else {
            None
        })
    };
    Ok(CellInit {
        input: get("init")?,
        recurrent: get("recurrent_init")?,
    })
}

fn kind_of(op: &str, base: CellKind, o: &Map) -> RR<CellKind> {
    match opt::<ImmutableString>(op, o, "nonlinearity")? {
        None => Ok(base),
        Some(n) if matches!(base, CellKind::Rnn { .. }) => match n.as_str() {
            "tanh" => Ok(CellKind::Rnn { relu: false }),
            "relu" => Ok(CellKind::Rnn { relu: true }),
            other => fail(format!(
                "{op}: nonlinearity must be \"tanh\" or \"relu\", got {other:?}"
            )),
        },
        Some(_) => fail(format!("{op}: only nn::rnn takes a nonlinearity")),
    }
}

fn sequence_layer(op: &str, base: CellKind, i: i64, h: i64, o: Map) -> RR<Module> {
    check_opts(op, &o, SEQ_OPTS)?;
    let layers = opt::<i64>(op, &o, "layers")?
        .or(opt::<i64>(op, &o, "num_layers")?)
        .unwrap_or(1);
    let cfg = SequenceConfig {
        kind: kind_of(op, base, &o)?,
        input: size(op, i)?,
        hidden: size(op, h)?,
        layers: size(op, layers)?,
        bidirectional: opt::<bool>(op, &o, "bidirectional")?.unwrap_or(false),
        batch_first: opt::<bool>(op, &o, "batch_first")?.unwrap_or(true),
        return_sequences: opt::<bool>(op, &o, "return_sequences")?.unwrap_or(true),
        dropout: opt_num(op, &o, "dropout")?.unwrap_or(0.0),
        recurrent_dropout: opt_num(op, &o, "recurrent_dropout")?.unwrap_or(0.0),
        stateful: opt::<bool>(op, &o, "stateful")?.unwrap_or(false),
        bias: opt::<bool>(op, &o, "bias")?.unwrap_or(true),
    };
    let r = Recurrent::new(cfg, &cell_init(op, &o)?, default_device()).rr()?;
    Ok(Module::new(r))
}

fn cell_layer(op: &str, base: CellKind, i: i64, h: i64, o: Map) -> RR<Module> {
    check_opts(op, &o, &["nonlinearity", "bias", "init", "recurrent_init"])?;
    let c = RecurrentCell::new(
        kind_of(op, base, &o)?,
        size(op, i)?,
        size(op, h)?,
        opt::<bool>(op, &o, "bias")?.unwrap_or(true),
        &cell_init(op, &o)?,
        default_device(),
    )
    .rr()?;
    Ok(Module::new(c))
}

/// A state argument: one tensor, or an array of tensors (`[h, c]`).
fn state_arg(op: &str, v: Dynamic) -> RR<Vec<Tensor>> {
    if let Some(t) = v.clone().try_cast::<Tensor>() {
        return Ok(vec![t]);
    }
    let Some(arr) = v.try_cast::<Array>() else {
        return fail(format!(
            "{op}: the state must be a tensor or an array [h, c]"
        ));
    };
    arr.into_iter()
        .map(|x| {
            x.try_cast::<Tensor>().ok_or_else(|| {
                fail::<()>(format!("{op}: the state must hold tensors")).unwrap_err()
            })
        })
        .collect()
}

fn state_result(mut s: Vec<Tensor>) -> Dynamic {
    if s.len() == 1 {
        Dynamic::from(s.remove(0))
    } else {
        Dynamic::from(s.into_iter().map(Dynamic::from).collect::<Array>())
    }
}

fn lengths_arg(op: &str, v: &Dynamic) -> RR<Vec<usize>> {
    let vals: Vec<i64> = match v.clone().try_cast::<Tensor>() {
        Some(t) => t.to_i64_vec().rr()?,
        None => super::convert::int_list(op, v)?,
    };
    vals.into_iter()
        .map(|n| {
            if n < 0 {
                fail(format!("{op}: lengths must be non-negative, got {n}"))
            } else {
                Ok(n as usize)
            }
        })
        .collect()
}

fn run(m: &Module, x: Tensor, o: Map) -> RR<Map> {
    let op = "run";
    check_opts(op, &o, &["h", "c", "lengths"])?;
    let inp = SequenceInput {
        h: opt::<Tensor>(op, &o, "h")?,
        c: opt::<Tensor>(op, &o, "c")?,
        lengths: o.get("lengths").map(|v| lengths_arg(op, v)).transpose()?,
    };
    let out = m.run_sequence(&x, &inp).rr()?;
    let mut r = Map::new();
    r.insert("output".into(), Dynamic::from(out.output));
    r.insert("h".into(), Dynamic::from(out.h));
    if let Some(c) = out.c {
        r.insert("c".into(), Dynamic::from(c));
    }
    Ok(r)
}

/// Keras's `pad_sequences`: integer sequences to an i64 tensor `[N, maxlen]`.
pub fn pad_sequences(seqs: &Array, o: &Map) -> RR<Tensor> {
    let op = "pad_sequences";
    check_opts(op, o, &["maxlen", "padding", "truncating", "value"])?;
    let rows: Vec<Vec<i64>> = seqs
        .iter()
        .map(|s| match s.clone().try_cast::<Tensor>() {
            Some(t) => Ok(t.to_i64_vec().rr()?),
            None => super::convert::int_list(op, s),
        })
        .collect::<RR<_>>()?;
    let side = |k: &str| -> RR<bool> {
        match opt::<ImmutableString>(op, o, k)?.as_deref() {
            None | Some("pre") => Ok(true),
            Some("post") => Ok(false),
            Some(other) => fail(format!(
                "{op}: {k} must be \"pre\" or \"post\", got {other:?}"
            )),
        }
    };
    let (pad_pre, trunc_pre) = (side("padding")?, side("truncating")?);
    let maxlen = match opt::<i64>(op, o, "maxlen")? {
        Some(n) if n < 0 => return fail(format!("{op}: maxlen must be non-negative, got {n}")),
        Some(n) => n as usize,
        None => rows.iter().map(Vec::len).max().unwrap_or(0),
    };
    let value = match o.get("value") {
        Some(v) => num(op, v)? as i64,
        None => 0,
    };
    let mut out = Vec::with_capacity(rows.len() * maxlen);
    for r in &rows {
        let kept = if r.len() <= maxlen {
            &r[..]
        } else if trunc_pre {
            &r[r.len() - maxlen..]
        } else {
            &r[..maxlen]
        };
        let fill = std::iter::repeat_n(value, maxlen - kept.len());
        if pad_pre {
            out.extend(fill);
            out.extend_from_slice(kept);
        } else {
            out.extend_from_slice(kept);
            out.extend(fill);
        }
    }
    Tensor::from_i64(out, &[rows.len(), maxlen], default_device()).rr()
}

/// Adds the recurrent constructors to the `nn::` module `m`.
pub fn register_constructors(api: &mut Api, m: &mut rhai::Module) {
    let seq_doc = "#{layers, bidirectional, batch_first (true), return_sequences (true), dropout, recurrent_dropout, stateful, bias, init, recurrent_init}";
    for (name, base, what) in [
        (
            "rnn",
            CellKind::Rnn { relu: false },
            "Elman RNN h = tanh(W_ih x + W_hh h + b) (nonlinearity: \"relu\" for ReLU)",
        ),
        (
            "lstm",
            CellKind::Lstm,
            "LSTM (gates i, f, g, o as in PyTorch)",
        ),
        (
            "gru",
            CellKind::Gru,
            "GRU (PyTorch's equations; biases bias_ih and bias_hh)",
        ),
    ] {
        let op: &'static str = match name {
            "rnn" => "nn::rnn",
            "lstm" => "nn::lstm",
            _ => "nn::gru",
        };
        api.docs.add(
            op,
            &format!("{op}(in, hidden) / {op}(in, hidden, {seq_doc}) — {what} over [B, T, in]; forward gives [B, T, dirs*hidden] (or [B, dirs*hidden] with return_sequences: false); layer.run(x, #{{h, c, lengths}}) also returns the final state"),
        );
        m.set_native_fn(name, move |i: i64, h: i64| {
            sequence_layer(op, base, i, h, Map::new())
        });
        m.set_native_fn(name, move |i: i64, h: i64, o: Map| {
            sequence_layer(op, base, i, h, o)
        });
        let cop: &'static str = match name {
            "rnn" => "nn::rnn_cell",
            "lstm" => "nn::lstm_cell",
            _ => "nn::gru_cell",
        };
        let cname = &cop[4..];
        api.docs.add(
            cop,
            &format!("{cop}(in, hidden) / {cop}(in, hidden, #{{nonlinearity, bias, init, recurrent_init}}) — one {} step: cell.step(x [B, in], state) returns the new state ({})", name.to_uppercase(), if name == "lstm" { "[h, c]" } else { "h" }),
        );
        m.set_native_fn(cname, move |i: i64, h: i64| {
            cell_layer(cop, base, i, h, Map::new())
        });
        m.set_native_fn(cname, move |i: i64, h: i64, o: Map| {
            cell_layer(cop, base, i, h, o)
        });
    }
    api.docs.add(
        "nn::time_distributed",
        "nn::time_distributed(layer) — applies a layer at every step of [B, T, ...] (linear layers already act on the last dimension)",
    );
    m.set_native_fn("time_distributed", |l: Module| {
        Ok::<_, Box<rhai::EvalAltResult>>(Module::new(TimeDistributed { inner: l }))
    });
    api.docs.add(
        "nn::repeat_vector",
        "nn::repeat_vector(n) — [B, F] to [B, n, F], the same vector at each step",
    );
    m.set_native_fn("repeat_vector", |n: i64| {
        Ok::<_, Box<rhai::EvalAltResult>>(Module::new(RepeatVector {
            n: size("nn::repeat_vector", n)?,
        }))
    });
    api.docs.add(
        "nn::attention",
        "nn::attention(key_dim, query_dim, units) — additive (Bahdanau) attention: att.context(keys [B, T, key_dim], query [B, query_dim], mask [B, T]) returns #{context, weights}",
    );
    m.set_native_fn("attention", |k: i64, q: i64, u: i64| {
        let op = "nn::attention";
        Ok::<_, Box<rhai::EvalAltResult>>(Module::new(
            Attention::new(size(op, k)?, size(op, q)?, size(op, u)?, default_device()).rr()?,
        ))
    });
}

/// Methods of recurrent modules and the global sequence helpers.
pub fn register_methods(api: &mut Api) {
    reg!(
        api,
        "run",
        "layer.run(x) / layer.run(x, #{h, c, lengths}) — a recurrent layer's #{output, h, c}: the output and the final state [layers*dirs, B, hidden] (c for an LSTM); h and c set the initial state, lengths the valid steps per sequence",
        |m: &mut Module, x: Tensor| run(m, x, Map::new())
    );
    reg!(api, "run", "", |m: &mut Module, x: Tensor, o: Map| run(
        m, x, o
    ));
    reg!(
        api,
        "step",
        "cell.step(x, state) — one recurrent step; state is h (RNN, GRU) or [h, c] (LSTM), and the new state comes back the same way",
        |m: &mut Module, x: Tensor, s: Dynamic| -> RR<Dynamic> {
            Ok(state_result(m.step(&x, &state_arg("step", s)?).rr()?))
        }
    );
    reg!(
        api,
        "reset_states",
        "model.reset_states() — stateful recurrent layers forget the state carried between batches",
        |m: &mut Module| m.reset_states()
    );
    let context = |m: &mut Module, k: Tensor, q: Tensor, mask: Option<Tensor>| -> RR<Map> {
        let (c, w) = m.attend(&k, &q, mask.as_ref()).rr()?;
        let mut r = Map::new();
        r.insert("context".into(), Dynamic::from(c));
        r.insert("weights".into(), Dynamic::from(w));
        Ok(r)
    };
    reg!(
        api,
        "context",
        "att.context(keys, query) / att.context(keys, query, mask) — #{context [B, key_dim], weights [B, T]}; masked steps get weight 0",
        move |m: &mut Module, k: Tensor, q: Tensor| context(m, k, q, None)
    );
    reg!(
        api,
        "context",
        "",
        move |m: &mut Module, k: Tensor, q: Tensor, mask: Tensor| context(m, k, q, Some(mask))
    );
    reg!(
        api,
        "pad_sequences",
        "pad_sequences(seqs) / pad_sequences(seqs, #{maxlen, padding: \"pre\"|\"post\", truncating: \"pre\"|\"post\", value}) — integer sequences (arrays or tensors) to an i64 tensor [N, maxlen], Keras's defaults (pre)",
        |a: Array| pad_sequences(&a, &Map::new())
    );
    reg!(api, "pad_sequences", "", |a: Array, o: Map| pad_sequences(
        &a, &o
    ));
    reg!(
        api,
        "masked_softmax",
        "masked_softmax(x, mask, dim) — softmax along dim where mask (bool or 0/1) is false gets weight exactly 0",
        |x: Tensor, m: Tensor, d: i64| x.masked_softmax(&m, d).rr()
    );
}
