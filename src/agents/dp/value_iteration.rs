//! Value iteration (Zhao Algorithm 4.1; Sutton & Barto §4.4).
//!
//! ```text
//! v_0 = 0
//! repeat k = 1, 2, ...:
//!     v_k(s) = max_a Σ_{s',r} p(s',r|s,a) [r + γ v_{k−1}(s')]      for every non-fixed s
//! until ‖v_k − v_{k−1}‖∞ < tol
//! π = greedy(v_k)
//! ```
//!
//! Sweeps are synchronous: every v_k(s) is computed from v_{k−1}. Large models
//! are swept in parallel chunks (rayon); each state's backup is independent
//! and the max-norm is exact, so the result is identical for any thread count.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{greedy, max_abs_diff, DpSolution, IterRecord};
use crate::env::TabularModel;
use crate::{Error, Result};

/// Hyperparameters of value iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViConfig {
    /// Stop when ‖v_k − v_{k−1}‖∞ < tol.
    pub tol: f64,
    /// Stop (unconverged) after this many iterations.
    pub max_iterations: usize,
    /// Initial value of every non-fixed state.
    pub v0: f64,
}

impl Default for ViConfig {
    fn default() -> Self {
        ViConfig { tol: 1e-6, max_iterations: 100_000, v0: 0.0 }
    }
}

/// States per parallel chunk; models smaller than this run on one thread.
const CHUNK: usize = 16_384;

/// One synchronous Bellman optimality sweep: `out(s) = max_a q(v, s, a)`.
/// Returns ‖out − v‖∞.
pub fn optimality_sweep(model: &TabularModel, v: &[f64], out: &mut [f64]) -> f64 {
    let (offsets, prob, next, reward, done) = model.raw();
    let na = model.n_actions();
    let gamma = model.gamma;
    let fixed = model.fixed();
    let deterministic = model.is_deterministic();
    let chunk = |start: usize, out: &mut [f64]| -> f64 {
        let mut delta: f64 = 0.0;
        if deterministic {
            // One outcome per (s, a), stored at index s·|A| + a: no offsets, no probabilities.
            for (i, o) in out.iter_mut().enumerate() {
                let s = start + i;
                if fixed[s] {
                    *o = 0.0;
                    continue;
                }
                let base = s * na;
                let (nx, rw, dn) = (&next[base..base + na], &reward[base..base + na], &done[base..base + na]);
                let mut best = f64::NEG_INFINITY;
                for k in 0..na {
                    let boot = if dn[k] { 0.0 } else { v[nx[k] as usize] };
                    let q = rw[k] + gamma * boot;
                    if q > best {
                        best = q;
                    }
                }
                let d = (best - v[s]).abs();
                if d > delta {
                    delta = d;
                }
                *o = best;
            }
            return delta;
        }
        for (i, o) in out.iter_mut().enumerate() {
            let s = start + i;
            if fixed[s] {
                *o = 0.0;
                continue;
            }
            let mut best = f64::NEG_INFINITY;
            for a in 0..na {
                let p = s * na + a;
                let mut q = 0.0;
                for k in offsets[p]..offsets[p + 1] {
                    let boot = if done[k] { 0.0 } else { v[next[k] as usize] };
                    q += prob[k] * (reward[k] + gamma * boot);
                }
                best = best.max(q);
            }
            delta = delta.max((best - v[s]).abs());
            *o = best;
        }
        delta
    };
    if out.len() <= CHUNK {
        chunk(0, out)
    } else {
        out.par_chunks_mut(CHUNK).enumerate().map(|(i, o)| chunk(i * CHUNK, o)).reduce(|| 0.0, f64::max)
    }
}

/// Run value iteration. `v_star`, when given, fills the `error` column.
///
/// ```
/// use rlkit::agents::dp::{value_iteration, ViConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let sol = value_iteration(w.model(), &ViConfig { tol: 1e-10, ..Default::default() }, None).unwrap();
/// assert!((sol.values[17] - 10.0).abs() < 1e-8); // the target (4,3), 1-indexed
/// ```
pub fn value_iteration(model: &TabularModel, cfg: &ViConfig, v_star: Option<&[f64]>) -> Result<DpSolution> {
    if cfg.tol.is_nan() || cfg.tol <= 0.0 {
        return Err(Error::input(format!("tol = {} must be > 0", cfg.tol)));
    }
    let start = Instant::now();
    let ns = model.n_states();
    let mut v: Vec<f64> = (0..ns).map(|s| if model.is_fixed(s) { 0.0 } else { cfg.v0 }).collect();
    let mut next = vec![0.0; ns];
    let mut iterations = Vec::new();
    let mut converged = false;
    for k in 1..=cfg.max_iterations {
        let delta = optimality_sweep(model, &v, &mut next);
        std::mem::swap(&mut v, &mut next);
        if !delta.is_finite() {
            return Err(Error::input("value iteration diverged (values became infinite)"));
        }
        let error = v_star.map(|vs| max_abs_diff(&v, vs));
        iterations.push(IterRecord { iteration: k, delta, error, sweeps: k, seconds: start.elapsed().as_secs_f64() });
        if delta < cfg.tol {
            converged = true;
            break;
        }
    }
    let actions = greedy(model, &v);
    Ok(DpSolution { values: v, actions, iterations, converged })
}

/// v* to (near) machine precision, for error columns and tests.
pub fn optimal_values(model: &TabularModel) -> Result<Vec<f64>> {
    let sol = value_iteration(model, &ViConfig { tol: 1e-13, max_iterations: 1_000_000, v0: 0.0 }, None)?;
    if !sol.converged {
        return Err(Error::input("could not compute v*: value iteration did not converge in 1,000,000 sweeps"));
    }
    Ok(sol.values)
}
