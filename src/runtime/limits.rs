//! The limits a [`Runtime`](super::Runtime) enforces, each an error when hit: tensor memory,
//! the memory of script values (strings, arrays, maps), script operations and wall time per
//! evaluation, call depth, and optionally Rhai's own size limits on single strings, arrays and
//! maps.

use crate::backend::memory;
use anyhow::{Result, bail};
use std::time::Duration;

/// Limits for one runtime. `Limits::default()` is what the `ember` command uses; every field
/// can be changed with the builder (`Runtime::builder().max_memory(..)`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest single tensor, in bytes (default: half the machine's memory).
    pub max_tensor_bytes: usize,
    /// Largest total of live tensor bytes (default: half the machine's memory).
    pub max_memory: usize,
    /// Script operations per evaluation; 0 for no limit (the default).
    pub max_operations: u64,
    /// Wall time per evaluation; `None` for no limit (the default).
    pub max_time: Option<Duration>,
    /// Depth of script function calls (default 128).
    pub max_call_depth: usize,
    /// Nesting of expressions in the source, at top level and inside functions (default 256
    /// and 128).
    pub max_expr_depth: (usize, usize),
    /// Heap bytes held by script values — strings, arrays, maps, everything but tensors
    /// (default: an eighth of the machine's memory). Checked after every script operation;
    /// enforced only where the heap is counted ([`crate::alloc::Counting`] as the global
    /// allocator, as in the `ember` command).
    pub max_script_memory: usize,
    /// Bytes in one string; 0 for no limit (the default). Rhai measures a value after every
    /// operation that makes or changes it, walking every element of nested arrays and maps, so
    /// these three limits cost time in proportion to the data a script holds.
    pub max_string_size: usize,
    /// Elements in one array, counting nested arrays' elements; 0 for no limit (the default).
    pub max_array_size: usize,
    /// Entries in one map, counting nested maps' entries; 0 for no limit (the default).
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        let mem = memory::Limits::default();
        Limits {
            max_tensor_bytes: mem.max_tensor_bytes,
            max_memory: mem.max_live_bytes,
            max_operations: 0,
            max_time: None,
            max_call_depth: 128,
            max_expr_depth: (256, 128),
            max_script_memory: memory::physical_memory().unwrap_or(16 << 30) / 8,
            max_string_size: 0,
            max_array_size: 0,
            max_map_size: 0,
        }
    }
}

impl Limits {
    /// The tensor-memory part, as the backend enforces it.
    pub(crate) fn memory(&self) -> memory::Limits {
        memory::Limits {
            max_tensor_bytes: self.max_tensor_bytes.min(self.max_memory),
            max_live_bytes: self.max_memory,
        }
    }

    /// Applies the script-engine part to `engine`.
    pub(crate) fn apply(&self, engine: &mut rhai::Engine) {
        engine.set_max_operations(self.max_operations);
        engine.set_max_call_levels(self.max_call_depth);
        engine.set_max_expr_depths(self.max_expr_depth.0, self.max_expr_depth.1);
        engine.set_max_string_size(self.max_string_size);
        engine.set_max_array_size(self.max_array_size);
        engine.set_max_map_size(self.max_map_size);
    }
}

/// Parses a byte size: a number with an optional unit `K`, `M`, `G`, `T` (powers of 1024;
/// `KiB`, `MB`, ... are read the same way).
pub fn parse_bytes(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = match num.parse() {
        Ok(v) if v >= 0.0 => v,
        _ => bail!("{text:?} is not a size (expected a number with an optional unit: 512M, 4G)"),
    };
    let scale: f64 = match unit.trim().to_ascii_uppercase().trim_end_matches('B') {
        "" => 1.0,
        "K" | "KI" => 1024.0,
        "M" | "MI" => 1024f64.powi(2),
        "G" | "GI" => 1024f64.powi(3),
        "T" | "TI" => 1024f64.powi(4),
        _ => bail!("{text:?}: unknown unit {unit:?} (use K, M, G or T)"),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes >= usize::MAX as f64 {
        bail!("{text:?} is too large a size");
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("512").unwrap(), 512);
        assert_eq!(parse_bytes("4G").unwrap(), 4 << 30);
        assert_eq!(parse_bytes("1.5MiB").unwrap(), 3 << 19);
        assert_eq!(parse_bytes("64 kb").unwrap(), 64 << 10);
        assert!(parse_bytes("-3G").is_err());
        assert!(parse_bytes("3X").is_err());
        assert!(parse_bytes("1e30T").is_err());
    }
}
