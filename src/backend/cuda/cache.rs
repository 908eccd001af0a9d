//! The on-disk cache of compiled kernels (CUBIN/PTX images and simulator libraries), in the
//! user's cache folder: `EMBER_KERNEL_CACHE`, else `$XDG_CACHE_HOME/ember/kernels`, else
//! `~/.cache/ember/kernels`. Entries are named by a hash of everything that shaped them
//! (source, options, compiler version, architecture), so a stale entry is never reused, and
//! are written to a temporary file and renamed into place, so concurrent processes never read
//! half an entry.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The cache folder (created on first use).
pub fn dir() -> Result<PathBuf> {
    let base = if let Some(d) = std::env::var_os("EMBER_KERNEL_CACHE") {
        PathBuf::from(d)
    } else if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        PathBuf::from(d).join("ember").join("kernels")
    } else if let Some(h) = std::env::var_os("HOME") {
        PathBuf::from(h)
            .join(".cache")
            .join("ember")
            .join("kernels")
    } else {
        std::env::temp_dir().join("ember-kernels")
    };
    std::fs::create_dir_all(&base)
        .with_context(|| format!("cannot create the kernel cache folder {}", base.display()))?;
    Ok(base)
}

/// A hex digest of the parts, in order (each part's length is hashed too, so parts cannot run
/// into each other).
pub fn key(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the entry `name` lives (whether or not it exists yet).
pub fn path(name: &str) -> Result<PathBuf> {
    Ok(dir()?.join(name))
}

/// Writes an entry atomically: a temporary file in the same folder, then a rename.
pub fn store(name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let dest = path(name)?;
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dest.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &dest).with_context(|| format!("cannot rename to {}", dest.display()))?;
    Ok(dest)
}

/// Reads an entry if it exists.
pub fn load(name: &str) -> Option<Vec<u8>> {
    std::fs::read(path(name).ok()?).ok()
}
