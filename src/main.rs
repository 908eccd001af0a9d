//! The `ember` command: run lesson scripts, evaluate snippets.

use clap::{Parser, Subcommand};
use ember::{Device, Runtime};
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
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Download datasets from their canonical URLs into EMBER_DATA (or ~/.cache/ember),
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
                println!("{} — {}", d.name, d.about);
                for (file, found) in fetch::status(d) {
                    match found {
                        Some(p) => println!("    {file}: {}", p.display()),
                        None => println!("    {file}: missing (ember data fetch {})", d.name),
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
                    println!(
                        "{}: already present and verified in {}",
                        d.name,
                        dir.display()
                    );
                } else {
                    for w in written {
                        println!("{}: wrote {} (SHA-256 verified)", d.name, w.display());
                    }
                }
            }
            Ok(())
        }
    }
}

fn runtime(cli: &Cli, args: Vec<String>) -> anyhow::Result<Runtime> {
    let mut b = Runtime::builder().args(args);
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
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Run { file, args }) => {
            runtime(&cli, args.clone()).map(|mut rt| rt.run_file(file).map(|_| ()))
        }
        Some(Command::Eval { code }) => runtime(&cli, vec![]).map(|mut rt| {
            rt.eval(code).map(|v| {
                if !v.is_unit() {
                    println!("{}", ember::script::format_value(&v));
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
            return match runtime(&cli, vec![]) {
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

/// mimalloc keeps freed tensor buffers for reuse, sparing the page faults of fresh allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
