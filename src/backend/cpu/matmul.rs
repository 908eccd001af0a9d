//! Matrix products through `matrixmultiply`'s SGEMM (threaded, AVX-512/FMA paths).

use super::CpuStorage;
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
    if a.len() != batch * m * k || b.len() != batch * k * n {
        bail!("matmul: operand sizes do not match [{batch}, {m}, {k}] x [{batch}, {k}, {n}]");
    }
    let mut c = vec![0f32; batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return Ok(CpuStorage::F32(c));
    }
    for i in 0..batch {
        let (ap, bp) = (&a[i * m * k..], &b[i * k * n..]);
        // Row and column strides of op(A) [m, k] and op(B) [k, n] in their stored layouts.
        let (rsa, csa) = if ta { (1, m as isize) } else { (k as isize, 1) };
        let (rsb, csb) = if tb { (1, k as isize) } else { (n as isize, 1) };
        let cp = &mut c[i * m * n..(i + 1) * m * n];
        // SAFETY: the slices hold at least m*k, k*n and m*n elements laid out row-major with
        // the strides given; `cp` is exclusively borrowed.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                ap.as_ptr(),
                rsa,
                csa,
                bp.as_ptr(),
                rsb,
                csb,
                0.0,
                cp.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }
    Ok(CpuStorage::F32(c))
}
