//! Indexing: integer and range selection, index tensors, masks, gather/scatter, in-place
//! assignment, and the k-means lesson's partition and segment ops.

use super::{record, same_device};
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

/// What can stand inside `x[...]` along the first dimension.
#[derive(Clone, Debug)]
pub enum IndexArg {
    /// One position (negative counts from the end); the dimension is removed.
    Int(i64),
    /// A half-open range of positions with a step (Python slice semantics).
    Range { start: i64, end: i64, step: i64 },
    /// An i64 tensor of positions or a bool mask.
    Tensor(Tensor),
}

impl Tensor {
    /// Checks i64 indices lie in `0..size` (negative ones count from the end) and normalises them.
    fn checked_indices(&self, op: &str, idx: &Tensor, dim: usize) -> Result<Tensor> {
        if idx.dtype() != DType::I64 {
            bail!(
                "{op}: indices must be i64, got {} (shape {:?})",
                idx.dtype(),
                idx.shape()
            );
        }
        let size = self.shape()[dim] as i64;
        if let Some(bad) = idx.storage().first_outside(-size, size)? {
            bail!(
                "{op}: index {bad} is out of range for dimension {dim} of size {size} (shape {:?})",
                self.shape()
            );
        }
        if idx.storage().first_outside(0, i64::MAX)?.is_some() {
            // negative positions count from the end
            let _guard = crate::tensor::no_grad();
            let zero = Tensor::scalar_like(0.0, DType::I64, idx.device())?;
            let shifted = idx.add(&Tensor::scalar_like(size as f64, DType::I64, idx.device())?)?;
            return Tensor::where_(&idx.lt(&zero)?, &shifted, idx);
        }
        Ok(idx.clone())
    }

    /// Entries `idx` (a 1-D i64 tensor) along `dim`.
    pub fn index_select(&self, dim: i64, idx: &Tensor) -> Result<Tensor> {
        same_device("index_select", &[self, idx])?;
        let axis = crate::tensor::shape::existing_dim("index_select", dim, self.ndim())?;
        if idx.ndim() > 1 {
            bail!(
                "index_select: indices must be 1-D, got shape {:?}",
                idx.shape()
            );
        }
        let idx = self.checked_indices("index_select", &idx.flatten_all()?, axis)?;
        let st = self
            .storage()
            .index_select(self.shape(), axis, &idx.storage())?;
        let mut shape = self.shape().to_vec();
        shape[axis] = idx.numel();
        let own = self.shape().to_vec();
        Ok(record("index_select", st, shape, &[self], move |g| {
            Ok(vec![Some(
                Tensor::zeros(&own, g.dtype(), g.device())?.index_add(axis as i64, &idx, g)?,
            )])
        }))
    }

    /// Picks along `dim` with an index tensor of the same rank: `out[i][j] = x[idx[i][j]][j]` for dim 0.
    pub fn gather(&self, dim: i64, idx: &Tensor) -> Result<Tensor> {
        same_device("gather", &[self, idx])?;
        let axis = crate::tensor::shape::existing_dim("gather", dim, self.ndim())?;
        if idx.ndim() != self.ndim()
            || idx
                .shape()
                .iter()
                .zip(self.shape())
                .enumerate()
                .any(|(i, (a, b))| i != axis && a > b)
        {
            bail!(
                "gather: index shape {:?} does not fit input shape {:?} along dimension {dim}",
                idx.shape(),
                self.shape()
            );
        }
        let idx = self.checked_indices("gather", idx, axis)?;
        let st = self
            .storage()
            .gather(self.shape(), axis, &idx.storage(), idx.shape())?;
        let own = self.shape().to_vec();
        Ok(record(
            "gather",
            st,
            idx.shape().to_vec(),
            &[self],
            move |g| {
                Ok(vec![Some(
                    Tensor::zeros(&own, g.dtype(), g.device())?.scatter_add(
                        axis as i64,
                        &idx,
                        g,
                    )?,
                )])
            },
        ))
    }

    /// A copy with `src` added at `idx` along `dim` (`out[idx[i][j]][j] += src[i][j]` for dim 0).
    pub fn scatter_add(&self, dim: i64, idx: &Tensor, src: &Tensor) -> Result<Tensor> {
        same_device("scatter_add", &[self, idx, src])?;
        let axis = crate::tensor::shape::existing_dim("scatter_add", dim, self.ndim())?;
        if idx.shape() != src.shape() || idx.ndim() != self.ndim() {
            bail!(
                "scatter_add: index shape {:?} and source shape {:?} must match and have the rank of {:?}",
                idx.shape(),
                src.shape(),
                self.shape()
            );
        }
        if idx
            .shape()
            .iter()
            .zip(self.shape())
            .enumerate()
            .any(|(i, (a, b))| i != axis && a > b)
        {
            bail!(
                "scatter_add: index shape {:?} does not fit shape {:?}",
                idx.shape(),
                self.shape()
            );
        }
        let idx = self.checked_indices("scatter_add", idx, axis)?;
        let src_c = src.to_dtype(self.dtype())?;
        let st = self.storage().scatter_add(
            self.shape(),
            axis,
            &idx.storage(),
            idx.shape(),
            &src_c.storage(),
        )?;
        Ok(record(
            "scatter_add",
            st,
            self.shape().to_vec(),
            &[self, src],
            move |g| Ok(vec![Some(g.clone()), Some(g.gather(axis as i64, &idx)?)]),
        ))
    }

    /// A copy with the slices of `src` added at entries `idx` along `dim` (`index_add`).
    pub fn index_add(&self, dim: i64, idx: &Tensor, src: &Tensor) -> Result<Tensor> {
        same_device("index_add", &[self, idx, src])?;
        let axis = crate::tensor::shape::existing_dim("index_add", dim, self.ndim())?;
        if idx.ndim() != 1 {
            bail!(
                "index_add: indices must be 1-D, got shape {:?}",
                idx.shape()
            );
        }
        let mut want = self.shape().to_vec();
        want[axis] = idx.numel();
        if src.shape() != want.as_slice() {
            bail!(
                "index_add: source shape {:?} should be {want:?} for {} indices into shape {:?}",
                src.shape(),
                idx.numel(),
                self.shape()
            );
        }
        let idx = self.checked_indices("index_add", idx, axis)?;
        let src_c = src.to_dtype(self.dtype())?;
        let st = self
            .storage()
            .index_add(self.shape(), axis, &idx.storage(), &src_c.storage())?;
        Ok(record(
            "index_add",
            st,
            self.shape().to_vec(),
            &[self, src],
            move |g| {
                Ok(vec![
                    Some(g.clone()),
                    Some(g.index_select(axis as i64, &idx)?),
                ])
            },
        ))
    }

    /// Elements (or leading-dimension rows) where a bool mask is true, flattened along the
    /// masked dimensions (`x[mask]`).
    pub fn masked_select(&self, mask: &Tensor) -> Result<Tensor> {
        if mask.dtype() != DType::Bool {
            bail!("masked_select: mask must be bool, got {}", mask.dtype());
        }
        let k = mask.ndim();
        if k > self.ndim() || mask.shape() != &self.shape()[..k] {
            bail!(
                "masked_select: mask shape {:?} does not match the leading dimensions of {:?}",
                mask.shape(),
                self.shape()
            );
        }
        let mut flat = vec![mask.numel()];
        flat.extend_from_slice(&self.shape()[k..]);
        let idx = mask.nonzero_flat()?;
        self.reshape_usize(&flat)?.index_select(0, &idx)
    }

    /// Flat positions of the true (non-zero) elements, as a 1-D i64 tensor.
    pub fn nonzero_flat(&self) -> Result<Tensor> {
        let st = self.storage().nonzero()?;
        let n = st.len();
        Ok(Tensor::from_storage(st, vec![n]))
    }

    /// Reads `x[arg]` along the first dimension.
    pub fn index(&self, arg: &IndexArg) -> Result<Tensor> {
        if self.ndim() == 0 {
            bail!("index: cannot index a 0-d tensor (use .item())");
        }
        match arg {
            IndexArg::Int(i) => {
                let n = self.shape()[0] as i64;
                if *i >= n || *i < -n {
                    bail!(
                        "index: index {i} is out of range for dimension 0 of size {n} (shape {:?})",
                        self.shape()
                    );
                }
                let i = if *i < 0 { i + n } else { *i };
                self.narrow(0, i, 1)?.squeeze_dim(0)
            }
            IndexArg::Range { start, end, step } => self.slice(0, *start, *end, *step),
            IndexArg::Tensor(t) if t.dtype() == DType::Bool => self.masked_select(t),
            IndexArg::Tensor(t) => {
                let flat = self.index_select(0, &t.flatten_all()?)?;
                let mut shape = t.shape().to_vec();
                shape.extend_from_slice(&self.shape()[1..]);
                flat.reshape_usize(&shape)
            }
        }
    }

    /// Writes `value` (broadcast to the selected rows) into `x[arg]` in place (`x[i] = row`).
    /// Not recorded by autograd: use it on tensors that do not require gradients.
    pub fn index_put_(&self, arg: &IndexArg, value: &Tensor) -> Result<()> {
        if self.requires_grad() && crate::tensor::is_grad_enabled() {
            bail!(
                "index_put: in-place assignment into a tensor that requires grad (wrap it in no_grad or detach it)"
            );
        }
        if self.ndim() == 0 {
            bail!("index_put: cannot index a 0-d tensor");
        }
        let n = self.shape()[0] as i64;
        let device = self.device();
        let rows: Tensor = match arg {
            IndexArg::Int(i) => {
                if *i >= n || *i < -n {
                    bail!(
                        "index_put: index {i} is out of range for dimension 0 of size {n} (shape {:?})",
                        self.shape()
                    );
                }
                Tensor::from_i64(vec![if *i < 0 { i + n } else { *i }], &[1], device)?
            }
            IndexArg::Range { start, end, step } => {
                if *step <= 0 {
                    bail!("index_put: step must be positive");
                }
                let clip = |v: i64| (if v < 0 { v + n } else { v }).clamp(0, n);
                let picked: Vec<i64> = (clip(*start)..clip(*end)).step_by(*step as usize).collect();
                let len = picked.len();
                Tensor::from_i64(picked, &[len], device)?
            }
            IndexArg::Tensor(t) if t.dtype() == DType::Bool => {
                if t.shape() != [self.shape()[0]] {
                    bail!(
                        "index_put: row mask shape {:?} does not match {} rows",
                        t.shape(),
                        n
                    );
                }
                t.nonzero_flat()?
            }
            IndexArg::Tensor(t) => self.checked_indices("index_put", &t.flatten_all()?, 0)?,
        };
        let mut target = self.shape().to_vec();
        target[0] = rows.numel();
        let squeeze_int = matches!(arg, IndexArg::Int(_));
        // A 0-d CPU value joins a device tensor (PyTorch's `x[i] = torch.tensor(7.0)`).
        let value = if value.ndim() == 0 && value.device() != device {
            &value.to_device(device)?
        } else {
            value
        };
        let value = if squeeze_int && value.ndim() == self.ndim() - 1 {
            value.unsqueeze(0)?
        } else {
            value.clone()
        };
        let src = value
            .to_dtype(self.dtype())?
            .expand_to(&target)
            .map_err(|_| {
                anyhow::anyhow!(
                    "index_put: value of shape {:?} cannot be written into rows of shape {:?}",
                    value.shape(),
                    &self.shape()[1..]
                )
            })?;
        // copies, in case the value or the indices share this tensor's storage
        let src_storage = src.storage().try_clone()?;
        let rows_storage = rows.storage().try_clone()?;
        self.storage_mut()
            .index_copy_(self.shape(), 0, &rows_storage, &src_storage)
    }

    /// Splits the rows of `data` into `n` tensors by partition id (TensorFlow's `dynamic_partition`).
    pub fn dynamic_partition(data: &Tensor, partitions: &Tensor, n: i64) -> Result<Vec<Tensor>> {
        let ids = Self::checked_segments("dynamic_partition", data, partitions, n)?;
        let rows = data.reshape_usize(&Self::segment_rows_shape(data, partitions))?;
        (0..n)
            .map(|p| {
                let mask = ids.eq(&Tensor::scalar_like(p as f64, DType::I64, data.device())?)?;
                rows.index_select(0, &mask.nonzero_flat()?)
            })
            .collect()
    }

    /// Sums the rows of `data` by segment id into `n` rows (TensorFlow's `unsorted_segment_sum`).
    pub fn unsorted_segment_sum(data: &Tensor, ids: &Tensor, n: i64) -> Result<Tensor> {
        let ids = Self::checked_segments("unsorted_segment_sum", data, ids, n)?;
        let rows_shape = Self::segment_rows_shape(data, &ids);
        let mut out = rows_shape.clone();
        out[0] = n as usize;
        let rows = data.reshape_usize(&rows_shape)?;
        Tensor::zeros(&out, data.dtype(), data.device())?.index_add(0, &ids, &rows)
    }

    fn segment_rows_shape(data: &Tensor, ids: &Tensor) -> Vec<usize> {
        let mut s = vec![ids.numel()];
        s.extend_from_slice(&data.shape()[ids.ndim()..]);
        s
    }

    /// Validates segment ids against the leading dimensions of `data` and `0..n`; returns them flat.
    fn checked_segments(op: &str, data: &Tensor, ids: &Tensor, n: i64) -> Result<Tensor> {
        if ids.dtype() != DType::I64 {
            bail!("{op}: ids must be i64, got {}", ids.dtype());
        }
        if ids.ndim() > data.ndim() || ids.shape() != &data.shape()[..ids.ndim()] {
            bail!(
                "{op}: ids of shape {:?} do not match the leading dimensions of data {:?}",
                ids.shape(),
                data.shape()
            );
        }
        if n < 0 {
            bail!("{op}: number of partitions must be non-negative, got {n}");
        }
        if let Some(bad) = ids.storage().first_outside(0, n)? {
            bail!("{op}: id {bad} is outside 0..{n}");
        }
        ids.flatten_all()
    }

    /// Counts of each value in a 1-D non-negative i64 tensor (at least `minlength` bins).
    pub fn bincount(&self, minlength: i64) -> Result<Tensor> {
        if self.dtype() != DType::I64 || self.ndim() != 1 {
            bail!(
                "bincount: expects a 1-D i64 tensor, got {} of shape {:?}",
                self.dtype(),
                self.shape()
            );
        }
        if let Some(bad) = self.storage().first_outside(0, i64::MAX)? {
            bail!("bincount: values must be non-negative, found {bad}");
        }
        let top = if self.numel() == 0 {
            0
        } else {
            self.max()?.item()? as i64 + 1
        };
        let n = top.max(minlength.max(0)) as usize;
        let ones = Tensor::ones(&[self.numel()], DType::I64, self.device())?;
        Tensor::zeros(&[n], DType::I64, self.device())?.scatter_add(0, self, &ones)
    }
}
