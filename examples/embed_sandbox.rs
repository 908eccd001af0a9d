//! Running an untrusted script inside a host program: tight limits, a read-only folder, no
//! environment, and an interrupt from another thread. Every attempt to step outside is an
//! error the host can show; the session survives each one.
//!
//!     cargo run --example embed_sandbox
//!
//! (The tests run this example too.)

use ember::Runtime;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What the untrusted script tries, and what the refusal must mention.
const ATTEMPTS: &[(&str, &str, &str)] = &[
    (
        "read a file inside the folder",
        "data::npy(ROOT + \"/weights.npy\").sum().item()",
        "",
    ),
    (
        "climb out with ..",
        "data::npy(ROOT + \"/../secret.npy\")",
        "outside the folders",
    ),
    (
        "read an absolute path",
        "data::text(\"/etc/passwd\")",
        "outside the folders",
    ),
    (
        "follow a link out of the folder",
        "data::npy(ROOT + \"/link.npy\")",
        "outside the folders",
    ),
    (
        "write into the read-only folder",
        "data::save_npy(ROOT + \"/out.npy\", ones([2]))",
        "may only read",
    ),
    (
        "read the environment",
        "env(\"HOME\")",
        "may not read environment",
    ),
    (
        "allocate a huge tensor",
        "zeros([100000000])",
        "over the limit of",
    ),
    (
        "hold too many tensors",
        "{ let k = []; for i in 0..200 { k.push(zeros([250000])); } }",
        "live tensors",
    ),
    (
        "double a string forever",
        "{ let s = \"ab\"; loop { s += s; } }",
        "too large",
    ),
    ("recurse without end", "fn f(n) { f(n + 1) } f(0)", "deep"),
    ("spin for ever", "loop { }", "operations"),
    (
        "draw a figure outside the plot folder",
        "plot::line([1, 2], #{name: \"../x\"})",
        "plot",
    ),
];

pub fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("ember-sandbox-{}", std::process::id()));
    let root = dir.join("granted");
    std::fs::create_dir_all(&root)?;
    std::fs::write(dir.join("secret.npy"), b"not for the script")?;
    let _ = std::fs::remove_file(root.join("link.npy"));
    std::os::unix::fs::symlink(dir.join("secret.npy"), root.join("link.npy"))?;
    {
        // The host itself is trusted: outside any runtime, ember's Rust API is unrestricted.
        let w = ember::Tensor::from_f32(vec![0.5; 4], &[4], ember::Device::Cpu)?;
        ember::data::npy::save_npy(&root.join("weights.npy"), &w)?;
    }

    let mut rt = Runtime::builder()
        .device(ember::Device::Cpu)
        .allow_read(&root)
        .max_tensor_bytes(64 << 20)
        .max_memory(128 << 20)
        .max_operations(2_000_000)
        .max_time(Duration::from_secs(10))
        .max_call_depth(32)
        .max_string_size(1 << 20)
        .max_array_size(100_000)
        .build()?;
    let _ = rt.eval(&format!("const ROOT = {:?};", root.display().to_string()))?;

    let mut unexpected = Vec::new();
    for (what, code, refusal) in ATTEMPTS {
        match (rt.eval(code), refusal.is_empty()) {
            (Ok(v), true) => println!("allowed  {what}: {v}"),
            (Err(e), false) if e.message.contains(refusal) => {
                println!("refused  {what}: {}", e.message)
            }
            (Ok(v), false) => unexpected.push(format!("{what}: allowed ({v})")),
            (Err(e), _) => unexpected.push(format!("{what}: {e}")),
        }
    }

    // The host stops a long computation from another thread.
    let flag = rt.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        flag.store(true, Ordering::Relaxed);
    });
    match rt.eval("let x = randn([256, 256]); loop { x = (x @ x).tanh(); }") {
        Err(e) if e.message.contains("interrupted") => {
            println!("stopped  by the host: {}", e.message)
        }
        other => unexpected.push(format!("interrupt: {other:?}")),
    }
    stopper.join().expect("the stopping thread");

    // After all that, the session still works.
    let v = rt.eval("(ones([3]) * 2).sum().item()")?;
    println!("and the session goes on: {v}");
    std::fs::remove_dir_all(&dir).ok();
    if !unexpected.is_empty() {
        anyhow::bail!(
            "the sandbox let through or mishandled:\n{}",
            unexpected.join("\n")
        );
    }
    Ok(())
}
