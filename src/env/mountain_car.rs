//! Mountain Car (Sutton & Barto Example 10.1; Gymnasium `MountainCar-v0`):
//! rlkit's first continuous-state environment.
//!
//! The dynamics are Gymnasium's, in Gymnasium's order of operations, in f64:
//!
//! ```text
//! velocity += (action − 1)·0.001 + cos(3·position)·(−0.0025)
//! velocity  = clip(velocity, −0.07, 0.07)
//! position += velocity
//! position  = clip(position, −1.2, 0.6)
//! if position == −1.2 and velocity < 0: velocity = 0
//! terminated = position ≥ 0.5 and velocity ≥ 0        reward −1 every step
//! ```
//!
//! Episodes start at a position drawn uniformly from [−0.6, −0.4) with
//! velocity 0. The observation `[position, velocity]` is rounded to f32, as
//! Gymnasium returns it; the state itself stays in f64.
//!
//! ```toml
//! kind = "mountain_car"
//! gamma = 1.0
//! max_steps = 200      # Gymnasium's TimeLimit
//! time_limit = true    # false: no step limit (Sutton & Barto Fig. 10.2)
//! ```
//!
//! ```
//! use rlkit::env::{mountain_car::MountainCar, ObsEnv};
//! let mut env = MountainCar::new(1.0, None);
//! let mut x = [0.0; 2];
//! env.reset_to(-0.5, 0.0, &mut x);
//! let st = env.step(2, &mut x); // push right
//! assert!(x[1] > 0.0 && !st.terminated && st.reward == -1.0);
//! ```

use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::obs::{ContinuousTask, ObsEnv, ObsSpec, ObsStep};
use crate::{Error, Result};

/// Lowest position.
pub const MIN_POSITION: f64 = -1.2;
/// Highest position.
pub const MAX_POSITION: f64 = 0.6;
/// Speed limit.
pub const MAX_SPEED: f64 = 0.07;
/// The goal: position ≥ this (with velocity ≥ [`GOAL_VELOCITY`]) terminates.
pub const GOAL_POSITION: f64 = 0.5;
/// Velocity needed at the goal.
pub const GOAL_VELOCITY: f64 = 0.0;
/// Acceleration per unit of action.
pub const FORCE: f64 = 0.001;
/// Gravity.
pub const GRAVITY: f64 = 0.0025;

/// The env file of Mountain Car (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountainCarSpec {
    /// Always `"mountain_car"`.
    pub kind: String,
    /// Short name.
    #[serde(default)]
    pub name: String,
    /// One line of description.
    #[serde(default)]
    pub description: String,
    /// Discount factor (default 1).
    #[serde(default = "one")]
    pub gamma: f64,
    /// Step limit when `time_limit` is on (default 200, Gymnasium's).
    #[serde(default = "default_max_steps")]
    pub max_steps: u64,
    /// Whether episodes are truncated at `max_steps` (default true).
    #[serde(default = "yes")]
    pub time_limit: bool,
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_max_steps() -> u64 {
    200
}

impl MountainCarSpec {
    /// Validate and make the task.
    pub fn task(&self, fallback_name: &str) -> Result<ContinuousTask> {
        if !(0.0..=1.0).contains(&self.gamma) {
            return Err(Error::input(format!("gamma = {} is outside [0, 1]", self.gamma)));
        }
        if self.time_limit && self.max_steps == 0 {
            return Err(Error::input("max_steps must be >= 1 (or time_limit = false for no limit)"));
        }
        let name = if self.name.is_empty() { fallback_name.to_string() } else { self.name.clone() };
        let max_steps = self.time_limit.then_some(self.max_steps);
        let gamma = self.gamma;
        let resolved = match toml::Value::try_from(self) {
            Ok(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        };
        Ok(ContinuousTask::new(
            name,
            MountainCar::spec(),
            vec!["left".into(), "none".into(), "right".into()],
            gamma,
            max_steps,
            resolved,
            move || Box::new(MountainCar::new(gamma, max_steps)) as Box<dyn ObsEnv + Send>,
        ))
    }
}

/// The Mountain Car environment.
#[derive(Debug, Clone)]
pub struct MountainCar {
    position: f64,
    velocity: f64,
    gamma: f64,
    max_steps: Option<u64>,
    t: u64,
    spec: ObsSpec,
    rng: rand_chacha::ChaCha8Rng,
}

impl MountainCar {
    /// A fresh environment (call `reset` before stepping).
    pub fn new(gamma: f64, max_steps: Option<u64>) -> MountainCar {
        MountainCar {
            position: -0.5,
            velocity: 0.0,
            gamma,
            max_steps,
            t: 0,
            spec: MountainCar::spec(),
            rng: crate::util::rng_for(0, &[]),
        }
    }

    /// The observation: `position` in [−1.2, 0.6], `velocity` in [−0.07, 0.07].
    pub fn spec() -> ObsSpec {
        ObsSpec {
            names: vec!["position".into(), "velocity".into()],
            low: vec![MIN_POSITION, -MAX_SPEED],
            high: vec![MAX_POSITION, MAX_SPEED],
            integer: vec![false, false],
            n_states: None,
        }
    }

    /// The exact state (f64).
    pub fn state(&self) -> (f64, f64) {
        (self.position, self.velocity)
    }

    /// Start an episode in a given state (e.g. one recorded from Gymnasium).
    pub fn reset_to(&mut self, position: f64, velocity: f64, obs: &mut [f64]) {
        self.position = position;
        self.velocity = velocity;
        self.t = 0;
        self.write(obs);
    }

    #[inline]
    fn write(&self, obs: &mut [f64]) {
        obs[0] = self.position as f32 as f64;
        obs[1] = self.velocity as f32 as f64;
    }
}

impl ObsEnv for MountainCar {
    fn obs_spec(&self) -> &ObsSpec {
        &self.spec
    }
    fn n_actions(&self) -> usize {
        3
    }
    fn gamma(&self) -> f64 {
        self.gamma
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f64]) {
        if let Some(seed) = seed {
            self.rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        }
        let p = self.rng.random_range(-0.6..-0.4);
        self.reset_to(p, 0.0, obs);
    }
    #[inline]
    fn step(&mut self, action: usize, obs: &mut [f64]) -> ObsStep {
        assert!(action < 3, "action {action} out of range");
        let mut velocity = self.velocity;
        let mut position = self.position;
        velocity += (action as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        self.position = position;
        self.velocity = velocity;
        self.t += 1;
        self.write(obs);
        let truncated = !terminated && self.max_steps.is_some_and(|m| self.t >= m);
        ObsStep { reward: -1.0, terminated, truncated }
    }
}
