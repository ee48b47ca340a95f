//! The stochastic approximation (SA) lab: Zhao, *Mathematical Foundations of
//! Reinforcement Learning*, chapter 6.
//!
//! Three estimators, each in its own file with a config struct read from the
//! agent's TOML table:
//!
//! - [`incremental_mean`]: w_{k+1} = w_k − α_k (w_k − x_k), x_k i.i.d. from a
//!   [`dist::Dist`] (`kind = "incremental-mean"`);
//! - [`robbins_monro`]: w_{k+1} = w_k − a_k (g(w_k) + η_k) for a built-in g
//!   (`kind = "robbins-monro"`);
//! - [`sgd_mean`]: SGD / MBGD / BGD for the mean of a fixed 2-D sample set
//!   (`kind = "sgd-mean"`, or the aliases `"sgd"`, `"mbgd"`, `"bgd"`).
//!
//! Step sizes come from a [`schedule::Schedule`], which also reports
//! analytically whether the Robbins–Monro conditions Σα = ∞, Σα² < ∞ hold.
//!
//! Indexing follows the book: w_1 is the initial guess, update k (k = 1..=K)
//! turns w_k into w_{k+1} with step α_k, so a run of `iterations = K` has K + 1
//! estimates and its iterations table has K + 1 rows, `iteration` = 1..=K+1.
//!
//! The runner calls [`run`] once per (agent, seed); it draws the plots itself
//! (`plot::sa`, from plain series), since agents draw nothing:
//!
//! ```
//! use rlkit::agents::sa;
//! let params: toml::Table = toml::from_str(r#"
//!     function = { type = "tanh", center = 1.0 }
//!     w1 = 3.0
//!     iterations = 100
//! "#).unwrap();
//! let run = sa::run("robbins-monro", &params, 0).unwrap();
//! assert_eq!(run.iterations.len(), 101); // w_1 ..= w_101
//! assert_eq!(run.truth, vec![1.0]);
//! assert!((run.trajectory[100][0] - 1.0).abs() < 0.02);
//! ```

pub mod dist;
pub mod incremental_mean;
pub mod robbins_monro;
pub mod schedule;
pub mod sgd_mean;

use serde::de::DeserializeOwned;

use crate::data::table::{Cell, Table};
use crate::{Error, Result};

/// Agent kinds handled by the SA lab: `"incremental-mean"`, `"robbins-monro"`,
/// `"sgd-mean"` (with `batch_size` m), plus the convenience aliases `"sgd"`
/// (m = 1), `"bgd"` (all n samples every step) and `"mbgd"` (m required).
pub const KINDS: &[&str] = &["incremental-mean", "robbins-monro", "sgd-mean", "sgd", "bgd", "mbgd"];

/// Stream label of the sample stream: the i.i.d. samples of
/// `incremental-mean` and the fixed sample set of `sgd-mean`
/// (`rng_for(seed, &[SAMPLE_STREAM])`). It depends on the seed only, so all
/// agents of an experiment see the same samples for the same seed.
pub const SAMPLE_STREAM: u64 = 1;
/// Stream label of the observation noise η_k of `robbins-monro`.
pub const NOISE_STREAM: u64 = 2;
/// Stream label of the mini-batch index draws of `sgd-mean`.
pub const BATCH_STREAM: u64 = 3;

/// Largest accepted `iterations` (keeps a typo from exhausting memory).
pub const MAX_ITERATIONS: usize = 10_000_000;

/// The result of one SA run (one agent, one seed).
#[derive(Debug, Clone, PartialEq)]
pub struct SaRun {
    /// One row per estimate w_k, k = 1..=K+1. Columns: `iteration`,
    /// `estimate` (scalar kinds) or `estimate_0`, `estimate_1` (`sgd-mean`),
    /// and `error` = |w_k − w*| (‖w_k − w*‖₂ for vectors). The runner prepends
    /// `agent,seed`.
    pub iterations: Table,
    /// `summary.json` content: kind, final estimate, target, final error,
    /// schedule with its Robbins–Monro conditions, divergence flag, warnings,
    /// plus kind-specific fields.
    pub summary: serde_json::Value,
    /// The target w* (the true mean or root): one entry per component.
    pub truth: Vec<f64>,
    /// The estimates: `trajectory[k − 1]` = w_k, k = 1..=K+1.
    pub trajectory: Vec<Vec<f64>>,
    /// The fixed 2-D sample set (`sgd-mean` only).
    pub samples: Option<Vec<[f64; 2]>>,
}

impl SaRun {
    /// The error of estimate w_{i+1} (0-based index `i` into
    /// [`SaRun::trajectory`]): ‖w_{i+1} − w*‖₂ (|w_{i+1} − w*| for scalars).
    pub fn error_at(&self, i: usize) -> f64 {
        euclid(&self.trajectory[i], &self.truth)
    }
}

/// Check an agent's parameters without running it.
pub fn validate(kind: &str, params: &toml::Table) -> Result<()> {
    match kind {
        "incremental-mean" => {
            let c: incremental_mean::IncrementalMeanConfig = parse(params)?;
            check_common(c.iterations, c.w1, &c.schedule)?;
            c.samples.sampler("samples").map(|_| ())
        }
        "robbins-monro" => {
            let c: robbins_monro::RobbinsMonroConfig = parse(params)?;
            check_common(c.iterations, c.w1, &c.schedule)?;
            c.function.root()?;
            if let Some([lo, hi]) = c.bounds {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(Error::input(format!(
                        "bounds: must be [lo, hi] with finite lo < hi, got [{lo}, {hi}]"
                    )));
                }
            }
            c.noise.sampler("noise").map(|_| ())
        }
        "sgd-mean" | "sgd" | "bgd" | "mbgd" => parse::<sgd_mean::SgdMeanConfig>(params)?.for_alias(kind)?.validate(),
        other => Err(Error::input(format!("kind: unknown SA agent kind {other:?}; valid kinds: {}", KINDS.join(", ")))),
    }
}

/// Run one SA agent.
///
/// `kind` is one of [`KINDS`]; `params` is the agent's TOML table minus `kind`
/// and `name`; `seed` is the run's seed, from which every random stream is
/// derived with [`crate::util::rng_for`] (see [`SAMPLE_STREAM`],
/// [`NOISE_STREAM`], [`BATCH_STREAM`]). Bad parameters give an
/// [`Error::Input`] that names the key path and what would be valid.
pub fn run(kind: &str, params: &toml::Table, seed: u64) -> Result<SaRun> {
    match kind {
        "incremental-mean" => incremental_mean::run(&parse(params)?, seed),
        "robbins-monro" => robbins_monro::run(&parse(params)?, seed),
        "sgd-mean" | "sgd" | "bgd" | "mbgd" => {
            let cfg: sgd_mean::SgdMeanConfig = parse(params)?;
            sgd_mean::run(&cfg.for_alias(kind)?, seed)
        }
        other => Err(Error::input(format!("kind: unknown SA agent kind {other:?}; valid kinds: {}", KINDS.join(", ")))),
    }
}

/// Deserialize an agent's parameter table into a config struct. Errors name
/// the key path (`schedule.p`, `noise`, ...) and serde's description of what
/// was expected.
pub fn parse<T: DeserializeOwned>(params: &toml::Table) -> Result<T> {
    let value = toml::Value::Table(params.clone());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        // toml's Display appends "in `key`" on a second line: keep the message.
        let mut msg = e.into_inner().message().trim().to_string();
        if msg.contains("floating point") && msg.contains("expected usize") {
            msg.push_str(" (write an integer such as 100_000: `1e5` is a float in TOML)");
        }
        if path == "." || path.is_empty() {
            Error::input(msg)
        } else {
            Error::input(format!("{path}: {msg}"))
        }
    })
}

/// The checks every scalar estimator makes before running: `iterations`, `w1`, `schedule`.
pub(crate) fn check_common(iterations: usize, w1: f64, schedule: &schedule::Schedule) -> Result<()> {
    check_iterations(iterations)?;
    if !w1.is_finite() {
        return Err(Error::input(format!("w1: must be a finite number, got {w1}")));
    }
    schedule.validate("schedule", iterations)
}

/// Check `iterations` is in 1..=[`MAX_ITERATIONS`].
pub(crate) fn check_iterations(iterations: usize) -> Result<()> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(Error::input(format!("iterations: must be between 1 and {MAX_ITERATIONS}, got {iterations}")));
    }
    Ok(())
}

/// Build the iterations table of a scalar run: `iteration, estimate, error`.
pub(crate) fn scalar_table(ws: &[f64], truth: f64) -> Table {
    let mut t = Table::new(&["iteration", "estimate", "error"]);
    for (i, w) in ws.iter().enumerate() {
        t.push(vec![Cell::Int(i as i64 + 1), Cell::Float(*w), Cell::Float((w - truth).abs())]);
    }
    t
}

/// The first update k (1-based index of w_{k}) whose estimate is not finite.
pub(crate) fn first_non_finite(ws: &[Vec<f64>]) -> Option<usize> {
    ws.iter().position(|w| w.iter().any(|x| !x.is_finite())).map(|i| i + 1)
}

/// Common summary fields.
pub(crate) fn summary_common(
    kind: &str,
    sched: &schedule::Schedule,
    iterations: usize,
    trajectory: &[Vec<f64>],
    truth: &[f64],
    warnings: Vec<String>,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let last = trajectory.last().cloned().unwrap_or_default();
    let err = euclid(&last, truth);
    let scalar = |v: &[f64]| if v.len() == 1 { json!(v[0]) } else { json!(v) };
    let (s1, s2) = sched.partial_sums(iterations);
    let diverged_at = first_non_finite(trajectory);
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), json!(kind));
    m.insert("iterations".into(), json!(iterations));
    m.insert("initial_estimate".into(), scalar(&trajectory[0]));
    m.insert("final_estimate".into(), scalar(&last));
    m.insert("target".into(), scalar(truth));
    m.insert("final_error".into(), json!(err));
    m.insert("diverged".into(), json!(diverged_at.is_some()));
    m.insert("diverged_at_iteration".into(), json!(diverged_at));
    m.insert(
        "schedule".into(),
        json!({
            "rm_conditions": sched.rm_conditions(),
            "partial_sum_alpha": s1,
            "partial_sum_alpha_sq": s2,
        }),
    );
    m.insert("warnings".into(), json!(warnings));
    m
}

/// Euclidean distance ‖a − b‖₂.
pub(crate) fn euclid(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kind_lists_valid_ones() {
        let e = run("newton", &toml::Table::new(), 0).unwrap_err();
        assert!(matches!(e, Error::Input(_)));
        assert!(e.to_string().contains("robbins-monro"), "{e}");
    }

    #[test]
    fn every_kind_runs_with_minimal_params() {
        for kind in KINDS {
            let src = match *kind {
                "incremental-mean" => "samples = { dist = \"normal\" }\niterations = 5",
                "robbins-monro" => "function = { type = \"cubic\" }\niterations = 5",
                "mbgd" => "batch_size = 5\niterations = 5",
                _ => "iterations = 5",
            };
            let params: toml::Table = toml::from_str(src).unwrap();
            let r = run(kind, &params, 1).unwrap();
            assert_eq!(r.iterations.len(), 6, "{kind}");
            assert_eq!(r.trajectory.len(), 6, "{kind}");
        }
    }
}
