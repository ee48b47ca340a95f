//! Monte Carlo learning (Zhao ch. 5; Sutton & Barto ch. 5 and §6.2), one
//! algorithm per file:
//!
//! - [`mc_basic()`]: MC Basic (Zhao Alg. 5.1), policy iteration with q_π
//!   estimated from episodes of a set length started from every (s, a);
//!   a function API on a [`crate::env::TabularModel`];
//! - [`exploring_starts`]: MC Exploring Starts (Zhao Alg. 5.2), first- or
//!   every-visit, returns computed backwards; a function API;
//! - [`epsilon_greedy`]: MC ε-greedy (Zhao Alg. 5.3), a step-based
//!   [`crate::agents::agent::Agent`];
//! - [`prediction`]: constant-α (or sample-average) every-visit MC prediction
//!   of state values (Sutton & Barto Example 6.2), an `Agent`.
//!
//! Returns are sums of the rewards the episode actually received; an episode
//! cut by its length is *not* bootstrapped unless the configuration asks for
//! it (`bootstrap_truncated = true`), as in Zhao's algorithms.

pub mod epsilon_greedy;
pub mod exploring_starts;
pub mod mc_basic;
pub mod prediction;

pub use epsilon_greedy::{McEpsilonGreedy, McEpsilonGreedyConfig};
pub use exploring_starts::{mc_exploring_starts, McEsConfig, McEsResult, StartMode};
pub use mc_basic::{mc_basic, McBasicConfig, McBasicIteration, McBasicResult};
pub use prediction::{McPrediction, McPredictionConfig};
