//! Agents, one algorithm per file.
//!
//! - [`dp`]: dynamic programming on a known tabular model;
//! - [`mc`]: Monte Carlo;
//! - [`sa`]: stochastic approximation;
//! - [`td`]: temporal-difference learning;
//! - [`approx`]: function approximation.

pub mod agent;
pub mod approx;
pub mod dp;
pub mod mc;
pub mod sa;
pub mod td;
pub mod train;
