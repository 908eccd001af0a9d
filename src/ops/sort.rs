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
        let v = moved.to_f32_vec();
        let mut out = Vec::with_capacity(v.len());
        for row in v.chunks(len.max(1)) {
            let mut idx: Vec<usize> = (0..row.len()).collect();
            idx.sort_by(|&a, &b| {
                let (x, y) = (row[a], row[b]);
                let ord = x
                    .partial_cmp(&y)
                    .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()));
                if descending && !(x.is_nan() || y.is_nan()) {
                    ord.reverse()
                } else {
                    ord
                }
            });
            out.extend(idx.into_iter().map(|i| i as i64));
        }
        Tensor::from_i64(out, moved.shape(), self.device())?.transpose(axis as i64, last)
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
