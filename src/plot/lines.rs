//! Line charts: several series on one chart, optional log axes, optional
//! shaded bands (a `Polygon` of the upper curve followed by the reversed lower
//! curve) and horizontal reference lines.
//!
//! Series that lie on top of each other stay distinguishable: series `i`
//! gets colour `PALETTE[i]`, dash pattern [`DASHES`]`[i]` and marker shape
//! `i` (markers at staggered positions along each line), and the legend shows
//! all three. The legend goes in the corner of the plot area that covers the
//! fewest data points. A fixed `y_range` that cuts data off marks each cut
//! point with a triangle on the edge and says so in the legend. A chart with
//! nothing drawable says so in the plot area instead of showing an empty frame.

use std::path::Path;

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use super::axis::{check_range, drawable, fit_range, Axis};
use super::{render_png, FONT};
use crate::{Error, Result};

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
    /// Force a dashed line (otherwise the dash pattern follows the series index).
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
    /// Fixed y range (lines outside it are clipped and marked), instead of
    /// fitting the data. Checked with [`check_range`]: it must be finite,
    /// increasing, within ±[`super::axis::MAX_ABS`] and (log axis) positive.
    pub y_range: Option<(f64, f64)>,
    /// The config key named when `y_range` is refused (default `"y_range"`).
    pub y_range_key: String,
}

/// Dash patterns (dash, gap) in pixels, by series index; `None` is solid.
pub const DASHES: [Option<(i32, i32)>; 6] =
    [None, Some((12, 6)), Some((3, 4)), Some((22, 7)), Some((7, 3)), Some((16, 4))];

/// The marker of series `i`, a filled polygon of `r` pixels around the point
/// (octagon, triangle, square, diamond, inverted triangle, hexagon).
pub fn marker_shape(i: usize, r: i32) -> Vec<(i32, i32)> {
    let poly = |n: usize, phase: f64| -> Vec<(i32, i32)> {
        (0..n)
            .map(|k| {
                let a = phase + std::f64::consts::TAU * k as f64 / n as f64;
                ((r as f64 * a.cos()).round() as i32, (r as f64 * a.sin()).round() as i32)
            })
            .collect()
    };
    let h = std::f64::consts::FRAC_PI_2;
    match i % 6 {
        0 => poly(8, std::f64::consts::PI / 8.0),
        1 => poly(3, -h),
        2 => vec![(-r, -r), (r, -r), (r, r), (-r, r)],
        3 => poly(4, 0.0),
        4 => poly(3, h),
        _ => poly(6, 0.0),
    }
}

/// Draw the grid, tick labels and axis descriptions in rlkit's style. The
/// tick labels are the axes' own ([`Axis::labels`], one formatter for every
/// axis); build the coordinates with [`Axis::linear`] / [`Axis::logarithmic`].
pub fn draw_mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    x_axis: &Axis,
    y_axis: &Axis,
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
        .x_label_formatter(&|x| x_axis.label(*x))
        .y_label_formatter(&|y| y_axis.label(*y))
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

/// The legend corner that covers the fewest of `points` (data coordinates on
/// `x`, `y`), for a legend of `entries` lines on a plot area of about
/// `plot_px` pixels. Ties go to upper right, upper left, lower right, lower left.
pub fn best_legend_corner(
    points: &[(f64, f64)],
    x: &Axis,
    y: &Axis,
    entries: usize,
    plot_px: (u32, u32),
) -> SeriesLabelPosition {
    let norm = |v: f64, a: &Axis| {
        if a.log {
            (v.ln() - a.lo.ln()) / (a.hi.ln() - a.lo.ln())
        } else {
            (v - a.lo) / (a.hi - a.lo)
        }
    };
    let h = ((entries as f64 * 22.0 + 16.0) / plot_px.1.max(1) as f64).clamp(0.1, 1.0);
    let w = (280.0 / plot_px.0.max(1) as f64).clamp(0.1, 1.0);
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for (pos, right, upper) in corners {
        let n = points
            .iter()
            .filter(|p| {
                let (u, v) = (norm(p.0, x), norm(p.1, y));
                let in_x = if right { u >= 1.0 - w } else { u <= w };
                let in_y = if upper { v >= 1.0 - h } else { v <= h };
                in_x && in_y
            })
            .count();
        if n < best.0 {
            best = (n, pos);
        }
    }
    best.1
}

/// The one tick formatter of rlkit plots for a lone value (legend text,
/// annotations): the label [`super::axis::tick_labels`] gives it on its own.
pub fn fmt_tick(x: f64) -> String {
    super::axis::tick_labels(&[x]).remove(0)
}

/// Split a polyline at the edges of `y` (in the axis' own scale) so nothing
/// is drawn outside the plot; non-drawable points break the line.
pub fn clip_to(points: &[(f64, f64)], y: &Axis) -> Vec<Vec<(f64, f64)>> {
    clip_to_box(points, None, y)
}

/// Split a polyline at the edges of the box `x` × `y` (each in its own
/// scale; `x = None`: no limit across) so that nothing is drawn outside it:
/// plotters would pin points outside the plot to its border, drawing
/// segments that are not in the data. Each segment is clipped exactly
/// (Liang–Barsky); non-drawable points break the line.
pub fn clip_to_box(points: &[(f64, f64)], x: Option<&Axis>, y: &Axis) -> Vec<Vec<(f64, f64)>> {
    let xlog = x.is_some_and(|a| a.log);
    let fwd = |v: f64, log: bool| if log { v.ln() } else { v };
    let inv = |v: f64, log: bool| if log { v.exp() } else { v };
    let (xlo, xhi) = x.map_or((f64::NEG_INFINITY, f64::INFINITY), |a| (fwd(a.lo, a.log), fwd(a.hi, a.log)));
    let (ylo, yhi) = (fwd(y.lo, y.log), fwd(y.hi, y.log));
    let inside = |q: (f64, f64)| q.0 >= xlo && q.0 <= xhi && q.1 >= ylo && q.1 <= yhi;
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut cur: Vec<(f64, f64)> = vec![];
    let mut prev: Option<(f64, f64)> = None;
    for &(px, py) in points {
        if !(drawable(px, xlog) && drawable(py, y.log)) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        let q = (fwd(px, xlog), fwd(py, y.log));
        if let Some(p) = prev {
            // The part s ∈ [a, b] of the segment p + s·(q − p) inside the box.
            let (mut a, mut b) = (0.0f64, 1.0f64);
            for (d, start, lo, hi) in [(q.0 - p.0, p.0, xlo, xhi), (q.1 - p.1, p.1, ylo, yhi)] {
                if d == 0.0 {
                    if start < lo || start > hi {
                        (a, b) = (1.0, 0.0);
                    }
                    continue;
                }
                let (s_lo, s_hi) = ((lo - start) / d, (hi - start) / d);
                let (enter, leave) = if d > 0.0 { (s_lo, s_hi) } else { (s_hi, s_lo) };
                a = a.max(enter);
                b = b.min(leave);
            }
            if a <= b {
                let at = |s: f64| (inv(p.0 + (q.0 - p.0) * s, xlog), inv(p.1 + (q.1 - p.1) * s, y.log));
                if a > 0.0 || cur.is_empty() {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    cur.push(at(a));
                }
                cur.push(at(b));
                if b < 1.0 {
                    out.push(std::mem::take(&mut cur));
                }
            } else if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if inside(q) {
            cur.push((px, py));
        }
        prev = Some(q);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl LineChart {
    /// Render to a PNG at `path` (atomically).
    ///
    /// # Errors
    /// A `y_range` that is not finite, not increasing, beyond ±1e300 or (log
    /// axis) not positive is refused with a message naming `y_range_key`;
    /// a write failure.
    pub fn render(&self, path: &Path) -> Result<()> {
        if let Some((lo, hi)) = self.y_range {
            let key = if self.y_range_key.is_empty() { "y_range" } else { self.y_range_key.as_str() };
            check_range(key, lo, hi, self.log_y).map_err(Error::input)?;
        }
        let size = self.size.unwrap_or((900, 600));
        render_png(path, size, |root| self.draw(root, size).map_err(|e| e.to_string()))
    }

    fn draw(
        &self,
        root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        size: (u32, u32),
    ) -> std::result::Result<(), String> {
        let keep_x = |x: f64| drawable(x, self.log_x);
        let keep_y = |y: f64| drawable(y, self.log_y);
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.0).chain(s.band.iter().map(|b| b.0)));
        let ys =
            self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1).chain(s.band.iter().flat_map(|b| [b.1, b.2])));
        let ys: Vec<f64> = ys.chain(self.hlines.iter().map(|h| h.0)).collect();
        let (x0, x1) = fit_range(xs, self.log_x).unwrap_or((1.0, 10.0));
        let xa = Axis::new(x0, x1, self.log_x);
        let ya = match self.y_range {
            Some(r) => Axis::new(r.0, r.1, self.log_y),
            None => {
                let (y0, y1) = fit_range(ys, self.log_y).unwrap_or((0.1, 1.0));
                Axis::new(y0, y1, self.log_y)
            }
        };
        // Every drawable point (for the legend placement and the empty check).
        let mut all: Vec<(f64, f64)> = vec![];
        let mut clipped = 0usize;
        for s in &self.series {
            for &(x, y) in &s.points {
                if keep_x(x) && keep_y(y) {
                    if ya.contains(y) {
                        all.push((x, y));
                    } else {
                        clipped += 1;
                    }
                }
            }
            for &(x, lo, hi) in &s.band {
                if keep_x(x) {
                    all.extend([lo, hi].into_iter().filter(|v| keep_y(*v) && ya.contains(*v)).map(|v| (x, v)));
                }
            }
        }
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let mut builder = ChartBuilder::on(root);
        builder.caption(&self.title, (FONT, 26)).margin(18).x_label_area_size(50).y_label_area_size(80);
        let n_series = self.series.len().max(1);
        let entries = self.series.iter().filter(|s| !s.label.is_empty()).count()
            + self.hlines.iter().filter(|h| !h.1.is_empty()).count()
            + usize::from(clipped > 0);
        let legend_pos =
            best_legend_corner(&all, &xa, &ya, entries, (size.0.saturating_sub(120), size.1.saturating_sub(120)));
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                draw_mesh(&mut chart, &self.x_label, &self.y_label, &xa, &ya)?;
                for (i, s) in self.series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    let band: Vec<(f64, f64, f64)> = s
                        .band
                        .iter()
                        .copied()
                        .filter(|b| keep_x(b.0) && keep_y(b.1) && keep_y(b.2))
                        .map(|b| (b.0, b.1.clamp(ya.lo, ya.hi), b.2.clamp(ya.lo, ya.hi)))
                        .collect();
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
                    let dash = match DASHES[i % DASHES.len()] {
                        None if s.dashed => Some((12, 6)),
                        d => d,
                    };
                    for seg in clip_to(&pts, &ya) {
                        match dash {
                            None => chart.draw_series(LineSeries::new(seg, style)).map_err(|x| e(&x))?,
                            Some((on, off)) => {
                                chart.draw_series(DashedLineSeries::new(seg, on, off, style)).map_err(|x| e(&x))?
                            }
                        };
                    }
                    // Markers at staggered places along the line (all points when few).
                    let inside: Vec<(f64, f64)> = pts.iter().copied().filter(|p| ya.contains(p.1)).collect();
                    let marks: Vec<(f64, f64)> = if inside.len() <= 12 {
                        inside.clone()
                    } else {
                        let n = inside.len();
                        let stride = n / 8;
                        let phase = stride * i / n_series;
                        (0..8).map(|k| inside[(phase + k * stride).min(n - 1)]).collect()
                    };
                    // Points cut off by a fixed y range: a triangle on the edge.
                    let cut: Vec<(f64, f64)> = pts.iter().copied().filter(|p| !ya.contains(p.1)).collect();
                    let step = (cut.len() / 40).max(1);
                    let up = vec![(0, -6), (-5, 3), (5, 3)];
                    let down = vec![(0, 6), (-5, -3), (5, -3)];
                    chart
                        .draw_series(cut.iter().step_by(step).map(|p| {
                            let (at, tri) =
                                if p.1 > ya.hi { ((p.0, ya.hi), up.clone()) } else { ((p.0, ya.lo), down.clone()) };
                            EmptyElement::at(at) + Polygon::new(tri, color.filled())
                        }))
                        .map_err(|x| e(&x))?;
                    let shape = marker_shape(i, 5);
                    let anno = chart
                        .draw_series(
                            marks
                                .into_iter()
                                .map(|p| EmptyElement::at(p) + Polygon::new(shape.clone(), color.filled())),
                        )
                        .map_err(|x| e(&x))?;
                    if !s.label.is_empty() {
                        let xs_ok = |p: &&(f64, f64)| keep_x(p.0);
                        let nonpos = s.points.iter().filter(xs_ok).filter(|p| self.log_y && p.1 <= 0.0).count();
                        let wild =
                            s.points.iter().filter(xs_ok).filter(|p| !p.1.is_nan() && !drawable(p.1, false)).count();
                        let mut why = vec![];
                        if nonpos > 0 {
                            why.push(format!("{nonpos} <= 0 not on the log axis"));
                        }
                        if wild > 0 {
                            why.push(format!("{wild} beyond ±1e300 not drawn"));
                        }
                        let label =
                            if why.is_empty() { s.label.clone() } else { format!("{} ({})", s.label, why.join(", ")) };
                        let shape = marker_shape(i, 5);
                        anno.label(label).legend(move |(x, y)| {
                            // Three pieces of the line's dash pattern, then the marker.
                            let seg = |k: i32| -> Vec<(i32, i32)> {
                                let (a, b) = match dash {
                                    None => (k * 10, k * 10 + 10),
                                    Some((on, off)) => {
                                        let (on, off) = (on.min(9), off.min(5));
                                        (k * (on + off), k * (on + off) + on)
                                    }
                                };
                                vec![(a - 8, 0), (b - 8, 0)]
                            };
                            let st = ShapeStyle::from(&color).stroke_width(2);
                            EmptyElement::at((x, y))
                                + PathElement::new(seg(0), st)
                                + PathElement::new(seg(1), st)
                                + PathElement::new(seg(2), st)
                                + Polygon::new(shape.clone(), color.filled())
                        });
                    }
                }
                for (y, label) in &self.hlines {
                    if !keep_y(*y) || !ya.contains(*y) {
                        continue;
                    }
                    let style = ShapeStyle::from(&BLACK.mix(0.7)).stroke_width(1);
                    let anno = chart
                        .draw_series(DashedLineSeries::new(vec![(xa.lo, *y), (xa.hi, *y)], 6, 6, style))
                        .map_err(|x| e(&x))?;
                    if !label.is_empty() {
                        anno.label(label.clone())
                            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                    }
                }
                if clipped > 0 {
                    let grey = RGBColor(90, 90, 90);
                    chart
                        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                        .map_err(|x| e(&x))?
                        .label(format!(
                            "▲▼ {clipped} point{} outside the fixed y range",
                            if clipped == 1 { "" } else { "s" }
                        ))
                        .legend(move |(x, y)| {
                            EmptyElement::at((x, y))
                                + Polygon::new(vec![(4, -7), (-1, 0), (9, 0)], grey.filled())
                                + Polygon::new(vec![(16, 7), (11, 0), (21, 0)], grey.filled())
                        });
                }
                if all.is_empty() && clipped == 0 {
                    let (px, py) = chart.backend_coord(&(xa.lo, ya.hi));
                    let (qx, qy) = chart.backend_coord(&(xa.hi, ya.lo));
                    let what = if self.log_y {
                        "nothing to draw: every value is zero, negative or not finite (log axis)"
                    } else {
                        "nothing to draw: no finite value"
                    };
                    let style = TextStyle::from((FONT, 18).into_font()).color(&RGBColor(150, 0, 0)).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    );
                    root.draw(&Text::new(what, ((px + qx) / 2, (py + qy) / 2), style)).map_err(|x| e(&x))?;
                } else if entries > 0 {
                    draw_legend(&mut chart, legend_pos)?;
                }
            }};
        }
        match (self.log_x, self.log_y) {
            (false, false) => finish!(builder.build_cartesian_2d(xa.linear(), ya.linear()).map_err(|x| e(&x))?),
            (false, true) => finish!(builder.build_cartesian_2d(xa.linear(), ya.logarithmic()).map_err(|x| e(&x))?),
            (true, false) => finish!(builder.build_cartesian_2d(xa.logarithmic(), ya.linear()).map_err(|x| e(&x))?),
            (true, true) => {
                finish!(builder.build_cartesian_2d(xa.logarithmic(), ya.logarithmic()).map_err(|x| e(&x))?)
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_cuts_lines_at_the_edge() {
        let y = Axis::new(0.0, 1.0, false);
        let segs = clip_to(&[(0.0, 0.0), (1.0, 2.0), (2.0, 0.0)], &y);
        assert_eq!(segs, vec![vec![(0.0, 0.0), (0.5, 1.0)], vec![(1.5, 1.0), (2.0, 0.0)]]);
        // A non-finite point breaks the line.
        assert_eq!(clip_to(&[(0.0, 0.2), (1.0, f64::NAN), (2.0, 0.4), (3.0, 0.6)], &y).len(), 2);
    }

    /// Box clipping, by hand: a segment crossing the box keeps its inside
    /// part; one passing beside the box (which plotters would draw along the
    /// border) is dropped; a segment cutting a corner enters and leaves on
    /// the two edges; a log x axis clips in log space.
    #[test]
    fn box_clipping_keeps_only_what_is_inside() {
        let (x, y) = (Axis::new(0.0, 1.0, false), Axis::new(0.0, 1.0, false));
        // Crossing: (-1, 0.5) → (2, 0.5) keeps (0, 0.5) → (1, 0.5).
        assert_eq!(clip_to_box(&[(-1.0, 0.5), (2.0, 0.5)], Some(&x), &y), vec![vec![(0.0, 0.5), (1.0, 0.5)]]);
        // Entirely above the box: nothing.
        assert!(clip_to_box(&[(-1.0, 3.0), (2.0, 2.0), (0.5, 1.5)], Some(&x), &y).is_empty());
        // Inside, out above, back inside: two pieces cut at y = 1.
        let segs = clip_to_box(&[(0.2, 0.5), (0.4, 1.5), (0.6, 0.5)], Some(&x), &y);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert!((segs[0][1].0 - 0.3).abs() < 1e-12 && segs[0][1].1 == 1.0, "{segs:?}");
        assert!((segs[1][0].0 - 0.5).abs() < 1e-12 && segs[1][0].1 == 1.0, "{segs:?}");
        // Touching a corner only: (-0.5, 0.5) → (0.5, 1.5) meets the box at (0, 1) alone.
        let c = clip_to_box(&[(-0.5, 0.5), (0.5, 1.5)], Some(&x), &y);
        assert_eq!(c, vec![vec![(0.0, 1.0), (0.0, 1.0)]]);
        // A vertical segment left of the box: nothing.
        assert!(clip_to_box(&[(-0.1, 0.2), (-0.1, 0.8)], Some(&x), &y).is_empty());
        // Log x from 1 to 100: (0.1 → 1000, y 0.5) keeps x in [1, 100].
        let lx = Axis::new(1.0, 100.0, true);
        let l = clip_to_box(&[(0.1, 0.5), (1000.0, 0.5)], Some(&lx), &y);
        assert_eq!(l.len(), 1);
        assert!((l[0][0].0 - 1.0).abs() < 1e-9 && (l[0][1].0 - 100.0).abs() < 1e-9, "{l:?}");
        // Without an x limit it is clip_to.
        let pts = [(0.0, 0.0), (1.0, 2.0), (2.0, 0.0)];
        assert_eq!(clip_to_box(&pts, None, &y), clip_to(&pts, &y));
    }

    #[test]
    fn legend_avoids_the_data() {
        let (x, y) = (Axis::new(0.0, 1.0, false), Axis::new(0.0, 1.0, false));
        // A rising line fills the upper right and lower left corners.
        let pts: Vec<(f64, f64)> = (0..=100).map(|i| (i as f64 / 100.0, i as f64 / 100.0)).collect();
        let pos = best_legend_corner(&pts, &x, &y, 3, (800, 500));
        assert!(matches!(pos, SeriesLabelPosition::UpperLeft), "{pos:?}");
        let flat: Vec<(f64, f64)> = (0..=100).map(|i| (i as f64 / 100.0, 0.95)).collect();
        assert!(matches!(best_legend_corner(&flat, &x, &y, 3, (800, 500)), SeriesLabelPosition::LowerRight));
    }
}
