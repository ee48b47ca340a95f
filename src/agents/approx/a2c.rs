//! Advantage actor-critic, A2C (Zhao Alg. 10.2; the one-step actor-critic of
//! Sutton & Barto §13.5 without its γ^t factor): a softmax actor and a linear
//! state-value critic, both driven by the TD error.
//!
//! ```text
//! π(a|s) = softmax_a(θ_aᵀ x(s)),   v̂(s) = wᵀ x_c(s)
//! δ = R + γ v̂(S') − v̂(S)                     (v̂(S') = 0 when S' is terminal;
//!                                             bootstrapped through a truncation)
//! critic:  w ← w + α_w δ x_c(S)
//! actor:   θ ← θ + α_θ δ ∇_θ ln π(A|S)
//! ```
//!
//! Both updates use the same δ, computed with w before the critic's update.
//! With v̂ = v_π, E(δ | S = s, A = a) = q_π(s, a) − v_π(s) (the advantage), and
//! E(δ ∇ ln π(A|s) | S = s) = Σ_a ∇π(a|s) q_π(s, a): summed with weight γ^t
//! over an episode from ρ₀ this is ∇J ([`step_gradient`]). Like Zhao's
//! algorithm, the agent does not multiply its step t update by γ^t.
//!
//! TOML (kind `a2c`): `features`, `alpha`, `theta0`, `critic_features`, `critic_alpha`.

use serde::{Deserialize, Serialize};

use super::linear::{default_features, InitWeights, LinearFn};
use super::linear_sarsa::default_alpha;
use super::softmax::{sample, SoftmaxPolicy};
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{AgentRng, StepSize};
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::Result;

/// A linear state-value critic v̂(s) = wᵀ x_c(s) with its own features and step size
/// (w starts at 0; a count-based step size counts the critic's updates).
#[derive(Debug, Clone)]
pub struct ValueCritic {
    /// The value function.
    pub v: LinearFn,
    alpha: StepSize,
    updates: u64,
    x: Features,
}

impl ValueCritic {
    /// A critic with features `columns` and step size `alpha`.
    pub fn new(columns: &[ColumnSpec], spec: &ObsSpec, alpha: StepSize) -> Result<Self> {
        let v = LinearFn::new(columns, spec, 1, InitWeights::Value(0.0))?;
        Ok(ValueCritic { v, alpha, updates: 0, x: Features::default() })
    }

    /// Encode an observation with the critic's features.
    #[inline]
    pub fn encode(&mut self, obs: &[f64], out: &mut Features) {
        self.v.encode(obs, out);
    }

    /// v̂ of encoded features.
    #[inline]
    pub fn eval(&self, x: &Features) -> f64 {
        self.v.eval(x, 0)
    }

    /// v̂ of a raw observation.
    pub fn value_of(&mut self, obs: &[f64]) -> f64 {
        let mut x = std::mem::take(&mut self.x);
        self.v.encode(obs, &mut x);
        let v = self.v.eval(&x, 0);
        self.x = x;
        v
    }

    /// w ← w + α_n·err·x (one update; `err` is δ, G − v̂, or ρδ).
    #[inline]
    pub fn update(&mut self, x: &Features, err: f64) {
        self.updates += 1;
        let c = self.alpha.alpha(self.updates) * err;
        self.v.add(x, 0, c);
    }

    /// Whether an update was ever non-finite.
    pub fn diverged(&self) -> bool {
        self.v.diverged()
    }
}

/// Hyperparameters of A2C (TOML: `features`, `alpha`, `theta0`, `critic_features`, `critic_alpha`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2cConfig {
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
    /// Critic step size α_w (default 0.1).
    #[serde(default = "default_alpha")]
    pub critic_alpha: StepSize,
}

impl Default for A2cConfig {
    fn default() -> Self {
        A2cConfig {
            features: default_features(),
            alpha: default_alpha(),
            theta0: InitWeights::default(),
            critic_features: default_features(),
            critic_alpha: default_alpha(),
        }
    }
}

/// The TD error δ = r + γ v(s') − v(s), with v(s') = 0 when s' is terminal.
#[inline]
pub fn td_error(reward: f64, gamma: f64, v: f64, v_next: f64, terminated: bool) -> f64 {
    reward + if terminated { 0.0 } else { gamma * v_next } - v
}

/// The A2C actor's gradient estimate of one step, δ·∇_θ ln π(a|s), as a dense
/// vector in θ's layout (`probs` = π(·|s)). Its expectation given S = s, with
/// δ computed from v_π, is Σ_a ∇π(a|s) q_π(s, a).
pub fn step_gradient(pi: &SoftmaxPolicy, x: &Features, a: usize, probs: &[f64], delta: f64) -> Vec<f64> {
    let mut g = vec![0.0; pi.n_params()];
    pi.accumulate_grad_log(x, a, probs, delta, &mut g);
    g
}

/// The A2C agent.
///
/// ```
/// use rlkit::agents::approx::{a2c::{A2c, A2cConfig}, train_obs, ObsAgent};
/// use rlkit::agents::train::TrainConfig;
/// use rlkit::env::World;
/// let world = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
/// let mut agent = A2c::new(A2cConfig::default(), &world.obs_spec(), 4, 1.0).unwrap();
/// let cfg = TrainConfig { episodes: 20, max_episode_steps: Some(200), ..Default::default() };
/// let recs = train_obs(&mut world.make_obs_env(), &mut agent, &cfg, 7, None, |_, _, _: &mut A2c| {});
/// assert_eq!(recs.len(), 20);
/// let mut x = [0.0; 3];
/// world.observe_state(0, &mut x);
/// let p = agent.action_probs(&x).unwrap();
/// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct A2c {
    cfg: A2cConfig,
    pi: SoftmaxPolicy,
    critic: ValueCritic,
    gamma: f64,
    updates: u64,
    probs: Vec<f64>,
    x: Features,
    xc: Features,
    xc2: Features,
}

impl A2c {
    /// A fresh agent.
    pub fn new(cfg: A2cConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let pi = SoftmaxPolicy::new(&cfg.features, spec, n_actions, cfg.theta0)?;
        let critic = ValueCritic::new(&cfg.critic_features, spec, cfg.critic_alpha)?;
        Ok(A2c {
            cfg,
            pi,
            critic,
            gamma,
            updates: 0,
            probs: vec![0.0; n_actions],
            x: Features::default(),
            xc: Features::default(),
            xc2: Features::default(),
        })
    }

    /// The policy.
    pub fn policy(&self) -> &SoftmaxPolicy {
        &self.pi
    }

    /// The critic.
    pub fn critic(&self) -> &ValueCritic {
        &self.critic
    }
}

impl ObsAgent for A2c {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        self.pi.theta.init_from(rng);
        self.pi.encode(obs, &mut self.x);
        self.pi.probs(&self.x, &mut self.probs);
        sample(&self.probs, rng)
    }

    fn observe(&mut self, t: &ObsExperience) {
        self.critic.encode(t.obs, &mut self.xc);
        let v = self.critic.eval(&self.xc);
        let v_next = if t.terminated {
            0.0
        } else {
            self.critic.encode(t.next_obs, &mut self.xc2);
            self.critic.eval(&self.xc2)
        };
        let delta = td_error(t.reward, self.gamma, v, v_next, t.terminated);
        let xc = std::mem::take(&mut self.xc);
        self.critic.update(&xc, delta);
        self.xc = xc;
        self.updates += 1;
        let c = self.cfg.alpha.alpha(self.updates) * delta;
        let x = std::mem::take(&mut self.x);
        self.pi.add_grad_log(&x, t.action, &self.probs, c);
        self.x = x;
    }

    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        let p = self.pi.probs_of(obs);
        SoftmaxPolicy::most_probable(&p)
    }

    /// v̂(s), the critic.
    fn value(&mut self, obs: &[f64]) -> f64 {
        self.critic.value_of(obs)
    }

    fn action_probs(&mut self, obs: &[f64]) -> Option<Vec<f64>> {
        Some(self.pi.probs_of(obs))
    }

    /// `theta` and the critic's `w`.
    fn tensors(&self) -> Vec<NamedTensor> {
        let mut t = self.pi.tensors();
        t.extend(self.critic.v.tensors("w"));
        t
    }

    fn diverged(&self) -> bool {
        self.pi.diverged() || self.critic.diverged()
    }
}
