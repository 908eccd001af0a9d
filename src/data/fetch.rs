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
    /// Bytes of the content (after gunzip for `.gz` files): a download is cut off, and a
    /// decompression refused, past what this allows.
    pub size: u64,
}

impl RemoteFile {
    /// The most bytes a download of this file may take: its size, or for a `.gz` file, its
    /// content's size plus gzip's worst-case overhead.
    pub fn max_download(&self) -> u64 {
        if self.path.ends_with(".gz") {
            self.size + self.size / 100 + (64 << 10)
        } else {
            self.size
        }
    }
}

/// A zip archive that holds a dataset's files.
pub struct Archive {
    pub url: &'static str,
    /// The most bytes a download of it may take (releases differ a little in size).
    pub max_bytes: u64,
}

/// A dataset the loaders know.
pub struct Dataset {
    pub name: &'static str,
    pub about: &'static str,
    pub files: &'static [RemoteFile],
    /// A zip archive holding the files instead of one URL each (MovieLens).
    pub archive: Option<Archive>,
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
                size: 47_040_016,
            },
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/train-labels-idx1-ubyte.gz"
                ),
                path: "train-labels-idx1-ubyte.gz",
                sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                size: 60_008,
            },
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/t10k-images-idx3-ubyte.gz"
                ),
                path: "t10k-images-idx3-ubyte.gz",
                sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                size: 7_840_016,
            },
            RemoteFile {
                url: concat!(
                    "https://ossci-datasets.s3.amazonaws.com/mnist",
                    "/t10k-labels-idx1-ubyte.gz"
                ),
                path: "t10k-labels-idx1-ubyte.gz",
                sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                size: 10_008,
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
                size: 3_618_488,
            },
            RemoteFile {
                url: "https://raw.githubusercontent.com/cmusphinx/cmudict/master/LICENSE",
                path: "LICENSE",
                sha256: "bd4ce8e44170a5f9f481310ca85c51de3c4f851a65e679b40e603b143bd3542a",
                size: 1_754,
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
            size: 600_902,
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
                size: 2_483_723,
            },
            RemoteFile {
                url: "",
                path: "ml-latest-small/movies.csv",
                sha256: "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
                size: 494_431,
            },
        ],
        archive: Some(Archive {
            url: "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
            max_bytes: 8 << 20,
        }),
    },
];

pub fn find(name: &str) -> Result<&'static Dataset> {
    DATASETS.iter().find(|d| d.name == name).with_context(|| {
        let names: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
        format!("unknown dataset {name:?} (known: {})", names.join(", "))
    })
}

/// Where `fetch` writes a dataset: `EMBER_DATA/<name>`, else the user's data folder.
pub fn fetch_dir(name: &str) -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("EMBER_DATA") {
        return Ok(PathBuf::from(d).join(name));
    }
    super::user_data_dir()
        .map(|d| d.join(name))
        .context("no data folder: set EMBER_DATA, XDG_DATA_HOME or HOME")
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

/// SHA-256 of a file's content (gunzipped for `.gz`), reading at most `max_content` bytes of
/// content (a larger file, or a gzip stream that inflates past it, is an error).
pub fn content_sha256(path: &Path, max_content: u64) -> Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut head = [0u8; 2];
    let gz = {
        let mut f = &file;
        f.read(&mut head).unwrap_or(0) == 2 && head == [0x1f, 0x8b]
    };
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut hasher = Sha256::new();
    let mut taken = reader.take(max_content + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = taken.read(&mut buf).with_context(|| {
            format!("{} cannot be read (not a valid gzip file?)", path.display())
        })?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > max_content {
            bail!(
                "{} holds more than the {max_content} bytes expected",
                path.display()
            );
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
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

/// What to download and how to tell it arrived whole.
pub struct Expected<'a> {
    /// SHA-256 of the content (gunzipped for `.gz`), when known.
    pub sha256: Option<&'a str>,
    /// The most bytes the download may take.
    pub max_bytes: u64,
    /// The most bytes of content (for verifying a gzip stream).
    pub max_content: u64,
}

/// Downloads `url` into `dest`, resuming from `dest.part` when the server honours ranges. The
/// download is cut off past `expected.max_bytes`; the SHA-256 (when given) is checked before
/// the file is renamed into place, and a `.part` already complete is verified and finished
/// without asking the server again.
pub fn download(
    url: &str,
    dest: &Path,
    expected: &Expected,
    progress: &mut dyn Progress,
) -> Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let part = PathBuf::from(format!("{}.part", dest.display()));
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if have > expected.max_bytes {
        std::fs::remove_file(&part).ok();
        have = 0;
    }
    if have > 0 && finish_part(&part, dest, expected)? {
        return Ok(());
    }
    let mut req = ureq::get(url);
    if have > 0 {
        req = req.header("Range", &format!("bytes={have}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        // the server has nothing past what `.part` holds, and it did not verify
        Err(ureq::Error::StatusCode(416)) if have > 0 => {
            std::fs::remove_file(&part).ok();
            bail!(
                "download {url}: the server has nothing past the {have} bytes already downloaded, \
                 and they do not verify; the partial file was removed, run the fetch again"
            );
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("download {url}"))),
    };
    let resumed = resp.status().as_u16() == 206;
    let start = if resumed { have } else { 0 };
    let total = resp.body().content_length().map(|n| n + start);
    if let Some(t) = total.filter(|&t| t > expected.max_bytes) {
        bail!(
            "download {url}: the server offers {t} bytes, more than the {} expected; nothing was kept",
            expected.max_bytes
        );
    }
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
        if done + n as u64 > expected.max_bytes {
            drop(file);
            std::fs::remove_file(&part).ok();
            bail!(
                "download {url}: the server sent more than the {} bytes expected; the partial file was removed",
                expected.max_bytes
            );
        }
        file.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", part.display()))?;
        done += n as u64;
        progress.advance(done);
    }
    file.sync_all().ok();
    drop(file);
    progress.finish();
    if !finish_part(&part, dest, expected)? {
        std::fs::remove_file(&part).ok();
        bail!(
            "download {url}: SHA-256 mismatch (expected {}); the partial file was removed",
            expected.sha256.unwrap_or("")
        );
    }
    Ok(())
}

/// Renames `part` into place if it verifies (or if there is nothing to verify against);
/// `false` when it does not verify yet.
fn finish_part(part: &Path, dest: &Path, expected: &Expected) -> Result<bool> {
    if let Some(sha) = expected.sha256 {
        match content_sha256(part, expected.max_content) {
            Ok(got) if got == sha => {}
            _ => return Ok(false),
        }
    }
    std::fs::rename(part, dest)
        .with_context(|| format!("cannot move {} into place", part.display()))?;
    Ok(true)
}

/// Fetches every missing or wrong file of a dataset into `dir`; returns the files written.
pub fn fetch(d: &Dataset, dir: &Path, progress: &mut dyn Progress) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let ok = |p: &Path, f: &RemoteFile| {
        p.is_file()
            && content_sha256(p, f.size)
                .map(|s| s == f.sha256)
                .unwrap_or(false)
    };
    if let Some(archive) = &d.archive {
        if d.files.iter().all(|f| ok(&dir.join(f.path), f)) {
            return Ok(written);
        }
        let zip_path = dir.join(archive.url.rsplit('/').next().unwrap_or("archive.zip"));
        // the archive itself changes between releases; the files inside are what is checked
        let expected = Expected {
            sha256: None,
            max_bytes: archive.max_bytes,
            max_content: archive.max_bytes,
        };
        download(&source(archive.url), &zip_path, &expected, progress)?;
        let file = std::fs::File::open(&zip_path)?;
        let mut zip = zip::ZipArchive::new(file)
            .with_context(|| format!("{} is not a zip archive", zip_path.display()))?;
        for f in d.files {
            let mut entry = zip
                .by_name(f.path)
                .with_context(|| format!("{} has no {}", zip_path.display(), f.path))?;
            if entry.size() != f.size {
                bail!(
                    "{}: {} declares {} bytes, expected {}",
                    zip_path.display(),
                    f.path,
                    entry.size(),
                    f.size
                );
            }
            let mut bytes = Vec::new();
            (&mut entry).take(f.size + 1).read_to_end(&mut bytes)?;
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
            crate::files::write_atomic("fetch", &dest, &bytes)?;
            written.push(dest);
        }
        std::fs::remove_file(&zip_path).ok();
        return Ok(written);
    }
    for f in d.files {
        let dest = dir.join(f.path);
        if ok(&dest, f) {
            continue;
        }
        let expected = Expected {
            sha256: Some(f.sha256),
            max_bytes: f.max_download(),
            max_content: f.size,
        };
        download(&source(f.url), &dest, &expected, progress)?;
        written.push(dest);
    }
    Ok(written)
}
