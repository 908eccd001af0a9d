//! Fuzzing the script surface and the file readers for panics, aborts and signals.
//!
//! Scripts are generated from the engine's own list of registered functions (name, arity and
//! parameter types, `Engine::gen_fn_signatures`): each call gets arguments of the declared
//! types — or, one time in five, of another type — drawn from pools of hostile values
//! (shapes with zeros, huge and overflowing dimensions, negative axes, NaNs, empty tensors,
//! every dtype, option maps with the options ember knows and absurd values), and results feed
//! later calls. File readers get random bytes and mutations of valid files. Every evaluation
//! must end in a value or an ordinary error: an "internal error" (a caught panic) fails the
//! test with the script that caused it, and an abort or signal kills the test binary.
//!
//! Time-bounded: 40 s of scripts and 10 s of files by default; `EMBER_FUZZ_SECONDS=N` gives
//! the scripts N seconds and the files N/4 (`EMBER_FUZZ_SEED` picks the seed). The number of
//! cases run is printed; `EMBER_FUZZ_TRACE=1` shows each script before it runs (after an
//! abort, the last one shown is the culprit).

use ember::Runtime;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::time::{Duration, Instant};

fn budget(default_secs: u64) -> Duration {
    let s = std::env::var("EMBER_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_secs);
    Duration::from_secs(s)
}

fn seed() -> u64 {
    std::env::var("EMBER_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
        })
}

/// One registered function: its name and parameter types as Rhai reports them.
#[derive(Clone, Debug)]
struct Sig {
    name: String,
    params: Vec<String>,
}

/// Functions a fuzzed script must not call: they switch the device to the simulator (slow,
/// not the subject here) or print large amounts.
const SKIP: &[&str] = &[
    "set_default_device",
    "cuda",
    "to",
    "print",
    "debug",
    "progress",
    "timestamp",
    "sleep",
];

fn signatures(rt: &Runtime) -> Vec<Sig> {
    let mut out = Vec::new();
    for s in rt.engine().gen_fn_signatures(false) {
        // "name(a: T, b: U) -> R" (static modules: "nn::linear(..)")
        let Some(open) = s.find('(') else { continue };
        let Some(close) = s.rfind(')') else { continue };
        let name = s[..open].trim().to_string();
        if name.starts_with("get$") || name.starts_with("set$") || name.starts_with("index$") {
            continue;
        }
        if SKIP.iter().any(|k| name == *k) || !name.chars().next().is_some_and(char::is_alphabetic)
        {
            continue;
        }
        let inner = &s[open + 1..close];
        let params: Vec<String> = if inner.trim().is_empty() {
            Vec::new()
        } else {
            split_params(inner)
                .into_iter()
                .map(|p| p.rsplit(':').next().unwrap_or("").trim().to_string())
                .collect()
        };
        out.push(Sig { name, params });
    }
    out.sort_by(|a, b| (&a.name, a.params.len()).cmp(&(&b.name, b.params.len())));
    out.dedup_by(|a, b| a.name == b.name && a.params == b.params);
    out
}

/// Splits "a: T, b: Option<U, V>" at the top-level commas.
fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Variables defined before every script: tensors of every dtype and awkward shape, a
/// model, an optimiser and a loader.
const PRELUDE: &str = r#"
let t0 = randn([2, 3]);
let t1 = tensor([[1.0, -2.0], [0.0 / 0.0, 1.0 / 0.0]]);
let t2 = zeros([0, 3]);
let t3 = arange(0, 6).reshape([1, 2, 3]);
let t4 = tensor([true, false, true]);
let t5 = randn([2, 1, 5, 5]);
let t6 = tensor(3.5);
let t7 = randint(0, 4, [4]);
let t8 = randn([4, 3]).t();
let t9 = ones([1]).expand([6]);
let m0 = nn::linear(3, 2);
let m1 = nn::sequential([nn::conv2d(1, 2, 3, #{padding: 1}), nn::relu(), nn::flatten()]);
let m2 = nn::lstm(3, 4);
let o0 = optim::sgd(m0.parameters(), #{lr: 0.1});
let l0 = data::loader([randn([5, 3]), arange(0, 5)], #{batch_size: 2});
"#;

const TENSORS: &[&str] = &["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];
const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-4",
    "7",
    "100",
    "2147483648",
    "4611686018427387905",
    "9223372036854775807",
    "(-9223372036854775807 - 1)",
    "-1099511627776",
];
const FLOATS: &[&str] = &[
    "0.0",
    "0.5",
    "-1.5",
    "2.0",
    "1e30",
    "-1e-30",
    "(0.0 / 0.0)",
    "(1.0 / 0.0)",
    "(-1.0 / 0.0)",
];
const STRINGS: &[&str] = &[
    "\"\"",
    "\"f32\"",
    "\"i64\"",
    "\"bool\"",
    "\"mean\"",
    "\"sum\"",
    "\"none\"",
    "\"cpu\"",
    "\"same\"",
    "\"reflect\"",
    "\"relu\"",
    "\"x\"",
    "\"../../etc/passwd\"",
    "\"/dev/zero\"",
    "\"nietzsche\"",
    "\"\\u{1F600}\"",
];
const ARRAYS: &[&str] = &[
    "[]",
    "[0]",
    "[3]",
    "[2, 3]",
    "[-1]",
    "[-1, 2]",
    "[1, 0, 2]",
    "[2, 3, 4]",
    "[4611686018427387905, 4]",
    "[9223372036854775807]",
    "[-5, 3]",
    "[1, 2, 3, 4, 5, 6, 7, 8, 9]",
    "[[1, 2], [3]]",
    "[[1.0, 2.0], [3.0, 4.0]]",
    "[\"a\", 1]",
    "[t0, t0]",
    "[t0, t3]",
    "[t2, t2]",
    "[0.5, -2.0]",
    "[true, false]",
];
const OPTION_KEYS: &[&str] = &[
    "dim",
    "keepdim",
    "dtype",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "reduction",
    "weight",
    "ignore_index",
    "label_smoothing",
    "kernel_size",
    "ceil_mode",
    "momentum",
    "eps",
    "lr",
    "batch_size",
    "shuffle",
    "size",
    "scale_factor",
    "mode",
    "value",
    "num_classes",
    "layers",
    "bidirectional",
    "maxlen",
    "seed",
    "name",
    "bins",
    "p",
    "training",
    "unbiased",
    "descending",
    "replacement",
    "num_layers",
];

/// Plausible values, so that half the cases get past the argument checks and into the ops.
const SANE_INTS: &[&str] = &["0", "1", "2", "-1", "3"];
const SANE_FLOATS: &[&str] = &["0.5", "1.0", "0.1", "2.0"];
const SANE_ARRAYS: &[&str] = &["[2, 3]", "[3]", "[-1]", "[1, 2, 3]", "[0, 1]", "[t0, t0]"];

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs[rng.random_range(0..xs.len())]
}

thread_local! {
    /// Whether the case being generated draws from the hostile pools (else the sane ones).
    static HOSTILE: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

fn literal(rng: &mut StdRng, kind: usize, vars: &[String]) -> String {
    let hostile = HOSTILE.with(|h| h.get());
    match kind {
        1 if !hostile => pick(rng, SANE_INTS).to_string(),
        2 if !hostile => pick(rng, SANE_FLOATS).to_string(),
        4 if !hostile => pick(rng, SANE_ARRAYS).to_string(),
        0 => {
            if !vars.is_empty() && rng.random_range(0..3) == 0 {
                vars[rng.random_range(0..vars.len())].clone()
            } else {
                pick(rng, TENSORS).to_string()
            }
        }
        1 => pick(rng, INTS).to_string(),
        2 => pick(rng, FLOATS).to_string(),
        3 => pick(rng, STRINGS).to_string(),
        4 => pick(rng, ARRAYS).to_string(),
        5 => {
            let n = rng.random_range(0..3);
            let entries: Vec<String> = (0..n)
                .map(|_| {
                    let kind = rng.random_range(0..5);
                    let v = literal(rng, kind, vars);
                    format!("{}: {v}", pick(rng, OPTION_KEYS))
                })
                .collect();
            format!("#{{{}}}", entries.join(", "))
        }
        6 => ["true", "false"][rng.random_range(0..2)].to_string(),
        7 => pick(rng, &["m0", "m1", "m2"]).to_string(),
        8 => pick(rng, &["o0", "l0", "()", "|x| x", "|x| x * 2"]).to_string(),
        _ => "()".to_string(),
    }
}

/// A value for a parameter of Rhai type `ty` (sometimes of a random type instead).
fn argument(rng: &mut StdRng, ty: &str, vars: &[String]) -> String {
    let wrong_type = if HOSTILE.with(|h| h.get()) { 5 } else { 20 };
    let kind = if rng.random_range(0..wrong_type) == 0 {
        rng.random_range(0..9)
    } else {
        let t = ty.trim_start_matches('&').trim_start_matches("mut ");
        match t {
            _ if t.contains("Tensor") => 0,
            "i64" | "INT" | "usize" | "i32" | "u64" => 1,
            "f64" | "FLOAT" | "f32" => 2,
            _ if t.contains("String") || t.contains("str") => 3,
            _ if t.contains("Array") || t.contains("Vec") => 4,
            _ if t.contains("Map") => 5,
            "bool" => 6,
            _ if t.contains("Module") => 7,
            _ if t.contains("FnPtr") => 8,
            _ => rng.random_range(0..9),
        }
    };
    literal(rng, kind, vars)
}

/// One random call of a registered function, as script text.
fn call(rng: &mut StdRng, sigs: &[Sig], vars: &[String]) -> String {
    let s = &sigs[rng.random_range(0..sigs.len())];
    let args: Vec<String> = s.params.iter().map(|p| argument(rng, p, vars)).collect();
    // methods take their first argument as the receiver half the time
    if !args.is_empty() && !s.name.contains("::") && rng.random_range(0..2) == 0 {
        format!("({}).{}({})", args[0], s.name, args[1..].join(", "))
    } else {
        format!("{}({})", s.name, args.join(", "))
    }
}

fn fuzz_runtime() -> Runtime {
    Runtime::builder()
        .seed(0)
        .device(ember::Device::Cpu)
        .max_memory(256 << 20)
        .max_operations(200_000)
        .max_time(Duration::from_secs(3))
        .build()
        .unwrap()
}

#[test]
fn random_scripts_never_panic() {
    ember::runtime::quiet_panics();
    let start = Instant::now();
    let limit = budget(40);
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rt = fuzz_runtime();
    let sigs = signatures(&rt);
    assert!(sigs.len() > 300, "only {} signatures found", sigs.len());
    assert!(
        sigs.iter().any(|s| s.name == "nn::linear"),
        "namespaced functions are listed"
    );
    let trace = std::env::var_os("EMBER_FUZZ_TRACE").is_some();
    let mut cases = 0u64;
    let mut errors = 0u64;
    let mut fresh = true;
    while start.elapsed() < limit {
        if fresh {
            rt = fuzz_runtime();
            let _ = rt.eval(PRELUDE).expect("the prelude runs");
            fresh = false;
        }
        let mut vars: Vec<String> = Vec::new();
        let mut script = String::new();
        let hostile = rng.random_range(0..2) == 0;
        HOSTILE.with(|h| h.set(hostile));
        for step in 0..rng.random_range(1..5) {
            let v = format!("v{step}");
            script.push_str(&format!("let {v} = {};\n", call(&mut rng, &sigs, &vars)));
            vars.push(v);
        }
        cases += 1;
        if trace {
            // an abort or a signal kills the binary: the last script shown is the culprit
            eprintln!("--- case {cases}\n{script}");
        }
        match rt.eval(&script) {
            Ok(_) => {}
            Err(e) => {
                errors += 1;
                let msg = e.to_string();
                assert!(
                    !msg.contains("internal error"),
                    "seed {seed}, case {cases}: a panic\n--- script ---\n{script}\n--- error ---\n{msg}"
                );
            }
        }
        // a new session now and then, so variables and memory do not pile up
        if cases.is_multiple_of(50) {
            fresh = true;
        }
    }
    println!(
        "fuzzed {cases} scripts ({} calls each at most 4; {errors} ended in an ordinary error) \
         in {:.1} s, seed {seed}: no panic",
        sigs.len(),
        start.elapsed().as_secs_f64()
    );
}

/// Valid files to mutate: (reader call, bytes).
fn seeds_for_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend_from_slice(&[0u8; 16]);
    out.push(("data::npy", npy.clone()));
    let mut idx = vec![0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3];
    idx.extend_from_slice(&[7u8; 6]);
    out.push(("data::idx", idx));
    out.push(("data::csv", b"a,b\n1,2\n3,4.5\n".to_vec()));
    out.push(("data::text", "héllo wörld\n".as_bytes().to_vec()));
    out.push((
        "data::cmudict",
        b"hello HH AH0 L OW1\nworld W ER1 L D\n".to_vec(),
    ));
    let st = {
        let mut rt = Runtime::builder()
            .allow_write(std::env::temp_dir())
            .build()
            .unwrap();
        let p = std::env::temp_dir().join(format!("ember-fuzz-seed-{}.st", std::process::id()));
        let _ = rt
            .eval(&format!(
                "nn::save(nn::linear(2, 2), {:?})",
                p.display().to_string()
            ))
            .unwrap();
        let b = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).ok();
        b
    };
    out.push(("nn::load(nn::linear(2, 2), PATH)", st));
    let npz = {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            use std::io::Write;
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("a.npy", zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(&npy).unwrap();
            z.finish().unwrap();
        }
        buf.into_inner()
    };
    out.push(("data::npz", npz));
    out
}

fn mutate(rng: &mut StdRng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.random_range(0..6) {
        // random bytes
        0 => (0..rng.random_range(0..200))
            .map(|_| rng.random_range(0..=255u8))
            .collect(),
        // truncated
        1 => {
            b.truncate(rng.random_range(0..=b.len()));
            b
        }
        // flipped bytes
        2 => {
            for _ in 0..rng.random_range(1..8) {
                if !b.is_empty() {
                    let i = rng.random_range(0..b.len());
                    b[i] = rng.random_range(0..=255u8);
                }
            }
            b
        }
        // huge numbers written into the header area
        3 => {
            if b.len() > 12 {
                let i = rng.random_range(0..b.len().min(64) - 8);
                b[i..i + 8].copy_from_slice(&u64::MAX.to_le_bytes());
            }
            b
        }
        // digits in a text header made enormous
        4 => {
            let s = String::from_utf8_lossy(&b).into_owned();
            s.replacen('2', "4611686018427387905", 1).into_bytes()
        }
        // appended garbage
        _ => {
            b.extend((0..rng.random_range(1..100)).map(|_| rng.random_range(0..=255u8)));
            b
        }
    }
}

#[test]
fn random_files_never_panic() {
    ember::runtime::quiet_panics();
    let start = Instant::now();
    let limit = if std::env::var_os("EMBER_FUZZ_SECONDS").is_some() {
        budget(0) / 4
    } else {
        Duration::from_secs(10)
    };
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let dir = std::env::temp_dir().join(format!("ember-fuzz-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = seeds_for_files();
    let mut rt = Runtime::builder()
        .allow_read(&dir)
        .max_memory(256 << 20)
        .max_time(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut cases = 0u64;
    while start.elapsed() < limit {
        let (reader, valid) = &seeds[rng.random_range(0..seeds.len())];
        let bytes = mutate(&mut rng, valid);
        let path = dir.join(format!("case-{cases}"));
        std::fs::write(&path, &bytes).unwrap();
        let p = format!("{:?}", path.display().to_string());
        let code = if reader.contains("PATH") {
            reader.replace("PATH", &p)
        } else {
            format!("{reader}({p})")
        };
        cases += 1;
        if let Err(e) = rt.eval(&code) {
            let msg = e.to_string();
            assert!(
                !msg.contains("internal error"),
                "seed {seed}: {code} on {} bytes {:?}...: a panic\n{msg}",
                bytes.len(),
                &bytes[..bytes.len().min(64)]
            );
        }
        std::fs::remove_file(&path).ok();
    }
    std::fs::remove_dir_all(&dir).ok();
    println!(
        "fuzzed {cases} files in {:.1} s, seed {seed}: no panic",
        start.elapsed().as_secs_f64()
    );
}
