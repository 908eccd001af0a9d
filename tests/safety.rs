//! Hostile input: every reproducer of the safety audit is an error naming the op (never a
//! panic, abort or signal), every limit of `Runtime::builder()` stops a script with an error,
//! and the file-system policy refuses what it does not grant.

mod common;

use ember::Runtime;
use ember::files::FsPolicy;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ember-safety-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The error of `code`, which must fail; its message must contain every one of `parts`.
fn fails(rt: &mut Runtime, code: &str, parts: &[&str]) -> String {
    let e = match rt.eval(code) {
        Ok(v) => panic!("{code} should fail, gave {v}"),
        Err(e) => e.to_string(),
    };
    assert!(
        !e.contains("internal error"),
        "{code} hit a panic instead of an error:\n{e}"
    );
    for p in parts {
        assert!(e.contains(p), "{code}: {e:?} does not mention {p:?}");
    }
    e
}

fn rt() -> Runtime {
    Runtime::builder().seed(0).build().unwrap()
}

#[test]
fn overflowing_shapes_are_errors() {
    let mut r = rt();
    fails(
        &mut r,
        "ones([1]).expand([4611686018427387905, 4])",
        &["expand", "overflows"],
    );
    fails(
        &mut r,
        "matmul_nt(ones([4, 4]), ones([1]).expand([4611686018427387905, 4]))",
        &["expand"],
    );
    fails(&mut r, "zeros([4294967296, 4294967296, 2])", &["zeros"]);
    fails(&mut r, "ones([3]).reshape([-1, 0])", &["reshape"]);
    fails(&mut r, "randperm(100000000000)", &["randperm", "GiB"]);
    fails(&mut r, "bincount(tensor([10000000000000]))", &["bincount"]);
    fails(&mut r, "nn::linear(100000, 100000)", &["GiB"]);
    fails(&mut r, "arange(0, 1e15)", &["arange"]);
    // the session goes on
    assert_eq!(r.eval("1 + 1").unwrap().as_int().unwrap(), 2);
}

#[test]
fn integer_overflow_wraps_as_in_pytorch() {
    let mut r = rt();
    // i64::MIN // -1 overflows; PyTorch's CPU kernels wrap, and so does ember
    let v = r
        .eval("((tensor([-9223372036854775807]) - 1).floor_divide(-1)).item()")
        .unwrap();
    assert_eq!(v.as_int().unwrap(), i64::MIN);
    let v = r
        .eval("(tensor([9223372036854775807]) + 1).item()")
        .unwrap();
    assert_eq!(v.as_int().unwrap(), i64::MIN);
    let v = r.eval("(tensor([7]).floor_divide(0)).item()").unwrap();
    assert_eq!(v.as_int().unwrap(), 0);
    assert_eq!(
        r.eval("tensor([-9223372036854775807 - 1]).abs().item()")
            .unwrap()
            .as_int()
            .unwrap(),
        i64::MIN
    );
}

fn npy_bytes(header_shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {header_shape}, }}");
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn crafted_files_are_refused_before_anything_is_built() {
    let d = dir("files");
    let mut r = Runtime::builder().allow_write(&d).build().unwrap();
    let at = |n: &str| d.join(n).display().to_string();
    // a header whose element count wraps to the data's size
    std::fs::write(
        d.join("wrap.npy"),
        npy_bytes("(4611686018427387905, 4)", &[0; 16]),
    )
    .unwrap();
    fails(
        &mut r,
        &format!("data::npy({:?})", at("wrap.npy")),
        &["npy", "overflow"],
    );
    std::fs::write(d.join("short.npy"), npy_bytes("(3, 4)", &[0; 16])).unwrap();
    fails(
        &mut r,
        &format!("data::npy({:?})", at("short.npy")),
        &["npy", "48 data bytes"],
    );
    // IDX dimensions whose product passes 2^64
    let mut idx = vec![0, 0, 8, 4];
    for _ in 0..4 {
        idx.extend_from_slice(&65536u32.to_be_bytes());
    }
    std::fs::write(d.join("wrap.idx"), &idx).unwrap();
    fails(
        &mut r,
        &format!("data::idx({:?})", at("wrap.idx")),
        &["idx", "overflow"],
    );
    // a device, and a file over the memory left, are refused by size
    let mut dev = Runtime::builder().allow_read("/dev").build().unwrap();
    fails(
        &mut dev,
        "nn::load(nn::linear(2, 2), \"/dev/zero\")",
        &["regular file"],
    );
    fails(&mut dev, "data::npy(\"/dev/zero\")", &["regular file"]);
}

#[test]
fn silent_wrong_answers_are_gone() {
    let d = dir("answers");
    let mut r = Runtime::builder().allow_read(&d).build().unwrap();
    let nan = |r: &mut Runtime, c: &str| r.eval(c).unwrap().as_float().unwrap().is_nan();
    assert!(nan(&mut r, "zeros([0]).mean().item()"));
    assert!(nan(&mut r, "mse_loss(zeros([0]), zeros([0])).item()"));
    assert!(nan(&mut r, "zeros([0, 3]).mean(0)[1].item()"));
    fails(
        &mut r,
        "binary_cross_entropy(tensor([1.5, 0.5]), tensor([1.0, 0.0]))",
        &["binary_cross_entropy", "[0, 1]", "1 of the 2"],
    );
    fails(
        &mut r,
        "binary_cross_entropy(tensor([0.0 / 0.0]), tensor([1.0]))",
        &["binary_cross_entropy"],
    );
    fails(
        &mut r,
        "optim::sgd([randn([2])], #{lr: 0.1, momentum: -5})",
        &["momentum"],
    );
    std::fs::write(d.join("dup.csv"), "a,b,a\n1,2,3\n4,5,6\n").unwrap();
    fails(
        &mut r,
        &format!("data::csv({:?})", d.join("dup.csv").display().to_string()),
        &["csv", "\"a\" twice", "columns 1 and 3"],
    );
}

#[test]
fn a_panic_is_an_internal_error_and_the_session_goes_on() {
    ember::runtime::quiet_panics();
    let mut r = rt();
    r.engine_mut()
        .register_fn("host_bug", || -> i64 { panic!("a host function's bug") });
    let _ = r.eval("let kept = 41;").unwrap();
    let e = r.eval("host_bug()").unwrap_err().to_string();
    assert!(
        e.contains("internal error") && e.contains("a host function's bug") && e.contains("report"),
        "{e}"
    );
    assert_eq!(r.eval("kept + 1").unwrap().as_int().unwrap(), 42);
}

#[test]
fn limits_stop_scripts_with_errors() {
    let mut r = Runtime::builder()
        .max_operations(10_000)
        .max_call_depth(16)
        .build()
        .unwrap();
    fails(&mut r, "loop {}", &["10000 operations", "--max-operations"]);
    fails(
        &mut r,
        "fn f(n) { f(n + 1) } f(0)",
        &["16 deep", "--max-call-depth"],
    );
    // operations are counted per evaluation
    let _ = r.eval("let s = 0; for i in 0..1000 { s += i; } s").unwrap();

    let mut r = Runtime::builder()
        .max_time(Duration::from_millis(300))
        .build()
        .unwrap();
    let t = Instant::now();
    fails(&mut r, "loop {}", &["time limit", "0.300 s"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // tensor work checks the deadline too
    fails(&mut r, "loop { let x = zeros([10]); }", &["time limit"]);

    let mut r = Runtime::builder()
        .max_tensor_bytes(1 << 20)
        .build()
        .unwrap();
    fails(&mut r, "zeros([300000])", &["zeros", "1.0 MiB per tensor"]);

    let mut r = Runtime::builder()
        .max_string_size(1000)
        .max_array_size(1000)
        .max_map_size(100)
        .build()
        .unwrap();
    fails(
        &mut r,
        "let s = \"ab\"; loop { s += s; }",
        &["string", "--max-string"],
    );
    fails(
        &mut r,
        "let a = [1, 2]; loop { a += a; }",
        &["array", "--max-array"],
    );
    fails(
        &mut r,
        "let m = #{}; for i in 0..1000 { m[`k${i}`] = i; } m.len()",
        &["map", "--max-map"],
    );
}

#[test]
fn deeply_nested_values_do_not_overflow_the_stack() {
    // On a thread with a small stack, values nested thousands deep are built, printed,
    // compared and dropped: the runtime evaluates on a stack of its own.
    let t = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let mut r = Runtime::builder().build().unwrap();
            let _ = r
                .eval("let a = []; for i in 0..20000 { a = [a]; } let b = a;")
                .unwrap();
            assert!(r.eval("a == b").unwrap().as_bool().unwrap());
            // too deep to hand to the host: an error, and the value stays in the session
            let e = r.eval("a").unwrap_err().to_string();
            assert!(e.contains("more than 256 deep"), "{e}");
            assert!(r.get_value("a").is_none());
            let shallow = r
                .eval("let c = []; for i in 0..100 { c = [c]; } c")
                .unwrap();
            let text = ember::script::format_value(&shallow);
            assert!(text.starts_with("[[[[") && text.contains("[...]"), "{text}");
            drop(r);
        })
        .unwrap();
    t.join().unwrap();
}

#[test]
fn a_host_progress_hook_keeps_interrupts_working() {
    let mut r = rt();
    let calls = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let c = calls.clone();
    r.engine_mut().on_progress(move |_| {
        c.set(c.get() + 1);
        None
    });
    let flag = r.interrupt_handle();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, Ordering::Relaxed);
    });
    fails(&mut r, "loop {}", &["interrupted"]);
    setter.join().unwrap();
    assert!(calls.get() > 0, "the host's hook runs too");
    // the next evaluation starts with the flag cleared
    assert_eq!(r.eval("2 * 3").unwrap().as_int().unwrap(), 6);
}

#[test]
fn a_long_matrix_product_notices_an_interrupt() {
    let mut r = rt();
    let _ = r.eval("let a = randn([4096, 4096]);").unwrap();
    let flag = r.interrupt_handle();
    let started = Instant::now();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        flag.store(true, Ordering::Relaxed);
    });
    // one product of 4096^3 multiply-adds, then more: stopped inside the first
    fails(
        &mut r,
        "let c = a @ a; let d = c @ a; c @ d",
        &["matmul: interrupted"],
    );
    setter.join().unwrap();
    // a 4096^3 product is done in tiles of a quarter; far less than the three products
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn an_embedded_runtime_grants_no_files_or_environment() {
    let d = dir("none");
    std::fs::write(d.join("x.npy"), npy_bytes("(1,)", &[0; 4])).unwrap();
    std::fs::write(d.join("m.rhai"), "fn f() { 1 }").unwrap();
    let p = |n: &str| format!("{:?}", d.join(n).display().to_string());
    let mut r = rt();
    for code in [
        format!("data::npy({})", p("x.npy")),
        format!("data::save_npy({}, zeros([2]))", p("y.npy")),
        format!("data::csv({})", p("x.csv")),
        format!("data::text({})", p("x.npy")),
        format!("nn::save(nn::linear(2, 2), {})", p("m.safetensors")),
        format!("nn::load(nn::linear(2, 2), {})", p("m.safetensors")),
        format!("import {} as m; m::f()", p("m")),
    ] {
        fails(&mut r, &code, &["no file access"]);
    }
    fails(&mut r, "plot::line([1, 2, 3])", &["no file access"]);
    fails(
        &mut r,
        "env(\"HOME\")",
        &["env", "may not read environment"],
    );
    assert!(!d.join("y.npy").exists() && !d.join("m.safetensors").exists());
    let mut granted = Runtime::builder().allow_env(true).build().unwrap();
    assert!(granted.eval("env(\"PATH\")").unwrap().is_string());
}

#[test]
fn a_read_only_root_reads_inside_and_refuses_the_rest() {
    let d = dir("ro");
    let root = d.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/x.npy"), npy_bytes("(1,)", &[0, 0, 128, 63])).unwrap();
    std::fs::write(d.join("secret.npy"), npy_bytes("(1,)", &[0; 4])).unwrap();
    std::os::unix::fs::symlink(d.join("secret.npy"), root.join("link.npy")).unwrap();
    let mut r = Runtime::builder()
        .fs_policy(FsPolicy::read_only(&root))
        .build()
        .unwrap();
    let inside = format!(
        "data::npy({:?}).item()",
        root.join("sub/x.npy").display().to_string()
    );
    assert_eq!(r.eval(&inside).unwrap().as_float().unwrap(), 1.0);
    let s = |p: &Path| format!("{:?}", p.display().to_string());
    fails(
        &mut r,
        &format!("data::npy({})", s(&root.join("sub/../../secret.npy"))),
        &["npy", "outside the folders this session may read"],
    );
    fails(&mut r, "data::npy(\"/etc/passwd\")", &["outside"]);
    fails(
        &mut r,
        &format!("data::npy({})", s(&root.join("link.npy"))),
        &["which is", "secret.npy", "outside"],
    );
    fails(
        &mut r,
        &format!("data::save_npy({}, ones([2]))", s(&root.join("new.npy"))),
        &["may only read"],
    );
    assert!(!root.join("new.npy").exists());
}

#[test]
fn a_read_write_root_keeps_plots_and_saves_inside() {
    let d = dir("rw");
    let mut r = Runtime::builder().allow_write(&d).build().unwrap();
    let at = |n: &str| format!("{:?}", d.join(n).display().to_string());
    let _ = r
        .eval(&format!("data::save_npy({}, ones([3]))", at("ok.npy")))
        .unwrap();
    assert!(d.join("ok.npy").is_file());
    fails(
        &mut r,
        &format!("data::save_npy({}, ones([3]))", at("../escape.npy")),
        &["outside"],
    );
    // plot names stay inside the plot folder
    // SAFETY of the test: EMBER_PLOTS is only read by this process's plot calls.
    unsafe { std::env::set_var("EMBER_PLOTS", &d) };
    fails(
        &mut r,
        "plot::line([1, 2, 3], #{name: \"../escaped\"})",
        &["plot", "must stay inside the plot folder"],
    );
    assert!(!d.parent().unwrap().join("escaped.png").exists());
}

#[test]
fn atomic_saves_leave_nothing_behind() {
    let d = dir("atomic");
    let mut r = Runtime::builder().allow_write(&d).build().unwrap();
    let at = |n: &str| format!("{:?}", d.join(n).display().to_string());
    std::fs::create_dir(d.join("adir")).unwrap();
    fails(
        &mut r,
        &format!("data::save_npy({}, ones([2]))", at("adir")),
        &["is a folder"],
    );
    fails(
        &mut r,
        &format!("data::save_npy({}, ones([2]))", at("adir/")),
        &["is a folder"],
    );
    fails(
        &mut r,
        &format!(
            "nn::save(nn::linear(2, 2), {})",
            at("nofolder/m.safetensors")
        ),
        &["does not exist"],
    );
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["adir"], "left behind: {names:?}");
    assert!(std::fs::read_dir(d.join("adir")).unwrap().next().is_none());
}

#[test]
fn common_builder_grants_what_tests_need() {
    // keeps the shared helper honest: the fixtures are readable through it
    let mut r = common::builder_with_files().build().unwrap();
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.csv");
    assert!(r.eval(&format!("data::csv({csv:?})")).is_ok());
}
