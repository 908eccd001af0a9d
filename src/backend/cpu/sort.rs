//! Sorting rows, and drawing from categorical distributions.

use super::CpuStorage;
use crate::backend::memory;
use anyhow::{Result, bail};
use std::cmp::Ordering;

/// Positions that sort each contiguous row of `len` values (stable; NaNs last in either
/// direction), as i64.
pub fn argsort_rows(x: &CpuStorage, len: usize, descending: bool) -> Result<CpuStorage> {
    fn rows<T: Copy>(
        v: &[T],
        len: usize,
        descending: bool,
        cmp: impl Fn(T, T) -> Ordering,
        nan: impl Fn(T) -> bool,
    ) -> Result<Vec<i64>> {
        let mut out = memory::alloc("argsort", v.len())?;
        let mut idx: Vec<usize> = Vec::new();
        for row in v.chunks(len.max(1)) {
            idx.clear();
            idx.extend(0..row.len());
            idx.sort_by(|&a, &b| {
                let (x, y) = (row[a], row[b]);
                match (nan(x), nan(y)) {
                    (false, false) if descending => cmp(y, x),
                    (false, false) => cmp(x, y),
                    (nx, ny) => nx.cmp(&ny),
                }
            });
            out.extend(idx.iter().map(|&i| i as i64));
        }
        Ok(out)
    }
    if !x.is_empty() && (len == 0 || !x.len().is_multiple_of(len)) {
        bail!("argsort: {} values are not whole rows of {len}", x.len());
    }
    let f = |a: f32, b: f32| a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    Ok(CpuStorage::i64(match x {
        CpuStorage::F32(v) => rows(v, len, descending, f, f32::is_nan)?,
        CpuStorage::I64(v) => rows(v, len, descending, |a: i64, b| a.cmp(&b), |_| false)?,
        CpuStorage::Bool(v) => rows(v, len, descending, |a: bool, b| a.cmp(&b), |_| false)?,
    }))
}

/// `n` draws per row of `k` non-negative weights with replacement, using `u` (uniforms in
/// `[0, 1)`, `rows * n` of them): i64 category indices.
pub fn multinomial(probs: &CpuStorage, k: usize, n: usize, u: &CpuStorage) -> Result<CpuStorage> {
    let op = "multinomial";
    let p = probs.to_f32_vec()?;
    let CpuStorage::F32(u) = u else {
        bail!("{op}: the uniform draws must be f32");
    };
    let rows = p.len().checked_div(k).unwrap_or(0);
    if k == 0 || p.len() != rows * k || rows.checked_mul(n) != Some(u.len()) {
        bail!(
            "{op}: {} weights in rows of {k} do not match {} draws",
            p.len(),
            u.len()
        );
    }
    let mut out = memory::alloc(op, rows * n)?;
    for r in 0..rows {
        let row = &p[r * k..(r + 1) * k];
        if row.iter().any(|&v| v < 0.0 || !v.is_finite()) {
            bail!("{op}: row {r} has negative, infinite or NaN weights");
        }
        let total: f64 = row.iter().map(|&v| v as f64).sum();
        if total <= 0.0 {
            bail!("{op}: row {r} has no positive weight");
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
    Ok(CpuStorage::i64(out))
}
