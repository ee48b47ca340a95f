//! PNG plots, drawn with plotters and the vendored DejaVu Sans font.
//!
//! Plots render on machines with no system fonts: [`ensure_font`] registers
//! the font bundled in `assets/fonts/` with plotters' `ab_glyph` backend before
//! any text is drawn. Every plot is rendered to a hidden temporary file and
//! renamed into place, so a finished plot is never half-written.
//!
//! Every plot takes plain data (numbers, labels, [`grid::GridMap`],
//! [`sa::SaSeries`]): this module imports neither agents nor envs. Axis
//! ranges and tick labels all go through [`axis`], so a non-finite or absurd
//! range is refused or clamped before it reaches plotters.

use std::path::Path;
use std::sync::OnceLock;

use crate::{Error, Result};

/// The vendored font (DejaVu Sans, see `assets/fonts/LICENSE-DejaVu.txt`).
pub static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The font family name every rlkit plot uses.
pub const FONT: &str = "sans-serif";

/// Register the vendored font with plotters (idempotent, thread-safe).
pub fn ensure_font() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for style in [
            plotters::style::FontStyle::Normal,
            plotters::style::FontStyle::Bold,
            plotters::style::FontStyle::Italic,
            plotters::style::FontStyle::Oblique,
        ] {
            plotters::style::register_font(FONT, style, FONT_BYTES)
                .map_err(|_| "the vendored font could not be loaded".to_string())?;
        }
        Ok(())
    })
    .clone()
    .map_err(Error::internal)
}

/// Render a PNG of `size` pixels with `draw`, atomically, to `path`.
///
/// `draw` receives the root drawing area; the file is written to a temporary
/// sibling and renamed over `path` only once `present()` has succeeded.
pub fn render_png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(
        &plotters::drawing::DrawingArea<plotters::backend::BitMapBackend<'_>, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>,
{
    use plotters::prelude::*;
    ensure_font()?;
    // A hidden temporary file beside `path`, removed when dropped unless persisted.
    let tmp = crate::util::temp_beside(path)
        .map_err(|e| Error::input(format!("{}: cannot write plot: {e}", path.display())))?;
    let result = (|| -> std::result::Result<(), String> {
        let root = BitMapBackend::new(tmp.path(), size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
        Ok(())
    })();
    match result {
        // Flush the finished image to disk before it takes the final name.
        Ok(()) => std::fs::File::open(tmp.path())
            .and_then(|f| f.sync_all())
            .and_then(|_| tmp.persist(path).map(drop).map_err(|e| e.error))
            .map_err(|e| Error::input(format!("{}: cannot write plot: {e}", path.display()))),
        Err(e) => Err(Error::input(format!("{}: cannot draw plot: {e}", path.display()))),
    }
}

pub mod axis;
pub mod bands;
pub mod bars;
pub mod grid;
pub mod intervals;
pub mod learning;
pub mod lines;
pub mod sa;
pub mod scatter;
