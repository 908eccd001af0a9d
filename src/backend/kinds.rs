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
