//! The CUDA kernels against NVRTC (run with the pinned `nvidia-cuda-nvrtc` wheel that
//! `.ci/run` installs; `LD_LIBRARY_PATH` must reach `libnvrtc.so`):
//!
//! - every module compiles to CUBIN for sm_80 and sm_90 with warnings treated as errors, and
//!   each kernel's registers and spills are printed;
//! - every kernel's PTX parameter list matches the arguments its Rust launcher pushes (the
//!   declarations in `src/backend/cuda/kernels/mod.rs`), kernel by kernel, in count, size,
//!   alignment and kind.
//!
//! - the simulator (`cuda-sim`) runs kernels through the same launchers, and its reference
//!   GEMM honours cuBLAS's arguments (the tensor-level comparison with the CPU is in the
//!   device-parameterised suite).
//!
//! A custom harness, so that a run without NVRTC (or without a C++ compiler, for the
//! simulator) reports these checks as *skipped* (with the reason) rather than passed: its
//! closing line is `N passed, N failed, N skipped`.

use ember::backend::cuda::kernels::{self, Bcast, KernelSig, ParamKind, Ptr};
use ember::backend::cuda::launch::Gemm;
use ember::backend::cuda::{CudaDevice, DeviceBuffer, DeviceKey, nvrtc};
use ember::backend::{BinaryOp, ReduceOp};
use std::collections::BTreeMap;
use std::sync::Arc;

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// ptxas statistics of one kernel: registers, spill stores, spill loads, stack frame bytes.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    registers: u32,
    spill_stores: u32,
    spill_loads: u32,
    stack: u32,
}

/// Reads `ptxas info : Function properties for K` / `... stack frame, N bytes spill stores,
/// M bytes spill loads` / `Used R registers` from NVRTC's log.
fn ptxas_stats(log: &str) -> BTreeMap<String, Stats> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    let num_before = |line: &str, word: &str| -> Option<u32> {
        let at = line.find(word)?;
        line[..at].split_whitespace().last()?.parse().ok()
    };
    for line in log.lines() {
        if let Some(at) = line.find("Function properties for ") {
            current = Some(
                line[at + "Function properties for ".len()..]
                    .trim()
                    .to_string(),
            );
            continue;
        }
        if let Some(at) = line.find("Compiling entry function '") {
            let rest = &line[at + "Compiling entry function '".len()..];
            current = rest.split('\'').next().map(str::to_string);
            continue;
        }
        let Some(k) = current.clone() else { continue };
        let s: &mut Stats = out.entry(k).or_default();
        if line.contains("bytes stack frame") {
            s.stack = num_before(line, "bytes stack frame").unwrap_or(0);
            s.spill_stores = num_before(line, "bytes spill stores").unwrap_or(0);
            s.spill_loads = num_before(line, "bytes spill loads").unwrap_or(0);
        }
        if line.contains("registers") {
            s.registers = num_before(line, "registers").unwrap_or(0);
        }
    }
    out
}

fn nvrtc_missing() -> Option<String> {
    nvrtc::version().err().map(|e| {
        format!(
            "{e} — install the wheel (`pip install nvidia-cuda-nvrtc==13.0.88`) and put its \
             nvidia/cu13/lib on LD_LIBRARY_PATH (.ci/run does both)"
        )
    })
}

fn compile_every_module() -> Outcome {
    if let Some(why) = nvrtc_missing() {
        return Outcome::Skipped(why);
    }
    let (major, minor) = nvrtc::version().unwrap_or((0, 0));
    println!("  NVRTC {major}.{minor}");
    let mut failures = Vec::new();
    let mut total = (0usize, 0u32, 0u32, 0u32);
    for &module in kernels::MODULES {
        let src = match kernels::module_source(module) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(format!("{module}: {e}")),
        };
        for arch in ["sm_80", "sm_90"] {
            let compiled = match nvrtc::compile(module, &src.text, arch, &["-Xptxas=-v"]) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!("{module} for {arch}: {e}"));
                    continue;
                }
            };
            let warnings: Vec<&str> = compiled
                .log
                .lines()
                .filter(|l| l.to_ascii_lowercase().contains("warning"))
                .collect();
            if !warnings.is_empty() {
                failures.push(format!(
                    "{module} for {arch} has warnings (treated as errors):\n{}",
                    compiled.log
                ));
            }
            let stats = ptxas_stats(&compiled.log);
            for k in &src.kernels {
                let s = stats.get(*k).copied().unwrap_or_default();
                println!(
                    "  {arch} {module:<12} {k:<26} {:>3} registers, {:>3} B spill stores, \
                     {:>3} B spill loads, {:>4} B stack",
                    s.registers, s.spill_stores, s.spill_loads, s.stack
                );
                if !stats.contains_key(*k) {
                    failures.push(format!("{module} for {arch}: no ptxas statistics for {k}"));
                }
                total.0 += 1;
                total.1 = total.1.max(s.registers);
                total.2 += s.spill_stores + s.spill_loads;
                total.3 = total.3.max(s.stack);
            }
        }
    }
    println!(
        "  {} kernel compilations, at most {} registers, {} B of spills in all, stack frames \
         up to {} B",
        total.0, total.1, total.2, total.3
    );
    if failures.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(failures.join("\n"))
    }
}

/// One `.param` of a PTX entry: its size in bytes, alignment and type token.
#[derive(Debug, PartialEq)]
struct PtxParam {
    size: usize,
    align: usize,
    ty: String,
}

/// The parameter lists of every `.entry` in a PTX text.
fn ptx_entries(ptx: &str) -> BTreeMap<String, Vec<PtxParam>> {
    let mut out = BTreeMap::new();
    let mut rest = ptx;
    while let Some(at) = rest.find(".entry ") {
        rest = &rest[at + ".entry ".len()..];
        let Some(open) = rest.find('(') else { break };
        let name = rest[..open].trim().to_string();
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let list = &rest[open + 1..open + close];
        let params = list
            .split(',')
            .filter(|p| p.contains(".param"))
            .map(|p| {
                let toks: Vec<&str> = p.split_whitespace().collect();
                let align = toks
                    .iter()
                    .position(|t| *t == ".align")
                    .and_then(|i| toks.get(i + 1))
                    .and_then(|a| a.parse().ok());
                let ty = toks
                    .iter()
                    .find(|t| {
                        [
                            ".u64", ".s64", ".b64", ".u32", ".s32", ".b32", ".f32", ".f64", ".b8",
                        ]
                        .contains(t)
                    })
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let array = p
                    .split('[')
                    .nth(1)
                    .and_then(|s| s.split(']').next())
                    .and_then(|n| n.trim().parse::<usize>().ok());
                let scalar = match ty.as_str() {
                    ".u64" | ".s64" | ".b64" | ".f64" => 8,
                    ".u32" | ".s32" | ".b32" | ".f32" => 4,
                    _ => 1,
                };
                let size = array.map(|n| n * scalar).unwrap_or(scalar);
                PtxParam {
                    size,
                    align: align.unwrap_or(scalar),
                    ty,
                }
            })
            .collect();
        out.insert(name, params);
        rest = &rest[open + close..];
    }
    out
}

/// Whether a PTX parameter is what the Rust side pushes for `kind`.
fn matches(kind: ParamKind, p: &PtxParam) -> bool {
    let ty = p.ty.as_str();
    match kind {
        ParamKind::Ptr | ParamKind::U64 | ParamKind::I64 => {
            p.size == 8 && [".u64", ".s64", ".b64"].contains(&ty)
        }
        ParamKind::U32 | ParamKind::I32 => p.size == 4 && [".u32", ".s32", ".b32"].contains(&ty),
        ParamKind::F32 => p.size == 4 && ty == ".f32",
        ParamKind::Struct { size, align } => ty == ".b8" && p.size == size && p.align == align,
    }
}

fn ptx_parameters_match_launchers() -> Outcome {
    if let Some(why) = nvrtc_missing() {
        return Outcome::Skipped(why);
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for &module in kernels::MODULES {
        let src = match kernels::module_source(module) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(format!("{module}: {e}")),
        };
        let ptx = match nvrtc::compile(module, &src.text, "compute_80", &[]) {
            Ok(c) => String::from_utf8_lossy(&c.image).into_owned(),
            Err(e) => {
                failures.push(format!("{module}: {e}"));
                continue;
            }
        };
        let entries = ptx_entries(&ptx);
        let declared: Vec<&KernelSig> = kernels::SIGNATURES
            .iter()
            .filter(|k| k.module == module)
            .collect();
        for sig in &declared {
            checked += 1;
            let Some(params) = entries.get(sig.name) else {
                failures.push(format!(
                    "{module}::{} is declared but not in the PTX",
                    sig.name
                ));
                continue;
            };
            if params.len() != sig.params.len() {
                failures.push(format!(
                    "{module}::{}: the launcher pushes {} arguments, the PTX takes {}",
                    sig.name,
                    sig.params.len(),
                    params.len()
                ));
                continue;
            }
            for (i, ((arg, kind), p)) in sig.params.iter().zip(params).enumerate() {
                if !matches(*kind, p) {
                    failures.push(format!(
                        "{module}::{} argument {i} ({arg}): the launcher pushes {kind:?}, the \
                         PTX declares {p:?}",
                        sig.name
                    ));
                }
            }
        }
        for name in entries.keys() {
            if !declared.iter().any(|k| k.name == name) {
                failures.push(format!(
                    "{module}: kernel {name} has no launcher declaration in kernels/mod.rs"
                ));
            }
        }
    }
    println!("  {checked} kernels' parameter lists compared with their launchers");
    if failures.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(failures.join("\n"))
    }
}

fn sim() -> Result<Arc<CudaDevice>, String> {
    CudaDevice::get(DeviceKey::Sim).map_err(|e| format!("{e:#}"))
}

fn upload(dev: &Arc<CudaDevice>, v: &[f32]) -> DeviceBuffer {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    dev.upload(&bytes).expect("upload")
}

fn download(b: &DeviceBuffer) -> Vec<f32> {
    b.download()
        .expect("download")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn check(what: &str, got: &[f32], want: &[f32]) -> Result<(), String> {
    if got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + b.abs()))
    {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}

fn outcome(r: Result<(), String>) -> Outcome {
    match r {
        Ok(()) => Outcome::Passed,
        Err(e) => Outcome::Failed(e),
    }
}

/// A [5, 37] + [37] broadcast add and a [5, 37] row sum, on blocks that do not fill up.
fn sim_runs_kernels() -> Outcome {
    let dev = match sim() {
        Ok(d) => d,
        Err(why) => return Outcome::Skipped(why),
    };
    let run = || -> Result<(), String> {
        let (rows, cols) = (5usize, 37usize);
        let a: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..cols).map(|j| 1000.0 * j as f32).collect();
        let (da, db) = (upload(&dev, &a), upload(&dev, &b));
        let out = dev.alloc(rows * cols * 4).map_err(|e| e.to_string())?;
        let m = Bcast::new("add", &[rows, cols], &[&[rows, cols], &[cols]])
            .map_err(|e| e.to_string())?;
        let n = (rows * cols) as u64;
        unsafe {
            kernels::elementwise::binary_f32(
                &dev,
                &dev.grid(n, 32),
                Ptr(da.ptr()),
                Ptr(db.ptr()),
                Ptr(out.ptr()),
                n,
                BinaryOp::Add.code(),
                m,
            )
        }
        .map_err(|e| format!("{e:#}"))?;
        let want: Vec<f32> = (0..rows * cols).map(|i| a[i] + b[i % cols]).collect();
        check("broadcast add", &download(&out), &want)?;
        let sums = dev.alloc(rows * 4).map_err(|e| e.to_string())?;
        for block in [false, true] {
            let cfg = if block {
                dev.grid(rows as u64, 256)
            } else {
                dev.grid(rows as u64 * 32, 256)
            };
            unsafe {
                if block {
                    kernels::reduce::reduce_rows_block_f32(
                        &dev,
                        &cfg,
                        Ptr(da.ptr()),
                        Ptr(sums.ptr()),
                        rows as u64,
                        cols as u64,
                        ReduceOp::Sum as u32,
                    )
                } else {
                    kernels::reduce::reduce_rows_warp_f32(
                        &dev,
                        &cfg,
                        Ptr(da.ptr()),
                        Ptr(sums.ptr()),
                        rows as u64,
                        cols as u64,
                        ReduceOp::Sum as u32,
                    )
                }
            }
            .map_err(|e| format!("{e:#}"))?;
            let want: Vec<f32> = (0..rows)
                .map(|r| a[r * cols..(r + 1) * cols].iter().sum())
                .collect();
            check(
                if block {
                    "block row sums"
                } else {
                    "warp row sums"
                },
                &download(&sums),
                &want,
            )?;
        }
        Ok(())
    };
    outcome(run())
}

/// The reference GEMM with transposes, padded leading dimensions and a shared (stride 0) A.
fn sim_gemm_honours_cublas_arguments() -> Outcome {
    let dev = match sim() {
        Ok(d) => d,
        Err(why) => return Outcome::Skipped(why),
    };
    let run = || -> Result<(), String> {
        let (m, n, k, batch) = (3usize, 4usize, 5usize, 2usize);
        // A stored transposed (k x m, column-major, lda = k + 1), shared by both batch entries;
        // B not transposed (k x n, ldb = k), one per batch entry; C with ldc = m + 2.
        let lda = k + 1;
        let a: Vec<f32> = (0..lda * m).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..batch * k * n).map(|i| (i % 5) as f32 * 0.5).collect();
        let ldc = m + 2;
        let (da, db) = (upload(&dev, &a), upload(&dev, &b));
        let dc = upload(&dev, &vec![1.0; batch * ldc * n]);
        let g = Gemm {
            trans_a: true,
            trans_b: false,
            m,
            n,
            k,
            alpha: 2.0,
            a: da.ptr(),
            lda,
            stride_a: 0,
            b: db.ptr(),
            ldb: k,
            stride_b: k * n,
            beta: 0.5,
            c: dc.ptr(),
            ldc,
            stride_c: ldc * n,
            batch,
        };
        unsafe { dev.gemm(&g) }.map_err(|e| format!("{e:#}"))?;
        let mut want = vec![1.0f32; batch * ldc * n];
        for bt in 0..batch {
            for j in 0..n {
                for i in 0..m {
                    let s: f32 = (0..k)
                        .map(|l| a[l + i * lda] * b[bt * k * n + l + j * k])
                        .sum();
                    want[bt * ldc * n + i + j * ldc] = 2.0 * s + 0.5;
                }
            }
        }
        check("strided batched gemm", &download(&dc), &want)?;
        let bad = Gemm {
            lda: m - 1,
            trans_a: false,
            ..g
        };
        match unsafe { dev.gemm(&bad) } {
            Err(e) if e.to_string().contains("lda") => Ok(()),
            other => Err(format!("a short lda was not refused: {other:?}")),
        }
    };
    outcome(run())
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    type Check = (&'static str, fn() -> Outcome);
    let tests: [Check; 4] = [
        ("kernels_compile_for_sm80_and_sm90", compile_every_module),
        (
            "ptx_parameters_match_launchers",
            ptx_parameters_match_launchers,
        ),
        ("sim_runs_kernels", sim_runs_kernels),
        (
            "sim_gemm_honours_cublas_arguments",
            sim_gemm_honours_cublas_arguments,
        ),
    ];
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        println!("test {name} ...");
        match test() {
            Outcome::Passed => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Outcome::Failed(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n{why}");
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                println!("test {name} ... skipped: {why}");
            }
        }
    }
    println!("\ncuda_kernels: {passed} passed, {failed} failed, {skipped} skipped");
    // CI provides NVRTC and a C++ compiler: a skip there means its setup broke.
    if skipped > 0 && std::env::var("CI").is_ok_and(|v| v == "true") {
        println!("CI=true: skipped checks count as failures (.ci/run provides NVRTC and g++)");
        std::process::exit(1);
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
