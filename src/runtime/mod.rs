//! The embedding API: a [`Runtime`] holds a Rhai engine with the tensor surface registered, a
//! persistent scope (variables survive between `eval` calls) and the functions defined so far.

mod error;
mod guard;
mod limits;
mod modules;

pub use error::ScriptError;
pub use guard::{EngineMut, MAX_RETURN_DEPTH, quiet_panics};
pub use limits::{Limits, parse_bytes};
pub use modules::STDLIB;

use crate::backend::interrupt;
use crate::files::FsPolicy;
use crate::script::{self, Docs};
use crate::tensor::{Device, Tensor, random};
use guard::ProgressHook;
use rhai::{AST, Dynamic, Engine, Scope};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Configures a [`Runtime`]. An embedded runtime may touch no file and read no environment
/// variable until the host grants it ([`RuntimeBuilder::allow_read`], [`allow_write`],
/// [`allow_env`]); its other limits default to [`Limits::default`].
///
/// [`allow_write`]: RuntimeBuilder::allow_write
/// [`allow_env`]: RuntimeBuilder::allow_env
#[derive(Clone, Debug, Default)]
pub struct RuntimeBuilder {
    seed: Option<u64>,
    device: Option<Device>,
    args: Vec<String>,
    limits: Limits,
    fs: FsPolicy,
    env: bool,
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

    /// All limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The largest total of live tensor bytes (and so of any one tensor).
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.limits.max_memory = bytes;
        self
    }

    /// The largest single tensor, in bytes.
    pub fn max_tensor_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_tensor_bytes = bytes;
        self
    }

    /// Script operations per evaluation (0: no limit).
    pub fn max_operations(mut self, n: u64) -> Self {
        self.limits.max_operations = n;
        self
    }

    /// Wall time per evaluation.
    pub fn max_time(mut self, t: Duration) -> Self {
        self.limits.max_time = Some(t);
        self
    }

    /// Depth of script function calls.
    pub fn max_call_depth(mut self, n: usize) -> Self {
        self.limits.max_call_depth = n;
        self
    }

    /// Heap bytes script values (strings, arrays, maps) may hold (see
    /// [`Limits::max_script_memory`]).
    pub fn max_script_memory(mut self, bytes: usize) -> Self {
        self.limits.max_script_memory = bytes;
        self
    }

    /// Bytes in one string (Rhai's limit; see [`Limits::max_string_size`] for its cost).
    pub fn max_string_size(mut self, n: usize) -> Self {
        self.limits.max_string_size = n;
        self
    }

    /// Elements in one array (nested arrays' elements count too).
    pub fn max_array_size(mut self, n: usize) -> Self {
        self.limits.max_array_size = n;
        self
    }

    /// Entries in one map (nested maps' entries count too).
    pub fn max_map_size(mut self, n: usize) -> Self {
        self.limits.max_map_size = n;
        self
    }

    /// The whole file-system policy (replacing any folders granted so far).
    pub fn fs_policy(mut self, policy: FsPolicy) -> Self {
        self.fs = policy;
        self
    }

    /// Lets scripts read files under `root` (datasets, `load`, `import`, ...).
    pub fn allow_read(mut self, root: impl AsRef<Path>) -> Self {
        self.fs = self.fs.allow_read(root);
        self
    }

    /// Lets scripts read and write files under `root` (`save`, plots, ...).
    pub fn allow_write(mut self, root: impl AsRef<Path>) -> Self {
        self.fs = self.fs.allow_write(root);
        self
    }

    /// Lets scripts read environment variables with `env(name)`.
    pub fn allow_env(mut self, allow: bool) -> Self {
        self.env = allow;
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
        self.limits.apply(&mut engine);
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
        let hook: ProgressHook = Rc::new(RefCell::new(None));
        guard::install_progress(&mut engine, hook.clone());
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
            hook,
            limits: self.limits,
            fs: Rc::new(self.fs),
            env: self.env,
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
    hook: ProgressHook,
    limits: Limits,
    fs: Rc<FsPolicy>,
    env: bool,
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
    ///
    /// The evaluation runs under this runtime's limits and file-system policy, on a stack of
    /// its own (deeply nested values are recursed over), and a panic inside it — a bug in
    /// ember — comes back as an internal-error [`ScriptError`] instead of unwinding into the
    /// host.
    pub fn eval_named(&mut self, code: &str, name: &str) -> Result<Dynamic, ScriptError> {
        self.interrupt.store(false, Ordering::Relaxed);
        let token = Arc::new(interrupt::Token::new(
            self.interrupt.clone(),
            self.limits.max_time,
        ));
        let _session = guard::Session::enter(&self.limits, &self.fs, self.env, token);
        guard::catching_panics(name, || {
            guard::on_big_stack(|| {
                let mut ast = self
                    .engine
                    .compile_with_scope(&self.scope, code)
                    .map_err(|e| ScriptError::from_parse(&e, name, code))?;
                ast.set_source(name);
                self.functions.combine(ast.clone_functions_only());
                let full = self.functions.merge(&ast);
                let value = self
                    .engine
                    .eval_ast_with_scope::<Dynamic>(&mut self.scope, &full)
                    .map_err(|e| {
                        let mut err = ScriptError::from_eval(&e, name, code);
                        if let Some(m) = guard::limit_message(&e, &self.limits) {
                            err.message = m;
                        }
                        err
                    })?;
                guard::for_host(value).ok_or_else(|| ScriptError {
                    message: format!(
                        "the result nests arrays or maps more than {} deep, too deep to hand \
                         over (it stays usable inside the session)",
                        guard::MAX_RETURN_DEPTH
                    ),
                    source_name: name.to_string(),
                    line: None,
                    column: None,
                    source_line: None,
                    call_stack: Vec::new(),
                })
            })
        })
    }

    /// Runs a script file in the session (imports resolve beside it, then in the stdlib).
    pub fn run_file(&mut self, path: impl AsRef<Path>) -> Result<Dynamic, ScriptError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let code = {
            let _fs = crate::files::policy::scoped(self.fs.clone());
            crate::files::read_to_string("run", path)
        }
        .map_err(|e| ScriptError {
            message: format!("cannot read script {name}: {e:#}"),
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

    /// The engine, to register host functions (`rt.engine_mut().register_fn(..)`). Its
    /// `on_progress` is this runtime's: a host's hook runs after the runtime's own checks
    /// (interrupt flag, time limit), which it cannot switch off.
    pub fn engine_mut(&mut self) -> EngineMut<'_> {
        EngineMut::new(&mut self.engine, &self.hook)
    }

    /// Installs a progress hook (called with the operation count; returning a value stops the
    /// script with it), after the runtime's own interrupt and time checks.
    pub fn on_progress(&mut self, f: impl Fn(u64) -> Option<Dynamic> + 'static) {
        *self.hook.borrow_mut() = Some(Box::new(f));
    }

    /// The limits this runtime enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The folders this runtime's scripts may read and write.
    pub fn fs_policy(&self) -> &FsPolicy {
        &self.fs
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

    /// Reads any variable from the session (a copy); `None` when it is not defined, or when
    /// it nests arrays or maps more than [`MAX_RETURN_DEPTH`] deep.
    pub fn get_value(&self, name: &str) -> Option<Dynamic> {
        guard::on_big_stack(|| self.scope.get_value::<Dynamic>(name)).and_then(guard::for_host)
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

    /// A flag that, when set from another thread (a Ctrl-C handler), stops the running script
    /// at its next operation, and a long tensor op between blocks of its work.
    pub fn interrupt_handle(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }
}

impl Drop for Runtime {
    /// Drops the session's variables on a stack of their own (deeply nested values are
    /// dropped recursively).
    fn drop(&mut self) {
        let scope = std::mem::take(&mut self.scope);
        guard::on_big_stack(move || drop(scope));
    }
}
