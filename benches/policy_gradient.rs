//! REINFORCE speed: episodes per second on Zhao's 5x5 grid with the tabular softmax policy,
//! episodes of 100 steps from uniformly drawn cells (the target is not terminal, so every
//! episode is cut at 100 steps), one thread, `train_obs` only (no runner tables or plots).
//!
//! `cargo bench --bench policy_gradient`
use std::time::Instant;

use rlkit::agents::approx::reinforce::{Baseline, Reinforce, ReinforceConfig};
use rlkit::agents::approx::{train_obs, ObsAgent};
use rlkit::agents::train::{uniform_starts, TrainConfig};
use rlkit::env::World;

fn main() {
    let world = World::load("envs/zhao_5x5.toml".as_ref()).expect("env file");
    let starts = uniform_starts(world.model());
    let episodes = 20_000;
    let cfg = TrainConfig { episodes, max_episode_steps: Some(100), ..Default::default() };
    println!("| agent | episodes x steps | wall time (best of 5) | episodes/s | steps/s |");
    println!("|---|---|---|---|---|");
    for (label, baseline) in [("REINFORCE", Baseline::None), ("REINFORCE + value baseline", Baseline::Value)] {
        let mut best = f64::INFINITY;
        let mut steps = 0;
        for rep in 0..5u64 {
            let c = ReinforceConfig { baseline, ..Default::default() };
            let mut agent = Reinforce::new(c, &world.obs_spec(), 5, world.gamma()).expect("agent");
            let mut env = world.make_obs_env();
            let t = Instant::now();
            let recs = train_obs(&mut env, &mut agent, &cfg, rep, Some(&starts), |_, _, _: &mut Reinforce| {});
            best = best.min(t.elapsed().as_secs_f64());
            steps = recs.last().map_or(0, |r| r.steps);
            assert!(!agent.diverged());
        }
        println!(
            "| {label} | {episodes} x 100 | {:.3} s | {:.3e} | {:.3e} |",
            best,
            episodes as f64 / best,
            steps as f64 / best
        );
    }
}
