//! The executor for a real GPU, on cudarc: one context and one stream per device, memory from
//! the device's stream-ordered pool (release threshold raised so freed memory is reused rather
//! than returned at every synchronisation), kernels from NVRTC images, GEMMs from cuBLAS bound
//! to the same stream. Errors are described from their codes, never through the driver's
//! string functions.

use super::launch::{
    DevPtr, Executor, Gemm, KernelHandle, LaunchConfig, LoadedModule, MemoryInfo, ModuleSource,
};
use super::nvrtc::{self, ImageKind};
use super::probe::{Probe, probe};
use anyhow::{Context, Result, anyhow, bail};
use cudarc::cublas::{CudaBlas, result as blas, sys as blas_sys};
use cudarc::driver::{CudaContext, CudaStream, DriverError, result, sys};
use std::ffi::{CString, c_void};
use std::sync::Arc;

fn drv(what: &str, e: DriverError) -> anyhow::Error {
    anyhow!("{what} failed ({:?})", e.0)
}

/// A GPU behind cudarc.
pub struct CudaExecutor {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    pool: sys::CUmemoryPool,
    name: String,
    arch: String,
    sms: u32,
    driver_version: i32,
}

// SAFETY: the raw pool handle is only passed to driver calls, which are thread-safe once the
// context is bound (every method binds it first).
unsafe impl Send for CudaExecutor {}
unsafe impl Sync for CudaExecutor {}

impl CudaExecutor {
    pub fn new(ordinal: usize) -> Result<CudaExecutor> {
        match probe() {
            Probe::Missing(why) => bail!("{why}"),
            Probe::Ready { devices } if ordinal >= *devices => {
                bail!("no CUDA device cuda:{ordinal} ({devices} device(s) present)")
            }
            Probe::Ready { .. } => {}
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| drv("creating the CUDA context", e))?;
        // SAFETY: before any allocation, as cudarc requires.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx
            .new_stream()
            .map_err(|e| drv("creating a CUDA stream", e))?;
        let blas = CudaBlas::new(stream.clone())
            .map_err(|e| anyhow!("creating the cuBLAS handle failed ({:?})", e.0))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| drv("reading the compute capability", e))?;
        let arch = nvrtc::target_for(major, minor)?;
        let name = ctx.name().unwrap_or_else(|_| format!("cuda:{ordinal}"));
        let sms = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .unwrap_or(16)
            .max(1) as u32;
        // SAFETY: the device handle comes from the live context.
        let pool = unsafe { result::device::get_default_mem_pool(ctx.cu_device()) }
            .map_err(|e| drv("cuDeviceGetDefaultMemPool", e))?;
        let mut threshold = u64::MAX;
        unsafe {
            result::mem_pool::set_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                &mut threshold as *mut u64 as *mut c_void,
            )
        }
        .map_err(|e| drv("raising the memory pool's release threshold", e))?;
        let mut driver_version = 0;
        let _ = unsafe { sys::cuDriverGetVersion(&mut driver_version) };
        Ok(CudaExecutor {
            ctx,
            stream,
            blas,
            pool,
            name,
            arch,
            sms,
            driver_version,
        })
    }

    fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| drv("binding the CUDA context", e))
    }

    fn cu_stream(&self) -> sys::CUstream {
        self.stream.cu_stream()
    }
}

struct GpuModule {
    module: sys::CUmodule,
    name: &'static str,
}

// SAFETY: a loaded module handle is usable from any thread bound to its context.
unsafe impl Send for GpuModule {}
unsafe impl Sync for GpuModule {}

impl LoadedModule for GpuModule {
    fn kernel(&self, name: &str) -> Result<(KernelHandle, Option<Vec<usize>>)> {
        let cname = CString::new(name).context("kernel name contains a NUL byte")?;
        // SAFETY: the module stays loaded for the life of the process.
        let f = unsafe { result::module::get_function(self.module, cname) }
            .map_err(|e| drv(&format!("finding kernel {name} in module {}", self.name), e))?;
        Ok((KernelHandle(f as usize), None))
    }
}

impl Executor for CudaExecutor {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn max_blocks(&self) -> u32 {
        self.sms * 16
    }

    fn load_module(&self, src: &ModuleSource) -> Result<Box<dyn LoadedModule>> {
        self.bind()?;
        let compiled = nvrtc::compile_cached(src.name, &src.text, &self.arch, &[])?;
        // SAFETY: a complete CUBIN or NUL-terminated PTX image from NVRTC.
        let module = unsafe { result::module::load_data(compiled.image.as_ptr() as *const c_void) }
            .map_err(|e| {
                let kind = match compiled.kind {
                    ImageKind::Cubin => "CUBIN",
                    ImageKind::Ptx => "PTX",
                };
                anyhow!(
                    "loading the {kind} of module {} for {} failed ({:?}); NVRTC {:?}, driver \
                     version {}",
                    src.name,
                    compiled.arch,
                    e.0,
                    nvrtc::version().ok(),
                    self.driver_version
                )
            })?;
        Ok(Box::new(GpuModule {
            module,
            name: src.name,
        }))
    }

    unsafe fn launch(
        &self,
        kernel: KernelHandle,
        cfg: &LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<()> {
        self.bind()?;
        // SAFETY: the handle came from `GpuModule::kernel`; parameters per the caller.
        unsafe {
            result::launch_kernel(
                kernel.0 as sys::CUfunction,
                cfg.grid,
                cfg.block,
                cfg.shared_bytes,
                self.cu_stream(),
                params,
            )
        }
        .map_err(|e| drv("cuLaunchKernel", e))
    }

    fn alloc(&self, bytes: usize) -> Result<DevPtr> {
        self.bind()?;
        // SAFETY: a plain stream-ordered allocation on our stream.
        unsafe { result::malloc_async(self.cu_stream(), bytes) }
            .map_err(|e| drv(&format!("allocating {bytes} bytes"), e))
    }

    unsafe fn free(&self, ptr: DevPtr) {
        if self.bind().is_ok() {
            // SAFETY: per the caller; a failure here (a dead context) leaks rather than panics.
            let _ = unsafe { result::free_async(ptr, self.cu_stream()) };
        }
    }

    unsafe fn upload(&self, dst: DevPtr, src: &[u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: pageable memory: the call returns once `src` has been staged.
        unsafe { result::memcpy_htod_async(dst, src, self.cu_stream()) }
            .map_err(|e| drv("copying to the device", e))
    }

    unsafe fn download(&self, dst: &mut [u8], src: DevPtr) -> Result<()> {
        self.bind()?;
        unsafe { result::memcpy_dtoh_async(dst, src, self.cu_stream()) }
            .map_err(|e| drv("copying from the device", e))?;
        unsafe { result::stream::synchronize(self.cu_stream()) }
            .map_err(|e| drv("synchronising the stream", e))
    }

    unsafe fn copy(&self, dst: DevPtr, src: DevPtr, bytes: usize) -> Result<()> {
        self.bind()?;
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.cu_stream()) }
            .map_err(|e| drv("copying within the device", e))
    }

    unsafe fn memset(&self, dst: DevPtr, value: u8, bytes: usize) -> Result<()> {
        self.bind()?;
        unsafe { result::memset_d8_async(dst, value, bytes, self.cu_stream()) }
            .map_err(|e| drv("cuMemsetD8Async", e))
    }

    unsafe fn gemm(&self, g: &Gemm) -> Result<()> {
        self.bind()?;
        let op = |t: bool| {
            if t {
                blas_sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                blas_sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        // SAFETY: arguments checked by `Gemm::check`; matrices per the caller.
        unsafe {
            blas::sgemm_strided_batched(
                *self.blas.handle(),
                op(g.trans_a),
                op(g.trans_b),
                g.m as i32,
                g.n as i32,
                g.k as i32,
                &g.alpha,
                g.a as *const f32,
                g.lda as i32,
                g.stride_a as i64,
                g.b as *const f32,
                g.ldb as i32,
                g.stride_b as i64,
                &g.beta,
                g.c as *mut f32,
                g.ldc as i32,
                g.stride_c as i64,
                g.batch as i32,
            )
        }
        .map_err(|e| anyhow!("cublasSgemmStridedBatched failed ({:?})", e.0))
    }

    fn synchronize(&self) -> Result<()> {
        self.bind()?;
        unsafe { result::stream::synchronize(self.cu_stream()) }
            .map_err(|e| drv("synchronising the stream", e))
    }

    fn memory(&self) -> MemoryInfo {
        let read = |attr| {
            let mut v = 0u64;
            let ok = self.bind().is_ok()
                && unsafe {
                    result::mem_pool::get_attribute(
                        self.pool,
                        attr,
                        &mut v as *mut u64 as *mut c_void,
                    )
                }
                .is_ok();
            if ok { v as usize } else { 0 }
        };
        MemoryInfo {
            allocated: read(sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_USED_MEM_CURRENT),
            reserved: read(sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT),
        }
    }

    fn empty_cache(&self) -> Result<()> {
        self.synchronize()?;
        unsafe { result::mem_pool::trim_to(self.pool, 0) }.map_err(|e| drv("cuMemPoolTrimTo", e))
    }
}
