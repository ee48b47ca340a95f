//! Margin-softmax classification heads (face-recognition style), each a
//! forward/backward pair, plus [`margin_cross_entropy`] which chains a head
//! with softmax cross-entropy.
//!
//! # Common math
//!
//! Inputs: features `x`: `[N, D]`, class weights `W`: `[C, D]` (PyTorch
//! `Linear` layout, no bias), labels `y`: `[N]`. With
//! `x̂_n = x_n/‖x_n‖`, `ŵ_c = W_c/‖W_c‖` and `cos θ_nc = x̂_n·ŵ_c`, every head
//! produces logits `[N, C]`
//!
//! ```text
//! z_nc = M_nc · cos θ_nc        for c ≠ y_n
//! z_nc = M_nc · g(cos θ_nc)     for c = y_n   (only the target logit changes)
//! ```
//!
//! | head | magnitude `M_nc` | target `g(cos θ)` | defaults |
//! |---|---|---|---|
//! | [`NormFace`] | `s` | `cos θ` | s = 64 |
//! | [`CosFace`] (AM-Softmax) | `s` | `cos θ − m` | s = 64, m = 0.35 |
//! | [`ArcFace`] | `s` | `cos(θ + m)` (fallback below) | s = 64, m = 0.5 |
//! | [`SphereFace`] (A-Softmax) | `‖x_n‖` | `(λ cos θ + ψ(θ))/(1 + λ)` | m = 4, λ annealed |
//! | [`LSoftmax`] | `‖W_c‖·‖x_n‖` | `(λ cos θ + ψ(θ))/(1 + λ)` | m = 4, λ = 0 |
//!
//! with `ψ(θ) = (−1)^k cos(mθ) − 2k` for `θ ∈ [kπ/m, (k+1)π/m]`
//! ([`sphereface_psi`]).
//!
//! Normalisation divides by `max(‖·‖, 1e-12)` (as `F.normalize`). The
//! backward goes through the normalisation:
//! `∂x̂/∂x · v = (v − (v·x̂)x̂)/‖x‖`, plus `x̂·∂ℓ/∂‖x‖` where the magnitude
//! depends on `‖x‖`.
//!
//! `cos θ` is clamped to `[−1, 1]` before any `acos` or `√(1 − cos²θ)`.
//!
//! ```
//! use ndarray::array;
//! use rlkit::nn::margin::{CosFace, MarginHead};
//! let head = CosFace { s: 10.0, m: 0.35 };
//! // x̂ = (0.6, 0.8); class 0 along e₁, class 1 along e₂; label 0
//! let z = head.forward(array![[3.0f32, 4.0]].view(), array![[1.0f32, 0.0], [0.0, 2.0]].view(), &[0]).unwrap();
//! assert!((z[[0, 0]] - 2.5).abs() < 1e-5 && (z[[0, 1]] - 8.0).abs() < 1e-5);
//! ```

use crate::nn::loss::cross_entropy_forward_backward;
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

/// Norms below this are clamped (as `torch.nn.functional.normalize`).
pub const NORM_EPS: f32 = 1e-12;

/// What multiplies `cos θ` (or the target function) in a head's logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Magnitude {
    /// A constant scale `s` (NormFace, CosFace, ArcFace).
    Scale(f32),
    /// The feature norm `‖x_n‖` (SphereFace: weights normalised, features not).
    FeatureNorm,
    /// `‖W_c‖·‖x_n‖` (L-Softmax: nothing normalised, `z = W_c·x_n` off target).
    FeatureWeightNorm,
}

/// A margin-softmax head. Implementors give the magnitude and the target
/// function `g` with its derivative; `forward` and `backward` are shared.
pub trait MarginHead {
    /// The factor `M_nc` of the logits.
    fn magnitude(&self) -> Magnitude;

    /// The target function: `(g(c), g'(c))` at `c = cos θ` (unclamped; the
    /// head clamps where it takes `acos` or `√(1 − c²)`).
    fn target(&self, cos: f32) -> (f32, f32);

    /// Logits `[N, C]` from features `[N, D]`, weights `[C, D]` and labels
    /// `[N]` (see the module docs for the formula).
    ///
    /// # Errors
    /// [`Error::Input`] if the shapes disagree or a label is `≥ C`.
    fn forward(&self, features: ArrayView2<f32>, weight: ArrayView2<f32>, labels: &[usize]) -> Result<Array2<f32>> {
        let ctx = Ctx::new(features, weight, labels, self.magnitude())?;
        let mut z = ctx.cos.clone();
        for (n, mut row) in z.rows_mut().into_iter().enumerate() {
            for (c, e) in row.iter_mut().enumerate() {
                let g = if c == labels[n] { self.target(*e).0 } else { *e };
                *e = ctx.mag(n, c) * g;
            }
        }
        Ok(z)
    }

    /// Backward: from `d_logits = ∂ℓ/∂z` (`[N, C]`) to
    /// `(∂ℓ/∂features [N, D], ∂ℓ/∂weight [C, D])`, through the normalisation
    /// of both.
    ///
    /// `∂z/∂cos = M·g'` and `∂z/∂M = g` (`g = cos`, `g' = 1` off target);
    /// then `dx̂ = dcos·Ŵ`, `dŴ = dcosᵀ·x̂` and the normalisation backward.
    ///
    /// # Errors
    /// As [`MarginHead::forward`], and if `d_logits` is not `[N, C]`.
    fn backward(
        &self,
        features: ArrayView2<f32>,
        weight: ArrayView2<f32>,
        labels: &[usize],
        d_logits: ArrayView2<f32>,
    ) -> Result<(Array2<f32>, Array2<f32>)> {
        let ctx = Ctx::new(features, weight, labels, self.magnitude())?;
        if d_logits.dim() != ctx.cos.dim() {
            return Err(Error::input(format!(
                "margin head: d_logits shape {:?} must be the logits shape {:?}",
                d_logits.dim(),
                ctx.cos.dim()
            )));
        }
        let (n_rows, n_cls) = ctx.cos.dim();
        let mut d_cos = Array2::<f32>::zeros((n_rows, n_cls));
        let mut d_mag = Array2::<f32>::zeros((n_rows, n_cls));
        for n in 0..n_rows {
            for c in 0..n_cls {
                let cs = ctx.cos[[n, c]];
                let (g, dg) = if c == labels[n] { self.target(cs) } else { (cs, 1.0) };
                let dz = d_logits[[n, c]];
                d_cos[[n, c]] = dz * ctx.mag(n, c) * dg;
                d_mag[[n, c]] = dz * g;
            }
        }
        let d_xhat = d_cos.dot(&ctx.w_hat);
        let d_what = d_cos.t().dot(&ctx.x_hat);
        // ∂ℓ/∂‖x_n‖ and ∂ℓ/∂‖W_c‖ through the magnitude.
        let (d_xnorm, d_wnorm) = match ctx.magnitude {
            Magnitude::Scale(_) => (None, None),
            Magnitude::FeatureNorm => (Some(d_mag.sum_axis(Axis(1))), None),
            Magnitude::FeatureWeightNorm => (Some(d_mag.dot(&ctx.w_norm)), Some(d_mag.t().dot(&ctx.x_norm))),
        };
        let d_x = normalize_backward(&ctx.x_hat, &ctx.x_norm, &d_xhat, d_xnorm.as_ref());
        let d_w = normalize_backward(&ctx.w_hat, &ctx.w_norm, &d_what, d_wnorm.as_ref());
        Ok((d_x, d_w))
    }
}

/// Forward quantities shared by forward and backward.
struct Ctx {
    x_hat: Array2<f32>,
    x_norm: Array1<f32>,
    w_hat: Array2<f32>,
    w_norm: Array1<f32>,
    cos: Array2<f32>,
    magnitude: Magnitude,
}

impl Ctx {
    fn new(features: ArrayView2<f32>, weight: ArrayView2<f32>, labels: &[usize], magnitude: Magnitude) -> Result<Self> {
        let (n, d) = features.dim();
        let (c, d_w) = weight.dim();
        if d != d_w {
            return Err(Error::input(format!(
                "margin head: features [N={n}, D={d}] and weight [C={c}, D={d_w}] disagree on D"
            )));
        }
        if labels.len() != n {
            return Err(Error::input(format!("margin head: {} labels for {n} feature rows", labels.len())));
        }
        if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y >= c) {
            return Err(Error::input(format!(
                "margin head: label {y} of sample {i} is out of range; valid classes are 0..{c}"
            )));
        }
        let (x_hat, x_norm) = normalize_rows(features);
        let (w_hat, w_norm) = normalize_rows(weight);
        let cos = x_hat.dot(&w_hat.t());
        Ok(Ctx { x_hat, x_norm, w_hat, w_norm, cos, magnitude })
    }

    #[inline]
    fn mag(&self, n: usize, c: usize) -> f32 {
        match self.magnitude {
            Magnitude::Scale(s) => s,
            Magnitude::FeatureNorm => self.x_norm[n],
            Magnitude::FeatureWeightNorm => self.x_norm[n] * self.w_norm[c],
        }
    }
}

/// Rows divided by `max(‖row‖, NORM_EPS)`; returns (unit rows, true norms).
fn normalize_rows(a: ArrayView2<f32>) -> (Array2<f32>, Array1<f32>) {
    let norms: Array1<f32> =
        a.rows().into_iter().map(|r| r.iter().map(|&e| (e as f64) * (e as f64)).sum::<f64>().sqrt() as f32).collect();
    let mut hat = a.to_owned();
    for (mut row, &nrm) in hat.rows_mut().into_iter().zip(&norms) {
        let inv = 1.0 / nrm.max(NORM_EPS);
        row.mapv_inplace(|e| e * inv);
    }
    (hat, norms)
}

/// Backward of `a ↦ (â, ‖a‖)` per row: `da = (dâ − (dâ·â)â)/‖a‖ + d‖a‖·â`
/// (for a norm below `NORM_EPS`, `â = a/NORM_EPS` and `da = dâ/NORM_EPS`).
fn normalize_backward(
    hat: &Array2<f32>,
    norms: &Array1<f32>,
    d_hat: &Array2<f32>,
    d_norm: Option<&Array1<f32>>,
) -> Array2<f32> {
    let mut out = d_hat.clone();
    for (n, mut row) in out.rows_mut().into_iter().enumerate() {
        let h = hat.row(n);
        let nrm = norms[n];
        if nrm < NORM_EPS {
            row.mapv_inplace(|e| e / NORM_EPS);
            continue;
        }
        let proj = row.dot(&h);
        let dn = d_norm.map_or(0.0, |d| d[n]);
        Zip::from(&mut row).and(&h).for_each(|g, &hv| *g = (*g - proj * hv) / nrm + dn * hv);
    }
    out
}

/// NormFace: `z = s·cos θ` for every class (no margin).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormFace {
    /// Scale `s`. Default 64.
    pub s: f32,
}

impl Default for NormFace {
    fn default() -> Self {
        NormFace { s: 64.0 }
    }
}

impl MarginHead for NormFace {
    fn magnitude(&self) -> Magnitude {
        Magnitude::Scale(self.s)
    }
    fn target(&self, cos: f32) -> (f32, f32) {
        (cos, 1.0)
    }
}

/// CosFace / AM-Softmax: target logit `s·(cos θ − m)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosFace {
    /// Scale `s`. Default 64.
    pub s: f32,
    /// Additive cosine margin `m`. Default 0.35.
    pub m: f32,
}

impl Default for CosFace {
    fn default() -> Self {
        CosFace { s: 64.0, m: 0.35 }
    }
}

impl MarginHead for CosFace {
    fn magnitude(&self) -> Magnitude {
        Magnitude::Scale(self.s)
    }
    fn target(&self, cos: f32) -> (f32, f32) {
        (cos - self.m, 1.0)
    }
}

/// ArcFace: target logit `s·cos(θ + m)`, as in insightface:
///
/// ```text
/// φ = cos θ·cos m − sin θ·sin m         (sin θ = √(1 − cos²θ), cos θ clamped to [−1, 1])
/// easy_margin:  g = φ if cos θ > 0 else cos θ
/// otherwise:    g = φ if cos θ > cos(π − m) else cos θ − m·sin m
/// ```
///
/// The fallback keeps the target logit monotone in `θ` once `θ + m` would
/// pass `π`. `g` is discontinuous at the switch points.
/// `∂φ/∂cos θ = cos m + sin m·cos θ/sin θ`, singular at `θ = 0`; `sin θ` is
/// clamped below at `1e-6` there (the chain factor `∂cos θ/∂x` vanishes
/// like `sin θ`, so the product stays bounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArcFace {
    /// Scale `s`. Default 64.
    pub s: f32,
    /// Additive angular margin `m` (radians). Default 0.5.
    pub m: f32,
    /// Apply the margin only where `cos θ > 0`. Default `false`.
    pub easy_margin: bool,
}

impl Default for ArcFace {
    fn default() -> Self {
        ArcFace { s: 64.0, m: 0.5, easy_margin: false }
    }
}

impl MarginHead for ArcFace {
    fn magnitude(&self) -> Magnitude {
        Magnitude::Scale(self.s)
    }
    fn target(&self, cos: f32) -> (f32, f32) {
        let (sin_m, cos_m) = self.m.sin_cos();
        let use_phi = if self.easy_margin { cos > 0.0 } else { cos > (std::f32::consts::PI - self.m).cos() };
        if !use_phi {
            return if self.easy_margin { (cos, 1.0) } else { (cos - self.m * sin_m, 1.0) };
        }
        let c = cos.clamp(-1.0, 1.0);
        let sine = (1.0 - c * c).max(0.0).sqrt();
        let phi = c * cos_m - sine * sin_m;
        let d_phi = if cos.abs() > 1.0 {
            0.0 // outside the clamp
        } else {
            cos_m + sin_m * c / sine.max(1e-6)
        };
        (phi, d_phi)
    }
}

/// λ annealing of SphereFace / L-Softmax:
/// `λ(iter) = max(λ_min, base·(1 + γ·iter)^(−power))`.
///
/// ```
/// use rlkit::nn::margin::LambdaSchedule;
/// let s = LambdaSchedule::default();
/// assert_eq!(s.lambda(0), 1000.0);
/// assert_eq!(s.lambda(1_000_000), 5.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LambdaSchedule {
    /// Initial value. Default 1000 (SphereFace).
    pub base: f32,
    /// Decay rate. Default 0.12.
    pub gamma: f32,
    /// Decay power. Default 1.
    pub power: f32,
    /// Floor. Default 5.
    pub lambda_min: f32,
}

impl Default for LambdaSchedule {
    fn default() -> Self {
        LambdaSchedule { base: 1000.0, gamma: 0.12, power: 1.0, lambda_min: 5.0 }
    }
}

impl LambdaSchedule {
    /// A schedule that is always `λ = 0` (no annealing: pure `ψ(θ)`).
    pub const NONE: LambdaSchedule = LambdaSchedule { base: 0.0, gamma: 0.0, power: 1.0, lambda_min: 0.0 };

    /// `λ(iter) = max(λ_min, base·(1 + γ·iter)^(−power))`, computed in f64.
    pub fn lambda(&self, iter: u64) -> f32 {
        let decayed = self.base as f64 * (1.0 + self.gamma as f64 * iter as f64).powf(-(self.power as f64));
        decayed.max(self.lambda_min as f64) as f32
    }
}

/// SphereFace's `ψ(θ) = (−1)^k cos(mθ) − 2k` for `θ ∈ [kπ/m, (k+1)π/m]`,
/// `k = ⌊mθ/π⌋` (capped at `m − 1` so `θ = π` is in the last piece), as a
/// function of `c = cos θ`, with its derivative: returns
/// `(ψ, ∂ψ/∂c)`.
///
/// `cos(mθ) = T_m(c)` and `∂cos(mθ)/∂c = m·U_{m−1}(c)` (Chebyshev
/// polynomials, no division by `sin θ`), so
/// `∂ψ/∂c = (−1)^k·m·U_{m−1}(c)`. ψ is continuous and monotone decreasing
/// in `θ` (from 1 at `θ = 0` to `1 − 2m` at `θ = π`), and `C¹` since
/// `U_{m−1}` vanishes at every piece boundary. `c` is clamped to `[−1, 1]`;
/// `m = 0` is treated as 1.
///
/// ```
/// let (psi, _) = rlkit::nn::margin::sphereface_psi(4, (std::f32::consts::PI / 2.0).cos());
/// assert!((psi - -3.0).abs() < 1e-5); // k = 2: cos(2π) − 4
/// ```
pub fn sphereface_psi(m: u32, cos: f32) -> (f32, f32) {
    let m = m.max(1);
    let c = cos.clamp(-1.0, 1.0) as f64;
    let theta = c.acos();
    let k = ((m as f64 * theta / std::f64::consts::PI).floor() as u32).min(m - 1);
    // T_m(c) and U_{m−1}(c) by the three-term recurrences.
    let (mut t_prev, mut t) = (1.0f64, c); // T_0, T_1
    let (mut u_prev, mut u) = (0.0f64, 1.0f64); // U_{-1}, U_0
    for _ in 1..m {
        (t_prev, t) = (t, 2.0 * c * t - t_prev);
        (u_prev, u) = (u, 2.0 * c * u - u_prev);
    }
    let sign = if k.is_multiple_of(2) { 1.0 } else { -1.0 };
    let psi = sign * t - 2.0 * k as f64;
    let d_psi = if cos.abs() > 1.0 { 0.0 } else { sign * m as f64 * u };
    (psi as f32, d_psi as f32)
}

/// `(λc + ψ)/(1 + λ)` and its derivative.
fn annealed(m: u32, lambda: f32, cos: f32) -> (f32, f32) {
    let (psi, d_psi) = sphereface_psi(m, cos);
    let w = 1.0 / (1.0 + lambda);
    ((lambda * cos + psi) * w, (lambda + d_psi) * w)
}

/// SphereFace / A-Softmax: weights normalised, features not; off-target
/// logits `‖x‖·cos θ`, target logit `‖x‖·(λ cos θ + ψ(θ))/(1 + λ)` with
/// `λ = schedule.lambda(iter)` ([`sphereface_psi`], [`LambdaSchedule`]).
///
/// Set `iter` to the training iteration before each forward/backward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SphereFace {
    /// Angular margin (integer) `m`. Default 4.
    pub m: u32,
    /// λ annealing. Default: base 1000, γ 0.12, power 1, λ_min 5.
    pub schedule: LambdaSchedule,
    /// Current training iteration. Default 0.
    pub iter: u64,
}

impl Default for SphereFace {
    fn default() -> Self {
        SphereFace { m: 4, schedule: LambdaSchedule::default(), iter: 0 }
    }
}

impl SphereFace {
    /// The current `λ = schedule.lambda(iter)`.
    pub fn lambda(&self) -> f32 {
        self.schedule.lambda(self.iter)
    }
}

impl MarginHead for SphereFace {
    fn magnitude(&self) -> Magnitude {
        Magnitude::FeatureNorm
    }
    fn target(&self, cos: f32) -> (f32, f32) {
        annealed(self.m, self.lambda(), cos)
    }
}

/// L-Softmax (large-margin softmax): nothing normalised; off-target logits
/// `W_c·x = ‖W_c‖‖x‖cos θ`, target logit
/// `‖W_y‖‖x‖·(λ cos θ + ψ(θ))/(1 + λ)`.
///
/// The paper's loss is `‖W‖‖x‖ψ(θ)`, i.e. `λ = 0`, which is the default
/// ([`LambdaSchedule::NONE`]); its released code anneals λ like SphereFace,
/// which you get with `schedule: LambdaSchedule::default()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LSoftmax {
    /// Angular margin (integer) `m`. Default 4.
    pub m: u32,
    /// λ annealing. Default [`LambdaSchedule::NONE`] (λ = 0).
    pub schedule: LambdaSchedule,
    /// Current training iteration. Default 0.
    pub iter: u64,
}

impl Default for LSoftmax {
    fn default() -> Self {
        LSoftmax { m: 4, schedule: LambdaSchedule::NONE, iter: 0 }
    }
}

impl MarginHead for LSoftmax {
    fn magnitude(&self) -> Magnitude {
        Magnitude::FeatureWeightNorm
    }
    fn target(&self, cos: f32) -> (f32, f32) {
        annealed(self.m, self.schedule.lambda(self.iter), cos)
    }
}

/// Result of [`margin_cross_entropy`].
#[derive(Debug, Clone)]
pub struct MarginLoss {
    /// Mean softmax cross-entropy of the head's logits.
    pub loss: f32,
    /// The head's logits `[N, C]`.
    pub logits: Array2<f32>,
    /// `∂loss/∂features`, `[N, D]`.
    pub d_features: Array2<f32>,
    /// `∂loss/∂weight`, `[C, D]`.
    pub d_weight: Array2<f32>,
}

/// A margin head followed by softmax cross-entropy (mean over the batch):
/// `loss = (1/N)·Σ_n (logsumexp_c z_nc − z_{n,y_n})` with `z` the head's
/// logits, and the gradients wrt features and weight.
///
/// # Errors
/// As [`MarginHead::forward`].
///
/// ```
/// use ndarray::array;
/// use rlkit::nn::margin::{margin_cross_entropy, ArcFace};
/// let out = margin_cross_entropy(&ArcFace::default(),
///     array![[1.0f32, 0.2]].view(), array![[1.0f32, 0.0], [0.0, 1.0]].view(), &[0]).unwrap();
/// assert!(out.loss.is_finite() && out.d_weight.dim() == (2, 2));
/// ```
pub fn margin_cross_entropy<H: MarginHead + ?Sized>(
    head: &H,
    features: ArrayView2<f32>,
    weight: ArrayView2<f32>,
    labels: &[usize],
) -> Result<MarginLoss> {
    let logits = head.forward(features, weight, labels)?;
    let (loss, d_logits) = cross_entropy_forward_backward(logits.view(), labels)?;
    let (d_features, d_weight) = head.backward(features, weight, labels, d_logits.view())?;
    Ok(MarginLoss { loss, logits, d_features, d_weight })
}
