//! The device interface. Every op reaches its data through the functions here; each one
//! dispatches on where the storage lives. The CPU backend is in `cpu/`; a CUDA backend plugs in
//! as a second `Storage` variant with the same functions. Backends know nothing of autograd.

pub mod cpu;
pub mod cuda;
mod kinds;
mod recurrent;
mod window;
pub use window::Wanted;

pub use kinds::{
    AdamStep, ArgReduceOp, BinaryOp, CompareOp, LogicalOp, Patches, ReduceOp, UnaryOp,
};

use crate::tensor::{DType, Device};
use anyhow::Result;
use cpu::CpuStorage;

/// The bytes behind a tensor, on one device. Always contiguous and row-major.
#[derive(Clone, Debug)]
pub enum Storage {
    Cpu(CpuStorage),
}

/// The f32 values of a storage, or an error naming `op` (for the fused-kernel dispatchers).
fn f32s<'a>(op: &str, s: &'a Storage) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(v),
        Storage::Cpu(other) => anyhow::bail!("{op}: expects f32 values, got {}", other.dtype()),
    }
}

/// Host f32 values as a storage.
fn host_f32(v: Vec<f32>) -> Storage {
    Storage::Cpu(CpuStorage::F32(v))
}

pub use cuda::cuda_available;

fn on_device(device: Device) -> Result<()> {
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda(_) => anyhow::bail!("device {device}: {}", cuda_available().1),
    }
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
        }
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Uploads host values to `device`.
    pub fn from_f32(data: Vec<f32>, device: Device) -> Result<Storage> {
        on_device(device)?;
        Ok(Storage::Cpu(CpuStorage::F32(data)))
    }

    /// Uploads host values to `device`.
    pub fn from_i64(data: Vec<i64>, device: Device) -> Result<Storage> {
        on_device(device)?;
        Ok(Storage::Cpu(CpuStorage::I64(data)))
    }

    /// Uploads host values to `device`.
    pub fn from_bool(data: Vec<bool>, device: Device) -> Result<Storage> {
        on_device(device)?;
        Ok(Storage::Cpu(CpuStorage::Bool(data)))
    }

    /// Moves the storage to another device.
    pub fn to_device(&self, device: Device) -> Result<Storage> {
        on_device(device)?;
        Ok(self.clone())
    }

    /// Downloads the values as f32 (converting from the stored dtype).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self {
            Storage::Cpu(s) => s.to_f32_vec(),
        }
    }

    /// Downloads the values as i64 (truncating floats toward zero).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            Storage::Cpu(s) => s.to_i64_vec(),
        }
    }

    /// Downloads the values as bools (non-zero is true).
    pub fn to_bool_vec(&self) -> Vec<bool> {
        match self {
            Storage::Cpu(s) => s.to_bool_vec(),
        }
    }

    pub fn cast(&self, dtype: DType) -> Storage {
        match self {
            Storage::Cpu(s) => Storage::Cpu(s.cast(dtype)),
        }
    }

    pub fn unary(&self, op: UnaryOp) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::elementwise::unary(op, s)?)),
        }
    }

    /// Elementwise arithmetic with broadcasting. Both operands share a dtype.
    pub fn binary(
        op: BinaryOp,
        a: &Storage,
        sa: &[usize],
        b: &Storage,
        sb: &[usize],
        out: &[usize],
    ) -> Result<Storage> {
        match (a, b) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::elementwise::binary(
                op, a, sa, b, sb, out,
            )?)),
        }
    }

    /// Elementwise comparison with broadcasting, giving bools. Both operands share a dtype.
    pub fn compare(
        op: CompareOp,
        a: &Storage,
        sa: &[usize],
        b: &Storage,
        sb: &[usize],
        out: &[usize],
    ) -> Result<Storage> {
        match (a, b) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::elementwise::compare(
                op, a, sa, b, sb, out,
            )?)),
        }
    }

    /// Elementwise logic on bools with broadcasting.
    pub fn logical(
        op: LogicalOp,
        a: &Storage,
        sa: &[usize],
        b: &Storage,
        sb: &[usize],
        out: &[usize],
    ) -> Result<Storage> {
        match (a, b) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::elementwise::logical(
                op, a, sa, b, sb, out,
            )?)),
        }
    }

    /// `cond ? a : b` elementwise with broadcasting of all three.
    #[allow(clippy::too_many_arguments)]
    pub fn select(
        cond: &Storage,
        sc: &[usize],
        a: &Storage,
        sa: &[usize],
        b: &Storage,
        sb: &[usize],
        out: &[usize],
    ) -> Result<Storage> {
        match (cond, a, b) {
            (Storage::Cpu(c), Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(
                cpu::elementwise::select(c, sc, a, sa, b, sb, out)?,
            )),
        }
    }

    /// Reduces along `axis` (or everything when `None`).
    pub fn reduce(&self, op: ReduceOp, shape: &[usize], axis: Option<usize>) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::reduce::reduce(op, s, shape, axis)?)),
        }
    }

    /// Index of the largest/smallest element along `axis` (or of the flattened tensor).
    pub fn arg_reduce(
        &self,
        op: ArgReduceOp,
        shape: &[usize],
        axis: Option<usize>,
    ) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::reduce::arg_reduce(op, s, shape, axis)?)),
        }
    }

    pub fn cumsum(&self, shape: &[usize], axis: usize) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::reduce::cumsum(s, shape, axis)?)),
        }
    }

    /// Batched matrix product `op(A) [batch, m, k] x op(B) [batch, k, n]`; `ta`/`tb` say the
    /// operand is stored transposed (`[batch, k, m]` / `[batch, n, k]`) and is read that way.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        a: &Storage,
        b: &Storage,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
    ) -> Result<Storage> {
        match (a, b) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::matmul::matmul(
                a, b, batch, m, k, n, ta, tb,
            )?)),
        }
    }

    /// Reorders the axes and makes the result contiguous.
    pub fn permute(&self, shape: &[usize], perm: &[usize]) -> Storage {
        match self {
            Storage::Cpu(s) => Storage::Cpu(cpu::layout::permute(s, shape, perm)),
        }
    }

    /// Materialises a broadcast to `out`.
    pub fn expand(&self, shape: &[usize], out: &[usize]) -> Storage {
        match self {
            Storage::Cpu(s) => Storage::Cpu(cpu::layout::expand(s, shape, out)),
        }
    }

    /// Elements `start, start+step, ...` (`len` of them) along `dim`.
    pub fn slice(
        &self,
        shape: &[usize],
        dim: usize,
        start: usize,
        step: usize,
        len: usize,
    ) -> Storage {
        match self {
            Storage::Cpu(s) => Storage::Cpu(cpu::layout::slice(s, shape, dim, start, step, len)),
        }
    }

    /// Reverses the listed axes.
    pub fn flip(&self, shape: &[usize], dims: &[usize]) -> Storage {
        match self {
            Storage::Cpu(s) => Storage::Cpu(cpu::layout::flip(s, shape, dims)),
        }
    }

    /// Concatenates along `dim`; all parts share dtype and every other dimension.
    pub fn cat(parts: &[(&Storage, &[usize])], dim: usize) -> Result<Storage> {
        let cpu_parts: Vec<(&CpuStorage, &[usize])> = parts
            .iter()
            .map(|(s, sh)| match s {
                Storage::Cpu(c) => (c, *sh),
            })
            .collect();
        Ok(Storage::Cpu(cpu::layout::cat(&cpu_parts, dim)?))
    }

    /// Picks the entries `idx` (i64, already range-checked) along `dim`.
    pub fn index_select(&self, shape: &[usize], dim: usize, idx: &Storage) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => {
                Ok(Storage::Cpu(cpu::index::index_select(s, shape, dim, i)?))
            }
        }
    }

    /// `out[i][j] = self[idx[i][j]][j]` style gather along `dim` (indices range-checked).
    pub fn gather(
        &self,
        shape: &[usize],
        dim: usize,
        idx: &Storage,
        idx_shape: &[usize],
    ) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => Ok(Storage::Cpu(cpu::index::gather(
                s, shape, dim, i, idx_shape,
            )?)),
        }
    }

    /// Returns a copy of `self` with `src` added at positions `idx` along `dim` (scatter_add).
    pub fn scatter_add(
        &self,
        shape: &[usize],
        dim: usize,
        idx: &Storage,
        idx_shape: &[usize],
        src: &Storage,
    ) -> Result<Storage> {
        match (self, idx, src) {
            (Storage::Cpu(s), Storage::Cpu(i), Storage::Cpu(v)) => Ok(Storage::Cpu(
                cpu::index::scatter_add(s, shape, dim, i, idx_shape, v)?,
            )),
        }
    }

    /// Returns a copy of `self` with the slices of `src` added at entries `idx` along `dim`.
    pub fn index_add(
        &self,
        shape: &[usize],
        dim: usize,
        idx: &Storage,
        src: &Storage,
    ) -> Result<Storage> {
        match (self, idx, src) {
            (Storage::Cpu(s), Storage::Cpu(i), Storage::Cpu(v)) => {
                Ok(Storage::Cpu(cpu::index::index_add(s, shape, dim, i, v)?))
            }
        }
    }

    /// Writes the slices of `src` over entries `idx` along `dim`, in place.
    pub fn index_copy_(
        &mut self,
        shape: &[usize],
        dim: usize,
        idx: &Storage,
        src: &Storage,
    ) -> Result<()> {
        match (self, idx, src) {
            (Storage::Cpu(s), Storage::Cpu(i), Storage::Cpu(v)) => {
                cpu::index::index_copy(s, shape, dim, i, v)
            }
        }
    }

    /// Flat positions of the true (non-zero) elements, as i64.
    pub fn nonzero(&self) -> Storage {
        match self {
            Storage::Cpu(s) => Storage::Cpu(cpu::index::nonzero(s)),
        }
    }

    /// Sliding-window patches of `[N, C, H, W]` as columns `[C*kh*kw, N*OH*OW]` (`pad` outside).
    pub fn im2col(&self, p: &Patches, pad: f32) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::conv::im2col(s, p, pad)?)),
        }
    }

    /// Sums patch columns back into `[N, C, H, W]` (the adjoint of `im2col`).
    pub fn col2im(&self, p: &Patches) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::conv::col2im(s, p)?)),
        }
    }

    /// One fused Adam/AdamW update of a parameter and its two moment buffers, in place.
    pub fn adam_step(
        p: &mut Storage,
        g: &Storage,
        m: &mut Storage,
        v: &mut Storage,
        step: &AdamStep,
    ) -> Result<()> {
        match (p, g, m, v) {
            (Storage::Cpu(p), Storage::Cpu(g), Storage::Cpu(m), Storage::Cpu(v)) => {
                cpu::fused::adam(p, g, m, v, step)
            }
        }
    }

    /// Per-channel mean and biased variance of `[N, C, L]` data (host vectors of length C).
    pub fn channel_stats(&self, dims: (usize, usize, usize)) -> Result<(Vec<f32>, Vec<f32>)> {
        match self {
            Storage::Cpu(s) => cpu::norm::channel_stats(s, dims),
        }
    }

    /// `(x - mean) * invstd * w + b` per channel of `[N, C, L]`.
    pub fn channel_normalize(
        &self,
        dims: (usize, usize, usize),
        mean: &[f32],
        invstd: &[f32],
        w: Option<&[f32]>,
        b: Option<&[f32]>,
    ) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::norm::normalize(
                s, dims, mean, invstd, w, b,
            )?)),
        }
    }

    /// Gradients of training-mode batch norm: (dx, dweight, dbias).
    pub fn batch_norm_backward(
        dy: &Storage,
        x: &Storage,
        dims: (usize, usize, usize),
        mean: &[f32],
        invstd: &[f32],
        w: Option<&[f32]>,
    ) -> Result<(Storage, Vec<f32>, Vec<f32>)> {
        match (dy, x) {
            (Storage::Cpu(dy), Storage::Cpu(x)) => {
                let (dx, dw, db) = cpu::norm::backward(dy, x, dims, mean, invstd, w)?;
                Ok((Storage::Cpu(dx), dw, db))
            }
        }
    }
}
