//! The `nn::` namespace (layers, initialisers, save/load) and the methods of `Module` objects.

use super::convert::{IntoRR, RR, check_opts, default_device, fail, int_list, num, opt, opt_num};
use super::registrar::Api;
use crate::nn::init::{Init, make};
use crate::nn::layers::{
    Activation, Dropout, Embedding, Flatten, GlobalAvgPool, LayerNorm, Linear, Sequential,
};
use crate::nn::{Module, serialize};
use crate::tensor::{Device, Tensor};
use rhai::{Array, Dynamic, ImmutableString, Map};
use std::path::Path;

/// Reads `init` from options: a name, or `#{constant: v}` / `#{uniform: [a, b]}` / `#{normal: [m, s]}`.
pub(super) fn init_opt(op: &str, o: &Map) -> RR<Init> {
    init_opt_key(op, o, "init")
}

/// Reads an initialiser option under `key` (see [`init_opt`]).
pub(super) fn init_opt_key(op: &str, o: &Map, key: &str) -> RR<Init> {
    match o.get(key) {
        None => Ok(Init::Default),
        Some(v) if v.is_string() => Init::parse(&v.clone().into_string().unwrap_or_default()).rr(),
        Some(v) => {
            let m = v.clone().try_cast::<Map>().ok_or_else(|| {
                fail::<()>(format!("{op}: init must be a name or a map")).unwrap_err()
            })?;
            if let Some(c) = opt_num(op, &m, "constant")? {
                return Ok(Init::Constant(c));
            }
            let pair = |k: &str| -> RR<Option<(f64, f64)>> {
                match m.get(k) {
                    None => Ok(None),
                    Some(a) => {
                        let arr = a.clone().try_cast::<Array>().ok_or_else(|| {
                            fail::<()>(format!("{op}: init {k} takes [a, b]")).unwrap_err()
                        })?;
                        if arr.len() != 2 {
                            return fail(format!("{op}: init {k} takes [a, b]"));
                        }
                        Ok(Some((num(op, &arr[0])?, num(op, &arr[1])?)))
                    }
                }
            };
            if let Some((a, b)) = pair("uniform")? {
                return Ok(Init::Uniform(a, b));
            }
            if let Some((a, b)) = pair("normal")? {
                return Ok(Init::Normal(a, b));
            }
            fail(format!("{op}: init map needs constant, uniform or normal"))
        }
    }
}

pub(super) fn size(op: &str, v: i64) -> RR<usize> {
    if v <= 0 {
        fail(format!("{op}: sizes must be positive, got {v}"))
    } else {
        Ok(v as usize)
    }
}

/// Applies the options every parametrised layer understands: `l2`, `trainable`.
pub(super) fn finish(op: &str, m: Module, o: &Map) -> RR<Module> {
    if let Some(l2) = opt_num(op, o, "l2")? {
        m.set_l2(l2).rr()?;
    }
    if let Some(t) = opt::<bool>(op, o, "trainable")? {
        m.set_trainable(t).rr()?;
    }
    Ok(m)
}

fn linear(i: i64, o_: i64, o: Map) -> RR<Module> {
    check_opts("nn::linear", &o, &["bias", "init", "l2", "trainable"])?;
    let l = Linear::new(
        size("nn::linear", i)?,
        size("nn::linear", o_)?,
        opt::<bool>("nn::linear", &o, "bias")?.unwrap_or(true),
        &init_opt("nn::linear", &o)?,
        default_device(),
    )
    .rr()?;
    finish("nn::linear", Module::new(l), &o)
}

fn embedding(v: i64, d: i64, o: Map) -> RR<Module> {
    let op = "nn::embedding";
    check_opts(
        op,
        &o,
        &["padding_idx", "weights", "trainable", "init", "l2"],
    )?;
    let pad = opt::<i64>(op, &o, "padding_idx")?;
    let e = match opt::<Tensor>(op, &o, "weights")? {
        Some(w) => {
            if w.shape() != [v as usize, d as usize] {
                return fail(format!(
                    "{op}: pretrained weights of shape {:?} do not match [{v}, {d}]",
                    w.shape()
                ));
            }
            Embedding::from_weights(w, pad).rr()?
        }
        None => Embedding::new(
            size(op, v)?,
            size(op, d)?,
            pad,
            &init_opt(op, &o)?,
            default_device(),
        )
        .rr()?,
    };
    finish(op, Module::new(e), &o)
}

pub(super) fn modules(op: &str, arr: &Array) -> RR<Vec<Module>> {
    arr.iter()
        .map(|v| {
            v.clone().try_cast::<Module>().ok_or_else(|| {
                fail::<()>(format!("{op}: expected layers, found {}", v.type_name())).unwrap_err()
            })
        })
        .collect()
}

/// Token ids (i64) when the first layer is an embedding, else f32: the example input
/// `summary(shape)` builds.
fn first_input_dtype(m: &Module) -> crate::tensor::DType {
    let mut first = m.clone();
    while let Some(c) = first.children().into_iter().next() {
        first = c;
    }
    if first.kind() == "Embedding" {
        crate::tensor::DType::I64
    } else {
        crate::tensor::DType::F32
    }
}

/// `nn::load(model, path, #{strict, map})`: the report as PyTorch's names.
fn load_with(m: &Module, path: &str, o: &Map) -> RR<Map> {
    let op = "nn::load";
    check_opts(op, o, &["strict", "map"])?;
    let mut lo = serialize::LoadOptions {
        strict: opt::<bool>(op, o, "strict")?.unwrap_or(true),
        rename: Vec::new(),
    };
    if let Some(v) = o.get("map") {
        let Some(map) = v.clone().try_cast::<Map>() else {
            return fail(format!(
                "{op}: map should be a map from the file's names to the model's, got {}",
                v.type_name()
            ));
        };
        for (from, to) in map {
            let to = to.into_string().map_err(|t| {
                fail::<()>(format!("{op}: map values must be names, got {t}")).unwrap_err()
            })?;
            lo.rename.push((from.to_string(), to));
        }
    }
    let r = m.load_with(Path::new(path), &lo).rr()?;
    let names = |v: Vec<String>| -> Dynamic {
        Dynamic::from_array(v.into_iter().map(Dynamic::from).collect())
    };
    let mut out = Map::new();
    out.insert("missing_keys".into(), names(r.missing));
    out.insert("unexpected_keys".into(), names(r.unexpected));
    Ok(out)
}

fn tensors_to_array(ts: Vec<Tensor>) -> Array {
    ts.into_iter().map(Dynamic::from).collect()
}

fn named_map(ts: Vec<(String, Tensor)>) -> Map {
    ts.into_iter()
        .map(|(n, t)| (n.into(), Dynamic::from(t)))
        .collect()
}

pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<Module>("Module");
    let mut m = rhai::Module::new();
    macro_rules! nnf {
        ($name:literal, $doc:literal, $f:expr) => {{
            api.docs.add(concat!("nn::", $name), $doc);
            m.set_native_fn($name, $f);
        }};
    }
    nnf!(
        "linear",
        "nn::linear(in, out) / nn::linear(in, out, #{bias, init, l2, trainable}) — y = x @ W.T + b on the last dimension; W [out, in]",
        |i: i64, o: i64| linear(i, o, Map::new())
    );
    m.set_native_fn("linear", linear);
    nnf!(
        "global_avg_pool",
        "nn::global_avg_pool() — mean over all spatial positions: [N, C, ...] to [N, C]\nexample: nn::global_avg_pool().forward(ones([2, 3, 4, 4])).shape",
        || Ok::<_, Box<rhai::EvalAltResult>>(Module::new(GlobalAvgPool))
    );
    super::nn_conv_api::register_constructors(api, &mut m);
    nnf!(
        "layer_norm",
        "nn::layer_norm(shape, #{eps, affine}) — normalises over the last dimensions (shape: int or array)",
        |s: Dynamic| {
            let dims = int_list("nn::layer_norm", &s)?;
            Ok::<_, Box<rhai::EvalAltResult>>(Module::new(
                LayerNorm::new(
                    dims.iter().map(|&d| d.max(0) as usize).collect(),
                    1e-5,
                    true,
                    default_device(),
                )
                .rr()?,
            ))
        }
    );
    m.set_native_fn("layer_norm", |s: Dynamic, o: Map| {
        check_opts("nn::layer_norm", &o, &["eps", "affine"])?;
        let dims = int_list("nn::layer_norm", &s)?;
        let eps = opt_num("nn::layer_norm", &o, "eps")?.unwrap_or(1e-5);
        let affine = opt::<bool>("nn::layer_norm", &o, "affine")?.unwrap_or(true);
        Ok::<_, Box<rhai::EvalAltResult>>(Module::new(
            LayerNorm::new(
                dims.iter().map(|&d| d.max(0) as usize).collect(),
                eps,
                affine,
                default_device(),
            )
            .rr()?,
        ))
    });
    nnf!(
        "dropout",
        "nn::dropout(p) — zeroes elements with probability p in training mode",
        |p: Dynamic| {
            let p = num("nn::dropout", &p)?;
            if !(0.0..=1.0).contains(&p) {
                return fail(format!("nn::dropout: p must be in [0, 1], got {p}"));
            }
            Ok(Module::new(Dropout { p }))
        }
    );
    nnf!(
        "embedding",
        "nn::embedding(vocab, dim, #{padding_idx, weights, trainable, init, l2}) — rows of a [vocab, dim] table for i64 ids",
        |v: i64, d: i64| embedding(v, d, Map::new())
    );
    m.set_native_fn("embedding", embedding);
    nnf!(
        "flatten",
        "nn::flatten() — merges every dimension after the first",
        || Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Flatten))
    );
    nnf!("relu", "nn::relu() — ReLU as a layer", || Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Module::new(Activation::Relu)
    ));
    nnf!("tanh", "nn::tanh() — tanh as a layer", || Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Module::new(Activation::Tanh)
    ));
    nnf!("sigmoid", "nn::sigmoid() — sigmoid as a layer", || Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Module::new(Activation::Sigmoid)
    ));
    nnf!(
        "elu",
        "nn::elu() / nn::elu(alpha) — ELU as a layer",
        || Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Activation::Elu(1.0)))
    );
    m.set_native_fn("elu", |a: Dynamic| {
        Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Activation::Elu(num("nn::elu", &a)?)))
    });
    nnf!(
        "leaky_relu",
        "nn::leaky_relu() / nn::leaky_relu(slope) — leaky ReLU as a layer (slope 0.01)",
        || Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Activation::LeakyRelu(0.01)))
    );
    m.set_native_fn("leaky_relu", |a: Dynamic| {
        Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Activation::LeakyRelu(num(
            "nn::leaky_relu",
            &a,
        )?)))
    });
    nnf!(
        "softmax",
        "nn::softmax(dim) — softmax as a layer",
        |d: i64| Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Activation::Softmax(d)))
    );
    nnf!(
        "log_softmax",
        "nn::log_softmax(dim) — log-softmax as a layer",
        |d: i64| Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Activation::LogSoftmax(d)))
    );
    nnf!(
        "sequential",
        "nn::sequential([layers]) — applies layers in order; the same layer object may appear in several models",
        |a: Array| {
            Ok::<_, Box<rhai::EvalAltResult>>(Module::new(Sequential {
                layers: modules("nn::sequential", &a)?,
            }))
        }
    );
    nnf!(
        "init",
        "nn::init(name, shape) — a new f32 tensor from an initialiser: glorot_uniform, glorot_normal, he_uniform, he_normal, orthogonal, identity, zeros, ones, default",
        |name: ImmutableString, s: Dynamic| {
            let shape = super::convert::shape_arg("nn::init", &s)?;
            make(&Init::parse(&name).rr()?, &shape, default_device()).rr()
        }
    );
    nnf!(
        "save",
        "nn::save(model, path) / nn::save(#{name: tensor}, path) — writes parameters and buffers (or tensors) to a safetensors file, atomically",
        |v: Dynamic, p: ImmutableString| -> RR<()> {
            if let Some(m) = v.clone().try_cast::<Module>() {
                return m.save(Path::new(p.as_str())).rr();
            }
            let map = v.try_cast::<Map>().ok_or_else(|| {
                fail::<()>("nn::save: expects a model or a map of tensors").unwrap_err()
            })?;
            let mut ts = Vec::new();
            for (k, t) in map {
                let t = t.try_cast::<Tensor>().ok_or_else(|| {
                    fail::<()>(format!("nn::save: {k} is not a tensor")).unwrap_err()
                })?;
                ts.push((k.to_string(), t));
            }
            serialize::save_tensors(&ts, Path::new(p.as_str())).rr()
        }
    );
    nnf!(
        "load",
        "nn::load(model, path) / nn::load(model, path, #{strict: true, map: #{}}) — loads a safetensors file (ember's or a PyTorch state_dict) into a model, copying into its tensors; strict refuses missing or unexpected names (listing them), strict: false loads the rest and returns #{missing_keys, unexpected_keys}; map renames the file's names first (an exact name, or a prefix ending in \".\": #{\"lstm.\": \"0.\"}); a shape mismatch is always an error. nn::load(path) — a map of the file's tensors\nexample: let f = env(\"TMPDIR\", \"/tmp\") + \"/ember-help-load.safetensors\"; nn::save(#{\"fc.weight\": ones([1, 2])}, f); nn::load(nn::sequential([nn::linear(2, 1)]), f, #{strict: false, map: #{\"fc.\": \"0.\"}})",
        |m_: Module, p: ImmutableString| m_.load(Path::new(p.as_str())).rr()
    );
    m.set_native_fn("load", |m_: Module, p: ImmutableString, o: Map| {
        load_with(&m_, &p, &o)
    });
    m.set_native_fn("load", |p: ImmutableString| {
        Ok::<_, Box<rhai::EvalAltResult>>(named_map(
            serialize::load_tensors(Path::new(p.as_str())).rr()?,
        ))
    });
    super::recurrent_api::register_constructors(api, &mut m);
    api.engine.register_static_module("nn", m.into());
    super::recurrent_api::register_methods(api);

    // ---- methods of Module objects ----
    reg!(
        api,
        "forward",
        "model.forward(x) — runs the layer or model on x",
        |m: &mut Module, x: Tensor| m.forward(&x).rr()
    );
    reg!(
        api,
        "parameters",
        "model.parameters() — every parameter tensor (shared layers once)",
        |m: &mut Module| tensors_to_array(m.parameters())
    );
    reg!(
        api,
        "named_parameters",
        "model.named_parameters() — a map from dotted paths (\"0.weight\") to parameters",
        |m: &mut Module| named_map(m.named_parameters())
    );
    reg!(
        api,
        "state_dict",
        "model.state_dict() — parameters and buffers by dotted path (PyTorch's state_dict; the tensors themselves, not copies); model[\"1.running_mean\"] reads one\nexample: nn::sequential([nn::linear(2, 3), nn::batch_norm1d(3)]).state_dict().keys()",
        |m: &mut Module| named_map(m.state())
    );
    reg!(
        api,
        "named_buffers",
        "model.named_buffers() — running statistics by dotted path",
        |m: &mut Module| named_map(m.named_buffers())
    );
    reg!(
        api,
        "train",
        "model.train() / model.train(on) — training mode (dropout, batch statistics); train(false) is evaluation mode",
        |m: &mut Module| m.set_training(true)
    );
    reg!(api, "train", "", |m: &mut Module, on: bool| m
        .set_training(on));
    reg!(
        api,
        "eval_mode",
        "model.eval_mode() — evaluation mode (Rhai reserves .eval(); this is PyTorch's model.eval())",
        |m: &mut Module| m.set_training(false)
    );
    get!(
        api,
        "training",
        "model.training — whether the model is in training mode",
        |m: &mut Module| m.is_training()
    );
    reg!(api, "zero_grad", "", |m: &mut Module| m.zero_grad());
    reg!(api, "to", "", |m: &mut Module,
                         d: ImmutableString|
     -> RR<Module> {
        m.to_device(Device::parse(&d).rr()?).rr()?;
        Ok(m.clone())
    });
    reg!(
        api,
        "freeze",
        "model.freeze() — stops gradients to the model's parameters (requires_grad off)",
        |m: &mut Module| m.set_trainable(false).rr()
    );
    reg!(
        api,
        "unfreeze",
        "model.unfreeze() — makes the model's parameters trainable again",
        |m: &mut Module| m.set_trainable(true).rr()
    );
    reg!(
        api,
        "summary",
        "model.summary() / model.summary(input) — prints and returns a table of layers, output shapes (input: an example tensor or a shape) and parameter counts",
        |m: &mut Module| -> RR<String> {
            let s = m.summary(None).rr()?;
            print!("{s}");
            Ok(s)
        }
    );
    reg!(api, "summary", "", |m: &mut Module,
                              input: Dynamic|
     -> RR<String> {
        let x = match input.clone().try_cast::<Tensor>() {
            Some(t) => t,
            None => Tensor::zeros(
                &super::convert::shape_arg("summary", &input)?,
                first_input_dtype(m),
                default_device(),
            )
            .rr()?,
        };
        let s = m.summary(Some(&x)).rr()?;
        print!("{s}");
        Ok(s)
    });
    reg!(
        api,
        "regularization",
        "model.regularization() — the sum of the layers' L2 penalties (add it to the loss; fit does)",
        |m: &mut Module| m.regularization().rr()
    );
    reg!(
        api,
        "set_l2",
        "layer.set_l2(weight) — L2 penalty weight on this layer's weight",
        |m: &mut Module, l2: Dynamic| m.set_l2(num("set_l2", &l2)?).rr()
    );
    reg!(
        api,
        "layers",
        "model.layers() — the sub-modules of a sequential, in order",
        |m: &mut Module| m
            .children()
            .into_iter()
            .map(Dynamic::from)
            .collect::<Array>()
    );
    reg!(
        api,
        "count_parameters",
        "model.count_parameters() — the number of parameter elements",
        |m: &mut Module| m.count_parameters().0 as i64
    );
    reg!(
        api,
        "save",
        "model.save(path) — same as nn::save(model, path)",
        |m: &mut Module, p: ImmutableString| m.save(Path::new(p.as_str())).rr()
    );
    reg!(
        api,
        "load",
        "model.load(path) / model.load(path, #{strict, map}) — same as nn::load(model, path, ...)",
        |m: &mut Module, p: ImmutableString| m.load(Path::new(p.as_str())).rr()
    );
    reg!(api, "load", "", |m: &mut Module,
                           p: ImmutableString,
                           o: Map| {
        load_with(m, &p, &o)
    });
    reg!(
        api,
        "keras_parameter_count",
        "model.keras_parameter_count() — parameter elements as Keras counts them (one bias per gate in RNN and LSTM layers, where PyTorch and ember keep bias_ih and bias_hh); count_parameters() counts the tensors held\nexample: nn::lstm(3, 4).keras_parameter_count()",
        |m: &mut Module| m.keras_parameter_count() as i64
    );
    api.engine
        .register_indexer_get(|m: &mut Module, name: ImmutableString| m.get_tensor(&name).rr());
    api.engine
        .register_indexer_set(|m: &mut Module, name: ImmutableString, t: Tensor| {
            // a dotted path ("1.running_mean") reaches into a container
            if name.contains('.') {
                m.set_state(&name, t).rr()
            } else {
                m.set_tensor(&name, t).rr()
            }
        });
    for name in ["weight", "bias", "running_mean", "running_var"] {
        api.engine
            .register_get(name, move |m: &mut Module| m.get_tensor(name).rr());
        api.engine
            .register_set(name, move |m: &mut Module, t: Tensor| {
                m.set_tensor(name, t).rr()
            });
    }
    api.docs.add("weight", "layer.weight, layer.bias, bn.running_mean, bn.running_var — read or replace a layer's tensors (same shape); also layer[\"name\"]");
    reg!(api, "to_string", "", |m: &mut Module| m.describe());
    reg!(api, "to_debug", "", |m: &mut Module| m.describe());
}
