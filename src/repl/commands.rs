//! The REPL's `:` commands.

use super::{Session, style};
use crate::script;
use crate::tensor::{Device, Tensor, random, trace};
use std::time::Instant;

/// What the loop does after a command.
pub enum Flow {
    Continue,
    Quit,
}

const COMMANDS: &[(&str, &str)] = &[
    (":help [name]", "the doc of a function, or this overview"),
    (
        ":vars",
        "variables with type, shape, dtype, device and size",
    ),
    (":time CODE", "runs CODE and prints its wall time"),
    (":load FILE", "runs a script file into this session"),
    (
        ":device [cpu|cuda]",
        "shows or sets the device for new tensors",
    ),
    (":seed N", "seeds the random generator"),
    (
        ":trace on|off",
        "prints every tensor op with its shapes and time",
    ),
    (":history", "the inputs of this session"),
    (":clear", "clears the screen"),
    (":quit", "leaves (Ctrl-D does too)"),
];

impl Session {
    pub(super) fn command(&mut self, line: &str) -> Flow {
        let line = line.trim();
        let (cmd, arg) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(c, a)| (c, a.trim()));
        match cmd {
            ":help" | ":h" => self.help(arg),
            ":vars" => self.vars(),
            ":time" => {
                let t = Instant::now();
                self.eval_and_print(arg);
                println!(
                    "{}",
                    style::note(&format!(
                        "time: {}",
                        human_duration(t.elapsed().as_secs_f64())
                    ))
                );
            }
            ":load" => {
                let path = arg.trim_matches('"');
                match self.rt.run_file(path) {
                    Ok(_) => println!("{}", style::note(&format!("loaded {path}"))),
                    Err(e) => self.report(&e.to_string()),
                }
                self.refresh_names();
            }
            ":device" => self.device(arg),
            ":seed" => match arg.parse::<u64>() {
                Ok(n) => random::manual_seed(n),
                Err(_) => self.report(&format!(":seed needs a whole number, got {arg:?}")),
            },
            ":trace" => match arg {
                "on" => trace::set_sink(Some(Box::new(|e: &trace::TraceEvent| {
                    let inputs: Vec<String> = e.inputs.iter().map(|s| format!("{s:?}")).collect();
                    eprintln!(
                        "{}",
                        style::note(&format!(
                            "  {:<14} {} -> {:?}  {}",
                            e.op,
                            inputs.join(" x "),
                            e.output,
                            human_duration(e.elapsed.as_secs_f64())
                        ))
                    );
                }))),
                "off" => trace::set_sink(None),
                _ => self.report(":trace takes on or off"),
            },
            ":history" => {
                for (i, h) in self.history.iter().enumerate() {
                    println!("{:>4}  {h}", i + 1);
                }
            }
            ":clear" => print!("\x1b[2J\x1b[H"),
            ":quit" | ":q" | ":exit" => return Flow::Quit,
            other => self.report(&format!(
                "unknown command {other}; :help lists the commands"
            )),
        }
        Flow::Continue
    }

    fn help(&mut self, name: &str) {
        if name.is_empty() {
            println!(
                "{}",
                style::heading("ember — an eager tensor session in Rhai")
            );
            println!(
                "Type expressions (`randn([2, 3]) @ randn([3, 4])`); the last value is printed."
            );
            println!(
                "Incomplete input (open brackets, a trailing operator) continues on the next line.\n"
            );
            println!("{}", style::heading("commands"));
            for (c, d) in COMMANDS {
                println!("  {c:<20} {d}");
            }
            println!("\n{}", style::heading("functions (:help NAME for one)"));
            let names: Vec<&str> = self
                .docs
                .iter()
                .map(|(n, _)| n)
                .filter(|n| n.chars().next().is_some_and(char::is_alphabetic))
                .collect();
            for row in names.chunks(6) {
                println!(
                    "  {}",
                    row.iter()
                        .map(|n| format!("{n:<18}"))
                        .collect::<String>()
                        .trim_end()
                );
            }
            return;
        }
        match self.docs.get(name) {
            Some(doc) => {
                for line in doc.lines() {
                    match line.split_once(" — ") {
                        Some((sig, what)) => println!("{}\n    {what}", style::heading(sig)),
                        None => println!("{line}"),
                    }
                }
            }
            None if self.names.borrow().functions.iter().any(|f| f == name) => {
                println!("{name}: a function defined in this session")
            }
            None => self.report(&format!("no function named {name:?}; :help lists them")),
        }
    }

    fn vars(&self) {
        println!(
            "{}",
            style::heading(&format!(
                "{:<16} {:<10} {:<16} {:<6} {:<8} {:>10}",
                "name", "type", "shape", "dtype", "device", "bytes"
            ))
        );
        for (name, _, value) in self.rt.scope().iter() {
            if name == "ARGS" {
                continue;
            }
            match value.clone().try_cast::<Tensor>() {
                Some(t) => println!(
                    "{:<16} {:<10} {:<16} {:<6} {:<8} {:>10}",
                    name,
                    "Tensor",
                    format!("{:?}", t.shape()),
                    t.dtype().to_string(),
                    t.device().to_string(),
                    t.numel() * t.dtype().size_of()
                ),
                None => println!(
                    "{:<16} {:<10} {:<16} {:<6} {:<8} {:>10}",
                    name,
                    value.type_name(),
                    "-",
                    "-",
                    "-",
                    "-"
                ),
            }
        }
    }

    fn device(&mut self, arg: &str) {
        if arg.is_empty() {
            println!("{}", script::default_device());
            return;
        }
        match Device::parse(arg) {
            Ok(Device::Cuda(i)) => {
                let (ok, why) = crate::backend::cuda_available();
                if ok {
                    script::set_default_device(Device::Cuda(i));
                } else {
                    self.report(&format!("cuda:{i} is not available: {why}"));
                }
            }
            Ok(d) => script::set_default_device(d),
            Err(e) => self.report(&format!("{e:#}")),
        }
    }
}

/// Seconds in the most readable unit.
pub fn human_duration(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}
