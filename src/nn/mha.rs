//! Multi-head self-attention over the cells of a feature map.
//!
//! Scaled dot-product attention (SDPA) itself runs in nn-b's tiled flash
//! kernel for `f32`; this module holds an exact materialising implementation
//! for `f64` (gradient checks) and the pre-norm block around it.

use ndarray::{Array1, Array2, Array3, Array4, ArrayView1, ArrayView2, ArrayView3, ArrayView4, Axis};

use super::attention::{
    flash_attention_backward, flash_attention_forward, kept_attention_backward, kept_attention_forward, FlashConfig,
    KeptProbs, KEEP_P_MAX_BYTES,
};
use super::linear::{layernorm_backward, layernorm_forward, linear_backward, linear_forward};
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
                *pij *= dpij - dd[i];
            }
        }
        dq.index_axis_mut(Axis(0), b).assign(&(ds.dot(&kb) * scale));
        dk.index_axis_mut(Axis(0), b).assign(&(ds.t().dot(&qb) * scale));
    }
    (dq, dk, dv)
}

/// f32 SDPA forward used by the attention layer: the kept-P pair
/// ([`kept_attention_forward`]: stored probabilities, 12·N²·d FLOPs) while
/// `P` (`4·BH·N²` bytes) fits [`KEEP_P_MAX_BYTES`], else the tiled flash
/// kernel ([`flash_attention_forward`], 64×64 tiles, `O(N)` memory).
pub fn sdpa_forward_f32(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    causal: bool,
) -> (Array3<f32>, Array2<f32>, Option<KeptProbs>) {
    let cfg = FlashConfig { causal, ..FlashConfig::default() };
    let (bh, nq, _) = q.dim();
    let nk = k.dim().1;
    if bh.saturating_mul(nq).saturating_mul(nk).saturating_mul(4) <= KEEP_P_MAX_BYTES {
        let (o, lse, p) = kept_attention_forward(q, k, v, scale, &cfg);
        return (o, lse, Some(p));
    }
    let (o, lse) = flash_attention_forward(q, k, v, scale, &cfg);
    (o, lse, None)
}

/// f32 SDPA backward used by the attention layer: from the kept
/// probabilities when the forward kept them ([`kept_attention_backward`]),
/// else [`flash_attention_backward`].
#[allow(clippy::too_many_arguments)]
pub fn sdpa_backward_f32(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    o: ArrayView3<f32>,
    lse: ArrayView2<f32>,
    kept: Option<&KeptProbs>,
    d_o: ArrayView3<f32>,
    scale: f32,
    causal: bool,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    if let Some(p) = kept {
        return kept_attention_backward(q, k, v, o, p, d_o, scale);
    }
    let cfg = FlashConfig { causal, ..FlashConfig::default() };
    flash_attention_backward(q, k, v, o, lse, d_o, scale, &cfg)
}

/// Parameters of the pre-norm attention block, PyTorch layouts.
/// `proj_w[i] [C, C]`, `proj_b[i] [C]` for `i` = q, k, v, o (in that order).
#[derive(Clone, Copy, Debug)]
pub struct MhaParams<'a, T> {
    /// `ln.weight [C]`.
    pub ln_w: ArrayView1<'a, T>,
    /// `ln.bias [C]`.
    pub ln_b: ArrayView1<'a, T>,
    /// `q.weight`, `k.weight`, `v.weight`, `o.weight`, each `[C, C]`.
    pub proj_w: [ArrayView2<'a, T>; 4],
    /// `q.bias`, `k.bias`, `v.bias`, `o.bias`, each `[C]`.
    pub proj_b: [ArrayView1<'a, T>; 4],
}

/// Gradients of [`MhaParams`], same layout.
#[derive(Clone, Debug)]
pub struct MhaGrads<T> {
    /// d `ln.weight`.
    pub ln_w: Array1<T>,
    /// d `ln.bias`.
    pub ln_b: Array1<T>,
    /// d `q/k/v/o.weight`.
    pub proj_w: [Array2<T>; 4],
    /// d `q/k/v/o.bias`.
    pub proj_b: [Array1<T>; 4],
}

/// Activations saved by [`mha_forward`] for [`mha_backward`].
#[derive(Clone, Debug)]
pub struct MhaCache<T> {
    xt: Array2<T>,
    xn: Array2<T>,
    mean: Array1<T>,
    rstd: Array1<T>,
    qkv: [Array3<T>; 3],
    o: Array3<T>,
    lse: Array2<T>,
    /// The attention probabilities, when the forward kept them (f32, short sequences).
    kept: Option<KeptProbs>,
    om: Array2<T>,
}

/// Attention-block configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MhaConfig {
    /// Number of heads; must divide C. Head `h` uses features `[h·C/heads, (h+1)·C/heads)`.
    pub heads: usize,
    /// Token `t` attends only to tokens `s ≤ t` (row-major cell order).
    pub causal: bool,
}

/// `x [N, C, H, W]` → tokens `[N·H·W, C]`, row `n·H·W + h·W + w`.
pub fn to_tokens<T: Real>(x: ArrayView4<T>) -> Array2<T> {
    let (n, c, h, w) = x.dim();
    let t = x.permuted_axes([0, 2, 3, 1]).as_standard_layout().into_owned();
    t.into_shape_with_order((n * h * w, c)).expect("tokens")
}

/// Inverse of [`to_tokens`].
pub fn from_tokens<T: Real>(t: Array2<T>, dims: (usize, usize, usize, usize)) -> Array4<T> {
    let (n, c, h, w) = dims;
    let t = t.into_shape_with_order((n, h, w, c)).expect("tokens");
    t.permuted_axes([0, 3, 1, 2]).as_standard_layout().into_owned()
}

/// `[N·T, C]` → `[N·heads, T, C/heads]` (heads split contiguously).
fn split_heads<T: Real>(a: &Array2<T>, n: usize, heads: usize) -> Array3<T> {
    let (nt, c) = a.dim();
    let (t, dh) = (nt / n, c / heads);
    let a4 = a.view().into_shape_with_order((n, t, heads, dh)).expect("split");
    a4.permuted_axes([0, 2, 1, 3])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n * heads, t, dh))
        .expect("split")
}

/// Inverse of [`split_heads`].
fn merge_heads<T: Real>(a: &Array3<T>, n: usize) -> Array2<T> {
    let (bh, t, dh) = a.dim();
    let heads = bh / n;
    let a4 = a.view().into_shape_with_order((n, heads, t, dh)).expect("merge");
    a4.permuted_axes([0, 2, 1, 3])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n * t, heads * dh))
        .expect("merge")
}

/// Pre-norm multi-head self-attention block over the cells of a feature map:
/// `x [N, C, H, W]` → `y [N, C, H, W]`, with tokens `X [N, T = H·W, C]` in
/// row-major cell order and
/// `Y = X + o(Attn(q(LN(X)), k(LN(X)), v(LN(X))))`, per head
/// `Attn = softmax(Q_h K_hᵀ/√d_h [+ causal mask]) V_h`, `d_h = C/heads`.
/// Returns the output and the activations the backward pass needs.
pub fn mha_forward<T: Real>(x: ArrayView4<T>, p: &MhaParams<T>, cfg: &MhaConfig) -> (Array4<T>, MhaCache<T>) {
    let (n, c, _, _) = x.dim();
    let xt = to_tokens(x);
    let (xn, mean, rstd) = layernorm_forward(xt.view(), p.ln_w, p.ln_b, T::from_f64(LN_EPS));
    let proj = |i: usize| split_heads(&linear_forward(xn.view(), p.proj_w[i], Some(p.proj_b[i])), n, cfg.heads);
    let qkv = [proj(0), proj(1), proj(2)];
    let scale = T::ONE / T::from_usize(c / cfg.heads).sqrt();
    let (o, lse, kept) = T::sdpa_forward(qkv[0].view(), qkv[1].view(), qkv[2].view(), scale, cfg.causal);
    let om = merge_heads(&o, n);
    let yt = &xt + &linear_forward(om.view(), p.proj_w[3], Some(p.proj_b[3]));
    let y = from_tokens(yt, x.dim());
    (y, MhaCache { xt, xn, mean, rstd, qkv, o, lse, kept, om })
}

/// Backward of [`mha_forward`]: `dy [N, C, H, W]` → (`dx [N, C, H, W]`, parameter gradients).
pub fn mha_backward<T: Real>(
    p: &MhaParams<T>,
    cfg: &MhaConfig,
    cache: &MhaCache<T>,
    dy: ArrayView4<T>,
) -> (Array4<T>, MhaGrads<T>) {
    let (n, c, _, _) = dy.dim();
    let dyt = to_tokens(dy);
    let (dom, dwo, dbo) = linear_backward(cache.om.view(), p.proj_w[3], dyt.view());
    let doh = split_heads(&dom, n, cfg.heads);
    let scale = T::ONE / T::from_usize(c / cfg.heads).sqrt();
    let [q, k, v] = &cache.qkv;
    let (dq, dk, dv) = T::sdpa_backward(
        q.view(),
        k.view(),
        v.view(),
        cache.o.view(),
        cache.lse.view(),
        cache.kept.as_ref(),
        doh.view(),
        scale,
        cfg.causal,
    );
    let mut dxn = Array2::<T>::zeros(cache.xn.raw_dim());
    let mut gw: Vec<Array2<T>> = Vec::with_capacity(4);
    let mut gb: Vec<Array1<T>> = Vec::with_capacity(4);
    for (i, dh) in [dq, dk, dv].iter().enumerate() {
        let (dxi, dwi, dbi) = linear_backward(cache.xn.view(), p.proj_w[i], merge_heads(dh, n).view());
        dxn += &dxi;
        gw.push(dwi);
        gb.push(dbi);
    }
    gw.push(dwo);
    gb.push(dbo);
    let (dxt_ln, dlnw, dlnb) =
        layernorm_backward(cache.xt.view(), p.ln_w, cache.mean.view(), cache.rstd.view(), dxn.view());
    let dxt = dyt + dxt_ln;
    let dx = from_tokens(dxt, dy.dim());
    let proj_w: [Array2<T>; 4] = gw.try_into().expect("four projections");
    let proj_b: [Array1<T>; 4] = gb.try_into().expect("four projections");
    (dx, MhaGrads { ln_w: dlnw, ln_b: dlnb, proj_w, proj_b })
}

/// LayerNorm ε of the attention block (PyTorch's default).
pub const LN_EPS: f64 = 1e-5;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    /// Reference block, per sample and per token with plain loops.
    fn mha_ref(
        x: &Array4<f64>,
        w: &[Array2<f64>; 4],
        b: &[Array1<f64>; 4],
        lnw: &Array1<f64>,
        lnb: &Array1<f64>,
        heads: usize,
        causal: bool,
    ) -> Array4<f64> {
        let (n, c, h, wd) = x.dim();
        let t = h * wd;
        let dh = c / heads;
        let mut y = x.clone();
        for bn in 0..n {
            let tok: Vec<Vec<f64>> =
                (0..t).map(|ti| (0..c).map(|ch| x[[bn, ch, ti / wd, ti % wd]]).collect()).collect();
            let xn: Vec<Vec<f64>> = tok
                .iter()
                .map(|r| {
                    let mu = r.iter().sum::<f64>() / c as f64;
                    let var = r.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / c as f64;
                    r.iter().enumerate().map(|(j, v)| (v - mu) / (var + 1e-5).sqrt() * lnw[j] + lnb[j]).collect()
                })
                .collect();
            let lin = |i: usize, r: &[f64]| -> Vec<f64> {
                (0..c).map(|o| b[i][o] + (0..c).map(|k| w[i][[o, k]] * r[k]).sum::<f64>()).collect()
            };
            let q: Vec<Vec<f64>> = xn.iter().map(|r| lin(0, r)).collect();
            let k: Vec<Vec<f64>> = xn.iter().map(|r| lin(1, r)).collect();
            let v: Vec<Vec<f64>> = xn.iter().map(|r| lin(2, r)).collect();
            for ti in 0..t {
                let mut att = vec![0.0; c];
                for hh in 0..heads {
                    let r = hh * dh..(hh + 1) * dh;
                    let visible = if causal { ti + 1 } else { t };
                    let sc: Vec<f64> = (0..visible)
                        .map(|s| r.clone().map(|f| q[ti][f] * k[s][f]).sum::<f64>() / (dh as f64).sqrt())
                        .collect();
                    let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = sc.iter().map(|s| (s - m).exp()).sum();
                    for (s, scv) in sc.iter().enumerate() {
                        for f in r.clone() {
                            att[f] += (scv - m).exp() / z * v[s][f];
                        }
                    }
                }
                let out = lin(3, &att);
                for ch in 0..c {
                    y[[bn, ch, ti / wd, ti % wd]] += out[ch];
                }
            }
        }
        y
    }

    #[test]
    fn the_layer_keeps_p_for_short_sequences_and_both_paths_agree() {
        let det = |shape: (usize, usize, usize), seed: usize| {
            Array3::from_shape_fn(shape, |(b, i, c)| (((b * 31 + i * 7 + c * 3 + seed) % 17) as f32 - 8.0) / 8.0)
        };
        for causal in [false, true] {
            let (q, k, v, g) = (det((3, 25, 8), 1), det((3, 25, 8), 2), det((3, 25, 8), 3), det((3, 25, 8), 4));
            let (o, lse, kept) = sdpa_forward_f32(q.view(), k.view(), v.view(), 0.35, causal);
            assert_eq!(kept.as_ref().map(|p| p.dim()), Some((3, 25, 25)), "short: P kept");
            let cfg = FlashConfig { causal, ..FlashConfig::default() };
            let (of, lf) = flash_attention_forward(q.view(), k.view(), v.view(), 0.35, &cfg);
            assert!(o.iter().zip(of.iter()).all(|(a, b)| (a - b).abs() < 1e-5));
            assert!(lse.iter().zip(lf.iter()).all(|(a, b)| (a - b).abs() < 1e-5));
            let a = sdpa_backward_f32(
                q.view(),
                k.view(),
                v.view(),
                o.view(),
                lse.view(),
                kept.as_ref(),
                g.view(),
                0.35,
                causal,
            );
            let b = sdpa_backward_f32(q.view(), k.view(), v.view(), o.view(), lse.view(), None, g.view(), 0.35, causal);
            for (x, y) in [(&a.0, &b.0), (&a.1, &b.1), (&a.2, &b.2)] {
                assert!(x.iter().zip(y.iter()).all(|(p, q)| (p - q).abs() < 1e-5), "causal {causal}");
            }
        }
        // Past KEEP_P_MAX_BYTES the layer runs flash and keeps nothing.
        let n = 1 + (KEEP_P_MAX_BYTES / 4).isqrt();
        let z = Array3::<f32>::zeros((1, n, 1));
        assert!(sdpa_forward_f32(z.view(), z.view(), z.view(), 1.0, false).2.is_none());
    }

    #[test]
    fn sdpa_reference_has_correct_lse_and_masking() {
        let q = rand_array((2, 5, 3), 1, 1.0);
        let k = rand_array((2, 5, 3), 2, 1.0);
        let v = rand_array((2, 5, 3), 3, 1.0);
        let (o, lse) = sdpa_reference_forward(q.view(), k.view(), v.view(), 0.7, true);
        // Causal row 0 sees only key 0: O = V[0], L = τ q0·k0.
        for b in 0..2 {
            let s00: f64 = (0..3).map(|f| q[[b, 0, f]] * k[[b, 0, f]]).sum::<f64>() * 0.7;
            assert!((lse[[b, 0]] - s00).abs() < 1e-14);
            for f in 0..3 {
                assert!((o[[b, 0, f]] - v[[b, 0, f]]).abs() < 1e-14);
            }
        }
        let r = rand_array((2, 5, 3), 4, 1.0);
        let (dq, dk, dv) =
            sdpa_reference_backward(q.view(), k.view(), v.view(), o.view(), lse.view(), r.view(), 0.7, true);
        let f = |q: &Array3<f64>, k: &Array3<f64>, v: &Array3<f64>| {
            (sdpa_reference_forward(q.view(), k.view(), v.view(), 0.7, true).0 * &r).sum()
        };
        assert_close(&dq, &fd_grad(&q, |p| f(p, &k, &v)), 1e-8, 1e-6, "sdpa dq");
        assert_close(&dk, &fd_grad(&k, |p| f(&q, p, &v)), 1e-8, 1e-6, "sdpa dk");
        assert_close(&dv, &fd_grad(&v, |p| f(&q, &k, p)), 1e-8, 1e-6, "sdpa dv");
    }

    #[test]
    fn attention_block_forward_backward() {
        for (case, &(n, c, h, w, heads, causal)) in
            [(2, 6, 3, 2, 2, false), (1, 8, 2, 3, 4, true), (2, 4, 1, 1, 1, true), (1, 6, 3, 3, 3, false)]
                .iter()
                .enumerate()
        {
            let seed = 900 + 20 * case as u64;
            let x = rand_array((n, c, h, w), seed, 1.5);
            let mut pw: [Array2<f64>; 4] = std::array::from_fn(|i| rand_array((c, c), seed + 1 + i as u64, 0.6));
            let mut pb: [Array1<f64>; 4] = std::array::from_fn(|i| rand_array(c, seed + 5 + i as u64, 0.3));
            let mut lnw = rand_array(c, seed + 9, 0.3) + 1.0;
            let mut lnb = rand_array(c, seed + 10, 0.3);
            let cfg = MhaConfig { heads, causal };
            let params = |pw: &[Array2<f64>; 4],
                          pb: &[Array1<f64>; 4],
                          lnw: &Array1<f64>,
                          lnb: &Array1<f64>|
             -> (Array4<f64>, MhaCache<f64>) {
                let p = MhaParams {
                    ln_w: lnw.view(),
                    ln_b: lnb.view(),
                    proj_w: std::array::from_fn(|i| pw[i].view()),
                    proj_b: std::array::from_fn(|i| pb[i].view()),
                };
                mha_forward(x.view(), &p, &cfg)
            };
            let (y, cache) = params(&pw, &pb, &lnw, &lnb);
            let reference = mha_ref(&x, &pw, &pb, &lnw, &lnb, heads, causal);
            assert_close(&y, &reference, 1e-13, 1e-12, "mha f64");
            // f32 forward (flash kernel for f32) vs f64 reference: |a − b| ≤ 1e-5 + 1e-4·|b|.
            let (pw32, pb32) = (pw.clone().map(|a| to32(&a)), pb.clone().map(|a| to32(&a)));
            let (lnw32, lnb32) = (to32(&lnw), to32(&lnb));
            let p32 = MhaParams {
                ln_w: lnw32.view(),
                ln_b: lnb32.view(),
                proj_w: std::array::from_fn(|i| pw32[i].view()),
                proj_b: std::array::from_fn(|i| pb32[i].view()),
            };
            let (y32, cache32) = mha_forward(to32(&x).view(), &p32, &cfg);
            assert_close(&to64(&y32), &reference, 1e-5, 1e-4, "mha f32");
            let dy = rand_array(x.raw_dim(), seed + 11, 1.0);
            let p = MhaParams {
                ln_w: lnw.view(),
                ln_b: lnb.view(),
                proj_w: std::array::from_fn(|i| pw[i].view()),
                proj_b: std::array::from_fn(|i| pb[i].view()),
            };
            let (dx, g) = mha_backward(&p, &cfg, &cache, dy.view());
            let (dx32, g32) = mha_backward(&p32, &cfg, &cache32, to32(&dy).view());
            assert_close(&to64(&dx32), &dx, 1e-5, 1e-4, "mha dx f32");
            for i in 0..4 {
                assert_close(&to64(&g32.proj_w[i]), &g.proj_w[i], 1e-5, 1e-4, "mha dw f32");
            }
            // f64 backward vs central differences of the reference: |a − b| ≤ 1e-8 + 1e-6·|b|.
            let loss =
                |x: &Array4<f64>,
                 pw: &[Array2<f64>; 4],
                 pb: &[Array1<f64>; 4],
                 lnw: &Array1<f64>,
                 lnb: &Array1<f64>| { (mha_ref(x, pw, pb, lnw, lnb, heads, causal) * &dy).sum() };
            assert_close(&dx, &fd_grad(&x, |xp| loss(xp, &pw, &pb, &lnw, &lnb)), 1e-8, 1e-6, "mha dx");
            for i in 0..4 {
                let orig = pw[i].clone();
                let fd = fd_grad(&orig, |v| {
                    pw[i] = v.clone();
                    loss(&x, &pw, &pb, &lnw, &lnb)
                });
                pw[i] = orig;
                assert_close(&g.proj_w[i], &fd, 1e-8, 1e-6, "mha dW");
                let orig = pb[i].clone();
                let fd = fd_grad(&orig, |v| {
                    pb[i] = v.clone();
                    loss(&x, &pw, &pb, &lnw, &lnb)
                });
                pb[i] = orig;
                assert_close(&g.proj_b[i], &fd, 1e-8, 1e-6, "mha db");
            }
            let orig = lnw.clone();
            let fd = fd_grad(&orig, |v| {
                lnw = v.clone();
                loss(&x, &pw, &pb, &lnw, &lnb)
            });
            lnw = orig;
            assert_close(&g.ln_w, &fd, 1e-8, 1e-6, "mha dln_w");
            let orig = lnb.clone();
            let fd = fd_grad(&orig, |v| {
                lnb = v.clone();
                loss(&x, &pw, &pb, &lnw, &lnb)
            });
            lnb = orig;
            assert_close(&g.ln_b, &fd, 1e-8, 1e-6, "mha dln_b");
        }
    }
}
