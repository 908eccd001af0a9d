//! CSV files as columns: numbers become tensors (i64 when every value is an integer, else
//! f32), anything else stays text. A row with the wrong number of fields is an error naming the
//! file and the line.

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// How a column is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColumnType {
    F32,
    I64,
    Text,
}

impl ColumnType {
    pub fn parse(s: &str) -> Result<ColumnType> {
        Ok(match s {
            "f32" | "float" => ColumnType::F32,
            "i64" | "int" | "long" => ColumnType::I64,
            "str" | "string" | "text" => ColumnType::Text,
            other => bail!("unknown column type {other:?} (known: f32, i64, str)"),
        })
    }
}

/// One column's values.
pub enum Column {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Text(Vec<String>),
}

/// Options for [`read_csv`].
pub struct CsvOptions {
    /// The first row names the columns (else they are "0", "1", ...).
    pub header: bool,
    pub delimiter: u8,
    /// Keep only these columns (by name), in this order.
    pub columns: Option<Vec<String>>,
    /// Forced types by column name; others are inferred.
    pub types: HashMap<String, ColumnType>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: true,
            delimiter: b',',
            columns: None,
            types: HashMap::new(),
        }
    }
}

fn infer(values: &[String]) -> ColumnType {
    if values.iter().all(|v| v.trim().parse::<i64>().is_ok()) && !values.is_empty() {
        ColumnType::I64
    } else if values.iter().all(|v| v.trim().parse::<f32>().is_ok()) && !values.is_empty() {
        ColumnType::F32
    } else {
        ColumnType::Text
    }
}

/// Reads a CSV file into named columns, in file order (or the order of `columns`).
pub fn read_csv(path: &Path, o: &CsvOptions) -> Result<Vec<(String, Column)>> {
    let (file, _) = crate::files::open("csv", path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(o.header)
        .delimiter(o.delimiter)
        .from_reader(std::io::BufReader::new(file));
    let names: Vec<String> = if o.header {
        rdr.headers()
            .with_context(|| format!("csv: {}: cannot read the header", path.display()))?
            .iter()
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    for (j, n) in names.iter().enumerate() {
        if let Some(k) = names[..j].iter().position(|m| m == n) {
            bail!(
                "csv: {}: the header names column {n:?} twice (columns {} and {}); rename one",
                path.display(),
                k + 1,
                j + 1
            );
        }
    }
    // The cells are held as strings until their types are known: count what they take, so a
    // file that fits in memory cannot swell past it.
    let budget = crate::files::read::read_budget();
    let mut held = 0usize;
    let mut raw: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths {
                pos,
                expected_len,
                len,
            } => anyhow::anyhow!(
                "csv: {}: line {} has {len} fields, expected {expected_len}",
                path.display(),
                pos.as_ref().map(|p| p.line()).unwrap_or(i as u64 + 2)
            ),
            csv::ErrorKind::Utf8 { pos, .. } => anyhow::anyhow!(
                "csv: {}: invalid UTF-8 on line {}",
                path.display(),
                pos.as_ref().map(|p| p.line()).unwrap_or(0)
            ),
            _ => anyhow::anyhow!("csv: {}: {e}", path.display()),
        })?;
        if raw.is_empty() {
            raw = vec![Vec::new(); rec.len()];
        }
        held =
            held.saturating_add(rec.as_slice().len() + rec.len() * std::mem::size_of::<String>());
        if held > budget {
            bail!(
                "csv: {}: the cells up to line {} take more than the {} of memory left",
                path.display(),
                i + 2,
                crate::backend::memory::human_bytes(budget)
            );
        }
        for (c, v) in rec.iter().enumerate() {
            raw[c].push(v.to_string());
        }
    }
    let names: Vec<String> = if o.header {
        names
    } else {
        (0..raw.len()).map(|i| i.to_string()).collect()
    };
    let order: Vec<usize> = match &o.columns {
        None => (0..names.len()).collect(),
        Some(cols) => cols
            .iter()
            .map(|c| {
                names.iter().position(|n| n == c).with_context(|| {
                    format!(
                        "csv: {}: no column {c:?} (columns: {names:?})",
                        path.display()
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    for k in o.types.keys() {
        if !names.contains(k) {
            bail!(
                "csv: {}: a type is given for {k:?}, which is not a column (columns: {names:?})",
                path.display()
            );
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for c in order {
        let values = std::mem::take(&mut raw[c]);
        let ty = o
            .types
            .get(&names[c])
            .copied()
            .unwrap_or_else(|| infer(&values));
        let parse_err = |row: usize, v: &str, what: &str| {
            anyhow::anyhow!(
                "csv: {}: line {}: column {:?} value {v:?} is not {what}",
                path.display(),
                row + 1 + o.header as usize,
                names[c]
            )
        };
        let col = match ty {
            ColumnType::Text => Column::Text(values),
            ColumnType::I64 => Column::I64(
                values
                    .iter()
                    .enumerate()
                    .map(|(r, v)| {
                        v.trim()
                            .parse::<i64>()
                            .map_err(|_| parse_err(r, v, "an integer"))
                    })
                    .collect::<Result<_>>()?,
            ),
            ColumnType::F32 => Column::F32(
                values
                    .iter()
                    .enumerate()
                    .map(|(r, v)| {
                        v.trim()
                            .parse::<f32>()
                            .map_err(|_| parse_err(r, v, "a number"))
                    })
                    .collect::<Result<_>>()?,
            ),
        };
        out.push((names[c].clone(), col));
    }
    Ok(out)
}
