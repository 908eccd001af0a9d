//! Moving values across the script boundary: numbers, shapes, nested arrays, errors.

use crate::tensor::shape::checked_shape;
use crate::tensor::{DType, Device, Tensor};
use rhai::{Array, Dynamic, EvalAltResult, Map, Position};
use std::cell::Cell;

/// Result type of a fallible script function.
pub type RR<T> = Result<T, Box<EvalAltResult>>;

/// Turns an op error into a script error; the engine adds the call's position.
pub fn script_err(e: anyhow::Error) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(format!("{e:#}").into(), Position::NONE).into()
}

/// `.rr()` on op results converts them for Rhai.
pub trait IntoRR<T> {
    fn rr(self) -> RR<T>;
}

impl<T> IntoRR<T> for anyhow::Result<T> {
    fn rr(self) -> RR<T> {
        self.map_err(script_err)
    }
}

/// An error with a plain message.
pub fn fail<T>(msg: impl Into<String>) -> RR<T> {
    Err(EvalAltResult::ErrorRuntime(msg.into().into(), Position::NONE).into())
}

thread_local! {
    static DEFAULT_DEVICE: Cell<Device> = const { Cell::new(Device::Cpu) };
}

/// The device new tensors are created on by scripts (`--device`, `EMBER_DEVICE`, `:device`).
pub fn default_device() -> Device {
    DEFAULT_DEVICE.with(|d| d.get())
}

/// Sets the device script-created tensors go to.
pub fn set_default_device(d: Device) {
    DEFAULT_DEVICE.with(|c| c.set(d));
}

/// A Rhai int or float as f64.
pub fn num(op: &str, v: &Dynamic) -> RR<f64> {
    if let Some(i) = v.clone().try_cast::<i64>() {
        Ok(i as f64)
    } else if let Some(f) = v.clone().try_cast::<f64>() {
        Ok(f)
    } else if let Some(b) = v.clone().try_cast::<bool>() {
        Ok(b as u8 as f64)
    } else {
        fail(format!("{op}: expected a number, got {}", v.type_name()))
    }
}

/// A shape given as an array of ints (or a single int).
pub fn shape_arg(op: &str, v: &Dynamic) -> RR<Vec<usize>> {
    let dims = int_list(op, v)?;
    checked_shape(op, &dims).rr()
}

/// An array of ints, or one int, as a list.
pub fn int_list(op: &str, v: &Dynamic) -> RR<Vec<i64>> {
    if let Some(i) = v.clone().try_cast::<i64>() {
        return Ok(vec![i]);
    }
    if let Some(t) = v.clone().try_cast::<Tensor>()
        && t.dtype() == DType::I64
        && t.ndim() <= 1
    {
        return t.to_i64_vec().rr();
    }
    let Some(arr) = v.clone().try_cast::<Array>() else {
        return fail(format!(
            "{op}: expected an array of integers like [2, 3], got {}",
            v.type_name()
        ));
    };
    arr.iter()
        .map(|d| {
            d.as_int().or_else(|_| {
                fail(format!(
                    "{op}: expected integers in {arr:?}, found {}",
                    d.type_name()
                ))
            })
        })
        .collect()
}

/// Reads an option from a trailing `#{...}` map.
pub fn opt<T: Clone + 'static>(op: &str, opts: &Map, key: &str) -> RR<Option<T>> {
    match opts.get(key) {
        None => Ok(None),
        Some(v) => v.clone().try_cast::<T>().map(Some).ok_or_else(|| {
            crate::script::convert::fail::<()>(format!(
                "{op}: option {key:?} has the wrong type ({})",
                v.type_name()
            ))
            .unwrap_err()
        }),
    }
}

/// Reads a numeric option (int or float) from a trailing map.
pub fn opt_num(op: &str, opts: &Map, key: &str) -> RR<Option<f64>> {
    opts.get(key).map(|v| num(op, v)).transpose()
}

/// Reads an optional tensor option: a tensor, a (nested) array of numbers, or `()` for none.
pub fn opt_tensor(op: &str, opts: &Map, key: &str) -> RR<Option<Tensor>> {
    match opts.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => {
            if let Some(t) = v.clone().try_cast::<Tensor>() {
                return Ok(Some(t));
            }
            if v.is_array() {
                return tensor_from_dynamic(v, Some(DType::F32)).map(Some);
            }
            fail(format!(
                "{op}: option {key:?} should be a tensor, got {}",
                v.type_name()
            ))
        }
    }
}

/// Reads a string option.
pub fn opt_str(op: &str, opts: &Map, key: &str) -> RR<Option<String>> {
    match opts.get(key) {
        None => Ok(None),
        Some(v) => match v.clone().into_string() {
            Ok(s) => Ok(Some(s)),
            Err(t) => fail(format!("{op}: option {key:?} should be a string, got {t}")),
        },
    }
}

/// Errors on keys a function does not know (catches typos in option maps).
pub fn check_opts(op: &str, opts: &Map, known: &[&str]) -> RR<()> {
    for k in opts.keys() {
        if !known.contains(&k.as_str()) {
            return fail(format!(
                "{op}: unknown option {k:?} (known: {})",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Reads a dtype from an options map (`dtype: "i64"`).
pub fn opt_dtype(op: &str, opts: &Map, default: DType) -> RR<DType> {
    match opt::<rhai::ImmutableString>(op, opts, "dtype")? {
        Some(s) => DType::parse(&s).rr(),
        None => Ok(default),
    }
}

enum Leaf {
    Int(i64),
    Float(f64),
    Bool(bool),
}

fn walk(v: &Dynamic, depth: usize, shape: &mut Vec<usize>, out: &mut Vec<Leaf>) -> RR<()> {
    if let Some(arr) = v.clone().try_cast::<Array>() {
        if depth == shape.len() {
            if !out.is_empty() {
                return fail("tensor: ragged nested array (rows of different lengths or depths)");
            }
            shape.push(arr.len());
        } else if shape.get(depth) != Some(&arr.len()) {
            return fail(format!(
                "tensor: ragged nested array: expected {} items at depth {depth}, found {}",
                shape.get(depth).copied().unwrap_or(0),
                arr.len()
            ));
        }
        for item in &arr {
            walk(item, depth + 1, shape, out)?;
        }
        return Ok(());
    }
    if depth != shape.len() {
        return fail("tensor: ragged nested array (a number where a row was expected)");
    }
    if let Some(t) = v.clone().try_cast::<Tensor>() {
        if t.ndim() != 0 {
            return fail("tensor: nested tensors must be scalars; use stack() to join tensors");
        }
        out.push(match t.dtype() {
            DType::F32 => Leaf::Float(t.to_f32_vec().rr()?[0] as f64),
            DType::I64 => Leaf::Int(t.to_i64_vec().rr()?[0]),
            DType::Bool => Leaf::Bool(t.to_bool_vec().rr()?[0]),
        });
        return Ok(());
    }
    out.push(if let Some(i) = v.clone().try_cast::<i64>() {
        Leaf::Int(i)
    } else if let Some(f) = v.clone().try_cast::<f64>() {
        Leaf::Float(f)
    } else if let Some(b) = v.clone().try_cast::<bool>() {
        Leaf::Bool(b)
    } else {
        return fail(format!(
            "tensor: cannot make a tensor element from {}",
            v.type_name()
        ));
    });
    Ok(())
}

/// Builds a tensor from nested arrays: ints give i64, any float gives f32, bools give bool.
pub fn tensor_from_dynamic(v: &Dynamic, dtype: Option<DType>) -> RR<Tensor> {
    let mut shape = Vec::new();
    let mut leaves = Vec::new();
    walk(v, 0, &mut shape, &mut leaves)?;
    let inferred = if leaves.iter().any(|l| matches!(l, Leaf::Float(_))) {
        DType::F32
    } else if !leaves.is_empty() && leaves.iter().all(|l| matches!(l, Leaf::Bool(_))) {
        DType::Bool
    } else if leaves.is_empty() {
        DType::F32
    } else {
        DType::I64
    };
    let as_f64 = |l: &Leaf| match l {
        Leaf::Int(i) => *i as f64,
        Leaf::Float(f) => *f,
        Leaf::Bool(b) => *b as u8 as f64,
    };
    let device = default_device();
    match dtype.unwrap_or(inferred) {
        DType::F32 => Tensor::from_f32(
            leaves.iter().map(|l| as_f64(l) as f32).collect(),
            &shape,
            device,
        ),
        DType::I64 => Tensor::from_i64(
            leaves
                .iter()
                .map(|l| match l {
                    Leaf::Int(i) => *i,
                    other => as_f64(other) as i64,
                })
                .collect(),
            &shape,
            device,
        ),
        DType::Bool => Tensor::from_bool(
            leaves.iter().map(|l| as_f64(l) != 0.0).collect(),
            &shape,
            device,
        ),
    }
    .rr()
}

/// The tensor's values as nested Rhai arrays (a bare number for a 0-d tensor).
pub fn tensor_to_dynamic(t: &Tensor) -> RR<Dynamic> {
    // Every value becomes a Rhai value, and every row a Rhai array: count what that takes
    // before making it (a `[n, 0]` tensor holds nothing but makes n arrays).
    let mut nodes = 0usize;
    let mut rows = 1usize;
    for &d in t.shape() {
        rows = rows.saturating_mul(d);
        nodes = nodes.saturating_add(rows);
    }
    crate::alloc::check_script_alloc(
        "tolist",
        nodes.saturating_mul(std::mem::size_of::<Dynamic>() + 32),
    )
    .rr()?;
    let values: Vec<Dynamic> = match t.dtype() {
        DType::F32 => t
            .to_f32_vec()
            .rr()?
            .into_iter()
            .map(|v| Dynamic::from_float(v as f64))
            .collect(),
        DType::I64 => t
            .to_i64_vec()
            .rr()?
            .into_iter()
            .map(Dynamic::from_int)
            .collect(),
        DType::Bool => t
            .to_bool_vec()
            .rr()?
            .into_iter()
            .map(Dynamic::from_bool)
            .collect(),
    };
    fn nest(values: &[Dynamic], shape: &[usize]) -> Dynamic {
        match shape.split_first() {
            None => values.first().cloned().unwrap_or(Dynamic::UNIT),
            Some((&n, rest)) => {
                let stride: usize = rest.iter().product();
                Dynamic::from_array(
                    (0..n)
                        .map(|i| nest(&values[i * stride..(i + 1) * stride], rest))
                        .collect(),
                )
            }
        }
    }
    Ok(nest(&values, t.shape()))
}

/// The value of a one-element tensor as a Rhai number or bool.
pub fn item_dynamic(t: &Tensor) -> RR<Dynamic> {
    if t.numel() != 1 {
        return fail(format!(
            "item: only one-element tensors convert to a number, this one has shape {:?}",
            t.shape()
        ));
    }
    Ok(match t.dtype() {
        DType::F32 => Dynamic::from_float(t.to_f32_vec().rr()?[0] as f64),
        DType::I64 => Dynamic::from_int(t.to_i64_vec().rr()?[0]),
        DType::Bool => Dynamic::from_bool(t.to_bool_vec().rr()?[0]),
    })
}

/// A shape as a Rhai array of ints.
pub fn shape_to_array(shape: &[usize]) -> Array {
    shape.iter().map(|&d| Dynamic::from_int(d as i64)).collect()
}

/// A value as the REPL and `ember eval` show it: tensors as PyTorch prints them, arrays and
/// maps with their contents, everything else as Rhai writes it.
pub fn format_value(v: &Dynamic) -> String {
    format_nested(v, 0)
}

/// Values nested deeper than this print as `[...]` / `#{...}`.
const FORMAT_DEPTH: usize = 32;

fn format_nested(v: &Dynamic, depth: usize) -> String {
    if let Some(t) = v.read_lock::<Tensor>() {
        return t.to_string();
    }
    if let Some(arr) = v.read_lock::<Array>() {
        if depth >= FORMAT_DEPTH {
            return "[...]".to_string();
        }
        let items: Vec<String> = arr.iter().map(|x| format_nested(x, depth + 1)).collect();
        return format!("[{}]", items.join(", "));
    }
    if let Some(map) = v.read_lock::<Map>() {
        if depth >= FORMAT_DEPTH {
            return "#{...}".to_string();
        }
        let items: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{k}: {}", format_nested(v, depth + 1)))
            .collect();
        return format!("#{{{}}}", items.join(", "));
    }
    if v.is_string() {
        return format!("{:?}", v.clone().into_string().unwrap_or_default());
    }
    v.to_string()
}
