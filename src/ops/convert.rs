//! Conversions and comparisons of whole tensors: dtype casts, scalars, closeness, devices.

use super::record;
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, bail};

impl Tensor {
    /// The tensor with elements converted to `dtype` (gradients pass through f32→f32 only).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let st = self.storage().cast(dtype)?;
        Ok(Tensor::from_storage(st, self.shape().to_vec()))
    }

    /// The tensor on another device (gradients flow back to the original).
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        let st = self.storage().to_device(device)?;
        let from = self.device();
        Ok(record("to", st, self.shape().to_vec(), &[self], move |g| {
            Ok(vec![Some(g.to_device(from)?)])
        }))
    }

    /// The value of a one-element tensor, as f64.
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            bail!(
                "item: only one-element tensors convert to a number, this one has shape {:?}",
                self.shape()
            );
        }
        Ok(match self.dtype() {
            DType::F32 => self.to_f32_vec()?[0] as f64,
            DType::I64 => self.to_i64_vec()?[0] as f64,
            DType::Bool => self.to_bool_vec()?[0] as u8 as f64,
        })
    }

    /// Whether `|a - b| <= atol + rtol * |b|` everywhere (shapes broadcast, NaNs differ).
    pub fn allclose(&self, other: &Tensor, rtol: f64, atol: f64) -> Result<bool> {
        let _guard = crate::tensor::no_grad();
        let (a, b) = (self.to_dtype(DType::F32)?, other.to_dtype(DType::F32)?);
        let tol = b.abs()?.affine(rtol, atol)?;
        let close = a.sub(&b)?.abs()?.le(&tol)?.logical_or(&a.eq(&b)?)?;
        Ok(close.all(None, false)?.item()? != 0.0)
    }

    /// Storage is always contiguous, so this is the tensor itself (kept for PyTorch parity).
    pub fn contiguous(&self) -> Tensor {
        self.clone()
    }
}
