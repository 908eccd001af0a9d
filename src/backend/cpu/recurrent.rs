//! Fused pointwise parts of the LSTM and GRU cells: one pass over the gate pre-activations
//! instead of a dozen small elementwise ops per time step, and their closed-form backward.
//! Layouts follow PyTorch: LSTM gates `[B, 4H]` as (i, f, g, o), GRU gates `[B, 3H]` as (r, z, n).

use super::elementwise::fast_exp;
use crate::backend::memory;
use anyhow::{Result, bail};

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
}

/// LSTM cell pointwise: from gate pre-activations and the previous cell state, returns the
/// activated gates `[B, 4H]` and `tanh(c)` (kept for the backward), the new cell state and the
/// new hidden state.
pub type LstmForward = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

pub fn lstm_forward(gates: &[f32], c_prev: &[f32], hidden: usize) -> Result<LstmForward> {
    let b = c_prev.len() / hidden.max(1);
    if hidden == 0 || gates.len() != 4 * b * hidden || c_prev.len() != b * hidden {
        bail!(
            "lstm_cell: gates hold {} values and the cell state {} for hidden size {hidden}",
            gates.len(),
            c_prev.len()
        );
    }
    let mut act: Vec<f32> = memory::copy_of("lstm_cell", gates)?;
    for (k, chunk) in act.chunks_mut(hidden).enumerate() {
        if k % 4 == 2 {
            chunk.iter_mut().for_each(|a| *a = tanh(*a));
        } else {
            chunk.iter_mut().for_each(|a| *a = sigmoid(*a));
        }
    }
    let mut c = memory::filled("lstm_cell", c_prev.len(), 0f32)?;
    let mut tc = memory::filled("lstm_cell", c_prev.len(), 0f32)?;
    let mut h = memory::filled("lstm_cell", c_prev.len(), 0f32)?;
    for r in 0..b {
        let a = &act[r * 4 * hidden..(r + 1) * 4 * hidden];
        let (i, rest) = a.split_at(hidden);
        let (f, rest) = rest.split_at(hidden);
        let (g, o) = rest.split_at(hidden);
        let rows = r * hidden..(r + 1) * hidden;
        let cp = &c_prev[rows.clone()];
        let (cr, tr, hr) = (&mut c[rows.clone()], &mut tc[rows.clone()], &mut h[rows]);
        for j in 0..hidden {
            cr[j] = f[j] * cp[j] + i[j] * g[j];
            tr[j] = tanh(cr[j]);
            hr[j] = o[j] * tr[j];
        }
    }
    Ok((act, c, h, tc))
}

/// Backward of [`lstm_forward`] for a gradient on the new hidden state and/or the new cell
/// state: returns the gradients of the gate pre-activations and of the previous cell state.
pub fn lstm_backward(
    act: &[f32],
    c_prev: &[f32],
    tanh_c: &[f32],
    dh: Option<&[f32]>,
    dc: Option<&[f32]>,
    hidden: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let op = "lstm_cell backward";
    let b = c_prev.len() / hidden.max(1);
    let state = |v: Option<&[f32]>| v.is_none_or(|v| v.len() == c_prev.len());
    if hidden == 0
        || act.len() != 4 * c_prev.len()
        || c_prev.len() != b * hidden
        || tanh_c.len() != c_prev.len()
        || !state(dh)
        || !state(dc)
    {
        bail!("{op}: saved values and gradients do not match hidden size {hidden}");
    }
    let mut dgates = memory::filled(op, act.len(), 0f32)?;
    let mut dc_prev = memory::filled(op, c_prev.len(), 0f32)?;
    for r in 0..b {
        let a = &act[r * 4 * hidden..(r + 1) * 4 * hidden];
        let d = &mut dgates[r * 4 * hidden..(r + 1) * 4 * hidden];
        for j in 0..hidden {
            let k = r * hidden + j;
            let (i, f, g, o) = (a[j], a[hidden + j], a[2 * hidden + j], a[3 * hidden + j]);
            let mut dck = dc.map_or(0.0, |v| v[k]);
            if let Some(dh) = dh {
                let tc = tanh_c[k];
                d[3 * hidden + j] = dh[k] * tc * o * (1.0 - o);
                dck += dh[k] * o * (1.0 - tc * tc);
            }
            d[j] = dck * g * i * (1.0 - i);
            d[hidden + j] = dck * c_prev[k] * f * (1.0 - f);
            d[2 * hidden + j] = dck * i * (1.0 - g * g);
            dc_prev[k] = dck * f;
        }
    }
    Ok((dgates, dc_prev))
}

/// GRU cell pointwise (PyTorch's form, `n = tanh(x_n + r * h_n)`): from the input and hidden
/// projections `[B, 3H]` and the previous hidden state, returns the activated gates (r, z, n)
/// and the new hidden state `(1 - z) * n + z * h`.
pub fn gru_forward(
    gx: &[f32],
    gh: &[f32],
    h_prev: &[f32],
    hidden: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let b = h_prev.len() / hidden.max(1);
    if hidden == 0
        || gx.len() != 3 * b * hidden
        || gh.len() != gx.len()
        || h_prev.len() != b * hidden
    {
        bail!(
            "gru_cell: projections hold {} and {} values and the state {} for hidden size {hidden}",
            gx.len(),
            gh.len(),
            h_prev.len()
        );
    }
    let mut act = memory::filled("gru_cell", gx.len(), 0f32)?;
    let mut h = memory::filled("gru_cell", h_prev.len(), 0f32)?;
    for r in 0..b {
        let base = r * 3 * hidden;
        for j in 0..hidden {
            let rr = sigmoid(gx[base + j] + gh[base + j]);
            let z = sigmoid(gx[base + hidden + j] + gh[base + hidden + j]);
            let n = tanh(gx[base + 2 * hidden + j] + rr * gh[base + 2 * hidden + j]);
            act[base + j] = rr;
            act[base + hidden + j] = z;
            act[base + 2 * hidden + j] = n;
            let k = r * hidden + j;
            h[k] = (1.0 - z) * n + z * h_prev[k];
        }
    }
    Ok((act, h))
}

/// Backward of [`gru_forward`]: gradients of the input projection, the hidden projection and
/// the previous hidden state.
pub fn gru_backward(
    act: &[f32],
    gh: &[f32],
    h_prev: &[f32],
    dh: &[f32],
    hidden: usize,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let op = "gru_cell backward";
    let b = h_prev.len() / hidden.max(1);
    if hidden == 0
        || act.len() != 3 * h_prev.len()
        || gh.len() != act.len()
        || h_prev.len() != b * hidden
        || dh.len() != h_prev.len()
    {
        bail!("{op}: saved values and gradients do not match hidden size {hidden}");
    }
    let mut dgx = memory::filled(op, act.len(), 0f32)?;
    let mut dgh = memory::filled(op, act.len(), 0f32)?;
    let mut dh_prev = memory::filled(op, h_prev.len(), 0f32)?;
    for r in 0..b {
        let base = r * 3 * hidden;
        for j in 0..hidden {
            let k = r * hidden + j;
            let (rr, z, n) = (
                act[base + j],
                act[base + hidden + j],
                act[base + 2 * hidden + j],
            );
            let d = dh[k];
            let da_n = d * (1.0 - z) * (1.0 - n * n);
            let da_z = d * (h_prev[k] - n) * z * (1.0 - z);
            let da_r = da_n * gh[base + 2 * hidden + j] * rr * (1.0 - rr);
            dgx[base + j] = da_r;
            dgh[base + j] = da_r;
            dgx[base + hidden + j] = da_z;
            dgh[base + hidden + j] = da_z;
            dgx[base + 2 * hidden + j] = da_n;
            dgh[base + 2 * hidden + j] = da_n * rr;
            dh_prev[k] = d * z;
        }
    }
    Ok((dgx, dgh, dh_prev))
}
