//! The `data::` namespace (minimal for now: MNIST from IDX files).

use super::convert::{IntoRR, check_opts, default_device, opt};
use super::registrar::Api;
use rhai::{Dynamic, ImmutableString, Map};
use std::path::PathBuf;

pub fn register(api: &mut Api) {
    let mut m = rhai::Module::new();
    api.docs.add(
        "data::mnist",
        "data::mnist(#{split: \"train\"|\"test\", dir}) — #{images: [N, 1, 28, 28] f32 in [0, 1], labels: [N] i64} from the IDX files (gzipped or not), found in dir, EMBER_DATA/mnist, ../shared/data/mnist or ~/.cache/ember/mnist",
    );
    let load = |o: Map| {
        check_opts("data::mnist", &o, &["split", "dir"])?;
        let split =
            opt::<ImmutableString>("data::mnist", &o, "split")?.unwrap_or_else(|| "train".into());
        let dir =
            opt::<ImmutableString>("data::mnist", &o, "dir")?.map(|d| PathBuf::from(d.as_str()));
        let (x, y) = crate::data::idx::mnist(&split, dir.as_deref(), default_device()).rr()?;
        let mut out = Map::new();
        out.insert("images".into(), Dynamic::from(x));
        out.insert("labels".into(), Dynamic::from(y));
        Ok::<_, Box<rhai::EvalAltResult>>(out)
    };
    m.set_native_fn("mnist", load);
    m.set_native_fn("mnist", move || load(Map::new()));
    api.engine.register_static_module("data", m.into());
}
