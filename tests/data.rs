//! Dataset formats and the data pipeline on small fixtures shipped in `tests/fixtures`.

mod common;

use ember::script::format_value;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn eval(src: &str) -> String {
    let mut rt = common::builder_with_files().seed(0).build().unwrap();
    format_value(&rt.eval(src).unwrap_or_else(|e| panic!("{src}\n{e}")))
}

fn eval_err(src: &str) -> String {
    let mut rt = common::builder_with_files().seed(0).build().unwrap();
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

#[test]
fn loader_batches_every_row_once_per_epoch() {
    // in order: 10 rows in batches of 4 -> 4, 4, 2; drop_last drops the 2
    let r = eval(
        "let l = data::loader([arange(0, 10)], #{batch_size: 4, shuffle: false}); let out = []; for b in l { out.push(b[0].tolist()); } [l.len(), out]",
    );
    assert_eq!(r, "[3, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]]");
    let r = eval(
        "let l = data::loader([arange(0, 10)], #{batch_size: 4, shuffle: false, drop_last: true}); let n = 0; for b in l { n += 1; } [l.len(), n]",
    );
    assert_eq!(r, "[2, 2]");
    // shuffled: each epoch is a permutation, x and y rows stay paired, epochs differ
    let r = eval(
        "let x = arange(0, 12); let l = data::loader([x, x * 10], #{batch_size: 5, seed: 7}); \
         let e1 = []; let paired = true; for b in l { e1 += b[0].tolist(); paired = paired && (b[1] == b[0] * 10).all().item(); } \
         let e2 = []; for b in l { e2 += b[0].tolist(); } \
         let s1 = e1; s1.sort(); [s1 == x.tolist(), paired, e1 != e2]",
    );
    assert_eq!(r, "[true, true, true]");
}

#[test]
fn mix_concatenates_one_batch_from_each_loader() {
    let r = eval(
        "let a = data::loader([arange(0, 8)], #{batch_size: 4, shuffle: false}); \
         let b = data::loader([arange(100, 103)], #{batch_size: 2, shuffle: false}); \
         let m = data::mix([a, b]); let out = []; for batch in m { out.push(batch[0].tolist()); } [m.len(), out]",
    );
    // b has 2 batches ([100, 101], [102]) and starts over after them
    assert_eq!(r, "[2, [[0, 1, 2, 3, 100, 101], [4, 5, 6, 7, 102]]]");
}

#[test]
fn train_test_split_partitions_rows() {
    let r = eval(
        "let x = arange(0, 20); let s = train_test_split([x, x * 2], #{test_size: 0.25, seed: 3}); \
         let all = s.train[0].tolist() + s.test[0].tolist(); all.sort(); \
         [s.train[0].shape, s.test[0].shape, all == x.tolist(), (s.test[1] == s.test[0] * 2).all().item()]",
    );
    assert_eq!(r, "[[15], [5], true, true]");
    assert_eq!(
        eval("train_test_split([arange(0, 5)], #{test_size: 2, shuffle: false}).test[0].tolist()"),
        "[0, 1]"
    );
}

#[test]
fn balanced_batches_hold_the_chosen_share_of_positives() {
    let r = eval(
        "let y = (arange(0, 100) < 5).long(); let l = data::balanced([arange(0, 100), y], y == 1, #{batch_size: 10, fraction: 0.3, seed: 1}); \
         let counts = []; for b in l { counts.push(b[1].sum().item()); } \
         l.fraction = 0.5; let c2 = []; for b in l { c2.push(b[1].sum().item()); } [l.len(), counts[0], counts[9], c2[0], l.fraction]",
    );
    assert_eq!(r, "[10, 3, 3, 5, 0.5]");
}

#[test]
fn augmentation_moves_pixels_as_asked() {
    let img = "let img = arange(0, 12).reshape([1, 1, 3, 4]).float();";
    // a flip with probability 1/2: every output is the image or its mirror, and both occur
    let r = eval(&format!(
        "{img} let x = cat([img, img, img, img, img, img, img, img], 0); let y = data::augment(x, #{{flip: true}}); \
         let m = img.flip([3]); let ok = true; let flips = 0; \
         for i in 0..8 {{ let a = y[i].unsqueeze(0); let f = a.allclose(m); ok = ok && (f || a.allclose(img)); if f {{ flips += 1; }} }} [ok, flips > 0 && flips < 8]"
    ));
    assert_eq!(r, "[true, true]");
    // normalisation only, exactly
    let r = eval(&format!(
        "{img} data::augment(img, #{{normalize: [6.0, 2.0]}}).tolist()[0][0][0]"
    ));
    assert_eq!(r, "[-3.0, -2.5, -2.0, -1.5]");
    // a one-pixel shift keeps the image's values, moved, with zeros coming in
    let r = eval(&format!(
        "{img} let y = data::augment(img, #{{shift: 1.0}}); let v = y.tolist(); [y.shape, (y == 0.0).long().sum().item() >= 1]"
    ));
    assert_eq!(r, "[[1, 1, 3, 4], true]");
    // small rotations keep the shape and most of the mass
    let r = eval(
        "let x = ones([2, 1, 28, 28]); let y = data::augment(x, #{rotate: 10.0}); [y.shape, y.sum().item() > 0.9 * 1568.0]",
    );
    assert_eq!(r, "[[2, 1, 28, 28], true]");
}

#[test]
fn csv_columns_types_and_errors() {
    let p = fixture("small.csv");
    let r = eval(&format!(
        "let t = data::csv({p:?}); [t.a.dtype, t.a.tolist(), t.b.dtype, t.b.tolist(), t.name]"
    ));
    assert_eq!(
        r,
        "[\"i64\", [1, 3], \"f32\", [2.5, 4.0], [\"x\", \"y, z\"]]"
    );
    let r = eval(&format!(
        "let t = data::csv({p:?}, #{{columns: [\"b\"], dtypes: #{{b: \"str\"}}}}); [t.keys(), t.b]"
    ));
    assert_eq!(r, "[[\"b\"], [\"2.5\", \"4\"]]");
    let e = eval_err(&format!("data::csv({:?})", fixture("ragged.csv")));
    assert!(
        e.contains("ragged.csv") && e.contains("line 3") && e.contains("1 fields, expected 2"),
        "{e}"
    );
}

#[test]
fn npy_and_npz_interoperate_with_numpy() {
    // written by NumPy: float64 [[0, .5, 1], [1.5, 2, 2.5]], int32 [[1, -2], [3, 4]], and a
    // compressed npz with x = ones((2, 2), float32), y = [7]
    let r = eval(&format!(
        "[data::npy({:?}).tolist(), data::npy({:?}).tolist(), data::npz({:?}).y.tolist()]",
        fixture("numpy_f64.npy"),
        fixture("numpy_i32.npy"),
        fixture("numpy_compressed.npz")
    ));
    assert_eq!(
        r,
        "[[[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]], [[1, -2], [3, 4]], [7]]"
    );
    let dir = std::env::temp_dir().join(format!("ember-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("t.npy"), dir.join("t.npz"));
    let r = eval(&format!(
        "let x = tensor([[1.5, -2.0], [3.0, 4.0]]); data::save_npy({a:?}, x); data::save_npz({b:?}, #{{x: x, n: tensor([1, 2, 3]), m: tensor([true, false])}}); \
         let z = data::npz({b:?}); [data::npy({a:?}).tolist(), z.n.tolist(), z.m.tolist()]",
        a = a.to_str().unwrap(),
        b = b.to_str().unwrap()
    ));
    assert_eq!(r, "[[[1.5, -2.0], [3.0, 4.0]], [1, 2, 3], [true, false]]");
    let bad = dir.join("bad.npy");
    std::fs::write(&bad, b"\x93NUMPY\x01\x00").unwrap();
    let e = eval_err(&format!("data::npy({:?})", bad.to_str().unwrap()));
    assert!(e.contains("bad.npy"), "{e}");
}

#[test]
fn movielens_and_imdb_layouts() {
    let r = eval(&format!(
        "let m = data::movielens({:?}); [m.users.tolist(), m.movies.tolist(), m.ratings.tolist(), m.user_ids.tolist(), m.movie_ids.tolist(), m.titles]",
        fixture("movielens_mini")
    ));
    assert_eq!(
        r,
        "[[1, 1, 0], [1, 0, 1], [4.0, 3.5, 5.0], [3, 10], [7, 50], [\"Seven, The (1995)\", \"Usual Suspects (1995)\"]]"
    );
    let r = eval(&format!(
        "let d = data::imdb({:?}); [d.train.texts.len(), d.train.labels.tolist(), d.train.texts[0], d.test.labels.tolist()]",
        fixture("aclImdb")
    ));
    assert_eq!(r, "[3, [0, 1, 1], \"Dull and slow.\\n\", [0, 1]]");
    let e = eval_err("data::imdb(\"/no/such/aclImdb\")");
    assert!(e.contains("train/pos/*.txt"), "{e}");
}

#[test]
fn full_datasets_hold_the_published_counts() {
    let Some(dir) = std::env::var_os("EMBER_DATA").map(std::path::PathBuf::from) else {
        println!("SKIPPED: EMBER_DATA is not set");
        return;
    };
    let ml = dir.join("movielens/ml-latest-small");
    if !ml.join("ratings.csv").is_file() {
        println!("SKIPPED: MovieLens not found under {}", dir.display());
        return;
    }
    let r = eval(&format!(
        "let m = data::movielens({:?}); [m.ratings.shape[0], m.n_users, m.titles[0]]",
        ml.to_str().unwrap()
    ));
    assert_eq!(r, "[100836, 610, \"Toy Story (1995)\"]");
}

#[test]
fn fit_trains_from_a_loader() {
    let r = eval(
        "import \"train\" as train; let x = randn([600, 4]); let y = (x.sum(1) > 0.0).long(); let m = nn::linear(4, 2); \
         let h = train::fit(m, optim::adam(m.parameters(), #{lr: 0.05}), \"cross_entropy\", data::loader([x, y], #{batch_size: 50}), \
                            #{epochs: 3, metrics: [\"accuracy\"], verbose: false}); \
         [h.loss.len(), h.accuracy[2] > 0.9, h.loss[2] < h.loss[0]]",
    );
    assert_eq!(r, "[3, true, true]");
}
