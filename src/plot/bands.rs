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
    let mut band = Band { mean: Vec::with_capacity(len), lo: Vec::with_capacity(len), hi: Vec::with_capacity(len) };
    // Resampled means for a block of x at a time: for each resample, add the
    // drawn seeds' curves row by row. Every m_b(x) is the same sum, in the same
    // order, as `Σ_j col[d_j]` over its draws (so the band is bit-identical to
    // the textbook loop), but the adds run along x, which vectorises, instead
    // of one dependent chain per (b, x).
    const XB: usize = 16;
    let mut sums = vec![0.0f64; resamples * XB];
    let mut means = vec![0.0f64; resamples];
    for x0 in (0..len).step_by(XB) {
        let xb = XB.min(len - x0);
        for (b, out) in sums.chunks_exact_mut(XB).enumerate() {
            if xb == XB {
                // A full block: the XB running sums stay in registers.
                let mut acc = [0.0f64; XB];
                for &i in &draws[b * s..(b + 1) * s] {
                    let row = &curves[i as usize][x0..x0 + XB];
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
            // Only four order statistics are needed: select them instead of sorting.
            band.lo.push(percentile_select(&mut means, 0.025));
            band.hi.push(percentile_select(&mut means, 0.975));
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

    #[test]
    fn polygon_goes_up_then_back() {
        let p = band_polygon(&[1.0, 2.0, 3.0], &[0.0, f64::NAN, 0.5], &[1.0, 1.0, 1.5]);
        assert_eq!(p, vec![(1.0, 1.0), (3.0, 1.5), (3.0, 0.5), (1.0, 0.0)]);
    }
}
