//! `data::` pipeline and file formats: loaders (`for batch in loader`), `mix`, `balanced`,
//! `train_test_split`, `augment`, `csv`, `npy`/`npz`, `idx`, `movielens`, `imdb`.

use super::convert::{IntoRR, RR, check_opts, default_device, fail, num, opt, opt_num};
use super::data_corpus_api::resolve;
use super::registrar::Api;
use crate::data::augment::Augment;
use crate::data::loader::{Loader, LoaderHandle, Mix, train_test_split};
use crate::data::table::{Column, ColumnType, CsvOptions, read_csv};
use crate::data::{imdb, movielens, npy};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, ImmutableString, Map};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// A batch as a Rhai array of tensors.
pub(super) fn batch_array(b: Vec<Tensor>) -> Array {
    b.into_iter().map(Dynamic::from).collect()
}

impl IntoIterator for LoaderHandle {
    type Item = Array;
    type IntoIter = std::iter::Map<crate::data::loader::Epoch, fn(Vec<Tensor>) -> Array>;
    fn into_iter(self) -> Self::IntoIter {
        self.epoch().map(batch_array as fn(Vec<Tensor>) -> Array)
    }
}

impl IntoIterator for Mix {
    type Item = Array;
    type IntoIter = std::iter::Map<crate::data::loader::MixEpoch, fn(Vec<Tensor>) -> Array>;
    fn into_iter(self) -> Self::IntoIter {
        self.epoch().map(batch_array as fn(Vec<Tensor>) -> Array)
    }
}

/// Tensors from `[x, y, ...]`, `#{x, y}` or one tensor.
fn tensors_arg(op: &str, v: &Dynamic) -> RR<Vec<Tensor>> {
    if let Some(t) = v.clone().try_cast::<Tensor>() {
        return Ok(vec![t]);
    }
    if let Some(m) = v.clone().try_cast::<Map>() {
        let xy: Vec<Dynamic> = ["x", "y"]
            .iter()
            .filter_map(|k| m.get(*k).cloned())
            .collect();
        return tensors_arg(op, &Dynamic::from(xy));
    }
    let Some(a) = v.clone().try_cast::<Array>() else {
        return fail(format!(
            "{op}: expects a tensor, an array of tensors or #{{x, y}}"
        ));
    };
    a.into_iter()
        .map(|t| {
            t.try_cast::<Tensor>()
                .ok_or_else(|| fail::<()>(format!("{op}: expects tensors")).unwrap_err())
        })
        .collect()
}

fn seed_opt(op: &str, o: &Map) -> RR<Option<u64>> {
    Ok(opt::<i64>(op, o, "seed")?.map(|s| s as u64))
}

fn batch_size(op: &str, o: &Map, default: i64) -> RR<usize> {
    let b = opt::<i64>(op, o, "batch_size")?.unwrap_or(default);
    if b <= 0 {
        return fail(format!("{op}: batch_size must be positive, got {b}"));
    }
    Ok(b as usize)
}

fn loader(t: Dynamic, o: Map) -> RR<LoaderHandle> {
    let op = "data::loader";
    check_opts(op, &o, &["batch_size", "shuffle", "drop_last", "seed"])?;
    let l = Loader::new(
        tensors_arg(op, &t)?,
        batch_size(op, &o, 64)?,
        opt::<bool>(op, &o, "shuffle")?.unwrap_or(true),
        opt::<bool>(op, &o, "drop_last")?.unwrap_or(false),
        seed_opt(op, &o)?,
    )
    .rr()?;
    Ok(LoaderHandle(Rc::new(RefCell::new(l))))
}

fn balanced(t: Dynamic, positive: Tensor, o: Map) -> RR<LoaderHandle> {
    let op = "data::balanced";
    check_opts(op, &o, &["batch_size", "fraction", "seed"])?;
    let l = Loader::balanced(
        tensors_arg(op, &t)?,
        &positive,
        batch_size(op, &o, 64)?,
        opt_num(op, &o, "fraction")?.unwrap_or(0.5),
        seed_opt(op, &o)?,
    )
    .rr()?;
    Ok(LoaderHandle(Rc::new(RefCell::new(l))))
}

fn split(t: Dynamic, o: Map) -> RR<Map> {
    let op = "train_test_split";
    check_opts(op, &o, &["test_size", "shuffle", "seed"])?;
    let ts = tensors_arg(op, &t)?;
    let n = ts
        .first()
        .map(|t| t.shape().first().copied().unwrap_or(0))
        .unwrap_or(0);
    let test = match o.get("test_size") {
        None => (n as f64 * 0.25).round() as usize,
        Some(v) if v.is_int() => v.as_int().unwrap_or(0).max(0) as usize,
        Some(v) => {
            let f = num(op, v)?;
            if !(0.0..=1.0).contains(&f) {
                return fail(format!(
                    "{op}: a fractional test_size must be in [0, 1], got {f}"
                ));
            }
            (n as f64 * f).round() as usize
        }
    };
    let (tr, te) = train_test_split(
        &ts,
        test,
        opt::<bool>(op, &o, "shuffle")?.unwrap_or(true),
        seed_opt(op, &o)?,
    )
    .rr()?;
    let mut out = Map::new();
    out.insert("train".into(), Dynamic::from(batch_array(tr)));
    out.insert("test".into(), Dynamic::from(batch_array(te)));
    Ok(out)
}

fn floats(op: &str, v: &Dynamic) -> RR<Vec<f32>> {
    match v.clone().try_cast::<Array>() {
        Some(a) => a.iter().map(|x| num(op, x).map(|f| f as f32)).collect(),
        None => Ok(vec![num(op, v)? as f32]),
    }
}

fn augment(x: Tensor, o: Map) -> RR<Tensor> {
    let op = "data::augment";
    check_opts(
        op,
        &o,
        &["flip", "vflip", "shift", "crop", "rotate", "normalize"],
    )?;
    let normalize = match o.get("normalize") {
        None => None,
        Some(v) => {
            let a = v
                .clone()
                .try_cast::<Array>()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| {
                    fail::<()>(format!(
                        "{op}: normalize takes [mean, std] (numbers or per-channel arrays)"
                    ))
                    .unwrap_err()
                })?;
            Some((floats(op, &a[0])?, floats(op, &a[1])?))
        }
    };
    Augment {
        flip: opt::<bool>(op, &o, "flip")?.unwrap_or(false),
        vflip: opt::<bool>(op, &o, "vflip")?.unwrap_or(false),
        shift: opt_num(op, &o, "shift")?.unwrap_or(0.0),
        crop: opt::<i64>(op, &o, "crop")?.unwrap_or(0).max(0) as usize,
        rotate: opt_num(op, &o, "rotate")?.unwrap_or(0.0),
        normalize,
    }
    .apply(&x)
    .rr()
}

fn column_value(c: Column, n: usize) -> RR<Dynamic> {
    Ok(match c {
        Column::F32(v) => Dynamic::from(Tensor::from_f32(v, &[n], default_device()).rr()?),
        Column::I64(v) => Dynamic::from(Tensor::from_i64(v, &[n], default_device()).rr()?),
        Column::Text(v) => Dynamic::from(v.into_iter().map(Dynamic::from).collect::<Array>()),
    })
}

fn csv(path: ImmutableString, o: Map) -> RR<Map> {
    let op = "data::csv";
    check_opts(op, &o, &["header", "columns", "dtypes", "delimiter"])?;
    let mut opts = CsvOptions {
        header: opt::<bool>(op, &o, "header")?.unwrap_or(true),
        ..Default::default()
    };
    if let Some(d) = opt::<ImmutableString>(op, &o, "delimiter")? {
        let b = d.as_bytes();
        if b.len() != 1 {
            return fail(format!("{op}: delimiter must be one byte, got {d:?}"));
        }
        opts.delimiter = b[0];
    }
    if let Some(cols) = opt::<Array>(op, &o, "columns")? {
        opts.columns = Some(
            cols.into_iter()
                .map(|c| {
                    c.into_string().map_err(|t| {
                        fail::<()>(format!("{op}: column names are strings, got {t}")).unwrap_err()
                    })
                })
                .collect::<RR<_>>()?,
        );
    }
    if let Some(types) = opt::<Map>(op, &o, "dtypes")? {
        for (k, v) in types {
            let s = v.into_string().map_err(|t| {
                fail::<()>(format!("{op}: dtypes values are strings, got {t}")).unwrap_err()
            })?;
            opts.types
                .insert(k.to_string(), ColumnType::parse(&s).rr()?);
        }
    }
    let cols = read_csv(Path::new(path.as_str()), &opts).rr()?;
    let mut out = Map::new();
    for (name, c) in cols {
        let n = match &c {
            Column::F32(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Text(v) => v.len(),
        };
        out.insert(name.into(), column_value(c, n)?);
    }
    Ok(out)
}

fn movielens_load(arg: ImmutableString) -> RR<Map> {
    let dir = if Path::new(arg.as_str()).is_dir() {
        Path::new(arg.as_str()).to_path_buf()
    } else {
        resolve(&arg, "movielens", "ml-latest-small/ratings.csv")?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let m = movielens::read(&dir).rr()?;
    let n = m.ratings.len();
    let d = default_device();
    let mut out = Map::new();
    out.insert("n_users".into(), Dynamic::from(m.user_ids.len() as i64));
    out.insert("n_movies".into(), Dynamic::from(m.movie_ids.len() as i64));
    out.insert(
        "users".into(),
        Dynamic::from(Tensor::from_i64(m.users, &[n], d).rr()?),
    );
    out.insert(
        "movies".into(),
        Dynamic::from(Tensor::from_i64(m.movies, &[n], d).rr()?),
    );
    out.insert(
        "ratings".into(),
        Dynamic::from(Tensor::from_f32(m.ratings, &[n], d).rr()?),
    );
    let nu = m.user_ids.len();
    let nm = m.movie_ids.len();
    out.insert(
        "user_ids".into(),
        Dynamic::from(Tensor::from_i64(m.user_ids, &[nu], d).rr()?),
    );
    out.insert(
        "movie_ids".into(),
        Dynamic::from(Tensor::from_i64(m.movie_ids, &[nm], d).rr()?),
    );
    out.insert(
        "titles".into(),
        Dynamic::from(m.titles.into_iter().map(Dynamic::from).collect::<Array>()),
    );
    Ok(out)
}

fn imdb_load(dir: ImmutableString) -> RR<Map> {
    let mut out = Map::new();
    for split in ["train", "test"] {
        let (texts, labels) = imdb::read_split(Path::new(dir.as_str()), split).rr()?;
        let n = labels.len();
        let mut s = Map::new();
        s.insert(
            "texts".into(),
            Dynamic::from(texts.into_iter().map(Dynamic::from).collect::<Array>()),
        );
        s.insert(
            "labels".into(),
            Dynamic::from(Tensor::from_i64(labels, &[n], default_device()).rr()?),
        );
        out.insert(split.into(), Dynamic::from(s));
    }
    Ok(out)
}

pub fn register(api: &mut Api, m: &mut rhai::Module) {
    api.engine.register_type_with_name::<LoaderHandle>("Loader");
    api.engine.register_iterator::<LoaderHandle>();
    api.engine.register_type_with_name::<Mix>("Mix");
    api.engine.register_iterator::<Mix>();
    api.docs.add(
        "data::loader",
        "data::loader([x, y], #{batch_size (64), shuffle (true), drop_last (false), seed}) — `for batch in loader` gives [xb, yb] for one epoch (reshuffled each time); loader.len() batches",
    );
    m.set_native_fn("loader", loader);
    m.set_native_fn("loader", |t: Dynamic| loader(t, Map::new()));
    api.docs.add(
        "data::mix",
        "data::mix([loaders]) — one batch from every loader per step, concatenated (lesson 6's MixIterator); as many steps as the first loader, the others start over when they run out",
    );
    m.set_native_fn("mix", |a: Array| -> RR<Mix> {
        let ls = a
            .into_iter()
            .map(|l| {
                l.try_cast::<LoaderHandle>()
                    .ok_or_else(|| fail::<()>("data::mix: expects loaders").unwrap_err())
            })
            .collect::<RR<_>>()?;
        Mix::new(ls).rr()
    });
    api.docs.add(
        "data::balanced",
        "data::balanced([x, y], positive_mask, #{batch_size, fraction (0.5), seed}) — a loader whose batches hold `fraction` positive rows; set loader.fraction during training",
    );
    m.set_native_fn("balanced", balanced);
    m.set_native_fn("balanced", |t: Dynamic, p: Tensor| {
        balanced(t, p, Map::new())
    });
    api.docs.add(
        "data::augment",
        "data::augment(images, #{flip, vflip, shift (fraction < 1 or pixels), crop (padding), rotate (degrees), normalize: [mean, std]}) — a randomly transformed copy of a batch [N, C, H, W]",
    );
    m.set_native_fn("augment", augment);
    api.docs.add(
        "data::csv",
        "data::csv(path, #{header (true), columns, dtypes: #{col: \"f32\"|\"i64\"|\"str\"}, delimiter}) — a map from column name to a tensor (numbers) or an array (text)",
    );
    m.set_native_fn("csv", csv);
    m.set_native_fn("csv", |p: ImmutableString| csv(p, Map::new()));
    api.docs.add(
        "data::npy",
        "data::npy(path) — a NumPy .npy array as a tensor (f32, f64, i64, i32, u8, bool)",
    );
    m.set_native_fn("npy", |p: ImmutableString| {
        npy::load_npy(Path::new(p.as_str()), default_device()).rr()
    });
    api.docs.add(
        "data::save_npy",
        "data::save_npy(path, tensor) — writes a .npy file NumPy reads (atomically)",
    );
    m.set_native_fn("save_npy", |p: ImmutableString, t: Tensor| {
        npy::save_npy(Path::new(p.as_str()), &t).rr()
    });
    api.docs.add(
        "data::npz",
        "data::npz(path) — the arrays of a NumPy .npz archive, by name",
    );
    m.set_native_fn("npz", |p: ImmutableString| -> RR<Map> {
        Ok(npy::load_npz(Path::new(p.as_str()), default_device())
            .rr()?
            .into_iter()
            .map(|(k, t)| (k.into(), Dynamic::from(t)))
            .collect())
    });
    api.docs.add(
        "data::save_npz",
        "data::save_npz(path, #{name: tensor}) — writes a .npz archive NumPy reads (atomically)",
    );
    m.set_native_fn("save_npz", |p: ImmutableString, map: Map| -> RR<()> {
        let mut ts = Vec::new();
        for (k, v) in map {
            let t = v.try_cast::<Tensor>().ok_or_else(|| {
                fail::<()>(format!("data::save_npz: {k} is not a tensor")).unwrap_err()
            })?;
            ts.push((k.to_string(), t));
        }
        npy::save_npz(Path::new(p.as_str()), &ts).rr()
    });
    api.docs.add(
        "data::idx",
        "data::idx(path) — an IDX file (gzipped or not) as an f32 tensor of its byte values",
    );
    m.set_native_fn("idx", |p: ImmutableString| -> RR<Tensor> {
        let (shape, bytes) = crate::data::idx::read_idx(Path::new(p.as_str())).rr()?;
        Tensor::from_f32(
            bytes.iter().map(|&b| b as f32).collect(),
            &shape,
            default_device(),
        )
        .rr()
    });
    api.docs.add(
        "data::movielens",
        "data::movielens() / data::movielens(dir) — ml-latest-small: #{users, movies (contiguous ids), ratings, n_users, n_movies, user_ids, movie_ids (original), titles (by contiguous id)}",
    );
    m.set_native_fn("movielens", movielens_load);
    m.set_native_fn("movielens", || movielens_load("movielens".into()));
    api.docs.add(
        "data::imdb",
        "data::imdb(dir) — the aclImdb layout: #{train: #{texts, labels}, test: #{texts, labels}}, labels 1 for pos",
    );
    m.set_native_fn("imdb", imdb_load);
    m.set_native_fn("train_test_split", split);
    m.set_native_fn("train_test_split", |t: Dynamic| split(t, Map::new()));
}

/// Methods of loaders and the global `train_test_split`.
pub fn register_methods(api: &mut Api) {
    reg!(
        api,
        "len",
        "loader.len() — batches per epoch",
        |l: &mut LoaderHandle| l.0.borrow().len() as i64
    );
    reg!(api, "len", "", |l: &mut Mix| l.len() as i64);
    get!(
        api,
        "rows",
        "loader.rows — rows the loader draws from",
        |l: &mut LoaderHandle| l.0.borrow().rows() as i64
    );
    get!(
        api,
        "batch_size",
        "loader.batch_size — rows per batch",
        |l: &mut LoaderHandle| l.0.borrow().batch_size as i64
    );
    get!(
        api,
        "fraction",
        "loader.fraction — share of positive rows per batch (data::balanced); settable",
        |l: &mut LoaderHandle| -> RR<f64> {
            l.0.borrow().fraction().ok_or_else(|| {
                fail::<()>("fraction: only loaders from data::balanced have one").unwrap_err()
            })
        }
    );
    api.engine
        .register_set("fraction", |l: &mut LoaderHandle, f: Dynamic| -> RR<()> {
            l.0.borrow_mut().set_fraction(num("fraction", &f)?).rr()
        });
    reg!(api, "to_string", "", |_: &mut LoaderHandle| "Loader"
        .to_string());
    reg!(
        api,
        "train_test_split",
        "train_test_split([x, y], #{test_size (0.25; a fraction or a count), shuffle (true), seed}) — #{train: [x, y], test: [x, y]}",
        |t: Dynamic, o: Map| split(t, o)
    );
    reg!(api, "train_test_split", "", |t: Dynamic| split(
        t,
        Map::new()
    ));
}
