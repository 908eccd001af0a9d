//! What a figure shows, independent of where it is drawn (file or terminal).

/// One named series of a line plot.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub xs: Vec<f32>,
    pub ys: Vec<f32>,
}

/// Points drawn as large "x" marks over a scatter plot (centroids).
#[derive(Clone, Debug)]
pub struct Markers {
    pub name: String,
    pub points: Vec<(f32, f32)>,
}

/// A grayscale (1 channel) or RGB (3 channels) image with values in [0, 1].
#[derive(Clone, Debug)]
pub struct Image {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// Channel-major (`[C, H, W]`) values.
    pub data: Vec<f32>,
}

impl Image {
    /// The pixel at (y, x) as RGB bytes.
    pub fn rgb(&self, y: usize, x: usize) -> (u8, u8, u8) {
        let at = |c: usize| {
            let v = self.data[(c * self.height + y) * self.width + x];
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        };
        if self.channels == 3 {
            (at(0), at(1), at(2))
        } else {
            let g = at(0);
            (g, g, g)
        }
    }
}

/// The kinds of figure.
#[derive(Clone, Debug)]
pub enum Kind {
    /// Points coloured by class (`classes`) or by a value (`values`), with marker sets.
    Scatter {
        points: Vec<(f32, f32)>,
        classes: Option<Vec<i64>>,
        values: Option<Vec<f32>>,
        markers: Vec<Markers>,
    },
    Lines {
        series: Vec<Series>,
    },
    /// Bars with labels (histograms become bars over their bin ranges).
    Bars {
        labels: Vec<String>,
        values: Vec<f32>,
    },
    /// Images in a grid with a caption under each.
    Images {
        images: Vec<Image>,
        captions: Vec<String>,
        cols: usize,
    },
}

/// A figure: what to draw and its labels.
#[derive(Clone, Debug)]
pub struct Figure {
    pub kind: Kind,
    pub title: String,
    pub xlabel: String,
    pub ylabel: String,
    pub width: u32,
    pub height: u32,
}

impl Figure {
    pub fn new(kind: Kind) -> Figure {
        Figure {
            kind,
            title: String::new(),
            xlabel: String::new(),
            ylabel: String::new(),
            width: 800,
            height: 600,
        }
    }
}

/// The smallest and largest finite values, if any.
pub fn finite_range(values: impl IntoIterator<Item = f32>) -> Option<(f32, f32)> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    lo.is_finite().then_some((lo, hi))
}

/// Equal-width bins over the values' range: (labels "a–b", counts).
pub fn histogram(values: &[f32], bins: usize) -> (Vec<String>, Vec<f32>) {
    let bins = bins.max(1);
    let Some((lo, hi)) = finite_range(values.iter().copied()) else {
        return (vec![], vec![]);
    };
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let width = if hi > lo {
        (hi - lo) / bins as f32
    } else {
        1.0
    };
    let mut counts = vec![0f32; bins];
    for v in finite {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1.0;
    }
    let labels = (0..bins)
        .map(|i| format!("{:.3}", lo + width * i as f32))
        .collect();
    (labels, counts)
}

/// Ten distinguishable colours (matplotlib's tab10), by class.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Viridis-like colour for t in [0, 1].
pub fn colormap(t: f32) -> (u8, u8, u8) {
    const STOPS: [(f32, f32, f32); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f32;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f32, y: f32| (x + (y - x) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}
