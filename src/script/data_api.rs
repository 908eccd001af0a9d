//! The `data::` namespace (minimal for now: MNIST from IDX files).

use super::convert::{IntoRR, RR, check_opts, default_device, opt, opt_num};
use super::registrar::Api;
use rhai::{Dynamic, ImmutableString, Map};
use std::path::PathBuf;

pub fn register(api: &mut Api) {
    let mut m = rhai::Module::new();
    api.docs.add(
        "data::mnist",
        "data::mnist(#{split: \"train\"|\"test\", dir}) — #{images: [N, 1, 28, 28] f32 in [0, 1], labels: [N] i64} from the IDX files (gzipped or not), found in dir, else EMBER_DATA/mnist, ~/.local/share/ember/mnist ($XDG_DATA_HOME/ember/mnist) or ./data/mnist",
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
    synthetic(api, &mut m);
    super::data_corpus_api::register(api, &mut m);
    super::data_pipeline_api::register(api, &mut m);
    api.engine.register_static_module("data", m.into());
    super::data_pipeline_api::register_methods(api);
}

fn synthetic(api: &mut Api, m: &mut rhai::Module) {
    api.docs.add(
        "data::blobs",
        "data::blobs(n_centres, n_per) / data::blobs(n_centres, n_per, #{spread (1), range (20), dims (2)}) — #{centres, points, labels}: Gaussian blobs around centres uniform in [-range, range]",
    );
    let blobs = |k: i64, n: i64, o: Map| -> RR<Map> {
        let op = "data::blobs";
        check_opts(op, &o, &["spread", "range", "dims", "seed"])?;
        if let Some(s) = opt::<i64>(op, &o, "seed")? {
            crate::tensor::random::manual_seed(s as u64);
        }
        let b = crate::data::synthetic::blobs(
            k.max(0) as usize,
            n.max(0) as usize,
            opt::<i64>(op, &o, "dims")?.unwrap_or(2).max(0) as usize,
            opt_num(op, &o, "spread")?.unwrap_or(1.0),
            opt_num(op, &o, "range")?.unwrap_or(20.0),
            default_device(),
        )
        .rr()?;
        let mut out = Map::new();
        out.insert("centres".into(), Dynamic::from(b.centres));
        out.insert("points".into(), Dynamic::from(b.points));
        out.insert("labels".into(), Dynamic::from(b.labels));
        Ok(out)
    };
    m.set_native_fn("blobs", blobs);
    m.set_native_fn("blobs", move |k: i64, n: i64| blobs(k, n, Map::new()));
    api.docs.add(
        "data::random_sequences",
        "data::random_sequences(len_from, len_to, token_lo, token_hi, batch) — #{tokens: [batch, longest] i64 padded with 0 after each sequence, lengths: [batch] i64}; lengths and tokens uniform in the inclusive ranges",
    );
    m.set_native_fn(
        "random_sequences",
        |a: i64, b: i64, lo: i64, hi: i64, n: i64| -> RR<Map> {
            let (t, l) = crate::data::synthetic::random_sequences(
                a.max(0) as usize,
                b.max(0) as usize,
                lo,
                hi,
                n.max(0) as usize,
                default_device(),
            )
            .rr()?;
            let mut out = Map::new();
            out.insert("tokens".into(), Dynamic::from(t));
            out.insert("lengths".into(), Dynamic::from(l));
            Ok(out)
        },
    );
}
