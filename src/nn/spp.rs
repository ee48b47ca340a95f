//! Adaptive max pooling and spatial pyramid pooling (SPP, He et al. 2014).
//!
//! Adaptive max pooling to `n×n` uses PyTorch's bin edges: along an axis of
//! length `a`, bin `i` covers `[⌊i·a/n⌋, ⌈(i+1)·a/n⌉)`. Every bin is non-empty
//! for any `a ≥ 1`, and bins may overlap (for example `a = 3, n = 2` gives
//! `[0,2)` and `[1,3)`); overlapping bins accumulate their gradients. (He et
//! al.'s window `⌈a/n⌉` with stride `⌊a/n⌋` gives the wrong number of bins on
//! small maps, so it is not used.)
//!
//! **Ties:** when a bin holds several equal maxima, the whole gradient goes to
//! the first one in row-major order (as [`crate::nn::pool`] does).
//!
//! SPP with levels `[n₁, n₂, …]` maps `x [N, C, H, W]` to `y [N, C·Σnᵢ²]`: for
//! each level in order, the `[C, n, n]` adaptive-max-pooled block flattened
//! row-major, all concatenated, which is PyTorch's
//! `torch.cat([F.adaptive_max_pool2d(x, n).flatten(1) for n in levels], 1)`.

use ndarray::{Array2, Array4, ArrayView2, ArrayView4};

use super::scalar::Real;

/// Bin `i` of `n` along an axis of length `a`: `[⌊i·a/n⌋, ⌈(i+1)·a/n⌉)`.
///
/// ```
/// use rlkit::nn::spp::adaptive_bin;
/// let bins: Vec<_> = (0..4).map(|i| adaptive_bin(i, 7, 4)).collect();
/// assert_eq!(bins, vec![(0, 2), (1, 4), (3, 6), (5, 7)]);
/// assert_eq!((0..4).map(|i| adaptive_bin(i, 3, 4)).collect::<Vec<_>>(), vec![(0, 1), (0, 2), (1, 3), (2, 3)]);
/// ```
pub fn adaptive_bin(i: usize, a: usize, n: usize) -> (usize, usize) {
    (i * a / n, ((i + 1) * a).div_ceil(n))
}

/// Row-major index (within one `h×w` plane) of the first maximum of the bin
/// rows `r` × columns `q`; a plane of NaNs gives the bin's first cell.
fn first_max<T: Real>(plane: &[T], w: usize, r: (usize, usize), q: (usize, usize)) -> usize {
    let mut best = r.0 * w + q.0;
    let mut m = T::NEG_INFINITY;
    for i in r.0..r.1 {
        let row = &plane[i * w..i * w + w];
        for (j, &v) in row.iter().enumerate().take(q.1).skip(q.0) {
            if v > m {
                m = v;
                best = i * w + j;
            }
        }
    }
    best
}

/// The bins of level `n` on an `h×w` map, row-major: `(rows, cols)` per output cell.
fn level_bins(h: usize, w: usize, n: usize) -> Vec<((usize, usize), (usize, usize))> {
    (0..n * n).map(|k| (adaptive_bin(k / n, h, n), adaptive_bin(k % n, w, n))).collect()
}

/// Adaptive max pooling forward: `x [N, C, H, W]` → `y [N, C, n, n]` (any `H, W ≥ 1`).
pub fn adaptive_max_pool2d_forward<T: Real>(x: ArrayView4<T>, n: usize) -> Array4<T> {
    let (nb, c, h, w) = x.dim();
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let bins = level_bins(h, w, n);
    let mut y = Vec::with_capacity(nb * c * n * n);
    for plane in xs.chunks_exact(h * w) {
        y.extend(bins.iter().map(|&(r, q)| plane[first_max(plane, w, r, q)]));
    }
    Array4::from_shape_vec((nb, c, n, n), y).expect("adaptive pool shape")
}

/// Adaptive max pooling backward: `x [N, C, H, W]`, `dy [N, C, n, n]` → `dx [N, C, H, W]`.
pub fn adaptive_max_pool2d_backward<T: Real>(x: ArrayView4<T>, dy: ArrayView4<T>) -> Array4<T> {
    let (_, _, h, w) = x.dim();
    let n = dy.dim().2;
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let dys = dy.as_standard_layout();
    let dys = dys.as_slice().expect("standard layout");
    let bins = level_bins(h, w, n);
    let mut dx = Array4::<T>::zeros(x.raw_dim());
    let dxs = dx.as_slice_mut().expect("fresh array");
    for ((plane, dplane), g) in xs.chunks_exact(h * w).zip(dxs.chunks_exact_mut(h * w)).zip(dys.chunks_exact(n * n)) {
        for (&(r, q), &gk) in bins.iter().zip(g) {
            dplane[first_max(plane, w, r, q)] += gk;
        }
    }
    dx
}

/// Output length of SPP per sample: `C·Σnᵢ²`.
pub fn spp_len(c: usize, levels: &[usize]) -> usize {
    c * levels.iter().map(|n| n * n).sum::<usize>()
}

/// SPP forward: `x [N, C, H, W]` → `y [N, C·Σnᵢ²]` (see the module docs).
///
/// ```
/// use ndarray::Array4;
/// use rlkit::nn::spp::spp_forward;
/// let x = Array4::from_shape_fn((1, 1, 3, 3), |(_, _, i, j)| (3 * i + j) as f32);
/// let y = spp_forward(x.view(), &[1, 2]);
/// // level 1: max of all = 8; level 2 bins [0,2)×[0,2) … overlap in the middle row/column.
/// assert_eq!(y.row(0).to_vec(), vec![8.0, 4.0, 5.0, 7.0, 8.0]);
/// ```
pub fn spp_forward<T: Real>(x: ArrayView4<T>, levels: &[usize]) -> Array2<T> {
    let (nb, c, h, w) = x.dim();
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let len = spp_len(c, levels);
    let mut y = Array2::<T>::zeros((nb, len));
    let ys = y.as_slice_mut().expect("fresh array");
    let mut off = 0;
    for &n in levels {
        let bins = level_bins(h, w, n);
        for (b, sample) in xs.chunks_exact(c * h * w).enumerate() {
            let out = &mut ys[b * len + off..b * len + off + c * n * n];
            for (plane, o) in sample.chunks_exact(h * w).zip(out.chunks_exact_mut(n * n)) {
                for (&(r, q), ov) in bins.iter().zip(o) {
                    *ov = plane[first_max(plane, w, r, q)];
                }
            }
        }
        off += c * n * n;
    }
    y
}

/// SPP backward: `x [N, C, H, W]`, `dy [N, C·Σnᵢ²]` → `dx [N, C, H, W]`.
pub fn spp_backward<T: Real>(x: ArrayView4<T>, dy: ArrayView2<T>, levels: &[usize]) -> Array4<T> {
    let (_, c, h, w) = x.dim();
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let dys = dy.as_standard_layout();
    let dys = dys.as_slice().expect("standard layout");
    let len = spp_len(c, levels);
    let mut dx = Array4::<T>::zeros(x.raw_dim());
    let dxs = dx.as_slice_mut().expect("fresh array");
    let mut off = 0;
    for &n in levels {
        let bins = level_bins(h, w, n);
        for ((sample, dsample), drow) in
            xs.chunks_exact(c * h * w).zip(dxs.chunks_exact_mut(c * h * w)).zip(dys.chunks_exact(len))
        {
            let g = &drow[off..off + c * n * n];
            for ((plane, dplane), gp) in
                sample.chunks_exact(h * w).zip(dsample.chunks_exact_mut(h * w)).zip(g.chunks_exact(n * n))
            {
                for (&(r, q), &gk) in bins.iter().zip(gp) {
                    dplane[first_max(plane, w, r, q)] += gk;
                }
            }
        }
        off += c * n * n;
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    /// Reference bins from floating-point floor/ceil.
    fn bin_ref(i: usize, a: usize, n: usize) -> (usize, usize) {
        ((i as f64 * a as f64 / n as f64).floor() as usize, ((i + 1) as f64 * a as f64 / n as f64).ceil() as usize)
    }

    /// Reference SPP: per output element, the max over its bin, written straight into place.
    fn spp_reference(x: &Array4<f64>, levels: &[usize]) -> Array2<f64> {
        let (nb, c, h, w) = x.dim();
        let mut out = vec![vec![]; nb];
        for (b, o) in out.iter_mut().enumerate() {
            for &n in levels {
                for ch in 0..c {
                    for i in 0..n {
                        for j in 0..n {
                            let (r0, r1) = bin_ref(i, h, n);
                            let (q0, q1) = bin_ref(j, w, n);
                            let mut m = f64::NEG_INFINITY;
                            for a in r0..r1 {
                                for bb in q0..q1 {
                                    m = m.max(x[[b, ch, a, bb]]);
                                }
                            }
                            o.push(m);
                        }
                    }
                }
            }
        }
        let len = out[0].len();
        Array2::from_shape_vec((nb, len), out.concat()).unwrap()
    }

    #[test]
    fn bins_cover_every_axis_with_n_nonempty_bins() {
        for a in 1..20 {
            for n in 1..9 {
                let bins: Vec<_> = (0..n).map(|i| adaptive_bin(i, a, n)).collect();
                assert_eq!(bins[0].0, 0);
                assert_eq!(bins[n - 1].1, a);
                for (i, &(lo, hi)) in bins.iter().enumerate() {
                    assert!(lo < hi, "a={a} n={n}: empty bin {i}");
                    assert_eq!((lo, hi), bin_ref(i, a, n));
                }
            }
        }
    }

    #[test]
    fn spp_matches_reference_for_many_sizes_and_fixed_length() {
        let levels = [1, 2, 4];
        for (k, &(h, w)) in [(1, 1), (1, 5), (3, 3), (7, 5), (8, 8), (13, 2)].iter().enumerate() {
            let x = rand_array((2, 3, h, w), 70 + k as u64, 1.0);
            let y = spp_forward(x.view(), &levels);
            assert_eq!(y.dim(), (2, 3 * 21));
            assert_close(&y, &spp_reference(&x, &levels), 0.0, 0.0, "spp forward");
            let y32 = spp_forward(to32(&x).view(), &levels);
            assert_close(&to64(&y32), &y, 1e-7, 1e-6, "spp f32");
        }
    }

    #[test]
    fn spp_backward_accumulates_overlapping_bins() {
        // H = 3, W = 5 with levels 2 and 4 makes overlapping bins along both axes.
        for (k, &(h, w)) in [(3, 5), (7, 5), (2, 3), (1, 1)].iter().enumerate() {
            let levels = [1, 2, 4];
            let x = rand_array((2, 2, h, w), 80 + k as u64, 1.0);
            let r = rand_array((2, spp_len(2, &levels)), 90 + k as u64, 1.0);
            let dx = spp_backward(x.view(), r.view(), &levels);
            let fd = fd_grad(&x, |xp| (spp_reference(xp, &levels) * &r).sum());
            // |a − b| ≤ 1e-8 + 1e-6·|b| (no ties in random inputs).
            assert_close(&dx, &fd, 1e-8, 1e-6, "spp dx");
        }
        // A 1×1 map is the max of every bin of every level: gradient is the sum.
        let x = Array4::from_elem((1, 1, 1, 1), 0.3);
        let r = Array2::from_shape_fn((1, 21), |(_, j)| j as f64);
        assert_eq!(spp_backward(x.view(), r.view(), &[1, 2, 4])[[0, 0, 0, 0]], (0..21).sum::<usize>() as f64);
    }

    #[test]
    fn spp_ties_send_gradient_to_first_maximum() {
        let x = Array4::<f64>::zeros((1, 1, 2, 2));
        let dx = spp_backward(x.view(), Array2::ones((1, 1)).view(), &[1]);
        assert_eq!(dx.iter().copied().collect::<Vec<_>>(), vec![1.0, 0.0, 0.0, 0.0]);
    }
}
