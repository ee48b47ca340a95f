//! Running a loaded experiment and writing its outputs.
//!
//! Output directory (one per variant when the experiment has variants): every
//! file, its schema and every `summary.json` field per agent family are in
//! `docs/outputs.md`. `summary.json`'s `agents` has one entry per agent, the
//! same shape for every family: `agent`, `kind`, `seeds`, agent-level
//! aggregates and `per_seed`.
//!
//! Every file is written atomically. Everything except `timings.csv` and
//! `provenance.json` is byte-identical for the same experiment and seed,
//! whatever the thread count or the output directory.
//!
//! The run is written into a hidden staging directory beside the output
//! directory (`.<name>.staging-<pid>`) and moved into place at the end, so an
//! error leaves the output directory as it was. A non-empty output directory
//! is refused unless [`RunOptions::force`] (and then only if rlkit wrote it).
//! When interrupted ([`super::sweep::request_interrupt`]: Ctrl-C, SIGTERM), the
//! agents and variants that finished are written, complete, and the top-level
//! `summary.json` has `"interrupted": true`.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::agents::{AgentJob, DpJob};
use super::load::{Experiment, Variant};
use super::progress::{Progress, ProgressMode};
use super::schema::slug;
use crate::agents::dp::{
    self, evaluation::EXACT_MAX_STATES, max_abs_diff, value_iteration::optimal_values, DpSolution, IterRecord,
};
use crate::data::table::{Cell, Table};
use crate::env::World;
use crate::plot::grid::{render_grid, GridMap, GridPlot};
use crate::plot::lines::{LineChart, Series};
use crate::util::{atomic_write, ensure_writable_dir};
use crate::{Error, Result};

/// Options for [`run`].
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// How to show progress.
    pub progress: ProgressMode,
    /// Replace a non-empty output directory (`--force`); only one that rlkit
    /// wrote ([`super::sweep::is_rlkit_output`]), and only once the run has
    /// succeeded. Without it a non-empty output directory is an error.
    pub force: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { progress: ProgressMode::Quiet, force: false }
    }
}

/// The file beside `summary.json` that records how a run was made (rlkit
/// version, git commit, command line, `--set` overrides, start and end time).
/// Like `timings.csv`, it differs between identical runs.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// The name of the link (or, without symlinks, the file holding the name) in
/// `runs/<name>/` that points at the newest timestamped run.
pub const LATEST: &str = "latest";

/// A fresh timestamped directory under `base` (`base/20261201-072510`, or
/// `base/20261201-072510-2` when that exists). Nothing is created.
pub fn timestamped_dir(base: &Path) -> PathBuf {
    let stamp = crate::util::compact_timestamp(std::time::SystemTime::now());
    let mut dir = base.join(&stamp);
    let mut k = 2;
    while dir.exists() || base.join(format!(".{stamp}.staging-{}", std::process::id())).exists() {
        dir = base.join(format!("{stamp}-{k}"));
        k += 1;
    }
    dir
}

/// Point `base/latest` at `target` (a child of `base`): a relative symlink on
/// Unix, replaced atomically; elsewhere a file holding the directory name.
pub fn point_latest(base: &Path, target: &Path) -> Result<()> {
    let name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let link = base.join(LATEST);
    let fail = |e: std::io::Error| Error::input(format!("{}: cannot update: {e}", link.display()));
    if link.is_dir() && !link.is_symlink() {
        return Err(Error::input(format!(
            "{}: is a directory, not rlkit's link to the newest run; move it away",
            link.display()
        )));
    }
    #[cfg(unix)]
    {
        let tmp = base.join(format!(".{LATEST}.tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&name, &tmp).map_err(fail)?;
        std::fs::rename(&tmp, &link).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })
    }
    #[cfg(not(unix))]
    {
        let _ = fail;
        atomic_write(&link, format!("{}\n", name.to_string_lossy()).as_bytes())
    }
}

/// Resolve `base/latest` (see [`point_latest`]) to the directory it names.
pub fn resolve_latest(base: &Path) -> Option<PathBuf> {
    let link = base.join(LATEST);
    if let Ok(t) = std::fs::read_link(&link) {
        return Some(base.join(t));
    }
    let name = std::fs::read_to_string(&link).ok()?;
    Some(base.join(name.trim()))
}

/// The hidden staging directory of a run whose output directory is `target`.
fn staging_dir(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{name}.staging-{}", std::process::id()))
}

/// Move everything in `staging` into `target` (emptied first when `clear`),
/// then remove `staging`. A missing `target` is a single rename.
fn commit_staging(staging: &Path, target: &Path, clear: bool) -> Result<()> {
    let fail =
        |e: std::io::Error| Error::input(format!("{}: cannot move the finished run into place: {e}", target.display()));
    if !target.exists() {
        return std::fs::rename(staging, target).map_err(fail);
    }
    if clear {
        for e in std::fs::read_dir(target).map_err(fail)? {
            let p = e.map_err(fail)?.path();
            if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p).map_err(fail)?;
            } else {
                std::fs::remove_file(&p).map_err(fail)?;
            }
        }
    }
    for e in std::fs::read_dir(staging).map_err(fail)? {
        let e = e.map_err(fail)?;
        std::fs::rename(e.path(), target.join(e.file_name())).map_err(fail)?;
    }
    std::fs::remove_dir(staging).map_err(fail)
}

fn interrupted() -> bool {
    super::sweep::interrupt_requested()
}

/// What a run wrote.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The output directory.
    pub out_dir: PathBuf,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// Warnings (for example a solver that hit its iteration limit).
    pub warnings: Vec<String>,
    /// Seeds stopped because they produced a non-finite value: one line each, naming the
    /// agent, the seed, the episode and the step (the CLI prints them and exits with code 1).
    pub diverged: Vec<String>,
    /// Stopped early by an interrupt: only the agents and variants that finished were written.
    pub interrupted: bool,
}

/// A value map to draw: (agent, note for the title, values, greedy actions if any).
pub type Heatmap = (String, String, Vec<f64>, Option<Vec<usize>>);

/// Tidy tables a variant accumulates.
#[derive(Debug, Default)]
pub struct Outputs {
    /// `iterations.csv`.
    pub iterations: Table,
    /// `values.csv`.
    pub values: Table,
    /// `policy.csv`.
    pub policy: Table,
    /// `timings.csv`.
    pub timings: Table,
    /// `episodes.csv` (learning agents).
    pub episodes: Table,
    /// Per-agent summaries.
    pub summaries: Vec<serde_json::Value>,
    /// Extra files written by agent families.
    pub files: Vec<PathBuf>,
    /// Stochastic-approximation runs, for their plots.
    pub sa_runs: Vec<(String, u64, crate::agents::sa::SaRun)>,
    /// Learning curves: (agent, one curve of (cumulative steps, return) per seed).
    pub curves: Vec<(String, Vec<crate::plot::learning::SeedCurve>)>,
    /// Seeds stopped on a non-finite value (one line each).
    pub diverged: Vec<String>,
    /// Training losses: (agent, one curve of (update, loss) per seed).
    pub loss_curves: Vec<(String, Vec<crate::plot::learning::SeedCurve>)>,
    /// Episode lengths: (agent, one curve of (cumulative steps, length) per seed), when asked for.
    pub length_curves: Vec<(String, Vec<crate::plot::learning::SeedCurve>)>,
    /// Progress curves: (agent, one curve of (step, RMSE of the values vs the reference) per seed).
    pub rmse: Vec<(String, Vec<crate::plot::learning::SeedCurve>)>,
    /// v* of the variant's env, when it can be computed.
    pub v_star: Option<Vec<f64>>,
    /// Value maps of learning agents to draw: (agent, note for the title, values, greedy actions if any).
    pub heatmaps: Vec<Heatmap>,
}

/// Run `exp`, writing everything under its output directory: `exp.out_dir`,
/// or a fresh `runs/<name>/<YYYYMMDD-HHMMSS>` (with `runs/<name>/latest`
/// pointing at it) when the experiment did not choose one. The directory
/// must be missing or empty unless `opts.force`. Everything is written into
/// a staging directory first, so an error leaves the output directory as it was.
pub fn run(exp: &Experiment, opts: &RunOptions) -> Result<RunReport> {
    let started = std::time::SystemTime::now();
    let target = if exp.out_default { timestamped_dir(&exp.out_dir) } else { exp.out_dir.clone() };
    let clear = super::sweep::check_out_dir(&target, false, opts.force)? == super::sweep::OutDir::Clear;
    // Create the parents (remembering the first one we made, to remove it on failure).
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let first_new = parent.ancestors().take_while(|a| !a.as_os_str().is_empty() && !a.exists()).last();
    let first_new = first_new.map(Path::to_path_buf);
    ensure_writable_dir(parent).map_err(|e| match e {
        Error::Input(m) => Error::Input(m.replacen(&parent.display().to_string(), &target.display().to_string(), 1)),
        e => e,
    })?;
    crate::util::clean_stale_temps(parent, 0);
    let staging = staging_dir(&target);
    let _ = std::fs::remove_dir_all(&staging);
    let undo = |staging: &Path| {
        let _ = std::fs::remove_dir_all(staging);
        if let Some(f) = &first_new {
            // Only directories we created, and only while they are empty.
            for a in parent.ancestors() {
                if std::fs::remove_dir(a).is_err() || a == f.as_path() {
                    break;
                }
            }
        }
    };
    let result = ensure_writable_dir(&staging).and_then(|()| run_staged(exp, opts, &staging));
    let mut report = match result {
        Ok(r) => r,
        Err(e) => {
            undo(&staging);
            return Err(e);
        }
    };
    let prov = json!({
        "rlkit_version": env!("CARGO_PKG_VERSION"),
        "git_commit": option_env!("RLKIT_GIT_COMMIT"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "set": exp.overrides.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "experiment_file": exp.file.display().to_string(),
        "out_dir": target.display().to_string(),
        "start": crate::util::rfc3339(started),
        "end": crate::util::rfc3339(std::time::SystemTime::now()),
        "interrupted": report.interrupted,
    });
    let pp = staging.join(PROVENANCE_FILE);
    if let Err(e) = atomic_write(&pp, pretty(&prov).as_bytes()).and_then(|()| commit_staging(&staging, &target, clear))
    {
        undo(&staging);
        return Err(e);
    }
    report.files.push(pp);
    for f in &mut report.files {
        if let Ok(rel) = f.strip_prefix(&staging) {
            *f = target.join(rel);
        }
    }
    report.out_dir = target.clone();
    if exp.out_default {
        point_latest(&exp.out_dir, &target)?;
    }
    Ok(report)
}

/// [`run`] into `out` (the staging directory).
fn run_staged(exp: &Experiment, opts: &RunOptions, out: &Path) -> Result<RunReport> {
    let total: u64 = exp
        .variants
        .iter()
        .map(|v| {
            v.agents
                .iter()
                .map(|a| if matches!(a.job, AgentJob::Dp(_)) { 1 } else { exp.seeds.len() as u64 })
                .sum::<u64>()
        })
        .sum();
    let progress = Progress::new(opts.progress, &exp.spec.name, total);
    let mut report = RunReport { out_dir: out.to_path_buf(), ..Default::default() };
    let mut variant_summaries = Vec::new();
    for v in &exp.variants {
        if interrupted() {
            report.interrupted = true;
            break;
        }
        let (dir, rel) = match &v.name {
            Some(n) => (out.join(slug(n)), slug(n)),
            None => (out.to_path_buf(), ".".to_string()),
        };
        ensure_writable_dir(&dir)?;
        let (files, diverged, cut) = run_variant(exp, v, &dir, &progress, &mut report.warnings)?;
        report.diverged.extend(diverged);
        let mut entry = json!({ "variant": v.name, "dir": rel });
        if cut {
            entry["interrupted"] = json!(true);
            report.interrupted = true;
        }
        variant_summaries.push(entry);
        report.files.extend(files);
        if cut {
            break;
        }
    }
    progress.finish();
    if exp.variants.iter().any(|v| v.name.is_some()) {
        let path = out.join("summary.json");
        let mut s =
            json!({ "experiment": exp.spec.name, "description": exp.spec.description, "variants": variant_summaries });
        if report.interrupted {
            s["interrupted"] = json!(true);
        }
        atomic_write(&path, pretty(&s).as_bytes())?;
        report.files.push(path);
    }
    if exp.spec.output.trajectories == super::schema::TrajectoryFormat::Tfrecord && !report.interrupted {
        // Replayed from the outputs just written (deterministic), see experiment::export.
        let rep = crate::experiment::export::export_run(out)?;
        report.files.extend(rep.files.into_iter().map(|f| f.0));
    }
    Ok(report)
}

/// Prefix an error of a run with where it happened: the experiment file, the
/// variant and the agent (errors that already name a file keep their place).
fn in_context(exp: &Experiment, v: &Variant, agent: Option<&super::agents::ResolvedAgent>, e: Error) -> Error {
    let what = match (&v.name, agent) {
        (Some(n), Some(a)) => format!("variant `{n}`, agent `{}` ({})", a.name, a.kind),
        (None, Some(a)) => format!("agent `{}` ({})", a.name, a.kind),
        (Some(n), None) => format!("variant `{n}`"),
        (None, None) => String::new(),
    };
    let file = exp.file.display().to_string();
    let wrap = |m: String| {
        if m.starts_with(&file) {
            m
        } else if what.is_empty() {
            format!("{file}: {m}")
        } else {
            format!("{file}: {what}: {m}")
        }
    };
    match e {
        Error::Input(m) => Error::Input(wrap(m)),
        Error::Internal(m) => Error::Internal(wrap(m)),
    }
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn new_outputs() -> Outputs {
    Outputs {
        iterations: Table::default(),
        values: Table::new(&["agent", "seed", "state", "row", "col", "value"]),
        policy: Table::new(&["agent", "seed", "state", "row", "col", "action"]),
        timings: Table::new(&["agent", "seed", "iteration", "seconds"]),
        episodes: Table::new(&["agent", "seed", "episode", "return", "length", "steps"]),
        summaries: vec![],
        files: vec![],
        sa_runs: vec![],
        curves: vec![],
        length_curves: vec![],
        diverged: vec![],
        loss_curves: vec![],
        rmse: vec![],
        v_star: None,
        heatmaps: vec![],
    }
}

/// Append one agent's final values and greedy actions (`None` for a stochastic policy: `*`).
pub fn push_values_policy(
    out: &mut Outputs,
    world: &World,
    agent: &str,
    seed: u64,
    values: &[f64],
    actions: Option<&[usize]>,
) {
    for (s, &v) in values.iter().enumerate() {
        let (row, col) = match world.coords(s) {
            Some((r, c)) => (Cell::from(r), Cell::from(c)),
            None => (Cell::Empty, Cell::Empty),
        };
        // A seed stopped on a non-finite value leaves an empty cell, never `inf` or `NaN`.
        let value = if v.is_finite() { Cell::from(v) } else { Cell::Empty };
        out.values.push(vec![agent.into(), seed.into(), s.into(), row.clone(), col.clone(), value]);
        let sym = if world.model().is_fixed(s) {
            "#".to_string()
        } else {
            actions.map_or("*".to_string(), |a| world.action_symbol(a[s]))
        };
        out.policy.push(vec![agent.into(), seed.into(), s.into(), row, col, sym.into()]);
    }
}

fn push_iterations(out: &mut Outputs, agent: &str, seed: u64, recs: &[IterRecord]) {
    let mut t = Table::new(&["agent", "seed", "iteration", "delta", "error", "sweeps"]);
    for r in recs {
        t.push(vec![agent.into(), seed.into(), r.iteration.into(), r.delta.into(), r.error.into(), r.sweeps.into()]);
        out.timings.push(vec![agent.into(), seed.into(), r.iteration.into(), r.seconds.into()]);
    }
    out.iterations.extend_union(t);
}

fn run_dp(world: &World, job: &DpJob, v_star: Option<&[f64]>) -> Result<(DpSolution, Option<Vec<usize>>)> {
    let m = world.model();
    Ok(match job {
        DpJob::Vi(c) => {
            let s = dp::value_iteration(m, c, v_star)?;
            let a = s.actions.clone();
            (s, Some(a))
        }
        DpJob::Pi(c) => {
            let s = dp::policy_iteration(m, c, v_star)?;
            let a = s.actions.clone();
            (s, Some(a))
        }
        DpJob::Tpi(c) => {
            let s = dp::truncated_policy_iteration(m, c, v_star)?;
            let a = s.actions.clone();
            (s, Some(a))
        }
        DpJob::Eval { cfg, policy, .. } => {
            // The error column compares with v_pi solved exactly, where the model is small enough.
            let exact = if m.n_states() <= EXACT_MAX_STATES { dp::evaluation::exact(m, policy).ok() } else { None };
            let start = std::time::Instant::now();
            let ev = dp::evaluate(m, policy, cfg, None)?;
            let secs = start.elapsed().as_secs_f64();
            let mut iterations = ev.iterations.clone();
            if let Some(vp) = &exact {
                // Recompute the per-sweep error by replaying the sweeps is costly; record the final one.
                if let Some(last) = iterations.last_mut() {
                    last.error = Some(max_abs_diff(&ev.values, vp));
                }
            }
            for r in &mut iterations {
                r.seconds = secs;
            }
            let actions =
                policy.is_deterministic().then(|| (0..m.n_states()).map(|s| policy.greedy_action(s)).collect());
            (DpSolution { values: ev.values, actions: vec![], iterations, converged: true }, actions)
        }
    })
}

/// Run one variant into `dir`; returns its files, its diverged seeds, and
/// whether an interrupt cut it short (then only the agents that finished are written).
fn run_variant(
    exp: &Experiment,
    v: &Variant,
    dir: &Path,
    progress: &Progress,
    warnings: &mut Vec<String>,
) -> Result<(Vec<PathBuf>, Vec<String>, bool)> {
    let mut out = new_outputs();
    let needs_vstar = v.agents.iter().any(|a| {
        matches!(a.job, AgentJob::Dp(_)) || super::is_learning_kind(&a.kind) || super::is_approx_kind(&a.kind)
    });
    let v_star = match (&v.world, needs_vstar) {
        (Some(w), true) if w.gamma() < 1.0 || w.model().can_terminate(None).iter().all(|&b| b) => {
            match optimal_values(w.model()) {
                Ok(vs) => Some(vs),
                Err(e) => {
                    // v* only feeds the error columns and metrics: run without them, and say why.
                    warnings.push(format!(
                        "{}: {}the optimal values v* of `{}` are unavailable ({e}); errors against v* and policy metrics are left out",
                        exp.file.display(),
                        v.name.as_ref().map(|n| format!("variant `{n}`: ")).unwrap_or_default(),
                        w.name
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    out.v_star = v_star.clone();
    let first_seed = exp.seeds[0];
    let mut curves: Vec<Series> = Vec::new();
    let mut sweep_curves: Vec<Series> = Vec::new();
    let mut heatmaps: Vec<Heatmap> = Vec::new();
    let mut policy_files: Vec<(String, Vec<usize>)> = Vec::new();
    let mut cut = false;
    for agent in &v.agents {
        if interrupted() {
            cut = true;
            break;
        }
        match &agent.job {
            AgentJob::Dp(job) => {
                let Some(world) = &v.world else { return Err(Error::internal("DP agent without an env")) };
                let (sol, actions) =
                    run_dp(world, job, v_star.as_deref()).map_err(|e| in_context(exp, v, Some(agent), e))?;
                if !sol.converged {
                    warnings.push(format!(
                        "{}: `{}` stopped at its iteration limit before converging",
                        exp.file.display(),
                        agent.name
                    ));
                }
                push_iterations(&mut out, &agent.name, first_seed, &sol.iterations);
                push_values_policy(&mut out, world, &agent.name, first_seed, &sol.values, actions.as_deref());
                let last = sol.iterations.last();
                let start_value = world.starts().first().map(|&s| sol.values[s]);
                // DP is deterministic: it runs once (with the first seed), and its agent-level
                // aggregates are that run's numbers; `per_seed` has the same shape as every family's.
                let run = json!({
                    "seed": first_seed,
                    "converged": sol.converged,
                    "iterations": sol.iterations.len(),
                    "sweeps": sol.sweeps(),
                    "final_delta": last.map(|r| r.delta),
                    "final_error": last.and_then(|r| r.error),
                    "value_error_vs_optimal": v_star.as_ref().filter(|_| !matches!(job, DpJob::Eval { .. })).map(|vs| max_abs_diff(&sol.values, vs)),
                    "start_state_value": start_value,
                });
                let mut entry = json!({
                    "agent": agent.name,
                    "kind": agent.kind,
                    "seeds": 1,
                    "policy": match job { DpJob::Eval { source, .. } => json!(source), _ => json!("greedy") },
                });
                if let (Some(o), Some(r)) = (entry.as_object_mut(), run.as_object()) {
                    for (k, v) in r.iter().filter(|(k, _)| *k != "seed") {
                        o.insert(k.clone(), v.clone());
                    }
                }
                entry["per_seed"] = json!([run]);
                out.summaries.push(entry);
                // Control agents: ‖v_k − v*‖∞ (or the change when v* is unknown);
                // evaluation agents: their change ‖v_k − v_{k−1}‖∞ (v* is not their target).
                let eval = matches!(job, DpJob::Eval { .. });
                let y = |r: &IterRecord| if eval { r.delta } else { r.error.unwrap_or(r.delta) };
                let label = if eval { format!("{} (change per sweep)", agent.name) } else { agent.name.clone() };
                let pts: Vec<(f64, f64)> = sol.iterations.iter().map(|r| (r.iteration as f64, y(r))).collect();
                let by_sweep: Vec<(f64, f64)> = sol.iterations.iter().map(|r| (r.sweeps as f64, y(r))).collect();
                if pts.len() > 1 || !eval {
                    curves.push(Series { label: label.clone(), points: pts, ..Default::default() });
                    sweep_curves.push(Series { label, points: by_sweep, ..Default::default() });
                }
                heatmaps.push((agent.name.clone(), String::new(), sol.values.clone(), actions.clone()));
                if let Some(a) = actions {
                    policy_files.push((agent.name.clone(), a));
                }
                progress.inc(1);
            }
            AgentJob::Other(params) => {
                if let Err(e) = super::run_extra(exp, v, agent, params, dir, &mut out, progress) {
                    if interrupted() {
                        // Stopped part-way: this agent's seeds are dropped, the finished agents are written.
                        cut = true;
                        break;
                    }
                    return Err(in_context(exp, v, Some(agent), e));
                }
            }
        }
    }
    // Learning agents' maps (their first seed) follow the DP ones.
    for (name, note, values, actions) in std::mem::take(&mut out.heatmaps) {
        if let Some(a) = &actions {
            policy_files.push((name.clone(), a.clone()));
        }
        heatmaps.push((name, note, values, actions));
    }
    if let Some(world) = &v.world {
        for (name, a) in &policy_files {
            let pdir = dir.join("policies");
            ensure_writable_dir(&pdir)?;
            let p = pdir.join(format!("{}.txt", slug(name)));
            atomic_write(&p, dp::policy::format_policy(world, a).as_bytes())?;
            out.files.push(p);
        }
    }
    // Tables, each formatted and flushed (one fsync) on its own thread while
    // this one draws the plots: the disk waits overlap instead of adding up.
    let mut files = std::mem::take(&mut out.files);
    let tables: Vec<(PathBuf, &Table)> = [
        ("iterations.csv", &out.iterations),
        ("values.csv", &out.values),
        ("policy.csv", &out.policy),
        ("timings.csv", &out.timings),
        ("episodes.csv", &out.episodes),
    ]
    .into_iter()
    .filter(|(_, t)| !t.is_empty())
    .map(|(name, t)| (dir.join(name), t))
    .collect();
    files.extend(tables.iter().map(|(p, _)| p.clone()));
    let outr = &out;
    std::thread::scope(|sc| -> Result<()> {
        let writers: Vec<_> = tables.iter().map(|(p, t)| sc.spawn(move || t.write_csv(p))).collect();
        let out = outr;
        let plotted = (|| -> Result<()> {
            // Plots.
            let plots_dir = dir.join("plots");
            let want = |k: &str| exp.plots.iter().any(|p| p == k);
            let title_env = v.env.as_ref().map(|w| w.name().to_string()).unwrap_or_default();
            let vname = v.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
            let has_eval = curves.iter().any(|c| c.label.ends_with("(change per sweep)"));
            let y_label = match (v_star.is_some(), has_eval) {
                (true, true) => "‖v_k − v*‖∞, or the change ‖v_k − v_{k−1}‖∞ (log scale)",
                (true, false) => "‖v_k − v*‖∞ (log scale)",
                (false, _) => "‖v_k − v_{k−1}‖∞ (log scale)",
            };
            for (kind, x_label, series) in [
                ("convergence", "iteration k", &curves),
                ("convergence_sweeps", "sweeps over the state space (cumulative)", &sweep_curves),
            ] {
                if want(kind) && series.iter().any(|c| !c.points.is_empty()) {
                    ensure_writable_dir(&plots_dir)?;
                    let p = plots_dir.join(format!("{kind}.png"));
                    LineChart {
                        title: format!("Convergence on {title_env}{vname}"),
                        x_label: x_label.into(),
                        y_label: y_label.into(),
                        log_y: true,
                        series: series.clone(),
                        ..Default::default()
                    }
                    .render(&p)?;
                    files.push(p);
                }
            }
            if want("values") {
                if let Some(world) = v.world.as_ref() {
                    if let Some(grid) = world.grid() {
                        ensure_writable_dir(&plots_dir)?;
                        let map = grid_map(grid);
                        for (name, note, values, actions) in &heatmaps {
                            let p = plots_dir.join(format!("values_{}.png", slug(name)));
                            let title = format!("{name}{note} on {title_env}{vname}");
                            let sets = actions.as_ref().map(|a| tied_actions(world, values, a));
                            render_grid(
                                &p,
                                &map,
                                &GridPlot {
                                    title,
                                    values: Some(values),
                                    actions: actions.as_deref(),
                                    action_sets: sets.as_deref(),
                                    decimals: None,
                                },
                            )?;
                            files.push(p);
                        }
                    }
                }
            }
            if want("learning") && out.curves.iter().any(|c| c.1.iter().any(|s| s.len() > 1)) {
                ensure_writable_dir(&plots_dir)?;
                let p = plots_dir.join("learning_curves.png");
                let title = format!("Learning curves on {title_env}{vname}");
                crate::plot::learning::render_learning_curves(
                    &p,
                    &title,
                    &out.curves,
                    &exp.spec.learning_curve,
                    exp.spec.seed,
                )?;
                files.push(p);
            }
            if want("learning") && out.length_curves.iter().any(|c| c.1.iter().any(|s| s.len() > 1)) {
                ensure_writable_dir(&plots_dir)?;
                let p = plots_dir.join("episode_lengths.png");
                let title = format!("Episode lengths on {title_env}{vname}");
                let spec = crate::plot::learning::CurveSpec { y: "length".into(), ..exp.spec.learning_curve.clone() };
                crate::plot::learning::render_learning_curves(&p, &title, &out.length_curves, &spec, exp.spec.seed)?;
                files.push(p);
            }
            if want("learning") && out.loss_curves.iter().any(|c| c.1.iter().any(|s| s.len() > 1)) {
                ensure_writable_dir(&plots_dir)?;
                let p = plots_dir.join("td_loss.png");
                crate::plot::learning::render_banded(
                    &p,
                    &format!("TD loss on {title_env}{vname}"),
                    "gradient update",
                    "TD loss of the minibatch (log scale)",
                    &out.loss_curves,
                    &exp.spec.learning_curve,
                    exp.spec.seed,
                )?;
                files.push(p);
            }
            if want("learning") && out.rmse.iter().any(|c| c.1.iter().any(|s| s.len() > 1)) {
                ensure_writable_dir(&plots_dir)?;
                let p = plots_dir.join("value_error.png");
                let spec = crate::plot::learning::CurveSpec {
                    x: "steps".into(),
                    smoothing: crate::plot::learning::SmoothingKind::None,
                    ..exp.spec.learning_curve.clone()
                };
                let mut chart_curves = out.rmse.clone();
                for c in &mut chart_curves {
                    c.0 = format!("{} RMSE", c.0);
                }
                crate::plot::learning::render_value_error(
                    &p,
                    &format!("Value error during learning on {title_env}{vname}"),
                    &chart_curves,
                    &spec,
                    exp.spec.seed,
                )?;
                files.push(p);
            }
            if want("sa") && !out.sa_runs.is_empty() {
                ensure_writable_dir(&plots_dir)?;
                files.extend(crate::plot::sa::plot(&plots_dir, &sa_series(&out.sa_runs))?);
            }
            Ok(())
        })();
        for w in writers {
            w.join().map_err(|_| Error::internal("a table writer panicked"))??;
        }
        plotted
    })?;

    // Config and summary.
    let cfg_path = dir.join("config.resolved.toml");
    let mut resolved = v.resolved.clone();
    resolved.insert(
        "seeds".into(),
        toml::Value::Array(exp.seeds.iter().map(|&s| toml::Value::Integer(s as i64)).collect()),
    );
    resolved
        .insert("plots".into(), toml::Value::Array(exp.plots.iter().map(|p| toml::Value::String(p.clone())).collect()));
    let text =
        toml::to_string(&resolved).map_err(|e| Error::internal(format!("cannot write the resolved config: {e}")))?;
    atomic_write(&cfg_path, text.as_bytes())?;
    files.push(cfg_path);
    let mut summary = json!({
        "experiment": exp.spec.name,
        "description": exp.spec.description,
        "variant": v.name,
        "env": match &v.env {
            Some(crate::env::LoadedEnv::Finite(w)) => json!({
                "name": w.name,
                "states": w.model().n_states(),
                "actions": w.action_names(),
                "gamma": w.gamma(),
            }),
            Some(crate::env::LoadedEnv::Continuous(t)) => json!({
                "name": t.name,
                "observation": t.spec.names,
                "actions": t.action_names,
                "gamma": t.gamma,
                "max_steps": t.max_steps,
            }),
            None => serde_json::Value::Null,
        },
        "seeds": exp.seeds,
        "optimal_start_value": v_star.as_ref().and_then(|vs| v.world.as_ref().and_then(|w| w.starts().first().map(|&s| vs[s]))),
        "agents": out.summaries,
        "files": files.iter().map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string()).collect::<Vec<_>>(),
    });
    if cut {
        summary["interrupted"] = json!(true);
    }
    let sp = dir.join("summary.json");
    atomic_write(&sp, pretty(&summary).as_bytes())?;
    files.push(sp);
    Ok((files, std::mem::take(&mut out.diverged), cut))
}

/// Mean of `xs` (NaN when empty).
fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The memory bound on per-episode statistics with the run's real seed count
/// (`--seeds` may exceed the file's, which `check` used).
fn check_episodes(
    exp: &Experiment,
    agent: &super::agents::ResolvedAgent,
    cfg: &crate::agents::train::TrainConfig,
) -> Result<()> {
    super::check_episode_memory(cfg.episodes as u64, exp.seeds.len() as u64)
        .map_err(|e| Error::input(format!("{}: agent `{}`: {e}", exp.file.display(), agent.name)))
}

/// Median of `xs` (NaN when empty; ∞ counts as the largest value).
fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A number for JSON: finite as is, ±∞ as `"inf"`/`"-inf"`, NaN as `null`.
fn json_num(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else if x.is_nan() {
        serde_json::Value::Null
    } else if x > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

/// The optimal ε-greedy policy of a world, for comparing an ε-greedy learner.
struct EpsilonReference {
    epsilon: f64,
    /// v_ε*.
    v: Vec<f64>,
    /// The ε-optimal greedy action sets (argmax of q computed from v_ε*).
    sets: Vec<Vec<usize>>,
}

/// Agent kinds that learn the values of the ε-greedy policy they follow.
const EPSILON_GREEDY_KINDS: &[&str] = &["mc-epsilon-greedy", "sarsa", "expected-sarsa", "n-step-sarsa"];

/// The ε-greedy optimum for an on-policy ε-greedy learner with a constant ε (`None` for
/// other kinds, an ε schedule, or a world too large to evaluate exactly).
fn epsilon_reference(world: &World, kind: &str, params: &toml::Table) -> Option<EpsilonReference> {
    if !EPSILON_GREEDY_KINDS.contains(&kind) {
        return None;
    }
    let epsilon = match params.get("epsilon") {
        None => 0.1,
        Some(toml::Value::Float(x)) => *x,
        Some(toml::Value::Integer(i)) => *i as f64,
        Some(_) => return None,
    };
    let m = world.model();
    if epsilon <= 0.0 || m.n_states() > EXACT_MAX_STATES {
        return None;
    }
    let (_, v) = crate::agents::mc::epsilon_greedy::epsilon_optimal(m, epsilon).ok()?;
    let sets = dp::optimal_action_sets(m, &v, 1e-6);
    Some(EpsilonReference { epsilon, v, sets })
}

/// ‖v of ε-greedy(actions) − v_ε*‖∞ over the non-fixed states (∞ when it cannot be evaluated).
fn epsilon_greedy_error(world: &World, r: &EpsilonReference, actions: &[usize]) -> f64 {
    let m = world.model();
    let pi = crate::agents::mc::epsilon_greedy::epsilon_greedy_policy(m.n_actions(), actions, r.epsilon);
    let cfg = dp::EvalConfig { method: dp::EvalMethod::Exact, ..Default::default() };
    match dp::evaluate(m, &pi, &cfg, None) {
        Ok(ev) => {
            (0..m.n_states()).filter(|&s| !m.is_fixed(s)).map(|s| (ev.values[s] - r.v[s]).abs()).fold(0.0, f64::max)
        }
        Err(_) => f64::INFINITY,
    }
}

/// Run a learning agent (TD, MC, or a registered custom kind) over every seed, in
/// parallel; each seed's streams derive from (experiment seed, run id), so the
/// results do not depend on the thread count.
pub fn run_learning(
    exp: &Experiment,
    v: &Variant,
    agent: &super::agents::ResolvedAgent,
    params: &toml::Table,
    out: &mut Outputs,
    progress: &Progress,
) -> Result<()> {
    use rayon::prelude::*;
    let Some(world) = &v.world else { return Err(Error::internal("learning agent without an env")) };
    let (p, cfg) = super::learning_settings(params, exp.spec.episodes)?;
    check_episodes(exp, agent, &cfg)?;
    let bar = progress.agent(&agent.name, exp.seeds.len() as u64);
    let results: Vec<crate::agents::train::SeedResult> = exp
        .seeds
        .par_iter()
        .map(|&id| {
            if interrupted() {
                return Err(Error::internal("interrupted"));
            }
            let r = crate::agents::train::run_seed(
                world,
                &agent.kind,
                &p,
                crate::util::derive_seed(exp.spec.seed, &[id]),
                &cfg,
            );
            progress.inc(1);
            bar.inc();
            r
        })
        .collect::<Result<Vec<_>>>()?;
    drop(bar);
    aggregate_learning(Some(world), agent, params, &cfg, exp, &results, &[], out)
}

/// Aggregate the per-seed results of a learning agent (tabular or approximating)
/// into the variant's tables, curves and summary. `world` is `None` for a
/// continuous env (no values, policies or policy metrics). `extra[i]` is merged
/// into seed `i`'s `per_seed` entry.
#[allow(clippy::too_many_arguments)]
fn aggregate_learning(
    world: Option<&World>,
    agent: &super::agents::ResolvedAgent,
    params: &toml::Table,
    cfg: &crate::agents::train::TrainConfig,
    exp: &Experiment,
    results: &[crate::agents::train::SeedResult],
    extra: &[serde_json::Value],
    out: &mut Outputs,
) -> Result<()> {
    let prediction = super::is_prediction_kind(&agent.kind);
    let v_pi = match (world, prediction) {
        (Some(w), true) => crate::agents::train::reference_for(w.model(), true).ok().map(|r| r.v),
        _ => None,
    };
    let mut seed_curves = Vec::new();
    let mut seed_lengths = Vec::new();
    let mut rmse_curves = Vec::new();
    let (mut pa, mut mpa, mut miou, mut verr, mut late) = (vec![], vec![], vec![], vec![], vec![]);
    let mut per_seed = Vec::new();
    let seeds = &exp.seeds;
    let y_col = if exp.spec.learning_curve.y == "length" { "length" } else { "return" };
    let mut vpi_err = Vec::new();
    let eps_opt = match world {
        Some(w) => epsilon_reference(w, &agent.kind, params),
        None => None,
    };
    let (mut g_pa, mut g_err) = (Vec::new(), Vec::new());
    let mut nonterminating = 0usize;
    for (i, (&id, r)) in seeds.iter().zip(results).enumerate() {
        let prefix = [("agent", Cell::from(agent.name.as_str())), ("seed", Cell::from(id))];
        if !r.episodes.is_empty() {
            out.episodes.extend_with_prefix(&r.episodes, &prefix);
        }
        if let Some(it) = &r.iterations {
            out.iterations.extend_with_prefix(it, &prefix);
            let x_col = match exp.spec.learning_curve.error_x.as_str() {
                "episodes" => "episode",
                "updates" => "update",
                _ => "step",
            };
            if let (Some(si), Some(ri)) = (it.column_index(x_col), it.column_index("rmse")) {
                let c: Vec<(u64, f64)> = it
                    .rows()
                    .filter_map(|row| match (&row[si], &row[ri]) {
                        (Cell::Int(s), Cell::Float(x)) => Some((*s as u64, *x)),
                        _ => None,
                    })
                    .collect();
                rmse_curves.push(c);
            }
        }
        if let Some(world) = world {
            push_values_policy(out, world, &agent.name, id, &r.values, Some(&r.greedy_actions));
        }
        // Learning curve: (cumulative steps, return or length) per episode.
        let column = |name: &str| -> Vec<(u64, f64)> {
            match (r.episodes.column_index(name), r.episodes.column_index("steps")) {
                (Some(ri), Some(si)) => r
                    .episodes
                    .rows()
                    .filter_map(|row| {
                        let y = match &row[ri] {
                            Cell::Float(x) => *x,
                            Cell::Int(i) => *i as f64,
                            _ => return None,
                        };
                        match &row[si] {
                            Cell::Int(s) => Some((*s as u64, y)),
                            _ => None,
                        }
                    })
                    .collect(),
                _ => vec![],
            }
        };
        let returns = column("return");
        if exp.spec.learning_curve.lengths {
            seed_lengths.push(column("length"));
        }
        let curve = if y_col == "return" { returns.clone() } else { column(y_col) };
        let tail = (returns.len() / 10).max(1).min(returns.len());
        let late_return = mean(&returns[returns.len() - tail..].iter().map(|c| c.1).collect::<Vec<_>>());
        let mut entry = json!({ "seed": id, "episodes": curve.len(), "late_mean_return": if curve.is_empty() { None } else { Some(late_return) } });
        if let (Some(vs), Some(world)) = (&out.v_star, world) {
            let m = crate::agents::dp::policy_metrics(world.model(), &r.greedy_actions, vs, 1e-6)?;
            // A seed stopped on a non-finite value counts as a failure (∞), like a greedy
            // policy that never terminates.
            let greedy_e = if r.diverged.is_some() || m.value_error.is_nan() { f64::INFINITY } else { m.value_error };
            if r.diverged.is_none() && m.value_error.is_infinite() {
                nonterminating += 1;
            }
            let (scores, e) = match &eps_opt {
                None => (m.scores.clone(), greedy_e),
                Some(eo) => {
                    // An ε-greedy learner is judged against the optimal ε-greedy policy.
                    let wm = world.model();
                    let sc = crate::metrics::policy_confusion(&eo.sets, &r.greedy_actions, wm.fixed(), wm.n_actions())?
                        .scores();
                    let e = epsilon_greedy_error(world, eo, &r.greedy_actions);
                    let e = if r.diverged.is_some() || e.is_nan() { f64::INFINITY } else { e };
                    g_pa.push(m.scores.pa);
                    g_err.push(greedy_e);
                    entry["greedy_optimum"] = json!({ "pa": m.scores.pa, "value_error_inf": json_num(greedy_e) });
                    (sc, e)
                }
            };
            pa.push(scores.pa);
            mpa.push(scores.mpa);
            miou.push(scores.miou);
            verr.push(e);
            entry["pa"] = json!(scores.pa);
            entry["mpa"] = json!(scores.mpa);
            entry["miou"] = json!(scores.miou);
            entry["fwiou"] = json!(scores.fwiou);
            entry["value_error_inf"] = json_num(e);
        }
        if let Some(d) = r.diverged {
            out.diverged.push(format!(
                "{}: agent `{}` seed {id}: a non-finite reward, return, loss, gradient or value at episode {}, step {}; that seed was stopped there, the other seeds ran to the end and everything before it is written (lower the step size, clip the gradients or scale the rewards)",
                exp.file.display(),
                agent.name,
                d.episode,
                d.step
            ));
            entry["diverged"] = json!({ "episode": d.episode, "step": d.step });
        }
        if let (Some(vp), Some(world)) = (&v_pi, world) {
            let m = world.model();
            let errs: Vec<f64> = (0..m.n_states()).filter(|&s| !m.is_fixed(s)).map(|s| r.values[s] - vp[s]).collect();
            let rmse = (errs.iter().map(|e| e * e).sum::<f64>() / errs.len().max(1) as f64).sqrt();
            let max = errs.iter().fold(0.0f64, |a, e| a.max(e.abs()));
            entry["value_error_vs_v_pi_rmse"] = json!(rmse);
            entry["value_error_vs_v_pi_inf"] = json!(max);
            vpi_err.push(rmse);
        }
        if let (Some(o), Some(serde_json::Value::Object(x))) = (entry.as_object_mut(), extra.get(i)) {
            for (k, v) in x {
                o.insert(k.clone(), v.clone());
            }
        }
        if !curve.is_empty() {
            late.push(late_return);
        }
        per_seed.push(entry);
        seed_curves.push(curve);
    }
    let mut summary = json!({
        "agent": agent.name,
        "kind": agent.kind,
        "seeds": seeds.len(),
        "episodes": cfg.episodes,
        "mean_late_return": if late.is_empty() { None } else { Some(mean(&late)) },
        "late_return_note": "mean return over the last 10% of episodes, averaged over seeds",
        "mean_pa": if pa.is_empty() { None } else { Some(mean(&pa)) },
        "mean_mpa": if mpa.is_empty() { None } else { Some(mean(&mpa)) },
        "mean_miou": if miou.is_empty() { None } else { Some(mean(&miou)) },
        "mean_value_error_inf": if verr.is_empty() { serde_json::Value::Null } else { json_num(mean(&verr)) },
        "median_value_error_inf": if verr.is_empty() { serde_json::Value::Null } else { json_num(median(&verr)) },
        "value_error_note": "‖v_π − v*‖∞ of each seed's greedy policy π over all seeds; a seed whose policy never terminates or that stopped on a non-finite value counts as \"inf\"",
        "seeds_with_nonterminating_policy": nonterminating,
        "seeds_diverged": results.iter().filter(|r| r.diverged.is_some()).count(),
        "per_seed": per_seed,
    });
    summary["reference"] = json!(if eps_opt.is_some() { "epsilon_optimal" } else { "optimal" });
    if let Some(eo) = &eps_opt {
        summary["epsilon"] = json!(eo.epsilon);
        summary["epsilon_optimal_start_value"] = json!(world.and_then(|w| w.starts().first().map(|&s| eo.v[s])));
        summary["value_error_note"] = json!("this agent follows an ε-greedy policy: pa/mpa/miou compare its greedy actions with the ε-optimal ones and value_error_inf is ‖v of its ε-greedy policy − v_ε*‖∞ (v_ε*: policy iteration over ε-greedy policies, exact evaluation); `greedy_optimum` compares the greedy policy with v*; a seed that stopped on a non-finite value counts as \"inf\"");
        summary["greedy_optimum"] = json!({
            "mean_pa": if g_pa.is_empty() { None } else { Some(mean(&g_pa)) },
            "mean_value_error_inf": json_num(mean(&g_err)),
            "median_value_error_inf": json_num(median(&g_err)),
        });
    }
    if prediction && !vpi_err.is_empty() {
        summary["mean_value_error_vs_v_pi_rmse"] = json!(mean(&vpi_err));
        summary["value_error_vs_v_pi_note"] =
            json!("RMSE of the estimated v against v of the uniform policy (exact), over non-fixed states");
    }
    out.summaries.push(summary);
    if let (Some(r), Some(_)) = (results.first(), world) {
        let note = format!(" (seed {})", seeds[0]);
        let name = agent.name.clone();
        if prediction {
            if let Some(vp) = &v_pi {
                if !out.heatmaps.iter().any(|h| h.0 == "v_pi") {
                    out.heatmaps.push(("v_pi".into(), " (uniform policy, exact)".into(), vp.clone(), None));
                }
            }
            out.heatmaps.push((name, note, r.values.clone(), None));
        } else {
            out.heatmaps.push((name, note, r.values.clone(), Some(r.greedy_actions.clone())));
        }
    }
    // A prediction agent's returns are those of the evaluated policy, not of anything it
    // learned (every agent on S&B's random walk sees the same episodes): its curve is the
    // value error (`value_error.png`), not the return.
    if !prediction && seed_curves.iter().any(|c| !c.is_empty()) {
        out.curves.push((agent.name.clone(), seed_curves));
    }
    if seed_lengths.iter().any(|c| !c.is_empty()) {
        out.length_curves.push((agent.name.clone(), seed_lengths));
    }
    if !rmse_curves.is_empty() {
        out.rmse.push((agent.name.clone(), rmse_curves));
    }
    Ok(())
}

/// The values and greedy actions of an approximating agent in every state of a
/// finite world (0 on fixed states).
fn approx_maps<A: crate::agents::approx::ObsAgent + ?Sized>(world: &World, agent: &mut A) -> (Vec<f64>, Vec<usize>) {
    let n = world.model().n_states();
    let mut x = vec![0.0; world.obs_spec().dim()];
    let mut values = Vec::with_capacity(n);
    let mut actions = Vec::with_capacity(n);
    for s in 0..n {
        world.observe_state(s, &mut x);
        values.push(agent.value(&x));
        actions.push(agent.greedy_action(&x));
    }
    crate::agents::train::clean(world.model(), values, actions)
}

/// Run an approximating agent (linear TD, Sarsa, Q-learning, policy gradient,
/// a registered kind) over every seed in parallel, on a finite world or a
/// continuous task. Writes `weights/<agent>_seed<k>.safetensors` per seed.
pub fn run_approx(
    exp: &Experiment,
    v: &Variant,
    agent: &super::agents::ResolvedAgent,
    params: &toml::Table,
    dir: &Path,
    out: &mut Outputs,
    progress: &Progress,
) -> Result<()> {
    use crate::agents::approx::{self, ObsAgent};
    use crate::agents::train::{StartMode, SAFETY_EPISODE_CAP};
    use rayon::prelude::*;
    let Some(env) = &v.env else { return Err(Error::internal("approximating agent without an env")) };
    let world = env.finite();
    let spec = env.obs_spec();
    let (p, mut cfg) = super::learning_settings(params, exp.spec.episodes)?;
    check_episodes(exp, agent, &cfg)?;
    let cx = approx::AgentContext {
        spec: &spec,
        n_actions: env.n_actions(),
        gamma: env.gamma(),
        env: Some(env),
        file: None,
    };
    let build = || approx::build_in(&agent.kind, &p, &cx);
    if cfg.max_episode_steps.is_none() && env.max_steps().is_none() && build()?.max_episode_steps().is_none() {
        if let Some(w) = world {
            let m = w.model();
            let reach = m.can_terminate(None);
            if let Some(s0) = (0..m.n_states()).find(|&s| !reach[s]) {
                return Err(Error::input(format!(
                    "{}: agent `{}` on `{}`: episodes that reach {} can never terminate; set a step cap (max_episode_steps, the env's max_steps, or the agent's episode_length)",
                    exp.file.display(),
                    agent.name,
                    w.name,
                    w.state_label(s0)
                )));
            }
        }
        // A greedy agent can still loop forever: truncate at a safety cap.
        cfg.max_episode_steps = Some(SAFETY_EPISODE_CAP);
    }
    let starts = match (cfg.start, world) {
        (StartMode::Uniform, Some(w)) => Some(crate::agents::train::uniform_starts(w.model())),
        _ => None,
    };
    let prediction = super::is_prediction_kind(&agent.kind);
    let reference = match (cfg.eval_every, world) {
        (Some(_), Some(w)) => Some(crate::agents::train::reference_for(w.model(), prediction)?),
        _ => None,
    };
    let bar = progress.agent(&agent.name, exp.seeds.len() as u64);
    type SeedOut = (crate::agents::train::SeedResult, Vec<approx::NamedTensor>, Option<(usize, u64)>, Vec<(u64, f64)>);
    // Agents that probe themselves (DQN) are compared with v* and its optimal sets.
    let probe_reference = match (reference.is_none(), world) {
        (true, Some(w)) => crate::agents::train::reference_for(w.model(), prediction).ok(),
        _ => None,
    };
    let results: Vec<SeedOut> = exp
        .seeds
        .par_iter()
        .map(|&id| -> Result<SeedOut> {
            if interrupted() {
                return Err(Error::internal("interrupted"));
            }
            let seed = crate::util::derive_seed(exp.spec.seed, &[id]);
            let mut a = build()?;
            let mut e = env.make_obs_env();
            let mut it = Table::new(&["step", "episode", "rmse", "max_error", "pa", "mpa", "miou"]);
            let mut losses_of_seed: Vec<(u64, f64)> = vec![];
            let mut probed = false;
            let records = approx::train_obs(&mut *e, &mut a, &cfg, seed, starts.as_deref(), |step, ep, a| {
                if let (Some(r), Some(w)) = (&reference, world) {
                    let (vals, acts) = approx_maps(w, a);
                    let mut cells = vec![step.into(), ep.into()];
                    cells.extend(crate::agents::train::progress_row(w.model(), r, &vals, &acts));
                    it.push(cells);
                }
            });
            if !a.losses().is_empty() || !a.snapshots().is_empty() {
                it = Table::new(&["update", "td_loss", "rmse", "max_error", "pa", "mpa", "miou"]);
                let reference = reference.as_ref().or(probe_reference.as_ref());
                // One row per update: its loss, and the probe metrics where a snapshot was taken
                // (update 0 is the untrained network).
                let mut rows: std::collections::BTreeMap<u64, (Option<f64>, Option<usize>)> = Default::default();
                for &(u, loss) in a.losses() {
                    rows.entry(u).or_default().0 = Some(loss);
                }
                for (k, sn) in a.snapshots().iter().enumerate() {
                    rows.entry(sn.0).or_default().1 = Some(k);
                }
                for (u, (loss, snap)) in rows {
                    let mut cells: Vec<Cell> = vec![u.into(), loss.map_or(Cell::Empty, Cell::from)];
                    match (snap.map(|k| &a.snapshots()[k]), reference, world) {
                        (Some(sn), Some(r), Some(w)) => {
                            let (vals, acts) = crate::agents::train::clean(w.model(), sn.1.clone(), sn.2.clone());
                            cells.extend(crate::agents::train::progress_row(w.model(), r, &vals, &acts));
                        }
                        _ => cells.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]),
                    }
                    it.push(cells);
                }
                losses_of_seed = a.losses().to_vec();
                probed = true;
            }
            let diverged = a.diverged().then(|| {
                let last = records.last().map_or((0, 0), |r| (r.episode, r.length));
                (last.0, last.1)
            });
            let (values, greedy_actions) = match world {
                Some(w) => approx_maps(w, &mut a),
                None => (vec![], vec![]),
            };
            progress.inc(1);
            bar.inc();
            let res = crate::agents::train::SeedResult {
                episodes: crate::agents::train::episodes_table(&records),
                greedy_actions,
                values,
                q: None,
                iterations: if probed || (cfg.eval_every.is_some() && reference.is_some()) { Some(it) } else { None },
                diverged: diverged.map(|(episode, step)| crate::agents::train::Divergence { episode, step }),
            };
            Ok((res, a.tensors(), diverged, losses_of_seed))
        })
        .collect::<Result<Vec<_>>>()?;
    drop(bar);
    let wdir = dir.join("weights");
    let loss_curves: Vec<crate::plot::learning::SeedCurve> = results.iter().map(|r| r.3.clone()).collect();
    if loss_curves.iter().any(|c| c.len() > 1) {
        out.loss_curves.push((agent.name.clone(), loss_curves));
    }
    for (&id, (_, tensors, _, _)) in exp.seeds.iter().zip(&results) {
        if !tensors.is_empty() {
            ensure_writable_dir(&wdir)?;
            let path = wdir.join(format!("{}_seed{id}.safetensors", slug(&agent.name)));
            let t: Vec<(String, Vec<usize>, Vec<f64>)> =
                tensors.iter().map(|t| (t.name.clone(), t.shape.clone(), t.data.clone())).collect();
            crate::data::tensors::write_f64_tensors(&path, &t)?;
            out.files.push(path);
        }
    }
    let seed_results: Vec<crate::agents::train::SeedResult> = results.into_iter().map(|r| r.0).collect();
    aggregate_learning(world, agent, params, &cfg, exp, &seed_results, &[], out)
}

/// A gridworld as the plain data [`crate::plot::grid`] draws.
pub fn grid_map(g: &crate::env::Grid) -> GridMap {
    let n = g.height * g.width;
    let state = |rc: [usize; 2]| rc[0] * g.width + rc[1];
    GridMap {
        height: g.height,
        width: g.width,
        cells: g.cells.clone(),
        fixed: (0..n).map(|s| g.model.is_fixed(s)).collect(),
        dirs: g.dirs.iter().map(|d| (d.dr, d.dc)).collect(),
        starts: g.starts.clone(),
        teleports: g.spec.teleports.iter().map(|t| (state(t.from), state(t.to))).collect(),
        wind: g.spec.dynamics.wind.clone(),
    }
}

/// Every action tied with the best one-step lookahead on `values`, per state,
/// where that set holds the drawn action `actions[s]` (else just that action):
/// heatmaps draw them all, as Sutton & Barto Fig. 3.5.
pub fn tied_actions(world: &World, values: &[f64], actions: &[usize]) -> Vec<Vec<usize>> {
    let scale = values.iter().copied().filter(|v| v.is_finite()).fold(1.0f64, |m, v| m.max(v.abs()));
    let sets = dp::policy::optimal_action_sets(world.model(), values, 1e-6 * scale);
    sets.into_iter().zip(actions).map(|(set, &a)| if set.contains(&a) { set } else { vec![a] }).collect()
}

/// The SA runs of a variant as the plain series [`crate::plot::sa::plot`] draws.
pub fn sa_series(runs: &[(String, u64, crate::agents::sa::SaRun)]) -> Vec<crate::plot::sa::SaSeries> {
    runs.iter()
        .map(|(label, seed, r)| crate::plot::sa::SaSeries {
            label: label.clone(),
            seed: *seed,
            truth: r.truth.clone(),
            trajectory: r.trajectory.clone(),
            samples: r.samples.clone(),
            true_mean: r.summary.get("true_mean").and_then(|v| serde_json::from_value::<[f64; 2]>(v.clone()).ok()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{load::load_doc, LoadOptions};

    /// A run whose second variant fails leaves the output directory as it was:
    /// missing stays missing, empty stays empty, and no staging directory is left.
    #[test]
    fn an_error_in_a_later_variant_leaves_nothing_behind() {
        let env = concat!(env!("CARGO_MANIFEST_DIR"), "/envs/zhao_5x5.toml");
        let text = format!(
            "name = \"t\"\n[env]\npath = \"{env}\"\n[[agents]]\nkind = \"value-iteration\"\n[[variants]]\nname = \"a\"\n[[variants]]\nname = \"b\"\n"
        );
        let root = std::env::temp_dir().join(format!("rlkit-stage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        for pre_existing in [false, true] {
            let out = root.join(format!("out{pre_existing}"));
            if pre_existing {
                std::fs::create_dir(&out).unwrap();
            }
            let opts = LoadOptions { out: Some(out.clone()), ..Default::default() };
            let doc = crate::config::Doc::from_str(root.join("exp.toml"), &text).unwrap();
            let mut exp = load_doc(doc, &root.join("exp.toml"), &opts).unwrap();
            // Variant `b` fails at run time (after `a` has written all its files).
            exp.variants[1].agents[0].kind = "no-such-kind".into();
            exp.variants[1].agents[0].job = AgentJob::Other(toml::Table::new());
            let e = run(&exp, &RunOptions::default()).unwrap_err();
            assert!(e.to_string().contains("variant `b`, agent `value-iteration`"), "{e}");
            assert_eq!(out.exists(), pre_existing);
            if pre_existing {
                assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "the empty directory stays empty");
            }
            let left: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert!(left.iter().all(|n| !n.to_string_lossy().contains("staging")), "{left:?}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
