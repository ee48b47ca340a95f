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
    crate::agents::sa::KINDS.iter().map(|k| k.to_string()).collect()
}

/// Validate an agent of another family; `Ok(None)` if no family knows `kind`.
/// Returns its hyperparameters as resolved (for `config.resolved.toml`).
pub fn resolve_extra(
    doc: &Doc,
    prefix: &[Seg],
    kind: &str,
    params: &toml::Table,
    _world: Option<&World>,
) -> Result<Option<toml::Table>> {
    if crate::agents::sa::KINDS.contains(&kind) {
        crate::agents::sa::validate(kind, params).map_err(|e| doc.error_at(prefix, &e.to_string()))?;
        return Ok(Some(params.clone()));
    }
    Ok(None)
}

/// Run an agent of another family over the experiment's seeds.
pub fn run_extra(
    exp: &Experiment,
    _v: &Variant,
    agent: &agents::ResolvedAgent,
    params: &toml::Table,
    _dir: &Path,
    out: &mut Outputs,
    progress: &Progress,
) -> Result<()> {
    use crate::data::table::Cell;
    if crate::agents::sa::KINDS.contains(&agent.kind.as_str()) {
        for &id in &exp.seeds {
            let run = crate::agents::sa::run(&agent.kind, params, crate::util::derive_seed(exp.spec.seed, &[id]))?;
            out.iterations.extend_union(
                run.iterations.with_prefix(&[("agent", agent.name.as_str().into()), ("seed", Cell::from(id))]),
            );
            let mut s = run.summary.clone();
            if let Some(o) = s.as_object_mut() {
                o.insert("agent".into(), agent.name.clone().into());
                o.insert("kind".into(), agent.kind.clone().into());
                o.insert("seed".into(), id.into());
            }
            out.summaries.push(s);
            out.sa_runs.push((agent.name.clone(), id, run));
            progress.inc(1);
        }
        return Ok(());
    }
    Err(crate::Error::internal(format!("no runner for agent kind `{}`", agent.kind)))
}
