//! Interval-estimate plots (rliable's `plot_interval_estimates`): one panel per
//! aggregate (mean, median, IQM, optimality gap), one row per agent, a bar
//! from the lower to the upper end of its 95 % interval and a tick at the estimate.

use std::path::Path;

use plotters::prelude::*;

use super::lines::PALETTE;
use super::{render_png, FONT};
use crate::Result;

/// One point estimate and its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The estimate.
    pub estimate: f64,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// Draw four interval estimates per agent (mean, median, IQM, optimality gap, in that
/// order) to a PNG at `path` (atomically).
pub fn render_intervals(path: &Path, title: &str, aggs: &[(String, [Interval; 4])]) -> Result<()> {
    let n = aggs.len().max(1);
    let height = 140 + 60 * n as u32;
    render_png(path, (1400, height), |root| {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let (top, body) = root.split_vertically(50);
        top.draw(&Text::new(title.to_string(), (20, 12), (FONT, 26).into_font())).map_err(|x| e(&x))?;
        let panels = body.split_evenly((1, 4));
        let names = ["Mean", "Median", "IQM", "Optimality gap"];
        for (p, (area, name)) in panels.iter().zip(names).enumerate() {
            let pick = |a: &[Interval; 4]| -> Interval { a[p] };
            let (lo, hi) = super::axis::fit_range(
                aggs.iter().flat_map(|(_, a)| {
                    let i = pick(a);
                    [i.lo, i.estimate, i.hi]
                }),
                false,
            )
            .unwrap_or((0.0, 1.0));
            let xa = super::axis::Axis::new(lo, hi, false);
            let left = if p == 0 { 150 } else { 10 };
            let mut chart = ChartBuilder::on(area)
                .caption(name, (FONT, 20))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(left)
                .build_cartesian_2d(xa.linear(), 0f64..n as f64)
                .map_err(|x| e(&x))?;
            let labels: Vec<String> = aggs.iter().map(|a| a.0.clone()).collect();
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n * 2 + 1)
                .x_label_formatter(&|x| xa.label(*x))
                .y_label_formatter(&|y| {
                    let k = (y - 0.5).round();
                    if p == 0 && (y - 0.5 - k).abs() < 1e-9 && k >= 0.0 && (k as usize) < labels.len() {
                        labels[labels.len() - 1 - k as usize].clone()
                    } else {
                        String::new()
                    }
                })
                .label_style((FONT, 15))
                .draw()
                .map_err(|x| e(&x))?;
            for (k, (_, a)) in aggs.iter().enumerate() {
                let i = pick(a);
                let c = |v: f64| if v.is_nan() { v } else { v.clamp(xa.lo, xa.hi) };
                let i = Interval { estimate: c(i.estimate), lo: c(i.lo), hi: c(i.hi) };
                let y = (n - 1 - k) as f64 + 0.5;
                let color = PALETTE[k % PALETTE.len()];
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(i.lo, y - 0.3), (i.hi, y + 0.3)],
                        color.mix(0.6).filled(),
                    )))
                    .map_err(|x| e(&x))?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(i.estimate, y - 0.35), (i.estimate, y + 0.35)],
                        ShapeStyle::from(&BLACK).stroke_width(2),
                    )))
                    .map_err(|x| e(&x))?;
            }
        }
        Ok(())
    })
}
