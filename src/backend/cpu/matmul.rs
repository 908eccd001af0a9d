//! Matrix products through `matrixmultiply`'s SGEMM (threaded, AVX-512/FMA paths).

use super::CpuStorage;
use anyhow::{Result, bail};

/// `[batch, m, k] x [batch, k, n] -> [batch, m, n]`, all contiguous.
pub fn matmul(
    a: &CpuStorage,
    b: &CpuStorage,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
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
                k as isize,
                1,
                bp.as_ptr(),
                n as isize,
                1,
                0.0,
                cp.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }
    Ok(CpuStorage::F32(c))
}
