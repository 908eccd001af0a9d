//! The functional forms of `torch.nn.functional` that layers are built on: `linear`,
//! convolutions, pooling, `batch_norm`, `layer_norm`, `pad`, `interpolate`. Positional
//! arguments follow PyTorch; keyword arguments go in a trailing map.

use super::convert::{IntoRR, RR, check_opts, fail, int_list, num, opt, opt_num, opt_str};
use super::registrar::Api;
use super::window_args::{maybe_tensor, padding, pair, pair_opt, positive};
use crate::ops::{
    BatchNormOptions, ConvOptions, ConvTransposeOptions, InterpMode, InterpolateOptions, PadMode,
    PoolOptions,
};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, Map};

/// `conv1d`/`conv2d`: `#{bias, stride, padding, dilation, groups}`.
fn conv(dims: usize, x: &Tensor, w: &Tensor, b: Option<Tensor>, o: &Map) -> RR<Tensor> {
    let op = if dims == 1 { "conv1d" } else { "conv2d" };
    check_opts(op, o, &["bias", "stride", "padding", "dilation", "groups"])?;
    let bias = match o.get("bias") {
        Some(v) if b.is_some() && !v.is_unit() => {
            return fail(format!("{op}: bias given twice"));
        }
        Some(v) => maybe_tensor(op, "bias", v)?,
        None => b,
    };
    let c = ConvOptions {
        stride: pair_opt(op, o, "stride", dims, (1, 1))?,
        padding: padding(op, o, dims)?,
        dilation: pair_opt(op, o, "dilation", dims, (1, 1))?,
        groups: positive(op, o, "groups", 1)?,
    };
    if dims == 1 {
        x.conv1d_with(w, bias.as_ref(), &c).rr()
    } else {
        x.conv2d_with(w, bias.as_ref(), &c).rr()
    }
}

/// `conv_transpose1d`/`conv_transpose2d`: `#{bias, stride, padding, output_padding, groups,
/// dilation}`.
fn conv_t(dims: usize, x: &Tensor, w: &Tensor, b: Option<Tensor>, o: &Map) -> RR<Tensor> {
    let op = if dims == 1 {
        "conv_transpose1d"
    } else {
        "conv_transpose2d"
    };
    check_opts(
        op,
        o,
        &[
            "bias",
            "stride",
            "padding",
            "output_padding",
            "groups",
            "dilation",
        ],
    )?;
    let bias = match o.get("bias") {
        Some(v) => maybe_tensor(op, "bias", v)?.or(b),
        None => b,
    };
    let c = ConvTransposeOptions {
        stride: pair_opt(op, o, "stride", dims, (1, 1))?,
        padding: pair_opt(op, o, "padding", dims, (0, 0))?,
        output_padding: pair_opt(op, o, "output_padding", dims, (0, 0))?,
        dilation: pair_opt(op, o, "dilation", dims, (1, 1))?,
        groups: positive(op, o, "groups", 1)?,
    };
    if dims == 1 {
        x.conv_transpose1d_with(w, bias.as_ref(), &c).rr()
    } else {
        x.conv_transpose2d_with(w, bias.as_ref(), &c).rr()
    }
}

/// Reads pooling options (`max`: dilation and return_indices; else count_include_pad and
/// divisor_override).
pub(super) fn pool_options(
    op: &str,
    dims: usize,
    kernel: &Dynamic,
    o: &Map,
    max: bool,
) -> RR<(PoolOptions, bool)> {
    let mut known = vec!["stride", "padding", "ceil_mode"];
    known.extend(if max {
        ["dilation", "return_indices"]
    } else {
        ["count_include_pad", "divisor_override"]
    });
    check_opts(op, o, &known)?;
    let kernel = pair(op, "kernel_size", kernel, dims, 1)?;
    if kernel.0 == 0 || kernel.1 == 0 {
        return fail(format!(
            "{op}: kernel_size must be positive, got {kernel:?}"
        ));
    }
    let stride = match o.get("stride") {
        None => kernel,
        Some(v) if v.is_unit() => kernel,
        Some(_) => pair_opt(op, o, "stride", dims, kernel)?,
    };
    let p = PoolOptions {
        stride,
        padding: pair_opt(op, o, "padding", dims, (0, 0))?,
        dilation: pair_opt(op, o, "dilation", dims, (1, 1))?,
        ceil_mode: opt::<bool>(op, o, "ceil_mode")?.unwrap_or(false),
        count_include_pad: opt::<bool>(op, o, "count_include_pad")?.unwrap_or(true),
        divisor_override: match o.get("divisor_override") {
            None => None,
            Some(v) if v.is_unit() => None,
            Some(_) => Some(positive(op, o, "divisor_override", 1)?),
        },
        ..PoolOptions::new(kernel)
    };
    let indices = opt::<bool>(op, o, "return_indices")?.unwrap_or(false);
    Ok((p, indices))
}

fn max_pool(dims: usize, x: &Tensor, k: Dynamic, o: &Map) -> RR<Dynamic> {
    let op = if dims == 1 {
        "max_pool1d"
    } else {
        "max_pool2d"
    };
    let (p, indices) = pool_options(op, dims, &k, o, true)?;
    let (v, i) = if dims == 1 {
        x.max_pool1d_indices(&p)
    } else {
        x.max_pool2d_indices(&p)
    }
    .rr()?;
    Ok(if indices {
        let mut m = Map::new();
        m.insert("values".into(), Dynamic::from(v));
        m.insert("indices".into(), Dynamic::from(i));
        Dynamic::from_map(m)
    } else {
        Dynamic::from(v)
    })
}

fn avg_pool(dims: usize, x: &Tensor, k: Dynamic, o: &Map) -> RR<Tensor> {
    let op = if dims == 1 {
        "avg_pool1d"
    } else {
        "avg_pool2d"
    };
    let (p, _) = pool_options(op, dims, &k, o, false)?;
    if dims == 1 {
        x.avg_pool1d_with(&p)
    } else {
        x.avg_pool2d_with(&p)
    }
    .rr()
}

/// An adaptive pooling size: an int, or (2-D) an array of ints or `()` (keep that size).
pub(super) fn adaptive_size(op: &str, v: &Dynamic, dims: usize) -> RR<Vec<Option<usize>>> {
    let items: Vec<Dynamic> = match v.clone().try_cast::<Array>() {
        Some(a) => a,
        None => vec![v.clone(); dims],
    };
    if items.len() != dims {
        return fail(format!(
            "{op}: output_size needs {dims} value(s), got {}",
            items.len()
        ));
    }
    items
        .iter()
        .map(|d| {
            if d.is_unit() {
                return Ok(None);
            }
            match d.as_int() {
                Ok(n) if n > 0 => Ok(Some(n as usize)),
                _ => fail(format!(
                    "{op}: output sizes must be positive integers or (), got {d}"
                )),
            }
        })
        .collect()
}

fn batch_norm(x: &Tensor, rm: Dynamic, rv: Dynamic, o: &Map) -> RR<Tensor> {
    let op = "batch_norm";
    check_opts(op, o, &["weight", "bias", "training", "momentum", "eps"])?;
    let rm = maybe_tensor(op, "running_mean", &rm)?;
    let rv = maybe_tensor(op, "running_var", &rv)?;
    let w = o
        .get("weight")
        .map(|v| maybe_tensor(op, "weight", v))
        .transpose()?
        .flatten();
    let b = o
        .get("bias")
        .map(|v| maybe_tensor(op, "bias", v))
        .transpose()?
        .flatten();
    let bn = BatchNormOptions {
        training: opt::<bool>(op, o, "training")?.unwrap_or(false),
        momentum: opt_num(op, o, "momentum")?.unwrap_or(0.1),
        eps: opt_num(op, o, "eps")?.unwrap_or(1e-5),
    };
    x.batch_norm(rm.as_ref(), rv.as_ref(), w.as_ref(), b.as_ref(), &bn)
        .rr()
}

fn layer_norm(x: &Tensor, shape: Dynamic, o: &Map) -> RR<Tensor> {
    let op = "layer_norm";
    check_opts(op, o, &["weight", "bias", "eps"])?;
    let dims = int_list(op, &shape)?;
    if dims.iter().any(|&d| d < 0) {
        return fail(format!(
            "{op}: normalized_shape must be non-negative, got {dims:?}"
        ));
    }
    let dims: Vec<usize> = dims.into_iter().map(|d| d as usize).collect();
    let w = o
        .get("weight")
        .map(|v| maybe_tensor(op, "weight", v))
        .transpose()?
        .flatten();
    let b = o
        .get("bias")
        .map(|v| maybe_tensor(op, "bias", v))
        .transpose()?
        .flatten();
    let eps = opt_num(op, o, "eps")?.unwrap_or(1e-5);
    x.layer_norm(&dims, w.as_ref(), b.as_ref(), eps).rr()
}

fn pad(x: &Tensor, pads: Dynamic, o: &Map) -> RR<Tensor> {
    let op = "pad";
    check_opts(op, o, &["mode", "value"])?;
    let pads = int_list(op, &pads)?;
    let mode = PadMode::parse(op, &opt_str(op, o, "mode")?.unwrap_or("constant".into())).rr()?;
    let value = match o.get("value") {
        None => 0.0,
        Some(v) if v.is_unit() => 0.0,
        Some(v) => num(op, v)?,
    };
    if mode != PadMode::Constant && value != 0.0 {
        return fail(format!("{op}: value applies only to constant padding"));
    }
    x.pad(&pads, mode, value).rr()
}

fn interpolate(x: &Tensor, o: &Map) -> RR<Tensor> {
    let op = "interpolate";
    check_opts(
        op,
        o,
        &[
            "size",
            "scale_factor",
            "mode",
            "align_corners",
            "recompute_scale_factor",
        ],
    )?;
    let size = match o.get("size") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) => {
            let s = int_list(op, v)?;
            if s.iter().any(|&d| d <= 0) {
                return fail(format!("{op}: sizes must be positive, got {s:?}"));
            }
            Some(s.into_iter().map(|d| d as usize).collect())
        }
    };
    let scale_factor = match o.get("scale_factor") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) => Some(match v.clone().try_cast::<Array>() {
            Some(a) => a.iter().map(|f| num(op, f)).collect::<RR<Vec<f64>>>()?,
            None => vec![num(op, v)?],
        }),
    };
    let align_corners = match o.get("align_corners") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(_) => opt::<bool>(op, o, "align_corners")?,
    };
    let io = InterpolateOptions {
        size,
        scale_factor,
        mode: InterpMode::parse(&opt_str(op, o, "mode")?.unwrap_or("nearest".into())).rr()?,
        align_corners,
        recompute_scale_factor: opt::<bool>(op, o, "recompute_scale_factor")?.unwrap_or(false),
    };
    x.interpolate(&io).rr()
}

pub fn register(api: &mut Api) {
    reg!(
        api,
        "linear",
        "linear(x, weight) / linear(x, weight, bias) — x @ weight.T + bias on the last dimension (weight [out, in], bias [out]), as F.linear\nexample: linear(ones([2, 3]), ones([4, 3]), zeros([4]))",
        |x: &mut Tensor, w: Tensor| x.linear(&w, None).rr()
    );
    reg!(api, "linear", "", |x: &mut Tensor,
                             w: Tensor,
                             b: Dynamic| {
        let b = maybe_tensor("linear", "bias", &b)?;
        x.linear(&w, b.as_ref()).rr()
    });
    for (dims, name) in [(1usize, "conv1d"), (2, "conv2d")] {
        let doc = if dims == 1 {
            "conv1d(x, weight, bias, #{stride: 1, padding: 0, dilation: 1, groups: 1}) — 1-D cross-correlation of [N, C, L] (or [C, L]) with weight [O, C/groups, k]; padding: int, \"same\" (stride 1; with dilation, total d*(k-1), the odd one at the end) or \"valid\"; bias may be () or left out\nexample: conv1d(ones([1, 2, 5]), ones([4, 1, 3]), (), #{groups: 2, padding: \"same\"})"
        } else {
            "conv2d(x, weight, bias, #{stride: 1, padding: 0, dilation: 1, groups: 1}) — 2-D cross-correlation of [N, C, H, W] with weight [O, C/groups, kh, kw]; stride/padding/dilation: an int or [h, w]; padding also \"same\" or \"valid\"; groups = C is depthwise; bias may be () or left out\nexample: conv2d(ones([1, 3, 5, 5]), ones([3, 1, 3, 3]), #{groups: 3, stride: 2, padding: 1})"
        };
        reg!(api, name, doc, move |x: &mut Tensor, w: Tensor| conv(
            dims,
            x,
            &w,
            None,
            &Map::new()
        ));
        reg!(
            api,
            name,
            "",
            move |x: &mut Tensor, w: Tensor, o: Map| conv(dims, x, &w, None, &o)
        );
        reg!(
            api,
            name,
            "",
            move |x: &mut Tensor, w: Tensor, b: Dynamic| {
                let b = maybe_tensor(name, "bias", &b)?;
                conv(dims, x, &w, b, &Map::new())
            }
        );
        reg!(api, name, "", move |x: &mut Tensor,
                                  w: Tensor,
                                  b: Dynamic,
                                  o: Map| {
            let b = maybe_tensor(name, "bias", &b)?;
            conv(dims, x, &w, b, &o)
        });
    }
    for (dims, name) in [(1usize, "conv_transpose1d"), (2, "conv_transpose2d")] {
        let doc = if dims == 1 {
            "conv_transpose1d(x, weight, bias, #{stride: 1, padding: 0, output_padding: 0, groups: 1, dilation: 1}) — transposed 1-D convolution of [N, C_in, L] with weight [C_in, C_out/groups, k]: length (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1\nexample: conv_transpose1d(ones([1, 1, 3]), ones([1, 2, 2]), #{stride: 2})"
        } else {
            "conv_transpose2d(x, weight, bias, #{stride: 1, padding: 0, output_padding: 0, groups: 1, dilation: 1}) — transposed 2-D convolution (the gradient of conv2d; upsamples in U-Nets) of [N, C_in, H, W] with weight [C_in, C_out/groups, kh, kw]: height (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1; output_padding must be smaller than the stride or the dilation\nexample: conv_transpose2d(ones([1, 2, 3, 3]), ones([2, 1, 2, 2]), #{stride: 2})"
        };
        reg!(api, name, doc, move |x: &mut Tensor, w: Tensor| conv_t(
            dims,
            x,
            &w,
            None,
            &Map::new()
        ));
        reg!(api, name, "", move |x: &mut Tensor, w: Tensor, o: Map| {
            conv_t(dims, x, &w, None, &o)
        });
        reg!(
            api,
            name,
            "",
            move |x: &mut Tensor, w: Tensor, b: Dynamic| {
                let b = maybe_tensor(name, "bias", &b)?;
                conv_t(dims, x, &w, b, &Map::new())
            }
        );
        reg!(api, name, "", move |x: &mut Tensor,
                                  w: Tensor,
                                  b: Dynamic,
                                  o: Map| {
            let b = maybe_tensor(name, "bias", &b)?;
            conv_t(dims, x, &w, b, &o)
        });
    }
    for (dims, name, doc) in [
        (
            1usize,
            "max_pool1d",
            "max_pool1d(x, kernel_size, #{stride: kernel_size, padding: 0, dilation: 1, ceil_mode: false, return_indices: false}) — max over windows of [N, C, L] (or [C, L]); padding (at most half the kernel) never wins; ceil_mode rounds the output length up; return_indices gives #{values, indices}\nexample: max_pool1d(tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, #{ceil_mode: true})",
        ),
        (
            2,
            "max_pool2d",
            "max_pool2d(x, kernel_size, #{stride: kernel_size, padding: 0, dilation: 1, ceil_mode: false, return_indices: false}) — max over windows of [N, C, H, W] (or [C, H, W]); sizes are an int or [h, w]; return_indices gives #{values, indices} (index within each H*W plane, as PyTorch)\nexample: max_pool2d(arange(0, 16).reshape([1, 1, 4, 4]).to_dtype(\"f32\"), 3, #{stride: 2, padding: 1})",
        ),
    ] {
        reg!(api, name, doc, move |x: &mut Tensor, k: Dynamic| max_pool(
            dims,
            x,
            k,
            &Map::new()
        ));
        reg!(api, name, "", move |x: &mut Tensor, k: Dynamic, o: Map| {
            max_pool(dims, x, k, &o)
        });
    }
    for (dims, name, doc) in [
        (
            1usize,
            "avg_pool1d",
            "avg_pool1d(x, kernel_size, #{stride: kernel_size, padding: 0, ceil_mode: false, count_include_pad: true, divisor_override: ()}) — mean over windows of [N, C, L] (or [C, L]); the divisor counts the padding (count_include_pad), or only the input elements covered\nexample: avg_pool1d(tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2, #{padding: 1, count_include_pad: false})",
        ),
        (
            2,
            "avg_pool2d",
            "avg_pool2d(x, kernel_size, #{stride: kernel_size, padding: 0, ceil_mode: false, count_include_pad: true, divisor_override: ()}) — mean over windows of [N, C, H, W] (or [C, H, W]); a ceil-mode window past the padded input is divided by what it covers of the padded input\nexample: avg_pool2d(ones([1, 1, 5, 5]), 2, #{ceil_mode: true})",
        ),
    ] {
        reg!(api, name, doc, move |x: &mut Tensor, k: Dynamic| avg_pool(
            dims,
            x,
            k,
            &Map::new()
        ));
        reg!(api, name, "", move |x: &mut Tensor, k: Dynamic, o: Map| {
            avg_pool(dims, x, k, &o)
        });
    }
    reg!(
        api,
        "adaptive_avg_pool1d",
        "adaptive_avg_pool1d(x, output_size) — average pooling of [N, C, L] (or [C, L]) to length output_size: output i averages floor(i*L/out) .. ceil((i+1)*L/out)\nexample: adaptive_avg_pool1d(tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 3)",
        |x: &mut Tensor, s: Dynamic| {
            let s = adaptive_size("adaptive_avg_pool1d", &s, 1)?;
            let Some(n) = s[0] else {
                return fail("adaptive_avg_pool1d: output_size must be an integer");
            };
            x.adaptive_avg_pool1d(n).rr()
        }
    );
    reg!(
        api,
        "adaptive_avg_pool2d",
        "adaptive_avg_pool2d(x, output_size) — average pooling of [N, C, H, W] (or [C, H, W]) to output_size (an int, or [h, w] where () keeps that size), PyTorch's windows\nexample: adaptive_avg_pool2d(ones([1, 2, 5, 7]), [2, ()])",
        |x: &mut Tensor, s: Dynamic| {
            let s = adaptive_size("adaptive_avg_pool2d", &s, 2)?;
            x.adaptive_avg_pool2d((s[0], s[1])).rr()
        }
    );
    reg!(
        api,
        "batch_norm",
        "batch_norm(x, running_mean, running_var, #{weight: (), bias: (), training: false, momentum: 0.1, eps: 1e-5}) — batch norm over the channels (dimension 1) of [N, C, ...]; training uses the batch's statistics (biased variance) and updates the running ones in place (unbiased variance, weight momentum); evaluation uses the running ones; running statistics may be () when training\nexample: batch_norm(randn([4, 3]), zeros([3]), ones([3]), #{training: true})",
        |x: &mut Tensor, rm: Dynamic, rv: Dynamic| batch_norm(x, rm, rv, &Map::new())
    );
    reg!(
        api,
        "batch_norm",
        "",
        |x: &mut Tensor, rm: Dynamic, rv: Dynamic, o: Map| batch_norm(x, rm, rv, &o)
    );
    reg!(
        api,
        "layer_norm",
        "layer_norm(x, normalized_shape, #{weight: (), bias: (), eps: 1e-5}) / layer_norm(x, shape, weight, bias) — normalises over the trailing dimensions normalized_shape (biased variance), then scales and shifts\nexample: layer_norm(tensor([[1.0, 2.0, 4.0]]), [3])",
        |x: &mut Tensor, s: Dynamic| layer_norm(x, s, &Map::new())
    );
    reg!(
        api,
        "layer_norm",
        "",
        |x: &mut Tensor, s: Dynamic, o: Map| layer_norm(x, s, &o)
    );
    reg!(
        api,
        "layer_norm",
        "",
        |x: &mut Tensor, s: Dynamic, w: Dynamic, b: Dynamic| {
            let mut o = Map::new();
            o.insert("weight".into(), w);
            o.insert("bias".into(), b);
            layer_norm(x, s, &o)
        }
    );
    reg!(
        api,
        "pad",
        "pad(x, pad, #{mode: \"constant\", value: 0}) / pad(x, pad, mode) — PyTorch's F.pad: pad lists (before, after) pairs from the last dimension backwards; constant (negative amounts crop), reflect, replicate or circular (those three on up to the last 3 dimensions)\nexample: pad(tensor([[1.0, 2.0, 3.0]]), [2, 1], \"reflect\")",
        |x: &mut Tensor, p: Dynamic| pad(x, p, &Map::new())
    );
    reg!(api, "pad", "", |x: &mut Tensor, p: Dynamic, o: Map| pad(
        x, p, &o
    ));
    reg!(
        api,
        "pad",
        "",
        |x: &mut Tensor, p: Dynamic, mode: rhai::ImmutableString| {
            let mut o = Map::new();
            o.insert("mode".into(), Dynamic::from(mode));
            pad(x, p, &o)
        }
    );
    reg!(
        api,
        "interpolate",
        "interpolate(x, #{size: (), scale_factor: (), mode: \"nearest\", align_corners: (), recompute_scale_factor: false}) — resamples the spatial dimensions of [N, C, ...]: nearest (PyTorch's floor(dst * in/out) rule), nearest-exact, linear ([N, C, L]), bilinear ([N, C, H, W]) or area; give size or scale_factor (an int/float or one per dimension); align_corners defaults to false for the linear modes; with scale_factor the source index uses 1/scale_factor unless recompute_scale_factor\nexample: interpolate(tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), #{scale_factor: 2, mode: \"bilinear\"})",
        |x: &mut Tensor, o: Map| interpolate(x, &o)
    );
}
