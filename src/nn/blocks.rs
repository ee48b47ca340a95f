//! Squeeze-and-excitation (SE, Hu et al. 2018) and CBAM (Woo et al. 2018).
//!
//! **SE**, `x [N, C, H, W]` → `y [N, C, H, W]`, hidden width `Hd = max(1, ⌊C/r⌋)`
//! (r = 16 by default):
//! `s = mean_{h,w} x` `[N, C]`, `g = σ(fc2(relu(fc1(s))))` `[N, C]`,
//! `y = x · g[:, :, None, None]`, where `fc1: C→Hd` (`fc1.weight [Hd, C]`,
//! `fc1.bias [Hd]`) and `fc2: Hd→C` (`fc2.weight [C, Hd]`, `fc2.bias [C]`).
//! The input gradient includes the path through the squeeze:
//! `dx = dy·g + (ds/(H·W))` broadcast over the map.
//!
//! **CBAM**, as in the paper: channel attention, then spatial attention.
//! - channel: `a = σ(MLP(AvgPool(x)) + MLP(MaxPool(x)))` `[N, C]` with one
//!   shared MLP `fc2(relu(fc1(·)))` with biases (applied to both descriptors,
//!   so `fc2.bias` enters twice, as in the official code), `x' = x · a`;
//! - spatial: `m = σ(conv_{k×k}([mean_c(x'); max_c(x')]))` `[N, 1, H, W]`
//!   with the channel mean stacked *first*, then the channel max; padding
//!   `k/2` (k odd, default 7), no bias, no batch norm; `y = x' · m`.
//!
//! Parameters `fc1.*`, `fc2.*` as for SE and `spatial.weight [1, 2, k, k]`.
//!
//! *Difference from the official CBAM code:* the reference implementation
//! (Jongchan/attention-module) stacks `[max; mean]` (max first) and follows
//! the 7×7 convolution with BatchNorm2d (and a ReLU-less `BasicConv`). We
//! follow the paper: `[mean; max]`, no BN. To port official weights, swap the
//! two input channels of `spatial.weight` and fold the BN into it (plus a bias,
//! which this layer does not have).
//!
//! Ties in the max-pooled descriptors (over H·W for channel attention, over C
//! for spatial attention) send the gradient to the first maximum.

use ndarray::{Array1, Array2, Array4, ArrayView1, ArrayView2, ArrayView4, Axis, Zip};

use super::act::{relu_backward, relu_forward, sigmoid};
use super::conv::{conv2d_backward, conv2d_forward, Conv2dConfig};
use super::linear::{linear_backward, linear_forward};
use super::pool::{global_avg_pool_backward, global_avg_pool_forward};
use super::scalar::Real;

/// Hidden width of the SE / CBAM MLP: `max(1, ⌊C/r⌋)`.
///
/// ```
/// assert_eq!(rlkit::nn::blocks::hidden_units(64, 16), 4);
/// assert_eq!(rlkit::nn::blocks::hidden_units(4, 16), 1);
/// ```
pub fn hidden_units(c: usize, r: usize) -> usize {
    (c / r.max(1)).max(1)
}

/// The two-layer MLP `fc2(relu(fc1(v)))`: `w1 [Hd, C]`, `b1 [Hd]`, `w2 [C, Hd]`, `b2 [C]`.
#[derive(Clone, Copy, Debug)]
pub struct Mlp2<'a, T> {
    /// `fc1.weight [Hd, C]`.
    pub w1: ArrayView2<'a, T>,
    /// `fc1.bias [Hd]`.
    pub b1: ArrayView1<'a, T>,
    /// `fc2.weight [C, Hd]`.
    pub w2: ArrayView2<'a, T>,
    /// `fc2.bias [C]`.
    pub b2: ArrayView1<'a, T>,
}

/// Gradients of an [`Mlp2`], same shapes as its parameters.
#[derive(Clone, Debug)]
pub struct Mlp2Grads<T> {
    /// d `fc1.weight`.
    pub w1: Array2<T>,
    /// d `fc1.bias`.
    pub b1: Array1<T>,
    /// d `fc2.weight`.
    pub w2: Array2<T>,
    /// d `fc2.bias`.
    pub b2: Array1<T>,
}

impl<T: Real> Mlp2<'_, T> {
    /// `v [N, C]` → (`out [N, C]`, pre-activation `z1 [N, Hd]`).
    fn forward(&self, v: ArrayView2<T>) -> (Array2<T>, Array2<T>) {
        let z1 = linear_forward(v, self.w1, Some(self.b1));
        let a = relu_forward(z1.view());
        (linear_forward(a.view(), self.w2, Some(self.b2)), z1)
    }

    /// Backward from `dout [N, C]`: returns `dv [N, C]` and accumulates into `g`.
    fn backward(&self, v: ArrayView2<T>, z1: ArrayView2<T>, dout: ArrayView2<T>, g: &mut Mlp2Grads<T>) -> Array2<T> {
        let a = relu_forward(z1);
        let (da, dw2, db2) = linear_backward(a.view(), self.w2, dout);
        let dz1 = relu_backward(z1, da.view());
        let (dv, dw1, db1) = linear_backward(v, self.w1, dz1.view());
        g.w1 += &dw1;
        g.b1 += &db1;
        g.w2 += &dw2;
        g.b2 += &db2;
        dv
    }

    fn zero_grads(&self) -> Mlp2Grads<T> {
        Mlp2Grads {
            w1: Array2::zeros(self.w1.raw_dim()),
            b1: Array1::zeros(self.b1.raw_dim()),
            w2: Array2::zeros(self.w2.raw_dim()),
            b2: Array1::zeros(self.b2.raw_dim()),
        }
    }
}

fn scale_channels<T: Real>(x: ArrayView4<T>, g: ArrayView2<T>) -> Array4<T> {
    let mut y = x.to_owned();
    for ((b, c, _, _), v) in y.indexed_iter_mut() {
        *v *= g[[b, c]];
    }
    y
}

/// Σ over H, W of `a ∘ b`: `[N, C, H, W]` × 2 → `[N, C]`.
fn dot_hw<T: Real>(a: ArrayView4<T>, b: ArrayView4<T>) -> Array2<T> {
    (&a * &b).sum_axis(Axis(3)).sum_axis(Axis(2))
}

/// SE forward: `x [N, C, H, W]` → `y [N, C, H, W]` (see the module docs).
pub fn se_forward<T: Real>(x: ArrayView4<T>, mlp: &Mlp2<T>) -> Array4<T> {
    let s = global_avg_pool_forward(x);
    let (z2, _) = mlp.forward(s.view());
    scale_channels(x, z2.mapv(sigmoid).view())
}

/// SE backward: `x [N, C, H, W]`, `dy [N, C, H, W]` → (`dx [N, C, H, W]`, MLP gradients).
/// Recomputes the (cheap) squeeze and excitation.
pub fn se_backward<T: Real>(x: ArrayView4<T>, mlp: &Mlp2<T>, dy: ArrayView4<T>) -> (Array4<T>, Mlp2Grads<T>) {
    let s = global_avg_pool_forward(x);
    let (z2, z1) = mlp.forward(s.view());
    let g = z2.mapv(sigmoid);
    let dg = dot_hw(dy, x);
    let dz2 = Zip::from(&dg).and(&g).map_collect(|&d, &g| d * g * (T::ONE - g));
    let mut grads = mlp.zero_grads();
    let ds = mlp.backward(s.view(), z1.view(), dz2.view(), &mut grads);
    let mut dx = scale_channels(dy, g.view());
    dx += &global_avg_pool_backward(x.dim(), ds.view());
    (dx, grads)
}

/// CBAM parameters: the shared channel MLP and `spatial.weight [1, 2, k, k]`.
#[derive(Clone, Copy, Debug)]
pub struct CbamParams<'a, T> {
    /// Shared channel-attention MLP.
    pub mlp: Mlp2<'a, T>,
    /// Spatial-attention kernel `[1, 2, k, k]` over `[mean_c; max_c]`, k odd.
    pub spatial: ArrayView4<'a, T>,
}

/// CBAM gradients.
#[derive(Clone, Debug)]
pub struct CbamGrads<T> {
    /// MLP gradients.
    pub mlp: Mlp2Grads<T>,
    /// d `spatial.weight` `[1, 2, k, k]`.
    pub spatial: Array4<T>,
}

struct CbamFwd<T> {
    avg: Array2<T>,
    mx: Array2<T>,
    z1a: Array2<T>,
    z1m: Array2<T>,
    ca: Array2<T>,
    /// `x · ca`, `[N, C, H, W]` in standard layout.
    f1: Array4<T>,
    stacked: Array4<T>,
    /// Spatial attention `[N, 1, H, W]`, standard layout.
    sa: Array4<T>,
}

/// Index of the first maximum of `v` (0 when every entry is NaN).
fn first_argmax<T: Real>(v: &[T]) -> usize {
    let mut arg = 0;
    let mut m = T::NEG_INFINITY;
    for (i, &e) in v.iter().enumerate() {
        if e > m {
            m = e;
            arg = i;
        }
    }
    arg
}

fn cbam_fwd<T: Real>(x: ArrayView4<T>, p: &CbamParams<T>) -> CbamFwd<T> {
    let (n, c, h, w) = x.dim();
    let hw = h * w;
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let hwt = T::from_usize(hw);
    let mut avg = Array2::<T>::zeros((n, c));
    let mut mx = Array2::<T>::zeros((n, c));
    for (k, plane) in xs.chunks_exact(hw).enumerate() {
        let sum = plane.iter().fold(T::ZERO, |a, &v| a + v);
        avg[[k / c, k % c]] = sum / hwt;
        mx[[k / c, k % c]] = plane[first_argmax(plane)];
    }
    let (ma, z1a) = p.mlp.forward(avg.view());
    let (mm, z1m) = p.mlp.forward(mx.view());
    // `dot` may return a column-major product (e.g. for a hidden width of 1): make it row-major.
    let ca = (&ma + &mm).mapv(sigmoid).as_standard_layout().into_owned();
    let cas = ca.as_slice().expect("standard layout");
    let mut f1 = Array4::<T>::zeros((n, c, h, w));
    let f1s = f1.as_slice_mut().expect("fresh array");
    for ((fp, xp), &g) in f1s.chunks_exact_mut(hw).zip(xs.chunks_exact(hw)).zip(cas) {
        for (f, &v) in fp.iter_mut().zip(xp) {
            *f = v * g;
        }
    }
    let cc = T::from_usize(c);
    let mut stacked = Array4::<T>::zeros((n, 2, h, w));
    let sts = stacked.as_slice_mut().expect("fresh array");
    for (st, sample) in sts.chunks_exact_mut(2 * hw).zip(f1s.chunks_exact(c * hw)) {
        let (sum, m) = st.split_at_mut(hw);
        m.fill(T::NEG_INFINITY);
        for plane in sample.chunks_exact(hw) {
            for ((s, mv), &v) in sum.iter_mut().zip(m.iter_mut()).zip(plane) {
                *s += v;
                *mv = mv.max(v);
            }
        }
        for s in sum.iter_mut() {
            *s /= cc;
        }
    }
    let k = p.spatial.dim().2;
    let cfg = Conv2dConfig { stride: 1, padding: k / 2, dilation: 1 };
    let sa = conv2d_forward(stacked.view(), p.spatial, None, &cfg).mapv(sigmoid).as_standard_layout().into_owned();
    CbamFwd { avg, mx, z1a, z1m, ca, f1, stacked, sa }
}

/// CBAM forward: `x [N, C, H, W]` → `y [N, C, H, W]` (see the module docs).
pub fn cbam_forward<T: Real>(x: ArrayView4<T>, p: &CbamParams<T>) -> Array4<T> {
    let (_, c, h, w) = x.dim();
    let hw = h * w;
    let f = cbam_fwd(x, p);
    let mut y = f.f1;
    let sas = f.sa.as_slice().expect("standard layout");
    let ys = y.as_slice_mut().expect("standard layout");
    for (sample, s) in ys.chunks_exact_mut(c * hw).zip(sas.chunks_exact(hw)) {
        for plane in sample.chunks_exact_mut(hw) {
            for (v, &g) in plane.iter_mut().zip(s) {
                *v *= g;
            }
        }
    }
    y
}

/// CBAM backward: `x [N, C, H, W]`, `dy [N, C, H, W]` → (`dx [N, C, H, W]`, gradients).
/// Recomputes the forward activations.
pub fn cbam_backward<T: Real>(x: ArrayView4<T>, p: &CbamParams<T>, dy: ArrayView4<T>) -> (Array4<T>, CbamGrads<T>) {
    let (n, c, h, w) = x.dim();
    let hw = h * w;
    let f = cbam_fwd(x, p);
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let f1s = f.f1.as_slice().expect("standard layout");
    let sas = f.sa.as_slice().expect("standard layout");
    // y = f1 · sa
    let mut df1 = dy.as_standard_layout().into_owned();
    let mut dz = Array4::<T>::zeros((n, 1, h, w));
    {
        let dfs = df1.as_slice_mut().expect("standard layout");
        let dzs = dz.as_slice_mut().expect("fresh array");
        for (((dsample, fsample), s), dzp) in dfs
            .chunks_exact_mut(c * hw)
            .zip(f1s.chunks_exact(c * hw))
            .zip(sas.chunks_exact(hw))
            .zip(dzs.chunks_exact_mut(hw))
        {
            for (dplane, fplane) in dsample.chunks_exact_mut(hw).zip(fsample.chunks_exact(hw)) {
                for (((d, &fv), &sv), z) in dplane.iter_mut().zip(fplane).zip(s).zip(dzp.iter_mut()) {
                    *z += *d * fv;
                    *d *= sv;
                }
            }
        }
        for (d, &s) in dzs.iter_mut().zip(sas) {
            *d = *d * s * (T::ONE - s);
        }
    }
    let k = p.spatial.dim().2;
    let cfg = Conv2dConfig { stride: 1, padding: k / 2, dilation: 1 };
    let (dstack, dspatial, _) = conv2d_backward(f.stacked.view(), p.spatial, dz.view(), &cfg);
    let dstack = dstack.as_standard_layout().into_owned();
    let dss = dstack.as_slice().expect("standard layout");
    let cc = T::from_usize(c);
    let dfs = df1.as_slice_mut().expect("standard layout");
    let mut col = vec![T::ZERO; c];
    for ((dsample, fsample), ds) in
        dfs.chunks_exact_mut(c * hw).zip(f1s.chunks_exact(c * hw)).zip(dss.chunks_exact(2 * hw))
    {
        for cell in 0..hw {
            let dmean = ds[cell] / cc;
            for (ch, v) in col.iter_mut().enumerate() {
                *v = fsample[ch * hw + cell];
                dsample[ch * hw + cell] += dmean;
            }
            dsample[first_argmax(&col) * hw + cell] += ds[hw + cell];
        }
    }
    // f1 = x · ca
    let cas = f.ca.as_slice().expect("fresh array");
    let mut dca = Array2::<T>::zeros((n, c));
    let mut dx = Array4::<T>::zeros((n, c, h, w));
    {
        let dcas = dca.as_slice_mut().expect("fresh array");
        let dxs = dx.as_slice_mut().expect("fresh array");
        for ((((dp, xp), dxp), g), dc) in
            dfs.chunks_exact(hw).zip(xs.chunks_exact(hw)).zip(dxs.chunks_exact_mut(hw)).zip(cas).zip(dcas.iter_mut())
        {
            let mut acc = T::ZERO;
            for ((&d, &xv), o) in dp.iter().zip(xp).zip(dxp.iter_mut()) {
                acc += d * xv;
                *o = d * *g;
            }
            *dc = acc;
        }
    }
    let dm = Zip::from(&dca).and(&f.ca).map_collect(|&d, &a| d * a * (T::ONE - a));
    let mut mg = p.mlp.zero_grads();
    let davg = p.mlp.backward(f.avg.view(), f.z1a.view(), dm.view(), &mut mg);
    let dmx = p.mlp.backward(f.mx.view(), f.z1m.view(), dm.view(), &mut mg);
    let hwt = T::from_usize(hw);
    let dxs = dx.as_slice_mut().expect("fresh array");
    for (((dxp, xp), &da), &dmv) in dxs.chunks_exact_mut(hw).zip(xs.chunks_exact(hw)).zip(davg.iter()).zip(dmx.iter()) {
        let g = da / hwt;
        for o in dxp.iter_mut() {
            *o += g;
        }
        dxp[first_argmax(xp)] += dmv;
    }
    (dx, CbamGrads { mlp: mg, spatial: dspatial })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::conv::conv2d_naive;
    use crate::nn::testutil::*;

    struct P {
        w1: Array2<f64>,
        b1: Array1<f64>,
        w2: Array2<f64>,
        b2: Array1<f64>,
        ws: Array4<f64>,
    }

    fn params(c: usize, hd: usize, k: usize, seed: u64) -> P {
        P {
            w1: rand_array((hd, c), seed, 1.0),
            b1: rand_array(hd, seed + 1, 0.5),
            w2: rand_array((c, hd), seed + 2, 1.0),
            b2: rand_array(c, seed + 3, 0.5),
            ws: rand_array((1, 2, k, k), seed + 4, 0.5),
        }
    }

    fn mlp(p: &P) -> Mlp2<'_, f64> {
        Mlp2 { w1: p.w1.view(), b1: p.b1.view(), w2: p.w2.view(), b2: p.b2.view() }
    }

    fn sig(v: f64) -> f64 {
        1.0 / (1.0 + (-v).exp())
    }

    /// Reference MLP on one vector with plain loops.
    fn mlp_ref(p: &P, v: &[f64]) -> Vec<f64> {
        let hd = p.w1.nrows();
        let a: Vec<f64> =
            (0..hd).map(|j| (p.b1[j] + (0..v.len()).map(|i| p.w1[[j, i]] * v[i]).sum::<f64>()).max(0.0)).collect();
        (0..v.len()).map(|i| p.b2[i] + (0..hd).map(|j| p.w2[[i, j]] * a[j]).sum::<f64>()).collect()
    }

    fn se_ref(x: &Array4<f64>, p: &P) -> Array4<f64> {
        let (n, c, h, w) = x.dim();
        let mut y = x.clone();
        for b in 0..n {
            let s: Vec<f64> = (0..c)
                .map(|ch| {
                    (0..h).flat_map(|i| (0..w).map(move |j| (i, j))).map(|(i, j)| x[[b, ch, i, j]]).sum::<f64>()
                        / (h * w) as f64
                })
                .collect();
            let g = mlp_ref(p, &s);
            for ch in 0..c {
                for i in 0..h {
                    for j in 0..w {
                        y[[b, ch, i, j]] *= sig(g[ch]);
                    }
                }
            }
        }
        y
    }

    fn cbam_ref(x: &Array4<f64>, p: &P) -> Array4<f64> {
        let (n, c, h, w) = x.dim();
        let mut f1 = x.clone();
        for b in 0..n {
            let cells = || (0..h).flat_map(|i| (0..w).map(move |j| (i, j)));
            let avg: Vec<f64> =
                (0..c).map(|ch| cells().map(|(i, j)| x[[b, ch, i, j]]).sum::<f64>() / (h * w) as f64).collect();
            let mx: Vec<f64> =
                (0..c).map(|ch| cells().map(|(i, j)| x[[b, ch, i, j]]).fold(f64::NEG_INFINITY, f64::max)).collect();
            let (ma, mm) = (mlp_ref(p, &avg), mlp_ref(p, &mx));
            for ch in 0..c {
                for (i, j) in cells() {
                    f1[[b, ch, i, j]] *= sig(ma[ch] + mm[ch]);
                }
            }
        }
        let stacked = Array4::from_shape_fn((n, 2, h, w), |(b, k, i, j)| {
            let vals = (0..c).map(|ch| f1[[b, ch, i, j]]);
            if k == 0 {
                vals.sum::<f64>() / c as f64
            } else {
                vals.fold(f64::NEG_INFINITY, f64::max)
            }
        });
        let k = p.ws.dim().2;
        let z =
            conv2d_naive(stacked.view(), p.ws.view(), None, &Conv2dConfig { stride: 1, padding: k / 2, dilation: 1 });
        Array4::from_shape_fn(x.dim(), |(b, ch, i, j)| f1[[b, ch, i, j]] * sig(z[[b, 0, i, j]]))
    }

    type P32 = (Array2<f32>, Array1<f32>, Array2<f32>, Array1<f32>, Array4<f32>);

    /// Check one parameter's analytic gradient against central differences of the
    /// reference (|a − b| ≤ 1e-8 + 1e-6·|b|), perturbing field `$field` of the copy
    /// `$q` of `$p`, and restore the field afterwards.
    macro_rules! fd_check_param {
        ($analytic:expr, $p:expr, $q:ident, $field:ident, $loss:expr, $what:expr) => {{
            let numeric = fd_grad(&$p.$field, |v| {
                $q.$field = v.clone();
                $loss(&$q)
            });
            $q.$field = $p.$field.clone();
            assert_close($analytic, &numeric, 1e-8, 1e-6, $what);
        }};
    }

    fn to32p(p: &P) -> P32 {
        (to32(&p.w1), to32(&p.b1), to32(&p.w2), to32(&p.b2), to32(&p.ws))
    }

    #[test]
    fn se_forward_backward() {
        for (k, &(n, c, h, w, r)) in
            [(2, 5, 3, 4, 2), (1, 16, 5, 5, 16), (2, 3, 1, 1, 16), (2, 7, 6, 3, 3)].iter().enumerate()
        {
            let p = params(c, hidden_units(c, r), 1, 200 + 10 * k as u64);
            let x = rand_array((n, c, h, w), 300 + k as u64, 2.0);
            let y = se_forward(x.view(), &mlp(&p));
            assert_close(&y, &se_ref(&x, &p), 1e-14, 1e-12, "se f64");
            let (w1, b1, w2, b2, _) = to32p(&p);
            let m32 = Mlp2 { w1: w1.view(), b1: b1.view(), w2: w2.view(), b2: b2.view() };
            assert_close(&to64(&se_forward(to32(&x).view(), &m32)), &y, 1e-5, 1e-4, "se f32");
            let dy = rand_array(x.raw_dim(), 400 + k as u64, 1.0);
            let (dx, g) = se_backward(x.view(), &mlp(&p), dy.view());
            // |a − b| ≤ 1e-8 + 1e-6·|b| against central differences of the reference.
            let loss = |x: &Array4<f64>, p: &P| (se_ref(x, p) * &dy).sum();
            assert_close(&dx, &fd_grad(&x, |xp| loss(xp, &p)), 1e-8, 1e-6, "se dx");
            let mut q = params(c, hidden_units(c, r), 1, 200 + 10 * k as u64);
            fd_check_param!(&g.w1, p, q, w1, |q: &P| loss(&x, q), "se dw1");
            fd_check_param!(&g.b1, p, q, b1, |q: &P| loss(&x, q), "se db1");
            fd_check_param!(&g.w2, p, q, w2, |q: &P| loss(&x, q), "se dw2");
            fd_check_param!(&g.b2, p, q, b2, |q: &P| loss(&x, q), "se db2");
        }
    }

    #[test]
    fn cbam_forward_backward() {
        for (k, &(n, c, h, w, r, ks)) in
            // (3, 5, 4, 3, 16, 3): hidden width 1 with a batch, where `dot` returns a column-major product.
            [
                (2, 6, 5, 4, 2, 3),
                (1, 4, 7, 9, 16, 7),
                (2, 3, 1, 2, 1, 7),
                (1, 5, 3, 3, 2, 5),
                (3, 5, 4, 3, 16, 3),
            ]
            .iter()
            .enumerate()
        {
            let p = params(c, hidden_units(c, r), ks, 500 + 10 * k as u64);
            let x = rand_array((n, c, h, w), 600 + k as u64, 2.0);
            let cp = CbamParams { mlp: mlp(&p), spatial: p.ws.view() };
            let y = cbam_forward(x.view(), &cp);
            assert_close(&y, &cbam_ref(&x, &p), 1e-14, 1e-12, "cbam f64");
            let (w1, b1, w2, b2, ws) = to32p(&p);
            let c32 = CbamParams {
                mlp: Mlp2 { w1: w1.view(), b1: b1.view(), w2: w2.view(), b2: b2.view() },
                spatial: ws.view(),
            };
            assert_close(&to64(&cbam_forward(to32(&x).view(), &c32)), &y, 1e-5, 1e-4, "cbam f32");
            let dy = rand_array(x.raw_dim(), 700 + k as u64, 1.0);
            let (dx, g) = cbam_backward(x.view(), &cp, dy.view());
            let (dx32, g32) = cbam_backward(to32(&x).view(), &c32, to32(&dy).view());
            assert_close(&to64(&dx32), &dx, 1e-5, 1e-4, "cbam dx f32");
            assert_close(&to64(&g32.spatial), &g.spatial, 1e-5, 1e-4, "cbam dws f32");
            // |a − b| ≤ 1e-8 + 1e-6·|b| against central differences of the reference.
            let loss = |x: &Array4<f64>, p: &P| (cbam_ref(x, p) * &dy).sum();
            assert_close(&dx, &fd_grad(&x, |xp| loss(xp, &p)), 1e-8, 1e-6, "cbam dx");
            let mut q = params(c, hidden_units(c, r), ks, 500 + 10 * k as u64);
            fd_check_param!(&g.mlp.w1, p, q, w1, |q: &P| loss(&x, q), "cbam dw1");
            fd_check_param!(&g.mlp.b1, p, q, b1, |q: &P| loss(&x, q), "cbam db1");
            fd_check_param!(&g.mlp.w2, p, q, w2, |q: &P| loss(&x, q), "cbam dw2");
            fd_check_param!(&g.mlp.b2, p, q, b2, |q: &P| loss(&x, q), "cbam db2");
            fd_check_param!(&g.spatial, p, q, ws, |q: &P| loss(&x, q), "cbam dws");
        }
    }
}
