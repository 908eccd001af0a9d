//! Helpers shared by the integration tests.
#![allow(dead_code)]

use ember::{DType, Device, Tensor};

/// A deterministic f32 tensor on the test's device ([`dev`]) with values spread over `[lo, hi)` (no RNG involved).
pub fn spread(shape: &[usize], lo: f32, hi: f32, salt: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let v = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lo + (hi - lo) * ((state >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect();
    Tensor::from_f32(v, shape, dev()).unwrap()
}

pub fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_f32(v.to_vec(), shape, dev()).unwrap()
}

pub fn ti(v: &[i64], shape: &[usize]) -> Tensor {
    Tensor::from_i64(v.to_vec(), shape, dev()).unwrap()
}

pub fn tb(v: &[bool], shape: &[usize]) -> Tensor {
    Tensor::from_bool(v.to_vec(), shape, dev()).unwrap()
}

/// Asserts two float slices agree within `tol` (absolute, scaled up for large values).
pub fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "lengths differ: {actual:?} vs {expected:?}"
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "element {i}: {a} vs expected {e}\nactual   {actual:?}\nexpected {expected:?}"
        );
    }
}

pub fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F32, dev()).unwrap()
}

// ---- Devices: the parameterised tests run their bodies once per device ----

use std::cell::Cell;
use std::io::Write;

thread_local! {
    static DEVICE: Cell<Device> = const { Cell::new(Device::Cpu) };
}

/// The device the current test body runs on (the helpers above create their tensors there).
pub fn dev() -> Device {
    DEVICE.with(|d| d.get())
}

/// Whether the current body runs on the CPU (the reference every other device is compared with).
pub fn on_cpu() -> bool {
    dev() == Device::Cpu
}

/// The devices to test, with the reason for each one left out: `EMBER_TEST_DEVICES` (a comma
/// list such as `cpu,cuda`) when set, else the CPU, `cuda-sim` and, when a GPU is present, `cuda`.
fn devices() -> (Vec<Device>, Vec<(Device, String)>) {
    let wanted: Vec<Device> = match std::env::var("EMBER_TEST_DEVICES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|d| Device::parse(d).unwrap_or_else(|e| panic!("EMBER_TEST_DEVICES: {e:#}")))
            .collect(),
        _ => vec![Device::Cpu, Device::CudaSim, Device::Cuda(0)],
    };
    let (mut run, mut skipped) = (vec![], vec![]);
    for d in wanted {
        match d {
            Device::Cpu => run.push(d),
            Device::Cuda(_) if !ember::backend::cuda_available().0 => {
                skipped.push((d, ember::backend::cuda_available().1))
            }
            _ => match ember::backend::cuda::device_name(d) {
                Ok(_) => run.push(d),
                Err(e) => skipped.push((d, format!("{e:#}"))),
            },
        }
    }
    (run, skipped)
}

/// Runs `body` once on every device (the CPU first), with [`dev`] naming it. A failure names
/// the device. A device left out is reported as skipped with the reason; under `CI=true` a
/// skipped `cuda-sim` fails the test (CI provides the simulator's C++ compiler), while a
/// missing GPU is expected there.
pub fn on_each_device(test: &str, body: impl Fn()) {
    let (run, skipped) = devices();
    static REPORTED: std::sync::Once = std::sync::Once::new();
    // Once per test binary, straight to the process's stderr: the test harness swallows
    // `eprintln!` of a passing test, and a skip must be seen.
    REPORTED.call_once(|| {
        for (d, why) in &skipped {
            let _ = writeln!(std::io::stderr(), "SKIPPED: no tests on {d}: {why}");
        }
    });
    for (d, why) in &skipped {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if ci && *d == Device::CudaSim {
            panic!("{test}: the cuda-sim run was skipped under CI=true: {why}");
        }
    }
    for d in run {
        DEVICE.with(|c| c.set(d));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&body));
        DEVICE.with(|c| c.set(Device::Cpu));
        if let Err(p) = outcome {
            eprintln!("{test}: FAILED on {d}");
            std::panic::resume_unwind(p);
        }
    }
}

/// A runtime builder granted what a host running these tests would grant: the fixtures and
/// the datasets (`EMBER_DATA`) to read, the temporary folder to read and write, and the
/// environment.
pub fn builder_with_files() -> ember::RuntimeBuilder {
    let mut b = ember::Runtime::builder()
        .allow_write(std::env::temp_dir())
        .allow_read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
        .allow_env(true);
    if let Some(d) = std::env::var_os("EMBER_DATA").filter(|d| !d.is_empty()) {
        b = b.allow_read(d);
    }
    b
}
