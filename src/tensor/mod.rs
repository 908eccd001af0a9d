//! The `Tensor` handle: shape, dtype, device, storage, and its place in the autograd graph.

pub mod autograd;
mod device;
mod dtype;
mod format;
pub mod random;
pub mod shape;
pub mod trace;

pub use autograd::{NoGradGuard, is_grad_enabled, no_grad, set_grad_enabled};
pub use device::Device;
pub use dtype::DType;

use crate::backend::Storage;
use anyhow::{Result, bail};
use autograd::Node;
use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;

/// An n-dimensional array on a device. Cloning is cheap: clones share storage and graph node,
/// as Python references to one `torch.Tensor` do.
#[derive(Clone)]
pub struct Tensor(Rc<Inner>);

struct Inner {
    shape: Vec<usize>,
    dtype: DType,
    device: Device,
    storage: Rc<RefCell<Storage>>,
    requires_grad: Cell<bool>,
    grad: RefCell<Option<Tensor>>,
    node: Option<Rc<Node>>,
}

impl Tensor {
    /// Wraps storage of a known shape (the caller guarantees the element count matches).
    pub(crate) fn from_storage(storage: Storage, shape: Vec<usize>) -> Tensor {
        debug_assert_eq!(storage.len(), shape::numel(&shape));
        Tensor(Rc::new(Inner {
            dtype: storage.dtype(),
            device: storage.device(),
            shape,
            storage: Rc::new(RefCell::new(storage)),
            requires_grad: Cell::new(false),
            grad: RefCell::new(None),
            node: None,
        }))
    }

    /// A result tensor with a backward node attached.
    pub(crate) fn with_node(storage: Storage, shape: Vec<usize>, node: Node) -> Tensor {
        Tensor(Rc::new(Inner {
            dtype: storage.dtype(),
            device: storage.device(),
            shape,
            storage: Rc::new(RefCell::new(storage)),
            requires_grad: Cell::new(true),
            grad: RefCell::new(None),
            node: Some(Rc::new(node)),
        }))
    }

    fn check_len(op: &str, len: usize, shape: &[usize]) -> Result<()> {
        let n = shape::checked_numel(op, shape)?;
        if len != n {
            bail!("{op}: {len} values do not fill shape {shape:?} ({n} elements)");
        }
        Ok(())
    }

    /// An f32 tensor from host values on `device`.
    pub fn from_f32(data: Vec<f32>, shape: &[usize], device: Device) -> Result<Tensor> {
        Self::check_len("from_f32", data.len(), shape)?;
        Ok(Tensor::from_storage(
            Storage::from_f32(data, device)?,
            shape.to_vec(),
        ))
    }

    /// An i64 tensor from host values on `device`.
    pub fn from_i64(data: Vec<i64>, shape: &[usize], device: Device) -> Result<Tensor> {
        Self::check_len("from_i64", data.len(), shape)?;
        Ok(Tensor::from_storage(
            Storage::from_i64(data, device)?,
            shape.to_vec(),
        ))
    }

    /// A bool tensor from host values on `device`.
    pub fn from_bool(data: Vec<bool>, shape: &[usize], device: Device) -> Result<Tensor> {
        Self::check_len("from_bool", data.len(), shape)?;
        Ok(Tensor::from_storage(
            Storage::from_bool(data, device)?,
            shape.to_vec(),
        ))
    }

    /// An f32 tensor on the CPU from an `ndarray` array (any layout).
    pub fn from_ndarray(a: &ndarray::ArrayD<f32>) -> Result<Tensor> {
        let data = crate::backend::memory::collect("from_ndarray", a.len(), a.iter().copied())?;
        Tensor::from_f32(data, a.shape(), Device::Cpu)
    }

    /// The values as an `ndarray` array (converted to f32).
    pub fn to_ndarray(&self) -> Result<ndarray::ArrayD<f32>> {
        Ok(ndarray::ArrayD::from_shape_vec(
            ndarray::IxDyn(self.shape()),
            self.to_f32_vec()?,
        )?)
    }

    /// A scalar (0-d) f32 tensor on the CPU.
    pub fn scalar(v: f32) -> Result<Tensor> {
        Tensor::scalar_like(v as f64, DType::F32, Device::Cpu)
    }

    /// A 0-d tensor holding `v` with the given dtype and device (for scalar operands).
    pub(crate) fn scalar_like(v: f64, dtype: DType, device: Device) -> Result<Tensor> {
        Ok(Tensor::from_storage(
            Storage::full("scalar", 1, v, dtype, device)?,
            vec![],
        ))
    }

    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    pub fn ndim(&self) -> usize {
        self.0.shape.len()
    }

    pub fn numel(&self) -> usize {
        shape::numel(&self.0.shape)
    }

    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    pub fn device(&self) -> Device {
        self.0.device
    }

    /// Size of dimension `dim` (negative counts from the end).
    pub fn size(&self, dim: i64) -> Result<usize> {
        Ok(self.0.shape[shape::existing_dim("size", dim, self.ndim())?])
    }

    pub(crate) fn storage(&self) -> Ref<'_, Storage> {
        self.0.storage.borrow()
    }

    /// Replaces the values in place (same shape and dtype). Used by optimisers and `x[i] = v`.
    pub(crate) fn storage_mut(&self) -> std::cell::RefMut<'_, Storage> {
        self.0.storage.borrow_mut()
    }

    /// The values on the host as f32 (converted from the stored dtype).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        self.storage().to_f32_vec()
    }

    /// The values on the host as i64 (floats truncate toward zero, saturating).
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        self.storage().to_i64_vec()
    }

    /// The values on the host as bools (non-zero is true).
    pub fn to_bool_vec(&self) -> Result<Vec<bool>> {
        self.storage().to_bool_vec()
    }

    /// Whether two tensors read and write the same storage (views of one another).
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Rc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    /// Identity of the underlying tensor (clones share it).
    pub(crate) fn id(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    pub fn same_tensor(&self, other: &Tensor) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    // ---- autograd state ----

    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.get()
    }

    /// Marks a leaf tensor as a parameter whose gradient is accumulated in `.grad()`.
    pub fn set_requires_grad(&self, on: bool) -> Result<()> {
        if self.0.node.is_some() && !on {
            bail!("requires_grad: cannot turn gradients off on a non-leaf tensor; use detach()");
        }
        if on && self.dtype() != DType::F32 {
            bail!(
                "requires_grad: only f32 tensors can require gradients, this one is {}",
                self.dtype()
            );
        }
        self.0.requires_grad.set(on);
        Ok(())
    }

    /// Builder form of [`Tensor::set_requires_grad`] for leaves.
    pub fn requires_grad_(self, on: bool) -> Result<Tensor> {
        self.set_requires_grad(on)?;
        Ok(self)
    }

    /// Whether this tensor was created by the user rather than by an op that tracks gradients.
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    pub(crate) fn node(&self) -> Option<&Rc<Node>> {
        self.0.node.as_ref()
    }

    /// The accumulated gradient of a leaf, if `backward` has reached it.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }

    pub(crate) fn set_grad(&self, g: Option<Tensor>) {
        *self.0.grad.borrow_mut() = g;
    }

    /// Replaces the accumulated gradient (gradient clipping).
    pub fn set_grad_value(&self, g: Tensor) {
        self.set_grad(Some(g));
    }

    /// Overwrites the values in place with `src` (same shape; converted to this dtype). Every
    /// reference and view sees the change; not recorded by autograd (optimiser updates).
    pub fn assign_(&self, src: &Tensor) -> Result<()> {
        if src.shape() != self.shape() {
            bail!(
                "assign: shape {:?} cannot be written into shape {:?}",
                src.shape(),
                self.shape()
            );
        }
        let st = src.storage().cast(self.dtype())?.to_device(self.device())?;
        *self.storage_mut() = st;
        Ok(())
    }

    /// One fused Adam/AdamW update of parameter `p` with gradient `g` and moments `m`, `v`, all
    /// in place (the optimiser's kernel; not recorded by autograd).
    pub fn adam_step_(
        p: &Tensor,
        g: &Tensor,
        m: &Tensor,
        v: &Tensor,
        step: &crate::backend::AdamStep,
    ) -> Result<()> {
        if p.shape() != g.shape() || p.shape() != m.shape() || p.shape() != v.shape() {
            bail!(
                "adam: parameter {:?}, gradient {:?} and moments {:?} {:?} differ in shape",
                p.shape(),
                g.shape(),
                m.shape(),
                v.shape()
            );
        }
        let aliased = |a: &Tensor, b: &Tensor| a.shares_storage(b);
        if aliased(p, m) || aliased(p, v) || aliased(m, v) {
            bail!("adam: the parameter and its two moment buffers must be distinct tensors");
        }
        // the gradient may be the parameter itself (a script can set it so): read a copy then
        let g_copy = if aliased(g, p) || aliased(g, m) || aliased(g, v) {
            Some(g.storage().try_clone()?)
        } else {
            None
        };
        let g_borrow;
        let g_st: &Storage = match &g_copy {
            Some(c) => c,
            None => {
                g_borrow = g.storage();
                &g_borrow
            }
        };
        let mut p_st = p.storage_mut();
        let mut m_st = m.storage_mut();
        let mut v_st = v.storage_mut();
        Storage::adam_step(&mut p_st, g_st, &mut m_st, &mut v_st, step)
    }

    /// Clears the accumulated gradient.
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// A tensor sharing this one's values (and storage), cut from the graph.
    pub fn detach(&self) -> Tensor {
        if self.is_leaf() && !self.requires_grad() {
            return self.clone();
        }
        self.share_storage(self.shape().to_vec(), None)
    }

    /// A new tensor over the same storage with another shape of the same element count
    /// (a view), optionally recording a graph node.
    pub(crate) fn share_storage(&self, shape: Vec<usize>, node: Option<Node>) -> Tensor {
        Tensor(Rc::new(Inner {
            dtype: self.0.dtype,
            device: self.0.device,
            shape,
            storage: Rc::clone(&self.0.storage),
            requires_grad: Cell::new(node.is_some()),
            grad: RefCell::new(None),
            node: node.map(Rc::new),
        }))
    }

    /// A copy that owns its own storage (gradients flow through it).
    pub fn clone_tensor(&self) -> Result<Tensor> {
        let st = self.storage().try_clone()?;
        Ok(crate::ops::record(
            "clone",
            st,
            self.shape().to_vec(),
            &[self],
            |g| Ok(vec![Some(g.clone())]),
        ))
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}
