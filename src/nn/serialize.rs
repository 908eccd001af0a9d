//! Saving and loading tensors in the safetensors format (readable by PyTorch's `safetensors`),
//! written atomically: a temporary file beside the target, then a rename.

use super::Module;
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Context, Result, anyhow, bail};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::BTreeMap;
use std::path::Path;

fn to_bytes(t: &Tensor) -> Result<(Dtype, Vec<u8>)> {
    Ok(match t.dtype() {
        DType::F32 => (
            Dtype::F32,
            t.to_f32_vec()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::I64 => (
            Dtype::I64,
            t.to_i64_vec()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::Bool => (
            Dtype::BOOL,
            t.to_bool_vec()?.iter().map(|&b| b as u8).collect(),
        ),
    })
}

fn from_view(name: &str, v: &TensorView) -> Result<Tensor> {
    let shape = v.shape().to_vec();
    let d = v.data();
    match v.dtype() {
        Dtype::F32 => Tensor::from_f32(
            d.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            &shape,
            Device::Cpu,
        ),
        Dtype::I64 => Tensor::from_i64(
            d.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            &shape,
            Device::Cpu,
        ),
        Dtype::BOOL => Tensor::from_bool(d.iter().map(|&b| b != 0).collect(), &shape, Device::Cpu),
        other => bail!("tensor {name:?} has dtype {other:?}; ember reads F32, I64 and BOOL"),
    }
}

/// Writes named tensors to `path` atomically.
pub fn save_tensors(tensors: &[(String, Tensor)], path: &Path) -> Result<()> {
    save_tensors_with_metadata(tensors, &[], path)
}

/// Writes named tensors and string metadata (the safetensors header's `__metadata__`) to
/// `path` atomically.
pub fn save_tensors_with_metadata(
    tensors: &[(String, Tensor)],
    metadata: &[(String, String)],
    path: &Path,
) -> Result<()> {
    let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| {
            let (d, b) = to_bytes(t)?;
            Ok((n.clone(), d, t.shape().to_vec(), b))
        })
        .collect::<Result<_>>()?;
    let views = bytes
        .iter()
        .map(|(n, d, s, b)| Ok((n.as_str(), TensorView::new(*d, s.clone(), b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| anyhow!("save: {e}"))?;
    let meta = (!metadata.is_empty()).then(|| metadata.iter().cloned().collect());
    let data = safetensors::serialize(views, meta).map_err(|e| anyhow!("save: {e}"))?;
    crate::data::write_atomic(path, &data).context("save")
}

/// Tensors with their names.
pub type NamedTensors = Vec<(String, Tensor)>;

/// Reads every tensor of a safetensors file, sorted by name.
pub fn load_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    Ok(load_tensors_with_metadata(path)?.0)
}

/// Reads every tensor of a safetensors file (sorted by name) and its string metadata.
pub fn load_tensors_with_metadata(path: &Path) -> Result<(NamedTensors, BTreeMap<String, String>)> {
    let data =
        std::fs::read(path).with_context(|| format!("load: cannot read {}", path.display()))?;
    let st = SafeTensors::deserialize(&data).map_err(|e| {
        anyhow!(
            "load: {} is not a valid safetensors file: {e}",
            path.display()
        )
    })?;
    let mut out: Vec<(String, Tensor)> = st
        .tensors()
        .iter()
        .map(|(n, v)| Ok((n.clone(), from_view(n, v)?)))
        .collect::<Result<_>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let meta = SafeTensors::read_metadata(&data)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok((out, meta))
}

impl Module {
    /// Saves parameters and buffers under their dotted paths.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_tensors(&self.state(), path)
    }

    /// Loads parameters and buffers saved by [`Module::save`] (or by PyTorch with the same
    /// names). Every mismatch — missing, unexpected, or differently shaped — is listed.
    pub fn load(&self, path: &Path) -> Result<()> {
        let file = load_tensors(path)?;
        let state = self.state();
        let mut problems = Vec::new();
        for (name, t) in &state {
            match file.iter().find(|(n, _)| n == name) {
                None => problems.push(format!("missing {name} (shape {:?})", t.shape())),
                Some((_, f)) if f.shape() != t.shape() => problems.push(format!(
                    "{name}: the file has shape {:?}, the model {:?}",
                    f.shape(),
                    t.shape()
                )),
                Some(_) => {}
            }
        }
        for (name, f) in &file {
            if !state.iter().any(|(n, _)| n == name) {
                problems.push(format!("unexpected {name} (shape {:?})", f.shape()));
            }
        }
        if !problems.is_empty() {
            bail!(
                "load: {} does not match the model:\n  {}",
                path.display(),
                problems.join("\n  ")
            );
        }
        // values are copied into the existing tensors, as PyTorch's load_state_dict does, so
        // an optimiser (or a tied layer) holding them sees the loaded values
        let _g = crate::tensor::no_grad();
        for (name, f) in file {
            if let Some((_, t)) = state.iter().find(|(n, _)| *n == name) {
                t.assign_(&f)?;
            }
        }
        Ok(())
    }
}
