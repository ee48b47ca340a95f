//! Feature columns: turn a raw observation into a feature vector for a linear
//! (or other approximating) agent, after TensorFlow's `tf.feature_column`.
//!
//! A feature set is a list of columns, each written in TOML as a table with a
//! `kind` (see [`ColumnSpec`] for every kind, its keys and its formula, and
//! `docs/features.md` for examples). Columns read the components of the raw
//! observation ([`ObsSpec`]: `state`, `row`, `col` on a grid; `state` in an
//! MDP; `position`, `velocity` in Mountain Car) by name.
//!
//! # Layout
//!
//! The feature vector is `x = [dense block, sparse block]`:
//!
//! - the **dense** columns (`numeric`, `embedding`, `polynomial`, `fourier`)
//!   write their values, in list order, into [`Features::dense`];
//! - the **sparse** columns (`bucketized`, `categorical_identity`, `hashed`,
//!   `crossed`, `indicator`, `tile_coding`, `one_hot_state`) each own an index
//!   range of the sparse block, in list order, and write the indices of their
//!   active (value 1) features into [`Features::active`].
//!
//! Sparse features stay index lists, so a linear function of `x` costs
//! O(dense + active) to evaluate and update, never O(dimension).
//!
//! A categorical column (`bucketized`, `categorical_identity`, `hashed`,
//! `crossed`) that is named by an `indicator`, `embedding` or `crossed` column
//! is *consumed* by it and contributes nothing on its own, as in TensorFlow,
//! where one lists only the wrapper. An unconsumed categorical column
//! contributes its one-hot directly (as if wrapped in an `indicator`).
//!
//! # Errors
//!
//! [`FeatureSet::build`] checks every column against the observation and
//! returns a [`ColumnError`] naming the column, the key and what would be
//! valid. Unknown kinds and unknown keys are rejected when the TOML is read.
//!
//! # Determinism
//!
//! Hashes are FNV-1a 64 ([`hash`]), embedding tables are initialised from a
//! fixed seed ([`EMBEDDING_SEED`]): the same columns give the same features on
//! every machine and run.

mod basis;
pub mod hash;
mod tiles;

use std::collections::HashMap;
use std::f64::consts::PI;
use std::fmt;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::obs::ObsSpec;
use tiles::TileCoder;

pub use tiles::MAX_TILE_INPUTS;

/// The most entries (dimension, hash buckets, table rows × width) one feature set may have.
pub const MAX_FEATURE_ENTRIES: usize = 1 << 26;

/// The most inputs a `polynomial` or `fourier` column may have (as `tile_coding`).
pub const MAX_BASIS_INPUTS: usize = 8;

/// The seed of embedding table `e` (the `e`-th embedding column, from 0) is
/// `EMBEDDING_SEED + e`, fed to `ChaCha8Rng::seed_from_u64`; the table is drawn
/// row-major from `N(0, init_std²)`.
pub const EMBEDDING_SEED: u64 = 0x726c_6b69_745f_656d; // "rlkit_em"

/// The default `init_std` of an `embedding` column.
pub const DEFAULT_EMBEDDING_STD: f64 = 0.1;

/// How a `numeric` column scales its input, using the observation's bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// `"none"`: the raw value `x`.
    #[default]
    None,
    /// `"unit"`: `(x − low)/(high − low)`, in `[0, 1]` within the bounds.
    Unit,
    /// `"symmetric"`: `2(x − low)/(high − low) − 1`, in `[−1, 1]` within the bounds.
    Symmetric,
}

/// Tiles per input of a `tile_coding` column: one integer for all inputs, or one per input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TileCounts {
    /// `tiles = 8`: the same number for every input.
    All(u64),
    /// `tiles = [8, 8]`: one number per input, in input order.
    PerInput(Vec<u64>),
}

impl<'de> Deserialize<'de> for TileCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TileCounts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of tiles (an integer >= 1) or a list of them, one per input")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TileCounts, E> {
                Ok(TileCounts::All(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TileCounts, E> {
                u64::try_from(v)
                    .map(TileCounts::All)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<TileCounts, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = seq.next_element::<u64>()? {
                    v.push(k);
                }
                Ok(TileCounts::PerInput(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One feature column as written in TOML (`[[features]]` tables, or inline
/// `{ kind = "...", ... }`).
///
/// Every column but `one_hot_state` may carry `name = "..."`, by which
/// `indicator`, `embedding` and `crossed` columns refer to a categorical column.
/// Names must be unique and differ from the observation's component names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnSpec {
    /// One dense value from one observation component.
    ///
    /// ```toml
    /// { kind = "numeric", input = "position", normalize = "unit" }   # normalize: none (default) | unit | symmetric
    /// ```
    ///
    /// `none`: `x`; `unit`: `(x − low)/(high − low)`; `symmetric`:
    /// `2(x − low)/(high − low) − 1`, with the observation's bounds.
    Numeric {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation component (`state`, `row`, `position`, ...).
        input: String,
        /// Scaling (default `none`).
        #[serde(default)]
        normalize: Normalize,
    },
    /// Categorical: the bucket of a value among sorted boundaries.
    ///
    /// ```toml
    /// { kind = "bucketized", input = "position", boundaries = [-0.9, -0.5, 0.0] }
    /// ```
    ///
    /// `n + 1` buckets `(−∞, b0), [b0, b1), …, [b_{n−1}, ∞)`: the bucket of `x` is
    /// the number of boundaries `≤ x` (`tf.feature_column.bucketized_column`).
    /// Boundaries must be finite and strictly increasing, at least one.
    Bucketized {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation component.
        input: String,
        /// Strictly increasing finite boundaries.
        boundaries: Vec<f64>,
    },
    /// Categorical: the integer value itself (`categorical_column_with_identity`).
    ///
    /// ```toml
    /// { kind = "categorical_identity", input = "row", num_buckets = 5, default_value = 0 }
    /// ```
    ///
    /// Index `v = round(x)` if `0 ≤ v < num_buckets`, else (also for NaN)
    /// `default_value` if given; otherwise nothing is active. Without `default_value` the
    /// input's bounds must lie within `[0, num_buckets − 1]`.
    CategoricalIdentity {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation component (integer-valued).
        input: String,
        /// Number of buckets.
        num_buckets: u64,
        /// Bucket for values outside `[0, num_buckets)`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_value: Option<i64>,
    },
    /// Categorical: a stable hash of the integer value (`categorical_column_with_hash_bucket`).
    ///
    /// ```toml
    /// { kind = "hashed", input = "state", hash_bucket_size = 10 }
    /// ```
    ///
    /// Index `FNV-1a-64(decimal text of round(x)) mod hash_bucket_size` (see [`hash`]).
    /// A NaN or infinite value activates nothing.
    Hashed {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation component (integer-valued).
        input: String,
        /// Number of buckets.
        hash_bucket_size: u64,
    },
    /// Categorical: a hashed cross of two or more keys (`crossed_column`).
    ///
    /// ```toml
    /// { kind = "crossed", keys = ["row", "col"], hash_bucket_size = 16 }
    /// ```
    ///
    /// A key is an integer-valued observation component (its value `round(x)`)
    /// or the name of a categorical column (its bucket index). Index
    /// `FNV-1a-64(v_1 "_X_" v_2 "_X_" …) mod hash_bucket_size` over the decimal
    /// texts (see [`hash`]). If a key has no value (a keyed column with no
    /// active bucket, a NaN component), the cross activates nothing.
    Crossed {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Observation components and/or categorical column names (at least two).
        keys: Vec<String>,
        /// Number of buckets.
        hash_bucket_size: u64,
    },
    /// Sparse: the one-hot of a named categorical column (`indicator_column`).
    ///
    /// ```toml
    /// { kind = "indicator", column = "pos_bucket" }
    /// ```
    Indicator {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The categorical column.
        column: String,
    },
    /// Dense: a learned embedding row of a named categorical column (`embedding_column`).
    ///
    /// ```toml
    /// { kind = "embedding", column = "cell", dimension = 4, init_std = 0.1 }
    /// ```
    ///
    /// `dimension` values `E[i]`, where `i` is the column's bucket and `E` a table
    /// of (buckets × dimension), initialised from `N(0, init_std²)` with a fixed
    /// seed ([`EMBEDDING_SEED`]; zeros if `init_std = 0`) and trained by
    /// [`FeatureSet::train_embeddings`]. No bucket → zeros.
    Embedding {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The categorical column.
        column: String,
        /// Width k of a row.
        dimension: u64,
        /// Standard deviation of the initial table (default 0.1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        init_std: Option<f64>,
    },
    /// Sparse: tiles3 tile coding (Sutton; S&B §9.5.4), `tilings` active indices in `[0, size)`.
    ///
    /// ```toml
    /// { kind = "tile_coding", inputs = ["position", "velocity"], tilings = 8, tiles = 8, size = 4096,
    ///   ranges = [[-1.2, 0.5], [-0.07, 0.07]] }
    /// ```
    ///
    /// `f_i = tiles_i · x_i / (high_i − low_i)` (no subtraction of `low`, as in
    /// S&B's code), `q_i = ⌊f_i · tilings⌋`; tiling `t` has coordinates
    /// `[t, ⌊(q_0 + t)/T⌋, ⌊(q_1 + 3t)/T⌋, ⌊(q_2 + 5t)/T⌋, …]` and its index is
    /// the next free one of an index hash table of `size` entries (insertion
    /// order), or, once the table is full, FNV-1a of the coordinates mod `size`
    /// (tiles3 uses Python's `hash` there, so collisions after the table is full
    /// differ from tiles3). `ranges` defaults to the observation's bounds; at
    /// most [`MAX_TILE_INPUTS`] inputs.
    TileCoding {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation components.
        inputs: Vec<String>,
        /// Number of tilings (tiles3 advises a power of two ≥ 4 × inputs).
        tilings: u64,
        /// Tiles per input over its range.
        tiles: TileCounts,
        /// Index hash table size (the column's width).
        size: u64,
        /// `[low, high]` per input (default: the observation's bounds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ranges: Option<Vec<[f64; 2]>>,
    },
    /// Dense: polynomial basis (S&B §9.5.1, Zhao ch. 8) of inputs normalised to `[−1, 1]`.
    ///
    /// ```toml
    /// { kind = "polynomial", order = 2 }              # inputs = ["col", "row"] by default
    /// { kind = "polynomial", dimension = 10 }         # the same as order = 3 for two inputs
    /// ```
    ///
    /// With x the first input and y the second: order 1 → `[1, x, y]`;
    /// 2 → `[1, x, y, x², y², xy]`; 3 → `[1, x, y, x², y², xy, x³, y³, x²y, xy²]`.
    /// In general: degree by degree; in each degree the pure powers in input
    /// order first, then the mixed monomials in descending lexicographic order
    /// of the exponents. Dimension `C(n + order, n)`.
    Polynomial {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation components (default `["col", "row"]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inputs: Option<Vec<String>>,
        /// Highest total degree.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<u64>,
        /// The dimension instead of the order (3, 6, 10, … for two inputs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dimension: Option<u64>,
    },
    /// Dense: Fourier cosine basis (S&B §9.5.2, Zhao ch. 8) of inputs normalised to `[0, 1]`.
    ///
    /// ```toml
    /// { kind = "fourier", order = 5 }                 # inputs = ["col", "row"] by default
    /// ```
    ///
    /// `cos(π c·x)` for every `c ∈ {0..order}^n`, enumerated lexicographically
    /// with the first input's coefficient varying slowest; dimension `(order+1)^n`.
    Fourier {
        /// Optional column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The observation components (default `["col", "row"]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inputs: Option<Vec<String>>,
        /// Highest coefficient q.
        order: u64,
    },
    /// Sparse: the one-hot of the state index (a finite world only).
    ///
    /// ```toml
    /// { kind = "one_hot_state" }
    /// ```
    ///
    /// Index `round(state)`; a state outside `[0, n_states)` activates nothing.
    /// With it alone, a linear agent is the tabular agent.
    OneHotState {},
}

impl ColumnSpec {
    /// The TOML `kind` of this column.
    pub fn kind(&self) -> &'static str {
        match self {
            ColumnSpec::Numeric { .. } => "numeric",
            ColumnSpec::Bucketized { .. } => "bucketized",
            ColumnSpec::CategoricalIdentity { .. } => "categorical_identity",
            ColumnSpec::Hashed { .. } => "hashed",
            ColumnSpec::Crossed { .. } => "crossed",
            ColumnSpec::Indicator { .. } => "indicator",
            ColumnSpec::Embedding { .. } => "embedding",
            ColumnSpec::TileCoding { .. } => "tile_coding",
            ColumnSpec::Polynomial { .. } => "polynomial",
            ColumnSpec::Fourier { .. } => "fourier",
            ColumnSpec::OneHotState {} => "one_hot_state",
        }
    }

    /// The column's `name`, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            ColumnSpec::Numeric { name, .. }
            | ColumnSpec::Bucketized { name, .. }
            | ColumnSpec::CategoricalIdentity { name, .. }
            | ColumnSpec::Hashed { name, .. }
            | ColumnSpec::Crossed { name, .. }
            | ColumnSpec::Indicator { name, .. }
            | ColumnSpec::Embedding { name, .. }
            | ColumnSpec::TileCoding { name, .. }
            | ColumnSpec::Polynomial { name, .. }
            | ColumnSpec::Fourier { name, .. } => name.as_deref(),
            ColumnSpec::OneHotState {} => None,
        }
    }

    /// Whether this is a categorical column (one bucket index per observation)
    /// that `indicator`, `embedding` and `crossed` may name.
    pub fn is_categorical(&self) -> bool {
        matches!(
            self,
            ColumnSpec::Bucketized { .. }
                | ColumnSpec::CategoricalIdentity { .. }
                | ColumnSpec::Hashed { .. }
                | ColumnSpec::Crossed { .. }
        )
    }
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

impl fmt::Display for ColumnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "features[{}].{k}: {}", self.column, self.message),
            None => write!(f, "features[{}]: {}", self.column, self.message),
        }
    }
}

impl std::error::Error for ColumnError {}

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

/// How full the index table of a `tile_coding` column is ([`FeatureSet::tile_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileUsage {
    /// Index of the column in the list.
    pub column: usize,
    /// Coordinate tuples stored (each has its own index).
    pub stored: usize,
    /// The table size (`size`).
    pub size: usize,
    /// Lookups of a new tuple after the table was full (tiles3's `overfullCount`).
    pub overfull: u64,
}

/// A component scaled by its bounds.
#[derive(Debug, Clone, Copy)]
struct Scaled {
    input: usize,
    low: f64,
    width: f64,
    mode: Normalize,
}

impl Scaled {
    #[inline]
    fn apply(&self, obs: &[f64]) -> f64 {
        let x = get(obs, self.input);
        match self.mode {
            Normalize::None => x,
            Normalize::Unit => (x - self.low) / self.width,
            Normalize::Symmetric => 2.0 * (x - self.low) / self.width - 1.0,
        }
    }
}

/// A key of a crossed column.
#[derive(Debug, Clone, Copy)]
enum CrossKey {
    /// An integer observation component.
    Obs(usize),
    /// A categorical column's slot.
    Cat(usize),
}

/// A categorical column, evaluated before the outputs.
#[derive(Debug, Clone)]
enum Cat {
    Bucketized { input: usize, boundaries: Vec<f64> },
    Identity { input: usize, n: u64, default: Option<u32> },
    Hashed { input: usize, size: u64 },
    Crossed { keys: Vec<CrossKey>, size: u64 },
}

impl Cat {
    #[inline]
    fn eval(&self, obs: &[f64], vals: &[Option<u32>]) -> Option<u32> {
        match self {
            Cat::Bucketized { input, boundaries } => {
                let x = get(obs, *input);
                Some(boundaries.partition_point(|&b| b <= x) as u32)
            }
            Cat::Identity { input, n, default } => match int_of(get(obs, *input)) {
                Some(v) if v >= 0 && (v as u64) < *n => Some(v as u32),
                _ => *default,
            },
            Cat::Hashed { input, size } => Some((hash::hash_i64(int_of(get(obs, *input))?) % size) as u32),
            Cat::Crossed { keys, size } => {
                let mut h = hash::FNV_OFFSET;
                for (k, key) in keys.iter().enumerate() {
                    let v = match *key {
                        CrossKey::Obs(i) => int_of(get(obs, i))?,
                        CrossKey::Cat(c) => i64::from(vals.get(c).copied().flatten()?),
                    };
                    if k > 0 {
                        h = hash::fnv1a_continue(h, hash::CROSS_SEPARATOR);
                    }
                    h = hash::fnv1a_continue_i64(h, v);
                }
                Some((h % size) as u32)
            }
        }
    }
}

#[derive(Debug, Clone)]
enum DenseKind {
    Numeric(Scaled),
    Polynomial { inputs: Vec<Scaled>, exps: Vec<u32> },
    Fourier { inputs: Vec<Scaled>, order: u32 },
    Embedding { cat: usize, table: usize },
}

#[derive(Debug, Clone)]
struct DenseCol {
    offset: usize,
    width: usize,
    kind: DenseKind,
}

#[derive(Debug, Clone)]
enum SparseKind {
    Categorical { cat: usize },
    Tiles(TileCoder),
    OneHotState { input: usize, n: usize },
}

#[derive(Debug, Clone)]
struct SparseCol {
    column: usize,
    offset: u32,
    kind: SparseKind,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    rows: usize,
    dim: usize,
    data: Vec<f64>,
}

#[derive(Debug, Clone)]
enum Role {
    Dense { offset: usize, width: usize },
    Sparse { offset: usize, width: usize },
    Consumed(Vec<usize>),
}

#[derive(Debug, Clone)]
struct Info {
    kind: &'static str,
    detail: String,
    role: Role,
}

/// A built set of columns: encodes observations into [`Features`].
///
/// ```
/// use rlkit::env::features::{ColumnSpec, FeatureSet, Features};
/// use rlkit::env::World;
///
/// let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let columns: Vec<ColumnSpec> = toml::from_str::<toml::Table>(
///     r#"features = [
///         { kind = "polynomial", order = 1 },
///         { kind = "categorical_identity", input = "row", num_buckets = 5 },
///     ]"#,
/// )
/// .unwrap()["features"]
///     .clone()
///     .try_into()
///     .unwrap();
/// let mut fs = FeatureSet::build(&columns, &world.obs_spec()).unwrap();
/// assert_eq!((fs.dense_dim(), fs.sparse_dim(), fs.dim()), (3, 5, 8));
///
/// let mut x = Features::default();
/// fs.encode(&[9.0, 1.0, 4.0], &mut x); // state 9 = (row 1, col 4)
/// assert_eq!(x.dense, vec![1.0, 1.0, -0.5]); // [1, col, row] scaled to [-1, 1]
/// assert_eq!(x.active, vec![1]); // row 1
/// ```
#[derive(Debug, Clone)]
pub struct FeatureSet {
    cats: Vec<Cat>,
    cat_order: Vec<usize>,
    cat_vals: Vec<Option<u32>>,
    dense: Vec<DenseCol>,
    sparse: Vec<SparseCol>,
    tables: Vec<Table>,
    dense_dim: usize,
    sparse_dim: usize,
    max_active: usize,
    info: Vec<Info>,
}

#[inline]
fn get(obs: &[f64], i: usize) -> f64 {
    obs.get(i).copied().unwrap_or(f64::NAN)
}

/// The integer value of an observation component: rounded to the nearest
/// integer; `None` if it is NaN or infinite.
#[inline]
fn int_of(x: f64) -> Option<i64> {
    if x.is_finite() {
        // Saturates beyond the i64 range.
        Some(x.round() as i64)
    } else {
        None
    }
}

fn err(column: usize, key: Option<&str>, message: impl Into<String>) -> ColumnError {
    ColumnError { column, key: key.map(str::to_string), message: message.into() }
}

fn tick_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Checks a column against the observation and the other columns.
struct Builder<'a> {
    columns: &'a [ColumnSpec],
    spec: &'a ObsSpec,
    names: HashMap<&'a str, usize>,
    /// Slot of each categorical column.
    slot: Vec<Option<usize>>,
    consumed: Vec<Vec<usize>>,
}

impl<'a> Builder<'a> {
    fn input(&self, i: usize, key: &str, name: &str) -> Result<usize, ColumnError> {
        self.spec.index_of(name).ok_or_else(|| {
            err(i, Some(key), format!("`{name}` is not an observation of this world; it has {}", self.spec.describe()))
        })
    }

    fn integer_input(&self, i: usize, key: &str, name: &str, kind: &str) -> Result<usize, ColumnError> {
        let c = self.input(i, key, name)?;
        if !self.spec.integer.get(c).copied().unwrap_or(false) {
            return Err(err(
                i,
                Some(key),
                format!(
                    "{kind} needs an integer-valued input, and `{name}` is continuous; bucketize it first \
                     (a named `bucketized` column) or use `tile_coding`"
                ),
            ));
        }
        Ok(c)
    }

    /// Finite bounds with high > low.
    fn bounds(&self, i: usize, key: &str, c: usize, why: &str) -> Result<(f64, f64), ColumnError> {
        let (lo, hi) = (self.spec.low[c], self.spec.high[c]);
        if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
            return Err(err(
                i,
                Some(key),
                format!("`{}` has bounds [{lo}, {hi}]; {why} needs finite bounds with high > low", self.spec.names[c]),
            ));
        }
        Ok((lo, hi))
    }

    /// Resolve a list of inputs (non-empty, at most `max`, no repeats).
    fn inputs(&self, i: usize, key: &str, names: &[String], max: usize) -> Result<Vec<usize>, ColumnError> {
        if names.is_empty() {
            return Err(err(i, Some(key), format!("give at least one input; this world has {}", self.spec.describe())));
        }
        if names.len() > max {
            return Err(err(i, Some(key), format!("{} inputs given; at most {max} are supported", names.len())));
        }
        let mut out = Vec::with_capacity(names.len());
        for (k, n) in names.iter().enumerate() {
            if names[..k].contains(n) {
                return Err(err(i, Some(key), format!("`{n}` is listed twice; list each input once")));
            }
            out.push(self.input(i, key, n)?);
        }
        Ok(out)
    }

    /// The categorical column named `target`, referred to by column `i`: its slot and column index.
    fn reference(&self, i: usize, key: &str, target: &str, kind: &str) -> Result<(usize, usize), ColumnError> {
        let cats = || {
            let v: Vec<&str> = self
                .columns
                .iter()
                .filter(|c| c.is_categorical())
                .filter_map(|c| c.name())
                .filter(|&n| n != target)
                .collect();
            if v.is_empty() {
                "no categorical column has a name yet: give a bucketized, categorical_identity, hashed or crossed \
                 column `name = \"...\"`"
                    .to_string()
            } else {
                format!("the named categorical columns are {}", tick_list(v))
            }
        };
        let Some(&j) = self.names.get(target) else {
            return Err(err(i, Some(key), format!("no column is named `{target}`; {}", cats())));
        };
        if j == i {
            return Err(err(i, Some(key), format!("a {kind} column cannot refer to itself; {}", cats())));
        }
        match self.slot[j] {
            Some(s) => Ok((s, j)),
            None => Err(err(
                i,
                Some(key),
                format!(
                    "`{target}` (column {j}) is a {} column; {kind} needs a categorical one \
                     (bucketized, categorical_identity, hashed or crossed): {}",
                    self.columns[j].kind(),
                    cats()
                ),
            )),
        }
    }
}

/// Checks `1 ≤ v ≤ MAX_FEATURE_ENTRIES`.
fn size_in_range(i: usize, key: &str, v: u64, what: &str) -> Result<usize, ColumnError> {
    if v == 0 {
        return Err(err(i, Some(key), format!("{key} = 0: {what} must be at least 1")));
    }
    if v > MAX_FEATURE_ENTRIES as u64 {
        return Err(err(
            i,
            Some(key),
            format!("{key} = {v} is more than the limit of {MAX_FEATURE_ENTRIES} (2^26) entries per feature set"),
        ));
    }
    Ok(v as usize)
}

impl FeatureSet {
    /// Build `columns` against the world's raw observation.
    ///
    /// Every column is checked; the first problem (categorical columns first,
    /// then the rest, each in list order) is returned as a [`ColumnError`].
    pub fn build(columns: &[ColumnSpec], spec: &ObsSpec) -> Result<FeatureSet, ColumnError> {
        let n = columns.len();
        // Names: unique, not an observation component.
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, c) in columns.iter().enumerate() {
            let Some(name) = c.name() else { continue };
            if name.is_empty() {
                return Err(err(i, Some("name"), "the name is empty; give a non-empty name or none"));
            }
            if spec.index_of(name).is_some() {
                return Err(err(
                    i,
                    Some("name"),
                    format!(
                        "`{name}` is already an observation component ({}); column names must differ from them",
                        spec.describe()
                    ),
                ));
            }
            if let Some(&j) = names.get(name) {
                return Err(err(
                    i,
                    Some("name"),
                    format!("`{name}` is already the name of column {j}; names must be unique"),
                ));
            }
            names.insert(name, i);
        }
        let mut slot = vec![None; n];
        let mut n_cats = 0;
        for (i, c) in columns.iter().enumerate() {
            if c.is_categorical() {
                slot[i] = Some(n_cats);
                n_cats += 1;
            }
        }
        let mut b = Builder { columns, spec, names, slot, consumed: vec![Vec::new(); n] };

        // 1. Categorical columns.
        let mut cats: Vec<Cat> = Vec::with_capacity(n_cats);
        let mut cat_width: Vec<usize> = Vec::with_capacity(n_cats);
        let mut cat_column: Vec<usize> = Vec::with_capacity(n_cats);
        let mut cat_detail: Vec<String> = Vec::with_capacity(n_cats);
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n_cats);
        for (i, c) in columns.iter().enumerate() {
            let (cat, width, detail, dep) = match c {
                ColumnSpec::Bucketized { input, boundaries, .. } => {
                    let x = b.input(i, "input", input)?;
                    if boundaries.is_empty() {
                        return Err(err(
                            i,
                            Some("boundaries"),
                            "give at least one boundary, e.g. boundaries = [0.0] (two buckets)",
                        ));
                    }
                    if let Some(k) = boundaries.iter().position(|v| !v.is_finite()) {
                        return Err(err(
                            i,
                            Some("boundaries"),
                            format!(
                                "boundaries[{k}] = {} is not finite; boundaries must be finite numbers",
                                boundaries[k]
                            ),
                        ));
                    }
                    if let Some(k) = boundaries.windows(2).position(|w| w[1] <= w[0]) {
                        return Err(err(
                            i,
                            Some("boundaries"),
                            format!(
                                "boundaries[{}] = {} is not greater than boundaries[{k}] = {}; boundaries must be strictly increasing",
                                k + 1,
                                boundaries[k + 1],
                                boundaries[k]
                            ),
                        ));
                    }
                    let width = size_in_range(i, "boundaries", boundaries.len() as u64 + 1, "the bucket count")?;
                    let d = format!("{width} buckets of `{input}`");
                    (Cat::Bucketized { input: x, boundaries: boundaries.clone() }, width, d, vec![])
                }
                ColumnSpec::CategoricalIdentity { input, num_buckets, default_value, .. } => {
                    let x = b.integer_input(i, "input", input, "categorical_identity")?;
                    let nb = size_in_range(i, "num_buckets", *num_buckets, "the bucket count")?;
                    let default = match *default_value {
                        Some(d) if d < 0 || d >= nb as i64 => {
                            return Err(err(
                                i,
                                Some("default_value"),
                                format!("default_value = {d} is not a bucket; it must be in [0, {}]", nb - 1),
                            ))
                        }
                        Some(d) => Some(d as u32),
                        None => {
                            let (lo, hi) = (spec.low[x], spec.high[x]);
                            if !(lo >= 0.0 && hi <= (nb - 1) as f64) {
                                return Err(err(
                                    i,
                                    Some("num_buckets"),
                                    format!(
                                        "`{input}` takes values in [{lo}, {hi}], which do not all fit buckets [0, {}]; {}",
                                        nb - 1,
                                        if lo >= 0.0 && hi.is_finite() {
                                            format!("use num_buckets >= {} or give a default_value", hi.floor() + 1.0)
                                        } else {
                                            "give a default_value for the values outside".to_string()
                                        }
                                    ),
                                ));
                            }
                            None
                        }
                    };
                    let d = format!("{nb} buckets of `{input}`");
                    (Cat::Identity { input: x, n: nb as u64, default }, nb, d, vec![])
                }
                ColumnSpec::Hashed { input, hash_bucket_size, .. } => {
                    let x = b.integer_input(i, "input", input, "hashed")?;
                    let size = size_in_range(i, "hash_bucket_size", *hash_bucket_size, "the bucket count")?;
                    let d = format!("{size} hash buckets of `{input}`");
                    (Cat::Hashed { input: x, size: size as u64 }, size, d, vec![])
                }
                ColumnSpec::Crossed { keys, hash_bucket_size, .. } => {
                    if keys.len() < 2 {
                        return Err(err(
                            i,
                            Some("keys"),
                            format!(
                                "a cross needs at least two keys, {} given; for one key use `hashed` or `indicator`",
                                keys.len()
                            ),
                        ));
                    }
                    let mut ks = Vec::with_capacity(keys.len());
                    let mut dep = Vec::new();
                    for (k, key) in keys.iter().enumerate() {
                        if keys[..k].contains(key) {
                            return Err(err(i, Some("keys"), format!("`{key}` is listed twice; list each key once")));
                        }
                        if b.names.contains_key(key.as_str()) {
                            let (s, j) = b.reference(i, "keys", key, "crossed")?;
                            b.consumed[j].push(i);
                            dep.push(s);
                            ks.push(CrossKey::Cat(s));
                        } else if spec.index_of(key).is_some() {
                            ks.push(CrossKey::Obs(b.integer_input(i, "keys", key, "crossed")?));
                        } else {
                            let named: Vec<&str> =
                                columns.iter().filter(|c| c.is_categorical()).filter_map(|c| c.name()).collect();
                            return Err(err(
                                i,
                                Some("keys"),
                                format!(
                                    "`{key}` is neither an observation of this world ({}) nor a named categorical column{}",
                                    spec.describe(),
                                    if named.is_empty() { String::new() } else { format!(" ({})", tick_list(named)) }
                                ),
                            ));
                        }
                    }
                    let size = size_in_range(i, "hash_bucket_size", *hash_bucket_size, "the bucket count")?;
                    let d = format!(
                        "{size} hash buckets of {}",
                        tick_list(keys.iter().map(String::as_str)).replace(", ", " × ")
                    );
                    (Cat::Crossed { keys: ks, size: size as u64 }, size, d, dep)
                }
                _ => continue,
            };
            cats.push(cat);
            cat_width.push(width);
            cat_column.push(i);
            cat_detail.push(detail);
            deps.push(dep);
        }
        // Evaluation order: every crossed column after the columns it crosses.
        let cat_order = topo_order(&deps).map_err(|cycle| {
            let label = |s: usize| {
                let j = cat_column[s];
                columns[j].name().map(|n| format!("`{n}`")).unwrap_or_else(|| format!("[{j}]"))
            };
            let mut path: Vec<String> = cycle.iter().map(|&s| label(s)).collect();
            path.push(label(cycle[0]));
            err(
                cat_column[cycle[0]],
                Some("keys"),
                format!(
                    "the crossed columns {} name each other in a cycle; a cross may only name columns that do not (indirectly) name it",
                    path.join(" → ")
                ),
            )
        })?;

        // 2. The other columns; consumers.
        let mut consumers: Vec<(usize, usize)> = Vec::new(); // (column, consumed column)
        for (i, c) in columns.iter().enumerate() {
            if let ColumnSpec::Indicator { column, .. } | ColumnSpec::Embedding { column, .. } = c {
                let (_, j) = b.reference(i, "column", column, c.kind())?;
                consumers.push((i, j));
            }
        }
        for (i, j) in consumers {
            b.consumed[j].push(i);
        }

        let mut fs = FeatureSet {
            cat_vals: vec![None; cats.len()],
            cats,
            cat_order,
            dense: Vec::new(),
            sparse: Vec::new(),
            tables: Vec::new(),
            dense_dim: 0,
            sparse_dim: 0,
            max_active: 0,
            info: Vec::with_capacity(n),
        };
        let default_inputs = || vec!["col".to_string(), "row".to_string()];
        for (i, c) in columns.iter().enumerate() {
            let label = c.name().map(|n| format!(" `{n}`")).unwrap_or_default();
            b.consumed[i].sort_unstable();
            b.consumed[i].dedup();
            let (detail, role) = match c {
                ColumnSpec::Bucketized { .. }
                | ColumnSpec::CategoricalIdentity { .. }
                | ColumnSpec::Hashed { .. }
                | ColumnSpec::Crossed { .. } => {
                    let s = b.slot[i].unwrap_or(0);
                    let detail = cat_detail[s].clone();
                    if b.consumed[i].is_empty() {
                        let role = fs.add_sparse(i, cat_width[s], 1, SparseKind::Categorical { cat: s })?;
                        (detail, role)
                    } else {
                        (detail, Role::Consumed(b.consumed[i].clone()))
                    }
                }
                ColumnSpec::Numeric { input, normalize, .. } => {
                    let x = b.input(i, "input", input)?;
                    let (low, width) = match normalize {
                        Normalize::None => (0.0, 1.0),
                        _ => {
                            let (lo, hi) = b
                                .bounds(i, "normalize", x, &format!("normalize = \"{}\"", norm_name(*normalize)))
                                .map_err(|mut e| {
                                    e.message.push_str("; use normalize = \"none\"");
                                    e
                                })?;
                            (lo, hi - lo)
                        }
                    };
                    let kind = DenseKind::Numeric(Scaled { input: x, low, width, mode: *normalize });
                    let role = fs.add_dense(i, 1, kind)?;
                    (format!("`{input}`, normalize {}", norm_name(*normalize)), role)
                }
                ColumnSpec::Indicator { column, .. } => {
                    let (s, _) = b.reference(i, "column", column, "indicator")?;
                    let role = fs.add_sparse(i, cat_width[s], 1, SparseKind::Categorical { cat: s })?;
                    (format!("one-hot of `{column}`"), role)
                }
                ColumnSpec::Embedding { column, dimension, init_std, .. } => {
                    let (s, _) = b.reference(i, "column", column, "embedding")?;
                    let k = size_in_range(i, "dimension", *dimension, "the embedding width")?;
                    let rows = cat_width[s];
                    if rows.saturating_mul(k) > MAX_FEATURE_ENTRIES {
                        return Err(err(
                            i,
                            Some("dimension"),
                            format!(
                                "the table would have {rows} rows × {k} = {} entries, more than the limit of \
                                 {MAX_FEATURE_ENTRIES} (2^26); use a smaller dimension or fewer buckets",
                                rows as u128 * k as u128
                            ),
                        ));
                    }
                    let std = init_std.unwrap_or(DEFAULT_EMBEDDING_STD);
                    if !(std.is_finite() && std >= 0.0) {
                        return Err(err(
                            i,
                            Some("init_std"),
                            format!("init_std = {std}; it must be a finite number >= 0 (0 gives a zero table)"),
                        ));
                    }
                    let e = fs.tables.len();
                    let data = init_table(e, rows * k, std);
                    let name = c.name().map(str::to_string).unwrap_or_else(|| format!("embedding{i}"));
                    fs.tables.push(Table { name, rows, dim: k, data });
                    let role = fs.add_dense(i, k, DenseKind::Embedding { cat: s, table: e })?;
                    (format!("{rows} rows × {k} of `{column}`, init N(0, {std}²)"), role)
                }
                ColumnSpec::TileCoding { inputs, tilings, tiles, size, ranges, .. } => {
                    let xs = b.inputs(i, "inputs", inputs, MAX_TILE_INPUTS)?;
                    let t = size_in_range(i, "tilings", *tilings, "the number of tilings")?;
                    let counts: Vec<u64> = match tiles {
                        TileCounts::All(k) => vec![*k; xs.len()],
                        TileCounts::PerInput(v) => {
                            if v.len() != xs.len() {
                                return Err(err(
                                    i,
                                    Some("tiles"),
                                    format!(
                                        "{} tile counts for {} inputs; give one per input or one integer for all",
                                        v.len(),
                                        xs.len()
                                    ),
                                ));
                            }
                            v.clone()
                        }
                    };
                    let mut tf = Vec::with_capacity(xs.len());
                    for k in counts {
                        tf.push(size_in_range(i, "tiles", k, "the number of tiles")? as f64);
                    }
                    let size = size_in_range(i, "size", *size, "the index table size")?;
                    let mut width = Vec::with_capacity(xs.len());
                    match ranges {
                        Some(r) => {
                            if r.len() != xs.len() {
                                return Err(err(
                                    i,
                                    Some("ranges"),
                                    format!(
                                        "{} ranges for {} inputs; give one [low, high] per input",
                                        r.len(),
                                        xs.len()
                                    ),
                                ));
                            }
                            for (k, &[lo, hi]) in r.iter().enumerate() {
                                if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
                                    return Err(err(
                                        i,
                                        Some("ranges"),
                                        format!(
                                            "ranges[{k}] = [{lo}, {hi}] for `{}`: a range must be finite with high > low",
                                            inputs[k]
                                        ),
                                    ));
                                }
                                width.push(hi - lo);
                            }
                        }
                        None => {
                            for &x in &xs {
                                let (lo, hi) =
                                    b.bounds(i, "ranges", x, "tile_coding without `ranges`").map_err(|mut e| {
                                        e.message.push_str("; give ranges = [[low, high], ...]");
                                        e
                                    })?;
                                width.push(hi - lo);
                            }
                        }
                    }
                    let detail = format!(
                        "{t} tilings of {} over {}, table {size}",
                        tf.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("×"),
                        tick_list(inputs.iter().map(String::as_str))
                    );
                    let coder = TileCoder::new(xs, tf, width, t as u32, size as u32);
                    let role = fs.add_sparse(i, size, t, SparseKind::Tiles(coder))?;
                    (detail, role)
                }
                ColumnSpec::Polynomial { inputs, order, dimension, .. } => {
                    let names = inputs.clone().unwrap_or_else(default_inputs);
                    let xs = b.inputs(i, "inputs", &names, MAX_BASIS_INPUTS)?;
                    let nx = xs.len();
                    let order = match (*order, *dimension) {
                        (None, None) => {
                            return Err(err(
                                i,
                                Some("order"),
                                format!("give `order` (0, 1, 2, 3, ...) or `dimension` ({})", poly_dims(nx)),
                            ))
                        }
                        (Some(o), d) => {
                            let Some(dim) = basis::poly_dim(nx, o, MAX_FEATURE_ENTRIES / nx) else {
                                return Err(err(
                                    i,
                                    Some("order"),
                                    format!(
                                        "order = {o} over {nx} inputs gives more than the limit of {MAX_FEATURE_ENTRIES} \
                                         (2^26) entries; use a smaller order"
                                    ),
                                ));
                            };
                            if let Some(d) = d {
                                if d != dim as u64 {
                                    return Err(err(
                                        i,
                                        Some("dimension"),
                                        format!("dimension = {d} but order = {o} over {nx} inputs gives {dim}; give only one of them"),
                                    ));
                                }
                            }
                            o
                        }
                        (None, Some(d)) => match (0..)
                            .map_while(|o| basis::poly_dim(nx, o, MAX_FEATURE_ENTRIES / nx).map(|v| (o, v)))
                            .find(|&(_, v)| v as u64 >= d)
                        {
                            Some((o, v)) if v as u64 == d => o,
                            _ => {
                                return Err(err(
                                    i,
                                    Some("dimension"),
                                    format!(
                                        "dimension = {d} is not a polynomial dimension for {nx} inputs; valid: {}",
                                        poly_dims(nx)
                                    ),
                                ))
                            }
                        },
                    };
                    let order = order as u32; // bounded by the limit above
                    let mut sc = Vec::with_capacity(nx);
                    for &x in &xs {
                        let (lo, hi) = b.bounds(i, "inputs", x, "polynomial (inputs scaled to [-1, 1])")?;
                        sc.push(Scaled { input: x, low: lo, width: hi - lo, mode: Normalize::Symmetric });
                    }
                    let exps = basis::poly_exponents(nx, order);
                    let dim = exps.len() / nx;
                    let role = fs.add_dense(i, dim, DenseKind::Polynomial { inputs: sc, exps })?;
                    (format!("order {order} over {}", tick_list(names.iter().map(String::as_str))), role)
                }
                ColumnSpec::Fourier { inputs, order, .. } => {
                    let names = inputs.clone().unwrap_or_else(default_inputs);
                    let xs = b.inputs(i, "inputs", &names, MAX_BASIS_INPUTS)?;
                    let nx = xs.len();
                    let dim = order
                        .checked_add(1)
                        .and_then(|q| q.checked_pow(nx as u32))
                        .filter(|&d| d <= MAX_FEATURE_ENTRIES as u64)
                        .ok_or_else(|| {
                            err(
                                i,
                                Some("order"),
                                format!(
                                    "order = {order} over {nx} inputs gives (order+1)^{nx} features, more than the \
                                     limit of {MAX_FEATURE_ENTRIES} (2^26); use a smaller order"
                                ),
                            )
                        })? as usize;
                    let mut sc = Vec::with_capacity(nx);
                    for &x in &xs {
                        let (lo, hi) = b.bounds(i, "inputs", x, "fourier (inputs scaled to [0, 1])")?;
                        sc.push(Scaled { input: x, low: lo, width: hi - lo, mode: Normalize::Unit });
                    }
                    let role = fs.add_dense(i, dim, DenseKind::Fourier { inputs: sc, order: *order as u32 })?;
                    (format!("order {order} over {}", tick_list(names.iter().map(String::as_str))), role)
                }
                ColumnSpec::OneHotState {} => {
                    let Some(ns) = spec.n_states else {
                        return Err(err(
                            i,
                            None,
                            format!(
                                "one_hot_state needs a finite world, and this one is continuous ({}); \
                                 use tile_coding, bucketized or numeric columns",
                                spec.describe()
                            ),
                        ));
                    };
                    let Some(x) = spec.index_of("state") else {
                        return Err(err(
                            i,
                            None,
                            format!("one_hot_state needs a `state` observation; this world has {}", spec.describe()),
                        ));
                    };
                    if ns == 0 || ns > MAX_FEATURE_ENTRIES {
                        return Err(err(
                            i,
                            None,
                            format!(
                                "one_hot_state over {ns} states: it needs between 1 and {MAX_FEATURE_ENTRIES} (2^26) states"
                            ),
                        ));
                    }
                    let role = fs.add_sparse(i, ns, 1, SparseKind::OneHotState { input: x, n: ns })?;
                    (format!("{ns} states"), role)
                }
            };
            fs.info.push(Info { kind: c.kind(), detail: format!("{label} ({detail})"), role });
        }
        Ok(fs)
    }

    fn add_dense(&mut self, i: usize, width: usize, kind: DenseKind) -> Result<Role, ColumnError> {
        let offset = self.dense_dim;
        let end = offset + width;
        if end > MAX_FEATURE_ENTRIES {
            return Err(err(
                i,
                None,
                format!("this column brings the dense block to {end} values, more than the limit of {MAX_FEATURE_ENTRIES} (2^26)"),
            ));
        }
        self.dense_dim = end;
        self.dense.push(DenseCol { offset, width, kind });
        Ok(Role::Dense { offset, width })
    }

    fn add_sparse(&mut self, i: usize, width: usize, active: usize, kind: SparseKind) -> Result<Role, ColumnError> {
        let offset = self.sparse_dim;
        let end = offset + width;
        if end > MAX_FEATURE_ENTRIES {
            return Err(err(
                i,
                None,
                format!("this column brings the sparse block to {end} features, more than the limit of {MAX_FEATURE_ENTRIES} (2^26)"),
            ));
        }
        self.sparse_dim = end;
        self.max_active += active;
        self.sparse.push(SparseCol { column: i, offset: offset as u32, kind });
        Ok(Role::Sparse { offset, width })
    }

    /// Size of the dense block.
    pub fn dense_dim(&self) -> usize {
        self.dense_dim
    }

    /// Size of the sparse block.
    pub fn sparse_dim(&self) -> usize {
        self.sparse_dim
    }

    /// dense + sparse.
    pub fn dim(&self) -> usize {
        self.dense_dim + self.sparse_dim
    }

    /// The most active sparse indices one observation can have (a tile coding
    /// counts its tilings, any other sparse column 1).
    pub fn max_active(&self) -> usize {
        self.max_active
    }

    /// Encode `obs` (the raw observation, `ObsSpec::dim()` values) into `out`.
    ///
    /// `out` is cleared and refilled; once its vectors have grown to
    /// `dense_dim()`, `max_active()` and the number of embeddings, encoding
    /// allocates nothing (a tile coding's index table still grows as it meets
    /// new tiles). Never panics: a missing component reads as NaN.
    pub fn encode(&mut self, obs: &[f64], out: &mut Features) {
        out.dense.clear();
        out.active.clear();
        out.embed.clear();
        for &c in &self.cat_order {
            let v = self.cats[c].eval(obs, &self.cat_vals);
            self.cat_vals[c] = v;
        }
        for col in &self.dense {
            match &col.kind {
                DenseKind::Numeric(s) => out.dense.push(s.apply(obs)),
                DenseKind::Polynomial { inputs, exps } => {
                    let n = inputs.len();
                    let mut x = [0.0; MAX_BASIS_INPUTS];
                    for (xi, s) in x.iter_mut().zip(inputs) {
                        *xi = s.apply(obs);
                    }
                    for e in exps.chunks_exact(n) {
                        let mut p = 1.0;
                        for (&xi, &ei) in x.iter().zip(e) {
                            if ei > 0 {
                                p *= xi.powi(ei as i32);
                            }
                        }
                        out.dense.push(p);
                    }
                }
                DenseKind::Fourier { inputs, order } => {
                    let n = inputs.len();
                    let mut x = [0.0; MAX_BASIS_INPUTS];
                    for (xi, s) in x.iter_mut().zip(inputs) {
                        *xi = s.apply(obs);
                    }
                    let mut c = [0u32; MAX_BASIS_INPUTS];
                    for _ in 0..col.width {
                        let mut dot = 0.0;
                        for k in 0..n {
                            dot += f64::from(c[k]) * x[k];
                        }
                        out.dense.push((PI * dot).cos());
                        // Odometer: the last input's coefficient varies fastest.
                        for k in (0..n).rev() {
                            if c[k] < *order {
                                c[k] += 1;
                                break;
                            }
                            c[k] = 0;
                        }
                    }
                }
                DenseKind::Embedding { cat, table } => {
                    let t = &self.tables[*table];
                    match self.cat_vals[*cat] {
                        Some(r) if (r as usize) < t.rows => {
                            let r = r as usize;
                            out.dense.extend_from_slice(&t.data[r * t.dim..(r + 1) * t.dim]);
                            out.embed.push((*table as u32, r as u32, col.offset as u32));
                        }
                        _ => out.dense.extend(std::iter::repeat_n(0.0, t.dim)),
                    }
                }
            }
        }
        let vals = &self.cat_vals;
        for col in &mut self.sparse {
            match &mut col.kind {
                SparseKind::Categorical { cat } => {
                    if let Some(v) = vals[*cat] {
                        out.active.push(col.offset + v);
                    }
                }
                SparseKind::Tiles(t) => t.encode(obs, col.offset, &mut out.active),
                SparseKind::OneHotState { input, n } => match int_of(get(obs, *input)) {
                    Some(s) if s >= 0 && (s as usize) < *n => out.active.push(col.offset + s as u32),
                    _ => {}
                },
            }
        }
    }

    /// The index tables of the `tile_coding` columns: (column, tiles stored,
    /// table size, lookups that found the table full). Once a table is full,
    /// new tiles share indices by hash (and differ from tiles3's collisions).
    pub fn tile_usage(&self) -> Vec<TileUsage> {
        self.sparse
            .iter()
            .filter_map(|c| match &c.kind {
                SparseKind::Tiles(t) => {
                    Some(TileUsage { column: c.column, stored: t.count(), size: t.size as usize, overfull: t.overfull })
                }
                _ => None,
            })
            .collect()
    }

    /// Whether some column is an embedding (trained by the agent).
    pub fn has_embeddings(&self) -> bool {
        !self.tables.is_empty()
    }

    /// Embedding gradient step: `E[row][j] += coef * grad_dense[offset + j]` for
    /// every (embedding, row, offset) in `f.embed`. Entries that do not fit
    /// (another feature set's, a short gradient) are skipped.
    pub fn train_embeddings(&mut self, f: &Features, coef: f64, grad_dense: &[f64]) {
        for &(e, row, off) in &f.embed {
            let Some(t) = self.tables.get_mut(e as usize) else { continue };
            let (row, off) = (row as usize, off as usize);
            if row >= t.rows {
                continue;
            }
            let Some(g) = grad_dense.get(off..off + t.dim) else { continue };
            for (w, g) in t.data[row * t.dim..(row + 1) * t.dim].iter_mut().zip(g) {
                *w += coef * g;
            }
        }
    }

    /// Learned tables, for saving: (name, shape, row-major values). An embedding
    /// table is named after its column's `name`, or `embedding<i>` for column `i`;
    /// its shape is `[buckets, dimension]`.
    pub fn tensors(&self) -> Vec<(String, Vec<usize>, Vec<f64>)> {
        self.tables.iter().map(|t| (t.name.clone(), vec![t.rows, t.dim], t.data.clone())).collect()
    }

    /// The layout, one line per column: its kind, whether it is dense, sparse or
    /// consumed, its offset and width (for sparse columns also the position in
    /// `x = [dense, sparse]`).
    ///
    /// ```text
    /// features: dim 13 = 3 dense + 10 sparse, at most 2 active
    ///   [0] polynomial (order 1 over `col`, `row`): dense 0..3, width 3
    ///   [1] bucketized `b` (5 buckets of `col`): consumed by [2]
    ///   [2] indicator (one-hot of `b`): sparse 0..5 = x[3..8], width 5
    ///   [3] categorical_identity (5 buckets of `row`): sparse 5..10 = x[8..13], width 5
    /// ```
    pub fn describe(&self) -> String {
        let mut s = format!(
            "features: dim {} = {} dense + {} sparse, at most {} active",
            self.dim(),
            self.dense_dim,
            self.sparse_dim,
            self.max_active
        );
        for (i, c) in self.info.iter().enumerate() {
            let role = match &c.role {
                Role::Dense { offset, width } => format!("dense {offset}..{}, width {width}", offset + width),
                Role::Sparse { offset, width } => format!(
                    "sparse {offset}..{} = x[{}..{}], width {width}",
                    offset + width,
                    self.dense_dim + offset,
                    self.dense_dim + offset + width
                ),
                Role::Consumed(by) => {
                    format!("consumed by {}", by.iter().map(|j| format!("[{j}]")).collect::<Vec<_>>().join(", "))
                }
            };
            s.push_str(&format!("\n  [{i}] {}{}: {role}", c.kind, c.detail));
        }
        s
    }
}

fn norm_name(n: Normalize) -> &'static str {
    match n {
        Normalize::None => "none",
        Normalize::Unit => "unit",
        Normalize::Symmetric => "symmetric",
    }
}

/// The first few polynomial dimensions for `n` inputs, for messages.
fn poly_dims(n: usize) -> String {
    let v: Vec<String> = (0..5u64)
        .filter_map(|o| basis::poly_dim(n, o, MAX_FEATURE_ENTRIES).map(|d| format!("{d} (order {o})")))
        .collect();
    format!("{}, ...", v.join(", "))
}

/// The initial table of embedding `e`: `len` draws of N(0, std²) from
/// `ChaCha8Rng::seed_from_u64(EMBEDDING_SEED + e)`, or zeros if `std = 0`.
fn init_table(e: usize, len: usize, std: f64) -> Vec<f64> {
    if std == 0.0 {
        return vec![0.0; len];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(EMBEDDING_SEED.wrapping_add(e as u64));
    match Normal::new(0.0, std) {
        Ok(n) => (0..len).map(|_| n.sample(&mut rng)).collect(),
        Err(_) => vec![0.0; len],
    }
}

/// A topological order of the categorical columns (dependencies first), or the
/// slots of a cycle (`a` names `b` names ... names `a`), starting at its first-visited slot.
fn topo_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    for root in 0..deps.len() {
        if state[root] != 0 {
            continue;
        }
        // Iterative DFS: (node, next dependency to visit).
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if let Some(&d) = deps[v].get(*k) {
                *k += 1;
                match state.get(d) {
                    Some(0) => {
                        state[d] = 1;
                        stack.push((d, 0));
                    }
                    Some(1) => {
                        let from = stack.iter().position(|&(u, _)| u == d).unwrap_or(0);
                        return Err(stack[from..].iter().map(|&(u, _)| u).collect());
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                order.push(v);
                stack.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topo_order_puts_dependencies_first_and_finds_cycles() {
        let o = topo_order(&[vec![2], vec![], vec![1]]).unwrap();
        let pos = |s: usize| o.iter().position(|&v| v == s).unwrap();
        assert!(pos(1) < pos(2) && pos(2) < pos(0));
        assert!(topo_order(&[vec![1], vec![0]]).is_err());
    }

    #[test]
    fn serde_rejects_unknown_keys_and_kinds() {
        let ok: ColumnSpec = toml::from_str("kind = \"numeric\"\ninput = \"row\"").unwrap();
        assert_eq!(ok, ColumnSpec::Numeric { name: None, input: "row".into(), normalize: Normalize::None });
        let e = toml::from_str::<ColumnSpec>("kind = \"numeric\"\ninput = \"row\"\nscale = 2").unwrap_err();
        assert!(e.to_string().contains("scale"), "{e}");
        let e = toml::from_str::<ColumnSpec>("kind = \"one_hot_state\"\nsize = 2").unwrap_err();
        assert!(e.to_string().contains("size"), "{e}");
        let e = toml::from_str::<ColumnSpec>("kind = \"wavelet\"").unwrap_err();
        assert!(e.to_string().contains("wavelet"), "{e}");
        let t: ColumnSpec = toml::from_str("kind = \"one_hot_state\"").unwrap();
        assert_eq!(t, ColumnSpec::OneHotState {});
        let tc: ColumnSpec =
            toml::from_str("kind = \"tile_coding\"\ninputs = [\"a\"]\ntilings = 8\ntiles = 4\nsize = 64").unwrap();
        assert!(matches!(tc, ColumnSpec::TileCoding { tiles: TileCounts::All(4), .. }));
        // Round trip through TOML.
        let text = toml::to_string(&tc).unwrap();
        assert_eq!(toml::from_str::<ColumnSpec>(&text).unwrap(), tc);
    }
}
