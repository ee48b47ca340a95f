//! Parameters, optimizers (SGD with momentum, Adam, AdamW) and gradient
//! clipping by global norm, with PyTorch's update rules.

use ndarray::{ArrayD, Zip};

use super::scalar::Real;

/// A named parameter tensor and its accumulated gradient (same shape).
#[derive(Clone, Debug)]
pub struct Param<T> {
    /// Name inside its layer (`weight`, `fc1.bias`, `q.weight`, …).
    pub name: String,
    /// The value.
    pub value: ArrayD<T>,
    /// The gradient, accumulated by `backward`; zero it between steps.
    pub grad: ArrayD<T>,
}

impl<T: Real> Param<T> {
    /// A parameter with a zero gradient.
    pub fn new(name: &str, value: ArrayD<T>) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Param { name: name.to_string(), value, grad }
    }
}

/// An optimizer updates parameters from their gradients. The parameter list
/// must be the same (same order, same shapes) at every step.
pub trait Optimizer<T: Real> {
    /// One update step.
    fn step(&mut self, params: &mut [&mut Param<T>]);
}

/// SGD with momentum (PyTorch `torch.optim.SGD`):
/// `g ← g + λp`; `buf ← μ·buf + g` (`buf = g` on the first step);
/// `g ← g + μ·buf` if Nesterov else `g ← buf`; `p ← p − lr·g`.
///
/// ```
/// use rlkit::nn::optim::{Optimizer, Param, Sgd};
/// let mut p = Param::new("w", ndarray::arr1(&[1.0f64]).into_dyn());
/// p.grad[0] = 0.5;
/// let mut opt = Sgd { lr: 0.1, momentum: 0.9, ..Sgd::default() };
/// opt.step(&mut [&mut p]);
/// assert!((p.value[0] - 0.95).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ (0 = plain SGD).
    pub momentum: f64,
    /// L2 weight decay λ added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Momentum buffers, one per parameter.
    pub buf: Vec<ArrayD<T>>,
}

impl<T> Default for Sgd<T> {
    fn default() -> Self {
        Sgd { lr: 0.01, momentum: 0.0, weight_decay: 0.0, nesterov: false, buf: vec![] }
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: &mut [&mut Param<T>]) {
        let first = self.buf.is_empty();
        if first {
            self.buf = params.iter().map(|p| ArrayD::zeros(p.value.raw_dim())).collect();
        }
        let (lr, mu, wd) = (T::from_f64(self.lr), T::from_f64(self.momentum), T::from_f64(self.weight_decay));
        for (p, buf) in params.iter_mut().zip(self.buf.iter_mut()) {
            let p = &mut **p;
            Zip::from(&mut p.value).and(&p.grad).and(buf).for_each(|w, &g, b| {
                let mut g = g + wd * *w;
                if self.momentum != 0.0 {
                    *b = if first { g } else { mu * *b + g };
                    g = if self.nesterov { g + mu * *b } else { *b };
                }
                *w -= lr * g;
            });
        }
    }
}

/// Adam (`decoupled = false`, with optional L2 `weight_decay` added to the
/// gradient) and AdamW (`decoupled = true`: `p ← p − lr·λ·p` before the Adam
/// step), as in PyTorch:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`,
/// `p ← p − lr·m̂/(√v̂ + ε)`.
///
/// ```
/// use rlkit::nn::optim::{Adam, Optimizer, Param};
/// let mut p = Param::new("w", ndarray::arr1(&[1.0f64, -2.0]).into_dyn());
/// p.grad = ndarray::arr1(&[0.3, -4.0]).into_dyn();
/// let mut opt = Adam::new(0.01);
/// opt.step(&mut [&mut p]);
/// // The first step moves each weight by ≈ lr against the gradient's sign.
/// assert!((p.value[0] - (1.0 - 0.01 * 0.3 / (0.3 + 1e-8))).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T> {
    /// Learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Weight decay λ (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
    /// Steps taken.
    pub t: u64,
    /// First moments.
    pub m: Vec<ArrayD<T>>,
    /// Second moments.
    pub v: Vec<ArrayD<T>>,
}

impl<T: Real> Adam<T> {
    /// Adam with β = (0.9, 0.999), ε = 1e-8, no weight decay.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            t: 0,
            m: vec![],
            v: vec![],
        }
    }

    /// AdamW with β = (0.9, 0.999), ε = 1e-8 and decoupled weight decay λ
    /// (PyTorch's default λ is 0.01).
    pub fn adamw(lr: f64, weight_decay: f64) -> Self {
        Adam { weight_decay, decoupled: true, ..Adam::new(lr) }
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut [&mut Param<T>]) {
        if self.m.is_empty() {
            self.m = params.iter().map(|p| ArrayD::zeros(p.value.raw_dim())).collect();
            self.v = self.m.clone();
        }
        self.t += 1;
        let t = self.t as i32;
        let (b1, b2) = (T::from_f64(self.beta1), T::from_f64(self.beta2));
        let bc1 = T::from_f64(1.0 - self.beta1.powi(t));
        let bc2 = T::from_f64(1.0 - self.beta2.powi(t));
        let (lr, eps, wd) = (T::from_f64(self.lr), T::from_f64(self.eps), T::from_f64(self.weight_decay));
        let decay = T::from_f64(1.0 - self.lr * self.weight_decay);
        for ((p, m), v) in params.iter_mut().zip(self.m.iter_mut()).zip(self.v.iter_mut()) {
            let p = &mut **p;
            Zip::from(&mut p.value).and(&p.grad).and(m).and(v).for_each(|w, &g, m, v| {
                let g = if self.decoupled {
                    *w *= decay;
                    g
                } else {
                    g + wd * *w
                };
                *m = b1 * *m + (T::ONE - b1) * g;
                *v = b2 * *v + (T::ONE - b2) * g * g;
                let mh = *m / bc1;
                let vh = *v / bc2;
                *w -= lr * mh / (vh.sqrt() + eps);
            });
        }
    }
}

/// Scale all gradients so that their global L2 norm is at most `max_norm`
/// (PyTorch `clip_grad_norm_`: factor `max_norm/(norm + 1e-6)` when below 1).
/// Returns the norm before clipping.
///
/// ```
/// use rlkit::nn::optim::{clip_grad_norm, Param};
/// let mut p = Param::new("w", ndarray::arr1(&[0.0f64, 0.0]).into_dyn());
/// p.grad = ndarray::arr1(&[3.0, 4.0]).into_dyn();
/// assert_eq!(clip_grad_norm(&mut [&mut p], 1.0), 5.0);
/// assert!((p.grad[0] - 3.0 / (5.0 + 1e-6)).abs() < 1e-15);
/// ```
pub fn clip_grad_norm<T: Real>(params: &mut [&mut Param<T>], max_norm: f64) -> f64 {
    let sq: f64 = params.iter().map(|p| p.grad.iter().map(|g| g.to_f64() * g.to_f64()).sum::<f64>()).sum();
    let norm = sq.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = T::from_f64(coef);
        for p in params.iter_mut() {
            p.grad.mapv_inplace(|g| g * c);
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    fn param(v: &[f64], g: &[f64]) -> Param<f64> {
        let mut p = Param::new("w", arr1(v).into_dyn());
        p.grad = arr1(g).into_dyn();
        p
    }

    #[test]
    fn sgd_momentum_two_steps_by_hand() {
        let mut p = param(&[1.0, 2.0], &[0.5, -1.0]);
        let mut opt = Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.1, ..Sgd::default() };
        opt.step(&mut [&mut p]);
        // g = 0.5 + 0.1·1 = 0.6; buf = 0.6; p = 1 − 0.06 = 0.94
        // g = −1 + 0.1·2 = −0.8; buf = −0.8; p = 2 + 0.08 = 2.08
        assert!((p.value[0] - 0.94).abs() < 1e-15 && (p.value[1] - 2.08).abs() < 1e-15);
        opt.step(&mut [&mut p]);
        // g = 0.5 + 0.094 = 0.594; buf = 0.54 + 0.594 = 1.134; p = 0.94 − 0.1134 = 0.8266
        assert!((p.value[0] - 0.8266).abs() < 1e-14, "{}", p.value[0]);
        // g = −1 + 0.208 = −0.792; buf = −0.72 − 0.792 = −1.512; p = 2.08 + 0.1512 = 2.2312
        assert!((p.value[1] - 2.2312).abs() < 1e-14, "{}", p.value[1]);
    }

    #[test]
    fn adam_and_adamw_by_hand() {
        let mut p = param(&[1.0], &[0.2]);
        let mut opt = Adam::new(0.1);
        opt.step(&mut [&mut p]);
        // m = 0.02, v = 4e-5, m̂ = 0.2, v̂ = 0.04: p = 1 − 0.1·0.2/(0.2 + 1e-8)
        let p1 = 1.0 - 0.1 * 0.2 / (0.2 + 1e-8);
        assert!((p.value[0] - p1).abs() < 1e-15);
        p.grad[0] = -0.4;
        opt.step(&mut [&mut p]);
        // m = 0.9·0.02 − 0.04 = −0.022, v = 0.999·4e-5 + 0.001·0.16 = 1.9996e-4
        let (m, v) = (-0.022, 0.999 * 4e-5 + 0.001 * 0.16);
        let (mh, vh) = (m / (1.0 - 0.81), v / (1.0 - 0.999f64 * 0.999));
        let p2 = p1 - 0.1 * mh / (vh.sqrt() + 1e-8);
        assert!((p.value[0] - p2).abs() < 1e-14, "{} vs {p2}", p.value[0]);

        let mut q = param(&[2.0], &[0.2]);
        let mut opt = Adam::adamw(0.1, 0.01);
        opt.step(&mut [&mut q]);
        // decoupled: 2·(1 − 0.001) = 1.998, then − 0.1·0.2/(0.2 + 1e-8)
        assert!((q.value[0] - (1.998 - 0.1 * 0.2 / (0.2 + 1e-8))).abs() < 1e-15);
        let mut r = param(&[2.0], &[0.2]);
        let mut opt = Adam { weight_decay: 0.5, ..Adam::new(0.1) };
        opt.step(&mut [&mut r]);
        // L2: g = 0.2 + 1.0 = 1.2; first step moves by lr·g/(|g| + ε)
        assert!((r.value[0] - (2.0 - 0.1 * 1.2 / (1.2 + 1e-8))).abs() < 1e-15);
    }

    #[test]
    fn clipping_by_global_norm() {
        let mut a = param(&[0.0], &[2.0]);
        let mut b = param(&[0.0, 0.0], &[-4.0, 4.0]);
        let n = clip_grad_norm(&mut [&mut a, &mut b], 3.0);
        assert_eq!(n, 6.0);
        let c = 3.0 / (6.0 + 1e-6);
        assert!((a.grad[0] - 2.0 * c).abs() < 1e-15 && (b.grad[1] - 4.0 * c).abs() < 1e-15);
        // Below the limit: untouched.
        let n = clip_grad_norm(&mut [&mut a, &mut b], 10.0);
        assert!((n - 3.0).abs() < 1e-5);
        assert!((a.grad[0] - 2.0 * c).abs() < 1e-15);
    }
}
