//! # rlkit
//!
//! A reinforcement-learning experimentation toolkit: gridworld environments and
//! finite MDPs written in TOML, dynamic-programming, Monte Carlo, stochastic
//! approximation and TD agents, a small neural backbone with hand-written
//! kernels, tidy CSV/JSON outputs and PNG plots.
//!
//! The binary `rlkit` is a thin CLI over this library; see `ARCHITECTURE.md`.
//!
//! # Using rlkit as a library
//!
//! ```toml
//! [dependencies]
//! rlkit = { path = "../rlkit" }   # or: rlkit = { git = "<the repository's URL>" }
//! ```
//!
//! The crates that appear in rlkit's public API are re-exported, so a user's
//! `Cargo.toml` needs only the line above and versions always match:
//! [`toml`] (env-kind factories take a `toml::Table`), [`rand`] and
//! [`rand_chacha`] (agents draw from an `AgentRng` = `ChaCha8Rng`), [`serde`]
//! (agent parameters are deserialized; derive with
//! `#[serde(crate = "rlkit::serde")]`), [`serde_json`] (summaries),
//! [`ndarray`] (feature arrays) and [`plotters`] (drawing areas).
//!
//! ```
//! use rlkit::agents::agent::{Agent, AgentRng, Experience};
//! use rlkit::env::{Env, LoadedEnv, TabularModel, Transition, World};
//! use rlkit::rand::{RngExt, SeedableRng};
//!
//! // An env kind in Rust: its factory reads a `toml::Table`.
//! fn coin(params: &rlkit::toml::Table, name: &str) -> rlkit::Result<LoadedEnv> {
//!     let gamma = params.get("gamma").and_then(|v| v.as_float()).unwrap_or(0.9);
//!     let t = |r| vec![Transition { prob: 1.0, next: 0, reward: r, done: false }];
//!     let model = TabularModel::new(1, 2, gamma, vec![t(0.0), t(1.0)], vec![false])?;
//!     let w = World::from_model(name, model, vec![0], vec!["s".into()], vec!["a".into(), "b".into()], None)?;
//!     Ok(LoadedEnv::Finite(w))
//! }
//! rlkit::env::register_env_kind("coin", coin);
//! let doc = rlkit::config::Doc::from_str("coin.toml", "kind = \"coin\"\ngamma = 0.5").unwrap();
//! let world = World::from_doc(&doc, &[]).unwrap();
//!
//! // An agent that picks uniformly at random, with rlkit's own rand.
//! struct Uniform;
//! impl Agent for Uniform {
//!     fn act(&mut self, _s: usize, rng: &mut AgentRng) -> usize { rng.random_range(0..2) }
//!     fn observe(&mut self, _e: &Experience) {}
//!     fn greedy_policy(&self) -> Vec<usize> { vec![1] }
//!     fn values(&self) -> Vec<f64> { vec![0.0] }
//! }
//! let mut rng = AgentRng::seed_from_u64(7);
//! let mut env = world.make_env();
//! env.reset(Some(0));
//! let a = Uniform.act(0, &mut rng);
//! assert_eq!(env.step(a).reward, a as f64); // action b pays 1
//! ```
#![forbid(unsafe_code)]

pub mod agents;
pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod env;
pub mod error;
pub mod experiment;
pub mod metrics;
pub mod nn;
pub mod plot;
pub mod stats;
pub mod util;

pub use error::{Error, Result};

// Crates that appear in rlkit's public API, re-exported so that users name
// exactly the versions rlkit was built with.
pub use ndarray;
pub use plotters;
pub use rand;
pub use rand_chacha;
pub use serde;
pub use serde_json;
pub use toml;
