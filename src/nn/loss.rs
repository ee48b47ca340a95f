//! Loss functions, each a forward/backward pair: mean squared error, Huber,
//! and numerically stable softmax cross-entropy.
//!
//! Reductions follow PyTorch's default `reduction="mean"`:
//!
//! * [`mse_forward`] and [`huber_forward`] average over **all** `n` elements
//!   of the prediction (for a batch of scalars, shape `[N]` or `[N, 1]`, this
//!   is the batch mean);
//! * [`cross_entropy_forward`] averages over the batch `N`.
//!
//! Each `*_backward` returns `∂ℓ/∂input` for the scalar loss `ℓ` (multiply by
//! an upstream scalar yourself if the loss is scaled).
//!
//! Shape or label errors are [`Error::Input`]: a label or a target can come
//! from a user's data file.
//!
//! ```
//! use ndarray::array;
//! use rlkit::nn::loss::{cross_entropy_forward, mse_forward};
//! let l = mse_forward(array![1.0f32, 2.0].view(), array![0.0f32, 0.0].view()).unwrap();
//! assert_eq!(l, 2.5); // (1 + 4) / 2
//! let ce = cross_entropy_forward(array![[0.0f32, 0.0]].view(), &[1]).unwrap();
//! assert!((ce - std::f32::consts::LN_2).abs() < 1e-6);
//! ```

use crate::{Error, Result};
use ndarray::{Array, Array2, ArrayView, ArrayView2, Dimension, Zip};

fn check_same_shape<D: Dimension>(what: &str, pred: &ArrayView<f32, D>, target: &ArrayView<f32, D>) -> Result<()> {
    if pred.shape() != target.shape() {
        return Err(Error::input(format!(
            "{what}: prediction shape {:?} and target shape {:?} differ",
            pred.shape(),
            target.shape()
        )));
    }
    Ok(())
}

/// Mean squared error, forward: `ℓ = (1/n)·Σ_e (p_e − t_e)²` over all `n`
/// elements of `pred` (any shape; `target` has the same shape). An empty
/// input gives 0.
///
/// # Errors
/// [`Error::Input`] if the shapes differ.
pub fn mse_forward<D: Dimension>(pred: ArrayView<f32, D>, target: ArrayView<f32, D>) -> Result<f32> {
    check_same_shape("mse", &pred, &target)?;
    let n = pred.len().max(1) as f64;
    let mut sum = 0.0f64;
    Zip::from(&pred).and(&target).for_each(|&p, &t| {
        let r = (p - t) as f64;
        sum += r * r;
    });
    Ok((sum / n) as f32)
}

/// Mean squared error, backward: `∂ℓ/∂p_e = 2·(p_e − t_e)/n`, same shape as
/// `pred`.
///
/// # Errors
/// [`Error::Input`] if the shapes differ.
pub fn mse_backward<D: Dimension>(pred: ArrayView<f32, D>, target: ArrayView<f32, D>) -> Result<Array<f32, D>> {
    check_same_shape("mse", &pred, &target)?;
    let c = 2.0 / pred.len().max(1) as f32;
    Ok(Zip::from(&pred).and(&target).map_collect(|&p, &t| c * (p - t)))
}

/// Configuration of the Huber loss (PyTorch's `HuberLoss`).
///
/// ```
/// assert_eq!(rlkit::nn::loss::HuberConfig::default().delta, 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HuberConfig {
    /// Threshold `δ > 0` between the quadratic and the linear region.
    /// Default 1.0 (with `δ = 1` this is the smooth-L1 loss of DQN).
    pub delta: f32,
}

impl Default for HuberConfig {
    fn default() -> Self {
        HuberConfig { delta: 1.0 }
    }
}

fn check_delta(cfg: &HuberConfig) -> Result<()> {
    if cfg.delta > 0.0 && cfg.delta.is_finite() {
        Ok(())
    } else {
        Err(Error::input(format!("huber: delta must be a finite number > 0, got {}", cfg.delta)))
    }
}

/// Huber loss, forward: with `r = p − t`,
/// `h(r) = ½r²` if `|r| ≤ δ`, else `δ·(|r| − ½δ)`, and `ℓ = (1/n)·Σ h(r_e)`
/// over all `n` elements (PyTorch `HuberLoss(delta=δ)`, mean reduction).
///
/// # Errors
/// [`Error::Input`] if the shapes differ or `δ` is not a finite positive
/// number.
pub fn huber_forward<D: Dimension>(
    pred: ArrayView<f32, D>,
    target: ArrayView<f32, D>,
    cfg: &HuberConfig,
) -> Result<f32> {
    check_same_shape("huber", &pred, &target)?;
    check_delta(cfg)?;
    let delta = cfg.delta as f64;
    let mut sum = 0.0f64;
    Zip::from(&pred).and(&target).for_each(|&p, &t| {
        let r = (p - t) as f64;
        sum += if r.abs() <= delta { 0.5 * r * r } else { delta * (r.abs() - 0.5 * delta) };
    });
    Ok((sum / pred.len().max(1) as f64) as f32)
}

/// Huber loss, backward: `∂ℓ/∂p_e = r_e/n` if `|r_e| ≤ δ`, else
/// `δ·sign(r_e)/n`, same shape as `pred`.
///
/// # Errors
/// As [`huber_forward`].
pub fn huber_backward<D: Dimension>(
    pred: ArrayView<f32, D>,
    target: ArrayView<f32, D>,
    cfg: &HuberConfig,
) -> Result<Array<f32, D>> {
    check_same_shape("huber", &pred, &target)?;
    check_delta(cfg)?;
    let (delta, inv_n) = (cfg.delta, 1.0 / pred.len().max(1) as f32);
    Ok(Zip::from(&pred).and(&target).map_collect(|&p, &t| {
        let r = p - t;
        inv_n * if r.abs() <= delta { r } else { delta * r.signum() }
    }))
}

fn check_labels(what: &str, logits: &ArrayView2<f32>, labels: &[usize]) -> Result<()> {
    let (n, c) = logits.dim();
    if labels.len() != n {
        return Err(Error::input(format!("{what}: {} labels for a batch of {n} rows", labels.len())));
    }
    if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y >= c) {
        return Err(Error::input(format!("{what}: label {y} of sample {i} is out of range; valid classes are 0..{c}")));
    }
    Ok(())
}

/// Row log-sum-exp split as `lse_n = m_n + log s_n` with `m_n = max_c z_nc`
/// and `s_n = Σ_c exp(z_nc − m_n) ∈ [1, C]`, summed in f64; returns
/// `(m_n, log s_n)`. Every exponent is ≤ 0, so nothing overflows for any
/// finite logits and any number of classes.
fn row_lse(row: ndarray::ArrayView1<f32>) -> (f32, f64) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f64 = row.iter().map(|&z| ((z - m) as f64).exp()).sum();
    (m, s.ln())
}

/// Per-sample loss `(m − z_y) + log s` in f64: never forms `m + log s`,
/// which would lose `log s` entirely next to logits of order 1e8 and more.
fn row_loss(row: ndarray::ArrayView1<f32>, y: usize) -> (f64, f32, f64) {
    let (m, log_s) = row_lse(row);
    ((m as f64 - row[y] as f64) + log_s, m, log_s)
}

/// Softmax cross-entropy, forward, from logits `z`: `[N, C]` and class
/// labels `y`: `[N]`:
/// `ℓ = (1/N)·Σ_n (logsumexp_c z_nc − z_{n,y_n})`,
/// with the log-sum-exp computed stably (max `m_n` subtracted, f64 sum, and
/// `m_n − z_{n,y_n}` formed in f64), so it handles any number of classes and
/// logits of any finite size. `N = 0`
/// gives 0.
///
/// # Errors
/// [`Error::Input`] if `labels.len() != N` or a label is `≥ C`.
pub fn cross_entropy_forward(logits: ArrayView2<f32>, labels: &[usize]) -> Result<f32> {
    check_labels("cross-entropy", &logits, labels)?;
    let n = logits.nrows();
    let mut sum = 0.0f64;
    for (row, &y) in logits.rows().into_iter().zip(labels) {
        sum += row_loss(row, y).0;
    }
    Ok((sum / n.max(1) as f64) as f32)
}

/// Softmax cross-entropy, backward: `∂ℓ/∂z_nc = (softmax(z_n)_c − [c = y_n])/N`
/// with `softmax(z_n)_c = exp((z_nc − m_n) − log s_n)`. Shape `[N, C]`.
///
/// # Errors
/// As [`cross_entropy_forward`].
pub fn cross_entropy_backward(logits: ArrayView2<f32>, labels: &[usize]) -> Result<Array2<f32>> {
    Ok(cross_entropy_forward_backward(logits, labels)?.1)
}

/// Both at once (one log-sum-exp per row): `(ℓ, ∂ℓ/∂z)` as in
/// [`cross_entropy_forward`] and [`cross_entropy_backward`].
///
/// # Errors
/// As [`cross_entropy_forward`].
pub fn cross_entropy_forward_backward(logits: ArrayView2<f32>, labels: &[usize]) -> Result<(f32, Array2<f32>)> {
    check_labels("cross-entropy", &logits, labels)?;
    let n = logits.nrows();
    let inv_n = 1.0 / n.max(1) as f32;
    let mut grad = Array2::<f32>::zeros(logits.raw_dim());
    let mut sum = 0.0f64;
    for ((row, mut g), &y) in logits.rows().into_iter().zip(grad.rows_mut()).zip(labels) {
        let (loss, m, log_s) = row_loss(row, y);
        sum += loss;
        let log_s = log_s as f32;
        Zip::from(&mut g).and(&row).for_each(|g, &z| *g = ((z - m) - log_s).exp() * inv_n);
        g[y] -= inv_n;
    }
    Ok(((sum / n.max(1) as f64) as f32, grad))
}
