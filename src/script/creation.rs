//! Script functions that create tensors.

use super::convert::{
    IntoRR, RR, check_opts, default_device, fail, num, opt_dtype, shape_arg, tensor_from_dynamic,
};
use super::registrar::Api;
use crate::tensor::{DType, Tensor, random};
use rhai::{Dynamic, Map};

fn full(shape: Dynamic, value: f64, opts: &Map, op: &str, default: DType) -> RR<Tensor> {
    check_opts(op, opts, &["dtype"])?;
    let dtype = opt_dtype(op, opts, default)?;
    Tensor::filled(op, &shape_arg(op, &shape)?, value, dtype, default_device()).rr()
}

fn arange(start: &Dynamic, end: &Dynamic, step: &Dynamic) -> RR<Tensor> {
    let integral = start.is_int() && end.is_int() && step.is_int();
    Tensor::arange(
        num("arange", start)?,
        num("arange", end)?,
        num("arange", step)?,
        integral,
        default_device(),
    )
    .rr()
}

pub fn register(api: &mut Api) {
    reg!(
        api,
        "tensor",
        "tensor(values) / tensor(values, #{dtype}) — a tensor from a number or nested arrays; ints give i64, floats f32, bools bool",
        |v: Dynamic| tensor_from_dynamic(&v, None),
    );
    reg!(api, "tensor", "", |v: Dynamic, opts: Map| {
        check_opts("tensor", &opts, &["dtype"])?;
        let dt = opt_dtype("tensor", &opts, DType::F32)?;
        tensor_from_dynamic(&v, opts.contains_key("dtype").then_some(dt))
    });
    reg!(
        api,
        "zeros",
        "zeros(shape) / zeros(shape, #{dtype}) — a tensor of zeros (f32 unless dtype says otherwise)",
        |s: Dynamic| full(s, 0.0, &Map::new(), "zeros", DType::F32)
    );
    reg!(api, "zeros", "", |s: Dynamic, o: Map| full(
        s,
        0.0,
        &o,
        "zeros",
        DType::F32
    ));
    reg!(
        api,
        "ones",
        "ones(shape) / ones(shape, #{dtype}) — a tensor of ones",
        |s: Dynamic| full(s, 1.0, &Map::new(), "ones", DType::F32)
    );
    reg!(api, "ones", "", |s: Dynamic, o: Map| full(
        s,
        1.0,
        &o,
        "ones",
        DType::F32
    ));
    reg!(
        api,
        "full",
        "full(shape, value) / full(shape, value, #{dtype}) — a tensor filled with value (i64 for an int value)",
        |s: Dynamic, v: Dynamic| {
            let dt = if v.is_int() {
                DType::I64
            } else if v.is_bool() {
                DType::Bool
            } else {
                DType::F32
            };
            full(s, num("full", &v)?, &Map::new(), "full", dt)
        }
    );
    reg!(api, "full", "", |s: Dynamic, v: Dynamic, o: Map| full(
        s,
        num("full", &v)?,
        &o,
        "full",
        DType::F32
    ));
    reg!(
        api,
        "zeros_like",
        "zeros_like(x) — zeros with the shape, dtype and device of x",
        |x: &mut Tensor| Tensor::zeros_like(x).rr()
    );
    reg!(
        api,
        "ones_like",
        "ones_like(x) — ones with the shape, dtype and device of x",
        |x: &mut Tensor| Tensor::ones_like(x).rr()
    );
    reg!(
        api,
        "full_like",
        "full_like(x, value) — value with the shape, dtype and device of x",
        |x: &mut Tensor, v: Dynamic| {
            Tensor::full(x.shape(), num("full_like", &v)?, x.dtype(), x.device()).rr()
        }
    );
    reg!(
        api,
        "arange",
        "arange(end) / arange(start, end) / arange(start, end, step) — evenly stepped values below end; i64 when all arguments are ints",
        |e: Dynamic| arange(&Dynamic::from_int(0), &e, &Dynamic::from_int(1))
    );
    reg!(api, "arange", "", |s: Dynamic, e: Dynamic| arange(
        &s,
        &e,
        &Dynamic::from_int(1)
    ));
    reg!(api, "arange", "", |s: Dynamic, e: Dynamic, st: Dynamic| {
        arange(&s, &e, &st)
    });
    reg!(
        api,
        "linspace",
        "linspace(start, end, steps) — steps evenly spaced f32 values from start to end inclusive",
        |s: Dynamic, e: Dynamic, n: i64| {
            Tensor::linspace(
                num("linspace", &s)?,
                num("linspace", &e)?,
                n,
                default_device(),
            )
            .rr()
        }
    );
    reg!(
        api,
        "eye",
        "eye(n) / eye(n, m) — the identity matrix",
        |n: i64| eye(n, n)
    );
    reg!(api, "eye", "", eye);
    reg!(
        api,
        "rand",
        "rand(shape) — uniform draws from [0, 1)",
        |s: Dynamic| Tensor::uniform(&shape_arg("rand", &s)?, 0.0, 1.0, default_device()).rr()
    );
    reg!(
        api,
        "randn",
        "randn(shape) — standard normal draws",
        |s: Dynamic| Tensor::normal(&shape_arg("randn", &s)?, 0.0, 1.0, default_device()).rr()
    );
    reg!(
        api,
        "randint",
        "randint(low, high, shape) — uniform i64 draws from [low, high)",
        |lo: i64, hi: i64, s: Dynamic| {
            Tensor::randint(lo, hi, &shape_arg("randint", &s)?, default_device()).rr()
        }
    );
    reg!(
        api,
        "uniform",
        "uniform(shape, low, high) — uniform f32 draws from [low, high)",
        |s: Dynamic, lo: Dynamic, hi: Dynamic| {
            Tensor::uniform(
                &shape_arg("uniform", &s)?,
                num("uniform", &lo)?,
                num("uniform", &hi)?,
                default_device(),
            )
            .rr()
        }
    );
    reg!(
        api,
        "normal",
        "normal(shape, mean, std) — normal f32 draws",
        |s: Dynamic, m: Dynamic, sd: Dynamic| {
            Tensor::normal(
                &shape_arg("normal", &s)?,
                num("normal", &m)?,
                num("normal", &sd)?,
                default_device(),
            )
            .rr()
        }
    );
    reg!(
        api,
        "multinomial",
        "multinomial(probs, n) — n draws (with replacement) per row from the weights in the last dimension: i64 [..., n]",
        |p: Tensor, n: i64| {
            if n < 0 {
                return fail(format!("multinomial: n must be non-negative, got {n}"));
            }
            Tensor::multinomial(&p, n as usize).rr()
        }
    );
    reg!(
        api,
        "randperm",
        "randperm(n) — a random permutation of 0..n (i64)",
        |n: i64| {
            if n < 0 {
                return fail(format!("randperm: n must be non-negative, got {n}"));
            }
            Tensor::randperm(n as usize, default_device()).rr()
        }
    );
    reg!(
        api,
        "manual_seed",
        "manual_seed(n) — reseeds the random generator: the same seed gives the same numbers on every run",
        |n: i64| random::manual_seed(n as u64)
    );
}

fn eye(n: i64, m: i64) -> RR<Tensor> {
    if n < 0 || m < 0 {
        return fail(format!("eye: sizes must be non-negative, got {n} and {m}"));
    }
    crate::tensor::shape::checked_shape("eye", &[n, m]).rr()?;
    Tensor::eye(n as usize, m as usize, default_device()).rr()
}
