//! Limits measured across the whole process — live tensor bytes and the heap held by script
//! values — tested in a binary of their own, one test at a time, so that no other test's
//! memory counts against them.

use ember::Runtime;
use std::sync::Mutex;

// The script-memory limit needs a counted heap, as the `ember` command has.
#[global_allocator]
static GLOBAL: ember::alloc::Counting<std::alloc::System> =
    ember::alloc::Counting::new(std::alloc::System);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn fails(rt: &mut Runtime, code: &str, parts: &[&str]) {
    let e = match rt.eval(code) {
        Ok(v) => panic!("{code} should fail, gave {v}"),
        Err(e) => e.to_string(),
    };
    assert!(!e.contains("internal error"), "{code}: {e}");
    for p in parts {
        assert!(e.contains(p), "{code}: {e:?} does not mention {p:?}");
    }
}

#[test]
fn live_tensors_have_a_memory_limit() {
    let _one = serial();
    let mut r = Runtime::builder().max_memory(4 << 20).build().unwrap();
    fails(
        &mut r,
        "let keep = []; for i in 0..10 { keep.push(zeros([200000])); }",
        &["zeros", "live tensors already hold", "4.0 MiB limit"],
    );
    // freeing them makes room again
    let _ = r.eval("keep = [];").unwrap();
    assert!(r.eval("zeros([200000]).sum().item()").is_ok());
}

#[test]
fn script_values_have_a_memory_limit() {
    let _one = serial();
    let mut r = Runtime::builder()
        .max_script_memory(64 << 20)
        .build()
        .unwrap();
    fails(
        &mut r,
        "let s = \"abcd\"; loop { s += s; }",
        &["script's values", "64.0 MiB", "--max-script-memory"],
    );
    // the session holds the big string, but can still run the code that frees it
    let _ = r.eval("s = ();").unwrap();
    fails(
        &mut r,
        "let a = [1, 2]; loop { a += a; }",
        &["script's values"],
    );
    let _ = r.eval("a = ();").unwrap();
    fails(
        &mut r,
        "let a = []; a.pad(100000000000, 1);",
        &["pad", "script's values"],
    );
    fails(&mut r, "\"x\".pad(100000000000, \"ab\")", &["pad"]);
    fails(&mut r, "blob(100000000000)", &["blob"]);
    fails(&mut r, "zeros([100000000, 0]).tolist()", &["tolist"]);
    let n = r.eval("let a = [1]; a.pad(1000, 0); a.len()").unwrap();
    assert_eq!(n.as_int().unwrap(), 1000);
}

#[path = "../examples/embed_sandbox.rs"]
mod embed_sandbox;

#[test]
fn the_embedding_sandbox_example_runs() {
    let _one = serial();
    embed_sandbox::main().unwrap();
}

#[test]
fn reads_stop_at_the_tensor_memory_left() {
    let _one = serial();
    let d = std::env::temp_dir().join(format!("ember-limits-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let at = |n: &str| d.join(n).display().to_string();
    // a small npz whose entry declares (and inflates to) far more than memory allows
    let npz = d.join("bomb.npz");
    {
        use std::io::Write;
        let f = std::fs::File::create(&npz).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        z.start_file("x.npy", o).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    let mut small = Runtime::builder()
        .allow_read(&d)
        .max_memory(16 << 20)
        .build()
        .unwrap();
    fails(
        &mut small,
        &format!("data::npz({:?})", npz.display().to_string()),
        &["npz", "declares"],
    );
    std::fs::write(d.join("big.npy"), vec![0u8; 1 << 20]).unwrap();
    let mut tiny = Runtime::builder()
        .allow_read(&d)
        .max_memory(64 << 10)
        .build()
        .unwrap();
    fails(
        &mut tiny,
        &format!("data::npy({:?})", at("big.npy")),
        &["npy", "1.0 MiB", "tensor memory left"],
    );
}
