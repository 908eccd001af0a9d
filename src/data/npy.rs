//! NumPy's `.npy` format (version 1.0/2.0 headers; little-endian f32, f64, i64, i32, u8 and bool
//! read; f32, i64 and bool written) and `.npz` archives of them.

use crate::tensor::{DType, Device, Tensor};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses one `.npy` image; `what` names the source in errors.
pub fn parse(bytes: &[u8], what: &str, device: Device) -> Result<Tensor> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        bail!("npy: {what}: bad magic number at offset 0 (not a .npy file)");
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => bail!("npy: {what}: unsupported format version {v} at offset 6"),
    };
    if bytes.len() - start < hlen {
        bail!(
            "npy: {what}: truncated header (needs {} bytes, file has {})",
            start + hlen,
            bytes.len()
        );
    }
    let header = std::str::from_utf8(&bytes[start..start + hlen])
        .with_context(|| format!("npy: {what}: the header is not text"))?;
    let field = |key: &str| -> Result<&str> {
        let k = format!("'{key}':");
        let at = header
            .find(&k)
            .with_context(|| format!("npy: {what}: header has no {key}: {header}"))?;
        Ok(header[at + k.len()..].trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .with_context(|| format!("npy: {what}: bad descr in {header}"))?;
    if field("fortran_order")?.starts_with("True") {
        bail!(
            "npy: {what}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray"
        );
    }
    let shape_txt = field("shape")?;
    let inner = shape_txt
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .with_context(|| format!("npy: {what}: bad shape in {header}"))?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .with_context(|| format!("npy: {what}: bad shape {inner:?}"))
        })
        .collect::<Result<_>>()?;
    let n = crate::tensor::shape::checked_numel("npy", &shape)?;
    let data = &bytes[start + hlen..];
    let width = match descr {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        "|u1" | "|b1" | "|i1" => 1,
        other => bail!(
            "npy: {what}: dtype {other:?} is not supported (f32, f64, i64, i32, u8, i8, bool)"
        ),
    };
    let need = n.checked_mul(width).with_context(|| {
        format!("npy: {what}: shape {shape:?} of {width}-byte values overflows the byte count")
    })?;
    if data.len() != need {
        bail!(
            "npy: {what}: shape {shape:?} needs {need} data bytes from offset {}, found {}",
            start + hlen,
            data.len()
        );
    }
    let words = |w: usize| data.chunks_exact(w);
    match descr {
        "<f4" => Tensor::from_f32(
            words(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
            &shape,
            device,
        ),
        "<f8" => Tensor::from_f32(
            words(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()) as f32)
                .collect(),
            &shape,
            device,
        ),
        "<i8" => Tensor::from_i64(
            words(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
            &shape,
            device,
        ),
        "<i4" => Tensor::from_i64(
            words(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default()) as i64)
                .collect(),
            &shape,
            device,
        ),
        "|u1" => Tensor::from_i64(data.iter().map(|&b| b as i64).collect(), &shape, device),
        "|i1" => Tensor::from_i64(
            data.iter().map(|&b| b as i8 as i64).collect(),
            &shape,
            device,
        ),
        _ => Tensor::from_bool(data.iter().map(|&b| b != 0).collect(), &shape, device),
    }
}

/// The `.npy` image of a tensor.
pub fn encode(t: &Tensor) -> Result<Vec<u8>> {
    let (descr, body): (&str, Vec<u8>) = match t.dtype() {
        DType::F32 => (
            "<f4",
            t.to_f32_vec()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::I64 => (
            "<i8",
            t.to_i64_vec()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::Bool => ("|b1", t.to_bool_vec()?.iter().map(|&b| b as u8).collect()),
    };
    let dims: Vec<String> = t.shape().iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // pad so the data starts on a multiple of 64 bytes, ending the header with a newline
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn load_npy(path: &Path, device: Device) -> Result<Tensor> {
    let bytes = crate::files::read("npy", path)?;
    parse(&bytes, &path.display().to_string(), device)
}

pub fn save_npy(path: &Path, t: &Tensor) -> Result<()> {
    crate::files::write_atomic("save_npy", path, &encode(t)?).map(|_| ())
}

/// Every array in an `.npz` archive, by name (without `.npy`), in archive order.
pub fn load_npz(path: &Path, device: Device) -> Result<Vec<(String, Tensor)>> {
    let (file, _) = crate::files::open("npz", path)?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("npz: {} is not a zip archive", path.display()))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("npz: {}: entry {i}", path.display()))?;
        let name = entry
            .name()
            .with_context(|| format!("npz: {}: entry {i} has a bad name", path.display()))?
            .trim_end_matches(".npy")
            .to_string();
        // The declared size is checked before anything is inflated, and the inflation is
        // capped at it (a small archive may declare, or hide, a huge entry).
        let declared = entry.size();
        let budget = crate::files::read::read_budget();
        if declared > budget as u64 {
            bail!(
                "npz: {}: entry {name} declares {}, more than the {} of tensor memory left",
                path.display(),
                crate::backend::memory::human_bytes(declared as usize),
                crate::backend::memory::human_bytes(budget)
            );
        }
        let mut bytes = Vec::new();
        let what = format!("{}:{name}", path.display());
        crate::files::read_capped(
            "npz",
            Path::new(&what),
            &mut entry,
            declared as usize,
            &mut bytes,
        )?;
        if bytes.len() as u64 != declared {
            bail!(
                "npz: {what}: the entry holds {} bytes but declares {declared}",
                bytes.len()
            );
        }
        out.push((
            name.clone(),
            parse(&bytes, &format!("{}:{name}", path.display()), device)?,
        ));
    }
    Ok(out)
}

/// Writes named tensors as an (uncompressed) `.npz` archive, atomically.
pub fn save_npz(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, t) in tensors {
            zip.start_file(format!("{name}.npy"), opts).context("npz")?;
            zip.write_all(&encode(t)?).context("npz")?;
        }
        zip.finish().context("npz")?;
    }
    crate::files::write_atomic("save_npz", path, &buf.into_inner()).map(|_| ())
}
