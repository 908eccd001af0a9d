//! im2col / col2im: the patch layout behind convolution and pooling, for one image (the fused
//! convolution works image by image, in cache) and for a whole batch (`unfold`).

use super::CpuStorage;
use super::parallel::for_row_chunks;
use crate::backend::Patches;
use crate::backend::memory;
use anyhow::{Result, bail};

/// The output columns `lo..hi` whose input column `xo * sw + kj * dw - pl` lies inside `0..w`.
fn valid_cols(p: &Patches, kj: usize) -> (usize, usize) {
    let (ow, off) = (p.out_w(), kj * p.dw);
    let lo = p.pl.saturating_sub(off).div_ceil(p.sw).min(ow);
    let hi = (p.w + p.pl)
        .saturating_sub(off)
        .div_ceil(p.sw)
        .clamp(lo, ow);
    (lo, hi)
}

/// Fills `dst` (`OH*OW` values) with the input under kernel tap `(ki, kj)` of one plane
/// `[H, W]` at every output position, `pad` outside the input.
fn patch_row(plane: &[f32], p: &Patches, ki: usize, kj: usize, pad: f32, dst: &mut [f32]) {
    let (ow, (lo, hi)) = (p.out_w(), valid_cols(p, kj));
    for (y, row) in dst.chunks_mut(ow).enumerate() {
        let iy = (y * p.sh + ki * p.dh) as isize - p.pt as isize;
        if iy < 0 || iy as usize >= p.h {
            row.fill(pad);
            continue;
        }
        let src = &plane[iy as usize * p.w..(iy as usize + 1) * p.w];
        row[..lo].fill(pad);
        row[hi..].fill(pad);
        let x0 = lo * p.sw + kj * p.dw - p.pl;
        if p.sw == 1 {
            // an element loop rather than copy_from_slice: rows are short (a feature map's
            // width), and a memmove call per row costs more than the copy
            for (v, s) in row[lo..hi].iter_mut().zip(&src[x0..x0 + hi - lo]) {
                *v = *s;
            }
        } else {
            for (j, v) in row[lo..hi].iter_mut().enumerate() {
                *v = src[x0 + j * p.sw];
            }
        }
    }
}

/// The adjoint of [`patch_row`]: adds `src` (`OH*OW` values) back onto the plane positions
/// tap `(ki, kj)` read.
fn add_patch_row(src: &[f32], p: &Patches, ki: usize, kj: usize, plane: &mut [f32]) {
    let (ow, (lo, hi)) = (p.out_w(), valid_cols(p, kj));
    for (y, row) in src.chunks(ow).enumerate() {
        let iy = (y * p.sh + ki * p.dh) as isize - p.pt as isize;
        if iy < 0 || iy as usize >= p.h {
            continue;
        }
        let dst = &mut plane[iy as usize * p.w..(iy as usize + 1) * p.w];
        let x0 = lo * p.sw + kj * p.dw - p.pl;
        if p.sw == 1 {
            // contiguous: a plain slice add, which vectorises (step_by would not)
            for (d, s) in dst[x0..x0 + hi - lo].iter_mut().zip(&row[lo..hi]) {
                *d += *s;
            }
        } else {
            for (j, s) in row[lo..hi].iter().enumerate() {
                dst[x0 + j * p.sw] += *s;
            }
        }
    }
}

/// One image `[C, H, W]` to its columns `[C*kh*kw, OH*OW]` (`pad` outside the input).
pub fn image_im2col(img: &[f32], p: &Patches, pad: f32, cols: &mut [f32]) {
    let (hw, l) = (p.h * p.w, p.out_h() * p.out_w());
    for (row, dst) in cols.chunks_mut(l).enumerate() {
        let (ci, ki, kj) = (row / (p.kh * p.kw), (row / p.kw) % p.kh, row % p.kw);
        patch_row(&img[ci * hw..(ci + 1) * hw], p, ki, kj, pad, dst);
    }
}

/// Adds one image's columns `[C*kh*kw, OH*OW]` back onto its `[C, H, W]` gradient.
pub fn image_col2im(cols: &[f32], p: &Patches, img: &mut [f32]) {
    let (hw, l) = (p.h * p.w, p.out_h() * p.out_w());
    for (row, src) in cols.chunks(l).enumerate() {
        let (ci, ki, kj) = (row / (p.kh * p.kw), (row / p.kw) % p.kh, row % p.kw);
        add_patch_row(src, p, ki, kj, &mut img[ci * hw..(ci + 1) * hw]);
    }
}

/// Input `[N, C, H, W]` to columns `[C*kh*kw, N*OH*OW]`: row `(c, i, j)` holds, for every output
/// position of every image, the input value under kernel tap `(i, j)` (or `pad` outside).
pub fn im2col(x: &CpuStorage, p: &Patches, pad: f32) -> Result<CpuStorage> {
    let CpuStorage::F32(x) = x else {
        bail!("im2col needs f32 input, got {}", x.dtype())
    };
    p.validate("im2col")?;
    let (chw, hw, l) = (p.c * p.h * p.w, p.h * p.w, p.out_h() * p.out_w());
    if x.len() != p.n * chw {
        bail!(
            "im2col: {} values do not fill [{}, {}, {}, {}]",
            x.len(),
            p.n,
            p.c,
            p.h,
            p.w
        );
    }
    let mut out = memory::filled("im2col", p.c * p.kh * p.kw * p.n * l, 0f32)?;
    if out.is_empty() {
        return Ok(CpuStorage::f32(out));
    }
    for_row_chunks(&mut out, p.n * l, |row0, chunk| {
        for (r, dst) in chunk.chunks_mut(p.n * l).enumerate() {
            let row = row0 + r;
            let (ci, ki, kj) = (row / (p.kh * p.kw), (row / p.kw) % p.kh, row % p.kw);
            for (img, d) in dst.chunks_mut(l).enumerate() {
                let plane = &x[img * chw + ci * hw..img * chw + (ci + 1) * hw];
                patch_row(plane, p, ki, kj, pad, d);
            }
        }
    });
    Ok(CpuStorage::f32(out))
}

/// The adjoint of [`im2col`]: sums columns `[C*kh*kw, N*OH*OW]` back into `[N, C, H, W]`.
pub fn col2im(cols: &CpuStorage, p: &Patches) -> Result<CpuStorage> {
    let CpuStorage::F32(cols) = cols else {
        bail!("col2im needs f32 input, got {}", cols.dtype())
    };
    p.validate("col2im")?;
    let (chw, hw, l) = (p.c * p.h * p.w, p.h * p.w, p.out_h() * p.out_w());
    let nl = p.n * l;
    if cols.len() != p.c * p.kh * p.kw * nl {
        bail!(
            "col2im: {} values do not fill the columns of {p:?}",
            cols.len()
        );
    }
    let mut out = memory::filled("col2im", p.n * chw, 0f32)?;
    if out.is_empty() || nl == 0 {
        return Ok(CpuStorage::f32(out));
    }
    // One image per chunk: its planes are contiguous, so images sum in parallel.
    for_row_chunks(&mut out, chw, |img0, chunk| {
        for (di, planes) in chunk.chunks_mut(chw).enumerate() {
            let img = img0 + di;
            for row in 0..p.c * p.kh * p.kw {
                let (ci, ki, kj) = (row / (p.kh * p.kw), (row / p.kw) % p.kh, row % p.kw);
                let src = &cols[row * nl + img * l..row * nl + (img + 1) * l];
                add_patch_row(src, p, ki, kj, &mut planes[ci * hw..(ci + 1) * hw]);
            }
        }
    });
    Ok(CpuStorage::f32(out))
}
