//! The pointwise halves of the LSTM and GRU cells as fused ops. The matrix products stay
//! ordinary `matmul_nt` ops; these take their results (gate pre-activations) and produce the
//! new state in one pass, with a closed-form backward.

use super::{record, same_device};
use crate::backend::Storage;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};
use std::rc::Rc;

fn check_gates(op: &str, gates: &Tensor, state: &Tensor, n_gates: usize) -> Result<usize> {
    let ok_rank = gates.ndim() == 2 && state.ndim() == 2;
    let hidden = if ok_rank { state.shape()[1] } else { 0 };
    if !ok_rank
        || gates.dtype() != DType::F32
        || state.dtype() != DType::F32
        || gates.shape()[0] != state.shape()[0]
        || gates.shape()[1] != n_gates * hidden
        || hidden == 0
    {
        bail!(
            "{op}: expects f32 gates [B, {n_gates}*H] and state [B, H], got {} {:?} and {} {:?}",
            gates.dtype(),
            gates.shape(),
            state.dtype(),
            state.shape()
        );
    }
    same_device(op, &[gates, state])?;
    Ok(hidden)
}

impl Tensor {
    /// LSTM cell update from gate pre-activations `[B, 4H]` (i, f, g, o, PyTorch's order) and
    /// the previous cell state `[B, H]`: returns the new hidden state and the new cell state.
    pub fn lstm_pointwise(&self, c_prev: &Tensor) -> Result<(Tensor, Tensor)> {
        let hidden = check_gates("lstm_cell", self, c_prev, 4)?;
        let (act, c, h, tc) = Storage::lstm_cell(&self.storage(), &c_prev.storage(), hidden)?;
        let shape = c_prev.shape().to_vec();
        let saved = Rc::new((act, c_prev.storage().try_clone()?, tc));
        let (s1, sh1) = (saved.clone(), shape.clone());
        let c_t = record("lstm_cell", c, shape.clone(), &[self, c_prev], move |g| {
            let (a, cp, c) = &*s1;
            let (dg, dcp) =
                Storage::lstm_cell_backward(a, cp, c, None, Some(&g.storage()), hidden)?;
            let b = sh1[0];
            Ok(vec![
                Some(Tensor::from_storage(dg, vec![b, 4 * hidden])),
                Some(Tensor::from_storage(dcp, sh1.clone())),
            ])
        });
        let sh2 = shape.clone();
        let h_t = record("lstm_cell", h, shape, &[self, c_prev], move |g| {
            let (a, cp, c) = &*saved;
            let (dg, dcp) =
                Storage::lstm_cell_backward(a, cp, c, Some(&g.storage()), None, hidden)?;
            let b = sh2[0];
            Ok(vec![
                Some(Tensor::from_storage(dg, vec![b, 4 * hidden])),
                Some(Tensor::from_storage(dcp, sh2.clone())),
            ])
        });
        Ok((h_t, c_t))
    }

    /// GRU cell update (PyTorch's equations) from the input projection `[B, 3H]`, the hidden
    /// projection `[B, 3H]` (r, z, n order, biases included) and the previous state `[B, H]`.
    pub fn gru_pointwise(gx: &Tensor, gh: &Tensor, h_prev: &Tensor) -> Result<Tensor> {
        let hidden = check_gates("gru_cell", gx, h_prev, 3)?;
        if gh.shape() != gx.shape() || gh.dtype() != DType::F32 {
            bail!(
                "gru_cell: the hidden projection {:?} should match the input projection {:?}",
                gh.shape(),
                gx.shape()
            );
        }
        let (act, h) = Storage::gru_cell(&gx.storage(), &gh.storage(), &h_prev.storage(), hidden)?;
        let shape = h_prev.shape().to_vec();
        let gshape = gx.shape().to_vec();
        let saved = (
            act,
            gh.storage().try_clone()?,
            h_prev.storage().try_clone()?,
        );
        let sh = shape.clone();
        Ok(record("gru_cell", h, shape, &[gx, gh, h_prev], move |g| {
            let (a, ghs, hp) = &saved;
            let (dx, dhh, dhp) = Storage::gru_cell_backward(a, ghs, hp, &g.storage(), hidden)?;
            Ok(vec![
                Some(Tensor::from_storage(dx, gshape.clone())),
                Some(Tensor::from_storage(dhh, gshape.clone())),
                Some(Tensor::from_storage(dhp, sh.clone())),
            ])
        }))
    }
}
