//! Where figures go: `EMBER_PLOTS` or the working directory, a given name or the next free
//! `figure-NNN`, as PNG and/or SVG.

use super::draw::draw;
use super::spec::Figure;
use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// File formats to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Png,
    Svg,
    Both,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        Ok(match s {
            "png" => Format::Png,
            "svg" => Format::Svg,
            "both" => Format::Both,
            other => bail!("plot: format must be \"png\", \"svg\" or \"both\", got {other:?}"),
        })
    }
}

/// The folder figures are written to.
pub fn plots_dir() -> PathBuf {
    std::env::var_os("EMBER_PLOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The base path (without extension) for a new figure. A relative name stays inside the plot
/// folder (`..` is refused); an absolute one is where it says, if the session may write there.
fn base_path(dir: &Path, name: Option<&str>) -> Result<PathBuf> {
    if let Some(n) = name {
        let p = Path::new(n);
        if n.is_empty() || p.components().any(|c| c == std::path::Component::ParentDir) {
            bail!(
                "plot: the name {n:?} must stay inside the plot folder {} (no `..`)",
                dir.display()
            );
        }
        return Ok(dir.join(n));
    }
    Ok((1..10_000)
        .map(|i| dir.join(format!("figure-{i:03}")))
        .find(|p| !p.with_extension("png").exists() && !p.with_extension("svg").exists())
        .unwrap_or_else(|| dir.join("figure")))
}

/// Writes the figure; returns the files written (PNG first).
pub fn save(fig: &Figure, name: Option<&str>, format: Format) -> Result<Vec<PathBuf>> {
    let dir = plots_dir();
    crate::files::create_dir_all("plot", &dir)?;
    let (name, format) = match name.map(|n| (n, Path::new(n).extension().and_then(|e| e.to_str())))
    {
        Some((n, Some("png"))) => (Some(&n[..n.len() - 4]), Format::Png),
        Some((n, Some("svg"))) => (Some(&n[..n.len() - 4]), Format::Svg),
        Some((n, _)) => (Some(n), format),
        None => (None, format),
    };
    let base = base_path(&dir, name)?;
    let mut out = Vec::new();
    let size = (fig.width.clamp(100, 8000), fig.height.clamp(100, 8000));
    if matches!(format, Format::Png | Format::Both) {
        let p = with_extension(&base, "png");
        crate::files::write_atomic_with("plot", &p, |tmp| {
            draw(BitMapBackend::new(tmp, size).into_drawing_area(), fig)
                .with_context(|| format!("plot: writing {}", p.display()))
        })?;
        out.push(p);
    }
    if matches!(format, Format::Svg | Format::Both) {
        let p = with_extension(&base, "svg");
        crate::files::write_atomic_with("plot", &p, |tmp| {
            draw(SVGBackend::new(tmp, size).into_drawing_area(), fig)
                .with_context(|| format!("plot: writing {}", p.display()))
        })?;
        out.push(p);
    }
    Ok(out)
}

/// `base` with `.ext` appended (a name like `run.1` keeps its dot).
fn with_extension(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}
