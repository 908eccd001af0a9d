//! Devices for scripts: moving tensors (`cuda`, `cpu`; `to` is in `info.rs`), the default
//! device of new tensors, and CUDA memory.

use super::convert::{IntoRR, RR, fail};
use super::registrar::Api;
use crate::tensor::{Device, Tensor};
use rhai::{Dynamic, ImmutableString, Map};

fn memory_map(device: Device) -> RR<Map> {
    let m = crate::backend::cuda::memory(device).rr()?;
    let mut out = Map::new();
    out.insert("device".into(), Dynamic::from(device.to_string()));
    out.insert("allocated".into(), Dynamic::from(m.allocated as i64));
    out.insert("reserved".into(), Dynamic::from(m.reserved as i64));
    Ok(out)
}

pub fn register(api: &mut Api) {
    reg!(
        api,
        "cuda",
        "cuda(x) — the tensor on the first CUDA device (an error saying why when there is none)",
        |x: &mut Tensor| x.to_device(Device::Cuda(0)).rr()
    );
    reg!(
        api,
        "cuda",
        "cuda(x, n) — the tensor on CUDA device n",
        |x: &mut Tensor, n: i64| {
            if n < 0 {
                return fail(format!("cuda: device number {n} is negative"));
            }
            x.to_device(Device::Cuda(n as usize)).rr()
        }
    );
    reg!(
        api,
        "cpu",
        "cpu(x) — the tensor on the CPU (copied from a device; the same tensor when already there)",
        |x: &mut Tensor| x.to_device(Device::Cpu).rr()
    );
    reg!(
        api,
        "set_default_device",
        "set_default_device(name) — where new tensors go: \"cpu\", \"cuda\", \"cuda:N\", \"cuda-sim\" (the CUDA kernels simulated on the CPU, for testing) or \"auto\"",
        |name: ImmutableString| -> RR<()> {
            let d = Device::parse(&name).rr()?;
            if d != Device::Cpu {
                // Refuse a device that cannot run, with the reason, before any tensor needs it.
                crate::backend::cuda::device_name(d).rr()?;
            }
            super::convert::set_default_device(d);
            Ok(())
        }
    );
    reg!(
        api,
        "cuda_memory",
        "cuda_memory() — bytes #{allocated, reserved} on the default device (cuda:0 when it is the CPU)",
        || -> RR<Map> {
            let d = match super::convert::default_device() {
                Device::Cpu => Device::Cuda(0),
                d => d,
            };
            memory_map(d)
        }
    );
    reg!(
        api,
        "cuda_memory",
        "cuda_memory(device) — bytes #{allocated, reserved} on a CUDA device (\"cuda:1\", \"cuda-sim\")",
        |name: ImmutableString| -> RR<Map> { memory_map(Device::parse(&name).rr()?) }
    );
    reg!(
        api,
        "empty_cache",
        "empty_cache() — gives the memory CUDA devices keep for reuse back to the driver",
        || crate::backend::cuda::empty_cache().rr()
    );
}
