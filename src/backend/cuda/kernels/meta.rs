//! Shapes and strides passed to kernels by value, as `#[repr(C)]` mirrors of the structs in
//! the `.cu` sources. Dimensions are merged on the host first (adjacent axes that every
//! operand walks contiguously become one), so most launches see rank 1 or 2. All index
//! arithmetic is 64-bit on both sides.

use super::{Param, ParamKind};
use crate::tensor::shape::broadcast_strides;
use anyhow::{Result, bail};

/// Axes a kernel can walk after merging (`EMBER_MAX_DIMS` in the sources).
pub const MAX_DIMS: usize = 8;

/// Up to three operands broadcast to one output (`struct Bcast`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bcast {
    pub dims: [u64; MAX_DIMS],
    pub st: [[i64; MAX_DIMS]; 3],
    pub rank: u32,
    pub pad: u32,
}

/// A strided walk: the shape walked, the strides of the strided side and its base offset
/// (`struct Layout`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub dims: [u64; MAX_DIMS],
    pub st: [i64; MAX_DIMS],
    pub base: i64,
    pub rank: u32,
    pub pad: u32,
}

/// An index tensor's shape addressing a tensor with strides `xst` along axis `dim` of length
/// `len` (`struct Gather`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gather {
    pub dims: [u64; MAX_DIMS],
    pub xst: [u64; MAX_DIMS],
    pub len: u64,
    pub rank: u32,
    pub dim: u32,
}

macro_rules! struct_param {
    ($t:ty) => {
        // SAFETY: `#[repr(C)]`, fields matching the CUDA C struct of the same name.
        unsafe impl Param for $t {
            const KIND: ParamKind = ParamKind::Struct {
                size: std::mem::size_of::<$t>(),
                align: std::mem::align_of::<$t>(),
            };
        }
    };
}
struct_param!(Bcast);
struct_param!(Layout);
struct_param!(Gather);

/// Merges adjacent axes that are contiguous for every stride list: axis d and d+1 merge when
/// `st[d] == st[d+1] * dims[d+1]` for all lists. Axes of length 1 are dropped.
pub fn merge(dims: &[usize], strides: &[Vec<i64>]) -> (Vec<usize>, Vec<Vec<i64>>) {
    let mut md: Vec<usize> = Vec::with_capacity(dims.len());
    let mut ms: Vec<Vec<i64>> = vec![Vec::with_capacity(dims.len()); strides.len()];
    for (d, &len) in dims.iter().enumerate() {
        if len == 1 {
            continue;
        }
        let joins = !md.is_empty()
            && strides
                .iter()
                .zip(&ms)
                .all(|(s, m)| *m.last().unwrap_or(&0) == s[d] * len as i64);
        if joins {
            let last = md.len() - 1;
            md[last] *= len;
            for (s, m) in strides.iter().zip(ms.iter_mut()) {
                let l = m.len() - 1;
                m[l] = s[d];
            }
        } else {
            md.push(len);
            for (s, m) in strides.iter().zip(ms.iter_mut()) {
                m.push(s[d]);
            }
        }
    }
    (md, ms)
}

fn too_many(op: &str, shape: &[usize]) -> anyhow::Error {
    anyhow::anyhow!(
        "{op}: the CUDA kernels walk at most {MAX_DIMS} axes after merging, and shape \
         {shape:?} needs more (make the operands contiguous first)"
    )
}

impl Bcast {
    /// Operands of the given shapes broadcast to `out`.
    pub fn new(op: &str, out: &[usize], operands: &[&[usize]]) -> Result<Bcast> {
        let strides: Vec<Vec<i64>> = operands
            .iter()
            .map(|s| {
                broadcast_strides(s, out)
                    .into_iter()
                    .map(|v| v as i64)
                    .collect()
            })
            .collect();
        let (dims, st) = merge(out, &strides);
        if dims.len() > MAX_DIMS {
            return Err(too_many(op, out));
        }
        let mut m = Bcast {
            dims: [1; MAX_DIMS],
            st: [[0; MAX_DIMS]; 3],
            rank: dims.len() as u32,
            pad: 0,
        };
        for (d, &len) in dims.iter().enumerate() {
            m.dims[d] = len as u64;
            for (k, s) in st.iter().enumerate() {
                m.st[k][d] = s[d];
            }
        }
        Ok(m)
    }
}

impl Layout {
    /// A walk over `dims` reading (or writing) at `base + sum(coord * strides)`.
    pub fn new(op: &str, dims: &[usize], strides: &[i64], base: i64) -> Result<Layout> {
        let (md, ms) = merge(dims, &[strides.to_vec()]);
        if md.len() > MAX_DIMS {
            return Err(too_many(op, dims));
        }
        let mut m = Layout {
            dims: [1; MAX_DIMS],
            st: [0; MAX_DIMS],
            base,
            rank: md.len() as u32,
            pad: 0,
        };
        for (d, &len) in md.iter().enumerate() {
            m.dims[d] = len as u64;
            m.st[d] = ms[0][d];
        }
        Ok(m)
    }
}

impl Gather {
    /// An index tensor of `idx_shape` into a tensor of `shape` along `dim`.
    pub fn new(op: &str, shape: &[usize], dim: usize, idx_shape: &[usize]) -> Result<Gather> {
        if idx_shape.len() > MAX_DIMS || shape.len() != idx_shape.len() || dim >= shape.len() {
            if idx_shape.len() > MAX_DIMS {
                return Err(too_many(op, idx_shape));
            }
            bail!("{op}: index shape {idx_shape:?} does not match {shape:?} along axis {dim}");
        }
        let mut m = Gather {
            dims: [1; MAX_DIMS],
            xst: [0; MAX_DIMS],
            len: shape[dim] as u64,
            rank: idx_shape.len() as u32,
            dim: dim as u32,
        };
        let mut stride = 1u64;
        for d in (0..shape.len()).rev() {
            m.dims[d] = idx_shape[d] as u64;
            m.xst[d] = stride;
            stride *= shape[d] as u64;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_broadcast_axes_apart() {
        // [3, 4, 5] + [4, 5]: the two trailing axes merge, the broadcast one stays.
        let m = Bcast::new("add", &[3, 4, 5], &[&[3, 4, 5], &[4, 5]]).unwrap();
        assert_eq!(m.rank, 2);
        assert_eq!(&m.dims[..2], &[3, 20]);
        assert_eq!(&m.st[0][..2], &[20, 1]);
        assert_eq!(&m.st[1][..2], &[0, 1]);
    }

    #[test]
    fn offsets_past_two_to_the_31_bytes_stay_exact() {
        // A walk whose last element sits 2^33 elements (32 GiB of f32) from the first: the
        // offsets the kernels compute are plain i64 sums, checked here without allocating.
        let big: usize = 1 << 33;
        let m = Layout::new("slice", &[2, 3], &[big as i64, 1], 5).unwrap();
        let last = m.base + (m.dims[0] as i64 - 1) * m.st[0] + (m.dims[1] as i64 - 1) * m.st[1];
        assert_eq!(last, (1i64 << 33) + 2 + 5);
        let g = Gather::new("gather", &[3, big], 1, &[3, 4]).unwrap();
        assert_eq!(g.xst[0], big as u64);
        assert_eq!(g.len, big as u64);
    }

    #[test]
    fn too_many_axes_is_an_error() {
        let shape = [2usize; 10];
        let strides: Vec<i64> = (0..10).map(|d| 3i64.pow(d)).collect();
        assert!(Layout::new("permute", &shape, &strides, 0).is_err());
    }
}
