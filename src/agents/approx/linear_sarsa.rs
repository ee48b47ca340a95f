//! Semi-gradient Sarsa with a linear action-value function (Zhao Alg. 8.2;
//! Sutton & Barto §10.1, the Mountain Car agent of Fig. 10.2).
//!
//! ```text
//! q̂(s, a) = w_aᵀ x(s)
//! w_A ← w_A + α [R + γ q̂(S', A') − q̂(S, A)] x(S),   A' ~ ε-greedy(q̂)(S')
//! ```
//!
//! The update of a transition waits for the next `act`, which draws A' from
//! q̂ before the update (the book's pseudocode). A terminal S' gives the target
//! R; a truncated episode uses the expected target R + γ Σ_a π(a|S') q̂(S', a).
//! With `features = [{ kind = "one_hot_state" }]` this is tabular Sarsa, bit for bit.

use serde::{Deserialize, Serialize};

use super::linear::{default_features, InitWeights, LinearFn};
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{argmax_first, epsilon_greedy, epsilon_greedy_expectation, AgentRng, Epsilon, StepSize};
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::Result;

/// Hyperparameters of linear Sarsa (TOML: `features`, `alpha`, `epsilon`, `w0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSarsaConfig {
    /// Feature columns (default: one-hot of the state).
    #[serde(default = "default_features")]
    pub features: Vec<ColumnSpec>,
    /// Step size (default 0.1; a count-based schedule counts the agent's updates).
    #[serde(default = "default_alpha")]
    pub alpha: StepSize,
    /// Exploration (default 0.1).
    #[serde(default = "default_epsilon")]
    pub epsilon: Epsilon,
    /// Initial weights (default 0).
    #[serde(default)]
    pub w0: InitWeights,
}

pub(crate) fn default_alpha() -> StepSize {
    StepSize::Constant { value: 0.1 }
}
pub(crate) fn default_epsilon() -> Epsilon {
    Epsilon::Constant { value: 0.1 }
}

impl Default for LinearSarsaConfig {
    fn default() -> Self {
        LinearSarsaConfig {
            features: default_features(),
            alpha: default_alpha(),
            epsilon: default_epsilon(),
            w0: InitWeights::default(),
        }
    }
}

/// The linear Sarsa agent.
///
/// ```
/// use rlkit::agents::approx::{linear_sarsa::{LinearSarsa, LinearSarsaConfig}, train_obs};
/// use rlkit::agents::train::TrainConfig;
/// use rlkit::env::World;
/// let world = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
/// let mut agent = LinearSarsa::new(LinearSarsaConfig::default(), &world.obs_spec(), 4, 1.0).unwrap();
/// let cfg = TrainConfig { episodes: 20, ..Default::default() };
/// let recs = train_obs(&mut world.make_obs_env(), &mut agent, &cfg, 7, None, |_, _, _: &mut LinearSarsa| {});
/// assert_eq!(recs.len(), 20);
/// ```
#[derive(Debug, Clone)]
pub struct LinearSarsa {
    cfg: LinearSarsaConfig,
    q: LinearFn,
    gamma: f64,
    episode: u64,
    eps: f64,
    updates: u64,
    qs: Vec<f64>,
    /// x(S), A, R of the transition waiting for A'.
    pending: Option<(Features, usize, f64)>,
    x: Features,
    x2: Features,
}

impl LinearSarsa {
    /// A fresh agent.
    pub fn new(cfg: LinearSarsaConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let q = LinearFn::new(&cfg.features, spec, n_actions, cfg.w0)?;
        Ok(LinearSarsa {
            q,
            eps: cfg.epsilon.at(0),
            cfg,
            gamma,
            episode: 0,
            updates: 0,
            qs: vec![0.0; n_actions],
            pending: None,
            x: Features::default(),
            x2: Features::default(),
        })
    }

    /// The action-value function.
    pub fn q(&self) -> &LinearFn {
        &self.q
    }

    fn update(&mut self, x: &Features, a: usize, target: f64) {
        self.updates += 1;
        let alpha = self.cfg.alpha.alpha(self.updates);
        let c = alpha * (target - self.q.eval(x, a));
        self.q.add(x, a, c);
    }
}

impl ObsAgent for LinearSarsa {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        self.q.init_from(rng);
        let mut x = std::mem::take(&mut self.x);
        self.q.encode(obs, &mut x);
        self.q.eval_all(&x, &mut self.qs);
        let a = epsilon_greedy(&self.qs, self.eps, rng);
        if let Some((xp, pa, r)) = self.pending.take() {
            let target = r + self.gamma * self.qs[a];
            self.update(&xp, pa, target);
            self.x2 = xp;
        }
        // Keep x(S) for this step's transition.
        self.x = x;
        a
    }

    fn observe(&mut self, t: &ObsExperience) {
        let x = std::mem::take(&mut self.x);
        if t.terminated {
            self.update(&x, t.action, t.reward);
            self.x = x;
        } else if t.truncated {
            let mut x2 = std::mem::take(&mut self.x2);
            self.q.encode(t.next_obs, &mut x2);
            self.q.eval_all(&x2, &mut self.qs);
            let e = epsilon_greedy_expectation(&self.qs, self.eps);
            self.update(&x, t.action, t.reward + self.gamma * e);
            self.x = x;
            self.x2 = x2;
        } else {
            self.pending = Some((x, t.action, t.reward));
            self.x = std::mem::take(&mut self.x2);
        }
    }

    fn end_episode(&mut self) {
        self.pending = None;
        self.episode += 1;
        self.eps = self.cfg.epsilon.at(self.episode);
    }

    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        let mut x = Features::default();
        self.q.encode(obs, &mut x);
        self.q.eval_all(&x, &mut self.qs);
        argmax_first(&self.qs)
    }

    fn value(&mut self, obs: &[f64]) -> f64 {
        let mut x = Features::default();
        self.q.encode(obs, &mut x);
        self.q.eval_all(&x, &mut self.qs);
        self.qs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        self.q.tensors("w")
    }

    fn diverged(&self) -> bool {
        self.q.diverged()
    }
}
