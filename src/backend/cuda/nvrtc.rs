//! Kernel compilation with NVRTC: CUBIN for the device's own architecture (the driver loads it
//! without its PTX JIT, so a driver older than the NVRTC is no problem), PTX for the newest
//! architecture NVRTC knows when it does not know the device's, cached on disk.

use super::cache;
use anyhow::{Context, Result, anyhow, bail};
use cudarc::nvrtc::{result, sys};
use std::ffi::{CString, c_char};

/// What NVRTC produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    Cubin,
    Ptx,
}

/// A compiled module: the image to load and NVRTC's log (warnings, ptxas statistics).
#[derive(Clone, Debug)]
pub struct Compiled {
    pub kind: ImageKind,
    pub image: Vec<u8>,
    pub log: String,
    /// The architecture compiled for (`sm_90` or `compute_90`).
    pub arch: String,
}

/// Fails unless the NVRTC library can be opened (cudarc would panic on first use otherwise).
pub fn ensure_loaded() -> Result<()> {
    // SAFETY: only tries to open the library by name.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        bail!("NVRTC not found (libnvrtc.so.13/.12 could not be loaded)")
    }
}

/// NVRTC's version, `(major, minor)`.
pub fn version() -> Result<(i32, i32)> {
    ensure_loaded()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: two out-parameters.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| anyhow!("nvrtcVersion failed ({:?})", e.0))?;
    Ok((major, minor))
}

/// The `sm_XY` numbers (as `XY`) NVRTC can compile for.
pub fn supported_archs() -> Result<Vec<i32>> {
    ensure_loaded()?;
    let mut n = 0;
    // SAFETY: out-parameter, then a buffer of the size it reported.
    unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
        .result()
        .map_err(|e| anyhow!("nvrtcGetNumSupportedArchs failed ({:?})", e.0))?;
    let mut archs = vec![0; n.max(0) as usize];
    unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
        .result()
        .map_err(|e| anyhow!("nvrtcGetSupportedArchs failed ({:?})", e.0))?;
    Ok(archs)
}

fn text(v: &[c_char]) -> String {
    let bytes: Vec<u8> = v.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Compiles `src` for `arch` (`sm_XY` gives CUBIN, `compute_XY` gives PTX) with extra options.
pub fn compile(name: &str, src: &str, arch: &str, extra: &[&str]) -> Result<Compiled> {
    ensure_loaded()?;
    let csrc = CString::new(src).context("kernel source contains a NUL byte")?;
    let cname = CString::new(format!("{name}.cu")).context("module name contains a NUL byte")?;
    let prog = result::create_program(&csrc, Some(&cname))
        .map_err(|e| anyhow!("nvrtcCreateProgram({name}) failed ({:?})", e.0))?;
    let mut options = vec![format!("--gpu-architecture={arch}")];
    options.extend(extra.iter().map(|s| s.to_string()));
    // SAFETY: `prog` is live until destroyed at the end of this function.
    let outcome = unsafe { result::compile_program(prog, &options) };
    let log = unsafe { result::get_program_log(prog) }
        .map(|l| text(&l))
        .unwrap_or_default();
    let image = outcome
        .map_err(|e| {
            anyhow!(
                "NVRTC failed to compile {name} for {arch} ({:?}):\n{log}",
                e.0
            )
        })
        .and_then(|()| {
            if arch.starts_with("sm_") {
                let mut size = 0usize;
                unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }
                    .result()
                    .map_err(|e| anyhow!("nvrtcGetCUBINSize failed ({:?})", e.0))?;
                let mut bin = vec![0u8; size];
                unsafe { sys::nvrtcGetCUBIN(prog, bin.as_mut_ptr() as *mut c_char) }
                    .result()
                    .map_err(|e| anyhow!("nvrtcGetCUBIN failed ({:?})", e.0))?;
                Ok((ImageKind::Cubin, bin))
            } else {
                let ptx = unsafe { result::get_ptx(prog) }
                    .map_err(|e| anyhow!("nvrtcGetPTX failed ({:?})", e.0))?;
                let mut bytes: Vec<u8> = ptx.iter().map(|&c| c as u8).collect();
                if bytes.last() != Some(&0) {
                    bytes.push(0);
                }
                Ok((ImageKind::Ptx, bytes))
            }
        });
    // SAFETY: created above, destroyed once.
    let _ = unsafe { result::destroy_program(prog) };
    let (kind, image) = image?;
    Ok(Compiled {
        kind,
        image,
        log,
        arch: arch.to_string(),
    })
}

/// The architecture to compile for on a device of compute capability `major.minor`: its own
/// `sm_XY` when NVRTC knows it, else PTX for the newest architecture NVRTC knows below it.
pub fn target_for(major: i32, minor: i32) -> Result<String> {
    let cc = major * 10 + minor;
    let archs = supported_archs()?;
    if archs.contains(&cc) {
        return Ok(format!("sm_{cc}"));
    }
    match archs.iter().copied().filter(|&a| a <= cc).max() {
        Some(a) => Ok(format!("compute_{a}")),
        None => bail!(
            "NVRTC {:?} supports none of the architectures up to this device's sm_{cc} \
             (it knows {archs:?})",
            version().ok()
        ),
    }
}

/// Compiles with the on-disk cache, keyed by source, options, NVRTC version and architecture.
pub fn compile_cached(name: &str, src: &str, arch: &str, extra: &[&str]) -> Result<Compiled> {
    let (major, minor) = version()?;
    let ver = format!("nvrtc {major}.{minor}");
    let opts = extra.join(" ");
    let key = cache::key(&[
        src.as_bytes(),
        opts.as_bytes(),
        ver.as_bytes(),
        arch.as_bytes(),
    ]);
    let ext = if arch.starts_with("sm_") {
        "cubin"
    } else {
        "ptx"
    };
    let entry = format!("{name}-{arch}-{key}.{ext}");
    if let Some(image) = cache::load(&entry) {
        let kind = if ext == "cubin" {
            ImageKind::Cubin
        } else {
            ImageKind::Ptx
        };
        return Ok(Compiled {
            kind,
            image,
            log: String::new(),
            arch: arch.to_string(),
        });
    }
    let c = compile(name, src, arch, extra)?;
    // A cache that cannot be written costs only time: the compiled image is still good.
    let _ = cache::store(&entry, &c.image);
    Ok(c)
}
