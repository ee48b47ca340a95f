//! Agents, one algorithm per file.
//!
//! - [`dp`]: dynamic programming on a known tabular model;
//! - [`mc`]: Monte Carlo;
//! - [`sa`]: stochastic approximation;
//! - [`td`]: temporal-difference learning;
//! - [`approx`]: function approximation;
//! - [`bc`]: behaviour cloning of optimal policies with a neural network.

pub mod agent;
pub mod approx;
pub mod bc;
pub mod dp;
pub mod mc;
pub mod sa;
pub mod td;
pub mod train;
