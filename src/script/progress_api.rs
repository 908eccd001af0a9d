//! `progress(...)`: wraps a count, range, array or loader so a `for` loop shows a live bar
//! (rate, ETA, a message such as the running loss) in a terminal, or a line per 10% otherwise.

use super::convert::{IntoRR, RR, check_opts, fail, opt};
use super::data_pipeline_api::batch_array;
use super::registrar::Api;
use crate::data::loader::{Epoch, LoaderHandle, Mix, MixEpoch};
use crate::progress::{Bar, Units};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, ImmutableString, Map};
use std::cell::RefCell;
use std::rc::Rc;

enum Source {
    Items(std::vec::IntoIter<Dynamic>),
    Count(std::ops::Range<i64>),
    Loader(Epoch),
    Mix(MixEpoch),
}

struct State {
    source: Option<Source>,
    bar: Option<Bar>,
}

/// A progress-tracked iterable (one pass).
#[derive(Clone)]
pub struct Progress(Rc<RefCell<State>>);

pub struct ProgressIter(Progress);

impl Iterator for ProgressIter {
    type Item = Dynamic;
    fn next(&mut self) -> Option<Dynamic> {
        let mut s = self.0.0.borrow_mut();
        let item = match s.source.as_mut()? {
            Source::Items(i) => i.next(),
            Source::Count(r) => r.next().map(Dynamic::from),
            Source::Loader(e) => e.next().map(|b| Dynamic::from(batch_array(b))),
            Source::Mix(e) => e.next().map(|b| Dynamic::from(batch_array(b))),
        };
        match &item {
            Some(_) => {
                if let Some(b) = s.bar.as_mut() {
                    b.inc(1);
                }
            }
            None => {
                s.source = None;
                if let Some(mut b) = s.bar.take() {
                    b.finish();
                }
            }
        }
        item
    }
}

impl IntoIterator for Progress {
    type Item = Dynamic;
    type IntoIter = ProgressIter;
    fn into_iter(self) -> ProgressIter {
        ProgressIter(self)
    }
}

fn progress(v: Dynamic, o: Map) -> RR<Progress> {
    let op = "progress";
    check_opts(op, &o, &["label", "plain"])?;
    let label = opt::<ImmutableString>(op, &o, "label")?
        .map(|s| s.to_string())
        .unwrap_or_else(|| "progress".into());
    let plain_lines = opt::<bool>(op, &o, "plain")?.unwrap_or(true);
    let (source, total) = if let Ok(n) = v.as_int() {
        (Source::Count(0..n.max(0)), n.max(0) as u64)
    } else if let Some(r) = v.clone().try_cast::<std::ops::Range<i64>>() {
        let n = (r.end as i128 - r.start as i128).max(0) as u64;
        (Source::Count(r), n)
    } else if let Some(r) = v.clone().try_cast::<std::ops::RangeInclusive<i64>>() {
        let (a, b) = (*r.start(), *r.end());
        let end = b.saturating_add(1);
        (
            Source::Count(a..end),
            (end as i128 - a as i128).max(0) as u64,
        )
    } else if let Some(a) = v.clone().try_cast::<Array>() {
        let n = a.len() as u64;
        (Source::Items(a.into_iter()), n)
    } else if let Some(l) = v.clone().try_cast::<LoaderHandle>() {
        let n = l.0.borrow().len() as u64;
        (Source::Loader(l.epoch()), n)
    } else if let Some(m) = v.clone().try_cast::<Mix>() {
        (Source::Mix(m.epoch()), m.len() as u64)
    } else if let Some(t) = v.clone().try_cast::<Tensor>() {
        let items: Vec<Dynamic> = t
            .to_f32_vec()
            .rr()?
            .into_iter()
            .map(|x| Dynamic::from(x as f64))
            .collect();
        let n = items.len() as u64;
        (Source::Items(items.into_iter()), n)
    } else {
        return fail(format!(
            "{op}: expects a count, a range, an array or a loader, got {}",
            v.type_name()
        ));
    };
    let live = crate::progress::live();
    let bar = if live || plain_lines {
        Some(Bar::new(
            &label,
            Some(total),
            Units::Items,
            live,
            Box::new(|s| eprintln!("{s}")),
        ))
    } else {
        None
    };
    Ok(Progress(Rc::new(RefCell::new(State {
        source: Some(source),
        bar,
    }))))
}

pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<Progress>("Progress");
    api.engine.register_iterator::<Progress>();
    reg!(
        api,
        "progress",
        "progress(n | range | array | loader) / progress(..., #{label, plain (true)}) — iterate with a live progress bar (rate, ETA) in a terminal, or a line per 10% when output is not a terminal (plain: false prints nothing then); p.message = \"loss 0.2\" shows beside the bar",
        |v: Dynamic| progress(v, Map::new())
    );
    reg!(api, "progress", "", progress);
    api.engine
        .register_set("message", |p: &mut Progress, m: ImmutableString| {
            if let Some(b) = p.0.borrow_mut().bar.as_mut() {
                b.set_message(&m);
            }
        });
}
