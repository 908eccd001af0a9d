//! Printing tensors the way PyTorch does: nested brackets, aligned columns, `...` summaries.

use super::{DType, Tensor};
use std::fmt;

/// Above this many elements only the edges of each dimension are shown.
const SUMMARY_THRESHOLD: usize = 1000;
/// Items shown at each edge of a summarised dimension.
const EDGE_ITEMS: usize = 3;

/// How floats are written for one tensor: fixed point, integral, or scientific.
enum FloatStyle {
    Integral,
    Fixed,
    Scientific,
}

fn float_style(values: &[f32]) -> FloatStyle {
    let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.iter().all(|v| v.fract() == 0.0) && finite.iter().all(|v| v.abs() < 1e8) {
        return FloatStyle::Integral;
    }
    let max = finite.iter().fold(0f32, |m, v| m.max(v.abs()));
    let min_nonzero = finite
        .iter()
        .filter(|v| **v != 0.0)
        .fold(f32::INFINITY, |m, v| m.min(v.abs()));
    if max >= 1e8
        || min_nonzero < 1e-4
        || (min_nonzero.is_finite() && max / min_nonzero > 1e3 && max > 1e3)
    {
        FloatStyle::Scientific
    } else {
        FloatStyle::Fixed
    }
}

fn fmt_float(v: f32, style: &FloatStyle) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    match style {
        FloatStyle::Integral => format!("{v:.0}."),
        FloatStyle::Fixed => format!("{v:.4}"),
        FloatStyle::Scientific => {
            let s = format!("{v:.4e}");
            // Rust writes 1.2340e5; PyTorch writes 1.2340e+05.
            match s.split_once('e') {
                Some((m, e)) => {
                    let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                    format!("{m}e{sign}{digits:0>2}")
                }
                None => s,
            }
        }
    }
}

/// Indices of one dimension to show: all, or the edges when summarising.
fn shown(len: usize, summarise: bool) -> Vec<Option<usize>> {
    if summarise && len > 2 * EDGE_ITEMS {
        let mut v: Vec<Option<usize>> = (0..EDGE_ITEMS).map(Some).collect();
        v.push(None);
        v.extend((len - EDGE_ITEMS..len).map(Some));
        v
    } else {
        (0..len).map(Some).collect()
    }
}

/// What every level of the nested printout shares.
struct Layout<'a> {
    cells: &'a [String],
    shape: &'a [usize],
    indent: usize,
    width: usize,
    summarise: bool,
}

fn write_nested(out: &mut String, l: &Layout, offset: usize, depth: usize) {
    let stride: usize = l.shape[depth + 1..].iter().product();
    out.push('[');
    let items = shown(l.shape[depth], l.summarise);
    let last_dim = depth + 1 == l.shape.len();
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            if last_dim {
                out.push_str(", ");
            } else {
                out.push(',');
                out.push_str(&"\n".repeat(l.shape.len() - depth - 1));
                out.push_str(&" ".repeat(l.indent + depth + 1));
            }
        }
        match item {
            None => out.push_str("..."),
            Some(i) if last_dim => {
                out.push_str(&format!("{:>w$}", l.cells[offset + i], w = l.width))
            }
            Some(i) => write_nested(out, l, offset + i * stride, depth + 1),
        }
    }
    out.push(']');
}

impl Tensor {
    /// The bracketed values alone, as PyTorch prints inside `tensor(...)`.
    pub fn format_values(&self, indent: usize) -> String {
        let summarise = self.numel() > SUMMARY_THRESHOLD;
        let cells: anyhow::Result<Vec<String>> = (|| {
            Ok(match self.dtype() {
                DType::F32 => {
                    let v = self.to_f32_vec()?;
                    let style = float_style(&v);
                    v.iter().map(|x| fmt_float(*x, &style)).collect()
                }
                DType::I64 => self.to_i64_vec()?.iter().map(|x| x.to_string()).collect(),
                DType::Bool => self
                    .to_bool_vec()?
                    .iter()
                    .map(|x| if *x { "True" } else { "False" }.to_string())
                    .collect(),
            })
        })();
        let cells = match cells {
            Ok(c) => c,
            Err(e) => return format!("<values unavailable: {e}>"),
        };
        if self.ndim() == 0 {
            return cells.first().cloned().unwrap_or_default();
        }
        let width = cells.iter().map(|c| c.len()).max().unwrap_or(0);
        let mut out = String::new();
        let layout = Layout {
            cells: &cells,
            shape: self.shape(),
            indent,
            width,
            summarise,
        };
        write_nested(&mut out, &layout, 0, 0);
        out
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.format_values("tensor(".len());
        write!(f, "tensor({values}")?;
        write!(
            f,
            ", shape={:?}, dtype={}, device={}",
            self.shape(),
            self.dtype(),
            self.device()
        )?;
        if let Some(node) = self.node() {
            write!(f, ", grad_fn={}", node.name)?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        write!(f, ")")
    }
}
