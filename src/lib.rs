//! # rlkit
//!
//! A reinforcement-learning experimentation toolkit: gridworld environments and
//! finite MDPs written in TOML, dynamic-programming, Monte Carlo, stochastic
//! approximation and TD agents, a small neural backbone with hand-written
//! kernels, tidy CSV/JSON outputs and PNG plots.
//!
//! The binary `rlkit` is a thin CLI over this library; see `ARCHITECTURE.md`.
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
