//! Random image augmentation for batches `[N, C, H, W]`: flips, shifts, padded crops, small
//! rotations (bilinear, zero outside), and per-channel normalisation. Each image draws its own
//! transform from the global generator; channels of an image move together.

use crate::tensor::{DType, Tensor, random};
use anyhow::{Result, bail};

/// What to apply; everything off by default.
#[derive(Clone, Debug, Default)]
pub struct Augment {
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
    /// Mirror top-bottom with probability 1/2.
    pub vflip: bool,
    /// Largest shift: a fraction of the size when below 1, else pixels.
    pub shift: f64,
    /// Pad by this many pixels and crop back at a random offset (a random integer shift).
    pub crop: usize,
    /// Largest rotation in degrees, either way.
    pub rotate: f64,
    /// Per-channel (or one) mean and standard deviation, applied last.
    pub normalize: Option<(Vec<f32>, Vec<f32>)>,
}

fn bilinear(img: &[f32], h: usize, w: usize, y: f32, x: f32) -> f32 {
    if y <= -1.0 || x <= -1.0 || y >= h as f32 || x >= w as f32 {
        return 0.0;
    }
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = (y - y0, x - x0);
    let at = |yy: f32, xx: f32| -> f32 {
        if yy < 0.0 || xx < 0.0 || yy >= h as f32 || xx >= w as f32 {
            0.0
        } else {
            img[yy as usize * w + xx as usize]
        }
    };
    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x0 + 1.0))
        + fy * ((1.0 - fx) * at(y0 + 1.0, x0) + fx * at(y0 + 1.0, x0 + 1.0))
}

impl Augment {
    pub fn apply(&self, images: &Tensor) -> Result<Tensor> {
        if images.ndim() != 4 || images.dtype() != DType::F32 {
            bail!(
                "augment: expects f32 images [N, C, H, W], got {} {:?}",
                images.dtype(),
                images.shape()
            );
        }
        let s = images.shape();
        let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
        if let Some((m, sd)) = &self.normalize {
            for v in [m, sd] {
                if v.len() != 1 && v.len() != c {
                    bail!(
                        "augment: normalize needs 1 or {c} values per statistic, got {}",
                        v.len()
                    );
                }
            }
            if sd.iter().any(|&x| x <= 0.0) {
                bail!("augment: normalize needs positive standard deviations");
            }
        }
        if !(self.shift >= 0.0 && self.rotate >= 0.0) {
            bail!("augment: shift and rotate must be non-negative");
        }
        let src = images.to_f32_vec()?;
        let mut out = crate::backend::memory::filled("augment", src.len(), 0f32)?;
        let u = random::uniform_vec(n.saturating_mul(5), 0.0, 1.0)?;
        let max_dx = if self.shift < 1.0 {
            self.shift * w as f64
        } else {
            self.shift
        };
        let max_dy = if self.shift < 1.0 {
            self.shift * h as f64
        } else {
            self.shift
        };
        let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
        for i in 0..n {
            let r = &u[i * 5..i * 5 + 5];
            let flip = self.flip && r[0] < 0.5;
            let vflip = self.vflip && r[1] < 0.5;
            let mut dx = ((2.0 * r[2] as f64 - 1.0) * max_dx) as f32;
            let mut dy = ((2.0 * r[3] as f64 - 1.0) * max_dy) as f32;
            if self.crop > 0 {
                let p = self.crop as f32;
                dx += ((r[2] * (2.0 * p + 1.0)).floor() - p).clamp(-p, p);
                dy += ((r[3] * (2.0 * p + 1.0)).floor() - p).clamp(-p, p);
            }
            let angle = ((2.0 * r[4] as f64 - 1.0) * self.rotate).to_radians() as f32;
            let integer = angle == 0.0 && dx.fract() == 0.0 && dy.fract() == 0.0;
            let (sin, cos) = angle.sin_cos();
            for ch in 0..c {
                let base = (i * c + ch) * h * w;
                let img = &src[base..base + h * w];
                let dst = &mut out[base..base + h * w];
                for y in 0..h {
                    for x in 0..w {
                        // inverse map: output -> source
                        let (mut sy, mut sx) = (y as f32 - dy, x as f32 - dx);
                        let (ry, rx) = (sy - cy, sx - cx);
                        sy = cy + cos * ry + sin * rx;
                        sx = cx - sin * ry + cos * rx;
                        if flip {
                            sx = w as f32 - 1.0 - sx;
                        }
                        if vflip {
                            sy = h as f32 - 1.0 - sy;
                        }
                        dst[y * w + x] = if integer {
                            let (yy, xx) = (sy.round(), sx.round());
                            if yy < 0.0 || xx < 0.0 || yy >= h as f32 || xx >= w as f32 {
                                0.0
                            } else {
                                img[yy as usize * w + xx as usize]
                            }
                        } else {
                            bilinear(img, h, w, sy, sx)
                        };
                    }
                }
                if let Some((m, sd)) = &self.normalize {
                    let (mu, sig) = (m[ch.min(m.len() - 1)], sd[ch.min(sd.len() - 1)]);
                    dst.iter_mut().for_each(|v| *v = (*v - mu) / sig);
                }
            }
        }
        Tensor::from_f32(out, s, images.device())
    }
}
