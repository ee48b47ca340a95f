//! REINFORCE, Monte Carlo policy gradient (Zhao Alg. 9.1; Sutton & Barto
//! §13.3, and §13.4 with a baseline), with a softmax policy over linear
//! preferences.
//!
//! ```text
//! π(a|s) = softmax_a(θ_aᵀ x(s))
//! G_t = Σ_{k=t}^{T−1} γ^{k−t} R_{k+1}                       (T: the episode's last step)
//! baseline = "none":   θ ← θ + α_θ Σ_t γ^t·G_t ∇ ln π(A_t|S_t)
//! baseline = "value":  δ_t = G_t − v̂(S_t),  w ← w + α_w δ_t x_c(S_t)   (v̂(s) = wᵀ x_c(s))
//!                      θ ← θ + α_θ Σ_t γ^t·δ_t ∇ ln π(A_t|S_t)
//! (γ^t is there with discount_gradient = true, the default, and 1 without)
//! ```
//!
//! The agent stores the episode and updates at `end_episode`. The actor's
//! gradient is the whole episode's, taken at the θ that generated it (θ does
//! not change during an episode); the critic is updated step by step,
//! forwards, each δ_t using the w of the updates before it (S&B's order). A
//! count-based `alpha` counts episodes; `critic_alpha` counts critic updates.
//!
//! **Which gradient is unbiased.** For J(θ) = E(G_0) with S_0 ~ ρ₀ (Zhao's
//! J = Σ_s ρ₀(s) v_π(s)), the policy gradient theorem gives
//! ∇J = E(Σ_t γ^t G_t ∇ ln π(A_t|S_t)), so `discount_gradient = true`
//! (Sutton & Barto's γ^t) is the unbiased estimate of ∇J
//! ([`episode_gradient`]); a baseline b(S_t) leaves it unbiased. Zhao's
//! Alg. 9.1 omits γ^t (`discount_gradient = false`): it weighs late steps as
//! much as early ones, which is the gradient of J only when γ = 1, and is a
//! common, lower-variance choice in practice.
//!
//! **Truncated episodes.** When the episode is cut by a step cap (or the
//! environment's time limit), G_t is the truncated sum above: nothing is
//! bootstrapped, even with a value baseline, so G_t misses at most
//! γ^{T−t}·max|R|/(1 − γ). The bias is largest for the last steps, which is
//! why a cap should be several times 1/(1 − γ) on continuing tasks (Zhao's
//! grid, whose target does not end the episode).
//!
//! TOML (kind `reinforce`): `features`, `alpha`, `theta0`, `baseline`
//! (`"none"` | `"value"`), `critic_features`, `critic_alpha` (only with
//! `baseline = "value"`), `discount_gradient`.

use serde::{Deserialize, Serialize};

use super::a2c::ValueCritic;
use super::linear::{default_features, InitWeights};
use super::linear_sarsa::default_alpha;
use super::softmax::{sample, SoftmaxPolicy};
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{AgentRng, StepSize};
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::{Error, Result};

/// The baseline subtracted from G_t.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// No baseline: the actor uses G_t.
    #[default]
    None,
    /// A learned linear v̂(S_t): the actor uses G_t − v̂(S_t).
    Value,
}

/// Hyperparameters of REINFORCE (TOML: `features`, `alpha`, `theta0`,
/// `baseline`, `critic_features`, `critic_alpha`, `discount_gradient`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReinforceConfig {
    /// Actor feature columns (default: one-hot of the state, the tabular softmax).
    #[serde(default = "default_features")]
    pub features: Vec<ColumnSpec>,
    /// Actor step size α_θ (default 0.1; a count-based schedule counts episodes).
    #[serde(default = "default_alpha")]
    pub alpha: StepSize,
    /// Initial θ (default 0: the uniform policy).
    #[serde(default)]
    pub theta0: InitWeights,
    /// `"none"` (default) or `"value"`.
    #[serde(default)]
    pub baseline: Baseline,
    /// Baseline feature columns (default: one-hot of the state; only with `baseline = "value"`).
    #[serde(default)]
    pub critic_features: Option<Vec<ColumnSpec>>,
    /// Baseline step size α_w (default 0.1; only with `baseline = "value"`).
    #[serde(default)]
    pub critic_alpha: Option<StepSize>,
    /// Multiply the step-t term by γ^t (default true: the unbiased gradient of J = E(G_0)).
    #[serde(default = "yes")]
    pub discount_gradient: bool,
}

fn yes() -> bool {
    true
}

impl Default for ReinforceConfig {
    fn default() -> Self {
        ReinforceConfig {
            features: default_features(),
            alpha: default_alpha(),
            theta0: InitWeights::default(),
            baseline: Baseline::None,
            critic_features: None,
            critic_alpha: None,
            discount_gradient: true,
        }
    }
}

/// One stored step of an episode: x(S_t) (actor features), A_t, R_{t+1}, π(·|S_t).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpisodeStep {
    /// Actor features of S_t.
    pub x: Features,
    /// A_t.
    pub action: usize,
    /// R_{t+1}.
    pub reward: f64,
    /// π(·|S_t) at the θ that chose A_t.
    pub probs: Vec<f64>,
}

/// The returns G_t = R_{t+1} + γ G_{t+1} (G_T = 0: truncated episodes are not bootstrapped).
///
/// ```
/// let g = rlkit::agents::approx::reinforce::returns(&[1.0, 0.0, 2.0], 0.5);
/// assert_eq!(g, vec![1.5, 1.0, 2.0]);
/// ```
pub fn returns(rewards: &[f64], gamma: f64) -> Vec<f64> {
    let mut g = vec![0.0; rewards.len()];
    let mut acc = 0.0;
    for t in (0..rewards.len()).rev() {
        acc = rewards[t] + gamma * acc;
        g[t] = acc;
    }
    g
}

/// The REINFORCE gradient estimate of one episode as a dense vector in θ's layout:
/// Σ_t w_t (G_t − b_t) ∇_θ ln π(A_t|S_t), with w_t = γ^t if `discount_gradient`
/// (else 1) and b_t = `baselines[t]` (0 without). With `discount_gradient`
/// and any baseline that depends only on S_t, its expectation over episodes
/// from ρ₀ is ∇J, J = E(G_0).
pub fn episode_gradient(
    pi: &SoftmaxPolicy,
    steps: &[EpisodeStep],
    gamma: f64,
    discount_gradient: bool,
    baselines: Option<&[f64]>,
) -> Vec<f64> {
    let rewards: Vec<f64> = steps.iter().map(|s| s.reward).collect();
    let g = returns(&rewards, gamma);
    let mut out = vec![0.0; pi.n_params()];
    let mut w = 1.0;
    for (t, st) in steps.iter().enumerate() {
        let b = baselines.map_or(0.0, |b| b[t]);
        pi.accumulate_grad_log(&st.x, st.action, &st.probs, w * (g[t] - b), &mut out);
        if discount_gradient {
            w *= gamma;
        }
    }
    out
}

/// The REINFORCE agent.
///
/// ```
/// use rlkit::agents::approx::{reinforce::{Reinforce, ReinforceConfig}, train_obs, ObsAgent};
/// use rlkit::agents::train::TrainConfig;
/// use rlkit::env::World;
/// let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let cfg: ReinforceConfig = toml::from_str("alpha = 0.1\nbaseline = \"value\"").unwrap();
/// let mut agent = Reinforce::new(cfg, &world.obs_spec(), 5, 0.9).unwrap();
/// let tc = TrainConfig { episodes: 50, max_episode_steps: Some(30), ..Default::default() };
/// let recs = train_obs(&mut world.make_obs_env(), &mut agent, &tc, 1, None, |_, _, _: &mut Reinforce| {});
/// assert_eq!(recs.len(), 50);
/// assert!(agent.tensors().iter().any(|t| t.name == "w"));
/// ```
#[derive(Debug, Clone)]
pub struct Reinforce {
    cfg: ReinforceConfig,
    pi: SoftmaxPolicy,
    critic: Option<ValueCritic>,
    gamma: f64,
    episodes: u64,
    /// The episode so far; `steps[..len]` are live, the rest keep their buffers.
    steps: Vec<EpisodeStep>,
    /// Critic features of S_t, parallel to `steps`.
    xc: Vec<Features>,
    len: usize,
    g: Vec<f64>,
}

impl Reinforce {
    /// A fresh agent; critic keys without `baseline = "value"` are an error.
    pub fn new(cfg: ReinforceConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let pi = SoftmaxPolicy::new(&cfg.features, spec, n_actions, cfg.theta0)?;
        let critic = match cfg.baseline {
            Baseline::Value => Some(ValueCritic::new(
                cfg.critic_features.as_deref().unwrap_or(&default_features()),
                spec,
                cfg.critic_alpha.unwrap_or_else(default_alpha),
            )?),
            Baseline::None => {
                for (key, set) in
                    [("critic_features", cfg.critic_features.is_some()), ("critic_alpha", cfg.critic_alpha.is_some())]
                {
                    if set {
                        return Err(Error::input(format!(
                            "agent `reinforce`: `{key}` is used only with baseline = \"value\" (baseline is \"none\")"
                        )));
                    }
                }
                None
            }
        };
        Ok(Reinforce { cfg, pi, critic, gamma, episodes: 0, steps: Vec::new(), xc: Vec::new(), len: 0, g: Vec::new() })
    }

    /// The policy.
    pub fn policy(&self) -> &SoftmaxPolicy {
        &self.pi
    }

    /// The baseline, if any.
    pub fn critic(&self) -> Option<&ValueCritic> {
        self.critic.as_ref()
    }

    /// The steps stored for the current episode.
    pub fn episode(&self) -> &[EpisodeStep] {
        &self.steps[..self.len]
    }
}

impl ObsAgent for Reinforce {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        self.pi.theta.init_from(rng);
        if self.len == self.steps.len() {
            self.steps.push(EpisodeStep { probs: vec![0.0; self.pi.n_actions()], ..Default::default() });
            if self.critic.is_some() {
                self.xc.push(Features::default());
            }
        }
        let st = &mut self.steps[self.len];
        self.pi.encode(obs, &mut st.x);
        self.pi.probs(&st.x, &mut st.probs);
        if let Some(c) = &mut self.critic {
            c.encode(obs, &mut self.xc[self.len]);
        }
        let a = sample(&st.probs, rng);
        st.action = a;
        a
    }

    fn observe(&mut self, t: &ObsExperience) {
        let st = &mut self.steps[self.len];
        st.action = t.action;
        st.reward = t.reward;
        self.len += 1;
    }

    fn end_episode(&mut self) {
        let n = self.len;
        self.len = 0;
        if n == 0 {
            return;
        }
        self.episodes += 1;
        let alpha = self.cfg.alpha.alpha(self.episodes);
        self.g.clear();
        self.g.resize(n, 0.0);
        let mut acc = 0.0;
        for t in (0..n).rev() {
            acc = self.steps[t].reward + self.gamma * acc;
            self.g[t] = acc;
        }
        let mut w = 1.0;
        for t in 0..n {
            let mut adv = self.g[t];
            if let Some(c) = &mut self.critic {
                adv -= c.eval(&self.xc[t]);
                c.update(&self.xc[t], adv);
            }
            let st = &self.steps[t];
            self.pi.add_grad_log(&st.x, st.action, &st.probs, alpha * w * adv);
            if self.cfg.discount_gradient {
                w *= self.gamma;
            }
        }
    }

    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        let p = self.pi.probs_of(obs);
        SoftmaxPolicy::most_probable(&p)
    }

    /// v̂(s) with a value baseline; without one the agent has no value estimate
    /// and returns 0.0 (not NaN, so that value tables and plots stay finite).
    fn value(&mut self, obs: &[f64]) -> f64 {
        self.critic.as_mut().map_or(0.0, |c| c.value_of(obs))
    }

    fn action_probs(&mut self, obs: &[f64]) -> Option<Vec<f64>> {
        Some(self.pi.probs_of(obs))
    }

    /// `theta`, and the baseline's `w` when there is one.
    fn tensors(&self) -> Vec<NamedTensor> {
        let mut t = self.pi.tensors();
        if let Some(c) = &self.critic {
            t.extend(c.v.tensors("w"));
        }
        t
    }

    fn diverged(&self) -> bool {
        self.pi.diverged() || self.critic.as_ref().is_some_and(|c| c.diverged())
    }
}
