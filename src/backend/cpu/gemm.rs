//! Single-precision GEMM on `matrixmultiply`'s kernels, split across ember's own threads.
//!
//! `matrixmultiply` is built without its `threading` feature: ember decides the parallelism
//! (`EMBER_NUM_THREADS`, on the worker pool of `parallel.rs`), so a kernel that already runs one image per thread (convolution) can
//! call [`gemm_serial`] without the two levels of threads fighting over the cores.

use super::parallel::workers;

/// A read-only matrix operand: elements at `data[i * rs + j * cs]` (non-negative strides).
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `[rows, cols]` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Mat<'a> {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major `[rows, cols]` matrix, read in place.
    pub fn transposed(data: &'a [f32], cols: usize) -> Mat<'a> {
        Mat {
            data,
            rs: 1,
            cs: cols,
        }
    }

    /// Whether an `r x c` matrix with these strides lies inside `data`.
    fn holds(&self, r: usize, c: usize) -> bool {
        if r == 0 || c == 0 {
            return true;
        }
        let last = (r - 1)
            .checked_mul(self.rs)
            .and_then(|x| (c - 1).checked_mul(self.cs).and_then(|y| x.checked_add(y)));
        last.is_some_and(|l| l < self.data.len())
    }

    /// The operand starting at row `i`, column `j`.
    pub(crate) fn offset(&self, i: usize, j: usize) -> Mat<'a> {
        Mat {
            data: &self.data[i * self.rs + j * self.cs..],
            ..*self
        }
    }
}

/// `C = A B + beta C` on the calling thread, for `A` `[m, k]`, `B` `[k, n]` and row-major `C`
/// `[m, n]` with row stride `ldc`. `beta = 0` ignores what `C` held.
pub fn gemm_serial(
    (m, k, n): (usize, usize, usize),
    a: Mat,
    b: Mat,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        a.holds(m, k)
            && b.holds(k, n)
            && (m - 1)
                .checked_mul(ldc)
                .and_then(|x| x.checked_add(n))
                .is_some_and(|x| x <= c.len())
            && n <= ldc,
        "gemm_serial: operands do not hold [{m}, {k}] x [{k}, {n}]"
    );
    if k == 0 {
        c_scale(m, n, beta, c, ldc);
        return;
    }
    // SAFETY: the assertion above keeps every element the kernel reads inside `a.data` and
    // `b.data` and every element it writes inside `c`, which is exclusively borrowed.
    unsafe { sgemm_raw(m, k, n, a, b, beta, c.as_mut_ptr(), ldc) }
}

/// `C = beta C` for the `k = 0` product.
fn c_scale(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize) {
    for row in c.chunks_mut(ldc).take(m) {
        for v in &mut row[..n] {
            *v = if beta == 0.0 { 0.0 } else { *v * beta };
        }
    }
}

/// # Safety
/// `a` and `b` must hold `[m, k]` and `[k, n]` and `c` must point at a writable row-major
/// `[m, n]` block with row stride `ldc` that nothing else touches during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_raw(
    m: usize,
    k: usize,
    n: usize,
    a: Mat,
    b: Mat,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) {
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.rs as isize,
            a.cs as isize,
            b.data.as_ptr(),
            b.rs as isize,
            b.cs as isize,
            beta,
            c,
            ldc as isize,
            1,
        )
    }
}

/// Below this many multiply-adds a product runs on one thread (thread start-up would dominate).
const PARALLEL_MACS: usize = 1 << 21;

/// A pointer that may cross into a scoped thread; each thread writes a disjoint block.
struct SendPtr(*mut f32);
// SAFETY: only used to hand disjoint column blocks of one output to scoped threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    fn get(&self) -> *mut f32 {
        self.0
    }
}

/// `C = A B` (`C` row-major `[m, n]`, overwritten), split across threads when large: by rows
/// of `C` when `n <= m` (each thread packs all of `B`), else by columns (each packs all of `A`).
pub fn gemm((m, k, n): (usize, usize, usize), a: Mat, b: Mat, c: &mut [f32]) {
    gemm_ld((m, k, n), a, b, c, n)
}

/// [`gemm`] into a block of a larger row-major matrix: `C`'s rows are `ldc` apart.
pub fn gemm_ld((m, k, n): (usize, usize, usize), a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    let pool = match workers() {
        Some(pool) if m.saturating_mul(k).saturating_mul(n) >= PARALLEL_MACS => pool,
        _ => return gemm_serial((m, k, n), a, b, 0.0, c, ldc),
    };
    let threads = pool.current_num_threads();
    assert!(
        a.holds(m, k)
            && b.holds(k, n)
            && n <= ldc
            && m > 0
            && (m - 1)
                .checked_mul(ldc)
                .and_then(|x| x.checked_add(n))
                .is_some_and(|x| c.len() >= x),
        "gemm: operands do not hold [{m}, {k}] x [{k}, {n}]"
    );
    if n <= m {
        let per = m.div_ceil(threads);
        pool.scope(|s| {
            for (t, rows) in c.chunks_mut(per * ldc).take(m.div_ceil(per)).enumerate() {
                let a = a.offset(t * per, 0);
                let r = per.min(m - t * per);
                s.spawn(move |_| gemm_serial((r, k, n), a, b, 0.0, rows, ldc));
            }
        });
    } else {
        // Column blocks in multiples of 32 (the widest kernel tile) so no thread gets a sliver.
        let per = n.div_ceil(threads).div_ceil(32) * 32;
        let base = SendPtr(c.as_mut_ptr());
        pool.scope(|s| {
            for j0 in (0..n).step_by(per) {
                let cols = per.min(n - j0);
                let b = b.offset(0, j0);
                let base = &base;
                s.spawn(move |_| {
                    // SAFETY: block [0..m, j0..j0+cols] of the exclusively borrowed `c` (checked
                    // above to hold it with row stride ldc), disjoint from every other thread's.
                    unsafe { sgemm_raw(m, k, cols, a, b, 0.0, base.get().add(j0), ldc) }
                });
            }
        });
    }
}
