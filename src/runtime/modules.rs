//! `import "name"` resolution: a file beside the importing script (or the working directory),
//! then the `stdlib/` modules embedded in the binary.

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::cell::RefCell;
use std::collections::HashMap;

/// The Rhai helpers under `stdlib/`, compiled into the binary so an installed `ember` finds them.
pub const STDLIB: &[(&str, &str)] = &[
    ("cluster", include_str!("../../stdlib/cluster.rhai")),
    ("train", include_str!("../../stdlib/train.rhai")),
];

/// Resolves files first, then the embedded standard library.
pub struct EmberResolver {
    files: FileModuleResolver,
    cache: RefCell<HashMap<String, Shared<Module>>>,
}

impl EmberResolver {
    pub fn new() -> EmberResolver {
        EmberResolver {
            files: FileModuleResolver::new(),
            cache: RefCell::new(HashMap::new()),
        }
    }
}

impl EmberResolver {
    /// Resolves relative imports against `dir` (the running script's folder).
    pub fn set_base_path(&mut self, dir: std::path::PathBuf) {
        self.files.set_base_path(dir);
    }
}

impl Default for EmberResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl ModuleResolver for EmberResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        // a file beside the script is read only where the session's policy allows it
        let file = self
            .files
            .get_file_path(path, source.and_then(|s| std::path::Path::new(s).parent()));
        if std::fs::symlink_metadata(&file).is_ok()
            && let Err(e) = crate::files::policy::check("import", &file, crate::files::Access::Read)
        {
            return Err(EvalAltResult::ErrorRuntime(format!("{e:#}").into(), pos).into());
        }
        match self.files.resolve(engine, source, path, pos) {
            Err(e) if matches!(*e, EvalAltResult::ErrorModuleNotFound(..)) => {}
            other => return other,
        }
        let name = path.trim_end_matches(".rhai");
        let name = name.strip_prefix("stdlib/").unwrap_or(name);
        if let Some(m) = self.cache.borrow().get(name) {
            return Ok(m.clone());
        }
        let Some((_, code)) = STDLIB.iter().find(|(n, _)| *n == name) else {
            return Err(EvalAltResult::ErrorModuleNotFound(
                format!(
                    "{path} (looked beside the script and in the standard library: {})",
                    STDLIB
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                pos,
            )
            .into());
        };
        let mut ast = engine.compile(*code).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                name.into(),
                Box::new(e.into()),
                pos,
            ))
        })?;
        ast.set_source(format!("stdlib/{name}.rhai"));
        let module: Shared<Module> = Module::eval_ast_as_new(Scope::new(), &ast, engine)?.into();
        self.cache
            .borrow_mut()
            .insert(name.to_string(), module.clone());
        Ok(module)
    }
}
