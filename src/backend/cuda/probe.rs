//! Whether a real CUDA device can be used, and if not, the first missing piece.
//!
//! cudarc panics when a library it needs cannot be opened, and formatting a `DriverError`
//! calls into the driver, so nothing here touches cudarc beyond its presence checks until each
//! library is known to load, and errors are described from their codes alone.

use std::sync::OnceLock;

/// The outcome of probing for CUDA: the number of devices, or why there are none usable.
#[derive(Clone, Debug)]
pub enum Probe {
    Ready { devices: usize },
    Missing(String),
}

/// Probes once per process (loading libraries is not free) and remembers the answer.
pub fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        // cudarc reports some failures (a symbol an old library lacks) by panicking; a probe must
        // answer, so such a panic becomes the reason.
        std::panic::catch_unwind(probe_uncached).unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown failure".into());
            Probe::Missing(format!("the CUDA libraries failed to load: {what}"))
        })
    })
}

fn probe_uncached() -> Probe {
    // SAFETY: these only try to open the shared libraries by name.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Probe::Missing(
            "no NVIDIA driver found (libcuda.so could not be loaded)".to_string(),
        );
    }
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Probe::Missing(
            "NVRTC not found (libnvrtc.so.13/.12): install the CUDA toolkit or \
             `pip install nvidia-cuda-nvrtc` and put its lib folder on LD_LIBRARY_PATH"
                .to_string(),
        );
    }
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Probe::Missing(
            "cuBLAS not found (libcublas.so.13/.12): install the CUDA toolkit or \
             `pip install nvidia-cublas` and put its lib folder on LD_LIBRARY_PATH"
                .to_string(),
        );
    }
    if let Err(e) = cudarc::driver::result::init() {
        return Probe::Missing(format!("no usable CUDA device: cuInit failed ({:?})", e.0));
    }
    match cudarc::driver::result::device::get_count() {
        Ok(n) if n > 0 => Probe::Ready {
            devices: n as usize,
        },
        Ok(_) => Probe::Missing("no CUDA device found".to_string()),
        Err(e) => Probe::Missing(format!(
            "no usable CUDA device: cuDeviceGetCount failed ({:?})",
            e.0
        )),
    }
}

/// Whether a CUDA device can be used, and if not, why.
pub fn cuda_available() -> (bool, String) {
    match probe() {
        Probe::Ready { devices } => (true, format!("{devices} CUDA device(s) found")),
        Probe::Missing(why) => (false, why.clone()),
    }
}
