//! Whether scripts may read environment variables with `env(name)`: granted by the CLI, off in
//! an embedded runtime until the host grants it (`Runtime::builder().allow_env(true)`). The
//! setting is per thread, installed by a `Runtime` while it evaluates.

use std::cell::Cell;

thread_local! {
    static ALLOWED: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Whether `env()` may read the environment on this thread (yes outside any runtime).
pub fn allowed() -> bool {
    ALLOWED.with(|a| a.get()).unwrap_or(true)
}

/// Sets whether `env()` may read the environment until the guard is dropped.
pub fn scoped(allowed: bool) -> EnvGuard {
    EnvGuard {
        previous: ALLOWED.with(|a| a.replace(Some(allowed))),
    }
}

/// Restores the previous setting when dropped (see [`scoped`]).
pub struct EnvGuard {
    previous: Option<bool>,
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        ALLOWED.with(|a| a.set(self.previous));
    }
}
