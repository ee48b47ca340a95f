//! Value iteration on plain Zhao-style gridworlds with *implicit* successors:
//! the kernel behind `rlkit bench vi`.
//!
//! A plain grid (actions up, right, down, left, stay; no walls, teleports,
//! wind, slip or terminal cells; the target continuing) needs no transition
//! table: the successor of (s, a) is `s − w`, `s + 1`, `s + w`, `s − 1` or `s`,
//! or `s` itself with the boundary reward when the move leaves the grid. The
//! landing reward depends only on the cell landed in. So a sweep reads the
//! value array, one byte of cell kind per state, and writes the new values:
//! 17 bytes of memory traffic per state instead of the 29 bytes per
//! state–action pair of the CSR model (145 per state).
//!
//! With `e(x) = r_land(x) + γ v(x)` (one multiply-add per state, computed a
//! row at a time into a small ring of three rows that stays in L1), the
//! backup of an interior state is `max(e(s−w), e(s+1), e(s+w), e(s−1), e(s))`:
//! four maxima. Each q is the same `r + γ·v` expression, evaluated in the same
//! f64 arithmetic, as in the generic `value_iteration` (no fused
//! multiply-add), and a maximum does not depend on its order, so values and
//! deltas are **bit-identical** to the generic solver's (tested).
//!
//! Why f64 and not f32: with γ = 0.9 and |r| ≤ 1 the values reach 10, where
//! an f32 ulp is 9.5e-7 — as large as the default tolerance 1e-6, so the
//! stopping test ‖v_k − v_{k−1}‖∞ < tol would measure rounding noise, and
//! the rounding error of the fixed point, about ulp/(1 − γ) ≈ 1e-5, would
//! exceed the tolerance's own error bound tol·γ/(1 − γ) = 9e-6. f64 keeps the
//! result equal to the generic solver's; the cost is 8 bytes more per state of
//! traffic per sweep.
//!
//! Sweeps are synchronous (Jacobi, the headline) or in place (Gauss–Seidel,
//! reported separately). Jacobi sweeps run in row blocks on rayon's pool; the
//! max-norm is exact, so the result does not depend on the thread count.

use rayon::prelude::*;

use crate::{Error, Result};

/// Cell kinds of a plain grid.
pub const CELL_OTHER: u8 = 0;
/// A forbidden cell (enterable, pays `forbidden`).
pub const CELL_FORBIDDEN: u8 = 1;
/// The target (continuing, pays `target`).
pub const CELL_TARGET: u8 = 2;

/// Rows per parallel block.
const BLOCK_ROWS: usize = 32;

/// A plain Zhao-style grid: kinds and rewards, no transition table.
#[derive(Debug, Clone)]
pub struct PlainGrid {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// One kind per cell, row-major ([`CELL_OTHER`], [`CELL_FORBIDDEN`], [`CELL_TARGET`]).
    pub kinds: Vec<u8>,
    /// Discount factor.
    pub gamma: f64,
    /// Reward of a move off the grid (the agent stays).
    pub boundary: f64,
    /// Landing rewards by kind: other, forbidden, target.
    pub land: [f64; 3],
}

/// The outcome of [`PlainGrid::solve`].
#[derive(Debug, Clone)]
pub struct PlainSolution {
    /// v_k.
    pub values: Vec<f64>,
    /// Sweeps done.
    pub sweeps: usize,
    /// ‖v_k − v_{k−1}‖∞ of the last sweep.
    pub delta: f64,
    /// Whether delta < tol was reached.
    pub converged: bool,
}

impl PlainGrid {
    /// The grid of [`crate::env::Grid::generate_zhao`] with the same seed (the
    /// same random draws, hence the same map), with Zhao's default rewards
    /// (boundary −1, forbidden −1, target +1, other 0) and γ = 0.9.
    pub fn generate_zhao(height: usize, width: usize, forbidden_frac: f64, seed: u64) -> Result<PlainGrid> {
        use rand::RngExt;
        if height.checked_mul(width).is_none_or(|n| n == 0 || n > crate::env::gridworld::MAX_CELLS) {
            return Err(Error::input(format!("a {height}x{width} grid is empty or too large")));
        }
        let mut rng = crate::util::rng_for(seed, &[0x6e17]);
        let (tr, tc) = (height / 2, width / 2);
        let mut kinds = Vec::with_capacity(height * width);
        for r in 0..height {
            for c in 0..width {
                kinds.push(if (r, c) == (tr, tc) {
                    CELL_TARGET
                } else if rng.random::<f64>() < forbidden_frac {
                    CELL_FORBIDDEN
                } else {
                    CELL_OTHER
                });
            }
        }
        Ok(PlainGrid { height, width, kinds, gamma: 0.9, boundary: -1.0, land: [0.0, -1.0, 1.0] })
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.kinds.len()
    }

    /// Bytes held per state during a synchronous solve: the kinds, the
    /// per-cell landing rewards and the two value arrays.
    pub fn bytes_per_state(&self) -> usize {
        1 + 3 * std::mem::size_of::<f64>()
    }

    /// The landing reward of every cell (built once per solve: the sweep then
    /// streams it instead of decoding kinds, which costs more than the 8 bytes).
    pub fn landing_rewards(&self) -> Vec<f64> {
        self.kinds.iter().map(|&k| self.land[k as usize]).collect()
    }

    /// Value iteration from v = 0 until ‖v_k − v_{k−1}‖∞ < tol (or `max_sweeps`).
    /// `gauss_seidel` sweeps in place (row-major) instead of synchronously.
    pub fn solve(&self, tol: f64, max_sweeps: usize, gauss_seidel: bool) -> Result<PlainSolution> {
        if tol.is_nan() || tol <= 0.0 {
            return Err(Error::input(format!("tol = {tol} must be > 0")));
        }
        let n = self.n_states();
        let land = if gauss_seidel { Vec::new() } else { self.landing_rewards() };
        let mut v = vec![0.0f64; n];
        let mut out = if gauss_seidel { Vec::new() } else { vec![0.0f64; n] };
        // Three rows of e per block, allocated once for the whole solve.
        let blocks = self.height.div_ceil(BLOCK_ROWS);
        let mut scratch = if gauss_seidel { Vec::new() } else { vec![0.0f64; blocks * 3 * self.width] };
        let (mut sweeps, mut delta) = (0, f64::INFINITY);
        while sweeps < max_sweeps {
            delta = if gauss_seidel {
                self.sweep_in_place(&mut v)
            } else {
                let d = self.sweep(&land, &v, &mut out, &mut scratch);
                std::mem::swap(&mut v, &mut out);
                d
            };
            sweeps += 1;
            if !delta.is_finite() {
                return Err(Error::input("value iteration diverged"));
            }
            if delta < tol {
                break;
            }
        }
        Ok(PlainSolution { values: v, sweeps, delta, converged: delta < tol })
    }

    /// One synchronous sweep `out = T v`; returns ‖out − v‖∞.
    /// `land` is [`PlainGrid::landing_rewards`]; `scratch` holds 3 rows per block of 32 rows.
    pub fn sweep(&self, land: &[f64], v: &[f64], out: &mut [f64], scratch: &mut [f64]) -> f64 {
        let w = self.width;
        let block = |(b, (o, sc)): (usize, (&mut [f64], &mut [f64]))| -> f64 {
            self.block_rows(land, v, o, sc, b * BLOCK_ROWS)
        };
        let work = out.par_chunks_mut(BLOCK_ROWS * w).zip(scratch.par_chunks_mut(3 * w)).enumerate();
        if rayon::current_num_threads() == 1 {
            work.map(block).reduce(|| 0.0, |a, b| if b > a { b } else { a })
        } else {
            work.with_min_len(1).map(block).reduce(|| 0.0, |a, b| if b > a { b } else { a })
        }
    }

    /// Rows `r0 .. r0 + out.len() / w` of a synchronous sweep.
    fn block_rows(&self, land: &[f64], v: &[f64], out: &mut [f64], scratch: &mut [f64], r0: usize) -> f64 {
        let (w, h, g) = (self.width, self.height, self.gamma);
        let rows = out.len() / w;
        let bnd = self.boundary;
        // e(x) = r_land(x) + γ v(x) for one row: two streams, a multiply and an add.
        let e_row = |r: usize, e: &mut [f64]| {
            let (lr, vv) = (&land[r * w..(r + 1) * w], &v[r * w..(r + 1) * w]);
            for ((e, &rl), &x) in e.iter_mut().zip(lr).zip(vv) {
                *e = rl + g * x;
            }
        };
        let (mut prev, rest) = scratch.split_at_mut(w);
        let (mut cur, mut next) = rest.split_at_mut(w);
        if r0 > 0 {
            e_row(r0 - 1, prev);
        }
        e_row(r0, cur);
        let mut delta: f64 = 0.0;
        let mx = |a: f64, b: f64| if b > a { b } else { a };
        for i in 0..rows {
            let r = r0 + i;
            if r + 1 < h {
                e_row(r + 1, next);
            }
            let vr = &v[r * w..(r + 1) * w];
            let o = &mut out[i * w..(i + 1) * w];
            let (has_up, has_down) = (r > 0, r + 1 < h);
            // Edge columns (and 1-wide grids): the general rule, cell by cell.
            let edge = |c: usize| -> f64 {
                let b = bnd + g * vr[c];
                let up = if has_up { prev[c] } else { b };
                let right = if c + 1 < w { cur[c + 1] } else { b };
                let down = if has_down { next[c] } else { b };
                let left = if c > 0 { cur[c - 1] } else { b };
                mx(mx(mx(mx(up, right), down), left), cur[c])
            };
            if w <= 2 {
                for c in 0..w {
                    let q = edge(c);
                    delta = mx(delta, (q - vr[c]).abs());
                    o[c] = q;
                }
            } else {
                for c in [0, w - 1] {
                    let q = edge(c);
                    delta = mx(delta, (q - vr[c]).abs());
                    o[c] = q;
                }
                let m = w - 2;
                let (l, mid, rt_) = (&cur[..m], &cur[1..m + 1], &cur[2..m + 2]);
                let vm = &vr[1..m + 1];
                let om = &mut o[1..m + 1];
                match (has_up, has_down) {
                    (true, true) => {
                        delta = mx(delta, max5_row(&prev[1..m + 1], rt_, &next[1..m + 1], l, mid, vm, om));
                    }
                    _ => {
                        for j in 0..m {
                            let b = bnd + g * vm[j];
                            let up = if has_up { prev[j + 1] } else { b };
                            let dn = if has_down { next[j + 1] } else { b };
                            let q = mx(mx(mx(mx(up, rt_[j]), dn), l[j]), mid[j]);
                            delta = mx(delta, (q - vm[j]).abs());
                            om[j] = q;
                        }
                    }
                }
            }
            // Rotate the ring: prev ← cur ← next.
            std::mem::swap(&mut prev, &mut cur);
            std::mem::swap(&mut cur, &mut next);
        }
        delta
    }

    /// One in-place (Gauss–Seidel) sweep in row-major order; returns the largest change.
    pub fn sweep_in_place(&self, v: &mut [f64]) -> f64 {
        let (w, h, g) = (self.width, self.height, self.gamma);
        let bnd = self.boundary;
        let land = |k: u8| self.land[k as usize];
        let mut delta: f64 = 0.0;
        for r in 0..h {
            for c in 0..w {
                let s = r * w + c;
                let b = bnd + g * v[s];
                let q_at = |t: usize, v: &[f64]| land(self.kinds[t]) + g * v[t];
                let up = if r > 0 { q_at(s - w, v) } else { b };
                let right = if c + 1 < w { q_at(s + 1, v) } else { b };
                let down = if r + 1 < h { q_at(s + w, v) } else { b };
                let left = if c > 0 { q_at(s - 1, v) } else { b };
                let stay = q_at(s, v);
                let mut q = up;
                for x in [right, down, left, stay] {
                    if x > q {
                        q = x;
                    }
                }
                let d = (q - v[s]).abs();
                if d > delta {
                    delta = d;
                }
                v[s] = q;
            }
        }
        delta
    }
}

/// `o = max(up, rt, dn, l, mid)` elementwise; returns max |o − v|. Two
/// simple passes over L1-resident rows, each of which vectorises: the maxima,
/// then the max-norm in 8 independent lanes (a maximum is exact and
/// order-free, so the lanes change no result).
#[inline(always)]
fn max5_row(up: &[f64], rt: &[f64], dn: &[f64], l: &[f64], mid: &[f64], v: &[f64], o: &mut [f64]) -> f64 {
    const L: usize = 8;
    let mx = |a: f64, b: f64| if b > a { b } else { a };
    let n = o.len();
    let (up, rt, dn, l, mid, v) = (&up[..n], &rt[..n], &dn[..n], &l[..n], &mid[..n], &v[..n]);
    for j in 0..n {
        o[j] = mx(mx(mx(mx(up[j], rt[j]), dn[j]), l[j]), mid[j]);
    }
    let mut lanes = [0.0f64; L];
    let (oc, vc) = (o.chunks_exact(L), v.chunks_exact(L));
    let (orem, vrem) = (oc.remainder(), vc.remainder());
    for (o8, v8) in oc.zip(vc) {
        for k in 0..L {
            lanes[k] = mx(lanes[k], (o8[k] - v8[k]).abs());
        }
    }
    let mut delta = lanes.iter().fold(0.0f64, |a, &b| mx(a, b));
    for (&q, &x) in orem.iter().zip(vrem) {
        delta = mx(delta, (q - x).abs());
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::dp::{value_iteration, ViConfig};
    use crate::env::{CellKind, Grid};

    /// Same map as `Grid::generate_zhao`, and values, sweep count and deltas
    /// bit-identical to the generic solver, for any thread count.
    #[test]
    fn plain_grid_matches_generic_value_iteration_bit_for_bit() {
        for (h, w) in [(37, 41), (1, 5), (6, 1), (2, 2), (70, 3)] {
            let g = Grid::generate_zhao(h, w, 0.3, 5).unwrap();
            let p = PlainGrid::generate_zhao(h, w, 0.3, 5).unwrap();
            let kinds: Vec<u8> = g
                .cells
                .iter()
                .map(|k| match k {
                    CellKind::Forbidden => CELL_FORBIDDEN,
                    CellKind::Target => CELL_TARGET,
                    _ => CELL_OTHER,
                })
                .collect();
            assert_eq!(kinds, p.kinds);
            let sol = value_iteration(&g.model, &ViConfig { tol: 1e-9, ..Default::default() }, None).unwrap();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let ps = pool.install(|| p.solve(1e-9, 100_000, false)).unwrap();
                assert_eq!(ps.sweeps, sol.iterations.len(), "{h}x{w}");
                assert_eq!(ps.delta.to_bits(), sol.iterations.last().unwrap().delta.to_bits());
                assert!(ps.values.iter().zip(&sol.values).all(|(a, b)| a.to_bits() == b.to_bits()), "{h}x{w}");
            }
            // Gauss–Seidel reaches the same fixed point (to the tolerance's bound).
            let gs = p.solve(1e-12, 100_000, true).unwrap();
            assert!(gs.converged);
            assert!(gs.values.iter().zip(&sol.values).all(|(a, b)| (a - b).abs() < 1e-7));
        }
    }
}
