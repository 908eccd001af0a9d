//! Standard output for the `ember` command and the REPL: a line that cannot be written
//! because stdout is a closed pipe (`ember eval '...' | head -1`) ends the process at once and
//! without a message, as Unix tools do, instead of a panic.

use std::fmt;
use std::io::Write;

/// The exit status after stdout closed: 128 + SIGPIPE, what a shell reports for a tool
/// stopped by a closed pipe.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Writes one line to stdout (see the module doc).
pub fn line(args: fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{args}").and_then(|_| out.flush()).is_err() {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
}

/// Writes text without a newline to stdout (see the module doc).
pub fn text(args: fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if write!(out, "{args}").and_then(|_| out.flush()).is_err() {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
}

/// `println!` that ends the process quietly when stdout is a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::repl::output::line(format_args!("")) };
    ($($t:tt)*) => { $crate::repl::output::line(format_args!($($t)*)) };
}

/// `print!` that ends the process quietly when stdout is a closed pipe.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::repl::output::text(format_args!($($t)*)) };
}
