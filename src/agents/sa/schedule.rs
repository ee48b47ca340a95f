//! Step-size schedules α_k (k = 1, 2, ...) and the Robbins–Monro conditions.
//!
//! The Robbins–Monro theorem asks for
//!
//! ```text
//!   Σ_k α_k = ∞      (the steps can travel any distance: no premature stop)
//!   Σ_k α_k² < ∞     (the noise α_k η_k is eventually averaged out)
//! ```
//!
//! Each schedule reports both analytically in an [`RmConditions`]:
//!
//! | TOML | α_k | Σα = ∞ | Σα² < ∞ |
//! |---|---|---|---|
//! | `{ type = "inverse" }` (alias `"1/k"`) | 1/k | yes | yes |
//! | `{ type = "power", a = 1.0, b = 0.0, p = 0.7 }` | a/(b + k)^p | iff p ≤ 1 | iff p > 1/2 |
//! | `{ type = "constant", alpha = 0.1 }` | α | yes | **no**: flagged "does not converge in mean square" |
//! | `{ type = "list", values = [..] }` | values[k−1] | undecidable | undecidable |
//!
//! Parameter rules: `power` needs a > 0, p > 0 and b > −1 (so b + k > 0 for
//! every k ≥ 1; `a` defaults to 1 and `b` to 0); `constant` needs α > 0.
//! A `list` must hold at least as many values as the run has iterations
//! (every value finite and ≥ 0): rlkit does **not** extrapolate past its end,
//! it rejects the run instead, because "hold the last value" would silently
//! turn the schedule into a constant one. The RM conditions are statements
//! about the infinite tail of the sequence, so a finite list cannot decide
//! them: both are reported as `null` (unknown), and the run is a finite-horizon
//! run whose partial sums Σα and Σα² are reported in `summary.json`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A step-size schedule, as written in TOML (see the module docs).
///
/// ```
/// use rlkit::agents::sa::schedule::Schedule;
/// let s: Schedule = toml::from_str("type = \"power\"\na = 2.0\nb = 1.0\np = 0.75").unwrap();
/// s.validate("schedule", 10).unwrap();
/// assert!((s.alpha(1) - 2.0 / 2f64.powf(0.75)).abs() < 1e-15);
/// let rm = s.rm_conditions();
/// assert_eq!(rm.sum_alpha_infinite, Some(true));
/// assert_eq!(rm.sum_alpha_sq_finite, Some(true));
/// assert_eq!(rm.conditions_hold, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// α_k = 1/k.
    #[serde(alias = "1/k")]
    Inverse,
    /// α_k = a / (b + k)^p.
    Power {
        /// Scale a > 0 (default 1).
        #[serde(default = "one")]
        a: f64,
        /// Offset b > −1 (default 0).
        #[serde(default)]
        b: f64,
        /// Exponent p > 0.
        p: f64,
    },
    /// α_k = alpha for every k.
    Constant {
        /// The constant step α > 0.
        alpha: f64,
    },
    /// α_k = values[k − 1]; the list must cover every iteration.
    List {
        /// The steps, each finite and ≥ 0.
        values: Vec<f64>,
    },
}

fn one() -> f64 {
    1.0
}

impl Default for Schedule {
    /// The default schedule is α_k = 1/k.
    fn default() -> Self {
        Schedule::Inverse
    }
}

/// The Robbins–Monro step-size conditions for a schedule, as reported in
/// `summary.json`. `None` (JSON `null`) means "cannot be decided".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RmConditions {
    /// The schedule's formula, e.g. `"alpha_k = 1/k"`.
    pub formula: String,
    /// Whether Σ_k α_k = ∞.
    pub sum_alpha_infinite: Option<bool>,
    /// Whether Σ_k α_k² < ∞.
    pub sum_alpha_sq_finite: Option<bool>,
    /// Both of the above.
    pub conditions_hold: Option<bool>,
    /// One sentence on what this means for convergence.
    pub note: String,
}

impl Schedule {
    /// Check the parameters for a run of `iterations` updates; `key` is the
    /// TOML key path of the schedule table, used in the error message.
    pub fn validate(&self, key: &str, iterations: usize) -> Result<()> {
        let bad = |field: &str, what: &str, got: String| {
            Err(Error::input(format!("{key}.{field}: must be {what}, got {got}")))
        };
        match self {
            Schedule::Inverse => Ok(()),
            Schedule::Power { a, b, p } => {
                if !(a.is_finite() && *a > 0.0) {
                    return bad("a", "finite and > 0", a.to_string());
                }
                if !(b.is_finite() && *b > -1.0) {
                    return bad("b", "finite and > -1 (so that b + k > 0 for k >= 1)", b.to_string());
                }
                if !(p.is_finite() && *p > 0.0) {
                    return bad("p", "finite and > 0 (p <= 0 gives steps that do not decay)", p.to_string());
                }
                Ok(())
            }
            Schedule::Constant { alpha } => {
                if !(alpha.is_finite() && *alpha > 0.0) {
                    return bad("alpha", "finite and > 0", alpha.to_string());
                }
                Ok(())
            }
            Schedule::List { values } => {
                if values.len() < iterations {
                    return bad(
                        "values",
                        &format!("a list with at least `iterations` = {iterations} steps (rlkit does not extend a list past its end)"),
                        format!("{} values", values.len()),
                    );
                }
                for (i, v) in values.iter().enumerate() {
                    if !(v.is_finite() && *v >= 0.0) {
                        return bad(&format!("values[{i}]"), "finite and >= 0", v.to_string());
                    }
                }
                Ok(())
            }
        }
    }

    /// The step α_k for k ≥ 1. Call [`Schedule::validate`] first: for a list,
    /// `k` must not exceed its length (past the end this returns NaN).
    pub fn alpha(&self, k: usize) -> f64 {
        debug_assert!(k >= 1);
        let kf = k as f64;
        match self {
            Schedule::Inverse => 1.0 / kf,
            Schedule::Power { a, b, p } => a / (b + kf).powf(*p),
            Schedule::Constant { alpha } => *alpha,
            Schedule::List { values } => values.get(k - 1).copied().unwrap_or(f64::NAN),
        }
    }

    /// The formula as text, e.g. `alpha_k = 2/(1 + k)^0.75`.
    pub fn formula(&self) -> String {
        match self {
            Schedule::Inverse => "alpha_k = 1/k".into(),
            Schedule::Power { a, b, p } => {
                let den = if *b == 0.0 { "k".to_string() } else { format!("({b} + k)") };
                format!("alpha_k = {a}/{den}^{p}")
            }
            Schedule::Constant { alpha } => format!("alpha_k = {alpha} (constant)"),
            Schedule::List { values } => {
                format!("alpha_k from a user list of {} values", values.len())
            }
        }
    }

    /// A short label for plot legends, e.g. `1/k`, `1/k^0.6`, `α=0.1`.
    pub fn label(&self) -> String {
        match self {
            Schedule::Inverse => "1/k".into(),
            Schedule::Power { a, b, p } => {
                let den = if *b == 0.0 { "k".to_string() } else { format!("({b}+k)") };
                format!("{a}/{den}^{p}")
            }
            Schedule::Constant { alpha } => format!("α={alpha}"),
            Schedule::List { .. } => "list".into(),
        }
    }

    /// The Robbins–Monro conditions, decided analytically from the form.
    ///
    /// For a/(b + k)^p with a > 0: the terms behave like a·k^{−p}, so by the
    /// p-series test Σα = ∞ iff p ≤ 1 and Σα² = Σ a²k^{−2p} < ∞ iff p > 1/2.
    pub fn rm_conditions(&self) -> RmConditions {
        let (inf, fin, note) = match self {
            Schedule::Inverse => (
                Some(true),
                Some(true),
                "both Robbins-Monro conditions hold (harmonic series diverges, sum of 1/k^2 = pi^2/6)".to_string(),
            ),
            Schedule::Power { p, .. } => {
                let inf = *p <= 1.0;
                let fin = *p > 0.5;
                let note = match (inf, fin) {
                    (true, true) => "both Robbins-Monro conditions hold (1/2 < p <= 1)".to_string(),
                    (true, false) => format!(
                        "sum of alpha_k^2 = infinity (p = {p} <= 1/2): the noise is not averaged out; no mean-square convergence guarantee"
                    ),
                    (false, true) => format!(
                        "sum of alpha_k < infinity (p = {p} > 1): the steps shrink too fast and the iterates may stop short of the root"
                    ),
                    (false, false) => unreachable!("p <= 1/2 and p > 1"),
                };
                (Some(inf), Some(fin), note)
            }
            Schedule::Constant { .. } => (
                Some(true),
                Some(false),
                "constant step: sum of alpha_k^2 = infinity, so the iterates do not converge in mean square; they keep fluctuating around the target with a variance of order alpha".to_string(),
            ),
            Schedule::List { .. } => (
                None,
                None,
                "a finite list cannot decide conditions about the infinite tail; treated as a finite-horizon run (see the partial sums)".to_string(),
            ),
        };
        let hold = match (inf, fin) {
            (Some(a), Some(b)) => Some(a && b),
            _ => None,
        };
        RmConditions {
            formula: self.formula(),
            sum_alpha_infinite: inf,
            sum_alpha_sq_finite: fin,
            conditions_hold: hold,
            note,
        }
    }

    /// The partial sums (Σ_{k=1}^{K} α_k, Σ_{k=1}^{K} α_k²) over a run of K updates.
    pub fn partial_sums(&self, iterations: usize) -> (f64, f64) {
        (1..=iterations).fold((0.0, 0.0), |(s, s2), k| {
            let a = self.alpha(k);
            (s + a, s2 + a * a)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_values_match_formulas() {
        assert_eq!(Schedule::Inverse.alpha(4), 0.25);
        let p = Schedule::Power { a: 3.0, b: 2.0, p: 0.5 };
        assert!((p.alpha(2) - 3.0 / 2.0).abs() < 1e-15);
        assert_eq!(Schedule::Constant { alpha: 0.3 }.alpha(1000), 0.3);
        let l = Schedule::List { values: vec![0.5, 0.25] };
        assert_eq!(l.alpha(2), 0.25);
        assert!(l.validate("schedule", 3).is_err());
        assert!(l.validate("schedule", 2).is_ok());
    }

    #[test]
    fn partial_sums_of_inverse_are_harmonic_numbers() {
        let (s, s2) = Schedule::Inverse.partial_sums(4);
        assert!((s - (1.0 + 0.5 + 1.0 / 3.0 + 0.25)).abs() < 1e-15);
        assert!((s2 - (1.0 + 0.25 + 1.0 / 9.0 + 1.0 / 16.0)).abs() < 1e-15);
    }

    #[test]
    fn alias_and_unknown_keys() {
        let s: Schedule = toml::from_str("type = \"1/k\"").unwrap();
        assert_eq!(s, Schedule::Inverse);
        assert!(toml::from_str::<Schedule>("type = \"power\"\np = 1.0\nq = 2.0").is_err());
    }
}
