//! Robbins–Monro root finding (Zhao eq. 6.5).
//!
//! ```text
//!   g̃_k     = g(w_k) + η_k,            η_k i.i.d. from `noise` (default: none)
//!   w_{k+1} = Π(w_k − a_k g̃_k),        k = 1..=K
//!   error_k = |w_k − w*|,               g(w*) = 0
//! ```
//!
//! Π is the identity, or the projection (clamp) onto `bounds = [lo, hi]` when
//! given (projected RM, Kushner & Yin ch. 5). Built-in g (`function`):
//!
//! | TOML | g(w) | root w* |
//! |---|---|---|
//! | `{ type = "tanh", center = 1.0 }` | tanh(w − c) | c (default c = 1) |
//! | `{ type = "cubic", c = 5.0 }` | w³ − c | c^{1/3} (default c = 5) |
//! | `{ type = "linear", a = 2.0, b = -4.0 }` | a·w + b, a ≠ 0 | −b/a |
//!
//! RM needs g increasing through the root (the update subtracts a_k g̃);
//! a decreasing linear g (a < 0) is accepted but warned about in
//! `summary.json`, as is noise with a non-zero mean (the iterates then seek
//! the root of g(w) + E\[η\]).
//!
//! TOML (`kind = "robbins-monro"`):
//!
//! ```toml
//! function = { type = "cubic", c = 5.0 }   # required
//! w1 = 0.0                                 # initial guess (default 0)
//! iterations = 50                          # K updates (default 100)
//! noise = { dist = "normal", mean = 0.0, std = 1.0 }   # default { dist = "none" }
//! schedule = { type = "inverse" }          # default 1/k
//! bounds = [0.0, 3.0]                      # optional projection interval
//! ```
//!
//! A note on Zhao Fig. 6.3 (g = w³ − 5, w_1 = 0, a_k = 1/k): the plain
//! recursion diverges. Without noise, w_2 = 0 − 1·(−5) = 5,
//! w_3 = 5 − ½·120 = −55, w_4 = −55 + ⅓·166 380 = 55 405, ... (g grows
//! cubically, so any a_k·g'(w) > 2 overshoots further each step). The
//! experiment `zhao_fig6_3.toml` therefore projects onto `bounds = [0, 3]`,
//! which keeps the book's w_1, a_k and noise. Divergence is not an error: the
//! run records the non-finite iterates and `summary.json` says
//! `"diverged": true`.

use serde::Deserialize;

use super::dist::Dist;
use super::schedule::Schedule;
use super::{scalar_table, summary_common, SaRun, NOISE_STREAM};
use crate::{Error, Result};

/// A built-in function g whose root RM looks for (see the module docs).
///
/// ```
/// use rlkit::agents::sa::robbins_monro::Function;
/// let g: Function = toml::from_str("type = \"linear\"\na = 2.0\nb = -4.0").unwrap();
/// assert_eq!(g.root().unwrap(), 2.0);
/// assert_eq!(g.eval(3.0), 2.0);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Function {
    /// g(w) = tanh(w − center).
    Tanh {
        /// The root (default 1).
        #[serde(default = "one")]
        center: f64,
    },
    /// g(w) = w³ − c.
    Cubic {
        /// The constant c (default 5).
        #[serde(default = "five")]
        c: f64,
    },
    /// g(w) = a·w + b.
    Linear {
        /// Slope a ≠ 0.
        a: f64,
        /// Intercept b.
        b: f64,
    },
}

fn one() -> f64 {
    1.0
}
fn five() -> f64 {
    5.0
}

impl Function {
    /// g(w).
    pub fn eval(&self, w: f64) -> f64 {
        match self {
            Function::Tanh { center } => (w - center).tanh(),
            Function::Cubic { c } => w * w * w - c,
            Function::Linear { a, b } => a * w + b,
        }
    }

    /// The root w* with g(w*) = 0, or an input error if there is none
    /// (a = 0) or a parameter is not finite.
    pub fn root(&self) -> Result<f64> {
        let bad = |field: &str, what: &str, got: f64| {
            Err(Error::input(format!("function.{field}: must be {what}, got {got}")))
        };
        match self {
            Function::Tanh { center } if !center.is_finite() => bad("center", "finite", *center),
            Function::Tanh { center } => Ok(*center),
            Function::Cubic { c } if !c.is_finite() => bad("c", "finite", *c),
            Function::Cubic { c } => Ok(c.cbrt()),
            Function::Linear { a, b } => {
                if !b.is_finite() {
                    return bad("b", "finite", *b);
                }
                if !a.is_finite() || *a == 0.0 {
                    return bad("a", "finite and non-zero (a = 0 gives g(w) = b: no root, or every w a root)", *a);
                }
                Ok(-b / a)
            }
        }
    }

    /// The formula as text, e.g. `g(w) = w^3 - 5`.
    pub fn describe(&self) -> String {
        match self {
            Function::Tanh { center } => format!("g(w) = tanh(w - {center})"),
            Function::Cubic { c } => format!("g(w) = w^3 - {c}"),
            Function::Linear { a, b } => format!("g(w) = {a}*w + {b}"),
        }
    }
}

/// Hyperparameters of Robbins–Monro root finding.
///
/// ```
/// use rlkit::agents::sa::robbins_monro::{run, RobbinsMonroConfig};
/// let cfg: RobbinsMonroConfig = toml::from_str(
///     "function = { type = \"linear\", a = 1.0, b = -2.0 }\nw1 = 0.0\niterations = 1",
/// ).unwrap();
/// // a_1 = 1: w_2 = 0 − 1·(0 − 2) = 2, the root, in one step.
/// assert_eq!(run(&cfg, 0).unwrap().trajectory[1], vec![2.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobbinsMonroConfig {
    /// The function g (required).
    pub function: Function,
    /// Initial guess w_1 (default 0).
    #[serde(default)]
    pub w1: f64,
    /// Number of updates K (default 100).
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    /// Observation noise η (default none: η ≡ 0).
    #[serde(default)]
    pub noise: Dist,
    /// Step sizes a_k (default 1/k).
    #[serde(default)]
    pub schedule: Schedule,
    /// Optional projection interval [lo, hi] (lo < hi).
    #[serde(default)]
    pub bounds: Option<[f64; 2]>,
}

fn default_iterations() -> usize {
    100
}

/// The recursion with given noise values: w_{k+1} = Π(w_k − a_k (g(w_k) + η_k)).
/// Returns [w_1, ..., w_{K+1}] for K = `noise.len()`.
pub fn iterate(g: &Function, w1: f64, noise: &[f64], schedule: &Schedule, bounds: Option<[f64; 2]>) -> Vec<f64> {
    let mut ws = Vec::with_capacity(noise.len() + 1);
    let mut w = w1;
    ws.push(w);
    for (i, eta) in noise.iter().enumerate() {
        let observation = g.eval(w) + eta;
        w -= schedule.alpha(i + 1) * observation;
        if let Some([lo, hi]) = bounds {
            // NaN stays NaN: clamp does not hide a diverged run.
            w = w.clamp(lo, hi);
        }
        ws.push(w);
    }
    ws
}

/// Run Robbins–Monro.
pub fn run(cfg: &RobbinsMonroConfig, seed: u64) -> Result<SaRun> {
    super::check_common(cfg.iterations, cfg.w1, &cfg.schedule)?;
    let root = cfg.function.root()?;
    let mut warnings = Vec::new();
    if let Some([lo, hi]) = cfg.bounds {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::input(format!("bounds: must be [lo, hi] with finite lo < hi, got [{lo}, {hi}]")));
        }
        if !(lo..=hi).contains(&root) {
            warnings.push(format!("the root {root} lies outside bounds [{lo}, {hi}]"));
        }
    }
    if let Function::Linear { a, .. } = cfg.function {
        if a < 0.0 {
            warnings.push("g is decreasing (a < 0): w_{k+1} = w_k - a_k g(w_k) moves away from the root".into());
        }
    }
    let mut sampler = cfg.noise.sampler("noise")?;
    let noise_mean = cfg.noise.mean();
    if noise_mean != 0.0 {
        warnings
            .push(format!("the noise has mean {noise_mean}, not 0: the iterates seek the root of g(w) + {noise_mean}"));
    }
    let mut rng = crate::util::rng_for(seed, &[NOISE_STREAM]);
    let eta: Vec<f64> = (0..cfg.iterations).map(|_| sampler.sample(&mut rng)).collect();
    let ws = iterate(&cfg.function, cfg.w1, &eta, &cfg.schedule, cfg.bounds);
    let trajectory: Vec<Vec<f64>> = ws.iter().map(|w| vec![*w]).collect();
    let mut summary = summary_common("robbins-monro", &cfg.schedule, cfg.iterations, &trajectory, &[root], warnings);
    summary.insert("function".into(), cfg.function.describe().into());
    summary.insert("noise".into(), cfg.noise.describe().into());
    summary.insert("bounds".into(), serde_json::json!(cfg.bounds));
    Ok(SaRun {
        iterations: scalar_table(&ws, root),
        summary: serde_json::Value::Object(summary),
        truth: vec![root],
        trajectory,
        samples: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_roots() {
        for g in [
            Function::Tanh { center: 1.0 },
            Function::Cubic { c: 5.0 },
            Function::Cubic { c: -8.0 },
            Function::Linear { a: -3.0, b: 1.5 },
        ] {
            let r = g.root().unwrap();
            assert!(g.eval(r).abs() < 1e-14, "{g:?} at {r}");
        }
        assert_eq!(Function::Cubic { c: -8.0 }.root().unwrap(), -2.0);
    }

    /// Without noise, the book's Fig. 6.3 settings diverge; the first
    /// iterates, by hand: 0, 5, 5 − 120/2 = −55, −55 + (166375 + 5)/3 = 55405.
    #[test]
    fn fig_6_3_literal_settings_diverge_without_projection() {
        let ws = iterate(&Function::Cubic { c: 5.0 }, 0.0, &[0.0; 3], &Schedule::Inverse, None);
        assert_eq!(ws, vec![0.0, 5.0, -55.0, 55405.0]);
    }

    #[test]
    fn projection_clamps() {
        let ws = iterate(&Function::Cubic { c: 5.0 }, 0.0, &[0.0; 2], &Schedule::Inverse, Some([0.0, 3.0]));
        // w_2 = clamp(5) = 3; w_3 = clamp(3 − ½·22) = clamp(−8) = 0.
        assert_eq!(ws, vec![0.0, 3.0, 0.0]);
    }
}
