//! The CUDA backend: kernels in CUDA C (`kernels/*.cu`), compiled by NVRTC for a GPU or by the
//! host C++ compiler for the `cuda-sim` simulator, behind one executor interface
//! (`launch.rs`). See ARCHITECTURE.md ("CUDA backend").

pub mod cache;
pub mod device;
pub mod kernels;
pub mod launch;
pub mod nvrtc;
pub mod ops;
pub mod probe;
pub mod real;
pub mod sim;
pub mod storage;

pub use device::{CudaDevice, DeviceBuffer, DeviceKey};
pub use probe::cuda_available;
pub use storage::CudaStorage;

use crate::tensor::Device;
use anyhow::{Result, bail};

/// Allocated and reserved bytes on a CUDA device (`cuda_memory()` in scripts).
pub fn memory(device: Device) -> Result<launch::MemoryInfo> {
    if device == Device::Cpu {
        bail!("cuda_memory: the CPU is not a CUDA device");
    }
    Ok(storage::device_for(device)?.memory())
}

/// Gives the cached memory of every CUDA device in use back to the driver.
pub fn empty_cache() -> Result<()> {
    for dev in device::CudaDevice::all() {
        dev.empty_cache()?;
    }
    Ok(())
}

/// The name of the device behind `device` (`NVIDIA ...`, `cuda-sim`, `cpu`).
pub fn device_name(device: Device) -> Result<String> {
    match device {
        Device::Cpu => Ok("cpu".to_string()),
        _ => Ok(storage::device_for(device)?.name()),
    }
}
