//! Conversions, tensor information, autograd controls and small utilities for scripts.

use super::convert::{IntoRR, RR, fail, item_dynamic, num, shape_to_array, tensor_to_dynamic};
use super::registrar::Api;
use crate::tensor::{DType, Device, Tensor};
use rhai::{Dynamic, FnPtr, ImmutableString, NativeCallContext};

pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<Tensor>("Tensor");
    reg!(
        api,
        "to_string",
        "to_string(x) — the tensor printed as PyTorch prints it",
        |x: &mut Tensor| x.to_string()
    );
    reg!(
        api,
        "to_debug",
        "to_debug(x) — the tensor as debug output shows it (same as to_string)",
        |x: &mut Tensor| x.to_string()
    );
    reg!(
        api,
        "item",
        "item(x) — the value of a one-element tensor as a number (or bool)",
        |x: &mut Tensor| item_dynamic(x)
    );
    reg!(
        api,
        "tolist",
        "tolist(x) — the values as nested arrays",
        |x: &mut Tensor| tensor_to_dynamic(x)
    );
    reg!(
        api,
        "to_dtype",
        "to_dtype(x, dtype) — elements converted to \"f32\", \"i64\" or \"bool\"",
        |x: &mut Tensor, d: ImmutableString| x.to_dtype(DType::parse(&d).rr()?).rr()
    );
    reg!(
        api,
        "float",
        "float(x) — elements converted to f32",
        |x: &mut Tensor| x.to_dtype(DType::F32).rr()
    );
    reg!(
        api,
        "long",
        "long(x) — elements converted to i64 (floats truncate toward zero)",
        |x: &mut Tensor| x.to_dtype(DType::I64).rr()
    );
    reg!(
        api,
        "bool",
        "bool(x) — elements converted to bool (non-zero is true)",
        |x: &mut Tensor| x.to_dtype(DType::Bool).rr()
    );
    reg!(
        api,
        "to",
        "to(x, device_or_dtype) — the tensor on \"cpu\", \"cuda\", \"cuda:N\" or \"cuda-sim\" (copied; the same tensor when already there), or converted to a dtype",
        |x: &mut Tensor, d: ImmutableString| match DType::parse(&d) {
            Ok(dt) => x.to_dtype(dt).rr(),
            Err(_) => x.to_device(Device::parse(&d).rr()?).rr(),
        }
    );
    reg!(
        api,
        "clone",
        "clone(x) — a copy with its own storage (gradients flow through)",
        |x: &mut Tensor| x.clone_tensor().rr()
    );
    reg!(
        api,
        "detach",
        "detach(x) — the same values cut from the autograd graph",
        |x: &mut Tensor| x.detach()
    );
    reg!(
        api,
        "contiguous",
        "contiguous(x) — x (storage is always contiguous)",
        |x: &mut Tensor| x.contiguous()
    );
    reg!(
        api,
        "numel",
        "numel(x) — number of elements",
        |x: &mut Tensor| x.numel() as i64
    );
    reg!(
        api,
        "dim",
        "dim(x) — number of dimensions",
        |x: &mut Tensor| x.ndim() as i64
    );
    reg!(
        api,
        "size",
        "size(x) / size(x, dim) — the shape as an array, or one dimension's size",
        |x: &mut Tensor| shape_to_array(x.shape())
    );
    reg!(api, "size", "", |x: &mut Tensor, d: i64| x
        .size(d)
        .map(|s| s as i64)
        .rr());
    reg!(
        api,
        "shape",
        "shape(x) or x.shape — the shape as an array of ints",
        |x: &mut Tensor| shape_to_array(x.shape())
    );
    get!(api, "shape", "", |x: &mut Tensor| shape_to_array(x.shape()));
    get!(
        api,
        "dtype",
        "x.dtype — the element type as a string (\"f32\", \"i64\", \"bool\")",
        |x: &mut Tensor| x.dtype().to_string()
    );
    get!(
        api,
        "device",
        "x.device — where the tensor lives (\"cpu\", \"cuda:0\")",
        |x: &mut Tensor| x.device().to_string()
    );
    get!(
        api,
        "ndim",
        "x.ndim — number of dimensions",
        |x: &mut Tensor| x.ndim() as i64
    );
    reg!(
        api,
        "allclose",
        "allclose(a, b) / allclose(a, b, rtol, atol) — whether |a - b| <= atol + rtol*|b| everywhere (defaults 1e-5, 1e-8)",
        |a: &mut Tensor, b: Tensor| a.allclose(&b, 1e-5, 1e-8).rr()
    );
    reg!(
        api,
        "allclose",
        "",
        |a: &mut Tensor, b: Tensor, r: Dynamic, t: Dynamic| a
            .allclose(&b, num("allclose", &r)?, num("allclose", &t)?)
            .rr()
    );
    reg!(
        api,
        "is_tensor",
        "is_tensor(v) — whether v is a tensor",
        |v: Dynamic| v.is::<Tensor>()
    );

    // ---- autograd ----
    get!(
        api,
        "requires_grad",
        "x.requires_grad — whether gradients flow to x; set it with x.requires_grad = true or requires_grad_(x, true)",
        |x: &mut Tensor| x.requires_grad()
    );
    api.engine
        .register_set("requires_grad", |x: &mut Tensor, on: bool| {
            x.set_requires_grad(on).rr()
        });
    reg!(
        api,
        "requires_grad_",
        "requires_grad_(x) / requires_grad_(x, on) — marks a leaf as needing gradients and returns it",
        |x: &mut Tensor| x.clone().requires_grad_(true).rr()
    );
    reg!(api, "requires_grad_", "", |x: &mut Tensor, on: bool| x
        .clone()
        .requires_grad_(on)
        .rr());
    get!(
        api,
        "grad",
        "x.grad — the accumulated gradient of a leaf after backward(), or () before",
        |x: &mut Tensor| x.grad().map_or(Dynamic::UNIT, Dynamic::from)
    );
    get!(
        api,
        "is_leaf",
        "x.is_leaf — whether x was made by the user rather than by a tracked op",
        |x: &mut Tensor| x.is_leaf()
    );
    reg!(
        api,
        "backward",
        "backward(y) / backward(y, grad) — back-propagates from a scalar (or with an explicit gradient), accumulating into leaves' .grad",
        |x: &mut Tensor| x.backward().rr()
    );
    reg!(api, "backward", "", |x: &mut Tensor, g: Tensor| x
        .backward_with(&g)
        .rr());
    reg!(
        api,
        "zero_grad",
        "zero_grad(x) — clears x's accumulated gradient",
        |x: &mut Tensor| x.zero_grad()
    );
    reg!(
        api,
        "no_grad",
        "no_grad(|| ...) — runs the closure without recording gradients and returns its value",
        |ctx: NativeCallContext, f: FnPtr| -> RR<Dynamic> {
            let _guard = crate::tensor::no_grad();
            f.call_within_context(&ctx, ())
        }
    );
    reg!(
        api,
        "is_grad_enabled",
        "is_grad_enabled() — whether ops currently record gradients",
        crate::tensor::is_grad_enabled
    );

    reg!(
        api,
        "set_grad_enabled",
        "set_grad_enabled(on) — turns graph recording on or off (returns the previous setting); no_grad(|| ...) is the scoped form",
        |on: bool| crate::tensor::set_grad_enabled(on)
    );
    reg!(
        api,
        "copy_",
        "x.copy_(src) — overwrites x's values in place (same shape), not recorded by autograd",
        |x: &mut Tensor, src: Tensor| x.assign_(&src).rr()
    );

    // ---- utilities ----
    reg!(
        api,
        "env",
        "env(name) — an environment variable as a string, or () when unset. The ember command \
         allows it; an embedded runtime refuses it unless the host allows it \
         (Runtime::builder().allow_env(true))",
        |n: ImmutableString| -> RR<Dynamic> {
            if !super::env_access::allowed() {
                return fail(format!(
                    "env: cannot read {n}: this session may not read environment variables \
                     (a host allows it with Runtime::builder().allow_env(true))"
                ));
            }
            Ok(std::env::var(n.as_str()).map_or(Dynamic::UNIT, |v| v.into()))
        }
    );
    reg!(
        api,
        "assert",
        "assert(cond, message) — fails the script with message when cond is false",
        |c: bool, m: ImmutableString| if c {
            Ok(())
        } else {
            fail(format!("assertion failed: {m}"))
        }
    );
    reg!(api, "assert", "", |c: Tensor, m: ImmutableString| {
        let ok = c.all(None, false).rr()?.item().rr()? != 0.0;
        if ok {
            Ok(())
        } else {
            fail(format!("assertion failed: {m}"))
        }
    });
    reg!(
        api,
        "cuda_available",
        "cuda_available() — whether a CUDA device can be used",
        || crate::backend::cuda_available().0
    );
    reg!(
        api,
        "default_device",
        "default_device() — the device new tensors are created on",
        || super::convert::default_device().to_string()
    );
    reg!(
        api,
        "fmt",
        "fmt(x, decimals) — a number written with a fixed number of decimals",
        |x: Dynamic, d: i64| -> RR<String> {
            Ok(format!("{:.*}", d.clamp(0, 17) as usize, num("fmt", &x)?))
        }
    );
}
