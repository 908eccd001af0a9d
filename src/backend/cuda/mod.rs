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
