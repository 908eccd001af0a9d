//! `data::` loaders for text corpora: `text`, `words`, `vocab`, `encode`, `cmudict`.

use super::convert::{IntoRR, RR, check_opts, default_device, fail, opt};
use super::registrar::Api;
use crate::data::text::{Encoding, Vocab, char_corpus, read_text, words};
use crate::data::{cmudict, locate};
use crate::tensor::Tensor;
use rhai::{Array, Dynamic, ImmutableString, Map};
use std::path::{Path, PathBuf};

/// A path as given, or a known dataset's file when `arg` names the dataset.
pub(super) fn resolve(arg: &str, dataset: &str, file: &str) -> RR<PathBuf> {
    if arg == dataset {
        return locate(dataset, file, None).rr();
    }
    let p = Path::new(arg);
    if p.is_dir() {
        return locate(dataset, file, Some(p)).rr();
    }
    Ok(p.to_path_buf())
}

fn strings(v: impl IntoIterator<Item = String>) -> Array {
    v.into_iter().map(Dynamic::from).collect()
}

fn text(arg: ImmutableString, o: Map) -> RR<Map> {
    let op = "data::text";
    check_opts(op, &o, &["encoding"])?;
    let enc = match opt::<ImmutableString>(op, &o, "encoding")? {
        Some(e) => Encoding::parse(&e).rr()?,
        None if arg == "nietzsche" => Encoding::Latin1,
        None => Encoding::Utf8,
    };
    let path = resolve(&arg, "nietzsche", "nietzsche.txt")?;
    let t = read_text(&path, enc).rr()?;
    let corpus = char_corpus(&t);
    let mut index = Map::new();
    for (i, c) in corpus.chars.iter().enumerate() {
        index.insert(c.to_string().into(), Dynamic::from(i as i64));
    }
    let n = corpus.ids.len();
    let mut out = Map::new();
    out.insert(
        "chars".into(),
        Dynamic::from(strings(corpus.chars.iter().map(char::to_string))),
    );
    out.insert("char_to_idx".into(), Dynamic::from(index));
    out.insert(
        "vocab_size".into(),
        Dynamic::from(corpus.chars.len() as i64),
    );
    out.insert(
        "idx".into(),
        Dynamic::from(Tensor::from_i64(corpus.ids, &[n], default_device()).rr()?),
    );
    out.insert(
        "bytes".into(),
        Dynamic::from(
            std::fs::metadata(&path)
                .map(|m| m.len() as i64)
                .unwrap_or(0),
        ),
    );
    out.insert("text".into(), Dynamic::from(t));
    Ok(out)
}

fn str_list(op: &str, a: &Array) -> RR<Vec<String>> {
    a.iter()
        .map(|v| {
            v.clone()
                .into_string()
                .map_err(|t| fail::<()>(format!("{op}: expected strings, found {t}")).unwrap_err())
        })
        .collect()
}

fn vocab(tokens: Array, o: Map) -> RR<Map> {
    let op = "data::vocab";
    check_opts(op, &o, &["max_size", "min_count"])?;
    let toks = str_list(op, &tokens)?;
    let max = opt::<i64>(op, &o, "max_size")?.map(|m| m.max(0) as usize);
    let min = opt::<i64>(op, &o, "min_count")?.unwrap_or(1).max(1) as usize;
    let v = Vocab::build(toks.iter().map(String::as_str), max, min);
    let ids = v.encode(toks.iter().map(String::as_str));
    let mut index = Map::new();
    for (w, &i) in &v.index {
        index.insert(w.as_str().into(), Dynamic::from(i));
    }
    let mut out = Map::new();
    out.insert("unknown".into(), Dynamic::from(v.unknown()));
    out.insert("size".into(), Dynamic::from(v.unknown() + 1));
    out.insert(
        "counts".into(),
        Dynamic::from(
            v.counts
                .iter()
                .map(|&c| Dynamic::from(c as i64))
                .collect::<Array>(),
        ),
    );
    out.insert("words".into(), Dynamic::from(strings(v.words)));
    out.insert("index".into(), Dynamic::from(index));
    out.insert(
        "ids".into(),
        Dynamic::from(Tensor::from_i64(ids.clone(), &[ids.len()], default_device()).rr()?),
    );
    Ok(out)
}

fn encode(v: Map, tokens: Array) -> RR<Tensor> {
    let op = "data::encode";
    let index = v
        .get("index")
        .and_then(|i| i.clone().try_cast::<Map>())
        .ok_or_else(|| {
            fail::<()>(format!("{op}: expects a vocabulary from data::vocab")).unwrap_err()
        })?;
    let unknown = v
        .get("unknown")
        .and_then(|u| u.as_int().ok())
        .unwrap_or(index.len() as i64);
    let ids: Vec<i64> = str_list(op, &tokens)?
        .iter()
        .map(|t| {
            index
                .get(t.as_str())
                .and_then(|i| i.as_int().ok())
                .unwrap_or(unknown)
        })
        .collect();
    Tensor::from_i64(ids.clone(), &[ids.len()], default_device()).rr()
}

fn cmu(arg: ImmutableString, o: Map) -> RR<Map> {
    let op = "data::cmudict";
    check_opts(op, &o, &["alternates"])?;
    let alternates = opt::<bool>(op, &o, "alternates")?.unwrap_or(true);
    let path = resolve(&arg, "cmudict", "cmudict.dict")?;
    let entries = cmudict::read(&path).rr()?;
    let mut set = std::collections::BTreeSet::new();
    let (mut ws, mut ps, mut vs) = (Array::new(), Array::new(), Array::new());
    for e in entries.into_iter().filter(|e| alternates || e.variant == 1) {
        set.extend(e.phonemes.iter().cloned());
        ws.push(Dynamic::from(e.word));
        vs.push(Dynamic::from(e.variant as i64));
        ps.push(Dynamic::from(strings(e.phonemes)));
    }
    let mut out = Map::new();
    out.insert("words".into(), Dynamic::from(ws));
    out.insert("phonemes".into(), Dynamic::from(ps));
    out.insert("variants".into(), Dynamic::from(vs));
    out.insert("phoneme_set".into(), Dynamic::from(strings(set)));
    Ok(out)
}

pub fn register(api: &mut Api, m: &mut rhai::Module) {
    api.docs.add(
        "data::text",
        "data::text(path or \"nietzsche\", #{encoding: \"utf-8\"|\"latin-1\"|\"auto\"}) — #{text, chars (sorted), char_to_idx, vocab_size, idx: [N] i64, bytes}; invalid UTF-8 names the offset",
    );
    m.set_native_fn("text", text);
    m.set_native_fn("text", |a: ImmutableString| text(a, Map::new()));
    api.docs.add(
        "data::words",
        "data::words(text) — lower-cased words (letters, digits, apostrophes)",
    );
    m.set_native_fn("words", |t: ImmutableString| {
        Ok::<_, Box<rhai::EvalAltResult>>(strings(words(&t)))
    });
    api.docs.add(
        "data::vocab",
        "data::vocab(tokens, #{max_size, min_count}) — #{words (by frequency), counts, index, unknown, size, ids}; word i has id i, every other word the id `unknown` (= number of kept words)",
    );
    m.set_native_fn("vocab", vocab);
    m.set_native_fn("vocab", |t: Array| vocab(t, Map::new()));
    api.docs.add(
        "data::encode",
        "data::encode(vocab, tokens) — i64 ids of tokens in a data::vocab (unknown words get vocab.unknown)",
    );
    m.set_native_fn("encode", encode);
    api.docs.add(
        "data::cmudict",
        "data::cmudict() / data::cmudict(path, #{alternates: true}) — #{words, phonemes (arrays), variants (1 = main pronunciation), phoneme_set}; comments skipped",
    );
    m.set_native_fn("cmudict", cmu);
    m.set_native_fn("cmudict", |a: ImmutableString| cmu(a, Map::new()));
    m.set_native_fn("cmudict", || cmu("cmudict".into(), Map::new()));
    m.set_native_fn("cmudict", |o: Map| cmu("cmudict".into(), o));
}
