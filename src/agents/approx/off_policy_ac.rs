//! Off-policy actor-critic (Zhao Alg. 10.3): the episodes come from a
//! behaviour policy β, the actor learns a softmax target policy π, and both
//! updates are weighted by the importance ratio.
//!
//! ```text
//! π(a|s) = softmax_a(θ_aᵀ x(s)),   v̂(s) = wᵀ x_c(s),   A ~ β(·|S)
//! ρ = π(A|S) / β(A|S)               (ρ̄ = min(ρ, c) with clip_ratio = c; ρ̄ = ρ without)
//! δ = R + γ v̂(S') − v̂(S)            (v̂(S') = 0 when S' is terminal)
//! critic:  w ← w + α_w ρ̄ δ x_c(S)
//! actor:   θ ← θ + α_θ ρ̄ δ ∇_θ ln π(A|S)
//! ```
//!
//! Behaviours: `"uniform"` (β = 1/|A|, Zhao's choice) or `"epsilon-greedy"`:
//! β(a|s) = ε/|A| + (1 − ε)·1[a = the most probable action of π(·|s)] (lowest
//! index on ties); ε must stay > 0 so that β covers π. With v̂ = v_π and no
//! clipping, E_β(ρ δ ∇ ln π(A|s)) = Σ_a ∇π(a|s) q_π(s, a); summed with weight
//! γ^t over a β-episode from ρ₀, the expectation is
//! Σ_s d_β(s) Σ_a ∇π(a|s) q_π(s, a), d_β the behaviour's discounted visitation
//! ([`step_gradient`]). Clipping trades that for a bounded variance.
//!
//! TOML (kind `off-policy-ac`): `features`, `alpha`, `theta0`,
//! `critic_features`, `critic_alpha`, `behaviour`, `epsilon` (only with
//! `behaviour = "epsilon-greedy"`; default 0.5), `clip_ratio`.

use serde::{Deserialize, Serialize};

use super::a2c::{td_error, ValueCritic};
use super::linear::{default_features, InitWeights};
use super::linear_sarsa::default_alpha;
use super::softmax::{sample, SoftmaxPolicy};
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{AgentRng, Epsilon, StepSize};
use crate::agents::td::Behaviour;
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::{Error, Result};

/// Hyperparameters of off-policy actor-critic (TOML: `features`, `alpha`,
/// `theta0`, `critic_features`, `critic_alpha`, `behaviour`, `epsilon`, `clip_ratio`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffPolicyAcConfig {
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
    /// `"uniform"` (default) or `"epsilon-greedy"`.
    #[serde(default = "uniform")]
    pub behaviour: Behaviour,
    /// ε of the ε-greedy behaviour, per episode (default 0.5; every value must be > 0).
    #[serde(default)]
    pub epsilon: Option<Epsilon>,
    /// Clip the ratio at this value, ρ̄ = min(ρ, c) (default: no clipping).
    #[serde(default)]
    pub clip_ratio: Option<f64>,
}

fn uniform() -> Behaviour {
    Behaviour::Uniform
}

fn default_eps() -> Epsilon {
    Epsilon::Constant { value: 0.5 }
}

impl Default for OffPolicyAcConfig {
    fn default() -> Self {
        OffPolicyAcConfig {
            features: default_features(),
            alpha: default_alpha(),
            theta0: InitWeights::default(),
            critic_features: default_features(),
            critic_alpha: default_alpha(),
            behaviour: Behaviour::Uniform,
            epsilon: None,
            clip_ratio: None,
        }
    }
}

/// β(·|s) into `out`: uniform, or ε-greedy on the most probable action of `target` = π(·|s).
#[inline]
pub fn behaviour_probs(behaviour: Behaviour, epsilon: f64, target: &[f64], out: &mut [f64]) {
    let n = target.len() as f64;
    match behaviour {
        Behaviour::Uniform => out.iter_mut().for_each(|o| *o = 1.0 / n),
        Behaviour::EpsilonGreedy => {
            let g = SoftmaxPolicy::most_probable(target);
            for (a, o) in out.iter_mut().enumerate() {
                *o = epsilon / n + if a == g { 1.0 - epsilon } else { 0.0 };
            }
        }
    }
}

/// The importance ratio π(a|s)/β(a|s), clipped at `clip` if given.
#[inline]
pub fn importance_ratio(pi_a: f64, beta_a: f64, clip: Option<f64>) -> f64 {
    let r = pi_a / beta_a;
    clip.map_or(r, |c| r.min(c))
}

/// The actor's gradient estimate of one behaviour step, ρ̄·δ·∇_θ ln π(a|s), as a
/// dense vector in θ's layout (`probs` = π(·|s), `beta_a` = β(a|s)).
pub fn step_gradient(
    pi: &SoftmaxPolicy,
    x: &Features,
    a: usize,
    probs: &[f64],
    beta_a: f64,
    delta: f64,
    clip: Option<f64>,
) -> Vec<f64> {
    let mut g = vec![0.0; pi.n_params()];
    pi.accumulate_grad_log(x, a, probs, importance_ratio(probs[a], beta_a, clip) * delta, &mut g);
    g
}

/// The off-policy actor-critic agent.
///
/// ```
/// use rlkit::agents::approx::{off_policy_ac::{OffPolicyAc, OffPolicyAcConfig}, train_obs, ObsAgent};
/// use rlkit::agents::train::TrainConfig;
/// use rlkit::env::World;
/// let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let cfg: OffPolicyAcConfig = toml::from_str("behaviour = \"epsilon-greedy\"\nepsilon = 0.3\nclip_ratio = 2.0").unwrap();
/// let mut agent = OffPolicyAc::new(cfg, &world.obs_spec(), 5, 0.9).unwrap();
/// let tc = TrainConfig { episodes: 10, max_episode_steps: Some(50), ..Default::default() };
/// train_obs(&mut world.make_obs_env(), &mut agent, &tc, 3, None, |_, _, _: &mut OffPolicyAc| {});
/// assert!(!agent.diverged());
/// ```
#[derive(Debug, Clone)]
pub struct OffPolicyAc {
    cfg: OffPolicyAcConfig,
    pi: SoftmaxPolicy,
    critic: ValueCritic,
    gamma: f64,
    epsilon: Epsilon,
    eps: f64,
    episode: u64,
    updates: u64,
    probs: Vec<f64>,
    beta: Vec<f64>,
    x: Features,
    xc: Features,
    xc2: Features,
}

impl OffPolicyAc {
    /// A fresh agent; `epsilon` without the ε-greedy behaviour, an ε that can
    /// reach 0, or a clip_ratio ≤ 0 are errors.
    pub fn new(cfg: OffPolicyAcConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let epsilon = match (cfg.behaviour, cfg.epsilon) {
            (Behaviour::Uniform, Some(_)) => {
                return Err(Error::input(
                    "agent `off-policy-ac`: `epsilon` is used only with behaviour = \"epsilon-greedy\" (behaviour is \"uniform\")",
                ))
            }
            (_, e) => e.unwrap_or_else(default_eps),
        };
        let positive = match epsilon {
            Epsilon::Constant { value } => value > 0.0,
            Epsilon::Linear { start, end, .. } | Epsilon::Exponential { start, end, .. } => start > 0.0 && end > 0.0,
        };
        if !positive {
            return Err(Error::input(
                "agent `off-policy-ac`: `epsilon` must stay > 0 (β(a|s) > 0 for every action, or the ratio π/β is undefined); valid: a number in (0, 1] or a schedule whose start and end are > 0",
            ));
        }
        if let Some(c) = cfg.clip_ratio {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::input(format!(
                    "agent `off-policy-ac`: `clip_ratio` = {c}: must be a finite number > 0 (or left out for no clipping)"
                )));
            }
        }
        let pi = SoftmaxPolicy::new(&cfg.features, spec, n_actions, cfg.theta0)?;
        let critic = ValueCritic::new(&cfg.critic_features, spec, cfg.critic_alpha)?;
        Ok(OffPolicyAc {
            pi,
            critic,
            gamma,
            eps: epsilon.at(0),
            epsilon,
            episode: 0,
            updates: 0,
            probs: vec![0.0; n_actions],
            beta: vec![0.0; n_actions],
            x: Features::default(),
            xc: Features::default(),
            xc2: Features::default(),
            cfg,
        })
    }

    /// The target policy.
    pub fn policy(&self) -> &SoftmaxPolicy {
        &self.pi
    }

    /// The critic.
    pub fn critic(&self) -> &ValueCritic {
        &self.critic
    }
}

impl ObsAgent for OffPolicyAc {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        self.pi.theta.init_from(rng);
        self.pi.encode(obs, &mut self.x);
        self.pi.probs(&self.x, &mut self.probs);
        behaviour_probs(self.cfg.behaviour, self.eps, &self.probs, &mut self.beta);
        sample(&self.beta, rng)
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
        let rho = importance_ratio(self.probs[t.action], self.beta[t.action], self.cfg.clip_ratio);
        let xc = std::mem::take(&mut self.xc);
        self.critic.update(&xc, rho * delta);
        self.xc = xc;
        self.updates += 1;
        let c = self.cfg.alpha.alpha(self.updates) * rho * delta;
        let x = std::mem::take(&mut self.x);
        self.pi.add_grad_log(&x, t.action, &self.probs, c);
        self.x = x;
    }

    fn end_episode(&mut self) {
        self.episode += 1;
        self.eps = self.epsilon.at(self.episode);
    }

    /// The most probable action of the target policy π.
    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        let p = self.pi.probs_of(obs);
        SoftmaxPolicy::most_probable(&p)
    }

    /// v̂(s), the critic (an estimate of v_π through the ratios).
    fn value(&mut self, obs: &[f64]) -> f64 {
        self.critic.value_of(obs)
    }

    /// π(·|s), the target policy.
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
