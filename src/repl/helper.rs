//! The rustyline helper: tab completion (functions, namespaces, variables, methods by the
//! variable's type, file paths in strings) and multi-line validation.

use super::input::is_incomplete;
use crate::script::Docs;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::cell::RefCell;
use std::rc::Rc;

/// What completion knows about the session, refreshed after every evaluation.
#[derive(Default)]
pub struct SessionNames {
    /// Variables with their Rhai type names.
    pub vars: Vec<(String, String)>,
    /// Script-defined functions.
    pub functions: Vec<String>,
    /// Keys of object-map variables, for `m.<TAB>`.
    pub map_keys: Vec<(String, Vec<String>)>,
}

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "break", "continue",
    "return", "throw", "try", "catch", "import", "export", "as", "true", "false", "switch",
    "print", "debug",
];

pub struct EmberHelper {
    pub docs: Rc<Docs>,
    pub names: Rc<RefCell<SessionNames>>,
    files: FilenameCompleter,
}

impl EmberHelper {
    pub fn new(docs: Rc<Docs>, names: Rc<RefCell<SessionNames>>) -> EmberHelper {
        EmberHelper {
            docs,
            names,
            files: FilenameCompleter::new(),
        }
    }

    fn is_ident(name: &str) -> bool {
        name.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
    }

    /// Candidates for the identifier-like word before the cursor.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        let names = self.names.borrow();
        let mut out: Vec<String> = Vec::new();
        // Methods and properties after `receiver.`
        if start > 0 && before[..start].ends_with('.') {
            let recv_end = start - 1;
            let recv_start = before[..recv_end]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let receiver = &before[recv_start..recv_end];
            let ty = names
                .vars
                .iter()
                .find(|(n, _)| n == receiver)
                .map(|(_, t)| t.as_str());
            match ty {
                Some("map") => {
                    if let Some((_, keys)) = names.map_keys.iter().find(|(n, _)| n == receiver) {
                        out.extend(keys.iter().filter(|k| k.starts_with(word)).cloned());
                    }
                }
                Some(_) | None => {
                    // Tensors (and unknown receivers, e.g. expressions) get tensor methods.
                    out.extend(
                        self.docs
                            .iter()
                            .map(|(n, _)| n)
                            .filter(|n| {
                                Self::is_ident(n) && self.docs.is_method(n) && n.starts_with(word)
                            })
                            .map(str::to_string),
                    );
                }
            }
            out.sort();
            out.dedup();
            return (start, out);
        }
        if let Some((ns, member)) = word.split_once("::") {
            out.extend(
                self.docs
                    .iter()
                    .filter_map(|(n, _)| n.strip_prefix(&format!("{ns}::")))
                    .filter(|m| m.starts_with(member))
                    .map(|m| format!("{ns}::{m}")),
            );
        } else {
            out.extend(
                self.docs
                    .iter()
                    .map(|(n, _)| n)
                    .filter(|n| Self::is_ident(n) && n.starts_with(word))
                    .map(|n| {
                        // Namespaced names complete to their namespace first.
                        match n.split_once("::") {
                            Some((ns, _)) => format!("{ns}::"),
                            None => n.to_string(),
                        }
                    }),
            );
            out.extend(
                names
                    .vars
                    .iter()
                    .map(|(n, _)| n)
                    .filter(|n| n.starts_with(word))
                    .cloned(),
            );
            out.extend(
                names
                    .functions
                    .iter()
                    .filter(|n| n.starts_with(word))
                    .cloned(),
            );
            out.extend(
                KEYWORDS
                    .iter()
                    .filter(|k| k.starts_with(word))
                    .map(|k| k.to_string()),
            );
        }
        out.sort();
        out.dedup();
        (start, out)
    }
}

/// Whether the cursor sits inside a string literal.
fn in_string(before: &str) -> bool {
    let mut quote = None;
    let mut chars = before.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '`') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_some()
}

impl Completer for EmberHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if in_string(&line[..pos]) {
            let start = line[..pos].rfind(['"', '`']).map_or(0, |i| i + 1);
            let (_, pairs) = self.files.complete_path(&line[start..pos], pos - start)?;
            return Ok((
                start + line[start..pos].rfind('/').map_or(0, |i| i + 1),
                pairs,
            ));
        }
        let (start, words) = self.candidates(line, pos);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Hinter for EmberHelper {
    type Hint = String;
}

impl Highlighter for EmberHelper {}

impl Validator for EmberHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with(':') || !is_incomplete(input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for EmberHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> EmberHelper {
        let mut engine = rhai::Engine::new();
        let docs = crate::script::register_all(&mut engine);
        let names = SessionNames {
            vars: vec![
                ("weights".into(), "Tensor".into()),
                ("cfg".into(), "map".into()),
            ],
            functions: vec!["train_step".into()],
            map_keys: vec![("cfg".into(), vec!["lr".into(), "epochs".into()])],
        };
        EmberHelper::new(Rc::new(docs), Rc::new(RefCell::new(names)))
    }

    #[test]
    fn completes_globals_variables_methods_and_keys() {
        let h = helper();
        let (s, c) = h.candidates("let y = ran", 11);
        assert_eq!(s, 8);
        assert!(
            c.contains(&"randn".to_string()) && c.contains(&"randperm".to_string()),
            "{c:?}"
        );
        assert!(h.candidates("wei", 3).1.contains(&"weights".to_string()));
        assert!(
            h.candidates("train", 5)
                .1
                .contains(&"train_step".to_string())
        );
        let (s, c) = h.candidates("weights.unsq", 12);
        assert_eq!((s, c), (8, vec!["unsqueeze".to_string()]));
        let c = h.candidates("weights.", 8).1;
        assert!(
            c.contains(&"sum".to_string()) && !c.contains(&"randn".to_string()),
            "creation functions are not methods"
        );
        assert_eq!(h.candidates("cfg.ep", 6).1, vec!["epochs".to_string()]);
        assert_eq!(
            h.candidates("let m = nn::li", 14).1,
            vec!["nn::linear".to_string()]
        );
        assert!(
            h.candidates("opt", 3).1.contains(&"optim::".to_string()),
            "namespaces complete to their prefix"
        );
        assert!(in_string("load(\"scr"));
        assert!(!in_string("load(\"x\") + "));
    }
}
