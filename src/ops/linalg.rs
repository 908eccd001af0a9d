//! Matrix products with `torch.matmul` semantics, and `outer`.

use super::{record, same_device};
use crate::backend::Storage;
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

impl Tensor {
    /// `[b, m, k] @ [b, k, n]` on contiguous batches; the primitive the rest reduces to.
    fn bmm(&self, other: &Tensor) -> Result<Tensor> {
        let (b, m, k) = (self.shape()[0], self.shape()[1], self.shape()[2]);
        let n = other.shape()[2];
        let st = Storage::matmul(&self.storage(), &other.storage(), b, m, k, n)?;
        let (a, bt) = (self.clone(), other.clone());
        Ok(record(
            "matmul",
            st,
            vec![b, m, n],
            &[self, other],
            move |g| {
                let ga = g.bmm(&bt.transpose(1, 2)?)?;
                let gb = a.transpose(1, 2)?.bmm(g)?;
                Ok(vec![Some(ga), Some(gb)])
            },
        ))
    }

    /// Matrix product with PyTorch's rules: 1-D·1-D is a dot product, 1-D operands gain and
    /// then lose a dimension, and leading (batch) dimensions broadcast.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        same_device("matmul", &[self, other])?;
        let (sa, sb) = (self.shape().to_vec(), other.shape().to_vec());
        if sa.is_empty() || sb.is_empty() {
            bail!("matmul: both operands need at least 1 dimension, got shapes {sa:?} and {sb:?}");
        }
        if self.dtype() != DType::F32 || other.dtype() != DType::F32 {
            bail!(
                "matmul: expects f32 operands, got {} {sa:?} and {} {sb:?} (convert with .float())",
                self.dtype(),
                other.dtype()
            );
        }
        let a = if sa.len() == 1 {
            self.unsqueeze(0)?
        } else {
            self.clone()
        };
        let b = if sb.len() == 1 {
            other.unsqueeze(1)?
        } else {
            other.clone()
        };
        let (ra, rb) = (a.ndim(), b.ndim());
        let (m, k) = (a.shape()[ra - 2], a.shape()[ra - 1]);
        let (k2, n) = (b.shape()[rb - 2], b.shape()[rb - 1]);
        if k != k2 {
            bail!(
                "matmul: shapes {sa:?} and {sb:?} are not aligned (inner dimensions {k} and {k2} differ)"
            );
        }
        let batch = broadcast_shapes("matmul", &a.shape()[..ra - 2], &b.shape()[..rb - 2])
            .map_err(|_| {
                anyhow::anyhow!(
                    "matmul: batch dimensions of shapes {sa:?} and {sb:?} cannot be broadcast"
                )
            })?;
        let nb: usize = batch.iter().product();
        let mut full_a = batch.clone();
        full_a.extend([m, k]);
        let mut full_b = batch.clone();
        full_b.extend([k, n]);
        let a3 = a.expand_to(&full_a)?.reshape_usize(&[nb, m, k])?;
        let b3 = b.expand_to(&full_b)?.reshape_usize(&[nb, k, n])?;
        let mut out = batch;
        if sa.len() > 1 {
            out.push(m);
        }
        if sb.len() > 1 {
            out.push(n);
        }
        a3.bmm(&b3)?.reshape_usize(&out)
    }

    /// Outer product of two 1-D tensors.
    pub fn outer(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() != 1 || other.ndim() != 1 {
            bail!(
                "outer: expects two 1-D tensors, got shapes {:?} and {:?}",
                self.shape(),
                other.shape()
            );
        }
        self.unsqueeze(1)?.mul(&other.unsqueeze(0)?)
    }
}
