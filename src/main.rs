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
}

fn runtime(cli: &Cli, args: Vec<String>) -> anyhow::Result<Runtime> {
    let mut b = Runtime::builder().args(args);
    if let Some(s) = cli.seed {
        b = b.seed(s);
    }
    if let Some(d) = &cli.device {
        b = b.device(Device::parse(d)?);
    }
    b.build()
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
