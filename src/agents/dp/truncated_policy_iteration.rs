//! Truncated policy iteration (Zhao Algorithm 4.3).
//!
//! ```text
//! v_0 given (0 by default); π_1 = greedy(v_0)   (or the uniform policy)
//! repeat k = 1, 2, ...:
//!     policy evaluation:  start from v_{k−1}; apply j sweeps of
//!                         v ← Σ_a π_k(a|s) Σ p(s',r|s,a)[r + γ v(s')]   → v_k
//!                         (j = ∞: sweep until the change is below eval_tol)
//!     policy improvement: π_{k+1} = greedy(v_k)
//! until ‖v_k − v_{k−1}‖∞ < tol   (for j = ∞ also: π_{k+1} = π_k)
//! ```
//!
//! With j = 1 and the greedy start this is exactly value iteration; with
//! j = ∞ it is policy iteration.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::evaluation::{backup, check_proper};
use super::{greedy, max_abs_diff, DpSolution, IterRecord, Policy};
use crate::env::TabularModel;
use crate::{Error, Result};

/// The policy the first evaluation step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitialPolicy {
    /// π_1 = greedy(v_0) (lowest action index on ties).
    #[default]
    Greedy,
    /// π_1 = the uniform random policy (use it with gamma = 1, where a greedy
    /// start may never terminate).
    Uniform,
}

/// Hyperparameters of truncated policy iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TpiConfig {
    /// Evaluation sweeps per iteration, j ≥ 1 (default 5). `None` means j = ∞: in
    /// TOML, use `kind = "policy-iteration"` for that.
    pub sweeps: Option<usize>,
    /// Stop when ‖v_k − v_{k−1}‖∞ < tol.
    pub tol: f64,
    /// Inner stopping tolerance when j = ∞.
    pub eval_tol: f64,
    /// Stop (unconverged) after this many iterations.
    pub max_iterations: usize,
    /// Give up an j = ∞ evaluation after this many sweeps.
    pub max_eval_sweeps: usize,
    /// Initial value of every non-fixed state.
    pub v0: f64,
    /// The first policy.
    pub initial_policy: InitialPolicy,
}

impl Default for TpiConfig {
    fn default() -> Self {
        TpiConfig {
            sweeps: Some(5),
            tol: 1e-6,
            eval_tol: 1e-10,
            max_iterations: 100_000,
            max_eval_sweeps: 1_000_000,
            v0: 0.0,
            initial_policy: InitialPolicy::Greedy,
        }
    }
}

/// Run truncated policy iteration. `v_star`, when given, fills the `error` column.
///
/// ```
/// use rlkit::agents::dp::{truncated_policy_iteration, TpiConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let cfg = TpiConfig { sweeps: Some(3), tol: 1e-9, ..Default::default() };
/// let sol = truncated_policy_iteration(w.model(), &cfg, None).unwrap();
/// assert!((sol.values[17] - 10.0).abs() < 1e-7);
/// ```
pub fn truncated_policy_iteration(model: &TabularModel, cfg: &TpiConfig, v_star: Option<&[f64]>) -> Result<DpSolution> {
    if cfg.sweeps == Some(0) {
        return Err(Error::input(
            "sweeps = 0: truncated policy iteration needs j >= 1 evaluation sweeps (omit it for j = infinity)",
        ));
    }
    if cfg.tol.is_nan() || cfg.eval_tol.is_nan() || cfg.tol <= 0.0 || cfg.eval_tol <= 0.0 {
        return Err(Error::input("tol and eval_tol must be > 0"));
    }
    let start = Instant::now();
    let (ns, na) = (model.n_states(), model.n_actions());
    let mut v: Vec<f64> = (0..ns).map(|s| if model.is_fixed(s) { 0.0 } else { cfg.v0 }).collect();
    let mut policy = match cfg.initial_policy {
        InitialPolicy::Greedy => Policy::deterministic(na, &greedy(model, &v)),
        InitialPolicy::Uniform => Policy::uniform(ns, na),
    };
    let mut iterations = Vec::new();
    let mut sweeps = 0usize;
    let mut converged = false;
    let mut next = v.clone();
    for k in 1..=cfg.max_iterations {
        let v_prev = v.clone();
        // Policy evaluation: j sweeps (or until eval_tol), synchronous, from v_{k-1}.
        if cfg.sweeps.is_none() {
            check_proper(model, &policy, |s| format!("state {s} (iteration {k})"))?;
        }
        let limit = cfg.sweeps.unwrap_or(cfg.max_eval_sweeps);
        let mut done_eval = false;
        for _ in 0..limit {
            let mut d: f64 = 0.0;
            for s in 0..ns {
                next[s] = if model.is_fixed(s) { 0.0 } else { backup(model, &policy, &v, s) };
                d = d.max((next[s] - v[s]).abs());
            }
            std::mem::swap(&mut v, &mut next);
            sweeps += 1;
            if !d.is_finite() {
                return Err(Error::input("policy evaluation diverged (values became infinite)"));
            }
            if cfg.sweeps.is_none() && d < cfg.eval_tol {
                done_eval = true;
                break;
            }
        }
        if cfg.sweeps.is_none() && !done_eval {
            return Err(Error::input(format!(
                "policy evaluation did not reach eval_tol = {} within max_eval_sweeps = {}",
                cfg.eval_tol, cfg.max_eval_sweeps
            )));
        }
        // Policy improvement.
        let actions = greedy(model, &v);
        let new_policy = Policy::deterministic(na, &actions);
        let stable = new_policy == policy;
        policy = new_policy;
        let delta = max_abs_diff(&v, &v_prev);
        let error = v_star.map(|vs| max_abs_diff(&v, vs));
        iterations.push(IterRecord { iteration: k, delta, error, sweeps, seconds: start.elapsed().as_secs_f64() });
        if delta < cfg.tol || (cfg.sweeps.is_none() && stable) {
            converged = true;
            break;
        }
    }
    let actions = greedy(model, &v);
    Ok(DpSolution { values: v, actions, iterations, converged })
}
