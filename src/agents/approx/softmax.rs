//! The softmax policy over linear action preferences that every
//! policy-gradient agent shares (Zhao ch. 9; Sutton & Barto §13.1):
//!
//! ```text
//! h(s, a) = θ_aᵀ x(s)                                  (a LinearFn, one block per action)
//! π(a|s)  = exp(h(s, a) − m) / Σ_b exp(h(s, b) − m),   m = max_b h(s, b)
//! ∇_{θ_b} ln π(a|s) = x(s)·(1[a = b] − π(b|s))          for every block b
//! ```
//!
//! Subtracting the largest preference keeps every exponent ≤ 0, so no
//! preference, however large, overflows. With the single column
//! `one_hot_state`, `h(s, a) = θ[a, s]`: the tabular softmax policy.

use rand::RngExt;

use super::linear::{InitWeights, LinearFn};
use super::NamedTensor;
use crate::agents::agent::{argmax_first, AgentRng};
use crate::env::features::{ColumnSpec, Features};
use crate::env::obs::ObsSpec;
use crate::{Error, Result};

/// `out = softmax(logits)`, computed stably (the largest logit is subtracted first).
///
/// ```
/// let mut p = [0.0; 2];
/// rlkit::agents::approx::softmax::softmax(&[1000.0, 1000.0 + 2f64.ln()], &mut p);
/// assert!((p[0] - 1.0 / 3.0).abs() < 1e-12 && (p[1] - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[inline]
pub fn softmax(logits: &[f64], out: &mut [f64]) {
    let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = (l - m).exp();
        z += *o;
    }
    for o in out.iter_mut() {
        *o /= z;
    }
}

/// Draw an action from `probs` with one uniform number of `rng`
/// (inverse CDF; the last action absorbs rounding).
#[inline]
pub fn sample(probs: &[f64], rng: &mut AgentRng) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (a, &p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return a;
        }
    }
    probs.len().saturating_sub(1)
}

/// Check an initial-weight setting, naming the TOML key in the message.
pub(crate) fn check_init(key: &str, init: &InitWeights) -> Result<()> {
    init.check().map_err(|e| Error::input(e.to_string().replacen("w0", key, 1)))
}

/// A softmax policy π(a|s) = softmax_a(θ_aᵀ x(s)).
///
/// ```
/// use rlkit::agents::approx::softmax::SoftmaxPolicy;
/// use rlkit::agents::approx::linear::{default_features, InitWeights};
/// use rlkit::env::World;
/// let world = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let mut pi = SoftmaxPolicy::new(&default_features(), &world.obs_spec(), 5, InitWeights::Value(0.0)).unwrap();
/// let mut x = [0.0; 3];
/// world.observe_state(7, &mut x);
/// assert_eq!(pi.probs_of(&x), vec![0.2; 5]); // θ = 0: uniform
/// ```
#[derive(Debug, Clone)]
pub struct SoftmaxPolicy {
    /// The preferences h(s, a) = θ_aᵀ x(s).
    pub theta: LinearFn,
    logits: Vec<f64>,
    nonfinite: bool,
}

impl SoftmaxPolicy {
    /// A policy over `n_actions` actions with features `columns` and initial θ `theta0`.
    pub fn new(columns: &[ColumnSpec], spec: &ObsSpec, n_actions: usize, theta0: InitWeights) -> Result<Self> {
        check_init("theta0", &theta0)?;
        if n_actions == 0 {
            return Err(Error::input("a softmax policy needs at least one action"));
        }
        let theta = LinearFn::new(columns, spec, n_actions, theta0)?;
        Ok(SoftmaxPolicy { theta, logits: vec![0.0; n_actions], nonfinite: false })
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.theta.outputs
    }

    /// Number of parameters (`n_actions × dim`), the length of a dense gradient.
    pub fn n_params(&self) -> usize {
        self.theta.w.len()
    }

    /// Encode an observation with the actor's features.
    #[inline]
    pub fn encode(&mut self, obs: &[f64], out: &mut Features) {
        self.theta.encode(obs, out);
    }

    /// π(·|s) for encoded features `x`, into `out` (length `n_actions`).
    /// Non-finite preferences (an overflowed θ) mark the policy as diverged.
    #[inline]
    pub fn probs(&mut self, x: &Features, out: &mut [f64]) {
        self.theta.eval_all(x, &mut self.logits);
        softmax(&self.logits, out);
        if !out.iter().all(|p| p.is_finite()) {
            self.nonfinite = true;
        }
    }

    /// π(·|s) of a raw observation (allocates; for reports and tests).
    pub fn probs_of(&mut self, obs: &[f64]) -> Vec<f64> {
        let mut x = Features::default();
        self.encode(obs, &mut x);
        let mut p = vec![0.0; self.n_actions()];
        self.probs(&x, &mut p);
        p
    }

    /// The most probable action of `probs`, lowest index on ties.
    #[inline]
    pub fn most_probable(probs: &[f64]) -> usize {
        argmax_first(probs)
    }

    /// θ ← θ + c·∇_θ ln π(a|s), with `probs` = π(·|s) at the θ the gradient is taken at:
    /// block b moves by c·(1[a = b] − π(b|s))·x(s). Sparse: O(|A|·(dense + active)).
    #[inline]
    pub fn add_grad_log(&mut self, x: &Features, a: usize, probs: &[f64], c: f64) {
        if c == 0.0 {
            return;
        }
        for (b, &p) in probs.iter().enumerate() {
            let g = if b == a { 1.0 - p } else { -p };
            self.theta.add(x, b, c * g);
        }
    }

    /// out += c·∇_θ ln π(a|s) as a dense vector (row-major `n_actions × dim`,
    /// the layout of [`LinearFn::w`]); for gradient estimates and tests.
    pub fn accumulate_grad_log(&self, x: &Features, a: usize, probs: &[f64], c: f64, out: &mut [f64]) {
        let dim = self.theta.dim;
        let dense = x.dense.len();
        for (b, &p) in probs.iter().enumerate() {
            let g = c * if b == a { 1.0 - p } else { -p };
            let row = &mut out[b * dim..(b + 1) * dim];
            for (o, v) in row[..dense].iter_mut().zip(&x.dense) {
                *o += g * v;
            }
            for &i in &x.active {
                row[dense + i as usize] += g;
            }
        }
    }

    /// Whether an update, or a probability, was ever non-finite.
    pub fn diverged(&self) -> bool {
        self.nonfinite || self.theta.diverged()
    }

    /// θ (`theta`, shape `[n_actions, dim]`) and any learned embedding tables.
    pub fn tensors(&self) -> Vec<NamedTensor> {
        self.theta.tensors("theta")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::approx::linear::default_features;
    use rand::SeedableRng;

    fn spec(n: usize) -> ObsSpec {
        ObsSpec {
            names: vec!["state".into()],
            low: vec![0.0],
            high: vec![(n - 1) as f64],
            integer: vec![true],
            n_states: Some(n),
        }
    }

    #[test]
    fn softmax_is_stable_and_normalised() {
        let mut p = [0.0; 3];
        softmax(&[1e308, -1e308, 1e308], &mut p);
        assert_eq!(p, [0.5, 0.0, 0.5]);
        softmax(&[0.0, 1.0, 2.0], &mut p);
        let z = 1.0 + 1f64.exp() + 2f64.exp();
        assert!((p[2] - 2f64.exp() / z).abs() < 1e-15);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn sparse_and_dense_gradients_agree_and_match_finite_differences() {
        let mut pi = SoftmaxPolicy::new(&default_features(), &spec(3), 3, InitWeights::Value(0.0)).unwrap();
        for (i, w) in pi.theta.w.iter_mut().enumerate() {
            *w = (i as f64 * 0.37).sin();
        }
        let mut x = Features::default();
        pi.encode(&[1.0], &mut x);
        let mut p = [0.0; 3];
        pi.probs(&x, &mut p);
        let mut dense = vec![0.0; pi.n_params()];
        pi.accumulate_grad_log(&x, 2, &p, 1.0, &mut dense);
        let before = pi.theta.w.clone();
        let mut q = pi.clone();
        q.add_grad_log(&x, 2, &p, 1.0);
        for k in 0..dense.len() {
            assert!((q.theta.w[k] - before[k] - dense[k]).abs() < 1e-15);
            // ∂ ln π(2|s) / ∂θ_k by central differences.
            let h = 1e-6;
            let f = |d: f64| {
                let mut r = pi.clone();
                r.theta.w[k] += d;
                let mut pp = [0.0; 3];
                r.probs(&x, &mut pp);
                pp[2].ln()
            };
            let fd = (f(h) - f(-h)) / (2.0 * h);
            assert!((fd - dense[k]).abs() < 1e-8, "k = {k}: {fd} vs {}", dense[k]);
        }
    }

    #[test]
    fn sampling_follows_the_probabilities() {
        let mut rng = AgentRng::seed_from_u64(3);
        let p = [0.1, 0.6, 0.3];
        let mut n = [0usize; 3];
        for _ in 0..100_000 {
            n[sample(&p, &mut rng)] += 1;
        }
        for a in 0..3 {
            assert!((n[a] as f64 / 1e5 - p[a]).abs() < 0.006, "{n:?}");
        }
    }

    #[test]
    fn bad_theta0_names_the_key() {
        let e = SoftmaxPolicy::new(&default_features(), &spec(2), 2, InitWeights::Value(f64::NAN)).unwrap_err();
        assert!(e.to_string().contains("theta0"), "{e}");
    }
}
