//! The `plot::` namespace: figures written to PNG/SVG (and shown inline in a terminal).

use super::convert::{IntoRR, RR, check_opts, fail, num, opt};
use super::registrar::Api;
use crate::plot::{self, Figure, Format, Image, Kind, Markers, Series};
use crate::tensor::{DType, Tensor};
use rhai::{Array, Dynamic, ImmutableString, Map};

const COMMON: &[&str] = &[
    "title", "xlabel", "ylabel", "name", "format", "width", "height",
];

fn with_common(op: &str, o: &Map, extra: &[&str]) -> RR<()> {
    let known: Vec<&str> = COMMON.iter().chain(extra).copied().collect();
    check_opts(op, o, &known)
}

/// Applies the common options and writes the figure; returns the first path.
fn finish(op: &str, mut fig: Figure, o: &Map) -> RR<String> {
    let s = |k: &str| -> RR<String> {
        Ok(opt::<ImmutableString>(op, o, k)?
            .map(|v| v.to_string())
            .unwrap_or_default())
    };
    fig.title = s("title")?;
    fig.xlabel = s("xlabel")?;
    fig.ylabel = s("ylabel")?;
    if let Some(w) = opt::<i64>(op, o, "width")? {
        fig.width = w.clamp(100, 8000) as u32;
    }
    if let Some(h) = opt::<i64>(op, o, "height")? {
        fig.height = h.clamp(100, 8000) as u32;
    }
    let format = match opt::<ImmutableString>(op, o, "format")? {
        Some(f) => Format::parse(&f).rr()?,
        None => Format::Png,
    };
    let name = opt::<ImmutableString>(op, o, "name")?;
    let paths = plot::show(&fig, name.as_deref(), format).rr()?;
    Ok(paths
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_default())
}

/// Numbers from a tensor (flattened) or an array.
fn values(op: &str, v: &Dynamic) -> RR<Vec<f32>> {
    if let Some(t) = v.clone().try_cast::<Tensor>() {
        return t.to_f32_vec().rr();
    }
    match v.clone().try_cast::<Array>() {
        Some(a) => a.iter().map(|x| num(op, x).map(|f| f as f32)).collect(),
        None => fail(format!(
            "{op}: expects a tensor or an array of numbers, got {}",
            v.type_name()
        )),
    }
}

/// Rows `[N, 2+]` as (x, y) points.
fn points(op: &str, t: &Tensor) -> RR<Vec<(f32, f32)>> {
    if t.ndim() != 2 || t.shape()[1] < 2 {
        return fail(format!(
            "{op}: points must be [N, 2] (x, y per row), got shape {:?}",
            t.shape()
        ));
    }
    let d = t.shape()[1];
    let v = t.to_f32_vec().rr()?;
    Ok(v.chunks(d).map(|r| (r[0], r[1])).collect())
}

fn scatter(p: Tensor, o: Map) -> RR<String> {
    let op = "plot::scatter";
    with_common(op, &o, &["labels", "values", "centroids", "true_centroids"])?;
    let pts = points(op, &p)?;
    let classes = match opt::<Tensor>(op, &o, "labels")? {
        Some(t) if t.numel() != pts.len() => {
            return fail(format!(
                "{op}: {} labels for {} points",
                t.numel(),
                pts.len()
            ));
        }
        Some(t) => Some(t.to_i64_vec().rr()?),
        None => None,
    };
    let vals = match o.get("values") {
        Some(v) => {
            let v = values(op, v)?;
            if v.len() != pts.len() {
                return fail(format!("{op}: {} values for {} points", v.len(), pts.len()));
            }
            Some(v)
        }
        None => None,
    };
    let mut markers = Vec::new();
    for (key, name) in [
        ("true_centroids", "true centres"),
        ("centroids", "found centres"),
    ] {
        if let Some(t) = opt::<Tensor>(op, &o, key)? {
            markers.push(Markers {
                name: name.into(),
                points: points(op, &t)?,
            });
        }
    }
    let fig = Figure::new(Kind::Scatter {
        points: pts,
        classes,
        values: vals,
        markers,
    });
    finish(op, fig, &o)
}

fn line(y: Dynamic, o: Map) -> RR<String> {
    let op = "plot::line";
    with_common(op, &o, &["x"])?;
    let mut named: Vec<(String, Vec<f32>)> = Vec::new();
    if let Some(m) = y.clone().try_cast::<Map>() {
        for (k, v) in m {
            named.push((k.to_string(), values(op, &v)?));
        }
    } else if let Some(a) = y.clone().try_cast::<Array>().filter(|a| {
        a.first()
            .is_some_and(|f| f.is::<Tensor>() || f.is::<Array>())
    }) {
        for (i, v) in a.iter().enumerate() {
            named.push((format!("series {}", i + 1), values(op, v)?));
        }
    } else {
        named.push((String::new(), values(op, &y)?));
    }
    let x = o.get("x").map(|v| values(op, v)).transpose()?;
    let series = named
        .into_iter()
        .map(|(name, ys)| {
            let xs = match &x {
                Some(x) if x.len() == ys.len() => Ok(x.clone()),
                Some(x) => fail(format!(
                    "{op}: x has {} values but the series {name:?} has {}",
                    x.len(),
                    ys.len()
                )),
                None => Ok((0..ys.len()).map(|i| i as f32).collect()),
            }?;
            Ok(Series { name, xs, ys })
        })
        .collect::<RR<Vec<_>>>()?;
    finish(op, Figure::new(Kind::Lines { series }), &o)
}

fn hist(v: Dynamic, o: Map) -> RR<String> {
    let op = "plot::hist";
    with_common(op, &o, &["bins"])?;
    let bins = opt::<i64>(op, &o, "bins")?.unwrap_or(20);
    if !(1..=10_000).contains(&bins) {
        return fail(format!("{op}: bins must be in 1..=10000, got {bins}"));
    }
    let (labels, values) = plot::histogram(&values(op, &v)?, bins as usize);
    finish(op, Figure::new(Kind::Bars { labels, values }), &o)
}

fn bar(labels: Array, v: Dynamic, o: Map) -> RR<String> {
    let op = "plot::bar";
    with_common(op, &o, &[])?;
    let vals = values(op, &v)?;
    if labels.len() != vals.len() {
        return fail(format!(
            "{op}: {} labels for {} values",
            labels.len(),
            vals.len()
        ));
    }
    let labels = labels.iter().map(|l| l.to_string()).collect();
    finish(
        op,
        Figure::new(Kind::Bars {
            labels,
            values: vals,
        }),
        &o,
    )
}

/// Images from `[H, W]`, `[C, H, W]` or `[N, C, H, W]` (C = 1 or 3); values outside [0, 1]
/// are scaled by the tensor's range.
fn images(op: &str, t: &Tensor) -> RR<Vec<Image>> {
    let s = t.shape().to_vec();
    let (n, c, h, w) = match s.len() {
        2 => (1, 1, s[0], s[1]),
        3 if s[0] == 1 || s[0] == 3 => (1, s[0], s[1], s[2]),
        3 => (s[0], 1, s[1], s[2]),
        4 if s[1] == 1 || s[1] == 3 => (s[0], s[1], s[2], s[3]),
        _ => {
            return fail(format!(
                "{op}: images must be [H, W], [C, H, W], [N, H, W] or [N, C, H, W] with C 1 or 3, got {s:?}"
            ));
        }
    };
    let mut v = t.to_dtype(DType::F32).rr()?.to_f32_vec().rr()?;
    if let Some((lo, hi)) = plot::spec::finite_range(v.iter().copied())
        && (lo < 0.0 || hi > 1.0)
    {
        let span = (hi - lo).max(1e-12);
        v.iter_mut().for_each(|x| *x = (*x - lo) / span);
    }
    let per = c * h * w;
    Ok((0..n)
        .map(|i| Image {
            height: h,
            width: w,
            channels: c,
            data: v[i * per..(i + 1) * per].to_vec(),
        })
        .collect())
}

fn grid(t: Tensor, o: Map) -> RR<String> {
    let op = "plot::grid";
    with_common(op, &o, &["captions", "cols"])?;
    let imgs = images(op, &t)?;
    if imgs.len() > 400 {
        return fail(format!(
            "{op}: {} images is too many for one grid (400 at most)",
            imgs.len()
        ));
    }
    let captions: Vec<String> = opt::<Array>(op, &o, "captions")?
        .unwrap_or_default()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let cols = opt::<i64>(op, &o, "cols")?.unwrap_or(8).max(1) as usize;
    let mut fig = Figure::new(Kind::Images {
        images: imgs.clone(),
        captions,
        cols,
    });
    let rows = imgs.len().div_ceil(cols.min(imgs.len().max(1))) as u32;
    fig.width = (cols.min(imgs.len().max(1)) as u32 * 100).max(200);
    fig.height = rows * 118 + 30;
    finish(op, fig, &o)
}

fn history(h: Map, o: Map) -> RR<String> {
    let op = "plot::history";
    with_common(op, &o, &[])?;
    let mut series = Vec::new();
    for key in ["loss", "val_loss", "accuracy", "val_accuracy"] {
        if let Some(v) = h.get(key) {
            let ys = values(op, v)?;
            if !ys.is_empty() {
                series.push(Series {
                    name: key.into(),
                    xs: (1..=ys.len()).map(|i| i as f32).collect(),
                    ys,
                });
            }
        }
    }
    if series.is_empty() {
        return fail(format!(
            "{op}: the history has no loss or accuracy (expects what train::fit returns)"
        ));
    }
    let mut o = o;
    o.entry("xlabel".into()).or_insert_with(|| "epoch".into());
    finish(op, Figure::new(Kind::Lines { series }), &o)
}

pub fn register(api: &mut Api) {
    let mut m = rhai::Module::new();
    let common = "options title, xlabel, ylabel, name (file name; .png/.svg picks the format), format (\"png\", \"svg\", \"both\"), width, height; written to EMBER_PLOTS or the working folder (figure-NNN unless named), shown inline in a terminal; returns the path";
    macro_rules! pf {
        ($name:literal, $doc:expr, $f:expr) => {{
            api.docs
                .add(concat!("plot::", $name), &format!("{} — {}", $doc, common));
            m.set_native_fn($name, $f);
        }};
    }
    pf!(
        "scatter",
        "plot::scatter(points [N, 2], #{labels, values, centroids, true_centroids}) — points coloured by class or by value, centroids as large x marks",
        scatter
    );
    m.set_native_fn("scatter", |p: Tensor| scatter(p, Map::new()));
    pf!(
        "line",
        "plot::line(y) / plot::line(#{name: ys, ...}, #{x}) — one or several series with a legend (loss curves, learning-rate schedules)",
        line
    );
    m.set_native_fn("line", |y: Dynamic| line(y, Map::new()));
    pf!(
        "hist",
        "plot::hist(values, #{bins (20)}) — a histogram",
        hist
    );
    m.set_native_fn("hist", |v: Dynamic| hist(v, Map::new()));
    pf!("bar", "plot::bar(labels, values) — a bar chart", bar);
    m.set_native_fn("bar", |l: Array, v: Dynamic| bar(l, v, Map::new()));
    pf!(
        "imshow",
        "plot::imshow(image [H, W] or [C, H, W]) — one image (grayscale or RGB)",
        imshow
    );
    m.set_native_fn("imshow", |t: Tensor| imshow(t, Map::new()));
    pf!(
        "grid",
        "plot::grid(images [N, 1, H, W], #{captions, cols (8)}) — images in a grid with a caption under each (digits with labels and predictions)",
        grid
    );
    m.set_native_fn("grid", |t: Tensor| grid(t, Map::new()));
    pf!(
        "history",
        "plot::history(h) — loss (and accuracy) per epoch from a train::fit history, training and validation",
        history
    );
    m.set_native_fn("history", |h: Map| history(h, Map::new()));
    api.engine.register_static_module("plot", m.into());
}

fn imshow(t: Tensor, o: Map) -> RR<String> {
    let op = "plot::imshow";
    with_common(op, &o, &[])?;
    let imgs = images(op, &t)?;
    if imgs.len() != 1 {
        return fail(format!(
            "{op}: one image at a time (use plot::grid for {})",
            imgs.len()
        ));
    }
    let (h, w) = (imgs[0].height as u32, imgs[0].width as u32);
    let mut fig = Figure::new(Kind::Images {
        images: imgs,
        captions: vec![],
        cols: 1,
    });
    let scale = (400 / h.max(w).max(1)).max(1);
    fig.width = (w * scale).max(100);
    fig.height = (h * scale).max(100) + 30;
    finish(op, fig, &o)
}
