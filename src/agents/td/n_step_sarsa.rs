//! n-step Sarsa (Sutton & Barto §7.2).
//!
//! ```text
//! G_{τ:τ+n} = R_{τ+1} + γ R_{τ+2} + … + γ^{n−1} R_{τ+n} + γ^n Q(S_{τ+n}, A_{τ+n})
//! Q(S_τ, A_τ) ← Q(S_τ, A_τ) + α [G_{τ:τ+n} − Q(S_τ, A_τ)]
//! ```
//!
//! When the episode terminates, the remaining pairs are updated with the
//! rewards up to the end (no bootstrap). When it is truncated, they bootstrap
//! from the last state with the expected value under the current ε-greedy
//! policy (there is no next action). With n = 1 this is exactly Sarsa.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::QTable;
use crate::agents::agent::{
    epsilon_greedy, epsilon_greedy_expectation, Agent, AgentRng, Epsilon, Experience, StepSize,
};

/// Hyperparameters of n-step Sarsa (TOML: `n`, `alpha`, `epsilon`, `q0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NStepSarsaConfig {
    /// Number of steps n ≥ 1 (default 4).
    #[serde(default = "default_n")]
    pub n: usize,
    /// Step size (default 0.1).
    #[serde(default = "super::default_alpha")]
    pub alpha: StepSize,
    /// Exploration (default 0.1).
    #[serde(default = "super::default_epsilon")]
    pub epsilon: Epsilon,
    /// Initial q(s, a) (default 0).
    #[serde(default)]
    pub q0: f64,
}

fn default_n() -> usize {
    4
}

impl Default for NStepSarsaConfig {
    fn default() -> Self {
        NStepSarsaConfig { n: default_n(), alpha: super::default_alpha(), epsilon: super::default_epsilon(), q0: 0.0 }
    }
}

/// The n-step Sarsa agent.
#[derive(Debug, Clone)]
pub struct NStepSarsa {
    cfg: NStepSarsaConfig,
    q: QTable,
    gamma: f64,
    gamma_n: f64,
    episode: u64,
    eps: f64,
    /// (S_k, A_k, R_{k+1}) not yet updated, oldest first; at most n.
    hist: VecDeque<(usize, usize, f64)>,
    /// The last transition was not final: the next `act` supplies A_{t+1}.
    awaiting: bool,
}

impl NStepSarsa {
    /// A fresh agent. `cfg.n` must be ≥ 1 (checked by [`NStepSarsa::from_config`]).
    pub fn new(cfg: NStepSarsaConfig, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        let n = cfg.n.max(1);
        NStepSarsa {
            q: QTable::new(n_states, n_actions, cfg.q0),
            eps: cfg.epsilon.at(0),
            gamma_n: gamma.powi(n as i32),
            hist: VecDeque::with_capacity(n + 1),
            cfg,
            gamma,
            episode: 0,
            awaiting: false,
        }
    }

    /// Validate and build.
    pub fn from_config(cfg: NStepSarsaConfig, n_states: usize, n_actions: usize, gamma: f64) -> crate::Result<Self> {
        if cfg.n == 0 {
            return Err(crate::Error::input("agent `n-step-sarsa` key `n`: must be >= 1"));
        }
        Ok(Self::new(cfg, n_states, n_actions, gamma))
    }

    /// Discounted sum of the rewards in `hist`.
    fn rewards_sum(&self) -> f64 {
        let mut g = 0.0;
        let mut d = 1.0;
        for &(_, _, r) in &self.hist {
            g += d * r;
            d *= self.gamma;
        }
        g
    }

    /// Update every remaining pair, bootstrapping `boot` (already the value at the end).
    fn flush(&mut self, boot: f64) {
        while !self.hist.is_empty() {
            let k = self.hist.len() as i32;
            let g = self.rewards_sum() + self.gamma.powi(k) * boot;
            let (s, a, _) = self.hist.pop_front().expect("non-empty");
            self.q.update(s, a, g, &self.cfg.alpha);
        }
    }
}

impl Agent for NStepSarsa {
    fn finite_at(&self, _state: usize) -> bool {
        self.q.all_finite()
    }

    fn all_finite(&self) -> bool {
        self.q.all_finite()
    }

    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize {
        let a = epsilon_greedy(self.q.row(state), self.eps, rng);
        if self.awaiting {
            self.awaiting = false;
            if self.hist.len() == self.cfg.n.max(1) {
                let g = self.rewards_sum() + self.gamma_n * self.q.get(state, a);
                let (s, pa, _) = self.hist.pop_front().expect("n >= 1");
                self.q.update(s, pa, g, &self.cfg.alpha);
            }
        }
        a
    }

    fn observe(&mut self, t: &Experience) {
        self.hist.push_back((t.state, t.action, t.reward));
        if t.terminated {
            self.flush(0.0);
        } else if t.truncated {
            let e = epsilon_greedy_expectation(self.q.row(t.next_state), self.eps);
            self.flush(e);
        } else {
            self.awaiting = true;
        }
    }

    fn end_episode(&mut self) {
        self.hist.clear();
        self.awaiting = false;
        self.episode += 1;
        self.eps = self.cfg.epsilon.at(self.episode);
    }

    fn greedy_policy(&self) -> Vec<usize> {
        self.q.greedy_policy()
    }

    fn values(&self) -> Vec<f64> {
        self.q.values()
    }

    fn q(&self) -> Option<&[f64]> {
        Some(self.q.as_slice())
    }
}
