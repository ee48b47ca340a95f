//! The experiment file schema.
//!
//! ```toml
//! name = "quickstart"                 # required; also the default output directory runs/<name>
//! description = "..."
//! extends = "configs/zhao_dp.toml"    # optional preset: merged underneath this file
//! seed = 0                            # the experiment seed every random stream derives from
//! seeds = 1                           # number of runs (ids 0..N-1), or a list of ids [0, 4, 7]
//! out_dir = "runs/quickstart"         # optional
//! plots = ["convergence", "values"]   # which plots to draw
//!
//! [env]
//! path = "envs/zhao_5x5.toml"         # an env file, or write the env inline here
//! gamma = 0.9                         # any env key overrides the file's value
//!
//! [[agents]]
//! kind = "value-iteration"
//! name = "VI"                         # label in outputs and legends (default: kind)
//! preset = "configs/agents/precise.toml"   # optional: merged underneath this agent
//! tol = 1e-6                          # the agent's hyperparameters
//!
//! [[variants]]                        # optional: run everything once per variant,
//! name = "gamma=0.5"                  # each in its own subdirectory
//! set = { "env.gamma" = 0.5 }
//! ```

use serde::{Deserialize, Serialize};

/// Run ids: a count or an explicit list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SeedSpec {
    /// Run ids 0..N-1.
    Count(usize),
    /// Explicit run ids.
    List(Vec<u64>),
}

impl Default for SeedSpec {
    fn default() -> Self {
        SeedSpec::Count(1)
    }
}

impl SeedSpec {
    /// The run ids.
    pub fn ids(&self) -> Vec<u64> {
        match self {
            SeedSpec::Count(n) => (0..(*n).min(super::load::MAX_SEEDS) as u64).collect(),
            SeedSpec::List(l) => l.clone(),
        }
    }
}

/// One variant of an experiment: a name and overrides of experiment keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Name (also its subdirectory, made file-safe).
    pub name: String,
    /// Dotted experiment keys and their values, e.g. `{ "env.gamma" = 0.5 }`.
    #[serde(default)]
    pub set: toml::Table,
}

/// The plots an experiment can draw.
pub const PLOT_KINDS: &[&str] = &["convergence", "convergence_sweeps", "values", "learning", "sa"];

/// The top level of an experiment file (the `env` and `agents` tables are
/// checked by the environment and by each agent's own config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Name; the default output directory is `runs/<name>`.
    pub name: String,
    /// One line of description.
    #[serde(default)]
    pub description: String,
    /// A preset merged underneath this file (already applied when this is read).
    #[serde(default)]
    pub extends: Option<String>,
    /// The experiment seed.
    #[serde(default)]
    pub seed: u64,
    /// The runs.
    #[serde(default)]
    pub seeds: SeedSpec,
    /// Output directory.
    #[serde(default)]
    pub out_dir: Option<String>,
    /// Plots to draw (default: all that apply).
    #[serde(default)]
    pub plots: Option<Vec<String>>,
    /// The environment (a table; see [`crate::env`]).
    #[serde(default)]
    pub env: Option<toml::Table>,
    /// The agents (tables with `kind`, optional `name` and `preset`, and hyperparameters).
    #[serde(default)]
    pub agents: Vec<toml::Table>,
    /// Variants.
    #[serde(default)]
    pub variants: Vec<VariantSpec>,
    /// Episodes per run for learning agents (an agent may override it).
    #[serde(default)]
    pub episodes: Option<usize>,
    /// How learning curves are drawn.
    #[serde(default)]
    pub learning_curve: crate::plot::learning::CurveSpec,
    /// Extra outputs (`[output] trajectories = "tfrecord"`).
    #[serde(default)]
    pub output: OutputSpec,
    /// A grid of overrides, `"KEY" = [values]` (see [`super::sweep`]).
    #[serde(default)]
    pub sweep: Option<toml::Table>,
}

/// The `[output]` table: extra outputs of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// `"tfrecord"`: after the run, write every transition to
    /// `trajectories/<agent>_seed<k>.tfrecord` (see [`crate::experiment::export`]).
    #[serde(default)]
    pub trajectories: TrajectoryFormat,
}

/// Formats of `[output] trajectories`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrajectoryFormat {
    /// No trajectories (the default).
    #[default]
    None,
    /// TFRecord files of `tf.train.Example`s.
    Tfrecord,
}

/// Make a name safe for a file name: letters, digits, `-`, `_` and `.`; anything else becomes `_`.
pub fn slug(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    // Never a name that means "this directory" or "the parent" ("", ".", "..", ...).
    if s.chars().all(|c| c == '.') {
        s.replace('.', "_") + "_"
    } else {
        s
    }
}
