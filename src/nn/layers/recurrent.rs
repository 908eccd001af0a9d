//! Recurrent layers: RNN (tanh or ReLU), LSTM and GRU, as single cells and as whole-sequence
//! layers (stacked, bidirectional, with sequence lengths, dropout, recurrent dropout and a
//! stateful mode).
//!
//! Weights follow PyTorch's layout and names (`weight_ih_l0 [G*H, I]`, `weight_hh_l0 [G*H, H]`,
//! `bias_ih_l0`, `bias_hh_l0`, `_reverse` for the backward direction, gates in PyTorch's order),
//! so a PyTorch `state_dict` loads as it is. The RNN and LSTM add both biases to the input
//! projection (only their sum matters, which is why Keras counts one bias per gate:
//! `keras_parameter_count`); the GRU's recurrent bias sits inside the reset-gate product.

use super::replace;
use crate::nn::Layer;
use crate::nn::init::{Init, make};
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, anyhow, bail};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Which recurrence a layer computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CellKind {
    /// `h = act(W_ih x + W_hh h + b)`, act tanh or ReLU.
    Rnn {
        relu: bool,
    },
    Lstm,
    Gru,
}

impl CellKind {
    fn gates(self) -> usize {
        match self {
            CellKind::Rnn { .. } => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
    fn name(self) -> &'static str {
        match self {
            CellKind::Rnn { .. } => "RNN",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }
    /// Tensors in the state: h, or h and c.
    pub fn state_len(self) -> usize {
        if self == CellKind::Lstm { 2 } else { 1 }
    }
}

/// A parameter name made once and kept for the program's life (layers name their tensors with
/// `&'static str`; the set of distinct recurrent names is small).
fn intern(s: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = set.get(s.as_str()) {
        return n;
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    set.insert(leaked);
    leaked
}

/// How to initialise a cell's weights.
#[derive(Clone, Debug, Default)]
pub struct CellInit {
    /// Input weights (PyTorch's uniform ±1/sqrt(H) by default).
    pub input: Option<Init>,
    /// Recurrent weights (`identity` for lesson 6's IRNN).
    pub recurrent: Option<Init>,
}

/// The weights of one cell: one layer in one direction.
pub struct CellWeights {
    kind: CellKind,
    hidden: usize,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Option<Tensor>,
    /// Added with `bias_ih` (RNN, LSTM), or inside the reset-gate product (GRU).
    bias_hh: Option<Tensor>,
    names: [&'static str; 4],
}

impl CellWeights {
    fn new(
        kind: CellKind,
        input: usize,
        hidden: usize,
        bias: bool,
        init: &CellInit,
        suffix: &str,
        device: Device,
    ) -> Result<CellWeights> {
        let Some(g) = kind.gates().checked_mul(hidden) else {
            anyhow::bail!("recurrent layer: hidden size {hidden} is too large");
        };
        let bound = 1.0 / (hidden as f64).sqrt();
        let default = Init::Uniform(-bound, bound);
        let make_w = |i: &Option<Init>, shape: &[usize]| -> Result<Tensor> {
            let init = match i {
                None | Some(Init::Default) => &default,
                Some(i) => i,
            };
            make(init, shape, device)?.requires_grad_(true)
        };
        let weight_ih = make_w(&init.input, &[g, input])?;
        let weight_hh = make_w(&init.recurrent, &[g, hidden])?;
        let make_b = || -> Result<Option<Tensor>> {
            if !bias {
                return Ok(None);
            }
            let b = if init.input.is_none() && init.recurrent.is_none() {
                Tensor::uniform(&[g], -bound, bound, device)?
            } else {
                Tensor::zeros(&[g], DType::F32, device)?
            };
            Ok(Some(b.requires_grad_(true)?))
        };
        let bias_ih = make_b()?;
        let bias_hh = make_b()?;
        Ok(CellWeights {
            kind,
            hidden,
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
            names: [
                intern(format!("weight_ih{suffix}")),
                intern(format!("weight_hh{suffix}")),
                intern(format!("bias_ih{suffix}")),
                intern(format!("bias_hh{suffix}")),
            ],
        })
    }

    fn input_size(&self) -> usize {
        self.weight_ih.shape()[1]
    }

    fn params(&self) -> Vec<(&'static str, Tensor)> {
        let mut p = vec![
            (self.names[0], self.weight_ih.clone()),
            (self.names[1], self.weight_hh.clone()),
        ];
        if let Some(b) = &self.bias_ih {
            p.push((self.names[2], b.clone()));
        }
        if let Some(b) = &self.bias_hh {
            p.push((self.names[3], b.clone()));
        }
        p
    }

    fn set(&mut self, name: &str, t: Tensor) -> Result<bool> {
        let slot = if name == self.names[0] {
            Some(&mut self.weight_ih)
        } else if name == self.names[1] {
            Some(&mut self.weight_hh)
        } else if name == self.names[2] {
            self.bias_ih.as_mut()
        } else if name == self.names[3] {
            self.bias_hh.as_mut()
        } else {
            None
        };
        match slot {
            Some(s) => replace(s, t).map(|_| true),
            None => Ok(false),
        }
    }

    /// Input projections `x W_ih^T + b_ih` (plus `b_hh` for the RNN and LSTM, where it adds
    /// to the same pre-activations) for any leading shape (all time steps at once).
    fn project_input(&self, x: &Tensor) -> Result<Tensor> {
        let gx = x.matmul_nt(&self.weight_ih)?;
        let bias = match (&self.bias_ih, &self.bias_hh, self.kind) {
            (Some(bi), Some(bh), CellKind::Rnn { .. } | CellKind::Lstm) => Some(bi.add(bh)?),
            (b, _, _) => b.clone(),
        };
        match bias {
            Some(b) => gx.add(&b),
            None => Ok(gx),
        }
    }

    /// Parameter elements counted as Keras does: one bias per gate for the RNN and LSTM.
    fn keras_count(&self) -> usize {
        let all: usize = self.params().iter().map(|(_, t)| t.numel()).sum();
        match (&self.bias_hh, self.kind) {
            (Some(b), CellKind::Rnn { .. } | CellKind::Lstm) => all - b.numel(),
            _ => all,
        }
    }

    /// One step from the input projection `gx [B, G*H]` and the state. `h_in` is the hidden
    /// state fed to the recurrent weights (after recurrent dropout).
    fn step(&self, gx: &Tensor, state: &[Tensor], h_in: &Tensor) -> Result<Vec<Tensor>> {
        let gh = h_in.matmul_nt(&self.weight_hh)?;
        match self.kind {
            CellKind::Rnn { relu } => {
                let a = gx.add(&gh)?;
                Ok(vec![if relu { a.relu()? } else { a.tanh()? }])
            }
            CellKind::Lstm => {
                let (h, c) = gx.add(&gh)?.lstm_pointwise(&state[1])?;
                Ok(vec![h, c])
            }
            CellKind::Gru => {
                let gh = match &self.bias_hh {
                    Some(b) => gh.add(b)?,
                    None => gh,
                };
                Ok(vec![Tensor::gru_pointwise(gx, &gh, &state[0])?])
            }
        }
    }

    fn zero_state(&self, batch: usize, device: Device) -> Result<Vec<Tensor>> {
        (0..self.kind.state_len())
            .map(|_| Tensor::zeros(&[batch, self.hidden], DType::F32, device))
            .collect()
    }

    fn check_state(&self, op: &str, state: &[Tensor], batch: usize) -> Result<()> {
        let want = [batch, self.hidden];
        if state.len() != self.kind.state_len() || state.iter().any(|s| s.shape() != want) {
            let got: Vec<&[usize]> = state.iter().map(|s| s.shape()).collect();
            bail!(
                "{op}: the state should be {} tensor(s) of shape {want:?}, got {got:?}",
                self.kind.state_len()
            );
        }
        Ok(())
    }
}

/// A single cell: `step(x [B, I], state) -> state`, for decoder loops written in a script.
pub struct RecurrentCell {
    weights: CellWeights,
}

impl RecurrentCell {
    pub fn new(
        kind: CellKind,
        input: usize,
        hidden: usize,
        bias: bool,
        init: &CellInit,
        device: Device,
    ) -> Result<RecurrentCell> {
        Ok(RecurrentCell {
            weights: CellWeights::new(kind, input, hidden, bias, init, "", device)?,
        })
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
        let i = self.weights.input_size();
        if x.ndim() != 2 || x.shape()[1] != i {
            bail!("expects an input [B, {i}], got shape {:?}", x.shape());
        }
        Ok(())
    }
}

impl Layer for RecurrentCell {
    fn kind(&self) -> &'static str {
        match self.weights.kind {
            CellKind::Rnn { .. } => "RNNCell",
            CellKind::Lstm => "LSTMCell",
            CellKind::Gru => "GRUCell",
        }
    }
    fn describe(&self) -> String {
        format!(
            "{}({} -> {})",
            self.kind(),
            self.weights.input_size(),
            self.weights.hidden
        )
    }
    /// One step from a zero state; returns the new hidden state.
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.check_input(x)?;
        let s = self.weights.zero_state(x.shape()[0], x.device())?;
        Ok(self.step(x, &s, training)?.remove(0))
    }
    fn step(&mut self, x: &Tensor, state: &[Tensor], _training: bool) -> Result<Vec<Tensor>> {
        self.check_input(x)?;
        self.weights.check_state("step", state, x.shape()[0])?;
        let gx = self.weights.project_input(x)?;
        self.weights.step(&gx, state, &state[0])
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        self.weights.params()
    }
    fn keras_parameter_count(&self) -> Option<usize> {
        Some(self.weights.keras_count())
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        if self.weights.set(name, t)? {
            Ok(())
        } else {
            bail!("{} has no {name:?}", self.kind())
        }
    }
}

/// Options of a whole-sequence layer.
#[derive(Clone, Debug)]
pub struct SequenceConfig {
    pub kind: CellKind,
    pub input: usize,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    /// Inputs and outputs are `[B, T, F]` (else time-major `[T, B, F]`).
    pub batch_first: bool,
    /// Output every step (else only the last: the final hidden state of each direction).
    pub return_sequences: bool,
    /// Dropout on the outputs of every layer but the last (training only).
    pub dropout: f64,
    /// Dropout on the hidden state fed to the recurrent weights, one mask per sequence.
    pub recurrent_dropout: f64,
    /// Carry the final state into the next call until `reset_states()`.
    pub stateful: bool,
    pub bias: bool,
}

/// What a sequence layer returns: the output and the final state, each `[layers*dirs, B, H]`.
pub struct SequenceOutput {
    pub output: Tensor,
    pub h: Tensor,
    pub c: Option<Tensor>,
}

/// Initial state and lengths for one call.
#[derive(Default)]
pub struct SequenceInput {
    pub h: Option<Tensor>,
    pub c: Option<Tensor>,
    /// Valid steps per sequence; past its length a sequence's output is zero and its state frozen.
    pub lengths: Option<Vec<usize>>,
}

/// A recurrent layer over whole sequences.
pub struct Recurrent {
    cfg: SequenceConfig,
    /// Index `layer * dirs + direction`.
    cells: Vec<CellWeights>,
    /// The carried state in stateful mode, per cell.
    carried: Option<Vec<Vec<Tensor>>>,
}

impl Recurrent {
    pub fn new(cfg: SequenceConfig, init: &CellInit, device: Device) -> Result<Recurrent> {
        if cfg.input == 0 || cfg.hidden == 0 || cfg.layers == 0 {
            bail!(
                "{}: input size, hidden size and layers must be positive",
                cfg.kind.name()
            );
        }
        for (name, p) in [
            ("dropout", cfg.dropout),
            ("recurrent_dropout", cfg.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                bail!("{}: {name} must be in [0, 1), got {p}", cfg.kind.name());
            }
        }
        let dirs = if cfg.bidirectional { 2 } else { 1 };
        let mut cells = Vec::new();
        for l in 0..cfg.layers {
            for d in 0..dirs {
                let input = if l == 0 { cfg.input } else { cfg.hidden * dirs };
                let suffix = format!("_l{l}{}", if d == 1 { "_reverse" } else { "" });
                cells.push(CellWeights::new(
                    cfg.kind, input, cfg.hidden, cfg.bias, init, &suffix, device,
                )?);
            }
        }
        Ok(Recurrent {
            cfg,
            cells,
            carried: None,
        })
    }

    fn dirs(&self) -> usize {
        if self.cfg.bidirectional { 2 } else { 1 }
    }

    /// The initial state per cell: given, carried (stateful) or zeros.
    fn initial_state(
        &self,
        inp: &SequenceInput,
        batch: usize,
        device: Device,
    ) -> Result<Vec<Vec<Tensor>>> {
        let n = self.cells.len();
        let h = self.cfg.hidden;
        let split = |t: &Tensor, what: &str| -> Result<Vec<Tensor>> {
            let t = if t.ndim() == 2 && n == 1 {
                t.unsqueeze(0)?
            } else {
                t.clone()
            };
            if t.shape() != [n, batch, h] {
                bail!(
                    "initial {what} should be [{n}, {batch}, {h}] (layers*directions, batch, hidden), got {:?}",
                    t.shape()
                );
            }
            (0..n).map(|i| t.select(0, i as i64)).collect()
        };
        let lstm = self.cfg.kind == CellKind::Lstm;
        if inp.c.is_some() && !lstm {
            bail!("only an LSTM takes an initial cell state c");
        }
        if inp.h.is_some() || inp.c.is_some() {
            let hs = match &inp.h {
                Some(t) => split(t, "h")?,
                None => (0..n)
                    .map(|_| Tensor::zeros(&[batch, h], DType::F32, device))
                    .collect::<Result<_>>()?,
            };
            let cs = match (&inp.c, lstm) {
                (Some(t), _) => Some(split(t, "c")?),
                (None, true) => Some(
                    (0..n)
                        .map(|_| Tensor::zeros(&[batch, h], DType::F32, device))
                        .collect::<Result<Vec<_>>>()?,
                ),
                (None, false) => None,
            };
            return Ok((0..n)
                .map(|i| {
                    let mut s = vec![hs[i].clone()];
                    if let Some(cs) = &cs {
                        s.push(cs[i].clone());
                    }
                    s
                })
                .collect());
        }
        if let Some(c) = &self.carried {
            let b = c[0][0].shape()[0];
            if b != batch {
                bail!(
                    "stateful: the batch size changed from {b} to {batch}; call reset_states() first"
                );
            }
            return Ok(c.clone());
        }
        self.cells
            .iter()
            .map(|c| c.zero_state(batch, device))
            .collect()
    }

    /// Runs the layer over `x`; returns the output and the final state.
    pub fn run(
        &mut self,
        x: &Tensor,
        inp: &SequenceInput,
        training: bool,
    ) -> Result<SequenceOutput> {
        let name = self.cfg.kind.name();
        if x.ndim() != 3 || x.shape()[2] != self.cfg.input || x.dtype() != DType::F32 {
            let layout = if self.cfg.batch_first {
                "[B, T, F]"
            } else {
                "[T, B, F]"
            };
            bail!(
                "{name}: expects f32 input {layout} with F = {}, got {} {:?}",
                self.cfg.input,
                x.dtype(),
                x.shape()
            );
        }
        let x = if self.cfg.batch_first {
            x.transpose(0, 1)?
        } else {
            x.clone()
        };
        let (t_len, batch) = (x.shape()[0], x.shape()[1]);
        if t_len == 0 {
            bail!("{name}: the sequence is empty");
        }
        let lengths = match &inp.lengths {
            Some(l) if l.len() != batch => {
                bail!("{name}: {} lengths for a batch of {batch}", l.len())
            }
            Some(l) if l.iter().any(|&n| n > t_len) => {
                bail!("{name}: lengths {l:?} exceed the sequence length {t_len}")
            }
            other => other.clone(),
        };
        let device = x.device();
        let mut state = self.initial_state(inp, batch, device)?;
        let dirs = self.dirs();
        let reverse_index = match &lengths {
            Some(l) => {
                let mut idx = Vec::with_capacity(t_len * batch);
                for t in 0..t_len {
                    for (b, &n) in l.iter().enumerate() {
                        let src = if t < n { n - 1 - t } else { t };
                        idx.push((src * batch + b) as i64);
                    }
                }
                Some(Tensor::from_i64(idx, &[t_len * batch], device)?)
            }
            None => None,
        };
        let reverse = |s: &Tensor| -> Result<Tensor> {
            match &reverse_index {
                None => s.flip(&[0]),
                Some(idx) => {
                    let shape = s.shape().to_vec();
                    s.reshape_usize(&[t_len * batch, shape[2]])?
                        .index_select(0, idx)?
                        .reshape_usize(&shape)
                }
            }
        };
        // Per-step masks where some sequence has ended: [B, 1], 1 while t < length.
        let masks: Vec<Option<Tensor>> = (0..t_len)
            .map(|t| match &lengths {
                Some(l) if l.iter().any(|&n| t >= n) => {
                    let m: Vec<f32> = l.iter().map(|&n| (t < n) as u8 as f32).collect();
                    Tensor::from_f32(m, &[batch, 1], device).map(Some)
                }
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        let mut layer_in = x;
        for l in 0..self.cfg.layers {
            let mut outs = Vec::with_capacity(dirs);
            for d in 0..dirs {
                let i = l * dirs + d;
                let cell = &self.cells[i];
                let seq = if d == 1 {
                    reverse(&layer_in)?
                } else {
                    layer_in.clone()
                };
                let gx = cell.project_input(&seq)?;
                let rd_mask = if training && self.cfg.recurrent_dropout > 0.0 {
                    Some(
                        Tensor::ones(&[batch, self.cfg.hidden], DType::F32, device)?
                            .dropout(self.cfg.recurrent_dropout, true)?,
                    )
                } else {
                    None
                };
                let mut s = state[i].clone();
                let mut steps = Vec::with_capacity(t_len);
                for (t, mask) in masks.iter().enumerate() {
                    let h_in = match &rd_mask {
                        Some(m) => s[0].mul(m)?,
                        None => s[0].clone(),
                    };
                    let new = cell.step(&gx.select(0, t as i64)?, &s, &h_in)?;
                    match mask {
                        None => {
                            steps.push(new[0].clone());
                            s = new;
                        }
                        Some(m) => {
                            steps.push(new[0].mul(m)?);
                            s = s
                                .iter()
                                .zip(&new)
                                .map(|(old, new)| old.add(&new.sub(old)?.mul(m)?))
                                .collect::<Result<_>>()?;
                        }
                    }
                }
                let out = Tensor::stack(&steps, 0)?;
                outs.push(if d == 1 { reverse(&out)? } else { out });
                state[i] = s;
            }
            let out = if dirs == 1 {
                outs.remove(0)
            } else {
                Tensor::cat(&outs, -1)?
            };
            layer_in = if l + 1 < self.cfg.layers {
                out.dropout(self.cfg.dropout, training)?
            } else {
                out
            };
        }
        if self.cfg.stateful {
            self.carried = Some(
                state
                    .iter()
                    .map(|s| s.iter().map(Tensor::detach).collect())
                    .collect(),
            );
        }
        let hs: Vec<Tensor> = state.iter().map(|s| s[0].clone()).collect();
        let output = if self.cfg.return_sequences {
            if self.cfg.batch_first {
                layer_in.transpose(0, 1)?
            } else {
                layer_in
            }
        } else {
            let last = &hs[hs.len() - dirs..];
            if dirs == 1 {
                last[0].clone()
            } else {
                Tensor::cat(last, -1)?
            }
        };
        let c = if self.cfg.kind == CellKind::Lstm {
            let cs: Vec<Tensor> = state.iter().map(|s| s[1].clone()).collect();
            Some(Tensor::stack(&cs, 0)?)
        } else {
            None
        };
        Ok(SequenceOutput {
            output,
            h: Tensor::stack(&hs, 0)?,
            c,
        })
    }
}

impl Layer for Recurrent {
    fn kind(&self) -> &'static str {
        self.cfg.kind.name()
    }
    fn describe(&self) -> String {
        let mut s = format!("{}({} -> {}", self.kind(), self.cfg.input, self.cfg.hidden);
        if self.cfg.layers > 1 {
            s += &format!(", layers={}", self.cfg.layers);
        }
        if self.cfg.bidirectional {
            s += ", bidirectional";
        }
        if let CellKind::Rnn { relu: true } = self.cfg.kind {
            s += ", relu";
        }
        if self.cfg.stateful {
            s += ", stateful";
        }
        s + ")"
    }
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        Ok(self.run(x, &SequenceInput::default(), training)?.output)
    }
    fn run_sequence(
        &mut self,
        x: &Tensor,
        inp: &SequenceInput,
        training: bool,
    ) -> Result<SequenceOutput> {
        self.run(x, inp, training)
    }
    fn reset_states(&mut self) {
        self.carried = None;
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        self.cells.iter().flat_map(CellWeights::params).collect()
    }
    fn keras_parameter_count(&self) -> Option<usize> {
        Some(self.cells.iter().map(CellWeights::keras_count).sum())
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        for c in &mut self.cells {
            if c.set(name, t.clone())? {
                return Ok(());
            }
        }
        Err(anyhow!("{} has no {name:?}", self.kind()))
    }
}
