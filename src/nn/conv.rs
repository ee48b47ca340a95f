//! 2-D convolution (cross-correlation, as PyTorch's `nn.Conv2d`), with stride,
//! zero padding, dilation and an optional bias.
//!
//! Shapes: input `x [N, C, H, W]`, weight `w [O, C, KH, KW]`, bias `b [O]`,
//! output `y [N, O, H_out, W_out]` with
//! `H_out = ⌊(H + 2p − d(KH−1) − 1)/s⌋ + 1` (same for W):
//!
//! `y[n,o,i,j] = b[o] + Σ_{c,u,v} w[o,c,u,v] · x[n, c, i·s − p + u·d, j·s − p + v·d]`
//! (zero outside the image).
//!
//! The fast path lays the receptive fields out as columns (im2col, one matrix
//! `[C·KH·KW, N·H_out·W_out]` for the whole batch) and multiplies by the
//! weight matrix `[O, C·KH·KW]` with ndarray's `dot`; the backward pass is two
//! more products and a col2im scatter-add. [`conv2d_naive`] is the seven-loop
//! reference the tests compare with.

use ndarray::{Array1, Array2, Array4, ArrayView1, ArrayView2, ArrayView4, Axis};

use super::scalar::Real;

/// Stride, zero padding and dilation of a 2-D convolution (the same along H and W).
///
/// ```
/// use rlkit::nn::conv::Conv2dConfig;
/// let cfg = Conv2dConfig { stride: 1, padding: 2, dilation: 2 };
/// assert_eq!(cfg.out_size(7, 3), Some(7)); // "same" padding p = d(k−1)/2
/// assert_eq!(Conv2dConfig { stride: 2, padding: 0, dilation: 1 }.out_size(7, 3), Some(3));
/// assert_eq!(Conv2dConfig::default().out_size(2, 3), None); // kernel larger than the input
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dConfig {
    /// Step between output positions (≥ 1).
    pub stride: usize,
    /// Zeros added on each side of H and W.
    pub padding: usize,
    /// Spacing between kernel taps (≥ 1; 1 is an ordinary convolution).
    pub dilation: usize,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Conv2dConfig { stride: 1, padding: 0, dilation: 1 }
    }
}

impl Conv2dConfig {
    /// Output length `⌊(a + 2p − d(k−1) − 1)/s⌋ + 1` for an input length `a` and
    /// kernel size `k`, or `None` when the dilated kernel does not fit in the
    /// padded input (or stride/dilation/kernel is 0).
    pub fn out_size(&self, a: usize, k: usize) -> Option<usize> {
        if self.stride == 0 || self.dilation == 0 || k == 0 {
            return None;
        }
        let eff = self.dilation * (k - 1) + 1;
        let padded = a + 2 * self.padding;
        if padded < eff {
            None
        } else {
            Some((padded - eff) / self.stride + 1)
        }
    }
}

/// Input index for output position `o` and kernel tap `t`, or `None` in the padding.
#[inline]
fn src(o: usize, t: usize, cfg: &Conv2dConfig, len: usize) -> Option<usize> {
    let i = (o * cfg.stride + t * cfg.dilation).checked_sub(cfg.padding)?;
    (i < len).then_some(i)
}

/// im2col: `x [N, C, H, W]` → columns `[C·KH·KW, N·OH·OW]`, row `(c·KH + u)·KW + v`,
/// column `(n·OH + i)·OW + j`.
pub fn im2col<T: Real>(x: ArrayView4<T>, kh: usize, kw: usize, cfg: &Conv2dConfig, oh: usize, ow: usize) -> Array2<T> {
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let (n, c, h, w) = x.dim();
    let cols = n * oh * ow;
    let mut col = Array2::<T>::zeros((c * kh * kw, cols));
    let cs = col.as_slice_mut().expect("fresh array");
    for ci in 0..c {
        for u in 0..kh {
            for v in 0..kw {
                let r = (ci * kh + u) * kw + v;
                let row = &mut cs[r * cols..(r + 1) * cols];
                // Output columns j whose input column is inside the image.
                let jx: Vec<Option<usize>> = (0..ow).map(|j| src(j, v, cfg, w)).collect();
                for b in 0..n {
                    let xb = &xs[(b * c + ci) * h * w..][..h * w];
                    for i in 0..oh {
                        let Some(iy) = src(i, u, cfg, h) else {
                            continue;
                        };
                        let xrow = &xb[iy * w..][..w];
                        let orow = &mut row[(b * oh + i) * ow..][..ow];
                        for (o, ix) in orow.iter_mut().zip(&jx) {
                            if let Some(ix) = ix {
                                *o = xrow[*ix];
                            }
                        }
                    }
                }
            }
        }
    }
    col
}

/// col2im: the adjoint of [`im2col`]; scatter-adds columns `[C·KH·KW, N·OH·OW]`
/// back into an image `[N, C, H, W]`.
#[allow(clippy::too_many_arguments)]
pub fn col2im<T: Real>(
    col: ArrayView2<T>,
    dims: (usize, usize, usize, usize),
    kh: usize,
    kw: usize,
    cfg: &Conv2dConfig,
    oh: usize,
    ow: usize,
) -> Array4<T> {
    let (n, c, h, w) = dims;
    let col = col.as_standard_layout();
    let cs = col.as_slice().expect("standard layout");
    let cols = n * oh * ow;
    let mut x = Array4::<T>::zeros(dims);
    let xs = x.as_slice_mut().expect("fresh array");
    for ci in 0..c {
        for u in 0..kh {
            for v in 0..kw {
                let r = (ci * kh + u) * kw + v;
                let row = &cs[r * cols..(r + 1) * cols];
                let jx: Vec<Option<usize>> = (0..ow).map(|j| src(j, v, cfg, w)).collect();
                for b in 0..n {
                    let xb = &mut xs[(b * c + ci) * h * w..][..h * w];
                    for i in 0..oh {
                        let Some(iy) = src(i, u, cfg, h) else {
                            continue;
                        };
                        let xrow = &mut xb[iy * w..][..w];
                        let orow = &row[(b * oh + i) * ow..][..ow];
                        for (o, ix) in orow.iter().zip(&jx) {
                            if let Some(ix) = ix {
                                xrow[*ix] += *o;
                            }
                        }
                    }
                }
            }
        }
    }
    x
}

fn out_dims(x: (usize, usize, usize, usize), wd: (usize, usize, usize, usize), cfg: &Conv2dConfig) -> (usize, usize) {
    let oh = cfg.out_size(x.2, wd.2);
    let ow = cfg.out_size(x.3, wd.3);
    match (oh, ow) {
        (Some(a), Some(b)) if x.1 == wd.1 => (a, b),
        _ => panic!("conv2d: input {x:?} and weight {wd:?} incompatible under {cfg:?} (validated at build time)"),
    }
}

/// Conv2d forward. `x [N, C, H, W]`, `w [O, C, KH, KW]`, `b [O]` (optional)
/// → `y [N, O, H_out, W_out]`.
///
/// Panics if the shapes are incompatible; the model builder validates them first.
///
/// ```
/// use ndarray::{Array1, Array4};
/// use rlkit::nn::conv::{conv2d_forward, Conv2dConfig};
/// let x = Array4::<f32>::ones((1, 1, 3, 3));
/// let w = Array4::<f32>::ones((1, 1, 3, 3));
/// let y = conv2d_forward(x.view(), w.view(), Some(Array1::from(vec![0.5f32]).view()),
///                        &Conv2dConfig { stride: 1, padding: 1, dilation: 1 });
/// assert_eq!(y[[0, 0, 1, 1]], 9.5); // centre sees all 9 ones
/// assert_eq!(y[[0, 0, 0, 0]], 4.5); // corner sees 4
/// ```
pub fn conv2d_forward<T: Real>(
    x: ArrayView4<T>,
    w: ArrayView4<T>,
    b: Option<ArrayView1<T>>,
    cfg: &Conv2dConfig,
) -> Array4<T> {
    if cfg.stride == 1 {
        return conv2d_forward_s1(x, w, b, cfg);
    }
    let (n, _, _, _) = x.dim();
    let (o, c, kh, kw) = w.dim();
    let (oh, ow) = out_dims(x.dim(), w.dim(), cfg);
    let col = im2col(x, kh, kw, cfg, oh, ow);
    let wm = w.to_shape((o, c * kh * kw)).expect("reshape weight");
    let ym = wm.dot(&col); // [O, N·OH·OW]
    let y4 = ym.into_shape_with_order((o, n, oh, ow)).expect("reshape output");
    let mut y = y4.permuted_axes([1, 0, 2, 3]).as_standard_layout().into_owned();
    if let Some(b) = b {
        for mut yn in y.outer_iter_mut() {
            for (mut yo, &bo) in yn.outer_iter_mut().zip(b.iter()) {
                yo += bo;
            }
        }
    }
    y
}

/// Conv2d backward. Given `x [N, C, H, W]`, `w [O, C, KH, KW]` and the output
/// gradient `dy [N, O, H_out, W_out]`, returns
/// (`dx [N, C, H, W]`, `dw [O, C, KH, KW]`, `db [O]`).
pub fn conv2d_backward<T: Real>(
    x: ArrayView4<T>,
    w: ArrayView4<T>,
    dy: ArrayView4<T>,
    cfg: &Conv2dConfig,
) -> (Array4<T>, Array4<T>, Array1<T>) {
    if cfg.stride == 1 {
        return conv2d_backward_s1(x, w, dy, cfg);
    }
    let (n, _, _, _) = x.dim();
    let (o, c, kh, kw) = w.dim();
    let (oh, ow) = out_dims(x.dim(), w.dim(), cfg);
    assert_eq!(dy.dim(), (n, o, oh, ow), "conv2d_backward: dy shape");
    let col = im2col(x, kh, kw, cfg, oh, ow);
    let dym = dy.permuted_axes([1, 0, 2, 3]);
    let dym = dym.as_standard_layout();
    let dym = dym.to_shape((o, n * oh * ow)).expect("reshape dy");
    let dw = dym.dot(&col.t()).into_shape_with_order((o, c, kh, kw)).expect("reshape dw");
    let db = dym.sum_axis(Axis(1));
    let wm = w.to_shape((o, c * kh * kw)).expect("reshape weight");
    let dcol = wm.t().dot(&dym);
    let dx = col2im(dcol.view(), x.dim(), kh, kw, cfg, oh, ow);
    (dx, dw, db)
}

/// Output positions `[lo, hi)` whose input `o + t·d − p` (stride 1) is inside `0..len_in`.
#[inline]
fn tap_range(t: usize, cfg: &Conv2dConfig, len_in: usize, len_out: usize) -> (usize, usize) {
    let off = t * cfg.dilation;
    let lo = cfg.padding.saturating_sub(off).min(len_out);
    let hi = (len_in + cfg.padding).saturating_sub(off).min(len_out);
    (lo, hi.max(lo))
}

/// Geometry of a stride-1 convolution of one sample.
#[derive(Clone, Copy)]
struct Geo {
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
}

/// im2col of one sample `xn [C, H, W]` into `col [C·KH·KW, OH·OW]` (stride 1):
/// each tap's valid window is one contiguous copy per output row, the
/// padding a fill.
fn im2col_s1<T: Real>(xn: &[T], col: &mut [T], g: Geo, cfg: &Conv2dConfig) {
    let p = g.oh * g.ow;
    for ci in 0..g.c {
        let xc = &xn[ci * g.h * g.w..][..g.h * g.w];
        for u in 0..g.kh {
            let (i0, i1) = tap_range(u, cfg, g.h, g.oh);
            for v in 0..g.kw {
                let (j0, j1) = tap_range(v, cfg, g.w, g.ow);
                let r = (ci * g.kh + u) * g.kw + v;
                let row = &mut col[r * p..][..p];
                if g.ow == g.w {
                    // Same width in and out: output k = i·W + j reads input k + off,
                    // one flat copy per tap, then zeros where (i, j) is in the padding.
                    let (k0, k1) = (i0 * g.ow, i1 * g.ow);
                    row[..k0].fill(T::ZERO);
                    row[k1..].fill(T::ZERO);
                    if k0 < k1 {
                        let (ka, kb, off) = flat_window(u, v, cfg, g, k0, k1);
                        row[k0..ka].fill(T::ZERO);
                        row[kb..k1].fill(T::ZERO);
                        if ka < kb {
                            let src = (ka as isize + off) as usize;
                            row[ka..kb].copy_from_slice(&xc[src..src + (kb - ka)]);
                        }
                        for i in i0..i1 {
                            row[i * g.ow..i * g.ow + j0].fill(T::ZERO);
                            row[i * g.ow + j1..(i + 1) * g.ow].fill(T::ZERO);
                        }
                    }
                    continue;
                }
                for i in 0..g.oh {
                    let orow = &mut row[i * g.ow..][..g.ow];
                    if i < i0 || i >= i1 || j0 >= j1 {
                        orow.fill(T::ZERO);
                        continue;
                    }
                    let iy = i + u * cfg.dilation - cfg.padding;
                    let ix0 = j0 + v * cfg.dilation - cfg.padding;
                    orow[..j0].fill(T::ZERO);
                    orow[j1..].fill(T::ZERO);
                    orow[j0..j1].copy_from_slice(&xc[iy * g.w + ix0..][..j1 - j0]);
                }
            }
        }
    }
}

/// For the flat (same-width) path of tap (u, v): the range `[ka, kb)` of
/// output indices within `[k0, k1)` whose input index `k + off` lies in the
/// image, and `off`. Indices cut off at either end are padding taps.
#[inline]
fn flat_window(u: usize, v: usize, cfg: &Conv2dConfig, g: Geo, k0: usize, k1: usize) -> (usize, usize, isize) {
    let du = (u * cfg.dilation) as isize - cfg.padding as isize;
    let dv = (v * cfg.dilation) as isize - cfg.padding as isize;
    let off = du * g.w as isize + dv;
    let n = (g.h * g.w) as isize;
    let ka = (k0 as isize).max(-off).min(k1 as isize) as usize;
    let kb = (k1 as isize).min(n - off).max(ka as isize) as usize;
    (ka, kb, off)
}

/// The adjoint of [`im2col_s1`]: scatter-add `col` into `xn` (contiguous
/// adds). Entries of `col` that fall in the padding are zeroed on the way.
fn col2im_s1<T: Real>(col: &mut [T], xn: &mut [T], g: Geo, cfg: &Conv2dConfig) {
    let p = g.oh * g.ow;
    for ci in 0..g.c {
        let xc = &mut xn[ci * g.h * g.w..][..g.h * g.w];
        for u in 0..g.kh {
            let (i0, i1) = tap_range(u, cfg, g.h, g.oh);
            for v in 0..g.kw {
                let (j0, j1) = tap_range(v, cfg, g.w, g.ow);
                if j0 >= j1 {
                    continue;
                }
                let r = (ci * g.kh + u) * g.kw + v;
                let row = &mut col[r * p..][..p];
                if g.ow == g.w {
                    // Flat add over the tap's rows; padding columns would wrap into
                    // the neighbouring image row, so they are zeroed first (+ 0 is exact).
                    let (k0, k1) = (i0 * g.ow, i1 * g.ow);
                    if k0 >= k1 {
                        continue;
                    }
                    for i in i0..i1 {
                        row[i * g.ow..i * g.ow + j0].fill(T::ZERO);
                        row[i * g.ow + j1..(i + 1) * g.ow].fill(T::ZERO);
                    }
                    let (ka, kb, off) = flat_window(u, v, cfg, g, k0, k1);
                    let dst = (ka as isize + off) as usize;
                    for (d, &s) in xc[dst..dst + (kb - ka)].iter_mut().zip(&row[ka..kb]) {
                        *d += s;
                    }
                    continue;
                }
                for i in i0..i1 {
                    let iy = i + u * cfg.dilation - cfg.padding;
                    let ix0 = j0 + v * cfg.dilation - cfg.padding;
                    let dst = &mut xc[iy * g.w + ix0..][..j1 - j0];
                    for (d, &s) in dst.iter_mut().zip(&row[i * g.ow + j0..][..j1 - j0]) {
                        *d += s;
                    }
                }
            }
        }
    }
}

/// Stride-1 forward, one sample at a time: its im2col block (C·KH·KW × OH·OW,
/// cache-sized) times the weight matrix by a packed GEMM (matrixmultiply,
/// through ndarray) written straight into `y[n]`: no permute of the output.
fn conv2d_forward_s1<T: Real>(
    x: ArrayView4<T>,
    w: ArrayView4<T>,
    b: Option<ArrayView1<T>>,
    cfg: &Conv2dConfig,
) -> Array4<T> {
    use ndarray::linalg::general_mat_mul;
    let (n, c, h, wd) = x.dim();
    let (o, _, kh, kw) = w.dim();
    let (oh, ow) = out_dims(x.dim(), w.dim(), cfg);
    let g = Geo { c, h, w: wd, kh, kw, oh, ow };
    let (r, p) = (c * kh * kw, oh * ow);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    // Wᵀ stored contiguously, used as the view (Wᵀ)ᵀ: the GEMM's packing of A then
    // copies runs of 16 contiguous weights instead of gathering with stride R.
    let wt = w.to_shape((o, r)).expect("reshape weight").t().as_standard_layout().into_owned();
    let wm = wt.t();
    let mut col = Array2::<T>::zeros((r, p));
    let mut y = Array4::<T>::zeros((n, o, oh, ow));
    let ys = y.as_slice_mut().expect("fresh array");
    for (bn, yn) in ys.chunks_exact_mut(o * p).enumerate() {
        im2col_s1(&xs[bn * c * h * wd..][..c * h * wd], col.as_slice_mut().expect("fresh array"), g, cfg);
        let mut ym = ndarray::ArrayViewMut2::from_shape((o, p), yn).expect("output block");
        general_mat_mul(T::ONE, &wm, &col, T::ZERO, &mut ym);
        if let Some(b) = b {
            for (mut row, &bo) in ym.outer_iter_mut().zip(b.iter()) {
                row += bo;
            }
        }
    }
    y
}

/// Stride-1 backward, one sample at a time (blocks stay in cache):
/// `dW += dY_n · colᵀ_n`, `db += Σ dY_n`, `dcol_n = Wᵀ · dY_n`, then col2im.
///
/// The weight gradient reads the receptive fields as rows (`colᵀ_n [OH·OW, KH·KW·C]`,
/// columns ordered tap-major, channel-minor) built from a zero-padded channels-last
/// copy of the sample, so each (output position, tap) is one contiguous copy of C
/// values (KW·C at dilation 1) and the GEMM packs it with contiguous copies too
/// (the channel-major `col_n` would be packed with a stride-OH·OW gather).
fn conv2d_backward_s1<T: Real>(
    x: ArrayView4<T>,
    w: ArrayView4<T>,
    dy: ArrayView4<T>,
    cfg: &Conv2dConfig,
) -> (Array4<T>, Array4<T>, Array1<T>) {
    use ndarray::linalg::general_mat_mul;
    let (n, c, h, wd) = x.dim();
    let (o, _, kh, kw) = w.dim();
    let (oh, ow) = out_dims(x.dim(), w.dim(), cfg);
    assert_eq!(dy.dim(), (n, o, oh, ow), "conv2d_backward: dy shape");
    let g = Geo { c, h, w: wd, kh, kw, oh, ow };
    let (r, p) = (c * kh * kw, oh * ow);
    let (d, pad) = (cfg.dilation, cfg.padding);
    let (hp, wp) = (h + 2 * pad, wd + 2 * pad);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let dy = dy.as_standard_layout();
    let dys = dy.as_slice().expect("standard layout");
    let wm = w.to_shape((o, r)).expect("reshape weight");
    // Padded channels-last sample [Hp, Wp, C]; the border stays zero.
    let mut xh = vec![T::ZERO; hp * wp * c];
    let mut colt = Array2::<T>::zeros((p, r));
    let mut dcol = Array2::<T>::zeros((r, p));
    // dW with columns (u, v, c); permuted to (c, u, v) at the end.
    let mut dwt = Array2::<T>::zeros((o, r));
    let mut db = Array1::<T>::zeros(o);
    let mut dx = Array4::<T>::zeros((n, c, h, wd));
    let dxs = dx.as_slice_mut().expect("fresh array");
    let run = if d == 1 { kw * c } else { c };
    for (bn, dxn) in dxs.chunks_exact_mut(c * h * wd).enumerate() {
        let xn = &xs[bn * c * h * wd..][..c * h * wd];
        for (ci, xc) in xn.chunks_exact(h * wd).enumerate() {
            for (iy, xrow) in xc.chunks_exact(wd).enumerate() {
                let base = ((iy + pad) * wp + pad) * c + ci;
                for (ix, &v) in xrow.iter().enumerate() {
                    xh[base + ix * c] = v;
                }
            }
        }
        let cs = colt.as_slice_mut().expect("fresh array");
        for (q, crow) in cs.chunks_exact_mut(r).enumerate() {
            let (i, j) = (q / ow, q % ow);
            for u in 0..kh {
                let src0 = ((i + u * d) * wp + j) * c;
                let dst0 = u * kw * c;
                if d == 1 {
                    crow[dst0..dst0 + run].copy_from_slice(&xh[src0..src0 + run]);
                } else {
                    for v in 0..kw {
                        let s = src0 + v * d * c;
                        crow[dst0 + v * c..][..c].copy_from_slice(&xh[s..s + c]);
                    }
                }
            }
        }
        let dyn_ = ArrayView2::from_shape((o, p), &dys[bn * o * p..][..o * p]).expect("dy block");
        general_mat_mul(T::ONE, &dyn_, &colt, T::ONE, &mut dwt);
        for (dbo, row) in db.iter_mut().zip(dyn_.outer_iter()) {
            *dbo += row.sum();
        }
        general_mat_mul(T::ONE, &wm.t(), &dyn_, T::ZERO, &mut dcol);
        col2im_s1(dcol.as_slice_mut().expect("fresh array"), dxn, g, cfg);
    }
    let dw = Array4::from_shape_fn((o, c, kh, kw), |(oo, ci, u, v)| dwt[[oo, (u * kw + v) * c + ci]]);
    (dx, dw, db)
}

/// The slow, obvious reference: seven nested loops, straight from the formula
/// in the module docs. `x [N, C, H, W]`, `w [O, C, KH, KW]`, `b [O]` → `y`.
pub fn conv2d_naive<T: Real>(
    x: ArrayView4<T>,
    w: ArrayView4<T>,
    b: Option<ArrayView1<T>>,
    cfg: &Conv2dConfig,
) -> Array4<T> {
    let (n, c, h, wd) = x.dim();
    let (o, _, kh, kw) = w.dim();
    let (oh, ow) = out_dims(x.dim(), w.dim(), cfg);
    let mut y = Array4::<T>::zeros((n, o, oh, ow));
    let (s, p, d) = (cfg.stride as isize, cfg.padding as isize, cfg.dilation as isize);
    for bn in 0..n {
        for oc in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.map_or(T::ZERO, |b| b[oc]);
                    for ci in 0..c {
                        for u in 0..kh {
                            for v in 0..kw {
                                let iy = i as isize * s - p + u as isize * d;
                                let ix = j as isize * s - p + v as isize * d;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    acc += w[[oc, ci, u, v]] * x[[bn, ci, iy as usize, ix as usize]];
                                }
                            }
                        }
                    }
                    y[[bn, oc, i, j]] = acc;
                }
            }
        }
    }
    y
}

/// Multiply–add FLOPs of a forward pass (2 per multiply-accumulate, plus the bias).
pub fn conv2d_flops(n: usize, c: usize, o: usize, kh: usize, kw: usize, oh: usize, ow: usize) -> u64 {
    (2 * n * o * oh * ow * c * kh * kw) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    // (N, C, H, W, O, KH, KW, stride, padding, dilation): odd sizes, stride > 1,
    // dilation > 1, padding > 0, non-square kernels and images.
    const CASES: &[[usize; 10]] = &[
        [2, 3, 7, 5, 4, 3, 3, 1, 1, 1],
        [1, 2, 9, 8, 3, 3, 2, 2, 1, 1],
        [2, 3, 11, 9, 2, 3, 3, 1, 2, 2],
        [1, 1, 10, 7, 2, 3, 3, 3, 0, 2],
        [3, 2, 5, 5, 5, 1, 1, 2, 0, 1],
        [1, 2, 3, 4, 3, 5, 5, 1, 3, 1],
        // Output as wide as the input but shorter (the flat stride-1 path with clipped rows).
        [2, 2, 6, 5, 3, 5, 3, 1, 1, 1],
        [1, 3, 8, 7, 2, 3, 3, 1, 3, 3],
    ];

    fn case(cse: &[usize; 10], seed: u64) -> (Array4<f64>, Array4<f64>, Array1<f64>, Conv2dConfig) {
        let [n, c, h, w, o, kh, kw, s, p, d] = *cse;
        let x = rand_array((n, c, h, w), seed, 1.0);
        let wt = rand_array((o, c, kh, kw), seed + 1, 0.5);
        let b = rand_array(o, seed + 2, 0.5);
        (x, wt, b, Conv2dConfig { stride: s, padding: p, dilation: d })
    }

    #[test]
    fn forward_matches_naive_f32_and_f64() {
        for (k, cse) in CASES.iter().enumerate() {
            let (x, w, b, cfg) = case(cse, 10 * k as u64);
            let reference = conv2d_naive(x.view(), w.view(), Some(b.view()), &cfg);
            let fast64 = conv2d_forward(x.view(), w.view(), Some(b.view()), &cfg);
            assert_close(&fast64, &reference, 1e-12, 1e-10, "conv f64 vs naive");
            let fast32 = conv2d_forward(to32(&x).view(), to32(&w).view(), Some(to32(&b).view()), &cfg);
            // f32 against the f64 reference: |a − b| ≤ 1e-5 + 1e-4·|b|.
            assert_close(&to64(&fast32), &reference, 1e-5, 1e-4, "conv f32 vs naive f64");
        }
    }

    #[test]
    fn output_size_formula() {
        let cfg = Conv2dConfig { stride: 3, padding: 1, dilation: 2 };
        // ⌊(10 + 2 − 2·2 − 1)/3⌋ + 1 = 3
        assert_eq!(cfg.out_size(10, 3), Some(3));
        let (x, w, _, _) = case(&[1, 1, 10, 10, 1, 3, 3, 1, 1, 1], 0);
        assert_eq!(conv2d_naive(x.view(), w.view(), None, &cfg).dim(), (1, 1, 3, 3));
        assert_eq!(Conv2dConfig { stride: 1, padding: 0, dilation: 3 }.out_size(6, 3), None);
        assert_eq!(Conv2dConfig { stride: 1, padding: 0, dilation: 3 }.out_size(7, 3), Some(1));
    }

    #[test]
    fn backward_matches_finite_differences_of_naive_f64() {
        for (k, cse) in CASES.iter().enumerate() {
            let (x, w, b, cfg) = case(cse, 100 + 10 * k as u64);
            let y = conv2d_naive(x.view(), w.view(), Some(b.view()), &cfg);
            let r = rand_array(y.raw_dim(), 7 + k as u64, 1.0);
            let (dx, dw, db) = conv2d_backward(x.view(), w.view(), r.view(), &cfg);
            let loss = |x: &Array4<f64>, w: &Array4<f64>, b: &Array1<f64>| {
                (conv2d_naive(x.view(), w.view(), Some(b.view()), &cfg) * &r).sum()
            };
            // Central differences in f64, h = 1e-5; the loss is linear in each
            // argument so only rounding (~1e-10) remains: |a − b| ≤ 1e-8 + 1e-6·|b|.
            let fdx = fd_grad(&x, |xp| loss(xp, &w, &b));
            assert_close(&dx, &fdx, 1e-8, 1e-6, "conv dx");
            let fdw = fd_grad(&w, |wp| loss(&x, wp, &b));
            assert_close(&dw, &fdw, 1e-8, 1e-6, "conv dw");
            let fdb = fd_grad(&b, |bp| loss(&x, &w, bp));
            assert_close(&db, &fdb, 1e-8, 1e-6, "conv db");
            // The f32 instantiation agrees with the f64 one: |a − b| ≤ 1e-5 + 1e-4·|b|.
            let (dx32, dw32, db32) = conv2d_backward(to32(&x).view(), to32(&w).view(), to32(&r).view(), &cfg);
            assert_close(&to64(&dx32), &dx, 1e-5, 1e-4, "conv dx f32");
            assert_close(&to64(&dw32), &dw, 1e-5, 1e-4, "conv dw f32");
            assert_close(&to64(&db32), &db, 1e-5, 1e-4, "conv db f32");
        }
    }

    #[test]
    fn hand_computed_dilated_case() {
        // 1×1×5×5 image x[i][j] = 5i + j, kernel of ones 2×2 with dilation 2:
        // y[0][0] = x[0][0] + x[0][2] + x[2][0] + x[2][2] = 0 + 2 + 10 + 12 = 24.
        let x = Array4::from_shape_fn((1, 1, 5, 5), |(_, _, i, j)| (5 * i + j) as f64);
        let w = Array4::<f64>::ones((1, 1, 2, 2));
        let y = conv2d_forward(x.view(), w.view(), None, &Conv2dConfig { stride: 1, padding: 0, dilation: 2 });
        assert_eq!(y.dim(), (1, 1, 3, 3));
        assert_eq!(y[[0, 0, 0, 0]], 24.0);
        assert_eq!(y[[0, 0, 2, 2]], 24.0 + 4.0 * 12.0);
    }
}
