//! Broadcasting arithmetic, comparisons, logic and `where`.

use super::{record, same_device, scalars_to_device};
use crate::backend::{BinaryOp, CompareOp, LogicalOp, Storage};
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

fn op_name(op: BinaryOp) -> &'static str {
    match op {
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

/// Storage of a tensor, borrowed, or converted to another dtype.
enum Operand<'a> {
    Borrowed(std::cell::Ref<'a, Storage>),
    Owned(Storage),
}

impl std::ops::Deref for Operand<'_> {
    type Target = Storage;
    fn deref(&self) -> &Storage {
        match self {
            Operand::Borrowed(s) => s,
            Operand::Owned(s) => s,
        }
    }
}

/// Storage of `t` converted to `dtype` (borrowed when it already is).
fn as_dtype(t: &Tensor, dtype: DType) -> Result<Operand<'_>> {
    let s = t.storage();
    Ok(if s.dtype() == dtype {
        Operand::Borrowed(s)
    } else {
        Operand::Owned(s.cast(dtype)?)
    })
}

/// Forward of a broadcasting binary op after dtype promotion.
fn forward(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<(Storage, Vec<usize>)> {
    let name = op_name(op);
    same_device(name, &[a, b])?;
    let out = broadcast_shapes(name, a.shape(), b.shape())?;
    let mut dt = DType::promote(a.dtype(), b.dtype());
    if dt == DType::Bool {
        dt = DType::I64;
    }
    let st = if a.dtype() == dt && b.dtype() == dt {
        Storage::binary(op, &a.storage(), a.shape(), &b.storage(), b.shape(), &out)
    } else {
        Storage::binary(
            op,
            &*as_dtype(a, dt)?,
            a.shape(),
            &*as_dtype(b, dt)?,
            b.shape(),
            &out,
        )
    }
    .map_err(|e| anyhow::anyhow!("{name}: {e} (shapes {:?} and {:?})", a.shape(), b.shape()))?;
    Ok((st, out))
}

impl Tensor {
    fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        if self.device() != other.device() {
            let m = scalars_to_device(&[self, other])?;
            return m[0].binary_here(op, &m[1]);
        }
        self.binary_here(op, other)
    }

    fn binary_here(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let (st, out) = forward(op, self, other)?;
        let (a, b) = (self.clone(), other.clone());
        let (need_a, need_b) = (self.requires_grad(), other.requires_grad());
        let res = record(op_name(op), st, out, &[self, other], {
            move |g: &Tensor| -> Result<Vec<Option<Tensor>>> {
                // Each operand's gradient is computed only when it wants one (constants and
                // data need none).
                let ga = if need_a {
                    let d = match op {
                        BinaryOp::Add | BinaryOp::Sub => g.clone(),
                        BinaryOp::Mul => g.mul(&b)?,
                        BinaryOp::Div => g.div(&b)?,
                        BinaryOp::Pow => g.mul(&b)?.mul(&a.pow(&b.sub_scalar(1.0)?)?)?,
                        BinaryOp::Maximum => g.mul(&a.ge(&b)?.to_dtype(DType::F32)?)?,
                        BinaryOp::Minimum => g.mul(&a.le(&b)?.to_dtype(DType::F32)?)?,
                        BinaryOp::SquaredDifference => a.sub(&b)?.mul_scalar(2.0)?.mul(g)?,
                    };
                    Some(d.sum_to(a.shape())?)
                } else {
                    None
                };
                let gb = if need_b {
                    let d = match op {
                        BinaryOp::Add => g.clone(),
                        BinaryOp::Sub => g.neg()?,
                        BinaryOp::Mul => g.mul(&a)?,
                        BinaryOp::Div => g.neg()?.mul(&a)?.div(&b.mul(&b)?)?,
                        BinaryOp::Pow => g.mul(&a.pow(&b)?)?.mul(&a.log()?)?,
                        BinaryOp::Maximum => g.mul(&a.lt(&b)?.to_dtype(DType::F32)?)?,
                        BinaryOp::Minimum => g.mul(&a.gt(&b)?.to_dtype(DType::F32)?)?,
                        BinaryOp::SquaredDifference => b.sub(&a)?.mul_scalar(2.0)?.mul(g)?,
                    };
                    Some(d.sum_to(b.shape())?)
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }
        });
        Ok(res)
    }

    /// Elementwise `self + other` with broadcasting.
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, other)
    }
    /// Elementwise `self - other` with broadcasting.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, other)
    }
    /// Elementwise `self * other` with broadcasting.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, other)
    }
    /// Elementwise true division (integers are promoted to f32, as in PyTorch).
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        if self.dtype() != DType::F32 && other.dtype() != DType::F32 {
            return self.to_dtype(DType::F32)?.div(&other.to_dtype(DType::F32)?);
        }
        self.binary(BinaryOp::Div, other)
    }
    /// Elementwise floor division of integers (`//`).
    pub fn floor_divide(&self, other: &Tensor) -> Result<Tensor> {
        if self.dtype() == DType::F32 || other.dtype() == DType::F32 {
            return self.div(other)?.floor();
        }
        self.binary(BinaryOp::Div, other)
    }
    /// Elementwise power with a tensor exponent.
    pub fn pow(&self, other: &Tensor) -> Result<Tensor> {
        if other.numel() == 1 && !other.requires_grad() && other.ndim() == 0 {
            return self.pow_scalar(other.item()?);
        }
        self.binary(BinaryOp::Pow, other)
    }
    /// Elementwise larger of two tensors.
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Maximum, other)
    }
    /// Elementwise smaller of two tensors.
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Minimum, other)
    }
    /// Elementwise `(self - other)²`.
    pub fn squared_difference(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::SquaredDifference, other)
    }

    /// A 0-d tensor for a scalar operand: i64 when both are integral, else f32.
    pub(crate) fn scalar_operand(&self, v: f64) -> Result<Tensor> {
        let dt = if self.dtype() != DType::F32 && v.fract() == 0.0 && v.abs() < 9e15 {
            DType::I64
        } else {
            DType::F32
        };
        Tensor::scalar_like(v, dt, self.device())
    }
    /// `self + v`
    pub fn add_scalar(&self, v: f64) -> Result<Tensor> {
        self.add(&self.scalar_operand(v)?)
    }
    /// `self - v`
    pub fn sub_scalar(&self, v: f64) -> Result<Tensor> {
        self.sub(&self.scalar_operand(v)?)
    }
    /// `v - self`
    pub fn rsub_scalar(&self, v: f64) -> Result<Tensor> {
        self.scalar_operand(v)?.sub(self)
    }
    /// `self * v`
    pub fn mul_scalar(&self, v: f64) -> Result<Tensor> {
        self.mul(&self.scalar_operand(v)?)
    }
    /// `self / v`
    pub fn div_scalar(&self, v: f64) -> Result<Tensor> {
        self.div(&self.scalar_operand(v)?)
    }
    /// `v / self`
    pub fn rdiv_scalar(&self, v: f64) -> Result<Tensor> {
        self.scalar_operand(v)?.div(self)
    }
    /// `v ** self`
    pub fn rpow_scalar(&self, v: f64) -> Result<Tensor> {
        Tensor::scalar_like(v, DType::F32, self.device())?.binary(BinaryOp::Pow, self)
    }

    fn compare(&self, op: CompareOp, other: &Tensor) -> Result<Tensor> {
        if self.device() != other.device() {
            let m = scalars_to_device(&[self, other])?;
            return m[0].compare_here(op, &m[1]);
        }
        self.compare_here(op, other)
    }

    fn compare_here(&self, op: CompareOp, other: &Tensor) -> Result<Tensor> {
        let name = match op {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
        };
        same_device(name, &[self, other])?;
        let out = broadcast_shapes(name, self.shape(), other.shape())?;
        let dt = DType::promote(self.dtype(), other.dtype());
        let st = Storage::compare(
            op,
            &*as_dtype(self, dt)?,
            self.shape(),
            &*as_dtype(other, dt)?,
            other.shape(),
            &out,
        )?;
        Ok(Tensor::from_storage(st, out))
    }
    /// Elementwise `==`, giving bools.
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Eq, other)
    }
    /// Elementwise `!=`, giving bools.
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Ne, other)
    }
    /// Elementwise `<`, giving bools.
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Lt, other)
    }
    /// Elementwise `<=`, giving bools.
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Le, other)
    }
    /// Elementwise `>`, giving bools.
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Gt, other)
    }
    /// Elementwise `>=`, giving bools.
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Ge, other)
    }

    fn logical(&self, op: LogicalOp, name: &str, other: &Tensor) -> Result<Tensor> {
        if self.device() != other.device() {
            let m = scalars_to_device(&[self, other])?;
            return m[0].logical_here(op, name, &m[1]);
        }
        self.logical_here(op, name, other)
    }

    fn logical_here(&self, op: LogicalOp, name: &str, other: &Tensor) -> Result<Tensor> {
        same_device(name, &[self, other])?;
        let out = broadcast_shapes(name, self.shape(), other.shape())?;
        let st = Storage::logical(
            op,
            &*as_dtype(self, DType::Bool)?,
            self.shape(),
            &*as_dtype(other, DType::Bool)?,
            other.shape(),
            &out,
        )?;
        Ok(Tensor::from_storage(st, out))
    }
    /// Elementwise logical and (operands are read as bools).
    pub fn logical_and(&self, other: &Tensor) -> Result<Tensor> {
        self.logical(LogicalOp::And, "logical_and", other)
    }
    /// Elementwise logical or.
    pub fn logical_or(&self, other: &Tensor) -> Result<Tensor> {
        self.logical(LogicalOp::Or, "logical_or", other)
    }
    /// Elementwise logical xor.
    pub fn logical_xor(&self, other: &Tensor) -> Result<Tensor> {
        self.logical(LogicalOp::Xor, "logical_xor", other)
    }
    /// Elementwise logical not.
    pub fn logical_not(&self) -> Result<Tensor> {
        self.to_dtype(DType::Bool)?
            .eq(&Tensor::scalar_like(0.0, DType::Bool, self.device())?)
    }

    /// `cond ? a : b` elementwise, broadcasting all three (PyTorch's `torch.where`).
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if cond.device() != a.device() || a.device() != b.device() {
            let m = scalars_to_device(&[cond, a, b])?;
            return Tensor::where_here(&m[0], &m[1], &m[2]);
        }
        Tensor::where_here(cond, a, b)
    }

    fn where_here(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        same_device("where", &[cond, a, b])?;
        if cond.dtype() != DType::Bool {
            bail!(
                "where: the condition must be bool, got {} (shape {:?})",
                cond.dtype(),
                cond.shape()
            );
        }
        let ab = broadcast_shapes("where", a.shape(), b.shape())?;
        let out = broadcast_shapes("where", cond.shape(), &ab)?;
        let dt = DType::promote(a.dtype(), b.dtype());
        let st = Storage::select(
            &cond.storage(),
            cond.shape(),
            &*as_dtype(a, dt)?,
            a.shape(),
            &*as_dtype(b, dt)?,
            b.shape(),
            &out,
        )?;
        let (c, ash, bsh) = (cond.clone(), a.shape().to_vec(), b.shape().to_vec());
        Ok(record("where", st, out, &[a, b], move |g| {
            let zero = Tensor::zeros_like(g)?;
            Ok(vec![
                Some(Tensor::where_(&c, g, &zero)?.sum_to(&ash)?),
                Some(Tensor::where_(&c, &zero, g)?.sum_to(&bsh)?),
            ])
        }))
    }

    /// Sums a broadcast gradient back down to `shape` (undoing broadcasting).
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let extra = self.ndim() - shape.len();
        let mut t = self.clone();
        for _ in 0..extra {
            t = t.sum_dim(0, false)?;
        }
        for (i, &d) in shape.iter().enumerate() {
            if d == 1 && t.shape()[i] != 1 {
                t = t.sum_dim(i as i64, true)?;
            }
        }
        t.reshape(&shape.iter().map(|&d| d as i64).collect::<Vec<_>>())
    }
}
