//! Multi-head self-attention over the cells of a feature map.
//!
//! Scaled dot-product attention (SDPA) itself runs in nn-b's tiled flash
//! kernel for `f32`; this module holds an exact materialising implementation
//! for `f64` (gradient checks) and the pre-norm block around it.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

use super::scalar::Real;

fn scores<T: Real>(q: ArrayView2<T>, k: ArrayView2<T>, scale: T, causal: bool) -> Array2<T> {
    let mut sc = q.dot(&k.t()) * scale;
    if causal {
        for ((i, j), v) in sc.indexed_iter_mut() {
            if j > i {
                *v = T::NEG_INFINITY;
            }
        }
    }
    sc
}

/// Exact SDPA forward that materialises the `N×N` score matrix.
/// `q, k, v: [BH, N, D]` → (`O [BH, N, D]`, `L [BH, N]` = row logsumexp of the
/// scaled, masked scores). With `causal`, query `i` sees keys `j ≤ i`.
pub fn sdpa_reference_forward<T: Real>(
    q: ArrayView3<T>,
    k: ArrayView3<T>,
    v: ArrayView3<T>,
    scale: T,
    causal: bool,
) -> (Array3<T>, Array2<T>) {
    let (bh, n, d) = q.dim();
    let mut o = Array3::<T>::zeros((bh, n, d));
    let mut lse = Array2::<T>::zeros((bh, n));
    for b in 0..bh {
        let mut p = scores(q.index_axis(Axis(0), b), k.index_axis(Axis(0), b), scale, causal);
        for (i, mut row) in p.outer_iter_mut().enumerate() {
            let m = row.fold(T::NEG_INFINITY, |a, &x| a.max(x));
            row.mapv_inplace(|x| (x - m).exp());
            let l: T = row.sum();
            row /= l;
            lse[[b, i]] = m + l.ln();
        }
        o.index_axis_mut(Axis(0), b).assign(&p.dot(&v.index_axis(Axis(0), b)));
    }
    (o, lse)
}

/// Exact SDPA backward (see [`sdpa_reference_forward`]): returns (`dq, dk, dv`),
/// each `[BH, N, D]`, using `P = exp(τQKᵀ − L)`, `D = rowsum(dO ∘ O)`,
/// `dS = P ∘ (dO·Vᵀ − D)`.
#[allow(clippy::too_many_arguments)]
pub fn sdpa_reference_backward<T: Real>(
    q: ArrayView3<T>,
    k: ArrayView3<T>,
    v: ArrayView3<T>,
    o: ArrayView3<T>,
    lse: ArrayView2<T>,
    d_o: ArrayView3<T>,
    scale: T,
    causal: bool,
) -> (Array3<T>, Array3<T>, Array3<T>) {
    let (bh, n, d) = q.dim();
    let mut dq = Array3::<T>::zeros((bh, n, d));
    let mut dk = Array3::<T>::zeros((bh, n, d));
    let mut dv = Array3::<T>::zeros((bh, n, d));
    for b in 0..bh {
        let (qb, kb, vb, ob, dob) = (
            q.index_axis(Axis(0), b),
            k.index_axis(Axis(0), b),
            v.index_axis(Axis(0), b),
            o.index_axis(Axis(0), b),
            d_o.index_axis(Axis(0), b),
        );
        let mut p = scores(qb, kb, scale, causal);
        for (i, mut row) in p.outer_iter_mut().enumerate() {
            let l = lse[[b, i]];
            row.mapv_inplace(|x| (x - l).exp());
        }
        dv.index_axis_mut(Axis(0), b).assign(&p.t().dot(&dob));
        let dp = dob.dot(&vb.t());
        let dd = (&dob * &ob).sum_axis(Axis(1));
        let mut ds = p;
        for (i, mut row) in ds.outer_iter_mut().enumerate() {
            for (pij, &dpij) in row.iter_mut().zip(dp.row(i).iter()) {
                *pij = *pij * (dpij - dd[i]);
            }
        }
        dq.index_axis_mut(Axis(0), b).assign(&(ds.dot(&kb) * scale));
        dk.index_axis_mut(Axis(0), b).assign(&(ds.t().dot(&qb) * scale));
    }
    (dq, dk, dv)
}

/// f32 SDPA forward used by the attention layer.
pub fn sdpa_forward_f32(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    causal: bool,
) -> (Array3<f32>, Array2<f32>) {
    sdpa_reference_forward(q, k, v, scale, causal)
}

/// f32 SDPA backward used by the attention layer.
#[allow(clippy::too_many_arguments)]
pub fn sdpa_backward_f32(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    o: ArrayView3<f32>,
    lse: ArrayView2<f32>,
    d_o: ArrayView3<f32>,
    scale: f32,
    causal: bool,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    sdpa_reference_backward(q, k, v, o, lse, d_o, scale, causal)
}
