//! Sweeps: a `[sweep]` grid over experiment keys, one directory per run,
//! deterministic shards (SLURM job arrays), resume, and merge.
//!
//! ```toml
//! [sweep]
//! "agents[0].alpha" = [0.1, 0.5]
//! "agents[0].epsilon" = [0.05, 0.1]
//! ```
//!
//! - **Points** are the Cartesian product of the values, keys in sorted order,
//!   the last key varying fastest. A **run** is (point, seed id); runs are
//!   numbered point-major, then by seed.
//! - A run's **id** is the FNV-1a 64-bit hash (mixed, 16 hex digits) of its
//!   canonical resolved config (`config.resolved.toml` of the point, which
//!   holds the env inline, so env files count by content) and its seed id.
//! - Each run is an ordinary single-seed run of the point in
//!   `OUT/runs/<id>/`, finished by a `DONE` marker written last by atomic rename
//!   (it records the run's number, point, overrides, seed and the plan hash).
//! - `--shard I/N` runs the runs whose number ≡ I − 1 (mod N) (round robin);
//!   `--resume` skips runs with `DONE`.
//! - [`merge`] concatenates the runs' CSVs in run order (prefixed by `run`,
//!   `point` and one column per sweep key), and writes `summary.json` and
//!   `plots/sweep.png`; an unsharded run merges its own runs the same way, so
//!   merged shards equal the unsharded run byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::{LoadOptions, ProgressMode, RunOptions};
use crate::config::Doc;
use crate::util::{atomic_write, ensure_writable_dir};
use crate::{Error, Result};

/// The most runs one sweep may have.
pub const MAX_RUNS: usize = 100_000;

/// The CSV files a merge concatenates (`timings.csv` differs between identical runs and is left out).
pub const MERGED_CSVS: &[&str] = &["iterations.csv", "episodes.csv", "values.csv", "policy.csv"];

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    /// 0-based run number (point-major, then seed).
    pub index: usize,
    /// Stable id (16 hex digits).
    pub id: String,
    /// 0-based grid point.
    pub point: usize,
    /// The point's overrides, in key order.
    pub overrides: Vec<(String, toml::Value)>,
    /// The seed id.
    pub seed: u64,
}

/// A sweep's runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The experiment file.
    pub file: PathBuf,
    /// Experiment name.
    pub name: String,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Whether `out_dir` is the default `runs/<name>` (the CLI then uses a
    /// timestamped subdirectory, or `runs/<name>/latest` with `--resume`).
    pub out_default: bool,
    /// The sweep keys, sorted.
    pub keys: Vec<String>,
    /// Every run, in order.
    pub runs: Vec<SweepRun>,
    /// Hash of every run id (identifies the plan in `DONE` markers).
    pub hash: String,
    base_sets: Vec<(String, String)>,
}

/// FNV-1a, 64 bits, finished with a SplitMix64 mix (so near-identical inputs
/// get unrelated ids), as 16 hex digits.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:016x}", crate::util::derive_seed(h, &[]))
}

/// The `[sweep]` table of `file`, if it has one, as (key, values) sorted by key.
/// The `[sweep]` keys with their values, sorted by key.
type SweepTable = Vec<(String, Vec<toml::Value>)>;

fn sweep_table(file: &Path) -> Result<Option<SweepTable>> {
    let doc = Doc::load(file)?;
    let Some(v) = doc.table.get("sweep") else { return Ok(None) };
    let seg = |k: &str| crate::config::Seg::Key(k.into());
    let Some(t) = v.as_table() else {
        return Err(
            doc.error_at(&[seg("sweep")], "must be a table of KEY = [values], e.g. \"agents[0].alpha\" = [0.1, 0.5]")
        );
    };
    let mut out = Vec::new();
    for (k, vals) in t {
        let Some(a) = vals.as_array().filter(|a| !a.is_empty()) else {
            return Err(doc.error_at(&[seg("sweep"), seg(k)], "must be a non-empty array of values, e.g. [0.1, 0.5]"));
        };
        if matches!(k.split(['.', '[']).next(), Some("seeds" | "sweep" | "out_dir" | "name" | "variants")) {
            return Err(doc.error_at(
                &[seg("sweep"), seg(k)],
                "cannot be swept; sweep experiment keys such as agents[0].alpha or env.gamma (seeds come from `seeds`)",
            ));
        }
        crate::config::parse_key(k).map_err(|e| doc.error_at(&[seg("sweep"), seg(k)], &e.to_string()))?;
        out.push((k.clone(), a.clone()));
    }
    if out.is_empty() {
        return Err(doc.error_at(&[seg("sweep")], "is empty; give at least one KEY = [values]"));
    }
    Ok(Some(out))
}

/// Plan the sweep of `file` (`None` when it has no `[sweep]`). Every point is
/// loaded and validated, so an unknown sweep key is an [`Error::Input`] naming it.
pub fn plan(file: &Path, opts: &LoadOptions) -> Result<Option<Plan>> {
    let Some(table) = sweep_table(file)? else { return Ok(None) };
    let n_points: usize =
        table.iter().map(|t| t.1.len()).try_fold(1usize, |a, n| a.checked_mul(n)).unwrap_or(usize::MAX);
    if n_points > MAX_RUNS {
        return Err(Error::input(format!("{}: [sweep] has {n_points} points, more than {MAX_RUNS}", file.display())));
    }
    let base = super::load(file, opts)?;
    let mut runs = Vec::new();
    for p in 0..n_points {
        // Mixed radix, last key fastest.
        let mut rem = p;
        let mut overrides = vec![];
        for (k, vals) in table.iter().rev() {
            overrides.push((k.clone(), vals[rem % vals.len()].clone()));
            rem /= vals.len();
        }
        overrides.reverse();
        let mut o = opts.clone();
        o.sets.extend(overrides.iter().map(|(k, v)| (k.clone(), v.to_string())));
        let exp = super::load(file, &o).map_err(|e| {
            let what = overrides.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
            Error::input(format!("{}: [sweep] point {what}: {e}", file.display()))
        })?;
        let mut canon = String::new();
        for v in &exp.variants {
            canon.push_str(&toml::to_string(&v.resolved).map_err(|e| Error::internal(e.to_string()))?);
        }
        for &seed in &exp.seeds {
            let id = fnv1a_hex(format!("{canon}\nseed = {seed}\n").as_bytes());
            runs.push(SweepRun { index: runs.len(), id, point: p, overrides: overrides.clone(), seed });
        }
        if runs.len() > MAX_RUNS {
            return Err(Error::input(format!("{}: the sweep has more than {MAX_RUNS} runs", file.display())));
        }
    }
    let mut seen = BTreeSet::new();
    for r in &runs {
        if !seen.insert(r.id.clone()) {
            return Err(Error::input(format!(
                "{}: [sweep] gives two runs the same config (id {}); remove repeated values",
                file.display(),
                r.id
            )));
        }
    }
    let hash = fnv1a_hex(runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(",").as_bytes());
    Ok(Some(Plan {
        file: file.to_path_buf(),
        name: base.spec.name.clone(),
        out_dir: base.out_dir.clone(),
        out_default: base.out_default,
        keys: table.iter().map(|t| t.0.clone()).collect(),
        runs,
        hash,
        base_sets: opts.sets.clone(),
    }))
}

/// A shard `I/N` (1 ≤ I ≤ N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Parse `I/N`.
    ///
    /// ```
    /// use rlkit::experiment::sweep::Shard;
    /// assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
    /// assert!(Shard::parse("3/2").is_err() && Shard::parse("0/0").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error::input(format!("--shard {s}: expected I/N with 1 <= I <= N, e.g. --shard 1/4"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (i, n) = (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if n == 0 || i == 0 || i > n {
            return Err(bad());
        }
        Ok(Shard { index: i, count: n })
    }

    /// The shard of a SLURM array task, from `SLURM_ARRAY_TASK_ID`, `_MIN`,
    /// `_STEP` (default 1) and `_COUNT` (and `_MAX` when set); `None` outside an
    /// array. An array that is not an evenly stepped range is an error.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let Some(id) = var("SLURM_ARRAY_TASK_ID") else { return Ok(None) };
        let num = |k: &str| -> Result<Option<i64>> {
            match var(k) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| Error::input(format!("{k}={v}: not a whole number; pass --shard I/N explicitly"))),
            }
        };
        let id: i64 = id.trim().parse().map_err(|_| {
            Error::input(format!("SLURM_ARRAY_TASK_ID={id}: not a whole number; pass --shard I/N explicitly"))
        })?;
        let (Some(min), Some(count)) = (num("SLURM_ARRAY_TASK_MIN")?, num("SLURM_ARRAY_TASK_COUNT")?) else {
            return Err(Error::input(
                "SLURM array task without SLURM_ARRAY_TASK_MIN/COUNT; pass --shard I/N explicitly",
            ));
        };
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1);
        let max = num("SLURM_ARRAY_TASK_MAX")?;
        let even = step >= 1
            && count >= 1
            && id >= min
            && (id - min) % step == 0
            && (id - min) / step < count
            && max.is_none_or(|m| m == min + step * (count - 1));
        if !even {
            return Err(Error::input(format!(
                "SLURM array (task {id}, min {min}, step {step}, count {count}{}) is not an evenly stepped range; submit with --array=1-N (or A-B:S), or pass --shard I/N explicitly",
                max.map(|m| format!(", max {m}")).unwrap_or_default()
            )));
        }
        Ok(Some(Shard { index: ((id - min) / step + 1) as usize, count: count as usize }))
    }

    /// Whether run number `index` (0-based) belongs to this shard.
    pub fn owns(&self, index: usize) -> bool {
        index % self.count == self.index - 1
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ask a running [`run_sweep`] to stop after the run in progress (which gets
/// no `DONE`). Safe to call from a signal handler or another thread.
pub fn request_interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether [`request_interrupt`] was called.
pub fn interrupt_requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Install a Ctrl-C / SIGTERM / SIGHUP handler that calls [`request_interrupt`];
/// a second signal exits at once with code 130.
pub fn install_interrupt_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .map_err(|e| Error::internal(format!("cannot install the Ctrl-C/SIGTERM handler: {e}")))
}

/// The marker file a sweep writes in its output directory before any run.
pub const PLAN_FILE: &str = "plan.json";

/// Whether `dir` looks like rlkit output (a sweep's `plan.json`, a run's
/// `config.resolved.toml` or `summary.json`, or `runs/<id>/` directories
/// holding `DONE` or `config.resolved.toml`), so that `--force` may clear it.
pub fn is_rlkit_output(dir: &Path) -> bool {
    if [PLAN_FILE, "config.resolved.toml", "summary.json", super::runner::PROVENANCE_FILE]
        .iter()
        .any(|f| dir.join(f).is_file())
    {
        return true;
    }
    std::fs::read_dir(dir.join("runs"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.path().join("DONE").is_file() || e.path().join("config.resolved.toml").is_file())
        })
        .unwrap_or(false)
}

/// What to do with an output directory (see [`check_out_dir`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutDir {
    /// Missing or empty: write into it.
    Fresh,
    /// Not empty, kept as it is (`--resume`).
    Keep,
    /// Not empty, rlkit output, to be cleared (`--force`).
    Clear,
}

/// The one rule for output directories of `rlkit run` (plain runs and
/// sweeps): a non-empty `dir` is refused unless `resume` (kept) or `force`
/// (to be cleared, and only if [`is_rlkit_output`]). A file where the
/// directory should be is refused too. Nothing is changed.
pub fn check_out_dir(dir: &Path, resume: bool, force: bool) -> Result<OutDir> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(format!(
            "{}: exists and is not a directory; choose another output directory with --out DIR",
            dir.display()
        )));
    }
    // Housekeeping first: what killed runs left behind does not make a directory "non-empty".
    crate::util::clean_stale_temps(dir, if resume { 3 } else { 0 });
    let non_empty = std::fs::read_dir(dir).map(|mut rd| rd.next().is_some()).unwrap_or(false);
    if !non_empty {
        return Ok(OutDir::Fresh);
    }
    if resume {
        return Ok(OutDir::Keep);
    }
    if !force {
        return Err(Error::input(format!(
            "{}: output directory is not empty; pass --force to replace it (or --resume, for a sweep, to finish the runs in it), or choose another --out",
            dir.display()
        )));
    }
    if !is_rlkit_output(dir) {
        return Err(Error::input(format!(
            "{}: --force refuses to clear a directory that is not rlkit output (no {PLAN_FILE}, config.resolved.toml, summary.json, provenance.json or runs/*/DONE); choose another --out",
            dir.display()
        )));
    }
    Ok(OutDir::Clear)
}

/// Prepare a sweep's output directory: [`check_out_dir`], then clear it when
/// `force` asks to.
pub fn prepare_out_dir(dir: &Path, resume: bool, force: bool) -> Result<()> {
    if check_out_dir(dir, resume, force)? == OutDir::Clear {
        std::fs::remove_dir_all(dir)
            .map_err(|e| Error::input(format!("{}: --force cannot clear it: {e}", dir.display())))?;
    }
    Ok(())
}

/// What [`run_sweep`] did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    /// Runs executed.
    pub ran: usize,
    /// Runs skipped because `DONE` existed (`--resume`).
    pub skipped: usize,
    /// Runs of this shard.
    pub assigned: usize,
    /// Stopped early by [`request_interrupt`] (Ctrl-C, SIGTERM): `ran + skipped`
    /// of `assigned` runs have `DONE`, and nothing was merged.
    pub interrupted: bool,
}

/// Run this shard's runs of `plan` under `plan.out_dir/runs/<id>/` (all runs
/// without a shard, then merge them into `plan.out_dir`).
pub fn run_sweep(plan: &Plan, shard: Option<Shard>, resume: bool, progress: ProgressMode) -> Result<SweepReport> {
    let runs_dir = plan.out_dir.join("runs");
    ensure_writable_dir(&runs_dir)?;
    let marker = json!({
        "experiment": plan.name,
        "plan": plan.hash,
        "runs": plan.runs.len(),
        "keys": plan.keys,
        "shard": shard.map(|s| format!("{}/{}", s.index, s.count)),
    });
    atomic_write(&plan.out_dir.join(PLAN_FILE), format!("{marker}\n").as_bytes())?;
    let mut rep = SweepReport::default();
    let mine: Vec<&SweepRun> = plan.runs.iter().filter(|r| shard.is_none_or(|s| s.owns(r.index))).collect();
    rep.assigned = mine.len();
    for r in mine {
        if interrupt_requested() {
            rep.interrupted = true;
            return Ok(rep);
        }
        let dir = runs_dir.join(&r.id);
        if resume && dir.join("DONE").exists() {
            rep.skipped += 1;
            continue;
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| Error::input(format!("{}: cannot clear a partial run: {e}", dir.display())))?;
        }
        let mut o = LoadOptions { out: Some(dir.clone()), seeds: None, sets: plan.base_sets.clone() };
        o.sets.extend(r.overrides.iter().map(|(k, v)| (k.clone(), v.to_string())));
        o.sets.push(("seeds".into(), format!("[{}]", r.seed)));
        let exp = super::load(&plan.file, &o)?;
        super::run(&exp, &RunOptions { progress, force: false })?;
        if interrupt_requested() {
            // Interrupted during this run: no DONE, so --resume redoes it.
            rep.interrupted = true;
            return Ok(rep);
        }
        let done = json!({
            "id": r.id,
            "index": r.index,
            "of": plan.runs.len(),
            "plan": plan.hash,
            "experiment": plan.name,
            "point": r.point,
            "overrides": r.overrides.iter().map(|(k, v)| json!({"key": k, "value": v.to_string()})).collect::<Vec<_>>(),
            "seed": r.seed,
        });
        atomic_write(&dir.join("DONE"), format!("{}\n", done).as_bytes())?;
        rep.ran += 1;
    }
    if shard.is_none() {
        merge(std::slice::from_ref(&plan.out_dir), &plan.out_dir)?;
    }
    Ok(rep)
}

struct DoneRun {
    dir: PathBuf,
    id: String,
    index: usize,
    of: usize,
    plan: String,
    experiment: String,
    point: usize,
    overrides: Vec<(String, String)>,
    seed: u64,
}

fn read_done(dir: &Path) -> Result<DoneRun> {
    let p = dir.join("DONE");
    let bad = |m: &str| Error::input(format!("{}: {m}; re-run this run (rlkit run EXP --resume)", p.display()));
    let text = std::fs::read_to_string(&p).map_err(|e| bad(&e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&format!("not valid JSON: {e}")))?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from).ok_or_else(|| bad(&format!("no `{k}`")));
    let u = |k: &str| v.get(k).and_then(|x| x.as_u64()).ok_or_else(|| bad(&format!("no `{k}`")));
    let overrides = v
        .get("overrides")
        .and_then(|o| o.as_array())
        .ok_or_else(|| bad("no `overrides`"))?
        .iter()
        .map(|o| {
            (
                o.get("key").and_then(|x| x.as_str()).unwrap_or_default().to_string(),
                o.get("value").and_then(|x| x.as_str()).unwrap_or_default().to_string(),
            )
        })
        .collect();
    Ok(DoneRun {
        dir: dir.to_path_buf(),
        id: s("id")?,
        index: u("index")? as usize,
        of: u("of")? as usize,
        plan: s("plan")?,
        experiment: s("experiment")?,
        point: u("point")? as usize,
        overrides,
        seed: u("seed")?,
    })
}

/// Merge the finished runs under `DIR/runs/*/` of every `dirs` into `out`:
/// `iterations.csv`, `episodes.csv`, `values.csv`, `policy.csv` (rows in run
/// order, prefixed by `run`, `point` and one column per sweep key),
/// `summary.json` and `plots/sweep.png`. Runs from different plans, the same
/// run twice, or missing runs are [`Error::Input`]s.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>> {
    let mut runs: Vec<DoneRun> = Vec::new();
    let mut by_id: BTreeMap<String, PathBuf> = BTreeMap::new();
    for d in dirs {
        let rd = d.join("runs");
        let entries = std::fs::read_dir(&rd).map_err(|_| {
            Error::input(format!(
                "{}: no runs/ directory; give output directories of `rlkit run EXP --shard I/N`",
                d.display()
            ))
        })?;
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
        names.sort();
        for p in names {
            if !p.join("DONE").exists() {
                continue;
            }
            let r = read_done(&p)?;
            if let Some(first) = by_id.get(&r.id) {
                return Err(Error::input(format!(
                    "{}: run {} is also in {}; merge each run once (give each shard's directory once)",
                    p.display(),
                    r.id,
                    first.display()
                )));
            }
            by_id.insert(r.id.clone(), p.clone());
            runs.push(r);
        }
    }
    runs.sort_by_key(|r| r.index);
    let Some(first) = runs.first() else {
        return Err(Error::input(format!(
            "{}: no finished runs (runs/*/DONE) to merge",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    };
    let (plan, of) = (first.plan.clone(), first.of);
    if let Some(r) = runs.iter().find(|r| r.plan != plan || r.of != of) {
        return Err(Error::input(format!(
            "{}: run {} belongs to another sweep (plan {} of {} runs, not {plan} of {of}); merge shards of one experiment",
            r.dir.display(),
            r.id,
            r.plan,
            r.of
        )));
    }
    if runs.len() != of {
        let have: BTreeSet<usize> = runs.iter().map(|r| r.index).collect();
        let missing: Vec<String> = (0..of).filter(|i| !have.contains(i)).take(5).map(|i| i.to_string()).collect();
        return Err(Error::input(format!(
            "{} of {of} runs are finished; missing run numbers {}{}; run the missing shards (or --resume) first",
            runs.len(),
            missing.join(", "),
            if of - runs.len() > 5 { ", ..." } else { "" }
        )));
    }
    ensure_writable_dir(out)?;
    let keys: Vec<String> = first.overrides.iter().map(|o| o.0.clone()).collect();
    let mut files = Vec::new();
    for name in MERGED_CSVS {
        let mut header: Vec<String> = Vec::new();
        // (prefix cells, (column, value) pairs) per row.
        type Row = (Vec<String>, Vec<(String, String)>);
        let mut rows: Vec<Row> = Vec::new();
        for r in &runs {
            let p = r.dir.join(name);
            let Ok(text) = std::fs::read_to_string(&p) else { continue };
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            let h: Vec<String> = rdr
                .headers()
                .map_err(|e| Error::input(format!("{}:1: {e}", p.display())))?
                .iter()
                .map(String::from)
                .collect();
            for c in &h {
                if !header.contains(c) {
                    header.push(c.clone());
                }
            }
            for (i, rec) in rdr.records().enumerate() {
                let rec = rec.map_err(|e| Error::input(format!("{}:{}: {e}", p.display(), i + 2)))?;
                let mut prefix = vec![r.id.clone(), r.point.to_string()];
                prefix.extend(r.overrides.iter().map(|o| o.1.clone()));
                rows.push((prefix, h.iter().cloned().zip(rec.iter().map(String::from)).collect()));
            }
        }
        if rows.is_empty() {
            continue;
        }
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        let mut full = vec!["run".to_string(), "point".to_string()];
        full.extend(keys.iter().cloned());
        full.extend(header.iter().cloned());
        w.write_record(&full).map_err(|e| Error::internal(e.to_string()))?;
        for (prefix, cells) in rows {
            let mut rec = prefix;
            let m: BTreeMap<String, String> = cells.into_iter().collect();
            rec.extend(header.iter().map(|c| m.get(c).cloned().unwrap_or_default()));
            w.write_record(&rec).map_err(|e| Error::internal(e.to_string()))?;
        }
        let bytes = w.into_inner().map_err(|e| Error::internal(e.to_string()))?;
        let p = out.join(name);
        atomic_write(&p, &bytes)?;
        files.push(p);
    }
    // summary.json: each run's summary (without its file list), in run order.
    let mut summaries = Vec::new();
    let mut curves: BTreeMap<String, Vec<(f64, f64, usize)>> = BTreeMap::new();
    for r in &runs {
        let p = r.dir.join("summary.json");
        let mut s: serde_json::Value = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| Error::input(format!("{}: missing or not JSON; re-run run {}", p.display(), r.id)))?;
        if let Some(o) = s.as_object_mut() {
            o.remove("files");
        }
        for a in s.get("agents").and_then(|a| a.as_array()).into_iter().flatten() {
            if let (Some(name), Some(x)) =
                (a.get("agent").and_then(|n| n.as_str()), a.get("mean_late_return").and_then(|x| x.as_f64()))
            {
                let c = curves.entry(name.to_string()).or_default();
                match c.last_mut() {
                    Some(last) if last.0 == r.point as f64 => {
                        last.1 += x;
                        last.2 += 1;
                    }
                    _ => c.push((r.point as f64, x, 1)),
                }
            }
        }
        summaries.push(json!({
            "run": r.id,
            "index": r.index,
            "point": r.point,
            "overrides": r.overrides.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "seed": r.seed,
            "summary": s,
        }));
    }
    let summary = json!({
        "experiment": first.experiment,
        "plan": plan,
        "sweep_keys": keys,
        "runs": summaries,
    });
    let sp = out.join("summary.json");
    let mut text = serde_json::to_string_pretty(&summary).map_err(|e| Error::internal(e.to_string()))?;
    text.push('\n');
    atomic_write(&sp, text.as_bytes())?;
    files.push(sp);
    if !curves.is_empty() {
        let pd = out.join("plots");
        ensure_writable_dir(&pd)?;
        let chart = crate::plot::lines::LineChart {
            title: format!("{}: late mean return per sweep point (mean over seeds)", first.experiment),
            x_label: "sweep point".into(),
            y_label: "mean return, last 10% of episodes".into(),
            series: curves
                .into_iter()
                .map(|(name, c)| crate::plot::lines::Series {
                    label: name,
                    points: c.into_iter().map(|(x, s, n)| (x, s / n as f64)).collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let p = pd.join("sweep.png");
        chart.render(&p)?;
        files.push(p);
    }
    if let Some(p) = merged_learning_curves(&runs, out, &first.experiment)? {
        files.push(p);
    }
    Ok(files)
}

/// `plots/learning_curves.png` of a merge: one curve (mean over seeds with a
/// bootstrap band) per sweep point and agent, from the runs' `episodes.csv`,
/// drawn as the experiment's `[learning_curve]` says when its `plots` has
/// `"learning"`. `None` when there is nothing to draw.
fn merged_learning_curves(runs: &[DoneRun], out: &Path, experiment: &str) -> Result<Option<PathBuf>> {
    use crate::plot::learning::{CurveSpec, SeedCurve};
    let Some(first) = runs.first() else { return Ok(None) };
    let cfg_path = first.dir.join("config.resolved.toml");
    let cfg: toml::Value = std::fs::read_to_string(&cfg_path)
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .ok_or_else(|| Error::input(format!("{}: missing or not TOML; re-run run {}", cfg_path.display(), first.id)))?;
    let wants =
        cfg.get("plots").and_then(|p| p.as_array()).is_some_and(|a| a.iter().any(|x| x.as_str() == Some("learning")));
    if !wants {
        return Ok(None);
    }
    let spec: CurveSpec = match cfg.get("learning_curve") {
        Some(v) => {
            v.clone().try_into().map_err(|e| Error::input(format!("{}: [learning_curve]: {e}", cfg_path.display())))?
        }
        None => CurveSpec::default(),
    };
    let band_seed = cfg.get("seed").and_then(|s| s.as_integer()).unwrap_or(0) as u64;
    // (point, agent) -> label and one curve per run (seed), in run order.
    let mut series: Vec<((usize, String), String, Vec<SeedCurve>)> = Vec::new();
    for r in runs {
        let p = r.dir.join("episodes.csv");
        let Ok(text) = std::fs::read_to_string(&p) else { continue };
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let h = rdr.headers().map_err(|e| Error::input(format!("{}:1: {e}", p.display())))?.clone();
        let col = |n: &str| h.iter().position(|c| c == n);
        let (Some(ca), Some(cr), Some(cs)) = (col("agent"), col("return"), col("steps")) else { continue };
        let mut per_agent: Vec<(String, SeedCurve)> = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| Error::input(format!("{}:{}: {e}", p.display(), i + 2)))?;
            let bad = || Error::input(format!("{}:{}: not a number", p.display(), i + 2));
            let steps: u64 = rec[cs].parse().map_err(|_| bad())?;
            let ret: f64 = rec[cr].parse().map_err(|_| bad())?;
            let agent = &rec[ca];
            match per_agent.iter_mut().find(|a| a.0 == agent) {
                Some(a) => a.1.push((steps, ret)),
                None => per_agent.push((agent.to_string(), vec![(steps, ret)])),
            }
        }
        for (agent, curve) in per_agent {
            let key = (r.point, agent);
            match series.iter_mut().find(|s| s.0 == key) {
                Some(s) => s.2.push(curve),
                None => {
                    let o: Vec<String> = r.overrides.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let label = format!("p{} {} ({})", r.point, key.1, o.join(", "));
                    series.push((key, label, vec![curve]));
                }
            }
        }
    }
    if series.iter().all(|s| s.2.iter().all(|c| c.len() <= 1)) {
        return Ok(None);
    }
    let agents: Vec<(String, Vec<SeedCurve>)> = series.into_iter().map(|(_, l, c)| (l, c)).collect();
    let pd = out.join("plots");
    ensure_writable_dir(&pd)?;
    let p = pd.join("learning_curves.png");
    let title = format!("{experiment}: learning curves per sweep point (mean over seeds)");
    crate::plot::learning::render_learning_curves(&p, &title, &agents, &spec, band_seed)?;
    Ok(Some(p))
}
