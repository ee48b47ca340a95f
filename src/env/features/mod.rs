//! Feature columns: turn a raw observation into a feature vector for a
//! linear (or other approximating) agent. (Skeleton: being filled in.)

use serde::{Deserialize, Serialize};

use super::obs::ObsSpec;

/// The most entries (dimension, hash buckets, table rows × width) one feature set may have.
pub const MAX_FEATURE_ENTRIES: usize = 1 << 26;

/// One feature column as written in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnSpec {
    /// One-hot of the state index.
    OneHotState {},
}

/// A column that cannot be built: which column, which key, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnError {
    /// Index of the column in the list.
    pub column: usize,
    /// The offending key of that column, if one.
    pub key: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

/// One encoded observation: `x = [dense, one-hot(active)]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// The dense block, `dense_dim()` values.
    pub dense: Vec<f64>,
    /// Active sparse indices in `[0, sparse_dim())`, each with value 1.
    pub active: Vec<u32>,
    /// Embedding rows used: (embedding id, row, offset of its block in `dense`).
    pub embed: Vec<(u32, u32, u32)>,
}

/// A built set of columns.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    n_states: usize,
}

impl FeatureSet {
    /// Build `columns` against the world's raw observation.
    pub fn build(columns: &[ColumnSpec], spec: &ObsSpec) -> Result<FeatureSet, ColumnError> {
        let n_states = spec.n_states.ok_or(ColumnError {
            column: 0,
            key: None,
            message: "one_hot_state needs a finite world".into(),
        })?;
        let _ = columns;
        Ok(FeatureSet { n_states })
    }
    /// Size of the dense block.
    pub fn dense_dim(&self) -> usize {
        0
    }
    /// Size of the sparse block.
    pub fn sparse_dim(&self) -> usize {
        self.n_states
    }
    /// dense + sparse.
    pub fn dim(&self) -> usize {
        self.dense_dim() + self.sparse_dim()
    }
    /// Encode `obs` into `out`.
    pub fn encode(&mut self, obs: &[f64], out: &mut Features) {
        out.dense.clear();
        out.active.clear();
        out.embed.clear();
        out.active.push(obs[0] as u32);
    }
    /// Whether some column is an embedding (trained by the agent).
    pub fn has_embeddings(&self) -> bool {
        false
    }
    /// Embedding gradient step: `E[row][j] += coef * grad_dense[offset + j]` for every row in `f.embed`.
    pub fn train_embeddings(&mut self, _f: &Features, _coef: f64, _grad_dense: &[f64]) {}
    /// Learned tables, for saving: (name, shape, row-major values).
    pub fn tensors(&self) -> Vec<(String, Vec<usize>, Vec<f64>)> {
        vec![]
    }
}
