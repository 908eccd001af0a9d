//! The Rhai surface: registers the `Tensor` type, operators and every script function.
//! Bindings call the `Tensor` API only; they never touch a backend.

#[macro_use]
pub mod registrar;
mod arith;
mod conv_api;
pub mod convert;
mod creation;
mod data_api;
mod data_corpus_api;
mod data_pipeline_api;
mod device_api;
pub mod env_access;
mod functional;
mod indexing;
mod info;
mod loss_api;
mod nn_api;
mod nn_conv_api;
mod optim_api;
mod optim_state_api;
mod plot_api;
mod progress_api;
mod recurrent_api;
mod reduce;
mod shape;
mod value_guards;
mod window_args;

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
    let before = api.docs.names();
    creation::register(&mut api);
    let created: Vec<String> = api.docs.names().difference(&before).cloned().collect();
    api.docs.mark_global(created);
    api.docs.mark_global([
        "cat",
        "stack",
        "where",
        "no_grad",
        "is_grad_enabled",
        "env",
        "assert",
        "cuda_available",
        "default_device",
        "fmt",
        "is_tensor",
        "dynamic_partition",
        "unsorted_segment_sum",
        "set_grad_enabled",
        "pad_sequences",
        "train_test_split",
        "progress",
        "masked_softmax",
        "set_default_device",
        "cuda_memory",
        "empty_cache",
    ]);
    device_api::register(&mut api);
    arith::register(&mut api);
    reduce::register(&mut api);
    shape::register(&mut api);
    indexing::register(&mut api);
    functional::register(&mut api);
    loss_api::register(&mut api);
    conv_api::register(&mut api);
    nn_api::register(&mut api);
    optim_api::register(&mut api);
    data_api::register(&mut api);
    plot_api::register(&mut api);
    progress_api::register(&mut api);
    value_guards::register(&mut api);
    docs
}
