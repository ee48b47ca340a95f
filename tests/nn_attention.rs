//! Integration tests of the attention kernels (`rlkit::nn::attention`).
//!
//! Tolerances, always elementwise `|a − b| ≤ atol + rtol·|b|` (NaN fails):
//! * flash vs naive (both f32): atol 1e-5, rtol 1e-5;
//! * naive f32 vs the f64 loop reference (forward): atol 1e-5, rtol 1e-5;
//! * naive f32 gradients vs f64 central finite differences: atol 1e-5,
//!   rtol 1e-4.

use ndarray::{Array3, ArrayView3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlkit::nn::attention::{
    flash_attention_backward, flash_attention_forward, naive_attention_backward,
    naive_attention_forward, FlashConfig,
};

fn rand3(rng: &mut ChaCha8Rng, shape: (usize, usize, usize), amp: f32) -> Array3<f32> {
    Array3::from_shape_simple_fn(shape, || rng.random_range(-amp..amp))
}

/// Largest violation of `|a − b| ≤ atol + rtol·|b|` (≤ 0 means pass; NaN → +∞).
fn worst(a: &[f32], b: &[f32], atol: f64, rtol: f64) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x == y {
                return -1.0; // also covers equal infinities
            }
            let (x, y) = (x as f64, y as f64);
            let e = (x - y).abs() - (atol + rtol * y.abs());
            if e.is_nan() {
                f64::INFINITY
            } else {
                e
            }
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

fn assert_close(what: &str, a: &[f32], b: &[f32], atol: f64, rtol: f64) {
    let w = worst(a, b, atol, rtol);
    assert!(
        w <= 0.0,
        "{what}: exceeds atol {atol} + rtol {rtol}·|b| by {w:e}"
    );
}

struct Inputs {
    q: Array3<f32>,
    k: Array3<f32>,
    v: Array3<f32>,
    d_o: Array3<f32>,
}

fn inputs(seed: u64, bh: usize, n: usize, d: usize) -> Inputs {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Inputs {
        q: rand3(&mut rng, (bh, n, d), 2.0),
        k: rand3(&mut rng, (bh, n, d), 2.0),
        v: rand3(&mut rng, (bh, n, d), 1.0),
        d_o: rand3(&mut rng, (bh, n, d), 1.0),
    }
}

fn check_flash_vs_naive(x: &Inputs, scale: f32, cfg: &FlashConfig, label: &str) {
    let (q, k, v) = (x.q.view(), x.k.view(), x.v.view());
    let (o, l) = flash_attention_forward(q, k, v, scale, cfg);
    let (o_r, l_r) = naive_attention_forward(q, k, v, scale, cfg);
    let (atol, rtol) = (1e-5, 1e-5);
    assert_close(
        &format!("{label} O"),
        o.as_slice().unwrap(),
        o_r.as_slice().unwrap(),
        atol,
        rtol,
    );
    assert_close(
        &format!("{label} L"),
        l.as_slice().unwrap(),
        l_r.as_slice().unwrap(),
        atol,
        rtol,
    );
    let g = flash_attention_backward(q, k, v, o.view(), l.view(), x.d_o.view(), scale, cfg);
    let g_r = naive_attention_backward(q, k, v, o_r.view(), l_r.view(), x.d_o.view(), scale, cfg);
    for (name, a, b) in [
        ("dQ", &g.0, &g_r.0),
        ("dK", &g.1, &g_r.1),
        ("dV", &g.2, &g_r.2),
    ] {
        assert_close(
            &format!("{label} {name}"),
            a.as_slice().unwrap(),
            b.as_slice().unwrap(),
            atol,
            rtol,
        );
    }
}

/// Flash forward and backward against the naive kernel at N = 1, 7, 64, 513,
/// with and without the causal mask, odd and even head dims, and tile sizes
/// 1, 7, 16, 64, 100 (most of which do not divide N).
#[test]
fn flash_matches_naive() {
    let mut seed = 0;
    for &n in &[1usize, 7, 64, 513] {
        let bh = if n > 100 { 1 } else { 3 };
        let mut tiles = vec![
            (1, 64),
            (16, 16),
            (64, 64),
            (100, 100),
            (64, 16),
            (16, 100),
            (100, 7),
        ];
        if n <= 64 {
            tiles.push((1, 1));
        }
        for &d in &[5usize, 8] {
            seed += 1;
            let x = inputs(seed, bh, n, d);
            let scale = 1.0 / (d as f32).sqrt();
            for causal in [false, true] {
                for &(block_q, block_k) in &tiles {
                    let cfg = FlashConfig {
                        block_q,
                        block_k,
                        causal,
                    };
                    check_flash_vs_naive(&x, scale, &cfg, &format!("N={n} D={d} {cfg:?}"));
                }
            }
        }
    }
}

/// Scores beyond exp's f32 range (exp(x) overflows for x > 88.7) must not
/// overflow: the running max keeps every exponent ≤ 0.
///
/// * Scores of order 10⁴: forward (which uses the running max `m`) against
///   naive at the usual tolerance; the backward must be finite. Its
///   comparison with naive is ill-conditioned here, not wrong: the backward
///   recomputes `P = exp(S − L)` from the stored f32 `L ≈ 10⁴`, whose ulp is
///   ~1e-3, so `P` itself is only known to ~1e-3 relative.
/// * Scores of order 10² (still beyond exp's range): forward and backward
///   against naive at the usual tolerance.
#[test]
fn flash_handles_huge_scores() {
    for (amp, full_check) in [(500.0f32, false), (8.0, true)] {
        let mut x = inputs(99, 2, 70, 6);
        x.q.mapv_inplace(|e| e * amp);
        for causal in [false, true] {
            let cfg = FlashConfig {
                block_q: 16,
                block_k: 24,
                causal,
            };
            let (o, l) = flash_attention_forward(x.q.view(), x.k.view(), x.v.view(), 1.0, &cfg);
            let max_l = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert!(
                max_l > 88.8,
                "the test must reach huge scores (max L {max_l})"
            );
            let (o_r, l_r) = naive_attention_forward(x.q.view(), x.k.view(), x.v.view(), 1.0, &cfg);
            assert_close(
                "huge O",
                o.as_slice().unwrap(),
                o_r.as_slice().unwrap(),
                1e-5,
                1e-5,
            );
            assert_close(
                "huge L",
                l.as_slice().unwrap(),
                l_r.as_slice().unwrap(),
                1e-5,
                1e-5,
            );
            let g = flash_attention_backward(
                x.q.view(),
                x.k.view(),
                x.v.view(),
                o.view(),
                l.view(),
                x.d_o.view(),
                1.0,
                &cfg,
            );
            assert!(g
                .0
                .iter()
                .chain(g.1.iter())
                .chain(g.2.iter())
                .all(|e| e.is_finite()));
            if full_check {
                check_flash_vs_naive(&x, 1.0, &cfg, &format!("large {cfg:?}"));
            }
        }
    }
}

/// Results are bitwise identical with 1 and with 3 rayon threads (1 thread
/// takes the fused per-head backward, 3 threads the split per-block one).
#[test]
fn flash_is_thread_count_independent() {
    let x = inputs(7, 2, 150, 9);
    let cfg = FlashConfig {
        block_q: 32,
        block_k: 48,
        causal: true,
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (o, l) = flash_attention_forward(x.q.view(), x.k.view(), x.v.view(), 0.3, &cfg);
            let g = flash_attention_backward(
                x.q.view(),
                x.k.view(),
                x.v.view(),
                o.view(),
                l.view(),
                x.d_o.view(),
                0.3,
                &cfg,
            );
            (o, l, g)
        })
    };
    let a = run(1);
    let b = run(3);
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.2 .0, b.2 .0);
    assert_eq!(a.2 .1, b.2 .1);
    assert_eq!(a.2 .2, b.2 .2);
}

/// Non-contiguous views give the same result as contiguous copies.
#[test]
fn flash_accepts_strided_views() {
    let x = inputs(11, 2, 19, 4);
    let cfg = FlashConfig {
        block_q: 8,
        block_k: 5,
        causal: false,
    };
    // q stored as [BH, D, N] and viewed through a permutation.
    let q_t =
        x.q.clone()
            .permuted_axes([0, 2, 1])
            .as_standard_layout()
            .to_owned();
    let q_view: ArrayView3<f32> = q_t.view().permuted_axes([0, 2, 1]);
    assert!(!q_view.is_standard_layout());
    let a = flash_attention_forward(q_view, x.k.view(), x.v.view(), 0.5, &cfg);
    let b = flash_attention_forward(x.q.view(), x.k.view(), x.v.view(), 0.5, &cfg);
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------
// f64 reference and finite differences
// ---------------------------------------------------------------------------

/// Plain-loop f64 attention: returns (O [bh·n·d], L [bh·n]).
#[allow(clippy::too_many_arguments)]
fn attention_f64(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    bh: usize,
    n: usize,
    d: usize,
    scale: f64,
    causal: bool,
) -> (Vec<f64>, Vec<f64>) {
    let mut o = vec![0.0; bh * n * d];
    let mut l = vec![0.0; bh * n];
    for h in 0..bh {
        for i in 0..n {
            let last = if causal { i } else { n - 1 };
            let s: Vec<f64> = (0..=last)
                .map(|j| {
                    scale
                        * (0..d)
                            .map(|c| q[(h * n + i) * d + c] * k[(h * n + j) * d + c])
                            .sum::<f64>()
                })
                .collect();
            let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = s.iter().map(|x| (x - mx).exp()).sum();
            l[h * n + i] = mx + z.ln();
            for (j, sj) in s.iter().enumerate() {
                let p = (sj - mx).exp() / z;
                for c in 0..d {
                    o[(h * n + i) * d + c] += p * v[(h * n + j) * d + c];
                }
            }
        }
    }
    (o, l)
}

fn to_f64(a: &Array3<f32>) -> Vec<f64> {
    a.iter().map(|&x| x as f64).collect()
}

/// Naive f32 forward vs the f64 loops, and naive f32 backward vs f64
/// central differences of ℓ = Σ dO ∘ O (step 1e-5), on small odd shapes.
#[test]
fn naive_matches_f64_and_finite_differences() {
    for (seed, bh, n, d, causal) in [
        (1, 2, 5, 3, false),
        (2, 2, 5, 3, true),
        (3, 1, 6, 4, true),
        (4, 1, 1, 2, false),
    ] {
        let x = inputs(seed, bh, n, d);
        let scale = 1.0 / (d as f64).sqrt();
        let cfg = FlashConfig {
            causal,
            ..FlashConfig::default()
        };
        let (o, l) =
            naive_attention_forward(x.q.view(), x.k.view(), x.v.view(), scale as f32, &cfg);
        let (qf, kf, vf, gf) = (to_f64(&x.q), to_f64(&x.k), to_f64(&x.v), to_f64(&x.d_o));
        let (o64, l64) = attention_f64(&qf, &kf, &vf, bh, n, d, scale, causal);
        let o64: Vec<f32> = o64.iter().map(|&e| e as f32).collect();
        let l64: Vec<f32> = l64.iter().map(|&e| e as f32).collect();
        assert_close("naive O vs f64", o.as_slice().unwrap(), &o64, 1e-5, 1e-5);
        assert_close("naive L vs f64", l.as_slice().unwrap(), &l64, 1e-5, 1e-5);

        let (dq, dk, dv) = naive_attention_backward(
            x.q.view(),
            x.k.view(),
            x.v.view(),
            o.view(),
            l.view(),
            x.d_o.view(),
            scale as f32,
            &cfg,
        );
        let loss = |q: &[f64], k: &[f64], v: &[f64]| -> f64 {
            let (o, _) = attention_f64(q, k, v, bh, n, d, scale, causal);
            o.iter().zip(&gf).map(|(a, b)| a * b).sum()
        };
        let h = 1e-5;
        for (which, grad) in [(0, &dq), (1, &dk), (2, &dv)] {
            let mut fd = vec![0.0f32; grad.len()];
            for (idx, slot) in fd.iter_mut().enumerate() {
                let mut bufs = [qf.clone(), kf.clone(), vf.clone()];
                bufs[which][idx] += h;
                let plus = loss(&bufs[0], &bufs[1], &bufs[2]);
                bufs[which][idx] -= 2.0 * h;
                let minus = loss(&bufs[0], &bufs[1], &bufs[2]);
                *slot = ((plus - minus) / (2.0 * h)) as f32;
            }
            assert_close(
                &format!("naive grad {which} vs FD (seed {seed})"),
                grad.as_slice().unwrap(),
                &fd,
                1e-5,
                1e-4,
            );
        }
    }
}

/// `FlashConfig::default()` is 64 × 64, not causal.
#[test]
fn default_config() {
    let c = FlashConfig::default();
    assert_eq!((c.block_q, c.block_k, c.causal), (64, 64, false));
}
