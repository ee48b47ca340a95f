//! `rlkit bench`: speed measurements (never timed tests). See `docs/speed.md`
//! for the figures, the peers and the exact commands.
//!
//! - `rlkit bench vi --size 1000`: value iteration on a generated 1000×1000
//!   Zhao-style grid (1 M states, 5 actions, 20 % random forbidden cells,
//!   γ = 0.9, tolerance 1e-6): build time, synchronous (Jacobi) solve time and
//!   sweeps (the headline), a Gauss–Seidel solve reported separately, peak
//!   memory and bytes per state. `--kernel grid` (default) uses implicit
//!   successors ([`crate::agents::dp::grid_vi`], bit-identical values);
//!   `--kernel model` the generic `TabularModel` solver of `rlkit solve`.
//!   `--threads N` (or `RAYON_NUM_THREADS=1`) sets the worker count.
//! - `rlkit bench steps --env envs/zhao_5x5.toml`: environment steps per second
//!   with uniformly random actions, counting episodes: first through
//!   `TabularEnv::step` (the agents' API, ChaCha8 streams), then through a
//!   branch-free [`crate::env::model::StepTable`] with a wyrand draw per step
//!   (`--threads N` runs N independent streams).

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use rayon::prelude::*;

use crate::agents::dp::grid_vi::PlainGrid;
use crate::agents::dp::{value_iteration, ViConfig};
use crate::env::model::{StepTable, WyRand};
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
        /// Worker threads (0 = rayon's default, which honours RAYON_NUM_THREADS).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// `grid`: implicit successors, no transition table (the headline);
        /// `model`: the generic CSR `TabularModel` solver that `rlkit solve` uses.
        #[arg(long, default_value = "grid")]
        kernel: String,
    },
    /// Environment steps per second with random actions.
    Steps {
        /// The env file.
        #[arg(long, default_value = "envs/zhao_5x5.toml")]
        env: PathBuf,
        /// Steps to take.
        #[arg(long, default_value_t = 100_000_000)]
        steps: u64,
        /// Threads for the step-table path (independent streams; 1 = one core).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

/// Peak resident memory of this process in MiB, if known: `ru_maxrss` of
/// `getrusage(RUSAGE_SELF)` (through `nix`), which is in KiB on Linux and the
/// BSDs and in bytes on macOS and iOS. `None` off Unix.
pub fn peak_rss_mib() -> Option<f64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrusage, UsageWho};
        let raw = getrusage(UsageWho::RUSAGE_SELF).ok()?.max_rss() as f64;
        let bytes = if cfg!(target_vendor = "apple") { raw } else { raw * 1024.0 };
        Some(bytes / (1024.0 * 1024.0))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Run a benchmark and print its figures.
pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Vi { size, forbidden, tol, repeat, threads, kernel } => {
            if size == 0 || !(0.0..1.0).contains(&forbidden) {
                return Err(Error::input("--size must be >= 1 and --forbidden in [0, 1)"));
            }
            let mut pool = rayon::ThreadPoolBuilder::new();
            if threads > 0 {
                pool = pool.num_threads(threads);
            }
            let pool = pool.build().map_err(|e| Error::input(e.to_string()))?;
            pool.install(|| bench_vi(size, forbidden, tol, repeat, kernel))?;
        }
        BenchCmd::Steps { env, steps, threads } => {
            let w = World::load(&env)?;
            let kind = match &w.kind {
                WorldKind::Grid(g) if g.spec.dynamics.slippery => "slippery grid",
                WorldKind::Grid(_) => "grid",
                WorldKind::Mdp(_) => "mdp",
            };
            // 1. The agents' API: `TabularEnv::step` (its own ChaCha8 stream, one f64
            //    per step, unchanged), with the bench's action draws from wyrand.
            let mut e = w.make_env();
            let na = e.n_actions();
            let mut rng = WyRand::new(1);
            e.reset(Some(0));
            let t = Instant::now();
            let mut total_reward = 0.0;
            let mut episodes = 0u64;
            for _ in 0..steps {
                let a = (((rng.next_u64() >> 32) * na as u64) >> 32) as usize;
                let st = e.step(a);
                total_reward += st.reward;
                if st.terminated || st.truncated {
                    e.reset(None);
                    episodes += 1;
                }
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{} ({kind}, TabularEnv::step): {steps} random steps in {secs:.3} s = {:.1} M steps/s ({episodes} episodes; reward sum {total_reward})",
                w.name,
                steps as f64 / secs / 1e6
            );
            // 2. The throughput path: a branch-free step table and one wyrand draw
            //    per step (high 32 bits: the action, low 32 bits: the outcome).
            let table = StepTable::new(w.model())?;
            let threads = threads.max(1);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::input(e.to_string()))?;
            let max_steps = w.max_steps().unwrap_or(u64::MAX);
            let per = steps / threads as u64;
            let t = Instant::now();
            let parts: Vec<(u64, f64)> = pool.install(|| {
                (0..threads)
                    .into_par_iter()
                    .map(|i| table_rollout(&table, na, w.starts(), max_steps, per, 0x5eed + i as u64))
                    .collect()
            });
            let secs = t.elapsed().as_secs_f64();
            let (episodes, total_reward) = parts.iter().fold((0, 0.0), |(e, r), p| (e + p.0, r + p.1));
            let done = per * threads as u64;
            println!(
                "{} ({kind}, step table, {threads} thread{}): {done} random steps in {secs:.3} s = {:.1} M steps/s ({episodes} episodes; reward sum {total_reward})",
                w.name,
                if threads == 1 { "" } else { "s" },
                done as f64 / secs / 1e6
            );
        }
    }
    Ok(())
}

/// `steps` random steps through `table`, resetting at episode ends (a
/// terminal transition or `max_steps`); returns (episodes, reward sum).
fn table_rollout(table: &StepTable, na: usize, starts: &[usize], max_steps: u64, steps: u64, seed: u64) -> (u64, f64) {
    match table.slots() {
        1 => rollout_k::<1>(table, na, starts, max_steps, steps, seed),
        2 => rollout_k::<2>(table, na, starts, max_steps, steps, seed),
        3 => rollout_k::<3>(table, na, starts, max_steps, steps, seed),
        4 => rollout_k::<4>(table, na, starts, max_steps, steps, seed),
        _ => rollout_any(table, na, starts, max_steps, steps, seed),
    }
}

fn rollout_k<const K: usize>(
    table: &StepTable,
    na: usize,
    starts: &[usize],
    max_steps: u64,
    steps: u64,
    seed: u64,
) -> (u64, f64) {
    let mut rng = WyRand::new(seed);
    let na64 = na as u64;
    let mut s = starts[0];
    let (mut t, mut episodes, mut total) = (0u64, 0u64, 0.0f64);
    if starts.len() == 1 {
        // One start state: the reset is a select, the loop has no data-dependent branch.
        let start = starts[0];
        for _ in 0..steps {
            let x = rng.next_u64();
            let a = (((x >> 32) * na64) >> 32) as usize;
            let o = table.sample_k::<K>(s, a, x as u32);
            total += o.reward;
            t += 1;
            let end = (o.done != 0) | (t >= max_steps);
            s = if end { start } else { o.next as usize };
            t = if end { 0 } else { t };
            episodes += end as u64;
        }
    } else {
        for _ in 0..steps {
            let x = rng.next_u64();
            let a = (((x >> 32) * na64) >> 32) as usize;
            let o = table.sample_k::<K>(s, a, x as u32);
            total += o.reward;
            t += 1;
            s = o.next as usize;
            if o.done != 0 || t >= max_steps {
                episodes += 1;
                t = 0;
                s = starts[(((rng.next_u64() >> 32) * starts.len() as u64) >> 32) as usize];
            }
        }
    }
    (episodes, total)
}

fn rollout_any(table: &StepTable, na: usize, starts: &[usize], max_steps: u64, steps: u64, seed: u64) -> (u64, f64) {
    let mut rng = WyRand::new(seed);
    let mut s = starts[0];
    let (mut t, mut episodes, mut total) = (0u64, 0u64, 0.0f64);
    for _ in 0..steps {
        let x = rng.next_u64();
        let a = (((x >> 32) * na as u64) >> 32) as usize;
        let o = table.sample(s, a, x as u32);
        total += o.reward;
        t += 1;
        s = o.next as usize;
        if o.done != 0 || t >= max_steps {
            episodes += 1;
            t = 0;
            s = starts[(((rng.next_u64() >> 32) * starts.len() as u64) >> 32) as usize];
        }
    }
    (episodes, total)
}

fn bench_vi(size: usize, forbidden: f64, tol: f64, repeat: usize, kernel: String) -> Result<()> {
    let threads = rayon::current_num_threads();
    match kernel.as_str() {
        "grid" => {
            let t = Instant::now();
            let g = PlainGrid::generate_zhao(size, size, forbidden, 7)?;
            let build = t.elapsed().as_secs_f64();
            let ns = g.n_states();
            println!(
                "grid {size}x{size}: {ns} states, 5 actions, implicit successors (1 byte per state); model built in {build:.3} s"
            );
            println!("threads: {threads} (--threads N; RAYON_NUM_THREADS=1 for one core)");
            let mut best = f64::INFINITY;
            for r in 0..repeat.max(1) {
                let t = Instant::now();
                let sol = g.solve(tol, 100_000, false)?;
                let secs = t.elapsed().as_secs_f64();
                best = best.min(secs);
                println!(
                    "run {}: value iteration (synchronous) converged={} in {secs:.3} s, {} sweeps, {:.1} M state-backups/s, final delta {:.2e}",
                    r + 1,
                    sol.converged,
                    sol.sweeps,
                    (sol.sweeps * ns) as f64 / secs / 1e6,
                    sol.delta
                );
            }
            println!("best solve: {best:.3} s");
            let t = Instant::now();
            let gs = g.solve(tol, 100_000, true)?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "gauss-seidel (in place, one thread, reported separately): converged={} in {secs:.3} s, {} sweeps, final delta {:.2e}",
                gs.converged, gs.sweeps, gs.delta
            );
            report_memory(ns);
        }
        "model" => {
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
            println!("threads: {threads} (--threads N; RAYON_NUM_THREADS=1 for one core)");
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
            report_memory(m.n_states());
        }
        other => return Err(Error::input(format!("unknown --kernel `{other}` (valid: grid, model)"))),
    }
    Ok(())
}

fn report_memory(states: usize) {
    if let Some(p) = peak_rss_mib() {
        println!(
            "peak resident memory: {p:.0} MiB ({:.1} bytes per state, whole process)",
            p * 1048576.0 / states as f64
        );
    }
}

#[cfg(test)]
mod tests {
    /// The peak follows memory this process touches, in MiB (not KiB or
    /// bytes), and on Linux equals the kernel's own `VmHWM`.
    #[test]
    fn peak_rss_counts_touched_memory_in_mib() {
        let before = super::peak_rss_mib().expect("getrusage works on Unix");
        let block = vec![1u8; 96 << 20];
        let touched: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(touched, (96 << 20) / 4096);
        let after = super::peak_rss_mib().unwrap();
        assert!(after >= 96.0 && after >= before, "peak {after} MiB after touching 96 MiB (before {before})");
        assert!(after < f64::from(1u32 << 20), "unit: {after} looks like KiB or bytes, not MiB");
        #[cfg(target_os = "linux")]
        {
            let s = std::fs::read_to_string("/proc/self/status").unwrap();
            let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
            let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert!((kib / 1024.0 - after).abs() <= 1.0, "VmHWM {kib} KiB vs {after} MiB");
        }
        drop(block);
    }
}
