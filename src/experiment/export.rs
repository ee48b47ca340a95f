//! Trajectory export: every transition of a finished run as TFRecord files of
//! `tf.train.Example`s (`rlkit export RUN_DIR --format tfrecord`, or
//! `[output] trajectories = "tfrecord"` in an experiment).
//!
//! The training loops are deterministic per (experiment seed, run id), so a
//! run is *replayed* from its `config.resolved.toml` (plus the episode counts
//! in its `summary.json`) with a per-step hook
//! ([`crate::agents::train::train_with_steps`],
//! [`crate::agents::approx::train_obs_with_steps`]). The replay's episode
//! returns and lengths are checked against the run's `episodes.csv`, so a file
//! is never silently different from the run it claims to record.
//!
//! Output: `RUN_DIR/trajectories/<agent>_seed<k>.tfrecord` (one per variant
//! directory when the experiment has variants), one `Example` per transition:
//!
//! | key | type | value |
//! |---|---|---|
//! | `agent` | bytes | the agent's name |
//! | `seed` | int64 | the run id k |
//! | `episode`, `step` | int64 | 1-based episode, 1-based step within it |
//! | `state`, `next_state` | int64 | state indices (−1 on a continuous task) |
//! | `action` | int64 | the action index |
//! | `reward` | float | R_{t+1} |
//! | `terminated`, `truncated` | int64 | 0 or 1 (`truncated` includes the step cap) |
//! | `observation`, `next_observation` | float | approximating agents: the raw observation (see [`crate::env::obs`]) |
//! | `observation_shape` | int64 | approximating agents: `[dim]` |
//!
//! Floats are stored as f32 (the `FloatList` type). A file holds at most
//! [`MAX_TRANSITIONS_PER_FILE`] transitions; a run beyond that is refused
//! before anything is written.

use std::path::{Path, PathBuf};

use crate::agents::train::{EpisodeRecord, TrainConfig};
use crate::data::example::{Example, Value};
use crate::data::tfrecord::Writer;
use crate::experiment::agents::AgentJob;
use crate::experiment::schema::slug;
use crate::{Error, Result};

/// The most transitions one exported file (one agent, one seed) may hold
/// (about 0.2–0.5 GB of TFRecord).
pub const MAX_TRANSITIONS_PER_FILE: u64 = 2_000_000;

/// What [`export_run`] wrote.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// Files written, with their record counts.
    pub files: Vec<(PathBuf, u64)>,
    /// Agents with no transitions to export (dynamic programming, stochastic
    /// approximation, episode-based Monte Carlo), with the reason.
    pub skipped: Vec<String>,
}

/// Export every transition of the run in `run_dir` (see the module docs).
pub fn export_run(run_dir: &Path) -> Result<ExportReport> {
    let d = run_dir.display();
    let cfg_path = run_dir.join("config.resolved.toml");
    let summary_path = run_dir.join("summary.json");
    let summary: serde_json::Value = match std::fs::read_to_string(&summary_path) {
        Ok(t) => serde_json::from_str(&t)
            .map_err(|e| Error::input(format!("{}: not valid JSON: {e}", summary_path.display())))?,
        Err(_) => {
            return Err(Error::input(format!(
                "{d}: no summary.json; give the output directory of a finished `rlkit run`"
            )))
        }
    };
    if !cfg_path.exists() {
        // An experiment with variants: one directory per variant.
        let Some(vars) = summary.get("variants").and_then(|v| v.as_array()) else {
            return Err(Error::input(format!(
                "{d}: no config.resolved.toml; give the output directory of a finished `rlkit run`"
            )));
        };
        let mut rep = ExportReport::default();
        for v in vars {
            let name = v.get("variant").and_then(|n| n.as_str()).unwrap_or_default();
            let r = export_run(&run_dir.join(slug(name)))?;
            rep.files.extend(r.files);
            rep.skipped.extend(r.skipped);
        }
        return Ok(rep);
    }
    let text = crate::config::read_text(&cfg_path)?;
    // Replayed in place: errors point into the run's config.resolved.toml, and an env
    // file recorded by path + sha256 is found and checked as `rlkit run` would.
    let mut doc = crate::config::Doc::from_str(&cfg_path, &text)?;
    doc.table.remove("variant");
    let opts = crate::experiment::LoadOptions { out: Some(run_dir.to_path_buf()), ..Default::default() };
    let loaded = crate::experiment::load::load_doc(doc, &cfg_path, &opts);
    let exp = loaded.map_err(|e| Error::input(format!("{}: cannot replay: {e}", cfg_path.display())))?;
    let v = exp.variants.first().ok_or_else(|| Error::internal("no variant"))?;
    let episodes_csv = std::fs::read_to_string(run_dir.join("episodes.csv")).unwrap_or_default();
    let mut rep = ExportReport::default();
    let out_dir = run_dir.join("trajectories");
    for agent in &v.agents {
        let AgentJob::Other(params) = &agent.job else {
            rep.skipped.push(format!("{}: dynamic programming (no transitions)", agent.name));
            continue;
        };
        let approx = crate::experiment::is_approx_kind(&agent.kind);
        let step_based = crate::agents::train::is_registered(&agent.kind);
        if !approx && !step_based {
            rep.skipped.push(format!("{}: kind `{}` is not step-based (no transitions)", agent.name, agent.kind));
            continue;
        }
        let (p, mut cfg) = crate::experiment::learning_settings(params, None)?;
        let recorded = summary
            .get("agents")
            .and_then(|a| a.as_array())
            .and_then(|a| a.iter().find(|s| s.get("agent").and_then(|n| n.as_str()) == Some(agent.name.as_str())))
            .and_then(|s| s.get("episodes"))
            .and_then(|e| e.as_u64());
        if let Some(n) = recorded {
            cfg.episodes = n as usize;
        }
        check_size(run_dir, &agent.name, &episodes_csv)?;
        crate::util::ensure_writable_dir(&out_dir)?;
        for &id in &exp.seeds {
            let seed = crate::util::derive_seed(exp.spec.seed, &[id]);
            let path = out_dir.join(format!("{}_seed{id}.tfrecord", slug(&agent.name)));
            let mut sink = Sink::create(&path, &agent.name, id)?;
            let records = if approx {
                let env = v.env.as_ref().ok_or_else(|| Error::internal("approximating agent without an env"))?;
                replay_approx(env, &agent.kind, &p, seed, &cfg, &mut sink)
            } else {
                let world = v.world.as_ref().ok_or_else(|| Error::internal("learning agent without an env"))?;
                replay_tabular(world, &agent.kind, &p, seed, &cfg, &mut sink)
            };
            let records = match records {
                Ok(r) => r,
                Err(e) => {
                    sink.abandon();
                    return Err(e);
                }
            };
            if let Err(e) = check_replay(run_dir, &agent.name, id, &records, &episodes_csv) {
                sink.abandon();
                return Err(e);
            }
            let n = sink.finish()?;
            rep.files.push((path, n));
        }
    }
    Ok(rep)
}

/// Refuse before replaying when `episodes.csv` says an agent's runs are too long.
fn check_size(run_dir: &Path, agent: &str, episodes_csv: &str) -> Result<()> {
    let mut rdr = csv::Reader::from_reader(episodes_csv.as_bytes());
    for rec in rdr.records().flatten() {
        if rec.get(0) == Some(agent) {
            if let Some(steps) = rec.get(5).and_then(|s| s.parse::<u64>().ok()) {
                if steps > MAX_TRANSITIONS_PER_FILE {
                    return Err(Error::input(format!(
                        "{}: agent `{agent}` seed {} has {steps} transitions, more than the export limit of {MAX_TRANSITIONS_PER_FILE} per file; export a run with fewer episodes",
                        run_dir.display(),
                        rec.get(1).unwrap_or("?")
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The replay must reproduce the run's `episodes.csv` rows exactly.
fn check_replay(run_dir: &Path, agent: &str, id: u64, records: &[EpisodeRecord], episodes_csv: &str) -> Result<()> {
    if episodes_csv.is_empty() {
        return Ok(());
    }
    let t = crate::agents::train::episodes_table(records)
        .with_prefix(&[("agent", agent.into()), ("seed", crate::data::table::Cell::from(id))]);
    let mine = t.to_csv_string();
    let mine: Vec<&str> = mine.lines().skip(1).collect();
    let prefix = mine.first().map(|l| {
        let cut = l.match_indices(',').nth(1).map_or(l.len(), |(i, _)| i + 1);
        l[..cut].to_string()
    });
    let Some(prefix) = prefix else { return Ok(()) };
    let theirs: Vec<&str> = episodes_csv.lines().filter(|l| l.starts_with(&prefix)).collect();
    if theirs != mine {
        return Err(Error::input(format!(
            "{}: replaying agent `{agent}` seed {id} did not reproduce episodes.csv ({} vs {} episodes); was the run made by another rlkit version or edited?",
            run_dir.display(),
            mine.len(),
            theirs.len()
        )));
    }
    Ok(())
}

/// Streams Examples into a temporary file ([`crate::util::temp_beside`]),
/// renamed into place by [`Sink::finish`]; dropped unfinished, it is removed.
struct Sink {
    path: PathBuf,
    tmp: PathBuf,
    w: Option<Writer<std::io::BufWriter<tempfile::NamedTempFile>>>,
    agent: Vec<u8>,
    seed: i64,
    err: Option<String>,
}

impl Sink {
    fn create(path: &Path, agent: &str, seed: u64) -> Result<Sink> {
        let f = crate::util::temp_beside(path).map_err(|e| {
            Error::input(format!("{}: cannot write: {e}; choose a writable run directory", path.display()))
        })?;
        Ok(Sink {
            path: path.to_path_buf(),
            tmp: f.path().to_path_buf(),
            w: Some(Writer::new(std::io::BufWriter::with_capacity(1 << 20, f))),
            agent: agent.as_bytes().to_vec(),
            seed: seed as i64,
            err: None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        episode: usize,
        step: u64,
        state: i64,
        action: usize,
        reward: f64,
        next_state: i64,
        terminated: bool,
        truncated: bool,
        obs: Option<(&[f64], &[f64])>,
    ) {
        let Some(w) = self.w.as_mut() else { return };
        if self.err.is_some() {
            return;
        }
        if w.records() >= MAX_TRANSITIONS_PER_FILE {
            self.err = Some(format!(
                "{}: more than {MAX_TRANSITIONS_PER_FILE} transitions, the export limit per file; export a run with fewer episodes",
                self.path.display()
            ));
            return;
        }
        let mut ex = Example::default();
        ex.insert("agent", Value::Bytes(vec![self.agent.clone()]));
        ex.insert("seed", Value::Int(vec![self.seed]));
        ex.insert("episode", Value::Int(vec![episode as i64]));
        ex.insert("step", Value::Int(vec![step as i64]));
        ex.insert("state", Value::Int(vec![state]));
        ex.insert("action", Value::Int(vec![action as i64]));
        ex.insert("reward", Value::Float(vec![reward as f32]));
        ex.insert("next_state", Value::Int(vec![next_state]));
        ex.insert("terminated", Value::Int(vec![terminated as i64]));
        ex.insert("truncated", Value::Int(vec![truncated as i64]));
        if let Some((o, o2)) = obs {
            ex.insert("observation", Value::Float(o.iter().map(|&x| x as f32).collect()));
            ex.insert("next_observation", Value::Float(o2.iter().map(|&x| x as f32).collect()));
            ex.insert("observation_shape", Value::Int(vec![o.len() as i64]));
        }
        if let Err(e) = w.write_record(&ex.encode_to_vec()) {
            self.err = Some(format!("{}: cannot write: {e}", self.tmp.display()));
        }
    }

    fn abandon(&mut self) {
        // Dropping the temporary file removes it.
        self.w = None;
    }

    fn finish(mut self) -> Result<u64> {
        if let Some(e) = self.err.take() {
            self.abandon();
            return Err(Error::input(e));
        }
        let w = self.w.take().ok_or_else(|| Error::internal("sink already closed"))?;
        let n = w.records();
        let done = (|| -> std::io::Result<()> {
            let f = w.into_inner().into_inner().map_err(|e| e.into_error())?;
            f.as_file().sync_all()?;
            f.persist(&self.path).map_err(|e| e.error)?;
            Ok(())
        })();
        done.map_err(|e| Error::input(format!("{}: cannot write: {e}", self.path.display())))?;
        Ok(n)
    }
}

/// Replay a step-based tabular agent exactly as [`crate::agents::train::run_seed`] runs it.
fn replay_tabular(
    world: &crate::env::World,
    kind: &str,
    params: &toml::Table,
    seed: u64,
    cfg: &TrainConfig,
    sink: &mut Sink,
) -> Result<Vec<EpisodeRecord>> {
    use crate::agents::train::{build, train_with_steps, SAFETY_EPISODE_CAP};
    let m = world.model();
    let mut agent = build(kind, params, m.n_states(), m.n_actions(), m.gamma)?;
    let mut cfg = cfg.clone();
    if cfg.max_episode_steps.is_none() && world.max_steps().is_none() && agent.max_episode_steps().is_none() {
        cfg.max_episode_steps = Some(SAFETY_EPISODE_CAP);
    }
    let mut env = world.make_env();
    Ok(train_with_steps(
        &mut env,
        &mut agent,
        &cfg,
        seed,
        |_, _, _| {},
        |ep, step, t| {
            sink.push(
                ep,
                step,
                t.state as i64,
                t.action,
                t.reward,
                t.next_state as i64,
                t.terminated,
                t.truncated,
                None,
            )
        },
    ))
}

/// Replay an approximating agent exactly as [`crate::experiment::runner::run_approx`] runs it.
fn replay_approx(
    env: &crate::env::LoadedEnv,
    kind: &str,
    params: &toml::Table,
    seed: u64,
    cfg: &TrainConfig,
    sink: &mut Sink,
) -> Result<Vec<EpisodeRecord>> {
    use crate::agents::approx::{build, train_obs_with_steps, ObsAgent};
    use crate::agents::train::{StartMode, SAFETY_EPISODE_CAP};
    let world = env.finite();
    let mut agent = build(kind, params, &env.obs_spec(), env.n_actions(), env.gamma())?;
    let mut cfg = cfg.clone();
    if cfg.max_episode_steps.is_none() && env.max_steps().is_none() && agent.max_episode_steps().is_none() {
        cfg.max_episode_steps = Some(SAFETY_EPISODE_CAP);
    }
    let starts = match (cfg.start, world) {
        (StartMode::Uniform, Some(w)) => Some(crate::agents::train::uniform_starts(w.model())),
        _ => None,
    };
    let finite = world.is_some();
    let mut e = env.make_obs_env();
    // A finite world's observation starts with the state index ([s, row, col] or [s]).
    let index = |o: &[f64]| if finite { o.first().map_or(-1, |&s| s as i64) } else { -1 };
    Ok(train_obs_with_steps(
        &mut *e,
        &mut agent,
        &cfg,
        seed,
        starts.as_deref(),
        |_, _, _| {},
        |ep, step, t| {
            sink.push(
                ep,
                step,
                index(t.obs),
                t.action,
                t.reward,
                index(t.next_obs),
                t.terminated,
                t.truncated,
                Some((t.obs, t.next_obs)),
            )
        },
    ))
}

/// What `rlkit inspect` reports about a TFRecord file of Examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// Number of records.
    pub records: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// Every feature key with its type (`bytes`, `float`, `int64`), and the
    /// number of records that have it.
    pub keys: std::collections::BTreeMap<String, (String, u64)>,
}

/// Read every record of `path` (checking both CRCs) and collect its feature keys.
/// A damaged file, or a record that is not a `tf.train.Example`, is an
/// [`Error::Input`] of one line naming the file, record number and byte offset.
pub fn inspect(path: &Path) -> Result<Inspection> {
    let mut r = crate::data::tfrecord::open(path)?;
    let mut ins = Inspection::default();
    let mut buf = Vec::new();
    loop {
        let offset = r.offset();
        match r.read_into(&mut buf) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(Error::input(format!("{}: {e}", path.display()))),
        }
        let ex = Example::decode(&buf).map_err(|e| {
            Error::input(format!(
                "{}: record {} at byte offset {offset}: not a tf.train.Example ({e})",
                path.display(),
                ins.records
            ))
        })?;
        if let Some(f) = &ex.features {
            for (k, v) in &f.feature {
                let e = ins.keys.entry(k.clone()).or_insert_with(|| (v.type_name().to_string(), 0));
                if e.0 != v.type_name() {
                    e.0 = "mixed".into();
                }
                e.1 += 1;
            }
        }
        ins.records += 1;
        ins.bytes = r.offset();
    }
    Ok(ins)
}
