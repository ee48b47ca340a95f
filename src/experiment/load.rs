//! Loading an experiment: presets, the env file, `--set` overrides, variants,
//! and full validation before anything is written.

use std::path::{Path, PathBuf};

use super::agents::{resolve_agent, ResolvedAgent};
use super::schema::{slug, ExperimentSpec, PLOT_KINDS};
use crate::config::{Doc, Seg};
use crate::env::{LoadedEnv, World};
use crate::{Error, Result};

/// The most runs (seeds) one experiment may have.
pub const MAX_SEEDS: usize = 100_000;

/// Command-line options that change an experiment.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--out DIR`.
    pub out: Option<PathBuf>,
    /// `--seeds N`.
    pub seeds: Option<usize>,
    /// `--set KEY=VALUE`, in order.
    pub sets: Vec<(String, String)>,
}

/// One variant, fully resolved.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its name (`None` when the experiment has no variants).
    pub name: Option<String>,
    /// The environment, if the experiment has one and it is finite.
    pub world: Option<World>,
    /// The environment as loaded, finite or continuous.
    pub env: Option<LoadedEnv>,
    /// Where the environment came from (for messages).
    pub env_file: String,
    /// The agents.
    pub agents: Vec<ResolvedAgent>,
    /// The resolved configuration (every default filled in).
    pub resolved: toml::Table,
}

/// A loaded, validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The experiment file.
    pub file: PathBuf,
    /// Its top level.
    pub spec: ExperimentSpec,
    /// Run ids.
    pub seeds: Vec<u64>,
    /// Output directory: `--out`, else the file's `out_dir`, else `runs/<name>`
    /// (see `out_default`).
    pub out_dir: PathBuf,
    /// Whether `out_dir` is the default `runs/<name>`: then each run writes a
    /// fresh timestamped subdirectory and points `runs/<name>/latest` at it.
    pub out_default: bool,
    /// The `--set` overrides, in order (recorded in `provenance.json`).
    pub overrides: Vec<(String, String)>,
    /// Plots to draw.
    pub plots: Vec<String>,
    /// Variants (one, unnamed, when the file has none).
    pub variants: Vec<Variant>,
}

/// Resolve a path written in `base_file`: as given if it exists (relative to the
/// current directory), else relative to `base_file`'s directory.
pub fn resolve_path(base_file: &Path, p: &str) -> String {
    let direct = Path::new(p);
    if direct.exists() || direct.is_absolute() {
        return p.to_string();
    }
    if let Some(dir) = base_file.parent() {
        let rel = dir.join(p);
        if rel.exists() {
            return rel.display().to_string();
        }
    }
    p.to_string()
}

/// Refuse gamma = 1 on a world where some state cannot reach a terminal state
/// (dynamic programming would never converge there), located at `env.gamma`.
pub fn check_episodic(doc: &Doc, w: &World) -> Result<()> {
    if w.gamma() < 1.0 {
        return Ok(());
    }
    let reach = w.model().can_terminate(None);
    let Some(s) = (0..w.model().n_states()).find(|&s| !reach[s]) else { return Ok(()) };
    let env_file = doc
        .sources
        .iter()
        .find(|s| s.prefix == [key("env")])
        .map(|s| format!(" ({})", s.file.display()))
        .unwrap_or_default();
    Err(doc.error_at(
        &[key("env"), key("gamma")],
        &format!(
            "gamma = 1 requires an episodic task, but in `{}`{env_file} no policy can reach a terminal state from {}; use gamma < 1 (env.gamma = 0.9, or --set env.gamma=0.9) or add terminal cells (goal `G`, terminal `E`, or target = \"terminal\")",
            w.name,
            w.state_label(s)
        ),
    ))
}

/// Why plot kind `k` cannot be drawn for any variant (`None` when it can).
fn plot_does_not_apply(k: &str, variants: &[Variant]) -> Option<String> {
    use super::agents::{AgentJob, DpJob};
    let agents = || variants.iter().flat_map(|v| v.agents.iter());
    let is_sa = |kind: &str| crate::agents::sa::KINDS.contains(&kind);
    let applies = match k {
        "convergence" => agents().any(|a| matches!(a.job, AgentJob::Dp(DpJob::Vi(_) | DpJob::Pi(_) | DpJob::Tpi(_)))),
        "values" => variants
            .iter()
            .any(|v| v.world.as_ref().is_some_and(|w| w.grid().is_some()) && v.agents.iter().any(|a| !is_sa(&a.kind))),
        "learning" => agents().any(|a| !matches!(a.job, AgentJob::Dp(_)) && !is_sa(&a.kind)),
        "sa" => agents().any(|a| is_sa(&a.kind)),
        _ => true,
    };
    if applies {
        return None;
    }
    Some(
        match k {
            "convergence" => "it draws value iteration and (truncated) policy iteration, and there are none",
            "values" => "it draws value maps of a gridworld, and no agent runs on one",
            "learning" => "it draws learning curves, and no agent learns from episodes",
            _ => "it draws stochastic-approximation agents, and there are none",
        }
        .to_string(),
    )
}

/// `seeds` is a count (`seeds = 5`: runs 0..4) or a list of run ids
/// (`seeds = [0, 3]`); anything else gets a message that says so (rather than
/// serde's "untagged enum").
fn check_seeds_value(doc: &Doc) -> Result<()> {
    let what = "must be a whole number of seeds (seeds = 5 runs ids 0..4) or a list of run ids (seeds = [0, 3])";
    match doc.table.get("seeds") {
        None => Ok(()),
        Some(toml::Value::Integer(n)) if *n >= 0 => Ok(()),
        Some(toml::Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if !matches!(v, toml::Value::Integer(n) if *n >= 0) {
                    return Err(doc.error_at(
                        &[key("seeds"), Seg::Index(i)],
                        &format!("`{v}` is not a run id; run ids are whole numbers >= 0"),
                    ));
                }
            }
            Ok(())
        }
        Some(v) => Err(doc.error_at(&[key("seeds")], &format!("seeds = {v}: {what}"))),
    }
}

fn string_at(doc: &Doc, path: &[Seg]) -> Result<Option<String>> {
    match crate::config::get_path(&doc.table, path) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(doc.error_at(path, "must be a string (a file path)")),
    }
}

fn key(k: &str) -> Seg {
    Seg::Key(k.into())
}

/// Load and validate an experiment file. Nothing is written.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Experiment> {
    load_doc(Doc::load(path)?, path, opts)
}

/// [`load`] an experiment already parsed (`path` is where relative paths in it start).
pub fn load_doc(doc: Doc, path: &Path, opts: &LoadOptions) -> Result<Experiment> {
    let mut doc = doc;
    // Plots the user asked for here (not inherited from a preset) must apply.
    let plots_explicit = doc.table.contains_key("plots") || opts.sets.iter().any(|(k, _)| k.starts_with("plots"));
    // 1. A preset underneath the whole file.
    if let Some(p) = string_at(&doc, &[key("extends")])? {
        let preset = Doc::load(Path::new(&resolve_path(path, &p)))
            .map_err(|e| doc.error_at(&[key("extends")], &e.to_string()))?;
        doc.merge_base_at(&[], preset)?;
    }
    // 2. Agent presets.
    let n_agents = match doc.table.get("agents") {
        Some(toml::Value::Array(a)) => a.len(),
        Some(_) => return Err(doc.error_at(&[key("agents")], "must be an array of tables: write [[agents]]")),
        None => 0,
    };
    for i in 0..n_agents {
        let at = [key("agents"), Seg::Index(i), key("preset")];
        if let Some(p) = string_at(&doc, &at)? {
            let preset =
                Doc::load(Path::new(&resolve_path(path, &p))).map_err(|e| doc.error_at(&at, &e.to_string()))?;
            doc.merge_base_at(&at[..2], preset)?;
        }
    }
    // 3. The env file underneath [env].
    if let Some(p) = string_at(&doc, &[key("env"), key("path")])? {
        let env = Doc::load(Path::new(&resolve_path(path, &p)))
            .map_err(|e| doc.error_at(&[key("env"), key("path")], &e.to_string()))?;
        doc.merge_base_at(&[key("env")], env)?;
    }
    // 4. Command-line overrides.
    for (k, v) in &opts.sets {
        doc.set(k, v)?;
    }
    if opts.seeds == Some(0) {
        return Err(Error::input("--seeds 0: at least one seed is needed; give --seeds 1 or more"));
    }
    check_seeds_value(&doc)?;
    let spec: ExperimentSpec = doc.deserialize()?;
    if spec.name.trim().is_empty() {
        return Err(doc.error_at(&[key("name")], "the name must not be empty"));
    }
    spec.learning_curve.check().map_err(|m| doc.error_at(&[key("learning_curve")], &m))?;
    let n_seeds = opts.seeds.unwrap_or(match &spec.seeds {
        super::schema::SeedSpec::Count(n) => *n,
        super::schema::SeedSpec::List(l) => l.len(),
    });
    if n_seeds > MAX_SEEDS {
        if opts.seeds.is_some() {
            return Err(Error::input(format!(
                "--seeds = {n_seeds} is more than rlkit runs at once ({MAX_SEEDS}); give at most {MAX_SEEDS}"
            )));
        }
        return Err(
            doc.error_at(&[key("seeds")], &format!("seeds = {n_seeds} is more than rlkit runs at once ({MAX_SEEDS})"))
        );
    }
    let mut seeds = spec.seeds.ids();
    if let Some(n) = opts.seeds {
        seeds = (0..n as u64).collect();
    }
    if spec.episodes == Some(0) {
        return Err(doc.error_at(&[key("episodes")], "episodes must be >= 1"));
    }
    if seeds.is_empty() {
        return Err(doc.error_at(&[key("seeds")], "at least one seed is needed (seeds = 1, or a list of ids)"));
    }
    let plots = match &spec.plots {
        Some(p) => {
            for (i, k) in p.iter().enumerate() {
                if !PLOT_KINDS.contains(&k.as_str()) {
                    let hint = crate::config::did_you_mean(k, PLOT_KINDS)
                        .map(|x| format!("; did you mean `{x}`?"))
                        .unwrap_or_default();
                    return Err(doc.error_at(
                        &[key("plots"), Seg::Index(i)],
                        &format!("unknown plot `{k}`{hint} (valid: {})", PLOT_KINDS.join(", ")),
                    ));
                }
            }
            p.clone()
        }
        None => PLOT_KINDS.iter().map(|s| s.to_string()).collect(),
    };
    if spec.agents.is_empty() {
        return Err(doc.error_at(&[], "no agents: add at least one [[agents]] table with a `kind`"));
    }
    let out_dir = opts
        .out
        .clone()
        .or_else(|| spec.out_dir.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| Path::new("runs").join(slug(&spec.name)));

    let mut variants = Vec::new();
    let variant_specs: Vec<Option<(usize, super::schema::VariantSpec)>> = if spec.variants.is_empty() {
        vec![None]
    } else {
        spec.variants.iter().cloned().enumerate().map(Some).collect()
    };
    let mut seen = std::collections::BTreeSet::new();
    for v in variant_specs {
        let mut vdoc = doc.clone();
        if let Some(n) = opts.seeds {
            // `--seeds N` wins over the file for checks that scale with the seed count
            // (the per-episode memory bound of learning agents).
            vdoc.table.insert("seeds".into(), toml::Value::Integer(n as i64));
        }
        if let Some((i, vs)) = &v {
            if !seen.insert(slug(&vs.name)) {
                return Err(doc.error_at(
                    &[key("variants"), Seg::Index(*i), key("name")],
                    &format!("variant name `{}` is used twice (names must differ as file names)", vs.name),
                ));
            }
            for (k, val) in &vs.set {
                let origin = format!("variants[{i}] (\"{}\") set {k}", vs.name);
                vdoc.set_value(&[], k, val.clone(), &origin)?;
            }
        }
        variants.push(resolve_variant(&vdoc, path, v.map(|x| x.1.name))?);
    }
    if let Some(p) = spec.plots.as_ref().filter(|_| plots_explicit) {
        for (i, k) in p.iter().enumerate() {
            if let Some(why) = plot_does_not_apply(k, &variants) {
                return Err(doc.error_at(
                    &[key("plots"), Seg::Index(i)],
                    &format!("plot `{k}` does not apply to this experiment: {why}; remove it from `plots`"),
                ));
            }
        }
    }
    // Plots by default or from a preset: those that apply (config.resolved.toml lists them, so
    // that replaying it, as `rlkit export` does, asks only for plots that apply).
    let plots: Vec<String> = plots.into_iter().filter(|k| plot_does_not_apply(k, &variants).is_none()).collect();
    let out_default = opts.out.is_none() && spec.out_dir.is_none();
    Ok(Experiment {
        file: path.to_path_buf(),
        spec,
        seeds,
        out_dir,
        out_default,
        overrides: opts.sets.clone(),
        plots,
        variants,
    })
}

fn resolve_variant(doc: &Doc, path: &Path, name: Option<String>) -> Result<Variant> {
    let spec: ExperimentSpec = doc.deserialize()?;
    let env_prefix = [key("env")];
    let mut env_file = path.display().to_string();
    let world = match &spec.env {
        Some(_) => {
            let mut d = doc.clone();
            if let Some(toml::Value::Table(t)) = d.table.get_mut("env") {
                t.remove("path");
            }
            if let Some(src) = d.sources.iter().find(|s| s.prefix == env_prefix) {
                env_file = src.file.display().to_string();
            }
            Some(LoadedEnv::from_doc(&d, &env_prefix)?)
        }
        None => None,
    };
    let loaded = world;
    let raw_env = match doc.table.get("env") {
        Some(toml::Value::Table(t)) => {
            let mut t = t.clone();
            t.remove("path");
            Some(t)
        }
        _ => None,
    };
    let world = loaded.as_ref().and_then(LoadedEnv::finite).cloned();
    let mut agents = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for i in 0..spec.agents.len() {
        let a = resolve_agent(doc, i, loaded.as_ref())?;
        if !names.insert(slug(&a.name)) {
            return Err(doc.error_at(
                &[key("agents"), Seg::Index(i)],
                &format!("agent name `{}` is used twice; give each agent a distinct `name`", a.name),
            ));
        }
        agents.push(a);
    }
    let mut resolved = toml::Table::new();
    resolved.insert("name".into(), toml::Value::String(spec.name.clone()));
    if let Some(n) = &name {
        resolved.insert("variant".into(), toml::Value::String(n.clone()));
    }
    resolved.insert("description".into(), toml::Value::String(spec.description.clone()));
    resolved.insert("seed".into(), toml::Value::Integer(spec.seed as i64));
    match &loaded {
        Some(LoadedEnv::Finite(w)) => {
            let env_table = match &w.kind {
                crate::env::WorldKind::Grid(g) => toml::Value::try_from(&g.spec),
                crate::env::WorldKind::Mdp(m) => match &raw_env {
                    // A registered kind: its table as written.
                    Some(t) if t.get("kind").and_then(|k| k.as_str()).is_some_and(|k| k != "mdp") => {
                        Ok(toml::Value::Table(t.clone()))
                    }
                    _ => toml::Value::try_from(&m.spec),
                },
            }
            .map_err(|e| Error::internal(format!("cannot serialize the env: {e}")))?;
            resolved.insert("env".into(), env_table);
        }
        Some(LoadedEnv::Continuous(t)) => {
            resolved.insert("env".into(), toml::Value::Table(t.resolved.clone()));
        }
        None => {}
    }
    resolved.insert(
        "agents".into(),
        toml::Value::Array(agents.iter().map(|a| toml::Value::Table(a.resolved.clone())).collect()),
    );
    Ok(Variant { name, world, env: loaded, env_file, agents, resolved })
}
