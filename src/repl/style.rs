//! Colour for REPL output (off for `NO_COLOR` and when output is not a terminal).

use colored::Colorize;

/// Decides once whether to colour, following `NO_COLOR` and whether stdout is a terminal.
pub fn init(stdout_is_terminal: bool) {
    let off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || !stdout_is_terminal;
    colored::control::set_override(!off);
}

/// A printed value: a tensor's shape/dtype/device suffix dimmed, its frame in cyan.
pub fn value(text: &str) -> String {
    match (text.strip_prefix("tensor("), text.rfind(", shape=")) {
        (Some(_), Some(i)) => {
            let (body, suffix) = text.split_at(i);
            format!(
                "{}{}{}",
                "tensor(".cyan(),
                &body["tensor(".len()..],
                suffix.dimmed()
            )
        }
        _ => text.to_string(),
    }
}

pub fn error(text: &str) -> String {
    text.red().to_string()
}

pub fn note(text: &str) -> String {
    text.dimmed().to_string()
}

pub fn heading(text: &str) -> String {
    text.bold().to_string()
}
