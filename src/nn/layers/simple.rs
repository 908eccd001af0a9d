//! Layers without weights, and the sequential container.

use crate::nn::{Layer, Module};
use crate::tensor::Tensor;
use anyhow::{Result, bail};

/// Zeroes elements with probability `p` while training.
pub struct Dropout {
    pub p: f64,
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }
    fn describe(&self) -> String {
        format!("Dropout({})", self.p)
    }
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        x.dropout(self.p, training)
    }
}

/// Merges every dimension after the first.
pub struct Flatten;

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn describe(&self) -> String {
        "Flatten".into()
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        if x.ndim() < 2 {
            Ok(x.clone())
        } else {
            x.flatten(1, -1)
        }
    }
}

/// Mean over spatial positions: `[N, C, ...]` to `[N, C]`.
pub struct GlobalAvgPool;

impl Layer for GlobalAvgPool {
    fn kind(&self) -> &'static str {
        "GlobalAvgPool"
    }
    fn describe(&self) -> String {
        "GlobalAvgPool".into()
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        x.global_avg_pool()
    }
}

/// An elementwise activation (or softmax along a dimension) as a layer.
#[derive(Clone, Copy, Debug)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Elu(f64),
    LeakyRelu(f64),
    Softmax(i64),
    LogSoftmax(i64),
}

impl Layer for Activation {
    fn kind(&self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Tanh => "Tanh",
            Activation::Sigmoid => "Sigmoid",
            Activation::Elu(_) => "ELU",
            Activation::LeakyRelu(_) => "LeakyReLU",
            Activation::Softmax(_) => "Softmax",
            Activation::LogSoftmax(_) => "LogSoftmax",
        }
    }
    fn describe(&self) -> String {
        self.kind().into()
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        match *self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Elu(a) => x.elu(a),
            Activation::LeakyRelu(s) => x.leaky_relu(s),
            Activation::Softmax(d) => x.softmax(d),
            Activation::LogSoftmax(d) => x.log_softmax(d),
        }
    }
}

/// Modules applied in order.
pub struct Sequential {
    pub layers: Vec<Module>,
}

impl Layer for Sequential {
    fn kind(&self) -> &'static str {
        "Sequential"
    }
    fn describe(&self) -> String {
        format!("Sequential({} layers)", self.layers.len())
    }
    fn forward(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        if self.layers.is_empty() {
            bail!("an empty sequential has nothing to run");
        }
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l
                .forward(&h)
                .map_err(|e| anyhow::anyhow!("layer {i}: {e:#}"))?;
        }
        Ok(h)
    }
    fn children(&self) -> Vec<Module> {
        self.layers.clone()
    }
}
