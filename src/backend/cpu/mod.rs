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

use crate::tensor::DType;

/// Host storage of one dtype.
#[derive(Clone, Debug)]
pub enum CpuStorage {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

/// Applies `$body` to the vector inside, rewrapping the result in the same variant.
macro_rules! same_dtype {
    ($s:expr, $v:ident => $body:expr) => {
        match $s {
            CpuStorage::F32($v) => CpuStorage::F32($body),
            CpuStorage::I64($v) => CpuStorage::I64($body),
            CpuStorage::Bool($v) => CpuStorage::Bool($body),
        }
    };
}
pub(crate) use same_dtype;

impl CpuStorage {
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

    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self {
            CpuStorage::F32(v) => v.clone(),
            CpuStorage::I64(v) => v.iter().map(|&x| x as f32).collect(),
            CpuStorage::Bool(v) => v.iter().map(|&x| x as u8 as f32).collect(),
        }
    }

    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            CpuStorage::F32(v) => v.iter().map(|&x| x as i64).collect(),
            CpuStorage::I64(v) => v.clone(),
            CpuStorage::Bool(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }

    pub fn to_bool_vec(&self) -> Vec<bool> {
        match self {
            CpuStorage::F32(v) => v.iter().map(|&x| x != 0.0).collect(),
            CpuStorage::I64(v) => v.iter().map(|&x| x != 0).collect(),
            CpuStorage::Bool(v) => v.clone(),
        }
    }

    pub fn cast(&self, dtype: DType) -> CpuStorage {
        match dtype {
            DType::F32 => CpuStorage::F32(self.to_f32_vec()),
            DType::I64 => CpuStorage::I64(self.to_i64_vec()),
            DType::Bool => CpuStorage::Bool(self.to_bool_vec()),
        }
    }
}
