//! Fused optimiser updates: one pass over parameter, gradient and state, in place.

use super::CpuStorage;
use crate::backend::AdamStep;
use anyhow::{Result, bail};

/// Adam / AdamW on one parameter (PyTorch's equations; see `AdamStep`).
pub fn adam(
    p: &mut CpuStorage,
    g: &CpuStorage,
    m: &mut CpuStorage,
    v: &mut CpuStorage,
    s: &AdamStep,
) -> Result<()> {
    let (CpuStorage::F32(p), CpuStorage::F32(g), CpuStorage::F32(m), CpuStorage::F32(v)) =
        (p, g, m, v)
    else {
        bail!("adam: parameter, gradient and state must be f32");
    };
    if g.len() != p.len() || m.len() != p.len() || v.len() != p.len() {
        bail!("adam: parameter, gradient and state sizes differ");
    }
    let (b1, b2) = (s.beta1 as f32, s.beta2 as f32);
    let (lr, eps, wd) = (s.lr as f32, s.eps as f32, s.weight_decay as f32);
    let (bc1, bc2) = (s.bias_correction1 as f32, s.bias_correction2 as f32);
    let shrink = if s.decoupled { 1.0 - lr * wd } else { 1.0 };
    let coupled = if s.decoupled { 0.0 } else { wd };
    for (((p, &g), m), v) in p
        .iter_mut()
        .zip(g.iter())
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        let g = g + coupled * *p;
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        let m_hat = *m / bc1;
        let v_hat = *v / bc2;
        *p = *p * shrink - lr * m_hat / (v_hat.sqrt() + eps);
    }
    Ok(())
}
