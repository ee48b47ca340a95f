//! MC Basic (Zhao Algorithm 5.1): policy iteration whose evaluation step is
//! replaced by Monte Carlo estimates.
//!
//! ```text
//! π_0 = the initial policy
//! for k = 0, 1, 2, ...:
//!     for every non-fixed s, every a:
//!         run `episodes_per_pair` episodes of `episode_length` steps that start
//!         with (s, a) and then follow π_k;
//!         q_k(s, a) = mean of their discounted returns Σ_{t<L} γ^t R_{t+1}
//!     π_{k+1}(s) = argmax_a q_k(s, a);   v_k(s) = max_a q_k(s, a)
//! until π_{k+1} = π_k (or `iterations` is reached)
//! ```
//!
//! An episode stops early if it terminates. With deterministic dynamics one
//! episode per pair gives the exact L-step truncated action values
//! q^L_{π_k}, so the result is deterministic.
//!
//! Ties in the argmax are broken as in [`crate::agents::dp::greedy`]: the
//! lowest action index within a relative tolerance of 1e-9.
//!
//! **Note on a "useful identity".** MC Basic's fixed point satisfies
//! v(s) = max_a q^L_π(s, a) with π greedy for q^L_π: a *stationary* policy
//! followed for L − 1 steps. L sweeps of value iteration from 0 give the
//! optimal L-horizon values, which may use a non-stationary policy, so
//! v_MC ≤ v_VI(L) always, with equality only when a stationary policy is
//! optimal over every horizon up to L from every state. See the tests in
//! `tests/mc_book.rs` for where the two agree and differ on Zhao's grid.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::agents::dp::policy::{argmax_first, TIE_TOL};
use crate::env::TabularModel;
use crate::{Error, Result};

/// Hyperparameters of MC Basic (TOML kind `mc-basic`: `episode_length`,
/// `episodes_per_pair`, `iterations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McBasicConfig {
    /// Steps per episode, L ≥ 1 (required).
    pub episode_length: usize,
    /// Episodes averaged per (s, a) (default 1: enough with deterministic dynamics).
    #[serde(default = "one")]
    pub episodes_per_pair: usize,
    /// At most this many policy iterations (default 100).
    #[serde(default = "hundred")]
    pub iterations: usize,
}

fn one() -> usize {
    1
}
fn hundred() -> usize {
    100
}

/// One iteration k of MC Basic.
#[derive(Debug, Clone, PartialEq)]
pub struct McBasicIteration {
    /// The estimated q_{π_k}, row-major `n_states × n_actions`.
    pub q: Vec<f64>,
    /// v_k(s) = max_a q_k(s, a) (0 on fixed states).
    pub values: Vec<f64>,
    /// π_{k+1}, the greedy policy of q_k (action 0 on fixed states).
    pub actions: Vec<usize>,
}

/// The result of MC Basic.
#[derive(Debug, Clone, PartialEq)]
pub struct McBasicResult {
    /// One entry per iteration.
    pub iterations: Vec<McBasicIteration>,
    /// Whether the policy stopped changing.
    pub converged: bool,
}

impl McBasicResult {
    /// The last iteration's values.
    pub fn values(&self) -> &[f64] {
        self.iterations.last().map_or(&[], |i| &i.values)
    }
    /// The last iteration's greedy policy.
    pub fn actions(&self) -> &[usize] {
        self.iterations.last().map_or(&[], |i| &i.actions)
    }
}

/// Run MC Basic from the policy `initial` (action per state; `None` = action 0
/// everywhere). Random outcomes are drawn from `rng`.
///
/// ```
/// use rlkit::agents::mc::{mc_basic, McBasicConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let cfg = McBasicConfig { episode_length: 1, episodes_per_pair: 1, iterations: 10 };
/// let r = mc_basic(w.model(), &cfg, None, &mut rlkit::util::rng_for(0, &[])).unwrap();
/// // One step: v(s) = max_a r(s, a); the target pays 1 for staying.
/// assert_eq!(r.values()[17], 1.0);
/// ```
pub fn mc_basic(
    model: &TabularModel,
    cfg: &McBasicConfig,
    initial: Option<&[usize]>,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<McBasicResult> {
    if cfg.episode_length == 0 || cfg.episodes_per_pair == 0 || cfg.iterations == 0 {
        return Err(Error::input("agent `mc-basic`: episode_length, episodes_per_pair and iterations must be >= 1"));
    }
    let (ns, na) = (model.n_states(), model.n_actions());
    let mut pi: Vec<usize> = match initial {
        Some(p) if p.len() == ns && p.iter().all(|&a| a < na) => p.to_vec(),
        Some(_) => {
            return Err(Error::input("mc-basic: the initial policy has the wrong size or an action out of range"))
        }
        None => vec![0; ns],
    };
    let mut iterations = Vec::new();
    let mut converged = false;
    for _ in 0..cfg.iterations {
        let mut q = vec![0.0; ns * na];
        for s in 0..ns {
            if model.is_fixed(s) {
                continue;
            }
            for a in 0..na {
                let mut total = 0.0;
                for _ in 0..cfg.episodes_per_pair {
                    total += rollout(model, &pi, s, a, cfg.episode_length, rng);
                }
                q[s * na + a] = total / cfg.episodes_per_pair as f64;
            }
        }
        let mut values = vec![0.0; ns];
        let mut next = vec![0; ns];
        for s in 0..ns {
            if model.is_fixed(s) {
                continue;
            }
            let row = &q[s * na..(s + 1) * na];
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            values[s] = max;
            next[s] = argmax_first(row, TIE_TOL * max.abs().max(1.0));
        }
        let stable = next == pi;
        pi = next.clone();
        iterations.push(McBasicIteration { q, values, actions: next });
        if stable {
            converged = true;
            break;
        }
    }
    Ok(McBasicResult { iterations, converged })
}

/// Discounted return of one episode of at most `len` steps: (s, a) then π.
fn rollout(
    model: &TabularModel,
    pi: &[usize],
    s0: usize,
    a0: usize,
    len: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> f64 {
    let (mut s, mut a) = (s0, a0);
    let mut g = 0.0;
    let mut d = 1.0;
    for _ in 0..len {
        let t = model.sample(s, a, rng.random::<f64>());
        g += d * t.reward;
        d *= model.gamma;
        if t.done {
            break;
        }
        s = t.next;
        a = pi[s];
    }
    g
}
