//! Prediction with linear features: TD-Linear (Zhao Alg. 8.1; S&B §9.3),
//! its true-gradient (residual) variant, and least-squares TD (LSTD; Zhao §8.4,
//! S&B §9.8). The policy evaluated is the uniform random policy.
//!
//! ```text
//! v̂(s) = wᵀ x(s),   δ = R + γ v̂(S') − v̂(S)        (v̂(S') = 0 when S' is terminal)
//! TD-Linear (semi-gradient):   w ← w + α δ x(S)
//! residual (true gradient):    w ← w + α δ (x(S) − γ x(S'))
//! LSTD:  A = Σ x(S)(x(S) − γ x(S'))ᵀ,  b = Σ R x(S),  w = (A + εI)⁻¹ b
//!        (the minimum-norm least-squares solution when A + εI is singular)
//! ```
//!
//! With `features = [{ kind = "one_hot_state" }]` TD-Linear is tabular TD(0), bit for bit.

use serde::{Deserialize, Serialize};

use super::linear::{default_features, InitWeights, LinearFn};
use super::linear_sarsa::default_alpha;
use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{AgentRng, StepSize};
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::{Error, Result};

/// The policy a prediction agent evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PredictionPolicy {
    /// Every action with probability 1/|A|.
    #[default]
    Uniform,
}

fn uniform_action(n: usize, rng: &mut AgentRng) -> usize {
    use rand::RngExt;
    if n == 1 {
        0
    } else {
        rng.random_range(0..n)
    }
}

/// Hyperparameters of TD-Linear (TOML: `features`, `alpha`, `w0`, `policy`, `residual`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdLinearConfig {
    /// Feature columns (default: one-hot of the state).
    #[serde(default = "default_features")]
    pub features: Vec<ColumnSpec>,
    /// Step size (default 0.1; a count-based schedule counts the agent's updates).
    #[serde(default = "default_alpha")]
    pub alpha: StepSize,
    /// Initial weights (default 0; Zhao Figs. 8.6–8.8 draw w ~ N(0, 1)).
    #[serde(default)]
    pub w0: InitWeights,
    /// The policy evaluated (`"uniform"`).
    #[serde(default)]
    pub policy: PredictionPolicy,
    /// True-gradient (residual) TD instead of semi-gradient (default false).
    #[serde(default)]
    pub residual: bool,
}

impl Default for TdLinearConfig {
    fn default() -> Self {
        TdLinearConfig {
            features: default_features(),
            alpha: default_alpha(),
            w0: InitWeights::default(),
            policy: PredictionPolicy::Uniform,
            residual: false,
        }
    }
}

/// The TD-Linear agent (semi-gradient or residual).
///
/// ```
/// use rlkit::agents::approx::{td_linear::{TdLinear, TdLinearConfig}, train_obs, ObsAgent};
/// use rlkit::agents::train::TrainConfig;
/// use rlkit::env::World;
/// let world = World::load("envs/random_walk.toml".as_ref()).unwrap();
/// let mut agent = TdLinear::new(TdLinearConfig::default(), &world.obs_spec(), 1, 1.0).unwrap();
/// let cfg = TrainConfig { episodes: 100, ..Default::default() };
/// train_obs(&mut world.make_obs_env(), &mut agent, &cfg, 1, None, |_, _, _: &mut TdLinear| {});
/// let mut x = [0.0];
/// world.observe_state(3, &mut x); // C
/// assert!((agent.value(&x) - 0.5).abs() < 0.3);
/// ```
#[derive(Debug, Clone)]
pub struct TdLinear {
    cfg: TdLinearConfig,
    v: LinearFn,
    n_actions: usize,
    gamma: f64,
    updates: u64,
    x: Features,
    x2: Features,
}

impl TdLinear {
    /// A fresh agent.
    pub fn new(cfg: TdLinearConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        let v = LinearFn::new(&cfg.features, spec, 1, cfg.w0)?;
        if cfg.residual && v.features.has_embeddings() {
            return Err(Error::input("residual = true does not support embedding columns"));
        }
        Ok(TdLinear { cfg, v, n_actions, gamma, updates: 0, x: Features::default(), x2: Features::default() })
    }

    /// The value function.
    pub fn v(&self) -> &LinearFn {
        &self.v
    }
}

impl ObsAgent for TdLinear {
    fn act(&mut self, _obs: &[f64], rng: &mut AgentRng) -> usize {
        self.v.init_from(rng);
        uniform_action(self.n_actions, rng)
    }

    fn observe(&mut self, t: &ObsExperience) {
        let boot = if t.terminated {
            0.0
        } else {
            self.v.encode(t.next_obs, &mut self.x2);
            self.v.eval(&self.x2, 0)
        };
        self.v.encode(t.obs, &mut self.x);
        self.updates += 1;
        let alpha = self.cfg.alpha.alpha(self.updates);
        let delta = t.reward + self.gamma * boot - self.v.eval(&self.x, 0);
        let x = std::mem::take(&mut self.x);
        self.v.add(&x, 0, alpha * delta);
        if self.cfg.residual && !t.terminated {
            let x2 = std::mem::take(&mut self.x2);
            self.v.add(&x2, 0, -alpha * delta * self.gamma);
            self.x2 = x2;
        }
        self.x = x;
    }

    fn greedy_action(&mut self, _obs: &[f64]) -> usize {
        0
    }

    fn value(&mut self, obs: &[f64]) -> f64 {
        self.v.encode(obs, &mut self.x);
        self.v.eval(&self.x, 0)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        self.v.tensors("w")
    }

    fn diverged(&self) -> bool {
        self.v.diverged()
    }
}

/// The largest feature dimension LSTD accepts (its matrix has dim² entries).
pub const LSTD_MAX_DIM: usize = 4096;

/// Hyperparameters of LSTD (TOML: `features`, `policy`, `epsilon_reg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstdConfig {
    /// Feature columns (default: one-hot of the state).
    #[serde(default = "default_features")]
    pub features: Vec<ColumnSpec>,
    /// The policy evaluated (`"uniform"`).
    #[serde(default)]
    pub policy: PredictionPolicy,
    /// Ridge term ε of (A + εI) (default 1e-6).
    #[serde(default = "default_reg")]
    pub epsilon_reg: f64,
}

fn default_reg() -> f64 {
    1e-6
}

impl Default for LstdConfig {
    fn default() -> Self {
        LstdConfig { features: default_features(), policy: PredictionPolicy::Uniform, epsilon_reg: default_reg() }
    }
}

/// The LSTD agent: accumulates A and b, solves for w when asked for a value.
#[derive(Debug, Clone)]
pub struct Lstd {
    cfg: LstdConfig,
    v: LinearFn,
    n_actions: usize,
    gamma: f64,
    a: Vec<f64>,
    b: Vec<f64>,
    stale: bool,
    x: Features,
    u: Vec<f64>,
    z: Vec<f64>,
}

impl Lstd {
    /// A fresh agent.
    pub fn new(cfg: LstdConfig, spec: &ObsSpec, n_actions: usize, gamma: f64) -> Result<Self> {
        if !(cfg.epsilon_reg.is_finite() && cfg.epsilon_reg >= 0.0) {
            return Err(Error::input(format!("epsilon_reg = {} must be a finite number >= 0", cfg.epsilon_reg)));
        }
        let v = LinearFn::new(&cfg.features, spec, 1, InitWeights::Value(0.0))?;
        if v.features.has_embeddings() {
            return Err(Error::input("lstd does not support embedding columns (their features are learned)"));
        }
        let d = v.dim;
        if d > LSTD_MAX_DIM {
            return Err(Error::input(format!(
                "features: lstd keeps a {d}×{d} matrix; at most {LSTD_MAX_DIM} features are allowed"
            )));
        }
        Ok(Lstd {
            cfg,
            v,
            n_actions,
            gamma,
            a: vec![0.0; d * d],
            b: vec![0.0; d],
            stale: false,
            x: Features::default(),
            u: vec![0.0; d],
            z: vec![0.0; d],
        })
    }

    fn dense_into(f: &Features, out: &mut [f64], scale: f64) {
        let dd = f.dense.len();
        for (o, x) in out[..dd].iter_mut().zip(&f.dense) {
            *o += scale * x;
        }
        for &i in &f.active {
            out[dd + i as usize] += scale;
        }
    }

    /// Solve (A + εI) w = b.
    fn solve(&mut self) {
        if !self.stale {
            return;
        }
        self.stale = false;
        let d = self.v.dim;
        let mut m = nalgebra::DMatrix::from_row_slice(d, d, &self.a);
        for i in 0..d {
            m[(i, i)] += self.cfg.epsilon_reg;
        }
        let rhs = nalgebra::DVector::from_column_slice(&self.b);
        // LU when A + εI is invertible; otherwise (features never seen, ε = 0) the
        // minimum-norm least-squares solution, so that unvisited features get weight 0.
        let w = match m.clone().lu().solve(&rhs) {
            Some(w) if w.iter().all(|x| x.is_finite()) => Some(w),
            _ => m.svd(true, true).solve(&rhs, 1e-12).ok(),
        };
        if let Some(w) = w {
            self.v.w.copy_from_slice(w.as_slice());
        }
    }
}

impl ObsAgent for Lstd {
    fn act(&mut self, _obs: &[f64], rng: &mut AgentRng) -> usize {
        uniform_action(self.n_actions, rng)
    }

    fn observe(&mut self, t: &ObsExperience) {
        let d = self.v.dim;
        self.u.iter_mut().for_each(|x| *x = 0.0);
        self.z.iter_mut().for_each(|x| *x = 0.0);
        self.v.encode(t.obs, &mut self.x);
        Lstd::dense_into(&self.x, &mut self.u, 1.0);
        Lstd::dense_into(&self.x, &mut self.z, 1.0);
        if !t.terminated {
            self.v.encode(t.next_obs, &mut self.x);
            Lstd::dense_into(&self.x, &mut self.z, -self.gamma);
        }
        for i in 0..d {
            let ui = self.u[i];
            if ui == 0.0 {
                continue;
            }
            let row = &mut self.a[i * d..(i + 1) * d];
            for (a, z) in row.iter_mut().zip(&self.z) {
                *a += ui * z;
            }
            self.b[i] += t.reward * ui;
        }
        self.stale = true;
    }

    fn greedy_action(&mut self, _obs: &[f64]) -> usize {
        0
    }

    fn value(&mut self, obs: &[f64]) -> f64 {
        self.solve();
        self.v.encode(obs, &mut self.x);
        self.v.eval(&self.x, 0)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        let mut me = self.clone();
        me.solve();
        me.v.tensors("w")
    }
}
