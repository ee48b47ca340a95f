//! The training loop for step-based agents, the agent registry, and
//! [`run_seed`], which the experiment runner calls once per (agent, seed).
//!
//! # Seeding
//! A run with seed `seed` draws the environment from the stream
//! `derive_seed(seed, &[STREAM_ENV])` (passed to `Env::reset` once, at the
//! first episode) and the agent from `rng_for(seed, &[STREAM_AGENT])`. Each
//! run owns its streams, so running seeds in parallel gives byte-identical
//! results whatever the thread count. Give every run its own `seed` (e.g.
//! `derive_seed(experiment_seed, &[agent_index, seed_index])`).
//!
//! # Episodes
//! An episode ends when the environment terminates or truncates, or when it
//! reaches the step cap (the smaller of [`TrainConfig::max_episode_steps`] and
//! [`Agent::max_episode_steps`]); a capped episode is reported to the agent as
//! *truncated*, so TD agents bootstrap through it (never through a
//! termination). The return recorded is the undiscounted sum of rewards.
//!
//! # Non-finite values
//! After every step the loop checks the reward, the episode's return so far and
//! [`Agent::finite_at`] of the step's state, and after every episode
//! [`Agent::all_finite`]. At the first non-finite value the run stops: the
//! episodes before it are kept (the diverging one is not recorded) and
//! [`Trained::diverged`] names the episode and step ([`SeedResult::diverged`];
//! the runner reports it and the CLI exits with code 1).
//!
//! # Memory
//! The loop keeps one [`EpisodeRecord`] (32 bytes) per episode; the runner keeps
//! more per episode and seed (its `episodes.csv` rows and learning curves), about
//! [`BYTES_PER_EPISODE`], and `rlkit check` refuses an experiment whose
//! `episodes × seeds × BYTES_PER_EPISODE` exceeds the memory budget
//! ([`crate::util::check_mem`]). Nothing else grows with the number of episodes.
//!
//! # Registry
//! Agent kinds are looked up by name in a global registry seeded with the
//! built-ins ([`BUILTIN_KINDS`]). Register your own with [`register`]; the
//! experiment runner builds agents with [`build`] and runs them with
//! [`run_seed`]. The episode-based Monte Carlo kinds `mc-basic` and
//! `mc-exploring-starts` are not step-based; [`run_seed`] runs them directly.

use std::collections::BTreeMap;
use std::sync::{OnceLock, RwLock};

use super::agent::{Agent, Experience};
use super::mc;
use super::td;
use crate::data::table::Table;
use crate::env::{Env, TabularModel, World};
use crate::util::{derive_seed, rng_for};
use crate::{Error, Result};

/// Stream label of the environment's random stream.
pub const STREAM_ENV: u64 = 0;
/// Stream label of the agent's random stream.
pub const STREAM_AGENT: u64 = 1;

/// Settings of the training loop.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainConfig {
    /// Number of episodes.
    pub episodes: usize,
    /// Cap on the steps of an episode (truncation); `None` for none.
    pub max_episode_steps: Option<u64>,
    /// Call the evaluation hook every this many environment steps (and
    /// record a row of [`SeedResult::iterations`] in [`run_seed`]).
    pub eval_every: Option<u64>,
    /// Where episodes start (the runner key `start`).
    pub start: StartMode,
    /// Also call the evaluation hook before the first episode (episode 0, step 0) and
    /// after every this many episodes (the runner key `eval_every_episodes`; S&B
    /// Example 6.2 plots the RMS error against episodes).
    pub eval_every_episodes: Option<u64>,
}

/// Where episodes start (the runner key `start = "env" | "uniform"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMode {
    /// The environment's own start distribution.
    #[default]
    Env,
    /// A state drawn uniformly from every non-fixed state of a finite world,
    /// from its own stream `rng_for(seed, [STREAM_ENV, 1])` (Zhao ch. 8–10:
    /// episodes "from every state").
    Uniform,
}

/// The states [`StartMode::Uniform`] draws from: every non-fixed state.
pub fn uniform_starts(model: &TabularModel) -> Vec<usize> {
    (0..model.n_states()).filter(|&s| !model.is_fixed(s)).collect()
}

/// What the loop records per episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeRecord {
    /// 1-based episode number.
    pub episode: usize,
    /// Undiscounted sum of the episode's rewards.
    pub ret: f64,
    /// Steps in the episode.
    pub length: u64,
    /// Cumulative steps up to the end of this episode.
    pub steps: u64,
}

/// Estimated bytes the runner keeps per episode of one seed: the loop's
/// [`EpisodeRecord`] (32), its row of the seed's episode table (4 cells, ≈ 160),
/// the row of `episodes.csv` with the agent and seed (6 cells, ≈ 220) and the
/// learning-curve point (16), rounded up for vector growth.
pub const BYTES_PER_EPISODE: u64 = 512;

/// Where a run stopped on a non-finite value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Divergence {
    /// 1-based episode.
    pub episode: usize,
    /// 1-based step within that episode.
    pub step: u64,
}

/// What [`train_checked`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// One record per completed episode (the diverging episode is not recorded).
    pub records: Vec<EpisodeRecord>,
    /// The first non-finite reward, return or value, if any (the run stopped there).
    pub diverged: Option<Divergence>,
}

/// Train `agent` on `env` for `cfg.episodes` episodes with the run seed `seed`.
/// `on_eval(total_steps, episode, agent)` is called every `cfg.eval_every`
/// steps (after the agent has observed that step).
///
/// Forward: episodes of (act → step → observe) then `end_episode`.
/// Returns one [`EpisodeRecord`] per episode.
pub fn train<E, A, F>(env: &mut E, agent: &mut A, cfg: &TrainConfig, seed: u64, on_eval: F) -> Vec<EpisodeRecord>
where
    E: Env + ?Sized,
    A: Agent + ?Sized,
    F: FnMut(u64, usize, &A),
{
    train_with_steps(env, agent, cfg, seed, on_eval, |_, _, _| {})
}

/// [`train`] with a per-step hook: `on_step(episode, step, transition)` is
/// called after the agent has observed each transition (`episode` 1-based,
/// `step` 1-based within the episode; `truncated` includes the step cap). The
/// hook cannot change the run, so a recorder sees exactly the episodes
/// [`train`] produces (used by trajectory export, which replays runs).
pub fn train_with_steps<E, A, F, H>(
    env: &mut E,
    agent: &mut A,
    cfg: &TrainConfig,
    seed: u64,
    on_eval: F,
    on_step: H,
) -> Vec<EpisodeRecord>
where
    E: Env + ?Sized,
    A: Agent + ?Sized,
    F: FnMut(u64, usize, &A),
    H: FnMut(usize, u64, &Experience),
{
    train_checked(env, agent, cfg, seed, on_eval, on_step).records
}

/// [`train_with_steps`] that also says where it stopped on a non-finite value
/// (see the module docs, *Non-finite values*).
pub fn train_checked<E, A, F, H>(
    env: &mut E,
    agent: &mut A,
    cfg: &TrainConfig,
    seed: u64,
    mut on_eval: F,
    mut on_step: H,
) -> Trained
where
    E: Env + ?Sized,
    A: Agent + ?Sized,
    F: FnMut(u64, usize, &A),
    H: FnMut(usize, u64, &Experience),
{
    let mut rng = rng_for(seed, &[STREAM_AGENT]);
    let env_seed = derive_seed(seed, &[STREAM_ENV]);
    let cap = match (cfg.max_episode_steps, agent.max_episode_steps()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let eval_every = cfg.eval_every.filter(|&k| k > 0);
    let mut records = Vec::with_capacity(cfg.episodes.min(1 << 20));
    let mut steps = 0u64;
    let starts = match (cfg.start, env.model()) {
        (StartMode::Uniform, Some(m)) => uniform_starts(m),
        _ => Vec::new(),
    };
    let mut start_rng = rng_for(seed, &[STREAM_ENV, 1]);
    let eval_episodes = cfg.eval_every_episodes.filter(|&k| k > 0);
    if eval_episodes.is_some() {
        on_eval(0, 0, agent);
    }
    let mut diverged = None;
    'episodes: for ep in 0..cfg.episodes {
        let mut s = env.reset(if ep == 0 { Some(env_seed) } else { None });
        if !starts.is_empty() {
            use rand::RngExt;
            let s0 = starts[start_rng.random_range(0..starts.len())];
            if env.reset_to(s0) {
                s = s0;
            }
        }
        let mut ret = 0.0;
        let mut len = 0u64;
        loop {
            let a = agent.act(s, &mut rng);
            let st = env.step(a);
            len += 1;
            steps += 1;
            ret += st.reward;
            let truncated = !st.terminated && (st.truncated || cap.is_some_and(|c| len >= c));
            let exp = Experience {
                state: s,
                action: a,
                reward: st.reward,
                next_state: st.state,
                terminated: st.terminated,
                truncated,
            };
            agent.observe(&exp);
            if !(st.reward.is_finite() && ret.is_finite() && agent.finite_at(s)) {
                diverged = Some(Divergence { episode: ep + 1, step: len });
                break 'episodes;
            }
            on_step(ep + 1, len, &exp);
            if let Some(k) = eval_every {
                if steps.is_multiple_of(k) {
                    on_eval(steps, ep + 1, agent);
                }
            }
            if st.terminated || truncated {
                break;
            }
            s = st.state;
        }
        agent.end_episode();
        if !agent.all_finite() {
            diverged = Some(Divergence { episode: ep + 1, step: len });
            break;
        }
        records.push(EpisodeRecord { episode: ep + 1, ret, length: len, steps });
        if let Some(k) = eval_episodes {
            if (ep as u64 + 1).is_multiple_of(k) {
                on_eval(steps, ep + 1, agent);
            }
        }
    }
    Trained { records, diverged }
}

/// Episode records as a tidy table `episode,return,length,steps`.
pub fn episodes_table(records: &[EpisodeRecord]) -> Table {
    let mut t = Table::new(&["episode", "return", "length", "steps"]);
    for r in records {
        t.push([r.episode.into(), r.ret.into(), r.length.into(), r.steps.into()]);
    }
    t
}

/// Builds an agent of one kind from its parameters (the agent's TOML table
/// without `kind`, `name` and `preset`) and the environment's sizes and γ.
pub type AgentFactory =
    fn(params: &toml::Table, n_states: usize, n_actions: usize, gamma: f64) -> Result<Box<dyn Agent + Send>>;

/// The built-in step-based kinds, with one line of description each.
pub const BUILTIN_KINDS: &[(&str, &str)] = &[
    ("sarsa", "Sarsa (S&B 6.4, Zhao 7.1): alpha, epsilon, q0"),
    ("expected-sarsa", "Expected Sarsa (S&B 6.6): alpha, epsilon, q0"),
    ("n-step-sarsa", "n-step Sarsa (S&B 7.2): n, alpha, epsilon, q0"),
    ("q-learning", "Q-learning (S&B 6.5, Zhao 7.2/7.3): alpha, epsilon, q0, behaviour, episode_length"),
    ("td0", "TD(0) prediction, uniform policy (S&B 6.1): alpha, v0"),
    ("mc-prediction", "every-visit MC prediction, uniform policy (S&B 6.1): alpha, v0"),
    (
        "mc-epsilon-greedy",
        "MC epsilon-greedy (Zhao Alg. 5.3): epsilon, episode_length, first_visit, alpha, q0, bootstrap_truncated",
    ),
];

/// The episode-based kinds [`run_seed`] runs directly (not in the registry).
pub const EPISODIC_KINDS: &[(&str, &str)] = &[
    ("mc-basic", "MC Basic (Zhao Alg. 5.1): episode_length, episodes_per_pair, iterations"),
    ("mc-exploring-starts", "MC Exploring Starts (Zhao Alg. 5.2): episode_length, first_visit, start, q0"),
];

/// Episodes of an agent on an env with no step cap are truncated after this many steps,
/// so that a policy that loops (for example a greedy one on ties) cannot hang a run.
pub const SAFETY_EPISODE_CAP: u64 = 1_000_000;

/// Keys of an agent table that belong to the runner, not to the agent.
pub const RESERVED_KEYS: &[&str] = &["kind", "name", "preset"];

fn new_sarsa(t: &toml::Table, ns: usize, na: usize, g: f64) -> Result<td::Sarsa> {
    Ok(td::Sarsa::new(super::agent::parse_params("sarsa", t)?, ns, na, g))
}
fn new_expected_sarsa(t: &toml::Table, ns: usize, na: usize, g: f64) -> Result<td::ExpectedSarsa> {
    Ok(td::ExpectedSarsa::new(super::agent::parse_params("expected-sarsa", t)?, ns, na, g))
}
fn new_q_learning(t: &toml::Table, ns: usize, na: usize, g: f64) -> Result<td::QLearning> {
    Ok(td::QLearning::new(super::agent::parse_params("q-learning", t)?, ns, na, g))
}

fn builtin(kind: &str) -> Option<AgentFactory> {
    use super::agent::parse_params as p;
    Some(match kind {
        "sarsa" => |t, ns, na, g| Ok(Box::new(new_sarsa(t, ns, na, g)?)),
        "expected-sarsa" => |t, ns, na, g| Ok(Box::new(new_expected_sarsa(t, ns, na, g)?)),
        "n-step-sarsa" => |t, ns, na, g| Ok(Box::new(td::NStepSarsa::from_config(p("n-step-sarsa", t)?, ns, na, g)?)),
        "q-learning" => |t, ns, na, g| Ok(Box::new(new_q_learning(t, ns, na, g)?)),
        "td0" => |t, ns, na, g| Ok(Box::new(td::Td0::new(p("td0", t)?, ns, na, g))),
        "mc-prediction" => |t, ns, na, g| Ok(Box::new(mc::McPrediction::new(p("mc-prediction", t)?, ns, na, g))),
        "mc-epsilon-greedy" => {
            |t, ns, na, g| Ok(Box::new(mc::McEpsilonGreedy::new(p("mc-epsilon-greedy", t)?, ns, na, g)))
        }
        _ => return None,
    })
}

/// A registered factory, and whether it is still the built-in one (then
/// [`run_seed`] may run the agent's concrete type, without dynamic dispatch).
#[derive(Clone, Copy)]
struct Entry {
    factory: AgentFactory,
    builtin: bool,
}

fn registry() -> &'static RwLock<BTreeMap<String, Entry>> {
    static R: OnceLock<RwLock<BTreeMap<String, Entry>>> = OnceLock::new();
    R.get_or_init(|| {
        let map = BUILTIN_KINDS
            .iter()
            .filter_map(|(k, _)| builtin(k).map(|factory| (k.to_string(), Entry { factory, builtin: true })))
            .collect();
        RwLock::new(map)
    })
}

/// Register (or replace) the factory of agent kind `kind`.
///
/// ```
/// use rlkit::agents::{agent::{Agent, AgentRng, Experience}, train};
/// struct Stay(usize);
/// impl Agent for Stay {
///     fn act(&mut self, _: usize, _: &mut AgentRng) -> usize { 0 }
///     fn observe(&mut self, _: &Experience) {}
///     fn greedy_policy(&self) -> Vec<usize> { vec![0; self.0] }
///     fn values(&self) -> Vec<f64> { vec![0.0; self.0] }
/// }
/// train::register("stay", |_p, ns, _na, _g| Ok(Box::new(Stay(ns))));
/// let a = train::build("stay", &toml::Table::new(), 3, 2, 0.9).unwrap();
/// assert_eq!(a.greedy_policy(), vec![0, 0, 0]);
/// ```
pub fn register(kind: &str, f: AgentFactory) {
    let mut r = registry().write().unwrap_or_else(|e| e.into_inner());
    r.insert(kind.to_string(), Entry { factory: f, builtin: false });
}

/// Whether `kind` can be built with [`build`].
pub fn is_registered(kind: &str) -> bool {
    registry().read().unwrap_or_else(|e| e.into_inner()).contains_key(kind)
}

/// Every kind [`run_seed`] accepts: the registered ones and [`EPISODIC_KINDS`].
pub fn kinds() -> Vec<String> {
    let mut v: Vec<String> = registry().read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
    v.extend(EPISODIC_KINDS.iter().map(|(k, _)| k.to_string()));
    v.sort();
    v
}

/// Build an agent of a registered kind. `params` may contain the runner's
/// [`RESERVED_KEYS`]; they are dropped. Unknown kinds and bad parameters are
/// [`Error::Input`]s naming the kind and key.
pub fn build(
    kind: &str,
    params: &toml::Table,
    n_states: usize,
    n_actions: usize,
    gamma: f64,
) -> Result<Box<dyn Agent + Send>> {
    let f = registry().read().unwrap_or_else(|e| e.into_inner()).get(kind).map(|e| e.factory);
    let Some(f) = f else {
        if EPISODIC_KINDS.iter().any(|(k, _)| *k == kind) {
            return Err(Error::input(format!(
                "agent kind `{kind}` is episode-based, not step-based; run it with run_seed"
            )));
        }
        let all = kinds();
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let hint =
            crate::config::did_you_mean(kind, &refs).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
        return Err(Error::input(format!("unknown agent kind `{kind}`{hint}; valid: {}", refs.join(", "))));
    };
    let mut p = params.clone();
    for k in RESERVED_KEYS {
        p.remove(*k);
    }
    f(&p, n_states, n_actions, gamma)
}

/// The outputs of one (agent, seed) run.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedResult {
    /// `episode,return,length,steps` (steps cumulative). Empty for `mc-basic`.
    pub episodes: Table,
    /// The final greedy action of every state (0 on fixed states).
    pub greedy_actions: Vec<usize>,
    /// The final values (max_a q or v; 0 on fixed states).
    pub values: Vec<f64>,
    /// The final q, row-major, when the agent has one.
    pub q: Option<Vec<f64>>,
    /// Progress during training, when asked for (`eval_every` for step-based
    /// kinds; always for `mc-basic`): `step,episode,rmse,max_error,pa,mpa,miou`
    /// (`iteration,...` for `mc-basic`), see [`run_seed`].
    pub iterations: Option<Table>,
    /// Where the run stopped on a non-finite value (its tables hold what came before).
    pub diverged: Option<Divergence>,
}

/// Reference values and optimal action sets for progress rows.
pub(crate) struct Reference {
    pub(crate) v: Vec<f64>,
    pub(crate) sets: Vec<Vec<usize>>,
}

pub(crate) fn progress_row(
    model: &TabularModel,
    r: &Reference,
    values: &[f64],
    actions: &[usize],
) -> Vec<crate::data::table::Cell> {
    let mut sq = 0.0;
    let mut max: f64 = 0.0;
    let mut n = 0usize;
    for (s, (v, vr)) in values.iter().zip(&r.v).enumerate() {
        if model.is_fixed(s) {
            continue;
        }
        let e = v - vr;
        sq += e * e;
        max = max.max(e.abs());
        n += 1;
    }
    let rmse = if n > 0 { (sq / n as f64).sqrt() } else { 0.0 };
    let (pa, mpa, miou) = match crate::metrics::policy_confusion(&r.sets, actions, model.fixed(), model.n_actions()) {
        Ok(cm) => {
            let s = cm.scores();
            (s.pa, s.mpa, s.miou)
        }
        Err(_) => (f64::NAN, f64::NAN, f64::NAN),
    };
    vec![rmse.into(), max.into(), pa.into(), mpa.into(), miou.into()]
}

/// The reference of progress rows: v* and its optimal action sets, or (for
/// prediction kinds) v of the uniform policy with the optimal sets of v*.
pub(crate) fn reference_for(model: &TabularModel, prediction: bool) -> Result<Reference> {
    let (ns, na) = (model.n_states(), model.n_actions());
    let v_star = crate::agents::dp::value_iteration::optimal_values(model)?;
    let sets = crate::agents::dp::optimal_action_sets(model, &v_star, OPTIMAL_SET_TOL);
    let v = if prediction {
        let pi = crate::agents::dp::Policy::uniform(ns, na);
        crate::agents::dp::evaluate(
            model,
            &pi,
            &crate::agents::dp::EvalConfig { method: crate::agents::dp::EvalMethod::Exact, ..Default::default() },
            None,
        )?
        .values
    } else {
        v_star
    };
    Ok(Reference { v, sets })
}

/// Tolerance for the optimal action sets used by the progress metrics.
pub const OPTIMAL_SET_TOL: f64 = 1e-6;

pub(crate) fn clean(model: &TabularModel, mut values: Vec<f64>, mut actions: Vec<usize>) -> (Vec<f64>, Vec<usize>) {
    for (s, (v, a)) in values.iter_mut().zip(actions.iter_mut()).enumerate() {
        if model.is_fixed(s) {
            *v = 0.0;
            *a = 0;
        }
    }
    (values, actions)
}

/// Run one seed of agent `kind` on `world`.
///
/// - Step-based kinds (the registry): [`build`] + [`train`] for
///   `cfg.episodes` episodes on `world.make_env()`.
/// - `mc-exploring-starts`: `cfg.episodes` episodes of
///   [`mc::mc_exploring_starts`] on the model (streams as above).
/// - `mc-basic`: [`mc::mc_basic()`](fn@crate::agents::mc::mc_basic) until its policy is stable or its
///   `iterations` are spent (`cfg.episodes` is ignored).
///
/// `iterations` (when `cfg.eval_every` is set, or for `mc-basic`) has one row
/// per evaluation: RMSE and max-norm error of the agent's values against v*
/// over the non-fixed states (for the prediction kinds `td0` and
/// `mc-prediction`, against v of the uniform policy instead), and PA, MPA,
/// MIoU of its greedy policy against the optimal sets of v* (see
/// [`crate::metrics::policy`]).
///
/// A continuing environment (no terminal state reachable from the start) needs
/// a step cap: `cfg.max_episode_steps`, the env's `max_steps` or the agent's
/// `episode_length`; without one this is an [`Error::Input`].
///
/// ```
/// use rlkit::agents::train::{run_seed, TrainConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
/// let p: toml::Table = toml::from_str("alpha = 0.5\nepsilon = 0.1").unwrap();
/// let cfg = TrainConfig { episodes: 50, ..Default::default() };
/// let a = run_seed(&w, "sarsa", &p, 1, &cfg).unwrap();
/// let b = run_seed(&w, "sarsa", &p, 1, &cfg).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.episodes.len(), 50);
/// ```
pub fn run_seed(world: &World, kind: &str, params: &toml::Table, seed: u64, cfg: &TrainConfig) -> Result<SeedResult> {
    let model = world.model();
    let (ns, na, gamma) = (model.n_states(), model.n_actions(), model.gamma);
    let prediction = matches!(kind, "td0" | "mc-prediction");
    let want_progress = cfg.eval_every.is_some() || cfg.eval_every_episodes.is_some() || kind == "mc-basic";
    let reference = if want_progress { Some(reference_for(model, prediction)?) } else { None };
    let mut p = params.clone();
    for k in RESERVED_KEYS {
        p.remove(*k);
    }
    match kind {
        "mc-basic" => {
            let c: mc::McBasicConfig = super::agent::parse_params(kind, &p)?;
            let mut rng = rng_for(seed, &[STREAM_AGENT]);
            let res = mc::mc_basic(model, &c, None, &mut rng)?;
            let r = reference.as_ref().expect("computed for mc-basic");
            let mut it = Table::new(&["iteration", "rmse", "max_error", "pa", "mpa", "miou"]);
            for (k, row) in res.iterations.iter().enumerate() {
                let mut cells = vec![(k + 1).into()];
                cells.extend(progress_row(model, r, &row.values, &row.actions));
                it.push(cells);
            }
            let last = res.iterations.last().expect("at least one iteration");
            Ok(SeedResult {
                episodes: Table::new(&["episode", "return", "length", "steps"]),
                greedy_actions: last.actions.clone(),
                values: last.values.clone(),
                q: Some(last.q.clone()),
                iterations: Some(it),
                diverged: first_non_finite_iteration(&res.iterations),
            })
        }
        "mc-exploring-starts" => {
            let c: mc::McEsConfig = super::agent::parse_params(kind, &p)?;
            let mut rng = rng_for(seed, &[STREAM_AGENT]);
            let res = mc::mc_exploring_starts(model, &c, cfg.episodes, &mut rng)?;
            let iterations = reference.as_ref().map(|r| {
                let mut it = Table::new(&["step", "episode", "rmse", "max_error", "pa", "mpa", "miou"]);
                let mut cells = vec![
                    res.episodes.rows().last().map_or(crate::data::table::Cell::Int(0), |row| row[3].clone()),
                    cfg.episodes.into(),
                ];
                cells.extend(progress_row(model, r, &res.values, &res.actions));
                it.push(cells);
                it
            });
            let diverged = res.diverged.map(|(episode, step)| Divergence { episode, step });
            Ok(SeedResult {
                episodes: res.episodes,
                greedy_actions: res.actions,
                values: res.values,
                q: Some(res.q),
                iterations,
                diverged,
            })
        }
        _ => {
            // The common built-in kinds run as their concrete types: the
            // per-step calls inline (same operations, same results).
            let builtin = registry().read().unwrap_or_else(|e| e.into_inner()).get(kind).is_some_and(|e| e.builtin);
            match (builtin, kind) {
                (true, "sarsa") => seed_loop(new_sarsa(&p, ns, na, gamma)?, world, kind, cfg, seed, reference),
                (true, "q-learning") => {
                    seed_loop(new_q_learning(&p, ns, na, gamma)?, world, kind, cfg, seed, reference)
                }
                (true, "expected-sarsa") => {
                    seed_loop(new_expected_sarsa(&p, ns, na, gamma)?, world, kind, cfg, seed, reference)
                }
                _ => seed_loop(build(kind, &p, ns, na, gamma)?, world, kind, cfg, seed, reference),
            }
        }
    }
}

/// Train one step-based agent for one seed and collect its [`SeedResult`].
fn seed_loop<A: Agent>(
    mut agent: A,
    world: &World,
    kind: &str,
    cfg: &TrainConfig,
    seed: u64,
    reference: Option<Reference>,
) -> Result<SeedResult> {
    let model = world.model();
    let ns = model.n_states();
    let capped = cfg.max_episode_steps.is_some() || world.max_steps().is_some() || agent.max_episode_steps().is_some();
    let mut capped_cfg = cfg.clone();
    if !capped {
        // Every state an exploring agent may visit must be able to terminate...
        let reach = model.can_terminate(None);
        if let Some(s0) = (0..ns).find(|&s| !reach[s]) {
            return Err(Error::input(format!(
                "agent `{kind}` on `{}`: episodes that reach {} can never terminate; set a step cap (max_episode_steps, the env's max_steps, or the agent's episode_length)",
                world.name,
                world.state_label(s0)
            )));
        }
        // ...and a greedy agent can still loop forever on ties: truncate at a safety cap.
        capped_cfg.max_episode_steps = Some(SAFETY_EPISODE_CAP);
    }
    let cfg = &capped_cfg;
    let mut env = world.make_env();
    let mut it = Table::new(&["step", "episode", "rmse", "max_error", "pa", "mpa", "miou"]);
    let trained = train_checked(
        &mut env,
        &mut agent,
        cfg,
        seed,
        |step, ep, a| {
            if let Some(r) = &reference {
                let (v, acts) = clean(model, a.values(), a.greedy_policy());
                let mut cells = vec![step.into(), ep.into()];
                cells.extend(progress_row(model, r, &v, &acts));
                it.push(cells);
            }
        },
        |_, _, _| {},
    );
    let (values, greedy_actions) = clean(model, agent.values(), agent.greedy_policy());
    Ok(SeedResult {
        episodes: episodes_table(&trained.records),
        greedy_actions,
        values,
        q: agent.q().map(<[f64]>::to_vec),
        iterations: (cfg.eval_every.is_some() || cfg.eval_every_episodes.is_some()).then_some(it),
        diverged: trained.diverged,
    })
}

/// The first MC Basic iteration whose values are not all finite, as (iteration, step 0).
fn first_non_finite_iteration(its: &[mc::McBasicIteration]) -> Option<Divergence> {
    its.iter()
        .position(|r| r.values.iter().chain(&r.q).any(|x| !x.is_finite()))
        .map(|k| Divergence { episode: k + 1, step: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kind_and_bad_params_are_input_errors() {
        let e = build("sarsaa", &toml::Table::new(), 4, 2, 1.0).err().unwrap();
        assert!(matches!(e, Error::Input(_)));
        assert!(e.to_string().contains("did you mean `sarsa`"), "{e}");
        let p: toml::Table = toml::from_str("alpha = 0.5\nepsilom = 0.1").unwrap();
        let e = build("sarsa", &p, 4, 2, 1.0).err().unwrap();
        assert!(e.to_string().contains("epsilom"), "{e}");
        let p: toml::Table = toml::from_str("kind = \"sarsa\"\nname = \"s\"\nalpha = 0.5").unwrap();
        assert!(build("sarsa", &p, 4, 2, 1.0).is_ok());
        let p: toml::Table = toml::from_str("n = 0").unwrap();
        assert!(build("n-step-sarsa", &p, 4, 2, 1.0).is_err());
        assert!(build("mc-basic", &toml::Table::new(), 4, 2, 1.0).is_err());
        for (k, _) in BUILTIN_KINDS {
            assert!(build(k, &toml::Table::new(), 4, 2, 1.0).is_ok(), "{k}");
        }
    }

    /// An agent whose single value becomes `value_at_step` at global step `at`.
    struct Breaks {
        at: u64,
        value: f64,
        steps: u64,
        v: Vec<f64>,
    }
    impl Agent for Breaks {
        fn act(&mut self, _: usize, _: &mut super::super::agent::AgentRng) -> usize {
            0
        }
        fn observe(&mut self, t: &Experience) {
            self.steps += 1;
            if self.steps == self.at {
                self.v[t.state] = self.value;
            }
        }
        fn greedy_policy(&self) -> Vec<usize> {
            vec![0; self.v.len()]
        }
        fn values(&self) -> Vec<f64> {
            self.v.clone()
        }
    }

    /// The random walk's episodes from C take at least 3 steps. An agent whose value turns
    /// NaN at global step k stops there: `finite_at` is the default (`true`), so the
    /// end-of-episode check catches it, in the episode that holds step k, and the
    /// episodes before it are kept. With a finite value nothing stops.
    #[test]
    fn a_non_finite_value_stops_the_run_at_its_episode() {
        let w = World::load("envs/random_walk.toml".as_ref()).unwrap();
        let cfg = TrainConfig { episodes: 50, ..Default::default() };
        let run = |at, value| {
            let mut a = Breaks { at, value, steps: 0, v: vec![0.0; 7] };
            train_checked(&mut w.make_env(), &mut a, &cfg, 3, |_, _, _| {}, |_, _, _| {})
        };
        let ok = run(10, 1.0);
        assert_eq!(ok.records.len(), 50);
        assert!(ok.diverged.is_none());
        let bad = run(10, f64::NAN);
        let d = bad.diverged.unwrap();
        // The episode holding global step 10: the first whose cumulative steps reach 10.
        let ep = ok.records.iter().find(|r| r.steps >= 10).unwrap();
        assert_eq!(d, Divergence { episode: ep.episode, step: ep.length });
        assert_eq!(bad.records, ok.records[..ep.episode - 1]);
    }

    /// `eval_every_episodes = k` calls the hook before the first episode and after every
    /// k-th: episodes 0, 2, 4 for 5 episodes and k = 2.
    #[test]
    fn eval_every_episodes_calls_the_hook_at_episode_ends() {
        let w = World::load("envs/random_walk.toml".as_ref()).unwrap();
        let cfg = TrainConfig { episodes: 5, eval_every_episodes: Some(2), ..Default::default() };
        let mut a = Breaks { at: 0, value: 0.0, steps: 0, v: vec![0.0; 7] };
        let mut seen = vec![];
        let t = train_checked(&mut w.make_env(), &mut a, &cfg, 1, |step, ep, _| seen.push((step, ep)), |_, _, _| {});
        let steps_at = |e: usize| t.records[e - 1].steps;
        assert_eq!(seen, vec![(0, 0), (steps_at(2), 2), (steps_at(4), 4)]);
    }

    #[test]
    fn continuing_env_needs_a_cap() {
        let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
        let cfg = TrainConfig { episodes: 1, ..Default::default() };
        let e = run_seed(&w, "q-learning", &toml::Table::new(), 0, &cfg).unwrap_err();
        assert!(e.to_string().contains("step cap"), "{e}");
        let cfg = TrainConfig { episodes: 2, max_episode_steps: Some(10), ..Default::default() };
        let r = run_seed(&w, "q-learning", &toml::Table::new(), 0, &cfg).unwrap();
        assert_eq!(r.episodes.to_csv_string().lines().nth(2).unwrap().split(',').nth(3), Some("20"));
    }
}
