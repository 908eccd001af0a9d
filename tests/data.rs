//! Dataset formats and the data pipeline on small fixtures shipped in `tests/fixtures`.

use ember::Runtime;
use ember::script::format_value;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn eval(src: &str) -> String {
    let mut rt = Runtime::builder().seed(0).build().unwrap();
    format_value(&rt.eval(src).unwrap_or_else(|e| panic!("{src}\n{e}")))
}

fn eval_err(src: &str) -> String {
    let mut rt = Runtime::builder().seed(0).build().unwrap();
    match rt.eval(src) {
        Ok(_) => panic!("{src} should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn text_decodes_latin1_and_reports_bad_utf8_offsets() {
    let p = fixture("latin1.txt");
    let r = eval(&format!(
        "let t = data::text({p:?}, #{{encoding: \"latin-1\"}}); [t.text, t.vocab_size, t.chars[t.vocab_size - 1], t.idx.shape]"
    ));
    assert_eq!(r, "[\"café naïve\\n\", 10, \"ï\", [11]]");
    let e = eval_err(&format!("data::text({p:?})"));
    assert!(
        e.contains("invalid UTF-8 at byte offset 3") && e.contains("latin-1"),
        "{e}"
    );
    // auto falls back to Latin-1
    assert_eq!(
        eval(&format!(
            "data::text({p:?}, #{{encoding: \"auto\"}}).text.len()"
        )),
        "11"
    );
}

#[test]
fn char_indices_round_trip() {
    let p = fixture("latin1.txt");
    let r = eval(&format!(
        "let t = data::text({p:?}, #{{encoding: \"latin-1\"}}); let s = \"\"; for i in t.idx.tolist() {{ s += t.chars[i]; }} s == t.text && t.char_to_idx[\"a\"] == t.chars.index_of(\"a\")"
    ));
    assert_eq!(r, "true");
}

#[test]
fn word_vocabulary_keeps_the_most_frequent_and_maps_the_rest_to_one_id() {
    let r = eval(
        "let v = data::vocab(data::words(\"The cat, the dog; a cat. THE end\"), #{max_size: 2}); [v.words, v.counts, v.unknown, v.size, v.ids.tolist(), data::encode(v, [\"cat\", \"zebra\"]).tolist()]",
    );
    assert_eq!(
        r,
        "[[\"the\", \"cat\"], [3, 2], 2, 3, [0, 1, 0, 2, 2, 1, 0, 2], [1, 2]]"
    );
    // min_count drops rare words; ties are alphabetical
    let r = eval("data::vocab([\"b\", \"a\", \"c\", \"c\"], #{min_count: 1}).words");
    assert_eq!(r, "[\"c\", \"a\", \"b\"]");
}

#[test]
fn cmudict_handles_comments_and_alternates() {
    let p = fixture("mini.dict");
    let r = eval(&format!(
        "let d = data::cmudict({p:?}); [d.words, d.variants, d.phonemes[2], d.phoneme_set.len()]"
    ));
    assert_eq!(
        r,
        "[[\"abc\", \"abc\", \"zed\"], [1, 2, 1], [\"Z\", \"EH1\", \"D\"], 9]"
    );
    let r = eval(&format!(
        "data::cmudict({p:?}, #{{alternates: false}}).words"
    ));
    assert_eq!(r, "[\"abc\", \"zed\"]");
}

#[test]
fn random_sequences_and_blobs_have_the_promised_shapes() {
    let r = eval(
        "let s = data::random_sequences(3, 8, 2, 9, 50); let l = s.lengths; let t = s.tokens; \
         let inside = (t > 0).long().sum(1); \
         [t.shape[1] == l.max().item(), (inside == l).all().item(), l.min().item() >= 3, l.max().item() <= 8, \
          t.max().item() <= 9, (t.masked_select(t > 0) >= 2).all().item()]",
    );
    assert_eq!(r, "[true, true, true, true, true, true]");
    let r = eval(
        "let b = data::blobs(3, 100, #{spread: 0.5, range: 10}); \
         [b.points.shape, b.centres.shape, b.labels.shape, (b.centres.abs() <= 10.0).all().item(), \
          ((b.points[0..100] - b.centres[0]).pow(2).sum(1).sqrt().mean().item() < 1.5)]",
    );
    assert_eq!(r, "[[300, 2], [3, 2], [300], true, true]");
}
