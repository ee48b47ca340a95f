//! Expected Sarsa (Sutton & Barto §6.6).
//!
//! ```text
//! Q(S, A) ← Q(S, A) + α [R + γ Σ_a π(a|S') Q(S', a) − Q(S, A)]
//! ```
//!
//! with π the agent's own ε-greedy policy, so
//! Σ_a π(a|S') Q(S', a) = ε·mean_a Q(S', a) + (1 − ε)·max_a Q(S', a).
//! A terminal S' contributes 0; a truncated one is bootstrapped as usual.

use super::QTable;
use crate::agents::agent::{epsilon_greedy, epsilon_greedy_expectation, Agent, AgentRng, Experience};

/// Hyperparameters of Expected Sarsa: the same as Sarsa's (TOML: `alpha`,
/// `epsilon` — used both to act and for the expectation — and `q0`).
pub type ExpectedSarsaConfig = super::sarsa::SarsaConfig;

/// The Expected Sarsa agent.
#[derive(Debug, Clone)]
pub struct ExpectedSarsa {
    cfg: ExpectedSarsaConfig,
    q: QTable,
    gamma: f64,
    episode: u64,
    eps: f64,
}

impl ExpectedSarsa {
    /// A fresh agent.
    pub fn new(cfg: ExpectedSarsaConfig, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        ExpectedSarsa { q: QTable::new(n_states, n_actions, cfg.q0), eps: cfg.epsilon.at(0), cfg, gamma, episode: 0 }
    }
}

impl Agent for ExpectedSarsa {
    fn finite_at(&self, _state: usize) -> bool {
        self.q.all_finite()
    }

    fn all_finite(&self) -> bool {
        self.q.all_finite()
    }

    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize {
        epsilon_greedy(self.q.row(state), self.eps, rng)
    }

    fn observe(&mut self, t: &Experience) {
        let boot = if t.terminated { 0.0 } else { epsilon_greedy_expectation(self.q.row(t.next_state), self.eps) };
        self.q.update(t.state, t.action, t.reward + self.gamma * boot, &self.cfg.alpha);
    }

    fn end_episode(&mut self) {
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
