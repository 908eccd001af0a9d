//! im2col / col2im: the patch layout behind convolution and pooling.

use super::CpuStorage;
use super::parallel::build_vec;
use crate::backend::Patches;
use anyhow::{Result, bail};

/// Input `[N, C, H, W]` to columns `[C*kh*kw, N*OH*OW]`: row `(c, i, j)` holds, for every output
/// position of every image, the input value under kernel tap `(i, j)` (or `pad` outside).
pub fn im2col(x: &CpuStorage, p: &Patches, pad: f32) -> Result<CpuStorage> {
    let CpuStorage::F32(x) = x else {
        bail!("im2col needs f32 input, got {}", x.dtype())
    };
    let (n, c, h, w) = (p.n, p.c, p.h, p.w);
    let (oh, ow) = (p.out_h(), p.out_w());
    let l = n * oh * ow;
    let rows = c * p.kh * p.kw;
    Ok(CpuStorage::F32(build_vec(rows * l, l, |row0, chunk| {
        for (r, dst) in chunk.chunks_mut(l).enumerate() {
            let row = row0 + r;
            let (ci, ki, kj) = (row / (p.kh * p.kw), (row / p.kw) % p.kh, row % p.kw);
            let mut k = 0;
            for img in 0..n {
                let plane = &x[(img * c + ci) * h * w..(img * c + ci + 1) * h * w];
                for y in 0..oh {
                    let iy = (y * p.sh + ki * p.dh) as isize - p.pt as isize;
                    for xo in 0..ow {
                        let ix = (xo * p.sw + kj * p.dw) as isize - p.pl as isize;
                        let v = if iy >= 0 && (iy as usize) < h && ix >= 0 && (ix as usize) < w {
                            plane[iy as usize * w + ix as usize]
                        } else {
                            pad
                        };
                        dst[k].write(v);
                        k += 1;
                    }
                }
            }
        }
    })))
}

/// The adjoint of [`im2col`]: sums columns `[C*kh*kw, N*OH*OW]` back into `[N, C, H, W]`.
pub fn col2im(cols: &CpuStorage, p: &Patches) -> Result<CpuStorage> {
    let CpuStorage::F32(cols) = cols else {
        bail!("col2im needs f32 input, got {}", cols.dtype())
    };
    let (n, c, h, w) = (p.n, p.c, p.h, p.w);
    let (oh, ow) = (p.out_h(), p.out_w());
    let l = n * oh * ow;
    let mut out = vec![0f32; n * c * h * w];
    // One image per chunk: its planes are contiguous, so images sum in parallel.
    super::parallel::for_row_chunks(&mut out, c * h * w, |img0, chunk| {
        for (di, planes) in chunk.chunks_mut(c * h * w).enumerate() {
            let img = img0 + di;
            for ci in 0..c {
                let plane = &mut planes[ci * h * w..(ci + 1) * h * w];
                for ki in 0..p.kh {
                    for kj in 0..p.kw {
                        let row = (ci * p.kh + ki) * p.kw + kj;
                        let src = &cols[row * l + img * oh * ow..row * l + (img + 1) * oh * ow];
                        for y in 0..oh {
                            let iy = (y * p.sh + ki * p.dh) as isize - p.pt as isize;
                            if iy < 0 || iy as usize >= h {
                                continue;
                            }
                            for xo in 0..ow {
                                let ix = (xo * p.sw + kj * p.dw) as isize - p.pl as isize;
                                if ix >= 0 && (ix as usize) < w {
                                    plane[iy as usize * w + ix as usize] += src[y * ow + xo];
                                }
                            }
                        }
                    }
                }
            }
        }
    });
    Ok(CpuStorage::F32(out))
}
