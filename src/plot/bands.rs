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

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, Slice};

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
    // Resample b as counts: c[b][j] = how often seed j was drawn. Then
    // m_b(x) = Σ_j c[b][j]·y_j(x) / S for every x at once: one matrix product
    // (resamples × seeds)·(seeds × x), which matrixmultiply runs with the
    // CPU's widest FMA kernels, instead of S dependent adds per (b, x).
    let mut counts = Array2::<f64>::zeros((resamples, s));
    for b in 0..resamples {
        for _ in 0..s {
            counts[[b, rng.random_range(0..s)]] += 1.0;
        }
    }
    let flat: Vec<f64> = curves.iter().flat_map(|c| c.iter().copied()).collect();
    let y = ArrayView2::from_shape((s, len), &flat).map_err(|e| Error::internal(format!("bootstrap_band: {e}")))?;
    let mut band = Band { mean: Vec::with_capacity(len), lo: Vec::with_capacity(len), hi: Vec::with_capacity(len) };
    // A block of x at a time, so the products stay in cache: sums[dx][b].
    const XB: usize = 64;
    let mut sums = Array2::<f64>::zeros((XB.min(len), resamples));
    let mut tails = Tails::default();
    for x0 in (0..len).step_by(XB) {
        let xb = XB.min(len - x0);
        let mut block = sums.slice_axis_mut(Axis(0), Slice::from(..xb));
        // sums[dx][b] = Σ_j counts[b][j]·y[j][x0 + dx], computed as the product
        // counts · y[.., x0..x0 + xb] written into the transposed view of the
        // block: matrixmultiply then packs only a (≤ 256 × S) slice of counts
        // and an S × xb slice of y, small enough for malloc to reuse its
        // buffer across calls (no fresh pages, no page faults).
        general_mat_mul(
            1.0,
            &counts,
            &y.slice_axis(Axis(1), Slice::from(x0..x0 + xb)),
            0.0,
            &mut block.view_mut().reversed_axes(),
        );
        for dx in 0..xb {
            let x = x0 + dx;
            if curves.iter().any(|c| !c[x].is_finite()) {
                band.mean.push(f64::NAN);
                band.lo.push(f64::NAN);
                band.hi.push(f64::NAN);
                continue;
            }
            band.mean.push(curves.iter().map(|c| c[x]).sum::<f64>() / s as f64);
            // Four order statistics, found among the values beyond the
            // previous x's thresholds (the curves are smooth and share their
            // resamples, so the tails move little from one x to the next).
            // Dividing by S is monotone, so the order statistics of the means
            // are those of the sums, divided: only these four are divided.
            let row = block.row(dx);
            let sums_x = row.as_slice().ok_or_else(|| Error::internal("bootstrap_band: strided sums"))?;
            let (lo, hi) = tails.percentiles_scaled(sums_x, 0.025, 0.975, s as f64);
            band.lo.push(lo);
            band.hi.push(hi);
        }
    }
    Ok(band)
}

/// Tail percentiles of a sequence of similar samples (one per x): the
/// thresholds of the previous sample say which values can be in this one's
/// tails, so one branch-free pass collects a few dozen candidates, which are
/// sorted. When too few values pass a threshold, that tail falls back to
/// selection over all values. Order statistics under [`f64::total_cmp`] are
/// unique bit patterns, so the result is bit-identical to sorting everything.
#[derive(Default)]
struct Tails {
    keys: Vec<i64>,
    small: Vec<i64>,
    large: Vec<i64>,
    thr_small: Option<i64>,
    thr_large: Option<i64>,
}

impl Tails {
    /// `(percentile_select(data, q_lo), percentile_select(data, q_hi))`.
    #[cfg(test)]
    fn percentiles(&mut self, data: &[f64], q_lo: f64, q_hi: f64) -> (f64, f64) {
        self.percentiles_scaled(data, q_lo, q_hi, 1.0)
    }

    /// The percentiles of `{x / d : x in data}` (`d` > 0), bit for bit, with
    /// only the order statistics divided (x ↦ x / d is monotone).
    fn percentiles_scaled(&mut self, data: &[f64], q_lo: f64, q_hi: f64, d: f64) -> (f64, f64) {
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
        // Wanted: order statistics il, il+1 (the m_small smallest) and ih, ih+1
        // (the m_large largest).
        let m_small = (il + 2).min(n);
        let m_large = (n - ih).min(n);
        if 2 * (m_small + m_large) > n {
            // Not tails: select over everything.
            let mut v: Vec<f64> = data.iter().map(|&x| x / d).collect();
            return (percentile_select(&mut v, q_lo), percentile_select(&mut v, q_hi));
        }
        self.keys.clear();
        self.keys.extend(data.iter().map(|&x| total_key(x)));
        // The smallest: keys ≤ the threshold, ascending; keep about 2·m so the
        // next threshold has room.
        let small = Self::tail(&self.keys, m_small, &mut self.small, &mut self.thr_small, |k, t| k <= t, false);
        let lo_a = from_key(small[il]) / d;
        let lo = if il + 1 < n { lo_a + fl * (from_key(small[il + 1]) / d - lo_a) } else { lo_a };
        // The largest: keys ≥ the threshold, descending (the j-th largest is
        // order statistic n − 1 − j).
        let large = Self::tail(&self.keys, m_large, &mut self.large, &mut self.thr_large, |k, t| k >= t, true);
        let hi_a = from_key(large[n - 1 - ih]) / d;
        let hi = if ih + 1 < n { hi_a + fh * (from_key(large[n - 2 - ih]) / d - hi_a) } else { hi_a };
        (lo, hi)
    }

    /// The `m` most extreme keys (smallest, or largest when `desc`), sorted
    /// from the extreme inward, with the threshold for the next call updated.
    fn tail<'a>(
        keys: &[i64],
        m: usize,
        buf: &'a mut Vec<i64>,
        thr: &mut Option<i64>,
        pass: impl Fn(i64, i64) -> bool,
        desc: bool,
    ) -> &'a [i64] {
        let keep = (2 * m).min(keys.len());
        let mut found = false;
        if let Some(t) = *thr {
            // Branch-free: write every key, advance past the ones that pass.
            buf.clear();
            buf.resize(keys.len() + 1, 0);
            let mut len = 0;
            for &k in keys {
                buf[len] = k;
                len += pass(k, t) as usize;
            }
            buf.truncate(len);
            found = len >= m;
        }
        if !found {
            buf.clear();
            buf.extend_from_slice(keys);
            if keep < buf.len() {
                if desc {
                    buf.select_nth_unstable_by(keep - 1, |a, b| b.cmp(a));
                } else {
                    buf.select_nth_unstable(keep - 1);
                }
                buf.truncate(keep);
            }
        }
        if desc {
            buf.sort_unstable_by(|a, b| b.cmp(a));
        } else {
            buf.sort_unstable();
        }
        *thr = Some(buf[keep.min(buf.len()) - 1]);
        &buf[..m]
    }
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

    /// The band equals the textbook loop (sum per resample in draw order,
    /// full sort) to rounding: the product form sums the same terms as
    /// counts × values in another order, so the resampled means agree to a
    /// few ulps, and the percentiles with them. NaN columns stay NaN.
    #[test]
    fn band_equals_textbook_loop() {
        use rand::RngExt;
        let mut rng = crate::util::rng_for(9, &[]);
        for (s, len, resamples) in [(13, 150, 300), (50, 200, 1000), (1, 3, 7), (2, 65, 40)] {
            let mut curves: Vec<Vec<f64>> =
                (0..s).map(|_| (0..len).map(|_| rng.random::<f64>() * 200.0 - 150.0).collect()).collect();
            // Smooth runs too (where the thresholds carry over from x to x).
            for c in curves.iter_mut() {
                for x in 1..len {
                    if x % 7 != 0 {
                        c[x] = 0.9 * c[x - 1] + 0.1 * c[x];
                    }
                }
            }
            curves[0][len / 2] = f64::NAN;
            let b = bootstrap_band(&curves, resamples, 4).unwrap();
            let mut rng = crate::util::rng_for(4, &[]);
            let draws: Vec<Vec<usize>> =
                (0..resamples).map(|_| (0..s).map(|_| rng.random_range(0..s)).collect()).collect();
            for x in 0..len {
                let col: Vec<f64> = curves.iter().map(|c| c[x]).collect();
                if x == len / 2 {
                    assert!(b.mean[x].is_nan() && b.lo[x].is_nan() && b.hi[x].is_nan());
                    continue;
                }
                let mut means: Vec<f64> =
                    draws.iter().map(|d| d.iter().map(|&i| col[i]).sum::<f64>() / s as f64).collect();
                means.sort_by(f64::total_cmp);
                assert_eq!(b.mean[x].to_bits(), (col.iter().sum::<f64>() / s as f64).to_bits());
                let tol = 1e-12 * 150.0;
                let (lo, hi) = (percentile_sorted(&means, 0.025), percentile_sorted(&means, 0.975));
                assert!((b.lo[x] - lo).abs() < tol, "s {s} x {x}: lo {} vs {lo}", b.lo[x]);
                assert!((b.hi[x] - hi).abs() < tol, "s {s} x {x}: hi {} vs {hi}", b.hi[x]);
            }
        }
    }

    /// The threshold tails equal selection bit for bit, on data with ties,
    /// signed zeros and every size from 1 up (including the fallbacks), on
    /// sequences of samples that drift slowly (thresholds carried over), jump
    /// (fallback to selection) or repeat.
    #[test]
    fn tail_percentiles_equal_selection() {
        use rand::RngExt;
        let mut rng = crate::util::rng_for(21, &[]);
        for n in (1..60).chain([999, 1000, 1001, 4000]) {
            for (ql, qh) in [(0.025, 0.975), (0.0, 1.0), (0.1, 0.9), (0.5, 0.5), (0.3, 0.6)] {
                let (mut tails, mut scaled) = (Tails::default(), Tails::default());
                let mut data: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 100.0 - 50.0).collect();
                for round in 0..12 {
                    match round % 6 {
                        // Drift: every value moves a little.
                        0 | 1 => data.iter_mut().for_each(|x| *x += rng.random::<f64>() - 0.5),
                        2 => data = (0..n).map(|_| (rng.random_range(-3i32..4) as f64) * 0.5).collect(),
                        3 => data = (0..n).map(|_| [0.0, -0.0, 1.0, -1.0][rng.random_range(0..4)]).collect(),
                        4 => {} // the same sample again
                        _ => data = (0..n).map(|_| rng.random_range(0..n) as f64 + 1e3 * round as f64).collect(),
                    }
                    let (lo, hi) = tails.percentiles(&data, ql, qh);
                    let mut v = data.clone();
                    assert_eq!(lo.to_bits(), percentile_select(&mut v, ql).to_bits(), "n {n} round {round} q {ql}");
                    let mut v = data.clone();
                    assert_eq!(hi.to_bits(), percentile_select(&mut v, qh).to_bits(), "n {n} round {round} q {qh}");
                    // Scaled: the percentiles of data / 7, dividing only the order statistics.
                    let (lo7, hi7) = scaled.percentiles_scaled(&data, ql, qh, 7.0);
                    let mut v: Vec<f64> = data.iter().map(|x| x / 7.0).collect();
                    assert_eq!(lo7.to_bits(), percentile_select(&mut v, ql).to_bits(), "n {n} round {round} /7");
                    assert_eq!(hi7.to_bits(), percentile_select(&mut v, qh).to_bits(), "n {n} round {round} /7");
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
