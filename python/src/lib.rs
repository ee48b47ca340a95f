//! `rlkit._rlkit`: the Rust half of the `rlkit` Python package.
//!
//! - [`Batch`] steps `n` copies of one rlkit environment in one call, writing observations,
//!   rewards and end flags into caller-owned numpy arrays (no allocation per step). The
//!   Gymnasium env (`rlkit.RlkitEnv`) is a batch of one; the vector env
//!   (`rlkit.vector.RlkitVectorEnv`) is a batch of `num_envs`.
//! - [`run_experiment`] and [`solve`] run rlkit's experiments and DP solvers.
//!
//! Every error user input can cause is an [`rlkit::Error::Input`], raised as
//! `rlkit.ConfigError` (a `ValueError`) carrying rlkit's one-line message; a bad action is a
//! `ValueError`; a panic (a bug) is caught at the boundary and raised as a `RuntimeError`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use numpy::{PyArray1, PyReadonlyArray1, PyReadwriteArray1, PyReadwriteArrayDyn};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlkit::agents::dp;
use rlkit::config::Doc;
use rlkit::env::features::ColumnSpec;
use rlkit::env::obs::{ObsEncoder, ObsMode};
use rlkit::env::{LoadedEnv, ObsEnv, TabularModel};

include!(concat!(env!("OUT_DIR"), "/shipped_envs.rs"));

pyo3::create_exception!(
    rlkit,
    ConfigError,
    PyValueError,
    "Bad rlkit input (an env or experiment file, an override, an option): rlkit's one-line message, with file:line:col."
);

/// rlkit's error as a Python exception.
fn py_err(e: rlkit::Error) -> PyErr {
    match e {
        rlkit::Error::Input(m) => ConfigError::new_err(m),
        rlkit::Error::Internal(m) => PyRuntimeError::new_err(m),
    }
}

/// Run `f`, turning a panic (a bug: user input never panics) into a `RuntimeError`.
fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!("rlkit internal error (please report): {msg}")))
        }
    }
}

/// The shipped env files, `(stem, TOML text)`, embedded from `envs/*.toml` at build time.
#[pyfunction]
fn shipped_envs() -> Vec<(String, String)> {
    SHIPPED_ENVS.iter().map(|(s, t)| (s.to_string(), t.to_string())).collect()
}

/// Parse an env document: `text` as the file `file` (a shipped env), or the file `file`;
/// then apply `sets` (`KEY`, `VALUE` as `--set` reads it).
fn load_doc(file: &str, text: Option<&str>, sets: &[(String, String)]) -> rlkit::Result<Doc> {
    let mut doc = match text {
        Some(t) => Doc::from_str(file, t)?,
        None => Doc::load(Path::new(file))?,
    };
    for (k, v) in sets {
        doc.set(k, v)?;
    }
    Ok(doc)
}

/// Load an env; returns it and its own episode step limit. A Mountain Car's built-in time
/// limit is switched off (the limit is applied by the caller, as Gymnasium's `TimeLimit` does).
fn load(file: &str, text: Option<&str>, sets: &[(String, String)]) -> rlkit::Result<(LoadedEnv, Option<u64>)> {
    let mut doc = load_doc(file, text, sets)?;
    let env = LoadedEnv::from_doc(&doc, &[])?;
    let limit = env.max_steps();
    let is_mountain_car = matches!(doc.table.get("kind"), Some(toml::Value::String(k)) if k == "mountain_car");
    if is_mountain_car && limit.is_some() {
        doc.set_value(&[], "time_limit", toml::Value::Boolean(false), "rlkit python (TimeLimit)")?;
        return Ok((LoadedEnv::from_doc(&doc, &[])?, limit));
    }
    Ok((env, limit))
}

fn parse_mode(obs: &str) -> rlkit::Result<ObsMode> {
    Ok(match obs {
        "index" => ObsMode::Index,
        "coords" => ObsMode::Coords,
        "coords_normalized" => ObsMode::CoordsNormalized,
        "one_hot" => ObsMode::OneHot,
        "features" => ObsMode::Features,
        "raw" => ObsMode::Raw,
        other => {
            return Err(rlkit::Error::input(format!(
                "obs = {other:?}: unknown observation mode; valid: \"index\", \"coords\", \"coords_normalized\", \"one_hot\", \"features\", \"raw\""
            )))
        }
    })
}

/// The element type of the encoded observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    I64,
    I8,
    F32,
}

impl Dtype {
    fn name(self) -> &'static str {
        match self {
            Dtype::I64 => "int64",
            Dtype::I8 => "int8",
            Dtype::F32 => "float32",
        }
    }
}

/// Stepping state of `n` copies of a finite world, sampled from its model.
struct FiniteCopies {
    model: Arc<TabularModel>,
    starts: Vec<usize>,
    /// (row, col) per state, for grids.
    coords: Option<Vec<(usize, usize)>>,
    rngs: Vec<ChaCha8Rng>,
    states: Vec<usize>,
}

impl FiniteCopies {
    /// Start copy `i` (uniform among the start states, drawn as `TabularEnv::reset` draws).
    fn reset(&mut self, i: usize) -> usize {
        let s = if self.starts.len() == 1 {
            self.starts[0]
        } else {
            self.starts[self.rngs[i].random_range(0..self.starts.len())]
        };
        self.states[i] = s;
        s
    }

    /// The raw observation of state `s`: `[s, row, col]` or `[s]`.
    #[inline]
    fn raw(&self, s: usize, out: &mut [f64]) {
        out[0] = s as f64;
        if let Some(c) = &self.coords {
            out[1] = c[s].0 as f64;
            out[2] = c[s].1 as f64;
        }
    }
}

/// The observation buffer handed in from Python, by element type.
enum ObsOut<'py> {
    I64(PyReadwriteArrayDyn<'py, i64>),
    I8(PyReadwriteArrayDyn<'py, i8>),
    F32(PyReadwriteArrayDyn<'py, f32>),
}

/// A mutable view of the observation buffer's elements.
enum ObsSlice<'a> {
    I64(&'a mut [i64]),
    I8(&'a mut [i8]),
    F32(&'a mut [f32]),
}

impl ObsOut<'_> {
    fn slice(&mut self) -> PyResult<ObsSlice<'_>> {
        let bad = |_| PyValueError::new_err("the observation buffer must be C-contiguous");
        Ok(match self {
            ObsOut::I64(a) => ObsSlice::I64(a.as_slice_mut().map_err(bad)?),
            ObsOut::I8(a) => ObsSlice::I8(a.as_slice_mut().map_err(bad)?),
            ObsOut::F32(a) => ObsSlice::F32(a.as_slice_mut().map_err(bad)?),
        })
    }
}

impl ObsSlice<'_> {
    fn len(&self) -> usize {
        match self {
            ObsSlice::I64(s) => s.len(),
            ObsSlice::I8(s) => s.len(),
            ObsSlice::F32(s) => s.len(),
        }
    }

    /// Write `vals` at offset `at`, converting to the element type.
    #[inline]
    fn put(&mut self, at: usize, vals: &[f64]) {
        match self {
            ObsSlice::I64(s) => s[at..at + vals.len()].iter_mut().zip(vals).for_each(|(o, v)| *o = *v as i64),
            ObsSlice::I8(s) => s[at..at + vals.len()].iter_mut().zip(vals).for_each(|(o, v)| *o = *v as i8),
            ObsSlice::F32(s) => s[at..at + vals.len()].iter_mut().zip(vals).for_each(|(o, v)| *o = *v as f32),
        }
    }

    /// Write one index.
    #[inline]
    fn put_index(&mut self, at: usize, s: usize) {
        match self {
            ObsSlice::I64(o) => o[at] = s as i64,
            ObsSlice::I8(o) => o[at] = s as i8,
            ObsSlice::F32(o) => o[at] = s as f32,
        }
    }
}

/// `n` copies of one rlkit environment, stepped together.
///
/// `reset` and `step` write into numpy arrays owned by the caller: observations of shape
/// `(n, *obs_shape)` and dtype `obs_dtype`, rewards `float64[n]`, terminated and truncated
/// `bool[n]`, states `int64[n]` (the state index, −1 for a continuous env) and probs
/// `float64[n]` (the probability of the sampled outcome, as Gymnasium's toy-text `info["prob"]`).
///
/// With `autoreset`, a copy whose episode ended on the previous step is reset by the next
/// `step` instead of stepped (Gymnasium 1.x `AutoresetMode.NEXT_STEP`): its action is
/// ignored, its observation is the first of the new episode, reward 0, both flags false.
#[pyclass(module = "rlkit._rlkit")]
struct Batch {
    env: LoadedEnv,
    n: usize,
    n_actions: usize,
    mode: ObsMode,
    encoder: ObsEncoder,
    obs_len: usize,
    dtype: Dtype,
    raw_dim: usize,
    finite: Option<FiniteCopies>,
    continuous: Option<Mutex<Vec<Box<dyn ObsEnv + Send>>>>,
    /// Continuous copies: seeds to apply at their next reset.
    pending_seeds: Vec<Option<u64>>,
    /// Continuous copies: the raw observation of each.
    raw: Vec<f64>,
    t: Vec<u64>,
    needs_reset: Vec<bool>,
    /// Episodes are truncated after this many steps (`None`: never).
    #[pyo3(get, set)]
    limit: Option<u64>,
    /// NEXT_STEP autoreset on (see the type's docs).
    #[pyo3(get, set)]
    autoreset: bool,
    /// The env file's own step limit (`max_steps`).
    #[pyo3(get)]
    default_limit: Option<u64>,
    scratch_raw: Vec<f64>,
    scratch_enc: Vec<f64>,
}

impl Batch {
    fn build(
        file: &str,
        text: Option<&str>,
        sets: Vec<(String, String)>,
        obs: &str,
        features_json: Option<&str>,
        n: usize,
    ) -> rlkit::Result<Batch> {
        if n == 0 {
            return Err(rlkit::Error::input("num_envs must be >= 1"));
        }
        let (env, default_limit) = load(file, text, &sets)?;
        let mode = match (obs, &env) {
            ("auto", LoadedEnv::Finite(_)) => ObsMode::Index,
            ("auto", LoadedEnv::Continuous(_)) => ObsMode::Raw,
            _ => parse_mode(obs)?,
        };
        let columns: Vec<ColumnSpec> = match (mode, features_json) {
            (ObsMode::Features, None) => vec![serde_json::from_str(r#"{"kind": "one_hot_state"}"#)
                .map_err(|e| rlkit::Error::internal(e.to_string()))?],
            (ObsMode::Features, Some(j)) => {
                let mut de = serde_json::Deserializer::from_str(j);
                serde_path_to_error::deserialize(&mut de).map_err(|e| {
                    let path = e.path().to_string();
                    let at = if path == "." { String::new() } else { path };
                    let msg = e.into_inner().to_string();
                    let msg = msg.split(" at line ").next().unwrap_or_default().to_string();
                    rlkit::Error::input(format!(
                        "features{at}: {msg} (feature columns are dicts, as in docs/features.md)"
                    ))
                })?
            }
            (_, Some(_)) => return Err(rlkit::Error::input("features are only used with obs=\"features\"")),
            (_, None) => vec![],
        };
        let encoder = ObsEncoder::new(&env, mode, &columns)?;
        let obs_len = encoder.len();
        let spec = env.obs_spec();
        let dtype = match mode {
            ObsMode::Index | ObsMode::Coords => Dtype::I64,
            ObsMode::OneHot => Dtype::I8,
            ObsMode::Raw if spec.integer.iter().all(|&b| b) => Dtype::I64,
            _ => Dtype::F32,
        };
        let raw_dim = spec.dim();
        let (finite, continuous) = match &env {
            LoadedEnv::Finite(w) => {
                let coords = w.grid().map(|g| (0..w.model().n_states()).map(|s| g.coords(s)).collect());
                let f = FiniteCopies {
                    model: w.model_arc(),
                    starts: w.starts().to_vec(),
                    coords,
                    rngs: (0..n).map(|i| rlkit::util::rng_for(0, &[i as u64])).collect(),
                    states: vec![w.starts()[0]; n],
                };
                (Some(f), None)
            }
            LoadedEnv::Continuous(t) => (None, Some(Mutex::new((0..n).map(|_| t.make_env()).collect()))),
        };
        Ok(Batch {
            n_actions: env.n_actions(),
            env,
            n,
            mode,
            encoder,
            obs_len,
            dtype,
            raw_dim,
            finite,
            continuous,
            pending_seeds: vec![None; n],
            raw: vec![0.0; n * raw_dim],
            t: vec![0; n],
            needs_reset: vec![false; n],
            limit: None,
            autoreset: false,
            default_limit,
            scratch_raw: vec![0.0; raw_dim],
            scratch_enc: vec![0.0; obs_len],
        })
    }

    fn obs_out<'py>(&self, obs: &Bound<'py, PyAny>) -> PyResult<ObsOut<'py>> {
        let wrong = || {
            PyValueError::new_err(format!(
                "the observation buffer must be a C-contiguous {} array of {} elements",
                self.dtype.name(),
                self.n * self.obs_len
            ))
        };
        let out = match self.dtype {
            Dtype::I64 => ObsOut::I64(obs.extract().map_err(|_| wrong())?),
            Dtype::I8 => ObsOut::I8(obs.extract().map_err(|_| wrong())?),
            Dtype::F32 => ObsOut::F32(obs.extract().map_err(|_| wrong())?),
        };
        Ok(out)
    }

    /// Write the observation of copy `i` (its current state) into `out`.
    #[inline]
    fn write_obs(&mut self, i: usize, out: &mut ObsSlice<'_>) {
        let at = i * self.obs_len;
        if let Some(f) = &self.finite {
            let s = f.states[i];
            if self.mode == ObsMode::Index {
                out.put_index(at, s);
                return;
            }
            f.raw(s, &mut self.scratch_raw);
            self.encoder.encode(&self.scratch_raw, &mut self.scratch_enc);
        } else {
            let raw = &self.raw[i * self.raw_dim..(i + 1) * self.raw_dim];
            self.encoder.encode(raw, &mut self.scratch_enc);
        }
        out.put(at, &self.scratch_enc);
    }

    /// Reset copy `i` (its state or raw observation; not the output buffers).
    fn reset_copy(
        &mut self,
        i: usize,
        envs: &mut Option<std::sync::MutexGuard<'_, Vec<Box<dyn ObsEnv + Send>>>>,
    ) -> i64 {
        self.t[i] = 0;
        self.needs_reset[i] = false;
        if let Some(f) = self.finite.as_mut() {
            return f.reset(i) as i64;
        }
        if let Some(envs) = envs.as_mut() {
            let seed = self.pending_seeds[i].take();
            envs[i].reset(seed, &mut self.raw[i * self.raw_dim..(i + 1) * self.raw_dim]);
        }
        -1
    }

    fn check_len(&self, what: &str, len: usize, want: usize) -> PyResult<()> {
        if len != want {
            return Err(PyValueError::new_err(format!("{what} has {len} elements; expected {want}")));
        }
        Ok(())
    }
}

fn contiguous<T>(r: Result<T, numpy::AsSliceError>, what: &str) -> PyResult<T> {
    r.map_err(|_| PyValueError::new_err(format!("{what} must be a C-contiguous array")))
}

#[pymethods]
impl Batch {
    /// `n` copies of the env `file` (or of `text` parsed as the file `file`), with `sets`
    /// overrides, observed in mode `obs` (`features` is a JSON list of feature columns).
    #[new]
    #[pyo3(signature = (file, text=None, sets=vec![], obs="index", features=None, n=1))]
    fn new(
        file: &str,
        text: Option<&str>,
        sets: Vec<(String, String)>,
        obs: &str,
        features: Option<&str>,
        n: usize,
    ) -> PyResult<Batch> {
        guard(|| Batch::build(file, text, sets, obs, features, n).map_err(py_err))
    }

    /// Number of copies.
    #[getter]
    fn n(&self) -> usize {
        self.n
    }

    /// The env's name.
    #[getter]
    fn name(&self) -> String {
        self.env.name().to_string()
    }

    /// `"grid"`, `"mdp"` or `"continuous"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.env {
            LoadedEnv::Finite(w) if w.grid().is_some() => "grid",
            LoadedEnv::Finite(_) => "mdp",
            LoadedEnv::Continuous(_) => "continuous",
        }
    }

    /// Number of actions.
    #[getter]
    fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Action names, in index order.
    #[getter]
    fn action_names(&self) -> Vec<String> {
        match &self.env {
            LoadedEnv::Finite(w) => w.action_names(),
            LoadedEnv::Continuous(t) => t.action_names.clone(),
        }
    }

    /// Number of states of a finite world (`None` if continuous).
    #[getter]
    fn n_states(&self) -> Option<usize> {
        self.env.finite().map(|w| w.model().n_states())
    }

    /// Discount factor.
    #[getter]
    fn gamma(&self) -> f64 {
        self.env.gamma()
    }

    /// The observation mode (`index`, `coords`, `coords_normalized`, `one_hot`, `features`, `raw`).
    #[getter]
    fn obs_mode(&self) -> String {
        serde_json::to_value(self.mode).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    }

    /// The shape of one observation.
    #[getter]
    fn obs_shape(&self) -> Vec<usize> {
        self.encoder.shape().to_vec()
    }

    /// The observation's element type: `int64`, `int8` or `float32`.
    #[getter]
    fn obs_dtype(&self) -> &'static str {
        self.dtype.name()
    }

    /// Names of the raw observation's components.
    #[getter]
    fn raw_names(&self) -> Vec<String> {
        self.env.obs_spec().names
    }

    /// Element-wise (low, high) bounds of an observation, flattened: exact for a finite world
    /// (every state encoded), the observation's bounds or ±inf for a continuous one.
    fn obs_bounds(&mut self) -> PyResult<(Vec<f64>, Vec<f64>)> {
        guard(|| {
            let len = self.obs_len;
            let spec = self.env.obs_spec();
            let (mut lo, mut hi) = (vec![f64::INFINITY; len], vec![f64::NEG_INFINITY; len]);
            match (&self.finite, self.mode) {
                (Some(f), _) => {
                    for s in 0..f.model.n_states() {
                        f.raw(s, &mut self.scratch_raw);
                        self.encoder.encode(&self.scratch_raw, &mut self.scratch_enc);
                        for k in 0..len {
                            lo[k] = lo[k].min(self.scratch_enc[k]);
                            hi[k] = hi[k].max(self.scratch_enc[k]);
                        }
                    }
                }
                (None, ObsMode::Raw) => {
                    lo.copy_from_slice(&spec.low);
                    hi.copy_from_slice(&spec.high);
                }
                (None, _) => {
                    lo.iter_mut().for_each(|x| *x = f64::NEG_INFINITY);
                    hi.iter_mut().for_each(|x| *x = f64::INFINITY);
                }
            }
            Ok((lo, hi))
        })
    }

    /// Grid height and width (`None` if not a grid).
    #[getter]
    fn grid_shape(&self) -> Option<(usize, usize)> {
        self.env.finite().and_then(|w| w.grid()).map(|g| (g.height, g.width))
    }

    /// The map, one symbol per cell in row-major order (default legend symbols).
    #[getter]
    fn grid_symbols(&self) -> Option<String> {
        self.env.finite().and_then(|w| w.grid()).map(|g| (0..g.n_states()).map(|s| g.cell_symbol(s)).collect())
    }

    /// State labels of a finite world (`(r,c)` on a grid, names in an MDP).
    #[getter]
    fn state_labels(&self) -> Vec<String> {
        match self.env.finite() {
            Some(w) => (0..w.model().n_states()).map(|s| w.state_label(s)).collect(),
            None => vec![],
        }
    }

    /// Start states of a finite world.
    #[getter]
    fn starts(&self) -> Vec<usize> {
        self.env.finite().map(|w| w.starts().to_vec()).unwrap_or_default()
    }

    /// Whether each state is fixed (terminal or never occupied; finite worlds).
    #[getter]
    fn fixed(&self) -> Vec<bool> {
        self.env.finite().map(|w| w.model().fixed().to_vec()).unwrap_or_default()
    }

    /// The model in Gymnasium's format, `P[s][a] = [(prob, next_s, reward, terminated)]`
    /// (dicts, as Gymnasium's toy-text envs have it); `None` for a continuous env.
    #[allow(non_snake_case)]
    fn P<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(w) = self.env.finite() else { return Ok(None) };
        let m = w.model();
        let p = PyDict::new(py);
        for s in 0..m.n_states() {
            let row = PyDict::new(py);
            for a in 0..m.n_actions() {
                let list = PyList::empty(py);
                for t in m.transitions(s, a) {
                    list.append(PyTuple::new(
                        py,
                        [
                            t.prob.into_pyobject(py)?.into_any(),
                            t.next.into_pyobject(py)?.into_any(),
                            t.reward.into_pyobject(py)?.into_any(),
                            pyo3::types::PyBool::new(py, t.done).to_owned().into_any(),
                        ],
                    )?)?;
                }
                row.set_item(a, list)?;
            }
            p.set_item(s, row)?;
        }
        Ok(Some(p))
    }

    /// The raw observation of copy `i` (`[state, row, col]`, `[position, velocity]`, ...).
    fn raw_obs(&self, i: usize) -> PyResult<Vec<f64>> {
        if i >= self.n {
            return Err(PyValueError::new_err(format!("copy {i} out of range (n = {})", self.n)));
        }
        let mut out = vec![0.0; self.raw_dim];
        match &self.finite {
            Some(f) => f.raw(f.states[i], &mut out),
            None => out.copy_from_slice(&self.raw[i * self.raw_dim..(i + 1) * self.raw_dim]),
        }
        Ok(out)
    }

    /// Reseed copy `i`'s random stream (applied now for a finite world, at the next reset
    /// for a continuous one).
    fn seed(&mut self, i: usize, seed: u64) -> PyResult<()> {
        if i >= self.n {
            return Err(PyValueError::new_err(format!("copy {i} out of range (n = {})", self.n)));
        }
        match self.finite.as_mut() {
            Some(f) => f.rngs[i] = ChaCha8Rng::seed_from_u64(seed),
            None => self.pending_seeds[i] = Some(seed),
        }
        Ok(())
    }

    /// Reset every copy (or those where `mask` is true), writing their observations into
    /// `obs` and their states into `states`.
    #[pyo3(signature = (obs, states, mask=None))]
    fn reset(
        &mut self,
        obs: &Bound<'_, PyAny>,
        mut states: PyReadwriteArray1<'_, i64>,
        mask: Option<PyReadonlyArray1<'_, bool>>,
    ) -> PyResult<()> {
        guard(|| {
            let mut out = self.obs_out(obs)?;
            let mut out = out.slice()?;
            self.check_len("obs", out.len(), self.n * self.obs_len)?;
            let states = contiguous(states.as_slice_mut(), "states")?;
            self.check_len("states", states.len(), self.n)?;
            let mask = match &mask {
                Some(m) => Some(contiguous(m.as_slice(), "mask")?),
                None => None,
            };
            if let Some(m) = mask {
                self.check_len("reset_mask", m.len(), self.n)?;
            }
            let cont = self.continuous.take();
            let mut envs = cont.as_ref().map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            for i in 0..self.n {
                if mask.is_some_and(|m| !m[i]) {
                    continue;
                }
                states[i] = self.reset_copy(i, &mut envs);
                self.write_obs(i, &mut out);
            }
            drop(envs);
            self.continuous = cont;
            Ok(())
        })
    }

    /// Step every copy with `actions` (see the type's docs for autoreset).
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        actions: PyReadonlyArray1<'_, i64>,
        obs: &Bound<'_, PyAny>,
        mut rewards: PyReadwriteArray1<'_, f64>,
        mut terminated: PyReadwriteArray1<'_, bool>,
        mut truncated: PyReadwriteArray1<'_, bool>,
        mut states: PyReadwriteArray1<'_, i64>,
        mut probs: PyReadwriteArray1<'_, f64>,
    ) -> PyResult<()> {
        guard(|| {
            let n = self.n;
            let actions = contiguous(actions.as_slice(), "actions")?;
            self.check_len("actions", actions.len(), n)?;
            if let Some((i, a)) = actions.iter().enumerate().find(|(_, &a)| a < 0 || a as usize >= self.n_actions) {
                let at = if n > 1 { format!(" (env {i})") } else { String::new() };
                return Err(PyValueError::new_err(format!(
                    "action {a}{at} is outside the action space Discrete({}) of `{}`",
                    self.n_actions,
                    self.env.name()
                )));
            }
            let mut out = self.obs_out(obs)?;
            let mut out = out.slice()?;
            self.check_len("obs", out.len(), n * self.obs_len)?;
            let rewards = contiguous(rewards.as_slice_mut(), "rewards")?;
            let terminated = contiguous(terminated.as_slice_mut(), "terminated")?;
            let truncated = contiguous(truncated.as_slice_mut(), "truncated")?;
            let states = contiguous(states.as_slice_mut(), "states")?;
            let probs = contiguous(probs.as_slice_mut(), "probs")?;
            for (what, len) in [
                ("rewards", rewards.len()),
                ("terminated", terminated.len()),
                ("truncated", truncated.len()),
                ("states", states.len()),
                ("probs", probs.len()),
            ] {
                self.check_len(what, len, n)?;
            }
            let cont = self.continuous.take();
            let mut envs = cont.as_ref().map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            for i in 0..n {
                if self.autoreset && self.needs_reset[i] {
                    states[i] = self.reset_copy(i, &mut envs);
                    self.write_obs(i, &mut out);
                    rewards[i] = 0.0;
                    terminated[i] = false;
                    truncated[i] = false;
                    probs[i] = 1.0;
                    continue;
                }
                let a = actions[i] as usize;
                let (reward, term, inner_trunc) = if let Some(f) = self.finite.as_mut() {
                    let u: f64 = f.rngs[i].random();
                    let tr = f.model.sample(f.states[i], a, u);
                    f.states[i] = tr.next;
                    states[i] = tr.next as i64;
                    probs[i] = tr.prob;
                    (tr.reward, tr.done, false)
                } else {
                    let envs = envs.as_mut().expect("a continuous batch has its envs");
                    let st = envs[i].step(a, &mut self.raw[i * self.raw_dim..(i + 1) * self.raw_dim]);
                    states[i] = -1;
                    probs[i] = 1.0;
                    (st.reward, st.terminated, st.truncated)
                };
                self.t[i] += 1;
                let trunc = !term && (inner_trunc || self.limit.is_some_and(|m| self.t[i] >= m));
                self.write_obs(i, &mut out);
                rewards[i] = reward;
                terminated[i] = term;
                truncated[i] = trunc;
                self.needs_reset[i] = term || trunc;
            }
            drop(envs);
            self.continuous = cont;
            Ok(())
        })
    }
}

/// Run an experiment file; returns its output directory and the files written.
#[pyfunction]
#[pyo3(signature = (path, out=None, seeds=None, sets=vec![], force=false))]
fn run_experiment(
    path: &str,
    out: Option<PathBuf>,
    seeds: Option<usize>,
    sets: Vec<(String, String)>,
    force: bool,
) -> PyResult<(PathBuf, Vec<PathBuf>, Vec<String>)> {
    guard(|| {
        let opts = rlkit::experiment::LoadOptions { out, seeds, sets };
        let exp = rlkit::experiment::load(Path::new(path), &opts).map_err(py_err)?;
        let run_opts = rlkit::experiment::RunOptions { force, ..Default::default() };
        let report = rlkit::experiment::run(&exp, &run_opts).map_err(py_err)?;
        Ok((report.out_dir, report.files, report.warnings))
    })
}

/// Solve a finite env with a DP algorithm: returns (values, greedy actions or `None`,
/// converged, sweeps). `policy` is a row-major π(a|s) table for `policy-evaluation`
/// (uniform if `None`).
#[pyfunction]
#[pyo3(signature = (file, text=None, sets=vec![], algo="value-iteration", tol=1e-10, sweeps=5, policy=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn solve<'py>(
    py: Python<'py>,
    file: &str,
    text: Option<&str>,
    sets: Vec<(String, String)>,
    algo: &str,
    tol: f64,
    sweeps: usize,
    policy: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Option<Bound<'py, PyArray1<i64>>>, bool, usize)> {
    guard(|| {
        let doc = load_doc(file, text, &sets).map_err(py_err)?;
        let w = rlkit::env::World::from_doc(&doc, &[]).map_err(py_err)?;
        if tol.is_nan() || tol <= 0.0 {
            return Err(ConfigError::new_err(format!("tol = {tol}: must be > 0")));
        }
        let m = w.model();
        let (values, actions, converged, n_sweeps) = match algo {
            "policy-evaluation" => {
                let pol = match &policy {
                    None => dp::Policy::uniform(m.n_states(), m.n_actions()),
                    Some(p) => {
                        let p = contiguous(p.as_slice(), "policy")?;
                        if p.len() != m.n_states() * m.n_actions() {
                            return Err(ConfigError::new_err(format!(
                                "policy has {} entries; expected n_states x n_actions = {} x {}",
                                p.len(),
                                m.n_states(),
                                m.n_actions()
                            )));
                        }
                        for s in 0..m.n_states() {
                            let row = &p[s * m.n_actions()..(s + 1) * m.n_actions()];
                            let sum: f64 = row.iter().sum();
                            if row.iter().any(|x| x.is_nan() || *x < 0.0) || (sum - 1.0).abs() > 1e-9 {
                                return Err(ConfigError::new_err(format!(
                                    "policy row {s} ({}) must be probabilities summing to 1 (sum {sum})",
                                    w.state_label(s)
                                )));
                            }
                        }
                        dp::Policy::from_probs(m.n_actions(), p.to_vec())
                    }
                };
                dp::evaluation::check_proper(m, &pol, |s| w.state_label(s))
                    .map_err(|e| ConfigError::new_err(format!("{file}: {e}")))?;
                let cfg = dp::EvalConfig { method: dp::EvalMethod::Iterative, tol, ..Default::default() };
                let ev = dp::evaluate(m, &pol, &cfg, None).map_err(py_err)?;
                let acts =
                    pol.is_deterministic().then(|| (0..m.n_states()).map(|s| pol.greedy_action(s)).collect::<Vec<_>>());
                (ev.values, acts, true, ev.sweeps)
            }
            "value-iteration" | "policy-iteration" | "truncated-policy-iteration" => {
                if policy.is_some() {
                    return Err(ConfigError::new_err(format!("policy is only used with algo=\"policy-evaluation\", not {algo:?}")));
                }
                w.check_gamma(file).map_err(py_err)?;
                let sol = match algo {
                    "value-iteration" => dp::value_iteration(m, &dp::ViConfig { tol, ..Default::default() }, None),
                    "policy-iteration" => dp::policy_iteration(m, &dp::PiConfig { tol, ..Default::default() }, None),
                    _ => dp::truncated_policy_iteration(
                        m,
                        &dp::TpiConfig { sweeps: Some(sweeps.max(1)), tol, ..Default::default() },
                        None,
                    ),
                }
                .map_err(py_err)?;
                let n_sweeps = sol.sweeps();
                (sol.values, Some(sol.actions), sol.converged, n_sweeps)
            }
            other => {
                return Err(ConfigError::new_err(format!(
                    "algo = {other:?}: unknown; valid: \"value-iteration\", \"policy-iteration\", \"truncated-policy-iteration\", \"policy-evaluation\""
                )))
            }
        };
        let actions = actions.map(|a| PyArray1::from_vec(py, a.into_iter().map(|x| x as i64).collect()));
        Ok((PyArray1::from_vec(py, values), actions, converged, n_sweeps))
    })
}

/// The extension module.
#[pymodule]
fn _rlkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add_class::<Batch>()?;
    m.add_function(wrap_pyfunction!(shipped_envs, m)?)?;
    m.add_function(wrap_pyfunction!(run_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    Ok(())
}
