//! A greedy policy compared with the optimal one, as segmentation maps whose
//! classes are actions, and the value error of a policy.
//!
//! # How the confusion matrix is built
//! For every state s that is not masked (fixed states — terminal cells, walls,
//! cliffs — are always masked; more can be added):
//! - the prediction is the learned action `pred(s)`;
//! - the truth is `pred(s)` itself **if it is one of the optimal actions**
//!   `opt(s)` (so any optimal action counts as correct), and otherwise the
//!   lowest-index optimal action `min opt(s)`.
//!
//! So PA is exactly the fraction of states whose learned action is optimal.
//! The optimal sets come from [`crate::agents::dp::optimal_action_sets`] on
//! v* with an absolute tolerance (1e-6 by default in [`policy_metrics`]).

use super::segmentation::{ConfusionMatrix, Scores};
use crate::agents::dp::{evaluate, optimal_action_sets, EvalConfig, EvalMethod, Policy};
use crate::env::TabularModel;
use crate::{Error, Result};

/// The confusion matrix of `pred` against the optimal action sets `optimal`
/// (see the module docs), skipping states with `ignore[s] == true`.
///
/// ```
/// use rlkit::metrics::policy_confusion;
/// // State 0: optimal {1, 2}, predicted 2 → correct (truth 2).
/// // State 1: optimal {0}, predicted 1 → wrong (truth 0).
/// // State 2: masked.
/// let cm = policy_confusion(&[vec![1, 2], vec![0], vec![0]], &[2, 1, 3], &[false, false, true], 4).unwrap();
/// assert_eq!(cm.get(2, 2), 1);
/// assert_eq!(cm.get(0, 1), 1);
/// assert_eq!(cm.total(), 2);
/// ```
pub fn policy_confusion(
    optimal: &[Vec<usize>],
    pred: &[usize],
    ignore: &[bool],
    n_actions: usize,
) -> Result<ConfusionMatrix> {
    if optimal.len() != pred.len() || ignore.len() != pred.len() {
        return Err(Error::input(format!(
            "policy maps differ in size: optimal {}, predicted {}, mask {}",
            optimal.len(),
            pred.len(),
            ignore.len()
        )));
    }
    let mut truth = Vec::with_capacity(pred.len());
    for (s, set) in optimal.iter().enumerate() {
        if ignore[s] {
            truth.push(0);
            continue;
        }
        let t = if set.contains(&pred[s]) {
            pred[s]
        } else {
            *set.iter().min().ok_or_else(|| Error::input(format!("state {s} has an empty optimal action set")))?
        };
        truth.push(t);
    }
    ConfusionMatrix::from_labels(&truth, pred, Some(ignore), n_actions)
}

/// The value error ‖v_π − v*‖∞ of the deterministic policy `actions`, with
/// v_π evaluated exactly (a linear solve; iteratively above
/// [`crate::agents::dp::evaluation::EXACT_MAX_STATES`] states). A policy that
/// never terminates from some state under γ = 1 has an infinite error.
///
/// ```
/// use rlkit::agents::dp::{value_iteration, ViConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let sol = value_iteration(w.model(), &ViConfig { tol: 1e-12, ..Default::default() }, None).unwrap();
/// let e = rlkit::metrics::value_error(w.model(), &sol.actions, &sol.values).unwrap();
/// assert!(e < 1e-9);
/// ```
pub fn value_error(model: &TabularModel, actions: &[usize], v_star: &[f64]) -> Result<f64> {
    let ns = model.n_states();
    if actions.len() != ns || v_star.len() != ns || actions.iter().any(|&a| a >= model.n_actions()) {
        return Err(Error::input("value_error: the policy or v* has the wrong size, or an action is out of range"));
    }
    let pi = Policy::deterministic(model.n_actions(), actions);
    if model.gamma >= 1.0 && !model.improper_states(pi.probs()).is_empty() {
        return Ok(f64::INFINITY);
    }
    let method =
        if ns <= crate::agents::dp::evaluation::EXACT_MAX_STATES { EvalMethod::Exact } else { EvalMethod::Iterative };
    let cfg = EvalConfig { method, ..Default::default() };
    let v = evaluate(model, &pi, &cfg, None)?.values;
    Ok(v.iter().zip(v_star).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max))
}

/// Everything the runner reports about a learned greedy policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyMetrics {
    /// The confusion matrix (rows: truth as built in the module docs).
    pub confusion: ConfusionMatrix,
    /// PA, MPA, IoU, MIoU, FWIoU.
    pub scores: Scores,
    /// ‖v_π − v*‖∞.
    pub value_error: f64,
}

/// Compare the greedy policy `actions` with the optimal policy of `model`:
/// optimal sets from `v_star` with tolerance `tol`, fixed states masked.
pub fn policy_metrics(model: &TabularModel, actions: &[usize], v_star: &[f64], tol: f64) -> Result<PolicyMetrics> {
    let sets = optimal_action_sets(model, v_star, tol);
    let confusion = policy_confusion(&sets, actions, model.fixed(), model.n_actions())?;
    let scores = confusion.scores();
    Ok(PolicyMetrics { confusion, scores, value_error: value_error(model, actions, v_star)? })
}
