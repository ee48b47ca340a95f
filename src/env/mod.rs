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

pub mod gridworld;
pub mod mdp;
pub mod model;

use std::path::Path;
use std::sync::Arc;

pub use gridworld::{CellKind, Grid, GridSpec};
pub use mdp::{Mdp, MdpSpec};
pub use model::{ModelBuilder, TabularModel, Transition};

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
}

/// An environment that samples from a [`TabularModel`].
#[derive(Debug, Clone)]
pub struct TabularEnv {
    model: Arc<TabularModel>,
    starts: Arc<Vec<usize>>,
    max_steps: Option<u64>,
    rng: rand_chacha::ChaCha8Rng,
    state: usize,
    t: u64,
}

impl TabularEnv {
    /// An environment over `model` starting uniformly in `starts`.
    pub fn new(model: Arc<TabularModel>, starts: Arc<Vec<usize>>, max_steps: Option<u64>) -> Self {
        let state = starts.first().copied().unwrap_or(0);
        TabularEnv { model, starts, max_steps, rng: crate::util::rng_for(0, &[]), state, t: 0 }
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
        let u: f64 = self.rng.random();
        let tr = self.model.sample(self.state, action, u);
        self.state = tr.next;
        self.t += 1;
        let truncated = !tr.done && self.max_steps.is_some_and(|m| self.t >= m);
        Step { state: tr.next, reward: tr.reward, terminated: tr.done, truncated }
    }
    fn model(&self) -> Option<&TabularModel> {
        Some(&self.model)
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
    pub fn from_doc(doc: &Doc, prefix: &[Seg]) -> Result<World> {
        let table = match crate::config::get_path(&doc.table, prefix) {
            Some(toml::Value::Table(t)) => t.clone(),
            None if prefix.is_empty() => doc.table.clone(),
            _ => return Err(doc.error_at(prefix, "must be a table describing an environment")),
        };
        let kind = match table.get("kind") {
            None => "gridworld".to_string(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => {
                let mut p = prefix.to_vec();
                p.push(Seg::Key("kind".into()));
                return Err(doc.error_at(&p, "`kind` must be \"gridworld\" or \"mdp\""));
            }
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
            other => {
                let mut p = prefix.to_vec();
                p.push(Seg::Key("kind".into()));
                return Err(doc.error_at(&p, &format!("unknown env kind `{other}`; valid: \"gridworld\", \"mdp\"")));
            }
        };
        Ok(World::new(world_kind, fallback_name))
    }

    /// Wrap a built grid or MDP.
    pub fn new(kind: WorldKind, fallback_name: String) -> World {
        let (name, model, starts) = match &kind {
            WorldKind::Grid(g) => (g.spec.name.clone(), g.model.clone(), g.starts.clone()),
            WorldKind::Mdp(m) => (m.spec.name.clone(), m.model.clone(), m.starts.clone()),
        };
        let name = if name.is_empty() { fallback_name } else { name };
        World { name, kind, model: Arc::new(model), starts: Arc::new(starts) }
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
