//! Sorting along a dimension, and the median.

use super::MinMax;
use crate::tensor::Tensor;
use crate::tensor::shape::normalize_axis;
use anyhow::{Result, bail};

impl Tensor {
    /// Positions that sort each slice along `dim` (stable; NaNs last), as i64.
    pub fn argsort(&self, dim: i64, descending: bool) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Tensor::from_i64(vec![0], &[], self.device());
        }
        let axis = normalize_axis("argsort", dim, self.ndim())?;
        let last = self.ndim() as i64 - 1;
        let moved = self.transpose(axis as i64, last)?;
        let len = self.shape()[axis];
        let st = moved.storage().argsort_rows(len, descending)?;
        Tensor::from_storage(st, moved.shape().to_vec()).transpose(axis as i64, last)
    }

    /// Sorted values along `dim` with their original positions.
    pub fn sort(&self, dim: i64, descending: bool) -> Result<MinMax> {
        let indices = self.argsort(dim, descending)?;
        let values = if self.ndim() == 0 {
            self.clone()
        } else {
            self.gather(dim, &indices)?
        };
        Ok(MinMax { values, indices })
    }

    /// The lower median of all elements (as `torch.median()`).
    pub fn median(&self) -> Result<Tensor> {
        if self.numel() == 0 {
            bail!("median: empty tensor (shape {:?})", self.shape());
        }
        let flat = self.flatten_all()?;
        let order = flat.argsort(0, false)?;
        let mid = order.narrow(0, ((flat.numel() - 1) / 2) as i64, 1)?;
        flat.gather(0, &mid)?.reshape(&[])
    }
}
