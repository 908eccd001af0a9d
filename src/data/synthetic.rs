//! Synthetic data the lessons generate: Gaussian blobs for clustering and random token
//! sequences for sequence-to-sequence tasks. Both draw from the seeded global generator (or
//! their own seed).

use crate::tensor::shape::checked_shape;
use crate::tensor::{Device, Tensor, random};
use anyhow::{Result, bail};

/// Points around random centres.
pub struct Blobs {
    /// `[n_centres, dims]`.
    pub centres: Tensor,
    /// `[n_centres * n_per, dims]`, centre by centre.
    pub points: Tensor,
    /// `[n_centres * n_per]` i64: which centre each point came from.
    pub labels: Tensor,
}

/// `n_centres` centres uniform in `[-range, range]^dims`, `n_per` points around each from
/// N(centre, spread² I).
pub fn blobs(
    n_centres: usize,
    n_per: usize,
    dims: usize,
    spread: f64,
    range: f64,
    device: Device,
) -> Result<Blobs> {
    if n_centres == 0
        || n_per == 0
        || dims == 0
        || spread.is_nan()
        || spread < 0.0
        || range.is_nan()
        || range < 0.0
    {
        bail!(
            "blobs: needs positive counts and non-negative spread and range, got {n_centres} centres, {n_per} per centre, {dims} dims, spread {spread}, range {range}"
        );
    }
    checked_shape("blobs", &[n_centres as i64, n_per as i64, dims as i64])?;
    let c = random::uniform_vec(n_centres * dims, -range as f32, range as f32)?;
    let noise = random::normal_vec(n_centres * n_per * dims, 0.0, spread as f32)?;
    let mut pts = Vec::with_capacity(noise.len());
    let mut labels = Vec::with_capacity(n_centres * n_per);
    for k in 0..n_centres {
        for i in 0..n_per {
            for d in 0..dims {
                pts.push(c[k * dims + d] + noise[(k * n_per + i) * dims + d]);
            }
            labels.push(k as i64);
        }
    }
    Ok(Blobs {
        centres: Tensor::from_f32(c, &[n_centres, dims], device)?,
        points: Tensor::from_f32(pts, &[n_centres * n_per, dims], device)?,
        labels: Tensor::from_i64(labels, &[n_centres * n_per], device)?,
    })
}

/// A batch of random token sequences with lengths uniform in `len_from..=len_to` and tokens
/// uniform in `lo..=hi`: `(tokens [B, max_len] i64 padded with 0 after each sequence, lengths [B])`.
pub fn random_sequences(
    len_from: usize,
    len_to: usize,
    lo: i64,
    hi: i64,
    batch: usize,
    device: Device,
) -> Result<(Tensor, Tensor)> {
    if len_from == 0 || len_from > len_to || lo > hi || batch == 0 {
        bail!(
            "random_sequences: needs 1 <= len_from <= len_to, lo <= hi and a positive batch, got lengths {len_from}..={len_to}, tokens {lo}..={hi}, batch {batch}"
        );
    }
    checked_shape("random_sequences", &[batch as i64, len_to as i64])?;
    let top = |v: i64| {
        v.checked_add(1)
            .ok_or_else(|| anyhow::anyhow!("random_sequences: {v} is too large"))
    };
    let lens = random::int_vec(batch, len_from as i64, top(len_to as i64)?)?;
    let t = *lens.iter().max().unwrap_or(&1) as usize;
    let toks = random::int_vec(batch * t, lo, top(hi)?)?;
    let mut out = crate::backend::memory::filled("random_sequences", batch * t, 0i64)?;
    for (b, &n) in lens.iter().enumerate() {
        out[b * t..b * t + n as usize].copy_from_slice(&toks[b * t..b * t + n as usize]);
    }
    Ok((
        Tensor::from_i64(out, &[batch, t], device)?,
        Tensor::from_i64(lens, &[batch], device)?,
    ))
}
