//! One CUDA device as the backend sees it: an executor (real GPU or simulator), its loaded
//! modules and kernels (loaded lazily, on first launch), and its memory accounting. Devices
//! live for the whole process in a registry keyed by [`DeviceKey`].

use super::kernels::{self, KernelSig};
use super::launch::{DevPtr, Executor, Gemm, KernelHandle, LaunchConfig, LoadedModule, MemoryInfo};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Which device: a GPU by ordinal, or the CPU simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKey {
    Gpu(usize),
    Sim,
}

/// A device and what has been loaded on it.
pub struct CudaDevice {
    pub key: DeviceKey,
    exec: Box<dyn Executor>,
    modules: Mutex<HashMap<&'static str, Arc<dyn LoadedModule>>>,
    kernels: Mutex<HashMap<(&'static str, &'static str), KernelHandle>>,
    allocated: AtomicUsize,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({:?}, {})", self.key, self.exec.name())
    }
}

type Registry = Mutex<HashMap<DeviceKey, Arc<CudaDevice>>>;

fn registry() -> &'static Registry {
    static DEVICES: OnceLock<Registry> = OnceLock::new();
    DEVICES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the maps stay valid:
/// every insert is a single step).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CudaDevice {
    /// The device for `key`, created on first use.
    pub fn get(key: DeviceKey) -> Result<Arc<CudaDevice>> {
        let mut reg = lock(registry());
        if let Some(d) = reg.get(&key) {
            return Ok(d.clone());
        }
        let exec: Box<dyn Executor> = match key {
            DeviceKey::Gpu(ordinal) => Box::new(super::real::CudaExecutor::new(ordinal)?),
            DeviceKey::Sim => Box::new(super::sim::SimExecutor::new()?),
        };
        let dev = Arc::new(CudaDevice {
            key,
            exec,
            modules: Mutex::new(HashMap::new()),
            kernels: Mutex::new(HashMap::new()),
            allocated: AtomicUsize::new(0),
        });
        reg.insert(key, dev.clone());
        Ok(dev)
    }

    /// Every device created so far.
    pub fn all() -> Vec<Arc<CudaDevice>> {
        lock(registry()).values().cloned().collect()
    }

    /// The device's name (`NVIDIA ...` or `cuda-sim`).
    pub fn name(&self) -> String {
        self.exec.name()
    }

    /// The executor, for what the backend does beyond launches (GEMM, copies).
    pub fn exec(&self) -> &dyn Executor {
        &*self.exec
    }

    /// A 1-D grid-stride launch over `n` items with `threads` per block: as many blocks as
    /// fill the device, never more than the items need.
    pub fn grid(&self, n: u64, threads: u32) -> LaunchConfig {
        let needed = n.div_ceil(threads as u64).max(1);
        LaunchConfig::linear(needed.min(self.exec.max_blocks() as u64) as u32, threads)
    }

    /// The loaded module `name`, compiling it on first use.
    pub fn module(&self, name: &'static str) -> Result<Arc<dyn LoadedModule>> {
        let mut mods = lock(&self.modules);
        if let Some(m) = mods.get(name) {
            return Ok(m.clone());
        }
        let src = kernels::module_source(name)?;
        let m: Arc<dyn LoadedModule> = Arc::from(
            self.exec
                .load_module(&src)
                .with_context(|| format!("loading CUDA module {name} on {}", self.name()))?,
        );
        mods.insert(name, m.clone());
        Ok(m)
    }

    fn kernel(&self, module: &'static str, name: &'static str) -> Result<KernelHandle> {
        if let Some(&h) = lock(&self.kernels).get(&(module, name)) {
            return Ok(h);
        }
        let m = self.module(module)?;
        let (h, sizes) = m.kernel(name)?;
        if let Some(sizes) = sizes {
            check_sizes(signature(module, name)?, &sizes)?;
        }
        lock(&self.kernels).insert((module, name), h);
        Ok(h)
    }

    /// Launches `module::kernel` with driver-style parameter pointers.
    ///
    /// # Safety
    /// The parameters must match the kernel's declaration (the generated launchers in
    /// `kernels` guarantee it) and address valid device memory.
    pub unsafe fn launch(
        &self,
        module: &'static str,
        kernel: &'static str,
        cfg: &LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<()> {
        let h = self.kernel(module, kernel)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.exec.launch(h, cfg, params) }
            .with_context(|| format!("launching {kernel} ({cfg:?}) on {}", self.name()))
    }

    /// Allocates `bytes` of device memory (0 bytes gives the empty buffer without a call).
    pub fn alloc(self: &Arc<Self>, bytes: usize) -> Result<DeviceBuffer> {
        // The simulator's memory is host memory: it obeys the host's tensor limits and counts
        // as live tensor bytes, so a huge request is an error rather than an exhausted machine.
        let host = self.key == DeviceKey::Sim;
        if host {
            crate::backend::memory::check_bytes("cuda-sim tensor", bytes, 1)?;
        }
        let ptr = if bytes == 0 {
            0
        } else {
            self.exec.alloc(bytes).with_context(|| {
                format!(
                    "out of device memory on {}: {bytes} bytes requested, {} in use",
                    self.name(),
                    self.allocated.load(Ordering::Relaxed)
                )
            })?
        };
        self.allocated.fetch_add(bytes, Ordering::Relaxed);
        if host {
            crate::backend::memory::account(bytes);
        }
        Ok(DeviceBuffer {
            ptr,
            bytes,
            dev: self.clone(),
        })
    }

    /// Copies host bytes into a new buffer.
    pub fn upload(self: &Arc<Self>, bytes: &[u8]) -> Result<DeviceBuffer> {
        let buf = self.alloc(bytes.len())?;
        if !bytes.is_empty() {
            // SAFETY: the buffer was just allocated with this length.
            unsafe { self.exec.upload(buf.ptr, bytes) }?;
        }
        Ok(buf)
    }

    /// A strided-batched GEMM (cuBLAS's column-major conventions).
    ///
    /// # Safety
    /// The matrices described must lie inside live buffers of this device.
    pub unsafe fn gemm(&self, g: &Gemm) -> Result<()> {
        g.check()?;
        if g.m == 0 || g.n == 0 || g.batch == 0 {
            return Ok(());
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.exec.gemm(g) }
    }

    /// Waits for queued work and surfaces asynchronous errors.
    pub fn synchronize(&self) -> Result<()> {
        self.exec.synchronize()
    }

    /// Bytes held by live buffers and by the device's pool.
    pub fn memory(&self) -> MemoryInfo {
        let mut m = self.exec.memory();
        m.allocated = self.allocated.load(Ordering::Relaxed);
        m.reserved = m.reserved.max(m.allocated);
        m
    }

    /// Gives cached memory back to the driver.
    pub fn empty_cache(&self) -> Result<()> {
        self.exec.empty_cache()
    }
}

fn signature(module: &str, name: &str) -> Result<&'static KernelSig> {
    kernels::SIGNATURES
        .iter()
        .find(|k| k.module == module && k.name == name)
        .with_context(|| format!("kernel {module}::{name} is not declared"))
}

/// Compares a kernel's declared parameter sizes with those of the compiled code.
pub fn check_sizes(sig: &KernelSig, compiled: &[usize]) -> Result<()> {
    let declared: Vec<usize> = sig.params.iter().map(|(_, k)| k.size()).collect();
    if declared != compiled {
        bail!(
            "kernel {}::{}: the Rust declaration passes parameters of {declared:?} bytes, the \
             compiled kernel takes {compiled:?}",
            sig.module,
            sig.name
        );
    }
    Ok(())
}

/// Device memory owned by one storage; freed (stream-ordered) when dropped.
pub struct DeviceBuffer {
    ptr: DevPtr,
    bytes: usize,
    dev: Arc<CudaDevice>,
}

impl DeviceBuffer {
    pub fn ptr(&self) -> DevPtr {
        self.ptr
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn device(&self) -> &Arc<CudaDevice> {
        &self.dev
    }

    /// The bytes, copied to the host (a synchronisation point).
    pub fn download(&self) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.bytes];
        if self.bytes > 0 {
            // SAFETY: the buffer holds `bytes` bytes.
            unsafe { self.dev.exec.download(&mut out, self.ptr) }?;
        }
        Ok(out)
    }

    /// A copy in a new buffer of the same device.
    pub fn try_clone(&self) -> Result<DeviceBuffer> {
        let out = self.dev.alloc(self.bytes)?;
        if self.bytes > 0 {
            // SAFETY: both buffers hold `bytes` bytes and are distinct.
            unsafe { self.dev.exec.copy(out.ptr, self.ptr, self.bytes) }?;
        }
        Ok(out)
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        if self.bytes > 0 {
            // SAFETY: allocated by this device's executor and not used after this.
            unsafe { self.dev.exec.free(self.ptr) };
        }
        self.dev.allocated.fetch_sub(self.bytes, Ordering::Relaxed);
        if self.dev.key == DeviceKey::Sim {
            crate::backend::memory::release(self.bytes);
        }
    }
}

impl std::fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeviceBuffer({} bytes on {:?})",
            self.bytes, self.dev.key
        )
    }
}
