//! DQN speed, one thread (pin a core with `taskset -c 0`):
//! - gradient updates per second (batch 100) for Zhao Fig. 8.11's MLP and for the grid backbone
//!   at 5×5 and 8×8 inputs (batch 100 and 32);
//! - environment steps per second including learning (one update per step, batch 32) with the
//!   grid backbone at 5×5 and 8×8.
//!
//! `cargo bench --bench dqn`
use std::time::Instant;

use rlkit::agents::approx::{self, train_obs, AgentContext, ObsAgent};
use rlkit::agents::train::TrainConfig;
use rlkit::env::{LoadedEnv, World};

fn grid(h: usize, w: usize) -> LoadedEnv {
    let g = rlkit::env::Grid::generate_zhao(h, w, 0.2, 1).expect("grid");
    LoadedEnv::Finite(World::new(rlkit::env::WorldKind::Grid(Box::new(g)), format!("zhao_{h}x{w}")))
}

fn agent(env: &LoadedEnv, toml_text: &str) -> Box<dyn ObsAgent + Send> {
    let p: toml::Table = toml::from_str(toml_text).expect("toml");
    let spec = env.obs_spec();
    let cx = AgentContext { spec: &spec, n_actions: env.n_actions(), gamma: 0.9, env: Some(env), file: None };
    approx::build_in("dqn", &p, &cx).expect("dqn")
}

fn main() {
    println!("| network | input | batch | what | best of 3 | rate |");
    println!("|---|---|---|---|---|---|");
    let zhao = LoadedEnv::Finite(World::load("envs/zhao_5x5.toml".as_ref()).expect("env"));
    let cases: Vec<(&str, LoadedEnv, &str, usize, usize)> = vec![
        ("Fig. 8.11 MLP (25-100-5)", zhao, "configs/networks/zhao_mlp.toml", 100, 2000),
        ("grid_backbone", grid(5, 5), "configs/networks/grid_backbone.toml", 100, 100),
        ("grid_backbone", grid(5, 5), "configs/networks/grid_backbone.toml", 32, 300),
        ("grid_backbone", grid(8, 8), "configs/networks/grid_backbone.toml", 32, 150),
    ];
    for (label, env, net, batch, updates) in cases {
        let obs = if label.contains("MLP") {
            "observation = \"features\"\nfeatures = [{ kind = \"one_hot_state\" }]"
        } else {
            "observation = \"one_hot\""
        };
        let text = format!(
            "network = \"{net}\"\n{obs}\nbehaviour = \"uniform\"\nepisode_length = 1000\nreplay = 1000\nbatch = {batch}\nlearning_starts = 1000\ntrain_every = 0\nupdates_per_episode = {updates}\n"
        );
        let shape = env.obs_spec();
        let (h, w) = (shape.high[1] as usize + 1, shape.high[2] as usize + 1);
        let mut best = f64::INFINITY;
        for rep in 0..3u64 {
            let mut a = agent(&env, &text);
            let mut e = env.make_obs_env();
            // One episode fills the replay; its updates run at the episode's end: time them.
            let cfg = TrainConfig { episodes: 1, ..Default::default() };
            let t0 = Instant::now();
            train_obs(&mut *e, &mut a, &cfg, rep, None, |_, _, _: &mut Box<dyn ObsAgent + Send>| {});
            best = best.min(t0.elapsed().as_secs_f64());
            assert_eq!(a.losses().len(), updates);
        }
        println!(
            "| {label} | 4x{h}x{w} | {batch} | {updates} updates | {best:.3} s | {:.0} updates/s |",
            updates as f64 / best
        );
    }
    for (h, w) in [(5, 5), (8, 8)] {
        let env = grid(h, w);
        let text = "network = \"configs/networks/grid_backbone.toml\"\nobservation = \"one_hot\"\nreplay = 10000\nbatch = 32\ntrain_every = 1\nlearning_starts = 32\nepisode_length = 100\n";
        let mut best = f64::INFINITY;
        let mut steps = 0;
        for rep in 0..3u64 {
            let mut a = agent(&env, text);
            let mut e = env.make_obs_env();
            let cfg = TrainConfig { episodes: 3, ..Default::default() };
            let t0 = Instant::now();
            let r = train_obs(&mut *e, &mut a, &cfg, rep, None, |_, _, _: &mut Box<dyn ObsAgent + Send>| {});
            best = best.min(t0.elapsed().as_secs_f64());
            steps = r.last().map_or(0, |x| x.steps);
        }
        println!(
            "| grid_backbone | 4x{h}x{w} | 32 | {steps} env steps with learning | {best:.3} s | {:.0} steps/s |",
            steps as f64 / best
        );
    }
}
