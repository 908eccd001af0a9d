//! Saving and loading tensors in the safetensors format (readable by PyTorch's `safetensors`),
//! written atomically: a temporary file beside the target, then a rename.

use super::Module;
use crate::tensor::{DType, Device, Tensor};
use anyhow::{Result, anyhow, bail};
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
    crate::files::write_atomic("save", path, &data).map(|_| ())
}

/// Tensors with their names.
pub type NamedTensors = Vec<(String, Tensor)>;

/// Reads every tensor of a safetensors file, sorted by name.
pub fn load_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    Ok(load_tensors_with_metadata(path)?.0)
}

/// Reads every tensor of a safetensors file (sorted by name) and its string metadata.
pub fn load_tensors_with_metadata(path: &Path) -> Result<(NamedTensors, BTreeMap<String, String>)> {
    let data = crate::files::read("load", path)?;
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
        self.load_with(path, &LoadOptions::default()).map(|_| ())
    }

    /// [`Module::load`] with options: file names renamed by `rename` first; with `strict` off,
    /// missing and unexpected names are reported instead of refused (a tensor whose shape
    /// differs is always an error, as in PyTorch). Values are copied into the existing tensors,
    /// as PyTorch's `load_state_dict` does, so an optimiser (or a tied layer) holding them sees
    /// the loaded values.
    pub fn load_with(&self, path: &Path, o: &LoadOptions) -> Result<LoadReport> {
        let file: Vec<(String, Tensor)> = load_tensors(path)?
            .into_iter()
            .map(|(n, t)| (o.rename(&n), t))
            .collect();
        let state = self.state();
        let mut report = LoadReport::default();
        let mut problems = Vec::new();
        for (name, t) in &state {
            match file.iter().find(|(n, _)| n == name) {
                None => report.missing.push(name.clone()),
                Some((_, f)) if f.shape() != t.shape() => problems.push(format!(
                    "{name}: the file has shape {:?}, the model {:?}",
                    f.shape(),
                    t.shape()
                )),
                Some(_) => {}
            }
        }
        for (name, _) in &file {
            if !state.iter().any(|(n, _)| n == name) {
                report.unexpected.push(name.clone());
            }
        }
        if o.strict {
            for name in &report.missing {
                let shape = state
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| t.shape());
                problems.push(format!("missing {name} (shape {:?})", shape.unwrap_or(&[])));
            }
            for name in &report.unexpected {
                let shape = file.iter().find(|(n, _)| n == name).map(|(_, t)| t.shape());
                problems.push(format!(
                    "unexpected {name} (shape {:?})",
                    shape.unwrap_or(&[])
                ));
            }
        }
        if !problems.is_empty() {
            bail!(
                "load: {} does not match the model:\n  {}",
                path.display(),
                problems.join("\n  ")
            );
        }
        let _g = crate::tensor::no_grad();
        for (name, f) in file {
            if let Some((_, t)) = state.iter().find(|(n, _)| *n == name) {
                t.assign_(&f)?;
            }
        }
        Ok(report)
    }
}

/// How [`Module::load_with`] matches a file to a model.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Refuse missing and unexpected names (PyTorch's `strict`, on by default).
    pub strict: bool,
    /// `(from, to)`: a file name equal to `from` becomes `to`; a `from` ending in `.` renames
    /// that prefix (`"lstm."` to `"0."`). Exact names win, then the longest prefix.
    pub rename: Vec<(String, String)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            strict: true,
            rename: Vec::new(),
        }
    }
}

impl LoadOptions {
    /// The model's name for the file's tensor `name`.
    pub fn rename(&self, name: &str) -> String {
        if let Some((_, to)) = self.rename.iter().find(|(from, _)| from == name) {
            return to.clone();
        }
        self.rename
            .iter()
            .filter(|(from, _)| from.ends_with('.') && name.starts_with(from.as_str()))
            .max_by_key(|(from, _)| from.len())
            .map_or_else(
                || name.to_string(),
                |(from, to)| format!("{to}{}", &name[from.len()..]),
            )
    }
}

/// What a non-strict load skipped (PyTorch's `missing_keys` and `unexpected_keys`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// The model's tensors the file does not have (left as they were).
    pub missing: Vec<String>,
    /// The file's tensors the model does not have (ignored).
    pub unexpected: Vec<String>,
}
