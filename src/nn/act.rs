//! Elementwise activations and the residual add. Every function works on any
//! shape: `x`, `y`, `dy`, `dx` all have the input's shape.
//!
//! - ReLU `y = max(x, 0)`, with derivative 0 at `x = 0` (PyTorch's choice);
//! - GELU, tanh form: `y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))`
//!   (PyTorch `nn.GELU(approximate="tanh")`);
//! - sigmoid `σ(x) = 1/(1 + e^{−x})`, evaluated without overflow;
//! - residual add `y = a + b`, whose backward hands `dy` to both inputs.

use ndarray::{Array, ArrayView, Dimension, Zip};

use super::scalar::Real;

/// ReLU forward: `y = max(x, 0)`.
pub fn relu_forward<T: Real, D: Dimension>(x: ArrayView<T, D>) -> Array<T, D> {
    x.mapv(|v| if v > T::ZERO { v } else { T::ZERO })
}

/// ReLU backward: `dx = dy · [x > 0]`.
pub fn relu_backward<T: Real, D: Dimension>(x: ArrayView<T, D>, dy: ArrayView<T, D>) -> Array<T, D> {
    Zip::from(&x).and(&dy).map_collect(|&x, &g| if x > T::ZERO { g } else { T::ZERO })
}

const GELU_A: f64 = 0.044715;
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// GELU (tanh form) forward: `y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
///
/// ```
/// use ndarray::arr1;
/// let y = rlkit::nn::act::gelu_forward(arr1(&[0.0f64, 1.0]).view());
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 0.841_191_990_607_477_2).abs() < 1e-12);
/// ```
pub fn gelu_forward<T: Real, D: Dimension>(x: ArrayView<T, D>) -> Array<T, D> {
    let (a, c, half) = (T::from_f64(GELU_A), T::from_f64(SQRT_2_OVER_PI), T::from_f64(0.5));
    x.mapv(|x| half * x * (T::ONE + (c * (x + a * x * x * x)).tanh()))
}

/// GELU (tanh form) backward:
/// `dx = dy · (½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))`, `t = tanh(√(2/π)(x + 0.044715x³))`.
pub fn gelu_backward<T: Real, D: Dimension>(x: ArrayView<T, D>, dy: ArrayView<T, D>) -> Array<T, D> {
    let (a, c, half) = (T::from_f64(GELU_A), T::from_f64(SQRT_2_OVER_PI), T::from_f64(0.5));
    let three = T::from_f64(3.0);
    Zip::from(&x).and(&dy).map_collect(|&x, &g| {
        let t = (c * (x + a * x * x * x)).tanh();
        g * (half * (T::ONE + t) + half * x * (T::ONE - t * t) * c * (T::ONE + three * a * x * x))
    })
}

/// Numerically stable logistic function of one number.
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// Sigmoid forward: `y = σ(x)`.
pub fn sigmoid_forward<T: Real, D: Dimension>(x: ArrayView<T, D>) -> Array<T, D> {
    x.mapv(sigmoid)
}

/// Sigmoid backward from the *output*: `dx = dy · y(1 − y)`.
pub fn sigmoid_backward<T: Real, D: Dimension>(y: ArrayView<T, D>, dy: ArrayView<T, D>) -> Array<T, D> {
    Zip::from(&y).and(&dy).map_collect(|&y, &g| g * y * (T::ONE - y))
}

/// Residual add forward: `y = a + b` (same shapes).
pub fn add_forward<T: Real, D: Dimension>(a: ArrayView<T, D>, b: ArrayView<T, D>) -> Array<T, D> {
    &a + &b
}

/// Residual add backward: `(da, db) = (dy, dy)`.
pub fn add_backward<T: Real, D: Dimension>(dy: ArrayView<T, D>) -> (Array<T, D>, Array<T, D>) {
    (dy.to_owned(), dy.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;
    use ndarray::Array2;

    #[test]
    fn forwards_match_textbook_formulas() {
        let x = rand_array((5, 7), 1, 4.0);
        let relu: Array2<f64> = x.mapv(|v| v.max(0.0));
        assert_close(&relu_forward(x.view()), &relu, 0.0, 0.0, "relu");
        // GELU reference written independently in f64; f32 within 1e-6 + 1e-5·|b|.
        let gelu =
            x.mapv(|v| 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh()));
        assert_close(&gelu_forward(x.view()), &gelu, 1e-15, 1e-14, "gelu f64");
        assert_close(&to64(&gelu_forward(to32(&x).view())), &gelu, 1e-6, 1e-5, "gelu f32");
        let sig = x.mapv(|v| 1.0 / (1.0 + (-v).exp()));
        assert_close(&sigmoid_forward(x.view()), &sig, 1e-15, 1e-14, "sigmoid");
        assert_eq!(sigmoid(-1000.0f32), 0.0);
        assert_eq!(sigmoid(1000.0f32), 1.0);
        let b = rand_array((5, 7), 2, 1.0);
        assert_close(&add_forward(x.view(), b.view()), &(&x + &b), 0.0, 0.0, "add");
    }

    #[test]
    fn backwards_match_finite_differences() {
        // Shift away from 0 so the ReLU kink is never within h of a sample.
        let x = rand_array((3, 5), 3, 3.0).mapv(|v| if v.abs() < 1e-3 { v + 0.01 } else { v });
        let r = rand_array((3, 5), 4, 1.0);
        // |a − b| ≤ 1e-8 + 1e-6·|b| for every check.
        let fd = fd_grad(&x, |xp| (relu_forward(xp.view()) * &r).sum());
        assert_close(&relu_backward(x.view(), r.view()), &fd, 1e-8, 1e-6, "relu dx");
        let fd = fd_grad(&x, |xp| (gelu_forward(xp.view()) * &r).sum());
        assert_close(&gelu_backward(x.view(), r.view()), &fd, 1e-8, 1e-6, "gelu dx");
        let fd = fd_grad(&x, |xp| (sigmoid_forward(xp.view()) * &r).sum());
        let y = sigmoid_forward(x.view());
        assert_close(&sigmoid_backward(y.view(), r.view()), &fd, 1e-8, 1e-6, "sigmoid dx");
        let (da, db) = add_backward(r.view());
        let fd = fd_grad(&x, |xp| (add_forward(xp.view(), x.view()) * &r).sum());
        assert_close(&da, &fd, 1e-8, 1e-6, "add da");
        assert_close(&db, &fd, 1e-8, 1e-6, "add db");
    }
}
