//! The embedding API: a [`Runtime`] holds a Rhai engine with the tensor surface registered, a
//! persistent scope (variables survive between `eval` calls) and the functions defined so far.

mod error;
mod modules;

pub use error::ScriptError;
pub use modules::STDLIB;

use crate::script::{self, Docs};
use crate::tensor::{Device, Tensor, random};
use rhai::{AST, Dynamic, Engine, Scope};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Configures a [`Runtime`].
#[derive(Default, Clone, Debug)]
pub struct RuntimeBuilder {
    seed: Option<u64>,
    device: Option<Device>,
    args: Vec<String>,
}

impl RuntimeBuilder {
    /// Seeds the random generator (as `manual_seed` does).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The device scripts create tensors on (default: CUDA when available, else CPU).
    pub fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// Arguments visible to scripts as the `ARGS` array.
    pub fn args(mut self, args: Vec<String>) -> Self {
        self.args = args;
        self
    }

    pub fn build(self) -> anyhow::Result<Runtime> {
        let device = self.device.unwrap_or_else(Device::default_device);
        if device != Device::Cpu {
            // Opens the device (or builds nothing yet, for the simulator: it only needs a C++
            // compiler), so an unusable one is refused here with the reason.
            if let Err(e) = crate::backend::cuda::device_name(device) {
                let why = match device {
                    Device::Cuda(_) if !crate::backend::cuda_available().0 => {
                        crate::backend::cuda_available().1
                    }
                    _ => format!("{e:#}"),
                };
                anyhow::bail!("device {device} is not available: {why}");
            }
        }
        script::set_default_device(device);
        if let Some(s) = self.seed {
            random::manual_seed(s);
        }
        let mut engine = Engine::new();
        engine.set_max_expr_depths(256, 256);
        engine.set_module_resolver(modules::EmberResolver::new());
        // Printing never panics, even into a closed pipe (`ember run x | head`).
        engine.on_print(|s| {
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{s}");
        });
        engine.on_debug(|s, src, pos| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "[{}:{pos}] {s}", src.unwrap_or("script"));
        });
        let interrupt = Arc::new(AtomicBool::new(false));
        let flag = interrupt.clone();
        engine.on_progress(move |_| {
            flag.swap(false, Ordering::Relaxed)
                .then(|| Dynamic::from("interrupted"))
        });
        let docs = script::register_all(&mut engine);
        let mut scope = Scope::new();
        let args: rhai::Array = self.args.into_iter().map(Dynamic::from).collect();
        scope.push_constant("ARGS", args);
        Ok(Runtime {
            engine,
            scope,
            functions: AST::empty(),
            docs,
            interrupt,
        })
    }
}

/// An ember session: evaluate code, run files, exchange tensors with the host program.
pub struct Runtime {
    engine: Engine,
    scope: Scope<'static>,
    functions: AST,
    docs: Docs,
    interrupt: Arc<AtomicBool>,
}

impl Runtime {
    /// A builder for a configured runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A runtime on the default device with a time-based seed.
    pub fn new() -> anyhow::Result<Runtime> {
        Runtime::builder().build()
    }

    /// Evaluates `code` in the session; variables and functions it defines persist.
    /// Returns the value of the last expression.
    pub fn eval(&mut self, code: &str) -> Result<Dynamic, ScriptError> {
        self.eval_named(code, "<eval>")
    }

    /// Like [`Runtime::eval`], naming the source in errors (a file path or `<repl>`).
    pub fn eval_named(&mut self, code: &str, name: &str) -> Result<Dynamic, ScriptError> {
        self.interrupt.store(false, Ordering::Relaxed);
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, code)
            .map_err(|e| ScriptError::from_parse(&e, name, code))?;
        ast.set_source(name);
        self.functions.combine(ast.clone_functions_only());
        let full = self.functions.merge(&ast);
        self.engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &full)
            .map_err(|e| ScriptError::from_eval(&e, name, code))
    }

    /// Runs a script file in the session (imports resolve beside it, then in the stdlib).
    pub fn run_file(&mut self, path: impl AsRef<Path>) -> Result<Dynamic, ScriptError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let code = std::fs::read_to_string(path).map_err(|e| ScriptError {
            message: format!("cannot read script {name}: {e}"),
            source_name: name.clone(),
            line: None,
            column: None,
            source_line: None,
            call_stack: Vec::new(),
        })?;
        let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut resolver = modules::EmberResolver::new();
        resolver.set_base_path(if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        });
        self.engine.set_module_resolver(resolver);
        let result = self.eval_named(&code, &name);
        self.engine
            .set_module_resolver(modules::EmberResolver::new());
        result
    }

    /// Makes a host function callable from scripts.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The engine, to inspect what is registered.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Puts a tensor into the session under `name`.
    pub fn set_tensor(&mut self, name: &str, t: Tensor) {
        self.scope.set_value(name.to_string(), t);
    }

    /// Reads a tensor variable from the session.
    pub fn get_tensor(&self, name: &str) -> Option<Tensor> {
        self.scope.get_value::<Tensor>(name)
    }

    /// Reads any variable from the session.
    pub fn get_value(&self, name: &str) -> Option<Dynamic> {
        self.scope.get_value::<Dynamic>(name)
    }

    /// The session's variables.
    pub fn scope(&self) -> &Scope<'static> {
        &self.scope
    }

    /// Names of the script functions defined so far in this session.
    pub fn function_names(&self) -> Vec<String> {
        self.functions
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect()
    }

    /// Docs of every script-callable function.
    pub fn docs(&self) -> &Docs {
        &self.docs
    }

    /// A flag that, when set from another thread (a Ctrl-C handler), stops the running script.
    pub fn interrupt_handle(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }
}
