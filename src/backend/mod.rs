//! The device interface. Every op reaches its data through the functions here; each one
//! dispatches on where the storage lives. The CPU backend is in `cpu/`; a CUDA backend plugs in
//! as a second `Storage` variant with the same functions. Backends know nothing of autograd.

pub mod cpu;
pub mod cuda;
pub mod interrupt;
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
use cuda::CudaStorage;
use cuda::ops as gpu;

/// The bytes behind a tensor, on one device. Always contiguous and row-major. Not `Clone`:
/// [`Storage::try_clone`] makes a deep copy (a shallow shared one would let in-place ops alias
/// values saved for backward).
#[derive(Debug)]
pub enum Storage {
    Cpu(CpuStorage),
    /// On a CUDA device or the `cuda-sim` simulator.
    Cuda(CudaStorage),
}

/// The f32 values of a storage, or an error naming `op` (for the fused-kernel dispatchers).
fn f32s<'a>(op: &str, s: &'a Storage) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(&v[..]),
        Storage::Cpu(other) => anyhow::bail!("{op}: expects f32 values, got {}", other.dtype()),
        Storage::Cuda(c) => gpu::fused::unsupported(op, c),
    }
}

/// The error for operands on different devices, naming the op and every device.
fn mixed(op: &str, parts: &[&Storage]) -> anyhow::Error {
    let mut names: Vec<String> = Vec::new();
    for d in parts.iter().map(|s| s.device().to_string()) {
        if !names.contains(&d) {
            names.push(d);
        }
    }
    anyhow::anyhow!(
        "{op}: operands are on different devices ({}); move them to one with .to()",
        names.join(" and ")
    )
}

/// Host f32 values (allocated through `memory`) as a storage.
fn host_f32(v: Vec<f32>) -> Storage {
    Storage::Cpu(CpuStorage::f32(v))
}

pub use cuda::cuda_available;

/// The CUDA device behind `device`, or `None` for the CPU.
fn cuda_device(device: Device) -> Result<Option<std::sync::Arc<cuda::CudaDevice>>> {
    match device {
        Device::Cpu => Ok(None),
        Device::Cuda(_) | Device::CudaSim => cuda::storage::device_for(device).map(Some),
    }
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
            Storage::Cuda(s) => s.dtype(),
        }
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(s) => s.device(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
            Storage::Cuda(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Uploads host values to `device` (checked against the memory limits: the values are
    /// already in host memory, but the tensor they become counts as live).
    pub fn from_f32(data: Vec<f32>, device: Device) -> Result<Storage> {
        if let Some(dev) = cuda_device(device)? {
            return Ok(Storage::Cuda(CudaStorage::from_f32(&dev, &data)?));
        }
        memory::check::<f32>("tensor", data.len())?;
        Ok(Storage::Cpu(CpuStorage::f32(data)))
    }

    /// Uploads host values to `device` (see [`Storage::from_f32`]).
    pub fn from_i64(data: Vec<i64>, device: Device) -> Result<Storage> {
        if let Some(dev) = cuda_device(device)? {
            return Ok(Storage::Cuda(CudaStorage::from_i64(&dev, &data)?));
        }
        memory::check::<i64>("tensor", data.len())?;
        Ok(Storage::Cpu(CpuStorage::i64(data)))
    }

    /// Uploads host values to `device` (see [`Storage::from_f32`]).
    pub fn from_bool(data: Vec<bool>, device: Device) -> Result<Storage> {
        if let Some(dev) = cuda_device(device)? {
            return Ok(Storage::Cuda(CudaStorage::from_bool(&dev, &data)?));
        }
        memory::check::<bool>("tensor", data.len())?;
        Ok(Storage::Cpu(CpuStorage::bool(data)))
    }

    /// `n` copies of `value` as `dtype` on `device`, allocated on the device (`op` names the
    /// creating op in an allocation error).
    pub fn full(op: &str, n: usize, value: f64, dtype: DType, device: Device) -> Result<Storage> {
        if let Some(dev) = cuda_device(device)? {
            return Ok(Storage::Cuda(CudaStorage::full(&dev, dtype, n, value)?));
        }
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
            Storage::Cuda(s) => Ok(Storage::Cuda(s.try_clone()?)),
        }
    }

    /// A copy on another device (through the host between two different CUDA devices).
    pub fn to_device(&self, device: Device) -> Result<Storage> {
        if device == self.device() {
            return self.try_clone();
        }
        match (self, cuda_device(device)?) {
            (Storage::Cuda(s), None) => Ok(Storage::Cpu(match s.dtype() {
                DType::F32 => CpuStorage::f32(s.to_f32_vec()?),
                DType::I64 => CpuStorage::i64(s.to_i64_vec()?),
                DType::Bool => CpuStorage::bool(s.to_bool_vec()?),
            })),
            (Storage::Cpu(s), None) => Ok(Storage::Cpu(s.try_clone()?)),
            (_, Some(dev)) => Ok(Storage::Cuda(match self.dtype() {
                DType::F32 => CudaStorage::from_f32(&dev, &self.to_f32_vec()?)?,
                DType::I64 => CudaStorage::from_i64(&dev, &self.to_i64_vec()?)?,
                DType::Bool => CudaStorage::from_bool(&dev, &self.to_bool_vec()?)?,
            })),
        }
    }

    /// `n` draws from U[lo, hi) on `device` (the session generator on the CPU; Philox on a
    /// CUDA device, seeded from the session seed).
    pub fn uniform(n: usize, lo: f32, hi: f32, device: Device) -> Result<Storage> {
        match cuda_device(device)? {
            Some(dev) => Ok(Storage::Cuda(gpu::random::uniform(&dev, n, lo, hi)?)),
            None => Storage::from_f32(crate::tensor::random::uniform_vec(n, lo, hi)?, device),
        }
    }

    /// `n` draws from N(mean, std²) on `device` (see [`Storage::uniform`]).
    pub fn normal(n: usize, mean: f32, std: f32, device: Device) -> Result<Storage> {
        match cuda_device(device)? {
            Some(dev) => Ok(Storage::Cuda(gpu::random::normal(&dev, n, mean, std)?)),
            None => Storage::from_f32(crate::tensor::random::normal_vec(n, mean, std)?, device),
        }
    }

    /// `n` integers uniform in `[lo, hi)` on `device` (see [`Storage::uniform`]).
    pub fn randint(n: usize, lo: i64, hi: i64, device: Device) -> Result<Storage> {
        match cuda_device(device)? {
            Some(dev) => Ok(Storage::Cuda(gpu::random::int(&dev, n, lo, hi)?)),
            None => Storage::from_i64(crate::tensor::random::int_vec(n, lo, hi)?, device),
        }
    }

    /// Downloads the values as f32 (converting from the stored dtype).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        match self {
            Storage::Cpu(s) => s.to_f32_vec(),
            Storage::Cuda(s) => s.to_f32_vec(),
        }
    }

    /// Downloads the values as i64 (truncating floats toward zero; NaN becomes 0 and
    /// out-of-range values saturate).
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        match self {
            Storage::Cpu(s) => s.to_i64_vec(),
            Storage::Cuda(s) => s.to_i64_vec(),
        }
    }

    /// Downloads the values as bools (non-zero is true).
    pub fn to_bool_vec(&self) -> Result<Vec<bool>> {
        match self {
            Storage::Cpu(s) => s.to_bool_vec(),
            Storage::Cuda(s) => s.to_bool_vec(),
        }
    }

    /// The values converted to `dtype` (floats to integers truncate toward zero, saturating).
    pub fn cast(&self, dtype: DType) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.cast(dtype)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(s.cast(dtype)?)),
        }
    }

    /// True where a value is neither infinite nor NaN.
    pub fn is_finite(&self) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::elementwise::is_finite(s)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::elementwise::is_finite(s)?)),
        }
    }

    /// The first i64 value outside `lo..hi`, if any (index range checks). A device backend
    /// may reduce on the device and read back the one value.
    pub fn first_outside(&self, lo: i64, hi: i64) -> Result<Option<i64>> {
        match self {
            Storage::Cpu(s) => cpu::index::first_outside(s, lo, hi),
            Storage::Cuda(s) => gpu::index::first_outside(s, lo, hi),
        }
    }

    /// Positions that sort each contiguous row of `len` values (stable, NaNs last), as i64.
    pub fn argsort_rows(&self, len: usize, descending: bool) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::sort::argsort_rows(s, len, descending)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::sort::argsort_rows(s, len, descending)?)),
        }
    }

    /// `n` categorical draws per row of `k` weights, from `uniforms` (`rows * n` f32 values in
    /// `[0, 1)`); errors name the first row with a negative, non-finite or all-zero weight.
    pub fn multinomial(&self, k: usize, n: usize, uniforms: &Storage) -> Result<Storage> {
        match (self, uniforms) {
            (Storage::Cpu(p), Storage::Cpu(u)) => {
                Ok(Storage::Cpu(cpu::sort::multinomial(p, k, n, u)?))
            }
            (Storage::Cuda(p), Storage::Cuda(u)) => {
                Ok(Storage::Cuda(gpu::sort::multinomial(p, k, n, u)?))
            }
            (p, u) => Err(mixed("multinomial", &[p, u])),
        }
    }

    pub fn unary(&self, op: UnaryOp) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::elementwise::unary(op, s)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::elementwise::unary(op, s)?)),
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
            (Storage::Cuda(a), Storage::Cuda(b)) => Ok(Storage::Cuda(gpu::elementwise::binary(
                op, a, sa, b, sb, out,
            )?)),
            (a, b) => Err(mixed(&format!("{op:?}"), &[a, b])),
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
            (Storage::Cuda(a), Storage::Cuda(b)) => Ok(Storage::Cuda(gpu::elementwise::compare(
                op, a, sa, b, sb, out,
            )?)),
            (a, b) => Err(mixed(&format!("{op:?}"), &[a, b])),
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
            (Storage::Cuda(a), Storage::Cuda(b)) => Ok(Storage::Cuda(gpu::elementwise::logical(
                op, a, sa, b, sb, out,
            )?)),
            (a, b) => Err(mixed(&format!("{op:?}"), &[a, b])),
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
            (Storage::Cuda(c), Storage::Cuda(a), Storage::Cuda(b)) => Ok(Storage::Cuda(
                gpu::elementwise::select(c, sc, a, sa, b, sb, out)?,
            )),
            (c, a, b) => Err(mixed("where", &[c, a, b])),
        }
    }

    /// Reduces along `axis` (or everything when `None`).
    pub fn reduce(&self, op: ReduceOp, shape: &[usize], axis: Option<usize>) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::reduce::reduce(op, s, shape, axis)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::reduce::reduce(op, s, shape, axis)?)),
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
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::reduce::arg_reduce(op, s, shape, axis)?)),
        }
    }

    pub fn cumsum(&self, shape: &[usize], axis: usize) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::reduce::cumsum(s, shape, axis)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::reduce::cumsum(s, shape, axis)?)),
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
            (Storage::Cuda(a), Storage::Cuda(b)) => Ok(Storage::Cuda(gpu::matmul::matmul(
                a, b, batch, m, k, n, ta, tb,
            )?)),
            (a, b) => Err(mixed("matmul", &[a, b])),
        }
    }

    /// Reorders the axes and makes the result contiguous.
    pub fn permute(&self, shape: &[usize], perm: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::permute(s, shape, perm)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::layout::permute(s, shape, perm)?)),
        }
    }

    /// Materialises a broadcast to `out`.
    pub fn expand(&self, shape: &[usize], out: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::expand(s, shape, out)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::layout::expand(s, shape, out)?)),
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
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::layout::slice(
                s, shape, dim, start, step, len,
            )?)),
        }
    }

    /// Reverses the listed axes.
    pub fn flip(&self, shape: &[usize], dims: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::layout::flip(s, shape, dims)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::layout::flip(s, shape, dims)?)),
        }
    }

    /// Concatenates along `dim`; all parts share dtype and every other dimension.
    pub fn cat(parts: &[(&Storage, &[usize])], dim: usize) -> Result<Storage> {
        let mut cpu_parts: Vec<(&CpuStorage, &[usize])> = Vec::with_capacity(parts.len());
        let mut gpu_parts: Vec<(&CudaStorage, &[usize])> = Vec::new();
        for (s, sh) in parts {
            match s {
                Storage::Cpu(c) => cpu_parts.push((c, *sh)),
                Storage::Cuda(c) => gpu_parts.push((c, *sh)),
            }
        }
        match (cpu_parts.is_empty(), gpu_parts.is_empty()) {
            (_, true) => Ok(Storage::Cpu(cpu::layout::cat(&cpu_parts, dim)?)),
            (true, false) => Ok(Storage::Cuda(gpu::layout::cat(&gpu_parts, dim)?)),
            (false, false) => {
                let all: Vec<&Storage> = parts.iter().map(|p| p.0).collect();
                Err(mixed("cat", &all))
            }
        }
    }

    /// Picks the entries `idx` (i64 in `0..shape[dim]`, else an error) along `dim`.
    pub fn index_select(&self, shape: &[usize], dim: usize, idx: &Storage) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => {
                Ok(Storage::Cpu(cpu::index::index_select(s, shape, dim, i)?))
            }
            (Storage::Cuda(s), Storage::Cuda(i)) => {
                Ok(Storage::Cuda(gpu::index::index_select(s, shape, dim, i)?))
            }
            (s, i) => Err(mixed("index_select", &[s, i])),
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
            (Storage::Cuda(s), Storage::Cuda(i)) => Ok(Storage::Cuda(gpu::index::gather(
                s, shape, dim, i, idx_shape,
            )?)),
            (s, i) => Err(mixed("gather", &[s, i])),
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
            (Storage::Cuda(s), Storage::Cuda(i), Storage::Cuda(v)) => Ok(Storage::Cuda(
                gpu::index::scatter_add(s, shape, dim, i, idx_shape, v)?,
            )),
            (s, i, v) => Err(mixed("scatter_add", &[s, i, v])),
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
            (Storage::Cuda(s), Storage::Cuda(i), Storage::Cuda(v)) => {
                Ok(Storage::Cuda(gpu::index::index_add(s, shape, dim, i, v)?))
            }
            (s, i, v) => Err(mixed("index_add", &[s, i, v])),
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
            (Storage::Cuda(s), Storage::Cuda(i), Storage::Cuda(v)) => {
                gpu::index::index_copy(s, shape, dim, i, v)
            }
            (s, i, v) => Err(mixed("index_put", &[s, i, v])),
        }
    }

    /// Flat positions of the true (non-zero) elements, as i64.
    pub fn nonzero(&self) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::index::nonzero(s)?)),
            Storage::Cuda(s) => Ok(Storage::Cuda(gpu::index::nonzero(s)?)),
        }
    }

    /// Sliding-window patches of `[N, C, H, W]` as columns `[C*kh*kw, N*OH*OW]` (`pad` outside).
    pub fn im2col(&self, p: &Patches, pad: f32) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::conv::im2col(s, p, pad)?)),
            Storage::Cuda(s) => gpu::fused::unsupported("unfold (im2col)", s),
        }
    }

    /// Sums patch columns back into `[N, C, H, W]` (the adjoint of `im2col`).
    pub fn col2im(&self, p: &Patches) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(cpu::conv::col2im(s, p)?)),
            Storage::Cuda(s) => gpu::fused::unsupported("fold (col2im)", s),
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
            (Storage::Cuda(p), _, _, _) => gpu::fused::unsupported("adam step", p),
            (p, g, m, v) => Err(mixed("adam step", &[p, g, m, v])),
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
