//! Experiments: the TOML schema, loading with presets and overrides, the
//! runner and its outputs.
//!
//! ```no_run
//! use rlkit::experiment::{load, run, LoadOptions, RunOptions};
//! let exp = load("experiments/quickstart.toml".as_ref(), &LoadOptions::default()).unwrap();
//! let report = run(&exp, &RunOptions::default()).unwrap();
//! println!("wrote {} files to {}", report.files.len(), report.out_dir.display());
//! ```

pub mod agents;
pub mod load;
pub mod progress;
pub mod runner;
pub mod schema;

use std::path::Path;

pub use load::{load, Experiment, LoadOptions, Variant};
pub use progress::{Progress, ProgressMode};
pub use runner::{run, Outputs, RunOptions, RunReport};

use crate::config::{Doc, Seg};
use crate::env::World;
use crate::Result;

/// Agent kinds handled by families other than dynamic programming.
pub fn extra_kinds() -> Vec<String> {
    Vec::new()
}

/// Validate an agent of another family; `Ok(None)` if no family knows `kind`.
/// Returns its hyperparameters with defaults filled in.
pub fn resolve_extra(
    _doc: &Doc,
    _prefix: &[Seg],
    _kind: &str,
    _params: &toml::Table,
    _world: Option<&World>,
) -> Result<Option<toml::Table>> {
    Ok(None)
}

/// Run an agent of another family over the experiment's seeds.
pub fn run_extra(
    _exp: &Experiment,
    _v: &Variant,
    agent: &agents::ResolvedAgent,
    _params: &toml::Table,
    _dir: &Path,
    _out: &mut Outputs,
    _progress: &Progress,
) -> Result<()> {
    Err(crate::Error::internal(format!("no runner for agent kind `{}`", agent.kind)))
}
