//! Script errors with their place: `file:line:col`, the source line and a caret.

use rhai::{EvalAltResult, ParseError, Position};
use std::fmt;

/// An error raised while compiling or running a script.
#[derive(Clone, Debug)]
pub struct ScriptError {
    /// What went wrong (for op errors: the op, the shapes involved).
    pub message: String,
    /// The script's name (a file path, or `<eval>`).
    pub source_name: String,
    /// 1-based line and column, when known.
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The text of that line.
    pub source_line: Option<String>,
    /// The script functions the error passed through, innermost first.
    pub call_stack: Vec<String>,
}

impl ScriptError {
    fn at(message: String, pos: Position, source_name: &str, source: &str) -> ScriptError {
        let line = pos.line();
        ScriptError {
            message,
            source_name: source_name.to_string(),
            line: line.map(|l| l as u32),
            column: pos.position().map(|c| c as u32),
            source_line: line
                .and_then(|l| source.lines().nth(l - 1))
                .map(str::to_string),
            call_stack: Vec::new(),
        }
    }

    /// Converts a parse error.
    pub fn from_parse(err: &ParseError, source_name: &str, source: &str) -> ScriptError {
        ScriptError::at(
            format!("syntax error: {}", err.err_type()),
            err.position(),
            source_name,
            source,
        )
    }

    /// Converts a runtime error, reporting the innermost position where it arose.
    pub fn from_eval(err: &EvalAltResult, source_name: &str, source: &str) -> ScriptError {
        let mut stack = Vec::new();
        let mut inner = err;
        let mut name = source_name.to_string();
        let mut text = source.to_string();
        loop {
            match inner {
                EvalAltResult::ErrorInFunctionCall(f, src, e, _) => {
                    if !src.is_empty() && src != &name {
                        name = src.clone();
                        text = std::fs::read_to_string(src).unwrap_or_default();
                    }
                    stack.push(f.clone());
                    inner = e;
                }
                EvalAltResult::ErrorInModule(m, e, _) => {
                    stack.push(format!("module {m}"));
                    inner = e;
                }
                _ => break,
            }
        }
        stack.reverse();
        let pos = inner.position();
        let message = match inner {
            EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
            other => {
                let s = other.to_string();
                // Rhai appends " (line L, position P)"; the caret display shows that instead.
                match s.rfind(" (line ") {
                    Some(i) if s.ends_with(')') => s[..i].to_string(),
                    _ => s,
                }
            }
        };
        let mut e = ScriptError::at(message, pos, &name, &text);
        e.call_stack = stack;
        e
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        match (self.line, self.column) {
            (Some(l), c) => {
                let c = c.unwrap_or(1) as usize;
                writeln!(f, "  --> {}:{l}:{c}", self.source_name)?;
                if let Some(src) = &self.source_line {
                    let gutter = l.to_string().len();
                    writeln!(f, "{:gutter$} |", "")?;
                    writeln!(f, "{l} | {src}")?;
                    write!(f, "{:gutter$} | {:>c$}", "", "^")?;
                }
            }
            (None, _) => write!(f, "  --> {}", self.source_name)?,
        }
        if !self.call_stack.is_empty() {
            write!(f, "\n  in function {}", self.call_stack.join(" <- "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ScriptError {}
