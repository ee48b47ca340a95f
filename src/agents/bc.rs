//! Behaviour cloning: supervised training of a grid network (e.g.
//! `configs/networks/grid_backbone.toml`) to predict the optimal action of
//! every cell of many gridworlds, with a softmax or a margin-softmax head.
//!
//! **Data.** A map is labelled by value iteration to v* (tolerance 1e-13) and
//! its optimal action sets (actions within 1e-6 of the best q, the tolerance of
//! the policy metrics, [`crate::agents::dp::policy_metrics`]). One sample is one
//! non-fixed cell: input the one-hot `[4, H, W]` image with the agent there
//! ([`Grid::one_hot`]), target its optimal action set.
//!
//! **Labels** ([`LabelMode`]). `lowest`: the lowest-index optimal action, a
//! one-hot label (the tie rule of the metrics when the prediction is wrong).
//! `any` (default): any optimal action is right. With the softmax head the
//! loss is `−log Σ_{a ∈ A*} softmax(z)_a` (the probability of the optimal set),
//! so ties cost nothing; with a margin head the label is the optimal action the
//! head currently scores highest (the margin loss of the easiest optimal
//! action, a subgradient of `min_{a ∈ A*} ℓ(a)`).
//!
//! **Heads** ([`HeadKind`]). The network must end in `linear` with 5 outputs.
//! `softmax` uses it as is (logits, cross-entropy). A margin head
//! ([`crate::nn::margin`]) takes the penultimate features `x` (the input of
//! that last layer; the SPP output in `grid_backbone`) and uses the layer's
//! weight `[5, F]` as its class weights (its bias is unused); the prediction is
//! `argmax_c cos θ_c` (NormFace, CosFace, ArcFace, SphereFace) or
//! `argmax_c W_c·x` (L-Softmax), i.e. the logits without the margin.
//!
//! **Sizes.** The same parameters serve every map size (`grid_backbone` is
//! size-independent through SPP). A minibatch holds cells of maps of one size
//! and goes through the network as one `[N, 4, H, W]` forward and backward; the
//! model keeps one built network per size and one master copy of the
//! parameters that Adam updates.
//!
//! ```no_run
//! use rlkit::agents::bc::{train, BcConfig, LabelledMap};
//! use rlkit::env::generate::{generate_maps, MapGenConfig};
//! use rlkit::nn::model::NetworkFile;
//! let file = NetworkFile::load("configs/networks/grid_backbone.toml".as_ref()).unwrap();
//! let maps: Vec<LabelledMap> = generate_maps((5, 6), 4, &MapGenConfig::default(), 1)
//!     .unwrap().into_iter().map(|g| LabelledMap::new(g).unwrap()).collect();
//! let cfg = BcConfig { epochs: 20, ..BcConfig::default() };
//! let mut run = train(&file, &cfg, &maps, 7).unwrap();
//! let scores = run.model.evaluate(&maps[0]).unwrap();
//! println!("PA {:.3}", scores.pa);
//! ```

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayD, Axis};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::agents::dp::{optimal_action_sets, value_iteration::optimal_values};
use crate::env::Grid;
use crate::nn::margin::{
    margin_cross_entropy, ArcFace, CosFace, LSoftmax, LambdaSchedule, MarginHead, NormFace, SphereFace,
};
use crate::nn::model::{Network, NetworkFile, Shape};
use crate::nn::optim::{clip_grad_norm, Adam, Optimizer, Param};
use crate::{Error, Result};

/// Number of actions (Zhao's up, right, down, left, stay).
pub const N_ACTIONS: usize = 5;

/// Tolerance on q for the optimal action sets (as the policy metrics).
pub const OPTIMAL_TOL: f64 = 1e-6;

/// The largest map side behaviour cloning accepts: attention costs
/// O((H·W)²) per sample, so 16×16 (256 tokens) is the bound.
pub const MAX_SIDE: usize = 16;

/// The smallest map side.
pub const MIN_SIDE: usize = 3;

/// The classification head on the penultimate features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// The network's last linear layer and softmax cross-entropy.
    Softmax,
    /// NormFace: `s·cos θ`.
    Normface,
    /// CosFace / AM-Softmax: target `s·(cos θ − m)`.
    Cosface,
    /// ArcFace: target `s·cos(θ + m)`.
    Arcface,
    /// SphereFace / A-Softmax (λ annealed by the training step).
    Sphereface,
    /// L-Softmax (λ = 0).
    #[serde(alias = "l-softmax")]
    Lsoftmax,
}

impl HeadKind {
    /// The name as written in TOML.
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Softmax => "softmax",
            HeadKind::Normface => "normface",
            HeadKind::Cosface => "cosface",
            HeadKind::Arcface => "arcface",
            HeadKind::Sphereface => "sphereface",
            HeadKind::Lsoftmax => "lsoftmax",
        }
    }
}

/// Which optimal action(s) a sample is trained towards (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelMode {
    /// Any optimal action is right.
    #[default]
    Any,
    /// The lowest-index optimal action.
    Lowest,
}

/// Training settings (the keys of a `behaviour-cloning` agent that shape
/// training; the map keys live in the experiment family).
#[derive(Debug, Clone, PartialEq)]
pub struct BcConfig {
    /// The head.
    pub head: HeadKind,
    /// Scale `s` of NormFace/CosFace/ArcFace (default: the head's, 64).
    pub scale: Option<f32>,
    /// Margin `m` (CosFace 0.35, ArcFace 0.5, SphereFace/L-Softmax the integer 4).
    pub margin: Option<f32>,
    /// Label mode.
    pub labels: LabelMode,
    /// Passes over the training cells.
    pub epochs: usize,
    /// Cells per minibatch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay (0: plain Adam).
    pub weight_decay: f64,
    /// Global gradient-norm clip (0: off).
    pub clip: f64,
}

impl Default for BcConfig {
    fn default() -> Self {
        BcConfig {
            head: HeadKind::Softmax,
            scale: None,
            margin: None,
            labels: LabelMode::Any,
            epochs: 20,
            batch_size: 32,
            lr: 3e-3,
            weight_decay: 0.0,
            clip: 5.0,
        }
    }
}

/// A map with its optimal values and action sets.
#[derive(Debug, Clone)]
pub struct LabelledMap {
    /// The map.
    pub grid: Grid,
    /// v*.
    pub v_star: Vec<f64>,
    /// Optimal action sets per state (every action for a fixed state).
    pub optimal: Vec<Vec<usize>>,
}

impl LabelledMap {
    /// Label `grid` by value iteration.
    ///
    /// # Errors
    /// If the grid does not have the 5 Zhao actions or v* cannot be computed.
    pub fn new(grid: Grid) -> Result<Self> {
        if grid.action_names.len() != N_ACTIONS {
            return Err(Error::input(format!(
                "behaviour cloning needs the 5 Zhao actions; `{}` has {}",
                grid.spec.name,
                grid.action_names.len()
            )));
        }
        let v_star = optimal_values(&grid.model)?;
        let optimal = optimal_action_sets(&grid.model, &v_star, OPTIMAL_TOL);
        Ok(LabelledMap { grid, v_star, optimal })
    }

    /// The lowest-index optimal action of every state.
    pub fn lowest_labels(&self) -> Vec<usize> {
        self.optimal.iter().map(|s| s.iter().copied().min().unwrap_or(0)).collect()
    }

    /// The states that are samples (not fixed).
    pub fn states(&self) -> Vec<usize> {
        (0..self.grid.n_states()).filter(|&s| !self.grid.model.is_fixed(s)).collect()
    }

    /// A batch `[N, 4, H, W]` of one-hot images, the agent at each of `states`.
    pub fn images(&self, states: &[usize]) -> ArrayD<f32> {
        let (h, w) = (self.grid.height, self.grid.width);
        let mut x = ArrayD::<f32>::zeros(vec![states.len(), 4, h, w]);
        for (i, &s) in states.iter().enumerate() {
            x.index_axis_mut(Axis(0), i).assign(&self.grid.one_hot(s).into_dyn());
        }
        x
    }
}

/// Per-map scores of a predicted policy (see [`crate::metrics::policy`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MapScores {
    /// Pixel accuracy: the fraction of cells whose action is optimal.
    pub pa: f64,
    /// Mean pixel accuracy over actions.
    pub mpa: f64,
    /// Mean IoU over actions.
    pub miou: f64,
    /// ‖v_π − v*‖∞ of the predicted policy.
    pub value_error: f64,
    /// The predicted action of every state (0 for fixed states).
    pub actions: Vec<usize>,
}

/// The network, its head and its optimizer state.
#[derive(Debug, Clone)]
pub struct BcModel {
    file: NetworkFile,
    seed: u64,
    nets: BTreeMap<(usize, usize), Network<f32>>,
    /// The master parameters, named as [`Network::named_params`].
    pub params: Vec<(String, Param<f32>)>,
    opt: Adam<f32>,
    cfg: BcConfig,
    /// Optimizer steps taken.
    pub step: u64,
}

/// Check that a built network can be cloned with a head: input `[4, H, W]`,
/// last layer `linear` with 5 outputs on a vector. Returns the feature width F.
pub fn check_network(net: &Network<f32>) -> std::result::Result<usize, String> {
    let Some(last) = net.layers.last() else { return Err("the network has no layers".into()) };
    if net.output != Shape::Vec(N_ACTIONS) {
        return Err(format!(
            "the network's output is {}, behaviour cloning needs {N_ACTIONS} action scores [5] (end it with a `linear` layer with out_features = 5)",
            net.output
        ));
    }
    match (last.kind_name, last.in_shape) {
        ("linear", Shape::Vec(f)) => Ok(f),
        (k, _) => Err(format!(
            "the last layer is `{k}`; behaviour cloning needs the network to end in a `linear` layer with out_features = 5 (its weight is the head's class weights)"
        )),
    }
}

impl BcModel {
    /// Build the network from `file` for `[4, side, side]` with weights from `seed`.
    ///
    /// # Errors
    /// Network build errors, or a network that [`check_network`] refuses.
    pub fn new(file: &NetworkFile, cfg: &BcConfig, side: (usize, usize), seed: u64) -> Result<Self> {
        let net = file.build::<f32>([4, side.0, side.1], seed)?;
        check_network(&net).map_err(Error::input)?;
        let params = net.named_params().into_iter().map(|(n, p)| (n, p.clone())).collect();
        let opt = if cfg.weight_decay > 0.0 { Adam::adamw(cfg.lr, cfg.weight_decay) } else { Adam::new(cfg.lr) };
        let mut nets = BTreeMap::new();
        nets.insert(side, net);
        Ok(BcModel { file: file.clone(), seed, nets, params, opt, cfg: cfg.clone(), step: 0 })
    }

    /// The named parameter values (for safetensors).
    pub fn tensors(&self) -> Vec<(String, ArrayD<f32>)> {
        self.params.iter().map(|(n, p)| (n.clone(), p.value.clone())).collect()
    }

    fn margin_head(&self) -> Option<Box<dyn MarginHead>> {
        let c = &self.cfg;
        let m_int = |d: u32| c.margin.map_or(d, |m| m.round().max(1.0) as u32);
        Some(match c.head {
            HeadKind::Softmax => return None,
            HeadKind::Normface => Box::new(NormFace { s: c.scale.unwrap_or(NormFace::default().s) }),
            HeadKind::Cosface => {
                let d = CosFace::default();
                Box::new(CosFace { s: c.scale.unwrap_or(d.s), m: c.margin.unwrap_or(d.m) })
            }
            HeadKind::Arcface => {
                let d = ArcFace::default();
                Box::new(ArcFace { s: c.scale.unwrap_or(d.s), m: c.margin.unwrap_or(d.m), easy_margin: false })
            }
            HeadKind::Sphereface => {
                Box::new(SphereFace { m: m_int(4), schedule: LambdaSchedule::default(), iter: self.step })
            }
            HeadKind::Lsoftmax => Box::new(LSoftmax { m: m_int(4), schedule: LambdaSchedule::NONE, iter: self.step }),
        })
    }

    /// The network for `[4, h, w]`, with the master parameters loaded.
    fn net(&mut self, h: usize, w: usize) -> Result<&mut Network<f32>> {
        load_net(&mut self.nets, &self.file, self.seed, &self.params, h, w)
    }

    /// Penultimate features `[N, F]` of a batch `x [N, 4, H, W]`.
    pub fn features(&mut self, x: &ArrayD<f32>) -> Result<Array2<f32>> {
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let net = self.net(h, w)?;
        let k = net.layers.len() - 1;
        let mut a = x.clone();
        for l in &mut net.layers[..k] {
            a = l.forward(a);
        }
        a.into_dimensionality().map_err(|e| Error::internal(format!("features: {e}")))
    }

    /// Head scores `[N, 5]` without margins (what the prediction is the argmax of).
    pub fn scores(&mut self, x: &ArrayD<f32>) -> Result<Array2<f32>> {
        let feats = self.features(x)?;
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let head = self.cfg.head;
        let net = self.net(h, w)?;
        let last = net.layers.last_mut().ok_or_else(|| Error::internal("no layers"))?;
        let weight: Array2<f32> =
            last.params[0].value.clone().into_dimensionality().map_err(|e| Error::internal(format!("weight: {e}")))?;
        Ok(match head {
            HeadKind::Softmax => {
                last.forward(feats.into_dyn()).into_dimensionality().map_err(|e| Error::internal(e.to_string()))?
            }
            HeadKind::Lsoftmax => feats.dot(&weight.t()),
            _ => cosines(&feats, &weight),
        })
    }

    /// Predicted actions of a batch (first maximum on ties).
    pub fn predict(&mut self, x: &ArrayD<f32>) -> Result<Vec<usize>> {
        Ok(self.scores(x)?.rows().into_iter().map(|r| argmax(r.as_slice().unwrap_or(&[]))).collect())
    }

    /// One optimizer step on a batch `x [N, 4, H, W]` whose sample `i` has the
    /// optimal action set `sets[i]` ([`BcModel::loss_grad`], clipping, Adam);
    /// returns the batch loss.
    ///
    /// # Errors
    /// As [`BcModel::loss_grad`].
    pub fn train_step(&mut self, x: &ArrayD<f32>, sets: &[&[usize]]) -> Result<f32> {
        let loss = self.loss_grad(x, sets)?;
        let clip = self.cfg.clip;
        let mut refs: Vec<&mut Param<f32>> = self.params.iter_mut().map(|(_, p)| p).collect();
        if clip > 0.0 {
            clip_grad_norm(&mut refs, clip);
        }
        self.opt.step(&mut refs);
        self.step += 1;
        Ok(loss)
    }

    /// The batch loss and its gradient, left in `params[k].1.grad` (one
    /// forward and one backward of the whole batch; no update).
    ///
    /// # Errors
    /// Shape mismatches (internal) or an empty action set.
    pub fn loss_grad(&mut self, x: &ArrayD<f32>, sets: &[&[usize]]) -> Result<f32> {
        if sets.iter().any(|s| s.is_empty() || s.iter().any(|&a| a >= N_ACTIONS)) {
            return Err(Error::input("behaviour cloning: every sample needs a non-empty set of actions < 5"));
        }
        let head = self.margin_head();
        let labels_mode = self.cfg.labels;
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let net = load_net(&mut self.nets, &self.file, self.seed, &self.params, h, w)?;
        net.zero_grad();
        let k = net.layers.len() - 1;
        let mut a = x.clone();
        for l in &mut net.layers[..k] {
            a = l.forward(a);
        }
        let feats: Array2<f32> = a.into_dimensionality().map_err(|e| Error::internal(e.to_string()))?;
        let last = &mut net.layers[k];
        let (loss, d_feats) = match head {
            None => {
                let z: Array2<f32> =
                    last.forward(feats.into_dyn()).into_dimensionality().map_err(|e| Error::internal(e.to_string()))?;
                let (loss, dz) = match labels_mode {
                    LabelMode::Any => set_cross_entropy(&z, sets),
                    LabelMode::Lowest => {
                        let y: Vec<usize> = sets.iter().map(|s| s.iter().copied().min().unwrap_or(0)).collect();
                        crate::nn::loss::cross_entropy_forward_backward(z.view(), &y)?
                    }
                };
                (loss, last.backward(dz.into_dyn()))
            }
            Some(head) => {
                let weight: Array2<f32> =
                    last.params[0].value.clone().into_dimensionality().map_err(|e| Error::internal(e.to_string()))?;
                let y: Vec<usize> = match labels_mode {
                    LabelMode::Lowest => sets.iter().map(|s| s.iter().copied().min().unwrap_or(0)).collect(),
                    LabelMode::Any => {
                        let sc = if head.magnitude() == crate::nn::margin::Magnitude::FeatureWeightNorm {
                            feats.dot(&weight.t())
                        } else {
                            cosines(&feats, &weight)
                        };
                        sets.iter()
                            .enumerate()
                            .map(|(i, s)| {
                                let mut best = s[0];
                                for &a in s.iter() {
                                    if sc[[i, a]] > sc[[i, best]] {
                                        best = a;
                                    }
                                }
                                best
                            })
                            .collect()
                    }
                };
                let out = margin_cross_entropy(head.as_ref(), feats.view(), weight.view(), &y)?;
                last.params[0].grad += &out.d_weight.into_dyn();
                (out.loss, out.d_features.into_dyn())
            }
        };
        let mut g = d_feats;
        for l in net.layers[..k].iter_mut().rev() {
            g = l.backward(g);
        }
        for (p, (_, m)) in net.params_mut().into_iter().zip(self.params.iter_mut()) {
            m.grad.assign(&p.grad);
        }
        Ok(loss)
    }

    /// Predict every state of `map` in one batch and score it against the
    /// optimal sets (fixed states masked, as [`crate::agents::dp::policy_metrics`]).
    ///
    /// # Errors
    /// Internal shape errors.
    pub fn evaluate(&mut self, map: &LabelledMap) -> Result<MapScores> {
        let states: Vec<usize> = (0..map.grid.n_states()).collect();
        let x = map.images(&states);
        let mut actions = self.predict(&x)?;
        for (s, a) in actions.iter_mut().enumerate() {
            if map.grid.model.is_fixed(s) {
                *a = 0;
            }
        }
        let m = crate::agents::dp::policy_metrics(&map.grid.model, &actions, &map.v_star, OPTIMAL_TOL)?;
        Ok(MapScores { pa: m.scores.pa, mpa: m.scores.mpa, miou: m.scores.miou, value_error: m.value_error, actions })
    }
}

/// The cached network for `[4, h, w]` (built on first use), with `params` loaded.
fn load_net<'a>(
    nets: &'a mut BTreeMap<(usize, usize), Network<f32>>,
    file: &NetworkFile,
    seed: u64,
    params: &[(String, Param<f32>)],
    h: usize,
    w: usize,
) -> Result<&'a mut Network<f32>> {
    if let std::collections::btree_map::Entry::Vacant(e) = nets.entry((h, w)) {
        e.insert(file.build::<f32>([4, h, w], seed)?);
    }
    let net = nets.get_mut(&(h, w)).ok_or_else(|| Error::internal("network cache"))?;
    for (p, (_, m)) in net.params_mut().into_iter().zip(params) {
        p.value.assign(&m.value);
    }
    Ok(net)
}

/// `cos θ [N, C]` between the rows of `x [N, F]` and `w [C, F]`.
fn cosines(x: &Array2<f32>, w: &Array2<f32>) -> Array2<f32> {
    let norm = |a: &Array2<f32>| {
        let mut a = a.clone();
        for mut r in a.rows_mut() {
            let n = r.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>().sqrt() as f32;
            let inv = 1.0 / n.max(crate::nn::margin::NORM_EPS);
            r.mapv_inplace(|v| v * inv);
        }
        a
    };
    norm(x).dot(&norm(w).t())
}

/// Index of the first maximum.
fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in xs.iter().enumerate() {
        if v > xs[best] {
            best = i;
        }
    }
    best
}

/// Set-valued softmax cross-entropy: `ℓ = (1/N)·Σ_n (logsumexp_c z_nc −
/// logsumexp_{a ∈ S_n} z_na)` = the mean of `−log P(S_n)`, and its gradient
/// `(softmax(z_n)_c − [c ∈ S_n]·softmax_{S_n}(z_n)_c)/N`. With one action per
/// set it is the ordinary cross-entropy.
///
/// ```
/// use ndarray::array;
/// let (l, g) = rlkit::agents::bc::set_cross_entropy(&array![[0.0f32, 0.0, 0.0, 0.0]], &[&[1, 2]]);
/// assert!((l - 2f32.ln()).abs() < 1e-6); // P({1, 2}) = 1/2
/// assert!((g[[0, 0]] - 0.25).abs() < 1e-6 && (g[[0, 1]] + 0.25).abs() < 1e-6);
/// ```
pub fn set_cross_entropy(z: &Array2<f32>, sets: &[&[usize]]) -> (f32, Array2<f32>) {
    let n = z.nrows();
    let inv_n = 1.0 / n.max(1) as f64;
    let mut grad = Array2::<f32>::zeros(z.raw_dim());
    let mut sum = 0.0f64;
    for (i, row) in z.rows().into_iter().enumerate() {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        let lse_s = m + sets[i].iter().map(|&a| (row[a] as f64 - m).exp()).sum::<f64>().ln();
        sum += lse - lse_s;
        for (c, &v) in row.iter().enumerate() {
            let mut g = (v as f64 - lse).exp();
            if sets[i].contains(&c) {
                g -= (v as f64 - lse_s).exp();
            }
            grad[[i, c]] = (g * inv_n) as f32;
        }
    }
    ((sum * inv_n) as f32, grad)
}

/// What [`train`] returns.
#[derive(Debug, Clone)]
pub struct BcRun {
    /// The trained model.
    pub model: BcModel,
    /// Mean training loss per epoch.
    pub epoch_loss: Vec<f64>,
    /// Wall-clock seconds per epoch.
    pub epoch_seconds: Vec<f64>,
    /// Samples (cells) per epoch.
    pub samples_per_epoch: usize,
}

/// Train a fresh model (weights from `seed`) on `maps` for `cfg.epochs`
/// passes. Each epoch shuffles the cells of each map size, cuts them into
/// minibatches of `cfg.batch_size` (one size per batch) and shuffles the
/// batches, all from the stream `rng_for(seed, [0x6263])`.
///
/// # Errors
/// Network errors, no maps, or maps without the 5 Zhao actions.
pub fn train(file: &NetworkFile, cfg: &BcConfig, maps: &[LabelledMap], seed: u64) -> Result<BcRun> {
    let first = maps.first().ok_or_else(|| Error::input("behaviour cloning needs at least one training map"))?;
    if cfg.batch_size == 0 {
        return Err(Error::input("batch_size must be >= 1"));
    }
    let mut model = BcModel::new(file, cfg, (first.grid.height, first.grid.width), seed)?;
    let mut groups: BTreeMap<(usize, usize), Vec<(usize, usize)>> = BTreeMap::new();
    for (i, m) in maps.iter().enumerate() {
        for s in m.states() {
            groups.entry((m.grid.height, m.grid.width)).or_default().push((i, s));
        }
    }
    let samples_per_epoch: usize = groups.values().map(Vec::len).sum();
    let mut rng = crate::util::rng_for(seed, &[0x6263]);
    let mut epoch_loss = Vec::with_capacity(cfg.epochs);
    let mut epoch_seconds = Vec::with_capacity(cfg.epochs);
    for _ in 0..cfg.epochs {
        let start = std::time::Instant::now();
        let mut batches: Vec<Vec<(usize, usize)>> = Vec::new();
        for cells in groups.values() {
            let mut c = cells.clone();
            shuffle(&mut c, &mut rng);
            batches.extend(c.chunks(cfg.batch_size).map(<[_]>::to_vec));
        }
        shuffle(&mut batches, &mut rng);
        let (mut total, mut count) = (0.0f64, 0usize);
        for b in &batches {
            let (h, w) = (maps[b[0].0].grid.height, maps[b[0].0].grid.width);
            let mut x = ArrayD::<f32>::zeros(vec![b.len(), 4, h, w]);
            for (j, &(mi, s)) in b.iter().enumerate() {
                x.index_axis_mut(Axis(0), j).assign(&maps[mi].grid.one_hot(s).into_dyn());
            }
            let sets: Vec<&[usize]> = b.iter().map(|&(mi, s)| maps[mi].optimal[s].as_slice()).collect();
            let loss = model.train_step(&x, &sets)?;
            total += loss as f64 * b.len() as f64;
            count += b.len();
        }
        epoch_loss.push(total / count.max(1) as f64);
        epoch_seconds.push(start.elapsed().as_secs_f64());
    }
    Ok(BcRun { model, epoch_loss, epoch_seconds, samples_per_epoch })
}

fn shuffle<T>(v: &mut [T], rng: &mut rand_chacha::ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// The first two principal components of the rows of `x` (centred), by power
/// iteration with deflation in f64 (at most 1,000 iterations each, stopped when
/// the direction changes by less than 1e-12). Each component's sign makes its
/// largest-magnitude loading positive. Returns the scores `[N, 2]`.
///
/// ```
/// use ndarray::array;
/// let x = array![[1.0f32, 0.0], [-1.0, 0.0], [0.0, 0.1], [0.0, -0.1]];
/// let p = rlkit::agents::bc::pca_2d(&x);
/// assert!((p[[0, 0]].abs() - 1.0).abs() < 1e-6 && (p[[2, 1]].abs() - 0.1).abs() < 1e-6);
/// ```
pub fn pca_2d(x: &Array2<f32>) -> Array2<f64> {
    let (n, d) = x.dim();
    let mut xc = x.mapv(|v| v as f64);
    if n > 0 {
        if let Some(mean) = xc.mean_axis(Axis(0)) {
            xc -= &mean;
        }
    }
    let mut comps: Vec<ndarray::Array1<f64>> = Vec::new();
    for k in 0..2 {
        let mut v = ndarray::Array1::from_shape_fn(d, |j| 1.0 + ((j * 7 + k * 3) % 11) as f64 / 11.0);
        for _ in 0..1000 {
            let mut nv = xc.t().dot(&xc.dot(&v));
            for c in &comps {
                let p = nv.dot(c);
                nv.scaled_add(-p, c);
            }
            let norm = nv.dot(&nv).sqrt();
            if norm < 1e-300 {
                break;
            }
            nv /= norm;
            let diff = (&nv - &v).mapv(f64::abs).sum();
            v = nv;
            if diff < 1e-12 {
                break;
            }
        }
        let imax = v.iter().enumerate().fold(0, |b, (i, x)| if x.abs() > v[b].abs() { i } else { b });
        if d > 0 && v[imax] < 0.0 {
            v.mapv_inplace(|e| -e);
        }
        comps.push(v);
    }
    let mut out = Array2::<f64>::zeros((n, 2));
    for (k, c) in comps.iter().enumerate() {
        out.column_mut(k).assign(&xc.dot(c));
    }
    out
}
