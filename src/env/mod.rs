//! Environments: gridworlds and finite MDPs, loaded from TOML, each with its
//! exact tabular model and a Gymnasium-style step API.
//!
//! - [`World`] is a loaded environment description (a [`Grid`] or an [`Mdp`])
//!   with its [`TabularModel`];
//! - [`Env`] is the step API any environment implements;
//! - [`TabularEnv`] samples episodes from any [`TabularModel`].
//!
//! ```
//! use rlkit::env::{Env, World};
//! let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
//! let mut env = world.make_env();
//! let s = env.reset(Some(0));
//! assert_eq!(world.coords(s), Some((0, 0)));
//! let step = env.step(1); // right
//! assert_eq!(world.coords(step.state), Some((0, 1)));
//! assert_eq!(step.reward, 0.0);
//! ```

pub mod features;
pub mod generate;
pub mod gridworld;
pub mod mdp;
pub mod model;
pub mod mountain_car;
pub mod obs;

use std::path::Path;
use std::sync::Arc;

pub use gridworld::{CellKind, Grid, GridSpec};
pub use mdp::{Mdp, MdpSpec};
pub use model::{ModelBuilder, TabularModel, Transition};
pub use obs::{ContinuousTask, ObsEnv, ObsSpec, ObsStep, WorldObsEnv};

use crate::config::{Doc, Seg};
use crate::{Error, Result};

/// The result of one environment step (Gymnasium's `step`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The next state.
    pub state: usize,
    /// The reward.
    pub reward: f64,
    /// The episode ended in a terminal state: do not bootstrap from `state`.
    pub terminated: bool,
    /// The episode was cut by a time limit: `state` is not terminal, bootstrap through it.
    pub truncated: bool,
}

/// The step API every environment implements, in the Gymnasium manner.
///
/// States and actions are indices. Implement this for your own environment to
/// use it with rlkit's learning agents.
pub trait Env {
    /// Number of states.
    fn n_states(&self) -> usize;
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Discount factor.
    fn gamma(&self) -> f64;
    /// Start an episode; `Some(seed)` reseeds the environment's random stream.
    fn reset(&mut self, seed: Option<u64>) -> usize;
    /// Take an action. Panics if `action >= n_actions()` (a programming error).
    fn step(&mut self, action: usize) -> Step;
    /// The exact model, if the environment has one.
    fn model(&self) -> Option<&TabularModel> {
        None
    }
    /// Start the next episode in state `s` (uniform or exploring starts);
    /// `false` if the environment cannot.
    fn reset_to(&mut self, _s: usize) -> bool {
        false
    }
}

/// An environment that samples from a [`TabularModel`].
#[derive(Debug, Clone)]
pub struct TabularEnv {
    model: Arc<TabularModel>,
    starts: Arc<Vec<usize>>,
    max_steps: Option<u64>,
    rng: rand_chacha::ChaCha8Rng,
    /// Whether a step draws from `rng`. A deterministic model with one start
    /// state never uses its draws, so skipping them changes no outcome: every
    /// other model draws one number per step, as it always has.
    step_draws: bool,
    state: usize,
    t: u64,
}

impl TabularEnv {
    /// An environment over `model` starting uniformly in `starts`.
    pub fn new(model: Arc<TabularModel>, starts: Arc<Vec<usize>>, max_steps: Option<u64>) -> Self {
        let state = starts.first().copied().unwrap_or(0);
        // Every pair's probabilities sum to 1, so a deterministic model is one
        // with exactly one outcome per pair.
        let step_draws = !(model.is_deterministic() && starts.len() <= 1);
        TabularEnv { model, starts, max_steps, rng: crate::util::rng_for(0, &[]), step_draws, state, t: 0 }
    }

    /// The current state.
    pub fn state(&self) -> usize {
        self.state
    }

    /// Put the agent in state `s` (for exploring starts); resets the step count.
    pub fn set_state(&mut self, s: usize) {
        self.state = s;
        self.t = 0;
    }
}

impl Env for TabularEnv {
    fn n_states(&self) -> usize {
        self.model.n_states()
    }
    fn n_actions(&self) -> usize {
        self.model.n_actions()
    }
    fn gamma(&self) -> f64 {
        self.model.gamma
    }
    fn reset(&mut self, seed: Option<u64>) -> usize {
        use rand::{RngExt, SeedableRng};
        if let Some(seed) = seed {
            self.rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        }
        self.t = 0;
        self.state = if self.starts.len() == 1 {
            self.starts[0]
        } else {
            self.starts[self.rng.random_range(0..self.starts.len())]
        };
        self.state
    }
    #[inline]
    fn step(&mut self, action: usize) -> Step {
        use rand::RngExt;
        assert!(action < self.model.n_actions(), "action {action} out of range");
        let u: f64 = if self.step_draws { self.rng.random() } else { 0.0 };
        let tr = self.model.sample(self.state, action, u);
        self.state = tr.next;
        self.t += 1;
        let truncated = !tr.done && self.max_steps.is_some_and(|m| self.t >= m);
        Step { state: tr.next, reward: tr.reward, terminated: tr.done, truncated }
    }
    fn model(&self) -> Option<&TabularModel> {
        Some(&self.model)
    }
    fn reset_to(&mut self, s: usize) -> bool {
        self.set_state(s);
        true
    }
}

/// The kinds of environment an env file can describe.
#[derive(Debug, Clone)]
pub enum WorldKind {
    /// A gridworld.
    Grid(Box<Grid>),
    /// A finite MDP.
    Mdp(Box<Mdp>),
}

/// A loaded environment: its description and its exact model.
#[derive(Debug, Clone)]
pub struct World {
    /// Its name (the file's `name`, or the file stem).
    pub name: String,
    /// What it is.
    pub kind: WorldKind,
    model: Arc<TabularModel>,
    starts: Arc<Vec<usize>>,
}

impl World {
    /// Load an env file.
    pub fn load(path: &Path) -> Result<World> {
        World::from_doc(&Doc::load(path)?, &[])
    }

    /// Build from the table at `prefix` of `doc` (errors are located in its sources).
    /// A continuous env (e.g. `kind = "mountain_car"`) is an error here: use
    /// [`LoadedEnv::from_doc`] to accept both.
    pub fn from_doc(doc: &Doc, prefix: &[Seg]) -> Result<World> {
        match LoadedEnv::from_doc(doc, prefix)? {
            LoadedEnv::Finite(w) => Ok(w),
            LoadedEnv::Continuous(t) => {
                let mut p = prefix.to_vec();
                p.push(Seg::Key("kind".into()));
                Err(doc.error_at(
                    &p,
                    &format!(
                        "`{}` is a continuous-state env and has no tabular model; only approximating agents (linear-*, reinforce, a2c, ...) can run on it",
                        t.name
                    ),
                ))
            }
        }
    }

    /// A finite world from a model built in code (a custom env kind): states
    /// and actions named `names`, episodes starting uniformly in `starts`.
    pub fn from_model(
        name: &str,
        model: TabularModel,
        starts: Vec<usize>,
        state_names: Vec<String>,
        action_names: Vec<String>,
        max_steps: Option<u64>,
    ) -> Result<World> {
        if state_names.len() != model.n_states() || action_names.len() != model.n_actions() {
            return Err(Error::input(format!(
                "env `{name}`: {} state names and {} action names for a model of {} states and {} actions",
                state_names.len(),
                action_names.len(),
                model.n_states(),
                model.n_actions()
            )));
        }
        if starts.is_empty() || starts.iter().any(|&s| s >= model.n_states()) {
            return Err(Error::input(format!("env `{name}`: start states must be non-empty and in range")));
        }
        let spec = MdpSpec {
            kind: "mdp".into(),
            name: name.to_string(),
            description: String::new(),
            gamma: model.gamma,
            states: state_names,
            actions: action_names,
            terminal: vec![],
            start: vec![],
            max_steps,
            transitions: Default::default(),
        };
        Ok(World::new(WorldKind::Mdp(Box::new(Mdp { spec, starts, model: Arc::new(model) })), name.to_string()))
    }

    /// Wrap a built grid or MDP.
    pub fn new(kind: WorldKind, fallback_name: String) -> World {
        let (name, model, starts) = match &kind {
            WorldKind::Grid(g) => (g.spec.name.clone(), g.model.clone(), g.starts.clone()),
            WorldKind::Mdp(m) => (m.spec.name.clone(), m.model.clone(), m.starts.clone()),
        };
        let name = if name.is_empty() { fallback_name } else { name };
        World { name, kind, model, starts: Arc::new(starts) }
    }

    /// The exact model.
    pub fn model(&self) -> &TabularModel {
        &self.model
    }

    /// A shared handle to the model.
    pub fn model_arc(&self) -> Arc<TabularModel> {
        self.model.clone()
    }

    /// The grid, if this is a gridworld.
    pub fn grid(&self) -> Option<&Grid> {
        match &self.kind {
            WorldKind::Grid(g) => Some(g),
            WorldKind::Mdp(_) => None,
        }
    }

    /// Discount factor.
    pub fn gamma(&self) -> f64 {
        self.model.gamma
    }

    /// Start states.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// Episode step limit.
    pub fn max_steps(&self) -> Option<u64> {
        match &self.kind {
            WorldKind::Grid(g) => g.spec.max_steps,
            WorldKind::Mdp(m) => m.spec.max_steps,
        }
    }

    /// A fresh step environment (call `reset` before stepping).
    pub fn make_env(&self) -> TabularEnv {
        TabularEnv::new(self.model.clone(), self.starts.clone(), self.max_steps())
    }

    /// (row, col) of a state on a grid; `None` for an MDP.
    pub fn coords(&self, s: usize) -> Option<(usize, usize)> {
        self.grid().map(|g| g.coords(s))
    }

    /// A human label for state `s`: `(r,c)` on a grid, the state name in an MDP.
    pub fn state_label(&self, s: usize) -> String {
        match &self.kind {
            WorldKind::Grid(g) => {
                let (r, c) = g.coords(s);
                format!("({r},{c})")
            }
            WorldKind::Mdp(m) => m.spec.states[s].clone(),
        }
    }

    /// Action names, in index order.
    pub fn action_names(&self) -> Vec<String> {
        match &self.kind {
            WorldKind::Grid(g) => g.action_names.clone(),
            WorldKind::Mdp(m) => m.spec.actions.clone(),
        }
    }

    /// The symbol written for action `a` in policy files (`^ > v < o` on grids;
    /// the action name in an MDP).
    pub fn action_symbol(&self, a: usize) -> String {
        match &self.kind {
            WorldKind::Grid(g) => g.action_symbol(a).to_string(),
            WorldKind::Mdp(m) => m.spec.actions[a].clone(),
        }
    }

    /// Check that discounting is valid: gamma = 1 needs every state to be able
    /// to reach termination. `file` names the env in the message.
    pub fn check_gamma(&self, file: &str) -> Result<()> {
        if self.gamma() < 1.0 {
            return Ok(());
        }
        let reach = self.model.can_terminate(None);
        if let Some(s) = (0..self.model.n_states()).find(|&s| !reach[s]) {
            return Err(Error::input(format!(
                "{file}: gamma = 1 requires an episodic task, but no policy can reach a terminal state from {}; use gamma < 1 (e.g. --gamma 0.9) or add terminal cells (goal `G`, terminal `E`, or target = \"terminal\")",
                self.state_label(s)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// An environment loaded from an env file: a finite world (with its exact
/// model) or a continuous-state task.
#[derive(Debug, Clone)]
pub enum LoadedEnv {
    /// A gridworld, a finite MDP, or a registered finite kind.
    Finite(World),
    /// A continuous-state task (Mountain Car, or a registered kind).
    Continuous(ContinuousTask),
}

/// Builds an env of a registered kind from its TOML table (without `kind`).
/// The name is the file's `name` or stem.
pub type EnvFactory = fn(params: &toml::Table, name: &str) -> Result<LoadedEnv>;

/// The env kinds built in.
pub const BUILTIN_ENV_KINDS: &[(&str, &str)] = &[
    ("gridworld", "an ASCII map with a legend, rewards and dynamics (the default)"),
    ("mdp", "a finite MDP written out state by state"),
    ("mountain_car", "Mountain Car (S&B Example 10.1, Gymnasium MountainCar-v0), continuous state"),
];

fn env_registry() -> &'static std::sync::RwLock<std::collections::BTreeMap<String, EnvFactory>> {
    static R: std::sync::OnceLock<std::sync::RwLock<std::collections::BTreeMap<String, EnvFactory>>> =
        std::sync::OnceLock::new();
    R.get_or_init(Default::default)
}

/// Register (or replace) an env kind written in Rust, so that an env file
/// with `kind = "<kind>"` loads through it (in experiments and the CLI alike).
///
/// ```
/// use rlkit::env::{register_env_kind, LoadedEnv, TabularModel, Transition, World};
/// fn coin(params: &toml::Table, name: &str) -> rlkit::Result<LoadedEnv> {
///     let gamma = params.get("gamma").and_then(|v| v.as_float()).unwrap_or(0.9);
///     let t = |next, r| vec![Transition { prob: 1.0, next, reward: r, done: false }];
///     let model = TabularModel::new(1, 2, gamma, vec![t(0, 0.0), t(0, 1.0)], vec![false])?;
///     let w = World::from_model(name, model, vec![0], vec!["s".into()], vec!["a".into(), "b".into()], Some(10))?;
///     Ok(LoadedEnv::Finite(w))
/// }
/// register_env_kind("coin", coin);
/// let doc = rlkit::config::Doc::from_str("coin.toml", "kind = \"coin\"\ngamma = 0.5").unwrap();
/// let env = LoadedEnv::from_doc(&doc, &[]).unwrap();
/// assert_eq!(env.gamma(), 0.5);
/// ```
pub fn register_env_kind(kind: &str, f: EnvFactory) {
    let mut r = env_registry().write().unwrap_or_else(|e| e.into_inner());
    r.insert(kind.to_string(), f);
}

/// Every env kind: the built-in ones and the registered ones.
pub fn env_kinds() -> Vec<String> {
    let mut v: Vec<String> = BUILTIN_ENV_KINDS.iter().map(|k| k.0.to_string()).collect();
    v.extend(env_registry().read().unwrap_or_else(|e| e.into_inner()).keys().cloned());
    v.sort();
    v.dedup();
    v
}

/// Load an env file of any kind.
pub fn load_env(path: &Path) -> Result<LoadedEnv> {
    LoadedEnv::from_doc(&Doc::load(path)?, &[])
}

impl LoadedEnv {
    /// Build from the table at `prefix` of `doc` (errors are located in its sources).
    pub fn from_doc(doc: &Doc, prefix: &[Seg]) -> Result<LoadedEnv> {
        let table = match crate::config::get_path(&doc.table, prefix) {
            Some(toml::Value::Table(t)) => t.clone(),
            None if prefix.is_empty() => doc.table.clone(),
            _ => return Err(doc.error_at(prefix, "must be a table describing an environment")),
        };
        let kind_at = || {
            let mut p = prefix.to_vec();
            p.push(Seg::Key("kind".into()));
            p
        };
        let kind = match table.get("kind") {
            None => "gridworld".to_string(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => return Err(doc.error_at(&kind_at(), "`kind` must be a string naming an env kind")),
        };
        let fallback_name = doc
            .sources
            .iter()
            .rev()
            .find(|s| s.prefix.as_slice() == prefix)
            .or(doc.sources.first())
            .and_then(|s| s.file.file_stem())
            .and_then(|s| s.to_str())
            .unwrap_or("env")
            .to_string();
        let world_kind = match kind.as_str() {
            "gridworld" => {
                let spec: GridSpec = doc.deserialize_value(toml::Value::Table(table), prefix)?;
                WorldKind::Grid(Box::new(Grid::build(spec, Some(doc), prefix)?))
            }
            "mdp" => {
                let spec: MdpSpec = doc.deserialize_value(toml::Value::Table(table), prefix)?;
                WorldKind::Mdp(Box::new(Mdp::build(spec, Some(doc), prefix)?))
            }
            "mountain_car" => {
                let spec: mountain_car::MountainCarSpec = doc.deserialize_value(toml::Value::Table(table), prefix)?;
                let task = spec.task(&fallback_name).map_err(|e| doc.error_at(prefix, &e.to_string()))?;
                return Ok(LoadedEnv::Continuous(task));
            }
            other => {
                let f = env_registry().read().unwrap_or_else(|e| e.into_inner()).get(other).copied();
                let Some(f) = f else {
                    let kinds = env_kinds();
                    let refs: Vec<&str> = kinds.iter().map(String::as_str).collect();
                    let hint = crate::config::did_you_mean(other, &refs)
                        .map(|k| format!("; did you mean `{k}`?"))
                        .unwrap_or_default();
                    return Err(doc.error_at(
                        &kind_at(),
                        &format!("unknown env kind `{other}`{hint} (valid: {})", kinds.join(", ")),
                    ));
                };
                let mut params = table.clone();
                params.remove("kind");
                let name = match params.get("name") {
                    Some(toml::Value::String(n)) if !n.is_empty() => n.clone(),
                    _ => fallback_name.clone(),
                };
                return f(&params, &name).map_err(|e| match e {
                    Error::Input(m) => doc.error_at(prefix, &m),
                    other => other,
                });
            }
        };
        Ok(LoadedEnv::Finite(World::new(world_kind, fallback_name)))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            LoadedEnv::Finite(w) => &w.name,
            LoadedEnv::Continuous(t) => &t.name,
        }
    }

    /// Discount factor.
    pub fn gamma(&self) -> f64 {
        match self {
            LoadedEnv::Finite(w) => w.gamma(),
            LoadedEnv::Continuous(t) => t.gamma,
        }
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        match self {
            LoadedEnv::Finite(w) => w.model().n_actions(),
            LoadedEnv::Continuous(t) => t.n_actions,
        }
    }

    /// The raw observation.
    pub fn obs_spec(&self) -> ObsSpec {
        match self {
            LoadedEnv::Finite(w) => w.obs_spec(),
            LoadedEnv::Continuous(t) => t.spec.clone(),
        }
    }

    /// The finite world, if this is one.
    pub fn finite(&self) -> Option<&World> {
        match self {
            LoadedEnv::Finite(w) => Some(w),
            LoadedEnv::Continuous(_) => None,
        }
    }

    /// Episode step limit.
    pub fn max_steps(&self) -> Option<u64> {
        match self {
            LoadedEnv::Finite(w) => w.max_steps(),
            LoadedEnv::Continuous(t) => t.max_steps,
        }
    }

    /// A fresh environment stepped through observations.
    pub fn make_obs_env(&self) -> Box<dyn ObsEnv + Send> {
        match self {
            LoadedEnv::Finite(w) => Box::new(w.make_obs_env()),
            LoadedEnv::Continuous(t) => t.make_env(),
        }
    }
}
