//! Reductions: sums, means, extrema (with indices), variance, norms, logsumexp, cumsum.

use super::record;
use crate::backend::{ArgReduceOp, ReduceOp};
use crate::tensor::shape::normalize_axis;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// Values and positions of the extrema along a dimension (PyTorch's `max(dim)`).
#[derive(Clone, Debug)]
pub struct MinMax {
    pub values: Tensor,
    pub indices: Tensor,
}

fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if axis >= s.len() {
        // a 0-d tensor reduced along "dimension 0" stays 0-d
        return s;
    }
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

impl Tensor {
    /// Sum of all elements (a 0-d tensor).
    pub fn sum(&self) -> Result<Tensor> {
        let st = self.storage().reduce(ReduceOp::Sum, self.shape(), None)?;
        let shape = self.shape().to_vec();
        Ok(record("sum", st, vec![], &[self], move |g| {
            Ok(vec![Some(g.expand_to(&shape)?)])
        }))
    }

    /// Sum along `dim`, keeping it as size 1 when `keepdim`.
    pub fn sum_dim(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        let axis = normalize_axis("sum", dim, self.ndim())?;
        if self.ndim() == 0 {
            return Ok(self.clone());
        }
        let st = self
            .storage()
            .reduce(ReduceOp::Sum, self.shape(), Some(axis))?;
        let shape = self.shape().to_vec();
        let kept = reduced_shape(&shape, axis, true);
        Ok(record(
            "sum",
            st,
            reduced_shape(&shape, axis, keepdim),
            &[self],
            move |g| Ok(vec![Some(g.reshape_usize(&kept)?.expand_to(&shape)?)]),
        ))
    }

    /// Mean of all elements.
    /// The mean of every element; `nan` for an empty tensor, as in PyTorch.
    pub fn mean(&self) -> Result<Tensor> {
        let x = self.float_for("mean")?;
        x.sum()?.div_scalar(x.numel() as f64)
    }

    /// Mean along `dim`.
    pub fn mean_dim(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        let x = self.float_for("mean")?;
        let n = x.size(dim)?;
        // an empty dimension gives `nan` (0 / 0), as in PyTorch
        x.sum_dim(dim, keepdim)?.div_scalar(n as f64)
    }

    /// Integers and bools become f32 for float-valued reductions.
    fn float_for(&self, _op: &str) -> Result<Tensor> {
        if self.dtype() == DType::F32 {
            Ok(self.clone())
        } else {
            self.to_dtype(DType::F32)
        }
    }

    fn arg_reduce(
        &self,
        op: ArgReduceOp,
        name: &str,
        dim: Option<i64>,
        keepdim: bool,
    ) -> Result<Tensor> {
        if self.numel() == 0 {
            // PyTorch reduces an empty tensor along a dimension that is not itself empty
            let reduced = match dim {
                Some(d) if self.ndim() > 0 => {
                    let axis = normalize_axis(name, d, self.ndim())?;
                    (self.shape()[axis] > 0).then(|| reduced_shape(self.shape(), axis, keepdim))
                }
                _ => None,
            };
            return match reduced {
                Some(shape) => Tensor::zeros(&shape, DType::I64, self.device()),
                None => bail!(
                    "{name}: cannot reduce an empty tensor (shape {:?}){}",
                    self.shape(),
                    if dim.is_none() {
                        "; give a dimension that is not empty"
                    } else {
                        ""
                    }
                ),
            };
        }
        match dim {
            None => {
                let st = self.storage().arg_reduce(op, self.shape(), None)?;
                Ok(Tensor::from_storage(st, vec![]))
            }
            Some(d) => {
                let axis = normalize_axis(name, d, self.ndim())?;
                if self.ndim() == 0 {
                    return Tensor::from_i64(vec![0], &[], self.device());
                }
                let st = self.storage().arg_reduce(op, self.shape(), Some(axis))?;
                Ok(Tensor::from_storage(
                    st,
                    reduced_shape(self.shape(), axis, keepdim),
                ))
            }
        }
    }

    /// Flat index of the largest element.
    pub fn argmax(&self) -> Result<Tensor> {
        self.arg_reduce(ArgReduceOp::ArgMax, "argmax", None, false)
    }
    /// Index of the largest element along `dim` (i64).
    pub fn argmax_dim(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        self.arg_reduce(ArgReduceOp::ArgMax, "argmax", Some(dim), keepdim)
    }
    /// Flat index of the smallest element.
    pub fn argmin(&self) -> Result<Tensor> {
        self.arg_reduce(ArgReduceOp::ArgMin, "argmin", None, false)
    }
    /// Index of the smallest element along `dim` (i64).
    pub fn argmin_dim(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        self.arg_reduce(ArgReduceOp::ArgMin, "argmin", Some(dim), keepdim)
    }

    /// Largest element (0-d). Its gradient goes to the first maximal element.
    pub fn max(&self) -> Result<Tensor> {
        let idx = self.arg_reduce(ArgReduceOp::ArgMax, "max", None, false)?;
        self.flatten_all()?
            .gather(0, &idx.reshape(&[1])?)?
            .reshape(&[])
    }
    /// Smallest element (0-d).
    pub fn min(&self) -> Result<Tensor> {
        let idx = self.arg_reduce(ArgReduceOp::ArgMin, "min", None, false)?;
        self.flatten_all()?
            .gather(0, &idx.reshape(&[1])?)?
            .reshape(&[])
    }
    /// Largest values along `dim` and where they are.
    pub fn max_dim(&self, dim: i64, keepdim: bool) -> Result<MinMax> {
        let idx = self.arg_reduce(ArgReduceOp::ArgMax, "max", Some(dim), true)?;
        self.extremum_at(dim, idx, keepdim)
    }
    /// Smallest values along `dim` and where they are.
    pub fn min_dim(&self, dim: i64, keepdim: bool) -> Result<MinMax> {
        let idx = self.arg_reduce(ArgReduceOp::ArgMin, "min", Some(dim), true)?;
        self.extremum_at(dim, idx, keepdim)
    }
    fn extremum_at(&self, dim: i64, idx: Tensor, keepdim: bool) -> Result<MinMax> {
        let values = self.gather(dim, &idx)?;
        if keepdim || self.ndim() == 0 {
            return Ok(MinMax {
                values,
                indices: idx,
            });
        }
        Ok(MinMax {
            values: values.squeeze_dim(dim)?,
            indices: idx.squeeze_dim(dim)?,
        })
    }
    /// Largest values along `dim` (like `torch.amax`).
    pub fn amax(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        Ok(self.max_dim(dim, keepdim)?.values)
    }
    /// Smallest values along `dim` (like `torch.amin`).
    pub fn amin(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        Ok(self.min_dim(dim, keepdim)?.values)
    }

    /// Variance along `dim` (or of everything), with Bessel's correction when `unbiased`.
    pub fn var(&self, dim: Option<i64>, unbiased: bool, keepdim: bool) -> Result<Tensor> {
        let x = self.float_for("var")?;
        let (n, centred) = match dim {
            None => (x.numel(), x.sub(&x.mean()?)?),
            Some(d) => (x.size(d)?, x.sub(&x.mean_dim(d, true)?)?),
        };
        let denom = if unbiased { n.saturating_sub(1) } else { n };
        let sq = centred.mul(&centred)?;
        let total = match dim {
            None => sq.sum()?,
            Some(d) => sq.sum_dim(d, keepdim)?,
        };
        total.div_scalar(denom as f64)
    }

    /// Standard deviation (square root of [`Tensor::var`]).
    pub fn std(&self, dim: Option<i64>, unbiased: bool, keepdim: bool) -> Result<Tensor> {
        self.var(dim, unbiased, keepdim)?.sqrt()
    }

    /// `log(sum(exp(x)))` along `dim`, computed stably.
    pub fn logsumexp(&self, dim: i64, keepdim: bool) -> Result<Tensor> {
        let x = self.float_for("logsumexp")?;
        let m = x.amax(dim, true)?.detach();
        let m = Tensor::where_(&m.is_finite()?, &m, &Tensor::zeros_like(&m)?)?;
        let s = x.sub(&m)?.exp()?.sum_dim(dim, true)?.log()?.add(&m)?;
        if keepdim { Ok(s) } else { s.squeeze_dim(dim) }
    }

    /// True where the value is neither infinite nor NaN.
    pub fn is_finite(&self) -> Result<Tensor> {
        let st = self.storage().is_finite()?;
        Ok(Tensor::from_storage(st, self.shape().to_vec()))
    }

    /// The p-norm of all elements, or along `dim`.
    pub fn norm(&self, p: f64, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        let x = self.float_for("norm")?;
        let a = if p == 2.0 {
            x.mul(&x)?
        } else {
            x.abs()?.pow_scalar(p)?
        };
        let s = match dim {
            None => a.sum()?,
            Some(d) => a.sum_dim(d, keepdim)?,
        };
        if p == 2.0 {
            s.sqrt()
        } else {
            s.pow_scalar(1.0 / p)
        }
    }

    /// Product of all elements, or along `dim`.
    pub fn prod(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        let (st, shape, kept) = match dim {
            None => (
                self.storage().reduce(ReduceOp::Prod, self.shape(), None)?,
                vec![],
                vec![1; self.ndim()],
            ),
            Some(d) => {
                let axis = normalize_axis("prod", d, self.ndim())?;
                (
                    self.storage()
                        .reduce(ReduceOp::Prod, self.shape(), Some(axis))?,
                    reduced_shape(self.shape(), axis, keepdim),
                    reduced_shape(self.shape(), axis, true),
                )
            }
        };
        let x = self.clone();
        let y = Tensor::from_storage(st.try_clone()?, shape.clone());
        Ok(record("prod", st, shape, &[self], move |g| {
            let full = x.shape().to_vec();
            let gy = g.mul(&y)?.reshape_usize(&kept)?.expand_to(&full)?;
            Ok(vec![Some(gy.div(&x)?)])
        }))
    }

    /// Whether every element is true (non-zero), overall or along `dim`.
    pub fn all(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        self.bool_reduce(ReduceOp::All, "all", dim, keepdim)
    }
    /// Whether any element is true (non-zero), overall or along `dim`.
    pub fn any(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        self.bool_reduce(ReduceOp::Any, "any", dim, keepdim)
    }
    fn bool_reduce(
        &self,
        op: ReduceOp,
        name: &str,
        dim: Option<i64>,
        keepdim: bool,
    ) -> Result<Tensor> {
        let b = self.to_dtype(DType::Bool)?;
        match dim {
            None => Ok(Tensor::from_storage(
                b.storage().reduce(op, b.shape(), None)?,
                vec![],
            )),
            Some(d) => {
                let axis = normalize_axis(name, d, b.ndim())?;
                let st = b.storage().reduce(op, b.shape(), Some(axis))?;
                Ok(Tensor::from_storage(
                    st,
                    reduced_shape(b.shape(), axis, keepdim),
                ))
            }
        }
    }

    /// Running sum along `dim`.
    pub fn cumsum(&self, dim: i64) -> Result<Tensor> {
        let axis = normalize_axis("cumsum", dim, self.ndim())?;
        if self.ndim() == 0 {
            return Ok(self.clone());
        }
        let st = self.storage().cumsum(self.shape(), axis)?;
        Ok(record(
            "cumsum",
            st,
            self.shape().to_vec(),
            &[self],
            move |g| {
                let d = axis as i64;
                Ok(vec![Some(g.flip(&[d])?.cumsum(d)?.flip(&[d])?)])
            },
        ))
    }
}
