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
pub mod bc;
pub mod eval;
pub mod export;
pub mod load;
pub mod progress;
pub mod runner;
pub mod schema;
pub mod stats_cli;
pub mod sweep;

use std::path::Path;

pub use load::{load, Experiment, LoadOptions, Variant};
pub use progress::{Progress, ProgressMode};
pub use runner::{run, Outputs, RunOptions, RunReport};

use crate::config::{Doc, Seg};
use crate::env::LoadedEnv;
use crate::Result;

/// Keys of a learning agent's table that belong to the runner: `episodes`
/// (overrides the experiment's), `max_episode_steps` (truncation cap),
/// `eval_every` (record PA/MPA/MIoU and RMSE against v* every this many steps),
/// `eval_every_episodes` (the same before the first episode and after every this
/// many episodes) and `start` (`"env"`: the env's start states; `"uniform"`: every
/// episode starts in a uniformly drawn non-fixed state of a finite world).
pub const RUNNER_KEYS: &[&str] = &["episodes", "max_episode_steps", "eval_every", "eval_every_episodes", "start"];

/// Refuse a learning agent whose per-episode statistics would not fit the memory
/// budget: the runner keeps about [`crate::agents::train::BYTES_PER_EPISODE`] per
/// episode and seed (its `episodes.csv` rows and learning curves), so the bound is
/// `episodes × seeds × BYTES_PER_EPISODE ≤` the budget of [`crate::util::check_mem`]
/// (2 GiB by default: 1,000,000 episodes × 4 seeds). The error's message starts
/// with `episodes = N`.
pub fn check_episode_memory(episodes: u64, seeds: u64) -> Result<()> {
    let bytes = episodes.saturating_mul(seeds.max(1)).saturating_mul(crate::agents::train::BYTES_PER_EPISODE);
    crate::util::check_mem(
        bytes,
        &format!(
            "episodes = {episodes} × {} seed(s): the per-episode statistics (about {} bytes per episode and seed)",
            seeds.max(1),
            crate::agents::train::BYTES_PER_EPISODE
        ),
    )
}

/// Whether `kind` is an approximating agent (it sees observations).
pub fn is_approx_kind(kind: &str) -> bool {
    crate::agents::approx::is_registered(kind)
}

/// Whether `kind` predicts the values of a fixed policy (its errors are against v_π of the uniform policy).
pub fn is_prediction_kind(kind: &str) -> bool {
    matches!(kind, "td0" | "mc-prediction" | "td-linear" | "lstd")
}

/// Whether `kind` is a learning agent (registered in [`crate::agents::train`] or episodic MC).
pub fn is_learning_kind(kind: &str) -> bool {
    crate::agents::train::is_registered(kind) || crate::agents::train::EPISODIC_KINDS.iter().any(|k| k.0 == kind)
}

/// Agent kinds handled by families other than dynamic programming, with a description.
pub fn extra_kind_descriptions() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    for k in crate::agents::sa::KINDS {
        v.push((k.to_string(), "stochastic approximation (Zhao ch. 6)".into()));
    }
    for k in crate::agents::train::kinds() {
        let d = crate::agents::train::BUILTIN_KINDS
            .iter()
            .chain(crate::agents::train::EPISODIC_KINDS)
            .find(|b| b.0 == k)
            .map_or("custom (registered)", |b| b.1);
        v.push((k, d.to_string()));
    }
    v.push((bc::KIND.into(), "behaviour cloning of optimal policies on generated maps (docs/bc.md)".into()));
    v
}

/// Agent kinds handled by families other than dynamic programming.
pub fn extra_kinds() -> Vec<String> {
    extra_kind_descriptions().into_iter().map(|k| k.0).collect()
}

/// The learning-run settings of an agent: its params without the runner's keys, and a TrainConfig.
fn learning_config(
    doc: Option<&Doc>,
    prefix: &[Seg],
    params: &toml::Table,
    default_episodes: Option<usize>,
) -> Result<(toml::Table, crate::agents::train::TrainConfig)> {
    let err = |k: &str, m: &str| {
        let mut p = prefix.to_vec();
        p.push(Seg::Key(k.into()));
        match doc {
            Some(d) => d.error_at(&p, m),
            None => crate::Error::input(format!("{k}: {m}")),
        }
    };
    let int = |k: &str| -> Result<Option<u64>> {
        match params.get(k) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) if *i > 0 => Ok(Some(*i as u64)),
            Some(_) => Err(err(k, "must be a positive integer (write 100_000, not 1e5)")),
        }
    };
    let episodes = int("episodes")?.map(|e| e as usize).or(default_episodes).unwrap_or(500);
    if let Some(d) = doc {
        // The seeds of the file (`rlkit run --seeds N` is checked again by the runner).
        let seeds = match d.table.get("seeds") {
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            Some(toml::Value::Array(a)) => a.len() as u64,
            _ => 1,
        };
        if let Err(e) = check_episode_memory(episodes as u64, seeds) {
            let m = e.to_string();
            let m = m.strip_prefix("error: ").unwrap_or(&m);
            return Err(if params.contains_key("episodes") {
                err("episodes", m)
            } else {
                d.error_at(&[Seg::Key("episodes".into())], m)
            });
        }
    }
    let start = match params.get("start") {
        None => crate::agents::train::StartMode::Env,
        Some(toml::Value::String(s)) if s == "env" => crate::agents::train::StartMode::Env,
        Some(toml::Value::String(s)) if s == "uniform" => crate::agents::train::StartMode::Uniform,
        Some(_) => {
            return Err(err("start", "must be \"env\" (the env's start states) or \"uniform\" (every non-fixed state)"))
        }
    };
    let cfg = crate::agents::train::TrainConfig {
        episodes,
        max_episode_steps: int("max_episode_steps")?,
        eval_every: int("eval_every")?,
        start,
        eval_every_episodes: int("eval_every_episodes")?,
    };
    let mut p = params.clone();
    for k in RUNNER_KEYS {
        p.remove(*k);
    }
    Ok((p, cfg))
}

/// The file an agent's table came from (its preset, else the experiment), for relative paths.
pub fn agent_file(doc: &Doc, prefix: &[Seg]) -> Option<std::path::PathBuf> {
    doc.sources
        .iter()
        .rev()
        .find(|s| prefix.starts_with(&s.prefix) && !s.prefix.is_empty())
        .or(doc.sources.first())
        .map(|s| s.file.clone())
}

/// Locate an agent's error `e` whose message starts with one of its keys
/// (`n_samples: must be ...`, `high[0]: ...`) at that key; otherwise at the agent.
fn locate_param_error(doc: &Doc, prefix: &[Seg], params: &toml::Table, e: &crate::Error) -> crate::Error {
    let msg = e.to_string();
    let msg = msg.as_str();
    let head: String = msg.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if !head.is_empty() && params.contains_key(&head) && msg[head.len()..].starts_with([':', '[']) {
        let mut p = prefix.to_vec();
        p.push(Seg::Key(head.clone()));
        let mut rest = &msg[head.len()..];
        if let Some(r) = rest.strip_prefix('[') {
            let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
            if let (Ok(i), Some(after)) = (digits.parse::<usize>(), r[digits.len()..].strip_prefix(']')) {
                p.push(Seg::Index(i));
                rest = after;
            }
        }
        return doc.error_at(&p, rest.trim_start_matches(':').trim_start());
    }
    doc.error_at(prefix, msg)
}

/// Validate an agent of another family; `Ok(None)` if no family knows `kind`.
/// Returns its hyperparameters as resolved (for `config.resolved.toml`).
pub fn resolve_extra(
    doc: &Doc,
    prefix: &[Seg],
    kind: &str,
    params: &toml::Table,
    env: Option<&LoadedEnv>,
) -> Result<Option<toml::Table>> {
    let at = |k: &str| {
        let mut p = prefix.to_vec();
        p.push(Seg::Key(k.into()));
        p
    };
    if kind == bc::KIND {
        return bc::resolve(doc, prefix, params, env).map(Some);
    }
    if crate::agents::sa::KINDS.contains(&kind) {
        crate::agents::sa::validate(kind, params).map_err(|e| locate_param_error(doc, prefix, params, &e))?;
        return Ok(Some(params.clone()));
    }
    let episodes = match doc.table.get("episodes") {
        Some(toml::Value::Integer(i)) if *i > 0 => Some(*i as usize),
        _ => None,
    };
    if is_approx_kind(kind) {
        let Some(env) = env else {
            return Err(doc.error_at(prefix, &format!("`{kind}` needs an environment: add an [env] table")));
        };
        let mut params = params.clone();
        // A network file is resolved where the agent was written (the experiment or its preset).
        if let Some(toml::Value::String(n)) = params.get("network") {
            if let Some(f) = agent_file(doc, prefix) {
                let resolved = load::resolve_path(&f, n);
                if !std::path::Path::new(&resolved).is_file() {
                    return Err(doc.error_at(
                        &at("network"),
                        &format!(
                            "network file `{n}` not found (looked beside {}, then in the current directory); give a network TOML such as configs/networks/grid_backbone.toml",
                            f.display()
                        ),
                    ));
                }
                params.insert("network".into(), toml::Value::String(resolved));
            }
        }
        if params.contains_key("eval_every_episodes") {
            return Err(doc.error_at(
                &at("eval_every_episodes"),
                "applies to tabular step-based agents; approximating agents take eval_every (steps)",
            ));
        }
        let (p, cfg) = learning_config(Some(doc), prefix, &params, episodes)?;
        if cfg.start == crate::agents::train::StartMode::Uniform && env.finite().is_none() {
            return Err(doc.error_at(
                &at("start"),
                "start = \"uniform\" draws from the states of a finite world; this env is continuous (use \"env\")",
            ));
        }
        let spec = env.obs_spec();
        // Feature columns first, so that their errors point at the column and key.
        for (key, value) in &p {
            if !key.ends_with("features") {
                continue;
            }
            let cols: Vec<crate::env::features::ColumnSpec> = doc.deserialize_value(value.clone(), &at(key))?;
            if let Err(e) = crate::env::features::FeatureSet::build(&cols, &spec) {
                let mut path = at(key);
                path.push(Seg::Index(e.column));
                if let Some(k) = &e.key {
                    path.push(Seg::Key(k.clone()));
                }
                return Err(doc.error_at(&path, &e.message));
            }
        }
        let cx = crate::agents::approx::AgentContext {
            spec: &spec,
            n_actions: env.n_actions(),
            gamma: env.gamma(),
            env: Some(env),
            file: None,
        };
        let agent = crate::agents::approx::build_in(kind, &p, &cx).map_err(|e| match e {
            // Errors that already name their own file (a network file) stay as they are.
            crate::Error::Input(m) if m.contains(".toml:") => crate::Error::Input(m),
            e => doc.error_at(prefix, &e.to_string()),
        })?;
        // As the runner: on a finite world, episodes that can never end need a step cap.
        if let (None, None, None, Some(w)) =
            (cfg.max_episode_steps, env.max_steps(), agent.max_episode_steps(), env.finite())
        {
            require_step_cap(doc, prefix, kind, w)?;
        }
        return Ok(Some(params));
    }
    if is_learning_kind(kind) {
        let w = match env {
            None => return Err(doc.error_at(prefix, &format!("`{kind}` needs an environment: add an [env] table"))),
            Some(LoadedEnv::Continuous(t)) => {
                return Err(doc.error_at(
                    &at("kind"),
                    &format!(
                        "`{kind}` is tabular and needs a finite env, but `{}` is continuous; use an approximating kind ({})",
                        t.name,
                        crate::agents::approx::kinds().join(", ")
                    ),
                ))
            }
            Some(LoadedEnv::Finite(w)) => w,
        };
        let (p, _) = learning_config(Some(doc), prefix, params, episodes)?;
        let m = w.model();
        let episodic = crate::agents::train::EPISODIC_KINDS.iter().any(|k| k.0 == kind);
        if episodic && params.contains_key("eval_every_episodes") {
            return Err(doc.error_at(
                &at("eval_every_episodes"),
                &format!("`{kind}` is episode-based; eval_every_episodes applies to step-based agents"),
            ));
        }
        if episodic && params.contains_key("start") {
            return Err(doc.error_at(
                &at("start"),
                &format!("`{kind}` chooses its own start states; `start` applies to step-based agents"),
            ));
        }
        let at_err = |e: crate::Error| locate_param_error(doc, prefix, params, &e);
        let positive = |k: &str, v: usize| -> Result<()> {
            if v == 0 {
                return Err(doc.error_at(&at(k), &format!("{k} = 0: `{kind}` needs {k} >= 1")));
            }
            Ok(())
        };
        match kind {
            "mc-basic" => {
                let c =
                    crate::agents::agent::parse_params::<crate::agents::mc::McBasicConfig>(kind, &p).map_err(at_err)?;
                positive("episode_length", c.episode_length)?;
                positive("episodes_per_pair", c.episodes_per_pair)?;
                positive("iterations", c.iterations)?;
            }
            "mc-exploring-starts" => {
                let c =
                    crate::agents::agent::parse_params::<crate::agents::mc::McEsConfig>(kind, &p).map_err(at_err)?;
                positive("episode_length", c.episode_length)?;
            }
            _ => {
                let agent =
                    crate::agents::train::build(kind, &p, m.n_states(), m.n_actions(), m.gamma).map_err(at_err)?;
                // The runner refuses episodes that can never end when nothing caps them: refuse them here
                // too, so that `check` agrees with `run`.
                let (_, cfg) = learning_config(Some(doc), prefix, params, episodes)?;
                let capped =
                    cfg.max_episode_steps.is_some() || w.max_steps().is_some() || agent.max_episode_steps().is_some();
                if !capped {
                    require_step_cap(doc, prefix, kind, w)?;
                }
            }
        }
        return Ok(Some(params.clone()));
    }
    Ok(None)
}

/// Refuse a learner on a world whose episodes can never end from some state
/// when nothing caps their length (the runner would loop forever there).
fn require_step_cap(doc: &Doc, prefix: &[Seg], kind: &str, w: &crate::env::World) -> Result<()> {
    let reach = w.model().can_terminate(None);
    match (0..w.model().n_states()).find(|&s| !reach[s]) {
        Some(s0) => Err(doc.error_at(
            prefix,
            &format!(
                "`{kind}` on `{}`: episodes that reach {} can never terminate; set a step cap (max_episode_steps = 100 in this agent, max_steps in the env, or the agent's episode_length)",
                w.name,
                w.state_label(s0)
            ),
        )),
        None => Ok(()),
    }
}

/// Run an agent of another family over the experiment's seeds.
pub fn run_extra(
    exp: &Experiment,
    v: &Variant,
    agent: &agents::ResolvedAgent,
    params: &toml::Table,
    _dir: &Path,
    out: &mut Outputs,
    progress: &Progress,
) -> Result<()> {
    use crate::data::table::Cell;
    if agent.kind == bc::KIND {
        return bc::run(exp, v, agent, params, _dir, out, progress);
    }
    if crate::agents::sa::KINDS.contains(&agent.kind.as_str()) {
        let mut per_seed = Vec::new();
        let (mut errors, mut diverged) = (Vec::new(), 0usize);
        for &id in &exp.seeds {
            let run = crate::agents::sa::run(&agent.kind, params, crate::util::derive_seed(exp.spec.seed, &[id]))?;
            out.iterations.extend_union(
                run.iterations.with_prefix(&[("agent", agent.name.as_str().into()), ("seed", Cell::from(id))]),
            );
            let mut s = serde_json::json!({ "seed": id });
            if let (Some(o), Some(r)) = (s.as_object_mut(), run.summary.as_object()) {
                for (k, v) in r.iter().filter(|(k, _)| *k != "kind") {
                    o.insert(k.clone(), v.clone());
                }
            }
            if let Some(e) = run.summary.get("final_error").and_then(|e| e.as_f64()) {
                errors.push(e);
            }
            diverged += usize::from(run.summary.get("diverged") == Some(&serde_json::Value::Bool(true)));
            per_seed.push(s);
            out.sa_runs.push((agent.name.clone(), id, run));
            progress.inc(1);
        }
        // Agent-level aggregates over the seeds, then each seed's own summary.
        let finite: Vec<f64> = errors.iter().copied().filter(|e| e.is_finite()).collect();
        out.summaries.push(serde_json::json!({
            "agent": agent.name,
            "kind": agent.kind,
            "seeds": exp.seeds.len(),
            "mean_final_error": if finite.len() == exp.seeds.len() && !finite.is_empty() { Some(finite.iter().sum::<f64>() / finite.len() as f64) } else { None },
            "seeds_diverged": diverged,
            "per_seed": per_seed,
        }));
        return Ok(());
    }
    if is_approx_kind(&agent.kind) {
        return runner::run_approx(exp, v, agent, params, _dir, out, progress);
    }
    if is_learning_kind(&agent.kind) {
        return runner::run_learning(exp, v, agent, params, out, progress);
    }
    Err(crate::Error::internal(format!("no runner for agent kind `{}`", agent.kind)))
}

/// Split a learning agent's table into its own params and the runner's settings.
pub fn learning_settings(
    params: &toml::Table,
    default_episodes: Option<usize>,
) -> Result<(toml::Table, crate::agents::train::TrainConfig)> {
    learning_config(None, &[], params, default_episodes)
}
