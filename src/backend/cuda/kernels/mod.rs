//! The kernel sources (`*.cu`, one family per file) and the Rust side of every kernel's
//! signature. Each kernel is declared once in [`kernels!`] below; the declaration generates the
//! typed launch function the backend calls (so a launch site can only push the declared
//! arguments) and an entry of [`SIGNATURES`], which the compile test compares with the PTX
//! parameter list and the simulator compares with the C++ parameter sizes at load time.

pub mod meta;

use super::device::CudaDevice;
use super::launch::{DevPtr, LaunchConfig, ModuleSource};
use anyhow::Result;
use std::ffi::c_void;

pub use meta::{Bcast, Gather, Layout, MAX_DIMS};

/// A device address as a kernel parameter (a `T*` in CUDA C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Ptr(pub DevPtr);

/// How a parameter is passed, as the PTX `.param` list shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Ptr,
    U32,
    I32,
    F32,
    U64,
    I64,
    /// A struct by value: its size and alignment in bytes.
    Struct {
        size: usize,
        align: usize,
    },
}

impl ParamKind {
    pub fn size(self) -> usize {
        match self {
            ParamKind::U32 | ParamKind::I32 | ParamKind::F32 => 4,
            ParamKind::Ptr | ParamKind::U64 | ParamKind::I64 => 8,
            ParamKind::Struct { size, .. } => size,
        }
    }
}

/// A Rust type that may be passed to a kernel by value.
///
/// # Safety
/// `KIND` must describe the type's layout exactly (`#[repr(C)]` for structs, matching the
/// CUDA C declaration field for field).
pub unsafe trait Param: Copy {
    const KIND: ParamKind;
}

unsafe impl Param for Ptr {
    const KIND: ParamKind = ParamKind::Ptr;
}
unsafe impl Param for u32 {
    const KIND: ParamKind = ParamKind::U32;
}
unsafe impl Param for i32 {
    const KIND: ParamKind = ParamKind::I32;
}
unsafe impl Param for f32 {
    const KIND: ParamKind = ParamKind::F32;
}
unsafe impl Param for u64 {
    const KIND: ParamKind = ParamKind::U64;
}
unsafe impl Param for i64 {
    const KIND: ParamKind = ParamKind::I64;
}

/// One kernel's declared signature.
#[derive(Debug)]
pub struct KernelSig {
    pub module: &'static str,
    pub name: &'static str,
    pub params: &'static [(&'static str, ParamKind)],
}

/// Declares the modules and their kernels. For each kernel it generates an `unsafe fn` with
/// the device, the launch configuration and the kernel's parameters, which launches it.
macro_rules! kernels {
    ($( $module:ident = $file:literal {
        $( fn $kernel:ident ( $( $arg:ident : $ty:ty ),* $(,)? ); )*
    } )*) => {
        $(
            #[doc = concat!("Launchers for the kernels of `", $file, "`.")]
            pub mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[doc = concat!("Launches `", stringify!($kernel), "`.")]
                    ///
                    /// # Safety
                    /// Every `Ptr` must address device memory of `dev` large enough for what
                    /// the kernel reads and writes with the other arguments.
                    #[allow(clippy::too_many_arguments)]
                    pub unsafe fn $kernel(
                        dev: &CudaDevice,
                        cfg: &LaunchConfig,
                        $( $arg: $ty ),*
                    ) -> Result<()> {
                        let params: &mut [*mut c_void] =
                            &mut [$( &$arg as *const $ty as *mut c_void ),*];
                        // SAFETY: the parameters match the declaration, which the compile test
                        // checks against the PTX and the simulator against the C++ signature.
                        unsafe { dev.launch(stringify!($module), stringify!($kernel), cfg, params) }
                    }
                )*
            }
        )*

        /// Every declared kernel, module by module.
        pub const SIGNATURES: &[KernelSig] = &[
            $($( KernelSig {
                module: stringify!($module),
                name: stringify!($kernel),
                params: &[$( (stringify!($arg), <$ty as Param>::KIND) ),*],
            }, )*)*
        ];

        /// The module names, in declaration order.
        pub const MODULES: &[&str] = &[$( stringify!($module) ),*];

        fn file_text(module: &str) -> Option<&'static str> {
            match module {
                $( stringify!($module) => Some(include_str!($file)), )*
                _ => None,
            }
        }
    };
}

kernels! {
    elementwise = "elementwise.cu" {
        fn unary_f32(x: Ptr, y: Ptr, n: u64, op: u32, p0: f32, p1: f32);
        fn unary_i64(x: Ptr, y: Ptr, n: u64, op: u32);
        fn binary_f32(a: Ptr, b: Ptr, out: Ptr, n: u64, op: u32, m: Bcast);
        fn binary_i64(a: Ptr, b: Ptr, out: Ptr, n: u64, op: u32, m: Bcast);
        fn compare_f32(a: Ptr, b: Ptr, out: Ptr, n: u64, op: u32, m: Bcast);
        fn compare_i64(a: Ptr, b: Ptr, out: Ptr, n: u64, op: u32, m: Bcast);
        fn compare_u8(a: Ptr, b: Ptr, out: Ptr, n: u64, op: u32, m: Bcast);
        fn logical_u8(a: Ptr, b: Ptr, out: Ptr, n: u64, op: u32, m: Bcast);
        fn where_f32(c: Ptr, a: Ptr, b: Ptr, out: Ptr, n: u64, m: Bcast);
        fn where_i64(c: Ptr, a: Ptr, b: Ptr, out: Ptr, n: u64, m: Bcast);
        fn where_u8(c: Ptr, a: Ptr, b: Ptr, out: Ptr, n: u64, m: Bcast);
        fn cast_f32_i64(x: Ptr, y: Ptr, n: u64);
        fn cast_f32_u8(x: Ptr, y: Ptr, n: u64);
        fn cast_i64_f32(x: Ptr, y: Ptr, n: u64);
        fn cast_i64_u8(x: Ptr, y: Ptr, n: u64);
        fn cast_u8_f32(x: Ptr, y: Ptr, n: u64);
        fn cast_u8_i64(x: Ptr, y: Ptr, n: u64);
        fn is_finite_f32(x: Ptr, y: Ptr, n: u64);
        fn fill_8(y: Ptr, n: u64, v: u32);
        fn fill_32(y: Ptr, n: u64, v: u32);
        fn fill_64(y: Ptr, n: u64, v: u64);
        fn range_f32(y: Ptr, n: u64, start: f32, step: f32);
        fn range_i64(y: Ptr, n: u64, start: i64, step: i64);
    }
    reduce = "reduce.cu" {
        fn reduce_rows_warp_f32(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn reduce_rows_block_f32(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn reduce_cols_f32(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64, op: u32);
        fn reduce_rows_warp_i64(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn reduce_rows_block_i64(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn reduce_cols_i64(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64, op: u32);
        fn reduce_rows_warp_u8(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn reduce_rows_block_u8(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn reduce_cols_u8(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64, op: u32);
        fn arg_rows_f32(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn arg_cols_f32(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64, op: u32);
        fn arg_rows_i64(x: Ptr, out: Ptr, rows: u64, len: u64, op: u32);
        fn arg_cols_i64(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64, op: u32);
        fn cumsum_f32(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64);
        fn cumsum_i64(x: Ptr, out: Ptr, outer: u64, len: u64, inner: u64);
    }
    layout = "layout.cu" {
        fn strided_read_8(x: Ptr, out: Ptr, n: u64, m: Layout);
        fn strided_write_8(x: Ptr, out: Ptr, n: u64, m: Layout);
        fn strided_read_32(x: Ptr, out: Ptr, n: u64, m: Layout);
        fn strided_write_32(x: Ptr, out: Ptr, n: u64, m: Layout);
        fn strided_read_64(x: Ptr, out: Ptr, n: u64, m: Layout);
        fn strided_write_64(x: Ptr, out: Ptr, n: u64, m: Layout);
        fn transpose_8(x: Ptr, out: Ptr, batch: u64, rows: u64, cols: u64);
        fn transpose_32(x: Ptr, out: Ptr, batch: u64, rows: u64, cols: u64);
        fn transpose_64(x: Ptr, out: Ptr, batch: u64, rows: u64, cols: u64);
    }
    index = "index.cu" {
        fn index_select_8(x: Ptr, idx: Ptr, out: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn gather_8(x: Ptr, idx: Ptr, out: Ptr, n: u64, m: Gather);
        fn index_copy_8(out: Ptr, idx: Ptr, src: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn index_select_32(x: Ptr, idx: Ptr, out: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn gather_32(x: Ptr, idx: Ptr, out: Ptr, n: u64, m: Gather);
        fn index_copy_32(out: Ptr, idx: Ptr, src: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn index_select_64(x: Ptr, idx: Ptr, out: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn gather_64(x: Ptr, idx: Ptr, out: Ptr, n: u64, m: Gather);
        fn index_copy_64(out: Ptr, idx: Ptr, src: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn scatter_add_f32(out: Ptr, idx: Ptr, src: Ptr, n: u64, m: Gather);
        fn index_add_f32(out: Ptr, idx: Ptr, src: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn scatter_add_i64(out: Ptr, idx: Ptr, src: Ptr, n: u64, m: Gather);
        fn index_add_i64(out: Ptr, idx: Ptr, src: Ptr, outer: u64, len: u64, nidx: u64, inner: u64);
        fn index_check(idx: Ptr, n: u64, lo: i64, hi: i64, first: Ptr);
        fn nonzero_count_f32(x: Ptr, n: u64, chunk: u64, counts: Ptr);
        fn nonzero_write_f32(x: Ptr, n: u64, chunk: u64, offsets: Ptr, out: Ptr);
        fn nonzero_count_i64(x: Ptr, n: u64, chunk: u64, counts: Ptr);
        fn nonzero_write_i64(x: Ptr, n: u64, chunk: u64, offsets: Ptr, out: Ptr);
        fn nonzero_count_u8(x: Ptr, n: u64, chunk: u64, counts: Ptr);
        fn nonzero_write_u8(x: Ptr, n: u64, chunk: u64, offsets: Ptr, out: Ptr);
    }
    sort = "sort.cu" {
        fn argsort_f32(x: Ptr, out: Ptr, rows: u64, len: u64, descending: u32);
        fn argsort_i64(x: Ptr, out: Ptr, rows: u64, len: u64, descending: u32);
        fn argsort_u8(x: Ptr, out: Ptr, rows: u64, len: u64, descending: u32);
        fn multinomial(p: Ptr, rows: u64, k: u64, n: u64, u: Ptr, out: Ptr, bad: Ptr, empty: Ptr);
    }
    random = "random.cu" {
        fn rand_uniform(out: Ptr, n: u64, seed: u64, offset: u64, lo: f32, hi: f32);
        fn rand_normal(out: Ptr, n: u64, seed: u64, offset: u64, mean: f32, std: f32);
        fn rand_int(out: Ptr, n: u64, seed: u64, offset: u64, lo: i64, span: u64);
    }
}

/// The marker in `elementwise.cu` replaced by the generated op switches.
const OPS_MARKER: &str = "//@generated-ops";

/// Definitions every module sees first: limits and the op codes of the reductions.
fn prelude() -> String {
    use crate::backend::{ArgReduceOp, ReduceOp};
    let mut s = String::from("// Generated by src/backend/cuda/kernels/mod.rs.\n");
    s += &format!("#define EMBER_MAX_DIMS {MAX_DIMS}\n");
    for (name, op) in [
        ("SUM", ReduceOp::Sum),
        ("PROD", ReduceOp::Prod),
        ("MAX", ReduceOp::Max),
        ("MIN", ReduceOp::Min),
        ("ALL", ReduceOp::All),
        ("ANY", ReduceOp::Any),
    ] {
        s += &format!("#define REDUCE_{name} {}\n", op as u32);
    }
    for (name, op) in [("MAX", ArgReduceOp::ArgMax), ("MIN", ArgReduceOp::ArgMin)] {
        s += &format!("#define ARG_{name} {}\n", op as u32);
    }
    s += "#ifndef EMBER_DYN_SMEM\n#define EMBER_DYN_SMEM(T, name) extern __shared__ T name[]\n#endif\n";
    s
}

type OpTable = [(
    &'static str,
    &'static [&'static str],
    &'static str,
    Option<&'static str>,
)];

/// One `switch` over an op table: `case code: { params } return expr; }`.
fn switch(
    signature: &str,
    table: &OpTable,
    pick: impl Fn(&(&str, &[&str], &str, Option<&str>)) -> Option<String>,
    fallback: &str,
) -> String {
    let mut s = format!("__device__ __forceinline__ {signature} {{\n  switch (op) {{\n");
    for (code, entry) in table.iter().enumerate() {
        if let Some(expr) = pick(entry) {
            let params: String = entry
                .1
                .iter()
                .enumerate()
                .map(|(i, p)| format!("const float {p} = p{i}; "))
                .collect();
            s += &format!(
                "    case {code}: {{ {params}return {expr}; }}  // {}\n",
                entry.0
            );
        }
    }
    s += &format!("    default: return {fallback};\n  }}\n}}\n");
    s
}

/// The elementwise op switches, generated from the op enums in `backend/kinds.rs`.
fn elementwise_ops() -> String {
    use crate::backend::{BinaryOp, CompareOp, LogicalOp, UnaryOp};
    let mut s = String::from("// Generated from src/backend/kinds.rs.\n");
    s += &switch(
        "float unary_f32_op(unsigned op, float x, float p0, float p1)",
        UnaryOp::CUDA,
        |e| Some(e.2.to_string()),
        "__int_as_float(0x7fc00000)",
    );
    s += &switch(
        "i64 unary_i64_op(unsigned op, i64 x)",
        UnaryOp::CUDA,
        |e| e.3.map(str::to_string),
        "0",
    );
    s += &switch(
        "float binary_f32_op(unsigned op, float x, float y)",
        BinaryOp::CUDA,
        |e| Some(e.2.to_string()),
        "__int_as_float(0x7fc00000)",
    );
    s += &switch(
        "i64 binary_i64_op(unsigned op, i64 x, i64 y)",
        BinaryOp::CUDA,
        |e| e.3.map(str::to_string),
        "0",
    );
    s += "template <class T>\n";
    s += &switch(
        "u8 compare_op(unsigned op, T x, T y)",
        CompareOp::CUDA,
        |e| Some(format!("(u8)({})", e.2)),
        "0",
    );
    s += &switch(
        "u8 logical_op(unsigned op, u8 x, u8 y)",
        LogicalOp::CUDA,
        |e| Some(format!("(u8)({})", e.2)),
        "0",
    );
    s
}

/// The complete source of a module as NVRTC and the simulator compile it.
pub fn module_source(module: &'static str) -> Result<ModuleSource> {
    let file = file_text(module)
        .ok_or_else(|| anyhow::anyhow!("no CUDA kernel module named {module:?}"))?;
    let body = if file.contains(OPS_MARKER) {
        file.replace(OPS_MARKER, &elementwise_ops())
    } else {
        file.to_string()
    };
    Ok(ModuleSource {
        name: module,
        text: format!("{}\n{body}", prelude()),
        kernels: SIGNATURES
            .iter()
            .filter(|k| k.module == module)
            .map(|k| k.name)
            .collect(),
    })
}
