//! Batched matrix products through cuBLAS (or the simulator's reference GEMM).
//!
//! cuBLAS is column-major, ember row-major. A row-major `C [m, n]` is the column-major
//! `Cᵀ [n, m]` with the same bytes, and `Cᵀ = op(B)ᵀ op(A)ᵀ`: so B goes in as cuBLAS's A and A
//! as its B, with m and n swapped. An operand stored transposed needs no copy: its bytes read
//! column-major are already the matrix cuBLAS wants, so only the transpose flag and the leading
//! dimension change.

use super::super::launch::Gemm;
use super::super::storage::CudaStorage;
use super::same_device;
use crate::tensor::DType;
use anyhow::{Context, Result, bail};

/// `op(A) [batch, m, k] x op(B) [batch, k, n] -> [batch, m, n]`, with A stored as
/// `[batch, m, k]` (or `[batch, k, m]` when `ta`) and B as `[batch, k, n]` (or `[batch, n, k]`
/// when `tb`), as in the CPU backend.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &CudaStorage,
    b: &CudaStorage,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
) -> Result<CudaStorage> {
    same_device("matmul", &[a, b])?;
    if a.dtype() != DType::F32 || b.dtype() != DType::F32 {
        bail!(
            "matmul needs f32 operands, got {} and {} (convert with .float())",
            a.dtype(),
            b.dtype()
        );
    }
    if a.len() != batch * m * k || b.len() != batch * k * n {
        bail!("matmul: operand sizes do not match [{batch}, {m}, {k}] x [{batch}, {k}, {n}]");
    }
    let dev = a.dev();
    let c = CudaStorage::alloc(dev, DType::F32, batch * m * n)?;
    if c.is_empty() {
        return Ok(c);
    }
    if k == 0 {
        return CudaStorage::full(dev, DType::F32, batch * m * n, 0.0);
    }
    let g = Gemm {
        trans_a: tb,
        trans_b: ta,
        m: n,
        n: m,
        k,
        alpha: 1.0,
        a: b.ptr().0,
        lda: if tb { k } else { n },
        stride_a: k * n,
        b: a.ptr().0,
        ldb: if ta { m } else { k },
        stride_b: m * k,
        beta: 0.0,
        c: c.ptr().0,
        ldc: n,
        stride_c: m * n,
        batch,
    };
    // SAFETY: sizes checked above; C is a fresh buffer.
    unsafe { dev.gemm(&g) }.with_context(|| {
        format!(
            "matmul [{batch}, {m}, {k}]{} x [{batch}, {k}, {n}]{}",
            if ta { " (A transposed)" } else { "" },
            if tb { " (B transposed)" } else { "" }
        )
    })?;
    Ok(c)
}
