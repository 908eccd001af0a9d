//! Operators and elementwise math: `+ - * / ** @`, comparisons, logic, activations.

use super::convert::{IntoRR, RR, num};
use super::registrar::Api;
use crate::tensor::Tensor;
use rhai::Dynamic;

type BinFn = fn(&Tensor, &Tensor) -> anyhow::Result<Tensor>;

/// Registers `name` for tensor⊕tensor, tensor⊕scalar and scalar⊕tensor (ints and floats).
fn binary(api: &mut Api, name: &str, doc: &str, f: BinFn) {
    reg!(api, name, doc, move |a: &mut Tensor, b: Tensor| f(a, &b)
        .rr());
    reg!(api, name, "", move |a: &mut Tensor, b: i64| f(
        a,
        &a.scalar_operand(b as f64).rr()?
    )
    .rr());
    reg!(api, name, "", move |a: &mut Tensor, b: f64| f(
        a,
        &a.scalar_operand(b).rr()?
    )
    .rr());
    reg!(api, name, "", move |a: i64, b: Tensor| f(
        &b.scalar_operand(a as f64).rr()?,
        &b
    )
    .rr());
    reg!(api, name, "", move |a: f64, b: Tensor| f(
        &b.scalar_operand(a).rr()?,
        &b
    )
    .rr());
}

pub fn register(api: &mut Api) {
    binary(
        api,
        "+",
        "a + b — elementwise sum with broadcasting; either side may be a number",
        Tensor::add,
    );
    binary(
        api,
        "-",
        "a - b — elementwise difference with broadcasting",
        Tensor::sub,
    );
    binary(
        api,
        "*",
        "a * b — elementwise product with broadcasting",
        Tensor::mul,
    );
    binary(
        api,
        "/",
        "a / b — elementwise true division (ints become f32)",
        Tensor::div,
    );
    binary(
        api,
        "**",
        "a ** b — elementwise power; scalar or tensor exponents",
        Tensor::pow,
    );
    binary(
        api,
        "pow",
        "pow(x, p) / x.pow(p) — elementwise power",
        Tensor::pow,
    );
    binary(api, "add", "add(a, b) — same as a + b", Tensor::add);
    binary(api, "sub", "sub(a, b) — same as a - b", Tensor::sub);
    binary(api, "mul", "mul(a, b) — same as a * b", Tensor::mul);
    binary(api, "div", "div(a, b) — same as a / b", Tensor::div);
    binary(
        api,
        "floor_divide",
        "floor_divide(a, b) — elementwise floor division",
        Tensor::floor_divide,
    );
    binary(
        api,
        "maximum",
        "maximum(a, b) — elementwise larger value",
        Tensor::maximum,
    );
    binary(
        api,
        "minimum",
        "minimum(a, b) — elementwise smaller value",
        Tensor::minimum,
    );
    binary(
        api,
        "squared_difference",
        "squared_difference(a, b) — elementwise (a - b)²",
        Tensor::squared_difference,
    );
    binary(
        api,
        "==",
        "a == b — elementwise equality (bool tensor)",
        Tensor::eq,
    );
    binary(
        api,
        "!=",
        "a != b — elementwise inequality (bool tensor)",
        Tensor::ne,
    );
    binary(
        api,
        "<",
        "a < b — elementwise comparison (bool tensor)",
        Tensor::lt,
    );
    binary(
        api,
        "<=",
        "a <= b — elementwise comparison (bool tensor)",
        Tensor::le,
    );
    binary(
        api,
        ">",
        "a > b — elementwise comparison (bool tensor)",
        Tensor::gt,
    );
    binary(
        api,
        ">=",
        "a >= b — elementwise comparison (bool tensor)",
        Tensor::ge,
    );
    binary(api, "eq", "eq(a, b) — elementwise equality", Tensor::eq);
    binary(api, "ne", "ne(a, b) — elementwise inequality", Tensor::ne);
    binary(api, "lt", "lt(a, b) — elementwise a < b", Tensor::lt);
    binary(api, "le", "le(a, b) — elementwise a <= b", Tensor::le);
    binary(api, "gt", "gt(a, b) — elementwise a > b", Tensor::gt);
    binary(api, "ge", "ge(a, b) — elementwise a >= b", Tensor::ge);
    binary(
        api,
        "logical_and",
        "logical_and(a, b) — elementwise and of bool tensors",
        Tensor::logical_and,
    );
    binary(
        api,
        "logical_or",
        "logical_or(a, b) — elementwise or of bool tensors",
        Tensor::logical_or,
    );
    binary(
        api,
        "logical_xor",
        "logical_xor(a, b) — elementwise exclusive or",
        Tensor::logical_xor,
    );
    reg!(
        api,
        "logical_not",
        "logical_not(x) — elementwise not",
        |x: &mut Tensor| x.logical_not().rr()
    );
    reg!(
        api,
        "!",
        "!x — elementwise not of a bool tensor",
        |x: Tensor| x.logical_not().rr()
    );
    reg!(
        api,
        "&",
        "a & b — elementwise and of bool tensors",
        |a: Tensor, b: Tensor| a.logical_and(&b).rr()
    );
    reg!(
        api,
        "|",
        "a | b — elementwise or of bool tensors",
        |a: Tensor, b: Tensor| a.logical_or(&b).rr()
    );
    reg!(api, "-", "", |x: &mut Tensor| x.neg().rr());
    reg!(
        api,
        "neg",
        "neg(x) — elementwise negation",
        |x: &mut Tensor| x.neg().rr()
    );
    reg!(
        api,
        "@",
        "a @ b — matrix product (torch.matmul semantics: 1-D, 2-D and broadcast batches)",
        |a: &mut Tensor, b: Tensor| a.matmul(&b).rr()
    );
    reg!(
        api,
        "matmul",
        "matmul(a, b) — same as a @ b",
        |a: &mut Tensor, b: Tensor| a.matmul(&b).rr()
    );
    reg!(
        api,
        "where",
        "where(cond, a, b) — elementwise cond ? a : b, broadcasting all three; a and b may be numbers",
        |c: Tensor, a: Dynamic, b: Dynamic| {
            let like = match a
                .clone()
                .try_cast::<Tensor>()
                .or_else(|| b.clone().try_cast::<Tensor>())
            {
                Some(t) => t,
                None => Tensor::scalar(0.0).rr()?,
            };
            let as_t = |v: &Dynamic| -> RR<Tensor> {
                match v.clone().try_cast::<Tensor>() {
                    Some(t) => Ok(t),
                    None => like.scalar_operand(num("where", v)?).rr(),
                }
            };
            Tensor::where_(&c, &as_t(&a)?, &as_t(&b)?).rr()
        }
    );

    macro_rules! unary {
        ($($name:literal => $m:ident, $doc:literal;)*) => {
            $( reg!(api, $name, $doc, |x: &mut Tensor| x.$m().rr()); )*
        };
    }
    unary! {
        "exp" => exp, "exp(x) — elementwise e^x";
        "log" => log, "log(x) — elementwise natural logarithm";
        "sqrt" => sqrt, "sqrt(x) — elementwise square root";
        "abs" => abs, "abs(x) — elementwise absolute value";
        "sign" => sign, "sign(x) — elementwise -1, 0 or 1";
        "sin" => sin, "sin(x) — elementwise sine";
        "cos" => cos, "cos(x) — elementwise cosine";
        "tanh" => tanh, "tanh(x) — elementwise hyperbolic tangent";
        "sigmoid" => sigmoid, "sigmoid(x) — elementwise 1 / (1 + e^-x)";
        "relu" => relu, "relu(x) — elementwise max(x, 0)";
        "reciprocal" => reciprocal, "reciprocal(x) — elementwise 1 / x";
        "floor" => floor, "floor(x) — elementwise floor (no gradient)";
    }
    reg!(
        api,
        "elu",
        "elu(x) / elu(x, alpha) — x for x > 0, else alpha * (e^x - 1); alpha defaults to 1",
        |x: &mut Tensor| x.elu(1.0).rr()
    );
    reg!(api, "elu", "", |x: &mut Tensor, a: Dynamic| x
        .elu(num("elu", &a)?)
        .rr());
    reg!(
        api,
        "leaky_relu",
        "leaky_relu(x) / leaky_relu(x, slope) — x for x > 0, else slope * x; slope defaults to 0.01",
        |x: &mut Tensor| x.leaky_relu(0.01).rr()
    );
    reg!(api, "leaky_relu", "", |x: &mut Tensor, s: Dynamic| x
        .leaky_relu(num("leaky_relu", &s)?)
        .rr());
    reg!(
        api,
        "clamp",
        "clamp(x, min, max) — elementwise min(max(x, min), max); use () for no bound",
        |x: &mut Tensor, lo: Dynamic, hi: Dynamic| {
            let lo = if lo.is_unit() {
                f64::MIN
            } else {
                num("clamp", &lo)?
            };
            let hi = if hi.is_unit() {
                f64::MAX
            } else {
                num("clamp", &hi)?
            };
            x.clamp(lo, hi).rr()
        }
    );
}
