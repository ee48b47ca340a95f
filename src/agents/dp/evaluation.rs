//! Policy evaluation: the state values v_π of a given policy.
//!
//! - **Iterative, synchronous**: v_{k+1}(s) = Σ_a π(a|s) q_k(s, a), with every
//!   q_k computed from v_k; stop when ‖v_{k+1} − v_k‖∞ < `tol`.
//! - **Iterative, in place** (Gauss–Seidel): the same backup, but each new
//!   v(s) is used at once by the states after it (row-major order).
//! - **Exact**: solve (I − γ P_π) v = r_π by LU decomposition (nalgebra), for
//!   up to [`EXACT_MAX_STATES`] states.
//!
//! With γ = 1, the policy must terminate with probability 1 from every state;
//! otherwise evaluation is refused with a clear error.

use serde::{Deserialize, Serialize};

use super::policy::Policy;
use super::IterRecord;
use crate::env::TabularModel;
use crate::{Error, Result};

/// The largest model exact evaluation accepts (a dense S×S system).
pub const EXACT_MAX_STATES: usize = 5000;

/// How to evaluate a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalMethod {
    /// Synchronous sweeps (Jacobi).
    #[default]
    Iterative,
    /// In-place sweeps (Gauss–Seidel).
    InPlace,
    /// A direct linear solve.
    Exact,
}

/// Hyperparameters of policy evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Method.
    pub method: EvalMethod,
    /// Stop when ‖v_{k+1} − v_k‖∞ < tol (iterative methods).
    pub tol: f64,
    /// Give up after this many sweeps (an error).
    pub max_sweeps: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { method: EvalMethod::Iterative, tol: 1e-10, max_sweeps: 1_000_000 }
    }
}

/// The values of a policy and how they were computed.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// v_π, one value per state.
    pub values: Vec<f64>,
    /// One record per sweep (empty for exact evaluation).
    pub iterations: Vec<IterRecord>,
    /// Number of sweeps.
    pub sweeps: usize,
}

/// Refuse γ = 1 with a policy that can run forever.
pub fn check_proper(model: &TabularModel, policy: &Policy, label: impl Fn(usize) -> String) -> Result<()> {
    if model.gamma < 1.0 {
        return Ok(());
    }
    let bad = model.improper_states(policy.probs());
    if let Some(&s) = bad.first() {
        return Err(Error::input(format!(
            "gamma = 1 but the policy never terminates from {} ({} states in all); use gamma < 1 or a policy that reaches a terminal state",
            label(s),
            bad.len()
        )));
    }
    Ok(())
}

/// One expected-update backup of state `s` under `policy`.
#[inline]
pub fn backup(model: &TabularModel, policy: &Policy, v: &[f64], s: usize) -> f64 {
    let mut x = 0.0;
    for a in 0..model.n_actions() {
        let p = policy.prob(s, a);
        if p != 0.0 {
            x += p * model.q_value(v, s, a);
        }
    }
    x
}

/// Evaluate `policy` on `model`, starting iterative methods from `v0` (zeros if `None`).
///
/// ```
/// use rlkit::agents::dp::{evaluate, EvalConfig, Policy};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// // Always "stay": the target pays 1 per step forever, so v = 1 / (1 - 0.9) = 10 there.
/// let stay = Policy::deterministic(5, &[4; 25]);
/// let ev = evaluate(w.model(), &stay, &EvalConfig::default(), None).unwrap();
/// assert!((ev.values[17] - 10.0).abs() < 1e-8);
/// ```
pub fn evaluate(model: &TabularModel, policy: &Policy, cfg: &EvalConfig, v0: Option<&[f64]>) -> Result<Evaluation> {
    check_proper(model, policy, |s| format!("state {s}"))?;
    if cfg.tol.is_nan() || cfg.tol <= 0.0 {
        return Err(Error::input(format!("tol = {} must be > 0", cfg.tol)));
    }
    let ns = model.n_states();
    match cfg.method {
        EvalMethod::Exact => Ok(Evaluation { values: exact(model, policy)?, iterations: vec![], sweeps: 0 }),
        EvalMethod::Iterative | EvalMethod::InPlace => {
            let mut v = v0.map_or_else(|| vec![0.0; ns], <[f64]>::to_vec);
            let mut next = v.clone();
            let mut iterations = Vec::new();
            for k in 1..=cfg.max_sweeps {
                let mut delta: f64 = 0.0;
                if cfg.method == EvalMethod::InPlace {
                    for s in 0..ns {
                        if model.is_fixed(s) {
                            continue;
                        }
                        let x = backup(model, policy, &v, s);
                        delta = delta.max((x - v[s]).abs());
                        v[s] = x;
                    }
                } else {
                    for s in 0..ns {
                        next[s] = if model.is_fixed(s) { 0.0 } else { backup(model, policy, &v, s) };
                        delta = delta.max((next[s] - v[s]).abs());
                    }
                    std::mem::swap(&mut v, &mut next);
                }
                iterations.push(IterRecord { iteration: k, delta, error: None, sweeps: k, seconds: 0.0 });
                if !delta.is_finite() {
                    return Err(Error::input("policy evaluation diverged (values became infinite)"));
                }
                if delta < cfg.tol {
                    return Ok(Evaluation { values: v, iterations, sweeps: k });
                }
            }
            Err(Error::input(format!(
                "policy evaluation did not reach tol = {} within max_sweeps = {}; raise max_sweeps or tol",
                cfg.tol, cfg.max_sweeps
            )))
        }
    }
}

/// Solve (I − γ P_π) v = r_π exactly (LU with partial pivoting).
pub fn exact(model: &TabularModel, policy: &Policy) -> Result<Vec<f64>> {
    let ns = model.n_states();
    if ns > EXACT_MAX_STATES {
        return Err(Error::input(format!(
            "exact evaluation solves a dense {ns}x{ns} system; it is limited to {EXACT_MAX_STATES} states; use method = \"iterative\""
        )));
    }
    let mut a = nalgebra::DMatrix::<f64>::identity(ns, ns);
    let mut b = nalgebra::DVector::<f64>::zeros(ns);
    for s in 0..ns {
        if model.is_fixed(s) {
            continue; // v(s) = 0
        }
        for act in 0..model.n_actions() {
            let p = policy.prob(s, act);
            if p == 0.0 {
                continue;
            }
            for t in model.transitions(s, act) {
                b[s] += p * t.prob * t.reward;
                if !t.done {
                    a[(s, t.next)] -= model.gamma * p * t.prob;
                }
            }
        }
    }
    let x = a
        .lu()
        .solve(&b)
        .ok_or_else(|| Error::input("the Bellman system is singular: the policy does not terminate under gamma = 1"))?;
    Ok(x.iter().copied().collect())
}
