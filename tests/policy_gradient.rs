//! Policy gradient and actor-critic (Zhao ch. 9–10): the gradient estimate of
//! every algorithm, averaged over many sampled episodes at a fixed θ, matches
//! the exact policy gradient of a tiny MDP; the agents learn; the experiment
//! files reach their targets.
//!
//! The MDP: states A, B and a terminal T, two actions, γ = 0.9, episodes start
//! in A or B with probability 1/2 each.
//!
//! | state | action | outcomes (prob: next, reward) |
//! |---|---|---|
//! | A | 0 | 0.8: B, 0; 0.2: A, 1 |
//! | A | 1 | 1: T, 0.5 |
//! | B | 0 | 1: T, 1.5 |
//! | B | 1 | 0.5: A, −1; 0.5: T, 3.5 |
//!
//! With the tabular softmax π(a|s) = softmax(θ[·, s]) the exact gradient is
//! ∂J/∂θ[b, s] = η(s) π(b|s) (q_π(s, b) − v_π(s)), η the discounted visitation
//! from ρ₀ (ηᵀ = ρ₀ᵀ (I − γ P_π)⁻¹); checked against finite differences of J.

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rlkit::agents::agent::AgentRng;
use rlkit::agents::approx::linear::{default_features, InitWeights};
use rlkit::agents::approx::reinforce::EpisodeStep;
use rlkit::agents::approx::softmax::{sample, SoftmaxPolicy};
use rlkit::agents::approx::{a2c, off_policy_ac, qac, reinforce, train_obs, ObsAgent};
use rlkit::agents::td::Behaviour;
use rlkit::agents::train::TrainConfig;
use rlkit::env::features::Features;
use rlkit::env::obs::ObsEnv;
use rlkit::env::{TabularModel, Transition, World};

const GAMMA: f64 = 0.9;
const NS: usize = 3;
const NA: usize = 2;
/// θ[a, s], row-major `NA × NS` (the layout of `LinearFn::w`); T's column is never used.
const THETA: [f64; NA * NS] = [0.3, -0.4, 0.0, -0.2, 0.5, 0.0];
const RHO0: [f64; NS] = [0.5, 0.5, 0.0];

fn model() -> TabularModel {
    let t = |prob, next, reward, done| Transition { prob, next, reward, done };
    let lists = vec![
        vec![t(0.8, 1, 0.0, false), t(0.2, 0, 1.0, false)],
        vec![t(1.0, 2, 0.5, true)],
        vec![t(1.0, 2, 1.5, true)],
        vec![t(0.5, 0, -1.0, false), t(0.5, 2, 3.5, true)],
        vec![t(1.0, 2, 0.0, true)],
        vec![t(1.0, 2, 0.0, true)],
    ];
    TabularModel::new(NS, NA, GAMMA, lists, vec![false, false, true]).unwrap()
}

fn world() -> World {
    World::from_model(
        "tiny",
        model(),
        vec![0, 1],
        vec!["A".into(), "B".into(), "T".into()],
        vec!["a0".into(), "a1".into()],
        None,
    )
    .unwrap()
}

/// π(a|s) row-major `NS × NA` for a tabular θ.
fn policy_of(theta: &[f64]) -> Vec<f64> {
    let mut p = vec![0.0; NS * NA];
    for s in 0..NS {
        let m = (0..NA).map(|a| theta[a * NS + s]).fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = (0..NA).map(|a| (theta[a * NS + s] - m).exp()).sum();
        for a in 0..NA {
            p[s * NA + a] = (theta[a * NS + s] - m).exp() / z;
        }
    }
    p
}

/// I − γ P (P over non-terminal transitions of the state-policy `pol`).
fn i_minus_gamma_p(m: &TabularModel, pol: &[f64]) -> DMatrix<f64> {
    let mut a = DMatrix::<f64>::identity(NS, NS);
    for s in 0..NS {
        if m.is_fixed(s) {
            continue;
        }
        for act in 0..NA {
            for t in m.transitions(s, act) {
                if !t.done {
                    a[(s, t.next)] -= GAMMA * pol[s * NA + act] * t.prob;
                }
            }
        }
    }
    a
}

/// (v_π, q_π) by a linear solve.
fn values(m: &TabularModel, pol: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let a = i_minus_gamma_p(m, pol);
    let mut r = DVector::<f64>::zeros(NS);
    for s in (0..NS).filter(|&s| !m.is_fixed(s)) {
        r[s] = (0..NA).map(|act| pol[s * NA + act] * m.expected_reward(s, act)).sum();
    }
    let v: Vec<f64> = a.lu().solve(&r).unwrap().iter().copied().collect();
    let q = (0..NS * NA).map(|i| if m.is_fixed(i / NA) { 0.0 } else { m.q_value(&v, i / NA, i % NA) }).collect();
    (v, q)
}

/// Discounted visitation d(s) = Σ_t γ^t Pr(S_t = s) from ρ₀ under the state-policy `pol`.
fn visitation(m: &TabularModel, pol: &[f64]) -> Vec<f64> {
    let a = i_minus_gamma_p(m, pol).transpose();
    a.lu().solve(&DVector::from_column_slice(&RHO0)).unwrap().iter().copied().collect()
}

/// Σ_s d(s) Σ_a ∇π(a|s) q_π(s, a) in θ's layout: d(s) π(b|s) (q(s, b) − v(s)).
fn weighted_gradient(d: &[f64], pol: &[f64], v: &[f64], q: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; NA * NS];
    for s in 0..NS {
        for b in 0..NA {
            g[b * NS + s] = d[s] * pol[s * NA + b] * (q[s * NA + b] - v[s]);
        }
    }
    g
}

fn objective(m: &TabularModel, theta: &[f64]) -> f64 {
    let (v, _) = values(m, &policy_of(theta));
    v.iter().zip(RHO0).map(|(v, r)| v * r).sum()
}

/// The exact ∇J at θ.
fn exact_gradient(m: &TabularModel, theta: &[f64]) -> Vec<f64> {
    let pol = policy_of(theta);
    let (v, q) = values(m, &pol);
    weighted_gradient(&visitation(m, &pol), &pol, &v, &q)
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Mean and standard error per component of `n` sampled vectors.
struct Stats {
    sum: Vec<f64>,
    sq: Vec<f64>,
    n: usize,
}

impl Stats {
    fn new(d: usize) -> Stats {
        Stats { sum: vec![0.0; d], sq: vec![0.0; d], n: 0 }
    }
    fn push(&mut self, g: &[f64]) {
        self.n += 1;
        for ((s, q), x) in self.sum.iter_mut().zip(&mut self.sq).zip(g) {
            *s += x;
            *q += x * x;
        }
    }
    fn mean(&self) -> Vec<f64> {
        self.sum.iter().map(|s| s / self.n as f64).collect()
    }
    fn se(&self) -> Vec<f64> {
        let n = self.n as f64;
        self.sum.iter().zip(&self.sq).map(|(s, q)| ((q / n - (s / n).powi(2)).max(0.0) / (n - 1.0)).sqrt()).collect()
    }
}

/// Mean within 4 standard errors of `exact` per component, and SE small next to |∇J|.
fn assert_matches(name: &str, st: &Stats, exact: &[f64]) {
    let (mean, se) = (st.mean(), st.se());
    for k in 0..exact.len() {
        assert!(
            (mean[k] - exact[k]).abs() <= 4.0 * se[k],
            "{name}: component {k}: mean {} vs exact {} (se {})",
            mean[k],
            exact[k],
            se[k]
        );
    }
    assert!(norm(&se) < 0.1 * norm(exact), "{name}: standard error {} too large for |grad| {}", norm(&se), norm(exact));
}

/// One observed step: features, π(·|S), β(·|S) (= π on-policy), S, A, R, S', terminated.
struct Step {
    x: Features,
    probs: Vec<f64>,
    beta: Vec<f64>,
    s: usize,
    a: usize,
    r: f64,
    s2: usize,
    done: bool,
}

const EPISODES: usize = 100_000;

/// `EPISODES` episodes from the world's starts, acting with `behaviour` (None: π itself);
/// `f` turns an episode into one gradient sample.
fn sampled<F: FnMut(&SoftmaxPolicy, &[Step]) -> Vec<f64>>(
    seed: u64,
    behaviour: Option<(Behaviour, f64)>,
    mut f: F,
) -> Stats {
    let w = world();
    let mut env = w.make_obs_env();
    let mut pi = SoftmaxPolicy::new(&default_features(), &w.obs_spec(), NA, InitWeights::Value(0.0)).unwrap();
    pi.theta.w.copy_from_slice(&THETA);
    let mut rng = AgentRng::seed_from_u64(seed);
    let mut stats = Stats::new(NA * NS);
    let (mut o, mut o2) = ([0.0], [0.0]);
    let mut steps = Vec::new();
    for ep in 0..EPISODES {
        env.reset(if ep == 0 { Some(seed) } else { None }, &mut o);
        steps.clear();
        loop {
            let mut x = Features::default();
            pi.encode(&o, &mut x);
            let mut probs = vec![0.0; NA];
            pi.probs(&x, &mut probs);
            let mut beta = probs.clone();
            if let Some((b, eps)) = behaviour {
                off_policy_ac::behaviour_probs(b, eps, &probs, &mut beta);
            }
            let a = sample(&beta, &mut rng);
            let st = env.step(a, &mut o2);
            steps.push(Step {
                x,
                probs,
                beta,
                s: o[0] as usize,
                a,
                r: st.reward,
                s2: o2[0] as usize,
                done: st.terminated,
            });
            o = o2;
            if st.terminated {
                break;
            }
        }
        stats.push(&f(&pi, &steps));
    }
    stats
}

/// Σ_t γ^t g_t over an episode.
fn discounted_sum(steps: &[Step], mut g: impl FnMut(&Step) -> Vec<f64>) -> Vec<f64> {
    let mut out = vec![0.0; NA * NS];
    let mut w = 1.0;
    for st in steps {
        for (o, x) in out.iter_mut().zip(g(st)) {
            *o += w * x;
        }
        w *= GAMMA;
    }
    out
}

#[test]
fn exact_gradient_matches_finite_differences_of_j() {
    let m = model();
    let g = exact_gradient(&m, &THETA);
    for k in 0..NA * NS {
        let h = 1e-6;
        let (mut tp, mut tm) = (THETA, THETA);
        tp[k] += h;
        tm[k] -= h;
        let fd = (objective(&m, &tp) - objective(&m, &tm)) / (2.0 * h);
        assert!((fd - g[k]).abs() < 1e-7, "component {k}: finite difference {fd} vs {}", g[k]);
    }
    // Not a degenerate point: the gradient is far from 0 in both visited states.
    assert!(g[0].abs() > 0.05 && g[1].abs() > 0.05, "{g:?}");
}

fn to_episode(steps: &[Step]) -> Vec<EpisodeStep> {
    steps.iter().map(|s| EpisodeStep { x: s.x.clone(), action: s.a, reward: s.r, probs: s.probs.clone() }).collect()
}

#[test]
fn reinforce_with_discounted_gradient_is_unbiased() {
    let m = model();
    let exact = exact_gradient(&m, &THETA);
    let (v, _) = values(&m, &policy_of(&THETA));
    let plain = sampled(11, None, |pi, steps| reinforce::episode_gradient(pi, &to_episode(steps), GAMMA, true, None));
    assert_matches("REINFORCE", &plain, &exact);
    // A state baseline (here the exact v_π) leaves the mean alone and cuts the variance.
    let base = sampled(12, None, |pi, steps| {
        let b: Vec<f64> = steps.iter().map(|s| v[s.s]).collect();
        reinforce::episode_gradient(pi, &to_episode(steps), GAMMA, true, Some(&b))
    });
    assert_matches("REINFORCE + baseline", &base, &exact);
    assert!(norm(&base.se()) < 0.8 * norm(&plain.se()), "{:?} vs {:?}", base.se(), plain.se());
    // Without γ^t (Zhao's Alg. 9.1) the estimate is biased here: the test can tell.
    let undiscounted =
        sampled(13, None, |pi, steps| reinforce::episode_gradient(pi, &to_episode(steps), GAMMA, false, None));
    let (mean, se) = (undiscounted.mean(), undiscounted.se());
    assert!((0..NA * NS).any(|k| (mean[k] - exact[k]).abs() > 8.0 * se[k]), "{mean:?} vs {exact:?}");
}

#[test]
fn qac_with_exact_critic_is_unbiased() {
    let m = model();
    let exact = exact_gradient(&m, &THETA);
    let (_, q) = values(&m, &policy_of(&THETA));
    let st = sampled(21, None, |pi, steps| {
        discounted_sum(steps, |s| qac::step_gradient(pi, &s.x, s.a, &s.probs, q[s.s * NA + s.a]))
    });
    assert_matches("QAC", &st, &exact);
}

#[test]
fn a2c_with_exact_critic_is_unbiased() {
    let m = model();
    let exact = exact_gradient(&m, &THETA);
    let (v, _) = values(&m, &policy_of(&THETA));
    let st = sampled(31, None, |pi, steps| {
        discounted_sum(steps, |s| {
            let delta = a2c::td_error(s.r, GAMMA, v[s.s], v[s.s2], s.done);
            a2c::step_gradient(pi, &s.x, s.a, &s.probs, delta)
        })
    });
    assert_matches("A2C", &st, &exact);
}

#[test]
fn off_policy_ac_matches_the_behaviour_weighted_gradient() {
    let m = model();
    let pol = policy_of(&THETA);
    let (v, q) = values(&m, &pol);
    let eps = 0.4;
    // β: ε-greedy on π's most probable action, built here independently of the agent's code.
    let mut beta = vec![0.0; NS * NA];
    for s in 0..NS {
        let g = if pol[s * NA + 1] > pol[s * NA] { 1 } else { 0 };
        for a in 0..NA {
            beta[s * NA + a] = eps / NA as f64 + if a == g { 1.0 - eps } else { 0.0 };
        }
    }
    let expected = weighted_gradient(&visitation(&m, &beta), &pol, &v, &q);
    let on_policy = exact_gradient(&m, &THETA);
    let st = sampled(41, Some((Behaviour::EpsilonGreedy, eps)), |pi, steps| {
        discounted_sum(steps, |s| {
            let delta = a2c::td_error(s.r, GAMMA, v[s.s], v[s.s2], s.done);
            off_policy_ac::step_gradient(pi, &s.x, s.a, &s.probs, s.beta[s.a], delta, None)
        })
    });
    assert_matches("off-policy AC", &st, &expected);
    // d_β differs from η enough for the test to see it.
    let (mean, se) = (st.mean(), st.se());
    assert!((0..NA * NS).any(|k| (mean[k] - on_policy[k]).abs() > 8.0 * se[k]), "{mean:?} vs {on_policy:?}");
    // Uniform behaviour too.
    let uni: Vec<f64> = vec![0.5; NS * NA];
    let expected = weighted_gradient(&visitation(&m, &uni), &pol, &v, &q);
    let st = sampled(42, Some((Behaviour::Uniform, 0.0)), |pi, steps| {
        discounted_sum(steps, |s| {
            let delta = a2c::td_error(s.r, GAMMA, v[s.s], v[s.s2], s.done);
            off_policy_ac::step_gradient(pi, &s.x, s.a, &s.probs, s.beta[s.a], delta, None)
        })
    });
    assert_matches("off-policy AC (uniform)", &st, &expected);
}

/// Every kind, built through the registry from TOML, learns the optimal policy
/// of the tiny MDP (a0 in A, a1 in B) from θ = 0.
#[test]
fn every_kind_learns_the_tiny_mdp() {
    let m = model();
    let v_star = rlkit::agents::dp::value_iteration::optimal_values(&m).unwrap();
    let sets = rlkit::agents::dp::optimal_action_sets(&m, &v_star, 1e-9);
    assert_eq!(&sets[..2], &[vec![0], vec![1]]);
    let w = world();
    // Decreasing critic step sizes, so that v̂ averages the noisy targets of the (converged) π.
    let kinds = [
        ("reinforce", "alpha = 0.05"),
        ("reinforce", "alpha = 0.05\nbaseline = \"value\"\ncritic_alpha = { kind = \"polynomial\", scale = 1.0, power = 0.7 }\ndiscount_gradient = false"),
        ("qac", "alpha = 0.05\ncritic_alpha = { kind = \"polynomial\", scale = 1.0, power = 0.7 }"),
        ("a2c", "alpha = 0.05\ncritic_alpha = { kind = \"polynomial\", scale = 1.0, power = 0.7 }"),
        ("off-policy-ac", "alpha = 0.05\ncritic_alpha = { kind = \"polynomial\", scale = 1.0, power = 0.7 }\nclip_ratio = 5.0"),
        ("off-policy-ac", "alpha = 0.05\ncritic_alpha = { kind = \"polynomial\", scale = 1.0, power = 0.7 }\nbehaviour = \"epsilon-greedy\"\nepsilon = 0.5"),
    ];
    for (kind, params) in kinds {
        let p: toml::Table = toml::from_str(params).unwrap();
        let mut agent = rlkit::agents::approx::build(kind, &p, &w.obs_spec(), NA, GAMMA).unwrap();
        let cfg = TrainConfig { episodes: 4000, ..Default::default() };
        train_obs(&mut w.make_obs_env(), &mut agent, &cfg, 5, None, |_, _, _| {});
        assert!(!agent.diverged(), "{kind}");
        let pa = agent.action_probs(&[0.0]).unwrap();
        let pb = agent.action_probs(&[1.0]).unwrap();
        assert_eq!(
            (agent.greedy_action(&[0.0]), agent.greedy_action(&[1.0])),
            (0, 1),
            "{kind} {params}: {pa:?} {pb:?}"
        );
        assert!(pa[0] > 0.7 && pb[1] > 0.7, "{kind} {params}: {pa:?} {pb:?}");
        // The critic tracks v_π of the learned π (v_π by a linear solve).
        let pol = [pa.clone(), pb.clone(), vec![0.5, 0.5]].concat();
        let (v_pi, _) = values(&m, &pol);
        for (s, vp) in v_pi.iter().enumerate().take(2) {
            let v = agent.value(&[s as f64]);
            if kind == "reinforce" && !params.contains("baseline") {
                assert_eq!(v, 0.0, "REINFORCE without a baseline reports 0");
            } else {
                assert!((v - vp).abs() < 0.2, "{kind} {params}: v̂({s}) = {v}, v_π = {vp}");
            }
        }
        let names: Vec<String> = agent.tensors().iter().map(|t| t.name.clone()).collect();
        assert_eq!(names[0], "theta", "{kind}");
    }
}

#[test]
fn bad_parameters_name_the_key() {
    let w = world();
    let cases = [
        ("reinforce", "baseline = \"mean\"", "baseline"),
        ("reinforce", "critic_alpha = 0.1", "critic_alpha"),
        ("reinforce", "alpha = 2.0", "alpha"),
        ("reinforce", "theta0 = nan", "theta0"),
        ("qac", "critic_alpha = -1", "critic_alpha"),
        ("a2c", "lambda = 0.9", "lambda"),
        ("off-policy-ac", "epsilon = 0.2", "epsilon"),
        ("off-policy-ac", "behaviour = \"epsilon-greedy\"\nepsilon = 0.0", "epsilon"),
        ("off-policy-ac", "clip_ratio = 0.0", "clip_ratio"),
        ("off-policy-ac", "behaviour = \"greedy\"", "behaviour"),
    ];
    for (kind, params, key) in cases {
        let p: toml::Table = toml::from_str(params).unwrap();
        let e = rlkit::agents::approx::build(kind, &p, &w.obs_spec(), NA, GAMMA).err().unwrap_or_else(|| {
            panic!("{kind} {params}: accepted");
        });
        assert!(matches!(e, rlkit::Error::Input(_)), "{kind}: {e:?}");
        assert!(e.to_string().contains(key), "{kind} {params}: {e}");
    }
}

/// Run an experiment file into `target/policy_gradient_tests/<name>` and read its summary.
fn run_experiment(file: &str, name: &str) -> serde_json::Value {
    use rlkit::experiment::{load, run, LoadOptions, RunOptions};
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("policy_gradient_{name}"));
    let _ = std::fs::remove_dir_all(&out);
    let exp = load(file.as_ref(), &LoadOptions { out: Some(out.clone()), ..Default::default() }).unwrap();
    run(&exp, &RunOptions::default()).unwrap();
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// PA per seed of the agent named `name`.
fn pa_per_seed(summary: &serde_json::Value, name: &str) -> Vec<f64> {
    let agent = summary["agents"].as_array().unwrap().iter().find(|a| a["agent"] == name).unwrap();
    agent["per_seed"].as_array().unwrap().iter().map(|s| s["pa"].as_f64().unwrap()).collect()
}

/// The target of `experiments/policy_gradient_zhao_5x5.toml`: REINFORCE and A2C find an optimal
/// action in all 25 cells (forbidden cells and the target included) for at least 3 of 5 seeds.
#[test]
fn zhao_5x5_experiment_reaches_its_target() {
    let s = run_experiment("experiments/policy_gradient_zhao_5x5.toml", "zhao_5x5");
    let names: Vec<&str> = s["agents"].as_array().unwrap().iter().map(|a| a["agent"].as_str().unwrap()).collect();
    assert_eq!(names, ["REINFORCE", "REINFORCE+baseline", "QAC", "A2C", "off-policy AC"]);
    for name in ["REINFORCE", "A2C"] {
        let pa = pa_per_seed(&s, name);
        assert_eq!(pa.len(), 5, "{name}");
        assert!(pa.iter().filter(|&&p| p == 1.0).count() >= 3, "{name}: PA per seed {pa:?}");
    }
    // The others learn too (not a target, a floor well above the uniform policy's PA).
    for name in ["REINFORCE+baseline", "QAC", "off-policy AC"] {
        let pa = pa_per_seed(&s, name);
        assert!(pa.iter().sum::<f64>() / 5.0 > 0.9, "{name}: PA per seed {pa:?}");
    }
}

/// `experiments/policy_gradient_cliff.toml`: the actor-critics reach returns near the optimum
/// of random starts and REINFORCE with a baseline stops falling off the cliff.
#[test]
fn cliff_experiment_learns() {
    let s = run_experiment("experiments/policy_gradient_cliff.toml", "cliff");
    let late = |name: &str| {
        let a = s["agents"].as_array().unwrap().iter().find(|a| a["agent"] == name).unwrap();
        a["mean_late_return"].as_f64().unwrap()
    };
    assert!(late("A2C") > -15.0 && late("QAC") > -15.0, "{} {}", late("A2C"), late("QAC"));
    assert!(late("REINFORCE+baseline") > -40.0, "{}", late("REINFORCE+baseline"));
    assert!(late("REINFORCE") > -60.0, "{}", late("REINFORCE"));
}
