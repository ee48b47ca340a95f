//! Line charts: several series on one chart, optional log axes, optional
//! shaded bands (a `Polygon` of the upper curve followed by the reversed lower
//! curve) and horizontal reference lines.

use std::path::Path;

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use super::{render_png, FONT};
use crate::Result;

/// The tab10 palette, used in series order.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One line of a [`LineChart`].
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
    /// Optional band: (x, lower, upper) points.
    pub band: Vec<(f64, f64, f64)>,
    /// Dashed line (drawn as short segments).
    pub dashed: bool,
}

/// A chart description.
///
/// ```no_run
/// use rlkit::plot::lines::{LineChart, Series};
/// let chart = LineChart {
///     title: "Convergence".into(),
///     x_label: "iteration".into(),
///     y_label: "error".into(),
///     log_y: true,
///     series: vec![Series { label: "VI".into(), points: vec![(1.0, 1.0), (2.0, 0.1)], ..Default::default() }],
///     ..Default::default()
/// };
/// chart.render("plot.png".as_ref()).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis (non-positive values are dropped).
    pub log_y: bool,
    /// The series.
    pub series: Vec<Series>,
    /// Horizontal reference lines: (y, label).
    pub hlines: Vec<(f64, String)>,
    /// Image size in pixels (default 900×600).
    pub size: Option<(u32, u32)>,
    /// Fixed y range (lines outside it are clipped), instead of fitting the data.
    pub y_range: Option<(f64, f64)>,
}

/// Draw the grid, tick labels and axis descriptions in rlkit's style.
pub fn draw_mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    x_fmt: &dyn Fn(&f64) -> String,
    y_fmt: &dyn Fn(&f64) -> String,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draw the series legend in rlkit's style at `pos`.
pub fn draw_legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pos: SeriesLabelPosition,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 15))
        .draw()
        .map_err(|e| e.to_string())
}

/// A compact tick label: `12`, `0.25`, `1e-6`.
pub fn fmt_tick(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{x:.0e}");
        return s;
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn finite_range(vals: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in vals {
        if v.is_finite() && (!log || v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return None;
    }
    if log {
        if hi <= lo {
            return Some((lo / 2.0, hi * 2.0));
        }
        return Some((lo / 1.5, hi * 1.5));
    }
    if hi - lo < 1e-12 {
        let pad = lo.abs().max(1.0) * 0.05;
        return Some((lo - pad, hi + pad));
    }
    let pad = (hi - lo) * 0.05;
    Some((lo - pad, hi + pad))
}

impl LineChart {
    /// Render to a PNG at `path` (atomically).
    pub fn render(&self, path: &Path) -> Result<()> {
        let size = self.size.unwrap_or((900, 600));
        render_png(path, size, |root| self.draw(root).map_err(|e| e.to_string()))
    }

    fn draw(&self, root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> std::result::Result<(), String> {
        let keep_x = |x: f64| x.is_finite() && (!self.log_x || x > 0.0);
        let keep_y = |y: f64| y.is_finite() && (!self.log_y || y > 0.0);
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.0).chain(s.band.iter().map(|b| b.0)));
        let ys =
            self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1).chain(s.band.iter().flat_map(|b| [b.1, b.2])));
        let ys: Vec<f64> = ys.chain(self.hlines.iter().map(|h| h.0)).collect();
        let (x0, x1) = finite_range(xs, self.log_x).unwrap_or((0.0, 1.0));
        let (y0, y1) = match self.y_range {
            Some(r) if r.0 < r.1 && (!self.log_y || r.0 > 0.0) => r,
            _ => finite_range(ys.into_iter(), self.log_y).unwrap_or((0.1, 1.0)),
        };
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let mut builder = ChartBuilder::on(root);
        builder.caption(&self.title, (FONT, 26)).margin(18).x_label_area_size(50).y_label_area_size(80);
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                draw_mesh(&mut chart, &self.x_label, &self.y_label, &|x| fmt_tick(*x), &|y| fmt_tick(*y))?;
                for (i, s) in self.series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    let band: Vec<(f64, f64, f64)> =
                        s.band.iter().copied().filter(|b| keep_x(b.0) && keep_y(b.1) && keep_y(b.2)).collect();
                    if band.len() > 1 {
                        let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.2)).collect();
                        poly.extend(band.iter().rev().map(|b| (b.0, b.1)));
                        chart
                            .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
                            .map_err(|x| e(&x))?;
                    }
                    let pts: Vec<(f64, f64)> =
                        s.points.iter().copied().filter(|p| keep_x(p.0) && keep_y(p.1)).collect();
                    let style = ShapeStyle::from(&color).stroke_width(2);
                    let anno = if s.dashed {
                        let segs: Vec<Vec<(f64, f64)>> = pts.chunks(2).map(<[_]>::to_vec).collect();
                        chart
                            .draw_series(segs.into_iter().map(move |seg| PathElement::new(seg, style)))
                            .map_err(|x| e(&x))?
                    } else {
                        chart.draw_series(LineSeries::new(pts, style)).map_err(|x| e(&x))?
                    };
                    if !s.label.is_empty() {
                        anno.label(s.label.clone()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], ShapeStyle::from(&color).stroke_width(3))
                        });
                    }
                }
                for (j, (y, label)) in self.hlines.iter().enumerate() {
                    if !keep_y(*y) {
                        continue;
                    }
                    let style = ShapeStyle::from(&BLACK.mix(0.7)).stroke_width(1);
                    let n = 60;
                    let segs: Vec<Vec<(f64, f64)>> = (0..n)
                        .step_by(2)
                        .map(|k| {
                            let at = |t: f64| if self.log_x { x0 * (x1 / x0).powf(t) } else { x0 + (x1 - x0) * t };
                            vec![(at(k as f64 / n as f64), *y), (at((k + 1) as f64 / n as f64), *y)]
                        })
                        .collect();
                    let anno = chart
                        .draw_series(segs.into_iter().map(move |s| PathElement::new(s, style)))
                        .map_err(|x| e(&x))?;
                    if !label.is_empty() {
                        let _ = j;
                        anno.label(label.clone())
                            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                    }
                }
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }};
        }
        match (self.log_x, self.log_y) {
            (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(|x| e(&x))?),
            (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(|x| e(&x))?),
            (true, false) => finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(|x| e(&x))?),
            (true, true) => {
                finish!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()).map_err(|x| e(&x))?)
            }
        }
        Ok(())
    }
}
