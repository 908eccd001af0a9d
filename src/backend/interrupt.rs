//! Stopping a running evaluation: the flag a host (or Ctrl-C in the REPL) sets, and the
//! evaluation's wall-time deadline. The script engine checks them between operations; every
//! tensor allocation checks them too ([`check`], called by `memory`), so tensor work stops
//! even when a host replaced the engine's progress hook; and long kernels check between blocks
//! ([`Token::stopped`] on a token carried into their worker threads).

use anyhow::{Result, bail};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One evaluation's stop conditions.
#[derive(Debug)]
pub struct Token {
    flag: Arc<AtomicBool>,
    deadline: Option<(Instant, Duration)>,
}

/// Why an evaluation was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The interrupt flag was set.
    Interrupted,
    /// The wall-time limit (given) passed.
    TimeLimit(Duration),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Interrupted => write!(f, "interrupted"),
            Stop::TimeLimit(d) => write!(
                f,
                "stopped: the evaluation passed its time limit of {:.3} s",
                d.as_secs_f64()
            ),
        }
    }
}

impl Token {
    /// A token watching `flag`, with an optional wall-time limit counted from now.
    pub fn new(flag: Arc<AtomicBool>, limit: Option<Duration>) -> Token {
        Token {
            flag,
            deadline: limit.map(|l| (Instant::now() + l, l)),
        }
    }

    /// Whether (and why) the evaluation should stop.
    pub fn stopped(&self) -> Option<Stop> {
        if self.flag.load(Ordering::Relaxed) {
            return Some(Stop::Interrupted);
        }
        match self.deadline {
            Some((at, limit)) if Instant::now() >= at => Some(Stop::TimeLimit(limit)),
            _ => None,
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Token>>> = const { RefCell::new(None) };
}

/// Installs `token` on this thread until the guard is dropped.
pub fn scoped(token: Arc<Token>) -> TokenGuard {
    let previous = CURRENT.with(|c| c.replace(Some(token)));
    TokenGuard { previous }
}

/// Restores the previous token when dropped (see [`scoped`]).
pub struct TokenGuard {
    previous: Option<Arc<Token>>,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = self.previous.take());
    }
}

/// The token in force on this thread, to carry into a kernel's worker threads.
pub fn current() -> Option<Arc<Token>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// An error naming `op` when the evaluation running on this thread should stop.
pub fn check(op: &str) -> Result<()> {
    let stop = CURRENT.with(|c| c.borrow().as_ref().and_then(|t| t.stopped()));
    match stop {
        Some(s) => bail!("{op}: {s}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_report_the_flag_and_the_deadline() {
        let flag = Arc::new(AtomicBool::new(false));
        let _g = scoped(Arc::new(Token::new(flag.clone(), None)));
        assert!(check("matmul").is_ok());
        flag.store(true, Ordering::Relaxed);
        assert_eq!(
            check("matmul").unwrap_err().to_string(),
            "matmul: interrupted"
        );
        let t = Token::new(Arc::new(AtomicBool::new(false)), Some(Duration::ZERO));
        assert_eq!(t.stopped(), Some(Stop::TimeLimit(Duration::ZERO)));
    }
}
