//! Scatter panels of 2-D embeddings coloured by class, side by side in one
//! image (e.g. the first two principal components of a network's features,
//! coloured by action, for two heads).
//!
//! ```no_run
//! use rlkit::plot::scatter::{render_scatter_panels, ScatterPanel};
//! let p = ScatterPanel { title: "softmax".into(), points: vec![(0.0, 1.0, 0), (1.0, 0.0, 1)] };
//! render_scatter_panels("emb.png".as_ref(), "Embedding", &["up".into(), "right".into()], &[p]).unwrap();
//! ```

use std::path::Path;

use plotters::prelude::*;

use super::lines::{draw_legend, draw_mesh, fmt_tick, PALETTE};
use super::{render_png, FONT};
use crate::{Error, Result};

/// One panel: a title and points `(x, y, class)`.
#[derive(Debug, Clone, Default)]
pub struct ScatterPanel {
    /// Panel title.
    pub title: String,
    /// Points with their class index (into the class names).
    pub points: Vec<(f64, f64, usize)>,
}

/// Draw `panels` side by side (each 560×520 pixels) under `title`, one colour
/// per class with a legend of `classes`.
///
/// # Errors
/// No panel, a panel without finite points, a class out of range, or a write failure.
pub fn render_scatter_panels(path: &Path, title: &str, classes: &[String], panels: &[ScatterPanel]) -> Result<()> {
    if panels.is_empty() {
        return Err(Error::internal("scatter: no panels"));
    }
    for p in panels {
        if !p.points.iter().any(|q| q.0.is_finite() && q.1.is_finite()) {
            return Err(Error::internal(format!("scatter: panel `{}` has no finite points", p.title)));
        }
        if p.points.iter().any(|q| q.2 >= classes.len()) {
            return Err(Error::internal("scatter: class index out of range"));
        }
    }
    let size = (560 * panels.len() as u32, 580);
    render_png(path, size, |root| {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let root = root.titled(title, (FONT, 24)).map_err(|x| e(&x))?;
        let areas = root.split_evenly((1, panels.len()));
        for (area, p) in areas.iter().zip(panels) {
            let pts: Vec<&(f64, f64, usize)> = p.points.iter().filter(|q| q.0.is_finite() && q.1.is_finite()).collect();
            let range = |f: &dyn Fn(&(f64, f64, usize)) -> f64| {
                let lo = pts.iter().map(|q| f(q)).fold(f64::INFINITY, f64::min);
                let hi = pts.iter().map(|q| f(q)).fold(f64::NEG_INFINITY, f64::max);
                let pad = ((hi - lo) * 0.06).max(1e-6);
                (lo - pad, hi + pad)
            };
            let (x0, x1) = range(&|q| q.0);
            let (y0, y1) = range(&|q| q.1);
            let mut chart = ChartBuilder::on(area)
                .caption(&p.title, (FONT, 20))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(65)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|x| e(&x))?;
            draw_mesh(&mut chart, "PC 1", "PC 2", &|x| fmt_tick(*x), &|y| fmt_tick(*y))?;
            for (c, name) in classes.iter().enumerate() {
                let color = PALETTE[c % PALETTE.len()];
                let dots: Vec<Circle<(f64, f64), i32>> = pts
                    .iter()
                    .filter(|q| q.2 == c)
                    .map(|q| Circle::new((q.0, q.1), 3, color.mix(0.75).filled()))
                    .collect();
                if dots.is_empty() {
                    continue;
                }
                chart
                    .draw_series(dots)
                    .map_err(|x| e(&x))?
                    .label(name.clone())
                    .legend(move |(x, y)| Circle::new((x + 7, y), 4, color.filled()));
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}
