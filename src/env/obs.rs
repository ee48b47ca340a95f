//! Observations: what an approximating agent sees of a state.
//!
//! Every environment, finite or continuous, can be stepped through [`ObsEnv`]:
//! `reset` and `step` write the *raw observation* (a short vector of named,
//! bounded numbers described by an [`ObsSpec`]) into a caller-owned buffer, so
//! stepping allocates nothing.
//!
//! | world | raw observation |
//! |---|---|
//! | gridworld | `state` (index), `row`, `col` |
//! | finite MDP | `state` (index) |
//! | Mountain Car | `position`, `velocity` (rounded to f32, as Gymnasium returns them) |
//!
//! Feature columns ([`crate::env::features`]) name these components.
//! [`ObsEncoder`] turns a raw observation into what an agent or an exporter
//! wants: the state index, coordinates (raw or normalised), the one-hot C×H×W
//! grid image, or a dense feature vector ([`ObsMode`]).
//!
//! ```
//! use rlkit::env::{obs::ObsEnv, World};
//! let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
//! let mut env = world.make_obs_env();
//! let mut x = vec![0.0; env.obs_spec().dim()];
//! env.reset(Some(0), &mut x);
//! assert_eq!(x, vec![0.0, 0.0, 0.0]); // state 0 at (row 0, col 0)
//! let st = env.step(1, &mut x); // right
//! assert_eq!(x, vec![1.0, 0.0, 1.0]);
//! assert!(!st.terminated);
//! ```

use std::sync::Arc;

use super::{Env, TabularEnv, World};

/// The names and bounds of an environment's raw observation.
#[derive(Debug, Clone, PartialEq)]
pub struct ObsSpec {
    /// Component names (`state`, `row`, `col`, `position`, ...).
    pub names: Vec<String>,
    /// Lower bounds.
    pub low: Vec<f64>,
    /// Upper bounds (inclusive).
    pub high: Vec<f64>,
    /// Whether a component takes only integer values.
    pub integer: Vec<bool>,
    /// The number of states of a finite world (`None` for a continuous one).
    pub n_states: Option<usize>,
}

impl ObsSpec {
    /// Number of components.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// Index of the component named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// One line listing the components, for error messages.
    pub fn describe(&self) -> String {
        self.names
            .iter()
            .zip(self.low.iter().zip(&self.high))
            .map(|(n, (l, h))| format!("`{n}` in [{l}, {h}]"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The end flags and reward of one step of an [`ObsEnv`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObsStep {
    /// The reward.
    pub reward: f64,
    /// The episode ended in a terminal state: do not bootstrap.
    pub terminated: bool,
    /// The episode was cut by a time limit: bootstrap through it.
    pub truncated: bool,
}

/// The step API of an environment seen through its raw observation
/// (Gymnasium's `reset`/`step`, writing into a buffer of `obs_spec().dim()`).
pub trait ObsEnv {
    /// What the observation holds.
    fn obs_spec(&self) -> &ObsSpec;
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Discount factor.
    fn gamma(&self) -> f64;
    /// Start an episode; `Some(seed)` reseeds the environment's stream.
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f64]);
    /// Take an action. Panics if `action >= n_actions()` (a programming error).
    fn step(&mut self, action: usize, obs: &mut [f64]) -> ObsStep;
    /// Start the next episode in finite state `s` (exploring / uniform starts).
    /// Returns `false` (and does nothing) for a continuous environment.
    fn reset_to_state(&mut self, _s: usize, _obs: &mut [f64]) -> bool {
        false
    }
}

/// A finite world stepped through its observation: a [`TabularEnv`] plus the
/// world's encoding of state `s` as `[s, row, col]` (grid) or `[s]` (MDP).
///
/// It draws exactly the random numbers the [`TabularEnv`] draws, so an agent
/// stepping it sees the same episodes as a tabular agent with the same seed.
#[derive(Debug, Clone)]
pub struct WorldObsEnv {
    env: TabularEnv,
    spec: Arc<ObsSpec>,
    /// (row, col) per state, for grids.
    coords: Option<Arc<Vec<(usize, usize)>>>,
}

impl WorldObsEnv {
    /// The observation of state `s`.
    #[inline]
    fn write(&self, s: usize, obs: &mut [f64]) {
        obs[0] = s as f64;
        if let Some(c) = &self.coords {
            let (r, col) = c[s];
            obs[1] = r as f64;
            obs[2] = col as f64;
        }
    }

    /// The current state index.
    pub fn state(&self) -> usize {
        self.env.state()
    }
}

impl ObsEnv for WorldObsEnv {
    fn obs_spec(&self) -> &ObsSpec {
        &self.spec
    }
    fn n_actions(&self) -> usize {
        self.env.n_actions()
    }
    fn gamma(&self) -> f64 {
        self.env.gamma()
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f64]) {
        let s = self.env.reset(seed);
        self.write(s, obs);
    }
    #[inline]
    fn step(&mut self, action: usize, obs: &mut [f64]) -> ObsStep {
        let st = self.env.step(action);
        self.write(st.state, obs);
        ObsStep { reward: st.reward, terminated: st.terminated, truncated: st.truncated }
    }
    fn reset_to_state(&mut self, s: usize, obs: &mut [f64]) -> bool {
        self.env.set_state(s);
        self.write(s, obs);
        true
    }
}

impl World {
    /// The raw observation of this world: `state`, `row`, `col` on a grid;
    /// `state` in an MDP.
    pub fn obs_spec(&self) -> ObsSpec {
        let n = self.model().n_states();
        let top = n.saturating_sub(1) as f64;
        match self.grid() {
            Some(g) => ObsSpec {
                names: vec!["state".into(), "row".into(), "col".into()],
                low: vec![0.0; 3],
                high: vec![top, g.height.saturating_sub(1) as f64, g.width.saturating_sub(1) as f64],
                integer: vec![true; 3],
                n_states: Some(n),
            },
            None => ObsSpec {
                names: vec!["state".into()],
                low: vec![0.0],
                high: vec![top],
                integer: vec![true],
                n_states: Some(n),
            },
        }
    }

    /// Write the raw observation of state `s` into `obs` (length `obs_spec().dim()`).
    pub fn observe_state(&self, s: usize, obs: &mut [f64]) {
        obs[0] = s as f64;
        if let Some((r, c)) = self.coords(s) {
            obs[1] = r as f64;
            obs[2] = c as f64;
        }
    }

    /// A fresh environment stepped through observations (call `reset` first).
    pub fn make_obs_env(&self) -> WorldObsEnv {
        let coords = self.grid().map(|g| Arc::new((0..self.model().n_states()).map(|s| g.coords(s)).collect()));
        WorldObsEnv { env: self.make_env(), spec: Arc::new(self.obs_spec()), coords }
    }
}

/// A continuous-state task: what the runner needs to make fresh copies of it.
///
/// ```
/// use rlkit::env::{load_env, LoadedEnv};
/// let env = load_env("envs/mountain_car.toml".as_ref()).unwrap();
/// let LoadedEnv::Continuous(task) = env else { panic!("continuous") };
/// assert_eq!(task.spec.names, vec!["position", "velocity"]);
/// assert_eq!(task.n_actions, 3);
/// ```
#[derive(Clone)]
pub struct ContinuousTask {
    /// Its name.
    pub name: String,
    /// The raw observation.
    pub spec: ObsSpec,
    /// Number of actions.
    pub n_actions: usize,
    /// Action names, in index order.
    pub action_names: Vec<String>,
    /// Discount factor.
    pub gamma: f64,
    /// Episode step limit (truncation), if any.
    pub max_steps: Option<u64>,
    /// The task's settings as written (for `config.resolved.toml`).
    pub resolved: toml::Table,
    make: Arc<dyn Fn() -> Box<dyn ObsEnv + Send> + Send + Sync>,
}

impl std::fmt::Debug for ContinuousTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContinuousTask")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .field("n_actions", &self.n_actions)
            .field("gamma", &self.gamma)
            .field("max_steps", &self.max_steps)
            .finish()
    }
}

impl ContinuousTask {
    /// A task whose fresh copies come from `make`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        spec: ObsSpec,
        action_names: Vec<String>,
        gamma: f64,
        max_steps: Option<u64>,
        resolved: toml::Table,
        make: impl Fn() -> Box<dyn ObsEnv + Send> + Send + Sync + 'static,
    ) -> ContinuousTask {
        ContinuousTask {
            name,
            spec,
            n_actions: action_names.len(),
            action_names,
            gamma,
            max_steps,
            resolved,
            make: Arc::new(make),
        }
    }

    /// A fresh copy (call `reset` before stepping).
    pub fn make_env(&self) -> Box<dyn ObsEnv + Send> {
        (self.make)()
    }
}

/// How an agent (or an exporter, or Python) sees a state: the encodings every world offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObsMode {
    /// The raw observation as the env gives it (`[state, row, col]`, `[position, velocity]`, ...).
    Raw,
    /// The state index of a finite world, shape `[1]`.
    Index,
    /// `(row, col)` of a grid, shape `[2]`.
    Coords,
    /// `(row, col)` scaled to [0, 1] by the grid's size (`row / (H − 1)`), shape `[2]`.
    CoordsNormalized,
    /// The one-hot image of a grid, shape `[4, H, W]`: channel 0 the agent, 1 target/goal,
    /// 2 forbidden/hole/cliff, 3 walls (the same as [`crate::env::Grid::one_hot`]).
    OneHot,
    /// A feature vector built from feature columns, dense (sparse indices expanded), shape `[dim]`.
    Features,
}

/// Encodes raw observations in one [`ObsMode`], into a caller-owned buffer.
///
/// ```
/// use rlkit::env::{obs::{ObsEncoder, ObsMode}, LoadedEnv, World};
/// let env = LoadedEnv::Finite(World::load("envs/zhao_5x5.toml".as_ref()).unwrap());
/// let mut enc = ObsEncoder::new(&env, ObsMode::OneHot, &[]).unwrap();
/// assert_eq!(enc.shape(), &[4, 5, 5]);
/// let mut img = vec![0.0; enc.len()];
/// enc.encode(&[7.0, 1.0, 2.0], &mut img); // state 7 = (row 1, col 2)
/// assert_eq!(img[1 * 5 + 2], 1.0);        // the agent's channel
/// ```
#[derive(Debug, Clone)]
pub struct ObsEncoder {
    mode: ObsMode,
    shape: Vec<usize>,
    /// Static image channels (one-hot mode), and the grid size.
    base: Vec<f64>,
    hw: (usize, usize),
    features: Option<super::features::FeatureSet>,
    scratch: super::features::Features,
}

impl ObsEncoder {
    /// An encoder for `env` in `mode`; `columns` are the feature columns of [`ObsMode::Features`].
    /// Modes a world does not have (an image of a continuous task, say) are input errors.
    pub fn new(
        env: &super::LoadedEnv,
        mode: ObsMode,
        columns: &[super::features::ColumnSpec],
    ) -> crate::Result<ObsEncoder> {
        use crate::Error;
        let spec = env.obs_spec();
        let grid = env.finite().and_then(|w| w.grid());
        let need_grid = |what: &str| {
            grid.ok_or_else(|| {
                Error::input(format!("observation `{what}` needs a gridworld; `{}` is not one", env.name()))
            })
        };
        let mut enc =
            ObsEncoder { mode, shape: vec![], base: vec![], hw: (0, 0), features: None, scratch: Default::default() };
        match mode {
            ObsMode::Raw => enc.shape = vec![spec.dim()],
            ObsMode::Index => {
                if spec.n_states.is_none() {
                    return Err(Error::input(format!(
                        "observation `index` needs a finite world; `{}` is continuous",
                        env.name()
                    )));
                }
                enc.shape = vec![1];
            }
            ObsMode::Coords | ObsMode::CoordsNormalized => {
                let g = need_grid("coords")?;
                enc.hw = (g.height, g.width);
                enc.shape = vec![2];
            }
            ObsMode::OneHot => {
                let g = need_grid("one_hot")?;
                let (h, w) = (g.height, g.width);
                let cells = h.checked_mul(w).and_then(|c| c.checked_mul(4)).unwrap_or(usize::MAX);
                if cells > super::features::MAX_FEATURE_ENTRIES {
                    return Err(Error::input(format!(
                        "observation `one_hot` of a {h}x{w} grid has {cells} entries, more than the limit of 2^26"
                    )));
                }
                let img = g.one_hot(0);
                enc.base = img.iter().map(|&x| x as f64).collect();
                // Clear the agent channel: it is set per observation.
                enc.base[..h * w].iter_mut().for_each(|x| *x = 0.0);
                enc.hw = (h, w);
                enc.shape = vec![4, h, w];
            }
            ObsMode::Features => {
                let fs = super::features::FeatureSet::build(columns, &spec).map_err(|e| {
                    let key = e.key.map(|k| format!(".{k}")).unwrap_or_default();
                    Error::input(format!("features[{}]{key}: {}", e.column, e.message))
                })?;
                enc.shape = vec![fs.dim()];
                enc.features = Some(fs);
            }
        }
        Ok(enc)
    }

    /// The mode.
    pub fn mode(&self) -> ObsMode {
        self.mode
    }

    /// The encoded shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of values per observation (the product of the shape).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether an observation has no values (never: every mode has at least one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Encode the raw observation `raw` into `out` (length [`ObsEncoder::len`]).
    pub fn encode(&mut self, raw: &[f64], out: &mut [f64]) {
        match self.mode {
            ObsMode::Raw => out.copy_from_slice(raw),
            ObsMode::Index => out[0] = raw[0],
            ObsMode::Coords => out.copy_from_slice(&raw[1..3]),
            ObsMode::CoordsNormalized => {
                let (h, w) = self.hw;
                out[0] = if h > 1 { raw[1] / (h - 1) as f64 } else { 0.0 };
                out[1] = if w > 1 { raw[2] / (w - 1) as f64 } else { 0.0 };
            }
            ObsMode::OneHot => {
                out.copy_from_slice(&self.base);
                let (_, w) = self.hw;
                out[raw[1] as usize * w + raw[2] as usize] = 1.0;
            }
            ObsMode::Features => {
                let Some(fs) = self.features.as_mut() else { return };
                fs.encode(raw, &mut self.scratch);
                let d = self.scratch.dense.len();
                out.iter_mut().for_each(|x| *x = 0.0);
                out[..d].copy_from_slice(&self.scratch.dense);
                for &i in &self.scratch.active {
                    out[d + i as usize] = 1.0;
                }
            }
        }
    }
}
