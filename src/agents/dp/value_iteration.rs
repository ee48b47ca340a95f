//! Value iteration (Zhao Algorithm 4.1; Sutton & Barto §4.4).
//!
//! ```text
//! v_0 = 0
//! repeat k = 1, 2, ...:
//!     v_k(s) = max_a Σ_{s',r} p(s',r|s,a) [r + γ v_{k−1}(s')]      for every non-fixed s
//! until ‖v_k − v_{k−1}‖∞ < tol
//! π = greedy(v_k)
//! ```
//!
//! Sweeps are synchronous: every v_k(s) is computed from v_{k−1}. Large models
//! are swept in parallel chunks (rayon); each state's backup is independent
//! and the max-norm is exact, so the result is identical for any thread count.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{greedy, max_abs_diff, DpSolution, IterRecord};
use crate::env::TabularModel;
use crate::{Error, Result};

/// Hyperparameters of value iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViConfig {
    /// Stop when ‖v_k − v_{k−1}‖∞ < tol.
    pub tol: f64,
    /// Stop (unconverged) after this many iterations.
    pub max_iterations: usize,
    /// Initial value of every non-fixed state.
    pub v0: f64,
}

impl Default for ViConfig {
    fn default() -> Self {
        ViConfig { tol: 1e-6, max_iterations: 100_000, v0: 0.0 }
    }
}

/// States per parallel chunk; models smaller than this run on one thread.
const CHUNK: usize = 16_384;

/// One synchronous Bellman optimality sweep: `out(s) = max_a q(v, s, a)`.
/// Returns ‖out − v‖∞.
pub fn optimality_sweep(model: &TabularModel, v: &[f64], out: &mut [f64]) -> f64 {
    let (offsets, prob, next, reward, done) = model.raw();
    let na = model.n_actions();
    let gamma = model.gamma;
    let fixed = model.fixed();
    let deterministic = model.is_deterministic();
    let chunk = |start: usize, out: &mut [f64]| -> f64 {
        let mut delta: f64 = 0.0;
        if deterministic {
            // One outcome per (s, a), stored at index s·|A| + a: no offsets, no probabilities.
            for (i, o) in out.iter_mut().enumerate() {
                let s = start + i;
                if fixed[s] {
                    *o = 0.0;
                    continue;
                }
                let base = s * na;
                let (nx, rw, dn) = (&next[base..base + na], &reward[base..base + na], &done[base..base + na]);
                let mut best = f64::NEG_INFINITY;
                for k in 0..na {
                    let boot = if dn[k] { 0.0 } else { v[nx[k] as usize] };
                    let q = rw[k] + gamma * boot;
                    if q > best {
                        best = q;
                    }
                }
                let d = (best - v[s]).abs();
                if d > delta {
                    delta = d;
                }
                *o = best;
            }
            return delta;
        }
        for (i, o) in out.iter_mut().enumerate() {
            let s = start + i;
            if fixed[s] {
                *o = 0.0;
                continue;
            }
            let mut best = f64::NEG_INFINITY;
            for a in 0..na {
                let p = s * na + a;
                let mut q = 0.0;
                for k in offsets[p]..offsets[p + 1] {
                    let boot = if done[k] { 0.0 } else { v[next[k] as usize] };
                    q += prob[k] * (reward[k] + gamma * boot);
                }
                best = best.max(q);
            }
            delta = delta.max((best - v[s]).abs());
            *o = best;
        }
        delta
    };
    if out.len() <= CHUNK {
        chunk(0, out)
    } else {
        out.par_chunks_mut(CHUNK).enumerate().map(|(i, o)| chunk(i * CHUNK, o)).reduce(|| 0.0, f64::max)
    }
}

/// A compact copy of a deterministic model for fast sweeps: per (s, a) only the
/// next state (a terminating transition points at a sentinel state `n` whose
/// value is always 0) and a one-byte index into the table of distinct rewards.
/// That is 5 bytes per pair instead of 13 (or 29 in CSR form): sweeps of large
/// grids are limited by memory traffic. Results are bit-identical to
/// [`optimality_sweep`].
struct Compact<'a> {
    na: usize,
    gamma: f64,
    next: Vec<u32>,
    ridx: Vec<u8>,
    rewards: Vec<f64>,
    fixed: &'a [bool],
}

impl<'a> Compact<'a> {
    /// `None` unless the model is deterministic with at most 256 distinct rewards.
    fn new(model: &'a TabularModel) -> Option<Compact<'a>> {
        if !model.is_deterministic() || model.n_states() >= u32::MAX as usize {
            return None;
        }
        let (_, _, next, reward, done) = model.raw();
        let sentinel = model.n_states() as u32;
        let mut rewards: Vec<f64> = Vec::new();
        let mut ridx = Vec::with_capacity(reward.len());
        for &r in reward {
            let i = match rewards.iter().position(|x| x.to_bits() == r.to_bits()) {
                Some(i) => i,
                None if rewards.len() < 256 => {
                    rewards.push(r);
                    rewards.len() - 1
                }
                None => return None,
            };
            ridx.push(i as u8);
        }
        let next = next.iter().zip(done).map(|(&n, &d)| if d { sentinel } else { n }).collect();
        Some(Compact { na: model.n_actions(), gamma: model.gamma, next, ridx, rewards, fixed: model.fixed() })
    }

    /// One sweep: `v` has n + 1 entries (the last is the sentinel's 0), `out` has n.
    fn sweep(&self, v: &[f64], out: &mut [f64]) -> f64 {
        // Unrolled kernels for the usual action counts (4, 5, 8, 9), a loop otherwise.
        match self.na {
            4 => self.sweep_n::<4>(v, out),
            5 => self.sweep_n::<5>(v, out),
            8 => self.sweep_n::<8>(v, out),
            9 => self.sweep_n::<9>(v, out),
            _ => self.sweep_n::<0>(v, out),
        }
    }

    /// `NA` = the number of actions, or 0 for "read it from `self.na`".
    fn sweep_n<const NA: usize>(&self, v: &[f64], out: &mut [f64]) -> f64 {
        let na = if NA == 0 { self.na } else { NA };
        let chunk = |start: usize, out: &mut [f64]| -> f64 {
            let mut delta: f64 = 0.0;
            let next = &self.next[start * na..(start + out.len()) * na];
            let ridx = &self.ridx[start * na..(start + out.len()) * na];
            for (i, ((o, nx), ri)) in out.iter_mut().zip(next.chunks_exact(na)).zip(ridx.chunks_exact(na)).enumerate() {
                if self.fixed[start + i] {
                    *o = 0.0;
                    continue;
                }
                let mut best = f64::NEG_INFINITY;
                for (&n, &r) in nx.iter().zip(ri) {
                    let q = self.rewards[r as usize] + self.gamma * v[n as usize];
                    best = if q > best { q } else { best };
                }
                let d = (best - v[start + i]).abs();
                delta = if d > delta { d } else { delta };
                *o = best;
            }
            delta
        };
        if out.len() <= CHUNK {
            chunk(0, out)
        } else {
            out.par_chunks_mut(CHUNK).enumerate().map(|(i, o)| chunk(i * CHUNK, o)).reduce(|| 0.0, f64::max)
        }
    }
}

/// Run value iteration. `v_star`, when given, fills the `error` column.
///
/// ```
/// use rlkit::agents::dp::{value_iteration, ViConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let sol = value_iteration(w.model(), &ViConfig { tol: 1e-10, ..Default::default() }, None).unwrap();
/// assert!((sol.values[17] - 10.0).abs() < 1e-8); // the target (4,3), 1-indexed
/// ```
pub fn value_iteration(model: &TabularModel, cfg: &ViConfig, v_star: Option<&[f64]>) -> Result<DpSolution> {
    if cfg.tol.is_nan() || cfg.tol <= 0.0 {
        return Err(Error::input(format!("tol = {} must be > 0", cfg.tol)));
    }
    let start = Instant::now();
    let ns = model.n_states();
    // One extra slot: the compact kernel's sentinel state, whose value stays 0.
    let mut v: Vec<f64> = (0..=ns).map(|s| if s == ns || model.is_fixed(s) { 0.0 } else { cfg.v0 }).collect();
    let mut next = vec![0.0; ns + 1];
    let compact = Compact::new(model);
    let mut iterations = Vec::new();
    let mut converged = false;
    for k in 1..=cfg.max_iterations {
        let delta = match &compact {
            Some(c) => c.sweep(&v, &mut next[..ns]),
            None => optimality_sweep(model, &v[..ns], &mut next[..ns]),
        };
        std::mem::swap(&mut v, &mut next);
        if !delta.is_finite() {
            return Err(Error::input("value iteration diverged (values became infinite)"));
        }
        let error = v_star.map(|vs| max_abs_diff(&v[..ns], vs));
        iterations.push(IterRecord { iteration: k, delta, error, sweeps: k, seconds: start.elapsed().as_secs_f64() });
        if delta < cfg.tol {
            converged = true;
            break;
        }
    }
    v.truncate(ns);
    let actions = greedy(model, &v);
    Ok(DpSolution { values: v, actions, iterations, converged })
}

/// v* to (near) machine precision, for error columns and tests.
pub fn optimal_values(model: &TabularModel) -> Result<Vec<f64>> {
    let sol = value_iteration(model, &ViConfig { tol: 1e-13, max_iterations: 1_000_000, v0: 0.0 }, None)?;
    if !sol.converged {
        return Err(Error::input("could not compute v*: value iteration did not converge in 1,000,000 sweeps"));
    }
    Ok(sol.values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Grid;

    /// The compact kernel (used by `value_iteration` on deterministic models) gives the same
    /// bits as the generic CSR sweep, sweep after sweep, including with terminal cells.
    #[test]
    fn compact_kernel_matches_generic_sweep_bit_for_bit() {
        let g = Grid::generate_zhao(37, 41, 0.3, 5).unwrap();
        let m = &g.model;
        let c = Compact::new(m).expect("deterministic, few rewards");
        let ns = m.n_states();
        let (mut a, mut b) = (vec![0.0; ns + 1], vec![0.0; ns]);
        let (mut a2, mut b2) = (vec![0.0; ns + 1], vec![0.0; ns + 1]);
        for _ in 0..50 {
            let d1 = optimality_sweep(m, &a[..ns], &mut b);
            a[..ns].copy_from_slice(&b);
            let d2 = c.sweep(&a2, &mut b2[..ns]);
            std::mem::swap(&mut a2, &mut b2);
            assert_eq!(d1.to_bits(), d2.to_bits());
            assert!(a[..ns].iter().zip(&a2[..ns]).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        // A model with terminal transitions (cliff walking) takes the sentinel path.
        let w = crate::env::World::load("envs/cliff_walking.toml".as_ref()).unwrap();
        let sol = value_iteration(w.model(), &ViConfig { tol: 1e-12, ..Default::default() }, None).unwrap();
        assert_eq!(sol.values[36], -13.0); // the optimal return from the start
    }
}
