//! Temporal-difference learning (Sutton & Barto ch. 6–7; Zhao ch. 7), one
//! algorithm per file:
//!
//! - [`td0`]: TD(0) prediction of state values;
//! - [`sarsa`]: Sarsa (on-policy control);
//! - [`expected_sarsa`]: Expected Sarsa;
//! - [`n_step_sarsa`]: n-step Sarsa;
//! - [`q_learning`]: Q-learning, on-policy (ε-greedy behaviour) or
//!   off-policy (a uniform behaviour policy with its own episode length).
//!
//! All of them implement [`crate::agents::agent::Agent`] and share the
//! tabular action values of [`QTable`]. Bootstrapping follows Gymnasium: a
//! terminal next state contributes 0; a *truncated* episode (time limit)
//! bootstraps from its last state.

pub mod expected_sarsa;
pub mod n_step_sarsa;
pub mod q_learning;
pub mod sarsa;
pub mod td0;

pub use expected_sarsa::{ExpectedSarsa, ExpectedSarsaConfig};
pub use n_step_sarsa::{NStepSarsa, NStepSarsaConfig};
pub use q_learning::{Behaviour, QLearning, QLearningConfig};
pub use sarsa::{Sarsa, SarsaConfig};
pub use td0::{Td0, Td0Config};

use super::agent::{argmax_first, StepSize};

/// A tabular action-value function q(s, a) (row-major `n_states × n_actions`)
/// with per-pair update counts for count-based step sizes.
///
/// ```
/// use rlkit::agents::{agent::StepSize, td::QTable};
/// let mut q = QTable::new(2, 3, 0.0);
/// q.update(1, 2, 4.0, &StepSize::InverseCount); // first update: α = 1
/// assert_eq!(q.get(1, 2), 4.0);
/// assert_eq!(q.greedy_policy(), vec![0, 2]);
/// assert_eq!(q.values(), vec![0.0, 4.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QTable {
    n_actions: usize,
    q: Vec<f64>,
    counts: Vec<u64>,
    /// Whether every entry is finite. `update` is the only way to change an
    /// entry, so a flag kept there answers [`QTable::all_finite`] in O(1).
    finite: bool,
}

impl QTable {
    /// Every q(s, a) = `q0`.
    pub fn new(n_states: usize, n_actions: usize, q0: f64) -> Self {
        QTable {
            n_actions,
            q: vec![q0; n_states * n_actions],
            counts: vec![0; n_states * n_actions],
            finite: q0.is_finite() || n_states * n_actions == 0,
        }
    }

    /// Whether every q(s, a) is finite (O(1): tracked by [`QTable::update`]).
    #[inline]
    pub fn all_finite(&self) -> bool {
        self.finite
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// q(s, ·).
    #[inline]
    pub fn row(&self, s: usize) -> &[f64] {
        &self.q[s * self.n_actions..(s + 1) * self.n_actions]
    }

    /// q(s, a).
    #[inline]
    pub fn get(&self, s: usize, a: usize) -> f64 {
        self.q[s * self.n_actions + a]
    }

    /// max_a q(s, a).
    #[inline]
    pub fn max(&self, s: usize) -> f64 {
        self.row(s).iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// q(s, a) += α_n (target − q(s, a)), n the pair's update count (this one included).
    #[inline]
    pub fn update(&mut self, s: usize, a: usize, target: f64, alpha: &StepSize) {
        let i = s * self.n_actions + a;
        self.counts[i] += 1;
        self.q[i] += alpha.alpha(self.counts[i]) * (target - self.q[i]);
        self.finite &= self.q[i].is_finite();
    }

    /// The whole table.
    pub fn as_slice(&self) -> &[f64] {
        &self.q
    }

    /// The update count of every pair.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// argmax_a q(s, a) per state, lowest index on ties.
    pub fn greedy_policy(&self) -> Vec<usize> {
        self.q.chunks(self.n_actions).map(argmax_first).collect()
    }

    /// max_a q(s, a) per state.
    pub fn values(&self) -> Vec<f64> {
        (0..self.q.len() / self.n_actions.max(1)).map(|s| self.max(s)).collect()
    }
}

fn default_alpha() -> StepSize {
    StepSize::Constant { value: 0.1 }
}

fn default_epsilon() -> super::agent::Epsilon {
    super::agent::Epsilon::Constant { value: 0.1 }
}

#[doc(hidden)]
/// The default ε (0.1), for serde defaults in other modules.
pub fn default_epsilon_pub() -> super::agent::Epsilon {
    default_epsilon()
}

#[cfg(test)]
mod qtable_tests {
    use super::*;

    /// The O(1) flag agrees with a scan of every entry, before and after an
    /// update overflows, and a non-finite q0 starts it false.
    #[test]
    fn all_finite_tracks_every_update() {
        let mut q = QTable::new(3, 2, 0.0);
        let scan = |q: &QTable| q.as_slice().iter().all(|x| x.is_finite());
        assert!(q.all_finite() && scan(&q));
        q.update(1, 1, 1e308, &StepSize::Constant { value: 0.5 });
        assert!(q.all_finite() && scan(&q));
        q.update(1, 0, -1e308, &StepSize::Constant { value: 0.5 });
        q.update(1, 0, 1e308, &StepSize::Constant { value: 1.0 });
        assert!(q.all_finite() && scan(&q));
        q.update(2, 0, f64::INFINITY, &StepSize::Constant { value: 0.5 });
        assert!(!q.all_finite() && !scan(&q));
        // Once non-finite, later finite updates elsewhere do not clear it.
        q.update(0, 0, 1.0, &StepSize::Constant { value: 0.5 });
        assert!(!q.all_finite());
        assert!(!QTable::new(2, 2, f64::NAN).all_finite());
        assert!(QTable::new(0, 2, f64::NAN).all_finite());
    }
}
