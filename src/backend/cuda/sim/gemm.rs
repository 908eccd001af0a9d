//! The simulator's stand-in for cuBLAS: a reference strided-batched SGEMM with cuBLAS's
//! column-major conventions, so the backend's call shapes (the row-major operand swap,
//! transpose flags, leading dimensions, batch strides of 0) are exercised as on a GPU.

use super::super::launch::Gemm;
use rayon::prelude::*;

/// `C_b = alpha * op(A_b) op(B_b) + beta * C_b` for every batch entry `b`; with `beta == 0`
/// the old C is not read (as in cuBLAS, where it may hold NaN).
///
/// # Safety
/// The matrices the arguments describe lie inside valid allocations of f32, and C does not
/// overlap A or B.
pub unsafe fn sgemm(g: &Gemm) {
    let (m, n, k) = (g.m, g.n, g.k);
    let columns = g.batch * n;
    let (a, b, c) = (g.a as usize, g.b as usize, g.c as usize);
    let g = *g;
    // One task per column of C: columns never overlap, so the writes are disjoint.
    (0..columns)
        .into_par_iter()
        .with_min_len(16)
        .for_each(|col| {
            let (batch, j) = (col / n, col % n);
            let a = (a as *const f32).wrapping_add(batch * g.stride_a);
            let b = (b as *const f32).wrapping_add(batch * g.stride_b);
            let c = (c as *mut f32).wrapping_add(batch * g.stride_c + j * g.ldc);
            // SAFETY: per the contract; each column of C is written by exactly one task.
            unsafe {
                let bval = |l: usize| {
                    if g.trans_b {
                        *b.add(j + l * g.ldb)
                    } else {
                        *b.add(l + j * g.ldb)
                    }
                };
                let mut acc = vec![0f32; m];
                if g.trans_a {
                    // op(A)(i, l) = A[l + i * lda]: column i of A is contiguous in l.
                    for (i, out) in acc.iter_mut().enumerate() {
                        let row = a.add(i * g.lda);
                        let mut s = 0f32;
                        for l in 0..k {
                            s += *row.add(l) * bval(l);
                        }
                        *out = s;
                    }
                } else {
                    // op(A)(i, l) = A[i + l * lda]: add column l of A scaled by B(l, j).
                    for l in 0..k {
                        let bl = bval(l);
                        let col_a = a.add(l * g.lda);
                        for (i, out) in acc.iter_mut().enumerate() {
                            *out += *col_a.add(i) * bl;
                        }
                    }
                }
                for (i, v) in acc.iter().enumerate() {
                    let dst = c.add(i);
                    *dst = if g.beta == 0.0 {
                        g.alpha * v
                    } else {
                        g.alpha * v + g.beta * *dst
                    };
                }
            }
        });
}
