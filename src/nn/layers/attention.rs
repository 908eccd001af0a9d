//! Additive (Bahdanau) attention for decoder loops written in a script.

use crate::nn::Layer;
use crate::nn::init::{Init, make};
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, bail};

/// Scores `v · tanh(W1 h_j + W2 s)` over encoder steps `h_j` for a decoder state `s`, a masked
/// softmax over the steps (padding gets weight 0) and the context `Σ_j a_j h_j`.
pub struct Attention {
    /// `W1 [A, E]`: projects the encoder outputs (keys).
    pub w_keys: Tensor,
    /// `W2 [A, S]`: projects the decoder state (query).
    pub w_query: Tensor,
    /// `b [A]`: bias inside the tanh.
    pub bias: Tensor,
    /// `v [A]`: turns each step's features into a score.
    pub v: Tensor,
    /// The last keys and their projection `keys W1^T`: a decoder loop attends over the same
    /// encoder outputs at every step, so the projection is computed once per sequence.
    cache: Option<(Tensor, Tensor)>,
}

impl Attention {
    pub fn new(keys: usize, query: usize, units: usize, device: Device) -> Result<Attention> {
        let w = |shape: &[usize]| make(&Init::GlorotUniform, shape, device)?.requires_grad_(true);
        Ok(Attention {
            w_keys: w(&[units, keys])?,
            w_query: w(&[units, query])?,
            bias: Tensor::zeros(&[units], DType::F32, device)?.requires_grad_(true)?,
            v: w(&[1, units])?,
            cache: None,
        })
    }
}

impl Layer for Attention {
    fn kind(&self) -> &'static str {
        "Attention"
    }
    fn describe(&self) -> String {
        format!(
            "Attention(keys {}, query {}, units {})",
            self.w_keys.shape()[1],
            self.w_query.shape()[1],
            self.w_keys.shape()[0]
        )
    }
    fn forward(&mut self, _x: &Tensor, _training: bool) -> Result<Tensor> {
        bail!(
            "attention takes the encoder outputs and a decoder state: use att.context(keys, query) or att.context(keys, query, mask)"
        )
    }
    fn attend(
        &mut self,
        keys: &Tensor,
        query: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor)> {
        let (e, s) = (self.w_keys.shape()[1], self.w_query.shape()[1]);
        if keys.ndim() != 3
            || keys.shape()[2] != e
            || query.ndim() != 2
            || query.shape()[1] != s
            || query.shape()[0] != keys.shape()[0]
        {
            bail!(
                "expects keys [B, T, {e}] and a query [B, {s}], got {:?} and {:?}",
                keys.shape(),
                query.shape()
            );
        }
        let (b, t) = (keys.shape()[0], keys.shape()[1]);
        if let Some(m) = mask
            && m.shape() != [b, t]
        {
            bail!(
                "the mask should be [{b}, {t}] like the keys' steps, got {:?}",
                m.shape()
            );
        }
        let q = query
            .matmul_nt(&self.w_query)?
            .add(&self.bias)?
            .unsqueeze(1)?;
        let projected = match &self.cache {
            Some((k, p)) if k.same_tensor(keys) => p.clone(),
            _ => {
                let p = keys.matmul_nt(&self.w_keys)?;
                self.cache = Some((keys.clone(), p.clone()));
                p
            }
        };
        let feats = projected.add(&q)?.tanh()?;
        let scores = feats.matmul_nt(&self.v)?.reshape_usize(&[b, t])?;
        let weights = match mask {
            Some(m) => scores.masked_softmax(m, 1)?,
            None => scores.softmax(1)?,
        };
        let context = weights.unsqueeze(1)?.matmul(keys)?.reshape_usize(&[b, e])?;
        Ok((context, weights))
    }
    fn params(&self) -> Vec<(&'static str, Tensor)> {
        vec![
            ("w_keys", self.w_keys.clone()),
            ("w_query", self.w_query.clone()),
            ("bias", self.bias.clone()),
            ("v", self.v.clone()),
        ]
    }
    fn set_tensor(&mut self, name: &str, t: Tensor) -> Result<()> {
        let slot = match name {
            "w_keys" => &mut self.w_keys,
            "w_query" => &mut self.w_query,
            "bias" => &mut self.bias,
            "v" => &mut self.v,
            _ => bail!("Attention has no {name:?}"),
        };
        *slot = t;
        self.cache = None;
        Ok(())
    }
}
