//! Q-learning (Sutton & Barto §6.5; Zhao Algs. 7.2 and 7.3).
//!
//! ```text
//! Q(S, A) ← Q(S, A) + α [R + γ max_a Q(S', a) − Q(S, A)]
//! ```
//!
//! The behaviour policy is either the agent's ε-greedy policy on Q
//! (`behaviour = "epsilon-greedy"`, on-policy in Zhao's terms) or a fixed
//! uniform policy (`behaviour = "uniform"`, Zhao's off-policy Alg. 7.3). The
//! behaviour episode length is set with `episode_length` (e.g. Zhao Fig. 7.4:
//! one episode of 100,000 steps); such episodes end by truncation and are
//! bootstrapped through.

use serde::{Deserialize, Serialize};

use super::QTable;
use crate::agents::agent::{epsilon_greedy, Agent, AgentRng, Epsilon, Experience, StepSize};

/// The behaviour policy of Q-learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// ε-greedy on the current Q, with the agent's `epsilon` schedule.
    #[default]
    EpsilonGreedy,
    /// Uniformly random actions, whatever Q is.
    Uniform,
}

/// Hyperparameters of Q-learning (TOML: `alpha`, `epsilon`, `q0`,
/// `behaviour`, `episode_length`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QLearningConfig {
    /// Step size (default 0.1).
    #[serde(default = "super::default_alpha")]
    pub alpha: StepSize,
    /// Exploration of the ε-greedy behaviour (default 0.1; unused with `uniform`).
    #[serde(default = "super::default_epsilon")]
    pub epsilon: Epsilon,
    /// Initial q(s, a) (default 0).
    #[serde(default)]
    pub q0: f64,
    /// `"epsilon-greedy"` (default) or `"uniform"`.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Truncate behaviour episodes after this many steps (default: none).
    #[serde(default)]
    pub episode_length: Option<u64>,
}

impl Default for QLearningConfig {
    fn default() -> Self {
        QLearningConfig {
            alpha: super::default_alpha(),
            epsilon: super::default_epsilon(),
            q0: 0.0,
            behaviour: Behaviour::EpsilonGreedy,
            episode_length: None,
        }
    }
}

/// The Q-learning agent.
#[derive(Debug, Clone)]
pub struct QLearning {
    cfg: QLearningConfig,
    q: QTable,
    gamma: f64,
    episode: u64,
    eps: f64,
}

impl QLearning {
    /// A fresh agent.
    pub fn new(cfg: QLearningConfig, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        QLearning { q: QTable::new(n_states, n_actions, cfg.q0), eps: cfg.epsilon.at(0), cfg, gamma, episode: 0 }
    }
}

impl Agent for QLearning {
    fn finite_at(&self, _state: usize) -> bool {
        self.q.all_finite()
    }

    fn all_finite(&self) -> bool {
        self.q.all_finite()
    }

    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize {
        match self.cfg.behaviour {
            Behaviour::EpsilonGreedy => epsilon_greedy(self.q.row(state), self.eps, rng),
            Behaviour::Uniform => {
                use rand::RngExt;
                rng.random_range(0..self.q.n_actions())
            }
        }
    }

    fn observe(&mut self, t: &Experience) {
        let boot = if t.terminated { 0.0 } else { self.q.max(t.next_state) };
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

    fn max_episode_steps(&self) -> Option<u64> {
        self.cfg.episode_length
    }
}
