//! Deep Q-learning (Mnih et al. 2015; Zhao Alg. 8.3 / Fig. 8.11) with any
//! network of `rlkit::nn` as the function approximator.
//!
//! ```text
//! replay D ← (φ(S), A, R, φ(S'), terminated)            φ: the observation encoder
//! minibatch of B transitions, one batched forward/backward:
//!   y = R + γ (1 − terminated) · Q_target(S', argmax_a Q(S', a))   (Double DQN)
//!   y = R + γ (1 − terminated) · max_a Q_target(S', a)             (DQN)
//!   L = mean_i ℓ(Q(S_i, A_i) − y_i),  ℓ = Huber (δ = 1) or ½x² (MSE)
//!   θ ← Adam/AdamW(θ, clip(∇θ L))
//! target: θ' ← θ every `every` updates (hard), or θ' ← τθ + (1 − τ)θ' (Polyak)
//! ```
//!
//! Updates happen every `train_every` environment steps once `learning_starts`
//! transitions are stored, and `updates_per_episode` more at the end of each
//! episode (Zhao Fig. 8.11 collects one episode, then trains on the replay).
//! The network is any network TOML (`network = "configs/networks/grid_backbone.toml"`);
//! its input is the encoded observation (`observation = "one_hot"`: the 4×H×W
//! grid image; `"features"`: a dense feature vector as `[d, 1, 1]`;
//! `"coords_normalized"`, `"index"`, `"raw"`), its output must have one value per action.
//!
//! Every `probe_every` updates on a finite world, the agent records its values
//! and greedy actions in every state (the runner turns them into the value
//! error and PA over updates), and it records the TD loss of every update.

use std::path::Path;

use ndarray::ArrayD;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{NamedTensor, ObsAgent, ObsExperience};
use crate::agents::agent::{argmax_first, AgentRng, Epsilon};
use crate::agents::td::Behaviour;
use crate::env::features::ColumnSpec;
use crate::env::obs::{ObsEncoder, ObsMode};
use crate::nn::model::{Network, NetworkFile, Shape};
use crate::nn::optim::{clip_grad_norm, Adam, Optimizer};
use crate::nn::scalar::Real;
use crate::{Error, Result};

/// The most transitions a replay buffer may hold.
pub const MAX_REPLAY: usize = 1 << 22;
/// The largest replay buffer, in bytes of stored observations.
pub const MAX_REPLAY_BYTES: usize = 1 << 30;
/// The largest minibatch.
pub const MAX_BATCH: usize = 4096;

/// How the target network follows the online one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetUpdate {
    /// θ' ← θ every `every` updates.
    Hard {
        /// Updates between copies.
        every: u64,
    },
    /// θ' ← τθ + (1 − τ)θ' after every update.
    Polyak {
        /// τ in (0, 1].
        tau: f64,
    },
}

/// The regression loss on Q(S, A) − y.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Huber with δ = 1 (the DQN paper's error clipping).
    #[default]
    Huber,
    /// ½ (Q − y)².
    Mse,
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (β 0.9, 0.999; ε 1e-8).
    #[default]
    Adam,
    /// AdamW with decoupled `weight_decay`.
    Adamw,
}

/// The shape of a learning-rate annealing curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anneal {
    /// `end + (start − end)·(1 + cos(π·t/T))/2`.
    #[default]
    Cosine,
    /// `start + (end − start)·t/T`.
    Linear,
}

impl Anneal {
    /// The learning rate after `t` of `total` updates (`end` once `t ≥ total`).
    ///
    /// ```
    /// use rlkit::agents::approx::dqn::Anneal;
    /// assert_eq!(Anneal::Linear.at(1.0, 0.0, 5, 10), 0.5);
    /// assert!((Anneal::Cosine.at(1.0, 0.0, 5, 10) - 0.5).abs() < 1e-12);
    /// assert_eq!(Anneal::Cosine.at(1.0, 0.1, 20, 10), 0.1);
    /// ```
    pub fn at(self, start: f64, end: f64, t: u64, total: u64) -> f64 {
        if t >= total {
            return end;
        }
        let f = t as f64 / total as f64;
        match self {
            Anneal::Cosine => end + (start - end) * 0.5 * (1.0 + (std::f64::consts::PI * f).cos()),
            Anneal::Linear => start + (end - start) * f,
        }
    }
}

fn d_replay() -> usize {
    10_000
}
fn d_batch() -> usize {
    32
}
fn d_lr() -> f64 {
    1e-3
}
fn d_target() -> TargetUpdate {
    TargetUpdate::Hard { every: 100 }
}
fn d_eps() -> Epsilon {
    Epsilon::Linear { start: 1.0, end: 0.05, episodes: 100 }
}
fn d_obs() -> ObsMode {
    ObsMode::OneHot
}
fn one() -> u64 {
    1
}
fn d_wd() -> f64 {
    0.01
}

/// Hyperparameters of DQN (TOML keys; defaults in brackets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DqnConfig {
    /// The network file (required; resolved where the agent is written).
    pub network: String,
    /// The network's input (default `"one_hot"`): `one_hot`, `features`, `coords_normalized`, `index`, `raw`.
    #[serde(default = "d_obs")]
    pub observation: ObsMode,
    /// Feature columns for `observation = "features"`.
    #[serde(default)]
    pub features: Vec<ColumnSpec>,
    /// Replay capacity in transitions (default 10,000).
    #[serde(default = "d_replay")]
    pub replay: usize,
    /// Minibatch size (default 32).
    #[serde(default = "d_batch")]
    pub batch: usize,
    /// Learning rate (default 1e-3).
    #[serde(default = "d_lr")]
    pub lr: f64,
    /// Anneal the learning rate from `lr` to `lr_end` over `lr_anneal_updates`
    /// updates, then keep `lr_end` (default: no annealing, a constant `lr`).
    #[serde(default)]
    pub lr_end: Option<f64>,
    /// Updates over which `lr` anneals to `lr_end` (required with `lr_end`).
    #[serde(default)]
    pub lr_anneal_updates: Option<u64>,
    /// The annealing curve: `cosine` (default) or `linear`.
    #[serde(default)]
    pub lr_anneal: Anneal,
    /// `adam` or `adamw` (default adam).
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// AdamW's decoupled weight decay (default 0.01).
    #[serde(default = "d_wd")]
    pub weight_decay: f64,
    /// Clip the gradient's global L2 norm to this (none by default).
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// `huber` or `mse` (default huber).
    #[serde(default)]
    pub loss: LossKind,
    /// Target network updates (default `{ kind = "hard", every = 100 }`).
    #[serde(default = "d_target")]
    pub target: TargetUpdate,
    /// Double DQN targets (default false).
    #[serde(default)]
    pub double: bool,
    /// ε of the ε-greedy behaviour, per episode (default linear 1 → 0.05 over 100 episodes).
    #[serde(default = "d_eps")]
    pub epsilon: Epsilon,
    /// `epsilon-greedy` or `uniform` (off-policy, Zhao Fig. 8.11) (default epsilon-greedy).
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Truncate behaviour episodes after this many steps.
    #[serde(default)]
    pub episode_length: Option<u64>,
    /// Transitions stored before the first update (default the batch size).
    #[serde(default)]
    pub learning_starts: Option<u64>,
    /// One update every this many environment steps (0: none during episodes) (default 1).
    #[serde(default = "one")]
    pub train_every: u64,
    /// Updates at the end of every episode (default 0).
    #[serde(default)]
    pub updates_per_episode: u64,
    /// Record values and greedy actions of every state every this many updates (finite worlds).
    #[serde(default)]
    pub probe_every: Option<u64>,
}

/// Uniform experience replay over encoded observations (f32), a ring buffer.
#[derive(Debug, Clone)]
pub struct Replay {
    cap: usize,
    obs_len: usize,
    len: usize,
    pos: usize,
    s: Vec<f32>,
    s2: Vec<f32>,
    a: Vec<u32>,
    r: Vec<f64>,
    term: Vec<bool>,
}

impl Replay {
    /// A buffer of `cap` transitions of observations with `obs_len` values.
    pub fn new(cap: usize, obs_len: usize) -> Replay {
        Replay {
            cap,
            obs_len,
            len: 0,
            pos: 0,
            s: vec![0.0; cap * obs_len],
            s2: vec![0.0; cap * obs_len],
            a: vec![0; cap],
            r: vec![0.0; cap],
            term: vec![false; cap],
        }
    }

    /// Stored transitions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Store one transition (overwriting the oldest when full).
    pub fn push(&mut self, s: &[f64], a: usize, r: f64, s2: &[f64], terminated: bool) {
        let o = self.pos * self.obs_len;
        for (d, x) in self.s[o..o + self.obs_len].iter_mut().zip(s) {
            *d = *x as f32;
        }
        for (d, x) in self.s2[o..o + self.obs_len].iter_mut().zip(s2) {
            *d = *x as f32;
        }
        self.a[self.pos] = a as u32;
        self.r[self.pos] = r;
        self.term[self.pos] = terminated;
        self.pos = (self.pos + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }
}

/// A minibatch: inputs of S and S' as network batches, actions, rewards, flags.
#[derive(Debug, Clone)]
pub struct Batch<T> {
    /// φ(S), `[B, C, H, W]`.
    pub x: ArrayD<T>,
    /// φ(S'), `[B, C, H, W]`.
    pub x2: ArrayD<T>,
    /// A.
    pub actions: Vec<usize>,
    /// R.
    pub rewards: Vec<f64>,
    /// S' terminal.
    pub terminated: Vec<bool>,
}

/// The TD targets y_i of a batch (see the module docs): `q2_target` is
/// Q_target(S', ·) `[B, A]`, `q2_online` is Q(S', ·) for Double DQN.
pub fn td_targets<T: Real>(b: &Batch<T>, q2_target: &ArrayD<T>, q2_online: Option<&ArrayD<T>>, gamma: f64) -> Vec<f64> {
    let n = b.actions.len();
    (0..n)
        .map(|i| {
            if b.terminated[i] {
                return b.rewards[i];
            }
            let row: Vec<f64> = (0..q2_target.shape()[1]).map(|a| q2_target[[i, a]].to_f64()).collect();
            let boot = match q2_online {
                Some(q) => {
                    let online: Vec<f64> = (0..q.shape()[1]).map(|a| q[[i, a]].to_f64()).collect();
                    row[argmax_first(&online)]
                }
                None => row.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            };
            b.rewards[i] + gamma * boot
        })
        .collect()
}

/// One DQN loss evaluation with its gradient: forward `b.x` through `net`,
/// L = mean_i ℓ(Q(S_i, A_i) − y_i), backward into the parameters' gradients
/// (zeroed first). Returns L.
pub fn loss_and_grad<T: Real>(net: &mut Network<T>, b: &Batch<T>, y: &[f64], loss: LossKind) -> Result<f64> {
    let q = net.forward(b.x.clone())?;
    let (n, na) = (q.shape()[0], q.shape()[1]);
    let mut dy = ArrayD::<T>::zeros(vec![n, na]);
    let mut total = 0.0;
    for i in 0..n {
        let e = q[[i, b.actions[i]]].to_f64() - y[i];
        let (l, g) = match loss {
            LossKind::Mse => (0.5 * e * e, e),
            LossKind::Huber if e.abs() <= 1.0 => (0.5 * e * e, e),
            LossKind::Huber => (e.abs() - 0.5, e.signum()),
        };
        total += l;
        dy[[i, b.actions[i]]] = T::from_f64(g / n as f64);
    }
    net.zero_grad();
    net.backward(dy)?;
    Ok(total / n as f64)
}

/// Check a network file against a world: it must take the observation's shape
/// and give one value per action. Errors point into the network file.
pub fn check_network(file: &NetworkFile, input: [usize; 3], n_actions: usize) -> Result<Network<f32>> {
    let net = file.build::<f32>(input, 0)?;
    match net.output {
        Shape::Vec(k) if k == n_actions => Ok(net),
        other => {
            let last = file.spec.layers.len().saturating_sub(1);
            Err(file.error_at(
                &[
                    crate::config::Seg::Key("layers".into()),
                    crate::config::Seg::Index(last),
                ],
                &format!(
                    "the network's output is {other} per sample, but the env has {n_actions} actions: end with a linear layer of out_features = {n_actions}"
                ),
            ))
        }
    }
}

/// The network input shape of an encoder: `[C, H, W]` for images, `[d, 1, 1]` for vectors.
pub fn input_shape(enc: &ObsEncoder) -> [usize; 3] {
    match enc.shape() {
        [c, h, w] => [*c, *h, *w],
        s => [s.iter().product(), 1, 1],
    }
}

/// The DQN agent (f32 networks).
#[derive(Debug, Clone)]
pub struct Dqn {
    cfg: DqnConfig,
    file: NetworkFile,
    input: [usize; 3],
    n_actions: usize,
    gamma: f64,
    online: Network<f32>,
    target: Network<f32>,
    opt: Adam<f32>,
    enc: ObsEncoder,
    x: Vec<f64>,
    x2: Vec<f64>,
    replay: Replay,
    rng: Option<rand_chacha::ChaCha8Rng>,
    initialised: bool,
    episode: u64,
    eps: f64,
    steps: u64,
    updates: u64,
    losses: Vec<(u64, f64)>,
    probes: Vec<Vec<f64>>,
    snapshots: Vec<(u64, Vec<f64>, Vec<usize>)>,
    diverged: bool,
}

impl Dqn {
    /// Build for an env (needed for the one-hot grid image): loads and checks the network file.
    pub fn new(cfg: DqnConfig, cx: &super::AgentContext) -> Result<Dqn> {
        let env = cx.env.ok_or_else(|| Error::input("dqn needs its environment (build it through the runner)"))?;
        if cfg.replay == 0 || cfg.replay > MAX_REPLAY {
            return Err(Error::input(format!("replay = {}: need 1..={MAX_REPLAY} transitions", cfg.replay)));
        }
        if cfg.batch == 0 || cfg.batch > MAX_BATCH.min(cfg.replay) {
            return Err(Error::input(format!(
                "batch = {}: need 1..={} (and at most the replay size)",
                cfg.batch,
                MAX_BATCH.min(cfg.replay)
            )));
        }
        if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
            return Err(Error::input(format!("lr = {} must be a finite number > 0", cfg.lr)));
        }
        match (cfg.lr_end, cfg.lr_anneal_updates) {
            (None, None) => {}
            (Some(e), Some(n)) if e.is_finite() && e >= 0.0 && n >= 1 => {}
            (Some(e), Some(_)) if !(e.is_finite() && e >= 0.0) => {
                return Err(Error::input(format!("lr_end = {e} must be a finite number >= 0")))
            }
            (Some(_), Some(_)) => return Err(Error::input("lr_anneal_updates must be >= 1")),
            (Some(_), None) => {
                return Err(Error::input("lr_end needs lr_anneal_updates (the updates over which lr anneals)"))
            }
            (None, Some(_)) => return Err(Error::input("lr_anneal_updates needs lr_end (the final learning rate)")),
        }
        if !(cfg.weight_decay.is_finite() && cfg.weight_decay >= 0.0) {
            return Err(Error::input(format!("weight_decay = {} must be finite and >= 0", cfg.weight_decay)));
        }
        if cfg.grad_clip.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
            return Err(Error::input("grad_clip must be a finite number > 0"));
        }
        match cfg.target {
            TargetUpdate::Hard { every: 0 } => return Err(Error::input("target.every must be >= 1")),
            TargetUpdate::Polyak { tau } if !(tau > 0.0 && tau <= 1.0) => {
                return Err(Error::input(format!("target.tau = {tau} must be in (0, 1]")))
            }
            _ => {}
        }
        if cfg.probe_every == Some(0) {
            return Err(Error::input("probe_every must be >= 1"));
        }
        let enc = ObsEncoder::new(env, cfg.observation, &cfg.features)?;
        let input = input_shape(&enc);
        let bytes = cfg.replay.saturating_mul(enc.len()).saturating_mul(8);
        if bytes > MAX_REPLAY_BYTES {
            return Err(Error::input(format!(
                "replay = {} transitions of {} values take {} MiB, more than the limit of {} MiB; use a smaller replay",
                cfg.replay,
                enc.len(),
                bytes >> 20,
                MAX_REPLAY_BYTES >> 20
            )));
        }
        let file = NetworkFile::load(Path::new(&cfg.network)).map_err(|e| Error::input(format!("network: {e}")))?;
        let online = check_network(&file, input, cx.n_actions)?;
        let probes = match env.finite() {
            Some(w) => (0..w.model().n_states())
                .map(|s| {
                    let mut raw = vec![0.0; w.obs_spec().dim()];
                    w.observe_state(s, &mut raw);
                    raw
                })
                .collect(),
            None => vec![],
        };
        // The largest forward is a minibatch (online and target) or the probe of every state.
        let widest = cfg.batch.max(probes.len());
        online.check_batch(widest).map_err(|e| Error::input(format!("batch = {}: {e}", cfg.batch)))?;
        let opt = match cfg.optimizer {
            OptimizerKind::Adam => Adam::new(cfg.lr),
            OptimizerKind::Adamw => Adam::adamw(cfg.lr, cfg.weight_decay),
        };
        let replay = Replay::new(cfg.replay, enc.len());
        Ok(Dqn {
            eps: cfg.epsilon.at(0),
            x: vec![0.0; enc.len()],
            x2: vec![0.0; enc.len()],
            target: online.clone(),
            online,
            opt,
            enc,
            input,
            file,
            n_actions: cx.n_actions,
            gamma: cx.gamma,
            replay,
            rng: None,
            initialised: false,
            episode: 0,
            steps: 0,
            updates: 0,
            losses: vec![],
            probes,
            snapshots: vec![],
            diverged: false,
            cfg,
        })
    }

    /// The optimizer's current learning rate (`lr`, or its annealed value).
    pub fn lr(&self) -> f64 {
        self.opt.lr
    }

    /// Gradient updates done so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The online network.
    pub fn network(&self) -> &Network<f32> {
        &self.online
    }

    /// Q(s, ·) of a batch of encoded observations.
    fn q_batch(net: &mut Network<f32>, input: [usize; 3], xs: &[f32], n: usize) -> Vec<f32> {
        let x = ArrayD::from_shape_vec(vec![n, input[0], input[1], input[2]], xs.to_vec())
            .expect("batch shape matches the encoder");
        match net.forward(x) {
            Ok(q) => q.iter().copied().collect(),
            Err(_) => vec![f32::NAN; n * net.output.len()],
        }
    }

    fn q_of(&mut self, raw: &[f64]) -> Vec<f64> {
        self.enc.encode(raw, &mut self.x);
        let xs: Vec<f32> = self.x.iter().map(|&v| v as f32).collect();
        Self::q_batch(&mut self.online, self.input, &xs, 1).into_iter().map(f64::from).collect()
    }

    fn sample(&mut self) -> Batch<f32> {
        let (b, ol) = (self.cfg.batch, self.replay.obs_len);
        let rng = self.rng.as_mut().expect("initialised at the first act");
        let idx: Vec<usize> = (0..b).map(|_| rng.random_range(0..self.replay.len)).collect();
        let mut x = Vec::with_capacity(b * ol);
        let mut x2 = Vec::with_capacity(b * ol);
        for &i in &idx {
            x.extend_from_slice(&self.replay.s[i * ol..(i + 1) * ol]);
            x2.extend_from_slice(&self.replay.s2[i * ol..(i + 1) * ol]);
        }
        let shape = vec![b, self.input[0], self.input[1], self.input[2]];
        Batch {
            x: ArrayD::from_shape_vec(shape.clone(), x).expect("shape"),
            x2: ArrayD::from_shape_vec(shape, x2).expect("shape"),
            actions: idx.iter().map(|&i| self.replay.a[i] as usize).collect(),
            rewards: idx.iter().map(|&i| self.replay.r[i]).collect(),
            terminated: idx.iter().map(|&i| self.replay.term[i]).collect(),
        }
    }

    /// One gradient update on a sampled minibatch.
    fn update(&mut self) {
        if self.replay.len < self.cfg.batch || self.diverged {
            return;
        }
        let b = self.sample();
        let q2_online = if self.cfg.double { self.online.forward(b.x2.clone()).ok() } else { None };
        let Ok(q2_target) = self.target.forward(b.x2.clone()) else {
            self.diverged = true;
            return;
        };
        let y = td_targets(&b, &q2_target, q2_online.as_ref(), self.gamma);
        let loss = loss_and_grad(&mut self.online, &b, &y, self.cfg.loss).unwrap_or(f64::NAN);
        self.updates += 1;
        self.losses.push((self.updates, loss));
        if !loss.is_finite() {
            self.diverged = true;
            return;
        }
        if let (Some(end), Some(total)) = (self.cfg.lr_end, self.cfg.lr_anneal_updates) {
            self.opt.lr = self.cfg.lr_anneal.at(self.cfg.lr, end, self.updates - 1, total);
        }
        let mut params = self.online.params_mut();
        if let Some(c) = self.cfg.grad_clip {
            clip_grad_norm(&mut params, c);
        }
        self.opt.step(&mut params);
        match self.cfg.target {
            TargetUpdate::Hard { every } => {
                if self.updates.is_multiple_of(every) {
                    self.sync_target(1.0);
                }
            }
            TargetUpdate::Polyak { tau } => self.sync_target(tau),
        }
        if let Some(k) = self.cfg.probe_every {
            if self.updates.is_multiple_of(k) {
                self.probe();
            }
        }
    }

    /// θ' ← τθ + (1 − τ)θ'.
    fn sync_target(&mut self, tau: f64) {
        let src: Vec<ArrayD<f32>> = self.online.params_mut().into_iter().map(|p| p.value.clone()).collect();
        let t = tau as f32;
        for (p, s) in self.target.params_mut().into_iter().zip(src) {
            if tau >= 1.0 {
                p.value.assign(&s);
            } else {
                p.value.zip_mut_with(&s, |w, &v| *w = t * v + (1.0 - t) * *w);
            }
        }
    }

    /// Values and greedy actions of every state (one batched forward).
    pub fn state_maps(&mut self) -> (Vec<f64>, Vec<usize>) {
        let n = self.probes.len();
        if n == 0 {
            return (vec![], vec![]);
        }
        let mut xs = Vec::with_capacity(n * self.enc.len());
        for raw in &self.probes {
            self.enc.encode(raw, &mut self.x);
            xs.extend(self.x.iter().map(|&v| v as f32));
        }
        let q = Self::q_batch(&mut self.online, self.input, &xs, n);
        let na = self.n_actions;
        let mut values = Vec::with_capacity(n);
        let mut actions = Vec::with_capacity(n);
        for s in 0..n {
            let row: Vec<f64> = q[s * na..(s + 1) * na].iter().map(|&v| v as f64).collect();
            values.push(row.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            actions.push(argmax_first(&row));
        }
        (values, actions)
    }

    fn probe(&mut self) {
        let (v, a) = self.state_maps();
        if !v.is_empty() {
            self.snapshots.push((self.updates, v, a));
        }
    }
}

impl ObsAgent for Dqn {
    fn act(&mut self, obs: &[f64], rng: &mut AgentRng) -> usize {
        if !self.initialised {
            self.initialised = true;
            self.rng = Some(rand_chacha::ChaCha8Rng::seed_from_u64(rng.random()));
            let seed: u64 = rng.random();
            if let Ok(net) = self.file.build::<f32>(self.input, seed) {
                self.online = net;
                self.target = self.online.clone();
            }
            if self.cfg.probe_every.is_some() {
                self.probe();
            }
        }
        match self.cfg.behaviour {
            Behaviour::Uniform => rng.random_range(0..self.n_actions),
            Behaviour::EpsilonGreedy => {
                if self.eps > 0.0 && rng.random::<f64>() < self.eps {
                    rng.random_range(0..self.n_actions)
                } else {
                    let q = self.q_of(obs);
                    crate::agents::agent::argmax_random(&q, rng)
                }
            }
        }
    }

    fn observe(&mut self, t: &ObsExperience) {
        self.enc.encode(t.obs, &mut self.x);
        self.enc.encode(t.next_obs, &mut self.x2);
        self.replay.push(&self.x, t.action, t.reward, &self.x2, t.terminated);
        self.steps += 1;
        let starts = self.cfg.learning_starts.unwrap_or(self.cfg.batch as u64);
        if self.cfg.train_every > 0 && self.steps >= starts && self.steps.is_multiple_of(self.cfg.train_every) {
            self.update();
        }
    }

    fn end_episode(&mut self) {
        for _ in 0..self.cfg.updates_per_episode {
            self.update();
        }
        self.episode += 1;
        self.eps = self.cfg.epsilon.at(self.episode);
    }

    fn greedy_action(&mut self, obs: &[f64]) -> usize {
        argmax_first(&self.q_of(obs))
    }

    fn value(&mut self, obs: &[f64]) -> f64 {
        self.q_of(obs).into_iter().fold(f64::NEG_INFINITY, f64::max)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        self.online
            .named_params()
            .into_iter()
            .map(|(name, p)| NamedTensor {
                name,
                shape: p.value.shape().to_vec(),
                data: p.value.iter().map(|&v| v as f64).collect(),
            })
            .collect()
    }

    fn max_episode_steps(&self) -> Option<u64> {
        self.cfg.episode_length
    }

    fn diverged(&self) -> bool {
        self.diverged
    }

    fn losses(&self) -> &[(u64, f64)] {
        &self.losses
    }

    fn snapshots(&self) -> &[(u64, Vec<f64>, Vec<usize>)] {
        &self.snapshots
    }
}
