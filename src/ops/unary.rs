//! Elementwise functions of one tensor and their derivatives.

use super::record;
use crate::backend::UnaryOp;
use crate::tensor::{DType, Tensor};
use anyhow::Result;

impl Tensor {
    /// Applies a float kernel (integers are promoted to f32 first).
    fn unary(&self, name: &'static str, op: UnaryOp) -> Result<Tensor> {
        if self.dtype() != DType::F32 && !matches!(op, UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sign)
        {
            return self.to_dtype(DType::F32)?.unary(name, op);
        }
        let st = self
            .storage()
            .unary(op)
            .map_err(|e| anyhow::anyhow!("{name}: {e} (shape {:?})", self.shape()))?;
        let x = self.clone();
        let out_cell = std::rc::Rc::new(std::cell::OnceCell::<Tensor>::new());
        let out_for_grad = out_cell.clone();
        let y = record(name, st, self.shape().to_vec(), &[self], move |g| {
            // Some derivatives are cheapest in terms of the output.
            let y = out_for_grad.get().map(|y| y.detach());
            let d = match op {
                UnaryOp::Neg => g.neg()?,
                UnaryOp::Exp => g.mul(&y.expect("output recorded"))?,
                UnaryOp::Log => g.div(&x)?,
                UnaryOp::Sqrt => g.div(&y.expect("output recorded").mul_scalar(2.0)?)?,
                UnaryOp::Abs => g.mul(&x.sign()?)?,
                UnaryOp::Sin => g.mul(&x.cos()?)?,
                UnaryOp::Cos => g.mul(&x.sin()?.neg()?)?,
                UnaryOp::Tanh => {
                    let y = y.expect("output recorded");
                    g.mul(&y.mul(&y)?.rsub_scalar(1.0)?)?
                }
                UnaryOp::Sigmoid => {
                    let y = y.expect("output recorded");
                    g.mul(&y.mul(&y.rsub_scalar(1.0)?)?)?
                }
                UnaryOp::Relu => g.mul(&x.gt(&zero_on(&x)?)?.to_dtype(DType::F32)?)?,
                UnaryOp::Elu(alpha) => {
                    let pos = x.gt(&zero_on(&x)?)?;
                    let neg_slope = y.expect("output recorded").add_scalar(alpha as f64)?;
                    g.mul(&Tensor::where_(&pos, &Tensor::ones_like(&x)?, &neg_slope)?)?
                }
                UnaryOp::LeakyRelu(s) => {
                    let pos = x.gt(&zero_on(&x)?)?;
                    let one = Tensor::scalar_like(1.0, DType::F32, x.device())?;
                    let slope = Tensor::where_(
                        &pos,
                        &one,
                        &Tensor::scalar_like(s as f64, DType::F32, x.device())?,
                    )?;
                    g.mul(&slope)?
                }
                UnaryOp::PowScalar(p) => {
                    g.mul(&x.pow_scalar(p as f64 - 1.0)?.mul_scalar(p as f64)?)?
                }
                UnaryOp::Clamp(lo, hi) => g.mul(&x.unary("in_range", UnaryOp::InRange(lo, hi))?)?,
                UnaryOp::Affine(scale, _) => g.mul_scalar(scale as f64)?,
                UnaryOp::Recip => {
                    let y = y.expect("output recorded");
                    g.mul(&y.mul(&y)?)?.neg()?
                }
                UnaryOp::Sign | UnaryOp::InRange(..) | UnaryOp::Floor => Tensor::zeros_like(g)?,
            };
            Ok(vec![Some(d)])
        });
        if y.requires_grad() {
            let _ = out_cell.set(y.detach());
        }
        Ok(y)
    }

    /// Elementwise `-x`.
    pub fn neg(&self) -> Result<Tensor> {
        self.unary("neg", UnaryOp::Neg)
    }
    /// Elementwise `e^x`.
    pub fn exp(&self) -> Result<Tensor> {
        self.unary("exp", UnaryOp::Exp)
    }
    /// Elementwise natural logarithm.
    pub fn log(&self) -> Result<Tensor> {
        self.unary("log", UnaryOp::Log)
    }
    /// Elementwise square root.
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary("sqrt", UnaryOp::Sqrt)
    }
    /// Elementwise absolute value.
    pub fn abs(&self) -> Result<Tensor> {
        self.unary("abs", UnaryOp::Abs)
    }
    /// Elementwise sign (-1, 0, 1).
    pub fn sign(&self) -> Result<Tensor> {
        self.unary("sign", UnaryOp::Sign)
    }
    /// Elementwise sine.
    pub fn sin(&self) -> Result<Tensor> {
        self.unary("sin", UnaryOp::Sin)
    }
    /// Elementwise cosine.
    pub fn cos(&self) -> Result<Tensor> {
        self.unary("cos", UnaryOp::Cos)
    }
    /// Elementwise hyperbolic tangent.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary("tanh", UnaryOp::Tanh)
    }
    /// Elementwise logistic function `1 / (1 + e^-x)`.
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary("sigmoid", UnaryOp::Sigmoid)
    }
    /// Elementwise `max(x, 0)`.
    pub fn relu(&self) -> Result<Tensor> {
        self.unary("relu", UnaryOp::Relu)
    }
    /// Elementwise ELU: `x` for `x > 0`, else `alpha * (e^x - 1)`.
    pub fn elu(&self, alpha: f64) -> Result<Tensor> {
        self.unary("elu", UnaryOp::Elu(alpha as f32))
    }
    /// Elementwise leaky ReLU: `x` for `x > 0`, else `slope * x`.
    pub fn leaky_relu(&self, slope: f64) -> Result<Tensor> {
        self.unary("leaky_relu", UnaryOp::LeakyRelu(slope as f32))
    }
    /// Elementwise `x ** p` for a scalar `p`.
    pub fn pow_scalar(&self, p: f64) -> Result<Tensor> {
        if p == 1.0 {
            return Ok(self.clone());
        }
        self.unary("pow", UnaryOp::PowScalar(p as f32))
    }
    /// Elementwise `min(max(x, lo), hi)`.
    pub fn clamp(&self, lo: f64, hi: f64) -> Result<Tensor> {
        if lo > hi {
            anyhow::bail!("clamp: min {lo} is greater than max {hi}");
        }
        self.unary("clamp", UnaryOp::Clamp(lo as f32, hi as f32))
    }
    /// Elementwise `1 / x`.
    pub fn reciprocal(&self) -> Result<Tensor> {
        self.unary("reciprocal", UnaryOp::Recip)
    }
    /// Elementwise `x * scale + shift` in one pass.
    pub fn affine(&self, scale: f64, shift: f64) -> Result<Tensor> {
        self.unary("affine", UnaryOp::Affine(scale as f32, shift as f32))
    }
    /// Elementwise floor (no gradient).
    pub fn floor(&self) -> Result<Tensor> {
        let st = self.storage().unary(UnaryOp::Floor)?;
        Ok(Tensor::from_storage(st, self.shape().to_vec()))
    }
}

/// A 0-d f32 zero on `x`'s device (for the masks of the activation gradients).
fn zero_on(x: &Tensor) -> Result<Tensor> {
    Tensor::scalar_like(0.0, DType::F32, x.device())
}
