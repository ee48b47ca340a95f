//! TD speed: cliff walking, Sarsa and Q-learning, 500 episodes × 50 seeds (rayon over
//! seeds), and environment steps per second inside the learning loop.
//!
//! `cargo bench --bench td` (set RAYON_NUM_THREADS to pin the thread count).
use std::time::Instant;

use rayon::prelude::*;
use rlkit::agents::train::{run_seed, TrainConfig};
use rlkit::env::World;
use rlkit::util::derive_seed;

fn main() {
    let world = World::load("envs/cliff_walking.toml".as_ref()).expect("env file");
    let params: toml::Table = toml::from_str("alpha = 0.5\nepsilon = 0.1").expect("toml");
    let cfg = TrainConfig { episodes: 500, ..Default::default() };
    let threads = rayon::current_num_threads();
    println!("| agent | seeds x episodes | threads | wall time (best of 5) | env steps | steps/s (all threads) | steps/s per thread |");
    println!("|---|---|---|---|---|---|---|");
    for kind in ["sarsa", "q-learning", "expected-sarsa"] {
        let mut best = f64::INFINITY;
        let mut steps = 0u64;
        for _ in 0..5 {
            let t = Instant::now();
            let total: u64 = (0..50u64)
                .into_par_iter()
                .map(|i| {
                    let r = run_seed(&world, kind, &params, derive_seed(0, &[i]), &cfg).expect("run");
                    match r.episodes.rows().last().map(|row| &row[3]) {
                        Some(rlkit::data::table::Cell::Int(n)) => *n as u64,
                        _ => 0,
                    }
                })
                .sum();
            best = best.min(t.elapsed().as_secs_f64());
            steps = total;
        }
        println!(
            "| {kind} | 50 x 500 | {threads} | {:.3} s | {steps} | {:.2e} | {:.2e} |",
            best,
            steps as f64 / best,
            steps as f64 / best / threads as f64
        );
    }
    // Single-thread loop only (no table building): one seed of Q-learning, many episodes.
    let mut env = world.make_env();
    let mut agent = rlkit::agents::td::QLearning::new(Default::default(), 48, 4, 1.0);
    let t = Instant::now();
    let recs = rlkit::agents::train::train(
        &mut env,
        &mut agent,
        &TrainConfig { episodes: 20_000, ..Default::default() },
        1,
        |_, _, _: &rlkit::agents::td::QLearning| {},
    );
    let secs = t.elapsed().as_secs_f64();
    let steps = recs.last().map_or(0, |r| r.steps);
    println!("\nsingle thread, train() only: {steps} steps in {secs:.3} s = {:.2e} steps/s", steps as f64 / secs);
}
