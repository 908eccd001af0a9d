//! Datasets: file formats and corpora, synthetic data, and where dataset folders are found.

pub mod augment;
pub mod cmudict;
pub mod fetch;
pub mod idx;
pub mod imdb;
pub mod loader;
pub mod movielens;
pub mod npy;
pub mod synthetic;
pub mod table;
pub mod text;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Folders searched for a dataset folder `name`, in order: `EMBER_DATA`, `../shared/data`
/// (beside a project checkout), and the per-user cache `~/.cache/ember`.
pub fn search_dirs(name: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("EMBER_DATA") {
        dirs.push(PathBuf::from(d).join(name));
    }
    dirs.push(PathBuf::from("../shared/data").join(name));
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(c) = cache {
        dirs.push(c.join("ember").join(name));
    }
    dirs
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so a reader never
/// sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
}

/// The first folder for `name` that holds `file` (or `file` without `.gz`).
pub fn locate(name: &str, file: &str, explicit: Option<&Path>) -> Result<PathBuf> {
    let dirs = match explicit {
        Some(d) => vec![d.to_path_buf()],
        None => search_dirs(name),
    };
    for d in &dirs {
        for candidate in [d.join(file), d.join(file.trim_end_matches(".gz"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let fetch = if fetch::find(name).is_ok() {
        format!("; run `ember data fetch {name}` to download it, or set")
    } else {
        ". Set".to_string()
    };
    bail!(
        "dataset {name}: cannot find {file}; looked in {}{fetch} EMBER_DATA to a folder holding {name}/{file}",
        looked.join(", ")
    )
}
