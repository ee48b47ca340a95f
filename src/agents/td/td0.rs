//! TD(0) prediction of state values (Sutton & Barto §6.1; Zhao Alg. 7.0).
//!
//! ```text
//! V(S) ← V(S) + α [R + γ V(S') − V(S)]      (V(S') = 0 when S' is terminal)
//! ```
//!
//! The policy evaluated is the uniform random policy (the only one
//! prediction experiments here need: Sutton & Barto's random walk has a
//! single action, Zhao's chapter 7 evaluates the uniform policy).

use serde::{Deserialize, Serialize};

use crate::agents::agent::{Agent, AgentRng, Experience, StepSize};

/// Hyperparameters of TD(0) (TOML: `alpha`, `v0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Td0Config {
    /// Step size (default 0.1).
    #[serde(default = "super::default_alpha")]
    pub alpha: StepSize,
    /// Initial V(s) (default 0; Sutton & Barto Example 6.2 uses 0.5).
    #[serde(default)]
    pub v0: f64,
}

impl Default for Td0Config {
    fn default() -> Self {
        Td0Config { alpha: super::default_alpha(), v0: 0.0 }
    }
}

/// The TD(0) prediction agent (uniform random behaviour).
#[derive(Debug, Clone)]
pub struct Td0 {
    cfg: Td0Config,
    n_actions: usize,
    gamma: f64,
    v: Vec<f64>,
    counts: Vec<u64>,
}

impl Td0 {
    /// A fresh agent.
    pub fn new(cfg: Td0Config, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        Td0 { v: vec![cfg.v0; n_states], counts: vec![0; n_states], cfg, n_actions, gamma }
    }
}

impl Agent for Td0 {
    fn finite_at(&self, state: usize) -> bool {
        self.v[state].is_finite()
    }

    fn act(&mut self, _state: usize, rng: &mut AgentRng) -> usize {
        use rand::RngExt;
        if self.n_actions == 1 {
            0
        } else {
            rng.random_range(0..self.n_actions)
        }
    }

    fn observe(&mut self, t: &Experience) {
        let boot = if t.terminated { 0.0 } else { self.v[t.next_state] };
        let s = t.state;
        self.counts[s] += 1;
        let alpha = self.cfg.alpha.alpha(self.counts[s]);
        self.v[s] += alpha * (t.reward + self.gamma * boot - self.v[s]);
    }

    /// Action 0 everywhere: the evaluated policy is uniform (lowest index on ties).
    fn greedy_policy(&self) -> Vec<usize> {
        vec![0; self.v.len()]
    }

    fn values(&self) -> Vec<f64> {
        self.v.clone()
    }
}
