//! Aggregate statistics across runs and tasks, after rliable (Agarwal et al.,
//! *Deep RL at the Edge of the Statistical Precipice*, NeurIPS 2021).
//!
//! Scores of one agent are a ragged matrix `tasks × runs` ([`Scores`]).
//!
//! - Point estimates as rliable defines them: [`mean`] and [`median`] of the
//!   per-task mean scores, [`iqm`] (pool every score, drop ⌊0.25·N⌋ from each
//!   end, average the rest) and [`optimality_gap`] (the mean shortfall of
//!   every score below a threshold γ, on normalized scores).
//! - 95 % intervals by the **stratified bootstrap** ([`aggregate`]): each
//!   resample draws, within every task, as many runs as the task has, with
//!   replacement; the interval is the 2.5th and 97.5th percentile of the
//!   resampled estimates (linear interpolation, as `numpy.percentile`).
//!   Resample indices come from `rlkit::util::rng_for(seed, [stream])`, so
//!   intervals are reproducible.
//! - [`performance_profile`]: the fraction of runs with a score above τ, with bands.
//! - [`probability_of_improvement`]: P(X > Y), averaged over tasks, with its interval.
//!
//! ```
//! use rlkit::stats::{aggregate, iqm};
//! let scores = vec![vec![1.0, 2.0, 3.0, 4.0], vec![10.0, 20.0, 30.0, 40.0]];
//! assert_eq!(iqm(&scores), (3.0 + 4.0 + 10.0 + 20.0) / 4.0);
//! let a = aggregate(&scores, 1.0, 2000, 7);
//! assert!(a.iqm.lo <= a.iqm.estimate && a.iqm.estimate <= a.iqm.hi);
//! assert_eq!(a, aggregate(&scores, 1.0, 2000, 7)); // same seed, same intervals
//! ```

use rand::RngExt;

use crate::util::percentile_sorted;
use crate::util::rng_for;

/// Scores of one agent: one row per task, one entry per run (rows may differ in length).
pub type Scores = Vec<Vec<f64>>;

/// Default bootstrap resamples (rliable's default is 50,000 for final plots;
/// 2,000 keeps the CLI quick; pass `--resamples`).
pub const DEFAULT_RESAMPLES: usize = 2000;

/// A point estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The estimate on the data.
    pub estimate: f64,
    /// 2.5th percentile of the bootstrap estimates.
    pub lo: f64,
    /// 97.5th percentile of the bootstrap estimates.
    pub hi: f64,
}

/// The four aggregates of one agent, with stratified-bootstrap intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregates {
    /// Mean of the per-task means.
    pub mean: Interval,
    /// Median of the per-task means.
    pub median: Interval,
    /// Interquartile mean.
    pub iqm: Interval,
    /// Optimality gap.
    pub optimality_gap: Interval,
}

fn pooled_sorted(scores: &[Vec<f64>]) -> Vec<f64> {
    let mut v: Vec<f64> = scores.iter().flatten().copied().collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Mean: the mean over tasks of each task's mean score (rliable's
/// `aggregate_mean`; with equal runs per task, the mean of every score).
pub fn mean(scores: &[Vec<f64>]) -> f64 {
    let means = task_means(scores);
    means.iter().sum::<f64>() / means.len() as f64
}

/// Median: the median over tasks of each task's mean score (rliable's
/// `aggregate_median`; the mean of the two middle ones for an even count).
pub fn median(scores: &[Vec<f64>]) -> f64 {
    let mut m = task_means(scores);
    m.sort_by(f64::total_cmp);
    median_sorted(&m)
}

fn task_means(scores: &[Vec<f64>]) -> Vec<f64> {
    scores.iter().map(|t| t.iter().sum::<f64>() / t.len() as f64).collect()
}

fn median_sorted(v: &[f64]) -> f64 {
    percentile_sorted(v, 0.5)
}

/// Interquartile mean: pool every score, sort, drop ⌊0.25·N⌋ from each end and
/// average the rest (`scipy.stats.trim_mean(x, 0.25)`, as rliable).
pub fn iqm(scores: &[Vec<f64>]) -> f64 {
    iqm_sorted(&pooled_sorted(scores))
}

fn iqm_sorted(v: &[f64]) -> f64 {
    let cut = v.len() / 4;
    let mid = &v[cut..v.len() - cut];
    mid.iter().sum::<f64>() / mid.len() as f64
}

/// Optimality gap: γ − mean(min(score, γ)), the average shortfall below γ
/// (γ = 1 for scores normalized so that 1 is "solved").
pub fn optimality_gap(scores: &[Vec<f64>], gamma: f64) -> f64 {
    let n: usize = scores.iter().map(Vec::len).sum();
    gamma - scores.iter().flatten().map(|&x| x.min(gamma)).sum::<f64>() / n as f64
}

fn all_four(scores: &[Vec<f64>], sorted: &[f64], gamma: f64) -> [f64; 4] {
    let n = sorted.len() as f64;
    let gap = gamma - sorted.iter().map(|&x| x.min(gamma)).sum::<f64>() / n;
    [mean(scores), median(scores), iqm_sorted(sorted), gap]
}

/// One stratified resample of `scores` into `out` (same shape), from `rng`.
pub fn stratified_resample(scores: &[Vec<f64>], rng: &mut rand_chacha::ChaCha8Rng, out: &mut Vec<Vec<f64>>) {
    out.resize(scores.len(), Vec::new());
    for (task, o) in scores.iter().zip(out.iter_mut()) {
        o.clear();
        let n = task.len();
        o.extend((0..n).map(|_| task[rng.random_range(0..n)]));
    }
}

fn interval(estimate: f64, mut boot: Vec<f64>) -> Interval {
    boot.sort_by(f64::total_cmp);
    Interval { estimate, lo: percentile_sorted(&boot, 0.025), hi: percentile_sorted(&boot, 0.975) }
}

/// Mean, median, IQM and optimality gap (threshold `gamma`) of `scores`, each
/// with a 95 % stratified-bootstrap interval over `resamples` resamples drawn
/// from `rng_for(seed, &[0])`. Panics if some task has no runs.
pub fn aggregate(scores: &[Vec<f64>], gamma: f64, resamples: usize, seed: u64) -> Aggregates {
    assert!(scores.iter().all(|t| !t.is_empty()), "every task needs at least one run");
    let point = all_four(scores, &pooled_sorted(scores), gamma);
    let mut rng = rng_for(seed, &[0]);
    let mut boot: [Vec<f64>; 4] = Default::default();
    let mut buf = Vec::new();
    let mut flat = Vec::new();
    for _ in 0..resamples {
        stratified_resample(scores, &mut rng, &mut buf);
        flat.clear();
        flat.extend(buf.iter().flatten().copied());
        flat.sort_by(f64::total_cmp);
        let e = all_four(&buf, &flat, gamma);
        for k in 0..4 {
            boot[k].push(e[k]);
        }
    }
    let [b0, b1, b2, b3] = boot;
    Aggregates {
        mean: interval(point[0], b0),
        median: interval(point[1], b1),
        iqm: interval(point[2], b2),
        optimality_gap: interval(point[3], b3),
    }
}

/// Run-score distribution (performance profile): for each τ, the fraction of
/// runs with a score strictly above τ, averaged over tasks (rliable's
/// `run_score_distributions`), with a 95 % stratified-bootstrap band.
/// Returns `(τ, fraction, lo, hi)` per τ.
pub fn performance_profile(
    scores: &[Vec<f64>],
    taus: &[f64],
    resamples: usize,
    seed: u64,
) -> Vec<(f64, f64, f64, f64)> {
    let frac = |s: &[Vec<f64>], tau: f64| -> f64 {
        s.iter().map(|t| t.iter().filter(|&&x| x > tau).count() as f64 / t.len() as f64).sum::<f64>() / s.len() as f64
    };
    let mut rng = rng_for(seed, &[1]);
    let mut boot = vec![Vec::with_capacity(resamples); taus.len()];
    let mut buf = Vec::new();
    for _ in 0..resamples {
        stratified_resample(scores, &mut rng, &mut buf);
        for (b, &tau) in boot.iter_mut().zip(taus) {
            b.push(frac(&buf, tau));
        }
    }
    taus.iter()
        .zip(boot)
        .map(|(&tau, b)| {
            let i = interval(frac(scores, tau), b);
            (tau, i.estimate, i.lo, i.hi)
        })
        .collect()
}

/// P(X > Y) of one task: the Mann–Whitney statistic, ties counting ½.
fn p_greater(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for &a in x {
        for &b in y {
            s += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    s / (x.len() * y.len()) as f64
}

/// Probability of improvement of X over Y: the average over tasks of
/// P(X_m > Y_m) (ties ½), with a 95 % interval from stratified resamples of
/// both agents' runs. `x` and `y` must have the same tasks (rows).
pub fn probability_of_improvement(x: &[Vec<f64>], y: &[Vec<f64>], resamples: usize, seed: u64) -> Interval {
    assert_eq!(x.len(), y.len(), "same tasks");
    let poi =
        |x: &[Vec<f64>], y: &[Vec<f64>]| x.iter().zip(y).map(|(a, b)| p_greater(a, b)).sum::<f64>() / x.len() as f64;
    let mut rng = rng_for(seed, &[2]);
    let (mut bx, mut by) = (Vec::new(), Vec::new());
    let boot: Vec<f64> = (0..resamples)
        .map(|_| {
            stratified_resample(x, &mut rng, &mut bx);
            stratified_resample(y, &mut rng, &mut by);
            poi(&bx, &by)
        })
        .collect();
    interval(poi(x, y), boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_estimates_by_hand() {
        // 9 scores: ⌊9/4⌋ = 2 dropped from each end → mean of 3..7 = 5.
        let s = vec![vec![9.0, 1.0, 5.0], vec![2.0, 8.0, 3.0, 7.0], vec![4.0, 6.0]];
        assert_eq!(iqm(&s), 5.0);
        // Task means 5, 5, 5.
        assert_eq!(median(&s), 5.0);
        assert_eq!(mean(&s), 5.0);
        let t = vec![vec![1.0, 3.0], vec![10.0], vec![4.0, 4.0, 7.0]];
        assert_eq!((mean(&t), median(&t)), ((2.0 + 10.0 + 5.0) / 3.0, 5.0));
        assert_eq!(optimality_gap(&s, 4.0), 4.0 - (1.0 + 2.0 + 3.0 + 4.0 * 6.0) / 9.0);
        // 5 scores with an outlier: ⌊5/4⌋ = 1.
        assert_eq!(iqm(&[vec![0.0, 1.0, 2.0, 3.0, 1000.0]]), 2.0);
        assert_eq!(p_greater(&[1.0, 2.0], &[1.0, 0.0]), (0.5 + 1.0 + 1.0 + 1.0) / 4.0);
    }

    #[test]
    fn no_spread_no_interval() {
        let s = vec![vec![3.0; 5], vec![3.0; 2]];
        let a = aggregate(&s, 1.0, 200, 0);
        assert_eq!((a.iqm.lo, a.iqm.estimate, a.iqm.hi), (3.0, 3.0, 3.0));
        let pp = performance_profile(&s, &[2.0, 3.0], 100, 0);
        assert_eq!(pp, vec![(2.0, 1.0, 1.0, 1.0), (3.0, 0.0, 0.0, 0.0)]);
        let p = probability_of_improvement(&s, &[vec![1.0], vec![3.0]], 100, 0);
        assert_eq!(p.estimate, 0.75);
    }
}
