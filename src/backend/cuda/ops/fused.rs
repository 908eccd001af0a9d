//! The fused kernels (convolution, pooling, batch norm, recurrent cells, Adam) come with CUDA
//! part 2. Until then each refuses CUDA storage with an error that names the op and the device
//! and says how to go on; the `Storage` dispatch already routes here, so adding a kernel
//! replaces one of these bodies and nothing else.

use super::super::storage::CudaStorage;
use anyhow::{Result, bail};

/// The error every fused op gives on CUDA storage for now.
pub fn unsupported<T>(op: &str, x: &CudaStorage) -> Result<T> {
    bail!(
        "{op} has no CUDA kernel yet (tensor on {}); move its inputs to the CPU with .cpu() \
         for this step",
        x.device()
    )
}
