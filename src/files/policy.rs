//! Which files a session may touch: a list of folders granted for reading or for reading and
//! writing. Every path a script names is resolved (symbolic links followed, `..` applied) and
//! must land inside a granted folder, or the operation is refused with an error naming the path.
//!
//! The policy in force is per thread: a `Runtime` installs its own while it evaluates
//! ([`scoped`]). Code that runs outside any runtime (a host program calling ember's Rust API
//! itself) is unrestricted: it is the host's own code.

use anyhow::{Result, bail};
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// What an operation does with a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Grant {
    /// Absolute, with `..` applied; symbolic links are resolved again at each check.
    root: PathBuf,
    write: bool,
}

/// The folders a session may read, and those it may also write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsPolicy {
    grants: Vec<Grant>,
    unrestricted: bool,
}

impl Default for FsPolicy {
    /// No file access at all.
    fn default() -> FsPolicy {
        FsPolicy::none()
    }
}

impl FsPolicy {
    /// No file access: every function that touches a file is refused.
    pub fn none() -> FsPolicy {
        FsPolicy {
            grants: Vec::new(),
            unrestricted: false,
        }
    }

    /// Every path allowed (for trusted scripts only).
    pub fn unrestricted() -> FsPolicy {
        FsPolicy {
            grants: Vec::new(),
            unrestricted: true,
        }
    }

    /// Read-only access under `root`.
    pub fn read_only(root: impl AsRef<Path>) -> FsPolicy {
        FsPolicy::none().allow_read(root)
    }

    /// Read and write access under `root`.
    pub fn read_write(root: impl AsRef<Path>) -> FsPolicy {
        FsPolicy::none().allow_write(root)
    }

    /// Adds read access under `root` (a folder; relative paths are taken from the working
    /// folder at the time of the call).
    pub fn allow_read(self, root: impl AsRef<Path>) -> FsPolicy {
        self.grant(root.as_ref(), false)
    }

    /// Adds read and write access under `root`.
    pub fn allow_write(self, root: impl AsRef<Path>) -> FsPolicy {
        self.grant(root.as_ref(), true)
    }

    fn grant(mut self, root: &Path, write: bool) -> FsPolicy {
        let root = normalize(&absolute(root));
        match self.grants.iter_mut().find(|g| g.root == root) {
            Some(g) => g.write |= write,
            None => self.grants.push(Grant { root, write }),
        }
        self
    }

    /// Whether nothing at all is granted.
    pub fn is_none(&self) -> bool {
        !self.unrestricted && self.grants.is_empty()
    }

    /// The granted folders, each with whether it may be written.
    pub fn roots(&self) -> Vec<(PathBuf, bool)> {
        self.grants
            .iter()
            .map(|g| (g.root.clone(), g.write))
            .collect()
    }

    /// Resolves `path` and checks that `op` may `access` it; returns the resolved path (its
    /// symbolic links followed), which is what the caller should open.
    pub fn check(&self, op: &str, path: &Path, access: Access) -> Result<PathBuf> {
        let resolved = resolve(op, path)?;
        if self.unrestricted {
            return Ok(resolved);
        }
        if self.grants.is_empty() {
            bail!(
                "{op}: cannot {} {}: this session has no file access (a host grants it with \
                 Runtime::builder().allow_read(..) or .allow_write(..))",
                access.verb(),
                path.display()
            );
        }
        let allowed = self.grants.iter().any(|g| {
            (g.write || access == Access::Read) && {
                let root = std::fs::canonicalize(&g.root).unwrap_or_else(|_| g.root.clone());
                resolved.starts_with(&root)
            }
        });
        if !allowed {
            let roots: Vec<String> = self
                .grants
                .iter()
                .filter(|g| g.write || access == Access::Read)
                .map(|g| g.root.display().to_string())
                .collect();
            let shown = if path == resolved {
                path.display().to_string()
            } else {
                format!("{} (which is {})", path.display(), resolved.display())
            };
            if roots.is_empty() {
                bail!(
                    "{op}: cannot {} {shown}: this session may only read files",
                    access.verb()
                );
            }
            bail!(
                "{op}: cannot {} {shown}: it is outside the folders this session may {} ({})",
                access.verb(),
                access.verb(),
                roots.join(", ")
            );
        }
        Ok(resolved)
    }
}

/// `path` made absolute against the working folder.
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// `path` with `.` dropped and `..` applied, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The real location of `path`: the longest existing prefix with its symbolic links resolved,
/// then the components that do not exist yet. A `..` among those, or a symbolic link that
/// points nowhere, is refused (where it leads cannot be known before it is created).
pub fn resolve(op: &str, path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        bail!("{op}: the path is empty");
    }
    let abs = absolute(path);
    let parts: Vec<Component> = abs.components().collect();
    for i in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..i].iter().collect();
        let Ok(mut out) = std::fs::canonicalize(&prefix) else {
            continue;
        };
        for (j, c) in parts[i..].iter().enumerate() {
            match c {
                Component::CurDir => continue,
                Component::Normal(name) => out.push(name),
                _ => bail!(
                    "{op}: {}: `..` after a folder that does not exist",
                    path.display()
                ),
            }
            // The first missing component exists only if it is a link to nowhere, which
            // would send a write wherever it points.
            if j == 0 && std::fs::symlink_metadata(&out).is_ok() {
                bail!(
                    "{op}: {} is a symbolic link to a file that does not exist",
                    out.display()
                );
            }
        }
        return Ok(out);
    }
    bail!("{op}: {}: no part of the path exists", path.display())
}

thread_local! {
    static POLICY: RefCell<Option<Rc<FsPolicy>>> = const { RefCell::new(None) };
}

/// Installs `policy` on this thread until the guard is dropped.
pub fn scoped(policy: Rc<FsPolicy>) -> PolicyGuard {
    let previous = POLICY.with(|p| p.replace(Some(policy)));
    PolicyGuard { previous }
}

/// Restores the previous policy when dropped (see [`scoped`]).
pub struct PolicyGuard {
    previous: Option<Rc<FsPolicy>>,
}

impl Drop for PolicyGuard {
    fn drop(&mut self) {
        POLICY.with(|p| *p.borrow_mut() = self.previous.take());
    }
}

/// Checks `path` against the policy in force on this thread (unrestricted outside a runtime)
/// and returns the resolved path to open.
pub fn check(op: &str, path: &Path, access: Access) -> Result<PathBuf> {
    match POLICY.with(|p| p.borrow().clone()) {
        Some(policy) => policy.check(op, path, access),
        None => resolve(op, path),
    }
}

/// Whether `path` may be read under the policy in force (for probing search folders without
/// an error).
pub fn may_read(path: &Path) -> bool {
    check("probe", path, Access::Read).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ember-policy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("root/sub")).unwrap();
        std::fs::create_dir_all(d.join("outside")).unwrap();
        std::fs::write(d.join("outside/secret"), b"x").unwrap();
        std::fs::write(d.join("root/sub/ok"), b"x").unwrap();
        d
    }

    #[test]
    fn paths_stay_inside_the_root() {
        let d = tmp("inside");
        let p = FsPolicy::read_only(d.join("root"));
        assert!(p.check("t", &d.join("root/sub/ok"), Access::Read).is_ok());
        assert!(p.check("t", &d.join("root/sub/new"), Access::Read).is_ok());
        let e = p
            .check("t", &d.join("root/../outside/secret"), Access::Read)
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the folders"), "{e}");
        let e = p
            .check("t", &d.join("root/sub/ok"), Access::Write)
            .unwrap_err()
            .to_string();
        assert!(e.contains("may only read"), "{e}");
        assert!(
            p.check("t", Path::new("/etc/passwd"), Access::Read)
                .is_err()
        );
        let e = FsPolicy::none()
            .check("load", &d.join("root/sub/ok"), Access::Read)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no file access") && e.starts_with("load:"),
            "{e}"
        );
    }

    #[test]
    fn symbolic_links_out_of_the_root_are_refused() {
        let d = tmp("links");
        std::os::unix::fs::symlink(d.join("outside"), d.join("root/out")).unwrap();
        std::os::unix::fs::symlink(d.join("outside/nothing"), d.join("root/dangling")).unwrap();
        let p = FsPolicy::read_write(d.join("root"));
        let e = p
            .check("t", &d.join("root/out/secret"), Access::Read)
            .unwrap_err()
            .to_string();
        assert!(e.contains("which is") && e.contains("outside"), "{e}");
        assert!(
            p.check("t", &d.join("root/out/new"), Access::Write)
                .is_err()
        );
        let e = p
            .check("t", &d.join("root/dangling"), Access::Write)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        // a link that stays inside is followed
        std::os::unix::fs::symlink(d.join("root/sub/ok"), d.join("root/alias")).unwrap();
        let r = p.check("t", &d.join("root/alias"), Access::Write).unwrap();
        assert!(r.ends_with("root/sub/ok"), "{}", r.display());
    }
}
