//! Where a tensor's storage lives.

use std::fmt;

/// A compute device. Every tensor carries one; ops run on the device of their operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    Cuda(usize),
    /// The CUDA simulator: the CUDA backend's kernels run on the CPU. A testing aid for kernel
    /// authors (slow; not for training).
    CudaSim,
}

impl Device {
    /// Parses `"cpu"`, `"cuda"`, `"cuda:N"`, `"cuda-sim"` or `"auto"` (CUDA when available,
    /// else CPU).
    pub fn parse(name: &str) -> anyhow::Result<Device> {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "cpu" => Ok(Device::Cpu),
            "auto" => Ok(Device::default_device()),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            "cuda-sim" => Ok(Device::CudaSim),
            s if s.starts_with("cuda:") => s[5..]
                .parse()
                .map(Device::Cuda)
                .map_err(|_| anyhow::anyhow!("bad device {name:?}: expected cuda:N")),
            _ => anyhow::bail!(
                "unknown device {name:?} (expected cpu, cuda, cuda:N, cuda-sim or auto)"
            ),
        }
    }

    /// The device used when none is named: `EMBER_DEVICE` if set and valid, else CUDA when
    /// available, else the CPU.
    pub fn default_device() -> Device {
        if let Ok(name) = std::env::var("EMBER_DEVICE")
            && name != "auto"
            && let Ok(d) = Device::parse(&name)
        {
            return d;
        }
        if crate::backend::cuda_available().0 {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
            Device::CudaSim => f.write_str("cuda-sim"),
        }
    }
}
