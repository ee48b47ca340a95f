//! Plots of the stochastic approximation lab (`agents::sa`), from plain data:
//! the runner turns each run into an [`SaSeries`] (this module knows no agent).
//!
//! [`plot`] writes, for the runs of one experiment:
//!
//! - `sa_estimate.png` (scalar kinds): the estimate w_k against k, one curve
//!   per agent, with the target w* (true mean or root) as a dashed line;
//! - `sa_error.png` (all kinds): the error |w_k − w*| against k on log-log
//!   axes, with a dotted O(1/√k) reference line c/√k (c fitted to the curve
//!   with the largest final error);
//! - `sa_trajectory.png` (`sgd-mean` kinds, as Zhao Fig. 6.5): the sample set
//!   as dots, the sample mean and the true mean marked, and each variant's
//!   path w_1 → w_2 → ... in the plane (runs of the smallest seed).
//!
//! With several seeds per agent, curves are the mean over seeds with a shaded
//! 95 % bootstrap band ([`crate::plot::bands`], 1000 resamples). Non-finite
//! points (diverged runs) are left out of the curves.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::Axis;
use super::bands::{band_polygon, bootstrap_band, Band, DEFAULT_RESAMPLES};
use super::{render_png, FONT};
use crate::Result;

/// One stochastic-approximation run (one agent, one seed) as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SaSeries {
    /// The agent's label (runs with the same label are one curve over seeds).
    pub label: String,
    /// The run's seed.
    pub seed: u64,
    /// The target w* (one entry per component).
    pub truth: Vec<f64>,
    /// The estimates: `trajectory[k − 1]` = w_k.
    pub trajectory: Vec<Vec<f64>>,
    /// The fixed 2-D sample set (SGD-type runs only; draws `sa_trajectory.png`).
    pub samples: Option<Vec<[f64; 2]>>,
    /// The true mean of the distribution the samples came from, when known.
    pub true_mean: Option<[f64; 2]>,
}

impl SaSeries {
    /// ‖w_{i+1} − w*‖₂ (|w_{i+1} − w*| for scalars).
    pub fn error_at(&self, i: usize) -> f64 {
        self.trajectory[i].iter().zip(&self.truth).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
    }
}

/// The mean of 2-D samples ((0, 0) for none).
fn sample_mean(samples: &[[f64; 2]]) -> [f64; 2] {
    let n = samples.len().max(1) as f64;
    let s = samples.iter().fold([0.0, 0.0], |a, p| [a[0] + p[0], a[1] + p[1]]);
    [s[0] / n, s[1] / n]
}

/// Largest number of points drawn per curve (longer runs are thinned).
const MAX_POINTS: usize = 2000;

/// Seed of the bootstrap stream of the bands.
const BAND_SEED: u64 = 0xBA5D;

use super::lines::{best_legend_corner, draw_legend, draw_mesh, fmt_tick as short, PALETTE};

/// The runs of one agent label, in seed order.
struct Group<'a> {
    label: String,
    color: RGBColor,
    runs: Vec<(u64, &'a SaSeries)>,
}

impl Group<'_> {
    fn seeds(&self) -> usize {
        self.runs.len()
    }
    fn dim(&self) -> usize {
        self.runs[0].1.truth.len()
    }
    /// Mean and band of a per-iteration quantity over this group's seeds,
    /// truncated to the shortest run.
    fn band(&self, f: impl Fn(&SaSeries, usize) -> f64) -> Result<Band> {
        let len = self.runs.iter().map(|(_, r)| r.trajectory.len()).min().unwrap_or(0);
        let curves: Vec<Vec<f64>> = self.runs.iter().map(|(_, r)| (0..len).map(|i| f(r, i)).collect()).collect();
        bootstrap_band(&curves, DEFAULT_RESAMPLES, BAND_SEED)
    }
}

fn group_runs(runs: &[SaSeries]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for run in runs {
        let (label, seed) = (&run.label, &run.seed);
        match groups.iter_mut().find(|g| &g.label == label) {
            Some(g) => g.runs.push((*seed, run)),
            None => {
                let color = PALETTE[groups.len() % PALETTE.len()];
                groups.push(Group { label: label.clone(), color, runs: vec![(*seed, run)] });
            }
        }
    }
    for g in &mut groups {
        g.runs.sort_by_key(|(s, _)| *s);
    }
    groups
}

/// Write the SA plots for all runs of an experiment into `dir` (which must
/// exist). Returns the files written.
///
/// ```no_run
/// # fn main() -> rlkit::Result<()> {
/// use rlkit::plot::sa::{plot, SaSeries};
/// let run = SaSeries {
///     label: "RM".into(),
///     truth: vec![1.0],
///     trajectory: vec![vec![3.0], vec![2.0], vec![1.5], vec![1.2]],
///     ..Default::default()
/// };
/// let files = plot(std::path::Path::new("out"), &[run])?;
/// # Ok(()) }
/// ```
pub fn plot(dir: &Path, runs: &[SaSeries]) -> Result<Vec<PathBuf>> {
    let groups = group_runs(runs);
    let mut written = Vec::new();
    if groups.is_empty() {
        return Ok(written);
    }
    let scalar: Vec<&Group> = groups.iter().filter(|g| g.dim() == 1).collect();
    if !scalar.is_empty() {
        let path = dir.join("sa_estimate.png");
        plot_estimates(&path, &scalar)?;
        written.push(path);
    }
    let all: Vec<&Group> = groups.iter().collect();
    let path = dir.join("sa_error.png");
    plot_errors(&path, &all)?;
    written.push(path);
    let planar: Vec<&Group> = groups.iter().filter(|g| g.dim() == 2 && g.runs[0].1.samples.is_some()).collect();
    if !planar.is_empty() {
        let path = dir.join("sa_trajectory.png");
        plot_trajectories(&path, &planar)?;
        written.push(path);
    }
    Ok(written)
}

/// Indices 0..len to draw: all, or at most MAX_POINTS spaced evenly (linear)
/// or geometrically (log x), always including the first and last.
fn thin(len: usize, log_x: bool) -> Vec<usize> {
    if len <= MAX_POINTS {
        return (0..len).collect();
    }
    let mut idx: Vec<usize> = (0..MAX_POINTS)
        .map(|j| {
            let t = j as f64 / (MAX_POINTS - 1) as f64;
            if log_x {
                ((len as f64).powf(t) - 1.0).round() as usize
            } else {
                (t * (len - 1) as f64).round() as usize
            }
        })
        .collect();
    idx.dedup();
    idx
}

/// Split a curve into runs of finite points (a NaN breaks the line).
fn segments(points: impl Iterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut segs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (x, y) in points {
        if super::axis::drawable(x, false) && super::axis::drawable(y, false) {
            if let Some(s) = segs.last_mut() {
                s.push((x, y));
            }
        } else if !segs.last().is_some_and(|s| s.is_empty()) {
            segs.push(Vec::new());
        }
    }
    segs.retain(|s| !s.is_empty());
    segs
}

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| super::axis::drawable(*v, false)).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - frac * span, hi + frac * span)
}

fn caption(what: &str, groups: &[&Group]) -> String {
    let max_seeds = groups.iter().map(|g| g.seeds()).max().unwrap_or(1);
    if max_seeds > 1 {
        format!("{what} (mean over {max_seeds} seeds, 95% bootstrap CI)")
    } else {
        what.to_string()
    }
}

fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
}

type Root<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn plot_estimates(path: &Path, groups: &[&Group]) -> Result<()> {
    let mut curves = Vec::new();
    for g in groups {
        curves.push(g.band(|r, i| r.trajectory[i][0])?);
    }
    let len = curves.iter().map(|b| b.mean.len()).max().unwrap_or(1);
    let mut targets: Vec<(f64, Option<RGBColor>)> = Vec::new();
    let t0 = groups[0].runs[0].1.truth[0];
    let shared = groups.iter().all(|g| g.runs.iter().all(|(_, r)| (r.truth[0] - t0).abs() < 1e-12));
    if shared {
        targets.push((t0, None));
    } else {
        for g in groups {
            targets.push((g.runs[0].1.truth[0], Some(g.color)));
        }
    }
    let (ylo, yhi) = range(
        curves.iter().flat_map(|b| b.mean.iter().chain(&b.lo).chain(&b.hi).copied()).chain(targets.iter().map(|t| t.0)),
    )
    .unwrap_or((-1.0, 1.0));
    let (ylo, yhi) = padded(ylo, yhi, 0.06);
    let xmax = len.max(2) as f64;
    let (xa, ya) = (Axis::new(1.0, xmax, false), Axis::new(ylo, yhi, false));
    let mut sample: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|b| thin(b.mean.len(), false).into_iter().map(move |i| (i as f64 + 1.0, b.mean[i])))
        .collect();
    sample.extend(targets.iter().flat_map(|t| (0..50).map(move |k| (1.0 + (xmax - 1.0) * k as f64 / 49.0, t.0))));
    let corner = best_legend_corner(&sample, &xa, &ya, groups.len() + targets.len(), (880, 520));
    let title = caption("Estimate w_k vs iteration", groups);
    render_png(path, (1000, 640), |root: &Root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(xa.linear(), ya.linear())
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, "iteration k", "estimate w_k", &xa, &ya)?;
        for (g, b) in groups.iter().zip(&curves) {
            if g.seeds() > 1 {
                let idx = thin(b.mean.len(), false);
                let xs: Vec<f64> = idx.iter().map(|&i| i as f64 + 1.0).collect();
                let lo: Vec<f64> = idx.iter().map(|&i| b.lo[i]).collect();
                let hi: Vec<f64> = idx.iter().map(|&i| b.hi[i]).collect();
                let poly = band_polygon(&xs, &lo, &hi);
                chart.draw_series(std::iter::once(Polygon::new(poly, g.color.mix(0.18)))).map_err(|e| e.to_string())?;
            }
        }
        // Lines in legend order, then again in reverse order without labels so
        // that the first agent ends up on top.
        for pass in 0..2 {
            let order: Vec<usize> =
                if pass == 0 { (0..groups.len()).collect() } else { (0..groups.len()).rev().collect() };
            for gi in order {
                let (g, b) = (groups[gi], &curves[gi]);
                let idx = thin(b.mean.len(), false);
                let segs = segments(idx.iter().map(|&i| (i as f64 + 1.0, b.mean[i])));
                for (j, seg) in segs.into_iter().enumerate() {
                    let s =
                        chart.draw_series(LineSeries::new(seg, g.color.stroke_width(2))).map_err(|e| e.to_string())?;
                    if j == 0 && pass == 0 {
                        s.label(g.label.clone()).legend(legend_line(g.color));
                    }
                }
            }
        }
        for (t, color) in &targets {
            let style = color.unwrap_or(BLACK).stroke_width(2);
            let s = chart
                .draw_series(DashedLineSeries::new(vec![(1.0, *t), (xmax, *t)], 10, 6, style))
                .map_err(|e| e.to_string())?;
            let label = match color {
                None => format!("target w* = {}", short(*t)),
                Some(_) => format!("target w* = {} (dashed)", short(*t)),
            };
            let c = color.unwrap_or(BLACK);
            s.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], c.stroke_width(2)));
        }
        draw_legend(&mut chart, corner)?;
        Ok(())
    })
}

fn plot_errors(path: &Path, groups: &[&Group]) -> Result<()> {
    let mut curves = Vec::new();
    for g in groups {
        curves.push(g.band(|r, i| r.error_at(i))?);
    }
    let len = curves.iter().map(|b| b.mean.len()).max().unwrap_or(1).max(2);
    let positive = |v: &f64| super::axis::drawable(*v, true);
    let ymax =
        curves.iter().flat_map(|b| b.mean.iter().chain(&b.hi)).copied().filter(positive).fold(f64::NAN, f64::max);
    let ymax = if ymax.is_finite() { ymax } else { 1.0 };
    let ymin_data =
        curves.iter().flat_map(|b| b.mean.iter().chain(&b.lo)).copied().filter(positive).fold(f64::NAN, f64::min);
    // Errors that are 0 up to rounding (BGD) would stretch the axis to 1e-16:
    // floor the axis at 1e-4 of the largest error and draw them on the floor
    // (their legend entry says so).
    let floor = ymax * 1e-4;
    let ymin = if ymin_data.is_finite() { ymin_data.max(floor) } else { floor };
    let (ymin, ymax) = (ymin / 2.0, ymax * 2.0);
    let xmax = len as f64;
    // Reference c/√k: fitted to the curve whose log-log slope over the last
    // half of its log-k range (k ≥ √K) is closest to −1/2, with c the
    // geometric mean of err_k·√k over those points.
    let fit = |b: &Band| -> Option<(f64, f64)> {
        let n = b.mean.len();
        let start = (n as f64).sqrt().max(1.0);
        // 50 log-spaced indices in [√n, n), so every decade weighs the same.
        let mut idx: Vec<usize> = (0..50)
            .map(|j| (start * (n as f64 / start).powf(j as f64 / 49.0)) as usize - 1)
            .map(|i| i.min(n - 1))
            .collect();
        idx.dedup();
        let pts: Vec<(f64, f64)> = idx
            .into_iter()
            .filter(|&i| positive(&b.mean[i]) && b.mean[i] >= floor)
            .map(|i| (((i + 1) as f64).ln(), b.mean[i].ln()))
            .collect();
        if pts.len() < 2 {
            return None;
        }
        let m = pts.len() as f64;
        let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / m, pts.iter().map(|p| p.1).sum::<f64>() / m);
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let log_c = pts.iter().map(|p| p.1 + 0.5 * p.0).sum::<f64>() / m;
        Some((slope, log_c.exp()))
    };
    let reference =
        curves.iter().filter_map(fit).min_by(|a, b| (a.0 + 0.5).abs().total_cmp(&(b.0 + 0.5).abs())).map(|(_, c)| c);
    let below: Vec<bool> = curves.iter().map(|b| b.mean.iter().any(|v| v.is_finite() && *v < floor)).collect();
    let title = caption("Error |w_k - w*| vs iteration (log-log)", groups);
    // Values at or below 0 (exact hits) and below the floor go on the axis.
    let (xa, ya) = (Axis::new(1.0, xmax, true), Axis::new(ymin, ymax, true));
    let (ymin, ymax) = (ya.lo, ya.hi);
    let clamp = move |v: f64| if positive(&v) || v == 0.0 { v.clamp(ymin, ymax) } else { f64::NAN };
    let sample: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|b| thin(b.mean.len(), true).into_iter().map(move |i| ((i + 1) as f64, clamp(b.mean[i]))))
        .filter(|p| p.1.is_finite())
        .collect();
    let corner = best_legend_corner(&sample, &xa, &ya, groups.len() + 1, (880, 520));
    render_png(path, (1000, 640), |root: &Root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(xa.logarithmic(), ya.logarithmic())
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, "iteration k", "error |w_k - w*|", &xa, &ya)?;
        for ((g, b), low) in groups.iter().zip(&curves).zip(&below) {
            let idx = thin(b.mean.len(), true);
            let xs: Vec<f64> = idx.iter().map(|&i| i as f64 + 1.0).collect();
            if g.seeds() > 1 {
                let lo: Vec<f64> = idx.iter().map(|&i| clamp(b.lo[i])).collect();
                let hi: Vec<f64> = idx.iter().map(|&i| clamp(b.hi[i])).collect();
                let poly = band_polygon(&xs, &lo, &hi);
                chart.draw_series(std::iter::once(Polygon::new(poly, g.color.mix(0.2)))).map_err(|e| e.to_string())?;
            }
            let segs = segments(idx.iter().map(|&i| (i as f64 + 1.0, clamp(b.mean[i]))));
            let label = if *low {
                format!("{} (error < {}: drawn on the x axis)", g.label, short(floor))
            } else {
                g.label.clone()
            };
            for (j, seg) in segs.into_iter().enumerate() {
                let s = chart.draw_series(LineSeries::new(seg, g.color.stroke_width(2))).map_err(|e| e.to_string())?;
                if j == 0 {
                    s.label(label.clone()).legend(legend_line(g.color));
                }
            }
        }
        if let Some(c) = reference {
            let pts: Vec<(f64, f64)> = thin(len, true)
                .iter()
                .map(|&i| ((i + 1) as f64, c / ((i + 1) as f64).sqrt()))
                .filter(|(_, y)| *y >= ymin && *y <= ymax)
                .collect();
            if pts.len() >= 2 {
                chart
                    .draw_series(DashedLineSeries::new(pts, 4, 5, BLACK.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label("O(1/sqrt(k)) reference")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], BLACK.stroke_width(2)));
            }
        }
        draw_legend(&mut chart, corner)?;
        Ok(())
    })
}

fn plot_trajectories<'a>(path: &Path, groups: &[&Group<'a>]) -> Result<()> {
    // The runs of the smallest seed of the first group, in every group (or
    // each group's first run): their sample sets coincide when the configs agree.
    let seed = groups[0].runs[0].0;
    let pick = |g: &&Group<'a>| -> (u64, &'a SaSeries) {
        g.runs.iter().find(|(s, _)| *s == seed).copied().unwrap_or(g.runs[0])
    };
    let chosen: Vec<(u64, &SaSeries)> = groups.iter().map(pick).collect();
    let samples = chosen[0].1.samples.clone().unwrap_or_default();
    let xbar = sample_mean(&samples);
    let true_mean = chosen[0].1.true_mean;
    let mut xs_all: Vec<f64> = samples.iter().map(|p| p[0]).collect();
    let mut ys_all: Vec<f64> = samples.iter().map(|p| p[1]).collect();
    for (_, r) in &chosen {
        xs_all.extend(r.trajectory.iter().map(|w| w[0]));
        ys_all.extend(r.trajectory.iter().map(|w| w[1]));
    }
    let (x0, x1) = range(xs_all.into_iter()).unwrap_or((-1.0, 1.0));
    let (y0, y1) = range(ys_all.into_iter()).unwrap_or((-1.0, 1.0));
    // Equal scales: a square box around everything ...
    let full = (0.5 * (x0 + x1), 0.5 * (y0 + y1), 0.5 * (x1 - x0).max(y1 - y0).max(1e-9) * 1.08);
    // ... and a zoom on the sample mean that holds the last 80% of the
    // estimates (from w_{k0} on).
    let len = chosen.iter().map(|(_, r)| r.trajectory.len()).max().unwrap_or(1);
    let k0 = (len / 5).max(3);
    let reach = chosen
        .iter()
        .flat_map(|(_, r)| r.trajectory.iter().skip(k0 - 1))
        .map(|w| (w[0] - xbar[0]).abs().max((w[1] - xbar[1]).abs()))
        .filter(|d| d.is_finite())
        .fold(0.0, f64::max);
    let zoom = (xbar[0], xbar[1], (reach * 1.15).max(full.2 * 1e-3));
    let title = format!("SGD / MBGD / BGD on the same {} samples (seed {seed})", samples.len());
    let grey = RGBColor(160, 160, 160);
    let red = RGBColor(200, 0, 0);
    let panel = |area: &Root,
                 (cx, cy, half): (f64, f64, f64),
                 caption: String,
                 legend: bool|
     -> std::result::Result<(), String> {
        let (xa, ya) = (Axis::new(cx - half, cx + half, false), Axis::new(cy - half, cy + half, false));
        let (cx, cy, half) = ((xa.lo + xa.hi) / 2.0, (ya.lo + ya.hi) / 2.0, (xa.hi - xa.lo) / 2.0);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 19))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(xa.linear(), ya.linear())
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, "x", "y", &xa, &ya)?;
        let inside = |p: &(f64, f64)| (p.0 - cx).abs() <= half && (p.1 - cy).abs() <= half;
        chart
            .draw_series(samples.iter().map(|p| (p[0], p[1])).filter(inside).map(|p| Circle::new(p, 3, grey.filled())))
            .map_err(|e| e.to_string())?
            .label("samples x_i")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, grey.filled()));
        for (g, (_, r)) in groups.iter().zip(&chosen) {
            let pts: Vec<(f64, f64)> = r.trajectory.iter().map(|w| (w[0], w[1])).collect();
            let color = g.color;
            // Clipped to the panel: plotters would pin the points outside the
            // zoom to its border and draw segments that are not in the data.
            for seg in super::lines::clip_to_box(&pts, Some(&xa), &ya) {
                chart.draw_series(LineSeries::new(seg, color.stroke_width(2))).map_err(|e| e.to_string())?;
            }
            chart
                .draw_series(
                    pts.iter()
                        .filter(|p| p.0.is_finite() && p.1.is_finite() && inside(p))
                        .map(|p| Circle::new(*p, 3, color.filled())),
                )
                .map_err(|e| e.to_string())?
                .label(g.label.clone())
                .legend(legend_line(color));
        }
        if let Some(w) = chosen[0].1.trajectory.first().filter(|w| inside(&(w[0], w[1]))) {
            chart
                .draw_series(std::iter::once(TriangleMarker::new((w[0], w[1]), 9, BLACK.filled())))
                .map_err(|e| e.to_string())?
                .label("initial guess w_1")
                .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, BLACK.filled()));
        }
        if let Some(m) = true_mean.filter(|m| inside(&(m[0], m[1]))) {
            chart
                .draw_series(std::iter::once(Cross::new((m[0], m[1]), 9, BLACK.stroke_width(3))))
                .map_err(|e| e.to_string())?
                .label(format!("true mean E[X] = ({}, {})", short(m[0]), short(m[1])))
                .legend(|(x, y)| Cross::new((x + 10, y), 6, BLACK.stroke_width(3)));
        }
        chart
            .draw_series(std::iter::once(Circle::new((xbar[0], xbar[1]), 8, red.stroke_width(3))))
            .map_err(|e| e.to_string())?
            .label(format!("sample mean = ({}, {})", short(xbar[0]), short(xbar[1])))
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, red.stroke_width(3)));
        if legend {
            // The corner that hides the fewest samples and estimates.
            let mut shown: Vec<(f64, f64)> = samples.iter().map(|p| (p[0], p[1])).filter(inside).collect();
            for (_, r) in &chosen {
                shown.extend(r.trajectory.iter().map(|w| (w[0], w[1])).filter(inside));
            }
            let entries = groups.len() + 4;
            let (w, h) = area.dim_in_pixel();
            let corner = super::lines::best_legend_corner(
                &shown,
                &xa,
                &ya,
                entries,
                (w.saturating_sub(74), h.saturating_sub(90)),
            );
            draw_legend(&mut chart, corner)?;
        }
        Ok(())
    };
    render_png(path, (1560, 840), |root: &Root| {
        let root = root.titled(&title, (FONT, 24)).map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(780);
        panel(&left, full, "all estimates w_1, w_2, ...".to_string(), true)?;
        panel(&right, zoom, format!("zoom on the sample mean: w_{k0} .. w_{len}"), false)?;
        Ok(())
    })
}
