//! Max pooling straight from the input planes, keeping where each maximum came from so the
//! backward pass is a scatter rather than a pass over patch columns.

use super::parallel::{for_row_chunks, map_item_ranges};
use crate::backend::Patches;
use crate::backend::memory;
use anyhow::Result;

/// Where a window's maximum came from, for a window that covers no input at all.
pub const NO_SOURCE: i64 = -1;

/// Max over each window of `x [N, C, H, W]`: the output `[N, C, OH, OW]` and, per output, the
/// index within its `[H, W]` plane of the maximum (the first one on ties; NaN wins, as in
/// PyTorch). Padding never wins.
pub fn max_forward(x: &[f32], p: &Patches) -> Result<(Vec<f32>, Vec<i64>)> {
    let (hw, l) = (p.h * p.w, p.out_h() * p.out_w());
    let planes = p.n * p.c;
    let mut out = memory::filled("max_pool2d", planes * l, 0f32)?;
    memory::check::<i64>("max_pool2d", planes * l)?;
    if out.is_empty() {
        return Ok((out, Vec::new()));
    }
    let parallel = out.len() * p.kh * p.kw >= 1 << 16;
    let parts = map_item_ranges(planes, &mut out, l, parallel, |range, outs| {
        let mut idx = Vec::with_capacity(range.len() * l);
        for (plane, dst) in range.zip(outs.chunks_mut(l)) {
            let src = &x[plane * hw..(plane + 1) * hw];
            max_plane(src, p, dst, &mut idx);
        }
        idx
    });
    Ok((out, parts.concat()))
}

/// Whether `s` replaces the running maximum `best` (larger, or the first NaN).
fn beats(s: f32, best: f32) -> bool {
    s > best || (s.is_nan() && !best.is_nan())
}

fn max_plane(src: &[f32], p: &Patches, dst: &mut [f32], idx: &mut Vec<i64>) {
    let unpadded = p.pt + p.pb + p.pl + p.pr == 0 && p.dh == 1 && p.dw == 1;
    // a fold without early exit, so the scan vectorises
    if unpadded && !src.iter().fold(false, |nan, v| nan | v.is_nan()) {
        return max_plane_unpadded(src, p, dst, idx);
    }
    let ow = p.out_w();
    for (k, v) in dst.iter_mut().enumerate() {
        let (y, xo) = (k / ow, k % ow);
        let mut best = f32::NEG_INFINITY;
        let mut at = NO_SOURCE;
        for ki in 0..p.kh {
            let iy = (y * p.sh + ki * p.dh) as isize - p.pt as isize;
            if iy < 0 || iy as usize >= p.h {
                continue;
            }
            for kj in 0..p.kw {
                let ix = (xo * p.sw + kj * p.dw) as isize - p.pl as isize;
                if ix < 0 || ix as usize >= p.w {
                    continue;
                }
                let i = iy as usize * p.w + ix as usize;
                let s = src[i];
                if at == NO_SOURCE || beats(s, best) {
                    best = s;
                    at = i as i64;
                }
            }
        }
        *v = best;
        idx.push(at);
    }
}

/// [`max_plane`] for the common case (no padding or dilation, no NaN in the plane): every tap
/// is inside the plane and a plain `>` decides, with the window walked by index arithmetic.
fn max_plane_unpadded(src: &[f32], p: &Patches, dst: &mut [f32], idx: &mut Vec<i64>) {
    if (p.kh, p.kw, p.sh, p.sw) == (2, 2, 2, 2) {
        return max_plane_2x2(src, p.w, dst, idx);
    }
    let ow = p.out_w();
    for (y, out_row) in dst.chunks_mut(ow).enumerate() {
        let top = y * p.sh * p.w;
        for (xo, v) in out_row.iter_mut().enumerate() {
            let corner = top + xo * p.sw;
            let (mut best, mut at) = (src[corner], corner);
            for ki in 0..p.kh {
                let row = corner + ki * p.w;
                for (j, &s) in src[row..row + p.kw].iter().enumerate() {
                    if s > best {
                        best = s;
                        at = row + j;
                    }
                }
            }
            *v = best;
            idx.push(at as i64);
        }
    }
}

/// The 2x2, stride-2 window (by far the most common) with its four comparisons written out:
/// two independent pairs, then their winners, so no chain of dependent selects forms.
fn max_plane_2x2(src: &[f32], w: usize, dst: &mut [f32], idx: &mut Vec<i64>) {
    let ow = w / 2;
    for (y, out_row) in dst.chunks_mut(ow).enumerate() {
        let base = 2 * y * w;
        let (r0, r1) = (&src[base..base + w], &src[base + w..base + 2 * w]);
        for (xo, v) in out_row.iter_mut().enumerate() {
            let j = 2 * xo;
            let (a, b, c, d) = (r0[j], r0[j + 1], r1[j], r1[j + 1]);
            let (m1, i1) = if b > a { (b, j + 1) } else { (a, j) };
            let (m2, i2) = if d > c { (d, w + j + 1) } else { (c, w + j) };
            let (m, i) = if m2 > m1 { (m2, i2) } else { (m1, i1) };
            *v = m;
            idx.push((base + i) as i64);
        }
    }
}

/// Gradient of [`max_forward`]: each output's gradient goes to the input it came from.
pub fn max_backward(g: &[f32], idx: &[i64], p: &Patches) -> Result<Vec<f32>> {
    let (hw, l) = (p.h * p.w, p.out_h() * p.out_w());
    let mut dx = memory::filled("max_pool2d backward", p.n * p.c * hw, 0f32)?;
    if dx.is_empty() || l == 0 {
        return Ok(dx);
    }
    if let Some(bad) = idx
        .iter()
        .find(|&&i| i != NO_SOURCE && (i < 0 || i as u64 >= hw as u64))
    {
        anyhow::bail!("max_pool2d backward: saved index {bad} is outside a {hw}-element plane");
    }
    for_row_chunks(&mut dx, hw, |plane0, chunk| {
        for (k, plane) in chunk.chunks_mut(hw).enumerate() {
            let at = (plane0 + k) * l;
            for (&gv, &i) in g[at..at + l].iter().zip(&idx[at..at + l]) {
                if i != NO_SOURCE {
                    plane[i as usize] += gv;
                }
            }
        }
    });
    Ok(dx)
}
