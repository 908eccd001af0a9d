//! Creating tensors: constants, ranges, identity, and random draws from the global generator.

use crate::tensor::random;
use crate::tensor::shape::numel;
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, bail};

impl Tensor {
    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: f64, dtype: DType, device: Device) -> Result<Tensor> {
        let n = numel(shape);
        match dtype {
            DType::F32 => Tensor::from_f32(vec![value as f32; n], shape, device),
            DType::I64 => Tensor::from_i64(vec![value as i64; n], shape, device),
            DType::Bool => Tensor::from_bool(vec![value != 0.0; n], shape, device),
        }
    }

    /// Zeros of `shape`.
    pub fn zeros(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::full(shape, 0.0, dtype, device)
    }

    /// Ones of `shape`.
    pub fn ones(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::full(shape, 1.0, dtype, device)
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
        if n > crate::tensor::shape::MAX_ELEMENTS as f64 {
            bail!("arange: {n} elements is more than the limit");
        }
        let n = n as usize;
        if integral {
            Tensor::from_i64(
                (0..n)
                    .map(|i| start as i64 + i as i64 * step as i64)
                    .collect(),
                &[n],
                device,
            )
        } else {
            Tensor::from_f32(
                (0..n).map(|i| (start + i as f64 * step) as f32).collect(),
                &[n],
                device,
            )
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
        Tensor::from_f32(
            (0..n).map(|i| (start + i as f64 * step) as f32).collect(),
            &[n],
            device,
        )
    }

    /// The `n × m` identity matrix.
    pub fn eye(n: usize, m: usize, device: Device) -> Result<Tensor> {
        let mut v = vec![0f32; n * m];
        for i in 0..n.min(m) {
            v[i * m + i] = 1.0;
        }
        Tensor::from_f32(v, &[n, m], device)
    }

    /// Uniform draws from `[lo, hi)`.
    pub fn uniform(shape: &[usize], lo: f64, hi: f64, device: Device) -> Result<Tensor> {
        if lo > hi {
            bail!("uniform: low {lo} is greater than high {hi}");
        }
        Tensor::from_f32(
            random::uniform_vec(numel(shape), lo as f32, hi as f32),
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
            random::normal_vec(numel(shape), mean as f32, std as f32),
            shape,
            device,
        )
    }

    /// Uniform integers from `[lo, hi)`.
    pub fn randint(lo: i64, hi: i64, shape: &[usize], device: Device) -> Result<Tensor> {
        if lo >= hi {
            bail!("randint: low {lo} must be below high {hi}");
        }
        Tensor::from_i64(random::int_vec(numel(shape), lo, hi), shape, device)
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
        let p = probs.to_f32_vec();
        let u = random::uniform_vec(rows * n, 0.0, 1.0);
        let mut out = Vec::with_capacity(rows * n);
        for r in 0..rows {
            let row = &p[r * k..(r + 1) * k];
            if row.iter().any(|&v| v < 0.0 || !v.is_finite()) {
                bail!("multinomial: row {r} has negative, infinite or NaN weights");
            }
            let total: f64 = row.iter().map(|&v| v as f64).sum();
            if total <= 0.0 {
                bail!("multinomial: row {r} has no positive weight");
            }
            for j in 0..n {
                let target = u[r * n + j] as f64 * total;
                let mut acc = 0.0;
                let mut pick = k - 1;
                for (i, &v) in row.iter().enumerate() {
                    acc += v as f64;
                    if target < acc {
                        pick = i;
                        break;
                    }
                }
                out.push(pick as i64);
            }
        }
        let mut shape = probs.shape()[..probs.ndim() - 1].to_vec();
        shape.push(n);
        Tensor::from_i64(out, &shape, probs.device())
    }

    /// A random permutation of `0..n` (i64).
    pub fn randperm(n: usize, device: Device) -> Result<Tensor> {
        Tensor::from_i64(random::permutation(n), &[n], device)
    }
}
