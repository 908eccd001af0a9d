//! Fused batch normalisation over `[N, C, L]` (L = spatial positions, 1 for `[N, C]`).

use crate::backend::memory;
use anyhow::{Result, bail};

/// Checks `x` fills `[N, C, L]` and each per-channel vector has `C` values.
fn check(
    op: &str,
    x: &[f32],
    (n, c, l): (usize, usize, usize),
    per_channel: &[&[f32]],
) -> Result<()> {
    let fill = n.checked_mul(c).and_then(|v| v.checked_mul(l));
    if fill != Some(x.len()) || per_channel.iter().any(|v| v.len() != c) {
        bail!("{op}: values do not match [{n}, {c}, {l}] with {c} channels");
    }
    Ok(())
}

/// Normalises each channel with the given per-channel `mean` and `invstd`, then applies
/// `weight`/`bias` (when given): `y = (x - mean) * invstd * w + b`.
pub fn normalize(
    x: &[f32],
    (n, c, l): (usize, usize, usize),
    mean: &[f32],
    invstd: &[f32],
    w: Option<&[f32]>,
    b: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let op = "batch_norm";
    let mut chans = vec![mean, invstd];
    chans.extend(w);
    chans.extend(b);
    check(op, x, (n, c, l), &chans)?;
    let mut y = memory::filled(op, x.len(), 0f32)?;
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
    Ok(y)
}

/// Per-channel mean and biased variance of `[N, C, L]`, accumulated in f64.
pub fn channel_stats(x: &[f32], (n, c, l): (usize, usize, usize)) -> Result<(Vec<f32>, Vec<f32>)> {
    let op = "batch_norm";
    check(op, x, (n, c, l), &[])?;
    let count = (n * l) as f64;
    let mut mean = memory::filled(op, c, 0f32)?;
    let mut var = memory::filled(op, c, 0f32)?;
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
    dy: &[f32],
    x: &[f32],
    dims: (usize, usize, usize),
    mean: &[f32],
    invstd: &[f32],
    w: Option<&[f32]>,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let op = "batch_norm backward";
    let (n, c, l) = dims;
    let mut chans = vec![mean, invstd];
    chans.extend(w);
    check(op, x, dims, &chans)?;
    check(op, dy, dims, &[])?;
    let count = (n * l) as f64;
    let mut dx = memory::filled(op, x.len(), 0f32)?;
    let mut dw = memory::filled(op, c, 0f32)?;
    let mut db = memory::filled(op, c, 0f32)?;
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
    Ok((dx, dw, db))
}
