//! Figures: scatter, line, histogram, bar, images and grids, drawn with plotters into PNG and
//! SVG files and, in a terminal, inline (braille charts; images as half blocks or kitty
//! graphics). `spec` says what a figure shows; `draw` renders it on any plotters backend;
//! `output` names and writes files; `terminal` renders text.

mod draw;
pub mod output;
pub mod spec;
pub mod terminal;

pub use output::{Format, plots_dir, save};
pub use spec::{Figure, Image, Kind, Markers, Series, histogram};

use anyhow::Result;
use std::path::PathBuf;

/// Writes the figure, prints where, and shows it inline when enabled. Returns the paths.
pub fn show(fig: &Figure, name: Option<&str>, format: Format) -> Result<Vec<PathBuf>> {
    let paths = save(fig, name, format)?;
    if terminal::inline_enabled() {
        let png = paths
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "png"));
        match (terminal::kitty_graphics(), png) {
            (true, Some(p)) => {
                if let Ok(bytes) = std::fs::read(p) {
                    print!("{}", terminal::kitty_sequence(&bytes));
                }
            }
            _ => print!("{}", terminal::render(fig)),
        }
    }
    for p in &paths {
        println!("figure: {}", p.display());
    }
    Ok(paths)
}
