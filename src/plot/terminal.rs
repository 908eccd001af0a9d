//! Figures in the terminal: charts as Unicode braille dots, images as coloured half blocks or,
//! on terminals that speak it, through the kitty graphics protocol.

use super::spec::{Figure, Kind};
use drawille::Canvas;
use std::io::IsTerminal;

/// Dots across and down (two by four per character cell).
const W: u32 = 120;
const H: u32 = 48;

/// Whether figures show inline: `EMBER_INLINE=1|0` decides, else whether stdout is a terminal.
pub fn inline_enabled() -> bool {
    match std::env::var("EMBER_INLINE").as_deref() {
        Ok("1") | Ok("true") => true,
        Ok("0") | Ok("false") => false,
        _ => std::io::stdout().is_terminal(),
    }
}

/// Whether the terminal takes kitty graphics (kitty, WezTerm, Ghostty).
pub fn kitty_graphics() -> bool {
    std::env::var_os("KITTY_WINDOW_ID").is_some()
        || std::env::var("TERM").is_ok_and(|t| t.contains("kitty") || t.contains("ghostty"))
        || std::env::var("TERM_PROGRAM").is_ok_and(|t| t == "WezTerm" || t == "ghostty")
}

fn bounds(vals: impl Iterator<Item = f32>) -> (f32, f32) {
    match super::spec::finite_range(vals) {
        None => (0.0, 1.0),
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((lo, hi)) => (lo - 0.5, hi + 0.5),
    }
}

fn scale(v: f32, (lo, hi): (f32, f32), n: u32) -> u32 {
    (((v - lo) / (hi - lo)) * (n - 1) as f32)
        .round()
        .clamp(0.0, (n - 1) as f32) as u32
}

/// Braille text of a chart (or half-block text of images), with the ranges of its axes.
pub fn render(fig: &Figure) -> String {
    let mut c = Canvas::new(W, H);
    let (xr, yr);
    match &fig.kind {
        Kind::Scatter {
            points, markers, ..
        } => {
            let all: Vec<(f32, f32)> = points
                .iter()
                .chain(markers.iter().flat_map(|m| m.points.iter()))
                .copied()
                .collect();
            xr = bounds(all.iter().map(|p| p.0));
            yr = bounds(all.iter().map(|p| p.1));
            for &(x, y) in points {
                if x.is_finite() && y.is_finite() {
                    c.set(scale(x, xr, W), H - 1 - scale(y, yr, H));
                }
            }
            for m in markers {
                for &(x, y) in &m.points {
                    let (cx, cy) = (scale(x, xr, W) as i64, (H - 1 - scale(y, yr, H)) as i64);
                    for d in -2i64..=2 {
                        for (px, py) in [(cx + d, cy + d), (cx + d, cy - d)] {
                            if px >= 0 && py >= 0 && px < W as i64 && py < H as i64 {
                                c.set(px as u32, py as u32);
                            }
                        }
                    }
                }
            }
        }
        Kind::Lines { series } => {
            xr = bounds(series.iter().flat_map(|s| s.xs.iter().copied()));
            yr = bounds(series.iter().flat_map(|s| s.ys.iter().copied()));
            for s in series {
                let pts: Vec<(u32, u32)> =
                    s.xs.iter()
                        .zip(&s.ys)
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .map(|(&x, &y)| (scale(x, xr, W), H - 1 - scale(y, yr, H)))
                        .collect();
                for w in pts.windows(2) {
                    c.line(w[0].0, w[0].1, w[1].0, w[1].1);
                }
                if pts.len() == 1 {
                    c.set(pts[0].0, pts[0].1);
                }
            }
        }
        Kind::Bars { values, .. } => {
            xr = (0.0, values.len() as f32);
            yr = bounds(values.iter().copied().chain([0.0]));
            let n = values.len().max(1) as u32;
            for (i, &v) in values.iter().enumerate() {
                let top = H - 1 - scale(v, yr, H);
                let x0 = i as u32 * W / n;
                let x1 = ((i as u32 + 1) * W / n).saturating_sub(1).max(x0);
                for x in x0..=x1 {
                    c.line(x, top, x, H - 1);
                }
            }
        }
        Kind::Images {
            images, captions, ..
        } => return render_images(fig, images, captions),
    }
    let mut out = String::new();
    if !fig.title.is_empty() {
        out.push_str(&fig.title);
        out.push('\n');
    }
    let rows = c.rows();
    for (i, r) in rows.iter().enumerate() {
        let label = if i == 0 {
            format!("{:>10.4} ", yr.1)
        } else if i + 1 == rows.len() {
            format!("{:>10.4} ", yr.0)
        } else {
            " ".repeat(11)
        };
        out.push_str(&label);
        out.push('│');
        out.push_str(r);
        out.push('\n');
    }
    out.push_str(&format!(
        "{}{:<.4}{:>width$.4}\n",
        " ".repeat(12),
        xr.0,
        xr.1,
        width = (W / 2) as usize - 6
    ));
    out
}

/// Images as rows of "▀" with the upper pixel as foreground and the lower as background.
fn render_images(fig: &Figure, images: &[super::spec::Image], captions: &[String]) -> String {
    let mut out = String::new();
    if !fig.title.is_empty() {
        out.push_str(&fig.title);
        out.push('\n');
    }
    for (k, img) in images.iter().enumerate().take(16) {
        if let Some(c) = captions.get(k) {
            out.push_str(c);
            out.push('\n');
        }
        for y in (0..img.height).step_by(2) {
            for x in 0..img.width {
                let (r, g, b) = img.rgb(y, x);
                let (r2, g2, b2) = if y + 1 < img.height {
                    img.rgb(y + 1, x)
                } else {
                    (0, 0, 0)
                };
                out.push_str(&format!("\x1b[38;2;{r};{g};{b}m\x1b[48;2;{r2};{g2};{b2}m▀"));
            }
            out.push_str("\x1b[0m\n");
        }
    }
    out
}

/// The kitty graphics escape sequence that shows a PNG file's bytes.
pub fn kitty_sequence(png: &[u8]) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let chunks: Vec<&str> = data
        .as_bytes()
        .chunks(4096)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    let mut out = String::new();
    for (i, ch) in chunks.iter().enumerate() {
        let more = if i + 1 < chunks.len() { 1 } else { 0 };
        if i == 0 {
            out.push_str(&format!("\x1b_Ga=T,f=100,m={more};{ch}\x1b\\"));
        } else {
            out.push_str(&format!("\x1b_Gm={more};{ch}\x1b\\"));
        }
    }
    out.push('\n');
    out
}
