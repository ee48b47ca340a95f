//! Max and average pooling, global average and global max pooling.
//!
//! Shapes: `x [N, C, H, W]` → `y [N, C, H_out, W_out]` with
//! `H_out = ⌊(H + 2p − k)/s⌋ + 1`. Max pooling treats the padding as −∞;
//! average pooling counts the padding as zeros and always divides by `k²`
//! (PyTorch's `count_include_pad=True`). Max ties (within one window) send the
//! whole gradient to the first maximum in row-major window order.

use ndarray::{Array2, Array4, ArrayView2, ArrayView4};

use super::scalar::Real;

/// Square pooling window, stride and padding.
///
/// ```
/// use rlkit::nn::pool::Pool2dConfig;
/// let cfg = Pool2dConfig { kernel: 2, stride: 2, padding: 0 };
/// assert_eq!(cfg.out_size(7), Some(3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dConfig {
    /// Window side k (≥ 1).
    pub kernel: usize,
    /// Step (≥ 1).
    pub stride: usize,
    /// Padding on each side (≤ k/2, as PyTorch requires).
    pub padding: usize,
}

impl Pool2dConfig {
    /// `⌊(a + 2p − k)/s⌋ + 1`, or `None` if the window does not fit or the
    /// configuration is invalid.
    pub fn out_size(&self, a: usize) -> Option<usize> {
        if self.kernel == 0 || self.stride == 0 || 2 * self.padding > self.kernel || a + 2 * self.padding < self.kernel
        {
            return None;
        }
        Some((a + 2 * self.padding - self.kernel) / self.stride + 1)
    }

    /// The in-image index range `[lo, hi)` of output position `o` along an axis of length `a`.
    fn range(&self, o: usize, a: usize) -> (usize, usize) {
        let start = (o * self.stride) as isize - self.padding as isize;
        let lo = start.max(0) as usize;
        let hi = ((start + self.kernel as isize).max(0) as usize).min(a);
        (lo, hi)
    }
}

fn dims(x: (usize, usize, usize, usize), cfg: &Pool2dConfig) -> (usize, usize) {
    match (cfg.out_size(x.2), cfg.out_size(x.3)) {
        (Some(a), Some(b)) => (a, b),
        _ => panic!("pool2d: input {x:?} incompatible with {cfg:?} (validated at build time)"),
    }
}

/// Position of the first maximum of `x[n, c]` over rows `r` and columns `q`.
fn argmax<T: Real>(x: &ArrayView4<T>, n: usize, c: usize, r: (usize, usize), q: (usize, usize)) -> (usize, usize) {
    let mut best = (r.0, q.0);
    let mut m = T::NEG_INFINITY;
    for i in r.0..r.1 {
        for j in q.0..q.1 {
            let v = x[[n, c, i, j]];
            if v > m {
                m = v;
                best = (i, j);
            }
        }
    }
    best
}

/// Max pooling forward: `x [N, C, H, W]` → `y [N, C, H_out, W_out]`.
pub fn maxpool2d_forward<T: Real>(x: ArrayView4<T>, cfg: &Pool2dConfig) -> Array4<T> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = dims(x.dim(), cfg);
    Array4::from_shape_fn((n, c, oh, ow), |(b, ch, i, j)| {
        let (i0, j0) = argmax(&x, b, ch, cfg.range(i, h), cfg.range(j, w));
        x[[b, ch, i0, j0]]
    })
}

/// Max pooling backward: `x [N, C, H, W]`, `dy [N, C, H_out, W_out]` → `dx [N, C, H, W]`
/// (each `dy` goes to its window's first maximum; overlapping windows accumulate).
pub fn maxpool2d_backward<T: Real>(x: ArrayView4<T>, dy: ArrayView4<T>, cfg: &Pool2dConfig) -> Array4<T> {
    let (_, _, h, w) = x.dim();
    let mut dx = Array4::<T>::zeros(x.raw_dim());
    for ((b, ch, i, j), &g) in dy.indexed_iter() {
        let (i0, j0) = argmax(&x, b, ch, cfg.range(i, h), cfg.range(j, w));
        dx[[b, ch, i0, j0]] += g;
    }
    dx
}

/// Average pooling forward (`count_include_pad=True`): `x [N, C, H, W]` → `y [N, C, H_out, W_out]`.
pub fn avgpool2d_forward<T: Real>(x: ArrayView4<T>, cfg: &Pool2dConfig) -> Array4<T> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = dims(x.dim(), cfg);
    let div = T::from_usize(cfg.kernel * cfg.kernel);
    Array4::from_shape_fn((n, c, oh, ow), |(b, ch, i, j)| {
        let (r, q) = (cfg.range(i, h), cfg.range(j, w));
        let mut acc = T::ZERO;
        for a in r.0..r.1 {
            for bb in q.0..q.1 {
                acc += x[[b, ch, a, bb]];
            }
        }
        acc / div
    })
}

/// Average pooling backward: `dy [N, C, H_out, W_out]` → `dx [N, C, H, W]` for an input of `dims`.
pub fn avgpool2d_backward<T: Real>(
    dims: (usize, usize, usize, usize),
    dy: ArrayView4<T>,
    cfg: &Pool2dConfig,
) -> Array4<T> {
    let (_, _, h, w) = dims;
    let div = T::from_usize(cfg.kernel * cfg.kernel);
    let mut dx = Array4::<T>::zeros(dims);
    for ((b, ch, i, j), &g) in dy.indexed_iter() {
        let (r, q) = (cfg.range(i, h), cfg.range(j, w));
        for a in r.0..r.1 {
            for bb in q.0..q.1 {
                dx[[b, ch, a, bb]] += g / div;
            }
        }
    }
    dx
}

/// Global average pooling: `x [N, C, H, W]` → `y [N, C]`, `y = mean over H·W`.
pub fn global_avg_pool_forward<T: Real>(x: ArrayView4<T>) -> Array2<T> {
    let (n, c, h, w) = x.dim();
    let hw = T::from_usize(h * w);
    Array2::from_shape_fn((n, c), |(b, ch)| {
        x.index_axis(ndarray::Axis(0), b).index_axis(ndarray::Axis(0), ch).sum() / hw
    })
}

/// Global average pooling backward: `dy [N, C]` → `dx [N, C, H, W]`, `dx = dy/(H·W)`.
pub fn global_avg_pool_backward<T: Real>(dims: (usize, usize, usize, usize), dy: ArrayView2<T>) -> Array4<T> {
    let hw = T::from_usize(dims.2 * dims.3);
    Array4::from_shape_fn(dims, |(b, ch, _, _)| dy[[b, ch]] / hw)
}

/// Global max pooling: `x [N, C, H, W]` → `y [N, C]`.
pub fn global_max_pool_forward<T: Real>(x: ArrayView4<T>) -> Array2<T> {
    let (n, c, h, w) = x.dim();
    Array2::from_shape_fn((n, c), |(b, ch)| {
        let (i, j) = argmax(&x, b, ch, (0, h), (0, w));
        x[[b, ch, i, j]]
    })
}

/// Global max pooling backward: `x [N, C, H, W]`, `dy [N, C]` → `dx [N, C, H, W]`
/// (the gradient goes to the first maximum in row-major order).
pub fn global_max_pool_backward<T: Real>(x: ArrayView4<T>, dy: ArrayView2<T>) -> Array4<T> {
    let (_, _, h, w) = x.dim();
    let mut dx = Array4::<T>::zeros(x.raw_dim());
    for ((b, ch), &g) in dy.indexed_iter() {
        let (i, j) = argmax(&x, b, ch, (0, h), (0, w));
        dx[[b, ch, i, j]] += g;
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    /// Reference: copy into an explicitly padded image, then reduce each window.
    fn pool_reference(x: &Array4<f64>, cfg: &Pool2dConfig, max: bool) -> Array4<f64> {
        let (n, c, h, w) = x.dim();
        let p = cfg.padding;
        let fill = if max { f64::NEG_INFINITY } else { 0.0 };
        let mut xp = Array4::from_elem((n, c, h + 2 * p, w + 2 * p), fill);
        for ((b, ch, i, j), &v) in x.indexed_iter() {
            xp[[b, ch, i + p, j + p]] = v;
        }
        let oh = (h + 2 * p - cfg.kernel) / cfg.stride + 1;
        let ow = (w + 2 * p - cfg.kernel) / cfg.stride + 1;
        Array4::from_shape_fn((n, c, oh, ow), |(b, ch, i, j)| {
            let win = Array2::from_shape_fn((cfg.kernel, cfg.kernel), |(u, v)| {
                xp[[b, ch, i * cfg.stride + u, j * cfg.stride + v]]
            });
            if max {
                win.fold(f64::NEG_INFINITY, |a, &v| a.max(v))
            } else {
                win.sum() / (cfg.kernel * cfg.kernel) as f64
            }
        })
    }

    const CFGS: &[(usize, usize, usize, usize, usize)] =
        &[(7, 5, 2, 2, 0), (7, 9, 3, 2, 1), (5, 5, 3, 1, 1), (6, 7, 2, 3, 1), (9, 4, 4, 1, 2)];

    #[test]
    fn pools_match_padded_window_reference_and_finite_differences() {
        for (k, &(h, w, kernel, stride, padding)) in CFGS.iter().enumerate() {
            let cfg = Pool2dConfig { kernel, stride, padding };
            let x = rand_array((2, 3, h, w), 40 + k as u64, 1.0);
            for max in [true, false] {
                let y = if max { maxpool2d_forward(x.view(), &cfg) } else { avgpool2d_forward(x.view(), &cfg) };
                let reference = pool_reference(&x, &cfg, max);
                assert_close(&y, &reference, 0.0, 1e-12, "pool forward");
                let r = rand_array(y.raw_dim(), 50 + k as u64, 1.0);
                let dx = if max {
                    maxpool2d_backward(x.view(), r.view(), &cfg)
                } else {
                    avgpool2d_backward(x.dim(), r.view(), &cfg)
                };
                // Random inputs have no ties; h = 1e-5 never flips an argmax here.
                // |a − b| ≤ 1e-8 + 1e-6·|b|.
                let fd = fd_grad(&x, |xp| (pool_reference(xp, &cfg, max) * &r).sum());
                assert_close(&dx, &fd, 1e-8, 1e-6, if max { "maxpool dx" } else { "avgpool dx" });
            }
        }
    }

    #[test]
    fn global_pools_by_hand_and_fd() {
        let x =
            Array4::from_shape_vec((1, 2, 2, 3), vec![1., 5., 2., 0., 3., 4., -1., -2., -3., -4., -5., -0.5]).unwrap();
        let avg = global_avg_pool_forward(x.view());
        assert_eq!(avg, ndarray::arr2(&[[15.0 / 6.0, -15.5 / 6.0]]));
        let mx = global_max_pool_forward(x.view());
        assert_eq!(mx, ndarray::arr2(&[[5.0, -0.5]]));
        let dy = ndarray::arr2(&[[2.0, 3.0]]);
        let dmx = global_max_pool_backward(x.view(), dy.view());
        assert_eq!(dmx[[0, 0, 0, 1]], 2.0);
        assert_eq!(dmx[[0, 1, 1, 2]], 3.0);
        assert_eq!(dmx.sum(), 5.0);
        let xr = rand_array((2, 3, 5, 3), 9, 1.0);
        let r = rand_array((2, 3), 10, 1.0);
        let fd = fd_grad(&xr, |xp| (global_avg_pool_forward(xp.view()) * &r).sum());
        assert_close(&global_avg_pool_backward(xr.dim(), r.view()), &fd, 1e-8, 1e-6, "gap dx");
        let fd = fd_grad(&xr, |xp| (global_max_pool_forward(xp.view()) * &r).sum());
        assert_close(&global_max_pool_backward(xr.view(), r.view()), &fd, 1e-8, 1e-6, "gmp dx");
    }

    #[test]
    fn max_ties_go_to_the_first_maximum() {
        let x = Array4::<f64>::ones((1, 1, 2, 2));
        let cfg = Pool2dConfig { kernel: 2, stride: 1, padding: 0 };
        let dx = maxpool2d_backward(x.view(), Array4::from_elem((1, 1, 1, 1), 1.0).view(), &cfg);
        assert_eq!(dx.iter().copied().collect::<Vec<_>>(), vec![1.0, 0.0, 0.0, 0.0]);
    }
}
