//! `rlkit stats DIR...`: aggregate statistics of finished runs (see [`super`]).
//!
//! Every run directory (or variant directory of one) is a *task*; every seed
//! of an agent in it is a *run*. The score of a run is `--metric`:
//!
//! - `final_return`: the mean return over the last 10 % of its episodes
//!   (`late_mean_return` of `summary.json`), from `episodes.csv`;
//! - `auc`: the mean return over all its episodes (the area under the
//!   learning curve per episode), from `episodes.csv`;
//! - `pa`: the pixel accuracy of its final greedy policy against the optimal
//!   action sets (`summary.json`, finite worlds).
//!
//! `--normalize minmax` rescales each task's scores to [0, 1] by the smallest
//! and largest score of any agent on that task, so tasks of different scales
//! can be pooled; the optimality gap is measured below `--gamma` (default 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::data::table::{Cell, Table};
use crate::stats::{aggregate, performance_profile, probability_of_improvement, Aggregates, Interval, Scores};
use crate::{Error, Result};

/// The score of a run.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Metric {
    /// Mean return over the last 10 % of episodes.
    FinalReturn,
    /// Mean return over all episodes.
    Auc,
    /// Policy accuracy (PA) of the final greedy policy.
    Pa,
}

/// Per-task normalization.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Normalize {
    /// Raw scores.
    None,
    /// (x − min) / (max − min) over every agent's runs of the task.
    Minmax,
}

/// Arguments of `rlkit stats`.
#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// Run directories (outputs of `rlkit run`); each is a task (each variant of one, too).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The score of a run.
    #[arg(long, value_enum, default_value = "final-return")]
    pub metric: Metric,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = crate::stats::DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Seed of the bootstrap streams.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Per-task normalization of the scores.
    #[arg(long, value_enum, default_value = "none")]
    pub normalize: Normalize,
    /// Threshold of the optimality gap.
    #[arg(long, default_value_t = 1.0)]
    pub gamma: f64,
    /// Output directory for stats.csv, profile.csv and the plots.
    #[arg(long, default_value = "stats")]
    pub out: PathBuf,
}

/// Scores of every agent on every task: agent → task → runs, plus the task names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreSet {
    /// Task names, in order.
    pub tasks: Vec<String>,
    /// Agent → one row of run scores per task (in `tasks` order).
    pub agents: BTreeMap<String, Scores>,
}

fn task_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let sp = dir.join("summary.json");
    let text = std::fs::read_to_string(&sp).map_err(|_| {
        Error::input(format!("{}: no summary.json; give output directories of finished `rlkit run`s", dir.display()))
    })?;
    let s: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::input(format!("{}: not valid JSON: {e}", sp.display())))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| dir.display().to_string());
    match s.get("variants").and_then(|v| v.as_array()) {
        Some(vs) if !dir.join("config.resolved.toml").exists() => Ok(vs
            .iter()
            .filter_map(|v| v.get("variant").and_then(|n| n.as_str()))
            .map(|n| (format!("{name}/{n}"), dir.join(crate::experiment::schema::slug(n))))
            .collect()),
        _ => Ok(vec![(name, dir.to_path_buf())]),
    }
}

/// agent → (seed → score) of one task directory.
fn task_scores(dir: &Path, metric: Metric) -> Result<BTreeMap<String, Vec<(u64, f64)>>> {
    let mut out: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    match metric {
        Metric::Pa => {
            let sp = dir.join("summary.json");
            let text = std::fs::read_to_string(&sp).map_err(|e| Error::input(format!("{}: {e}", sp.display())))?;
            let s: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::input(format!("{}: not valid JSON: {e}", sp.display())))?;
            for a in s.get("agents").and_then(|a| a.as_array()).into_iter().flatten() {
                let name = a.get("agent").and_then(|n| n.as_str()).unwrap_or_default().to_string();
                for p in a.get("per_seed").and_then(|p| p.as_array()).into_iter().flatten() {
                    if let (Some(seed), Some(pa)) =
                        (p.get("seed").and_then(|x| x.as_u64()), p.get("pa").and_then(|x| x.as_f64()))
                    {
                        out.entry(name.clone()).or_default().push((seed, pa));
                    }
                }
            }
            if out.is_empty() {
                return Err(Error::input(format!(
                    "{}: --metric pa needs learning agents on a finite world (per-seed `pa` in summary.json); valid metrics: final_return, auc, pa",
                    sp.display()
                )));
            }
        }
        Metric::FinalReturn | Metric::Auc => {
            let p = dir.join("episodes.csv");
            let text = std::fs::read_to_string(&p).map_err(|_| {
                Error::input(format!(
                    "{}: missing; --metric final_return and auc need learning agents (episodes.csv); valid metrics: final_return, auc, pa",
                    p.display()
                ))
            })?;
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            let h = rdr.headers().map_err(|e| Error::input(format!("{}:1: {e}", p.display())))?.clone();
            let col = |n: &str| h.iter().position(|x| x == n);
            let (Some(ai), Some(si), Some(ri)) = (col("agent"), col("seed"), col("return")) else {
                return Err(Error::input(format!("{}:1: needs `agent`, `seed` and `return` columns", p.display())));
            };
            let mut returns: BTreeMap<(String, u64), Vec<f64>> = BTreeMap::new();
            for (i, rec) in rdr.records().enumerate() {
                let rec = rec.map_err(|e| Error::input(format!("{}:{}: {e}", p.display(), i + 2)))?;
                let (Ok(seed), Ok(r)) = (rec[si].parse::<u64>(), rec[ri].parse::<f64>()) else {
                    return Err(Error::input(format!(
                        "{}:{}: seed must be a whole number and return a number",
                        p.display(),
                        i + 2
                    )));
                };
                returns.entry((rec[ai].to_string(), seed)).or_default().push(r);
            }
            for ((agent, seed), r) in returns {
                let score = match metric {
                    Metric::FinalReturn => {
                        let tail = (r.len() / 10).max(1);
                        r[r.len() - tail..].iter().sum::<f64>() / tail as f64
                    }
                    _ => r.iter().sum::<f64>() / r.len() as f64,
                };
                out.entry(agent).or_default().push((seed, score));
            }
        }
    }
    Ok(out)
}

/// Read the scores of every task in `dirs`. Every agent must appear in every
/// task (an [`Error::Input`] names the first one missing).
pub fn load_scores(dirs: &[PathBuf], metric: Metric) -> Result<ScoreSet> {
    let mut set = ScoreSet::default();
    let mut per_task = Vec::new();
    for d in dirs {
        for (name, dir) in task_dirs(d)? {
            if set.tasks.contains(&name) {
                return Err(Error::input(format!("{}: task `{name}` is given twice", dir.display())));
            }
            per_task.push((dir.clone(), task_scores(&dir, metric)?));
            set.tasks.push(name);
        }
    }
    let agents: std::collections::BTreeSet<String> = per_task.iter().flat_map(|t| t.1.keys().cloned()).collect();
    for a in agents {
        let mut rows = Vec::new();
        for (dir, t) in &per_task {
            let Some(runs) = t.get(&a) else {
                return Err(Error::input(format!(
                    "{}: agent `{a}` has no runs in this task; every agent must run on every task (agents here: {})",
                    dir.display(),
                    t.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            };
            rows.push(runs.iter().map(|r| r.1).collect());
        }
        set.agents.insert(a, rows);
    }
    Ok(set)
}

/// Rescale each task's scores to [0, 1] by the extremes over every agent.
pub fn normalize_minmax(set: &mut ScoreSet) {
    for t in 0..set.tasks.len() {
        let all = set.agents.values().flat_map(|s| s[t].iter().copied());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| (l.min(x), h.max(x)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        for s in set.agents.values_mut() {
            for x in &mut s[t] {
                *x = (*x - lo) / span;
            }
        }
    }
}

/// Run `rlkit stats`.
pub fn run(args: &StatsArgs) -> Result<()> {
    if args.resamples == 0 || args.resamples > 1_000_000 {
        return Err(Error::input(format!("--resamples {}: must be between 1 and 1000000", args.resamples)));
    }
    if !args.gamma.is_finite() {
        return Err(Error::input(format!("--gamma {}: must be a finite number", args.gamma)));
    }
    let mut set = load_scores(&args.dirs, args.metric)?;
    if args.normalize == Normalize::Minmax {
        normalize_minmax(&mut set);
    }
    crate::util::ensure_writable_dir(&args.out)?;
    let runs: Vec<usize> = set.agents.values().next().map(|s| s.iter().map(Vec::len).collect()).unwrap_or_default();
    crate::util::outln!(
        "{:?} over {} task(s) ({}), runs per task {:?}; 95% stratified-bootstrap CIs, {} resamples, seed {}",
        args.metric,
        set.tasks.len(),
        set.tasks.join(", "),
        runs,
        args.resamples,
        args.seed
    );
    let mut table = Table::new(&["agent", "statistic", "estimate", "ci_low", "ci_high", "runs", "tasks"]);
    let fmt = |i: &Interval| format!("{:.4} [{:.4}, {:.4}]", i.estimate, i.lo, i.hi);
    crate::util::outln!("{:<20} {:<30} {:<30} {:<30} {:<30}", "agent", "mean", "median", "IQM", "optimality gap");
    let mut aggs: Vec<(String, Aggregates)> = Vec::new();
    for (k, (name, s)) in set.agents.iter().enumerate() {
        let a = aggregate(s, args.gamma, args.resamples, crate::util::derive_seed(args.seed, &[k as u64]));
        crate::util::outln!(
            "{name:<20} {:<30} {:<30} {:<30} {:<30}",
            fmt(&a.mean),
            fmt(&a.median),
            fmt(&a.iqm),
            fmt(&a.optimality_gap)
        );
        let n: usize = s.iter().map(Vec::len).sum();
        for (stat, i) in [("mean", a.mean), ("median", a.median), ("iqm", a.iqm), ("optimality_gap", a.optimality_gap)]
        {
            table.push(vec![
                name.as_str().into(),
                stat.into(),
                i.estimate.into(),
                i.lo.into(),
                i.hi.into(),
                Cell::from(n),
                Cell::from(s.len()),
            ]);
        }
        aggs.push((name.clone(), a));
    }
    let names: Vec<&String> = set.agents.keys().collect();
    if names.len() > 1 {
        crate::util::outln!("\nprobability of improvement P(row > column):");
    }
    for (i, x) in names.iter().enumerate() {
        for (j, y) in names.iter().enumerate() {
            if i == j {
                continue;
            }
            let seed = crate::util::derive_seed(args.seed, &[1000 + i as u64, j as u64]);
            let p = probability_of_improvement(&set.agents[*x], &set.agents[*y], args.resamples, seed);
            crate::util::outln!("  P({x} > {y}) = {}", fmt(&p));
            table.push(vec![
                x.as_str().into(),
                format!("prob_improvement_over:{y}").as_str().into(),
                p.estimate.into(),
                p.lo.into(),
                p.hi.into(),
                Cell::from(set.agents[*x].iter().map(Vec::len).sum::<usize>()),
                Cell::from(set.tasks.len()),
            ]);
        }
    }
    let stats_path = args.out.join("stats.csv");
    table.write_csv(&stats_path)?;
    // Performance profiles on a grid of 101 thresholds spanning every score.
    let all = set.agents.values().flat_map(|s| s.iter().flatten().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| (l.min(x), h.max(x)));
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
    let taus: Vec<f64> = (0..=100).map(|k| lo + (hi - lo) * k as f64 / 100.0).collect();
    let mut prof = Table::new(&["agent", "tau", "fraction", "ci_low", "ci_high"]);
    let mut series = Vec::new();
    for (k, (name, s)) in set.agents.iter().enumerate() {
        let pp = performance_profile(s, &taus, args.resamples, crate::util::derive_seed(args.seed, &[k as u64]));
        for &(t, f, l, h) in &pp {
            prof.push(vec![name.as_str().into(), t.into(), f.into(), l.into(), h.into()]);
        }
        series.push(crate::plot::lines::Series {
            label: name.clone(),
            points: pp.iter().map(|p| (p.0, p.1)).collect(),
            band: pp.iter().map(|p| (p.0, p.2, p.3)).collect(),
            dashed: false,
        });
    }
    let prof_path = args.out.join("profile.csv");
    prof.write_csv(&prof_path)?;
    let metric = format!("{:?}", args.metric).to_lowercase();
    let chart = crate::plot::lines::LineChart {
        title: format!("Performance profile ({metric}, {} task(s))", set.tasks.len()),
        x_label: format!(
            "score threshold τ ({metric}{})",
            if args.normalize == Normalize::Minmax { ", normalized" } else { "" }
        ),
        y_label: "fraction of runs with score > τ".into(),
        series,
        y_range: Some((-0.02, 1.02)),
        ..Default::default()
    };
    let profile_png = args.out.join("profile.png");
    chart.render(&profile_png)?;
    let intervals_png = args.out.join("intervals.png");
    let plain = |i: Interval| crate::plot::intervals::Interval { estimate: i.estimate, lo: i.lo, hi: i.hi };
    let rows: Vec<(String, [crate::plot::intervals::Interval; 4])> = aggs
        .iter()
        .map(|(n, a)| (n.clone(), [plain(a.mean), plain(a.median), plain(a.iqm), plain(a.optimality_gap)]))
        .collect();
    crate::plot::intervals::render_intervals(&intervals_png, &format!("Aggregate {metric} (95% CIs)"), &rows)?;
    for p in [&stats_path, &prof_path, &intervals_png, &profile_png] {
        crate::util::outln!("wrote {}", p.display());
    }
    Ok(())
}
