//! Learning curves: the mean return over seeds with a 95 % bootstrap band
//! (with two seeds or more; the axis names the band only then),
//! optional smoothing, several agents on one chart, and an x axis of episodes
//! or of environment steps.
//!
//! - **Smoothing** is applied to each seed's curve before averaging: a trailing
//!   rolling mean over `window` episodes, or TensorBoard's debiased EMA
//!   (`last = w·last + (1−w)·v; out = last / (1 − wⁿ)`).
//! - **Band**: at each x, [`super::bands::bootstrap_band`] resamples the seeds
//!   with replacement ([`super::bands::DEFAULT_RESAMPLES`] = 1000 resamples
//!   from a seeded stream) and takes the 2.5th and 97.5th percentiles of the
//!   resampled means.
//! - **Steps axis**: each seed's curve is read on a common grid of step counts
//!   as the (smoothed) return of the last episode finished by that step.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bands::{bootstrap_band, DEFAULT_RESAMPLES};
use super::lines::{LineChart, Series};
use crate::Result;

/// Smoothing of each seed's curve.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmoothingKind {
    /// No smoothing.
    #[default]
    None,
    /// Trailing rolling mean over `window` points.
    Rolling,
    /// Debiased exponential moving average with weight `weight`.
    Ema,
}

/// How learning curves are drawn (the experiment's `[learning_curve]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CurveSpec {
    /// `"none"`, `"rolling"` or `"ema"`.
    pub smoothing: SmoothingKind,
    /// Rolling window (episodes).
    pub window: usize,
    /// EMA weight in [0, 1).
    pub weight: f64,
    /// `"episodes"` or `"steps"`.
    pub x: String,
    /// Points on the x axis when `x = "steps"`.
    pub grid_points: usize,
    /// Fixed y range `[low, high]` of the return axis (as in the books' figures).
    pub y_range: Option<[f64; 2]>,
    /// `"return"` (per episode), `"length"` (steps per episode: Sutton &
    /// Barto Fig. 10.2), or `"episodes"` (episodes completed, against steps:
    /// Sutton & Barto Fig. 6.3).
    pub y: String,
    /// A logarithmic y axis (needs positive values: `y = "length"` or `"episodes"`).
    pub log_y: bool,
    /// The x axis of the value-error plot: `"steps"` (default), `"episodes"`, or
    /// `"updates"` (gradient updates: DQN's `probe_every` snapshots).
    pub error_x: String,
    /// Also draw the episode lengths (steps per episode) in `episode_lengths.png`.
    pub lengths: bool,
}

impl Default for CurveSpec {
    fn default() -> Self {
        CurveSpec {
            smoothing: SmoothingKind::None,
            window: 10,
            weight: 0.9,
            x: "episodes".into(),
            grid_points: 400,
            y_range: None,
            y: "return".into(),
            log_y: false,
            error_x: "steps".into(),
            lengths: false,
        }
    }
}

impl CurveSpec {
    /// Check the values; the message names the key.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.x != "episodes" && self.x != "steps" {
            return Err(format!("x: `{}` is not valid; use \"episodes\" or \"steps\"", self.x));
        }
        if self.window == 0 {
            return Err("window: must be >= 1".into());
        }
        if !(0.0..1.0).contains(&self.weight) {
            return Err(format!("weight: {} is outside [0, 1)", self.weight));
        }
        if !["return", "length", "episodes"].contains(&self.y.as_str()) {
            return Err(format!("y: `{}` is not valid; use \"return\", \"length\" or \"episodes\"", self.y));
        }
        if !["steps", "episodes", "updates"].contains(&self.error_x.as_str()) {
            return Err(format!(
                "error_x: `{}` is not valid; use \"steps\", \"episodes\" or \"updates\" (DQN's probe_every)",
                self.error_x
            ));
        }
        if self.log_y && self.y == "return" {
            return Err("log_y: a log axis needs positive values; use it with y = \"length\" or \"episodes\"".into());
        }
        if self.y == "episodes" && self.x != "steps" {
            return Err("y = \"episodes\" needs x = \"steps\" (episodes completed against time steps)".into());
        }
        if let Some([lo, hi]) = self.y_range {
            super::axis::check_range("y_range", lo, hi, self.log_y)?;
        }
        if self.grid_points < 2 {
            return Err("grid_points: must be >= 2".into());
        }
        Ok(())
    }
}

/// Trailing rolling mean over `window` points (shorter at the start).
pub fn rolling_mean(v: &[f64], window: usize) -> Vec<f64> {
    let w = window.max(1);
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for i in 0..v.len() {
        sum += v[i];
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// TensorBoard's debiased EMA: `last = w·last + (1−w)·v; out = last / (1 − wⁿ)`.
pub fn debiased_ema(v: &[f64], weight: f64) -> Vec<f64> {
    let mut last = 0.0;
    let mut wn = 1.0;
    v.iter()
        .map(|&x| {
            last = weight * last + (1.0 - weight) * x;
            wn *= weight;
            last / (1.0 - wn)
        })
        .collect()
}

/// One seed's episodes: (cumulative steps at the episode's end, return).
pub type SeedCurve = Vec<(u64, f64)>;

/// The mean and band of one agent's curves on the chosen x axis: (xs, band).
pub fn agent_band(seeds: &[SeedCurve], spec: &CurveSpec, band_seed: u64) -> Result<(Vec<f64>, super::bands::Band)> {
    let smooth = |v: &[f64]| match spec.smoothing {
        SmoothingKind::None => v.to_vec(),
        SmoothingKind::Rolling => rolling_mean(v, spec.window),
        SmoothingKind::Ema => debiased_ema(v, spec.weight),
    };
    let smoothed: Vec<Vec<f64>> = seeds.iter().map(|c| smooth(&c.iter().map(|e| e.1).collect::<Vec<_>>())).collect();
    if spec.x == "steps" {
        // A common grid up to the smallest total step count of any seed.
        let max_steps = seeds.iter().map(|c| c.last().map_or(0, |e| e.0)).min().unwrap_or(0);
        let first = seeds.iter().map(|c| c.first().map_or(0, |e| e.0)).max().unwrap_or(0);
        let n = spec.grid_points;
        let xs: Vec<f64> = (0..n)
            .map(|i| first as f64 + (max_steps - first.min(max_steps)) as f64 * i as f64 / (n - 1) as f64)
            .collect();
        let curves: Vec<Vec<f64>> = seeds
            .iter()
            .zip(&smoothed)
            .map(|(c, sm)| {
                let mut j = 0usize;
                xs.iter()
                    .map(|&x| {
                        while j + 1 < c.len() && (c[j + 1].0 as f64) <= x {
                            j += 1;
                        }
                        sm[j]
                    })
                    .collect()
            })
            .collect();
        Ok((xs, bootstrap_band(&curves, DEFAULT_RESAMPLES, band_seed)?))
    } else {
        let len = smoothed.iter().map(Vec::len).min().unwrap_or(0);
        let curves: Vec<Vec<f64>> = smoothed.iter().map(|c| c[..len].to_vec()).collect();
        let xs: Vec<f64> = (1..=len).map(|i| i as f64).collect();
        Ok((xs, bootstrap_band(&curves, DEFAULT_RESAMPLES, band_seed)?))
    }
}

/// The y axis label of a learning-curve chart; it names the 95 % bootstrap
/// band only when there is one (`banded`: some agent has two seeds or more).
pub fn curve_y_label(spec: &CurveSpec, banded: bool) -> String {
    let stat = if banded { "mean, 95% bootstrap CI" } else { "one seed" };
    let smoothing = match spec.smoothing {
        SmoothingKind::None => String::new(),
        SmoothingKind::Rolling => format!(", rolling mean over {}", spec.window),
        SmoothingKind::Ema => format!(", EMA {}", spec.weight),
    };
    if spec.y == "episodes" {
        format!("episodes completed ({stat})")
    } else if spec.y == "length" {
        format!("steps per episode ({stat}{smoothing}{})", if spec.log_y { ", log scale" } else { "" })
    } else {
        format!("return per episode ({stat}{smoothing})")
    }
}

/// Draw learning curves for several agents: `agents` = (label, one curve per seed).
pub fn render_learning_curves(
    path: &Path,
    title: &str,
    agents: &[(String, Vec<SeedCurve>)],
    spec: &CurveSpec,
    band_seed: u64,
) -> Result<()> {
    let mut series = Vec::new();
    let counting = spec.y == "episodes";
    for (label, seeds) in agents {
        if seeds.is_empty() || seeds.iter().any(Vec::is_empty) {
            continue;
        }
        let (xs, band) = if counting {
            // Episodes completed by each step: the k-th finished episode counts k.
            let counts: Vec<SeedCurve> =
                seeds.iter().map(|c| c.iter().enumerate().map(|(i, e)| (e.0, (i + 1) as f64)).collect()).collect();
            let raw = CurveSpec { smoothing: SmoothingKind::None, ..spec.clone() };
            agent_band(&counts, &raw, band_seed)?
        } else {
            agent_band(seeds, spec, band_seed)?
        };
        let points: Vec<(f64, f64)> = xs.iter().copied().zip(band.mean.iter().copied()).collect();
        let b = if seeds.len() > 1 {
            xs.iter().enumerate().map(|(i, &x)| (x, band.lo[i], band.hi[i])).collect()
        } else {
            vec![]
        };
        let n = seeds.len();
        series.push(Series {
            label: format!("{label} ({n} seed{})", if n == 1 { "" } else { "s" }),
            points,
            band: b,
            dashed: false,
        });
    }
    let banded = agents.iter().any(|(_, seeds)| seeds.len() > 1);
    LineChart {
        title: title.to_string(),
        x_label: if spec.x == "steps" { "environment steps".into() } else { "episode".into() },
        y_label: curve_y_label(spec, banded),
        series,
        size: Some((1000, 620)),
        y_range: spec.y_range.map(|r| (r[0], r[1])),
        y_range_key: "learning_curve.y_range".into(),
        log_y: spec.log_y,
        ..Default::default()
    }
    .render(path)
}

/// Draw the error of the learned values against the reference (v*, or v of the
/// evaluated policy) over environment steps, one line (mean over seeds, with a
/// band) per agent, on a log y axis.
pub fn render_value_error(
    path: &Path,
    title: &str,
    agents: &[(String, Vec<SeedCurve>)],
    spec: &CurveSpec,
    band_seed: u64,
) -> Result<()> {
    let x_label = match spec.error_x.as_str() {
        "episodes" => "episode",
        "updates" => "gradient update",
        _ => "environment steps",
    };
    render_banded(path, title, x_label, "RMSE of the state values (log scale)", agents, spec, band_seed)
}

/// Draw one line per agent (the mean over seeds of curves read on a common x
/// grid, with a 95% bootstrap band when there are several seeds) on a log y axis.
pub fn render_banded(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    agents: &[(String, Vec<SeedCurve>)],
    spec: &CurveSpec,
    band_seed: u64,
) -> Result<()> {
    let spec = CurveSpec { x: "steps".into(), smoothing: SmoothingKind::None, ..spec.clone() };
    let mut series = Vec::new();
    for (label, seeds) in agents {
        if seeds.is_empty() || seeds.iter().any(Vec::is_empty) {
            continue;
        }
        let (xs, band) = agent_band(seeds, &spec, band_seed)?;
        let points = xs.iter().copied().zip(band.mean.iter().copied()).collect();
        let b = if seeds.len() > 1 {
            xs.iter().enumerate().map(|(i, &x)| (x, band.lo[i], band.hi[i])).collect()
        } else {
            vec![]
        };
        series.push(Series { label: label.clone(), points, band: b, dashed: false });
    }
    LineChart {
        title: title.to_string(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        log_y: true,
        series,
        size: Some((1000, 620)),
        ..Default::default()
    }
    .render(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_and_ema_by_hand() {
        assert_eq!(rolling_mean(&[1.0, 2.0, 3.0, 4.0], 2), vec![1.0, 1.5, 2.5, 3.5]);
        // EMA w = 0.5: last = 0.5, 0.5·0.5 + 0.5·3 = 1.75; debiased: 0.5/0.5 = 1, 1.75/0.75.
        let e = debiased_ema(&[1.0, 3.0], 0.5);
        assert!((e[0] - 1.0).abs() < 1e-15 && (e[1] - 1.75 / 0.75).abs() < 1e-15);
        // A constant sequence stays constant under the debiased EMA.
        assert!(debiased_ema(&[4.0; 20], 0.9).iter().all(|x| (x - 4.0).abs() < 1e-12));
    }

    #[test]
    fn the_ci_is_named_only_with_two_seeds() {
        let spec = CurveSpec { smoothing: SmoothingKind::Rolling, window: 10, ..Default::default() };
        assert_eq!(curve_y_label(&spec, false), "return per episode (one seed, rolling mean over 10)");
        assert_eq!(curve_y_label(&spec, true), "return per episode (mean, 95% bootstrap CI, rolling mean over 10)");
    }

    #[test]
    fn steps_axis_reads_the_last_finished_episode() {
        let a: SeedCurve = vec![(10, 1.0), (20, 2.0), (30, 3.0)];
        let b: SeedCurve = vec![(10, 3.0), (30, 5.0)];
        let spec = CurveSpec { x: "steps".into(), grid_points: 3, ..Default::default() };
        let (xs, band) = agent_band(&[a, b], &spec, 0).unwrap();
        assert_eq!(xs, vec![10.0, 20.0, 30.0]);
        assert_eq!(band.mean, vec![2.0, 2.5, 4.0]);
    }
}
