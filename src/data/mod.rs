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

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Folders searched for a dataset folder `name`, in order: `EMBER_DATA`, the user's data
/// folder (`$XDG_DATA_HOME/ember`, else `~/.local/share/ember`), then `./data`. Nothing depends
/// on what lies beside the working folder.
pub fn search_dirs(name: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("EMBER_DATA").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d).join(name));
    }
    if let Some(d) = user_data_dir() {
        dirs.push(d.join(name));
    }
    dirs.push(PathBuf::from("data").join(name));
    dirs
}

/// The user's data folder for ember: `$XDG_DATA_HOME/ember`, else `~/.local/share/ember`.
pub fn user_data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("ember"))
}

/// The first folder for `name` that holds `file` (or `file` without `.gz`).
pub fn locate(name: &str, file: &str, explicit: Option<&Path>) -> Result<PathBuf> {
    let dirs = match explicit {
        Some(d) => vec![d.to_path_buf()],
        None => search_dirs(name),
    };
    for d in &dirs {
        for candidate in [d.join(file), d.join(file.trim_end_matches(".gz"))] {
            if crate::files::read::is_readable_file(&candidate) {
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
