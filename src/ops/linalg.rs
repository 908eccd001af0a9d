//! Matrix products with `torch.matmul` semantics, and `outer`.

use super::{record, same_device};
use crate::backend::Storage;
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::{DType, Tensor};
use anyhow::{Result, bail};

impl Tensor {
    /// `op(A) @ op(B)` on 3-D batches, where `op` transposes the last two dimensions of an
    /// operand when its flag is set — read in place, never copied. The primitive every matrix
    /// product reduces to; its backward uses the same flags instead of transposing.
    fn bmm_t(&self, other: &Tensor, ta: bool, tb: bool) -> Result<Tensor> {
        let (sa, sb) = (self.shape(), other.shape());
        let b = sa[0];
        let (m, k) = if ta { (sa[2], sa[1]) } else { (sa[1], sa[2]) };
        let n = if tb { sb[1] } else { sb[2] };
        let st = Storage::matmul(&self.storage(), &other.storage(), b, m, k, n, ta, tb)?;
        let (a, bt) = (self.clone(), other.clone());
        let (need_a, need_b) = (self.requires_grad(), other.requires_grad());
        Ok(record(
            "matmul",
            st,
            vec![b, m, n],
            &[self, other],
            move |g| {
                // Only the products whose gradient is wanted (an input batch needs none).
                let ga = match (need_a, ta) {
                    (false, _) => None,
                    (true, true) => Some(bt.bmm_t(g, tb, true)?),
                    (true, false) => Some(g.bmm_t(&bt, false, !tb)?),
                };
                let gb = match (need_b, tb) {
                    (false, _) => None,
                    (true, true) => Some(g.bmm_t(&a, true, ta)?),
                    (true, false) => Some(a.bmm_t(g, !ta, false)?),
                };
                Ok(vec![ga, gb])
            },
        ))
    }

    /// `self @ weight.T` for a weight `[out, in]` (a linear layer), without copying the weight.
    pub fn matmul_nt(&self, weight: &Tensor) -> Result<Tensor> {
        let ws = weight.shape();
        if ws.len() != 2 || self.ndim() == 0 || self.shape()[self.ndim() - 1] != ws[1] {
            bail!(
                "linear: input {:?} does not fit weight {:?} (needs [..., {}])",
                self.shape(),
                ws,
                ws.get(1).copied().unwrap_or(0)
            );
        }
        if self.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            bail!(
                "linear: expects f32 operands, got {} and {}",
                self.dtype(),
                weight.dtype()
            );
        }
        let lead = &self.shape()[..self.ndim() - 1];
        let rows: usize = lead.iter().product();
        let x3 = self.reshape_usize(&[1, rows, ws[1]])?;
        let y = x3.bmm_t(&weight.reshape_usize(&[1, ws[0], ws[1]])?, false, true)?;
        let mut out = lead.to_vec();
        out.push(ws[0]);
        y.reshape_usize(&out)
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
        a3.bmm_t(&b3, false, false)?.reshape_usize(&out)
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
