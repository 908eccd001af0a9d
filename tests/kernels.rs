//! The fused convolution, max-pooling and threaded GEMM kernels against direct sums, on inputs
//! large enough that the work is split across threads (the gradient checks use tiny inputs,
//! which run on one thread). The matrix products run on every test device (the CPU, cuda-sim).

mod common;

use common::{on_each_device, spread};

/// Asserts two float slices agree within `tol` (relative above 1), naming the first difference
/// and the case rather than printing both slices.
fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    if let Some((i, (a, e))) = actual
        .iter()
        .zip(expected)
        .enumerate()
        .find(|(_, (a, e))| (*a - *e).abs() > tol * (1.0 + e.abs()))
    {
        panic!("{what}: element {i} is {a}, expected {e}");
    }
}
use ember::Tensor;
use ember::ops::Padding;

/// Geometry of one convolution case.
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: (usize, usize),
    stride: (usize, usize),
    pad: (usize, usize),
    dil: (usize, usize),
}

impl Case {
    fn out(&self) -> (usize, usize) {
        let span = |k: usize, d: usize| d * (k - 1) + 1;
        (
            (self.h + 2 * self.pad.0 - span(self.k.0, self.dil.0)) / self.stride.0 + 1,
            (self.w + 2 * self.pad.1 - span(self.k.1, self.dil.1)) / self.stride.1 + 1,
        )
    }

    /// Calls `f(n, o, c, oy, ox, ki, kj, x_index)` for every tap that lands inside the input.
    fn taps(&self, mut f: impl FnMut(usize, usize, usize, usize, usize, usize, usize, usize)) {
        let (oh, ow) = self.out();
        for n in 0..self.n {
            for o in 0..self.o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for c in 0..self.c {
                            for ki in 0..self.k.0 {
                                for kj in 0..self.k.1 {
                                    let iy = (oy * self.stride.0 + ki * self.dil.0) as isize
                                        - self.pad.0 as isize;
                                    let ix = (ox * self.stride.1 + kj * self.dil.1) as isize
                                        - self.pad.1 as isize;
                                    if iy < 0 || ix < 0 {
                                        continue;
                                    }
                                    let (iy, ix) = (iy as usize, ix as usize);
                                    if iy >= self.h || ix >= self.w {
                                        continue;
                                    }
                                    let xi = ((n * self.c + c) * self.h + iy) * self.w + ix;
                                    f(n, o, c, oy, ox, ki, kj, xi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Forward values and the gradients of `sum(conv(x) * r)` by direct summation, in f64.
fn direct_conv(case: &Case, x: &[f32], w: &[f32], b: &[f32], r: &[f32]) -> [Vec<f32>; 4] {
    let (oh, ow) = case.out();
    let (kh, kw) = case.k;
    let mut y = vec![0f64; case.n * case.o * oh * ow];
    let mut dx = vec![0f64; x.len()];
    let mut dw = vec![0f64; w.len()];
    let mut db = vec![0f64; case.o];
    for (i, v) in y.iter_mut().enumerate() {
        *v = b[(i / (oh * ow)) % case.o] as f64;
        db[(i / (oh * ow)) % case.o] += r[i] as f64;
    }
    case.taps(|n, o, c, oy, ox, ki, kj, xi| {
        let yi = ((n * case.o + o) * oh + oy) * ow + ox;
        let wi = ((o * case.c + c) * kh + ki) * kw + kj;
        y[yi] += x[xi] as f64 * w[wi] as f64;
        dx[xi] += r[yi] as f64 * w[wi] as f64;
        dw[wi] += r[yi] as f64 * x[xi] as f64;
    });
    let f = |v: Vec<f64>| v.into_iter().map(|e| e as f32).collect();
    [f(y), f(dx), f(dw), f(db)]
}

fn check_conv(name: &str, case: Case) {
    let x = spread(&[case.n, case.c, case.h, case.w], -1.0, 1.0, 11);
    let w = spread(&[case.o, case.c, case.k.0, case.k.1], -0.5, 0.5, 12);
    let b = spread(&[case.o], -0.5, 0.5, 13);
    let (oh, ow) = case.out();
    let r = spread(&[case.n, case.o, oh, ow], -1.0, 1.0, 14);
    let [y, dx, dw, db] = direct_conv(
        &case,
        &x.to_f32_vec().unwrap(),
        &w.to_f32_vec().unwrap(),
        &b.to_f32_vec().unwrap(),
        &r.to_f32_vec().unwrap(),
    );
    let (xg, wg, bg) = (
        x.requires_grad_(true).unwrap(),
        w.requires_grad_(true).unwrap(),
        b.requires_grad_(true).unwrap(),
    );
    let pad = Padding::Explicit(case.pad.0, case.pad.1);
    let out = xg
        .conv2d(&wg, Some(&bg), case.stride, pad, case.dil)
        .unwrap();
    assert_eq!(out.shape(), &[case.n, case.o, oh, ow], "{name}: shape");
    assert_close(
        &out.to_f32_vec().unwrap(),
        &y,
        1e-4,
        &format!("{name}: output"),
    );
    out.mul(&r).unwrap().sum().unwrap().backward().unwrap();
    assert_close(
        &xg.grad().unwrap().to_f32_vec().unwrap(),
        &dx,
        1e-4,
        &format!("{name}: input gradient"),
    );
    assert_close(
        &wg.grad().unwrap().to_f32_vec().unwrap(),
        &dw,
        1e-4,
        &format!("{name}: weight gradient"),
    );
    assert_close(
        &bg.grad().unwrap().to_f32_vec().unwrap(),
        &db,
        1e-4,
        &format!("{name}: bias gradient"),
    );
}

#[test]
fn convolution_matches_direct_sums_on_split_batches() {
    // 3x3 on this base is 1.7M multiply-adds, enough to split the batch across threads
    let base = Case {
        n: 16,
        c: 8,
        h: 14,
        w: 13,
        o: 8,
        k: (3, 3),
        stride: (1, 1),
        pad: (1, 1),
        dil: (1, 1),
    };
    check_conv("3x3 same", Case { ..base });
    check_conv(
        "strided, padded unevenly, rectangular kernel",
        Case {
            k: (2, 3),
            stride: (2, 3),
            pad: (1, 2),
            ..base
        },
    );
    check_conv(
        "dilated",
        Case {
            dil: (2, 3),
            pad: (2, 0),
            ..base
        },
    );
    check_conv(
        "1x1 (the image is its own column matrix)",
        Case {
            n: 48,
            k: (1, 1),
            pad: (0, 0),
            o: 16,
            ..base
        },
    );
    check_conv(
        "1x1 strided",
        Case {
            k: (1, 1),
            pad: (0, 0),
            stride: (2, 2),
            ..base
        },
    );
    check_conv(
        "single channel, lesson size",
        Case {
            n: 16,
            c: 1,
            h: 28,
            w: 28,
            o: 8,
            ..base
        },
    );
}

/// Max pooling against a direct scan: values, and where the gradient of `sum(pool(x) * r)` goes.
fn check_max_pool(x: &Tensor, k: (usize, usize), s: (usize, usize), p: (usize, usize)) {
    let shape = x.shape().to_vec();
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
    let oh = (h + 2 * p.0 - k.0) / s.0 + 1;
    let ow = (w + 2 * p.1 - k.1) / s.1 + 1;
    let xv = x.to_f32_vec().unwrap();
    let r = spread(&[n, c, oh, ow], -1.0, 1.0, 21);
    let rv = r.to_f32_vec().unwrap();
    let mut y = vec![f32::NEG_INFINITY; n * c * oh * ow];
    let mut dx = vec![0f32; xv.len()];
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut at = None;
                for ki in 0..k.0 {
                    for kj in 0..k.1 {
                        let iy = (oy * s.0 + ki) as isize - p.0 as isize;
                        let ix = (ox * s.1 + kj) as isize - p.1 as isize;
                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                            continue;
                        }
                        let i = plane * h * w + iy as usize * w + ix as usize;
                        if at.is_none_or(|a: usize| xv[i] > xv[a]) {
                            at = Some(i);
                        }
                    }
                }
                let o = (plane * oh + oy) * ow + ox;
                if let Some(a) = at {
                    y[o] = xv[a];
                    dx[a] += rv[o];
                }
            }
        }
    }
    // a fresh leaf: a clone would share (and accumulate into) the caller's gradient
    let xg = common::t(&xv, &shape).requires_grad_(true).unwrap();
    let out = xg.max_pool2d(k, s, p).unwrap();
    let what = format!("max_pool2d kernel {k:?} stride {s:?} padding {p:?}");
    assert_close(&out.to_f32_vec().unwrap(), &y, 0.0, &what);
    out.mul(&r).unwrap().sum().unwrap().backward().unwrap();
    assert_close(
        &xg.grad().unwrap().to_f32_vec().unwrap(),
        &dx,
        1e-6,
        &format!("{what}: gradient"),
    );
}

#[test]
fn max_pooling_matches_a_direct_scan() {
    let x = spread(&[6, 8, 28, 28], -1.0, 1.0, 20);
    check_max_pool(&x, (2, 2), (2, 2), (0, 0));
    check_max_pool(&x, (3, 3), (2, 2), (1, 1));
    check_max_pool(&x, (3, 2), (1, 2), (0, 0));
    let odd = spread(&[4, 9, 7, 9], -1.0, 1.0, 22);
    check_max_pool(&odd, (2, 2), (2, 2), (0, 0));
    // ReLU outputs tie at zero: the first position in the window wins, as in PyTorch.
    let ties = odd.relu().unwrap();
    check_max_pool(&ties, (2, 2), (2, 2), (0, 0));
    check_max_pool(&ties, (3, 3), (1, 1), (1, 1));
}

#[test]
fn max_pooling_propagates_nan_like_pytorch() {
    // torch.nn.functional.max_pool2d(tensor([[[[1, nan], [3, 4]]]]), 2) is nan
    let x = common::t(
        &[1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        &[1, 2, 2, 2],
    );
    let y = x
        .max_pool2d((2, 2), (2, 2), (0, 0))
        .unwrap()
        .to_f32_vec()
        .unwrap();
    assert!(y[0].is_nan(), "{y:?}");
    assert_eq!(y[1], 8.0);
}

/// `a @ b` by direct summation in f64 (`a` `[m, k]`, `b` `[k, n]`).
fn direct_matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k)
                .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                .sum::<f64>() as f32;
        }
    }
    c
}

#[test]
fn threaded_matrix_products_match_direct_sums() {
    on_each_device("threaded_matrix_products_match_direct_sums", || {
        // tall (split by rows), wide (split by columns, an uneven last block) and square
        for (m, k, n) in [(400, 80, 70), (24, 90, 1001), (130, 130, 130)] {
            let a = spread(&[m, k], -1.0, 1.0, 31);
            let b = spread(&[k, n], -1.0, 1.0, 32);
            let want = direct_matmul(&a.to_f32_vec().unwrap(), &b.to_f32_vec().unwrap(), m, k, n);
            let what = format!("[{m}, {k}] x [{k}, {n}]");
            assert_close(
                &a.matmul(&b).unwrap().to_f32_vec().unwrap(),
                &want,
                1e-4,
                &what,
            );
            // the transposed operands are read in place
            let at = a.transpose(0, 1).unwrap().contiguous();
            let bt = b.transpose(0, 1).unwrap().contiguous();
            let via_t = at
                .transpose(0, 1)
                .unwrap()
                .matmul(&bt.transpose(0, 1).unwrap())
                .unwrap();
            assert_close(
                &via_t.to_f32_vec().unwrap(),
                &want,
                1e-4,
                &format!("{what} transposed"),
            );
        }
        // a batch of products, one per thread
        let (bs, m, k, n) = (6, 70, 80, 90);
        let a = spread(&[bs, m, k], -1.0, 1.0, 33);
        let b = spread(&[bs, k, n], -1.0, 1.0, 34);
        let got = a.matmul(&b).unwrap().to_f32_vec().unwrap();
        let (av, bv) = (a.to_f32_vec().unwrap(), b.to_f32_vec().unwrap());
        for i in 0..bs {
            let want = direct_matmul(
                &av[i * m * k..(i + 1) * m * k],
                &bv[i * k * n..(i + 1) * k * n],
                m,
                k,
                n,
            );
            assert_close(
                &got[i * m * n..(i + 1) * m * n],
                &want,
                1e-4,
                &format!("batch {i}"),
            );
        }
    });
}
