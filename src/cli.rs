//! The `rlkit` command line, as a library function, so that a program that
//! registers its own env or agent kinds can offer the whole CLI with them:
//!
//! ```no_run
//! # #[allow(clippy::needless_doctest_main)]
//! fn main() -> std::process::ExitCode {
//!     // rlkit::env::register_env_kind("chain", my_chain_factory);
//!     rlkit::cli::main()
//! }
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::agents::dp::{self, policy::read_policy, EvalConfig, EvalMethod, Policy};
use crate::config::Doc;
use crate::env::World;
use crate::experiment::{self, LoadOptions, ProgressMode, RunOptions};
use crate::util::outln;
use crate::{Error, Result};

const EXAMPLES: &str = "\
Examples:
  rlkit run experiments/quickstart.toml
  rlkit run experiments/zhao_fig3_4.toml --out /tmp/fig34 --set env.rewards.forbidden=-10
  rlkit check envs/zhao_5x5.toml
  rlkit solve envs/zhao_5x5.toml --algo value-iteration --set rewards.forbidden=-10
  rlkit solve envs/sutton_barto_4x4.toml --algo policy-evaluation --policy uniform --format csv
  rlkit render envs/zhao_5x5.toml --policy runs/quickstart/latest/policies/VI.txt -o zhao.png
  rlkit list
  rlkit bench vi --size 1000";

/// Reinforcement-learning experiments: gridworlds, finite MDPs, dynamic
/// programming, tidy CSV/JSON outputs and PNG plots.
#[derive(Parser, Debug)]
#[command(name = "rlkit", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Memory budget for any one big table or buffer (model, network activations,
    /// episode buffers), e.g. 8G or 512M; default 2G (or RLKIT_MEM_BUDGET).
    #[arg(long, global = true, value_parser = crate::util::parse_bytes)]
    mem_budget: Option<u64>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Algo {
    ValueIteration,
    PolicyIteration,
    TruncatedPolicyIteration,
    PolicyEvaluation,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Format {
    Table,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum ExportFormat {
    Tfrecord,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Neural networks from TOML: summary, init, forward, backward, gradcheck.
    #[command(
        after_help = "Examples:\n  rlkit nn summary configs/networks/grid_backbone.toml --input 4,8,8\n  rlkit nn init configs/networks/zhao_mlp.toml --seed 1 -o w.safetensors\n  rlkit nn gradcheck configs/networks/grid_backbone.toml --input 4,5,5"
    )]
    Nn {
        #[command(subcommand)]
        cmd: crate::nn::cli::NnCommand,
    },
    /// Run an experiment and write CSV, JSON and plots.
    #[command(
        after_help = "Examples:\n  rlkit run experiments/quickstart.toml                 # into runs/quickstart/<YYYYMMDD-HHMMSS>/, runs/quickstart/latest points there\n  rlkit run experiments/quickstart.toml --out /tmp/qs   # exactly /tmp/qs (must be missing or empty)\n  rlkit run experiments/quickstart.toml --out /tmp/qs --force --seeds 5 --set agents[0].tol=1e-8"
    )]
    Run {
        /// The experiment file.
        experiment: PathBuf,
        /// Output directory, used exactly; it must be missing or empty unless --force.
        /// Default: the file's out_dir, else a new runs/<name>/<YYYYMMDD-HHMMSS>
        /// (runs/<name>/latest points at the newest).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Number of seeds (runs 0..N-1), overriding the file.
        #[arg(long)]
        seeds: Option<usize>,
        /// Override a key of the experiment, e.g. env.gamma=0.5 or agents[0].tol=1e-8 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// With a [sweep]: run only shard I of N (round robin over the runs, I in 1..N);
        /// inside a SLURM array task it defaults from SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// With a [sweep]: skip runs that have a DONE marker (and accept a non-empty output
        /// directory; by default the newest runs/<name>/latest).
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Replace a non-empty output directory (only one rlkit wrote: plan.json,
        /// config.resolved.toml, summary.json, provenance.json or runs/*/DONE); a plain
        /// run replaces it only once it has succeeded.
        #[arg(long)]
        force: bool,
    },
    /// List the runs of an experiment's [sweep]: number, id, overrides, seed.
    #[command(after_help = "Example:\n  rlkit plan experiments/sweep_cliff.toml")]
    Plan {
        /// The experiment file.
        experiment: PathBuf,
        /// Number of seeds, overriding the file.
        #[arg(long)]
        seeds: Option<usize>,
        /// Override a key (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Merge the finished runs of sweep shards into one set of CSVs, summary.json and plots.
    #[command(
        after_help = "Example:\n  rlkit run exp.toml --shard 1/2 --out a && rlkit run exp.toml --shard 2/2 --out b\n  rlkit merge a b --out merged"
    )]
    Merge {
        /// Shard output directories (each with runs/<id>/DONE).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Reload the trained networks of a run (its `dqn` agents) and evaluate their greedy
    /// policies on the run's env or another one: values, policy, PA against value iteration.
    #[command(
        after_help = "Examples:\n  rlkit eval runs/dqn_zhao_5x5/latest\n  rlkit eval runs/dqn_zhao_5x5/latest --env envs/generated_8x8.toml --out /tmp/eval8"
    )]
    Eval {
        /// The run directory (`rlkit run` wrote it).
        run_dir: PathBuf,
        /// Evaluate on this env file instead of the run's own env.
        #[arg(long)]
        env: Option<PathBuf>,
        /// Output directory (default RUN_DIR/eval/<env name>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Validate an experiment or env file without running it (exit 0 if valid, 2 if not).
    #[command(after_help = "Example:\n  rlkit check envs/zhao_5x5.toml && rlkit check experiments/quickstart.toml")]
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Solve an environment and print its state values.
    #[command(
        after_help = "Examples:\n  rlkit solve envs/zhao_5x5.toml\n  rlkit solve envs/zhao_5x5.toml --gamma 0.5 --format csv\n  rlkit solve envs/sutton_barto_4x4.toml --algo policy-evaluation --policy uniform"
    )]
    Solve {
        /// The env file.
        env: PathBuf,
        /// The algorithm.
        #[arg(long, value_enum, default_value = "value-iteration")]
        algo: Algo,
        /// For policy-evaluation: `uniform` or a policy file.
        #[arg(long, default_value = "uniform")]
        policy: String,
        /// Override the discount factor.
        #[arg(long)]
        gamma: Option<f64>,
        /// Convergence tolerance on ‖v_k − v_{k−1}‖∞.
        #[arg(long, default_value_t = 1e-10)]
        tol: f64,
        /// Evaluation sweeps per step for truncated policy iteration.
        #[arg(long, default_value_t = 5)]
        sweeps: usize,
        /// Override an env key, e.g. rewards.forbidden=-10 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output format: a grid table, or CSV `row,col,value` in row-major order.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Draw a map, optionally with values and a policy, to a PNG.
    #[command(
        after_help = "Examples:\n  rlkit render envs/zhao_5x5.toml --values runs/quickstart/latest/values.csv --policy runs/quickstart/latest/policies/VI.txt -o vi.png\n  rlkit render envs/zhao_5x5.toml --values runs/quickstart/latest/values.csv --agent VI --seed 0 -o vi.png"
    )]
    Render {
        /// The env file.
        env: PathBuf,
        /// A CSV with `row,col,value` columns (`rlkit solve --format csv`, or a run's
        /// values.csv: the agent and seed chosen by --agent and --seed, else the first).
        #[arg(long)]
        values: Option<PathBuf>,
        /// With a values.csv: the agent to draw (its `agent` column).
        #[arg(long)]
        agent: Option<String>,
        /// With a values.csv: the seed to draw (its `seed` column).
        #[arg(long)]
        seed: Option<u64>,
        /// A policy file (symbol grid).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Override an env key (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output PNG (its name must end in .png).
        #[arg(short, long)]
        out: PathBuf,
    },
    /// List the environments, agent kinds and experiments.
    #[command(after_help = "Examples:\n  rlkit list\n  rlkit list | grep -i sarsa")]
    List,
    /// Generate random solvable Zhao-style gridworlds as env TOML files.
    #[command(after_help = "Example:\n  rlkit generate --sizes 5-8 --count 20 --density 0.2 --seed 1 --out maps/")]
    Generate {
        /// Side lengths of the square maps, MIN-MAX (inclusive), cycled in order.
        #[arg(long, default_value = "5-8")]
        sizes: String,
        /// Number of maps.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Fraction of forbidden cells.
        #[arg(long, default_value_t = 0.2)]
        density: f64,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Export a finished run's transitions (TFRecord of tf.train.Example; see docs/data.md).
    #[command(
        after_help = "Example:\n  rlkit run experiments/sutton_barto_fig6_4.toml --out runs/cliff\n  rlkit export runs/cliff --format tfrecord"
    )]
    Export {
        /// The run's output directory (with config.resolved.toml and summary.json).
        run_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "tfrecord")]
        format: ExportFormat,
    },
    /// Print a TFRecord file's record count and feature keys (exit 2 if it is damaged).
    #[command(after_help = "Example:\n  rlkit inspect runs/cliff/trajectories/sarsa_seed0.tfrecord")]
    Inspect {
        /// The .tfrecord file.
        file: PathBuf,
    },
    /// Aggregate statistics across runs and tasks (IQM, mean, median, optimality gap,
    /// stratified-bootstrap CIs, performance profiles, probability of improvement).
    #[command(
        after_help = "Example:\n  rlkit stats runs/cliff runs/windy --metric final_return --resamples 2000 --out stats/"
    )]
    Stats(crate::experiment::stats_cli::StatsArgs),
    /// Measure speed (see README, "Speed").
    #[command(after_help = "Examples:\n  rlkit bench vi --size 1000\n  rlkit bench --help   # every benchmark")]
    Bench {
        #[command(subcommand)]
        which: crate::bench::BenchCmd,
    },
}

fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
            _ => Err(Error::input(format!("--set {s}: expected KEY=VALUE, e.g. --set rewards.forbidden=-10"))),
        })
        .collect()
}

fn load_env(path: &Path, sets: &[String], gamma: Option<f64>, cmd: &str) -> Result<World> {
    let mut doc = Doc::load(path)?;
    let kind = FileKind::of(&doc);
    if kind != FileKind::Env {
        let f = path.display();
        let hint = match kind {
            FileKind::Experiment => {
                let env = crate::config::get_path(
                    &doc.table,
                    &[crate::config::Seg::Key("env".into()), crate::config::Seg::Key("path".into())],
                )
                .and_then(|v| v.as_str())
                .map(|p| format!(", or `rlkit {cmd} {p}` (its env.path)"))
                .unwrap_or_default();
                format!("run it with `rlkit run {f}`{env}")
            }
            _ => "give an env file such as envs/zhao_5x5.toml".to_string(),
        };
        return Err(Error::input(format!("{f}: this is {}; `rlkit {cmd}` takes an env file; {hint}", kind.describe())));
    }
    for (k, v) in parse_sets(sets)? {
        doc.set(&k, &v)?;
    }
    if let Some(g) = gamma {
        doc.set_value(&[], "gamma", toml::Value::Float(g), &format!("--gamma {g}"))?;
    }
    World::from_doc(&doc, &[])
}

/// Parse the process's arguments and run the command; errors print one line
/// (`error: ...`) and give exit code 2 (bad input) or 1.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// [`main`] with explicit arguments (the first is the program name).
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    quiet_on_closed_stdout();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let budget = match cli.mem_budget {
        Some(b) => Some(b),
        None => match std::env::var("RLKIT_MEM_BUDGET") {
            Ok(v) => match crate::util::parse_bytes(&v) {
                Ok(b) => Some(b),
                Err(e) => {
                    eprintln!("error: RLKIT_MEM_BUDGET: {e}");
                    return ExitCode::from(2);
                }
            },
            Err(_) => None,
        },
    };
    if let Some(b) = budget {
        crate::util::set_mem_budget(b);
    }
    let r = match cli.cmd {
        Cmd::Run { experiment, out, seeds, sets, quiet, shard, resume, force } => {
            run_cmd(experiment, out, seeds, sets, quiet, shard, resume, force)
        }
        cmd => dispatch(cmd).map(|()| ExitCode::SUCCESS),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Printing to a closed pipe (`rlkit ... | head -1`) ends the process quietly
/// with exit code 0, as `head` users expect. rlkit's own output goes through
/// [`crate::util::write_stdout`], which never panics; this hook also covers a
/// `println!` anywhere else (its "failed printing to stdout" panic).
fn quiet_on_closed_stdout() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(install_closed_stdout_hook);
}

fn install_closed_stdout_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// `rlkit run`: one experiment, or a sweep's runs (exit code 130 when interrupted).
#[allow(clippy::too_many_arguments)]
fn run_cmd(
    experiment: PathBuf,
    out: Option<PathBuf>,
    seeds: Option<usize>,
    sets: Vec<String>,
    quiet: bool,
    shard: Option<String>,
    resume: bool,
    force: bool,
) -> Result<ExitCode> {
    let opts = LoadOptions { out, seeds, sets: parse_sets(&sets)? };
    let shard = match shard {
        Some(s) => Some(experiment::sweep::Shard::parse(&s)?),
        None => experiment::sweep::Shard::from_slurm(|k| std::env::var(k).ok())?,
    };
    refuse_env_file(&experiment, "run")?;
    if let Some(mut plan) = experiment::sweep::plan(&experiment, &opts)? {
        if plan.out_default {
            let base = plan.out_dir.clone();
            plan.out_dir = match (resume, experiment::runner::resolve_latest(&base)) {
                (true, Some(latest)) => latest,
                (true, None) => {
                    return Err(Error::input(format!(
                        "--resume: no earlier run of `{}` in {} (no {}); give the sweep's directory with --out",
                        plan.name,
                        base.display(),
                        base.join(experiment::runner::LATEST).display()
                    )))
                }
                (false, _) => experiment::runner::timestamped_dir(&base),
            };
            experiment::sweep::prepare_out_dir(&plan.out_dir, resume, force)?;
            crate::util::ensure_writable_dir(&plan.out_dir)?;
            experiment::runner::point_latest(&base, &plan.out_dir)?;
        } else {
            experiment::sweep::prepare_out_dir(&plan.out_dir, resume, force)?;
        }
        experiment::sweep::install_interrupt_handler()?;
        let rep = experiment::sweep::run_sweep(&plan, shard, resume, ProgressMode::detect(quiet))?;
        if rep.interrupted {
            eprintln!(
                "interrupted: {} of {} runs done; rerun with --resume to finish",
                rep.ran + rep.skipped,
                rep.assigned
            );
            return Ok(ExitCode::from(130));
        }
        let which = shard.map(|s| format!("shard {}/{}", s.index, s.count)).unwrap_or_else(|| "all".into());
        outln!(
            "sweep `{}` ({which}): {} of {} runs assigned, {} ran, {} skipped (DONE); runs in {}",
            plan.name,
            rep.assigned,
            plan.runs.len(),
            rep.ran,
            rep.skipped,
            plan.out_dir.join("runs").display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(s) = shard {
        return Err(Error::input(format!(
            "{}: --shard {}/{} needs a [sweep] table in the experiment; add one or drop --shard",
            experiment.display(),
            s.index,
            s.count
        )));
    }
    let exp = experiment::load(&experiment, &opts)?;
    if resume {
        return Err(Error::input(format!(
            "{}: --resume finishes a [sweep]; this experiment has none: rerun it with --force (replaces the output directory) or into another --out",
            experiment.display()
        )));
    }
    experiment::sweep::install_interrupt_handler()?;
    let report = experiment::run(&exp, &RunOptions { progress: ProgressMode::detect(quiet), force })?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if report.interrupted {
        eprintln!(
            "interrupted: the agents and variants that finished are complete in {} (summary.json has \"interrupted\": true)",
            report.out_dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    let plots = report.files.iter().filter(|f| f.extension().is_some_and(|e| e == "png")).count();
    outln!("wrote {} files ({} plots) to {}", report.files.len(), plots, report.out_dir.display());
    outln!("  summary: {}", report.out_dir.join("summary.json").display());
    if !report.diverged.is_empty() {
        for d in &report.diverged {
            eprintln!("error: {d}");
        }
        return Err(Error::internal(format!(
            "{} seed run(s) diverged; outputs are in {}",
            report.diverged.len(),
            report.out_dir.display()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// What an input TOML file is, from its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Experiment,
    Env,
    Network,
    AgentPreset,
    ExperimentPreset,
}

impl FileKind {
    fn of(doc: &Doc) -> FileKind {
        let has = |k: &str| doc.table.contains_key(k);
        let agent_kind = doc.table.get("kind").and_then(|k| k.as_str()).is_some_and(|k| {
            experiment::agents::all_kinds().iter().any(|a| a == k) && !crate::env::env_kinds().iter().any(|e| e == k)
        });
        if ["agents", "env", "extends", "variants", "sweep"].iter().any(|k| has(k)) {
            FileKind::Experiment
        } else if has("layers") {
            FileKind::Network
        } else if agent_kind {
            FileKind::AgentPreset
        } else if ["map", "states", "transitions", "kind", "gamma", "actions"].iter().any(|k| has(k)) {
            FileKind::Env
        } else {
            FileKind::ExperimentPreset
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FileKind::Experiment => "an experiment file",
            FileKind::Env => "an env file",
            FileKind::Network => "a network file",
            FileKind::AgentPreset => "an agent preset",
            FileKind::ExperimentPreset => "an experiment preset",
        }
    }
}

/// `rlkit run`/`plan` given another kind of file: say what it is and what to
/// do, instead of listing its keys as unknown.
fn refuse_env_file(file: &Path, cmd: &str) -> Result<()> {
    let doc = Doc::load(file)?;
    let kind = FileKind::of(&doc);
    let f = file.display();
    let hint = match kind {
        FileKind::Experiment | FileKind::ExperimentPreset => return Ok(()),
        FileKind::Env => format!("solve it with `rlkit solve {f}`, or give it to an experiment as env.path = \"{f}\""),
        FileKind::Network => {
            format!("use it as an agent's network = \"{f}\", or inspect it with `rlkit nn summary {f}`")
        }
        FileKind::AgentPreset => format!("use it in an experiment's [[agents]] as preset = \"{f}\""),
    };
    Err(Error::input(format!(
        "{f}: this is {}; `rlkit {cmd}` takes an experiment (with [env] and [[agents]]); {hint}",
        kind.describe()
    )))
}

fn dispatch(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Nn { cmd } => crate::nn::cli::run(cmd),
        Cmd::Run { .. } => unreachable!("handled by run_cmd"),
        Cmd::Check { file } => check(&file),
        Cmd::Eval { run_dir, env, out } => {
            let r = experiment::eval::eval(&run_dir, env.as_deref(), out.as_deref())?;
            for (agent, seed, pa) in &r.results {
                outln!("{agent} seed {seed}: PA {pa:.4}");
            }
            outln!("wrote {}", r.out_dir.display());
            Ok(())
        }
        Cmd::Plan { experiment, seeds, sets } => {
            refuse_env_file(&experiment, "plan")?;
            let opts = LoadOptions { out: None, seeds, sets: parse_sets(&sets)? };
            let Some(plan) = experiment::sweep::plan(&experiment, &opts)? else {
                return Err(Error::input(format!(
                    "{}: no [sweep] table; add one, e.g. [sweep] \"agents[0].alpha\" = [0.1, 0.5]",
                    experiment.display()
                )));
            };
            use std::fmt::Write as _;
            let mut text = String::new();
            let keys = plan.keys.join(", ");
            let _ = writeln!(text, "sweep `{}`: {} runs (plan {}), keys {keys}", plan.name, plan.runs.len(), plan.hash);
            let _ = writeln!(text, "{:>6} {:<16} {:>6} {:>6}  overrides", "run", "id", "point", "seed");
            for r in &plan.runs {
                let o: Vec<String> = r.overrides.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(text, "{:>6} {:<16} {:>6} {:>6}  {}", r.index, r.id, r.point, r.seed, o.join(" "));
            }
            // A closed pipe (`rlkit plan EXP | head`) is not an error.
            crate::util::write_stdout(&text);
            Ok(())
        }
        Cmd::Merge { dirs, out } => {
            let files = experiment::sweep::merge(&dirs, &out)?;
            outln!("merged {} directories: wrote {} files to {}", dirs.len(), files.len(), out.display());
            Ok(())
        }
        Cmd::Solve { env, algo, policy, gamma, tol, sweeps, sets, format } => {
            solve(&env, algo, &policy, gamma, tol, sweeps, &sets, format)
        }
        Cmd::Render { env, values, agent, seed, policy, sets, out } => {
            render(&env, values.as_deref(), agent.as_deref(), seed, policy.as_deref(), &sets, &out)
        }
        Cmd::List => list(),
        Cmd::Generate { sizes, count, density, seed, out } => generate(&sizes, count, density, seed, &out),
        Cmd::Bench { which } => crate::bench::run(which),
        Cmd::Export { run_dir, format: ExportFormat::Tfrecord } => {
            let rep = crate::experiment::export::export_run(&run_dir)?;
            for s in &rep.skipped {
                eprintln!("note: skipped {s}");
            }
            let total: u64 = rep.files.iter().map(|f| f.1).sum();
            for (f, n) in &rep.files {
                outln!("{}: {n} transitions", f.display());
            }
            outln!("wrote {} files, {total} transitions", rep.files.len());
            Ok(())
        }
        Cmd::Inspect { file } => {
            let ins = crate::experiment::export::inspect(&file)?;
            outln!("{}: {} records, {} bytes", file.display(), ins.records, ins.bytes);
            for (k, (t, n)) in &ins.keys {
                outln!("  {k:<20} {t:<6} in {n} records");
            }
            Ok(())
        }
        Cmd::Stats(args) => crate::experiment::stats_cli::run(&args),
    }
}

fn generate(sizes: &str, count: usize, density: f64, seed: u64, out: &Path) -> Result<()> {
    use crate::env::generate::{generate_maps, parse_sizes, write_maps, MapGenConfig};
    if !(1..=100_000).contains(&count) {
        return Err(Error::input(format!("--count {count}: must be in 1..=100000")));
    }
    let cfg = MapGenConfig { density, ..MapGenConfig::default() };
    cfg.validate().map_err(|e| Error::input(format!("--density: {e}")))?;
    let maps = generate_maps(parse_sizes(sizes)?, count, &cfg, seed)?;
    let files = write_maps(out, &maps)?;
    outln!("wrote {} maps to {}", files.len(), out.display());
    Ok(())
}

/// A tiny inline world that presets are checked against (`rlkit check PRESET`).
const CHECK_ENV: &str = "[env]\nname = \"check\"\ngamma = 0.9\nmap = \"\"\"\n...\n.#T\n\"\"\"\n";

fn check(file: &Path) -> Result<()> {
    let doc = Doc::load(file)?;
    let f = file.display();
    match FileKind::of(&doc) {
        FileKind::Experiment => {
            if let Some(plan) = experiment::sweep::plan(file, &LoadOptions::default())? {
                outln!("{f}: valid sweep `{}` ({} runs over {})", plan.name, plan.runs.len(), plan.keys.join(", "));
                return Ok(());
            }
            let exp = experiment::load(file, &LoadOptions::default())?;
            let agents: usize = exp.variants.iter().map(|v| v.agents.len()).sum();
            outln!(
                "{f}: valid experiment `{}` ({} variant(s), {agents} agent run(s), {} seed(s))",
                exp.spec.name,
                exp.variants.len(),
                exp.seeds.len()
            );
        }
        FileKind::Env => match crate::env::LoadedEnv::from_doc(&doc, &[])? {
            crate::env::LoadedEnv::Finite(w) => outln!(
                "{f}: valid env `{}` ({} states, {} actions, gamma {})",
                w.name,
                w.model().n_states(),
                w.model().n_actions(),
                w.gamma()
            ),
            crate::env::LoadedEnv::Continuous(t) => outln!(
                "{f}: valid continuous env `{}` (observation {}; {} actions, gamma {})",
                t.name,
                t.spec.describe(),
                t.n_actions,
                t.gamma
            ),
        },
        FileKind::Network => {
            let net = crate::nn::model::NetworkFile::load(file)?;
            match net.spec.input {
                Some(input) => {
                    let n = net.build::<f32>(input, 0)?;
                    outln!(
                        "{f}: valid network ({} layers, input {input:?}, {} parameters)",
                        net.spec.layers.len(),
                        n.num_params()
                    );
                }
                None => outln!(
                    "{f}: valid network ({} layers; no `input`, so shapes are checked when an agent uses it)",
                    net.spec.layers.len()
                ),
            }
        }
        kind @ (FileKind::AgentPreset | FileKind::ExperimentPreset) => {
            // Checked as `run` would use it: in a small experiment on a 2x3 gridworld.
            let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
            let p = toml::Value::String(abs.display().to_string());
            let text = if kind == FileKind::AgentPreset {
                format!("name = \"check\"\nepisodes = 1\n{CHECK_ENV}[[agents]]\npreset = {p}\n")
            } else {
                format!("extends = {p}\nname = \"check\"\n{CHECK_ENV}[[agents]]\nkind = \"value-iteration\"\n")
            };
            let probe =
                file.with_file_name(format!("{}(check)", file.file_name().unwrap_or_default().to_string_lossy()));
            let doc = Doc::from_str(&probe, &text)?;
            experiment::load::load_doc(doc, &probe, &LoadOptions::default())?;
            outln!("{f}: valid {}", kind.describe().trim_start_matches("an ").trim_start_matches("a "));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn solve(
    env: &Path,
    algo: Algo,
    policy: &str,
    gamma: Option<f64>,
    tol: f64,
    sweeps: usize,
    sets: &[String],
    format: Format,
) -> Result<()> {
    let w = load_env(env, sets, gamma, "solve")?;
    if tol.is_nan() || tol <= 0.0 {
        return Err(Error::input(format!("--tol {tol}: must be > 0")));
    }
    let m = w.model();
    let file = env.display().to_string();
    let (values, actions) = match algo {
        Algo::PolicyEvaluation => {
            let pol = if policy == "uniform" {
                Policy::uniform(m.n_states(), m.n_actions())
            } else {
                read_policy(&w, Path::new(policy))?
            };
            dp::evaluation::check_proper(m, &pol, |s| w.state_label(s))
                .map_err(|e| Error::input(format!("{file}: {e}")))?;
            let cfg = EvalConfig { method: EvalMethod::Iterative, tol, ..Default::default() };
            let ev = dp::evaluate(m, &pol, &cfg, None)?;
            let acts =
                pol.is_deterministic().then(|| (0..m.n_states()).map(|s| pol.greedy_action(s)).collect::<Vec<_>>());
            (ev.values, acts)
        }
        _ => {
            w.check_gamma(&file)?;
            let sol = match algo {
                Algo::ValueIteration => dp::value_iteration(m, &dp::ViConfig { tol, ..Default::default() }, None)?,
                Algo::PolicyIteration => dp::policy_iteration(m, &dp::PiConfig { tol, ..Default::default() }, None)?,
                _ => dp::truncated_policy_iteration(
                    m,
                    &dp::TpiConfig { sweeps: Some(sweeps.max(1)), tol, ..Default::default() },
                    None,
                )?,
            };
            if !sol.converged {
                eprintln!("warning: stopped at the iteration limit before reaching --tol {tol}");
            }
            (sol.values.clone(), Some(sol.actions))
        }
    };
    crate::util::write_stdout(&dp::policy::format_solution(
        &w,
        &values,
        actions.as_deref(),
        matches!(format, Format::Csv),
    )?);
    Ok(())
}

fn read_values_csv(path: &Path, w: &World, agent: Option<&str>, seed: Option<u64>) -> Result<Vec<f64>> {
    let file = path.display();
    let g = w.grid().ok_or_else(|| Error::input("render needs a gridworld"))?;
    let text = crate::config::read_text(path)?;
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = rdr.headers().map_err(|e| Error::input(format!("{file}:1: {e}")))?.clone();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(ri), Some(ci), Some(vi)) = (col("row"), col("col"), col("value")) else {
        return Err(Error::input(format!("{file}:1: the header needs `row`, `col` and `value` columns")));
    };
    let ai = col("agent");
    let si = col("seed");
    if agent.is_some() && ai.is_none() || seed.is_some() && si.is_none() {
        let which = if agent.is_some() && ai.is_none() { "--agent" } else { "--seed" };
        return Err(Error::input(format!(
            "{file}:1: {which} picks rows by the `{}` column, which this CSV does not have",
            &which[2..]
        )));
    }
    let mut values = vec![0.0; g.n_states()];
    let mut first: Option<(String, String)> = None;
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::input(format!("{file}:{line}: {e}")))?;
        let key =
            (ai.map(|a| rec[a].to_string()).unwrap_or_default(), si.map(|s| rec[s].to_string()).unwrap_or_default());
        let wanted = agent.is_none_or(|a| a == key.0) && seed.is_none_or(|s| key.1.parse::<u64>() == Ok(s));
        if !wanted {
            if seen.len() < 20 && !seen.contains(&key) {
                seen.push(key);
            }
            continue;
        }
        match &first {
            None => first = Some(key.clone()),
            Some(f) if *f != key => continue,
            _ => {}
        }
        let idx = |i: usize| rec[i].parse::<usize>().ok();
        let (Some(r), Some(c), Some(v)) = (idx(ri), idx(ci), rec[vi].parse::<f64>().ok()) else {
            return Err(Error::input(format!(
                "{file}:{line}: row and col must be whole numbers >= 0 and value a number"
            )));
        };
        if r >= g.height || c >= g.width {
            return Err(Error::input(format!(
                "{file}:{line}: cell ({r},{c}) is outside the {}x{} map",
                g.height, g.width
            )));
        }
        values[g.state(r, c)] = v;
    }
    if first.is_none() && (agent.is_some() || seed.is_some()) {
        let have: Vec<String> = seen.iter().map(|(a, s)| format!("{a} seed {s}")).collect();
        return Err(Error::input(format!(
            "{file}: no rows for{}{}; it has {}",
            agent.map(|a| format!(" agent `{a}`")).unwrap_or_default(),
            seed.map(|s| format!(" seed {s}")).unwrap_or_default(),
            if have.is_empty() { "no rows".to_string() } else { have.join(", ") }
        )));
    }
    Ok(values)
}

fn render(
    env: &Path,
    values: Option<&Path>,
    agent: Option<&str>,
    seed: Option<u64>,
    policy: Option<&Path>,
    sets: &[String],
    out: &Path,
) -> Result<()> {
    if !out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
        return Err(Error::input(format!(
            "-o {}: render writes PNG images; give a file name ending in .png (e.g. -o map.png)",
            out.display()
        )));
    }
    if values.is_none() && (agent.is_some() || seed.is_some()) {
        return Err(Error::input("--agent and --seed choose rows of --values FILE; give --values too"));
    }
    let w = load_env(env, sets, None, "render")?;
    let Some(g) = w.grid() else {
        return Err(Error::input(format!("{}: render draws gridworlds; this is a finite MDP", env.display())));
    };
    let vals = values.map(|p| read_values_csv(p, &w, agent, seed)).transpose()?;
    let acts = match policy {
        Some(p) => {
            let pol = read_policy(&w, p)?;
            Some((0..w.model().n_states()).map(|s| pol.greedy_action(s)).collect::<Vec<_>>())
        }
        None => None,
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::util::ensure_writable_dir(dir)?;
    }
    let plot = crate::plot::grid::GridPlot {
        title: w.name.clone(),
        values: vals.as_deref(),
        actions: acts.as_deref(),
        action_sets: None,
        decimals: None,
    };
    crate::plot::grid::render_grid(out, &crate::experiment::runner::grid_map(g), &plot)?;
    outln!("wrote {}", out.display());
    Ok(())
}

fn list() -> Result<()> {
    let describe = |dir: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .map(|p| {
                        let desc = Doc::load(&p)
                            .ok()
                            .and_then(|d| d.table.get("description").and_then(|x| x.as_str()).map(String::from))
                            .unwrap_or_default();
                        (p.display().to_string(), desc)
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    // The library built into the binary (env.path = "NAME" finds it from any directory),
    // then any other env file in ./envs.
    let mut envs: Vec<(String, String)> = crate::experiment::load::ENV_LIBRARY
        .iter()
        .map(|(n, text)| {
            let desc = Doc::from_str(format!("envs/{n}.toml"), text)
                .ok()
                .and_then(|d| d.table.get("description").and_then(|x| x.as_str()).map(String::from))
                .unwrap_or_default();
            (format!("envs/{n}.toml"), desc)
        })
        .collect();
    for e in describe("envs") {
        if !envs.iter().any(|x| x.0 == e.0) {
            envs.push(e);
        }
    }
    envs.sort();
    outln!("Environments (envs/; built in: env.path = \"NAME\" finds envs/NAME.toml from any directory):");
    for (p, d) in envs {
        outln!("  {p:<40} {d}");
    }
    outln!("\nEnv kinds (`kind` in an env file):");
    for k in crate::env::env_kinds() {
        let d = crate::env::BUILTIN_ENV_KINDS.iter().find(|b| b.0 == k).map_or("custom (registered)", |b| b.1);
        outln!("  {k:<40} {d}");
    }
    outln!("\nAgent kinds:");
    for (k, d) in experiment::agents::DP_KINDS {
        outln!("  {k:<40} {d}");
    }
    for (k, d) in experiment::extra_kind_descriptions() {
        outln!("  {k:<40} {d}");
    }
    outln!("\nExperiments (experiments/):");
    for (p, d) in describe("experiments") {
        outln!("  {p:<40} {d}");
    }
    Ok(())
}
