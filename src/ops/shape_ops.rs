//! Shape ops: views (reshape and friends), permutations, broadcasting, joins and cuts.

use super::{record, same_device};
use crate::backend::Storage;
use crate::tensor::autograd::Node;
use crate::tensor::shape::{infer_reshape, normalize_axis, numel};
use crate::tensor::{Tensor, is_grad_enabled};
use anyhow::{Result, bail};

impl Tensor {
    /// Same values, new shape (one dimension may be -1). Shares storage, like `view`.
    pub fn reshape(&self, dims: &[i64]) -> Result<Tensor> {
        let shape = infer_reshape("reshape", self.shape(), dims)?;
        self.reshape_usize(&shape)
    }

    /// Reshape to a fully known shape.
    pub fn reshape_usize(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.numel() {
            bail!(
                "reshape: cannot reshape a tensor of shape {:?} into {shape:?}",
                self.shape()
            );
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let node = (is_grad_enabled() && self.requires_grad()).then(|| {
            let back = self.shape().to_vec();
            Node {
                name: "reshape",
                inputs: vec![self.clone()],
                backward: Box::new(move |g: &Tensor| Ok(vec![Some(g.reshape_usize(&back)?)])),
            }
        });
        Ok(self.share_storage(shape.to_vec(), node))
    }

    /// All dimensions merged into one.
    pub fn flatten_all(&self) -> Result<Tensor> {
        self.reshape_usize(&[self.numel()])
    }

    /// Merges dimensions `start..=end` into one.
    pub fn flatten(&self, start: i64, end: i64) -> Result<Tensor> {
        if self.ndim() == 0 {
            return self.reshape_usize(&[1]);
        }
        let s = normalize_axis("flatten", start, self.ndim())?;
        let e = normalize_axis("flatten", end, self.ndim())?;
        if s > e {
            bail!("flatten: start dimension {start} comes after end dimension {end}");
        }
        let mut shape = self.shape()[..s].to_vec();
        shape.push(self.shape()[s..=e].iter().product());
        shape.extend_from_slice(&self.shape()[e + 1..]);
        self.reshape_usize(&shape)
    }

    /// Drops every size-1 dimension.
    pub fn squeeze(&self) -> Result<Tensor> {
        let shape: Vec<usize> = self.shape().iter().copied().filter(|&d| d != 1).collect();
        self.reshape_usize(&shape)
    }

    /// Drops dimension `dim` if it has size 1 (otherwise returns the tensor unchanged).
    pub fn squeeze_dim(&self, dim: i64) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Ok(self.clone());
        }
        let a = normalize_axis("squeeze", dim, self.ndim())?;
        if self.shape()[a] != 1 {
            return Ok(self.clone());
        }
        let mut shape = self.shape().to_vec();
        shape.remove(a);
        self.reshape_usize(&shape)
    }

    /// Inserts a size-1 dimension at `dim` (-1 appends).
    pub fn unsqueeze(&self, dim: i64) -> Result<Tensor> {
        let a = normalize_axis("unsqueeze", dim, self.ndim() + 1)?;
        let mut shape = self.shape().to_vec();
        shape.insert(a, 1);
        self.reshape_usize(&shape)
    }

    /// Reorders dimensions: result dimension `i` is input dimension `perm[i]`.
    pub fn permute(&self, perm: &[i64]) -> Result<Tensor> {
        if perm.len() != self.ndim() {
            bail!(
                "permute: {} dimensions given for a tensor of shape {:?}",
                perm.len(),
                self.shape()
            );
        }
        let mut axes = Vec::with_capacity(perm.len());
        for &p in perm {
            let a = normalize_axis("permute", p, self.ndim())?;
            if axes.contains(&a) {
                bail!("permute: dimension {p} repeated in {perm:?}");
            }
            axes.push(a);
        }
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return Ok(self.clone());
        }
        let shape: Vec<usize> = axes.iter().map(|&a| self.shape()[a]).collect();
        let st = self.storage().permute(self.shape(), &axes)?;
        let mut inverse = vec![0i64; axes.len()];
        for (i, &a) in axes.iter().enumerate() {
            inverse[a] = i as i64;
        }
        Ok(record("permute", st, shape, &[self], move |g| {
            Ok(vec![Some(g.permute(&inverse)?)])
        }))
    }

    /// Swaps two dimensions.
    pub fn transpose(&self, d0: i64, d1: i64) -> Result<Tensor> {
        let a = normalize_axis("transpose", d0, self.ndim())?;
        let b = normalize_axis("transpose", d1, self.ndim())?;
        if self.ndim() == 0 {
            // PyTorch: transpose(0, 0) (or -1) of a 0-d tensor is the tensor
            return Ok(self.clone());
        }
        let mut perm: Vec<i64> = (0..self.ndim() as i64).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Matrix transpose of a 2-D tensor (1-D and 0-D tensors are returned as they are).
    pub fn t(&self) -> Result<Tensor> {
        match self.ndim() {
            0 | 1 => Ok(self.clone()),
            2 => self.transpose(0, 1),
            n => bail!(
                "t: expects a tensor with at most 2 dimensions, got {n} (shape {:?}); use transpose",
                self.shape()
            ),
        }
    }

    /// Broadcasts to `shape` (-1 keeps a dimension), materialising the copies.
    pub fn expand(&self, dims: &[i64]) -> Result<Tensor> {
        if dims.len() < self.ndim() {
            bail!(
                "expand: target {dims:?} has fewer dimensions than shape {:?}",
                self.shape()
            );
        }
        let off = dims.len() - self.ndim();
        let mut shape = Vec::with_capacity(dims.len());
        for (i, &d) in dims.iter().enumerate() {
            let own = if i >= off {
                Some(self.shape()[i - off])
            } else {
                None
            };
            let size = match (d, own) {
                (-1, Some(o)) => o,
                (-1, None) => {
                    bail!("expand: -1 is not allowed for a new leading dimension in {dims:?}")
                }
                (d, _) if d < 0 => bail!("expand: invalid size {d} in {dims:?}"),
                (d, Some(o)) if o != 1 && o as i64 != d => {
                    bail!("expand: cannot expand shape {:?} to {dims:?}", self.shape())
                }
                (d, _) => d as usize,
            };
            shape.push(size);
        }
        self.expand_to(&shape)
    }

    /// Broadcasts to a fully known shape.
    pub fn expand_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let check = crate::tensor::shape::broadcast_shapes("expand", self.shape(), shape)?;
        if check != shape {
            bail!(
                "expand: cannot expand shape {:?} to {shape:?}",
                self.shape()
            );
        }
        let st = self.storage().expand(self.shape(), shape)?;
        let own = self.shape().to_vec();
        Ok(record("expand", st, shape.to_vec(), &[self], move |g| {
            Ok(vec![Some(g.sum_to(&own)?)])
        }))
    }

    /// Joins tensors along an existing dimension.
    pub fn cat(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            bail!("cat: needs at least one tensor")
        };
        let axis = crate::tensor::shape::existing_dim("cat", dim, first.ndim())?;
        let refs: Vec<&Tensor> = tensors.iter().collect();
        same_device("cat", &refs)?;
        let dtype = first.dtype();
        for t in tensors {
            let same_rest = t.ndim() == first.ndim()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !same_rest {
                let shapes: Vec<&[usize]> = tensors.iter().map(|t| t.shape()).collect();
                bail!("cat: shapes {shapes:?} differ outside dimension {dim}");
            }
            if t.dtype() != dtype {
                bail!("cat: dtypes differ ({} and {})", dtype, t.dtype());
            }
        }
        let guards: Vec<_> = tensors.iter().map(|t| t.storage()).collect();
        let parts: Vec<(&Storage, &[usize])> = guards
            .iter()
            .zip(tensors)
            .map(|(g, t)| (&**g, t.shape()))
            .collect();
        let st = Storage::cat(&parts, axis)?;
        drop(parts);
        drop(guards);
        let mut shape = first.shape().to_vec();
        shape[axis] = tensors.iter().map(|t| t.shape()[axis]).sum();
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[axis]).collect();
        Ok(record("cat", st, shape, &refs, move |g| {
            let mut start = 0;
            let mut out = Vec::with_capacity(sizes.len());
            for &s in &sizes {
                out.push(Some(g.narrow(axis as i64, start as i64, s as i64)?));
                start += s;
            }
            Ok(out)
        }))
    }

    /// Joins tensors of one shape along a new dimension.
    pub fn stack(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            bail!("stack: needs at least one tensor")
        };
        for t in tensors {
            if t.shape() != first.shape() {
                let shapes: Vec<&[usize]> = tensors.iter().map(|t| t.shape()).collect();
                bail!("stack: all tensors need the same shape, got {shapes:?}");
            }
        }
        let axis = normalize_axis("stack", dim, first.ndim() + 1)? as i64;
        let parts: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.unsqueeze(axis))
            .collect::<Result<_>>()?;
        Tensor::cat(&parts, axis)
    }

    /// Elements `start, start+step, ...` below `end` along `dim` (negative bounds count from
    /// the end and are clipped to the size, as Python slices are).
    pub fn slice(&self, dim: i64, start: i64, end: i64, step: i64) -> Result<Tensor> {
        let axis = crate::tensor::shape::existing_dim("slice", dim, self.ndim())?;
        if step <= 0 {
            bail!("slice: step must be positive, got {step}");
        }
        let n = self.shape()[axis] as i64;
        let clip = |v: i64| (if v < 0 { v + n } else { v }).clamp(0, n);
        let (s, e) = (clip(start), clip(end));
        let len = if e > s {
            ((e - s - 1) / step + 1) as usize
        } else {
            0
        };
        let mut shape = self.shape().to_vec();
        shape[axis] = len;
        if len == shape_len(self, axis) && step == 1 {
            return Ok(self.clone());
        }
        let st = self
            .storage()
            .slice(self.shape(), axis, s as usize, step as usize, len)?;
        let own = self.shape().to_vec();
        let device = self.device();
        Ok(record("slice", st, shape, &[self], move |g| {
            let idx: Vec<i64> = (0..len as i64).map(|j| s + j * step).collect();
            let idx = Tensor::from_i64(idx, &[len], device)?;
            Ok(vec![Some(
                Tensor::zeros(&own, g.dtype(), device)?.index_add(axis as i64, &idx, g)?,
            )])
        }))
    }

    /// `length` elements from `start` along `dim`.
    pub fn narrow(&self, dim: i64, start: i64, length: i64) -> Result<Tensor> {
        let axis = crate::tensor::shape::existing_dim("narrow", dim, self.ndim())?;
        let n = self.shape()[axis] as i64;
        let s = if start < 0 { start + n } else { start };
        if s < 0 || length < 0 || s.checked_add(length).is_none_or(|end| end > n) {
            bail!(
                "narrow: start {start} and length {length} are out of range for dimension {dim} of shape {:?}",
                self.shape()
            );
        }
        self.slice(dim, s, s + length, 1)
    }

    /// The slice at `index` along `dim`, without that dimension (PyTorch's `select`).
    pub fn select(&self, dim: i64, index: i64) -> Result<Tensor> {
        let axis = crate::tensor::shape::existing_dim("select", dim, self.ndim())?;
        let n = self.shape()[axis] as i64;
        let i = if index < 0 { index + n } else { index };
        if i < 0 || i >= n {
            bail!(
                "select: index {index} is out of range for dimension {dim} of shape {:?}",
                self.shape()
            );
        }
        self.narrow(axis as i64, i, 1)?.squeeze_dim(axis as i64)
    }

    /// Splits into pieces of `size` along `dim` (the last may be smaller).
    pub fn split(&self, size: i64, dim: i64) -> Result<Vec<Tensor>> {
        let axis = crate::tensor::shape::existing_dim("split", dim, self.ndim())?;
        if size <= 0 {
            bail!("split: size must be positive, got {size}");
        }
        let n = self.shape()[axis] as i64;
        (0..n)
            .step_by(size as usize)
            .map(|s| self.narrow(dim, s, size.min(n - s)))
            .collect()
    }

    /// Splits into `chunks` nearly equal pieces along `dim`.
    pub fn chunk(&self, chunks: i64, dim: i64) -> Result<Vec<Tensor>> {
        if chunks <= 0 {
            bail!("chunk: number of chunks must be positive, got {chunks}");
        }
        let n = self.size(dim)? as u64;
        let size = n.div_ceil(chunks as u64).max(1);
        self.split(size as i64, dim)
    }

    /// Reverses the order of elements along each listed dimension.
    pub fn flip(&self, dims: &[i64]) -> Result<Tensor> {
        let axes: Vec<usize> = dims
            .iter()
            .map(|&d| normalize_axis("flip", d, self.ndim()))
            .collect::<Result<_>>()?;
        if self.ndim() == 0 {
            return Ok(self.clone());
        }
        let st = self.storage().flip(self.shape(), &axes)?;
        let dims = dims.to_vec();
        Ok(record(
            "flip",
            st,
            self.shape().to_vec(),
            &[self],
            move |g| Ok(vec![Some(g.flip(&dims)?)]),
        ))
    }

    /// Tiles the tensor `reps[i]` times along each dimension (`torch.repeat`).
    pub fn repeat(&self, reps: &[i64]) -> Result<Tensor> {
        if reps.len() < self.ndim() {
            bail!(
                "repeat: {} repeat counts for a tensor of shape {:?}",
                reps.len(),
                self.shape()
            );
        }
        if let Some(r) = reps.iter().find(|&&r| r < 0) {
            bail!("repeat: negative repeat count {r}");
        }
        let pad = reps.len() - self.ndim();
        let own: Vec<usize> = std::iter::repeat_n(1, pad)
            .chain(self.shape().iter().copied())
            .collect();
        // [a, b] -> [1, a, 1, b] -> [r0, a, r1, b] -> [r0*a, r1*b]
        let mut inter = Vec::new();
        let mut expanded = Vec::new();
        let mut out = Vec::new();
        for (&d, &r) in own.iter().zip(reps) {
            inter.extend([1, d]);
            expanded.extend([r as usize, d]);
            let Some(n) = (r as usize).checked_mul(d) else {
                bail!(
                    "repeat: repeating shape {:?} {reps:?} times overflows the element count",
                    self.shape()
                );
            };
            out.push(n);
        }
        crate::tensor::shape::checked_numel("repeat", &out)?;
        self.reshape_usize(&inter)?
            .expand_to(&expanded)?
            .reshape_usize(&out)
    }
}

fn shape_len(t: &Tensor, axis: usize) -> usize {
    t.shape()[axis]
}
