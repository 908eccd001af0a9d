//! Ops, one file per family. Each op checks its operands (errors name the op and the shapes),
//! dispatches the forward computation to the backend through `Storage`, and records its
//! backward rule, written with other ops so it runs on every device.

mod binary;
mod conv;
mod convert;
mod creation;
mod index;
mod linalg;
mod loss;
mod nn;
mod norm;
mod pool;
mod recurrent;
mod reduce;
mod resize;
mod shape_ops;
mod sort;
mod unary;

pub use conv::{ConvOptions, ConvTransposeOptions, Padding, Window};
pub use index::IndexArg;
pub use loss::{ClassLossOptions, Reduction};
pub use norm::{BatchNormOptions, BatchStats};
pub use pool::PoolOptions;
pub use reduce::MinMax;
pub use resize::{InterpMode, InterpolateOptions, PadMode};

use crate::backend::Storage;
use crate::tensor::autograd::Node;
use crate::tensor::{Device, Tensor, is_grad_enabled};
use anyhow::{Result, bail};

/// Builds an op's result; attaches `backward` when recording and an input needs a gradient.
pub(crate) fn record(
    name: &'static str,
    storage: Storage,
    shape: Vec<usize>,
    inputs: &[&Tensor],
    backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + 'static,
) -> Tensor {
    if crate::tensor::trace::enabled() {
        let shapes = inputs.iter().map(|t| t.shape().to_vec()).collect();
        crate::tensor::trace::emit(name, shapes, &shape);
    }
    if is_grad_enabled() && inputs.iter().any(|t| t.requires_grad()) {
        let node = Node {
            name,
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            backward: Box::new(backward),
        };
        Tensor::with_node(storage, shape, node)
    } else {
        Tensor::from_storage(storage, shape)
    }
}

/// Errors unless all operands live on one device.
/// PyTorch's one exception to "one device per op": a 0-d CPU tensor (a scalar) joins an op on
/// another device, copied there first. Returns the operands with such scalars moved to the
/// device of the first operand that is not on the CPU (unchanged otherwise; `same_device`
/// reports any other mix).
pub(crate) fn scalars_to_device(ts: &[&Tensor]) -> Result<Vec<Tensor>> {
    let target = ts.iter().map(|t| t.device()).find(|d| *d != Device::Cpu);
    ts.iter()
        .map(|t| match target {
            Some(d) if t.device() == Device::Cpu && t.ndim() == 0 => t.to_device(d),
            _ => Ok((*t).clone()),
        })
        .collect()
}

pub(crate) fn same_device(op: &str, ts: &[&Tensor]) -> Result<()> {
    if let Some(first) = ts.first() {
        for t in &ts[1..] {
            if t.device() != first.device() {
                bail!(
                    "{op}: operands are on different devices ({} and {}); move one with .to()",
                    first.device(),
                    t.device()
                );
            }
        }
    }
    Ok(())
}
