//! The IDX format of MNIST (big-endian header: magic, dimensions; then u8 data), gzipped or not.

use super::locate;
use crate::tensor::{Device, Tensor};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// Reads an IDX file of unsigned bytes as (shape, values).
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = crate::files::read("idx", path)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let budget = crate::files::read::read_budget();
        crate::files::read_capped(
            "idx",
            path,
            flate2::read::GzDecoder::new(&raw[..]),
            budget,
            &mut out,
        )
        .with_context(|| format!("idx: {} is not a valid gzip file", path.display()))?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        bail!(
            "idx: {}: bad magic number at offset 0 (expected 00 00 type ndim)",
            path.display()
        );
    }
    if bytes[2] != 0x08 {
        bail!(
            "idx: {}: element type 0x{:02x} at offset 2 is not unsigned bytes (0x08)",
            path.display(),
            bytes[2]
        );
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        bail!(
            "idx: {}: truncated header ({} bytes, need {header})",
            path.display(),
            bytes.len()
        );
    }
    let shape: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let n = crate::tensor::shape::checked_numel("idx", &shape)?;
    if bytes.len() - header != n {
        bail!(
            "idx: {}: header says {shape:?} ({n} values) but the data holds {} bytes from offset {header}",
            path.display(),
            bytes.len() - header
        );
    }
    Ok((shape, bytes[header..].to_vec()))
}

/// MNIST images `[N, 1, 28, 28]` as f32 in [0, 1] and labels `[N]` as i64.
pub fn mnist(split: &str, dir: Option<&Path>, device: Device) -> Result<(Tensor, Tensor)> {
    let prefix = match split {
        "train" => "train",
        "test" | "t10k" => "t10k",
        other => bail!("mnist: split must be \"train\" or \"test\", got {other:?}"),
    };
    let img_path = locate("mnist", &format!("{prefix}-images-idx3-ubyte.gz"), dir)?;
    let lab_path = locate("mnist", &format!("{prefix}-labels-idx1-ubyte.gz"), dir)?;
    let (ishape, ibytes) = read_idx(&img_path)?;
    let (lshape, lbytes) = read_idx(&lab_path)?;
    if ishape.len() != 3 || lshape.len() != 1 || ishape[0] != lshape[0] {
        bail!("mnist: images {ishape:?} and labels {lshape:?} do not match");
    }
    let images = Tensor::from_f32(
        ibytes.iter().map(|&b| b as f32 / 255.0).collect(),
        &[ishape[0], 1, ishape[1], ishape[2]],
        device,
    )?;
    let labels = Tensor::from_i64(
        lbytes.iter().map(|&b| b as i64).collect(),
        &[lshape[0]],
        device,
    )?;
    Ok((images, labels))
}
