//! Sarsa: on-policy TD control (Sutton & Barto §6.4; Zhao Alg. 7.1).
//!
//! ```text
//! Q(S, A) ← Q(S, A) + α [R + γ Q(S', A') − Q(S, A)],   A' ~ ε-greedy(Q)(S')
//! ```
//!
//! The update of a transition waits for the next `act`, which draws A' (from
//! Q before the update, as in the book's pseudocode). A terminal S' gives the
//! target R. A *truncated* episode has no A': its last transition uses the
//! expected target R + γ Σ_a π(a|S') Q(S', a) under the current ε-greedy π.

use serde::{Deserialize, Serialize};

use super::QTable;
use crate::agents::agent::{
    epsilon_greedy, epsilon_greedy_expectation, Agent, AgentRng, Epsilon, Experience, StepSize,
};

/// Hyperparameters of Sarsa (TOML: `alpha`, `epsilon`, `q0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SarsaConfig {
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

impl Default for SarsaConfig {
    fn default() -> Self {
        SarsaConfig { alpha: super::default_alpha(), epsilon: super::default_epsilon(), q0: 0.0 }
    }
}

/// The Sarsa agent.
///
/// ```
/// use rlkit::agents::{td::{Sarsa, SarsaConfig}, train::{train, TrainConfig}};
/// use rlkit::env::World;
/// let world = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
/// let mut agent = Sarsa::new(SarsaConfig::default(), 48, 4, 1.0);
/// let recs = train(&mut world.make_env(), &mut agent, &TrainConfig { episodes: 20, ..Default::default() }, 7, |_, _, _: &Sarsa| {});
/// assert_eq!(recs.len(), 20);
/// ```
#[derive(Debug, Clone)]
pub struct Sarsa {
    cfg: SarsaConfig,
    q: QTable,
    gamma: f64,
    episode: u64,
    eps: f64,
    /// (S, A, R, S') waiting for A'.
    pending: Option<(usize, usize, f64, usize)>,
}

impl Sarsa {
    /// A fresh agent.
    pub fn new(cfg: SarsaConfig, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        Sarsa {
            q: QTable::new(n_states, n_actions, cfg.q0),
            eps: cfg.epsilon.at(0),
            cfg,
            gamma,
            episode: 0,
            pending: None,
        }
    }

    /// The action values.
    pub fn table(&self) -> &QTable {
        &self.q
    }
}

impl Agent for Sarsa {
    fn finite_at(&self, _state: usize) -> bool {
        self.q.all_finite()
    }

    fn all_finite(&self) -> bool {
        self.q.all_finite()
    }

    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize {
        let a = epsilon_greedy(self.q.row(state), self.eps, rng);
        if let Some((s, pa, r, s2)) = self.pending.take() {
            debug_assert_eq!(s2, state, "act must follow the observed next state");
            let target = r + self.gamma * self.q.get(state, a);
            self.q.update(s, pa, target, &self.cfg.alpha);
        }
        a
    }

    fn observe(&mut self, t: &Experience) {
        if t.terminated {
            self.q.update(t.state, t.action, t.reward, &self.cfg.alpha);
        } else if t.truncated {
            let e = epsilon_greedy_expectation(self.q.row(t.next_state), self.eps);
            self.q.update(t.state, t.action, t.reward + self.gamma * e, &self.cfg.alpha);
        } else {
            self.pending = Some((t.state, t.action, t.reward, t.next_state));
        }
    }

    fn end_episode(&mut self) {
        self.pending = None;
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
