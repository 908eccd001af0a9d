//! Builds one simulated module: the shim header, the module's CUDA C source and one exported
//! entry point per declared kernel, compiled by the system C++ compiler into a shared library
//! in the kernel cache (keyed by all of the source, the flags and the compiler's version), so
//! the compiler runs once per module and machine.

use super::super::cache;
use super::super::launch::ModuleSource;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;

/// The shim every simulated module starts with.
pub const SHIM: &str = include_str!("shim.h");

/// A C++ compiler able to build the simulator.
#[derive(Clone, Debug)]
pub struct Compiler {
    pub program: String,
    pub version: String,
}

impl Compiler {
    /// `EMBER_SIM_CXX`, else `CXX`, else the first of `c++`, `g++`, `clang++` that runs.
    pub fn find() -> Result<Compiler> {
        let mut candidates: Vec<String> = Vec::new();
        for var in ["EMBER_SIM_CXX", "CXX"] {
            if let Ok(v) = std::env::var(var)
                && !v.trim().is_empty()
            {
                candidates.push(v);
            }
        }
        candidates.extend(["c++", "g++", "clang++"].map(String::from));
        for program in &candidates {
            if let Ok(out) = Command::new(program).arg("--version").output()
                && out.status.success()
            {
                let version = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                return Ok(Compiler {
                    program: program.clone(),
                    version,
                });
            }
        }
        bail!(
            "cuda-sim needs a C++20 compiler to build its kernels and found none (tried {}); \
             install g++ or set EMBER_SIM_CXX",
            candidates.join(", ")
        )
    }
}

/// Extra flags for a sanitizer run (`EMBER_SIM_SANITIZE=thread|address`), or none.
pub fn sanitizer_flags() -> Result<Vec<&'static str>> {
    match std::env::var("EMBER_SIM_SANITIZE").as_deref() {
        Err(_) | Ok("") => Ok(vec![]),
        Ok("thread") => Ok(vec!["-fsanitize=thread", "-g", "-O1"]),
        Ok("address") => Ok(vec![
            "-fsanitize=address",
            "-fno-omit-frame-pointer",
            "-g",
            "-O1",
        ]),
        Ok(other) => bail!("EMBER_SIM_SANITIZE={other:?}: expected thread or address"),
    }
}

/// The C++ translation unit of a module.
pub fn translation_unit(src: &ModuleSource) -> String {
    let mut tu = String::with_capacity(SHIM.len() + src.text.len() + 4096);
    tu += SHIM;
    tu += &format!("\n#line 1 \"{}.cu\"\n", src.name);
    tu += &src.text;
    tu += "\n// Entry points, one per kernel declared in src/backend/cuda/kernels/mod.rs.\n";
    for k in &src.kernels {
        tu += &format!("EMBER_SIM_ENTRY({k})\n");
    }
    tu
}

/// The shared library of a module, built unless the cache has it.
pub fn library(src: &ModuleSource, cxx: &Compiler) -> Result<PathBuf> {
    let tu = translation_unit(src);
    let mut flags = vec![
        "-std=c++20",
        "-O2",
        "-fPIC",
        "-shared",
        "-pthread",
        "-fvisibility=hidden",
    ];
    flags.extend(sanitizer_flags()?);
    let key = cache::key(&[
        tu.as_bytes(),
        flags.join(" ").as_bytes(),
        cxx.version.as_bytes(),
    ]);
    let name = format!("sim-{}-{key}.so", src.name);
    let dest = cache::path(&name)?;
    if dest.exists() {
        return Ok(dest);
    }
    let dir = cache::dir()?;
    let stem = format!("sim-{}-{key}-{}", src.name, std::process::id());
    let cpp = dir.join(format!("{stem}.cpp"));
    let tmp = dir.join(format!("{stem}.so.tmp"));
    std::fs::write(&cpp, &tu).with_context(|| format!("cannot write {}", cpp.display()))?;
    let out = Command::new(&cxx.program)
        .args(&flags)
        .arg(&cpp)
        .arg("-o")
        .arg(&tmp)
        .output()
        .with_context(|| format!("cannot run {}", cxx.program))?;
    let _ = std::fs::remove_file(&cpp);
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        let log = String::from_utf8_lossy(&out.stderr);
        let log: String = log.lines().take(60).collect::<Vec<_>>().join("\n");
        bail!(
            "{} failed to build cuda-sim module {}:\n{log}",
            cxx.program,
            src.name
        );
    }
    std::fs::rename(&tmp, &dest)
        .with_context(|| format!("cannot move the built module to {}", dest.display()))?;
    Ok(dest)
}
