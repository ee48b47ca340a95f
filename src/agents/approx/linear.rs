//! The linear function `f̂(s, a) = w_aᵀ x(s)` every linear agent shares: one
//! weight block per action over the feature vector `x(s) = [dense, one-hot(active)]`
//! of a [`FeatureSet`].
//!
//! Evaluating and updating cost O(dense + active features), not O(dimension):
//!
//! ```text
//! f̂(s, a) = Σ_j w[a, j]·dense_j + Σ_{i ∈ active} w[a, D + i]
//! w[a] ← w[a] + c·x(s)             (c = α·δ for a semi-gradient step)
//! ```
//!
//! With the single column `one_hot_state`, `f̂(s, a) = w[a, s]` and the update
//! is `w[a, s] += α(target − w[a, s])`: the tabular agents' arithmetic, bit for bit.

use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

use super::NamedTensor;
use crate::agents::agent::AgentRng;
use crate::env::features::{ColumnSpec, FeatureSet, Features, MAX_FEATURE_ENTRIES};
use crate::env::obs::ObsSpec;
use crate::{Error, Result};

/// Initial weights: a number for every weight, or drawn from a normal distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InitWeights {
    /// Every weight equals this.
    Value(f64),
    /// w ~ N(mean, std²), drawn from the agent's stream before its first action.
    Normal {
        /// Always `"normal"`.
        kind: NormalTag,
        /// Mean (default 0).
        #[serde(default)]
        mean: f64,
        /// Standard deviation (default 1).
        #[serde(default = "one")]
        std: f64,
    },
}

/// The tag of [`InitWeights::Normal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalTag {
    /// `kind = "normal"`.
    Normal,
}

fn one() -> f64 {
    1.0
}

impl Default for InitWeights {
    fn default() -> Self {
        InitWeights::Value(0.0)
    }
}

impl InitWeights {
    /// Validate (finite numbers, std ≥ 0).
    pub fn check(&self) -> Result<()> {
        match *self {
            InitWeights::Value(v) if !v.is_finite() => Err(Error::input(format!("w0 = {v} must be finite"))),
            InitWeights::Normal { mean, std, .. } if !(mean.is_finite() && std.is_finite() && std >= 0.0) => {
                Err(Error::input(format!("w0: mean = {mean}, std = {std}: need finite numbers and std >= 0")))
            }
            _ => Ok(()),
        }
    }
}

/// The default feature columns: one-hot of the state (the tabular case).
pub fn default_features() -> Vec<ColumnSpec> {
    vec![ColumnSpec::OneHotState {}]
}

/// A linear function of the features, one weight block per output (action).
#[derive(Debug, Clone)]
pub struct LinearFn {
    /// The feature columns.
    pub features: FeatureSet,
    /// Number of outputs (actions, or 1 for a state-value function).
    pub outputs: usize,
    /// Feature dimension D + S.
    pub dim: usize,
    dense: usize,
    /// Weights, row-major `outputs × dim`.
    pub w: Vec<f64>,
    init: InitWeights,
    initialised: bool,
    nonfinite: bool,
}

impl LinearFn {
    /// Build the feature set for `spec` and a weight block per output.
    pub fn new(columns: &[ColumnSpec], spec: &ObsSpec, outputs: usize, init: InitWeights) -> Result<LinearFn> {
        init.check()?;
        let features = FeatureSet::build(columns, spec).map_err(|e| {
            let key = e.key.map(|k| format!(".{k}")).unwrap_or_default();
            Error::input(format!("features[{}]{key}: {}", e.column, e.message))
        })?;
        let dim = features.dim();
        let total = dim.saturating_mul(outputs.max(1));
        if total > MAX_FEATURE_ENTRIES {
            return Err(Error::input(format!(
                "features: {dim} features × {outputs} actions = {total} weights is more than the limit of {MAX_FEATURE_ENTRIES} (2^26); use fewer buckets, tiles or a smaller order"
            )));
        }
        let dense = features.dense_dim();
        let v0 = match init {
            InitWeights::Value(v) => v,
            InitWeights::Normal { .. } => 0.0,
        };
        Ok(LinearFn {
            features,
            outputs,
            dim,
            dense,
            w: vec![v0; total],
            initialised: matches!(init, InitWeights::Value(_)),
            init,
            nonfinite: false,
        })
    }

    /// Draw random initial weights (once) from `rng`, if `w0` asks for it.
    pub fn init_from(&mut self, rng: &mut AgentRng) {
        if self.initialised {
            return;
        }
        self.initialised = true;
        if let InitWeights::Normal { mean, std, .. } = self.init {
            if let Ok(n) = rand_distr::Normal::new(mean, std) {
                for w in &mut self.w {
                    *w = n.sample(rng);
                }
            }
        }
    }

    /// Encode an observation.
    #[inline]
    pub fn encode(&mut self, obs: &[f64], out: &mut Features) {
        self.features.encode(obs, out);
    }

    /// f̂(x, k) for output `k`.
    #[inline]
    pub fn eval(&self, x: &Features, k: usize) -> f64 {
        let row = &self.w[k * self.dim..(k + 1) * self.dim];
        let mut s = 0.0;
        for (w, v) in row[..self.dense].iter().zip(&x.dense) {
            s += w * v;
        }
        let sparse = &row[self.dense..];
        for &i in &x.active {
            s += sparse[i as usize];
        }
        s
    }

    /// f̂(x, k) for every output.
    #[inline]
    pub fn eval_all(&self, x: &Features, out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate().take(self.outputs) {
            *o = self.eval(x, k);
        }
    }

    /// w_k ← w_k + c·x (and the embedding rows of `x` by the chain rule).
    #[inline]
    pub fn add(&mut self, x: &Features, k: usize, c: f64) {
        let base = k * self.dim;
        if self.features.has_embeddings() {
            // ∂f̂/∂(dense features) = w_k[..D]: train the embedding rows with the old weights.
            let grad = self.w[base..base + self.dense].to_vec();
            self.features.train_embeddings(x, c, &grad);
        }
        let row = &mut self.w[base..base + self.dim];
        for (w, v) in row[..self.dense].iter_mut().zip(&x.dense) {
            *w += c * v;
        }
        let sparse = &mut row[self.dense..];
        for &i in &x.active {
            sparse[i as usize] += c;
        }
        if !c.is_finite() {
            self.nonfinite = true;
        }
    }

    /// Whether an update was ever non-finite.
    pub fn diverged(&self) -> bool {
        self.nonfinite
    }

    /// The weights (`name`, shape `[outputs, dim]`) and any learned embedding tables.
    pub fn tensors(&self, name: &str) -> Vec<NamedTensor> {
        let mut v = vec![NamedTensor { name: name.into(), shape: vec![self.outputs, self.dim], data: self.w.clone() }];
        for (n, shape, data) in self.features.tensors() {
            v.push(NamedTensor { name: format!("{name}.{n}"), shape, data });
        }
        v
    }
}
