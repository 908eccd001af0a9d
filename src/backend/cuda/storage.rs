//! `CudaStorage`: one device buffer holding a contiguous row-major tensor of one dtype (f32,
//! i64, or bool as one byte 0/1), on one device, ordered on that device's stream. Values reach
//! the host only through the `to_*_vec` downloads (a synchronisation point).

use super::device::{CudaDevice, DeviceBuffer, DeviceKey};
use super::kernels::{Ptr, elementwise as k};
use crate::tensor::{DType, Device};
use anyhow::{Context, Result, bail};
use std::sync::Arc;

/// Bytes per element on the device.
pub fn width(dtype: DType) -> usize {
    match dtype {
        DType::F32 => 4,
        DType::I64 => 8,
        DType::Bool => 1,
    }
}

/// The CUDA device behind an ember `Device`.
pub fn device_for(device: Device) -> Result<Arc<CudaDevice>> {
    match device {
        Device::Cuda(n) => CudaDevice::get(DeviceKey::Gpu(n)),
        Device::CudaSim => CudaDevice::get(DeviceKey::Sim),
        Device::Cpu => bail!("internal: the CPU is not a CUDA device"),
    }
    .with_context(|| format!("device {device}"))
}

/// A tensor's values on a CUDA device.
pub struct CudaStorage {
    buf: DeviceBuffer,
    len: usize,
    dtype: DType,
}

impl std::fmt::Debug for CudaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaStorage({} x {} on {})",
            self.len,
            self.dtype,
            self.device()
        )
    }
}

impl CudaStorage {
    /// Uninitialised device memory for `len` elements.
    pub fn alloc(dev: &Arc<CudaDevice>, dtype: DType, len: usize) -> Result<CudaStorage> {
        let bytes = len
            .checked_mul(width(dtype))
            .with_context(|| format!("{len} {dtype} elements do not fit in memory"))?;
        Ok(CudaStorage {
            buf: dev.alloc(bytes)?,
            len,
            dtype,
        })
    }

    fn upload(dev: &Arc<CudaDevice>, dtype: DType, len: usize, bytes: &[u8]) -> Result<Self> {
        Ok(CudaStorage {
            buf: dev.upload(bytes)?,
            len,
            dtype,
        })
    }

    pub fn from_f32(dev: &Arc<CudaDevice>, v: &[f32]) -> Result<CudaStorage> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
        Self::upload(dev, DType::F32, v.len(), &bytes)
    }

    pub fn from_i64(dev: &Arc<CudaDevice>, v: &[i64]) -> Result<CudaStorage> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
        Self::upload(dev, DType::I64, v.len(), &bytes)
    }

    pub fn from_bool(dev: &Arc<CudaDevice>, v: &[bool]) -> Result<CudaStorage> {
        let bytes: Vec<u8> = v.iter().map(|&b| b as u8).collect();
        Self::upload(dev, DType::Bool, v.len(), &bytes)
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn dev(&self) -> &Arc<CudaDevice> {
        self.buf.device()
    }

    /// The ember device this storage lives on.
    pub fn device(&self) -> Device {
        match self.dev().key {
            DeviceKey::Gpu(n) => Device::Cuda(n),
            DeviceKey::Sim => Device::CudaSim,
        }
    }

    /// The buffer's address as a kernel parameter.
    pub fn ptr(&self) -> Ptr {
        Ptr(self.buf.ptr())
    }

    /// A device copy.
    pub fn try_clone(&self) -> Result<CudaStorage> {
        Ok(CudaStorage {
            buf: self.buf.try_clone()?,
            len: self.len,
            dtype: self.dtype,
        })
    }

    /// Converts on the device (Rust's `as` rules: floats truncate and saturate, NaN is 0,
    /// anything to bool is non-zero).
    pub fn cast(&self, dtype: DType) -> Result<CudaStorage> {
        if dtype == self.dtype {
            return self.try_clone();
        }
        let dev = self.dev();
        let out = CudaStorage::alloc(dev, dtype, self.len)?;
        if self.len == 0 {
            return Ok(out);
        }
        let n = self.len as u64;
        let cfg = dev.grid(n, 256);
        let (x, y) = (self.ptr(), out.ptr());
        // SAFETY: both buffers hold `n` elements of their dtypes.
        unsafe {
            match (self.dtype, dtype) {
                (DType::F32, DType::I64) => k::cast_f32_i64(dev, &cfg, x, y, n),
                (DType::F32, DType::Bool) => k::cast_f32_u8(dev, &cfg, x, y, n),
                (DType::I64, DType::F32) => k::cast_i64_f32(dev, &cfg, x, y, n),
                (DType::I64, DType::Bool) => k::cast_i64_u8(dev, &cfg, x, y, n),
                (DType::Bool, DType::F32) => k::cast_u8_f32(dev, &cfg, x, y, n),
                (DType::Bool, DType::I64) => k::cast_u8_i64(dev, &cfg, x, y, n),
                _ => unreachable!("equal dtypes returned above"),
            }
        }
        .with_context(|| format!("cast {} -> {dtype} of {} elements", self.dtype, self.len))?;
        Ok(out)
    }

    /// The raw bytes, downloaded (a synchronisation point).
    fn bytes(&self) -> Result<Vec<u8>> {
        self.buf.download()
    }

    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        let s = self.cast_if(DType::F32)?;
        let s = s.as_ref().unwrap_or(self);
        Ok(s.bytes()?
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        let s = self.cast_if(DType::I64)?;
        let s = s.as_ref().unwrap_or(self);
        Ok(s.bytes()?
            .chunks_exact(8)
            .map(|c| i64::from_ne_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }

    pub fn to_bool_vec(&self) -> Result<Vec<bool>> {
        let s = self.cast_if(DType::Bool)?;
        let s = s.as_ref().unwrap_or(self);
        Ok(s.bytes()?.iter().map(|&b| b != 0).collect())
    }

    fn cast_if(&self, dtype: DType) -> Result<Option<CudaStorage>> {
        if self.dtype == dtype {
            Ok(None)
        } else {
            self.cast(dtype).map(Some)
        }
    }

    /// `n` copies of one value's bits.
    pub fn full(dev: &Arc<CudaDevice>, dtype: DType, len: usize, value: f64) -> Result<Self> {
        let out = CudaStorage::alloc(dev, dtype, len)?;
        if len == 0 {
            return Ok(out);
        }
        let n = len as u64;
        let cfg = dev.grid(n, 256);
        // SAFETY: the buffer holds `n` elements of the dtype's width.
        unsafe {
            match dtype {
                DType::F32 => k::fill_32(dev, &cfg, out.ptr(), n, (value as f32).to_bits()),
                DType::I64 => k::fill_64(dev, &cfg, out.ptr(), n, (value as i64) as u64),
                DType::Bool => k::fill_8(dev, &cfg, out.ptr(), n, (value != 0.0) as u32),
            }
        }?;
        Ok(out)
    }
}
