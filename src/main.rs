//! The `ember` command: run lesson scripts, evaluate snippets.

use clap::{Parser, Subcommand};
use ember::{Device, Runtime, outln};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ember",
    version,
    about = "An eager tensor runtime scripted in Rhai"
)]
struct Cli {
    /// Seed for the random generator (same seed, same numbers).
    #[arg(long, global = true)]
    seed: Option<u64>,
    /// Device for new tensors: cpu, cuda or auto (default: auto, or EMBER_DEVICE).
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Limits and file access for scripts (each limit an error when hit).
#[derive(clap::Args)]
struct LimitArgs {
    /// Tensor memory: the most bytes live tensors may hold, e.g. 4G or 512M
    /// (default: half the machine's memory).
    #[arg(long, global = true, value_name = "SIZE")]
    max_memory: Option<String>,
    /// Wall time per evaluation (a script, or one REPL input), in seconds (default: none).
    #[arg(long, global = true, value_name = "SECONDS")]
    max_time: Option<f64>,
    /// Script operations per evaluation (default: no limit).
    #[arg(long, global = true, value_name = "N")]
    max_operations: Option<u64>,
    /// Memory of script values — strings, arrays, maps: everything but tensors (default: a
    /// eighth of the machine's memory).
    #[arg(long, global = true, value_name = "SIZE")]
    max_script_memory: Option<String>,
    /// Bytes in one script string (default: no limit; each such limit makes every operation
    /// measure the values it touches).
    #[arg(long, global = true, value_name = "SIZE")]
    max_string: Option<String>,
    /// Elements in one script array, nested ones included (default: no limit).
    #[arg(long, global = true, value_name = "N")]
    max_array: Option<usize>,
    /// Entries in one script map, nested ones included (default: no limit).
    #[arg(long, global = true, value_name = "N")]
    max_map: Option<usize>,
    /// Depth of script function calls (default 128).
    #[arg(long, global = true, value_name = "N")]
    max_call_depth: Option<usize>,
    /// Also let scripts read files under DIR (repeatable). Granted anyway: the working
    /// folder (read and write), the script's folder and the data folders (read).
    #[arg(long, global = true, value_name = "DIR")]
    allow_read: Vec<PathBuf>,
    /// Also let scripts read and write files under DIR (repeatable).
    #[arg(long, global = true, value_name = "DIR")]
    allow_write: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a script file; extra arguments are visible to it as ARGS.
    Run {
        file: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Evaluate one snippet and print the value of its last expression.
    /// (With no command, ember starts the interactive session.)
    Eval { code: String },
    /// Datasets: `ember data list`, `ember data fetch mnist cmudict nietzsche movielens`.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
}

#[derive(Subcommand)]
enum DataAction {
    /// Show the known datasets and where each file was found.
    List,
    /// Download datasets from their canonical URLs into EMBER_DATA (or ~/.local/share/ember),
    /// verifying SHA-256 and resuming partial downloads.
    Fetch {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

fn data_command(action: &DataAction) -> anyhow::Result<()> {
    use ember::data::fetch;
    match action {
        DataAction::List => {
            for d in fetch::DATASETS {
                outln!("{} — {}", d.name, d.about);
                for (file, found) in fetch::status(d) {
                    match found {
                        Some(p) => outln!("    {file}: {}", p.display()),
                        None => outln!("    {file}: missing (ember data fetch {})", d.name),
                    }
                }
            }
            Ok(())
        }
        DataAction::Fetch { names } => {
            for n in names {
                let d = fetch::find(n)?;
                let dir = fetch::fetch_dir(d.name)?;
                let mut bar =
                    ember::progress::Bar::stderr(d.name, None, ember::progress::Units::Bytes);
                let written = fetch::fetch(d, &dir, &mut bar)?;
                if written.is_empty() {
                    outln!(
                        "{}: already present and verified in {}",
                        d.name,
                        dir.display()
                    );
                } else {
                    for w in written {
                        outln!("{}: wrote {} (SHA-256 verified)", d.name, w.display());
                    }
                }
            }
            Ok(())
        }
    }
}

/// The command's runtime: the limits given on the command line, the environment, and file
/// access to the working folder (read and write), the plot folder (read and write), the
/// script's folder and the data folders (read).
fn runtime(cli: &Cli, args: Vec<String>, script: Option<&str>) -> anyhow::Result<Runtime> {
    let mut b = Runtime::builder().args(args).allow_env(true);
    let l = &cli.limits;
    if let Some(m) = &l.max_memory {
        let bytes =
            ember::runtime::parse_bytes(m).map_err(|e| anyhow::anyhow!("--max-memory: {e}"))?;
        b = b.max_memory(bytes).max_tensor_bytes(bytes);
    }
    if let Some(t) = l.max_time {
        if !(t.is_finite() && t > 0.0) {
            anyhow::bail!("--max-time: expected a positive number of seconds, got {t}");
        }
        b = b.max_time(std::time::Duration::from_secs_f64(t));
    }
    if let Some(n) = l.max_operations {
        b = b.max_operations(n);
    }
    if let Some(s) = &l.max_script_memory {
        b = b.max_script_memory(
            ember::runtime::parse_bytes(s)
                .map_err(|e| anyhow::anyhow!("--max-script-memory: {e}"))?,
        );
    }
    if let Some(s) = &l.max_string {
        b = b.max_string_size(
            ember::runtime::parse_bytes(s).map_err(|e| anyhow::anyhow!("--max-string: {e}"))?,
        );
    }
    if let Some(n) = l.max_array {
        b = b.max_array_size(n);
    }
    if let Some(n) = l.max_map {
        b = b.max_map_size(n);
    }
    if let Some(n) = l.max_call_depth {
        b = b.max_call_depth(n);
    }
    b = b.allow_write(".").allow_write(ember::plot::plots_dir());
    if let Some(d) = std::env::var_os("EMBER_DATA").filter(|d| !d.is_empty()) {
        b = b.allow_read(PathBuf::from(d));
    }
    if let Some(d) = ember::data::user_data_dir() {
        b = b.allow_read(d);
    }
    if let Some(dir) = script.and_then(|s| std::path::Path::new(s).parent()) {
        b = b.allow_read(if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        });
    }
    for d in &l.allow_read {
        b = b.allow_read(d);
    }
    for d in &l.allow_write {
        b = b.allow_write(d);
    }
    if let Some(s) = cli.seed {
        b = b.seed(s);
    }
    if let Some(d) = &cli.device {
        b = b.device(Device::parse(d)?);
    }
    let rt = b.build()?;
    announce_device(cli);
    Ok(rt)
}

/// Says once, on stderr, which device new tensors go to: a CUDA device by name, or the CPU
/// with the reason CUDA was not used when the choice was automatic (no `--device`, and
/// `EMBER_DEVICE` unset or `auto`).
fn announce_device(cli: &Cli) {
    let device = ember::script::default_device();
    let chosen = cli
        .device
        .clone()
        .or_else(|| std::env::var("EMBER_DEVICE").ok())
        .filter(|d| !d.trim().eq_ignore_ascii_case("auto"));
    match device {
        Device::Cpu if chosen.is_none() => {
            eprintln!(
                "ember: using the CPU ({})",
                ember::backend::cuda_available().1
            )
        }
        Device::Cpu => {}
        Device::CudaSim => eprintln!(
            "ember: using cuda-sim (the CUDA kernels simulated on the CPU: a testing aid, slow)"
        ),
        d => {
            let name = ember::backend::cuda::device_name(d).unwrap_or_default();
            eprintln!("ember: using {d} ({name})");
        }
    }
}

fn main() -> ExitCode {
    // A file-size limit (`ulimit -f`) makes a write fail with an error instead of a signal.
    // SAFETY: setting a signal's disposition to "ignore" before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    ember::runtime::quiet_panics();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Run { file, args }) => {
            runtime(&cli, args.clone(), Some(file)).map(|mut rt| rt.run_file(file).map(|_| ()))
        }
        Some(Command::Eval { code }) => runtime(&cli, vec![], None).map(|mut rt| {
            rt.eval(code).map(|v| {
                if !v.is_unit() {
                    outln!("{}", ember::script::format_value(&v));
                }
            })
        }),
        Some(Command::Data { action }) => {
            return match data_command(action) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ember: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {
            return match runtime(&cli, vec![], None) {
                Ok(rt) => ExitCode::from(ember::repl::run(rt) as u8),
                Err(e) => {
                    eprintln!("ember: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(script_err)) => {
            eprintln!("{script_err}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("ember: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// mimalloc keeps freed tensor buffers for reuse, sparing the page faults of fresh allocations;
/// counting its bytes lets a runtime stop a script whose values outgrow the machine.
#[global_allocator]
static GLOBAL: ember::alloc::Counting<mimalloc::MiMalloc> =
    ember::alloc::Counting::new(mimalloc::MiMalloc);
