//! Device dispatch for the fused recurrent-cell kernels (see `cpu/recurrent.rs`).

use super::cpu::recurrent as k;
use super::{Storage, f32s, host_f32};
use anyhow::Result;

impl Storage {
    /// LSTM pointwise step: (activated gates, new cell state, new hidden state, tanh of the
    /// new cell state).
    pub fn lstm_cell(
        gates: &Storage,
        c_prev: &Storage,
        hidden: usize,
    ) -> Result<(Storage, Storage, Storage, Storage)> {
        let (a, c, h, tc) = k::lstm_forward(
            f32s("lstm_cell", gates)?,
            f32s("lstm_cell", c_prev)?,
            hidden,
        )?;
        Ok((host_f32(a), host_f32(c), host_f32(h), host_f32(tc)))
    }

    /// Gradients of the gate pre-activations and the previous cell state.
    pub fn lstm_cell_backward(
        act: &Storage,
        c_prev: &Storage,
        tanh_c: &Storage,
        dh: Option<&Storage>,
        dc: Option<&Storage>,
        hidden: usize,
    ) -> Result<(Storage, Storage)> {
        let op = "lstm_cell backward";
        let dh = dh.map(|s| f32s(op, s)).transpose()?;
        let dc = dc.map(|s| f32s(op, s)).transpose()?;
        let (dg, dcp) = k::lstm_backward(
            f32s(op, act)?,
            f32s(op, c_prev)?,
            f32s(op, tanh_c)?,
            dh,
            dc,
            hidden,
        )?;
        Ok((host_f32(dg), host_f32(dcp)))
    }

    /// GRU pointwise step: (activated gates, new hidden state).
    pub fn gru_cell(
        gx: &Storage,
        gh: &Storage,
        h_prev: &Storage,
        hidden: usize,
    ) -> Result<(Storage, Storage)> {
        let op = "gru_cell";
        let (a, h) = k::gru_forward(f32s(op, gx)?, f32s(op, gh)?, f32s(op, h_prev)?, hidden)?;
        Ok((host_f32(a), host_f32(h)))
    }

    /// Gradients of the input projection, hidden projection and previous hidden state.
    pub fn gru_cell_backward(
        act: &Storage,
        gh: &Storage,
        h_prev: &Storage,
        dh: &Storage,
        hidden: usize,
    ) -> Result<(Storage, Storage, Storage)> {
        let op = "gru_cell backward";
        let (a, b, c) = k::gru_backward(
            f32s(op, act)?,
            f32s(op, gh)?,
            f32s(op, h_prev)?,
            f32s(op, dh)?,
            hidden,
        )?;
        Ok((host_f32(a), host_f32(b), host_f32(c)))
    }
}
