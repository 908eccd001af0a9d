//! Fused batch normalisation over `[N, C, L]` (L = spatial positions, 1 for `[N, C]`).

use super::CpuStorage;
use anyhow::{Result, bail};

fn f32s(s: &CpuStorage) -> Result<&Vec<f32>> {
    match s {
        CpuStorage::F32(v) => Ok(v),
        other => bail!("batch_norm needs f32 tensors, got {}", other.dtype()),
    }
}

/// Normalises each channel with the given per-channel `mean` and `invstd`, then applies
/// `weight`/`bias` (when given): `y = (x - mean) * invstd * w + b`.
pub fn normalize(
    x: &CpuStorage,
    (n, c, l): (usize, usize, usize),
    mean: &[f32],
    invstd: &[f32],
    w: Option<&[f32]>,
    b: Option<&[f32]>,
) -> Result<CpuStorage> {
    let x = f32s(x)?;
    let mut y = vec![0f32; x.len()];
    for img in 0..n {
        for ch in 0..c {
            let scale = invstd[ch] * w.map_or(1.0, |w| w[ch]);
            let shift = b.map_or(0.0, |b| b[ch]) - mean[ch] * scale;
            let at = (img * c + ch) * l;
            for (o, &v) in y[at..at + l].iter_mut().zip(&x[at..at + l]) {
                *o = v * scale + shift;
            }
        }
    }
    Ok(CpuStorage::F32(y))
}

/// Per-channel mean and biased variance of `[N, C, L]`, accumulated in f64.
pub fn channel_stats(
    x: &CpuStorage,
    (n, c, l): (usize, usize, usize),
) -> Result<(Vec<f32>, Vec<f32>)> {
    let x = f32s(x)?;
    let count = (n * l) as f64;
    let mut mean = vec![0f32; c];
    let mut var = vec![0f32; c];
    for ch in 0..c {
        let mut s = 0f64;
        for img in 0..n {
            let at = (img * c + ch) * l;
            s += x[at..at + l].iter().map(|&v| v as f64).sum::<f64>();
        }
        let m = s / count;
        let mut q = 0f64;
        for img in 0..n {
            let at = (img * c + ch) * l;
            q += x[at..at + l]
                .iter()
                .map(|&v| (v as f64 - m) * (v as f64 - m))
                .sum::<f64>();
        }
        mean[ch] = m as f32;
        var[ch] = (q / count) as f32;
    }
    Ok((mean, var))
}

/// Backward of training-mode batch norm: with x̂ = (x - mean) * invstd,
/// dx = w * invstd * (dy - mean(dy) - x̂ * mean(dy * x̂)), dw = sum(dy * x̂), db = sum(dy)
/// (means and sums per channel over N and L).
pub fn backward(
    dy: &CpuStorage,
    x: &CpuStorage,
    dims: (usize, usize, usize),
    mean: &[f32],
    invstd: &[f32],
    w: Option<&[f32]>,
) -> Result<(CpuStorage, Vec<f32>, Vec<f32>)> {
    let (n, c, l) = dims;
    let (dy, x) = (f32s(dy)?, f32s(x)?);
    let count = (n * l) as f64;
    let mut dx = vec![0f32; x.len()];
    let mut dw = vec![0f32; c];
    let mut db = vec![0f32; c];
    for ch in 0..c {
        let (m, is) = (mean[ch], invstd[ch]);
        let (mut sum_dy, mut sum_dy_xhat) = (0f64, 0f64);
        for img in 0..n {
            let at = (img * c + ch) * l;
            for (&g, &v) in dy[at..at + l].iter().zip(&x[at..at + l]) {
                sum_dy += g as f64;
                sum_dy_xhat += (g * (v - m) * is) as f64;
            }
        }
        db[ch] = sum_dy as f32;
        dw[ch] = sum_dy_xhat as f32;
        let (mean_dy, mean_dy_xhat) = ((sum_dy / count) as f32, (sum_dy_xhat / count) as f32);
        let k = is * w.map_or(1.0, |w| w[ch]);
        for img in 0..n {
            let at = (img * c + ch) * l;
            for ((o, &g), &v) in dx[at..at + l]
                .iter_mut()
                .zip(&dy[at..at + l])
                .zip(&x[at..at + l])
            {
                let xhat = (v - m) * is;
                *o = k * (g - mean_dy - xhat * mean_dy_xhat);
            }
        }
    }
    Ok((CpuStorage::F32(dx), dw, db))
}
