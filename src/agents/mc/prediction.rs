//! Monte Carlo prediction of state values, every-visit, with a constant (or
//! any) step size (Sutton & Barto §6.1, "constant-α MC"; Example 6.2):
//!
//! ```text
//! at the end of each episode, for t = T−1, ..., 0:
//!     G ← γ G + R_{t+1};   V(S_t) ← V(S_t) + α [G − V(S_t)]
//! ```
//!
//! The policy is uniform random. A truncated episode starts G from V(S_T).

use serde::{Deserialize, Serialize};

use crate::agents::agent::{Agent, AgentRng, Experience, StepSize};

/// Hyperparameters of MC prediction (TOML kind `mc-prediction`: `alpha`, `v0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McPredictionConfig {
    /// Step size (default 0.1; `inverse-count` gives sample averages).
    #[serde(default = "default_alpha")]
    pub alpha: StepSize,
    /// Initial V(s) (default 0).
    #[serde(default)]
    pub v0: f64,
}

fn default_alpha() -> StepSize {
    StepSize::Constant { value: 0.1 }
}

impl Default for McPredictionConfig {
    fn default() -> Self {
        McPredictionConfig { alpha: default_alpha(), v0: 0.0 }
    }
}

/// The MC prediction agent.
#[derive(Debug, Clone)]
pub struct McPrediction {
    cfg: McPredictionConfig,
    n_actions: usize,
    gamma: f64,
    v: Vec<f64>,
    counts: Vec<u64>,
    traj: Vec<(usize, f64)>,
}

impl McPrediction {
    /// A fresh agent.
    pub fn new(cfg: McPredictionConfig, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        McPrediction { v: vec![cfg.v0; n_states], counts: vec![0; n_states], cfg, n_actions, gamma, traj: Vec::new() }
    }

    fn learn(&mut self, boot: f64) {
        let mut g = boot;
        for t in (0..self.traj.len()).rev() {
            let (s, r) = self.traj[t];
            g = self.gamma * g + r;
            self.counts[s] += 1;
            let alpha = self.cfg.alpha.alpha(self.counts[s]);
            self.v[s] += alpha * (g - self.v[s]);
        }
        self.traj.clear();
    }
}

impl Agent for McPrediction {
    fn act(&mut self, _state: usize, rng: &mut AgentRng) -> usize {
        use rand::RngExt;
        if self.n_actions == 1 {
            0
        } else {
            rng.random_range(0..self.n_actions)
        }
    }

    fn observe(&mut self, t: &Experience) {
        self.traj.push((t.state, t.reward));
        if t.terminated {
            self.learn(0.0);
        } else if t.truncated {
            let boot = self.v[t.next_state];
            self.learn(boot);
        }
    }

    fn end_episode(&mut self) {
        if !self.traj.is_empty() {
            self.learn(0.0);
        }
    }

    /// Action 0 everywhere (the evaluated policy is uniform).
    fn greedy_policy(&self) -> Vec<usize> {
        vec![0; self.v.len()]
    }

    fn values(&self) -> Vec<f64> {
        self.v.clone()
    }
}
