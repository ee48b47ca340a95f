//! MC ε-greedy (Zhao Algorithm 5.3; Sutton & Barto §5.4), a step-based agent.
//!
//! ```text
//! for every episode (of `episode_length` steps, following the ε-greedy π):
//!     g ← 0
//!     for t = T−1, ..., 0:                       (every-visit by default)
//!         g ← γ g + r_{t+1}
//!         Returns(s_t, a_t) += g;  Num(s_t, a_t) += 1;  q(s_t, a_t) = Returns / Num
//! π(a|s) = 1 − ε (|A|−1)/|A| for the greedy action, ε/|A| for the others
//! ```
//!
//! The agent acts ε-greedily on q (ties among greedy actions broken uniformly
//! at random), so the policy improvement of Zhao's pseudocode is implicit. q
//! only changes at the end of an episode, so each episode follows one fixed
//! policy. `alpha` replaces the sample average by a step-size schedule (the
//! default, `inverse-count`, *is* the sample average).
//!
//! **Exploration limits.** Sample averages keep the returns of the first,
//! uniform episode forever, and with a small ε a long episode from one start
//! can stay trapped in a region the current policy returns to. On Zhao's grid
//! with r_forbidden = −10 and ε = 0.1 this makes the method settle on a
//! "keep away from the forbidden cells" policy far from the ε-greedy optimum
//! (the target and its neighbourhood are never revisited), for every budget
//! we tried; with ε = 0.2 and 0.5 it gets close to the optimum (see
//! `tests/mc_book.rs`). [`epsilon_optimal`] computes the exact optimum.

use serde::{Deserialize, Serialize};

use crate::agents::agent::{epsilon_greedy, Agent, AgentRng, Epsilon, Experience, StepSize};
use crate::agents::td::QTable;

/// Hyperparameters of MC ε-greedy (TOML kind `mc-epsilon-greedy`:
/// `epsilon`, `episode_length`, `first_visit`, `alpha`, `q0`, `bootstrap_truncated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McEpsilonGreedyConfig {
    /// Exploration (default 0.1).
    #[serde(default = "crate::agents::td::default_epsilon_pub")]
    pub epsilon: Epsilon,
    /// Truncate episodes after this many steps (Zhao: 1,000,000 per iteration).
    #[serde(default)]
    pub episode_length: Option<u64>,
    /// First-visit instead of every-visit.
    #[serde(default)]
    pub first_visit: bool,
    /// Step size (default `inverse-count` = sample average).
    #[serde(default = "inverse_count")]
    pub alpha: StepSize,
    /// Initial q(s, a) (default 0).
    #[serde(default)]
    pub q0: f64,
    /// Add γ^T max_a q(s_T, a) to the returns of a truncated episode (default false, as in Zhao).
    #[serde(default)]
    pub bootstrap_truncated: bool,
}

fn inverse_count() -> StepSize {
    StepSize::InverseCount
}

impl Default for McEpsilonGreedyConfig {
    fn default() -> Self {
        McEpsilonGreedyConfig {
            epsilon: Epsilon::Constant { value: 0.1 },
            episode_length: None,
            first_visit: false,
            alpha: StepSize::InverseCount,
            q0: 0.0,
            bootstrap_truncated: false,
        }
    }
}

/// The MC ε-greedy agent.
#[derive(Debug, Clone)]
pub struct McEpsilonGreedy {
    cfg: McEpsilonGreedyConfig,
    q: QTable,
    gamma: f64,
    episode: u64,
    eps: f64,
    traj: Vec<(usize, usize, f64)>,
    first_at: Vec<usize>,
}

impl McEpsilonGreedy {
    /// A fresh agent.
    pub fn new(cfg: McEpsilonGreedyConfig, n_states: usize, n_actions: usize, gamma: f64) -> Self {
        McEpsilonGreedy {
            q: QTable::new(n_states, n_actions, cfg.q0),
            eps: cfg.epsilon.at(0),
            first_at: if cfg.first_visit { vec![usize::MAX; n_states * n_actions] } else { vec![] },
            cfg,
            gamma,
            episode: 0,
            traj: Vec::new(),
        }
    }

    /// The action values and visit counts.
    pub fn table(&self) -> &QTable {
        &self.q
    }

    fn learn(&mut self, boot: f64) {
        let na = self.q.n_actions();
        if self.cfg.first_visit {
            for (t, &(s, a, _)) in self.traj.iter().enumerate().rev() {
                self.first_at[s * na + a] = t;
            }
        }
        let mut g = boot;
        for t in (0..self.traj.len()).rev() {
            let (s, a, r) = self.traj[t];
            g = self.gamma * g + r;
            if self.cfg.first_visit && self.first_at[s * na + a] != t {
                continue;
            }
            self.q.update(s, a, g, &self.cfg.alpha);
        }
        if self.cfg.first_visit {
            for &(s, a, _) in &self.traj {
                self.first_at[s * na + a] = usize::MAX;
            }
        }
        self.traj.clear();
    }
}

impl Agent for McEpsilonGreedy {
    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize {
        epsilon_greedy(self.q.row(state), self.eps, rng)
    }

    fn observe(&mut self, t: &Experience) {
        self.traj.push((t.state, t.action, t.reward));
        if t.terminated {
            self.learn(0.0);
        } else if t.truncated {
            let boot = if self.cfg.bootstrap_truncated { self.q.max(t.next_state) } else { 0.0 };
            self.learn(boot);
        }
    }

    fn end_episode(&mut self) {
        if !self.traj.is_empty() {
            self.learn(0.0);
        }
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

    fn all_finite(&self) -> bool {
        self.q.all_finite()
    }

    fn max_episode_steps(&self) -> Option<u64> {
        self.cfg.episode_length
    }
}

/// The ε-greedy version of a deterministic policy: π(a|s) = ε/|A| + (1 − ε)·[a = actions(s)].
pub fn epsilon_greedy_policy(n_actions: usize, actions: &[usize], epsilon: f64) -> crate::agents::dp::Policy {
    let mut probs = vec![epsilon / n_actions as f64; actions.len() * n_actions];
    for (s, &a) in actions.iter().enumerate() {
        probs[s * n_actions + a] += 1.0 - epsilon;
    }
    crate::agents::dp::Policy::from_probs(n_actions, probs)
}

/// The optimal ε-greedy policy (the best among ε-soft policies, Sutton & Barto
/// §5.4), by policy iteration restricted to ε-greedy policies:
/// π_{k+1} = ε-greedy(argmax_a q_{π_k}(s, a)), with q_{π_k} from *exact*
/// evaluation, until the greedy actions stop changing (ties: lowest index
/// within a relative 1e-9). Returns (greedy actions, v of the ε-greedy policy).
///
/// ```
/// use rlkit::agents::mc::epsilon_greedy::epsilon_optimal;
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let (_, v0) = epsilon_optimal(w.model(), 0.0).unwrap();
/// let (_, v2) = epsilon_optimal(w.model(), 0.2).unwrap();
/// assert!((v0[17] - 10.0).abs() < 1e-8);   // ε = 0: v*
/// assert!(v2[17] < v0[17]);                // exploring costs value
/// ```
pub fn epsilon_optimal(model: &crate::env::TabularModel, epsilon: f64) -> crate::Result<(Vec<usize>, Vec<f64>)> {
    use crate::agents::dp::{evaluate, EvalConfig, EvalMethod};
    if !(0.0..=1.0).contains(&epsilon) {
        return Err(crate::Error::input(format!("epsilon = {epsilon} must be in [0, 1]")));
    }
    let (ns, na) = (model.n_states(), model.n_actions());
    let cfg = EvalConfig { method: EvalMethod::Exact, ..Default::default() };
    let mut actions = vec![0; ns];
    for _ in 0..10_000 {
        let v = evaluate(model, &epsilon_greedy_policy(na, &actions, epsilon), &cfg, None)?.values;
        let next = crate::agents::dp::greedy(model, &v);
        if next == actions {
            return Ok((actions, v));
        }
        actions = next;
    }
    Err(crate::Error::internal("epsilon-greedy policy iteration did not converge"))
}
