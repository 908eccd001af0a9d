//! Tensor memory: the one fallible path every allocation of tensor data goes through, the
//! limits it enforces, and the accounting of live tensor bytes.
//!
//! - [`alloc`] (and [`filled`], [`collect`]) check a request against the per-tensor byte limit
//!   and the total of live tensor bytes, then reserve with `try_reserve_exact`, so a huge request
//!   is an error naming the op and the size instead of an abort.
//! - [`Buffer`] holds the memory of one tensor on the host. Making one adds its bytes to a
//!   process-wide counter (one relaxed atomic add per allocation, nothing per element); dropping
//!   it subtracts them. A device backend counts its own buffers the same way with [`account`] and
//!   [`release`].
//! - The limits are per thread (a `Runtime` installs its own while it evaluates); the live count
//!   is the process's, since every tensor of every runtime shares the machine's memory.

use anyhow::{Result, bail};
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes held by live tensors in this process (host and device buffers alike).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The part of [`LIVE`] held in host memory ([`Buffer`]s).
static HOST: AtomicUsize = AtomicUsize::new(0);

/// Used when the machine's memory cannot be read.
const FALLBACK_MEMORY: usize = 16 << 30;

/// Caps on tensor memory. Each request above one is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest single tensor, in bytes.
    pub max_tensor_bytes: usize,
    /// Largest total of live tensor bytes (every tensor of the process).
    pub max_live_bytes: usize,
}

impl Default for Limits {
    /// Half of the machine's physical memory for both (16 GiB assumed when it cannot be read).
    fn default() -> Limits {
        static DEFAULT: OnceLock<Limits> = OnceLock::new();
        *DEFAULT.get_or_init(|| {
            let half = physical_memory().unwrap_or(FALLBACK_MEMORY) / 2;
            Limits {
                max_tensor_bytes: half,
                max_live_bytes: half,
            }
        })
    }
}

thread_local! {
    static LIMITS: Cell<Option<Limits>> = const { Cell::new(None) };
}

/// The limits in force on this thread.
pub fn limits() -> Limits {
    LIMITS.with(|l| l.get()).unwrap_or_default()
}

/// Installs `limits` on this thread until the guard is dropped (then the previous ones return).
pub fn scoped_limits(limits: Limits) -> LimitsGuard {
    let previous = LIMITS.with(|l| l.replace(Some(limits)));
    LimitsGuard { previous }
}

/// Restores the previous limits when dropped (see [`scoped_limits`]).
pub struct LimitsGuard {
    previous: Option<Limits>,
}

impl Drop for LimitsGuard {
    fn drop(&mut self) {
        LIMITS.with(|l| l.set(self.previous));
    }
}

/// Bytes held by live tensors in this process.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Bytes held by live tensors in host memory.
pub fn host_bytes() -> usize {
    HOST.load(Ordering::Relaxed)
}

/// Physical memory of the machine in bytes, from `/proc/meminfo` (`None` where unreadable).
pub fn physical_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A byte count for messages: `1.5 GiB`, `12 B`.
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Checks that `op` may create a tensor of `n` elements of `T`; returns its size in bytes.
pub fn check<T>(op: &str, n: usize) -> Result<usize> {
    check_bytes(op, n, std::mem::size_of::<T>())
}

/// [`check`] for `n` elements of `elem` bytes each.
/// Every tensor allocation passes here, so it is also where tensor work notices that the
/// evaluation was interrupted or ran out of time ([`super::interrupt`]).
pub fn check_bytes(op: &str, n: usize, elem: usize) -> Result<usize> {
    super::interrupt::check(op)?;
    let Some(bytes) = n.checked_mul(elem) else {
        bail!("{op}: {n} elements of {elem} bytes do not fit in memory (the size overflows)");
    };
    let lim = limits();
    if bytes > lim.max_tensor_bytes {
        bail!(
            "{op}: a tensor of {n} elements needs {}, over the limit of {} per tensor",
            human_bytes(bytes),
            human_bytes(lim.max_tensor_bytes)
        );
    }
    let live = live_bytes();
    if live.saturating_add(bytes) > lim.max_live_bytes {
        bail!(
            "{op}: a tensor of {n} elements needs {} more, but live tensors already hold {} of the {} limit",
            human_bytes(bytes),
            human_bytes(live),
            human_bytes(lim.max_live_bytes)
        );
    }
    Ok(bytes)
}

/// An empty vector with room for exactly `n` elements, after the limit checks.
pub fn alloc<T>(op: &str, n: usize) -> Result<Vec<T>> {
    let bytes = check::<T>(op, n)?;
    let mut v = Vec::new();
    if let Err(e) = v.try_reserve_exact(n) {
        bail!(
            "{op}: could not allocate {} for {n} elements: {e}",
            human_bytes(bytes)
        );
    }
    Ok(v)
}

/// `n` copies of `value`, allocated through [`alloc`].
pub fn filled<T: Clone>(op: &str, n: usize, value: T) -> Result<Vec<T>> {
    let mut v = alloc(op, n)?;
    v.resize(n, value);
    Ok(v)
}

/// The first `n` items of `items`, allocated through [`alloc`] (never grows past `n`).
pub fn collect<T>(op: &str, n: usize, items: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
    let mut v = alloc(op, n)?;
    v.extend(items.into_iter().take(n));
    Ok(v)
}

/// A copy of `src`, allocated through [`alloc`].
pub fn copy_of<T: Clone>(op: &str, src: &[T]) -> Result<Vec<T>> {
    let mut v = alloc(op, src.len())?;
    v.extend_from_slice(src);
    Ok(v)
}

/// Adds `bytes` to the live count (a device backend, for each buffer it allocates).
pub fn account(bytes: usize) {
    LIVE.fetch_add(bytes, Ordering::Relaxed);
}

/// Subtracts `bytes` from the live count (a device backend, when a buffer is freed).
pub fn release(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

/// Host memory behind one tensor. Its bytes count as live until it is dropped. It derefs to a
/// slice (never to the `Vec`), so its capacity, and with it the count, cannot change.
pub struct Buffer<T> {
    v: Vec<T>,
}

impl<T> Buffer<T> {
    fn bytes(&self) -> usize {
        self.v.capacity() * std::mem::size_of::<T>()
    }

    /// A deep copy, allocated through [`alloc`].
    pub fn try_clone(&self, op: &str) -> Result<Buffer<T>>
    where
        T: Clone,
    {
        Ok(Buffer::from(copy_of(op, &self.v)?))
    }
}

impl<T> From<Vec<T>> for Buffer<T> {
    /// Takes ownership of a vector (allocated through [`alloc`], or checked with [`check`]) and
    /// counts its bytes as live.
    fn from(v: Vec<T>) -> Buffer<T> {
        let b = Buffer { v };
        account(b.bytes());
        HOST.fetch_add(b.bytes(), Ordering::Relaxed);
        b
    }
}

impl<T> Drop for Buffer<T> {
    fn drop(&mut self) {
        release(self.bytes());
        HOST.fetch_sub(self.bytes(), Ordering::Relaxed);
    }
}

impl<T> std::ops::Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.v
    }
}

impl<T> std::ops::DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.v
    }
}

impl<T> std::fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buffer({} elements)", self.v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_count_while_alive() {
        let before = live_bytes();
        let b = Buffer::from(alloc::<f32>("t", 1000).unwrap());
        assert!(live_bytes() >= before + 4000 || live_bytes() >= 4000);
        drop(b);
        let _g = scoped_limits(Limits {
            max_tensor_bytes: 100,
            max_live_bytes: usize::MAX,
        });
        let e = alloc::<f32>("zeros", 26).unwrap_err().to_string();
        assert!(e.contains("zeros") && e.contains("104 B"), "{e}");
        assert!(alloc::<f32>("zeros", 25).is_ok());
        let e = alloc::<f32>("x", usize::MAX / 2).unwrap_err().to_string();
        assert!(e.contains("overflows"), "{e}");
    }
}
