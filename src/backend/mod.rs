//! The device interface. Every op reaches its data through the functions here; each one
//! dispatches on where the storage lives. The CPU backend is in `cpu/`; a CUDA backend plugs in
//! as a second `Storage` variant with the same functions. Backends know nothing of autograd.

pub mod cpu;
pub mod cuda;
mod kinds;
pub mod memory;
mod recurrent;
mod window;
pub use window::Wanted;

pub use kinds::{
    AdamStep, ArgReduceOp, BinaryOp, CompareOp, LogicalOp, Patches, ReduceOp, UnaryOp,
};

use crate::tensor::{DType, Device};
use anyhow::Result;
use cpu::CpuStorage;

/// The bytes behind a tensor, on one device. Always contiguous and row-major. Not `Clone`:
/// [`Storage::try_clone`] makes a deep copy (a shallow shared one would let in-place ops alias
/// values saved for backward).
#[derive(Debug)]
pub enum Storage {
    Cpu(CpuStorage),
}

/// The f32 values of a storage, or an error naming `op` (for the fused-kernel dispatchers).
fn f32s<'a>(op: &str, s: &'a Storage) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(&v[..]),
        Storage::Cpu(other) => anyhow::bail!("{op}: expects f32 values, got {}", other.dtype()),
    }
}

/// Host f32 values (allocated through `memory`) as a storage.
fn host_f32(v: Vec<f32>) -> Storage {
    Storage::Cpu(CpuStorage::f32(v))
}

pub use cuda::cuda_available;

fn on_device(device: Device) -> Result<()> {
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda(_) | Device::CudaSim => {
            anyhow::bail!("device {device}: {}", cuda_available().1)
        }
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

    /// Uploads host values to `device` (checked against the memory limits: the values are
    /// already in host memory, but the tensor they become counts as live).
    pub fn from_f32(data: Vec<f32>, device: Device) -> Result<Storage> {
        on_device(device)?;
        memory::check::<f32>("tensor", data.len())?;
        Ok(Storage::Cpu(CpuStorage::f32(data)))
    }

    /// Uploads host values to `device` (see [`Storage::from_f32`]).
    pub fn from_i64(data: Vec<i64>, device: Device) -> Result<Storage> {
        on_device(device)?;
        memory::check::<i64>("tensor", data.len())?;
        Ok(Storage::Cpu(CpuStorage::i64(data)))
    }

    /// Uploads host values to `device` (see [`Storage::from_f32`]).
    pub fn from_bool(data: Vec<bool>, device: Device) -> Result<Storage> {
        on_device(device)?;
        memory::check::<bool>("tensor", data.len())?;
        Ok(Storage::Cpu(CpuStorage::bool(data)))
    }

    /// `n` copies of `value` as `dtype` on `device`, allocated on the device (`op` names the
    /// creating op in an allocation error).
    pub fn full(op: &str, n: usize, value: f64, dtype: DType, device: Device) -> Result<Storage> {
        on_device(device)?;
        Ok(Storage::Cpu(match dtype {
            DType::F32 => CpuStorage::f32(memory::filled(op, n, value as f32)?),
            DType::I64 => CpuStorage::i64(memory::filled(op, n, value as i64)?),
            DType::Bool => CpuStorage::bool(memory::filled(op, n, value != 0.0)?),
        }))
    }

    /// A deep copy on the same device.
    pub fn try_clone(&self) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.try_clone()?)),
        }
    }

    /// A copy on another device.
    pub fn to_device(&self, device: Device) -> Result<Storage> {
        on_device(device)?;
        self.try_clone()
    }

    /// Downloads the values as f32 (converting from the stored dtype).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        match self {
            Storage::Cpu(s) => s.to_f32_vec(),
        }
    }

    /// Downloads the values as i64 (truncating floats toward zero; NaN becomes 0 and
    /// out-of-range values saturate).
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        match self {
            Storage::Cpu(s) => s.to_i64_vec(),
        }
    }

    /// Downloads the values as bools (non-zero is true).
    pub fn to_bool_vec(&self) -> Result<Vec<bool>> {
        match self {
            Storage::Cpu(s) => s.to_bool_vec(),
        }
    }

    /// The values converted to `dtype` (floats to integers truncate toward zero, saturating).
    pub fn cast(&self, dtype: DType) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.cast(dtype)?)),
        }
    }

    /// True where a value is neither infinite nor NaN.
    pub fn is_finite(&self) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::elementwise::is_finite(s)?)),
        }
    }

    /// The first i64 value outside `lo..hi`, if any (index range checks). A device backend
    /// may reduce on the device and read back the one value.
    pub fn first_outside(&self, lo: i64, hi: i64) -> Result<Option<i64>> {
        match self {
            Storage::Cpu(s) => cpu::index::first_outside(s, lo, hi),
        }
    }

    /// Positions that sort each contiguous row of `len` values (stable, NaNs last), as i64.
    pub fn argsort_rows(&self, len: usize, descending: bool) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::sort::argsort_rows(s, len, descending)?)),
        }
    }

    /// `n` categorical draws per row of `k` weights, from `uniforms` (`rows * n` f32 values in
    /// `[0, 1)`); errors name the first row with a negative, non-finite or all-zero weight.
    pub fn multinomial(&self, k: usize, n: usize, uniforms: &Storage) -> Result<Storage> {
        match (self, uniforms) {
            (Storage::Cpu(p), Storage::Cpu(u)) => {
                Ok(Storage::Cpu(cpu::sort::multinomial(p, k, n, u)?))
            }
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
    pub fn permute(&self, shape: &[usize], perm: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::permute(s, shape, perm)?)),
        }
    }

    /// Materialises a broadcast to `out`.
    pub fn expand(&self, shape: &[usize], out: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::expand(s, shape, out)?)),
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
    ) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::slice(
                s, shape, dim, start, step, len,
            )?)),
        }
    }

    /// Reverses the listed axes.
    pub fn flip(&self, shape: &[usize], dims: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::flip(s, shape, dims)?)),
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

    /// Picks the entries `idx` (i64 in `0..shape[dim]`, else an error) along `dim`.
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
    pub fn nonzero(&self) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::index::nonzero(s)?)),
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

    /// Per-channel mean and biased variance of `[N, C, L]` data (f32 storages of length C).
    pub fn channel_stats(&self, dims: (usize, usize, usize)) -> Result<(Storage, Storage)> {
        let (mean, var) = cpu::norm::channel_stats(f32s("batch_norm", self)?, dims)?;
        Ok((host_f32(mean), host_f32(var)))
    }

    /// `(x - mean) * invstd * w + b` per channel of `[N, C, L]` (per-channel f32 storages).
    pub fn channel_normalize(
        &self,
        dims: (usize, usize, usize),
        mean: &Storage,
        invstd: &Storage,
        w: Option<&Storage>,
        b: Option<&Storage>,
    ) -> Result<Storage> {
        let op = "batch_norm";
        let w = w.map(|w| f32s(op, w)).transpose()?;
        let b = b.map(|b| f32s(op, b)).transpose()?;
        Ok(host_f32(cpu::norm::normalize(
            f32s(op, self)?,
            dims,
            f32s(op, mean)?,
            f32s(op, invstd)?,
            w,
            b,
        )?))
    }

    /// Gradients of training-mode batch norm: (dx, dweight, dbias), the last two of length C.
    pub fn batch_norm_backward(
        dy: &Storage,
        x: &Storage,
        dims: (usize, usize, usize),
        mean: &Storage,
        invstd: &Storage,
        w: Option<&Storage>,
    ) -> Result<(Storage, Storage, Storage)> {
        let op = "batch_norm backward";
        let w = w.map(|w| f32s(op, w)).transpose()?;
        let (dx, dw, db) = cpu::norm::backward(
            f32s(op, dy)?,
            f32s(op, x)?,
            dims,
            f32s(op, mean)?,
            f32s(op, invstd)?,
            w,
        )?;
        Ok((host_f32(dx), host_f32(dw), host_f32(db)))
    }
}
