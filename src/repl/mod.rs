//! The interactive session: `ember` with no arguments. With a terminal it uses rustyline
//! (history, completion, multi-line input, Ctrl-C); with piped stdin it reads and evaluates
//! the same way without the line editor.

mod commands;
mod helper;
mod input;
pub mod output;
mod style;

use crate::runtime::Runtime;
use crate::script::{self, Docs};
use commands::Flow;
use helper::{EmberHelper, SessionNames};
use rustyline::error::ReadlineError;
use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A REPL session around a runtime.
pub struct Session {
    rt: Runtime,
    docs: Rc<Docs>,
    names: Rc<RefCell<SessionNames>>,
    history: Vec<String>,
    had_error: bool,
}

/// Where the history lives: `EMBER_HISTORY`, else the user's state directory, else home.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EMBER_HISTORY") {
        return Some(PathBuf::from(p));
    }
    if let Some(state) = std::env::var_os("XDG_STATE_HOME") {
        return Some(PathBuf::from(state).join("ember").join("history"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/ember/history"))
}

/// Runs the REPL until `:quit`, Ctrl-D or the end of piped input. Returns the exit code:
/// 0, or 1 when piped input had an error.
pub fn run(rt: Runtime) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    style::init(std::io::stdout().is_terminal());
    let mut session = Session::new(rt);
    let evaluating = Arc::new(AtomicBool::new(false));
    let interrupt = session.rt.interrupt_handle();
    let busy = evaluating.clone();
    // Ctrl-C during an evaluation stops it; at a piped prompt it ends ember.
    let _ = ctrlc::set_handler(move || {
        if busy.load(Ordering::SeqCst) {
            interrupt.store(true, Ordering::SeqCst);
        } else if !interactive {
            std::process::exit(130);
        }
    });
    if interactive {
        session.interactive(&evaluating)
    } else {
        session.piped(&evaluating)
    }
}

impl Session {
    fn new(rt: Runtime) -> Session {
        let docs = Rc::new(rt.docs().clone());
        let mut s = Session {
            rt,
            docs,
            names: Rc::new(RefCell::new(SessionNames::default())),
            history: Vec::new(),
            had_error: false,
        };
        s.refresh_names();
        s
    }

    fn prompt(&self) -> String {
        format!("ember[{}]> ", script::default_device())
    }

    fn interactive(&mut self, evaluating: &Arc<AtomicBool>) -> i32 {
        let config = rustyline::Config::builder()
            .completion_type(rustyline::CompletionType::List)
            .auto_add_history(false)
            .history_ignore_dups(true)
            .map(|b| b.build());
        let editor = match config {
            Ok(cfg) => {
                rustyline::Editor::<EmberHelper, rustyline::history::DefaultHistory>::with_config(
                    cfg,
                )
            }
            Err(e) => Err(e),
        };
        let mut rl = match editor {
            Ok(rl) => rl,
            Err(e) => {
                eprintln!("ember: cannot start the line editor ({e}); reading plain input");
                return self.piped(evaluating);
            }
        };
        rl.set_helper(Some(EmberHelper::new(
            self.docs.clone(),
            self.names.clone(),
        )));
        let hist = history_path();
        if let Some(p) = &hist {
            let _ = rl.load_history(p);
        }
        println!(
            "ember {} — :help for help, Ctrl-D to quit",
            env!("CARGO_PKG_VERSION")
        );
        loop {
            match rl.readline(&self.prompt()) {
                Ok(line) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let _ = rl.add_history_entry(line.as_str());
                    if let Some(p) = &hist {
                        if let Some(dir) = p.parent() {
                            let _ = std::fs::create_dir_all(dir);
                        }
                        let _ = rl.save_history(p);
                    }
                    if let Flow::Quit = self.handle(&line, evaluating) {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => {
                    eprintln!("ember: {e}");
                    break;
                }
            }
        }
        0
    }

    fn piped(&mut self, evaluating: &Arc<AtomicBool>) -> i32 {
        let stdin = std::io::stdin();
        let mut pending = String::new();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if pending.is_empty() && line.trim().is_empty() {
                continue;
            }
            if !pending.is_empty() {
                pending.push('\n');
            }
            pending.push_str(&line);
            if !pending.trim_start().starts_with(':') && input::is_incomplete(&pending) {
                continue;
            }
            let code = std::mem::take(&mut pending);
            if let Flow::Quit = self.handle(&code, evaluating) {
                return self.had_error as i32;
            }
        }
        if !pending.trim().is_empty() {
            self.handle(&pending, evaluating);
        }
        self.had_error as i32
    }

    /// Evaluates one complete input (code or a command).
    fn handle(&mut self, code: &str, evaluating: &Arc<AtomicBool>) -> Flow {
        self.history.push(code.to_string());
        evaluating.store(true, Ordering::SeqCst);
        let flow = if code.trim_start().starts_with(':') {
            self.command(code)
        } else {
            self.eval_and_print(code);
            Flow::Continue
        };
        evaluating.store(false, Ordering::SeqCst);
        let _ = std::io::stdout().flush();
        flow
    }

    fn eval_and_print(&mut self, code: &str) {
        crate::tensor::trace::mark();
        match self.rt.eval_named(code, "<repl>") {
            Ok(v) if v.is_unit() => {}
            Ok(v) => crate::outln!("{}", style::value(&script::format_value(&v))),
            Err(e) if e.message == "interrupted" => {
                self.report("interrupted");
            }
            Err(e) => self.report(&e.to_string()),
        }
        self.refresh_names();
    }

    fn report(&mut self, text: &str) {
        self.had_error = true;
        eprintln!("{}", style::error(text));
    }

    /// Updates what completion knows: variables (with types), map keys, defined functions.
    fn refresh_names(&mut self) {
        let mut names = self.names.borrow_mut();
        names.vars = self
            .rt
            .scope()
            .iter()
            .map(|(n, _, v)| (n.to_string(), v.type_name().to_string()))
            .collect();
        names.map_keys = self
            .rt
            .scope()
            .iter()
            .filter_map(|(n, _, v)| {
                v.clone()
                    .try_cast::<rhai::Map>()
                    .map(|m| (n.to_string(), m.keys().map(|k| k.to_string()).collect()))
            })
            .collect();
        names.functions = self.rt.function_names();
    }
}
