//! Op tracing: when a sink is installed, every recorded op reports its name, input and output
//! shapes and the wall time since the previous event (the REPL's `:trace on`).

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// One traced op.
pub struct TraceEvent<'a> {
    pub op: &'a str,
    pub inputs: Vec<Vec<usize>>,
    pub output: &'a [usize],
    /// Time since the previous event (or since [`mark`]): the op, plus any script work before it.
    pub elapsed: Duration,
}

type Sink = Box<dyn Fn(&TraceEvent)>;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Installs (or removes, with `None`) the function that receives trace events.
pub fn set_sink(sink: Option<Sink>) {
    ON.with(|o| o.set(sink.is_some()));
    SINK.with(|s| *s.borrow_mut() = sink);
    mark();
}

/// Whether tracing is on. Cheap: ops check it on every call.
#[inline]
pub fn enabled() -> bool {
    ON.with(|o| o.get())
}

/// Restarts the clock (call before evaluating a new input).
pub fn mark() {
    LAST.with(|l| l.set(Some(Instant::now())));
}

pub(crate) fn emit(op: &str, inputs: Vec<Vec<usize>>, output: &[usize]) {
    let now = Instant::now();
    let elapsed = LAST
        .with(|l| l.replace(Some(now)))
        .map_or(Duration::ZERO, |t| now - t);
    SINK.with(|s| {
        if let Some(sink) = s.borrow().as_ref() {
            sink(&TraceEvent {
                op,
                inputs,
                output,
                elapsed,
            });
        }
    });
}
