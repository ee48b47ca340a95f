//! DQN speed, one thread (pin a core with `taskset -c 0`):
//! - gradient updates per second (batch 100) for Zhao Fig. 8.11's MLP and for the grid backbone
//!   at 5×5 and 8×8 inputs (batch 100 and 32);
//! - environment steps per second including learning (one update per step, batch 32) with the
//!   grid backbone at 5×5 and 8×8.
//!
//! - where one update's time goes (grid backbone, batch 32, 5×5 and 8×8): each layer's forward
//!   and backward, the target network's forward, the optimizer, the Polyak target update and the
//!   minibatch gather, timed part by part over the same updates.
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
    for hw in [5, 8] {
        profile_update(hw, 32);
    }
}

/// Time the parts of a DQN update on the grid backbone (the same calls `Dqn::update` makes), layer
/// by layer: online forward, target forward on the next states, backward, Adam, Polyak τ = 0.03,
/// and the gather of the minibatch from a replay of 2,000 one-hot images.
fn profile_update(hw: usize, batch: usize) {
    use ndarray::ArrayD;
    use rlkit::nn::model::NetworkFile;
    use rlkit::nn::optim::{Adam, Optimizer};
    let file = NetworkFile::load("configs/networks/grid_backbone.toml".as_ref()).expect("network");
    let mut online = file.build::<f32>([4, hw, hw], 0).expect("build");
    let mut target = online.clone();
    let mut opt = Adam::new(1e-3);
    let ol = 4 * hw * hw;
    let replay: Vec<f32> = (0..2000 * ol).map(|i| ((i * 7919) % 4 == 0) as u8 as f32).collect();
    let nl = online.layers.len();
    let (mut fwd, mut bwd) = (vec![0.0f64; nl], vec![0.0f64; nl]);
    let (mut t_target, mut t_opt, mut t_sync, mut t_gather) = (0.0, 0.0, 0.0, 0.0);
    let reps = 100;
    let t_all = Instant::now();
    for r in 0..reps {
        let t = Instant::now();
        let mut xs = Vec::with_capacity(batch * ol);
        for k in 0..batch {
            let i = (r * 131 + k * 61) % 2000;
            xs.extend_from_slice(&replay[i * ol..(i + 1) * ol]);
        }
        let x = ArrayD::from_shape_vec(vec![batch, 4, hw, hw], xs).expect("shape");
        t_gather += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = target.forward(x.clone()).expect("target forward");
        t_target += t.elapsed().as_secs_f64();
        let mut h = x;
        for (i, l) in online.layers.iter_mut().enumerate() {
            let t = Instant::now();
            h = l.forward(h);
            fwd[i] += t.elapsed().as_secs_f64();
        }
        online.zero_grad();
        let mut g = ArrayD::<f32>::from_elem(h.raw_dim(), 1.0 / batch as f32);
        for (i, l) in online.layers.iter_mut().enumerate().rev() {
            let t = Instant::now();
            g = l.backward(g);
            bwd[i] += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        opt.step(&mut online.params_mut());
        t_opt += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let src: Vec<ArrayD<f32>> = online.params_mut().into_iter().map(|p| p.value.clone()).collect();
        for (p, s) in target.params_mut().into_iter().zip(src) {
            p.value.zip_mut_with(&s, |w, &v| *w = 0.03 * v + 0.97 * *w);
        }
        t_sync += t.elapsed().as_secs_f64();
    }
    let total = t_all.elapsed().as_secs_f64();
    let us = |t: f64| t / reps as f64 * 1e6;
    let pct = |t: f64| 100.0 * t / total;
    println!(
        "\nWhere one update's time goes: grid_backbone, 4x{hw}x{hw}, batch {batch} ({:.0} us per update)",
        us(total)
    );
    println!("| part | forward (us) | backward (us) | share |");
    println!("|---|---|---|---|");
    for (i, l) in online.layers.iter().enumerate() {
        println!(
            "| layers[{i}] {} | {:.0} | {:.0} | {:.0}% |",
            l.kind_name,
            us(fwd[i]),
            us(bwd[i]),
            pct(fwd[i] + bwd[i])
        );
    }
    println!("| target network forward (next states) | {:.0} | | {:.0}% |", us(t_target), pct(t_target));
    println!("| Adam step | {:.0} | | {:.0}% |", us(t_opt), pct(t_opt));
    println!("| Polyak target update | {:.0} | | {:.0}% |", us(t_sync), pct(t_sync));
    println!("| minibatch gather from the replay | {:.0} | | {:.0}% |", us(t_gather), pct(t_gather));
}
