//! Incremental mean estimation (Zhao eq. 6.4).
//!
//! ```text
//!   x_k ~ X i.i.d.                      (from `samples`)
//!   w_{k+1} = w_k − α_k (w_k − x_k),     k = 1..=K
//!   error_k = |w_k − E[X]|               (E[X] known analytically)
//! ```
//!
//! With α_k = 1/k, w_{k+1} = (1/k) Σ_{i≤k} x_i exactly: the sample mean (α_1 = 1
//! discards w_1). This is SGD on J(w) = E[½ (w − X)²], and an RM algorithm for
//! g(w) = w − E\[X\].
//!
//! TOML (`kind = "incremental-mean"`):
//!
//! ```toml
//! iterations = 1000                               # K updates (default 1000)
//! w1 = 0.0                                        # initial estimate (default 0)
//! samples = { dist = "normal", mean = 5.0, std = 2.0 }   # required; see dist
//! schedule = { type = "inverse" }                 # default 1/k; see schedule
//! ```
//!
//! Samples are drawn from `rng_for(seed, &[SAMPLE_STREAM])`; [`draw_samples`]
//! reproduces them.

use serde::Deserialize;

use super::dist::Dist;
use super::schedule::Schedule;
use super::{scalar_table, summary_common, SaRun, SAMPLE_STREAM};
use crate::Result;

/// Hyperparameters of incremental mean estimation.
///
/// ```
/// use rlkit::agents::sa::incremental_mean::{run, IncrementalMeanConfig};
/// let cfg: IncrementalMeanConfig = toml::from_str(
///     "iterations = 3\nsamples = { dist = \"discrete\", values = [2.0, 4.0], probs = [0.5, 0.5] }",
/// ).unwrap();
/// let r = run(&cfg, 7).unwrap();
/// assert_eq!(r.truth, vec![3.0]);
/// assert_eq!(r.trajectory.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncrementalMeanConfig {
    /// Number of updates K (default 1000); the run has K + 1 estimates.
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    /// Initial estimate w_1 (default 0).
    #[serde(default)]
    pub w1: f64,
    /// The distribution of X (required).
    pub samples: Dist,
    /// Step sizes α_k (default 1/k).
    #[serde(default)]
    pub schedule: Schedule,
}

fn default_iterations() -> usize {
    1000
}

/// The K samples x_1..x_K a run with this config and seed uses.
pub fn draw_samples(cfg: &IncrementalMeanConfig, seed: u64) -> Result<Vec<f64>> {
    let mut sampler = cfg.samples.sampler("samples")?;
    let mut rng = crate::util::rng_for(seed, &[SAMPLE_STREAM]);
    Ok((0..cfg.iterations).map(|_| sampler.sample(&mut rng)).collect())
}

/// The recursion itself: w_1 = `w1`, w_{k+1} = w_k − α_k (w_k − x_k).
/// Returns [w_1, ..., w_{K+1}] for K = `xs.len()`.
pub fn iterate(w1: f64, xs: &[f64], schedule: &Schedule) -> Vec<f64> {
    let mut ws = Vec::with_capacity(xs.len() + 1);
    let mut w = w1;
    ws.push(w);
    for (i, x) in xs.iter().enumerate() {
        let alpha = schedule.alpha(i + 1);
        w -= alpha * (w - x);
        ws.push(w);
    }
    ws
}

/// Run incremental mean estimation.
pub fn run(cfg: &IncrementalMeanConfig, seed: u64) -> Result<SaRun> {
    super::check_common(cfg.iterations, cfg.w1, &cfg.schedule)?;
    let xs = draw_samples(cfg, seed)?;
    let truth = cfg.samples.mean();
    let ws = iterate(cfg.w1, &xs, &cfg.schedule);
    let trajectory: Vec<Vec<f64>> = ws.iter().map(|w| vec![*w]).collect();
    let sample_mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let mut summary =
        summary_common("incremental-mean", &cfg.schedule, cfg.iterations, &trajectory, &[truth], Vec::new());
    summary.insert("distribution".into(), cfg.samples.describe().into());
    summary.insert("sample_mean".into(), sample_mean.into());
    Ok(SaRun {
        iterations: scalar_table(&ws, truth),
        summary: serde_json::Value::Object(summary),
        truth: vec![truth],
        trajectory,
        samples: None,
    })
}
