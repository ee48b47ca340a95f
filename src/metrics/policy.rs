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
//!
//! Everything here takes plain data — label maps, optimal action sets, masks
//! and value vectors — and knows no agent or solver: the caller computes the
//! optimal sets and v_π (`rlkit::agents::dp::policy_metrics` does both for
//! a model, with dynamic programming).

use super::segmentation::{ConfusionMatrix, Scores};
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

/// The value error ‖v_π − v*‖∞ between the values `v_pi` of a policy and
/// the optimal values `v_star` (infinite if some v_π(s) is: a policy that
/// never terminates under γ = 1).
///
/// ```
/// let e = rlkit::metrics::value_error(&[1.0, 2.5, 0.0], &[1.5, 2.0, -0.25]).unwrap();
/// assert_eq!(e, 0.5);
/// assert!(rlkit::metrics::value_error(&[1.0, 2.0], &[1.0]).is_err());
/// ```
pub fn value_error(v_pi: &[f64], v_star: &[f64]) -> Result<f64> {
    if v_pi.len() != v_star.len() {
        return Err(Error::input(format!("value_error: v_pi has {} values but v* has {}", v_pi.len(), v_star.len())));
    }
    Ok(v_pi
        .iter()
        .zip(v_star)
        .map(|(a, b)| if a.is_infinite() { f64::INFINITY } else { (a - b).abs() })
        .fold(0.0, f64::max))
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

impl PolicyMetrics {
    /// Compare the greedy policy `actions` with the optimal action sets
    /// `optimal` (masked where `ignore[s]`), given the policy's values `v_pi`
    /// and the optimal values `v_star`.
    ///
    /// ```
    /// use rlkit::metrics::PolicyMetrics;
    /// let m = PolicyMetrics::new(&[vec![1, 2], vec![0], vec![0]], &[2, 1, 3], &[false, false, true], 4, &[0.0, -1.0, 0.0], &[0.0, 0.0, 0.0]).unwrap();
    /// assert_eq!(m.scores.pa, 0.5);
    /// assert_eq!(m.value_error, 1.0);
    /// ```
    pub fn new(
        optimal: &[Vec<usize>],
        actions: &[usize],
        ignore: &[bool],
        n_actions: usize,
        v_pi: &[f64],
        v_star: &[f64],
    ) -> Result<PolicyMetrics> {
        let confusion = policy_confusion(optimal, actions, ignore, n_actions)?;
        let scores = confusion.scores();
        Ok(PolicyMetrics { confusion, scores, value_error: value_error(v_pi, v_star)? })
    }
}
