//! Measures the candidate f32 GEMM crates on this machine (the choice behind the CPU backend):
//!     cargo bench --bench gemm_choice
use ember::backend::cpu::gemm::Mat;
use std::time::Instant;

fn main() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for n in [256usize, 1024, 2048] {
        let a: Vec<f32> = (0..n * n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let b: Vec<f32> = (0..n * n)
            .map(|i| ((i * 104729) % 1000) as f32 / 1000.0)
            .collect();
        let mut c = vec![0f32; n * n];
        let flops = 2.0 * (n as f64).powi(3);
        let time = |f: &mut dyn FnMut()| {
            f();
            let mut ts: Vec<f64> = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .collect();
            ts.sort_by(f64::total_cmp);
            flops / ts[2] / 1e9
        };
        // matrixmultiply's kernels, split across threads the way ember's backend does it
        let mm = time(&mut || {
            ember::backend::cpu::gemm::gemm((n, n, n), Mat::rows(&a, n), Mat::rows(&b, n), &mut c)
        });
        let gm = time(&mut || unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            )
        });
        println!("n={n}: matrixmultiply (ember's threads) {mm:.1} GFLOP/s, gemm {gm:.1} GFLOP/s");
    }
}
