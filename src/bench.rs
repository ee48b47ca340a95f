//! `rlkit bench`: speed measurements (never timed tests).
//!
//! - `rlkit bench vi --size 1000`: value iteration on a generated 1000×1000
//!   Zhao-style grid (1 M states, 5 actions, 20 % random forbidden cells,
//!   γ = 0.9, tolerance 1e-6): build time, solve time, sweeps, peak memory.
//!   Run it with `RAYON_NUM_THREADS=1` for the one-core figure.
//! - `rlkit bench steps --env envs/zhao_5x5.toml`: environment steps per second
//!   with uniformly random actions.

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use rand::RngExt;

use crate::agents::dp::{value_iteration, ViConfig};
use crate::env::{Env, Grid, World, WorldKind};
use crate::{Error, Result};

/// Which benchmark to run.
#[derive(Subcommand, Debug, Clone)]
pub enum BenchCmd {
    /// Value iteration on a generated Zhao-style grid.
    Vi {
        /// The grid is size × size.
        #[arg(long, default_value_t = 1000)]
        size: usize,
        /// Fraction of random forbidden cells.
        #[arg(long, default_value_t = 0.2)]
        forbidden: f64,
        /// Stopping tolerance on ‖v_k − v_{k−1}‖∞.
        #[arg(long, default_value_t = 1e-6)]
        tol: f64,
        /// Repetitions of the solve (the best is reported too).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Environment steps per second with random actions.
    Steps {
        /// The env file.
        #[arg(long, default_value = "envs/zhao_5x5.toml")]
        env: PathBuf,
        /// Steps to take.
        #[arg(long, default_value_t = 100_000_000)]
        steps: u64,
    },
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Run a benchmark and print its figures.
pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Vi { size, forbidden, tol, repeat } => {
            if size == 0 || !(0.0..1.0).contains(&forbidden) {
                return Err(Error::input("--size must be >= 1 and --forbidden in [0, 1)"));
            }
            let t = Instant::now();
            let grid = Grid::generate_zhao(size, size, forbidden, 7)?;
            let build = t.elapsed().as_secs_f64();
            let m = &grid.model;
            println!(
                "grid {size}x{size}: {} states, {} actions, {} transitions; model built in {build:.3} s",
                m.n_states(),
                m.n_actions(),
                m.n_transitions()
            );
            println!("threads: {} (set RAYON_NUM_THREADS=1 for one core)", rayon::current_num_threads());
            let mut best = f64::INFINITY;
            for r in 0..repeat.max(1) {
                let t = Instant::now();
                let sol = value_iteration(m, &ViConfig { tol, ..Default::default() }, None)?;
                let secs = t.elapsed().as_secs_f64();
                best = best.min(secs);
                let n = sol.iterations.len();
                println!(
                    "run {}: value iteration converged={} in {secs:.3} s, {n} sweeps, {:.1} M state-backups/s, final delta {:.2e}",
                    r + 1,
                    sol.converged,
                    (n * m.n_states()) as f64 / secs / 1e6,
                    sol.iterations.last().map_or(0.0, |x| x.delta)
                );
            }
            println!("best solve: {best:.3} s");
            if let Some(p) = peak_rss_mib() {
                println!("peak resident memory: {p:.0} MiB");
            }
        }
        BenchCmd::Steps { env, steps } => {
            let w = World::load(&env)?;
            let mut e = w.make_env();
            let na = e.n_actions();
            let mut rng = crate::util::rng_for(1, &[]);
            e.reset(Some(0));
            let t = Instant::now();
            let mut total_reward = 0.0;
            let mut episodes = 0u64;
            for _ in 0..steps {
                let a = rng.random_range(0..na);
                let st = e.step(a);
                total_reward += st.reward;
                if st.terminated || st.truncated {
                    e.reset(None);
                    episodes += 1;
                }
            }
            let secs = t.elapsed().as_secs_f64();
            let kind = match &w.kind {
                WorldKind::Grid(g) if g.spec.dynamics.slippery => "slippery grid",
                WorldKind::Grid(_) => "grid",
                WorldKind::Mdp(_) => "mdp",
            };
            println!(
                "{} ({kind}): {steps} random steps in {secs:.3} s = {:.1} M steps/s ({episodes} episodes; reward sum {total_reward})",
                w.name,
                steps as f64 / secs / 1e6
            );
        }
    }
    Ok(())
}
