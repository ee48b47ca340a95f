//! Linear (fully connected) layer and layer normalisation.
//!
//! - Linear: `x [M, IN]`, weight `w [OUT, IN]` (PyTorch layout), bias `b [OUT]`:
//!   `y = x·wᵀ + b`, `y [M, OUT]`.
//! - LayerNorm over the last axis: `x [M, D]`, `γ [D]`, `β [D]`:
//!   `y = (x − μ)/√(σ² + ε) · γ + β` with the biased variance `σ²` of each row
//!   and `ε = 1e-5` by default (PyTorch `nn.LayerNorm(D)`).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::scalar::Real;

/// Linear forward: `x [M, IN]`, `w [OUT, IN]`, `b [OUT]` → `y = x·wᵀ + b`, `[M, OUT]`.
///
/// ```
/// use ndarray::{arr1, arr2};
/// let y = rlkit::nn::linear::linear_forward(arr2(&[[1.0f32, 2.0]]).view(),
///     arr2(&[[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]]).view(), Some(arr1(&[0.5, 0.0, 0.0]).view()));
/// assert_eq!(y, arr2(&[[1.5, 3.0, -2.0]]));
/// ```
pub fn linear_forward<T: Real>(x: ArrayView2<T>, w: ArrayView2<T>, b: Option<ArrayView1<T>>) -> Array2<T> {
    let mut y = x.dot(&w.t());
    if let Some(b) = b {
        y += &b;
    }
    y
}

/// Linear backward: `x [M, IN]`, `w [OUT, IN]`, `dy [M, OUT]` →
/// (`dx = dy·w` `[M, IN]`, `dw = dyᵀ·x` `[OUT, IN]`, `db = Σ_m dy` `[OUT]`).
pub fn linear_backward<T: Real>(
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    dy: ArrayView2<T>,
) -> (Array2<T>, Array2<T>, Array1<T>) {
    (dy.dot(&w), dy.t().dot(&x), dy.sum_axis(Axis(0)))
}

/// LayerNorm forward over the last axis: `x [M, D]`, `γ [D]`, `β [D]` →
/// (`y [M, D]`, row means `μ [M]`, reciprocal standard deviations `1/√(σ²+ε)` `[M]`).
pub fn layernorm_forward<T: Real>(
    x: ArrayView2<T>,
    gamma: ArrayView1<T>,
    beta: ArrayView1<T>,
    eps: T,
) -> (Array2<T>, Array1<T>, Array1<T>) {
    let (m, d) = x.dim();
    let dd = T::from_usize(d);
    let mut y = Array2::<T>::zeros((m, d));
    let mut mean = Array1::<T>::zeros(m);
    let mut rstd = Array1::<T>::zeros(m);
    for (i, row) in x.outer_iter().enumerate() {
        let mu = row.sum() / dd;
        let var = row.fold(T::ZERO, |a, &v| a + (v - mu) * (v - mu)) / dd;
        let rs = T::ONE / (var + eps).sqrt();
        mean[i] = mu;
        rstd[i] = rs;
        for (j, (&v, yv)) in row.iter().zip(y.row_mut(i)).enumerate() {
            *yv = (v - mu) * rs * gamma[j] + beta[j];
        }
    }
    (y, mean, rstd)
}

/// LayerNorm backward: `x [M, D]`, `γ [D]`, `μ [M]`, `rstd [M]`, `dy [M, D]` →
/// (`dx [M, D]`, `dγ [D]`, `dβ [D]`), with `x̂ = (x − μ)·rstd`, `g = dy·γ`:
/// `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`.
pub fn layernorm_backward<T: Real>(
    x: ArrayView2<T>,
    gamma: ArrayView1<T>,
    mean: ArrayView1<T>,
    rstd: ArrayView1<T>,
    dy: ArrayView2<T>,
) -> (Array2<T>, Array1<T>, Array1<T>) {
    let (m, d) = x.dim();
    let dd = T::from_usize(d);
    let mut dx = Array2::<T>::zeros((m, d));
    let mut dgamma = Array1::<T>::zeros(d);
    let mut dbeta = Array1::<T>::zeros(d);
    for i in 0..m {
        let (mu, rs) = (mean[i], rstd[i]);
        let mut sg = T::ZERO;
        let mut sgx = T::ZERO;
        for j in 0..d {
            let xh = (x[[i, j]] - mu) * rs;
            let g = dy[[i, j]] * gamma[j];
            sg += g;
            sgx += g * xh;
            dgamma[j] += dy[[i, j]] * xh;
            dbeta[j] += dy[[i, j]];
        }
        let (mg, mgx) = (sg / dd, sgx / dd);
        for j in 0..d {
            let xh = (x[[i, j]] - mu) * rs;
            dx[[i, j]] = rs * (dy[[i, j]] * gamma[j] - mg - xh * mgx);
        }
    }
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    fn linear_naive(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
        Array2::from_shape_fn((x.nrows(), w.nrows()), |(i, o)| {
            b[o] + (0..x.ncols()).map(|k| x[[i, k]] * w[[o, k]]).sum::<f64>()
        })
    }

    fn layernorm_naive(x: &Array2<f64>, g: &Array1<f64>, b: &Array1<f64>) -> Array2<f64> {
        let d = x.ncols() as f64;
        Array2::from_shape_fn(x.dim(), |(i, j)| {
            let row = x.row(i);
            let mu = row.iter().sum::<f64>() / d;
            let var = row.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / d;
            (x[[i, j]] - mu) / (var + 1e-5).sqrt() * g[j] + b[j]
        })
    }

    #[test]
    fn linear_forward_backward() {
        let (x, w, b) = (rand_array((5, 7), 1, 1.0), rand_array((3, 7), 2, 1.0), rand_array(3, 3, 1.0));
        let y = linear_forward(x.view(), w.view(), Some(b.view()));
        assert_close(&y, &linear_naive(&x, &w, &b), 1e-14, 1e-12, "linear f64");
        let y32 = linear_forward(to32(&x).view(), to32(&w).view(), Some(to32(&b).view()));
        assert_close(&to64(&y32), &y, 1e-5, 1e-4, "linear f32");
        let r = rand_array((5, 3), 4, 1.0);
        let (dx, dw, db) = linear_backward(x.view(), w.view(), r.view());
        // |a − b| ≤ 1e-8 + 1e-6·|b|.
        assert_close(&dx, &fd_grad(&x, |p| (linear_naive(p, &w, &b) * &r).sum()), 1e-8, 1e-6, "linear dx");
        assert_close(&dw, &fd_grad(&w, |p| (linear_naive(&x, p, &b) * &r).sum()), 1e-8, 1e-6, "linear dw");
        assert_close(&db, &fd_grad(&b, |p| (linear_naive(&x, &w, p) * &r).sum()), 1e-8, 1e-6, "linear db");
    }

    #[test]
    fn layernorm_forward_backward() {
        let x = rand_array((4, 9), 5, 2.0);
        let g = rand_array(9, 6, 1.0) + 1.0;
        let b = rand_array(9, 7, 1.0);
        let (y, _, _) = layernorm_forward(x.view(), g.view(), b.view(), 1e-5);
        assert_close(&y, &layernorm_naive(&x, &g, &b), 1e-13, 1e-12, "layernorm f64");
        let (y32, _, _) = layernorm_forward(to32(&x).view(), to32(&g).view(), to32(&b).view(), 1e-5);
        assert_close(&to64(&y32), &y, 1e-5, 1e-4, "layernorm f32");
        let r = rand_array((4, 9), 8, 1.0);
        let (_, mean, rstd) = layernorm_forward(x.view(), g.view(), b.view(), 1e-5);
        let (dx, dg, db) = layernorm_backward(x.view(), g.view(), mean.view(), rstd.view(), r.view());
        // Nonlinear in x: truncation ~h² = 1e-10. |a − b| ≤ 1e-8 + 1e-6·|b|.
        assert_close(&dx, &fd_grad(&x, |p| (layernorm_naive(p, &g, &b) * &r).sum()), 1e-8, 1e-6, "ln dx");
        assert_close(&dg, &fd_grad(&g, |p| (layernorm_naive(&x, p, &b) * &r).sum()), 1e-8, 1e-6, "ln dgamma");
        assert_close(&db, &fd_grad(&b, |p| (layernorm_naive(&x, &g, p) * &r).sum()), 1e-8, 1e-6, "ln dbeta");
    }
}
