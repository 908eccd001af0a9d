//! The vocabulary of kernels every backend implements.

/// Declares an elementwise op enum together with each op's CUDA C expression, so the CUDA
/// kernels are generated from the same list the CPU backend matches on: adding an op is one
/// line here (plus its CPU arm, which the compiler asks for). Parameters are named in the
/// variant (`Elu(alpha)`, all f32) and used by those names in the expression; the operands are
/// `x` (and `y`). A second expression after `;` is the i64 form, where the op has one.
macro_rules! elementwise_ops {
    ($(#[$meta:meta])* pub enum $name:ident {
        $( $(#[$vmeta:meta])* $v:ident $( ( $($p:ident),* ) )? => $f32:literal $(; $i64:literal)? ,)*
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $v $( ( $(param_type!($p)),* ) )? ,)*
        }

        impl $name {
            /// The op's number in the generated CUDA `switch` (its place in the list).
            pub fn code(self) -> u32 {
                #[allow(dead_code)]
                enum Code { $($v),* }
                match self { $( Self::$v { .. } => Code::$v as u32, )* }
            }

            /// The op's parameters in order, padded with zeros (the kernels take two).
            pub fn params(self) -> [f32; 2] {
                let mut out = [0.0f32; 2];
                let given: &[f32] = match self { $( Self::$v $( ( $($p),* ) )? => &[$($($p),*)?], )* };
                out[..given.len()].copy_from_slice(given);
                out
            }

            /// `(name, parameter names, f32 expression, i64 expression)` of every op, in `code`
            /// order: the source of the generated CUDA `switch`.
            pub const CUDA: &'static [(&'static str, &'static [&'static str], &'static str, Option<&'static str>)] = &[
                $( (stringify!($v), &[$($(stringify!($p)),*)?], $f32, elementwise_ops!(@opt $($i64)?)), )*
            ];
        }
    };
    (@opt) => { None };
    (@opt $e:literal) => { Some($e) };
}

/// Every elementwise op parameter is an f32.
macro_rules! param_type {
    ($p:ident) => {
        f32
    };
}

elementwise_ops! {
    /// Elementwise functions of one f32 operand (Neg, Abs and Sign also take i64).
    pub enum UnaryOp {
        Neg => "-x"; "wrap_neg(x)",
        Exp => "expf(x)",
        Log => "logf(x)",
        Sqrt => "sqrtf(x)",
        Abs => "fabsf(x)"; "(x < 0 ? wrap_neg(x) : x)",
        Sin => "sinf(x)",
        Cos => "cosf(x)",
        Tanh => "tanhf(x)",
        Sigmoid => "1.f / (1.f + expf(-x))",
        Relu => "fmaxf(x, 0.f)",
        /// `x > 0 ? x : alpha * (exp(x) - 1)`
        Elu(alpha) => "x > 0.f ? x : alpha * (expf(x) - 1.f)",
        /// `x > 0 ? x : slope * x`
        LeakyRelu(slope) => "x > 0.f ? x : slope * x",
        /// `x ** p`
        PowScalar(p) => "(p == 2.f ? x * x : p == -1.f ? 1.f / x : p == 0.5f ? sqrtf(x) : powf(x, p))",
        /// `min(max(x, lo), hi)`
        Clamp(lo, hi) => "fminf(fmaxf(x, lo), hi)",
        /// -1, 0 or 1
        Sign => "(x > 0.f ? 1.f : x < 0.f ? -1.f : 0.f)"; "(x > 0 ? 1 : x < 0 ? -1 : 0)",
        /// 1 where `lo <= x <= hi`, else 0 (gradient mask of clamp)
        InRange(lo, hi) => "((x >= lo && x <= hi) ? 1.f : 0.f)",
        /// `x * scale + shift`
        Affine(scale, shift) => "x * scale + shift",
        Recip => "1.f / x",
        /// Largest integer not above `x` (the identity on integers)
        Floor => "floorf(x)"; "x",
    }
}

elementwise_ops! {
    /// Elementwise functions of two operands of one dtype.
    pub enum BinaryOp {
        Add => "x + y"; "wrap_add(x, y)",
        Sub => "x - y"; "wrap_sub(x, y)",
        Mul => "x * y"; "wrap_mul(x, y)",
        Div => "x / y"; "floor_div(x, y)",
        Pow => "powf(x, y)"; "int_pow(x, y)",
        Maximum => "((x != x || x >= y) ? x : y)"; "(x >= y ? x : y)",
        Minimum => "((x != x || x <= y) ? x : y)"; "(x <= y ? x : y)",
        SquaredDifference => "(x - y) * (x - y)"; "wrap_mul(wrap_sub(x, y), wrap_sub(x, y))",
    }
}

elementwise_ops! {
    /// Comparisons, giving bools (one expression serves every dtype).
    pub enum CompareOp {
        Eq => "x == y",
        Ne => "x != y",
        Lt => "x < y",
        Le => "x <= y",
        Gt => "x > y",
        Ge => "x >= y",
    }
}

elementwise_ops! {
    /// Logic on bools.
    pub enum LogicalOp {
        And => "x & y",
        Or => "x | y",
        Xor => "x ^ y",
    }
}

impl UnaryOp {
    /// The op's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Abs => "abs",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Relu => "relu",
            UnaryOp::Elu(_) => "elu",
            UnaryOp::LeakyRelu(_) => "leaky_relu",
            UnaryOp::PowScalar(_) => "pow",
            UnaryOp::Clamp(..) => "clamp",
            UnaryOp::Sign => "sign",
            UnaryOp::InRange(..) => "clamp backward",
            UnaryOp::Affine(..) => "affine",
            UnaryOp::Recip => "reciprocal",
            UnaryOp::Floor => "floor",
        }
    }
}

impl BinaryOp {
    /// The op's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::SquaredDifference => "squared_difference",
        }
    }
}

impl CompareOp {
    /// The op's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
        }
    }
}

impl LogicalOp {
    /// The op's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            LogicalOp::And => "logical_and",
            LogicalOp::Or => "logical_or",
            LogicalOp::Xor => "logical_xor",
        }
    }
}

/// Reductions along an axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
    All,
    Any,
}

/// Reductions giving an index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgReduceOp {
    ArgMax,
    ArgMin,
}

impl ArgReduceOp {
    /// The op's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            ArgReduceOp::ArgMax => "argmax",
            ArgReduceOp::ArgMin => "argmin",
        }
    }
}

/// Geometry of sliding-window patches over `[N, C, H, W]`: kernel, stride, dilation and padding
/// (top, bottom, left, right).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Patches {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pt: usize,
    pub pb: usize,
    pub pl: usize,
    pub pr: usize,
}

impl Patches {
    /// Checks the geometry before any kernel uses it: kernel, stride and dilation at least 1,
    /// the dilated kernel inside the padded input, and every size a kernel computes (input,
    /// output, one image's columns, all columns) representable, so the kernels' own arithmetic
    /// cannot overflow.
    pub fn validate(&self, op: &str) -> anyhow::Result<()> {
        let p = self;
        if [p.kh, p.kw, p.sh, p.sw, p.dh, p.dw].contains(&0) {
            anyhow::bail!("{op}: kernel, stride and dilation must be at least 1, got {p:?}");
        }
        let span = |d: usize, k: usize| d.checked_mul(k - 1).and_then(|x| x.checked_add(1));
        let padded = |x: usize, a: usize, b: usize| x.checked_add(a).and_then(|x| x.checked_add(b));
        let (Some(sh), Some(sw), Some(ph), Some(pw)) = (
            span(p.dh, p.kh),
            span(p.dw, p.kw),
            padded(p.h, p.pt, p.pb),
            padded(p.w, p.pl, p.pr),
        ) else {
            anyhow::bail!("{op}: the window or padding sizes overflow ({p:?})");
        };
        if sh > ph || sw > pw {
            anyhow::bail!(
                "{op}: the {}x{} window (dilated to {sh}x{sw}) does not fit the padded {ph}x{pw} input",
                p.kh,
                p.kw
            );
        }
        let l = self.out_h().checked_mul(self.out_w());
        let prod = |xs: &[Option<usize>]| {
            xs.iter()
                .try_fold(1usize, |acc, x| x.and_then(|x| acc.checked_mul(x)))
        };
        let some = Some;
        let sizes = [
            prod(&[some(p.n), some(p.c), some(p.h), some(p.w)]),
            prod(&[some(p.n), some(p.c), some(ph), some(pw)]),
            prod(&[some(p.c), some(p.kh), some(p.kw), l]),
            prod(&[some(p.c), some(p.kh), some(p.kw), l, some(p.n)]),
            prod(&[some(p.n), some(p.c), l]),
        ];
        if sizes.iter().any(Option::is_none) {
            anyhow::bail!(
                "{op}: input [{}, {}, {}, {}] with a {}x{} window has too many elements",
                p.n,
                p.c,
                p.h,
                p.w,
                p.kh,
                p.kw
            );
        }
        Ok(())
    }

    /// Output height: positions where the dilated kernel fits in the padded input.
    pub fn out_h(&self) -> usize {
        let span = self.dh * (self.kh - 1) + 1;
        (self.h + self.pt + self.pb).saturating_sub(span) / self.sh + 1
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        let span = self.dw * (self.kw - 1) + 1;
        (self.w + self.pl + self.pr).saturating_sub(span) / self.sw + 1
    }
}

/// Settings of one fused Adam/AdamW update (PyTorch's equations): with `g' = g + wd * p`
/// (Adam) or `p *= 1 - lr * wd` first (AdamW, `decoupled`), `m = b1 m + (1 - b1) g'`,
/// `v = b2 v + (1 - b2) g'^2`, `p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)`.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled: bool,
    pub bias_correction1: f64,
    pub bias_correction2: f64,
}
