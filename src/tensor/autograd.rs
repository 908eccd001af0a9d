//! Define-by-run autograd: each op that sees a gradient-requiring input records a `Node` with
//! its inputs and a backward rule; `backward` walks the graph in reverse topological order.

use super::Tensor;
use anyhow::{Result, bail};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// Backward rule: given the gradient of the output, the gradients of each input (None where
/// an input takes no gradient).
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>>>;

/// One recorded op in the graph.
pub(crate) struct Node {
    pub name: &'static str,
    pub inputs: Vec<Tensor>,
    pub backward: BackwardFn,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops currently record the graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Turns graph recording off until dropped (restoring the previous mode).
pub struct NoGradGuard(bool);

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.0));
    }
}

/// Turns graph recording on or off; returns the previous setting.
pub fn set_grad_enabled(on: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(on))
}

/// Stops recording the graph until the returned guard is dropped.
pub fn no_grad() -> NoGradGuard {
    NoGradGuard(GRAD_ENABLED.with(|g| g.replace(false)))
}

/// Adds `g` into the running gradient total for one tensor.
fn accumulate(slot: Option<Tensor>, g: Tensor) -> Result<Tensor> {
    match slot {
        None => Ok(g),
        Some(prev) => prev.add(&g),
    }
}

impl Tensor {
    /// Back-propagates from a scalar (seed gradient 1).
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            bail!(
                "backward: called on a tensor of shape {:?}; pass a gradient of that shape or reduce it to a scalar first",
                self.shape()
            );
        }
        let seed = Tensor::ones_like(self)?;
        self.backward_with(&seed)
    }

    /// Back-propagates `grad` (same shape as `self`), accumulating into leaves' `.grad`.
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        if !self.requires_grad() {
            bail!(
                "backward: this tensor does not require grad (no parameter it depends on has requires_grad set)"
            );
        }
        if grad.shape() != self.shape() {
            bail!(
                "backward: gradient of shape {:?} for a tensor of shape {:?}",
                grad.shape(),
                self.shape()
            );
        }
        let _guard = super::no_grad();
        let order = self.topological_order();
        let mut grads: HashMap<usize, Tensor> = HashMap::new();
        grads.insert(self.id(), grad.detach());
        for t in order.iter().rev() {
            let Some(g) = grads.remove(&t.id()) else {
                continue;
            };
            match t.node() {
                None => {
                    if t.requires_grad() {
                        t.set_grad(Some(accumulate(t.grad(), g)?));
                    }
                }
                Some(node) => {
                    let input_grads = (node.backward)(&g)?;
                    for (inp, ig) in node.inputs.iter().zip(input_grads) {
                        let Some(ig) = ig else { continue };
                        if !inp.requires_grad() {
                            continue;
                        }
                        if ig.shape() != inp.shape() {
                            bail!(
                                "backward of {}: gradient shape {:?} does not match input shape {:?}",
                                node.name,
                                ig.shape(),
                                inp.shape()
                            );
                        }
                        let prev = grads.remove(&inp.id());
                        grads.insert(inp.id(), accumulate(prev, ig)?);
                    }
                }
            }
        }
        Ok(())
    }

    /// Every tensor this one depends on through recorded ops, inputs before outputs.
    fn topological_order(&self) -> Vec<Tensor> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<(Tensor, bool)> = vec![(self.clone(), false)];
        while let Some((t, expanded)) = stack.pop() {
            if expanded {
                order.push(t);
                continue;
            }
            if !seen.insert(t.id()) {
                continue;
            }
            stack.push((t.clone(), true));
            if let Some(node) = t.node() {
                for inp in &node.inputs {
                    if inp.requires_grad() && !seen.contains(&inp.id()) {
                        stack.push((inp.clone(), false));
                    }
                }
            }
        }
        order
    }
}
