//! Monte Carlo results of Zhao's chapter 5.

use rlkit::agents::dp::value_error;
use rlkit::agents::dp::{evaluate, value_iteration, EvalConfig, EvalMethod, ViConfig};
use rlkit::agents::mc::epsilon_greedy::{epsilon_greedy_policy, epsilon_optimal};
use rlkit::agents::mc::{mc_basic, mc_exploring_starts, McBasicConfig, McEsConfig, StartMode};
use rlkit::agents::train::{run_seed, TrainConfig};
use rlkit::config::Doc;
use rlkit::env::{TabularModel, Transition, World};
use rlkit::util::rng_for;

fn zhao(sets: &[(&str, &str)]) -> World {
    let mut d = Doc::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    for (k, v) in sets {
        d.set(k, v).unwrap();
    }
    World::from_doc(&d, &[]).unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn basic(model: &TabularModel, l: usize) -> rlkit::agents::mc::McBasicResult {
    let cfg = McBasicConfig { episode_length: l, episodes_per_pair: 1, iterations: 1000 };
    mc_basic(model, &cfg, None, &mut rng_for(0, &[])).unwrap()
}

/// Zhao Fig. 5.4 (r_forbidden = −10): MC Basic with episode lengths 1, 2, 3, 4, 14, 15, 30,
/// 100. On this grid (deterministic), its converged values equal L sweeps of value
/// iteration from zero (the reference sheet's identity; it is *not* true in general, see
/// the next test).
#[test]
fn zhao_fig_5_4_mc_basic_episode_lengths() {
    let w = zhao(&[("rewards.forbidden", "-10")]);
    let m = w.model();
    let v_star = rlkit::agents::dp::value_iteration::optimal_values(m).unwrap();
    for l in [1, 2, 3, 4, 14, 15, 30, 100] {
        let r = basic(m, l);
        assert!(r.converged, "L = {l}");
        let vi = value_iteration(m, &ViConfig { tol: 1e-300, max_iterations: l, v0: 0.0 }, None).unwrap();
        assert_eq!(vi.iterations.len(), l);
        let d = max_diff(r.values(), &vi.values);
        assert!(d < 1e-12, "L = {l}: MC Basic vs {l} VI sweeps differ by {d}");
        // Truncation error of an L-step return: at most γ^L max|r| / (1 − γ) = 100 γ^L.
        assert!(max_diff(r.values(), &v_star) <= 100.0 * 0.9f64.powi(l as i32) + 1e-9, "L = {l}");
    }
    // L = 1: v(s) = max_a r(s, a): 1 for the target and the four cells next to it, else 0.
    let v1 = basic(m, 1).values().to_vec();
    let ones: Vec<usize> = (0..25).filter(|&s| v1[s] == 1.0).collect();
    assert_eq!(ones, vec![12, 16, 17, 18, 22]);
    assert!((0..25).all(|s| v1[s] == 1.0 || v1[s] == 0.0));
    // Short episodes leave far states at 0 (the book's point): with L = 2, (0,0) is still 0;
    // with L = 15 every state is positive and the greedy policy is optimal.
    assert_eq!(basic(m, 2).values()[0], 0.0);
    let r15 = basic(m, 15);
    assert!(r15.values().iter().all(|&v| v > 0.0));
    assert!(value_error(m, r15.actions(), &v_star).unwrap() < 1e-9);
    // The book's L = 100 panel is v* to one decimal.
    let book_100 = [
        3.5, 3.9, 4.3, 4.8, 5.3, 3.1, 3.5, 4.8, 5.3, 5.9, 2.8, 2.5, 10.0, 5.9, 6.6, 2.5, 10.0, 10.0, 10.0, 7.3, 2.3,
        9.0, 10.0, 9.0, 8.1,
    ];
    assert!(max_diff(basic(m, 100).values(), &book_100) < 0.05 + 1e-9);
}

/// The identity "MC Basic = L sweeps of VI" needs a stationary policy to be optimal for
/// every horizon up to L. A two-state counterexample, by hand (γ = 0.9, L = 2):
/// state A: "cash" pays 1 and stays, "go" pays 0 and moves to B; state B: both actions pay
/// 10 and return to A.
/// - VI: v1 = (1, 10); v2(A) = max(1 + 0.9, 0 + 9) = 9, v2(B) = 10 + 0.9 · 1 = 10.9.
/// - MC Basic: π0 = cash: q(A) = (1.9, 9), q(B) = 10.9 → π1(A) = go; then q(B) = 10 + 0.9 · 0 = 10
///   and the policy is stable: v = (9, 10). At B, one step from the end, the best move in A
///   is "cash", but a stationary π(A) = "go" is needed at the start.
#[test]
fn mc_basic_is_not_value_iteration_in_general() {
    let t = |next, reward| vec![Transition { prob: 1.0, next, reward, done: false }];
    let m =
        TabularModel::new(2, 2, 0.9, vec![t(0, 1.0), t(1, 0.0), t(0, 10.0), t(0, 10.0)], vec![false, false]).unwrap();
    let r = basic(&m, 2);
    assert!(r.converged);
    assert_eq!(r.iterations.len(), 2);
    let close = |a: &[f64], b: &[f64]| max_diff(a, b) < 1e-12;
    assert!(close(&r.iterations[0].values, &[9.0, 10.9]));
    assert!(close(r.values(), &[9.0, 10.0]), "{:?}", r.values());
    assert_eq!(r.actions(), &[1, 0]);
    let vi = value_iteration(&m, &ViConfig { tol: 1e-300, max_iterations: 2, v0: 0.0 }, None).unwrap();
    assert!(close(&vi.values, &[9.0, 10.9]));
}

/// MC Basic on stochastic dynamics averages episodes: on slippery FrozenLake its first
/// iteration q estimates approach the exact L-step truncated values of π0 as
/// episodes_per_pair grows.
#[test]
fn mc_basic_averages_episodes_on_stochastic_dynamics() {
    let w = World::load("envs/frozen_lake_4x4.toml".as_ref()).unwrap();
    let m = w.model();
    // Exact: q^L_{π0}(s, a) for π0 = action 0, by backward recursion over the horizon.
    let l = 6;
    let (ns, na) = (m.n_states(), m.n_actions());
    let mut v = vec![0.0; ns]; // value of following π0 for k steps
    for _ in 0..l - 1 {
        v = (0..ns).map(|s| if m.is_fixed(s) { 0.0 } else { m.q_value(&v, s, 0) }).collect();
    }
    let exact: Vec<f64> =
        (0..ns * na).map(|i| if m.is_fixed(i / na) { 0.0 } else { m.q_value(&v, i / na, i % na) }).collect();
    let err = |n: usize| {
        let cfg = McBasicConfig { episode_length: l, episodes_per_pair: n, iterations: 1 };
        let r = mc_basic(m, &cfg, None, &mut rng_for(3, &[])).unwrap();
        max_diff(&r.iterations[0].q, &exact)
    };
    let (e10, e4000) = (err(10), err(4000));
    assert!(e4000 < 0.03, "{e4000}");
    assert!(e4000 < e10 / 3.0, "{e10} -> {e4000}");
}

/// MC Exploring Starts (Zhao Alg. 5.2) with first-visit returns finds an optimal policy,
/// on the continuing 5x5 grid (r_forbidden = −10) and on the episodic grid of Zhao
/// Fig. 7.2 (terminal target).
///
/// Every-visit returns on a *continuing* task with truncated episodes are biased: a pair
/// repeated late in an episode (e.g. "stay" on the target) is credited with returns of
/// shorter and shorter horizons, so the method settles on a suboptimal policy whatever the
/// budget. The test checks that too (it is a property of the method, documented in
/// `mc::exploring_starts`).
#[test]
fn mc_exploring_starts_finds_an_optimal_policy() {
    let run = |w: &World, first_visit: bool, cycles: usize| {
        let m = w.model();
        let v_star = rlkit::agents::dp::value_iteration::optimal_values(m).unwrap();
        let n_pairs = (0..m.n_states()).filter(|&s| !m.is_fixed(s)).count() * m.n_actions();
        let cfg = McEsConfig { episode_length: 100, first_visit, start: StartMode::Cycle, q0: 0.0 };
        let r = mc_exploring_starts(m, &cfg, n_pairs * cycles, &mut rng_for(1, &[])).unwrap();
        assert_eq!(r.episodes.len(), n_pairs * cycles);
        value_error(m, &r.actions, &v_star).unwrap()
    };
    let continuing = zhao(&[("rewards.forbidden", "-10")]);
    let e = run(&continuing, true, 100);
    assert!(e < 1e-6, "first-visit, continuing: value error {e}");
    let e = run(&continuing, false, 400);
    assert!(e > 0.1, "every-visit on a continuing task is expected to be biased: {e}");
    let episodic = zhao(&[
        ("target", "\"terminal\""),
        ("rewards.target", "0"),
        ("rewards.forbidden", "-10"),
        ("rewards.boundary", "-10"),
        ("rewards.step", "-1"),
    ]);
    let e = run(&episodic, true, 400);
    assert!(e < 1e-6, "first-visit, episodic: value error {e}");
}

/// First- and every-visit returns by hand, on the two-state MDP above: the first episode
/// starts with (A, cash) and follows the initial policy (cash), so it is three visits of
/// (A, cash) with rewards 1, 1, 1 and returns 2.71, 1.9, 1 (γ = 0.9).
#[test]
fn mc_exploring_starts_first_and_every_visit_by_hand() {
    let t = |next, reward| vec![Transition { prob: 1.0, next, reward, done: false }];
    let m =
        TabularModel::new(2, 2, 0.9, vec![t(0, 1.0), t(1, 0.0), t(0, 10.0), t(0, 10.0)], vec![false, false]).unwrap();
    let one = |first_visit| {
        let cfg = McEsConfig { episode_length: 3, first_visit, start: StartMode::Cycle, q0: 0.0 };
        mc_exploring_starts(&m, &cfg, 1, &mut rng_for(0, &[])).unwrap()
    };
    let every = one(false);
    assert_eq!(every.counts, vec![3, 0, 0, 0]);
    assert!((every.q[0] - (2.71 + 1.9 + 1.0) / 3.0).abs() < 1e-12);
    let first = one(true);
    assert_eq!(first.counts, vec![1, 0, 0, 0]);
    assert!((first.q[0] - 2.71).abs() < 1e-12);
    assert_eq!(every.episodes.to_csv_string(), "episode,return,length,steps\n1,3,3,3\n");
}

/// Zhao Figs. 5.5–5.7 (r_forbidden = −10, the additive boundary rule of Figs. 5.6–5.7):
/// ε-greedy optimality. The optimal ε-greedy policy is computed exactly by policy
/// iteration over ε-greedy policies; for small ε its greedy part is the optimal greedy
/// policy (Fig. 5.6, consistency), for large ε it is not (Fig. 5.7).
#[test]
fn zhao_figs_5_6_5_7_epsilon_greedy_optimality() {
    let w = zhao(&[("rewards.forbidden", "-10"), ("rewards.additive_forbidden_boundary", "true")]);
    let m = w.model();
    let v_star = rlkit::agents::dp::value_iteration::optimal_values(m).unwrap();
    let (pi0, v0) = epsilon_optimal(m, 0.0).unwrap();
    assert!(max_diff(&v0, &v_star) < 1e-9);
    let (pi1, v1) = epsilon_optimal(m, 0.1).unwrap();
    assert_eq!(pi1, pi0, "ε = 0.1 keeps the optimal greedy policy");
    // The ε-greedy version of the greedy optimal policy, evaluated exactly (Fig. 5.6, ε = 0.1).
    let ev = EvalConfig { method: EvalMethod::Exact, ..Default::default() };
    let direct = evaluate(m, &epsilon_greedy_policy(5, &pi0, 0.1), &ev, None).unwrap().values;
    assert!(max_diff(&direct, &v1) < 1e-12);
    // Exploration costs value: the target's value drops from 10 to below 4.
    assert!(v1[17] < 4.0 && v1[17] > 3.0, "{}", v1[17]);
    let (pi5, v5) = epsilon_optimal(m, 0.5).unwrap();
    let differ = pi5.iter().zip(&pi0).filter(|(a, b)| a != b).count();
    assert!(differ >= 5, "ε = 0.5 must change the greedy part in several states ({differ})");
    // The ε-greedy optimum is better than the ε-greedy version of π* for ε = 0.5.
    let consistent = evaluate(m, &epsilon_greedy_policy(5, &pi0, 0.5), &ev, None).unwrap().values;
    assert!(v5.iter().zip(&consistent).all(|(a, b)| *a >= b - 1e-9));
    assert!(max_diff(&v5, &consistent) > 1.0);
}

/// MC ε-greedy (Zhao Alg. 5.3) learns an ε-greedy policy whose value is close to the
/// ε-greedy optimum (smaller budget than the book: 20 episodes of 100,000 steps).
#[test]
fn mc_epsilon_greedy_reaches_the_epsilon_greedy_optimum() {
    let w = zhao(&[("rewards.forbidden", "-10"), ("rewards.additive_forbidden_boundary", "true")]);
    let m = w.model();
    let ev = EvalConfig { method: EvalMethod::Exact, ..Default::default() };
    for eps in [0.2, 0.5] {
        let (_, v_opt) = epsilon_optimal(m, eps).unwrap();
        let p: toml::Table = toml::from_str(&format!("epsilon = {eps}\nepisode_length = 100_000")).unwrap();
        let r = run_seed(&w, "mc-epsilon-greedy", &p, 3, &TrainConfig { episodes: 20, ..Default::default() }).unwrap();
        let v = evaluate(m, &epsilon_greedy_policy(5, &r.greedy_actions, eps), &ev, None).unwrap().values;
        let e = max_diff(&v, &v_opt);
        // A policy that ignores the rewards (always "up") is far off: the test can fail.
        let up = evaluate(m, &epsilon_greedy_policy(5, &[0; 25], eps), &ev, None).unwrap().values;
        assert!(max_diff(&up, &v_opt) > 3.0);
        assert!(e < 0.5, "ε = {eps}: value error {e}");
    }
}

/// Zhao Figs. 5.5–5.7 end to end (`experiments/zhao_fig5_5_5_7.toml`: 10 episodes of
/// 1,000,000 steps, every-visit sample averages, r_forbidden = −10, the additive boundary
/// rule), compared in `summary.json` with the optimal ε-greedy policy (v_ε*), as the book
/// does. What is reproduced, and what is not:
/// - ε = 0.5 and ε = 0.2: the learned policy is ε-optimal in (almost) every state and its
///   ε-greedy value is within 0.2 / 0.4 of v_ε* everywhere (measured: 0.103 with 24/25
///   states ε-optimal; 0.314 with 20/25).
/// - ε = 0.1: **not reproduced.** The learned greedy policy is ε-optimal in about half the
///   states and its ε-greedy value is 4.67 below v_ε* somewhere; the learned q at the target
///   stays negative where v_ε*(target) = 3.34. Neither more episodes (50: the same policy, a
///   fixed point), first-visit returns (5.75), a constant step (α = 0.05: 5.75), random
///   start states, nor the plain boundary rule (4.67) changes that; see the experiment file.
#[test]
fn zhao_figs_5_5_5_7_experiment_against_the_epsilon_optimum() {
    use rlkit::experiment::{load, run, LoadOptions, RunOptions};
    let out = std::env::temp_dir().join(format!("rlkit-mc-book-{}-z557", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = LoadOptions { out: Some(out.clone()), ..Default::default() };
    let exp = load("experiments/zhao_fig5_5_5_7.toml".as_ref(), &opts).unwrap();
    run(&exp, &RunOptions::default()).unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let agent = |n: &str| s["agents"].as_array().unwrap().iter().find(|a| a["agent"] == n).unwrap().clone();
    let eg = |n: &str| {
        let a = agent(n);
        assert_eq!(a["reference"], "epsilon_optimal", "{n}");
        (a["mean_value_error_inf"].as_f64().unwrap(), a["mean_pa"].as_f64().unwrap(), a)
    };
    // The reference is v_ε* itself: its start value is that of epsilon_optimal.
    let w = zhao(&[("rewards.forbidden", "-10"), ("rewards.additive_forbidden_boundary", "true")]);
    let (_, v1) = epsilon_optimal(w.model(), 0.1).unwrap();
    let (e01, a01, blk) = eg("eps=0.1");
    assert_eq!(blk["epsilon"].as_f64(), Some(0.1));
    let start = w.starts()[0];
    assert!((blk["epsilon_optimal_start_value"].as_f64().unwrap() - v1[start]).abs() < 1e-9);
    // Against v* (the greedy optimum) every ε-greedy learner is far off: the wrong yardstick.
    assert!(blk["greedy_optimum"]["mean_value_error_inf"].as_f64().unwrap() > 5.0);
    let (e02, a02, _) = eg("eps=0.2");
    let (e05, a05, _) = eg("eps=0.5");
    assert!(e05 < 0.2 && a05 >= 0.9, "ε = 0.5: {e05}, {a05}");
    assert!(e02 < 0.4 && a02 >= 0.75, "ε = 0.2: {e02}, {a02}");
    // ε = 0.1 is not reproduced, and the summary says so instead of hiding it.
    assert!(e01 > 4.0 && a01 < 0.6, "ε = 0.1: {e01}, {a01}");
    let _ = std::fs::remove_dir_all(&out);
}
