//! Progress reporting for long work: a live bar (rate, ETA, a message such as the running
//! loss) when stderr is a terminal, one plain line per 10% otherwise so logs stay readable.

mod bar;

pub use bar::{Bar, Units};

use std::io::IsTerminal;

/// Whether live output is wanted: stderr is a terminal and `EMBER_PROGRESS` is not `plain`
/// (`EMBER_PROGRESS=live` forces it on, for tests driving a pty).
pub fn live() -> bool {
    match std::env::var("EMBER_PROGRESS").as_deref() {
        Ok("plain") => false,
        Ok("live") => true,
        _ => std::io::stderr().is_terminal(),
    }
}
