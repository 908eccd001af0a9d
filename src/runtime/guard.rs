//! What surrounds every evaluation: the session's limits, file-system policy and interrupt
//! token installed on the thread, a stack of its own, the progress hook that checks the
//! interrupt flag and the time limit, and the backstop that turns a panic (a bug in ember)
//! into an error instead of unwinding into the host.

use super::error::ScriptError;
use super::limits::Limits;
use crate::backend::{interrupt, memory};
use crate::files::FsPolicy;
use rhai::{Dynamic, Engine};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;

/// The stack an evaluation runs on. Rhai recurses over nested values (to size, copy and drop
/// them), so a deeply nested array needs stack in proportion to its depth; the depth is
/// bounded by the array-size limit, and untouched stack costs no memory.
const EVAL_STACK: usize = 1 << 30;

/// Runs `f` on a stack of at least [`EVAL_STACK`] bytes (a fresh one unless this thread is
/// already on one that large). Where no such stack can be mapped (an address-space limit),
/// `f` runs on the current stack. A panic inside `f` goes on unwinding after the stack is
/// switched back.
pub(crate) fn on_big_stack<R>(f: impl FnOnce() -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    let grown = catch_unwind(AssertUnwindSafe(|| {
        stacker::maybe_grow(EVAL_STACK / 2, EVAL_STACK, || {
            if let Some(f) = f.take() {
                out = Some(f());
            }
        })
    }));
    match (grown, out) {
        (Ok(()), Some(r)) => r,
        (Err(p), None) => match f.take() {
            // the stack could not be mapped: `f` never started
            Some(f) => {
                LAST_PANIC.with(|p| p.borrow_mut().take());
                f()
            }
            None => std::panic::resume_unwind(p),
        },
        (Err(p), Some(_)) => std::panic::resume_unwind(p),
        (Ok(()), None) => unreachable!("maybe_grow runs its callback"),
    }
}

/// A clearer message for an error raised by one of the engine's limits, naming the limit and
/// how to change it.
pub(crate) fn limit_message(err: &rhai::EvalAltResult, limits: &Limits) -> Option<String> {
    use rhai::EvalAltResult as E;
    let mut inner = err;
    while let E::ErrorInFunctionCall(_, _, e, _) | E::ErrorInModule(_, e, _) = inner {
        inner = e;
    }
    Some(match inner {
        E::ErrorTerminated(v, _) => v.to_string(),
        E::ErrorTooManyOperations(_) => format!(
            "stopped: the evaluation passed its limit of {} operations (--max-operations, \
             Runtime::builder().max_operations)",
            limits.max_operations
        ),
        E::ErrorStackOverflow(_) => format!(
            "function calls nested more than {} deep (--max-call-depth, \
             Runtime::builder().max_call_depth)",
            limits.max_call_depth
        ),
        E::ErrorDataTooLarge(what, _) => {
            let (limit, flag) = match what.as_str() {
                w if w.contains("string") => (
                    crate::backend::memory::human_bytes(limits.max_string_size),
                    "--max-string, Runtime::builder().max_string_size",
                ),
                w if w.contains("map") => (
                    format!("{} entries", limits.max_map_size),
                    "--max-map, Runtime::builder().max_map_size",
                ),
                _ => (
                    format!(
                        "{} elements, nested arrays' included",
                        limits.max_array_size
                    ),
                    "--max-array, Runtime::builder().max_array_size",
                ),
            };
            format!("{what} too large: over this session's limit of {limit} ({flag})")
        }
        _ => return None,
    })
}

/// Values handed to the host may nest arrays and maps at most this deep: dropping or printing
/// a value recurses once per level, on the host's own stack.
pub const MAX_RETURN_DEPTH: usize = 256;

/// Whether `v` nests arrays or maps more than `max` levels deep. Stops descending past `max`,
/// so it never recurses deeper than that itself.
pub(crate) fn nests_deeper(v: &Dynamic, max: usize) -> bool {
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return max == 0 || a.iter().any(|x| nests_deeper(x, max - 1));
    }
    if let Some(m) = v.read_lock::<rhai::Map>() {
        return max == 0 || m.values().any(|x| nests_deeper(x, max - 1));
    }
    false
}

/// `v` if the host can hold it; else it is dropped here, on a stack of its own, and `None`.
pub(crate) fn for_host(v: Dynamic) -> Option<Dynamic> {
    if nests_deeper(&v, MAX_RETURN_DEPTH) {
        on_big_stack(move || drop(v));
        None
    } else {
        Some(v)
    }
}

/// The per-thread settings of one evaluation, restored when dropped.
pub(crate) struct Session {
    _memory: memory::LimitsGuard,
    _script: crate::alloc::ScriptLimitGuard,
    _fs: crate::files::policy::PolicyGuard,
    _env: crate::script::env_access::EnvGuard,
    _token: interrupt::TokenGuard,
}

impl Session {
    pub(crate) fn enter(
        limits: &Limits,
        fs: &Rc<FsPolicy>,
        env: bool,
        token: Arc<interrupt::Token>,
    ) -> Session {
        Session {
            _memory: memory::scoped_limits(limits.memory()),
            _script: crate::alloc::scoped_script_limit(limits.max_script_memory),
            _fs: crate::files::policy::scoped(fs.clone()),
            _env: crate::script::env_access::scoped(env),
            _token: interrupt::scoped(token),
        }
    }
}

thread_local! {
    /// Where the last panic on this thread happened (filled by [`quiet_panics`]' hook).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// How many evaluations are running on this thread (their panics become errors).
    static EVALUATING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Makes panics inside an evaluation quiet: instead of printing, the hook remembers where the
/// panic happened, so the internal-error message the runtime returns can say it. Panics
/// elsewhere go to the hook that was installed before. The `ember` command installs it; a
/// host may too (or keep its own hook: the message then lacks the place).
pub fn quiet_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if EVALUATING.with(|e| e.get()) == 0 {
            return previous(info);
        }
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(place));
    }));
}

/// Runs `f`, turning a panic into a [`ScriptError`] that says it is an internal error.
pub(crate) fn catching_panics(
    source: &str,
    f: impl FnOnce() -> Result<Dynamic, ScriptError>,
) -> Result<Dynamic, ScriptError> {
    LAST_PANIC.with(|p| p.borrow_mut().take());
    EVALUATING.with(|e| e.set(e.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    EVALUATING.with(|e| e.set(e.get() - 1));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            let place = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .map(|p| format!(" at {p}"))
                .unwrap_or_default();
            Err(ScriptError {
                message: format!(
                    "internal error: {what}{place}. This is a bug in ember, not in your script; \
                     please report it with the code that caused it. The session goes on."
                ),
                source_name: source.to_string(),
                line: None,
                column: None,
                source_line: None,
                call_stack: Vec::new(),
            })
        }
    }
}

/// A host's progress hook, run after the runtime's own checks.
pub(crate) type ProgressHook = Rc<RefCell<Option<Box<dyn Fn(u64) -> Option<Dynamic>>>>>;

/// Installs the progress hook that stops a script when its values outgrow the session's
/// script-memory limit, when the interrupt flag is set or when the time limit has passed
/// (checked through the thread's interrupt token), then calls the host's hook.
pub(crate) fn install_progress(engine: &mut Engine, hook: ProgressHook) {
    engine.on_progress(move |ops| {
        if let Some((held, limit)) = crate::alloc::over_script_limit(0) {
            return Some(Dynamic::from(script_memory_message(held, limit)));
        }
        // Reading the clock costs more than the rest: look at it every 256 operations.
        if ops % 256 == 0
            && let Some(stop) = interrupt::current().and_then(|t| t.stopped())
        {
            return Some(Dynamic::from(stop.to_string()));
        }
        hook.borrow().as_ref().and_then(|h| h(ops))
    });
}

/// The error for script values over `limit`.
pub(crate) fn script_memory_message(held: usize, limit: usize) -> String {
    format!(
        "stopped: the script's values (strings, arrays, maps) hold {}, over this session's limit \
         of {} (--max-script-memory, Runtime::builder().max_script_memory)",
        memory::human_bytes(held),
        memory::human_bytes(limit)
    )
}

/// The runtime's engine, lent to the host to register functions. Its `on_progress` chains
/// the host's hook after the runtime's checks instead of replacing them.
pub struct EngineMut<'a> {
    engine: &'a mut Engine,
    hook: &'a ProgressHook,
}

impl<'a> EngineMut<'a> {
    pub(crate) fn new(engine: &'a mut Engine, hook: &'a ProgressHook) -> EngineMut<'a> {
        EngineMut { engine, hook }
    }

    /// Sets the host's progress hook; the runtime's interrupt and time-limit checks stay.
    pub fn on_progress(&mut self, f: impl Fn(u64) -> Option<Dynamic> + 'static) -> &mut Self {
        *self.hook.borrow_mut() = Some(Box::new(f));
        self
    }
}

impl std::ops::Deref for EngineMut<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        self.engine
    }
}

impl std::ops::DerefMut for EngineMut<'_> {
    fn deref_mut(&mut self) -> &mut Engine {
        self.engine
    }
}
