//! Q actor-critic, QAC (Zhao Alg. 10.1): a softmax actor and a linear
//! action-value critic trained by Sarsa on the actor's own actions.
//!
//! ```text
//! π(a|s) = softmax_a(θ_aᵀ x(s)),   q̂(s, a) = w_aᵀ x_c(s)
//! critic (Sarsa):  w_A ← w_A + α_w [R + γ q̂(S', A') − q̂(S, A)] x_c(S),   A' ~ π(·|S')
//! actor:           θ ← θ + α_θ q̂(S, A) ∇_θ ln π(A|S)        (q̂ after the critic's update)
//! ```
//!
//! As in Zhao's algorithm, A' is drawn from π with the θ before the step's
//! update, the critic is updated first and the actor uses the updated q̂(S, A).
//! The update of a transition therefore waits for the next `act`. A terminal
//! S' gives the critic target R; a truncated episode bootstraps with the
//! expectation R + γ Σ_a π(a|S') q̂(S', a).
//!
//! With q̂ = q_π, E(q̂(s, A) ∇ ln π(A|s)) = Σ_a ∇π(a|s) q_π(s, a): summed with
//! weight γ^t over an episode from ρ₀ this is ∇J ([`step_gradient`]).
//!
//! TOML (kind `qac`): `features`, `alpha`, `theta0`, `critic_features`, `critic_alpha`.

use serde::{Deserialize, Serialize};

use super::linear::{default_features, InitWeights, LinearFn};
use super::linear_sarsa::default_alpha;
use super::softmax::{sample, SoftmaxPolicy};
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{AgentRng, StepSize};
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::Result;

/// Hyperparameters of QAC (TOML: `features`, `alpha`, `theta0`, `critic_features`, `critic_alpha`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QacConfig {
    /// Actor feature columns (default: one-hot of the state, the tabular softmax).
    #[serde(default = "default_features")]
    pub features: Vec<ColumnSpec>,
    /// Actor step size α_θ (default 0.1; a count-based schedule counts actor updates).
    #[serde(default = "default_alpha")]
    pub alpha: StepSize,
    /// Initial θ (default 0: the uniform policy).
    #[serde(default)]
    pub theta0: InitWeights,
    /// Critic feature columns (default: one-hot of the state).
    #[serde(default = "default_features")]
    pub critic_features: Vec<ColumnSpec>,
    /// Critic step size α_w (default 0.1; count-based schedules count critic updates).
    #[serde(default = "default_alpha")]
    pub critic_alpha: StepSize,
}

impl Default for QacConfig {
    fn default() -> Self {
        QacConfig {
            features: default_features(),
            alpha: default_alpha(),
            theta0: InitWeights::default(),
            critic_features: default_features(),
            critic_alpha: default_alpha(),
        }
    }
}

/// The QAC actor's gradient estimate of one step, q·∇_θ ln π(a|s), as a dense
/// vector in θ's layout (`probs` = π(·|s), `q` the critic's q̂(s, a)).
pub fn step_gradient(pi: &SoftmaxPolicy, x: &Features, a: usize, probs: &[f64], q: f64) -> Vec<f64> {
    let mut g = vec![0.0; pi.n_params()];
    pi.accumulate_grad_log(x, a, probs, q, &mut g);
    g
}

/// A transition waiting for A': actor features, critic features, π(·|S), A, R.
#[derive(Debug, Clone, Default)]
struct Pending {
    x: Features,
    xc: Features,
    probs: Vec<f64>,
    action: usize,
    reward: f64,
}

/// The QAC agent.
///
/// ```
/// use rlkit::agents::approx::{qac::{Qac, QacConfig}, train_obs, ObsAgent};
/// use rlkit::agents::train::TrainConfig;
/// use rlkit::env::World;
/// let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let mut agent = Qac::new(QacConfig::default(), &world.obs_spec(), 5, 0.9).unwrap();
/// let tc = TrainConfig { episodes: 10, max_episode_steps: Some(50), ..Default::default() };
/// train_obs(&mut world.make_obs_env(), &mut agent, &tc, 3, None, |_, _, _: &mut Qac| {});
/// assert_eq!(agent.tensors().iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["theta", "w"]);
/// ```
#[derive(Debug, Clone)]
pub struct Qac {
    cfg: QacConfig,
    pi: SoftmaxPolicy,
    q: LinearFn,
    gamma: f64,
    actor_updates: u64,
    critic_updates: u64,
    /// The current step (filled by `act`).
    cur: Pending,
    /// The previous step, waiting for A'.
    pending: Option<Pending>,
    spare: Pending,
    qs: Vec<f64>,
}

impl Qac {
    /// A fresh agent.
    pub fn new(cfg: QacConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let pi = SoftmaxPolicy::new(&cfg.features, spec, n_actions, cfg.theta0)?;
        let q = LinearFn::new(&cfg.critic_features, spec, n_actions, InitWeights::Value(0.0))?;
        let blank = Pending { probs: vec![0.0; n_actions], ..Default::default() };
        Ok(Qac {
            cfg,
            pi,
            q,
            gamma,
            actor_updates: 0,
            critic_updates: 0,
            cur: blank.clone(),
            pending: None,
            spare: blank,
            qs: vec![0.0; n_actions],
        })
    }

    /// The policy.
    pub fn policy(&self) -> &SoftmaxPolicy {
        &self.pi
    }

    /// The critic q̂.
    pub fn critic(&self) -> &LinearFn {
        &self.q
    }

    /// Critic update toward `target`, then the actor's step with the updated q̂(S, A).
    fn update(&mut self, p: &Pending, target: f64) {
        self.critic_updates += 1;
        let aw = self.cfg.critic_alpha.alpha(self.critic_updates);
        let c = aw * (target - self.q.eval(&p.xc, p.action));
        self.q.add(&p.xc, p.action, c);
        let qsa = self.q.eval(&p.xc, p.action);
        self.actor_updates += 1;
        let a = self.cfg.alpha.alpha(self.actor_updates);
        self.pi.add_grad_log(&p.x, p.action, &p.probs, a * qsa);
    }
}

impl ObsAgent for Qac {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        self.pi.theta.init_from(rng);
        self.cur.probs.resize(self.qs.len(), 0.0);
        self.pi.encode(obs, &mut self.cur.x);
        self.pi.probs(&self.cur.x, &mut self.cur.probs);
        self.q.encode(obs, &mut self.cur.xc);
        let a = sample(&self.cur.probs, rng);
        self.cur.action = a;
        if let Some(p) = self.pending.take() {
            let target = p.reward + self.gamma * self.q.eval(&self.cur.xc, a);
            self.update(&p, target);
            self.spare = p;
        }
        a
    }

    fn observe(&mut self, t: &ObsExperience) {
        self.cur.action = t.action;
        self.cur.reward = t.reward;
        let cur = std::mem::replace(&mut self.cur, std::mem::take(&mut self.spare));
        if t.terminated {
            self.update(&cur, t.reward);
            self.spare = cur;
        } else if t.truncated {
            // Expected Sarsa target at the cut: R + γ Σ_a π(a|S') q̂(S', a).
            let mut nx = std::mem::take(&mut self.cur);
            nx.probs.resize(self.qs.len(), 0.0);
            self.pi.encode(t.next_obs, &mut nx.x);
            self.pi.probs(&nx.x, &mut nx.probs);
            self.q.encode(t.next_obs, &mut nx.xc);
            self.q.eval_all(&nx.xc, &mut self.qs);
            let e: f64 = nx.probs.iter().zip(&self.qs).map(|(p, q)| p * q).sum();
            self.update(&cur, t.reward + self.gamma * e);
            self.spare = cur;
            self.cur = nx;
        } else {
            self.pending = Some(cur);
        }
    }

    fn end_episode(&mut self) {
        if let Some(p) = self.pending.take() {
            self.spare = p;
        }
    }

    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        let p = self.pi.probs_of(obs);
        SoftmaxPolicy::most_probable(&p)
    }

    /// Σ_a π(a|s) q̂(s, a).
    fn value(&mut self, obs: &[f64]) -> f64 {
        let p = self.pi.probs_of(obs);
        let mut xc = Features::default();
        self.q.encode(obs, &mut xc);
        self.q.eval_all(&xc, &mut self.qs);
        p.iter().zip(&self.qs).map(|(p, q)| p * q).sum()
    }

    fn action_probs(&mut self, obs: &[f64]) -> Option<Vec<f64>> {
        Some(self.pi.probs_of(obs))
    }

    /// `theta` and the critic's `w` (shape `[n_actions, dim]`).
    fn tensors(&self) -> Vec<NamedTensor> {
        let mut t = self.pi.tensors();
        t.extend(self.q.tensors("w"));
        t
    }

    fn diverged(&self) -> bool {
        self.pi.diverged() || self.q.diverged()
    }
}
