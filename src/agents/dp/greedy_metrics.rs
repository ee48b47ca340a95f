//! A greedy policy scored against the optimal one of a model: the optimal
//! action sets and the exact v_π come from dynamic programming here, and the
//! scores from the plain-data functions of [`crate::metrics`].

use super::evaluation::EXACT_MAX_STATES;
use super::{evaluate, optimal_action_sets, EvalConfig, EvalMethod, Policy};
use crate::env::TabularModel;
use crate::metrics::PolicyMetrics;
use crate::{Error, Result};

/// The values v_π of the deterministic policy `actions`, evaluated exactly
/// (a linear solve; iteratively above [`EXACT_MAX_STATES`] states). Under
/// γ = 1, a policy that does not terminate with probability 1 has infinite
/// values everywhere.
pub fn policy_values(model: &TabularModel, actions: &[usize]) -> Result<Vec<f64>> {
    let ns = model.n_states();
    if actions.len() != ns || actions.iter().any(|&a| a >= model.n_actions()) {
        return Err(Error::input("policy_values: the policy has the wrong size, or an action is out of range"));
    }
    let pi = Policy::deterministic(model.n_actions(), actions);
    if model.gamma >= 1.0 && !model.improper_states(pi.probs()).is_empty() {
        return Ok(vec![f64::INFINITY; ns]);
    }
    let method = if ns <= EXACT_MAX_STATES { EvalMethod::Exact } else { EvalMethod::Iterative };
    let cfg = EvalConfig { method, ..Default::default() };
    Ok(evaluate(model, &pi, &cfg, None)?.values)
}

/// The value error ‖v_π − v*‖∞ of the deterministic policy `actions`, with
/// v_π from [`policy_values`] (infinite for a policy that never terminates
/// under γ = 1).
///
/// ```
/// use rlkit::agents::dp::{value_error, value_iteration, ViConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let sol = value_iteration(w.model(), &ViConfig { tol: 1e-12, ..Default::default() }, None).unwrap();
/// let e = value_error(w.model(), &sol.actions, &sol.values).unwrap();
/// assert!(e < 1e-9);
/// ```
pub fn value_error(model: &TabularModel, actions: &[usize], v_star: &[f64]) -> Result<f64> {
    if v_star.len() != model.n_states() {
        return Err(Error::input("value_error: v* has the wrong size"));
    }
    crate::metrics::value_error(&policy_values(model, actions)?, v_star)
}

/// Compare the greedy policy `actions` with the optimal policy of `model`:
/// optimal sets from `v_star` with tolerance `tol`, fixed states masked, and
/// the exact value error (see [`crate::metrics::policy`]).
pub fn policy_metrics(model: &TabularModel, actions: &[usize], v_star: &[f64], tol: f64) -> Result<PolicyMetrics> {
    if v_star.len() != model.n_states() {
        return Err(Error::input("policy_metrics: v* has the wrong size"));
    }
    let sets = optimal_action_sets(model, v_star, tol);
    let v_pi = policy_values(model, actions)?;
    PolicyMetrics::new(&sets, actions, model.fixed(), model.n_actions(), &v_pi, v_star)
}
