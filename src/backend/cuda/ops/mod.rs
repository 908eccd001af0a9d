//! The tensor-core operations on CUDA storage, one file per kernel family, with the CPU
//! backend's signatures and semantics (its results are the reference the device-parameterised
//! tests compare against).

pub mod elementwise;
pub mod fused;
pub mod index;
pub mod layout;
pub mod matmul;
pub mod random;
pub mod reduce;
pub mod sort;

use super::storage::CudaStorage;
use anyhow::{Result, bail};

/// Threads per block of the grid-stride kernels.
pub const THREADS: u32 = 256;

/// Fails unless every operand lives on the first one's device (the op layer reports
/// cross-device operands first; this guards the backend itself).
pub fn same_device(op: &str, parts: &[&CudaStorage]) -> Result<()> {
    if let Some(first) = parts.first() {
        for p in &parts[1..] {
            if p.device() != first.device() {
                bail!(
                    "{op}: operands on different devices ({} and {})",
                    first.device(),
                    p.device()
                );
            }
        }
    }
    Ok(())
}
