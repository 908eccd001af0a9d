//! Writing files so that a reader never sees half of one and a failure leaves nothing behind:
//! a temporary file beside the target, flushed to disk, renamed over the target, then the
//! folder flushed. On any error the temporary file is removed; temporary files left by a
//! process that was killed mid-save are removed by the next save of the same file.

use super::policy::{Access, check};
use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The marker in the names of ember's temporary files: `.NAME.ember-tmp-PID-N.EXT`.
const TMP_MARK: &str = ".ember-tmp-";

/// Writes `bytes` to `path` atomically (see the module doc); returns the file written (the
/// target of `path` when it is a symbolic link).
pub fn write_atomic(op: &str, path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    write_atomic_with(op, path, |tmp| {
        let mut f = OpenOptions::new().write(true).open(tmp)?;
        f.write_all(bytes)?;
        Ok(())
    })
}

/// Like [`write_atomic`], with `write` producing the file at the temporary path it is given
/// (for writers that want a path, such as image encoders). The file is created empty first.
pub fn write_atomic_with(
    op: &str,
    path: &Path,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let target = writable_target(op, path)?;
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_temporaries(&dir, &name);
    let tmp = dir.join(temporary_name(&name));
    let result = (|| -> Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        if let Ok(meta) = std::fs::metadata(&target) {
            // keep the replaced file's permissions
            let _ = f.set_permissions(meta.permissions());
        }
        drop(f);
        write(&tmp)?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot flush {}", tmp.display()))?;
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot move the new file over {}", target.display()))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(target),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.context(format!("{op}: cannot write {}", path.display())))
        }
    }
}

/// The file to replace: checked against the policy, links followed, refused when it is a
/// folder, not a regular file, or read-only.
fn writable_target(op: &str, path: &Path) -> Result<PathBuf> {
    let text = path.to_string_lossy();
    if text.ends_with('/') {
        bail!(
            "{op}: {} is a folder; give a file name to write",
            path.display()
        );
    }
    let target = check(op, path, Access::Write)?;
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => bail!(
            "{op}: {} is a folder; give a file name to write",
            path.display()
        ),
        Ok(m) if !m.is_file() => bail!("{op}: {} is not a regular file", path.display()),
        Ok(m) if m.permissions().readonly() => {
            bail!("{op}: {} is read-only; it was not replaced", path.display())
        }
        _ => {}
    }
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() && !d.is_dir() => bail!(
            "{op}: cannot write {}: the folder {} does not exist",
            path.display(),
            d.display()
        ),
        _ => Ok(target),
    }
}

/// `.NAME.ember-tmp-PID-N.EXT`: hidden, ours, and with the target's extension kept last (for
/// writers that pick the format by extension).
fn temporary_name(name: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let ext = Path::new(name)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    format!(
        ".{name}{TMP_MARK}{}-{}{ext}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes temporary files for `name` in `dir` whose writing process is gone.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}{TMP_MARK}");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether a process with this id runs (on Linux, by `/proc`; elsewhere assumed alive unless
/// it is this process's own leftover from an earlier, failed attempt).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Creates `dir` and its parents under the policy's write access.
pub fn create_dir_all(op: &str, dir: &Path) -> Result<PathBuf> {
    let real = check(op, dir, Access::Write)?;
    std::fs::create_dir_all(&real)
        .with_context(|| format!("{op}: cannot create the folder {}", dir.display()))?;
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ember-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn listing(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let d = dir("fail");
        std::fs::create_dir(d.join("adir")).unwrap();
        let e = write_atomic("save", &d.join("adir"), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a folder"), "{e}");
        let e = write_atomic("save", Path::new(&format!("{}/sub/", d.display())), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a folder"), "{e}");
        let e = write_atomic("save", &d.join("x.bin"), b"x");
        assert!(e.is_ok());
        let e = write_atomic_with("save", &d.join("y.bin"), |_| bail!("disk full"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("y.bin"), "{e}");
        assert_eq!(listing(&d), ["adir", "x.bin"]);
    }

    #[test]
    fn read_only_files_stay_and_links_write_their_target() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("ro");
        std::fs::write(d.join("ro.bin"), b"old").unwrap();
        std::fs::set_permissions(d.join("ro.bin"), std::fs::Permissions::from_mode(0o444)).unwrap();
        let e = write_atomic("save", &d.join("ro.bin"), b"new")
            .unwrap_err()
            .to_string();
        assert!(e.contains("read-only"), "{e}");
        assert_eq!(std::fs::read(d.join("ro.bin")).unwrap(), b"old");
        std::fs::write(d.join("target.bin"), b"old").unwrap();
        std::os::unix::fs::symlink(d.join("target.bin"), d.join("link.bin")).unwrap();
        write_atomic("save", &d.join("link.bin"), b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(d.join("link.bin"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(d.join("target.bin")).unwrap(), b"new");
    }

    #[test]
    fn stale_temporaries_are_cleaned() {
        let d = dir("stale");
        // a process id that cannot be running (above the kernel's pid_max)
        std::fs::write(d.join(".m.bin.ember-tmp-4999999-0"), b"partial").unwrap();
        std::fs::write(d.join(".other.bin.ember-tmp-4999999-0"), b"partial").unwrap();
        write_atomic("save", &d.join("m.bin"), b"full").unwrap();
        assert_eq!(listing(&d), [".other.bin.ember-tmp-4999999-0", "m.bin"]);
    }
}
