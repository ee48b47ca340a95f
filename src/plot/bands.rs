//! Multi-seed bands: the mean curve with a percentile-bootstrap 95 % CI.
//!
//! For curves y_s(x), s = 1..S (one per seed, all the same length), the band
//! at each x is
//!
//! ```text
//!   mean(x) = (1/S) Σ_s y_s(x)
//!   for b = 1..B: draw S seed indices with replacement, m_b(x) = their mean
//!   lo(x), hi(x) = the 2.5th and 97.5th percentiles of {m_b(x)}
//! ```
//!
//! The B resamples of seed indices are drawn once from a seeded stream and
//! shared by every x, so the band is a smooth function of x and reproducible.
//! Percentiles interpolate linearly between order statistics (NumPy's
//! default). A point where any seed's value is not finite gets NaN.
//!
//! Shade a band with [`band_polygon`]: the upper curve followed by the
//! reversed lower curve.

use crate::{Error, Result};

/// Default number of bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 1000;

/// A mean curve and its bootstrap band, one entry per x.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Mean over seeds.
    pub mean: Vec<f64>,
    /// 2.5th percentile of the resampled means.
    pub lo: Vec<f64>,
    /// 97.5th percentile of the resampled means.
    pub hi: Vec<f64>,
}

pub use crate::util::percentile_sorted;

/// [`percentile_sorted`] of `data` without sorting it all: the two order
/// statistics around position q·(n − 1) are found by selection (O(n)); `data`
/// is reordered. Equal to sorting first, value for value.
pub fn percentile_select(data: &mut [f64], q: f64) -> f64 {
    let n = data.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    let (_, &mut lo, rest) = data.select_nth_unstable_by(i, f64::total_cmp);
    if i + 1 < n {
        let hi = rest.iter().copied().min_by(f64::total_cmp).unwrap_or(lo);
        lo + frac * (hi - lo)
    } else {
        lo
    }
}

/// The key of `x` in the order of [`f64::total_cmp`], as a signed integer.
#[inline]
fn total_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The inverse of [`total_key`] (the map is an involution).
#[inline]
fn from_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// Scratch space of [`tail_percentiles`]: the smallest and the largest keys
/// seen so far, each kept sorted (ascending and descending).
#[derive(Default)]
struct TailKeys {
    small: Vec<i64>,
    large: Vec<i64>,
}

/// `(percentile_select(data, q_lo), percentile_select(data, q_hi))` for
/// percentiles in the tails (`q_lo` ≤ 0.5 ≤ `q_hi`), in one pass over `data`
/// without reordering it: the order statistics needed lie among the
/// `⌊q_lo·(n−1)⌋ + 2` smallest and the `n − ⌊q_hi·(n−1)⌋` largest values,
/// which two short sorted buffers collect (most values fail the first
/// comparison). Order statistics under [`f64::total_cmp`] are unique bit
/// patterns, so the result is bit-identical to selecting or sorting.
fn tail_percentiles(data: &[f64], q_lo: f64, q_hi: f64, keys: &mut TailKeys) -> (f64, f64) {
    let n = data.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let pos = |q: f64| {
        let p = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let i = p.floor() as usize;
        (i, p - i as f64)
    };
    let ((il, fl), (ih, fh)) = (pos(q_lo), pos(q_hi));
    // Order statistics wanted: il, il+1 (from the bottom) and ih, ih+1 (from the top).
    let m_small = (il + 2).min(n);
    let m_large = (n - ih).min(n);
    if m_small + m_large > n / 2 + 2 {
        // Not tails: fall back to selection.
        let mut v = data.to_vec();
        return (percentile_select(&mut v, q_lo), percentile_select(&mut v, q_hi));
    }
    let (small, large) = (&mut keys.small, &mut keys.large);
    small.clear();
    large.clear();
    for &x in data {
        let k = total_key(x);
        if small.len() < m_small {
            let at = small.partition_point(|&s| s <= k);
            small.insert(at, k);
        } else if k < small[m_small - 1] {
            let at = small.partition_point(|&s| s <= k);
            small.pop();
            small.insert(at, k);
        }
        if large.len() < m_large {
            let at = large.partition_point(|&s| s >= k);
            large.insert(at, k);
        } else if k > large[m_large - 1] {
            let at = large.partition_point(|&s| s >= k);
            large.pop();
            large.insert(at, k);
        }
    }
    let interp = |a: f64, b: f64, frac: f64| a + frac * (b - a);
    let lo = if il + 1 < n { interp(from_key(small[il]), from_key(small[il + 1]), fl) } else { from_key(small[il]) };
    // The j-th largest (0-based) is order statistic n − 1 − j.
    let hi = if ih + 1 < n {
        interp(from_key(large[n - 1 - ih]), from_key(large[n - 2 - ih]), fh)
    } else {
        from_key(large[n - 1 - ih])
    };
    (lo, hi)
}

/// Mean and 95 % percentile-bootstrap band of `curves` (seeds × x) with
/// `resamples` ≥ 1 resamples drawn from `rng_for(seed, &[])`.
///
/// ```
/// use rlkit::plot::bands::bootstrap_band;
/// let curves = vec![vec![1.0, 2.0], vec![3.0, 2.0], vec![2.0, 2.0]];
/// let b = bootstrap_band(&curves, 1000, 0).unwrap();
/// assert_eq!(b.mean, vec![2.0, 2.0]);
/// assert!(b.lo[0] < 2.0 && b.hi[0] > 2.0);
/// assert_eq!((b.lo[1], b.hi[1]), (2.0, 2.0)); // no spread, no band
/// ```
pub fn bootstrap_band(curves: &[Vec<f64>], resamples: usize, seed: u64) -> Result<Band> {
    use rand::RngExt;
    let s = curves.len();
    if s == 0 || resamples == 0 {
        return Err(Error::internal("bootstrap_band: no curves or no resamples"));
    }
    let len = curves[0].len();
    if curves.iter().any(|c| c.len() != len) {
        return Err(Error::internal("bootstrap_band: curves of different lengths"));
    }
    let mut rng = crate::util::rng_for(seed, &[]);
    // The same draws, in the same order, as one flat array.
    let draws: Vec<u32> = (0..resamples * s).map(|_| rng.random_range(0..s) as u32).collect();
    // The curves side by side in one array, and each draw as the offset of its
    // curve: one load per drawn row instead of two dependent ones.
    let flat: Vec<f64> = curves.iter().flat_map(|c| c.iter().copied()).collect();
    let offsets: Vec<usize> = draws.iter().map(|&i| i as usize * len).collect();
    let mut band = Band { mean: Vec::with_capacity(len), lo: Vec::with_capacity(len), hi: Vec::with_capacity(len) };
    // Resampled means for a block of x at a time: for each resample, add the
    // drawn seeds' curves row by row. Every m_b(x) is the same sum, in the same
    // order, as `Σ_j col[d_j]` over its draws (so the band is bit-identical to
    // the textbook loop), but the adds run along x, which vectorises, instead
    // of one dependent chain per (b, x).
    const XB: usize = 16;
    let mut sums = vec![0.0f64; resamples * XB];
    let mut means = vec![0.0f64; resamples];
    let mut keys = TailKeys::default();
    for x0 in (0..len).step_by(XB) {
        let xb = XB.min(len - x0);
        for (b, out) in sums.chunks_exact_mut(XB).enumerate() {
            if xb == XB {
                // A full block: the XB running sums stay in registers.
                let mut acc = [0.0f64; XB];
                for &o in &offsets[b * s..(b + 1) * s] {
                    let row: &[f64; XB] = flat[o + x0..o + x0 + XB].try_into().expect("XB wide");
                    for k in 0..XB {
                        acc[k] += row[k];
                    }
                }
                out.copy_from_slice(&acc);
            } else {
                let acc = &mut out[..xb];
                acc.fill(0.0);
                for &i in &draws[b * s..(b + 1) * s] {
                    for (a, &y) in acc.iter_mut().zip(&curves[i as usize][x0..x0 + xb]) {
                        *a += y;
                    }
                }
            }
        }
        for dx in 0..xb {
            let x = x0 + dx;
            if curves.iter().any(|c| !c[x].is_finite()) {
                band.mean.push(f64::NAN);
                band.lo.push(f64::NAN);
                band.hi.push(f64::NAN);
                continue;
            }
            band.mean.push(curves.iter().map(|c| c[x]).sum::<f64>() / s as f64);
            for (m, acc) in means.iter_mut().zip(sums.chunks_exact(XB)) {
                *m = acc[dx] / s as f64;
            }
            // Only four order statistics are needed: two bounded insertion
            // buffers find them in one predictable pass.
            let (lo, hi) = tail_percentiles(&means, 0.025, 0.975, &mut keys);
            band.lo.push(lo);
            band.hi.push(hi);
        }
    }
    Ok(band)
}

/// The polygon of a band: (x, hi) left to right, then (x, lo) right to left.
/// Points where either bound is not finite are skipped.
pub fn band_polygon(xs: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let ok = |i: &usize| xs[*i].is_finite() && lo[*i].is_finite() && hi[*i].is_finite();
    let idx: Vec<usize> = (0..xs.len()).filter(ok).collect();
    let mut poly: Vec<(f64, f64)> = idx.iter().map(|&i| (xs[i], hi[i])).collect();
    poly.extend(idx.iter().rev().map(|&i| (xs[i], lo[i])));
    poly
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        assert!((percentile_sorted(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((percentile_sorted(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((percentile_sorted(&v, 0.975) - 3.925).abs() < 1e-12);
    }

    /// With many seeds of i.i.d. N(0,1) values, the bootstrap band is close to
    /// the normal-theory interval mean ± 1.96·σ/√S.
    #[test]
    fn band_width_matches_normal_theory() {
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = crate::util::rng_for(3, &[]);
        let s = 400;
        let curves: Vec<Vec<f64>> = (0..s).map(|_| vec![StandardNormal.sample(&mut rng)]).collect();
        let b = bootstrap_band(&curves, 4000, 1).unwrap();
        let mean = b.mean[0];
        let sd = (curves.iter().map(|c| (c[0] - mean).powi(2)).sum::<f64>() / (s - 1) as f64).sqrt();
        let half = 1.96 * sd / (s as f64).sqrt();
        assert!(((b.hi[0] - b.lo[0]) / 2.0 - half).abs() < 0.1 * half, "{b:?} vs ±{half}");
        assert!(b.lo[0] < mean && mean < b.hi[0]);
    }

    /// The blocked, selecting band equals the textbook loop (sum per resample
    /// in draw order, full sort) bit for bit, NaN columns included.
    #[test]
    fn band_equals_textbook_loop_bit_for_bit() {
        use rand::RngExt;
        let mut rng = crate::util::rng_for(9, &[]);
        let (s, len, resamples) = (13, 150, 300);
        let mut curves: Vec<Vec<f64>> =
            (0..s).map(|_| (0..len).map(|_| rng.random::<f64>() * 200.0 - 150.0).collect()).collect();
        curves[3][70] = f64::NAN;
        let b = bootstrap_band(&curves, resamples, 4).unwrap();
        let mut rng = crate::util::rng_for(4, &[]);
        let draws: Vec<Vec<usize>> = (0..resamples).map(|_| (0..s).map(|_| rng.random_range(0..s)).collect()).collect();
        for x in 0..len {
            let col: Vec<f64> = curves.iter().map(|c| c[x]).collect();
            if x == 70 {
                assert!(b.mean[x].is_nan() && b.lo[x].is_nan() && b.hi[x].is_nan());
                continue;
            }
            let mut means: Vec<f64> = draws.iter().map(|d| d.iter().map(|&i| col[i]).sum::<f64>() / s as f64).collect();
            means.sort_by(f64::total_cmp);
            assert_eq!(b.mean[x].to_bits(), (col.iter().sum::<f64>() / s as f64).to_bits());
            assert_eq!(b.lo[x].to_bits(), percentile_sorted(&means, 0.025).to_bits());
            assert_eq!(b.hi[x].to_bits(), percentile_sorted(&means, 0.975).to_bits());
        }
    }

    /// The one-pass tail percentiles equal selection bit for bit, on data with
    /// ties, signed zeros and every size from 1 up (including the fallback).
    #[test]
    fn tail_percentiles_equal_selection() {
        use rand::RngExt;
        let mut rng = crate::util::rng_for(21, &[]);
        let mut keys = TailKeys::default();
        for n in (1..60).chain([999, 1000, 1001, 4000]) {
            for round in 0..4 {
                let data: Vec<f64> = (0..n)
                    .map(|_| match round {
                        0 => rng.random::<f64>() * 100.0 - 50.0,
                        1 => (rng.random_range(-3i32..4) as f64) * 0.5,
                        2 => [0.0, -0.0, 1.0, -1.0][rng.random_range(0..4)],
                        _ => rng.random_range(0..n) as f64,
                    })
                    .collect();
                for (ql, qh) in [(0.025, 0.975), (0.0, 1.0), (0.1, 0.9), (0.5, 0.5), (0.3, 0.6)] {
                    let (lo, hi) = tail_percentiles(&data, ql, qh, &mut keys);
                    let mut v = data.clone();
                    assert_eq!(lo.to_bits(), percentile_select(&mut v, ql).to_bits(), "n {n} round {round} q {ql}");
                    let mut v = data.clone();
                    assert_eq!(hi.to_bits(), percentile_select(&mut v, qh).to_bits(), "n {n} round {round} q {qh}");
                }
            }
        }
        // The key order is total_cmp's.
        let xs = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-300, 3.0, f64::INFINITY];
        for w in xs.windows(2) {
            assert!(total_key(w[0]) < total_key(w[1]));
            assert_eq!(from_key(total_key(w[0])).to_bits(), w[0].to_bits());
        }
    }

    #[test]
    fn polygon_goes_up_then_back() {
        let p = band_polygon(&[1.0, 2.0, 3.0], &[0.0, f64::NAN, 0.5], &[1.0, 1.0, 1.5]);
        assert_eq!(p, vec![(1.0, 1.0), (3.0, 1.5), (3.0, 0.5), (1.0, 0.0)]);
    }
}
