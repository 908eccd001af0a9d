//! ember: an eager tensor runtime scripted in Rhai.
//!
//! Layers, bottom to top: [`backend`] (device storage and kernels), [`tensor`] (the handle,
//! dtypes, devices, autograd), [`ops`] (every op with its checks and gradient), [`script`]
//! (the Rhai surface) and [`runtime`] (the embedding API the `ember` binary is built on).
//!
//! ```
//! let mut rt = ember::Runtime::builder().seed(0).build().unwrap();
//! rt.eval("let w = randn([3, 2]); let y = ones([4, 3]) @ w;").unwrap();
//! let y = rt.get_tensor("y").unwrap();
//! assert_eq!(y.shape(), &[4, 2]);
//! ```

pub mod alloc;
pub mod backend;
pub mod data;
pub mod files;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod plot;
pub mod progress;
pub mod repl;
pub mod runtime;
pub mod script;
pub mod tensor;

pub use ops::{IndexArg, MinMax};
pub use runtime::{Runtime, RuntimeBuilder, ScriptError};
pub use tensor::{DType, Device, Tensor};
