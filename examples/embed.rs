//! Embedding ember in a Rust program: build a runtime, hand it tensors, register a host
//! function, run script code, and read the results back as ndarray arrays.
//!
//!     cargo run --example embed

use ember::{Device, Runtime, Tensor};

fn main() -> anyhow::Result<()> {
    let mut rt = Runtime::builder().seed(0).device(Device::Cpu).build()?;

    // A tensor from the host program, visible to scripts as `data`.
    let data =
        ndarray::Array2::from_shape_fn((4, 3), |(i, j)| ((i * 3 + j) as f32).sin()).into_dyn();
    rt.set_tensor("data", Tensor::from_ndarray(&data)?);

    // A host function scripts can call.
    rt.engine_mut()
        .register_fn("standardise", |t: Tensor| -> Tensor {
            let mean = t.mean_dim(0, true).expect("2-D input");
            let std = t.std(Some(0), false, true).expect("2-D input");
            t.sub(&mean)
                .and_then(|c| c.div(&std))
                .expect("shapes broadcast")
        });

    // Script code runs in a persistent session: variables and functions stay defined.
    let _ = rt.eval("fn gram(x) { x.t() @ x }")?;
    let _ = rt.eval("let z = standardise(data); let g = gram(z);")?;

    let g = rt.get_tensor("g").expect("g was defined");
    println!("gram matrix of the standardised data:\n{g}");
    let back: ndarray::ArrayD<f32> = g.to_ndarray()?;
    assert_eq!(back.shape(), &[3, 3]);

    // Errors come back as values with the script position.
    if let Err(e) = rt.eval("let bad = data @ data;") {
        println!("as expected, an error:\n{e}");
    }
    Ok(())
}
