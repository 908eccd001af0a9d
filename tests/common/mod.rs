//! Helpers shared by the integration tests.
#![allow(dead_code)]

use ember::{DType, Device, Tensor};

/// A deterministic f32 tensor with values spread over `[lo, hi)` (no RNG involved).
pub fn spread(shape: &[usize], lo: f32, hi: f32, salt: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let v = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lo + (hi - lo) * ((state >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect();
    Tensor::from_f32(v, shape, Device::Cpu).unwrap()
}

pub fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_f32(v.to_vec(), shape, Device::Cpu).unwrap()
}

pub fn ti(v: &[i64], shape: &[usize]) -> Tensor {
    Tensor::from_i64(v.to_vec(), shape, Device::Cpu).unwrap()
}

pub fn tb(v: &[bool], shape: &[usize]) -> Tensor {
    Tensor::from_bool(v.to_vec(), shape, Device::Cpu).unwrap()
}

/// Asserts two float slices agree within `tol` (absolute, scaled up for large values).
pub fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "lengths differ: {actual:?} vs {expected:?}"
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "element {i}: {a} vs expected {e}\nactual   {actual:?}\nexpected {expected:?}"
        );
    }
}

pub fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F32, Device::Cpu).unwrap()
}
