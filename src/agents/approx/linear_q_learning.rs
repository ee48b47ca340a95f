//! Semi-gradient Q-learning with a linear action-value function (Zhao Alg. 8.3).
//!
//! ```text
//! w_A ← w_A + α [R + γ max_a q̂(S', a) − q̂(S, A)] x(S)
//! ```
//!
//! The behaviour is ε-greedy on q̂ (`behaviour = "epsilon-greedy"`) or uniform
//! (`"uniform"`, off-policy); `episode_length` truncates behaviour episodes.
//! With `features = [{ kind = "one_hot_state" }]` this is tabular Q-learning, bit for bit.

use serde::{Deserialize, Serialize};

use super::linear::{default_features, InitWeights, LinearFn};
use super::linear_sarsa::{default_alpha, default_epsilon};
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{argmax_first, epsilon_greedy, AgentRng, Epsilon, StepSize};
use crate::agents::td::Behaviour;
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::Result;

/// Hyperparameters of linear Q-learning (TOML: `features`, `alpha`, `epsilon`,
/// `w0`, `behaviour`, `episode_length`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearQLearningConfig {
    /// Feature columns (default: one-hot of the state).
    #[serde(default = "default_features")]
    pub features: Vec<ColumnSpec>,
    /// Step size (default 0.1).
    #[serde(default = "default_alpha")]
    pub alpha: StepSize,
    /// Exploration of the ε-greedy behaviour (default 0.1).
    #[serde(default = "default_epsilon")]
    pub epsilon: Epsilon,
    /// Initial weights (default 0).
    #[serde(default)]
    pub w0: InitWeights,
    /// `"epsilon-greedy"` (default) or `"uniform"`.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Truncate behaviour episodes after this many steps (default: none).
    #[serde(default)]
    pub episode_length: Option<u64>,
}

impl Default for LinearQLearningConfig {
    fn default() -> Self {
        LinearQLearningConfig {
            features: default_features(),
            alpha: default_alpha(),
            epsilon: default_epsilon(),
            w0: InitWeights::default(),
            behaviour: Behaviour::EpsilonGreedy,
            episode_length: None,
        }
    }
}

/// The linear Q-learning agent.
#[derive(Debug, Clone)]
pub struct LinearQLearning {
    cfg: LinearQLearningConfig,
    q: LinearFn,
    gamma: f64,
    episode: u64,
    eps: f64,
    updates: u64,
    qs: Vec<f64>,
    x: Features,
    x2: Features,
}

impl LinearQLearning {
    /// A fresh agent.
    pub fn new(cfg: LinearQLearningConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let q = LinearFn::new(&cfg.features, spec, n_actions, cfg.w0)?;
        Ok(LinearQLearning {
            q,
            eps: cfg.epsilon.at(0),
            cfg,
            gamma,
            episode: 0,
            updates: 0,
            qs: vec![0.0; n_actions],
            x: Features::default(),
            x2: Features::default(),
        })
    }

    /// The action-value function.
    pub fn q(&self) -> &LinearFn {
        &self.q
    }
}

impl ObsAgent for LinearQLearning {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        self.q.init_from(rng);
        match self.cfg.behaviour {
            Behaviour::EpsilonGreedy => {
                self.q.encode(obs, &mut self.x);
                self.q.eval_all(&self.x, &mut self.qs);
                epsilon_greedy(&self.qs, self.eps, rng)
            }
            Behaviour::Uniform => {
                use rand::RngExt;
                rng.random_range(0..self.q.outputs)
            }
        }
    }

    fn observe(&mut self, t: &ObsExperience) {
        let boot = if t.terminated {
            0.0
        } else {
            self.q.encode(t.next_obs, &mut self.x2);
            self.q.eval_all(&self.x2, &mut self.qs);
            self.qs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        };
        self.q.encode(t.obs, &mut self.x);
        self.updates += 1;
        let alpha = self.cfg.alpha.alpha(self.updates);
        let target = t.reward + self.gamma * boot;
        let c = alpha * (target - self.q.eval(&self.x, t.action));
        let x = std::mem::take(&mut self.x);
        self.q.add(&x, t.action, c);
        self.x = x;
    }

    fn end_episode(&mut self) {
        self.episode += 1;
        self.eps = self.cfg.epsilon.at(self.episode);
    }

    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        self.q.encode(obs, &mut self.x);
        self.q.eval_all(&self.x, &mut self.qs);
        argmax_first(&self.qs)
    }

    fn value(&mut self, obs: &[f64]) -> f64 {
        self.q.encode(obs, &mut self.x);
        self.q.eval_all(&self.x, &mut self.qs);
        self.qs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        self.q.tensors("w")
    }

    fn max_episode_steps(&self) -> Option<u64> {
        self.cfg.episode_length
    }

    fn diverged(&self) -> bool {
        self.q.diverged()
    }
}
