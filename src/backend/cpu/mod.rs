//! The CPU backend: contiguous host vectors, kernels written over slices (with `ndarray` views
//! where an axis walk is clearer) and `matrixmultiply` for GEMM. Large elementwise kernels split
//! their work across threads.

pub mod conv;
pub mod conv2d;
pub mod elementwise;
pub mod fused;
pub mod gemm;
pub mod index;
pub mod layout;
pub mod matmul;
pub mod norm;
mod parallel;
pub mod pool;
pub mod recurrent;
pub mod reduce;
pub mod sort;

use super::memory::{self, Buffer};
use crate::tensor::DType;
use anyhow::Result;

/// Host storage of one dtype. Its buffers count towards the live tensor memory.
#[derive(Debug)]
pub enum CpuStorage {
    F32(Buffer<f32>),
    I64(Buffer<i64>),
    Bool(Buffer<bool>),
}

/// Applies `$body` (giving a `Result<Vec<_>>`) to the slice inside, rewrapping the result in
/// the same variant.
macro_rules! same_dtype {
    ($s:expr, $v:ident => $body:expr) => {
        match $s {
            CpuStorage::F32($v) => CpuStorage::F32($crate::backend::memory::Buffer::from($body?)),
            CpuStorage::I64($v) => CpuStorage::I64($crate::backend::memory::Buffer::from($body?)),
            CpuStorage::Bool($v) => CpuStorage::Bool($crate::backend::memory::Buffer::from($body?)),
        }
    };
}
pub(crate) use same_dtype;

impl CpuStorage {
    pub fn f32(v: Vec<f32>) -> CpuStorage {
        CpuStorage::F32(Buffer::from(v))
    }

    pub fn i64(v: Vec<i64>) -> CpuStorage {
        CpuStorage::I64(Buffer::from(v))
    }

    pub fn bool(v: Vec<bool>) -> CpuStorage {
        CpuStorage::Bool(Buffer::from(v))
    }

    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::I64(_) => DType::I64,
            CpuStorage::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            CpuStorage::F32(v) => v.len(),
            CpuStorage::I64(v) => v.len(),
            CpuStorage::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A deep copy (allocated through the checked path).
    pub fn try_clone(&self) -> Result<CpuStorage> {
        Ok(same_dtype!(self, v => memory::copy_of("clone", v)))
    }

    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        let op = "to_f32_vec";
        match self {
            CpuStorage::F32(v) => memory::copy_of(op, v),
            CpuStorage::I64(v) => memory::collect(op, v.len(), v.iter().map(|&x| x as f32)),
            CpuStorage::Bool(v) => memory::collect(op, v.len(), v.iter().map(|&x| x as u8 as f32)),
        }
    }

    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        let op = "to_i64_vec";
        match self {
            CpuStorage::F32(v) => memory::collect(op, v.len(), v.iter().map(|&x| x as i64)),
            CpuStorage::I64(v) => memory::copy_of(op, v),
            CpuStorage::Bool(v) => memory::collect(op, v.len(), v.iter().map(|&x| x as i64)),
        }
    }

    pub fn to_bool_vec(&self) -> Result<Vec<bool>> {
        let op = "to_bool_vec";
        match self {
            CpuStorage::F32(v) => memory::collect(op, v.len(), v.iter().map(|&x| x != 0.0)),
            CpuStorage::I64(v) => memory::collect(op, v.len(), v.iter().map(|&x| x != 0)),
            CpuStorage::Bool(v) => memory::copy_of(op, v),
        }
    }

    pub fn cast(&self, dtype: DType) -> Result<CpuStorage> {
        Ok(match dtype {
            DType::F32 => CpuStorage::f32(self.to_f32_vec()?),
            DType::I64 => CpuStorage::i64(self.to_i64_vec()?),
            DType::Bool => CpuStorage::bool(self.to_bool_vec()?),
        })
    }
}
