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

use super::axis::{drawable, fit_range, Axis};
use super::lines::{best_legend_corner, draw_legend, draw_mesh, PALETTE};
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
        if !p.points.iter().any(|q| drawable(q.0, false) && drawable(q.1, false)) {
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
            let pts: Vec<&(f64, f64, usize)> =
                p.points.iter().filter(|q| drawable(q.0, false) && drawable(q.1, false)).collect();
            let (x0, x1) = fit_range(pts.iter().map(|q| q.0), false).unwrap_or((0.0, 1.0));
            let (y0, y1) = fit_range(pts.iter().map(|q| q.1), false).unwrap_or((0.0, 1.0));
            let (xa, ya) = (Axis::new(x0, x1, false), Axis::new(y0, y1, false));
            let mut chart = ChartBuilder::on(area)
                .caption(&p.title, (FONT, 20))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(65)
                .build_cartesian_2d(xa.linear(), ya.linear())
                .map_err(|x| e(&x))?;
            draw_mesh(&mut chart, "PC 1", "PC 2", &xa, &ya)?;
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
            let xy: Vec<(f64, f64)> = pts.iter().map(|q| (q.0, q.1)).collect();
            draw_legend(&mut chart, best_legend_corner(&xy, &xa, &ya, classes.len(), (480, 460)))?;
        }
        Ok(())
    })
}
