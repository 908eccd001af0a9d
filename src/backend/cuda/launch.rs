//! The executor interface: everything the CUDA backend asks of a device. Two implementations
//! sit behind it: `real::CudaExecutor` (cudarc: the driver, NVRTC and cuBLAS) and
//! `sim::SimExecutor` (the same kernel sources compiled for the CPU, and a reference GEMM).
//! Launch sites, shape structs and cuBLAS call shapes are therefore the same code on both.

use anyhow::Result;
use std::ffi::c_void;

/// An address in device memory (a host address on the simulator). 0 is the empty buffer.
pub type DevPtr = u64;

/// Grid and block dimensions and dynamic shared memory of one launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    pub shared_bytes: u32,
}

impl LaunchConfig {
    /// A 1-D launch of `blocks` blocks of `threads` threads.
    pub fn linear(blocks: u32, threads: u32) -> LaunchConfig {
        LaunchConfig {
            grid: (blocks.max(1), 1, 1),
            block: (threads, 1, 1),
            shared_bytes: 0,
        }
    }

    /// The same grid with 2-D blocks of `x * y` threads.
    pub fn with_block(self, x: u32, y: u32) -> LaunchConfig {
        LaunchConfig {
            block: (x, y, 1),
            ..self
        }
    }
}

/// One compiled module's source: its name (for caches and messages) and full text.
#[derive(Clone, Debug)]
pub struct ModuleSource {
    pub name: &'static str,
    pub text: String,
    /// The kernels the Rust side declares for this module (the simulator exports these).
    pub kernels: Vec<&'static str>,
}

/// A loaded kernel: an opaque handle only its executor interprets.
#[derive(Clone, Copy, Debug)]
pub struct KernelHandle(pub usize);

/// A loaded module: its kernels by name.
pub trait LoadedModule: Send + Sync {
    /// The kernel `name`, with the byte size of each parameter as the compiled code sees it
    /// (`None` where the executor cannot tell, as with CUBIN images).
    fn kernel(&self, name: &str) -> Result<(KernelHandle, Option<Vec<usize>>)>;
}

/// `C = alpha * op(A) op(B) + beta * C` for `batch` matrices, in cuBLAS's terms: column-major,
/// `op` is the transpose when the flag is set, leading dimensions and batch strides in elements
/// (a stride of 0 reuses one matrix for every batch entry).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: DevPtr,
    pub lda: usize,
    pub stride_a: usize,
    pub b: DevPtr,
    pub ldb: usize,
    pub stride_b: usize,
    pub beta: f32,
    pub c: DevPtr,
    pub ldc: usize,
    pub stride_c: usize,
    pub batch: usize,
}

impl Gemm {
    /// cuBLAS's argument checks (`CUBLAS_STATUS_INVALID_VALUE`), applied by both executors so
    /// a launch site with a wrong leading dimension fails on the simulator too.
    pub fn check(&self) -> Result<()> {
        let rows_a = if self.trans_a { self.k } else { self.m };
        let rows_b = if self.trans_b { self.n } else { self.k };
        let bad = |what: &str, ld: usize, rows: usize| {
            anyhow::anyhow!("gemm: {what} = {ld} is less than max(1, {rows}) ({self:?})")
        };
        if self.lda < rows_a.max(1) {
            return Err(bad("lda", self.lda, rows_a));
        }
        if self.ldb < rows_b.max(1) {
            return Err(bad("ldb", self.ldb, rows_b));
        }
        if self.ldc < self.m.max(1) {
            return Err(bad("ldc", self.ldc, self.m));
        }
        let limit = i32::MAX as usize;
        if [
            self.m, self.n, self.k, self.lda, self.ldb, self.ldc, self.batch,
        ]
        .iter()
        .any(|&v| v > limit)
        {
            anyhow::bail!("gemm: a dimension passes cuBLAS's 32-bit limit ({self:?})");
        }
        Ok(())
    }
}

/// Allocated and reserved bytes of a device's memory pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryInfo {
    pub allocated: usize,
    pub reserved: usize,
}

/// What the backend needs of a device. Every method may fail (out of memory, a launch error,
/// an error left by an earlier asynchronous kernel): errors are values, never panics.
pub trait Executor: Send + Sync {
    /// The device's name as the user sees it (`NVIDIA A100 ...`, `cuda-sim`).
    fn name(&self) -> String;

    /// Blocks worth launching for a grid-stride loop: enough to fill the device.
    fn max_blocks(&self) -> u32;

    /// Compiles (or finds in the disk cache) and loads one module.
    fn load_module(&self, src: &ModuleSource) -> Result<Box<dyn LoadedModule>>;

    /// Launches `kernel` with `params[i]` pointing at the value of parameter `i` (the driver's
    /// `kernelParams` convention).
    ///
    /// # Safety
    /// Each pointer must point at a value of the type the kernel declares for that parameter,
    /// and every device address among them must be valid for what the kernel reads and writes.
    unsafe fn launch(
        &self,
        kernel: KernelHandle,
        cfg: &LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<()>;

    /// Allocates `bytes` (> 0) of device memory.
    fn alloc(&self, bytes: usize) -> Result<DevPtr>;

    /// Frees an allocation (stream-ordered on a GPU).
    ///
    /// # Safety
    /// `ptr` came from `alloc` of this executor and is not used afterwards.
    unsafe fn free(&self, ptr: DevPtr);

    /// Copies host bytes to the device.
    ///
    /// # Safety
    /// `dst` is valid for `src.len()` bytes.
    unsafe fn upload(&self, dst: DevPtr, src: &[u8]) -> Result<()>;

    /// Copies device bytes to the host; waits for the stream (a synchronisation point).
    ///
    /// # Safety
    /// `src` is valid for `dst.len()` bytes.
    unsafe fn download(&self, dst: &mut [u8], src: DevPtr) -> Result<()>;

    /// Copies `bytes` within the device.
    ///
    /// # Safety
    /// Both ranges are valid and do not overlap.
    unsafe fn copy(&self, dst: DevPtr, src: DevPtr, bytes: usize) -> Result<()>;

    /// Sets `bytes` bytes to `value`.
    ///
    /// # Safety
    /// `dst` is valid for `bytes` bytes.
    unsafe fn memset(&self, dst: DevPtr, value: u8, bytes: usize) -> Result<()>;

    /// A strided-batched single-precision GEMM on the device's stream.
    ///
    /// # Safety
    /// The matrices the arguments describe lie inside valid allocations.
    unsafe fn gemm(&self, g: &Gemm) -> Result<()>;

    /// Waits for all queued work; reports errors of earlier asynchronous launches.
    fn synchronize(&self) -> Result<()>;

    /// Bytes allocated through this executor and held by its pool.
    fn memory(&self) -> MemoryInfo;

    /// Returns cached pool memory to the driver.
    fn empty_cache(&self) -> Result<()>;
}
