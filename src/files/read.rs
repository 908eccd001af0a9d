//! Reading files with a bound: the policy check, regular files only, and never more bytes than
//! the tensor memory left (a file or a decompressed stream larger than that is refused before
//! it fills the machine's memory).

use super::policy::{Access, check};
use crate::backend::memory::{self, human_bytes};
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most bytes a read may bring into memory: what the live-tensor limit leaves.
pub fn read_budget() -> usize {
    memory::limits()
        .max_live_bytes
        .saturating_sub(memory::live_bytes())
}

/// Opens a regular file for reading after the policy check; returns it with its size.
pub fn open(op: &str, path: &Path) -> Result<(File, u64)> {
    let real = check(op, path, Access::Read)?;
    let meta = std::fs::metadata(&real)
        .with_context(|| format!("{op}: cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!("{op}: {} is a folder, not a file", path.display());
    }
    if !meta.is_file() {
        bail!(
            "{op}: {} is not a regular file (devices and pipes are not read)",
            path.display()
        );
    }
    let budget = read_budget() as u64;
    if meta.len() > budget {
        bail!(
            "{op}: {} holds {}, more than the {} of tensor memory left",
            path.display(),
            human_bytes(meta.len() as usize),
            human_bytes(budget as usize)
        );
    }
    let f = File::open(&real).with_context(|| format!("{op}: cannot read {}", path.display()))?;
    Ok((f, meta.len()))
}

/// The whole of a regular file, read under the policy and the memory budget.
pub fn read(op: &str, path: &Path) -> Result<Vec<u8>> {
    let (f, len) = open(op, path)?;
    let mut out = Vec::new();
    out.try_reserve_exact(len as usize).map_err(|e| {
        anyhow::anyhow!(
            "{op}: cannot hold {} of {}: {e}",
            human_bytes(len as usize),
            path.display()
        )
    })?;
    read_capped(op, path, f, read_budget(), &mut out)?;
    Ok(out)
}

/// A regular file as UTF-8 text (see [`read`]).
pub fn read_to_string(op: &str, path: &Path) -> Result<String> {
    String::from_utf8(read(op, path)?)
        .map_err(|e| anyhow::anyhow!("{op}: {} is not UTF-8 text: {e}", path.display()))
}

/// Appends everything `reader` yields to `out`, refusing once it passes `cap` bytes (a stream
/// that inflates without end, or a file that grows while it is read).
pub fn read_capped(
    op: &str,
    path: &Path,
    reader: impl Read,
    cap: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    reader
        .take(cap as u64 + 1)
        .read_to_end(out)
        .with_context(|| format!("{op}: cannot read {}", path.display()))?;
    if out.len() - start > cap {
        bail!(
            "{op}: {} holds more than the {} of tensor memory left",
            path.display(),
            human_bytes(cap)
        );
    }
    Ok(())
}

/// Whether `path` is a file this session may read (false when refused: for probing the
/// folders a dataset may be in).
pub fn is_readable_file(path: &Path) -> bool {
    check("probe", path, Access::Read).is_ok_and(|p| p.is_file())
}

/// The entries of a folder, sorted, under the policy.
pub fn read_dir(op: &str, path: &Path) -> Result<Vec<PathBuf>> {
    let real = check(op, path, Access::Read)?;
    let mut out: Vec<PathBuf> = std::fs::read_dir(&real)
        .with_context(|| format!("{op}: cannot list {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}
