//! Grouped bar charts: one group per category (e.g. a head), one coloured bar
//! per series inside each group (e.g. "train PA"), optional error whiskers.
//!
//! Group names are drawn once, centred under their group, so tick labels are
//! unique; the y axis uses [`super::axis::Axis`] (rlkit's one tick formatter).
//!
//! ```no_run
//! use rlkit::plot::bars::{BarChart, BarSeries};
//! let chart = BarChart {
//!     title: "Heads".into(),
//!     y_label: "score".into(),
//!     groups: vec!["softmax".into(), "arcface".into()],
//!     series: vec![BarSeries { label: "PA".into(), values: vec![0.9, 0.8], errors: None }],
//!     y_range: Some((0.0, 1.0)),
//!     ..Default::default()
//! };
//! chart.render("bars.png".as_ref()).unwrap();
//! ```

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{check_range, drawable, Axis};
use super::lines::{draw_legend, PALETTE};
use super::{render_png, FONT};
use crate::{Error, Result};

/// One series: a value (and optional ± error) per group.
#[derive(Debug, Clone, Default)]
pub struct BarSeries {
    /// Legend label.
    pub label: String,
    /// One value per group (NaN: no bar).
    pub values: Vec<f64>,
    /// Optional half-widths of error whiskers, one per group.
    pub errors: Option<Vec<f64>>,
}

/// A grouped bar chart.
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Group names (x categories), in order; must be distinct.
    pub groups: Vec<String>,
    /// The series (bars within a group).
    pub series: Vec<BarSeries>,
    /// Fixed y range instead of fitting `[min(0, data), max data]`.
    pub y_range: Option<(f64, f64)>,
    /// Image size in pixels (default 1000×600).
    pub size: Option<(u32, u32)>,
}

impl BarChart {
    /// Render to a PNG at `path` (atomically).
    ///
    /// # Errors
    /// No groups or series, a series of the wrong length, duplicate group
    /// names, no finite value, or a write failure.
    pub fn render(&self, path: &Path) -> Result<()> {
        let ng = self.groups.len();
        if ng == 0 || self.series.is_empty() {
            return Err(Error::input(format!("{}: a bar chart needs groups and series", path.display())));
        }
        if self.series.iter().any(|s| s.values.len() != ng || s.errors.as_ref().is_some_and(|e| e.len() != ng)) {
            return Err(Error::internal("bar chart: every series needs one value per group"));
        }
        let mut seen = std::collections::BTreeSet::new();
        if !self.groups.iter().all(|g| seen.insert(g.as_str())) {
            return Err(Error::internal("bar chart: group names must be distinct"));
        }
        let vals: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| {
                s.values.iter().enumerate().map(move |(i, v)| v + s.errors.as_ref().map_or(0.0, |e| e[i].abs()))
            })
            .filter(|v| drawable(*v, false))
            .collect();
        if let Some((lo, hi)) = self.y_range {
            check_range("y_range", lo, hi, false).map_err(Error::input)?;
        }
        if vals.is_empty() {
            return Err(Error::internal("bar chart: no finite values to draw"));
        }
        let size = self.size.unwrap_or((1000, 600));
        render_png(path, size, |root| self.draw(root, &vals))
    }

    fn draw(
        &self,
        root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        vals: &[f64],
    ) -> std::result::Result<(), String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let ng = self.groups.len();
        let ns = self.series.len();
        let ya = match self.y_range {
            Some(r) => Axis::new(r.0, r.1, false),
            None => {
                let lo = vals.iter().copied().fold(0.0f64, f64::min);
                let hi = vals.iter().copied().fold(0.0f64, f64::max);
                let pad = (hi - lo).abs() * 0.08;
                Axis::new(lo, hi + pad, false)
            }
        };
        let (y0, y1) = (ya.lo, ya.hi);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 26))
            .margin(18)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..ng as f64, ya.linear())
            .map_err(|x| e(&x))?;
        // No x ticks: group names are drawn once, centred, below the axis.
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_label.as_str())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|y| ya.label(*y))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|x| e(&x))?;
        let slot = 0.8 / ns as f64;
        for (k, s) in self.series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = s
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| drawable(**v, false))
                .map(|(g, &v)| {
                    let x0 = g as f64 + 0.1 + k as f64 * slot;
                    let v = v.clamp(y0, y1);
                    Rectangle::new([(x0, y0.max(0.0).min(v)), (x0 + slot * 0.9, v.max(y0.max(0.0)))], color.filled())
                })
                .collect();
            let anno = chart.draw_series(bars).map_err(|x| e(&x))?;
            anno.label(s.label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
            if let Some(errs) = &s.errors {
                let whiskers: Vec<PathElement<(f64, f64)>> = s
                    .values
                    .iter()
                    .zip(errs)
                    .enumerate()
                    .filter(|(_, (v, d))| drawable(**v, false) && drawable(**d, false) && **d > 0.0)
                    .map(|(g, (&v, &d))| {
                        let xm = g as f64 + 0.1 + (k as f64 + 0.45) * slot;
                        PathElement::new(vec![(xm, (v - d).max(y0)), (xm, (v + d).min(y1))], BLACK.stroke_width(2))
                    })
                    .collect();
                chart.draw_series(whiskers).map_err(|x| e(&x))?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (g, name) in self.groups.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(g as f64 + 0.5, y0));
            root.draw(&Text::new(name.clone(), (px, py + 8), style.clone())).map_err(|x| e(&x))?;
        }
        Ok(())
    }
}
