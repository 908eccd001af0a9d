//! Fully connected and embedding layers.

use super::{replace, set_weight_or_bias, weight_and_bias};
use crate::nn::Layer;
use crate::nn::init::{Init, make};
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, bail};

/// `y = x @ weight.T + bias`, weight `[out, in]` (PyTorch's layout), on the last dimension.
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(inp: usize, out: usize, bias: bool, init: &Init, device: Device) -> Result<Linear> {
        let weight = make(init, &[out, inp], device)?.requires_grad_(true)?;
        let bias = if bias {
            let bound = 1.0 / (inp.max(1) as f64).sqrt();
            let b = if *init == Init::Default {
                Tensor::uniform(&[out], -bound, bound, device)?
            } else {
                Tensor::zeros(&[out], DType::F32, device)?
            };
            Some(b.requires_grad_(true)?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }
}

impl Layer for Linear {
    fn kind(&self) -> &'static str {
        "Linear"
    }
    fn describe(&self) -> String {
        format!(
            "Linear({} -> {})",
            self.weight.shape()[1],
            self.weight.shape()[0]
        )
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        x.linear(&self.weight, self.bias.as_ref())
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        weight_and_bias(Some(&self.weight), self.bias.as_ref())
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        set_weight_or_bias(
            "Linear",
            name,
            t,
            Some(&mut self.weight),
            self.bias.as_mut(),
        )
    }
}

/// Rows of `weight [vocab, dim]` for i64 ids; the padding row (if any) stays zero and gets no
/// gradient.
pub struct Embedding {
    pub weight: Tensor,
    pub padding_idx: Option<i64>,
}

impl Embedding {
    pub fn new(
        vocab: usize,
        dim: usize,
        padding_idx: Option<i64>,
        init: &Init,
        device: Device,
    ) -> Result<Embedding> {
        let init = if *init == Init::Default {
            Init::Normal(0.0, 1.0)
        } else {
            init.clone()
        };
        let mut w = make(&init, &[vocab, dim], device)?;
        if let Some(p) = padding_idx {
            if p < 0 || p as usize >= vocab {
                bail!("embedding: padding_idx {p} is outside 0..{vocab}");
            }
            w.index_put_(&crate::ops::IndexArg::Int(p), &Tensor::scalar(0.0)?)?;
            w = w.detach();
        }
        Ok(Embedding {
            weight: w.requires_grad_(true)?,
            padding_idx,
        })
    }

    /// An embedding holding the given weights (pretrained vectors).
    pub fn from_weights(weight: Tensor, padding_idx: Option<i64>) -> Result<Embedding> {
        if weight.ndim() != 2 {
            bail!(
                "embedding: pretrained weights must be [vocab, dim], got {:?}",
                weight.shape()
            );
        }
        Ok(Embedding {
            weight: weight.detach().to_dtype(DType::F32)?.requires_grad_(true)?,
            padding_idx,
        })
    }
}

impl Layer for Embedding {
    fn kind(&self) -> &'static str {
        "Embedding"
    }
    fn describe(&self) -> String {
        format!(
            "Embedding({}, {})",
            self.weight.shape()[0],
            self.weight.shape()[1]
        )
    }
    fn forward(&mut self, ids: &Tensor, _training: bool) -> Result<Tensor> {
        Tensor::embedding_with(ids, &self.weight, self.padding_idx)
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        vec![("weight", self.weight.clone())]
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        match name {
            "weight" => replace(&mut self.weight, t),
            _ => bail!("Embedding has no {name:?}"),
        }
    }
}
