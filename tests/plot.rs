//! Figures read back: PNG dimensions and coloured pixels where the points are, SVG elements,
//! the terminal rendering's shape, file naming, and progress output in both modes.

mod common;

use ember::plot::{self, Figure, Format, Kind, Markers, Series};
use ember::progress::{Bar, Units};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ember-plot-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 20 points near (0, 0) of class 0 and 20 near (10, 10) of class 1, centroids on each.
fn two_clusters() -> Figure {
    let mut points = Vec::new();
    let mut classes = Vec::new();
    for i in 0..20 {
        let d = (i as f32) * 0.02;
        points.push((d, -d));
        classes.push(0);
        points.push((10.0 - d, 10.0 + d));
        classes.push(1);
    }
    Figure::new(Kind::Scatter {
        points,
        classes: Some(classes),
        values: None,
        markers: vec![Markers {
            name: "centres".into(),
            points: vec![(0.0, 0.0), (10.0, 10.0)],
        }],
    })
}

fn count_colour(img: &image::RgbImage, x0: u32, x1: u32, y0: u32, y1: u32, c: [u8; 3]) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            if img.get_pixel(x, y).0 == c {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn scatter_png_has_points_where_the_data_is() {
    let dir = scratch("png");
    let base = dir.join("clusters");
    let paths = plot::save(&two_clusters(), Some(base.to_str().unwrap()), Format::Png).unwrap();
    assert_eq!(paths, vec![dir.join("clusters.png")]);
    let img = image::open(&paths[0]).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 600));
    let (blue, orange) = ([31, 119, 180], [255, 127, 14]);
    // class 0 sits bottom-left, class 1 top-right; neither appears in the other corners
    assert!(count_colour(&img, 0, 400, 300, 600, blue) > 50);
    assert!(count_colour(&img, 400, 800, 0, 300, orange) > 50);
    assert_eq!(count_colour(&img, 400, 800, 0, 300, blue), 0);
    assert_eq!(count_colour(&img, 0, 400, 300, 600, orange), 0);
    // the centroid crosses are black strokes over both clusters
    assert!(count_colour(&img, 0, 400, 300, 600, [0, 0, 0]) > 20);
}

#[test]
fn svg_holds_the_expected_elements() {
    let dir = scratch("svg");
    let fig = Figure {
        title: "two series".into(),
        ..Figure::new(Kind::Lines {
            series: vec![
                Series {
                    name: "loss".into(),
                    xs: vec![0., 1., 2., 3.],
                    ys: vec![3., 2., 1.5, 1.2],
                },
                Series {
                    name: "val_loss".into(),
                    xs: vec![0., 1., 2., 3.],
                    ys: vec![3.1, 2.4, 2.0, 1.9],
                },
            ],
        })
    };
    let p = plot::save(
        &fig,
        Some(dir.join("lines.svg").to_str().unwrap()),
        Format::Png,
    )
    .unwrap();
    assert_eq!(p, vec![dir.join("lines.svg")], "a .svg name picks SVG");
    let text = std::fs::read_to_string(&p[0]).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::trim))
        .collect();
    for want in ["two series", "loss", "val_loss"] {
        assert!(texts.contains(&want), "{want} missing from {texts:?}");
    }
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path"))
        .count();
    assert!(lines >= 2, "two series need two lines, found {lines}");
    // a scatter has one circle per point
    let p = plot::save(
        &two_clusters(),
        Some(dir.join("pts").to_str().unwrap()),
        Format::Svg,
    )
    .unwrap();
    let text = std::fs::read_to_string(&p[0]).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count(),
        40
    );
}

/// Column of the first braille dot in each canvas row (None for empty rows).
fn first_dot_columns(s: &str) -> Vec<Option<usize>> {
    s.lines()
        .filter(|l| l.contains('│'))
        .map(|l| {
            let canvas: Vec<char> = l.split('│').nth(1).unwrap_or("").chars().collect();
            canvas
                .iter()
                .position(|&c| ('\u{2801}'..='\u{28ff}').contains(&c))
        })
        .collect()
}

#[test]
fn terminal_rendering_draws_the_shape() {
    let rising = Figure::new(Kind::Lines {
        series: vec![Series {
            name: String::new(),
            xs: (0..50).map(|i| i as f32).collect(),
            ys: (0..50).map(|i| i as f32).collect(),
        }],
    });
    let rows = first_dot_columns(&plot::terminal::render(&rising));
    // every row holds part of the line (the canvas may end with one blank row)
    let cols: Vec<usize> = rows.iter().map_while(|c| *c).collect();
    assert!(cols.len() + 1 >= rows.len(), "{rows:?}");
    assert!(cols.len() >= 10);
    assert!(
        cols.windows(2).all(|w| w[0] >= w[1]),
        "top rows start further right: {cols:?}"
    );
    assert!(cols[0] > 50 && *cols.last().unwrap() == 0, "{cols:?}");
    // the two clusters: dots only in the top-right and bottom-left corners
    let s = plot::terminal::render(&two_clusters());
    let mut cols = first_dot_columns(&s);
    while cols.last().is_some_and(|c| c.is_none()) {
        cols.pop();
    }
    let n = cols.len();
    assert!(cols[0].is_some_and(|c| c > 50), "top row: {:?}", cols[0]);
    assert!(
        cols[n - 1].is_some_and(|c| c < 5),
        "bottom row: {:?}",
        cols[n - 1]
    );
    assert!(cols[n / 2].is_none(), "nothing in the middle rows");
}

#[test]
fn figures_are_numbered_into_ember_plots_and_scripts_get_the_path() {
    let dir = scratch("named");
    let run = |code: &str| {
        Command::new(env!("CARGO_BIN_EXE_ember"))
            .args(["eval", code])
            .env("EMBER_PLOTS", &dir)
            .env("EMBER_INLINE", "0")
            .output()
            .unwrap()
    };
    let o = run("plot::line([1, 2, 3])");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains(&format!("figure: {}", dir.join("figure-001.png").display())),
        "{out}"
    );
    let o = run("plot::hist(randn([100]), #{format: \"both\"})");
    assert!(o.status.success());
    assert!(dir.join("figure-002.png").is_file() && dir.join("figure-002.svg").is_file());
    // a grid of images with captions, sized by its cells
    let o = run(
        "plot::grid(rand([6, 1, 8, 8]), #{captions: [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"], cols: 3, name: \"g\"})",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(dir.join("g.png")).unwrap();
    assert_eq!((img.width(), img.height()), (300, 2 * 118 + 30));
    // bad input is an error naming the op, not a panic
    let o = run("plot::scatter(zeros([3]))");
    assert!(String::from_utf8_lossy(&o.stderr).contains("plot::scatter: points must be [N, 2]"));
    let o = run("plot::line([1, 2], #{x: [1, 2, 3]})");
    assert!(String::from_utf8_lossy(&o.stderr).contains("x has 3 values"));
    // inline rendering goes to stdout when asked for
    let o = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["eval", "plot::line([1, 2, 3], #{title: \"inline\"})"])
        .env("EMBER_PLOTS", &dir)
        .env("EMBER_INLINE", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("inline\n") && out.contains('│'), "{out}");
}

#[test]
fn progress_prints_a_line_per_tenth_when_not_a_terminal() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let mut bar = Bar::new(
        "work",
        Some(100),
        Units::Items,
        false,
        Box::new(move |s| sink.lock().unwrap().push(s.to_string())),
    );
    for _ in 0..100 {
        bar.inc(1);
    }
    bar.finish();
    let got = lines.lock().unwrap().clone();
    assert_eq!(got.len(), 10, "{got:?}");
    assert_eq!(got[0], "work: 10% (10 of 100)");
    assert_eq!(got[9], "work: 100% (100 of 100)");
    // few items: one line per item, no repeats
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let mut bar = Bar::new(
        "few",
        Some(3),
        Units::Items,
        false,
        Box::new(move |s| sink.lock().unwrap().push(s.to_string())),
    );
    bar.inc(1);
    bar.inc(1);
    bar.inc(1);
    assert_eq!(lines.lock().unwrap().len(), 3);
    // scripts: progress() over a range in plain mode
    let o = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args([
            "eval",
            "let s = 0; for i in progress(0..20, #{label: \"sum\"}) { s += i; } s",
        ])
        .env("EMBER_PROGRESS", "plain")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "190");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sum: 50% (10 of 20)") && err.contains("sum: 100% (20 of 20)"),
        "{err}"
    );
}

#[test]
fn progress_draws_a_live_bar_in_a_terminal() {
    use expectrl::Expect;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ember"));
    cmd.args([
        "eval",
        "let p = progress(40, #{label: \"live\"}); for i in p { p.message = `step ${i}`; sleep(0.01); } 1",
    ]);
    let mut s = expectrl::Session::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
    let m = s
        .expect(expectrl::Regex("live \\[[=> ]+\\] 40/40"))
        .unwrap();
    assert!(!m.as_bytes().is_empty());
}
