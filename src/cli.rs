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
use crate::{Error, Result};

const EXAMPLES: &str = "\
Examples:
  rlkit run experiments/quickstart.toml
  rlkit run experiments/zhao_fig3_4.toml --out /tmp/fig34 --set env.rewards.forbidden=-10
  rlkit check envs/zhao_5x5.toml
  rlkit solve envs/zhao_5x5.toml --algo value-iteration --set rewards.forbidden=-10
  rlkit solve envs/sutton_barto_4x4.toml --algo policy-evaluation --policy uniform --format csv
  rlkit render envs/zhao_5x5.toml --policy runs/quickstart/policies/VI.txt -o zhao.png
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
    Nn {
        #[command(subcommand)]
        cmd: crate::nn::cli::NnCommand,
    },
    /// Run an experiment and write CSV, JSON and plots.
    #[command(after_help = "Example:\n  rlkit run experiments/quickstart.toml --seeds 5 --set agents[0].tol=1e-8")]
    Run {
        /// The experiment file.
        experiment: PathBuf,
        /// Output directory (default: the file's out_dir, else runs/<name>).
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
        /// With a [sweep]: skip runs that have a DONE marker (and accept a non-empty output directory).
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Clear a non-empty output directory first (only one rlkit wrote: plan.json,
        /// config.resolved.toml, summary.json or runs/*/DONE).
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
        after_help = "Examples:\n  rlkit eval runs/dqn_zhao_5x5\n  rlkit eval runs/dqn_zhao_5x5 --env envs/generated_8x8.toml --out /tmp/eval8"
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
        after_help = "Example:\n  rlkit render envs/zhao_5x5.toml --values runs/quickstart/values.csv --policy runs/quickstart/policies/VI.txt -o vi.png"
    )]
    Render {
        /// The env file.
        env: PathBuf,
        /// A CSV with `row,col,value` columns (`rlkit solve --format csv`, or values.csv:
        /// the first agent and seed in it are drawn).
        #[arg(long)]
        values: Option<PathBuf>,
        /// A policy file (symbol grid).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Override an env key (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output PNG.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// List the environments, agent kinds and experiments.
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

fn load_env(path: &Path, sets: &[String], gamma: Option<f64>) -> Result<World> {
    let mut doc = Doc::load(path)?;
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
    if let Some(plan) = experiment::sweep::plan(&experiment, &opts)? {
        experiment::sweep::prepare_out_dir(&plan.out_dir, resume, force)?;
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
        println!(
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
    if force {
        experiment::sweep::prepare_out_dir(&exp.out_dir, false, true)?;
    }
    let report = experiment::run(&exp, &RunOptions { progress: ProgressMode::detect(quiet) })?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let plots = report.files.iter().filter(|f| f.extension().is_some_and(|e| e == "png")).count();
    println!("wrote {} files ({} plots) to {}", report.files.len(), plots, report.out_dir.display());
    println!("  summary: {}", report.out_dir.join("summary.json").display());
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

fn dispatch(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Nn { cmd } => crate::nn::cli::run(cmd),
        Cmd::Run { .. } => unreachable!("handled by run_cmd"),
        Cmd::Check { file } => check(&file),
        Cmd::Eval { run_dir, env, out } => {
            let r = experiment::eval::eval(&run_dir, env.as_deref(), out.as_deref())?;
            for (agent, seed, pa) in &r.results {
                println!("{agent} seed {seed}: PA {pa:.4}");
            }
            println!("wrote {}", r.out_dir.display());
            Ok(())
        }
        Cmd::Plan { experiment, seeds, sets } => {
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
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
            Ok(())
        }
        Cmd::Merge { dirs, out } => {
            let files = experiment::sweep::merge(&dirs, &out)?;
            println!("merged {} directories: wrote {} files to {}", dirs.len(), files.len(), out.display());
            Ok(())
        }
        Cmd::Solve { env, algo, policy, gamma, tol, sweeps, sets, format } => {
            solve(&env, algo, &policy, gamma, tol, sweeps, &sets, format)
        }
        Cmd::Render { env, values, policy, sets, out } => {
            render(&env, values.as_deref(), policy.as_deref(), &sets, &out)
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
                println!("{}: {n} transitions", f.display());
            }
            println!("wrote {} files, {total} transitions", rep.files.len());
            Ok(())
        }
        Cmd::Inspect { file } => {
            let ins = crate::experiment::export::inspect(&file)?;
            println!("{}: {} records, {} bytes", file.display(), ins.records, ins.bytes);
            for (k, (t, n)) in &ins.keys {
                println!("  {k:<20} {t:<6} in {n} records");
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
    println!("wrote {} maps to {}", files.len(), out.display());
    Ok(())
}

fn check(file: &Path) -> Result<()> {
    let doc = Doc::load(file)?;
    let is_experiment = ["agents", "env", "extends", "variants"].iter().any(|k| doc.table.contains_key(*k));
    if is_experiment {
        let exp = experiment::load(file, &LoadOptions::default())?;
        for v in &exp.variants {
            if let Some(w) = &v.world {
                if v.agents.iter().any(|a| a.kind.contains("iteration")) {
                    w.check_gamma(&v.env_file)?;
                }
            }
        }
        let agents: usize = exp.variants.iter().map(|v| v.agents.len()).sum();
        println!(
            "{}: valid experiment `{}` ({} variant(s), {agents} agent run(s), {} seed(s))",
            file.display(),
            exp.spec.name,
            exp.variants.len(),
            exp.seeds.len()
        );
    } else {
        match crate::env::LoadedEnv::from_doc(&doc, &[])? {
            crate::env::LoadedEnv::Finite(w) => println!(
                "{}: valid env `{}` ({} states, {} actions, gamma {})",
                file.display(),
                w.name,
                w.model().n_states(),
                w.model().n_actions(),
                w.gamma()
            ),
            crate::env::LoadedEnv::Continuous(t) => println!(
                "{}: valid continuous env `{}` (observation {}; {} actions, gamma {})",
                file.display(),
                t.name,
                t.spec.describe(),
                t.n_actions,
                t.gamma
            ),
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
    let w = load_env(env, sets, gamma)?;
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
    print!("{}", dp::policy::format_solution(&w, &values, actions.as_deref(), matches!(format, Format::Csv))?);
    Ok(())
}

fn read_values_csv(path: &Path, w: &World) -> Result<Vec<f64>> {
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
    let mut values = vec![0.0; g.n_states()];
    let mut first: Option<(String, String)> = None;
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::input(format!("{file}:{line}: {e}")))?;
        let key =
            (ai.map(|a| rec[a].to_string()).unwrap_or_default(), si.map(|s| rec[s].to_string()).unwrap_or_default());
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
    Ok(values)
}

fn render(env: &Path, values: Option<&Path>, policy: Option<&Path>, sets: &[String], out: &Path) -> Result<()> {
    let w = load_env(env, sets, None)?;
    let Some(g) = w.grid() else {
        return Err(Error::input(format!("{}: render draws gridworlds; this is a finite MDP", env.display())));
    };
    let vals = values.map(|p| read_values_csv(p, &w)).transpose()?;
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
    println!("wrote {}", out.display());
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
    println!("Environments (envs/):");
    for (p, d) in describe("envs") {
        println!("  {p:<40} {d}");
    }
    println!("\nEnv kinds (`kind` in an env file):");
    for k in crate::env::env_kinds() {
        let d = crate::env::BUILTIN_ENV_KINDS.iter().find(|b| b.0 == k).map_or("custom (registered)", |b| b.1);
        println!("  {k:<40} {d}");
    }
    println!("\nAgent kinds:");
    for (k, d) in experiment::agents::DP_KINDS {
        println!("  {k:<40} {d}");
    }
    for (k, d) in experiment::extra_kind_descriptions() {
        println!("  {k:<40} {d}");
    }
    println!("\nExperiments (experiments/):");
    for (p, d) in describe("experiments") {
        println!("  {p:<40} {d}");
    }
    Ok(())
}
