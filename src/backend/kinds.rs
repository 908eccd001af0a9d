//! The vocabulary of kernels every backend implements.

/// Elementwise functions of one f32 operand (Neg and Abs also take i64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    /// `x > 0 ? x : alpha * (exp(x) - 1)`
    Elu(f32),
    /// `x > 0 ? x : slope * x`
    LeakyRelu(f32),
    /// `x ** p`
    PowScalar(f32),
    /// `min(max(x, lo), hi)`
    Clamp(f32, f32),
    /// -1, 0 or 1
    Sign,
    /// 1 where `lo <= x <= hi`, else 0 (gradient mask of clamp)
    InRange(f32, f32),
    /// `x * scale + shift`
    Affine(f32, f32),
    Recip,
}

/// Elementwise functions of two operands of one dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
    SquaredDifference,
}

/// Comparisons, giving bools.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Logic on bools.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogicalOp {
    And,
    Or,
    Xor,
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
