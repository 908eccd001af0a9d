//! Layers as modules: a [`Layer`] holds its parameters and computes a forward pass; a
//! [`Module`] is the shared handle scripts hold (calling one layer object on several inputs
//! shares its weights). Plain Rust over `Tensor`; the script surface is in `script/nn_api.rs`.

pub mod init;
pub mod layers;
pub mod serialize;
mod summary;

use crate::tensor::{Device, Tensor};
use anyhow::{Result, anyhow, bail};
use layers::{SequenceInput, SequenceOutput};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

/// A layer: its parameters, its buffers (state that is saved but not trained), and its forward.
pub trait Layer {
    /// Short type name: "Linear", "Conv2d", ...
    fn kind(&self) -> &'static str;
    /// One-line description with the sizes: "Linear(784 -> 512)".
    fn describe(&self) -> String;
    /// The forward pass; `training` selects dropout and batch statistics.
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor>;
    /// Trainable tensors owned by this layer, by name.
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        Vec::new()
    }
    /// Saved, untrained state (running statistics), by name.
    fn buffers(&self) -> Vec<(&'static str, Tensor)> {
        Vec::new()
    }
    /// Replaces a parameter or buffer (same shape), e.g. when loading or from a script.
    fn set_tensor(&mut self, name: &str, _t: Tensor) -> Result<()> {
        bail!("{} has no parameter or buffer named {name:?}", self.kind())
    }
    /// Sub-modules, in order.
    fn children(&self) -> Vec<Module> {
        Vec::new()
    }
    /// Whole-sequence recurrent layers: the output and the final state, from an optional
    /// initial state and sequence lengths.
    fn run_sequence(
        &mut self,
        _x: &Tensor,
        _inp: &SequenceInput,
        _training: bool,
    ) -> Result<SequenceOutput> {
        bail!(
            "{} is not a recurrent sequence layer (nn::rnn, nn::lstm, nn::gru)",
            self.kind()
        )
    }
    /// Recurrent cells: one step from `state` (`[h]`, or `[h, c]` for an LSTM).
    fn step(&mut self, _x: &Tensor, _state: &[Tensor], _training: bool) -> Result<Vec<Tensor>> {
        bail!(
            "{} is not a recurrent cell (nn::rnn_cell, nn::lstm_cell, nn::gru_cell)",
            self.kind()
        )
    }
    /// Stateful layers forget their carried state.
    fn reset_states(&mut self) {}
    /// This layer's own parameter elements as Keras counts them, where that differs from the
    /// tensors it holds (an RNN or LSTM: one bias per gate, not PyTorch's two).
    fn keras_parameter_count(&self) -> Option<usize> {
        None
    }
    /// Attention layers: the context for a decoder state; see `layers::Attention`.
    fn attend(
        &mut self,
        _keys: &Tensor,
        _query: &Tensor,
        _mask: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor)> {
        bail!("{} is not an attention layer (nn::attention)", self.kind())
    }
}

/// A layer plus its mode and regularisation.
pub struct ModuleCell {
    layer: Box<dyn Layer>,
    training: bool,
    /// L2 penalty weight on this layer's `weight` (0 for none).
    l2: f64,
}

/// Shared handle to a layer. Clones refer to the same layer and weights.
#[derive(Clone)]
pub struct Module(Rc<RefCell<ModuleCell>>);

impl Module {
    /// Wraps a layer (in training mode).
    pub fn new(layer: impl Layer + 'static) -> Module {
        Module(Rc::new(RefCell::new(ModuleCell {
            layer: Box::new(layer),
            training: true,
            l2: 0.0,
        })))
    }

    fn id(&self) -> usize {
        Rc::as_ptr(&self.0) as *const u8 as usize
    }

    fn cell(&self) -> Result<std::cell::RefMut<'_, ModuleCell>> {
        self.0.try_borrow_mut().map_err(|_| {
            anyhow!("a module cannot contain itself or run inside its own forward pass")
        })
    }

    fn cell_ref(&self) -> Result<std::cell::Ref<'_, ModuleCell>> {
        self.0
            .try_borrow()
            .map_err(|_| anyhow!("a module is in use inside its own forward pass"))
    }

    /// Runs the forward pass in the module's current mode.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut c = self.cell()?;
        let training = c.training;
        let kind = c.layer.kind();
        c.layer
            .forward(x, training)
            .map_err(|e| anyhow!("{kind}: {e:#}"))
    }

    /// Runs a recurrent sequence layer with an initial state and lengths.
    pub fn run_sequence(&self, x: &Tensor, inp: &SequenceInput) -> Result<SequenceOutput> {
        let mut c = self.cell()?;
        let training = c.training;
        let kind = c.layer.kind();
        c.layer
            .run_sequence(x, inp, training)
            .map_err(|e| anyhow!("{kind}: {e:#}"))
    }

    /// One step of a recurrent cell.
    pub fn step(&self, x: &Tensor, state: &[Tensor]) -> Result<Vec<Tensor>> {
        let mut c = self.cell()?;
        let training = c.training;
        let kind = c.layer.kind();
        c.layer
            .step(x, state, training)
            .map_err(|e| anyhow!("{kind}: {e:#}"))
    }

    /// Attention: `(context, weights)` for one query.
    pub fn attend(
        &self,
        keys: &Tensor,
        query: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor)> {
        let mut c = self.cell()?;
        let kind = c.layer.kind();
        c.layer
            .attend(keys, query, mask)
            .map_err(|e| anyhow!("{kind}: {e:#}"))
    }

    /// Clears the carried state of every stateful layer inside.
    pub fn reset_states(&self) {
        if let Ok(mut c) = self.0.try_borrow_mut() {
            c.layer.reset_states();
        }
        for ch in self.children() {
            ch.reset_states();
        }
    }

    pub fn kind(&self) -> String {
        self.cell_ref()
            .map(|c| c.layer.kind().to_string())
            .unwrap_or_default()
    }

    pub fn describe(&self) -> String {
        self.cell_ref()
            .map(|c| c.layer.describe())
            .unwrap_or_default()
    }

    pub fn children(&self) -> Vec<Module> {
        self.cell_ref()
            .map(|c| c.layer.children())
            .unwrap_or_default()
    }

    /// Training mode (dropout on, batch statistics) for this module and its children.
    pub fn set_training(&self, on: bool) {
        if let Ok(mut c) = self.0.try_borrow_mut() {
            c.training = on;
        }
        for ch in self.children() {
            ch.set_training(on);
        }
    }

    pub fn is_training(&self) -> bool {
        self.cell_ref().map(|c| c.training).unwrap_or(false)
    }

    /// Sets the L2 penalty weight on this layer's weight.
    pub fn set_l2(&self, l2: f64) -> Result<()> {
        if l2 < 0.0 {
            bail!("l2 must be non-negative, got {l2}");
        }
        self.cell()?.l2 = l2;
        Ok(())
    }

    /// Walks the module tree once per distinct module (shared layers count once), with paths.
    fn walk(&self, prefix: &str, seen: &mut HashSet<usize>, f: &mut dyn FnMut(&str, &Module)) {
        if !seen.insert(self.id()) {
            return;
        }
        f(prefix, self);
        for (i, ch) in self.children().iter().enumerate() {
            let p = if prefix.is_empty() {
                i.to_string()
            } else {
                format!("{prefix}.{i}")
            };
            ch.walk(&p, seen, f);
        }
    }

    fn own_tensors(&self, buffers: bool) -> Vec<(&'static str, Tensor)> {
        self.cell_ref()
            .map(|c| {
                if buffers {
                    c.layer.buffers()
                } else {
                    c.layer.params()
                }
            })
            .unwrap_or_default()
    }

    fn named(&self, buffers: bool) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.walk("", &mut HashSet::new(), &mut |path, m| {
            for (n, t) in m.own_tensors(buffers) {
                out.push((
                    if path.is_empty() {
                        n.to_string()
                    } else {
                        format!("{path}.{n}")
                    },
                    t,
                ));
            }
        });
        out
    }

    /// Every parameter with its dotted path (`0.weight`, `2.bias`), shared layers once.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.named(false)
    }

    /// Every buffer (running statistics) with its dotted path.
    pub fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.named(true)
    }

    /// Every parameter, shared layers once.
    pub fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Parameters and buffers, as saved in a file.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut s = self.named_parameters();
        s.extend(self.named_buffers());
        s
    }

    /// Replaces the tensor at a dotted path (`1.running_mean`), checking its shape.
    pub fn set_state(&self, path: &str, t: Tensor) -> Result<()> {
        let (module_path, name) = path.rsplit_once('.').unwrap_or(("", path));
        let mut target = None;
        self.walk("", &mut HashSet::new(), &mut |p, m| {
            if p == module_path && target.is_none() {
                target = Some(m.clone());
            }
        });
        let m = target.ok_or_else(|| anyhow!("no module at {module_path:?}"))?;
        m.set_tensor(name, t)
    }

    /// Replaces one of this module's own parameters or buffers (same shape required). A
    /// parameter becomes the given tensor (shared, so weights can be tied); a buffer gets a
    /// copy of its values, since layers update buffers in place (running statistics) and must
    /// not write into a script's tensor.
    pub fn set_tensor(&self, name: &str, t: Tensor) -> Result<()> {
        let mut c = self.cell()?;
        let is_buffer = c.layer.buffers().iter().any(|(n, _)| *n == name);
        let t = if is_buffer {
            t.detach().clone_tensor()?
        } else {
            t
        };
        let current = c
            .layer
            .params()
            .into_iter()
            .chain(c.layer.buffers())
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t);
        match current {
            Some(old) if old.shape() != t.shape() => {
                bail!(
                    "{}: {name} has shape {:?}, the new value {:?}",
                    c.layer.kind(),
                    old.shape(),
                    t.shape()
                )
            }
            Some(old) => {
                let t = t
                    .detach()
                    .to_dtype(old.dtype())?
                    .requires_grad_(old.requires_grad())?;
                c.layer.set_tensor(name, t)
            }
            None => bail!(
                "{} has no parameter or buffer named {name:?}",
                c.layer.kind()
            ),
        }
    }

    /// One of this module's own parameters or buffers by name.
    pub fn get_tensor(&self, name: &str) -> Result<Tensor> {
        let c = self.cell_ref()?;
        let own = c
            .layer
            .params()
            .into_iter()
            .chain(c.layer.buffers())
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t);
        drop(c);
        // a dotted path into a container (`1.running_mean`), as in PyTorch's state_dict
        own.or_else(|| {
            name.contains('.')
                .then(|| self.state().into_iter().find(|(n, _)| n == name))
                .flatten()
                .map(|(_, t)| t)
        })
        .ok_or_else(|| {
            let c = self.cell_ref().ok();
            let kind = c
                .as_ref()
                .map_or("module".to_string(), |c| c.layer.kind().to_string());
            anyhow!("{kind} has no parameter or buffer named {name:?}")
        })
    }

    /// Clears the gradients of every parameter.
    pub fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Marks every parameter trainable (or frozen).
    pub fn set_trainable(&self, on: bool) -> Result<()> {
        for p in self.parameters() {
            p.set_requires_grad(on)?;
        }
        Ok(())
    }

    /// Moves every parameter and buffer to `device`.
    pub fn to_device(&self, device: Device) -> Result<()> {
        for (path, t) in self.state() {
            let moved = t.detach().to_device(device)?;
            self.set_state(&path, moved)?;
        }
        Ok(())
    }

    /// The sum of every layer's L2 penalty `l2 * sum(weight²)` (a 0-d tensor, 0 when none).
    pub fn regularization(&self) -> Result<Tensor> {
        let mut total: Option<Tensor> = None;
        let mut err = None;
        self.walk("", &mut HashSet::new(), &mut |_, m| {
            let l2 = m.cell_ref().map(|c| c.l2).unwrap_or(0.0);
            if l2 > 0.0
                && let Ok(w) = m.get_tensor("weight")
            {
                let term = w
                    .mul(&w)
                    .and_then(|s| s.sum())
                    .and_then(|s| s.mul_scalar(l2));
                match (term, total.take()) {
                    (Ok(t), None) => total = Some(t),
                    (Ok(t), Some(acc)) => match acc.add(&t) {
                        Ok(s) => total = Some(s),
                        Err(e) => err = Some(e),
                    },
                    (Err(e), prev) => {
                        err = Some(e);
                        total = prev;
                    }
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        match total {
            Some(t) => Ok(t),
            None => Tensor::scalar(0.0),
        }
    }

    /// Number of parameter elements as Keras counts them (one bias per gate in RNN and LSTM
    /// layers, where PyTorch and ember keep two); elsewhere the same as `count_parameters`.
    pub fn keras_parameter_count(&self) -> usize {
        let mut total = 0;
        self.walk("", &mut HashSet::new(), &mut |_, m| {
            total += m
                .cell_ref()
                .ok()
                .and_then(|c| c.layer.keras_parameter_count())
                .unwrap_or_else(|| m.own_tensors(false).iter().map(|(_, t)| t.numel()).sum());
        });
        total
    }

    /// Number of elements in all parameters (and in the trainable ones).
    pub fn count_parameters(&self) -> (usize, usize) {
        let ps = self.parameters();
        (
            ps.iter().map(Tensor::numel).sum(),
            ps.iter()
                .filter(|p| p.requires_grad())
                .map(Tensor::numel)
                .sum(),
        )
    }
}
