//! DQN: the loss gradient through a whole network against finite differences (f64), the
//! fixed point of a one-hot linear network against tabular Q-learning's, Zhao Fig. 8.11,
//! and bad network files.

use std::path::Path;

use ndarray::ArrayD;
use rlkit::agents::approx::dqn::{loss_and_grad, td_targets, Batch, LossKind};
use rlkit::nn::model::{Network, NetworkFile};

fn net_f64(text: &str, input: [usize; 3], seed: u64) -> Network<f64> {
    NetworkFile::from_str("net.toml", text).unwrap().build::<f64>(input, seed).unwrap()
}

const SMALL: &str = r#"
[[layers]]
kind = "conv2d"
out_channels = 3
kernel_size = 3
padding = 2
dilation = 2
[[layers]]
kind = "gelu"
[[layers]]
kind = "cbam"
reduction = 1
kernel_size = 3
[[layers]]
kind = "attention"
heads = 1
[[layers]]
kind = "spp"
levels = [1, 2]
[[layers]]
kind = "linear"
out_features = 4
"#;

/// A deterministic pseudo-random batch of 3 samples of [2, 3, 3] inputs.
fn batch() -> Batch<f64> {
    let x: Vec<f64> = (0..54).map(|i| ((i * 37 % 11) as f64 - 5.0) / 7.0).collect();
    let x2: Vec<f64> = (0..54).map(|i| ((i * 23 % 13) as f64 - 6.0) / 9.0).collect();
    Batch {
        x: ArrayD::from_shape_vec(vec![3, 2, 3, 3], x).unwrap(),
        x2: ArrayD::from_shape_vec(vec![3, 2, 3, 3], x2).unwrap(),
        actions: vec![2, 0, 3],
        rewards: vec![1.0, -0.5, 0.25],
        terminated: vec![false, true, false],
    }
}

#[test]
fn dqn_loss_gradient_matches_finite_differences_through_the_whole_network() {
    for loss in [LossKind::Mse, LossKind::Huber] {
        let mut net = net_f64(SMALL, [2, 3, 3], 4);
        let mut target = net_f64(SMALL, [2, 3, 3], 5);
        let b = batch();
        let q2 = target.forward(b.x2.clone()).unwrap();
        let y = td_targets(&b, &q2, None, 0.9);
        // Terminal transitions use the reward alone.
        assert_eq!(y[1], -0.5);
        // Scale the targets so that Huber exercises both of its branches.
        let y: Vec<f64> = y.iter().enumerate().map(|(i, v)| if i == 0 { v + 3.0 } else { *v }).collect();
        loss_and_grad(&mut net, &b, &y, loss).unwrap();
        let grads: Vec<(String, Vec<f64>)> =
            net.named_params().into_iter().map(|(n, p)| (n, p.grad.iter().copied().collect())).collect();
        let mut worst: f64 = 0.0;
        let mut checked = 0;
        for (pi, (name, g)) in grads.iter().enumerate() {
            for j in (0..g.len()).step_by(g.len().div_ceil(6).max(1)) {
                let h = 1e-6;
                let eval = |delta: f64| {
                    let mut n2 = net.clone();
                    n2.params_mut()[pi].value.as_slice_mut().unwrap()[j] += delta;
                    loss_and_grad(&mut n2, &b, &y, loss).unwrap()
                };
                let fd = (eval(h) - eval(-h)) / (2.0 * h);
                let err = (fd - g[j]).abs() / (1e-6 + fd.abs().max(g[j].abs()));
                assert!(err < 1e-4 || (fd - g[j]).abs() < 1e-8, "{loss:?} {name}[{j}]: analytic {} vs FD {fd}", g[j]);
                worst = worst.max(err.min((fd - g[j]).abs()));
                checked += 1;
            }
        }
        assert!(checked >= 30, "{checked} entries checked");
        assert!(worst < 1e-4);
    }
}

#[test]
fn double_dqn_targets_pick_the_online_argmax() {
    let b = batch();
    let q2t = ArrayD::from_shape_vec(vec![3, 4], (0..12).map(|v| v as f64).collect()).unwrap();
    // Online network prefers action 1 in every row; the target values it.
    let q2o = ArrayD::from_shape_vec(vec![3, 4], [0.0, 9.0, 0.0, 0.0].repeat(3)).unwrap();
    let plain = td_targets(&b, &q2t, None, 0.5);
    let double = td_targets(&b, &q2t, Some(&q2o), 0.5);
    assert_eq!(plain, vec![1.0 + 0.5 * 3.0, -0.5, 0.25 + 0.5 * 11.0]);
    assert_eq!(double, vec![1.0 + 0.5 * 1.0, -0.5, 0.25 + 0.5 * 9.0]);
}

fn run(file: &str, seeds: usize, sets: &[(&str, &str)], out: &Path) -> serde_json::Value {
    use rlkit::experiment::{load, run, LoadOptions, RunOptions};
    let _ = std::fs::remove_dir_all(out);
    let opts = LoadOptions {
        out: Some(out.to_path_buf()),
        seeds: Some(seeds),
        sets: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    run(&load(Path::new(file), &opts).unwrap(), &RunOptions::default()).unwrap();
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn one_hot_linear_dqn_reaches_q_learnings_fixed_point_on_a_two_state_mdp() {
    // Two states, two actions, γ 0.5: "stay" pays 1 in s0 and 0 in s1, "move" swaps and pays 0.
    // q* solves q = r + γ max q': v*(s0) = 1/(1−γ) = 2, q*(s0, move) = 0.5·v*(s1),
    // v*(s1) = max(0 + 0.5·v*(s1), 0 + 0.5·2) = 1; so q* = [[2, 0.5], [0.5, 1]].
    let d = std::env::temp_dir().join(format!("rlkit-dqn-2s-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("net.toml"),
        "[[layers]]\nkind = \"flatten\"\n[[layers]]\nkind = \"linear\"\nout_features = 2\nbias = false\n",
    )
    .unwrap();
    let exp = r#"
name = "two_state"
episodes = 1
plots = []
[env]
kind = "mdp"
gamma = 0.5
states = ["s0", "s1"]
actions = ["stay", "move"]
transitions = [
  { from = "s0", action = "stay", to = "s0", reward = 1.0 },
  { from = "s0", action = "move", to = "s1", reward = 0.0 },
  { from = "s1", action = "stay", to = "s1", reward = 0.0 },
  { from = "s1", action = "move", to = "s0", reward = 0.0 },
]
[[agents]]
kind = "dqn"
name = "DQN"
network = "net.toml"
observation = "features"
features = [{ kind = "one_hot_state" }]
behaviour = "uniform"
episode_length = 400
replay = 400
batch = 64
lr = 0.02
loss = "mse"
target = { kind = "hard", every = 20 }
learning_starts = 400
train_every = 0
updates_per_episode = 3000
"#;
    std::fs::write(d.join("exp.toml"), exp).unwrap();
    run(d.join("exp.toml").to_str().unwrap(), 1, &[], &d.join("out"));
    let w = rlkit::data::tensors::read_f64_tensors(&d.join("out/weights/DQN_seed0.safetensors")).unwrap();
    let (shape, q) = &w["layers.1.weight"];
    assert_eq!(shape, &vec![2, 2]);
    // weight[a, s] = q(s, a) for a one-hot input and no bias.
    let want = [[2.0, 0.5], [0.5, 1.0]];
    for s in 0..2 {
        for a in 0..2 {
            assert!((q[a * 2 + s] - want[s][a]).abs() < 0.02, "q({s},{a}) = {} vs {}", q[a * 2 + s], want[s][a]);
        }
    }
}

#[test]
fn zhao_fig8_11_reaches_the_optimal_policy() {
    let out = std::env::temp_dir().join(format!("rlkit-dqn-811-{}", std::process::id()));
    let s = run("experiments/zhao_fig8_11.toml", 5, &[], &out);
    let a = &s["agents"][0];
    let perfect = a["per_seed"].as_array().unwrap().iter().filter(|p| p["pa"] == 1.0).count();
    assert!(perfect >= 4, "PA = 1.0 on {perfect} of 5 seeds");
    for f in ["plots/td_loss.png", "plots/value_error.png", "plots/values_DQN.png", "weights/DQN_seed4.safetensors"] {
        assert!(out.join(f).exists(), "{f}");
    }
    // The value error falls over the updates (iterations.csv: update, td_loss, rmse, ...): from
    // about 6 to under 2 in 1,600 updates (the greedy policy is exact long before the values are).
    let text = std::fs::read_to_string(out.join("iterations.csv")).unwrap();
    let rmse: Vec<f64> = text
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("DQN,0,"))
        .filter_map(|l| l.split(',').nth(4).and_then(|v| v.parse().ok()))
        .collect();
    assert!(rmse.len() > 50);
    assert!(rmse.last().unwrap() * 3.0 < rmse[0], "{} -> {}", rmse[0], rmse.last().unwrap());
}

#[test]
fn the_backbone_under_dqn_learns_and_its_network_runs_on_another_map_size() {
    use rlkit::env::generate::{generate_map, map_toml, MapGenConfig};
    let out = std::env::temp_dir().join(format!("rlkit-dqn-backbone-{}", std::process::id()));
    // A small budget for CI: one seed, 300 updates (the shipped file does 1,400 per seed).
    let s = run(
        "experiments/dqn_zhao_5x5.toml",
        1,
        &[("agents[0].updates_per_episode", "300"), ("agents[0].lr_anneal_updates", "300")],
        &out,
    );
    let pa = s["agents"][0]["per_seed"][0]["pa"].as_f64().unwrap();
    // A uniformly random policy map scores about 0.3 here; the trained one does far better.
    assert!(pa >= 0.5, "PA after 300 updates: {pa}");
    let w = rlkit::data::tensors::read_f64_tensors(&out.join("weights/DQN-backbone_seed0.safetensors")).unwrap();
    assert!(w.contains_key("layers.0.weight"), "{:?}", w.keys().collect::<Vec<_>>());
    // The same weights on a generated 7x7 map: `rlkit eval` reports the policy's PA there.
    let g = generate_map(7, 7, &MapGenConfig::default(), 3).unwrap();
    let map = out.join("map7.toml");
    std::fs::write(&map, map_toml(&g.spec)).unwrap();
    let r = rlkit::experiment::eval::eval(&out, Some(&map), Some(&out.join("eval7"))).unwrap();
    assert_eq!(r.results.len(), 1);
    let pa7 = r.results[0].2;
    assert!((0.0..=1.0).contains(&pa7));
    let values = std::fs::read_to_string(out.join("eval7/values.csv")).unwrap();
    assert_eq!(values.lines().count(), 1 + 49, "one row per cell of the 7x7 map");
    // And on its own env, eval reproduces the run's PA exactly.
    let r5 = rlkit::experiment::eval::eval(&out, None, Some(&out.join("eval5"))).unwrap();
    assert_eq!(r5.results[0].2, pa);
}

#[test]
fn the_learning_rate_anneals_to_lr_end_and_bad_schedules_are_refused() {
    use rlkit::agents::approx::dqn::{Dqn, DqnConfig};
    use rlkit::agents::approx::{AgentContext, ObsAgent, ObsExperience};
    use rlkit::env::{LoadedEnv, World};
    let env = LoadedEnv::Finite(World::load("envs/zhao_5x5.toml".as_ref()).unwrap());
    let spec = env.obs_spec();
    let cx = AgentContext { spec: &spec, n_actions: env.n_actions(), gamma: 0.9, env: Some(&env), file: None };
    let cfg = |extra: &str| -> DqnConfig {
        toml::from_str(&format!(
            "network = \"configs/networks/zhao_mlp.toml\"\nobservation = \"features\"\nfeatures = [{{ kind = \"one_hot_state\" }}]\nbehaviour = \"uniform\"\nbatch = 4\nreplay = 16\nlearning_starts = 4\nlr = 0.01\n{extra}"
        ))
        .unwrap()
    };
    // Linear from 0.01 to 0.001 over 10 updates: the k-th update (k = 1, 2, …) uses
    // 0.01 + (0.001 − 0.01)·(k − 1)/10, and every update from the 11th on uses 0.001.
    let mut a = Dqn::new(cfg("lr_end = 0.001\nlr_anneal_updates = 10\nlr_anneal = \"linear\""), &cx).unwrap();
    let mut rng = rlkit::util::rng_for(0, &[0]);
    let obs = vec![0.0; spec.dim()];
    let mut next = obs.clone();
    next[0] = 1.0;
    let mut seen = vec![];
    for _ in 0..15 {
        let act = a.act(&obs, &mut rng);
        let t =
            ObsExperience { obs: &obs, action: act, reward: 1.0, next_obs: &next, terminated: false, truncated: false };
        a.observe(&t);
        if a.updates() > seen.len() as u64 {
            seen.push(a.lr());
        }
    }
    assert_eq!(a.updates(), 12, "one update per step from the 4th transition");
    for (k, lr) in seen.iter().enumerate() {
        let want = if k < 10 { 0.01 + (0.001 - 0.01) * k as f64 / 10.0 } else { 0.001 };
        assert!((lr - want).abs() < 1e-12, "update {}: lr {lr} vs {want}", k + 1);
    }
    // A constant lr stays put; half a schedule is refused with the missing key named.
    let mut c = Dqn::new(cfg(""), &cx).unwrap();
    for _ in 0..6 {
        let act = c.act(&obs, &mut rng);
        c.observe(&ObsExperience {
            obs: &obs,
            action: act,
            reward: 0.0,
            next_obs: &next,
            terminated: false,
            truncated: false,
        });
    }
    assert_eq!(c.lr(), 0.01);
    let e = Dqn::new(cfg("lr_end = 0.001"), &cx).unwrap_err().to_string();
    assert!(e.contains("lr_anneal_updates"), "{e}");
    let e = Dqn::new(cfg("lr_end = -1.0\nlr_anneal_updates = 5"), &cx).unwrap_err().to_string();
    assert!(e.contains("lr_end = -1"), "{e}");
}

#[test]
fn check_refuses_a_dqn_batch_over_the_memory_budget() {
    // grid_backbone on the 4x5x5 image, batch 32: about 2.6 MiB of parameters, gradients and
    // activations, over a 1 MiB budget; `check` refuses it at the agent's table (exit 2).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlkit"))
        .args(["--mem-budget", "1M", "check", "experiments/dqn_zhao_5x5.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("dqn_zhao_5x5.toml:") && err.contains("batch = 32"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
