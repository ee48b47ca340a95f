//! Function approximation (Zhao ch. 8–10; Sutton & Barto ch. 9–13): agents
//! that see a state through its observation and feature columns, not its index.
//!
//! - [`ObsAgent`]: the trait of an approximating learner (the counterpart of
//!   [`crate::agents::agent::Agent`] for observations);
//! - [`train_obs`]: the training loop over any [`ObsEnv`];
//! - [`linear`]: the linear value function `q̂(s, a) = w_aᵀ x(s)` they share;
//! - one algorithm per file: [`td_linear`] (TD-Linear, residual TD, LSTD),
//!   [`linear_sarsa`], [`linear_q_learning`], and the policy-gradient family.
//! - the policy-gradient family (Zhao ch. 9–10) over a [`softmax`] policy:
//!   [`reinforce`], [`qac`], [`a2c`], [`off_policy_ac`].
//!
//! Registering a kind works as for tabular agents: [`register`] a factory
//! under a name and an experiment file can use it with any world.

pub mod a2c;
pub mod dqn;
pub mod linear;
pub mod linear_q_learning;
pub mod linear_sarsa;
pub mod off_policy_ac;
pub mod qac;
pub mod reinforce;
pub mod softmax;
pub mod td_linear;

use std::collections::BTreeMap;
use std::sync::{OnceLock, RwLock};

use super::agent::AgentRng;
use super::train::{EpisodeRecord, TrainConfig, STREAM_AGENT, STREAM_ENV};
use crate::env::obs::{ObsEnv, ObsSpec};
use crate::util::{derive_seed, rng_for};
use crate::{Error, Result};

/// One transition seen through observations (S_t, A_t, R_{t+1}, S_{t+1}).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObsExperience<'a> {
    /// Observation of S_t.
    pub obs: &'a [f64],
    /// A_t.
    pub action: usize,
    /// R_{t+1}.
    pub reward: f64,
    /// Observation of S_{t+1}.
    pub next_obs: &'a [f64],
    /// S_{t+1} is terminal: never bootstrap from it.
    pub terminated: bool,
    /// The episode was cut by a time limit: bootstrap through it.
    pub truncated: bool,
}

/// A named array of learned parameters (for `weights/*.safetensors`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Name, e.g. `w` or `theta`.
    pub name: String,
    /// Shape, row-major.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f64>,
}

/// An approximating learner: it sees observations, not state indices.
///
/// The loop ([`train_obs`]) calls, per episode: `act` → env step → `observe`
/// (until terminated or truncated) → `end_episode`; `act` always gets the
/// observation the previous `observe` reported as `next_obs` (or the reset one).
///
/// ```
/// use rlkit::agents::agent::AgentRng;
/// use rlkit::agents::approx::{ObsAgent, ObsExperience};
/// /// Pushes right, learns nothing.
/// struct Right;
/// impl ObsAgent for Right {
///     fn act(&mut self, _x: &[f64], _rng: &mut AgentRng) -> usize { 2 }
///     fn observe(&mut self, _t: &ObsExperience) {}
///     fn greedy_action(&mut self, _x: &[f64]) -> usize { 2 }
///     fn value(&mut self, _x: &[f64]) -> f64 { 0.0 }
/// }
/// ```
pub trait ObsAgent {
    /// Choose the action to take (exploring as the agent sees fit).
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize;
    /// Learn from one transition.
    fn observe(&mut self, t: &ObsExperience);
    /// The episode is over (after its last `observe`). Default: nothing.
    fn end_episode(&mut self) {}
    /// The greedy (control) or most probable (policy-gradient) action; lowest index on ties.
    fn greedy_action(&mut self, obs: &[f64]) -> usize;
    /// The estimated state value: max_a q̂ for control, v̂ for prediction and critics.
    fn value(&mut self, obs: &[f64]) -> f64;
    /// Action probabilities of the agent's target policy, when it has a stochastic one.
    fn action_probs(&mut self, _obs: &[f64]) -> Option<Vec<f64>> {
        None
    }
    /// What it learned, for saving.
    fn tensors(&self) -> Vec<NamedTensor> {
        Vec::new()
    }
    /// A step limit the agent wants on its episodes; the loop uses the smaller of this and its own cap.
    fn max_episode_steps(&self) -> Option<u64> {
        None
    }
    /// Whether the agent computed a non-finite value (the loop stops the seed).
    fn diverged(&self) -> bool {
        false
    }
    /// The training loss of every update (update number, loss), for agents with one (DQN).
    fn losses(&self) -> &[(u64, f64)] {
        &[]
    }
    /// Snapshots (update number, value of every state, greedy action of every state)
    /// taken during training, for agents that probe themselves (DQN's `probe_every`).
    fn snapshots(&self) -> &[(u64, Vec<f64>, Vec<usize>)] {
        &[]
    }
}

impl<A: ObsAgent + ?Sized> ObsAgent for Box<A> {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        (**self).act(obs, rng)
    }
    fn observe(&mut self, t: &ObsExperience) {
        (**self).observe(t)
    }
    fn end_episode(&mut self) {
        (**self).end_episode()
    }
    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        (**self).greedy_action(obs)
    }
    fn value(&mut self, obs: &[f64]) -> f64 {
        (**self).value(obs)
    }
    fn action_probs(&mut self, obs: &[f64]) -> Option<Vec<f64>> {
        (**self).action_probs(obs)
    }
    fn tensors(&self) -> Vec<NamedTensor> {
        (**self).tensors()
    }
    fn max_episode_steps(&self) -> Option<u64> {
        (**self).max_episode_steps()
    }
    fn diverged(&self) -> bool {
        (**self).diverged()
    }
    fn losses(&self) -> &[(u64, f64)] {
        (**self).losses()
    }
    fn snapshots(&self) -> &[(u64, Vec<f64>, Vec<usize>)] {
        (**self).snapshots()
    }
}

pub use super::train::StartMode;

/// Train `agent` on `env` for `cfg.episodes` episodes with the run seed `seed`.
///
/// The streams, the step cap and the truncation rule are exactly those of
/// [`crate::agents::train::train`], so an agent whose arithmetic equals a
/// tabular one sees the same episodes. `on_eval(total_steps, episode, agent)`
/// runs every `cfg.eval_every` steps. With [`StartMode::Uniform`], each episode
/// starts in a state drawn from `starts` with the environment's stream.
pub fn train_obs<E, A, F>(
    env: &mut E,
    agent: &mut A,
    cfg: &TrainConfig,
    seed: u64,
    starts: Option<&[usize]>,
    on_eval: F,
) -> Vec<EpisodeRecord>
where
    E: ObsEnv + ?Sized,
    A: ObsAgent + ?Sized,
    F: FnMut(u64, usize, &mut A),
{
    train_obs_with_steps(env, agent, cfg, seed, starts, on_eval, |_, _, _| {})
}

/// [`train_obs`] with a per-step hook: `on_step(episode, step, transition)`
/// after the agent has observed each transition (`episode` and `step` 1-based;
/// the observations are the raw ones). The hook cannot change the run (used by
/// trajectory export, which replays runs).
pub fn train_obs_with_steps<E, A, F, H>(
    env: &mut E,
    agent: &mut A,
    cfg: &TrainConfig,
    seed: u64,
    starts: Option<&[usize]>,
    mut on_eval: F,
    mut on_step: H,
) -> Vec<EpisodeRecord>
where
    E: ObsEnv + ?Sized,
    A: ObsAgent + ?Sized,
    F: FnMut(u64, usize, &mut A),
    H: FnMut(usize, u64, &ObsExperience),
{
    use rand::RngExt;
    let mut rng = rng_for(seed, &[STREAM_AGENT]);
    let env_seed = derive_seed(seed, &[STREAM_ENV]);
    let mut start_rng = rng_for(seed, &[STREAM_ENV, 1]);
    let cap = match (cfg.max_episode_steps, agent.max_episode_steps()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let eval_every = cfg.eval_every.filter(|&k| k > 0);
    let dim = env.obs_spec().dim();
    let mut x = vec![0.0; dim];
    let mut x2 = vec![0.0; dim];
    let mut records = Vec::with_capacity(cfg.episodes.min(1 << 20));
    let mut steps = 0u64;
    for ep in 0..cfg.episodes {
        env.reset(if ep == 0 { Some(env_seed) } else { None }, &mut x);
        if let Some(st) = starts.filter(|s| !s.is_empty()) {
            let s = st[start_rng.random_range(0..st.len())];
            env.reset_to_state(s, &mut x);
        }
        let mut ret = 0.0;
        let mut len = 0u64;
        loop {
            let a = agent.act(&x, &mut rng);
            let st = env.step(a, &mut x2);
            len += 1;
            steps += 1;
            ret += st.reward;
            let truncated = !st.terminated && (st.truncated || cap.is_some_and(|c| len >= c));
            let t = ObsExperience {
                obs: &x,
                action: a,
                reward: st.reward,
                next_obs: &x2,
                terminated: st.terminated,
                truncated,
            };
            agent.observe(&t);
            on_step(ep + 1, len, &t);
            if let Some(k) = eval_every {
                if steps.is_multiple_of(k) {
                    on_eval(steps, ep + 1, agent);
                }
            }
            std::mem::swap(&mut x, &mut x2);
            if st.terminated || truncated || agent.diverged() {
                break;
            }
        }
        agent.end_episode();
        records.push(EpisodeRecord { episode: ep + 1, ret, length: len, steps });
        if agent.diverged() {
            break;
        }
    }
    records
}

/// What an agent factory knows of the world and the experiment.
#[derive(Debug, Clone, Copy)]
pub struct AgentContext<'a> {
    /// The world's raw observation.
    pub spec: &'a ObsSpec,
    /// Number of actions.
    pub n_actions: usize,
    /// Discount factor.
    pub gamma: f64,
    /// The environment itself, when the caller has it (e.g. for a one-hot grid image).
    pub env: Option<&'a crate::env::LoadedEnv>,
    /// The file the agent's table came from, for resolving relative paths (network files).
    pub file: Option<&'a std::path::Path>,
}

/// Builds an approximating agent of one kind from its parameters (the
/// agent's TOML table without the runner's keys) and its context.
pub type ObsAgentFactory = fn(params: &toml::Table, cx: &AgentContext) -> Result<Box<dyn ObsAgent + Send>>;

/// The built-in approximating kinds, with one line of description each.
pub const BUILTIN_KINDS: &[(&str, &str)] = &[
    ("dqn", "deep Q-learning with any network file (Zhao 8.4, Mnih et al. 2015): network, observation, replay, batch, lr, target, double, loss"),
    ("td-linear", "TD-Linear prediction of a policy (Zhao Alg. 8.1): features, alpha, w0, policy, residual"),
    ("lstd", "least-squares TD prediction (Zhao 8.4, S&B 9.8): features, policy, epsilon_reg"),
    ("linear-sarsa", "semi-gradient Sarsa, linear q (Zhao Alg. 8.2, S&B 10.1): features, alpha, epsilon, w0"),
    (
        "linear-q-learning",
        "semi-gradient Q-learning, linear q (Zhao Alg. 8.3): features, alpha, epsilon, w0, behaviour",
    ),
    (
        "reinforce",
        "Monte Carlo policy gradient, softmax policy (Zhao Alg. 9.1, S&B 13.3-13.4): features, alpha, theta0, baseline, critic_features, critic_alpha, discount_gradient",
    ),
    ("qac", "Q actor-critic, Sarsa critic (Zhao Alg. 10.1): features, alpha, theta0, critic_features, critic_alpha"),
    ("a2c", "advantage actor-critic, TD-error critic (Zhao Alg. 10.2): features, alpha, theta0, critic_features, critic_alpha"),
    (
        "off-policy-ac",
        "off-policy actor-critic, importance ratios (Zhao Alg. 10.3): features, alpha, theta0, critic_features, critic_alpha, behaviour, epsilon, clip_ratio",
    ),
];

type Registry = RwLock<BTreeMap<String, ObsAgentFactory>>;

fn builtin(kind: &str) -> Option<ObsAgentFactory> {
    use super::agent::parse_params as p;
    Some(match kind {
        "td-linear" => {
            |t, cx| Ok(Box::new(td_linear::TdLinear::new(p("td-linear", t)?, cx.spec, cx.n_actions, cx.gamma)?))
        }
        "lstd" => |t, cx| Ok(Box::new(td_linear::Lstd::new(p("lstd", t)?, cx.spec, cx.n_actions, cx.gamma)?)),
        "linear-sarsa" => |t, cx| {
            Ok(Box::new(linear_sarsa::LinearSarsa::new(p("linear-sarsa", t)?, cx.spec, cx.n_actions, cx.gamma)?))
        },
        "linear-q-learning" => |t, cx| {
            Ok(Box::new(linear_q_learning::LinearQLearning::new(
                p("linear-q-learning", t)?,
                cx.spec,
                cx.n_actions,
                cx.gamma,
            )?))
        },
        "reinforce" => {
            |t, cx| Ok(Box::new(reinforce::Reinforce::new(p("reinforce", t)?, cx.spec, cx.n_actions, cx.gamma)?))
        }
        "qac" => |t, cx| Ok(Box::new(qac::Qac::new(p("qac", t)?, cx.spec, cx.n_actions, cx.gamma)?)),
        "a2c" => |t, cx| Ok(Box::new(a2c::A2c::new(p("a2c", t)?, cx.spec, cx.n_actions, cx.gamma)?)),
        "off-policy-ac" => |t, cx| {
            Ok(Box::new(off_policy_ac::OffPolicyAc::new(p("off-policy-ac", t)?, cx.spec, cx.n_actions, cx.gamma)?))
        },
        "dqn" => |t, cx| Ok(Box::new(dqn::Dqn::new(p("dqn", t)?, cx)?)),
        _ => return None,
    })
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let map = BUILTIN_KINDS.iter().filter_map(|(k, _)| builtin(k).map(|f| (k.to_string(), f))).collect();
        RwLock::new(map)
    })
}

/// Register (or replace) the factory of approximating kind `kind`.
pub fn register(kind: &str, f: ObsAgentFactory) {
    registry().write().unwrap_or_else(|e| e.into_inner()).insert(kind.to_string(), f);
}

/// Whether `kind` is a registered approximating kind.
pub fn is_registered(kind: &str) -> bool {
    registry().read().unwrap_or_else(|e| e.into_inner()).contains_key(kind)
}

/// Every registered approximating kind.
pub fn kinds() -> Vec<String> {
    registry().read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
}

/// Build an agent of a registered approximating kind, knowing only the
/// observation, the action count and γ (see [`build_in`]).
pub fn build(
    kind: &str,
    params: &toml::Table,
    spec: &ObsSpec,
    n_actions: usize,
    gamma: f64,
) -> Result<Box<dyn ObsAgent + Send>> {
    build_in(kind, params, &AgentContext { spec, n_actions, gamma, env: None, file: None })
}

/// Build an agent of a registered approximating kind in a full context.
pub fn build_in(kind: &str, params: &toml::Table, cx: &AgentContext) -> Result<Box<dyn ObsAgent + Send>> {
    let f = registry().read().unwrap_or_else(|e| e.into_inner()).get(kind).copied();
    let Some(f) = f else {
        return Err(Error::input(format!("unknown approximating agent kind `{kind}`; valid: {}", kinds().join(", "))));
    };
    let mut p = params.clone();
    for k in super::train::RESERVED_KEYS {
        p.remove(*k);
    }
    f(&p, cx)
}
