//! Scalar sampling distributions named in TOML, each with its analytic mean.
//!
//! A distribution is a TOML inline table whose `dist` key names the family;
//! the other keys are its parameters:
//!
//! | TOML | density / law | mean |
//! |---|---|---|
//! | `{ dist = "none" }` | always 0 (no noise) | 0 |
//! | `{ dist = "constant", value = c }` | always `c` | `c` |
//! | `{ dist = "normal", mean = μ, std = σ }` (σ ≥ 0) | N(μ, σ²) | μ |
//! | `{ dist = "uniform", low = a, high = b }` (a < b) | U[a, b) | (a + b)/2 |
//! | `{ dist = "exponential", rate = λ }` (λ > 0) | λ e^{−λx} | 1/λ |
//! | `{ dist = "discrete", values = [..], probs = [..] }` | P(X = vᵢ) = pᵢ, Σp = 1 | Σ pᵢ vᵢ |
//! | `{ dist = "bernoulli", p = p }` (0 ≤ p ≤ 1) | P(X = 1) = p | p |
//! | `{ dist = "poisson", lambda = λ }` (λ > 0) | Poisson(λ) | λ |
//! | `{ dist = "gamma", shape = k, scale = θ }` (k, θ > 0) | Gamma(k, θ) | kθ |
//! | `{ dist = "beta", alpha = a, beta = b }` (a, b > 0) | Beta(a, b) | a/(a + b) |
//! | `{ dist = "lognormal", mu = μ, sigma = σ }` (σ ≥ 0) | e^{N(μ, σ²)} | e^{μ + σ²/2} |
//!
//! Validation happens in [`Dist::sampler`], which returns an
//! `Error::Input` naming the key (for example
//! `noise.std: must be finite and >= 0, got -1`).

use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Bernoulli, Beta, Distribution, Exp, Gamma, LogNormal, Normal, Poisson, Uniform};
use serde::Deserialize;

use crate::{Error, Result};

/// A scalar distribution, as written in TOML (see the module docs).
///
/// ```
/// use rlkit::agents::sa::dist::Dist;
/// let d: Dist = toml::from_str(r#"dist = "uniform"
/// low = 0.0
/// high = 4.0"#).unwrap();
/// assert_eq!(d.mean(), 2.0);
/// let mut s = d.sampler("samples").unwrap();
/// let mut rng = rlkit::util::rng_for(0, &[1]);
/// let x = s.sample(&mut rng);
/// assert!((0.0..4.0).contains(&x));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always 0: "no noise" (the default).
    #[default]
    None,
    /// Always `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// Normal N(mean, std²).
    Normal {
        /// Mean μ (default 0).
        #[serde(default)]
        mean: f64,
        /// Standard deviation σ ≥ 0 (default 1).
        #[serde(default = "one")]
        std: f64,
    },
    /// Uniform on [low, high).
    Uniform {
        /// Lower end.
        low: f64,
        /// Upper end (> low).
        high: f64,
    },
    /// Exponential with density λe^{−λx}.
    Exponential {
        /// Rate λ > 0 (default 1).
        #[serde(default = "one")]
        rate: f64,
    },
    /// Finite distribution P(X = values\[i\]) = probs\[i\].
    Discrete {
        /// Support points.
        values: Vec<f64>,
        /// Probabilities (≥ 0, summing to 1 within 1e-9).
        probs: Vec<f64>,
    },
    /// Bernoulli: 1 with probability p, else 0.
    Bernoulli {
        /// Success probability in [0, 1] (default 0.5).
        #[serde(default = "half")]
        p: f64,
    },
    /// Poisson(λ), returned as a float.
    Poisson {
        /// Rate λ > 0.
        lambda: f64,
    },
    /// Gamma with shape k and scale θ.
    Gamma {
        /// Shape k > 0.
        shape: f64,
        /// Scale θ > 0 (default 1).
        #[serde(default = "one")]
        scale: f64,
    },
    /// Beta(α, β) on [0, 1].
    Beta {
        /// α > 0.
        alpha: f64,
        /// β > 0.
        beta: f64,
    },
    /// Log-normal: exp of N(μ, σ²).
    Lognormal {
        /// μ of the underlying normal (default 0).
        #[serde(default)]
        mu: f64,
        /// σ ≥ 0 of the underlying normal (default 1).
        #[serde(default = "one")]
        sigma: f64,
    },
}

fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}

/// A validated, ready-to-draw distribution (built by [`Dist::sampler`]).
#[derive(Debug, Clone)]
pub struct Sampler(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Const(f64),
    Normal(Normal<f64>),
    Uniform(Uniform<f64>),
    Exp(Exp<f64>),
    Discrete(WeightedIndex<f64>, Vec<f64>),
    Bernoulli(Bernoulli),
    Poisson(Poisson<f64>),
    Gamma(Gamma<f64>),
    Beta(Beta<f64>),
    LogNormal(LogNormal<f64>),
}

impl Sampler {
    /// Draw one value.
    pub fn sample(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        match &self.0 {
            Inner::Const(c) => *c,
            Inner::Normal(d) => d.sample(rng),
            Inner::Uniform(d) => d.sample(rng),
            Inner::Exp(d) => d.sample(rng),
            Inner::Discrete(d, v) => v[d.sample(rng)],
            Inner::Bernoulli(d) => f64::from(u8::from(d.sample(rng))),
            Inner::Poisson(d) => d.sample(rng),
            Inner::Gamma(d) => d.sample(rng),
            Inner::Beta(d) => d.sample(rng),
            Inner::LogNormal(d) => d.sample(rng),
        }
    }
}

impl Dist {
    /// The analytic mean E\[X\] (see the table in the module docs).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::None => 0.0,
            Dist::Constant { value } => *value,
            Dist::Normal { mean, .. } => *mean,
            Dist::Uniform { low, high } => 0.5 * (low + high),
            Dist::Exponential { rate } => 1.0 / rate,
            Dist::Discrete { values, probs } => values.iter().zip(probs).map(|(v, p)| v * p).sum(),
            Dist::Bernoulli { p } => *p,
            Dist::Poisson { lambda } => *lambda,
            Dist::Gamma { shape, scale } => shape * scale,
            Dist::Beta { alpha, beta } => alpha / (alpha + beta),
            Dist::Lognormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
        }
    }

    /// A short human-readable description, e.g. `normal(mean=0, std=1)`.
    pub fn describe(&self) -> String {
        match self {
            Dist::None => "none (zero)".into(),
            Dist::Constant { value } => format!("constant({value})"),
            Dist::Normal { mean, std } => format!("normal(mean={mean}, std={std})"),
            Dist::Uniform { low, high } => format!("uniform(low={low}, high={high})"),
            Dist::Exponential { rate } => format!("exponential(rate={rate})"),
            Dist::Discrete { values, probs } => {
                format!("discrete(values={values:?}, probs={probs:?})")
            }
            Dist::Bernoulli { p } => format!("bernoulli(p={p})"),
            Dist::Poisson { lambda } => format!("poisson(lambda={lambda})"),
            Dist::Gamma { shape, scale } => format!("gamma(shape={shape}, scale={scale})"),
            Dist::Beta { alpha, beta } => format!("beta(alpha={alpha}, beta={beta})"),
            Dist::Lognormal { mu, sigma } => format!("lognormal(mu={mu}, sigma={sigma})"),
        }
    }

    /// Validate the parameters and build a [`Sampler`]. `key` is the TOML key
    /// path of this table (e.g. `"noise"`), used in error messages.
    pub fn sampler(&self, key: &str) -> Result<Sampler> {
        let bad =
            |field: &str, what: &str, got: String| Error::input(format!("{key}.{field}: must be {what}, got {got}"));
        let finite = |field: &str, v: f64| -> Result<f64> {
            if v.is_finite() {
                Ok(v)
            } else {
                Err(bad(field, "a finite number", v.to_string()))
            }
        };
        let positive = |field: &str, v: f64| -> Result<f64> {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(bad(field, "finite and > 0", v.to_string()))
            }
        };
        let nonneg = |field: &str, v: f64| -> Result<f64> {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(bad(field, "finite and >= 0", v.to_string()))
            }
        };
        // The rand_distr constructors cannot fail once the checks above pass;
        // map their errors anyway rather than unwrap.
        let lib = |e: String| Error::input(format!("{key}: invalid parameters: {e}"));
        let inner = match self {
            Dist::None => Inner::Const(0.0),
            Dist::Constant { value } => Inner::Const(finite("value", *value)?),
            Dist::Normal { mean, std } => Inner::Normal(
                Normal::new(finite("mean", *mean)?, nonneg("std", *std)?).map_err(|e| lib(e.to_string()))?,
            ),
            Dist::Uniform { low, high } => {
                finite("low", *low)?;
                finite("high", *high)?;
                if low >= high {
                    return Err(bad("high", "greater than low", format!("low={low}, high={high}")));
                }
                Inner::Uniform(Uniform::new(*low, *high).map_err(|e| lib(e.to_string()))?)
            }
            Dist::Exponential { rate } => {
                Inner::Exp(Exp::new(positive("rate", *rate)?).map_err(|e| lib(e.to_string()))?)
            }
            Dist::Discrete { values, probs } => {
                if values.is_empty() || values.len() != probs.len() {
                    return Err(bad(
                        "probs",
                        "a non-empty list as long as values",
                        format!("{} values and {} probs", values.len(), probs.len()),
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    finite(&format!("values[{i}]"), *v)?;
                }
                for (i, p) in probs.iter().enumerate() {
                    nonneg(&format!("probs[{i}]"), *p)?;
                }
                let total: f64 = probs.iter().sum();
                if (total - 1.0).abs() > 1e-9 {
                    return Err(bad("probs", "probabilities summing to 1", format!("sum {total}")));
                }
                Inner::Discrete(
                    WeightedIndex::new(probs.iter().copied()).map_err(|e| lib(e.to_string()))?,
                    values.clone(),
                )
            }
            Dist::Bernoulli { p } => {
                if !(0.0..=1.0).contains(p) {
                    return Err(bad("p", "in [0, 1]", p.to_string()));
                }
                Inner::Bernoulli(Bernoulli::new(*p).map_err(|e| lib(e.to_string()))?)
            }
            Dist::Poisson { lambda } => {
                Inner::Poisson(Poisson::new(positive("lambda", *lambda)?).map_err(|e| lib(e.to_string()))?)
            }
            Dist::Gamma { shape, scale } => Inner::Gamma(
                Gamma::new(positive("shape", *shape)?, positive("scale", *scale)?).map_err(|e| lib(e.to_string()))?,
            ),
            Dist::Beta { alpha, beta } => Inner::Beta(
                Beta::new(positive("alpha", *alpha)?, positive("beta", *beta)?).map_err(|e| lib(e.to_string()))?,
            ),
            Dist::Lognormal { mu, sigma } => Inner::LogNormal(
                LogNormal::new(finite("mu", *mu)?, nonneg("sigma", *sigma)?).map_err(|e| lib(e.to_string()))?,
            ),
        };
        Ok(Sampler(inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Dist {
        toml::from_str(s).unwrap()
    }

    /// The empirical mean of 200,000 draws matches the analytic mean to a few
    /// standard errors, for every family.
    #[test]
    fn empirical_means_match_analytic_means() {
        let cases = [
            ("dist = \"normal\"\nmean = 3.0\nstd = 2.0", 2.0),
            ("dist = \"uniform\"\nlow = -1.0\nhigh = 5.0", 6.0 / 12f64.sqrt()),
            ("dist = \"exponential\"\nrate = 0.5", 2.0),
            ("dist = \"discrete\"\nvalues = [1.0, 2.0, 10.0]\nprobs = [0.5, 0.3, 0.2]", 3.4),
            ("dist = \"bernoulli\"\np = 0.3", 0.46),
            ("dist = \"poisson\"\nlambda = 4.0", 2.0),
            ("dist = \"gamma\"\nshape = 2.0\nscale = 3.0", 4.3),
            ("dist = \"beta\"\nalpha = 2.0\nbeta = 5.0", 0.16),
            ("dist = \"lognormal\"\nmu = 0.0\nsigma = 0.5", 0.61),
            ("dist = \"constant\"\nvalue = 7.5", 0.0),
        ];
        let n = 200_000;
        for (i, (src, sd)) in cases.iter().enumerate() {
            let d = parse(src);
            let mut s = d.sampler("samples").unwrap();
            let mut rng = crate::util::rng_for(11, &[i as u64]);
            let m: f64 = (0..n).map(|_| s.sample(&mut rng)).sum::<f64>() / n as f64;
            let tol = 5.0 * sd / (n as f64).sqrt() + 1e-12;
            assert!((m - d.mean()).abs() <= tol, "{src}: empirical {m} vs {}", d.mean());
        }
    }

    #[test]
    fn bad_parameters_name_the_key() {
        let e = parse("dist = \"normal\"\nstd = -1.0").sampler("noise").unwrap_err();
        assert!(e.to_string().starts_with("noise.std:"), "{e}");
        let e = parse("dist = \"uniform\"\nlow = 2.0\nhigh = 1.0").sampler("samples").unwrap_err();
        assert!(e.to_string().contains("samples.high"), "{e}");
        let e = parse("dist = \"discrete\"\nvalues = [1.0]\nprobs = [0.5]").sampler("s").unwrap_err();
        assert!(e.to_string().contains("summing to 1"), "{e}");
        assert!(toml::from_str::<Dist>("dist = \"normal\"\nsd = 1.0").is_err());
        assert!(toml::from_str::<Dist>("dist = \"cauchy\"").is_err());
    }
}
