//! The exact tabular model P(s', r | s, a) of a finite environment.

use crate::{Error, Result};

/// One outcome of taking an action in a state.
///
/// `done` is Gymnasium's `terminated`: the episode ends on arriving in `next`,
/// so nothing is bootstrapped from `next`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// Probability of this outcome.
    pub prob: f64,
    /// The next state.
    pub next: usize,
    /// The reward received.
    pub reward: f64,
    /// Whether the episode terminates on this transition.
    pub done: bool,
}

/// Flat CSR views of a model: (offsets, prob, next, reward, done).
pub type RawModel<'a> = (&'a [usize], &'a [f64], &'a [u32], &'a [f64], &'a [bool]);

/// The full model of a finite MDP, stored compactly (CSR): for every
/// state–action pair, a list of [`Transition`]s whose probabilities sum to 1.
///
/// States marked *fixed* are absorbing with value 0 and need no decision:
/// terminal cells, and cells the agent can never occupy (walls, cliffs). Their
/// transitions are a self-loop with reward 0 and `done = true`, as in
/// Gymnasium's FrozenLake table.
///
/// ```
/// use rlkit::env::{TabularModel, Transition};
/// // Two states; from 0 either action goes to the terminal state 1 with reward 1.
/// let t = |next, reward, done| vec![Transition { prob: 1.0, next, reward, done }];
/// let m = TabularModel::new(2, 2, 0.9, vec![t(1, 1.0, true), t(1, 1.0, true), t(1, 0.0, true), t(1, 0.0, true)], vec![false, true]).unwrap();
/// assert_eq!(m.q_value(&[0.0, 0.0], 0, 1), 1.0);
/// ```
#[derive(Debug, Clone)]
pub struct TabularModel {
    n_states: usize,
    n_actions: usize,
    /// Discount factor.
    pub gamma: f64,
    offsets: Vec<usize>,
    prob: Vec<f64>,
    next: Vec<u32>,
    reward: Vec<f64>,
    done: Vec<bool>,
    fixed: Vec<bool>,
}

impl TabularModel {
    /// Build a model from one transition list per (state, action), in the
    /// order `s * n_actions + a`. Checks that probabilities are non-negative
    /// and sum to 1 (within 1e-9) and that next states are in range.
    pub fn new(
        n_states: usize,
        n_actions: usize,
        gamma: f64,
        lists: Vec<Vec<Transition>>,
        fixed: Vec<bool>,
    ) -> Result<Self> {
        if lists.len() != n_states * n_actions {
            return Err(Error::internal("TabularModel::new: wrong number of lists"));
        }
        let mut b = ModelBuilder::new(n_states, n_actions, gamma, fixed)?;
        for list in &lists {
            b.push(list)?;
        }
        b.finish()
    }

    /// A model from its CSR arrays: pair `i = s * n_actions + a` owns entries
    /// `offsets[i]..offsets[i + 1]` of `prob`, `next`, `reward` and `done`.
    /// Checks the shapes and every entry as [`ModelBuilder::push`] does (so a
    /// model streamed from a file is the model the builder would have made).
    #[allow(clippy::too_many_arguments)]
    pub fn from_csr(
        n_states: usize,
        n_actions: usize,
        gamma: f64,
        offsets: Vec<usize>,
        prob: Vec<f64>,
        next: Vec<u32>,
        reward: Vec<f64>,
        done: Vec<bool>,
        fixed: Vec<bool>,
    ) -> Result<Self> {
        let pairs = n_states * n_actions;
        let t = prob.len();
        if offsets.len() != pairs + 1
            || fixed.len() != n_states
            || offsets[0] != 0
            || offsets[pairs] != t
            || next.len() != t
            || reward.len() != t
            || done.len() != t
            || offsets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(Error::internal("TabularModel::from_csr: inconsistent CSR arrays"));
        }
        for i in 0..pairs {
            let mut sum = 0.0;
            for k in offsets[i]..offsets[i + 1] {
                let (p, r) = (prob[k], reward[k]);
                if p.is_nan() || p < 0.0 || next[k] as usize >= n_states || !r.is_finite() {
                    return Err(Error::input(format!(
                        "state {} action {}: invalid transition (prob {p}, next {}, reward {r}); probabilities must be >= 0, next states in range, rewards finite",
                        i / n_actions,
                        i % n_actions,
                        next[k]
                    )));
                }
                sum += p;
            }
            if (sum - 1.0).abs() > 1e-9 {
                return Err(Error::input(format!(
                    "state {} action {}: transition probabilities sum to {sum}, not 1",
                    i / n_actions,
                    i % n_actions
                )));
            }
        }
        Ok(TabularModel { n_states, n_actions, gamma, offsets, prob, next, reward, done, fixed })
    }

    /// Bytes held by the model's arrays (offsets, transitions, fixed mask).
    pub fn heap_bytes(&self) -> usize {
        self.offsets.len() * 8 + self.prob.len() * 21 + self.fixed.len()
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Whether state `s` is fixed (terminal, or never occupied): value 0, no decision.
    pub fn is_fixed(&self, s: usize) -> bool {
        self.fixed[s]
    }

    /// The fixed-state mask.
    pub fn fixed(&self) -> &[bool] {
        &self.fixed
    }

    /// The transitions of (s, a).
    pub fn transitions(&self, s: usize, a: usize) -> impl Iterator<Item = Transition> + '_ {
        let i = s * self.n_actions + a;
        (self.offsets[i]..self.offsets[i + 1]).map(move |k| Transition {
            prob: self.prob[k],
            next: self.next[k] as usize,
            reward: self.reward[k],
            done: self.done[k],
        })
    }

    /// Total number of stored transitions.
    pub fn n_transitions(&self) -> usize {
        self.prob.len()
    }

    /// Whether every (s, a) has exactly one outcome.
    pub fn is_deterministic(&self) -> bool {
        self.prob.len() == self.n_states * self.n_actions
    }

    /// q(s, a) = Σ p · (r + γ · v(s') · [not done]).
    #[inline]
    pub fn q_value(&self, v: &[f64], s: usize, a: usize) -> f64 {
        let i = s * self.n_actions + a;
        let mut q = 0.0;
        for k in self.offsets[i]..self.offsets[i + 1] {
            let boot = if self.done[k] { 0.0 } else { v[self.next[k] as usize] };
            q += self.prob[k] * (self.reward[k] + self.gamma * boot);
        }
        q
    }

    /// The expected immediate reward of (s, a).
    pub fn expected_reward(&self, s: usize, a: usize) -> f64 {
        self.transitions(s, a).map(|t| t.prob * t.reward).sum()
    }

    /// Sample an outcome of (s, a) with a uniform number `u` in [0, 1).
    #[inline]
    pub fn sample(&self, s: usize, a: usize, u: f64) -> Transition {
        let i = s * self.n_actions + a;
        let (lo, hi) = (self.offsets[i], self.offsets[i + 1]);
        let mut k = lo;
        if hi - lo > 1 {
            let mut acc = self.prob[lo];
            while k + 1 < hi && u >= acc {
                k += 1;
                acc += self.prob[k];
            }
        }
        Transition { prob: self.prob[k], next: self.next[k] as usize, reward: self.reward[k], done: self.done[k] }
    }

    /// Flat CSR views for fast kernels: (offsets, prob, next, reward, done).
    pub fn raw(&self) -> RawModel<'_> {
        (&self.offsets, &self.prob, &self.next, &self.reward, &self.done)
    }

    /// Which states can reach termination (a `done` transition) with positive
    /// probability under *some* policy (`policy = None`) or under the given
    /// stochastic policy π(a|s) (row-major `n_states × n_actions`).
    pub fn can_terminate(&self, policy: Option<&[f64]>) -> Vec<bool> {
        let (ns, na) = (self.n_states, self.n_actions);
        // Reverse graph: predecessors of each state through allowed (s, a).
        let mut preds: Vec<Vec<u32>> = vec![Vec::new(); ns];
        let mut reach = vec![false; ns];
        let mut stack = Vec::new();
        for s in 0..ns {
            if self.fixed[s] {
                reach[s] = true;
                stack.push(s);
                continue;
            }
            for a in 0..na {
                if let Some(pi) = policy {
                    if pi[s * na + a] <= 0.0 {
                        continue;
                    }
                }
                for t in self.transitions(s, a) {
                    if t.prob <= 0.0 {
                        continue;
                    }
                    if t.done && !reach[s] {
                        reach[s] = true;
                        stack.push(s);
                    } else {
                        preds[t.next].push(s as u32);
                    }
                }
            }
        }
        while let Some(x) = stack.pop() {
            for &p in &preds[x] {
                let p = p as usize;
                if !reach[p] {
                    reach[p] = true;
                    stack.push(p);
                }
            }
        }
        reach
    }

    /// Whether the policy terminates with probability 1 from every state:
    /// every state reachable under π can still reach termination.
    /// Returns the states from which it does not.
    pub fn improper_states(&self, policy: &[f64]) -> Vec<usize> {
        let reach = self.can_terminate(Some(policy));
        (0..self.n_states).filter(|&s| !reach[s]).collect()
    }
}

/// Builds a [`TabularModel`] one (state, action) list at a time, in the order
/// `s * n_actions + a`, without holding all lists in memory.
#[derive(Debug)]
pub struct ModelBuilder {
    m: TabularModel,
}

impl ModelBuilder {
    /// Start a model; `fixed` marks the fixed (terminal or unoccupiable) states.
    pub fn new(n_states: usize, n_actions: usize, gamma: f64, fixed: Vec<bool>) -> Result<Self> {
        ModelBuilder::with_capacity(n_states, n_actions, gamma, fixed, n_states.saturating_mul(n_actions))
    }

    /// Like [`ModelBuilder::new`], reserving room for `transitions` outcomes
    /// up front (so a model of known size is built without regrowing).
    pub fn with_capacity(
        n_states: usize,
        n_actions: usize,
        gamma: f64,
        fixed: Vec<bool>,
        transitions: usize,
    ) -> Result<Self> {
        if fixed.len() != n_states {
            return Err(Error::internal("ModelBuilder::new: fixed mask has the wrong length"));
        }
        if n_states >= u32::MAX as usize {
            return Err(Error::input(format!("{n_states} states is more than rlkit supports (2^32 - 1)")));
        }
        let pairs = n_states * n_actions;
        let mut offsets = Vec::with_capacity(pairs + 1);
        offsets.push(0);
        Ok(ModelBuilder {
            m: TabularModel {
                n_states,
                n_actions,
                gamma,
                offsets,
                prob: Vec::with_capacity(transitions),
                next: Vec::with_capacity(transitions),
                reward: Vec::with_capacity(transitions),
                done: Vec::with_capacity(transitions),
                fixed,
            },
        })
    }

    /// Append the outcome list of the next (state, action) pair.
    pub fn push(&mut self, list: &[Transition]) -> Result<()> {
        let m = &mut self.m;
        let i = m.offsets.len() - 1;
        if i >= m.n_states * m.n_actions {
            return Err(Error::internal("ModelBuilder::push: too many lists"));
        }
        let mut sum = 0.0;
        for t in list {
            if t.prob.is_nan() || t.prob < 0.0 || t.next >= m.n_states || !t.reward.is_finite() {
                return Err(Error::input(format!(
                    "state {} action {}: invalid transition {t:?} (probabilities must be >= 0, next states in range, rewards finite)",
                    i / m.n_actions,
                    i % m.n_actions
                )));
            }
            sum += t.prob;
            m.prob.push(t.prob);
            m.next.push(t.next as u32);
            m.reward.push(t.reward);
            m.done.push(t.done);
        }
        if (sum - 1.0).abs() > 1e-9 {
            return Err(Error::input(format!(
                "state {} action {}: transition probabilities sum to {sum}, not 1",
                i / m.n_actions,
                i % m.n_actions
            )));
        }
        m.offsets.push(m.prob.len());
        Ok(())
    }

    /// Finish; every pair must have been pushed.
    pub fn finish(self) -> Result<TabularModel> {
        if self.m.offsets.len() != self.m.n_states * self.m.n_actions + 1 {
            return Err(Error::internal("ModelBuilder::finish: missing lists"));
        }
        Ok(self.m)
    }
}

/// One outcome in a [`StepTable`]: 16 bytes, so a pair's outcomes share a cache line.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct TableOutcome {
    /// The reward.
    pub reward: f64,
    /// The next state.
    pub next: u32,
    /// 1 if the episode terminates on this transition, else 0.
    pub done: u32,
}

/// A compact, branch-free sampling table of a [`TabularModel`] for throughput
/// benchmarks (`rlkit bench steps`) and vectorised rollouts.
///
/// Every (s, a) pair gets exactly `k` slots (k = the largest outcome count,
/// 1 on deterministic grids, 3 on slippery FrozenLake), padded by repeating
/// its last outcome, and `k − 1` cumulative thresholds on a 32-bit uniform
/// number: the outcome is slot `Σ_j [u ≥ thr_j]`, a sum of comparisons with
/// no data-dependent branch. Probabilities are thus quantised to 2^-32, so
/// this table is *not* the sampler of `TabularEnv::step` (which
/// draws an `f64` per step and must keep its exact random stream); it samples
/// the same distribution up to that quantisation.
#[derive(Debug, Clone)]
pub struct StepTable {
    k: usize,
    na: usize,
    /// `k − 1` thresholds per pair (empty when k = 1).
    thr: Vec<u32>,
    /// `k` outcomes per pair.
    out: Vec<TableOutcome>,
}

impl StepTable {
    /// Build the table of `model`. Fails if a pair has more than 8 outcomes.
    pub fn new(model: &TabularModel) -> Result<StepTable> {
        let (offsets, prob, next, reward, done) = model.raw();
        let pairs = model.n_states * model.n_actions;
        let k = (0..pairs).map(|i| offsets[i + 1] - offsets[i]).max().unwrap_or(1).max(1);
        if k > 8 {
            return Err(Error::input(format!("step table: a pair has {k} outcomes (at most 8 supported)")));
        }
        let mut thr = Vec::with_capacity(pairs * (k - 1));
        let mut out = Vec::with_capacity(pairs * k);
        for i in 0..pairs {
            let (lo, hi) = (offsets[i], offsets[i + 1]);
            let mut acc = 0.0;
            for j in 0..k {
                let t = (lo + j).min(hi - 1);
                out.push(TableOutcome { reward: reward[t], next: next[t], done: done[t] as u32 });
                if j + 1 < k {
                    acc += if lo + j < hi { prob[lo + j] } else { 0.0 };
                    // u ≥ thr selects a later slot; a padded slot is never reached.
                    let th = if lo + j + 1 >= hi { u64::MAX } else { (acc * 4_294_967_296.0).round() as u64 };
                    thr.push(th.min(u32::MAX as u64) as u32);
                }
            }
        }
        Ok(StepTable { k, na: model.n_actions, thr, out })
    }

    /// Outcome slots per pair.
    pub fn slots(&self) -> usize {
        self.k
    }

    /// The outcome of (s, a) for a uniform 32-bit number `u`.
    #[inline(always)]
    pub fn sample(&self, s: usize, a: usize, u: u32) -> &TableOutcome {
        let p = s * self.na + a;
        let mut j = 0usize;
        let th = &self.thr[p * (self.k - 1)..(p + 1) * (self.k - 1)];
        for &t in th {
            j += (u >= t) as usize;
        }
        &self.out[p * self.k + j]
    }

    /// Specialised sampler for a known slot count `K` (1 or 3 in practice).
    #[inline(always)]
    pub fn sample_k<const K: usize>(&self, s: usize, a: usize, u: u32) -> &TableOutcome {
        debug_assert_eq!(K, self.k);
        let p = s * self.na + a;
        let mut j = 0usize;
        if K > 1 {
            let th = &self.thr[p * (K - 1)..(p + 1) * (K - 1)];
            for &t in th {
                j += (u >= t) as usize;
            }
        }
        &self.out[p * K + j]
    }
}

/// wyrand (Wang Yi's 64-bit generator): one multiply per draw. A fast,
/// statistically sound non-cryptographic RNG for benchmark loops; rlkit's
/// agents and environments keep their seeded `ChaCha8Rng` streams.
#[derive(Debug, Clone)]
pub struct WyRand(u64);

impl WyRand {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        WyRand(seed)
    }

    /// The next 64 random bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.0 as u128).wrapping_mul((self.0 ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) as u64) ^ (t as u64)
    }
}

#[cfg(test)]
mod step_table_tests {
    use super::*;

    #[test]
    fn step_table_matches_model_frequencies() {
        let w = crate::env::World::load("envs/frozen_lake_8x8.toml".as_ref()).unwrap();
        let m = w.model();
        let t = StepTable::new(m).unwrap();
        assert_eq!(t.slots(), 3);
        // Every sampled outcome is one of the model's, at about the model's frequency.
        let mut rng = WyRand::new(3);
        for (s, a) in [(0, 1), (9, 2), (20, 3), (62, 0)] {
            let mut counts = std::collections::HashMap::new();
            let n = 30_000;
            for _ in 0..n {
                let o = t.sample(s, a, rng.next_u64() as u32);
                *counts.entry(o.next).or_insert(0usize) += 1;
            }
            let mut exp: std::collections::HashMap<u32, f64> = Default::default();
            for tr in m.transitions(s, a) {
                *exp.entry(tr.next as u32).or_insert(0.0) += tr.prob;
            }
            for (nx, c) in counts {
                let p = exp[&nx];
                assert!((c as f64 / n as f64 - p).abs() < 0.02, "s {s} a {a} next {nx}");
            }
        }
        // Deterministic models: one slot, the model's only outcome.
        let w = crate::env::World::load("envs/cliff_walking.toml".as_ref()).unwrap();
        let t = StepTable::new(w.model()).unwrap();
        assert_eq!(t.slots(), 1);
        for s in 0..w.model().n_states() {
            for a in 0..w.model().n_actions() {
                let tr = w.model().sample(s, a, 0.5);
                let o = t.sample_k::<1>(s, a, 12345);
                assert_eq!((o.next as usize, o.reward, o.done == 1), (tr.next, tr.reward, tr.done));
            }
        }
    }
}
