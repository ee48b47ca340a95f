//! Function-approximation speed, one core:
//! - tile-coded linear Sarsa on Mountain Car (8 tilings of 8×8, 3 actions, IHT of 4,096,
//!   α = 0.5/8, ε = 0, no step limit): environment steps with learning per second, where one
//!   step is the env step, the 8 active tiles of S′, the 3 action values, the greedy choice and
//!   the update of 8 weights. Runs of 50 and 500 episodes (the later episodes are short and the
//!   index hash table is full-grown, so the per-step cost differs).
//!
//! `cargo bench --bench approx` (pin a core with `taskset -c 0`). The Python peer on the same
//! task is `benches/peers/mountain_car_tiles3.py`.
use std::time::Instant;

use rlkit::agents::approx::linear_sarsa::{LinearSarsa, LinearSarsaConfig};
use rlkit::agents::approx::train_obs;
use rlkit::agents::train::TrainConfig;
use rlkit::env::features::ColumnSpec;
use rlkit::env::mountain_car::MountainCar;

fn columns() -> Vec<ColumnSpec> {
    let t: toml::Table = toml::from_str(
        r#"features = [{ kind = "tile_coding", inputs = ["position", "velocity"], tilings = 8, tiles = [8, 8], size = 4096, ranges = [[-1.2, 0.5], [-0.07, 0.07]] }]"#,
    )
    .expect("toml");
    t["features"].clone().try_into().expect("columns")
}

fn main() {
    let cfg = LinearSarsaConfig {
        features: columns(),
        alpha: rlkit::agents::agent::StepSize::Constant { value: 0.5 / 8.0 },
        epsilon: rlkit::agents::agent::Epsilon::Constant { value: 0.0 },
        ..Default::default()
    };
    println!("| what | episodes | env steps | best of 5 | steps/s |");
    println!("|---|---|---|---|---|");
    for episodes in [50usize, 500] {
        let mut best = f64::INFINITY;
        let mut steps = 0;
        for rep in 0..5u64 {
            let mut env = MountainCar::new(1.0, None);
            let mut agent = LinearSarsa::new(cfg.clone(), &MountainCar::spec(), 3, 1.0).expect("agent");
            let tc = TrainConfig { episodes, ..Default::default() };
            let t = Instant::now();
            let recs = train_obs(&mut env, &mut agent, &tc, rep, None, |_, _, _: &mut LinearSarsa| {});
            best = best.min(t.elapsed().as_secs_f64());
            steps = recs.last().map_or(0, |r| r.steps);
        }
        println!(
            "| tile-coded linear Sarsa, Mountain Car (learning) | {episodes} | {steps} | {:.4} s | {:.2} M |",
            best,
            steps as f64 / best / 1e6
        );
    }
}
