//! Counting the process's heap, so a runtime can stop a script whose strings, arrays and maps
//! grow past a limit (a string doubled in a loop) before the machine runs out of memory.
//!
//! A program opts in by making [`Counting`] its global allocator, as the `ember` command
//! does:
//!
//! ```no_run
//! #[global_allocator]
//! static GLOBAL: ember::alloc::Counting<mimalloc::MiMalloc> = ember::alloc::Counting::new(mimalloc::MiMalloc);
//! ```
//!
//! Without it, [`heap_bytes`] is `None` and the script-memory limit is not enforced (Rhai's own
//! size limits, `RuntimeBuilder::max_string_size` and friends, still can be).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static HEAP: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A global allocator that counts the bytes it holds, wrapping another allocator.
pub struct Counting<A> {
    inner: A,
}

impl<A> Counting<A> {
    pub const fn new(inner: A) -> Counting<A> {
        Counting { inner }
    }
}

// SAFETY: every call is forwarded to the wrapped allocator unchanged; the counter is only
// bookkeeping.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            HEAP.fetch_add(layout.size(), Ordering::Relaxed);
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            HEAP.fetch_add(layout.size(), Ordering::Relaxed);
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.inner.dealloc(ptr, layout) };
        HEAP.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                HEAP.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                HEAP.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes the process's heap holds, when [`Counting`] is the global allocator.
pub fn heap_bytes() -> Option<usize> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| HEAP.load(Ordering::Relaxed))
}

/// Heap bytes held by other things than tensors (script strings, arrays, maps, ...), when the
/// heap is counted.
pub fn script_bytes() -> Option<usize> {
    heap_bytes().map(|h| h.saturating_sub(crate::backend::memory::host_bytes()))
}

thread_local! {
    /// The limit in force, and what script values held when the evaluation started.
    static SCRIPT_LIMIT: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
}

/// The limit on script values' heap bytes in force on this thread (a runtime installs it).
pub fn script_limit() -> Option<usize> {
    SCRIPT_LIMIT.with(|l| l.get()).map(|(limit, _)| limit)
}

/// Installs `limit` on this thread until the guard is dropped, taking what script values hold
/// now as the evaluation's starting point.
pub fn scoped_script_limit(limit: usize) -> ScriptLimitGuard {
    let start = script_bytes().unwrap_or(0);
    ScriptLimitGuard {
        previous: SCRIPT_LIMIT.with(|l| l.replace(Some((limit, start)))),
    }
}

/// Restores the previous limit when dropped (see [`scoped_script_limit`]).
pub struct ScriptLimitGuard {
    previous: Option<(usize, usize)>,
}

impl Drop for ScriptLimitGuard {
    fn drop(&mut self) {
        SCRIPT_LIMIT.with(|l| l.set(self.previous));
    }
}

/// Whether script values would pass the limit, counting `extra` bytes about to be allocated:
/// `Some((would_hold, limit))` when they would. A session that already holds more than the
/// limit when an evaluation starts (after a script was stopped for it) may still grow by an
/// eighth of the limit, so the evaluation that frees the values can run.
pub fn over_script_limit(extra: usize) -> Option<(usize, usize)> {
    let (limit, start) = SCRIPT_LIMIT.with(|l| l.get())?;
    // without a counted heap, a single request is still measured against the limit
    let held = script_bytes().unwrap_or(0).saturating_add(extra);
    let allowed = limit.max(start.saturating_add(limit / 8));
    (held > allowed).then_some((held, limit))
}

/// An error naming `op` when making `bytes` more bytes of script values would pass the limit
/// (for functions that build a large string or array in one step).
pub fn check_script_alloc(op: &str, bytes: usize) -> anyhow::Result<()> {
    if let Some((total, limit)) = over_script_limit(bytes) {
        anyhow::bail!(
            "{op}: the script's values would hold {}, over this session's limit of {} \
             (--max-script-memory, Runtime::builder().max_script_memory)",
            crate::backend::memory::human_bytes(total),
            crate::backend::memory::human_bytes(limit)
        );
    }
    Ok(())
}
