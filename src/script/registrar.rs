//! Registration with documentation: every function a script can call is registered through
//! [`Api::func`], which records its doc text for `:help` and the docs test.

use rhai::Engine;
use std::collections::{BTreeMap, BTreeSet};

/// Doc text of every script-callable name (all overloads of a name share one entry).
#[derive(Default, Clone, Debug)]
pub struct Docs {
    entries: BTreeMap<String, String>,
    /// Names that are plain functions, not methods of a tensor (creation, joins, utilities).
    globals: BTreeSet<String>,
}

impl Docs {
    /// The doc of `name`, if it is a documented script function.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(String::as_str)
    }

    /// All documented names with their docs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether `x.name(...)` makes sense for a tensor `x` (else it is a plain function).
    pub fn is_method(&self, name: &str) -> bool {
        self.entries.contains_key(name) && !self.globals.contains(name)
    }

    /// All documented names.
    pub fn names(&self) -> BTreeSet<String> {
        self.entries.keys().cloned().collect()
    }

    /// Marks names as plain functions.
    pub(crate) fn mark_global<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        self.globals
            .extend(names.into_iter().map(|n| n.as_ref().to_string()));
    }

    pub(crate) fn add(&mut self, name: &str, doc: &str) {
        if !doc.is_empty() {
            let e = self.entries.entry(name.to_string()).or_default();
            if !e.is_empty() {
                e.push('\n');
            }
            e.push_str(doc);
        } else {
            self.entries.entry(name.to_string()).or_default();
        }
    }
}

/// The engine being populated plus the docs being collected.
pub struct Api<'a> {
    pub engine: &'a mut Engine,
    pub docs: &'a mut Docs,
}

/// Registers one overload of a script function with its doc (`"usage — what it does"`;
/// overloads after the first may pass `""` to share the first one's text).
macro_rules! reg {
    ($api:expr, $name:expr, $doc:expr, $f:expr $(,)?) => {{
        $api.docs.add($name, $doc);
        $api.engine.register_fn($name, $f);
    }};
}

/// Registers a documented property getter `x.name`.
macro_rules! get {
    ($api:expr, $name:expr, $doc:expr, $f:expr $(,)?) => {{
        $api.docs.add($name, $doc);
        $api.engine.register_get($name, $f);
    }};
}
