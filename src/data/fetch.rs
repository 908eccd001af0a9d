//! `ember data list` and `ember data fetch`: the known datasets, their canonical public URLs and
//! SHA-256 checksums, and a downloader that resumes (HTTP Range), verifies, shows progress and
//! writes atomically (a `.part` file renamed into place).

use super::search_dirs;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One file of a dataset.
pub struct RemoteFile {
    pub url: &'static str,
    /// Where it goes inside the dataset folder.
    pub path: &'static str,
    /// SHA-256 of the content (after gunzip for `.gz` files, since mirrors recompress).
    pub sha256: &'static str,
}

/// A dataset the loaders know.
pub struct Dataset {
    pub name: &'static str,
    pub about: &'static str,
    pub files: &'static [RemoteFile],
    /// A zip archive holding the files instead of one URL each (MovieLens).
    pub archive: Option<&'static str>,
}

pub const DATASETS: &[Dataset] = &[
    Dataset {
        name: "mnist",
        about: "MNIST digits, IDX files (CC BY-SA 3.0, Y. LeCun and C. Cortes)",
        files: &[
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/train-images-idx3-ubyte.gz"
                ),
                path: "train-images-idx3-ubyte.gz",
                sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            },
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/train-labels-idx1-ubyte.gz"
                ),
                path: "train-labels-idx1-ubyte.gz",
                sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            },
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/t10k-images-idx3-ubyte.gz"
                ),
                path: "t10k-images-idx3-ubyte.gz",
                sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            },
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/t10k-labels-idx1-ubyte.gz"
                ),
                path: "t10k-labels-idx1-ubyte.gz",
                sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
        ],
        archive: None,
    },
    Dataset {
        name: "cmudict",
        about: "CMU Pronouncing Dictionary (BSD-style licence, see LICENSE)",
        files: &[
            RemoteFile {
                url: "https://raw.githubusercontent.com/cmusphinx/cmudict/master/cmudict.dict",
                path: "cmudict.dict",
                sha256: "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22",
            },
            RemoteFile {
                url: "https://raw.githubusercontent.com/cmusphinx/cmudict/master/LICENSE",
                path: "LICENSE",
                sha256: "bd4ce8e44170a5f9f481310ca85c51de3c4f851a65e679b40e603b143bd3542a",
            },
        ],
        archive: None,
    },
    Dataset {
        name: "nietzsche",
        about: "Nietzsche, Beyond Good and Evil, lower-cased (public domain)",
        files: &[RemoteFile {
            url: "https://s3.amazonaws.com/text-datasets/nietzsche.txt",
            path: "nietzsche.txt",
            sha256: "769ce58bf021ed0fa86232eac03867ccd275181a94caafeef56b70b16ec741ff",
        }],
        archive: None,
    },
    Dataset {
        name: "movielens",
        about: "MovieLens ml-latest-small (GroupLens terms: no redistribution, no commercial use)",
        files: &[
            RemoteFile {
                url: "",
                path: "ml-latest-small/ratings.csv",
                sha256: "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
            },
            RemoteFile {
                url: "",
                path: "ml-latest-small/movies.csv",
                sha256: "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
            },
        ],
        archive: Some("https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"),
    },
];

pub fn find(name: &str) -> Result<&'static Dataset> {
    DATASETS.iter().find(|d| d.name == name).with_context(|| {
        let names: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
        format!("unknown dataset {name:?} (known: {})", names.join(", "))
    })
}

/// Where `fetch` writes a dataset: `EMBER_DATA/<name>`, else the user cache.
pub fn fetch_dir(name: &str) -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("EMBER_DATA") {
        return Ok(PathBuf::from(d).join(name));
    }
    search_dirs(name)
        .into_iter()
        .find(|p| p.components().any(|c| c.as_os_str() == "ember"))
        .context("no cache folder: set EMBER_DATA or HOME")
}

/// The URL to download, with `EMBER_DATA_MIRROR` (a base URL) replacing the canonical host:
/// the mirror serves the same file names.
fn source(url: &str) -> String {
    match std::env::var("EMBER_DATA_MIRROR") {
        Ok(m) if !m.is_empty() => {
            format!(
                "{}/{}",
                m.trim_end_matches('/'),
                url.rsplit('/').next().unwrap_or(url)
            )
        }
        _ => url.to_string(),
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's content (gunzipped for `.gz`).
pub fn content_sha256(path: &Path) -> Result<String> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{} is not a valid gzip file", path.display()))?;
        out
    } else {
        raw
    };
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Whether every file of a dataset is present (in any search folder) and where.
pub fn status(d: &Dataset) -> Vec<(String, Option<PathBuf>)> {
    d.files
        .iter()
        .map(|f| {
            let found = search_dirs(d.name)
                .into_iter()
                .map(|dir| dir.join(f.path))
                .find(|p| p.is_file());
            (f.path.to_string(), found)
        })
        .collect()
}

/// Progress on stderr: a live bar on a terminal, a line per 10% otherwise.
pub trait Progress {
    fn start(&mut self, what: &str, total: Option<u64>, done: u64);
    fn advance(&mut self, done: u64);
    fn finish(&mut self);
}

/// Downloads `url` into `dest`, resuming from `dest.part` when the server honours ranges.
/// Checks the SHA-256 (when given) before renaming into place.
pub fn download(
    url: &str,
    dest: &Path,
    sha256: Option<&str>,
    progress: &mut dyn Progress,
) -> Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let part = PathBuf::from(format!("{}.part", dest.display()));
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut req = ureq::get(url);
    if have > 0 {
        req = req.header("Range", &format!("bytes={have}-"));
    }
    let resp = req.call().with_context(|| format!("download {url}"))?;
    let resumed = resp.status().as_u16() == 206;
    let start = if resumed { have } else { 0 };
    let total = resp.body().content_length().map(|n| n + start);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&part)
        .with_context(|| format!("cannot write {}", part.display()))?;
    progress.start(url, total, start);
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = start;
    loop {
        let n = reader
            .read(&mut buf)
            .with_context(|| format!("download {url}: the connection broke after {done} bytes; run the fetch again to resume"))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", part.display()))?;
        done += n as u64;
        progress.advance(done);
    }
    file.sync_all().ok();
    drop(file);
    progress.finish();
    if let Some(sha256) = sha256 {
        let got = content_sha256(&part)?;
        if got != sha256 {
            std::fs::remove_file(&part).ok();
            bail!(
                "download {url}: SHA-256 mismatch (expected {sha256}, got {got}); the partial file was removed"
            );
        }
    }
    std::fs::rename(&part, dest)
        .with_context(|| format!("cannot move {} into place", part.display()))
}

/// Fetches every missing or wrong file of a dataset into `dir`; returns the files written.
pub fn fetch(d: &Dataset, dir: &Path, progress: &mut dyn Progress) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let ok =
        |p: &Path, sha: &str| p.is_file() && content_sha256(p).map(|s| s == sha).unwrap_or(false);
    if let Some(zip_url) = d.archive {
        if d.files.iter().all(|f| ok(&dir.join(f.path), f.sha256)) {
            return Ok(written);
        }
        let zip_path = dir.join(zip_url.rsplit('/').next().unwrap_or("archive.zip"));
        // the archive itself changes between releases; the files inside are what is checked
        download(&source(zip_url), &zip_path, None, progress)?;
        let file = std::fs::File::open(&zip_path)?;
        let mut zip = zip::ZipArchive::new(file)
            .with_context(|| format!("{} is not a zip archive", zip_path.display()))?;
        for f in d.files {
            let mut entry = zip
                .by_name(f.path)
                .with_context(|| format!("{} has no {}", zip_path.display(), f.path))?;
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            let got = hex(&Sha256::digest(&bytes));
            if got != f.sha256 {
                bail!(
                    "{}: {} has SHA-256 {got}, expected {}",
                    zip_path.display(),
                    f.path,
                    f.sha256
                );
            }
            let dest = dir.join(f.path);
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p)?;
            }
            super::write_atomic(&dest, &bytes)?;
            written.push(dest);
        }
        std::fs::remove_file(&zip_path).ok();
        return Ok(written);
    }
    for f in d.files {
        let dest = dir.join(f.path);
        if ok(&dest, f.sha256) {
            continue;
        }
        download(&source(f.url), &dest, Some(f.sha256), progress)?;
        written.push(dest);
    }
    Ok(written)
}
