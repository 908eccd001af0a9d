//! `nn::` constructors of the convolution, pooling, normalisation and resampling layers, with
//! PyTorch's options and defaults.

use super::conv_api::{adaptive_size, pool_options};
use super::convert::{IntoRR, RR, check_opts, default_device, fail, opt, opt_num, opt_str};
use super::nn_api::{finish, init_opt, size};
use super::registrar::Api;
use super::window_args::{padding, pair, pair_opt, positive};
use crate::nn::Module;
use crate::nn::layers::{
    AdaptiveAvgPool, BatchNorm, Conv, ConvTranspose, Pool, PoolKind, Upsample,
};
use crate::ops::{ConvOptions, ConvTransposeOptions, InterpMode, InterpolateOptions, PadMode};
use rhai::{Array, Dynamic, Map};

fn conv(dims: usize, i: i64, out: i64, k: Dynamic, o: Map) -> RR<Module> {
    let op = if dims == 1 {
        "nn::conv1d"
    } else {
        "nn::conv2d"
    };
    check_opts(
        op,
        &o,
        &[
            "stride",
            "padding",
            "dilation",
            "groups",
            "padding_mode",
            "bias",
            "init",
            "l2",
            "trainable",
        ],
    )?;
    let mode = opt_str(op, &o, "padding_mode")?.unwrap_or("zeros".into());
    let mode = if mode == "zeros" {
        PadMode::Constant
    } else if mode == "constant" {
        return fail(format!(
            "{op}: padding_mode must be \"zeros\", \"reflect\", \"replicate\" or \"circular\", got \"constant\""
        ));
    } else {
        PadMode::parse(op, &mode).rr()?
    };
    let options = ConvOptions {
        stride: pair_opt(op, &o, "stride", dims, (1, 1))?,
        padding: padding(op, &o, dims)?,
        dilation: pair_opt(op, &o, "dilation", dims, (1, 1))?,
        groups: positive(op, &o, "groups", 1)?,
    };
    let c = Conv::new(
        dims,
        size(op, i)?,
        size(op, out)?,
        pair(op, "kernel_size", &k, dims, 1)?,
        options,
        mode,
        opt::<bool>(op, &o, "bias")?.unwrap_or(true),
        &init_opt(op, &o)?,
        default_device(),
    )
    .rr()?;
    finish(op, Module::new(c), &o)
}

fn conv_transpose(dims: usize, i: i64, out: i64, k: Dynamic, o: Map) -> RR<Module> {
    let op = if dims == 1 {
        "nn::conv_transpose1d"
    } else {
        "nn::conv_transpose2d"
    };
    check_opts(
        op,
        &o,
        &[
            "stride",
            "padding",
            "output_padding",
            "dilation",
            "groups",
            "bias",
            "init",
            "l2",
            "trainable",
        ],
    )?;
    let options = ConvTransposeOptions {
        stride: pair_opt(op, &o, "stride", dims, (1, 1))?,
        padding: pair_opt(op, &o, "padding", dims, (0, 0))?,
        output_padding: pair_opt(op, &o, "output_padding", dims, (0, 0))?,
        dilation: pair_opt(op, &o, "dilation", dims, (1, 1))?,
        groups: positive(op, &o, "groups", 1)?,
    };
    let c = ConvTranspose::new(
        dims,
        size(op, i)?,
        size(op, out)?,
        pair(op, "kernel_size", &k, dims, 1)?,
        options,
        opt::<bool>(op, &o, "bias")?.unwrap_or(true),
        &init_opt(op, &o)?,
        default_device(),
    )
    .rr()?;
    finish(op, Module::new(c), &o)
}

fn pool(kind: PoolKind, dims: usize, k: Dynamic, o: Map) -> RR<Module> {
    let op = match (kind, dims) {
        (PoolKind::Max, 1) => "nn::max_pool1d",
        (PoolKind::Max, _) => "nn::max_pool2d",
        (PoolKind::Avg, 1) => "nn::avg_pool1d",
        (PoolKind::Avg, _) => "nn::avg_pool2d",
    };
    if o.contains_key("return_indices") {
        return fail(format!(
            "{op}: return_indices belongs to the functional {}",
            &op[4..]
        ));
    }
    let (options, _) = pool_options(op, dims, &k, &o, kind == PoolKind::Max)?;
    // the options are checked against an input when the layer runs; check the fixed rules now
    if options.padding.0 > options.kernel.0 / 2 || options.padding.1 > options.kernel.1 / 2 {
        return fail(format!(
            "{op}: padding {:?} should be at most half the kernel {:?}",
            options.padding, options.kernel
        ));
    }
    Ok(Module::new(Pool {
        kind,
        dims,
        options,
    }))
}

fn adaptive(dims: usize, s: Dynamic) -> RR<Module> {
    let op = if dims == 1 {
        "nn::adaptive_avg_pool1d"
    } else {
        "nn::adaptive_avg_pool2d"
    };
    let size = adaptive_size(op, &s, dims)?;
    let size = if dims == 1 {
        if size[0].is_none() {
            return fail(format!("{op}: output_size must be an integer"));
        }
        (None, size[0])
    } else {
        (size[0], size[1])
    };
    Ok(Module::new(AdaptiveAvgPool { dims, size }))
}

fn batch_norm(dims: usize, c: i64, o: Map) -> RR<Module> {
    let op = if dims == 1 {
        "nn::batch_norm1d"
    } else {
        "nn::batch_norm2d"
    };
    check_opts(
        op,
        &o,
        &["momentum", "eps", "affine", "track_running_stats"],
    )?;
    let momentum = match o.get("momentum") {
        Some(v) if v.is_unit() => None,
        _ => Some(opt_num(op, &o, "momentum")?.unwrap_or(0.1)),
    };
    let bn = BatchNorm::new(
        dims,
        size(op, c)?,
        momentum,
        opt_num(op, &o, "eps")?.unwrap_or(1e-5),
        opt::<bool>(op, &o, "affine")?.unwrap_or(true),
        opt::<bool>(op, &o, "track_running_stats")?.unwrap_or(true),
        default_device(),
    )
    .rr()?;
    Ok(Module::new(bn))
}

fn upsample(o: Map) -> RR<Module> {
    let op = "nn::upsample";
    check_opts(op, &o, &["size", "scale_factor", "mode", "align_corners"])?;
    let size = match o.get("size") {
        None => None,
        Some(v) => Some(
            super::convert::int_list(op, v)?
                .into_iter()
                .map(|d| size(op, d))
                .collect::<RR<Vec<usize>>>()?,
        ),
    };
    let scale_factor = match o.get("scale_factor") {
        None => None,
        Some(v) => Some(match v.clone().try_cast::<Array>() {
            Some(a) => a
                .iter()
                .map(|f| super::convert::num(op, f))
                .collect::<RR<Vec<f64>>>()?,
            None => vec![super::convert::num(op, v)?],
        }),
    };
    if size.is_some() == scale_factor.is_some() {
        return fail(format!("{op}: give exactly one of size and scale_factor"));
    }
    let mode = InterpMode::parse(&opt_str(op, &o, "mode")?.unwrap_or("nearest".into())).rr()?;
    let align_corners = opt::<bool>(op, &o, "align_corners")?;
    if align_corners.is_some() && !matches!(mode, InterpMode::Linear | InterpMode::Bilinear) {
        return fail(format!(
            "{op}: align_corners applies only to the linear modes"
        ));
    }
    Ok(Module::new(Upsample {
        options: InterpolateOptions {
            size,
            scale_factor,
            mode,
            align_corners,
            recompute_scale_factor: false,
        },
    }))
}

pub fn register_constructors(api: &mut Api, m: &mut rhai::Module) {
    macro_rules! nnf {
        ($name:literal, $doc:expr, $f:expr) => {{
            api.docs.add(concat!("nn::", $name), $doc);
            m.set_native_fn($name, $f);
        }};
    }
    let conv_opts = "#{stride: 1, padding: 0, dilation: 1, groups: 1, padding_mode: \"zeros\", bias: true, init: \"default\", l2: 0, trainable: true}";
    nnf!(
        "conv1d",
        &format!(
            "nn::conv1d(in, out, kernel_size, {conv_opts}) — 1-D convolution over [N, C, L] (the functional conv1d with the layer's weight [out, in/groups, k]); padding: int, \"same\" or \"valid\"; padding_mode: zeros, reflect, replicate or circular; default init U(±1/sqrt(fan_in)) as PyTorch\nexample: nn::conv1d(4, 8, 3, #{{groups: 4, padding: \"same\", padding_mode: \"reflect\"}}).forward(ones([2, 4, 10])).shape"
        ),
        |i: i64, o: i64, k: Dynamic| conv(1, i, o, k, Map::new())
    );
    m.set_native_fn("conv1d", |i: i64, o: i64, k: Dynamic, opts: Map| {
        conv(1, i, o, k, opts)
    });
    nnf!(
        "conv2d",
        &format!(
            "nn::conv2d(in, out, kernel_size, {conv_opts}) — 2-D convolution over [N, C, H, W] (the functional conv2d with the layer's weight [out, in/groups, kh, kw]); kernel_size, stride, padding, dilation: an int or [h, w]; groups = in is depthwise\nexample: nn::conv2d(3, 6, [3, 5], #{{groups: 3, padding: \"same\", dilation: 2}}).forward(ones([1, 3, 8, 8])).shape"
        ),
        |i: i64, o: i64, k: Dynamic| conv(2, i, o, k, Map::new())
    );
    m.set_native_fn("conv2d", |i: i64, o: i64, k: Dynamic, opts: Map| {
        conv(2, i, o, k, opts)
    });
    let ct_opts = "#{stride: 1, padding: 0, output_padding: 0, dilation: 1, groups: 1, bias: true, init: \"default\", l2: 0, trainable: true}";
    nnf!(
        "conv_transpose1d",
        &format!(
            "nn::conv_transpose1d(in, out, kernel_size, {ct_opts}) — transposed 1-D convolution (weight [in, out/groups, k]) over [N, C, L]\nexample: nn::conv_transpose1d(2, 3, 4, #{{stride: 2, padding: 1}}).forward(ones([1, 2, 5])).shape"
        ),
        |i: i64, o: i64, k: Dynamic| conv_transpose(1, i, o, k, Map::new())
    );
    m.set_native_fn(
        "conv_transpose1d",
        |i: i64, o: i64, k: Dynamic, opts: Map| conv_transpose(1, i, o, k, opts),
    );
    nnf!(
        "conv_transpose2d",
        &format!(
            "nn::conv_transpose2d(in, out, kernel_size, {ct_opts}) — transposed 2-D convolution (weight [in, out/groups, kh, kw]), the upsampling step of U-Nets: output height (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1\nexample: nn::conv_transpose2d(4, 2, 2, #{{stride: 2}}).forward(ones([1, 4, 6, 6])).shape"
        ),
        |i: i64, o: i64, k: Dynamic| conv_transpose(2, i, o, k, Map::new())
    );
    m.set_native_fn(
        "conv_transpose2d",
        |i: i64, o: i64, k: Dynamic, opts: Map| conv_transpose(2, i, o, k, opts),
    );
    let max_opts = "#{stride: kernel_size, padding: 0, dilation: 1, ceil_mode: false}";
    let avg_opts = "#{stride: kernel_size, padding: 0, ceil_mode: false, count_include_pad: true, divisor_override: ()}";
    nnf!(
        "max_pool1d",
        &format!(
            "nn::max_pool1d(kernel_size, {max_opts}) — max over windows of [N, C, L] (the functional max_pool1d)\nexample: nn::max_pool1d(3, #{{stride: 2, ceil_mode: true}}).forward(ones([1, 1, 8])).shape"
        ),
        |k: Dynamic| pool(PoolKind::Max, 1, k, Map::new())
    );
    m.set_native_fn("max_pool1d", |k: Dynamic, o: Map| {
        pool(PoolKind::Max, 1, k, o)
    });
    nnf!(
        "max_pool2d",
        &format!(
            "nn::max_pool2d(kernel_size, {max_opts}) — max over windows of [N, C, H, W] (the functional max_pool2d); sizes: an int or [h, w]\nexample: nn::max_pool2d(2).forward(ones([1, 1, 5, 5])).shape"
        ),
        |k: Dynamic| pool(PoolKind::Max, 2, k, Map::new())
    );
    m.set_native_fn("max_pool2d", |k: Dynamic, o: Map| {
        pool(PoolKind::Max, 2, k, o)
    });
    nnf!(
        "avg_pool1d",
        &format!(
            "nn::avg_pool1d(kernel_size, {avg_opts}) — mean over windows of [N, C, L] (the functional avg_pool1d)\nexample: nn::avg_pool1d(2).forward(ones([1, 1, 6])).shape"
        ),
        |k: Dynamic| pool(PoolKind::Avg, 1, k, Map::new())
    );
    m.set_native_fn("avg_pool1d", |k: Dynamic, o: Map| {
        pool(PoolKind::Avg, 1, k, o)
    });
    nnf!(
        "avg_pool2d",
        &format!(
            "nn::avg_pool2d(kernel_size, {avg_opts}) — mean over windows of [N, C, H, W] (the functional avg_pool2d)\nexample: nn::avg_pool2d(3, #{{stride: 2, padding: 1, count_include_pad: false}}).forward(ones([1, 1, 5, 5])).shape"
        ),
        |k: Dynamic| pool(PoolKind::Avg, 2, k, Map::new())
    );
    m.set_native_fn("avg_pool2d", |k: Dynamic, o: Map| {
        pool(PoolKind::Avg, 2, k, o)
    });
    nnf!(
        "adaptive_avg_pool1d",
        "nn::adaptive_avg_pool1d(output_size) — average pooling of [N, C, L] to a fixed length (the functional adaptive_avg_pool1d)\nexample: nn::adaptive_avg_pool1d(4).forward(ones([2, 3, 10])).shape",
        |s: Dynamic| adaptive(1, s)
    );
    nnf!(
        "adaptive_avg_pool2d",
        "nn::adaptive_avg_pool2d(output_size) — average pooling of [N, C, H, W] to a fixed size (an int or [h, w]; () keeps that dimension), as before a classifier head\nexample: nn::adaptive_avg_pool2d([1, 1]).forward(ones([2, 3, 7, 5])).shape",
        |s: Dynamic| adaptive(2, s)
    );
    let bn_opts = "#{momentum: 0.1, eps: 1e-5, affine: true, track_running_stats: true}";
    nnf!(
        "batch_norm1d",
        &format!(
            "nn::batch_norm1d(C, {bn_opts}) — batch norm over [N, C] or [N, C, L] (the functional batch_norm with the layer's buffers running_mean, running_var, num_batches_tracked); momentum () is a cumulative average; without track_running_stats the batch's statistics are used in evaluation too\nexample: nn::batch_norm1d(3).forward(randn([4, 3])).shape"
        ),
        |c: i64| batch_norm(1, c, Map::new())
    );
    m.set_native_fn("batch_norm1d", |c: i64, o: Map| batch_norm(1, c, o));
    nnf!(
        "batch_norm2d",
        &format!(
            "nn::batch_norm2d(C, {bn_opts}) — batch norm over [N, C, H, W], per channel (see nn::batch_norm1d)\nexample: nn::batch_norm2d(2, #{{momentum: ()}}).forward(randn([4, 2, 3, 3])).shape"
        ),
        |c: i64| batch_norm(2, c, Map::new())
    );
    m.set_native_fn("batch_norm2d", |c: i64, o: Map| batch_norm(2, c, o));
    nnf!(
        "upsample",
        "nn::upsample(#{size: (), scale_factor: (), mode: \"nearest\", align_corners: ()}) — resampling as a layer (the functional interpolate; PyTorch's nn.Upsample)\nexample: nn::upsample(#{scale_factor: 2, mode: \"bilinear\"}).forward(ones([1, 1, 3, 3])).shape",
        upsample
    );
}
