//! Integration tests of `rlkit::nn::loss` and `rlkit::nn::margin`.
//!
//! Tolerances, elementwise `|a − b| ≤ atol + rtol·|b|` (NaN fails):
//! * forward vs f64 formulas: atol 1e-6, rtol 1e-5 (losses); atol 1e-5,
//!   rtol 1e-5 (margin logits, which are of order s = 64);
//! * gradients vs f64 central finite differences (step 1e-6 for losses,
//!   1e-5 for heads): rtol 1e-4 and atol = 1e-5 · max|b| (the largest
//!   gradient entry; margin gradients are of order s = 64).

use ndarray::{array, Array1, Array2, ArrayView2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlkit::nn::loss::*;
use rlkit::nn::margin::*;

fn rand2(rng: &mut ChaCha8Rng, shape: (usize, usize), amp: f32) -> Array2<f32> {
    Array2::from_shape_simple_fn(shape, || rng.random_range(-amp..amp))
}

fn assert_close(what: &str, a: &[f32], b: &[f64], atol: f64, rtol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let err = (x as f64 - y).abs();
        assert!(
            err <= atol + rtol * y.abs(),
            "{what}[{i}]: {x} vs {y} (|diff| {err:e} > atol {atol:e} + rtol {rtol:e}·|b|)"
        );
    }
}

fn assert_grad(what: &str, a: &[f32], fd: &[f64]) {
    let scale = fd.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    assert_close(what, a, fd, 1e-5 * scale.max(1e-3), 1e-4);
}

/// Central differences of `f` at `x` (f64), step `h`.
fn fd_grad(x: &[f64], h: f64, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let x0 = x[i];
            x[i] = x0 + h;
            let p = f(&x);
            x[i] = x0 - h;
            let m = f(&x);
            x[i] = x0;
            (p - m) / (2.0 * h)
        })
        .collect()
}

fn f64s(a: &Array2<f32>) -> Vec<f64> {
    a.iter().map(|&e| e as f64).collect()
}

// ---------------------------------------------------------------------------
// MSE, Huber, cross-entropy
// ---------------------------------------------------------------------------

fn mse64(p: &[f64], t: &[f64]) -> f64 {
    p.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / p.len() as f64
}

fn huber64(p: &[f64], t: &[f64], d: f64) -> f64 {
    p.iter()
        .zip(t)
        .map(|(a, b)| {
            let r = a - b;
            if r.abs() <= d {
                0.5 * r * r
            } else {
                d * (r.abs() - 0.5 * d)
            }
        })
        .sum::<f64>()
        / p.len() as f64
}

/// Naive f64 cross-entropy (no max shift: only for moderate logits).
fn ce64(z: &[f64], labels: &[usize], c: usize) -> f64 {
    labels
        .iter()
        .enumerate()
        .map(|(n, &y)| {
            let row = &z[n * c..(n + 1) * c];
            row.iter().map(|e| e.exp()).sum::<f64>().ln() - row[y]
        })
        .sum::<f64>()
        / labels.len() as f64
}

#[test]
fn mse_forward_backward() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let p = rand2(&mut rng, (5, 3), 2.0);
    let t = rand2(&mut rng, (5, 3), 2.0);
    let (p64, t64) = (f64s(&p), f64s(&t));
    let l = mse_forward(p.view(), t.view()).unwrap();
    assert_close("mse", &[l], &[mse64(&p64, &t64)], 1e-6, 1e-5);
    let g = mse_backward(p.view(), t.view()).unwrap();
    let fd = fd_grad(&p64, 1e-6, |x| mse64(x, &t64));
    assert_grad("mse grad", g.as_slice().unwrap(), &fd);
    // hand case: residuals (1, −2) → (1 + 4)/2 = 2.5, gradient (2·1/2, 2·(−2)/2)
    let (a, b) = (array![1.0f32, -1.0], array![0.0f32, 1.0]);
    assert_eq!(mse_forward(a.view(), b.view()).unwrap(), 2.5);
    assert_eq!(mse_backward(a.view(), b.view()).unwrap(), array![1.0f32, -2.0]);
    assert!(mse_forward(a.view(), array![1.0f32].view()).is_err());
}

#[test]
fn huber_both_regions() {
    let cfg = HuberConfig { delta: 0.7 };
    // residuals p − t: |r| < δ for the first four, > δ for the last four,
    // none within 0.05 of ±δ (the kink).
    let p = array![[0.1f32, -0.3, 0.5, -0.6], [1.9, -2.5, 0.9, -1.3]];
    let t = Array2::<f32>::zeros((2, 4));
    let (p64, t64) = (f64s(&p), f64s(&t));
    let l = huber_forward(p.view(), t.view(), &cfg).unwrap();
    assert_close("huber", &[l], &[huber64(&p64, &t64, 0.7)], 1e-6, 1e-5);
    let g = huber_backward(p.view(), t.view(), &cfg).unwrap();
    let fd = fd_grad(&p64, 1e-6, |x| huber64(x, &t64, 0.7));
    assert_grad("huber grad", g.as_slice().unwrap(), &fd);
    // hand values, n = 8: quadratic r = 0.5 → 0.5·0.25/8; linear r = 1.9 →
    // 0.7·(1.9 − 0.35)/8; gradients 0.5/8 and 0.7/8.
    let one = |r: f32| huber_forward(array![r].view(), array![0.0f32].view(), &cfg).unwrap();
    assert!((one(0.5) - 0.125).abs() < 1e-7);
    assert!((one(1.9) - 0.7 * 1.55).abs() < 1e-6);
    assert!((g[[0, 2]] - 0.5 / 8.0).abs() < 1e-7);
    assert!((g[[1, 0]] - 0.7 / 8.0).abs() < 1e-7);
    assert!((g[[1, 1]] + 0.7 / 8.0).abs() < 1e-7);
    assert!(huber_forward(p.view(), t.view(), &HuberConfig { delta: 0.0 }).is_err());
}

#[test]
fn cross_entropy_forward_backward_small() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let z = rand2(&mut rng, (4, 7), 3.0);
    let labels = [0, 6, 3, 3];
    let z64 = f64s(&z);
    let l = cross_entropy_forward(z.view(), &labels).unwrap();
    assert_close("ce", &[l], &[ce64(&z64, &labels, 7)], 1e-6, 1e-5);
    let g = cross_entropy_backward(z.view(), &labels).unwrap();
    let fd = fd_grad(&z64, 1e-6, |x| ce64(x, &labels, 7));
    assert_grad("ce grad", g.as_slice().unwrap(), &fd);
    let (l2, g2) = cross_entropy_forward_backward(z.view(), &labels).unwrap();
    assert_eq!((l2, &g2), (l, &g));
    // hand case: two equal logits → ln 2
    let l = cross_entropy_forward(array![[5.0f32, 5.0]].view(), &[1]).unwrap();
    assert!((l - std::f32::consts::LN_2).abs() < 1e-6);
    assert!(cross_entropy_forward(z.view(), &[0, 1, 2, 7]).is_err());
    assert!(cross_entropy_forward(z.view(), &[0, 1]).is_err());
}

/// 10,000 classes with logits up to ±1e4 and ±1e30: finite, exact loss and
/// gradient against an f64 max-shifted reference.
#[test]
fn cross_entropy_ten_thousand_classes_huge_logits() {
    let c = 10_000;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for amp in [1.0f32, 1e4, 1e30] {
        let mut z = rand2(&mut rng, (3, c), amp);
        // row 2: all logits equal, so the loss is exactly ln C
        z.row_mut(2).fill(amp);
        let labels = [17, 9_999, 4_242];
        let (l, g) = cross_entropy_forward_backward(z.view(), &labels).unwrap();
        assert!(l.is_finite() && g.iter().all(|e| e.is_finite()));
        let mut loss = 0.0;
        let mut g_ref = vec![0.0f64; 3 * c];
        for (n, &y) in labels.iter().enumerate() {
            let row: Vec<f64> = z.row(n).iter().map(|&e| e as f64).collect();
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|e| (e - m).exp()).sum();
            loss += m - row[y] + s.ln();
            for j in 0..c {
                g_ref[n * c + j] = ((row[j] - m).exp() / s - f64::from(j == y)) / 3.0;
            }
        }
        assert_close(&format!("ce 1e4 classes amp {amp}"), &[l], &[loss / 3.0], 1e-6, 1e-5);
        assert_close(&format!("ce grad amp {amp}"), g.as_slice().unwrap(), &g_ref, 1e-7, 1e-5);
        let eq_row = cross_entropy_forward(z.slice_axis(ndarray::Axis(0), (2..3).into()), &[4_242]).unwrap();
        assert!((eq_row as f64 - (c as f64).ln()).abs() < 1e-5, "amp {amp}: {eq_row}");
    }
}

// ---------------------------------------------------------------------------
// Margin heads
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Head {
    Norm(NormFace),
    Cos(CosFace),
    Arc(ArcFace),
    Sphere(SphereFace),
    L(LSoftmax),
}

impl Head {
    fn dyn_head(&self) -> &dyn MarginHead {
        match self {
            Head::Norm(h) => h,
            Head::Cos(h) => h,
            Head::Arc(h) => h,
            Head::Sphere(h) => h,
            Head::L(h) => h,
        }
    }
}

/// ψ(θ) = (−1)^k cos(mθ) − 2k from θ directly (not via Chebyshev polynomials).
fn psi64(m: u32, theta: f64) -> f64 {
    let k = ((m as f64 * theta / std::f64::consts::PI).floor() as u32).min(m - 1) as f64;
    (-1f64).powf(k) * (m as f64 * theta).cos() - 2.0 * k
}

/// f64 reference logits [n·c] by the published formulas, in plain loops.
fn logits64(head: Head, x: &[f64], w: &[f64], labels: &[usize], n: usize, c: usize, d: usize) -> Vec<f64> {
    let norm = |v: &[f64]| v.iter().map(|e| e * e).sum::<f64>().sqrt();
    let mut z = vec![0.0; n * c];
    for i in 0..n {
        let xi = &x[i * d..(i + 1) * d];
        let xn = norm(xi);
        for j in 0..c {
            let wj = &w[j * d..(j + 1) * d];
            let wn = norm(wj);
            let cos = xi.iter().zip(wj).map(|(a, b)| a * b).sum::<f64>() / (xn * wn);
            let theta = cos.clamp(-1.0, 1.0).acos();
            let t = j == labels[i];
            z[i * c + j] = match head {
                Head::Norm(h) => h.s as f64 * cos,
                Head::Cos(h) => h.s as f64 * if t { cos - h.m as f64 } else { cos },
                Head::Arc(h) => {
                    let m = h.m as f64;
                    let g = if !t {
                        cos
                    } else if h.easy_margin {
                        if cos > 0.0 {
                            (theta + m).cos()
                        } else {
                            cos
                        }
                    } else if cos > (std::f64::consts::PI - m).cos() {
                        (theta + m).cos()
                    } else {
                        cos - m * m.sin()
                    };
                    h.s as f64 * g
                }
                Head::Sphere(h) => {
                    let lam = h.lambda() as f64;
                    xn * if t { (lam * cos + psi64(h.m, theta)) / (1.0 + lam) } else { cos }
                }
                Head::L(h) => {
                    let lam = h.schedule.lambda(h.iter) as f64;
                    wn * xn * if t { (lam * cos + psi64(h.m, theta)) / (1.0 + lam) } else { cos }
                }
            };
        }
    }
    z
}

/// The 2-D hand example. x = (3, 4): ‖x‖ = 5, x̂ = (0.6, 0.8).
/// W = [(1, 0), (0, 2)]: ‖W₀‖ = 1, ‖W₁‖ = 2, ŵ₀ = e₁, ŵ₁ = e₂.
/// Label 0, so cos θ₀ = 0.6 (target, sin θ₀ = 0.8), cos θ₁ = 0.8.
#[test]
fn margin_heads_hand_computed_2d() {
    let x = array![[3.0f32, 4.0]];
    let w = array![[1.0f32, 0.0], [0.0, 2.0]];
    let z = |h: &dyn MarginHead| h.forward(x.view(), w.view(), &[0]).unwrap();
    let check = |what: &str, got: Array2<f32>, want: [f64; 2]| {
        assert_close(what, got.as_slice().unwrap(), &want, 1e-5, 1e-6);
    };
    // NormFace s = 10: (10·0.6, 10·0.8)
    check("normface", z(&NormFace { s: 10.0 }), [6.0, 8.0]);
    // CosFace s = 10, m = 0.35: 10·(0.6 − 0.35) = 2.5
    check("cosface", z(&CosFace { s: 10.0, m: 0.35 }), [2.5, 8.0]);
    // ArcFace s = 10, m = 0.5: cos(θ + m) = 0.6·cos 0.5 − 0.8·sin 0.5
    //   = 0.6·0.8775825619 − 0.8·0.4794255386 = 0.5265495371 − 0.3835404309
    //   = 0.1430091062 → 1.430091062
    check("arcface", z(&ArcFace { s: 10.0, m: 0.5, easy_margin: false }), [1.430091062, 8.0]);
    // SphereFace m = 4 with λ = 5 (iter large): θ₀ = acos 0.6 = 0.9273 rad,
    //   4θ₀/π = 1.18 → k = 1; cos 4θ₀ = T₄(0.6) = 8·0.1296 − 8·0.36 + 1 = −0.8432;
    //   ψ = −(−0.8432) − 2 = −1.1568; f = (5·0.6 − 1.1568)/6 = 0.3072;
    //   target = ‖x‖·f = 1.536; other = ‖x‖·0.8 = 4
    let sphere = SphereFace { iter: 1_000_000, ..SphereFace::default() };
    assert_eq!(sphere.lambda(), 5.0);
    check("sphereface", z(&sphere), [1.536, 4.0]);
    // L-Softmax m = 4, λ = 0: target = ‖W₀‖‖x‖ψ = 1·5·(−1.1568) = −5.784;
    //   other = ‖W₁‖‖x‖·0.8 = 2·5·0.8 = 8
    check("lsoftmax", z(&LSoftmax::default()), [-5.784, 8.0]);

    // ArcFace fallback: x = (−0.28, −0.96) (unit), label 1:
    //   cos θ₁ = −0.96 ≤ cos(π − 0.5) = −0.8775825619, so the target is
    //   10·(−0.96 − 0.5·sin 0.5) = 10·(−0.96 − 0.2397127693) = −11.997127693;
    //   other = 10·(−0.28) = −2.8. (θ₁ + m = 3.358 > π.)
    let xf = array![[-0.28f32, -0.96]];
    let arc = ArcFace { s: 10.0, m: 0.5, easy_margin: false };
    check("arcface fallback", arc.forward(xf.view(), w.view(), &[1]).unwrap(), [-2.8, -11.997127693]);
    // easy margin with cos θ₁ = −0.96 ≤ 0: the target is plain 10·cos θ₁ = −9.6
    let easy = ArcFace { easy_margin: true, ..arc };
    check("arcface easy", easy.forward(xf.view(), w.view(), &[1]).unwrap(), [-2.8, -9.6]);
    // easy margin with cos θ₀ = 0.6 > 0 applies the margin as before
    check("arcface easy +", easy.forward(x.view(), w.view(), &[0]).unwrap(), [1.430091062, 8.0]);
}

/// ψ at specific θ (m = 4), and its derivative against the f64 closed form
/// dψ/dcos = (−1)^k·m·sin(mθ)/sin θ away from θ ∈ {0, π}.
#[test]
fn sphereface_psi_piecewise_values() {
    use std::f64::consts::PI;
    // (θ, ψ): k = 0: cos 0 = 1, cos(π/2) = 0; k = 1: −cos(3π/2) − 2 = −2;
    // k = 2: cos(2π) − 4 = −3, cos(5π/2) − 4 = −4; k = 3: −cos(4π) − 6 = −7.
    // At the boundary θ = π/4 both pieces give −1 (continuity).
    for (theta, want) in [
        (0.0, 1.0),
        (PI / 8.0, 0.0),
        (PI / 4.0, -1.0),
        (3.0 * PI / 8.0, -2.0),
        (PI / 2.0, -3.0),
        (5.0 * PI / 8.0, -4.0),
        (PI, -7.0),
    ] {
        let (psi, _) = sphereface_psi(4, theta.cos() as f32);
        assert!((psi as f64 - want).abs() <= 1e-5, "θ = {theta}: ψ = {psi}, want {want}");
    }
    for theta in [0.3f64, 1.0, 1.7, 2.2, 2.9] {
        let (_, d) = sphereface_psi(4, theta.cos() as f32);
        let k = (4.0 * theta / PI).floor();
        let want = (-1f64).powf(k) * 4.0 * (4.0 * theta).sin() / theta.sin();
        assert!((d as f64 - want).abs() <= 1e-4 + 1e-4 * want.abs(), "θ = {theta}: {d} vs {want}");
    }
    // m = 1 is plain cos θ
    assert_eq!(sphereface_psi(1, 0.3).0, 0.3);
}

#[test]
fn lambda_schedule_values() {
    let s = LambdaSchedule::default();
    assert_eq!(s.lambda(0), 1000.0);
    // 1000/(1 + 0.12) = 892.857142…
    assert!((s.lambda(1) as f64 - 1000.0 / 1.12).abs() < 1e-3);
    // 1000/(1 + 0.12·1000) = 1000/121 = 8.264462…
    assert!((s.lambda(1000) - 8.264_462).abs() < 1e-5);
    // crosses λ_min = 5 at iter = 199/0.12 = 1658.3: 1000/199.96 = 5.0010002
    assert!(s.lambda(1658) > 5.0 && s.lambda(1658) < 5.0011);
    assert_eq!(s.lambda(1659), 5.0);
    assert_eq!(s.lambda(u64::MAX), 5.0);
    assert_eq!(LambdaSchedule::NONE.lambda(0), 0.0);
}

/// Defaults as published.
#[test]
fn margin_defaults() {
    assert_eq!(NormFace::default().s, 64.0);
    assert_eq!((CosFace::default().s, CosFace::default().m), (64.0, 0.35));
    let a = ArcFace::default();
    assert_eq!((a.s, a.m, a.easy_margin), (64.0, 0.5, false));
    let s = SphereFace::default();
    assert_eq!(
        (s.m, s.iter, s.schedule),
        (4, 0, LambdaSchedule { base: 1000.0, gamma: 0.12, power: 1.0, lambda_min: 5.0 })
    );
    assert_eq!(LSoftmax::default().m, 4);
}

struct Batch {
    x: Array2<f32>,
    w: Array2<f32>,
    labels: Vec<usize>,
}

/// N = 5, C = 4, D = 3. Sample 0 is nearly opposite its class weight so that
/// ArcFace takes the fallback branch there.
fn batch(seed: u64) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = rand2(&mut rng, (5, 3), 1.5);
    let w = rand2(&mut rng, (4, 3), 1.0);
    let labels = vec![2, 0, 3, 1, 2];
    let opposite = w.row(2).mapv(|e| -1.3 * e) + rand2(&mut rng, (1, 3), 0.1).row(0);
    x.row_mut(0).assign(&opposite);
    Batch { x, w, labels }
}

fn target_cos(b: &Batch) -> Array1<f64> {
    b.labels
        .iter()
        .enumerate()
        .map(|(n, &y)| {
            let (xi, wi) = (b.x.row(n), b.w.row(y));
            (xi.dot(&wi) / (xi.dot(&xi).sqrt() * wi.dot(&wi).sqrt())) as f64
        })
        .collect()
}

fn all_heads() -> Vec<Head> {
    vec![
        Head::Norm(NormFace::default()),
        Head::Cos(CosFace::default()),
        Head::Arc(ArcFace::default()),
        Head::Arc(ArcFace { easy_margin: true, ..ArcFace::default() }),
        Head::Sphere(SphereFace::default()),
        Head::Sphere(SphereFace { iter: 10, ..SphereFace::default() }),
        Head::Sphere(SphereFace { iter: 100_000, ..SphereFace::default() }),
        Head::L(LSoftmax::default()),
        Head::L(LSoftmax { m: 3, schedule: LambdaSchedule::default(), iter: 50 }),
    ]
}

/// Every head: forward vs the f64 formulas, backward vs f64 central
/// differences of ℓ = Σ G∘z (random G) wrt features and weight.
#[test]
fn margin_heads_forward_and_backward() {
    for seed in [11u64, 12] {
        let b = batch(seed);
        let (n, c, d) = (5, 4, 3);
        let tc = target_cos(&b);
        // Away from the non-differentiable points: ArcFace's switch at
        // cos(π − 0.5) = −0.8776 and easy margin's at 0, and |cos| = 1.
        for &t in tc.iter() {
            assert!((t + 0.8776).abs() > 1e-2 && t.abs() > 1e-2 && t.abs() < 0.999, "target cos {t}");
        }
        assert!(tc[0] < -0.88, "sample 0 must take ArcFace's fallback (cos {})", tc[0]);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
        let g = rand2(&mut rng, (n, c), 1.0);
        let g64 = f64s(&g);
        let (x64, w64) = (f64s(&b.x), f64s(&b.w));
        for head in all_heads() {
            let h = head.dyn_head();
            let z = h.forward(b.x.view(), b.w.view(), &b.labels).unwrap();
            let z_ref = logits64(head, &x64, &w64, &b.labels, n, c, d);
            assert_close(&format!("{head:?} logits"), z.as_slice().unwrap(), &z_ref, 1e-5, 1e-5);
            let (dx, dw) = h.backward(b.x.view(), b.w.view(), &b.labels, g.view()).unwrap();
            let loss = |x: &[f64], w: &[f64]| -> f64 {
                logits64(head, x, w, &b.labels, n, c, d).iter().zip(&g64).map(|(a, b)| a * b).sum()
            };
            let fd_x = fd_grad(&x64, 1e-5, |x| loss(x, &w64));
            let fd_w = fd_grad(&w64, 1e-5, |w| loss(&x64, w));
            assert_grad(&format!("{head:?} d features"), dx.as_slice().unwrap(), &fd_x);
            assert_grad(&format!("{head:?} d weight"), dw.as_slice().unwrap(), &fd_w);
        }
    }
}

/// `margin_cross_entropy`: loss and gradients vs f64 (CE of the reference
/// logits, and its central differences).
#[test]
fn margin_cross_entropy_matches_f64() {
    let b = batch(21);
    let (n, c, d) = (5, 4, 3);
    let (x64, w64) = (f64s(&b.x), f64s(&b.w));
    for head in [
        Head::Arc(ArcFace { s: 8.0, ..ArcFace::default() }),
        Head::Sphere(SphereFace { iter: 3000, ..SphereFace::default() }),
        Head::Cos(CosFace { s: 8.0, m: 0.35 }),
    ] {
        let out = margin_cross_entropy(head.dyn_head(), b.x.view(), b.w.view(), &b.labels).unwrap();
        let loss = |x: &[f64], w: &[f64]| ce64(&logits64(head, x, w, &b.labels, n, c, d), &b.labels, c);
        assert_close(&format!("{head:?} loss"), &[out.loss], &[loss(&x64, &w64)], 1e-5, 1e-5);
        assert_grad(
            &format!("{head:?} ce d features"),
            out.d_features.as_slice().unwrap(),
            &fd_grad(&x64, 1e-5, |x| loss(x, &w64)),
        );
        assert_grad(
            &format!("{head:?} ce d weight"),
            out.d_weight.as_slice().unwrap(),
            &fd_grad(&w64, 1e-5, |w| loss(&x64, w)),
        );
    }
}

#[test]
fn margin_input_errors() {
    let b = batch(1);
    let h = ArcFace::default();
    assert!(h.forward(b.x.view(), b.w.view(), &[0, 1]).is_err());
    assert!(h.forward(b.x.view(), b.w.view(), &[0, 1, 2, 3, 4]).is_err());
    let w_bad: ArrayView2<f32> = b.w.slice_axis(ndarray::Axis(1), (0..2).into());
    assert!(h.forward(b.x.view(), w_bad, &b.labels).is_err());
    assert!(h.backward(b.x.view(), b.w.view(), &b.labels, Array2::zeros((5, 3)).view()).is_err());
}
