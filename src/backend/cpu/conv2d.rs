//! Fused 2-D convolution, image by image: each thread takes a share of the batch, builds one
//! image's patch columns at a time in a buffer that stays in cache, and multiplies it on its own
//! core. Nothing the size of the whole batch's columns is ever built or kept for backward.

use super::conv::{image_col2im, image_im2col};
use super::gemm::{Mat, gemm_serial};
use super::parallel::map_item_ranges;
use crate::backend::Patches;
use crate::backend::memory;
use anyhow::Result;

/// Below this many multiply-adds a convolution runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 20;

/// Sizes of one convolution: input plane `chw`, columns `[ckk, l]`, output `[o, l]` per image.
struct Dims {
    chw: usize,
    ckk: usize,
    l: usize,
    o: usize,
    /// A 1x1, stride-1, unpadded kernel: the image already is its own column matrix.
    direct: bool,
}

impl Dims {
    /// The sizes, after checking the geometry and that one column buffer per thread fits.
    fn new(p: &Patches, o: usize) -> Result<Dims> {
        p.validate("conv2d")?;
        let ckk = p.c * p.kh * p.kw;
        let l = p.out_h() * p.out_w();
        if ckk
            .checked_mul(l)
            .and_then(|x| x.checked_mul(o.max(1)))
            .is_none()
        {
            anyhow::bail!("conv2d: {o} output channels over [{ckk}, {l}] columns overflow");
        }
        memory::check::<f32>("conv2d columns", ckk * l)?;
        Ok(Dims::sizes(p, o))
    }

    fn sizes(p: &Patches, o: usize) -> Dims {
        let direct =
            p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.pt + p.pb + p.pl + p.pr == 0;
        Dims {
            chw: p.c * p.h * p.w,
            ckk: p.c * p.kh * p.kw,
            l: p.out_h() * p.out_w(),
            o,
            direct,
        }
    }

    fn parallel(&self, n: usize) -> bool {
        n * self.o * self.ckk * self.l >= PARALLEL_MACS
    }

    fn column_buffer(&self) -> Vec<f32> {
        if self.direct {
            Vec::new()
        } else {
            vec![0f32; self.ckk * self.l]
        }
    }
}

/// Image `i`'s columns `[ckk, l]`: the image itself for a direct kernel, else built in `buf`.
fn columns<'a>(x: &'a [f32], i: usize, p: &Patches, d: &Dims, buf: &'a mut [f32]) -> &'a [f32] {
    let img = &x[i * d.chw..(i + 1) * d.chw];
    if d.direct {
        img
    } else {
        image_im2col(img, p, 0.0, buf);
        buf
    }
}

/// `x [N, C, H, W]` (*) `w [O, C, kh, kw]` (+ `bias [O]`) -> `[N, O, OH, OW]`.
pub fn forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    p: &Patches,
    o: usize,
) -> Result<Vec<f32>> {
    let d = Dims::new(p, o)?;
    let per_image = o * d.l;
    let Some(n) = p.n.checked_mul(per_image) else {
        anyhow::bail!(
            "conv2d: the output [{}, {o}, {}] has too many elements",
            p.n,
            d.l
        );
    };
    let mut out = memory::filled("conv2d", n, 0f32)?;
    if out.is_empty() {
        return Ok(out);
    }
    map_item_ranges(p.n, &mut out, per_image, d.parallel(p.n), |images, outs| {
        let mut buf = d.column_buffer();
        for (i, dst) in images.zip(outs.chunks_mut(per_image)) {
            let cols = columns(x, i, p, &d, &mut buf);
            let beta = match bias {
                Some(b) => {
                    for (row, &bv) in dst.chunks_mut(d.l).zip(b) {
                        row.fill(bv);
                    }
                    1.0
                }
                None => 0.0,
            };
            gemm_serial(
                (o, d.ckk, d.l),
                Mat::rows(w, d.ckk),
                Mat::rows(cols, d.l),
                beta,
                dst,
                d.l,
            );
        }
    });
    Ok(out)
}

/// Which gradients a convolution's backward pass should produce.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    pub input: bool,
    pub weight: bool,
    pub bias: bool,
}

/// Gradients `(dx [N, C, H, W], dw [O, C, kh, kw], db [O])` from the output gradient
/// `g [N, O, OH, OW]`; the ones not wanted come back empty.
pub fn backward(
    x: &[f32],
    w: &[f32],
    g: &[f32],
    p: &Patches,
    o: usize,
    want: Wanted,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let op = "conv2d backward";
    let d = Dims::new(p, o)?;
    let per_image = o * d.l;
    let sized = |wanted: bool, n: usize| memory::filled(op, if wanted { n } else { 0 }, 0f32);
    let mut dx = sized(want.input, p.n * d.chw)?;
    if p.n == 0 || per_image == 0 {
        return Ok((dx, sized(want.weight, o * d.ckk)?, sized(want.bias, o)?));
    }
    memory::check::<f32>(op, o * d.ckk)?;
    let partials = map_item_ranges(p.n, &mut dx, d.chw, d.parallel(p.n), |images, dxs| {
        let mut buf = d.column_buffer();
        let mut dcols = if want.input && !d.direct {
            vec![0f32; d.ckk * d.l]
        } else {
            Vec::new()
        };
        let mut dw = vec![0f32; if want.weight { o * d.ckk } else { 0 }];
        let mut db = vec![0f32; if want.bias { o } else { 0 }];
        let first = images.start;
        for i in images {
            let gi = Mat::rows(&g[i * per_image..(i + 1) * per_image], d.l);
            if want.weight {
                // dW [O, ckk] += g_i [O, l] x cols_i^T [l, ckk]
                let cols = columns(x, i, p, &d, &mut buf);
                gemm_serial(
                    (o, d.l, d.ckk),
                    gi,
                    Mat::transposed(cols, d.l),
                    1.0,
                    &mut dw,
                    d.ckk,
                );
            }
            if want.bias {
                for (acc, row) in db.iter_mut().zip(gi.data.chunks(d.l)) {
                    *acc += row.iter().sum::<f32>();
                }
            }
            if want.input {
                // dcols [ckk, l] = W^T [ckk, O] x g_i [O, l], folded back onto the image
                let img = &mut dxs[(i - first) * d.chw..(i - first + 1) * d.chw];
                let wt = Mat::transposed(w, d.ckk);
                if d.direct {
                    gemm_serial((d.ckk, o, d.l), wt, gi, 0.0, img, d.l);
                } else {
                    gemm_serial((d.ckk, o, d.l), wt, gi, 0.0, &mut dcols, d.l);
                    image_col2im(&dcols, p, img);
                }
            }
        }
        (dw, db)
    });
    let mut parts = partials.into_iter();
    let (mut dw, mut db) = parts.next().unwrap_or_default();
    for (pw, pb) in parts {
        for (a, b) in dw.iter_mut().zip(&pw) {
            *a += b;
        }
        for (a, b) in db.iter_mut().zip(&pb) {
            *a += b;
        }
    }
    Ok((dx, dw, db))
}
