//! The Rhai surface: registers the `Tensor` type, operators and every script function.
//! Bindings call the `Tensor` API only; they never touch a backend.

#[macro_use]
pub mod registrar;
mod arith;
pub mod convert;
mod creation;
mod functional;
mod indexing;
mod info;
mod reduce;
mod shape;

pub use convert::{default_device, format_value, set_default_device};
pub use registrar::Docs;

use rhai::Engine;

/// Precedence of the `@` matrix-product operator (the same as `*`, as in Python).
const MATMUL_PRECEDENCE: u8 = 180;

/// Registers the whole tensor surface on `engine`, returning the docs of what it registered.
pub fn register_all(engine: &mut Engine) -> Docs {
    let mut docs = Docs::default();
    engine
        .register_custom_operator("@", MATMUL_PRECEDENCE)
        .expect("@ is a valid custom operator");
    let mut api = registrar::Api {
        engine,
        docs: &mut docs,
    };
    info::register(&mut api);
    creation::register(&mut api);
    arith::register(&mut api);
    reduce::register(&mut api);
    shape::register(&mut api);
    indexing::register(&mut api);
    functional::register(&mut api);
    docs
}
