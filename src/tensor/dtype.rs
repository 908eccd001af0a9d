//! Element types a tensor can hold.

use std::fmt;

/// The element type of a tensor: f32 for values, i64 for indices and labels, bool for masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    I64,
    Bool,
}

impl DType {
    /// Parses a dtype name as scripts write it (`"f32"`, `"float"`, `"i64"`, `"long"`, `"bool"`).
    pub fn parse(name: &str) -> anyhow::Result<DType> {
        Ok(match name {
            "f32" | "float" | "float32" => DType::F32,
            "i64" | "long" | "int64" | "int" => DType::I64,
            "bool" => DType::Bool,
            other => anyhow::bail!("unknown dtype {other:?} (expected f32, i64 or bool)"),
        })
    }

    /// Size of one element in bytes.
    pub fn size_of(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::I64 => 8,
            DType::Bool => 1,
        }
    }

    /// The dtype two operands are promoted to in arithmetic (PyTorch's rules for these three types).
    pub fn promote(a: DType, b: DType) -> DType {
        match (a, b) {
            (DType::F32, _) | (_, DType::F32) => DType::F32,
            (DType::I64, _) | (_, DType::I64) => DType::I64,
            _ => DType::Bool,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::I64 => "i64",
            DType::Bool => "bool",
        })
    }
}
