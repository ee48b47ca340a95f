//! Dynamic programming on a known tabular model (Zhao, chapters 2 to 4;
//! Sutton & Barto, chapter 4).
//!
//! - [`evaluation`]: policy evaluation, iterative (synchronous or in place) or exact;
//! - [`value_iteration()`]: value iteration;
//! - [`grid_vi`]: value iteration on plain grids with implicit successors (`rlkit bench vi`);
//! - [`policy_iteration()`]: policy iteration (truncated policy iteration with j = ∞);
//! - [`truncated_policy_iteration()`]: j evaluation sweeps per step (j = 1 is value iteration);
//! - [`policy`]: policies, greedy extraction, optimal action sets, policy files.
//!
//! Every solver records, per iteration, ‖v_k − v_{k−1}‖∞ and, when v* is
//! given, ‖v_k − v*‖∞, plus the cumulative sweeps and wall-clock seconds.

pub mod evaluation;
pub mod greedy_metrics;
pub mod grid_vi;
pub mod policy;
pub mod policy_iteration;
pub mod truncated_policy_iteration;
pub mod value_iteration;

pub use evaluation::{evaluate, EvalConfig, EvalMethod, Evaluation};
pub use greedy_metrics::{policy_metrics, policy_values, value_error};
pub use policy::{greedy, optimal_action_sets, Policy};
pub use policy_iteration::{policy_iteration, PiConfig};
pub use truncated_policy_iteration::{truncated_policy_iteration, InitialPolicy, TpiConfig};
pub use value_iteration::{value_iteration, ViConfig};

/// What a solver records at the end of each iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterRecord {
    /// 1-based iteration number.
    pub iteration: usize,
    /// ‖v_k − v_{k−1}‖∞.
    pub delta: f64,
    /// ‖v_k − v*‖∞, when v* is known.
    pub error: Option<f64>,
    /// Cumulative sweeps over the state space (Bellman backups of every state).
    pub sweeps: usize,
    /// Wall-clock seconds since the solver started.
    pub seconds: f64,
}

/// The result of a DP solver.
#[derive(Debug, Clone)]
pub struct DpSolution {
    /// The final values v_k.
    pub values: Vec<f64>,
    /// The greedy policy of the final values (see [`policy::greedy`] for ties).
    pub actions: Vec<usize>,
    /// One record per iteration.
    pub iterations: Vec<IterRecord>,
    /// Whether the stopping rule was met within the iteration limit.
    pub converged: bool,
}

impl DpSolution {
    /// Total sweeps.
    pub fn sweeps(&self) -> usize {
        self.iterations.last().map_or(0, |r| r.sweeps)
    }
}

/// ‖a − b‖∞.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}
