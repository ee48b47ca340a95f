//! Linear agents: one-hot features reproduce the tabular agents bit for bit;
//! runner integration (values, policy, weights) for approximating agents.

use rlkit::agents::agent::Agent;
use rlkit::agents::approx::linear_q_learning::{LinearQLearning, LinearQLearningConfig};
use rlkit::agents::approx::linear_sarsa::{LinearSarsa, LinearSarsaConfig};
use rlkit::agents::approx::td_linear::{TdLinear, TdLinearConfig};
use rlkit::agents::approx::{train_obs, ObsAgent};
use rlkit::agents::td::{Behaviour, QLearning, QLearningConfig, Sarsa, SarsaConfig, Td0, Td0Config};
use rlkit::agents::train::{train, StartMode, TrainConfig};
use rlkit::env::World;

fn alpha(x: f64) -> rlkit::agents::agent::StepSize {
    rlkit::agents::agent::StepSize::Constant { value: x }
}
fn eps(x: f64) -> rlkit::agents::agent::Epsilon {
    rlkit::agents::agent::Epsilon::Constant { value: x }
}

/// q of a linear agent in the tabular layout `[s * na + a]` (its weights are `[a * ns + s]`).
fn q_from_w(w: &[f64], ns: usize, na: usize) -> Vec<f64> {
    let mut q = vec![0.0; ns * na];
    for s in 0..ns {
        for a in 0..na {
            q[s * na + a] = w[a * ns + s];
        }
    }
    q
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn one_hot_sarsa_is_tabular_sarsa_bit_for_bit() {
    let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
    let (ns, na) = (w.model().n_states(), w.model().n_actions());
    for (seed, start) in [(3u64, StartMode::Env), (11, StartMode::Uniform)] {
        let cfg = TrainConfig { episodes: 200, max_episode_steps: Some(500), start, ..Default::default() };
        let mut tab = Sarsa::new(SarsaConfig { alpha: alpha(0.5), epsilon: eps(0.1), q0: 0.0 }, ns, na, 1.0);
        let r1 = train(&mut w.make_env(), &mut tab, &cfg, seed, |_, _, _: &Sarsa| {});
        let c = LinearSarsaConfig { alpha: alpha(0.5), epsilon: eps(0.1), ..Default::default() };
        let mut lin = LinearSarsa::new(c, &w.obs_spec(), na, 1.0).unwrap();
        let starts = rlkit::agents::train::uniform_starts(w.model());
        let st = (start == StartMode::Uniform).then_some(starts.as_slice());
        let r2 = train_obs(&mut w.make_obs_env(), &mut lin, &cfg, seed, st, |_, _, _: &mut LinearSarsa| {});
        assert_eq!(r1, r2, "episodes differ (seed {seed})");
        assert_eq!(bits(tab.q().unwrap()), bits(&q_from_w(&lin.q().w, ns, na)), "q differs (seed {seed})");
        assert!(r1.iter().map(|r| r.length).sum::<u64>() > 5_000, "a real run");
    }
}

#[test]
fn one_hot_q_learning_is_tabular_q_learning_bit_for_bit() {
    let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
    let (ns, na) = (w.model().n_states(), w.model().n_actions());
    for behaviour in [Behaviour::EpsilonGreedy, Behaviour::Uniform] {
        let cfg = TrainConfig { episodes: 100, max_episode_steps: Some(300), ..Default::default() };
        let tc = QLearningConfig { alpha: alpha(0.5), epsilon: eps(0.1), q0: 0.0, behaviour, episode_length: None };
        let mut tab = QLearning::new(tc, ns, na, 1.0);
        let r1 = train(&mut w.make_env(), &mut tab, &cfg, 5, |_, _, _: &QLearning| {});
        let lc = LinearQLearningConfig { alpha: alpha(0.5), epsilon: eps(0.1), behaviour, ..Default::default() };
        let mut lin = LinearQLearning::new(lc, &w.obs_spec(), na, 1.0).unwrap();
        let r2 = train_obs(&mut w.make_obs_env(), &mut lin, &cfg, 5, None, |_, _, _: &mut LinearQLearning| {});
        assert_eq!(r1, r2);
        assert_eq!(bits(tab.q().unwrap()), bits(&q_from_w(&lin.q().w, ns, na)), "{behaviour:?}");
    }
}

#[test]
fn one_hot_td_linear_is_tabular_td0_bit_for_bit() {
    for env in ["envs/random_walk.toml", "envs/zhao_5x5.toml"] {
        let w = World::load(env.as_ref()).unwrap();
        let (ns, na, g) = (w.model().n_states(), w.model().n_actions(), w.gamma());
        let cfg = TrainConfig { episodes: 100, max_episode_steps: Some(50), ..Default::default() };
        let mut tab = Td0::new(Td0Config { alpha: alpha(0.1), v0: 0.0 }, ns, na, g);
        train(&mut w.make_env(), &mut tab, &cfg, 9, |_, _, _: &Td0| {});
        let mut lin =
            TdLinear::new(TdLinearConfig { alpha: alpha(0.1), ..Default::default() }, &w.obs_spec(), na, g).unwrap();
        train_obs(&mut w.make_obs_env(), &mut lin, &cfg, 9, None, |_, _, _: &mut TdLinear| {});
        let mut x = vec![0.0; w.obs_spec().dim()];
        let lin_v: Vec<f64> = (0..ns)
            .map(|s| {
                w.observe_state(s, &mut x);
                lin.value(&x)
            })
            .collect();
        assert_eq!(bits(&tab.values()), bits(&lin_v), "{env}");
        assert!(lin_v.iter().any(|&v| v != 0.0));
    }
}

/// A deterministic chain s0 → s1 → s2 → T with rewards 1, 2, 3 and γ = 0.9:
/// v = [1 + 0.9·4.7, 2 + 0.9·3, 3] = [5.23, 4.7, 3].
fn chain() -> World {
    let text = r#"
kind = "mdp"
gamma = 0.9
states = ["s0", "s1", "s2", "T"]
actions = ["go"]
terminal = ["T"]
start = ["s0"]
transitions = [
  { from = "s0", action = "go", to = "s1", reward = 1.0 },
  { from = "s1", action = "go", to = "s2", reward = 2.0 },
  { from = "s2", action = "go", to = "T", reward = 3.0 },
]
"#;
    let doc = rlkit::config::Doc::from_str("chain.toml", text).unwrap();
    World::from_doc(&doc, &[]).unwrap()
}

fn values_of(w: &World, agent: &mut dyn ObsAgent, states: usize) -> Vec<f64> {
    let mut x = vec![0.0; w.obs_spec().dim()];
    (0..states)
        .map(|s| {
            w.observe_state(s, &mut x);
            agent.value(&x)
        })
        .collect()
}

#[test]
fn residual_td_and_lstd_reach_v_pi_on_a_deterministic_chain() {
    let w = chain();
    let want = [5.23, 4.7, 3.0];
    let cfg = TrainConfig { episodes: 2000, ..Default::default() };
    let mut res = TdLinear::new(
        TdLinearConfig { alpha: alpha(0.1), residual: true, ..Default::default() },
        &w.obs_spec(),
        1,
        0.9,
    )
    .unwrap();
    train_obs(&mut w.make_obs_env(), &mut res, &cfg, 1, None, |_, _, _: &mut TdLinear| {});
    let got = values_of(&w, &mut res, 3);
    for (g, v) in got.iter().zip(want) {
        assert!((g - v).abs() < 1e-9, "residual TD: {got:?}");
    }
    // LSTD solves for w after a single episode (A is triangular and invertible).
    use rlkit::agents::approx::td_linear::{Lstd, LstdConfig};
    let mut lstd = Lstd::new(LstdConfig { epsilon_reg: 0.0, ..Default::default() }, &w.obs_spec(), 1, 0.9).unwrap();
    train_obs(
        &mut w.make_obs_env(),
        &mut lstd,
        &TrainConfig { episodes: 1, ..Default::default() },
        1,
        None,
        |_, _, _: &mut Lstd| {},
    );
    let got = values_of(&w, &mut lstd, 3);
    for (g, v) in got.iter().zip(want) {
        assert!((g - v).abs() < 1e-12, "LSTD: {got:?}");
    }
}

#[test]
fn lstd_on_the_random_walk_is_close_to_the_true_values() {
    use rlkit::agents::approx::td_linear::{Lstd, LstdConfig};
    let w = World::load("envs/random_walk.toml".as_ref()).unwrap();
    let mut lstd = Lstd::new(LstdConfig::default(), &w.obs_spec(), 1, 1.0).unwrap();
    let cfg = TrainConfig { episodes: 2000, ..Default::default() };
    train_obs(&mut w.make_obs_env(), &mut lstd, &cfg, 3, None, |_, _, _: &mut Lstd| {});
    let got = values_of(&w, &mut lstd, 7);
    for k in 1..=5 {
        assert!((got[k] - k as f64 / 6.0).abs() < 0.03, "state {k}: {got:?}");
    }
}

#[test]
fn an_embedding_column_is_trained_by_the_agent_gradient() {
    // A bucketized column feeding a 2-wide embedding: linear Sarsa must move the used rows.
    let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
    let cols: toml::Table = toml::from_str(
        r#"features = [
  { kind = "one_hot_state" },
  { kind = "bucketized", name = "colb", input = "col", boundaries = [4.0, 8.0] },
  { kind = "embedding", column = "colb", dimension = 2, init_std = 0.1 },
]"#,
    )
    .unwrap();
    let cfg = LinearSarsaConfig {
        features: cols["features"].clone().try_into().unwrap(),
        alpha: alpha(0.001),
        ..Default::default()
    };
    let mut a = LinearSarsa::new(cfg, &w.obs_spec(), 4, 1.0).unwrap();
    let before = a.tensors();
    let e0 = before.iter().find(|t| t.name.contains("emb") || t.shape == vec![3, 2]).expect("embedding table").clone();
    assert_eq!(e0.shape, vec![3, 2]);
    let tc = TrainConfig { episodes: 20, max_episode_steps: Some(200), ..Default::default() };
    train_obs(&mut w.make_obs_env(), &mut a, &tc, 2, None, |_, _, _: &mut LinearSarsa| {});
    let e1 = a.tensors().into_iter().find(|t| t.name == e0.name).unwrap();
    let moved = e0.data.iter().zip(&e1.data).filter(|(x, y)| x != y).count();
    assert!(moved >= 2, "embedding rows trained: {:?} -> {:?}", e0.data, e1.data);
    assert!(e1.data.iter().all(|x| x.is_finite()));
}
