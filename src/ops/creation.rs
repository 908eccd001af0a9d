//! Creating tensors: constants, ranges, identity, and random draws from the global generator.

use crate::backend::{Storage, memory};
use crate::tensor::random;
use crate::tensor::shape::checked_numel;
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, bail};

impl Tensor {
    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: f64, dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::filled("full", shape, value, dtype, device)
    }

    /// [`Tensor::full`] with the creating op (`zeros`, `ones`...) named in errors.
    pub fn filled(
        op: &str,
        shape: &[usize],
        value: f64,
        dtype: DType,
        device: Device,
    ) -> Result<Tensor> {
        let n = checked_numel(op, shape)?;
        Ok(Tensor::from_storage(
            Storage::full(op, n, value, dtype, device)?,
            shape.to_vec(),
        ))
    }

    /// Zeros of `shape`.
    pub fn zeros(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::filled("zeros", shape, 0.0, dtype, device)
    }

    /// Ones of `shape`.
    pub fn ones(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::filled("ones", shape, 1.0, dtype, device)
    }

    /// Zeros with the shape, dtype and device of `t`.
    pub fn zeros_like(t: &Tensor) -> Result<Tensor> {
        Tensor::zeros(t.shape(), t.dtype(), t.device())
    }

    /// Ones with the shape, dtype and device of `t`.
    pub fn ones_like(t: &Tensor) -> Result<Tensor> {
        Tensor::ones(t.shape(), t.dtype(), t.device())
    }

    /// `start, start+step, ...` below `end`: i64 when all three are integral, else f32.
    pub fn arange(
        start: f64,
        end: f64,
        step: f64,
        integral: bool,
        device: Device,
    ) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() {
            bail!("arange: step must be non-zero and finite, got {step}");
        }
        let n = ((end - start) / step).ceil().max(0.0);
        if !n.is_finite() || n >= isize::MAX as f64 {
            bail!("arange: from {start} to {end} by {step} has too many elements");
        }
        let n = n as usize;
        if integral {
            let (s, d) = (start as i64, step as i64);
            let values = (0..n).map(|i| s.wrapping_add((i as i64).wrapping_mul(d)));
            Tensor::from_i64(memory::collect("arange", n, values)?, &[n], device)
        } else {
            let values = (0..n).map(|i| (start + i as f64 * step) as f32);
            Tensor::from_f32(memory::collect("arange", n, values)?, &[n], device)
        }
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive.
    pub fn linspace(start: f64, end: f64, steps: i64, device: Device) -> Result<Tensor> {
        if steps < 0 {
            bail!("linspace: steps must be non-negative, got {steps}");
        }
        let n = steps as usize;
        let step = if n > 1 {
            (end - start) / (n - 1) as f64
        } else {
            0.0
        };
        let values = (0..n).map(|i| (start + i as f64 * step) as f32);
        Tensor::from_f32(memory::collect("linspace", n, values)?, &[n], device)
    }

    /// The `n × m` identity matrix.
    pub fn eye(n: usize, m: usize, device: Device) -> Result<Tensor> {
        let size = checked_numel("eye", &[n, m])?;
        let mut v = memory::filled("eye", size, 0f32)?;
        for i in 0..n.min(m) {
            v[i * m + i] = 1.0;
        }
        Tensor::from_f32(v, &[n, m], device)
    }

    // `uniform`, `normal`, `randint` and `randperm` draw from the session's host generator on
    // every device (and upload), so one seed gives the same tensors on the CPU and on a GPU:
    // scripts that check their results under a fixed seed behave alike everywhere. Random
    // numbers an op needs inside (dropout masks, multinomial draws) are generated on the
    // device itself (`Storage::uniform`: Philox from the session seed).

    /// Uniform draws from `[lo, hi)`.
    pub fn uniform(shape: &[usize], lo: f64, hi: f64, device: Device) -> Result<Tensor> {
        if lo > hi {
            bail!("uniform: low {lo} is greater than high {hi}");
        }
        Tensor::from_f32(
            random::uniform_vec(checked_numel("uniform", shape)?, lo as f32, hi as f32)?,
            shape,
            device,
        )
    }

    /// Normal draws with the given mean and standard deviation.
    pub fn normal(shape: &[usize], mean: f64, std: f64, device: Device) -> Result<Tensor> {
        if std < 0.0 {
            bail!("normal: standard deviation must be non-negative, got {std}");
        }
        Tensor::from_f32(
            random::normal_vec(checked_numel("normal", shape)?, mean as f32, std as f32)?,
            shape,
            device,
        )
    }

    /// Uniform integers from `[lo, hi)`.
    pub fn randint(lo: i64, hi: i64, shape: &[usize], device: Device) -> Result<Tensor> {
        if lo >= hi {
            bail!("randint: low {lo} must be below high {hi}");
        }
        let n = checked_numel("randint", shape)?;
        Tensor::from_i64(random::int_vec(n, lo, hi)?, shape, device)
    }

    /// `n` draws per row from the categorical distributions in the last dimension of `probs`
    /// (non-negative weights, not necessarily normalised), with replacement: i64 `[..., n]`.
    pub fn multinomial(probs: &Tensor, n: usize) -> Result<Tensor> {
        if probs.ndim() == 0 || probs.ndim() > 2 {
            bail!(
                "multinomial: expects probabilities [K] or [rows, K], got shape {:?}",
                probs.shape()
            );
        }
        let k = probs.shape()[probs.ndim() - 1];
        let rows = probs.numel() / k.max(1);
        let Some(draws) = rows.checked_mul(n) else {
            bail!("multinomial: {rows} rows of {n} draws have too many elements");
        };
        // The uniforms are drawn where the probabilities live (Philox on a CUDA device).
        let u = Storage::uniform(draws, 0.0, 1.0, probs.device())?;
        let st = probs.storage().multinomial(k, n, &u)?;
        let mut shape = probs.shape()[..probs.ndim() - 1].to_vec();
        shape.push(n);
        Ok(Tensor::from_storage(st, shape))
    }

    /// A random permutation of `0..n` (i64).
    pub fn randperm(n: usize, device: Device) -> Result<Tensor> {
        Tensor::from_i64(random::permutation(n)?, &[n], device)
    }
}
