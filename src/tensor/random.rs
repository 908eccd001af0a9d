//! The global random generator behind `rand`, `randn`, `dropout`, `randperm`...
//! `manual_seed(n)` makes every later draw reproducible.

use crate::backend::memory;
use anyhow::Result;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::cell::RefCell;

thread_local! {
    static RNG: RefCell<StdRng> = RefCell::new(StdRng::seed_from_u64(default_seed()));
    /// The device generator's (seed, counter): CUDA draws are Philox blocks at
    /// `counter..counter + blocks`, so they depend only on the seed and the draws before.
    static DEVICE: std::cell::Cell<(u64, u64)> = std::cell::Cell::new((default_seed(), 0));
}

fn default_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Reseeds the generator: the same seed gives the same numbers on every run.
pub fn manual_seed(seed: u64) {
    RNG.with(|r| *r.borrow_mut() = StdRng::seed_from_u64(seed));
    DEVICE.with(|d| d.set((seed, 0)));
}

/// Reserves `blocks` counter values of the device generator: returns the seed and the first
/// counter of this draw.
pub fn device_draw(blocks: u64) -> (u64, u64) {
    DEVICE.with(|d| {
        let (seed, counter) = d.get();
        d.set((seed, counter.wrapping_add(blocks)));
        (seed, counter)
    })
}

/// `n` draws from U[lo, hi).
pub fn uniform_vec(n: usize, lo: f32, hi: f32) -> Result<Vec<f32>> {
    let mut v = memory::alloc("uniform", n)?;
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        v.extend((0..n).map(|_| lo + (hi - lo) * r.random::<f32>()));
    });
    Ok(v)
}

/// `n` draws from N(mean, std²).
pub fn normal_vec(n: usize, mean: f32, std: f32) -> Result<Vec<f32>> {
    let mut v = memory::alloc("normal", n)?;
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        v.extend((0..n).map(|_| {
            let z: f32 = StandardNormal.sample(&mut *r);
            mean + std * z
        }));
    });
    Ok(v)
}

/// `n` integers uniform in [lo, hi).
pub fn int_vec(n: usize, lo: i64, hi: i64) -> Result<Vec<i64>> {
    if lo >= hi {
        anyhow::bail!("randint: low {lo} must be below high {hi}");
    }
    let mut v = memory::alloc("randint", n)?;
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        v.extend((0..n).map(|_| r.random_range(lo..hi)));
    });
    Ok(v)
}

/// A random permutation of `0..n` (Fisher–Yates).
pub fn permutation(n: usize) -> Result<Vec<i64>> {
    RNG.with(|r| shuffled(n, &mut r.borrow_mut()))
}

fn shuffled(n: usize, r: &mut StdRng) -> Result<Vec<i64>> {
    if n > i64::MAX as usize {
        anyhow::bail!("randperm: {n} is too large");
    }
    let mut v = memory::collect("randperm", n, 0..n as i64)?;
    for i in (1..n).rev() {
        let j = r.random_range(0..=i);
        v.swap(i, j);
    }
    Ok(v)
}

/// A random permutation of `0..n` from its own generator seeded with `seed` (the global
/// generator is not touched).
pub fn seeded_permutation(n: usize, seed: u64) -> Result<Vec<i64>> {
    shuffled(n, &mut StdRng::seed_from_u64(seed))
}
