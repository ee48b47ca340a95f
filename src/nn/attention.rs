//! Scaled dot-product attention kernels on contiguous `f32` arrays: a
//! FlashAttention-2-style tiled kernel and a naive reference that
//! materialises the full score matrix.
//!
//! # Shapes and math
//!
//! All tensors are per (batch × head) slice `b ∈ 0..BH`:
//!
//! * `q`: `[BH, N_q, D]`, `k`: `[BH, N_k, D]`, `v`: `[BH, N_k, D_v]`
//!   (self-attention is `N_q = N_k = N`, `D_v = D`);
//! * scores `S = τ·Q·Kᵀ` (`[N_q, N_k]`), with `S_ij = −∞` where the causal
//!   mask hides key `j` from query `i` (hidden iff `j > i`);
//! * row log-sum-exp `L_i = log Σ_j exp(S_ij)` (`[BH, N_q]`);
//! * probabilities `P = exp(S − L)` (row softmax), output `O = P·V`
//!   (`[BH, N_q, D_v]`).
//!
//! Backward, given `dO = ∂ℓ/∂O`:
//!
//! * `dV = Pᵀ·dO`, `dP = dO·Vᵀ`;
//! * `D_i = Σ_j P_ij·dP_ij = Σ_c dO_ic·O_ic` (a vector of length `N_q`);
//! * `dS = P ∘ (dP − D)` (`D` broadcast along rows);
//! * `dQ = τ·dS·K`, `dK = τ·dSᵀ·Q`.
//!
//! # Fully masked rows
//!
//! A row whose scores are all `−∞` has an empty softmax. Instead of the
//! `−∞ − (−∞) = NaN` the textbook formula gives, both kernels define its
//! output row as zero, its log-sum-exp as `L_i = −∞` (the log of an empty
//! sum), and every gradient flowing through it as zero. With the causal mask
//! used here (`j ≤ i`) this only happens when `N_k = 0`; inside the tiled
//! kernel, however, a row is routinely fully masked *within one tile*, and the
//! same guard keeps that case exact.
//!
//! # Memory
//!
//! The flash kernels never form an `N_q × N_k` matrix. Beyond the inputs and
//! outputs they use one `block_q × block_k` score tile (two in the backward)
//! per worker thread, `O(block_q)` running statistics, and in the backward
//! the vector `D` (`BH × N_q` floats): `O(N)` per head. The GEMMs are
//! faer's (`faer::linalg::matmul`), which keeps one packing workspace per
//! thread that has run a GEMM, allocated on its first call and kept for the
//! thread's lifetime: about twice the L3 size faer detects (8 MiB on the
//! benchmark machine, part of the first size's flash peak that
//! `cargo bench --bench attention` prints), of which
//! only the pages that packing touches become resident.
//!
//! # Determinism
//!
//! Work is split over rayon into independent tasks (one per head and query
//! block in the forward; per head, or per head and block in the backward),
//! and every output element is produced by exactly one task in a fixed order.
//! Results are therefore bitwise identical whatever the number of threads.
//! (faer picks its kernels by CPU, AVX-512 or AVX2, so results may differ in
//! the last bits between machines, as with any runtime-dispatched BLAS.)

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

/// Configuration of the tiled (flash) attention kernel.
///
/// Tile sizes only change the order of floating-point operations, never the
/// math; a tile size of `0` is treated as `1`. Tiles need not divide `N`.
///
/// ```
/// use rlkit::nn::attention::FlashConfig;
/// let cfg = FlashConfig { causal: true, ..FlashConfig::default() };
/// assert_eq!((cfg.block_q, cfg.block_k), (64, 64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashConfig {
    /// Rows of `Q` per tile (`B_r` in the FlashAttention-2 paper). Default 64.
    pub block_q: usize,
    /// Rows of `K`/`V` per tile (`B_c` in the paper). Default 64.
    pub block_k: usize,
    /// Causal mask: query `i` sees keys `j ≤ i` only. Default `false`.
    pub causal: bool,
}

impl Default for FlashConfig {
    fn default() -> Self {
        FlashConfig { block_q: 64, block_k: 64, causal: false }
    }
}

/// Sizes shared by all kernels, checked once.
#[derive(Debug, Clone, Copy)]
struct Dims {
    bh: usize,
    nq: usize,
    nk: usize,
    d: usize,
    dv: usize,
}

fn check_qkv(q: &ArrayView3<f32>, k: &ArrayView3<f32>, v: &ArrayView3<f32>) -> Dims {
    let (bh, nq, d) = q.dim();
    let (bh_k, nk, d_k) = k.dim();
    let (bh_v, nk_v, dv) = v.dim();
    assert!(
        bh_k == bh && bh_v == bh && d_k == d && nk_v == nk,
        "attention: incompatible shapes q {:?}, k {:?}, v {:?} (need q [BH,Nq,D], k [BH,Nk,D], v [BH,Nk,Dv])",
        q.dim(),
        k.dim(),
        v.dim()
    );
    Dims { bh, nq, nk, d, dv }
}

fn check_backward(dims: Dims, o: &ArrayView3<f32>, lse: &ArrayView2<f32>, d_o: &ArrayView3<f32>) {
    let od = (dims.bh, dims.nq, dims.dv);
    assert!(
        o.dim() == od && d_o.dim() == od && lse.dim() == (dims.bh, dims.nq),
        "attention backward: o {:?}, d_o {:?} must be {:?} and lse {:?} must be {:?}",
        o.dim(),
        d_o.dim(),
        od,
        lse.dim(),
        (dims.bh, dims.nq)
    );
}

/// The causal mask as a key offset: query `i` sees key `j` iff
/// `j ≤ i + offset`. The public API uses offset 0; the unit tests use a
/// negative offset to force fully masked rows.
type Mask = Option<isize>;

fn mask_of(cfg: &FlashConfig) -> Mask {
    cfg.causal.then_some(0)
}

/// Number of leading columns of a tile row (query `i`, keys from `j0`, `cols`
/// keys) that the mask leaves visible.
#[inline]
fn visible_cols(mask: Mask, i: usize, j0: usize, cols: usize) -> usize {
    match mask {
        None => cols,
        Some(off) => (i as isize + off + 1 - j0 as isize).clamp(0, cols as isize) as usize,
    }
}

/// True when every (query, key) pair of the tile is masked.
#[inline]
fn tile_fully_masked(mask: Mask, i_last: usize, j0: usize) -> bool {
    matches!(mask, Some(off) if j0 as isize > i_last as isize + off)
}

/// The `rows × cols` row-major matrix stored at the start of `s`.
#[inline(always)]
fn mat(s: &[f32], rows: usize, cols: usize) -> MatRef<'_, f32> {
    MatRef::from_row_major_slice(&s[..rows * cols], rows, cols)
}

/// Mutable [`mat`].
#[inline(always)]
fn mat_mut(s: &mut [f32], rows: usize, cols: usize) -> MatMut<'_, f32> {
    MatMut::from_row_major_slice_mut(&mut s[..rows * cols], rows, cols)
}

/// `c = α·a·b`, or `c += α·a·b` when `add`, on one thread (the kernels
/// parallelise over heads and tiles themselves).
///
/// faer's `matmul` runs AVX-512 kernels where the CPU has them (AVX2+FMA
/// otherwise), chosen at run time behind a safe API; on attention's shapes
/// (`64 ≤ m, n, k ≤ 1024`) it is about 2.5× faster than matrixmultiply here
/// (`docs/speed.md`). For given shapes, strides and CPU, the order of every
/// sum is fixed, so results do not depend on the thread count.
#[inline(always)]
fn gemm(c: MatMut<'_, f32>, add: bool, a: MatRef<'_, f32>, b: MatRef<'_, f32>, alpha: f32) {
    matmul(c, if add { Accum::Add } else { Accum::Replace }, a, b, alpha, Par::Seq);
}

/// Runs `f` compiled for AVX2+FMA when the CPU has them (pulp's safe
/// runtime dispatch; `f` must be an `#[inline(always)]` closure whose callees
/// are `#[inline(always)]` too, so that they are compiled into the dispatched
/// function), and then clears the upper halves of the vector registers
/// (`vzeroupper`).
///
/// Both matter because faer's AVX-512 kernels return with the upper vector
/// state dirty: legacy-SSE code (everything rlkit compiles for baseline
/// x86-64) then runs up to 11× slower (measured, `docs/speed.md`). The
/// softmax loops between the GEMMs therefore run VEX-encoded, and every
/// kernel task ends with `vzeroupper` so that the caller's code is not
/// slowed down. The arithmetic is the same as without dispatch: Rust never
/// contracts `a·b + c` into an FMA on its own, and the lanes are explicit.
#[inline(always)]
fn vex<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        let r = simd.vectorize(f);
        simd.avx._mm256_zeroupper();
        return r;
    }
    f()
}

/// Split a flat `[BH, n, width]` buffer into per-(head, row block) slices:
/// `(head, first row, rows, slice)`. Works for `width = 0` (empty slices).
fn split_blocks(
    flat: &mut [f32],
    bh: usize,
    n: usize,
    width: usize,
    block: usize,
) -> Vec<(usize, usize, usize, &mut [f32])> {
    let mut out = Vec::with_capacity(bh * n.div_ceil(block));
    let mut rest = flat;
    for h in 0..bh {
        let mut r0 = 0;
        while r0 < n {
            let rows = block.min(n - r0);
            let (blk, tail) = std::mem::take(&mut rest).split_at_mut(rows * width);
            out.push((h, r0, rows, blk));
            rest = tail;
            r0 += rows;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Flash forward
// ---------------------------------------------------------------------------

/// Tiled attention forward (FlashAttention-2, Algorithm 1).
///
/// * `q`: `[BH, N_q, D]`, `k`: `[BH, N_k, D]`, `v`: `[BH, N_k, D_v]`
///   (usually `N_q = N_k = N`, `D_v = D`); any layout (a non-contiguous view
///   is copied once);
/// * `scale`: `τ`, usually `1/√D`;
/// * returns `O`: `[BH, N_q, D_v]` and the row log-sum-exp `L`: `[BH, N_q]`.
///
/// For each block of `block_q` query rows `Q_i`, over key/value blocks `j`
/// (stopping at the diagonal when causal):
///
/// ```text
/// S     = τ·Q_i·K_jᵀ               (−∞ where masked)
/// m_new = max(m, rowmax S)
/// P     = exp(S − m_new)
/// l     = e^{m − m_new}·l + rowsum P
/// O_i   = e^{m − m_new}·O_i + P·V_j
/// m     = m_new
/// ```
///
/// then `O_i /= l` and `L_i = m + log l` (the rescale factor is
/// `e^{m − m_new}`, without the inverse of the paper's typo). A row that has
/// seen no visible key yet (`m_new = −∞`) is left untouched, so a fully
/// masked row ends with `O = 0`, `L = −∞` and no NaN.
///
/// Extra memory: one `block_q × block_k` tile plus `2·block_q` floats per
/// worker. Parallel over (head, query block) with rayon; results do not
/// depend on the thread count.
///
/// # Panics
/// If the shapes are inconsistent (a programming error: layers check shapes
/// when they are built).
///
/// ```
/// use ndarray::Array3;
/// use rlkit::nn::attention::{flash_attention_forward, naive_attention_forward, FlashConfig};
/// let q = Array3::from_shape_fn((2, 5, 3), |(b, i, c)| ((b + 2 * i + 3 * c) as f32).sin());
/// let cfg = FlashConfig { block_q: 2, block_k: 3, causal: true };
/// let (o, l) = flash_attention_forward(q.view(), q.view(), q.view(), 0.5, &cfg);
/// let (o_ref, l_ref) = naive_attention_forward(q.view(), q.view(), q.view(), 0.5, &cfg);
/// assert!((&o - &o_ref).iter().all(|e| e.abs() < 1e-5));
/// assert!((&l - &l_ref).iter().all(|e| e.abs() < 1e-5));
/// ```
pub fn flash_attention_forward(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    cfg: &FlashConfig,
) -> (Array3<f32>, Array2<f32>) {
    flash_forward_masked(q, k, v, scale, cfg.block_q, cfg.block_k, mask_of(cfg))
}

fn flash_forward_masked(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    block_q: usize,
    block_k: usize,
    mask: Mask,
) -> (Array3<f32>, Array2<f32>) {
    let dims = check_qkv(&q, &k, &v);
    let (q, k, v) = (q.as_standard_layout(), k.as_standard_layout(), v.as_standard_layout());
    let (bq, bk) = (block_q.max(1), block_k.max(1));
    let Dims { bh, nq, nk, d, dv } = dims;
    let mut o = Array3::<f32>::zeros((bh, nq, dv));
    let mut lse = Array2::<f32>::zeros((bh, nq));
    if bh == 0 || nq == 0 {
        return (o, lse);
    }
    let (qf, kf, vf) = (
        q.as_slice().expect("standard layout"),
        k.as_slice().expect("standard layout"),
        v.as_slice().expect("standard layout"),
    );
    let o_flat = o.as_slice_mut().expect("fresh array is contiguous");
    let l_flat = lse.as_slice_mut().expect("fresh array is contiguous");
    // One task per (head, query block); each owns disjoint rows of O and L.
    let tasks: Vec<_> =
        split_blocks(o_flat, bh, nq, dv, bq).into_iter().zip(split_blocks(l_flat, bh, nq, 1, bq)).collect();
    tasks.into_par_iter().for_each(|((h, i0, rows, o_blk), (_, _, _, l_blk))| {
        let head = FwdHead::of((qf, kf, vf), h, i0..i0 + rows, (nq, nk, d, dv));
        vex(
            #[inline(always)]
            || forward_block(&head, i0, scale, bk, mask, o_blk, l_blk),
        );
    });
    (o, lse)
}

/// One head's keys and values and one block of its queries, row-major.
struct FwdHead<'a> {
    /// `[rows, D]`: the query block.
    q: &'a [f32],
    /// `[N_k, D]`.
    k: &'a [f32],
    /// `[N_k, D_v]`.
    v: &'a [f32],
    nk: usize,
    d: usize,
    dv: usize,
}

impl<'a> FwdHead<'a> {
    /// Head `h`'s query rows `rows` against all its keys, from the flat
    /// `[BH, N_q, D]`, `[BH, N_k, D]`, `[BH, N_k, D_v]` inputs.
    #[inline(always)]
    fn of(
        (qf, kf, vf): (&'a [f32], &'a [f32], &'a [f32]),
        h: usize,
        rows: std::ops::Range<usize>,
        (nq, nk, d, dv): (usize, usize, usize, usize),
    ) -> Self {
        FwdHead {
            q: &qf[(h * nq + rows.start) * d..(h * nq + rows.end) * d],
            k: &kf[h * nk * d..(h + 1) * nk * d],
            v: &vf[h * nk * dv..(h + 1) * nk * dv],
            nk,
            d,
            dv,
        }
    }
}

/// Online-softmax forward of one query block (`head.q`, `[rows, D]`, first
/// row is query `i0`) against all keys. Writes `o` (`[rows, D_v]`) and `lse`
/// (`rows` floats).
#[inline(always)]
fn forward_block(head: &FwdHead, i0: usize, scale: f32, bk: usize, mask: Mask, o: &mut [f32], lse: &mut [f32]) {
    let FwdHead { nk, d, dv, .. } = *head;
    let rows = lse.len();
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut l = vec![0.0f32; rows];
    let mut s_buf = vec![0.0f32; rows * bk.min(nk.max(1))];
    o.fill(0.0);
    let mut j0 = 0;
    while j0 < nk {
        if tile_fully_masked(mask, i0 + rows - 1, j0) {
            break; // later key blocks are masked too
        }
        let j1 = (j0 + bk).min(nk);
        let cols = j1 - j0;
        let s_t = &mut s_buf[..rows * cols];
        let k_j = mat(&head.k[j0 * d..j1 * d], cols, d);
        gemm(mat_mut(s_t, rows, cols), false, mat(head.q, rows, d), k_j.transpose(), scale);
        for r in 0..rows {
            let vis = visible_cols(mask, i0 + r, j0, cols);
            let row = &mut s_t[r * cols..(r + 1) * cols];
            let (seen, hidden) = row.split_at_mut(vis);
            hidden.fill(0.0); // P = 0 on masked entries
            let rowmax = row_max(seen);
            let m_new = m[r].max(rowmax);
            if m_new == f32::NEG_INFINITY {
                // Nothing visible so far: P = 0, O and l stay 0 (NaN guard).
                continue;
            }
            let alpha = (m[r] - m_new).exp(); // exp(−∞) = 0 on the first visible tile
            for x in seen.iter_mut() {
                *x = exp_approx(*x - m_new);
            }
            let sum = row_sum(seen);
            l[r] = alpha * l[r] + sum;
            m[r] = m_new;
            if alpha != 1.0 {
                o[r * dv..(r + 1) * dv].iter_mut().for_each(|x| *x *= alpha);
            }
        }
        gemm(mat_mut(o, rows, dv), true, mat(s_t, rows, cols), mat(&head.v[j0 * dv..j1 * dv], cols, dv), 1.0);
        j0 = j1;
    }
    for r in 0..rows {
        let o_r = &mut o[r * dv..(r + 1) * dv];
        if l[r] > 0.0 {
            let inv = 1.0 / l[r];
            o_r.iter_mut().for_each(|x| *x *= inv);
            lse[r] = m[r] + l[r].ln();
        } else {
            o_r.fill(0.0);
            lse[r] = f32::NEG_INFINITY;
        }
    }
}

/// `exp(x)` in f32 without a libm call, so that loops over a tile row
/// vectorise (the flash kernels spend most of their non-GEMM time here).
/// Cephes' `expf`: `x = n·ln 2 + r` with |r| ≤ ln 2 / 2 (ln 2 in two parts),
/// a degree-6 polynomial for `e^r`, and `2^n` built in the exponent bits;
/// `n` comes from the 1.5·2^23 rounding trick, all branch-free. Relative
/// error ≤ 2e-7 (about 2 ulp) on [−87, 88]; inputs are clamped to that
/// range, so anything below −87 gives ≈ 1.6e-38 instead of a smaller number
/// (irrelevant next to a softmax denominator ≥ 1).
#[inline(always)]
fn exp_approx(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2^23
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let z = r * r;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5)
        * z
        + r
        + 1.0;
    // t's low mantissa bits hold n: the exponent field of 2^n is n + 127.
    let pow2 = f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23);
    p * pow2
}

/// Largest element (−∞ for an empty row), in 8 lanes so that it vectorises.
#[inline(always)]
fn row_max(x: &[f32]) -> f32 {
    let mx = |a: f32, b: f32| if b > a { b } else { a };
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            lanes[k] = mx(lanes[k], c[k]);
        }
    }
    it.remainder().iter().fold(lanes.iter().copied().fold(f32::NEG_INFINITY, mx), |a, &b| mx(a, b))
}

/// `Σ a_i·b_i` in 8 lanes (vectorises, unlike a left fold, whose adds form
/// one dependency chain).
#[inline(always)]
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (mut ia, mut ib) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ia).zip(&mut ib) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let rest: f32 = ia.remainder().iter().zip(ib.remainder()).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + rest
}

/// Sum in 8 lanes (vectorises; the order differs from a left fold only by rounding).
#[inline(always)]
fn row_sum(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            lanes[k] += c[k];
        }
    }
    lanes.iter().sum::<f32>() + it.remainder().iter().sum::<f32>()
}

// ---------------------------------------------------------------------------
// Flash backward
// ---------------------------------------------------------------------------

/// Tiled attention backward (FlashAttention-2, Algorithm 2).
///
/// * `q`, `k`, `v`: as in [`flash_attention_forward`];
/// * `o`: `[BH, N_q, D_v]` and `lse`: `[BH, N_q]`, the forward's outputs;
/// * `d_o`: `[BH, N_q, D_v]`, the gradient of the loss wrt `O`;
/// * returns `(dQ [BH, N_q, D], dK [BH, N_k, D], dV [BH, N_k, D_v])`.
///
/// First `D_i = Σ_c dO_ic·O_ic` (length `N_q`, the paper's second typo
/// fixed). Then, per tile (`i` a query block, `j` a key block), recomputing
/// the probabilities from `L` instead of storing them:
///
/// ```text
/// P    = exp(τ·Q_i·K_jᵀ − L_i)     (0 where masked or L_i = −∞)
/// dV_j += Pᵀ·dO_i
/// dP   = dO_i·V_jᵀ
/// dS   = P ∘ (dP − D_i)
/// dQ_i += τ·dS·K_j
/// dK_j += τ·dSᵀ·Q_i
/// ```
///
/// When there are at least as many heads as rayon threads, each head is one
/// task running the fused loop above (outer over `j`, inner over `i`).
/// Otherwise the work is split into one pass over key blocks (`dK`, `dV`)
/// and one over query blocks (`dQ`), both parallel; it recomputes `P` and
/// `dP` twice but keeps both cores busy for a single head. Both schedules
/// accumulate each output in the same order (`dQ_i` over ascending `j`,
/// `dK_j`/`dV_j` over ascending `i`) with the same operations, so the
/// results are bitwise identical whatever the thread count.
///
/// Extra memory: two `block_q × block_k` tiles per worker plus `D`
/// (`BH·N_q` floats).
///
/// # Panics
/// If the shapes are inconsistent.
#[allow(clippy::too_many_arguments)]
pub fn flash_attention_backward(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    o: ArrayView3<f32>,
    lse: ArrayView2<f32>,
    d_o: ArrayView3<f32>,
    scale: f32,
    cfg: &FlashConfig,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    let fused = q.dim().0 >= rayon::current_num_threads();
    flash_backward_masked(q, k, v, o, lse, d_o, scale, (cfg.block_q, cfg.block_k), mask_of(cfg), fused)
}

/// `D = rowsum(dO ∘ O)`: one dot product per row of the two row-major
/// `[rows, width]` arrays, without a `[rows, width]` temporary.
#[inline(always)]
fn row_dots(o: &[f32], d_o: &[f32], rows: usize, width: usize) -> Vec<f32> {
    if width == 0 {
        return vec![0.0; rows];
    }
    o.chunks_exact(width).zip(d_o.chunks_exact(width)).map(|(a, b)| dot8(a, b)).collect()
}

/// Everything one backward tile needs, for one head (row-major slices).
struct HeadBwd<'a> {
    /// `[N_q, D]`.
    q: &'a [f32],
    /// `[N_k, D]`.
    k: &'a [f32],
    /// `[N_k, D_v]`.
    v: &'a [f32],
    /// `[N_q, D_v]`.
    d_o: &'a [f32],
    lse: &'a [f32],
    delta: &'a [f32],
    scale: f32,
    mask: Mask,
    d: usize,
    dv: usize,
}

/// Scratch tiles for the backward: `rows × cols` row-major at the start of
/// each buffer (`block_q·block_k` floats).
struct Tiles {
    p: Vec<f32>,
    ds: Vec<f32>,
}

impl Tiles {
    fn new(bq: usize, bk: usize) -> Self {
        Tiles { p: vec![0.0; bq * bk], ds: vec![0.0; bq * bk] }
    }
}

impl HeadBwd<'_> {
    /// Recompute `P` and `dS` of tile (`i0..i1`, `j0..j1`) into `t`.
    #[inline(always)]
    fn tile(&self, i0: usize, i1: usize, j0: usize, j1: usize, t: &mut Tiles) {
        let (rows, cols, d, dv) = (i1 - i0, j1 - j0, self.d, self.dv);
        let q_i = mat(&self.q[i0 * d..i1 * d], rows, d);
        let k_j = mat(&self.k[j0 * d..j1 * d], cols, d);
        let v_j = mat(&self.v[j0 * dv..j1 * dv], cols, dv);
        let do_i = mat(&self.d_o[i0 * dv..i1 * dv], rows, dv);
        let p = &mut t.p[..rows * cols];
        let ds = &mut t.ds[..rows * cols];
        gemm(mat_mut(p, rows, cols), false, q_i, k_j.transpose(), self.scale);
        gemm(mat_mut(ds, rows, cols), false, do_i, v_j.transpose(), 1.0); // dP
        for r in 0..rows {
            let i = i0 + r;
            let li = self.lse[i];
            let vis = if li == f32::NEG_INFINITY {
                0 // fully masked row: P = 0, no gradient (NaN guard)
            } else {
                visible_cols(self.mask, i, j0, cols)
            };
            let di = self.delta[i];
            let p_row = &mut p[r * cols..(r + 1) * cols];
            let ds_row = &mut ds[r * cols..(r + 1) * cols];
            for (pv, dv) in p_row[..vis].iter_mut().zip(ds_row[..vis].iter_mut()) {
                *pv = exp_approx(*pv - li);
                *dv = *pv * (*dv - di);
            }
            p_row[vis..].fill(0.0);
            ds_row[vis..].fill(0.0);
        }
    }

    /// `dV_j += Pᵀ·dO_i`, `dK_j += τ·dSᵀ·Q_i` for the tile in `t`
    /// (`dk_j`: `[cols, D]`, `dv_j`: `[cols, D_v]`).
    #[inline(always)]
    fn acc_kv(&self, i0: usize, i1: usize, cols: usize, t: &Tiles, dk_j: &mut [f32], dv_j: &mut [f32]) {
        let (rows, d, dv) = (i1 - i0, self.d, self.dv);
        let p = mat(&t.p, rows, cols);
        let ds = mat(&t.ds, rows, cols);
        let do_i = mat(&self.d_o[i0 * dv..i1 * dv], rows, dv);
        gemm(mat_mut(dv_j, cols, dv), true, p.transpose(), do_i, 1.0);
        gemm(mat_mut(dk_j, cols, d), true, ds.transpose(), mat(&self.q[i0 * d..i1 * d], rows, d), self.scale);
    }

    /// `dQ_i += τ·dS·K_j` for the tile in `t` (`dq_i`: `[rows, D]`).
    #[inline(always)]
    fn acc_q(&self, rows: usize, j0: usize, j1: usize, t: &Tiles, dq_i: &mut [f32]) {
        let (cols, d) = (j1 - j0, self.d);
        let k_j = mat(&self.k[j0 * d..j1 * d], cols, d);
        gemm(mat_mut(dq_i, rows, d), true, mat(&t.ds, rows, cols), k_j, self.scale);
    }
}

#[allow(clippy::too_many_arguments)]
fn flash_backward_masked(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    o: ArrayView3<f32>,
    lse: ArrayView2<f32>,
    d_o: ArrayView3<f32>,
    scale: f32,
    (block_q, block_k): (usize, usize),
    mask: Mask,
    fused: bool,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    let dims = check_qkv(&q, &k, &v);
    check_backward(dims, &o, &lse, &d_o);
    let Dims { bh, nq, nk, d, dv } = dims;
    let (q, k, v) = (q.as_standard_layout(), k.as_standard_layout(), v.as_standard_layout());
    let (d_o, lse) = (d_o.as_standard_layout(), lse.as_standard_layout());
    let (bq, bk) = (block_q.max(1), block_k.max(1));
    let mut dq = Array3::<f32>::zeros((bh, nq, d));
    let mut dk = Array3::<f32>::zeros((bh, nk, d));
    let mut dvv = Array3::<f32>::zeros((bh, nk, dv));
    if bh == 0 || nq == 0 || nk == 0 {
        return (dq, dk, dvv);
    }
    let o = o.as_standard_layout();
    let do_flat = d_o.as_slice().expect("standard layout");
    let delta_flat = row_dots(o.as_slice().expect("standard layout"), do_flat, bh * nq, dv);
    let lse_flat = lse.as_slice().expect("standard layout");
    let (qf, kf, vf, dof) = (
        q.as_slice().expect("standard layout"),
        k.as_slice().expect("standard layout"),
        v.as_slice().expect("standard layout"),
        do_flat,
    );
    let head = |h: usize| HeadBwd {
        q: &qf[h * nq * d..(h + 1) * nq * d],
        k: &kf[h * nk * d..(h + 1) * nk * d],
        v: &vf[h * nk * dv..(h + 1) * nk * dv],
        d_o: &dof[h * nq * dv..(h + 1) * nq * dv],
        lse: &lse_flat[h * nq..(h + 1) * nq],
        delta: &delta_flat[h * nq..(h + 1) * nq],
        scale,
        mask,
        d,
        dv,
    };
    let dq_flat = dq.as_slice_mut().expect("fresh array is contiguous");
    let dk_flat = dk.as_slice_mut().expect("fresh array is contiguous");
    let dv_flat = dvv.as_slice_mut().expect("fresh array is contiguous");

    if fused {
        let heads: Vec<_> = split_blocks(dq_flat, bh, nq, d, nq)
            .into_iter()
            .zip(split_blocks(dk_flat, bh, nk, d, nk))
            .zip(split_blocks(dv_flat, bh, nk, dv, nk))
            .map(|(((h, _, _, a), (_, _, _, b)), (_, _, _, c))| (h, a, b, c))
            .collect();
        heads.into_par_iter().for_each(|(h, dq_h, dk_h, dv_h)| {
            let hb = head(h);
            vex(
                #[inline(always)]
                || {
                    let mut t = Tiles::new(bq.min(nq), bk.min(nk));
                    for j0 in (0..nk).step_by(bk) {
                        let j1 = (j0 + bk).min(nk);
                        let dk_j = &mut dk_h[j0 * d..j1 * d];
                        let dv_j = &mut dv_h[j0 * dv..j1 * dv];
                        for i0 in (0..nq).step_by(bq) {
                            let i1 = (i0 + bq).min(nq);
                            if tile_fully_masked(mask, i1 - 1, j0) {
                                continue;
                            }
                            hb.tile(i0, i1, j0, j1, &mut t);
                            hb.acc_kv(i0, i1, j1 - j0, &t, dk_j, dv_j);
                            hb.acc_q(i1 - i0, j0, j1, &t, &mut dq_h[i0 * d..i1 * d]);
                        }
                    }
                },
            );
        });
    } else {
        // Pass 1: one task per (head, key block) → dK_j, dV_j.
        let kv_tasks: Vec<_> =
            split_blocks(dk_flat, bh, nk, d, bk).into_iter().zip(split_blocks(dv_flat, bh, nk, dv, bk)).collect();
        kv_tasks.into_par_iter().for_each(|((h, j0, cols, dk_j), (_, _, _, dv_j))| {
            let hb = head(h);
            let j1 = j0 + cols;
            vex(
                #[inline(always)]
                || {
                    let mut t = Tiles::new(bq.min(nq), bk.min(nk));
                    for i0 in (0..nq).step_by(bq) {
                        let i1 = (i0 + bq).min(nq);
                        if tile_fully_masked(mask, i1 - 1, j0) {
                            continue;
                        }
                        hb.tile(i0, i1, j0, j1, &mut t);
                        hb.acc_kv(i0, i1, cols, &t, dk_j, dv_j);
                    }
                },
            );
        });
        // Pass 2: one task per (head, query block) → dQ_i.
        let q_tasks = split_blocks(dq_flat, bh, nq, d, bq);
        q_tasks.into_par_iter().for_each(|(h, i0, rows, dq_i)| {
            let hb = head(h);
            let i1 = i0 + rows;
            vex(
                #[inline(always)]
                || {
                    let mut t = Tiles::new(bq.min(nq), bk.min(nk));
                    for j0 in (0..nk).step_by(bk) {
                        if tile_fully_masked(mask, i1 - 1, j0) {
                            break;
                        }
                        let j1 = (j0 + bk).min(nk);
                        hb.tile(i0, i1, j0, j1, &mut t);
                        hb.acc_q(rows, j0, j1, &t, dq_i);
                    }
                },
            );
        });
    }
    (dq, dk, dvv)
}

// ---------------------------------------------------------------------------
// Kept probabilities: the store-P pair for short sequences
// ---------------------------------------------------------------------------

/// The row-softmax probabilities `P` (`[BH, N_q, N_k]`, row-major) that
/// [`kept_attention_forward`] keeps for [`kept_attention_backward`], so that
/// the backward does not recompute the scores.
///
/// This is the algorithm XLA's gradient of `dot_product_attention` uses: six
/// `N×N×D` products (12·N²·D FLOPs) instead of flash's seven, and no second
/// `exp` pass, at the price of `4·BH·N_q·N_k` bytes. It suits short
/// sequences: the attention layer keeps `P` while it takes at most
/// [`KEEP_P_MAX_BYTES`], and runs the flash pair (`O(N)` memory) beyond.
///
/// Dropping a `KeptProbs` hands its buffer back to a one-buffer pool of the
/// dropping thread, which the next [`kept_attention_forward`] on that thread
/// reuses: a training loop then touches no fresh pages for `P`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptProbs {
    p: Vec<f32>,
    bh: usize,
    nq: usize,
    nk: usize,
}

thread_local! {
    /// The buffer of the last `KeptProbs` dropped on this thread (at most
    /// [`KEEP_P_MAX_BYTES`]).
    static KEPT_POOL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for KeptProbs {
    fn drop(&mut self) {
        let p = std::mem::take(&mut self.p);
        if p.capacity() * 4 <= KEEP_P_MAX_BYTES {
            // `try_with`: a thread being torn down just frees the buffer.
            let _ = KEPT_POOL.try_with(|pool| {
                let mut pool = pool.borrow_mut();
                if p.capacity() > pool.capacity() {
                    *pool = p;
                }
            });
        }
    }
}

impl KeptProbs {
    /// `[BH, N_q, N_k]`.
    pub fn dim(&self) -> (usize, usize, usize) {
        (self.bh, self.nq, self.nk)
    }

    /// The probabilities, row-major `[BH, N_q, N_k]` (masked entries are 0).
    pub fn as_slice(&self) -> &[f32] {
        &self.p
    }

    /// A buffer of `len` floats: the pooled one when it is large enough. Its
    /// contents are overwritten by the forward before they are read.
    fn buffer(len: usize) -> Vec<f32> {
        let mut p = KEPT_POOL.try_with(|pool| std::mem::take(&mut *pool.borrow_mut())).unwrap_or_default();
        if p.capacity() < len {
            p = Vec::new();
        }
        p.resize(len, 0.0);
        p
    }
}

/// The most memory the attention layer spends on kept probabilities
/// ([`KeptProbs`], `4·BH·N_q·N_k` bytes) before it runs the flash kernels
/// instead: 32 MiB.
pub const KEEP_P_MAX_BYTES: usize = 32 << 20;

/// Forward that keeps `P`: the same `O` and `L` as
/// [`flash_attention_forward`] (to rounding), plus the probabilities for
/// [`kept_attention_backward`]. `cfg.causal` masks; tile sizes are not used.
/// One rayon task per head; bitwise identical whatever the thread count.
///
/// ```
/// use ndarray::Array3;
/// use rlkit::nn::attention::{kept_attention_forward, naive_attention_forward, FlashConfig};
/// let q = Array3::from_shape_fn((2, 5, 3), |(b, i, c)| ((b + 2 * i + 3 * c) as f32).sin());
/// let cfg = FlashConfig { causal: true, ..FlashConfig::default() };
/// let (o, l, p) = kept_attention_forward(q.view(), q.view(), q.view(), 0.5, &cfg);
/// let (o_ref, l_ref) = naive_attention_forward(q.view(), q.view(), q.view(), 0.5, &cfg);
/// assert!((&o - &o_ref).iter().all(|e| e.abs() < 1e-5));
/// assert!((&l - &l_ref).iter().all(|e| e.abs() < 1e-5));
/// assert_eq!(p.dim(), (2, 5, 5));
/// assert_eq!(p.as_slice()[1], 0.0); // query 0 cannot see key 1
/// ```
///
/// # Panics
/// If the shapes are inconsistent.
pub fn kept_attention_forward(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    cfg: &FlashConfig,
) -> (Array3<f32>, Array2<f32>, KeptProbs) {
    kept_forward_masked(q, k, v, scale, mask_of(cfg))
}

fn kept_forward_masked(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    mask: Mask,
) -> (Array3<f32>, Array2<f32>, KeptProbs) {
    let Dims { bh, nq, nk, d, dv } = check_qkv(&q, &k, &v);
    let (q, k, v) = (q.as_standard_layout(), k.as_standard_layout(), v.as_standard_layout());
    let (qf, kf, vf) = (
        q.as_slice().expect("standard layout"),
        k.as_slice().expect("standard layout"),
        v.as_slice().expect("standard layout"),
    );
    let mut o = Array3::<f32>::zeros((bh, nq, dv));
    let mut lse = Array2::<f32>::zeros((bh, nq));
    let mut p = KeptProbs::buffer(bh * nq * nk);
    if bh > 0 && nq > 0 {
        let o_flat = o.as_slice_mut().expect("fresh array is contiguous");
        let l_flat = lse.as_slice_mut().expect("fresh array is contiguous");
        let tasks: Vec<_> = o_flat
            .chunks_mut((nq * dv).max(1))
            .zip(l_flat.chunks_mut(nq))
            .zip(p.chunks_mut((nq * nk).max(1)).chain(std::iter::repeat_with(|| &mut [][..])))
            .enumerate()
            .collect();
        tasks.into_par_iter().for_each(|(h, ((o_h, l_h), p_h))| {
            let head = FwdHead::of((qf, kf, vf), h, 0..nq, (nq, nk, d, dv));
            vex(
                #[inline(always)]
                || kept_forward_head(&head, scale, mask, o_h, l_h, p_h),
            );
        });
    }
    (o, lse, KeptProbs { p, bh, nq, nk })
}

/// One head of [`kept_attention_forward`]: `P = softmax(τ·Q·Kᵀ)` row by row
/// (masked entries 0; a fully masked row 0 with `L = −∞`), then `O = P·V`.
#[inline(always)]
fn kept_forward_head(h: &FwdHead, scale: f32, mask: Mask, o: &mut [f32], lse: &mut [f32], p: &mut [f32]) {
    let FwdHead { nk, d, dv, .. } = *h;
    let nq = lse.len();
    if nk == 0 {
        o.fill(0.0);
        lse.fill(f32::NEG_INFINITY);
        return;
    }
    gemm(mat_mut(p, nq, nk), false, mat(h.q, nq, d), mat(h.k, nk, d).transpose(), scale);
    for (r, l) in lse.iter_mut().enumerate() {
        let row = &mut p[r * nk..(r + 1) * nk];
        let (seen, hidden) = row.split_at_mut(visible_cols(mask, r, 0, nk));
        hidden.fill(0.0);
        let mx = row_max(seen);
        if mx == f32::NEG_INFINITY {
            seen.fill(0.0);
            *l = f32::NEG_INFINITY;
            continue;
        }
        for x in seen.iter_mut() {
            *x = exp_approx(*x - mx);
        }
        let sum = row_sum(seen);
        let inv = 1.0 / sum;
        seen.iter_mut().for_each(|x| *x *= inv);
        *l = mx + sum.ln();
    }
    gemm(mat_mut(o, nq, dv), false, mat(p, nq, nk), mat(h.v, nk, dv), 1.0);
}

/// Backward from kept probabilities: the gradients of
/// [`flash_attention_backward`] (to rounding) without recomputing the
/// scores: `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ∘ (dP − rowsum(dO ∘ O))`,
/// `dQ = τ·dS·K`, `dK = τ·dSᵀ·Q`. One rayon task per head, with a
/// `64 × N_k` scratch block; bitwise identical whatever the thread count.
///
/// # Panics
/// If the shapes are inconsistent (with each other or with `p`).
#[allow(clippy::too_many_arguments)]
pub fn kept_attention_backward(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    o: ArrayView3<f32>,
    p: &KeptProbs,
    d_o: ArrayView3<f32>,
    scale: f32,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    let Dims { bh, nq, nk, d, dv } = check_qkv(&q, &k, &v);
    let od = (bh, nq, dv);
    assert!(
        o.dim() == od && d_o.dim() == od && p.dim() == (bh, nq, nk),
        "attention backward: o {:?}, d_o {:?} must be {od:?} and the kept P {:?} must be {:?}",
        o.dim(),
        d_o.dim(),
        p.dim(),
        (bh, nq, nk)
    );
    let (q, k, v) = (q.as_standard_layout(), k.as_standard_layout(), v.as_standard_layout());
    let (o, d_o) = (o.as_standard_layout(), d_o.as_standard_layout());
    let (qf, kf, vf) = (
        q.as_slice().expect("standard layout"),
        k.as_slice().expect("standard layout"),
        v.as_slice().expect("standard layout"),
    );
    let dof = d_o.as_slice().expect("standard layout");
    let of = o.as_slice().expect("standard layout");
    let mut dq = Array3::<f32>::zeros((bh, nq, d));
    let mut dk = Array3::<f32>::zeros((bh, nk, d));
    let mut dvv = Array3::<f32>::zeros((bh, nk, dv));
    if bh > 0 && nq > 0 && nk > 0 {
        let dq_f = dq.as_slice_mut().expect("fresh array is contiguous");
        let dk_f = dk.as_slice_mut().expect("fresh array is contiguous");
        let dv_f = dvv.as_slice_mut().expect("fresh array is contiguous");
        let tasks: Vec<_> = dq_f
            .chunks_mut((nq * d).max(1))
            .zip(dk_f.chunks_mut((nk * d).max(1)).chain(std::iter::repeat_with(|| &mut [][..])))
            .zip(dv_f.chunks_mut((nk * dv).max(1)).chain(std::iter::repeat_with(|| &mut [][..])))
            .enumerate()
            .collect();
        tasks.into_par_iter().for_each(|(h, ((dq_h, dk_h), dv_h))| {
            let d_o = &dof[h * nq * dv..(h + 1) * nq * dv];
            let p_h = &p.p[h * nq * nk..(h + 1) * nq * nk];
            vex(
                #[inline(always)]
                || {
                    // D = rowsum(dO ∘ O) of this head, in the dispatched (VEX) code.
                    let delta = row_dots(&of[h * nq * dv..(h + 1) * nq * dv], d_o, nq, dv);
                    let head = HeadBwd {
                        q: &qf[h * nq * d..(h + 1) * nq * d],
                        k: &kf[h * nk * d..(h + 1) * nk * d],
                        v: &vf[h * nk * dv..(h + 1) * nk * dv],
                        d_o,
                        lse: &[],
                        delta: &delta,
                        scale,
                        mask: None,
                        d,
                        dv,
                    };
                    kept_backward_head(&head, p_h, nk, dq_h, dk_h, dv_h)
                },
            );
        });
    }
    (dq, dk, dvv)
}

/// Query rows per block in the kept-P backward.
const KEPT_ROWS: usize = 64;

/// One head of [`kept_attention_backward`] (`h.lse` and `h.mask` are not
/// used: `p`, `[N_q, N_k]`, holds the mask as zeros). A fully masked row has
/// `P = 0`, so its `dS` row and every gradient through it are 0.
#[inline(always)]
fn kept_backward_head(h: &HeadBwd, p: &[f32], nk: usize, dq: &mut [f32], dk: &mut [f32], dv: &mut [f32]) {
    let (nq, d, dvw, scale) = (h.delta.len(), h.d, h.dv, h.scale);
    gemm(mat_mut(dv, nk, dvw), false, mat(p, nq, nk).transpose(), mat(h.d_o, nq, dvw), 1.0);
    // dP and dS a block of KEPT_ROWS query rows at a time: the scratch stays
    // small (malloc reuses it: no fresh pages), and dK accumulates block by
    // block in ascending order (a fixed order, whatever the threads).
    let mut ds = vec![0.0f32; KEPT_ROWS.min(nq) * nk];
    let mut i0 = 0;
    while i0 < nq {
        let rows = KEPT_ROWS.min(nq - i0);
        let ds_b = &mut ds[..rows * nk];
        let do_b = &h.d_o[i0 * dvw..(i0 + rows) * dvw];
        gemm(mat_mut(ds_b, rows, nk), false, mat(do_b, rows, dvw), mat(h.v, nk, dvw).transpose(), 1.0);
        for r in 0..rows {
            let (i, di) = (i0 + r, h.delta[i0 + r]);
            for (g, &pv) in ds_b[r * nk..(r + 1) * nk].iter_mut().zip(&p[i * nk..(i + 1) * nk]) {
                *g = pv * (*g - di);
            }
        }
        gemm(mat_mut(&mut dq[i0 * d..(i0 + rows) * d], rows, d), false, mat(ds_b, rows, nk), mat(h.k, nk, d), scale);
        let q_b = mat(&h.q[i0 * d..(i0 + rows) * d], rows, d);
        gemm(mat_mut(dk, nk, d), i0 > 0, mat(ds_b, rows, nk).transpose(), q_b, scale);
        i0 += rows;
    }
}

// ---------------------------------------------------------------------------
// Naive reference
// ---------------------------------------------------------------------------

/// Naive attention forward: materialises `S = τ·Q·Kᵀ` (`[N_q, N_k]` per
/// head), masks it, and takes a row softmax.
///
/// Same shapes and semantics as [`flash_attention_forward`]: returns
/// `O = softmax(S)·V` (`[BH, N_q, D_v]`) and `L = logsumexp_j S_ij`
/// (`[BH, N_q]`); a fully masked row gives `O = 0`, `L = −∞`. Only
/// `cfg.causal` is used (the block sizes are ignored). Memory: `N_q·N_k`
/// floats per head, one head at a time. For tests and benchmarks: its GEMMs
/// are ndarray's `dot` (matrixmultiply) and its exp is libm's, independent
/// of the flash kernels' faer GEMMs and polynomial exp.
///
/// # Panics
/// If the shapes are inconsistent.
pub fn naive_attention_forward(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    cfg: &FlashConfig,
) -> (Array3<f32>, Array2<f32>) {
    naive_forward_masked(q, k, v, scale, mask_of(cfg))
}

/// Row softmax of the masked scores in place; returns the row log-sum-exp.
fn naive_softmax(s: &mut Array2<f32>, mask: Mask) -> Array1<f32> {
    let mut lse = Array1::zeros(s.nrows());
    for (i, mut row) in s.rows_mut().into_iter().enumerate() {
        let vis = visible_cols(mask, i, 0, row.len());
        for j in vis..row.len() {
            row[j] = f32::NEG_INFINITY;
        }
        let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if mx == f32::NEG_INFINITY {
            row.fill(0.0);
            lse[i] = f32::NEG_INFINITY;
            continue;
        }
        row.mapv_inplace(|x| (x - mx).exp());
        let sum = row.sum();
        row.mapv_inplace(|x| x / sum);
        lse[i] = mx + sum.ln();
    }
    lse
}

fn naive_forward_masked(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    scale: f32,
    mask: Mask,
) -> (Array3<f32>, Array2<f32>) {
    let Dims { bh, nq, dv, .. } = check_qkv(&q, &k, &v);
    let mut o = Array3::zeros((bh, nq, dv));
    let mut lse = Array2::zeros((bh, nq));
    for h in 0..bh {
        let mut s_mat = q.index_axis(Axis(0), h).dot(&k.index_axis(Axis(0), h).t()) * scale;
        let l = naive_softmax(&mut s_mat, mask);
        o.index_axis_mut(Axis(0), h).assign(&s_mat.dot(&v.index_axis(Axis(0), h)));
        lse.row_mut(h).assign(&l);
    }
    (o, lse)
}

/// Naive attention backward: recomputes the full `P = softmax(S)` and then
/// `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `D_i = Σ_j P_ij·dP_ij`,
/// `dS = P ∘ (dP − D)`, `dQ = τ·dS·K`, `dK = τ·dSᵀ·Q`.
///
/// Same signature and results as [`flash_attention_backward`]; `o` and `lse`
/// are only shape-checked (the obvious formula does not need them). Memory:
/// two `N_q × N_k` matrices per head, one head at a time.
///
/// # Panics
/// If the shapes are inconsistent.
#[allow(clippy::too_many_arguments)]
pub fn naive_attention_backward(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    o: ArrayView3<f32>,
    lse: ArrayView2<f32>,
    d_o: ArrayView3<f32>,
    scale: f32,
    cfg: &FlashConfig,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    let dims = check_qkv(&q, &k, &v);
    check_backward(dims, &o, &lse, &d_o);
    naive_backward_masked(q, k, v, d_o, scale, mask_of(cfg))
}

fn naive_backward_masked(
    q: ArrayView3<f32>,
    k: ArrayView3<f32>,
    v: ArrayView3<f32>,
    d_o: ArrayView3<f32>,
    scale: f32,
    mask: Mask,
) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
    let Dims { bh, nq, nk, d, dv } = check_qkv(&q, &k, &v);
    let mut dq = Array3::zeros((bh, nq, d));
    let mut dk = Array3::zeros((bh, nk, d));
    let mut dvv = Array3::zeros((bh, nk, dv));
    for h in 0..bh {
        let (qh, kh, vh, doh) =
            (q.index_axis(Axis(0), h), k.index_axis(Axis(0), h), v.index_axis(Axis(0), h), d_o.index_axis(Axis(0), h));
        let mut p = qh.dot(&kh.t()) * scale;
        naive_softmax(&mut p, mask);
        dvv.index_axis_mut(Axis(0), h).assign(&p.t().dot(&doh));
        let mut ds = doh.dot(&vh.t()); // dP, turned into dS in place
        for (mut ds_row, p_row) in ds.rows_mut().into_iter().zip(p.rows()) {
            let di: f32 = ds_row.iter().zip(p_row.iter()).map(|(a, b)| a * b).sum();
            ds_row.zip_mut_with(&p_row, |g, &pv| *g = pv * (*g - di));
        }
        drop(p);
        dq.index_axis_mut(Axis(0), h).assign(&(ds.dot(&kh) * scale));
        dk.index_axis_mut(Axis(0), h).assign(&(ds.t().dot(&qh) * scale));
    }
    (dq, dk, dvv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(shape: (usize, usize, usize), seed: usize) -> Array3<f32> {
        Array3::from_shape_fn(shape, |(a, b, c)| {
            let x = (seed * 7919 + a * 104_729 + b * 1_299_709 + c * 15_485_863) as f64;
            ((x * 0.000_123_4).sin() * 1.7) as f32
        })
    }

    /// |a − b| ≤ atol + rtol·|b|, elementwise; NaN fails.
    fn close(a: &[f32], b: &[f32], atol: f32, rtol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x == y) || (x - y).abs() <= atol + rtol * y.abs())
    }

    /// Offsets −3 hide every key from queries 0, 1, 2: those rows must give
    /// O = 0, L = −∞, zero gradients, no NaN, and the other rows must still
    /// match the naive kernel (atol 1e-5, rtol 1e-5).
    #[test]
    fn fully_masked_rows_are_zero_not_nan() {
        let (bh, n, d) = (2, 11, 3);
        let (q, k, v, g) = (det((bh, n, d), 1), det((bh, n, d), 2), det((bh, n, d), 3), det((bh, n, d), 4));
        let mask = Some(-3);
        for &(bq, bk) in &[(1, 1), (4, 3), (2, 5), (16, 16)] {
            let (o, l) = flash_forward_masked(q.view(), k.view(), v.view(), 0.6, bq, bk, mask);
            let (o_ref, l_ref) = naive_forward_masked(q.view(), k.view(), v.view(), 0.6, mask);
            assert!(o.iter().all(|x| x.is_finite()));
            for h in 0..bh {
                for i in 0..3 {
                    assert_eq!(l[[h, i]], f32::NEG_INFINITY);
                    assert!(o.index_axis(Axis(0), h).row(i).iter().all(|&x| x == 0.0));
                }
            }
            assert!(close(o.as_slice().unwrap(), o_ref.as_slice().unwrap(), 1e-5, 1e-5));
            assert!(close(l.as_slice().unwrap(), l_ref.as_slice().unwrap(), 1e-5, 1e-5));
            for fused in [true, false] {
                let (dq, dk, dv) = flash_backward_masked(
                    q.view(),
                    k.view(),
                    v.view(),
                    o.view(),
                    l.view(),
                    g.view(),
                    0.6,
                    (bq, bk),
                    mask,
                    fused,
                );
                let (dq_r, dk_r, dv_r) = naive_backward_masked(q.view(), k.view(), v.view(), g.view(), 0.6, mask);
                for h in 0..bh {
                    for i in 0..3 {
                        assert!(dq.index_axis(Axis(0), h).row(i).iter().all(|&x| x == 0.0));
                    }
                    // the last three keys are seen by nobody
                    for j in n - 3..n {
                        assert!(dk.index_axis(Axis(0), h).row(j).iter().all(|&x| x == 0.0));
                        assert!(dv.index_axis(Axis(0), h).row(j).iter().all(|&x| x == 0.0));
                    }
                }
                for (a, b) in [(&dq, &dq_r), (&dk, &dk_r), (&dv, &dv_r)] {
                    assert!(a.iter().all(|x| x.is_finite()));
                    assert!(close(a.as_slice().unwrap(), b.as_slice().unwrap(), 1e-5, 1e-5));
                }
            }
        }
    }

    /// The fused (per-head) and split (per-block) backward schedules are
    /// bitwise identical, which is what makes results independent of the
    /// thread count.
    #[test]
    fn fused_and_split_backward_are_bitwise_equal() {
        let (bh, n, d) = (3, 37, 5);
        let (q, k, v, g) = (det((bh, n, d), 5), det((bh, n, d), 6), det((bh, n, d), 7), det((bh, n, d), 8));
        for mask in [None, Some(0)] {
            let (o, l) = flash_forward_masked(q.view(), k.view(), v.view(), 0.4, 8, 5, mask);
            let a = flash_backward_masked(
                q.view(),
                k.view(),
                v.view(),
                o.view(),
                l.view(),
                g.view(),
                0.4,
                (8, 5),
                mask,
                true,
            );
            let b = flash_backward_masked(
                q.view(),
                k.view(),
                v.view(),
                o.view(),
                l.view(),
                g.view(),
                0.4,
                (8, 5),
                mask,
                false,
            );
            assert_eq!(a.0, b.0);
            assert_eq!(a.1, b.1);
            assert_eq!(a.2, b.2);
        }
    }

    /// The faer/pulp kernels at the real head size (D = 64, where faer takes
    /// its AVX-512 kernels; the other tests use D ≤ 9) and odd lengths
    /// N = 1, 7, 65, 257, causal or not, default and ragged tiles: O, L, dQ,
    /// dK, dV against the naive ndarray/matrixmultiply kernel (atol 1e-5,
    /// rtol 1e-5), fused and split backward bitwise equal.
    #[test]
    fn faer_kernels_match_naive_at_d64_odd_lengths() {
        for (seed, &n) in [1usize, 7, 65, 257].iter().enumerate() {
            let (bh, d) = (2, 64);
            let s0 = 10 * seed;
            let (q, k, v, g) =
                (det((bh, n, d), s0 + 1), det((bh, n, d), s0 + 2), det((bh, n, d), s0 + 3), det((bh, n, d), s0 + 4));
            let scale = 0.125;
            for mask in [None, Some(0)] {
                let (o_r, l_r) = naive_forward_masked(q.view(), k.view(), v.view(), scale, mask);
                let (dq_r, dk_r, dv_r) = naive_backward_masked(q.view(), k.view(), v.view(), g.view(), scale, mask);
                for (bq, bk) in [(64, 64), (64, 16), (100, 7), (257, 257)] {
                    let (o, l) = flash_forward_masked(q.view(), k.view(), v.view(), scale, bq, bk, mask);
                    let what = format!("N {n} mask {mask:?} tiles {bq}x{bk}");
                    assert!(close(o.as_slice().unwrap(), o_r.as_slice().unwrap(), 1e-5, 1e-5), "{what}: O");
                    assert!(close(l.as_slice().unwrap(), l_r.as_slice().unwrap(), 1e-5, 1e-5), "{what}: L");
                    let bwd = |fused| {
                        flash_backward_masked(
                            q.view(),
                            k.view(),
                            v.view(),
                            o.view(),
                            l.view(),
                            g.view(),
                            scale,
                            (bq, bk),
                            mask,
                            fused,
                        )
                    };
                    let (dq, dk, dv) = bwd(true);
                    for (name, a, b) in [("dQ", &dq, &dq_r), ("dK", &dk, &dk_r), ("dV", &dv, &dv_r)] {
                        assert!(close(a.as_slice().unwrap(), b.as_slice().unwrap(), 1e-5, 1e-5), "{what}: {name}");
                    }
                    let split = bwd(false);
                    assert_eq!((&dq, &dk, &dv), (&split.0, &split.1, &split.2), "{what}: fused vs split");
                }
            }
        }
    }

    /// The kept-P pair against the naive reference: D 64 (faer's AVX-512
    /// path) and small D, odd lengths, several heads, no mask, causal, and a
    /// negative key offset that leaves whole rows masked (zero output,
    /// L = −∞, zero gradients); its results do not depend on the thread
    /// count, nor on a pooled buffer's old contents.
    #[test]
    fn kept_probabilities_match_naive() {
        let cases = [(2usize, 1usize, 64usize), (2, 7, 64), (3, 65, 64), (1, 257, 64), (2, 9, 3), (1, 130, 16)];
        for (seed, &(bh, n, d)) in cases.iter().enumerate() {
            let s0 = 100 + 10 * seed;
            let (q, k, v, g) =
                (det((bh, n, d), s0 + 1), det((bh, n, d), s0 + 2), det((bh, n, d), s0 + 3), det((bh, n, d), s0 + 4));
            let scale = 0.125;
            for mask in [None, Some(0), Some(-3)] {
                let what = format!("BH {bh} N {n} D {d} mask {mask:?}");
                let (o_r, l_r) = naive_forward_masked(q.view(), k.view(), v.view(), scale, mask);
                let (dq_r, dk_r, dv_r) = naive_backward_masked(q.view(), k.view(), v.view(), g.view(), scale, mask);
                // Leave garbage in the pool first: the forward must overwrite every entry.
                drop(KeptProbs { p: vec![f32::NAN; bh * n * n + 5], bh: 0, nq: 0, nk: 0 });
                let (o, l, p) = kept_forward_masked(q.view(), k.view(), v.view(), scale, mask);
                assert!(close(o.as_slice().unwrap(), o_r.as_slice().unwrap(), 1e-5, 1e-5), "{what}: O");
                for (a, b) in l.iter().zip(l_r.iter()) {
                    assert!(a == b || (a - b).abs() < 1e-5 * (1.0 + b.abs()), "{what}: L {a} vs {b}");
                }
                // Rows of P sum to 1 (0 when fully masked); masked entries are 0.
                for (r, row) in p.as_slice().chunks(n).enumerate() {
                    let vis = visible_cols(mask, r % n, 0, n);
                    assert!(row[vis..].iter().all(|&x| x == 0.0), "{what}: masked P");
                    let sum: f32 = row.iter().sum();
                    let want = if vis == 0 { 0.0 } else { 1.0 };
                    assert!((sum - want).abs() < 1e-5, "{what}: row {r} sums to {sum}");
                }
                let (dq, dk, dv) = kept_attention_backward(q.view(), k.view(), v.view(), o.view(), &p, g.view(), scale);
                for (name, a, b) in [("dQ", &dq, &dq_r), ("dK", &dk, &dk_r), ("dV", &dv, &dv_r)] {
                    assert!(close(a.as_slice().unwrap(), b.as_slice().unwrap(), 1e-5, 1e-5), "{what}: {name}");
                }
                let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
                let (o1, l1, p1) = one.install(|| kept_forward_masked(q.view(), k.view(), v.view(), scale, mask));
                assert_eq!((&o1, &l1, &p1), (&o, &l, &p), "{what}: threads");
                let b1 = one
                    .install(|| kept_attention_backward(q.view(), k.view(), v.view(), o.view(), &p, g.view(), scale));
                assert_eq!((&b1.0, &b1.1, &b1.2), (&dq, &dk, &dv), "{what}: threads (backward)");
            }
        }
    }

    /// The kernels run inside pulp's AVX2 dispatch (`vex`); the arithmetic
    /// must be the same bits as the plain (baseline x86-64) build of the
    /// same code, i.e. no FMA contraction or reordering sneaks in.
    #[test]
    fn simd_dispatch_does_not_change_bits() {
        let (n, d) = (131, 64);
        let (q, k, v, g) = (det((1, n, d), 41), det((1, n, d), 42), det((1, n, d), 43), det((1, n, d), 44));
        let (qs, ks, vs, gs) =
            (q.as_slice().unwrap(), k.as_slice().unwrap(), v.as_slice().unwrap(), g.as_slice().unwrap());
        let mask = Some(0);
        let head = FwdHead { q: qs, k: ks, v: vs, nk: n, d, dv: d };
        let fwd = |dispatch: bool| {
            let (mut o, mut l) = (vec![0.0f32; n * d], vec![0.0f32; n]);
            if dispatch {
                vex(
                    #[inline(always)]
                    || forward_block(&head, 0, 0.125, 48, mask, &mut o, &mut l),
                );
            } else {
                forward_block(&head, 0, 0.125, 48, mask, &mut o, &mut l);
            }
            (o, l)
        };
        let (o, l) = fwd(true);
        assert_eq!((&o, &l), (&fwd(false).0, &fwd(false).1));
        let delta: Vec<f32> = (0..n).map(|i| (0..d).map(|c| gs[i * d + c] * o[i * d + c]).sum()).collect();
        let hb = HeadBwd { q: qs, k: ks, v: vs, d_o: gs, lse: &l, delta: &delta, scale: 0.125, mask, d, dv: d };
        let bwd_tile = |dispatch: bool| {
            let mut t = Tiles::new(64, 48);
            let (mut dk, mut dv, mut dq) = (vec![0.0f32; 48 * d], vec![0.0f32; 48 * d], vec![0.0f32; 64 * d]);
            #[inline(always)]
            fn run(hb: &HeadBwd, t: &mut Tiles, dk: &mut [f32], dv: &mut [f32], dq: &mut [f32]) {
                hb.tile(64, 128, 48, 96, t);
                hb.acc_kv(64, 128, 48, t, dk, dv);
                hb.acc_q(64, 48, 96, t, dq);
            }
            if dispatch {
                vex(
                    #[inline(always)]
                    || run(&hb, &mut t, &mut dk, &mut dv, &mut dq),
                );
            } else {
                run(&hb, &mut t, &mut dk, &mut dv, &mut dq);
            }
            (t.p, t.ds, dk, dv, dq)
        };
        let (a, b) = (bwd_tile(true), bwd_tile(false));
        assert!(a.0.iter().any(|&x| x != 0.0) && a.4.iter().any(|&x| x != 0.0));
        assert_eq!(a, b);
    }

    /// With no keys at all every row is fully masked.
    #[test]
    fn exp_approx_is_within_2e7_relative() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp_approx(x) as f64, (x as f64).exp());
            worst = worst.max((a - b).abs() / b);
            x += 0.001_7;
        }
        assert!(worst < 2e-7, "worst relative error {worst:e}");
        assert!(exp_approx(f32::NEG_INFINITY) < 2e-38 && exp_approx(-1e30) >= 0.0);
        assert_eq!(exp_approx(0.0), 1.0);
    }

    #[test]
    fn zero_keys() {
        let q = det((2, 4, 3), 1);
        let kv = Array3::<f32>::zeros((2, 0, 3));
        let cfg = FlashConfig::default();
        let (o, l) = flash_attention_forward(q.view(), kv.view(), kv.view(), 1.0, &cfg);
        assert!(o.iter().all(|&x| x == 0.0));
        assert!(l.iter().all(|&x| x == f32::NEG_INFINITY));
        let (o2, l2) = naive_attention_forward(q.view(), kv.view(), kv.view(), 1.0, &cfg);
        assert_eq!(o, o2);
        assert_eq!(l, l2);
        let (dq, dk, dv) =
            flash_attention_backward(q.view(), kv.view(), kv.view(), o.view(), l.view(), q.view(), 1.0, &cfg);
        assert!(dq.iter().all(|&x| x == 0.0));
        assert_eq!((dk.len(), dv.len()), (0, 0));
    }
}
