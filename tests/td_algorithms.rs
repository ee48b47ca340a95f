//! TD agents against naive reference implementations written straight from
//! the books' pseudocode (same random streams, so the q tables must agree
//! exactly), plus the training loop's truncation/termination contract and
//! seed determinism.

use rlkit::agents::agent::{epsilon_greedy, epsilon_greedy_expectation, Agent, AgentRng, Experience};
use rlkit::agents::td::{
    ExpectedSarsa, ExpectedSarsaConfig, NStepSarsa, NStepSarsaConfig, QLearning, QLearningConfig, Sarsa, SarsaConfig,
};
use rlkit::agents::train::{run_seed, train, TrainConfig, STREAM_AGENT, STREAM_ENV};
use rlkit::config::Doc;
use rlkit::env::{Env, World};
use rlkit::util::{derive_seed, rng_for};

fn cliff() -> World {
    World::load("envs/cliff_walking.toml".as_ref()).unwrap()
}

/// Zhao's grid as in Fig. 7.2 (terminal target, γ = 0.9): discounting matters.
fn zhao72() -> World {
    let mut d = Doc::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    for (k, v) in [
        ("target", "\"terminal\""),
        ("rewards.target", "0"),
        ("rewards.forbidden", "-10"),
        ("rewards.boundary", "-10"),
        ("rewards.step", "-1"),
    ] {
        d.set(k, v).unwrap();
    }
    World::from_doc(&d, &[]).unwrap()
}

fn streams(seed: u64) -> (AgentRng, u64) {
    (rng_for(seed, &[STREAM_AGENT]), derive_seed(seed, &[STREAM_ENV]))
}

#[derive(Clone, Copy)]
enum Target {
    Sarsa,
    Expected,
    Max,
}

/// Sarsa / Expected Sarsa / Q-learning as in Sutton & Barto's boxes (§6.4–6.6).
/// Sarsa picks A' before its update; Q-learning and Expected Sarsa pick each
/// action at the top of the loop, from the already-updated Q.
fn naive_one_step(w: &World, kind: Target, alpha: f64, eps: f64, episodes: usize, seed: u64) -> Vec<f64> {
    let m = w.model();
    let (ns, na, g) = (m.n_states(), m.n_actions(), m.gamma);
    let mut q = vec![0.0; ns * na];
    let (mut rng, env_seed) = streams(seed);
    let mut env = w.make_env();
    for ep in 0..episodes {
        let mut s = env.reset(if ep == 0 { Some(env_seed) } else { None });
        let mut a = epsilon_greedy(&q[s * na..s * na + na], eps, &mut rng);
        loop {
            let st = env.step(a);
            let s2 = st.state;
            let i = s * na + a;
            let row2 = s2 * na..s2 * na + na;
            if st.terminated {
                q[i] += alpha * (st.reward - q[i]);
                break;
            }
            match kind {
                Target::Sarsa => {
                    let a2 = epsilon_greedy(&q[row2], eps, &mut rng);
                    q[i] += alpha * (st.reward + g * q[s2 * na + a2] - q[i]);
                    a = a2;
                }
                Target::Expected | Target::Max => {
                    let boot = match kind {
                        Target::Expected => epsilon_greedy_expectation(&q[row2.clone()], eps),
                        _ => q[row2.clone()].iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    };
                    q[i] += alpha * (st.reward + g * boot - q[i]);
                    a = epsilon_greedy(&q[row2], eps, &mut rng);
                }
            }
            s = s2;
        }
    }
    q
}

/// n-step Sarsa exactly as in Sutton & Barto §7.2's box.
fn naive_n_step(w: &World, n: usize, alpha: f64, eps: f64, episodes: usize, seed: u64) -> Vec<f64> {
    let m = w.model();
    let (ns, na, g) = (m.n_states(), m.n_actions(), m.gamma);
    let mut q = vec![0.0; ns * na];
    let (mut rng, env_seed) = streams(seed);
    let mut env = w.make_env();
    for ep in 0..episodes {
        let mut ss = vec![env.reset(if ep == 0 { Some(env_seed) } else { None })];
        let mut aa = vec![epsilon_greedy(&q[ss[0] * na..ss[0] * na + na], eps, &mut rng)];
        let mut rr = vec![0.0];
        let mut big_t = usize::MAX;
        let mut t = 0usize;
        loop {
            if t < big_t {
                let st = env.step(aa[t]);
                rr.push(st.reward);
                ss.push(st.state);
                if st.terminated {
                    big_t = t + 1;
                } else {
                    let s = st.state;
                    aa.push(epsilon_greedy(&q[s * na..s * na + na], eps, &mut rng));
                }
            }
            if t + 1 >= n {
                let tau = t + 1 - n;
                let mut gsum = 0.0;
                let mut d = 1.0;
                for &r in &rr[tau + 1..=(tau + n).min(big_t)] {
                    gsum += d * r;
                    d *= g;
                }
                if tau + n < big_t {
                    gsum += g.powi(n as i32) * q[ss[tau + n] * na + aa[tau + n]];
                }
                let i = ss[tau] * na + aa[tau];
                q[i] += alpha * (gsum - q[i]);
                if tau + 1 == big_t {
                    break;
                }
            } else if big_t != usize::MAX && t + 1 >= big_t {
                // Episode shorter than n: update every pair from the end.
                for tau in 0..big_t {
                    let mut gsum = 0.0;
                    let mut d = 1.0;
                    for &r in &rr[tau + 1..=big_t] {
                        gsum += d * r;
                        d *= g;
                    }
                    let i = ss[tau] * na + aa[tau];
                    q[i] += alpha * (gsum - q[i]);
                }
                break;
            }
            t += 1;
        }
    }
    q
}

fn agent_q<A: Agent>(w: &World, mut agent: A, episodes: usize, seed: u64) -> Vec<f64> {
    let cfg = TrainConfig { episodes, ..Default::default() };
    train(&mut w.make_env(), &mut agent, &cfg, seed, |_, _, _: &A| {});
    agent.q().unwrap().to_vec()
}

fn params(alpha: f64, eps: f64) -> (rlkit::agents::agent::StepSize, rlkit::agents::agent::Epsilon) {
    (rlkit::agents::agent::StepSize::Constant { value: alpha }, rlkit::agents::agent::Epsilon::Constant { value: eps })
}

#[test]
fn one_step_agents_equal_the_book_pseudocode() {
    for w in [cliff(), zhao72()] {
        let (ns, na, g) = (w.model().n_states(), w.model().n_actions(), w.gamma());
        let (alpha, epsilon) = params(0.5, 0.1);
        let sarsa = Sarsa::new(SarsaConfig { alpha, epsilon, q0: 0.0 }, ns, na, g);
        assert_eq!(
            agent_q(&w, sarsa, 60, 3),
            naive_one_step(&w, Target::Sarsa, 0.5, 0.1, 60, 3),
            "sarsa on {}",
            w.name
        );
        let es = ExpectedSarsa::new(ExpectedSarsaConfig { alpha, epsilon, q0: 0.0 }, ns, na, g);
        assert_eq!(
            agent_q(&w, es, 60, 4),
            naive_one_step(&w, Target::Expected, 0.5, 0.1, 60, 4),
            "expected sarsa on {}",
            w.name
        );
        let ql = QLearning::new(QLearningConfig { alpha, epsilon, ..Default::default() }, ns, na, g);
        assert_eq!(
            agent_q(&w, ql, 60, 5),
            naive_one_step(&w, Target::Max, 0.5, 0.1, 60, 5),
            "q-learning on {}",
            w.name
        );
    }
}

#[test]
fn n_step_sarsa_equals_the_book_pseudocode_and_sarsa_at_n_1() {
    for w in [cliff(), zhao72()] {
        let (ns, na, g) = (w.model().n_states(), w.model().n_actions(), w.gamma());
        let (alpha, epsilon) = params(0.4, 0.1);
        for n in [1, 3, 8] {
            let agent = NStepSarsa::new(NStepSarsaConfig { n, alpha, epsilon, q0: 0.0 }, ns, na, g);
            let got = agent_q(&w, agent, 40, 11);
            let want = naive_n_step(&w, n, 0.4, 0.1, 40, 11);
            let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(err < 1e-9, "n = {n} on {}: max diff {err}", w.name);
        }
        let one = NStepSarsa::new(NStepSarsaConfig { n: 1, alpha, epsilon, q0: 0.0 }, ns, na, g);
        let sarsa = Sarsa::new(SarsaConfig { alpha, epsilon, q0: 0.0 }, ns, na, g);
        assert_eq!(agent_q(&w, one, 40, 12), agent_q(&w, sarsa, 40, 12));
    }
}

/// Records the experiences it sees; always moves right.
struct Recorder(Vec<Experience>, usize);
impl Agent for Recorder {
    fn act(&mut self, _: usize, _: &mut AgentRng) -> usize {
        self.1
    }
    fn observe(&mut self, t: &Experience) {
        self.0.push(*t);
    }
    fn greedy_policy(&self) -> Vec<usize> {
        vec![]
    }
    fn values(&self) -> Vec<f64> {
        vec![]
    }
}

#[test]
fn loop_truncates_at_the_cap_and_terminates_at_terminal_states() {
    // Cliff walking, always "up" then stuck against the top: only the cap ends it.
    let w = cliff();
    let mut r = Recorder(vec![], 0);
    let cfg = TrainConfig { episodes: 2, max_episode_steps: Some(7), ..Default::default() };
    let recs = train(&mut w.make_env(), &mut r, &cfg, 0, |_, _, _: &Recorder| {});
    assert_eq!(recs.iter().map(|r| (r.length, r.steps)).collect::<Vec<_>>(), vec![(7, 7), (7, 14)]);
    assert_eq!(recs[0].ret, -7.0);
    let last: Vec<_> = r.0.iter().filter(|e| e.truncated || e.terminated).collect();
    assert_eq!(last.len(), 2);
    assert!(last.iter().all(|e| e.truncated && !e.terminated));
    assert!(r.0[..6].iter().all(|e| !e.truncated && !e.terminated));
    // The random walk always terminates: terminated = true, truncated = false at every end.
    let w = World::load("envs/random_walk.toml".as_ref()).unwrap();
    let mut r = Recorder(vec![], 0);
    let cfg = TrainConfig { episodes: 20, max_episode_steps: Some(1000), ..Default::default() };
    let recs = train(&mut w.make_env(), &mut r, &cfg, 0, |_, _, _: &Recorder| {});
    let ends: Vec<_> = r.0.iter().filter(|e| e.last()).collect();
    assert_eq!(ends.len(), 20);
    assert!(ends.iter().all(|e| e.terminated && !e.truncated));
    assert_eq!(recs.last().unwrap().steps as usize, r.0.len());
}

#[test]
fn q_learning_bootstraps_through_truncation_not_termination() {
    // One truncated step on the continuing Zhao grid: q(s, a) = α (r + γ max q(s')) with q0 = 5.
    let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    let (ns, na, g) = (25, 5, 0.9);
    let cfg = QLearningConfig {
        alpha: rlkit::agents::agent::StepSize::Constant { value: 0.5 },
        epsilon: rlkit::agents::agent::Epsilon::Constant { value: 0.0 },
        q0: 5.0,
        behaviour: Default::default(),
        episode_length: Some(1),
    };
    let mut agent = QLearning::new(cfg.clone(), ns, na, g);
    let tc = TrainConfig { episodes: 1, ..Default::default() };
    train(&mut w.make_env(), &mut agent, &tc, 0, |_, _, _: &QLearning| {});
    let q = agent.q().unwrap();
    let changed: Vec<usize> = (0..ns * na).filter(|&i| q[i] != 5.0).collect();
    assert_eq!(changed.len(), 1);
    let i = changed[0];
    let (s, a) = (i / na, i % na);
    let t = w.model().transitions(s, a).next().unwrap();
    assert!(!t.done);
    assert!((q[i] - (5.0 + 0.5 * (t.reward + g * 5.0 - 5.0))).abs() < 1e-12);
    // A terminal step never bootstraps: the random walk's last update uses the reward only.
    let w = World::load("envs/random_walk.toml".as_ref()).unwrap();
    let mut agent = QLearning::new(QLearningConfig { q0: 5.0, episode_length: None, ..cfg }, 7, 1, 1.0);
    let mut rec = Recorder(vec![], 0);
    let tc = TrainConfig { episodes: 1, ..Default::default() };
    train(&mut w.make_env(), &mut rec, &tc, 9, |_, _, _: &Recorder| {});
    // Replay the same episode into the agent and check the last update.
    for e in &rec.0[..rec.0.len() - 1] {
        agent.observe(e);
    }
    let last = *rec.0.last().unwrap();
    let before = agent.q().unwrap()[last.state];
    agent.observe(&last);
    let after = agent.q().unwrap()[last.state];
    assert!(last.terminated);
    assert!((after - (before + 0.5 * (last.reward - before))).abs() < 1e-12);
}

#[test]
fn seeds_are_reproducible_and_thread_count_independent() {
    use rayon::prelude::*;
    let w = cliff();
    let p: toml::Table = toml::from_str("alpha = 0.5\nepsilon = 0.1").unwrap();
    let cfg = TrainConfig { episodes: 100, ..Default::default() };
    let run = |threads: usize| -> Vec<String> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            (0..8u64)
                .into_par_iter()
                .map(|i| {
                    let r = run_seed(&w, "q-learning", &p, derive_seed(42, &[i]), &cfg).unwrap();
                    format!("{}{:?}{:?}", r.episodes.to_csv_string(), r.values, r.greedy_actions)
                })
                .collect()
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(4));
    assert_ne!(one[0], one[1], "different seeds must differ");
}
