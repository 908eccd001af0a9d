//! Weight initialisers: Glorot/Xavier, He/Kaiming, orthogonal, identity, constant, uniform,
//! normal, and PyTorch's layer defaults.

use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, bail};

/// How to fill a new weight.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's default for linear and conv layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Default,
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    Orthogonal,
    Identity,
    Zeros,
    Ones,
    Constant(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
}

impl Init {
    /// Parses a name as scripts write it (`"glorot_uniform"`, `"xavier_normal"`, `"he_normal"`,
    /// `"kaiming_uniform"`, `"orthogonal"`, `"identity"`, `"zeros"`, `"ones"`, `"default"`).
    pub fn parse(name: &str) -> Result<Init> {
        Ok(match name {
            "default" => Init::Default,
            "glorot_uniform" | "xavier_uniform" => Init::GlorotUniform,
            "glorot_normal" | "xavier_normal" => Init::GlorotNormal,
            "he_uniform" | "kaiming_uniform" => Init::HeUniform,
            "he_normal" | "kaiming_normal" => Init::HeNormal,
            "orthogonal" => Init::Orthogonal,
            "identity" | "eye" => Init::Identity,
            "zeros" => Init::Zeros,
            "ones" => Init::Ones,
            other => bail!(
                "unknown initialiser {other:?} (known: default, glorot_uniform, glorot_normal, he_uniform, he_normal, orthogonal, identity, zeros, ones)"
            ),
        })
    }
}

/// (fan_in, fan_out) of a weight in PyTorch layout `[out, in, k...]`.
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [out, inp, rest @ ..] => {
            let k: usize = rest.iter().product();
            (inp * k, out * k)
        }
    }
}

/// A new f32 tensor of `shape` filled by `init`.
pub fn make(init: &Init, shape: &[usize], device: Device) -> Result<Tensor> {
    let (fan_in, fan_out) = fans(shape);
    let uniform = |a: f64| Tensor::uniform(shape, -a, a, device);
    match init {
        Init::Default => uniform(1.0 / (fan_in.max(1) as f64).sqrt()),
        Init::GlorotUniform => uniform((6.0 / (fan_in + fan_out).max(1) as f64).sqrt()),
        Init::GlorotNormal => Tensor::normal(
            shape,
            0.0,
            (2.0 / (fan_in + fan_out).max(1) as f64).sqrt(),
            device,
        ),
        Init::HeUniform => uniform((6.0 / fan_in.max(1) as f64).sqrt()),
        Init::HeNormal => Tensor::normal(shape, 0.0, (2.0 / fan_in.max(1) as f64).sqrt(), device),
        Init::Zeros => Tensor::zeros(shape, DType::F32, device),
        Init::Ones => Tensor::ones(shape, DType::F32, device),
        Init::Constant(v) => Tensor::full(shape, *v, DType::F32, device),
        Init::Uniform(a, b) => Tensor::uniform(shape, *a, *b, device),
        Init::Normal(m, s) => Tensor::normal(shape, *m, *s, device),
        Init::Identity => {
            if shape.len() != 2 {
                bail!("identity init needs a 2-D weight, got shape {shape:?}");
            }
            Tensor::eye(shape[0], shape[1], device)
        }
        Init::Orthogonal => orthogonal(shape, device),
    }
}

/// A (semi-)orthogonal matrix by Gram–Schmidt on Gaussian rows (flattened to 2-D as PyTorch does).
fn orthogonal(shape: &[usize], device: Device) -> Result<Tensor> {
    if shape.len() < 2 {
        bail!("orthogonal init needs at least 2 dimensions, got shape {shape:?}");
    }
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    // Orthonormalise along the longer side.
    let (n, m) = if rows <= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut v = Tensor::normal(&[n, m], 0.0, 1.0, Device::Cpu)?.to_f32_vec()?;
    for i in 0..n {
        for j in 0..i {
            let dot: f32 = (0..m).map(|k| v[i * m + k] * v[j * m + k]).sum();
            for k in 0..m {
                v[i * m + k] -= dot * v[j * m + k];
            }
        }
        let norm = (0..m)
            .map(|k| v[i * m + k] * v[i * m + k])
            .sum::<f32>()
            .sqrt()
            .max(1e-12);
        for k in 0..m {
            v[i * m + k] /= norm;
        }
    }
    let t = Tensor::from_f32(v, &[n, m], device)?;
    let t = if rows <= cols { t } else { t.t()? };
    t.reshape_usize(shape)
}
