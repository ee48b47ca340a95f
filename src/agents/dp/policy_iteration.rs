//! Policy iteration (Zhao Algorithm 4.2; Sutton & Barto §4.3).
//!
//! ```text
//! π_1 = greedy(v_0)  (or uniform)
//! repeat k = 1, 2, ...:
//!     policy evaluation:  v_k = v_{π_k}, by synchronous sweeps started from v_{k−1}
//!                         until the change is below eval_tol
//!     policy improvement: π_{k+1} = greedy(v_k)
//! until π_{k+1} = π_k  (or ‖v_k − v_{k−1}‖∞ < tol)
//! ```
//!
//! This is truncated policy iteration with j = ∞; it shares that file's loop.

use serde::{Deserialize, Serialize};

use super::truncated_policy_iteration::{truncated_policy_iteration, InitialPolicy, TpiConfig};
use super::DpSolution;
use crate::env::TabularModel;
use crate::Result;

/// Hyperparameters of policy iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PiConfig {
    /// Stop when ‖v_k − v_{k−1}‖∞ < tol (or the policy is stable).
    pub tol: f64,
    /// Each evaluation sweeps until its change is below eval_tol.
    pub eval_tol: f64,
    /// Stop (unconverged) after this many iterations.
    pub max_iterations: usize,
    /// Give up an evaluation after this many sweeps.
    pub max_eval_sweeps: usize,
    /// Initial value of every non-fixed state.
    pub v0: f64,
    /// The first policy.
    pub initial_policy: InitialPolicy,
}

impl Default for PiConfig {
    fn default() -> Self {
        let t = TpiConfig::default();
        PiConfig {
            tol: t.tol,
            eval_tol: t.eval_tol,
            max_iterations: t.max_iterations,
            max_eval_sweeps: t.max_eval_sweeps,
            v0: t.v0,
            initial_policy: t.initial_policy,
        }
    }
}

/// Run policy iteration.
///
/// ```
/// use rlkit::agents::dp::{policy_iteration, PiConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let sol = policy_iteration(w.model(), &PiConfig::default(), None).unwrap();
/// assert!(sol.converged && (sol.values[17] - 10.0).abs() < 1e-8);
/// ```
pub fn policy_iteration(model: &TabularModel, cfg: &PiConfig, v_star: Option<&[f64]>) -> Result<DpSolution> {
    let tpi = TpiConfig {
        sweeps: None,
        tol: cfg.tol,
        eval_tol: cfg.eval_tol,
        max_iterations: cfg.max_iterations,
        max_eval_sweeps: cfg.max_eval_sweeps,
        v0: cfg.v0,
        initial_policy: cfg.initial_policy,
    };
    truncated_policy_iteration(model, &tpi, v_star)
}
