//! Drawing a [`Figure`] with plotters, on any backend (PNG bitmap or SVG).

use super::spec::{Figure, Kind, PALETTE, colormap};
use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf32;
use plotters::prelude::*;
use std::sync::Once;

static FONT: Once = Once::new();

/// Registers the bundled DejaVu Sans Mono as every font family plotters asks for.
fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
        for family in ["sans-serif", "serif", "monospace"] {
            let _ = plotters::style::register_font(family, FontStyle::Normal, bytes);
        }
    });
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plot: drawing failed: {e:?}")
}

/// The data range with a margin, never empty.
fn range(vals: impl Iterator<Item = f32>) -> (f32, f32) {
    let Some((lo, hi)) = super::spec::finite_range(vals) else {
        return (0.0, 1.0);
    };
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    (lo - pad, hi + pad)
}

pub fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    register_font();
    root.fill(&WHITE).map_err(err)?;
    match &fig.kind {
        Kind::Images {
            images,
            captions,
            cols,
        } => draw_images(&root, fig, images, captions, *cols)?,
        _ => draw_chart(&root, fig)?,
    }
    root.present().map_err(err)
}

fn draw_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    let (xr, yr) = match &fig.kind {
        Kind::Scatter {
            points, markers, ..
        } => {
            let all = || {
                points
                    .iter()
                    .chain(markers.iter().flat_map(|m| m.points.iter()))
            };
            (range(all().map(|p| p.0)), range(all().map(|p| p.1)))
        }
        Kind::Lines { series } => (
            range(series.iter().flat_map(|s| s.xs.iter().copied())),
            range(series.iter().flat_map(|s| s.ys.iter().copied())),
        ),
        Kind::Bars { values, .. } => {
            let (_, hi) = range(values.iter().copied().chain([0.0]));
            ((-0.5, values.len() as f32 - 0.5), (0.0, hi.max(1e-6)))
        }
        Kind::Images { .. } => unreachable!("images are drawn by draw_images"),
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&fig.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(fig.xlabel.as_str()).y_desc(fig.ylabel.as_str());
    if let Kind::Bars { labels, .. } = &fig.kind {
        let labels = labels.clone();
        mesh.x_labels(labels.len().min(12))
            .x_label_formatter(&move |x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(err)?;
    } else {
        mesh.draw().map_err(err)?;
    }
    match &fig.kind {
        Kind::Scatter {
            points,
            classes,
            values,
            markers,
        } => {
            let (vlo, vhi) = values
                .as_ref()
                .map(|v| range(v.iter().copied()))
                .unwrap_or((0.0, 1.0));
            let colour = |i: usize| -> RGBColor {
                if let Some(c) = classes {
                    rgb(PALETTE[c[i].rem_euclid(10) as usize])
                } else if let Some(v) = values {
                    rgb(colormap((v[i] - vlo) / (vhi - vlo).max(1e-12)))
                } else {
                    rgb(PALETTE[0])
                }
            };
            chart
                .draw_series(
                    points
                        .iter()
                        .enumerate()
                        .map(|(i, &(x, y))| Circle::new((x, y), 3, colour(i).filled())),
                )
                .map_err(err)?;
            for (k, m) in markers.iter().enumerate() {
                let c = if k == 0 { BLACK } else { rgb(PALETTE[3]) };
                chart
                    .draw_series(
                        m.points
                            .iter()
                            .map(|&(x, y)| Cross::new((x, y), 9, c.stroke_width(3))),
                    )
                    .map_err(err)?
                    .label(m.name.clone())
                    .legend(move |(x, y)| Cross::new((x, y), 6, c.stroke_width(2)));
            }
            if !markers.is_empty() {
                draw_legend(&mut chart)?;
            }
        }
        Kind::Lines { series } => {
            for (k, s) in series.iter().enumerate() {
                let c = rgb(PALETTE[k % 10]);
                chart
                    .draw_series(LineSeries::new(
                        s.xs.iter().zip(&s.ys).map(|(&x, &y)| (x, y)),
                        c.stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
            }
            if series.len() > 1 || series.iter().any(|s| !s.name.is_empty()) {
                draw_legend(&mut chart)?;
            }
        }
        Kind::Bars { values, .. } => {
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x = i as f32;
                    Rectangle::new([(x - 0.4, 0.0), (x + 0.4, v)], rgb(PALETTE[0]).filled())
                }))
                .map_err(err)?;
        }
        Kind::Images { .. } => {}
    }
    Ok(())
}

/// The legend box of a chart's labelled series.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf32, RangedCoordf32>>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn draw_images<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    images: &[super::spec::Image],
    captions: &[String],
    cols: usize,
) -> Result<()> {
    let body = if fig.title.is_empty() {
        root.clone()
    } else {
        root.titled(&fig.title, ("sans-serif", 20)).map_err(err)?
    };
    let cols = cols.max(1).min(images.len().max(1));
    let rows = images.len().div_ceil(cols).max(1);
    let cells = body.split_evenly((rows, cols));
    for (k, img) in images.iter().enumerate() {
        let cell = &cells[k];
        let (cw, ch) = cell.dim_in_pixel();
        let caption_h = if captions.get(k).is_some_and(|c| !c.is_empty()) {
            18
        } else {
            0
        };
        let side = (cw.min(ch.saturating_sub(caption_h)) as f32 * 0.92).max(1.0);
        let scale = side / img.width.max(img.height) as f32;
        let x0 = (cw as f32 - scale * img.width as f32) / 2.0;
        for y in 0..img.height {
            for x in 0..img.width {
                let (r, g, b) = img.rgb(y, x);
                let px = (x0 + x as f32 * scale) as i32;
                let py = (y as f32 * scale) as i32;
                let q = scale.ceil() as i32;
                cell.draw(&Rectangle::new(
                    [(px, py), (px + q, py + q)],
                    RGBColor(r, g, b).filled(),
                ))
                .map_err(err)?;
            }
        }
        if let Some(c) = captions.get(k).filter(|c| !c.is_empty()) {
            let ty = (img.height as f32 * scale) as i32 + 2;
            cell.draw(&Text::new(c.clone(), (x0 as i32, ty), ("sans-serif", 14)))
                .map_err(err)?;
        }
    }
    Ok(())
}
