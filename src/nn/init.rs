//! Seeded weight initialisation (PyTorch's `nn.init` formulas).
//!
//! With `fan_in = in·kh·kw` and `fan_out = out·kh·kw` (Linear: `kh = kw = 1`):
//! - `kaiming_uniform`: U(−b, b), `b = √(6/fan_in)` (gain √2, for ReLU);
//! - `kaiming_normal`: N(0, σ²), `σ = √(2/fan_in)`;
//! - `xavier_uniform`: U(−b, b), `b = √(6/(fan_in + fan_out))`;
//! - `xavier_normal`: N(0, σ²), `σ = √(2/(fan_in + fan_out))`.
//!
//! Biases start at 0, LayerNorm weights at 1 and biases at 0.

use ndarray::ArrayD;
use rand::RngExt;
use rand_distr::{Distribution, Normal};

use super::scalar::Real;

/// Weight initialisation scheme.
///
/// ```
/// use rlkit::nn::init::{init_weight, Init};
/// let mut rng = rlkit::util::rng_for(7, &[0]);
/// let w = init_weight::<f32>(Init::KaimingUniform, &[16, 4, 3, 3], 36, 144, &mut rng);
/// let bound = (6.0f32 / 36.0).sqrt();
/// assert!(w.iter().all(|v| v.abs() <= bound));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// U(−√(6/fan_in), √(6/fan_in)).
    #[default]
    KaimingUniform,
    /// N(0, 2/fan_in).
    KaimingNormal,
    /// U(−√(6/(fan_in+fan_out)), +…).
    XavierUniform,
    /// N(0, 2/(fan_in+fan_out)).
    XavierNormal,
}

/// Draw a weight tensor of `shape` with the given fans from `rng`.
pub fn init_weight<T: Real>(
    init: Init,
    shape: &[usize],
    fan_in: usize,
    fan_out: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> ArrayD<T> {
    let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
    let uniform = |b: f64, rng: &mut rand_chacha::ChaCha8Rng| (rng.random::<f64>() * 2.0 - 1.0) * b;
    match init {
        Init::KaimingUniform => ArrayD::from_shape_simple_fn(shape, || T::from_f64(uniform((6.0 / fi).sqrt(), rng))),
        Init::XavierUniform => {
            ArrayD::from_shape_simple_fn(shape, || T::from_f64(uniform((6.0 / (fi + fo)).sqrt(), rng)))
        }
        Init::KaimingNormal | Init::XavierNormal => {
            let std = if init == Init::KaimingNormal { (2.0 / fi).sqrt() } else { (2.0 / (fi + fo)).sqrt() };
            let d = Normal::new(0.0, std).expect("finite positive std");
            ArrayD::from_shape_simple_fn(shape, || T::from_f64(d.sample(rng)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(w: &ArrayD<f64>) -> (f64, f64, f64) {
        let n = w.len() as f64;
        let mean = w.sum() / n;
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        (mean, var, w.iter().fold(0.0f64, |a, v| a.max(v.abs())))
    }

    #[test]
    fn variances_bounds_and_seeding() {
        // 200 000 draws: the sample variance is within 2% of the target
        // (its relative standard error is ≈ 0.3% for these distributions).
        let (fi, fo) = (50, 200);
        for (init, var) in [
            (Init::KaimingUniform, 2.0 / 50.0),
            (Init::KaimingNormal, 2.0 / 50.0),
            (Init::XavierUniform, 2.0 / 250.0),
            (Init::XavierNormal, 2.0 / 250.0),
        ] {
            let w = init_weight::<f64>(init, &[200, 1000], fi, fo, &mut crate::util::rng_for(1, &[2]));
            let (m, v, mx) = moments(&w);
            assert!(m.abs() < 0.01 * var.sqrt() * 3.0, "{init:?} mean {m}");
            assert!((v / var - 1.0).abs() < 0.02, "{init:?} var {v} vs {var}");
            if matches!(init, Init::KaimingUniform | Init::XavierUniform) {
                assert!(mx <= (3.0 * var).sqrt(), "{init:?} outside bound");
            }
            let again = init_weight::<f64>(init, &[200, 1000], fi, fo, &mut crate::util::rng_for(1, &[2]));
            assert_eq!(w, again);
            let other = init_weight::<f64>(init, &[200, 1000], fi, fo, &mut crate::util::rng_for(2, &[2]));
            assert_ne!(w, other);
        }
    }
}
