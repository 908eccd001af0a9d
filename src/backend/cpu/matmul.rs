//! Batched matrix products over the GEMM of `gemm.rs`.

use super::CpuStorage;
use super::gemm::{Mat, gemm, gemm_ld, gemm_serial};
use super::parallel;
use crate::backend::memory;
use anyhow::{Result, bail};

/// `op(A) x op(B) -> [batch, m, n]` where `op(A)` is `[batch, m, k]`: A is stored as
/// `[batch, m, k]`, or as `[batch, k, m]` when `ta` (read transposed, without a copy); likewise B
/// as `[batch, k, n]` or `[batch, n, k]` when `tb`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &CpuStorage,
    b: &CpuStorage,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
) -> Result<CpuStorage> {
    let (CpuStorage::F32(a), CpuStorage::F32(b)) = (a, b) else {
        bail!(
            "matmul needs f32 operands, got {} and {} (convert with .float())",
            a.dtype(),
            b.dtype()
        );
    };
    let size = |x: usize, y: usize| batch.checked_mul(x).and_then(|v| v.checked_mul(y));
    let Some(out_len) = size(m, n) else {
        bail!("matmul: the result [{batch}, {m}, {n}] has too many elements");
    };
    if size(m, k) != Some(a.len()) || size(k, n) != Some(b.len()) {
        bail!("matmul: operand sizes do not match [{batch}, {m}, {k}] x [{batch}, {k}, {n}]");
    }
    let mut c = memory::filled("matmul", out_len, 0f32)?;
    if m == 0 || n == 0 {
        return Ok(CpuStorage::f32(c));
    }
    let (sa, sb) = (m * k, k * n);
    // op(A) [m, k] and op(B) [k, n] as strided views of their stored layouts.
    let op_a = |i: usize| {
        let d = &a[i * sa..(i + 1) * sa];
        if ta {
            Mat::transposed(d, m)
        } else {
            Mat::rows(d, k)
        }
    };
    let op_b = |i: usize| {
        let d = &b[i * sb..(i + 1) * sb];
        if tb {
            Mat::transposed(d, k)
        } else {
            Mat::rows(d, n)
        }
    };
    let threads = parallel::num_threads();
    if batch >= threads && threads > 1 && out_len.saturating_mul(k) >= 1 << 21 {
        // Many products: whole products per thread, each on one core.
        parallel::for_row_chunks_min(&mut c, m * n, 0, |first, chunk| {
            for (j, out) in chunk.chunks_mut(m * n).enumerate() {
                gemm_serial((m, k, n), op_a(first + j), op_b(first + j), 0.0, out, n);
            }
        });
    } else {
        for (i, out) in c.chunks_mut(m * n).enumerate() {
            if m.saturating_mul(k).saturating_mul(n) < TILED_MACS {
                gemm((m, k, n), op_a(i), op_b(i), out);
                continue;
            }
            // A long product goes tile by tile, so an interrupt (or the time limit) stops it
            // within one tile's time.
            for i0 in (0..m).step_by(TILE) {
                for j0 in (0..n).step_by(TILE) {
                    crate::backend::interrupt::check("matmul")?;
                    let (tm, tn) = (TILE.min(m - i0), TILE.min(n - j0));
                    let a = op_a(i).offset(i0, 0);
                    let b = op_b(i).offset(0, j0);
                    gemm_ld((tm, k, tn), a, b, &mut out[i0 * n + j0..], n);
                }
            }
        }
    }
    Ok(CpuStorage::f32(c))
}

/// Products of at least this many multiply-adds (about a second's work on two cores) are
/// computed in [`TILE`]-sized tiles of the result.
const TILED_MACS: usize = 1 << 33;
const TILE: usize = 2048;
