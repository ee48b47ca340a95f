//! SGD, MBGD and BGD for mean estimation in 2-D (Zhao section 6.4.4, Fig. 6.5).
//!
//! A fixed sample set {x_i}, i = 1..n, is drawn uniformly on the box
//! [low₀, high₀) × [low₁, high₁) from `rng_for(seed, &[SAMPLE_STREAM])`, so it
//! depends on the seed only: SGD, MBGD and BGD agents of one experiment are
//! compared on the same samples. They minimise J(w) = 1/(2n) Σ ‖w − x_i‖²,
//! whose minimiser is the sample mean x̄:
//!
//! ```text
//!   BGD : w_{k+1} = w_k − α_k (1/n) Σ_{i=1..n} (w_k − x_i) = w_k − α_k (w_k − x̄)
//!   MBGD: w_{k+1} = w_k − α_k (1/m) Σ_{j∈I_k} (w_k − x_j),   |I_k| = m
//!   SGD : MBGD with m = 1
//! ```
//!
//! The m indices I_k are drawn uniformly **with replacement** from {1..n}
//! (from `rng_for(seed, &[BATCH_STREAM])`), as Zhao's text assumes i.i.d.
//! draws; hence MBGD with m = n is not BGD (it may repeat samples).
//! With α_k = 1/k, BGD gives w_{k+1} = x̄ for every k ≥ 1 and MBGD gives
//! w_{k+1} = (1/k) Σ_{j≤k} x̄_j^{(m)}, the average of k mini-batch means.
//!
//! `error` is ‖w_k − w*‖₂ where w* is the sample mean x̄ (the minimiser, the
//! default) or the distribution's mean (low + high)/2 with
//! `error_against = "true_mean"`. `summary.json` reports both errors.
//!
//! TOML (`kind = "sgd-mean"`, or the aliases `"sgd"`, `"mbgd"`, `"bgd"`):
//!
//! ```toml
//! batch_size = 5              # m in 1..=n_samples, or "all" for BGD.
//!                             # sgd-mean: default 1; sgd: must be 1 or absent;
//!                             # bgd: must be "all" or absent; mbgd: required
//! n_samples = 100             # n (default 100)
//! low = [-10.0, -10.0]        # box of the uniform samples (default [-10,10]²)
//! high = [10.0, 10.0]
//! w1 = [20.0, 20.0]           # initial guess, far from the mean (default [20, 20])
//! iterations = 100            # K updates (default 100)
//! schedule = { type = "inverse" }   # default 1/k
//! error_against = "sample_mean"     # or "true_mean"
//! ```

use rand::RngExt;
use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Deserializer};

use super::schedule::Schedule;
use super::{check_iterations, euclid, summary_common, SaRun, BATCH_STREAM, SAMPLE_STREAM};
use crate::data::table::{Cell, Table};
use crate::{Error, Result};

/// The mini-batch size: `m` samples per step, or `"all"` (BGD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// m indices drawn with replacement each step (m = 1 is SGD).
    Size(usize),
    /// All n samples every step (BGD).
    All,
}

impl<'de> Deserialize<'de> for BatchSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = BatchSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mini-batch size m >= 1 or the string \"all\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<BatchSize, E> {
                if v >= 1 {
                    Ok(BatchSize::Size(v as usize))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<BatchSize, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<BatchSize, E> {
                if v == "all" {
                    Ok(BatchSize::All)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What the `error` column measures the distance to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorAgainst {
    /// The sample mean x̄, the minimiser of J (default).
    #[default]
    SampleMean,
    /// The distribution's mean E\[X\] = (low + high)/2.
    TrueMean,
}

/// Hyperparameters of SGD / MBGD / BGD mean estimation.
///
/// ```
/// use rlkit::agents::sa::sgd_mean::{run, SgdMeanConfig};
/// let cfg: SgdMeanConfig = toml::from_str("batch_size = \"all\"\niterations = 3").unwrap();
/// let r = run(&cfg, 0).unwrap();
/// // BGD with α_1 = 1 lands on the sample mean after one step.
/// assert!(rlkit::agents::sa::sgd_mean::distance(&r.trajectory[1], &r.truth) < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdMeanConfig {
    /// Mini-batch size m, or `"all"` (see the module docs for the per-kind default).
    #[serde(default)]
    pub batch_size: Option<BatchSize>,
    /// Number of samples n (default 100).
    #[serde(default = "default_n")]
    pub n_samples: usize,
    /// Lower corner of the sampling box (default [-10, -10]).
    #[serde(default = "default_low")]
    pub low: [f64; 2],
    /// Upper corner of the sampling box (default [10, 10]).
    #[serde(default = "default_high")]
    pub high: [f64; 2],
    /// Initial guess w_1 (default [20, 20]).
    #[serde(default = "default_w1")]
    pub w1: [f64; 2],
    /// Number of updates K (default 100).
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    /// Step sizes α_k (default 1/k).
    #[serde(default)]
    pub schedule: Schedule,
    /// Target of the `error` column (default the sample mean).
    #[serde(default)]
    pub error_against: ErrorAgainst,
}

fn default_n() -> usize {
    100
}
fn default_low() -> [f64; 2] {
    [-10.0, -10.0]
}
fn default_high() -> [f64; 2] {
    [10.0, 10.0]
}
fn default_w1() -> [f64; 2] {
    [20.0, 20.0]
}
fn default_iterations() -> usize {
    100
}

/// Largest accepted `n_samples`.
pub const MAX_SAMPLES: usize = 1_000_000;

impl SgdMeanConfig {
    /// Resolve the batch size for an agent kind: `"sgd-mean"` (default m = 1),
    /// `"sgd"` (m = 1), `"bgd"` (all), `"mbgd"` (m required).
    pub fn for_alias(&self, kind: &str) -> Result<SgdMeanConfig> {
        let mut c = self.clone();
        c.batch_size = Some(match (kind, self.batch_size) {
            ("sgd-mean", None) | ("sgd", None) | ("sgd", Some(BatchSize::Size(1))) => BatchSize::Size(1),
            ("sgd-mean", Some(b)) | ("mbgd", Some(b)) => b,
            ("bgd", None) | ("bgd", Some(BatchSize::All)) => BatchSize::All,
            ("mbgd", None) => {
                return Err(Error::input("batch_size: required for kind \"mbgd\": an integer m in 1..=n_samples"))
            }
            ("sgd", Some(_)) => {
                return Err(Error::input(
                    "batch_size: kind \"sgd\" means m = 1; use kind = \"mbgd\" (or \"sgd-mean\") for another m",
                ))
            }
            ("bgd", Some(_)) => {
                return Err(Error::input(
                    "batch_size: kind \"bgd\" uses all samples; use kind = \"mbgd\" for a mini-batch size",
                ))
            }
            (other, _) => return Err(Error::internal(format!("sgd_mean: not an SGD kind: {other}"))),
        });
        Ok(c)
    }

    /// The legend label of the variant: `SGD (m=1)`, `MBGD (m=5)`, `BGD`.
    pub fn variant(&self) -> String {
        match self.batch_size.unwrap_or(BatchSize::Size(1)) {
            BatchSize::Size(1) => "SGD (m=1)".into(),
            BatchSize::Size(m) => format!("MBGD (m={m})"),
            BatchSize::All => "BGD".into(),
        }
    }

    /// Check every setting (sizes, box, batch size, schedule) without running.
    pub fn validate(&self) -> Result<()> {
        check_iterations(self.iterations)?;
        if self.n_samples == 0 || self.n_samples > MAX_SAMPLES {
            return Err(Error::input(format!(
                "n_samples: must be between 1 and {MAX_SAMPLES}, got {}",
                self.n_samples
            )));
        }
        for i in 0..2 {
            let (lo, hi) = (self.low[i], self.high[i]);
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::input(format!(
                    "high[{i}]: must be finite and greater than low[{i}], got low[{i}] = {lo}, high[{i}] = {hi}"
                )));
            }
            if !self.w1[i].is_finite() {
                return Err(Error::input(format!("w1[{i}]: must be finite, got {}", self.w1[i])));
            }
        }
        if let Some(BatchSize::Size(m)) = self.batch_size {
            if m > self.n_samples {
                return Err(Error::input(format!(
                    "batch_size: must be in 1..=n_samples ({}) or \"all\", got {m}",
                    self.n_samples
                )));
            }
        }
        self.schedule.validate("schedule", self.iterations)
    }
}

/// The fixed sample set of a run: n points uniform on the box, drawn from
/// `rng_for(seed, &[SAMPLE_STREAM])` (x then y for each point).
pub fn draw_samples(cfg: &SgdMeanConfig, seed: u64) -> Result<Vec<[f64; 2]>> {
    cfg.validate()?;
    let ux = Uniform::new(cfg.low[0], cfg.high[0]).map_err(|e| Error::input(format!("low/high: {e}")))?;
    let uy = Uniform::new(cfg.low[1], cfg.high[1]).map_err(|e| Error::input(format!("low/high: {e}")))?;
    let mut rng = crate::util::rng_for(seed, &[SAMPLE_STREAM]);
    Ok((0..cfg.n_samples).map(|_| [ux.sample(&mut rng), uy.sample(&mut rng)]).collect())
}

/// The sample mean x̄ = (1/n) Σ x_i of a non-empty set.
pub fn sample_mean(xs: &[[f64; 2]]) -> [f64; 2] {
    let n = xs.len() as f64;
    let s = xs.iter().fold([0.0, 0.0], |a, x| [a[0] + x[0], a[1] + x[1]]);
    [s[0] / n, s[1] / n]
}

/// ‖a − b‖₂.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    euclid(a, b)
}

/// The recursion on a fixed sample set. `batches[k−1]` are the indices I_k of
/// update k (ignored for [`BatchSize::All`], which uses every sample).
/// Returns [w_1, ..., w_{K+1}] for K = `iterations`.
pub fn iterate(
    w1: [f64; 2],
    xs: &[[f64; 2]],
    batch: BatchSize,
    batches: &[Vec<usize>],
    schedule: &Schedule,
    iterations: usize,
) -> Vec<[f64; 2]> {
    let mut ws = Vec::with_capacity(iterations + 1);
    let mut w = w1;
    ws.push(w);
    for k in 1..=iterations {
        // Mean gradient (1/|I|) Σ_{j∈I} (w − x_j) over the batch.
        let mut grad = [0.0, 0.0];
        let mut add = |x: &[f64; 2]| {
            grad[0] += w[0] - x[0];
            grad[1] += w[1] - x[1];
        };
        let count = match batch {
            BatchSize::All => {
                xs.iter().for_each(&mut add);
                xs.len()
            }
            BatchSize::Size(_) => {
                batches[k - 1].iter().for_each(|&j| add(&xs[j]));
                batches[k - 1].len()
            }
        };
        let alpha = schedule.alpha(k);
        for d in 0..2 {
            w[d] -= alpha * grad[d] / count as f64;
        }
        ws.push(w);
    }
    ws
}

/// Run SGD / MBGD / BGD on the seed's sample set. `cfg.batch_size` must be
/// set (see [`SgdMeanConfig::for_alias`]); `None` means m = 1.
pub fn run(cfg: &SgdMeanConfig, seed: u64) -> Result<SaRun> {
    let xs = draw_samples(cfg, seed)?;
    let batch = cfg.batch_size.unwrap_or(BatchSize::Size(1));
    let batches: Vec<Vec<usize>> = match batch {
        BatchSize::All => Vec::new(),
        BatchSize::Size(m) => {
            let mut rng = crate::util::rng_for(seed, &[BATCH_STREAM]);
            let n = xs.len();
            (0..cfg.iterations).map(|_| (0..m).map(|_| rng.random_range(0..n)).collect()).collect()
        }
    };
    let ws = iterate(cfg.w1, &xs, batch, &batches, &cfg.schedule, cfg.iterations);
    let xbar = sample_mean(&xs);
    let true_mean = [0.5 * (cfg.low[0] + cfg.high[0]), 0.5 * (cfg.low[1] + cfg.high[1])];
    let truth = match cfg.error_against {
        ErrorAgainst::SampleMean => xbar.to_vec(),
        ErrorAgainst::TrueMean => true_mean.to_vec(),
    };
    let trajectory: Vec<Vec<f64>> = ws.iter().map(|w| w.to_vec()).collect();
    let mut table = Table::new(&["iteration", "estimate_0", "estimate_1", "error"]);
    for (i, w) in trajectory.iter().enumerate() {
        table.push(vec![Cell::Int(i as i64 + 1), Cell::Float(w[0]), Cell::Float(w[1]), Cell::Float(euclid(w, &truth))]);
    }
    let last = trajectory.last().cloned().unwrap_or_default();
    let mut summary = summary_common("sgd-mean", &cfg.schedule, cfg.iterations, &trajectory, &truth, Vec::new());
    summary.insert("variant".into(), cfg.variant().into());
    summary.insert(
        "batch_size".into(),
        match batch {
            BatchSize::All => serde_json::json!("all"),
            BatchSize::Size(m) => serde_json::json!(m),
        },
    );
    summary.insert("n_samples".into(), xs.len().into());
    summary.insert(
        "error_against".into(),
        match cfg.error_against {
            ErrorAgainst::SampleMean => "sample_mean",
            ErrorAgainst::TrueMean => "true_mean",
        }
        .into(),
    );
    summary.insert("sample_mean".into(), serde_json::json!(xbar));
    summary.insert("true_mean".into(), serde_json::json!(true_mean));
    summary.insert("final_error_to_sample_mean".into(), euclid(&last, &xbar).into());
    summary.insert("final_error_to_true_mean".into(), euclid(&last, &true_mean).into());
    Ok(SaRun { iterations: table, summary: serde_json::Value::Object(summary), truth, trajectory, samples: Some(xs) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked step: w = (0,0), batch {x_0, x_0, x_1} with x_0 = (3,0),
    /// x_1 = (0,6), α_1 = 1/2: gradient = ((−3−3−0)/3, (0+0−6)/3) = (−2, −2),
    /// w_2 = (1, 1).
    #[test]
    fn one_minibatch_step_by_hand() {
        let xs = [[3.0, 0.0], [0.0, 6.0]];
        let ws = iterate([0.0, 0.0], &xs, BatchSize::Size(3), &[vec![0, 0, 1]], &Schedule::Constant { alpha: 0.5 }, 1);
        assert_eq!(ws[1], [1.0, 1.0]);
    }

    #[test]
    fn alias_resolution() {
        let base: SgdMeanConfig = toml::from_str("").unwrap();
        assert_eq!(base.for_alias("sgd").unwrap().batch_size, Some(BatchSize::Size(1)));
        assert_eq!(base.for_alias("bgd").unwrap().batch_size, Some(BatchSize::All));
        assert!(base.for_alias("mbgd").is_err());
        let m5: SgdMeanConfig = toml::from_str("batch_size = 5").unwrap();
        assert!(m5.for_alias("sgd").is_err());
        assert!(m5.for_alias("bgd").is_err());
        assert_eq!(m5.for_alias("mbgd").unwrap().batch_size, Some(BatchSize::Size(5)));
        assert!(toml::from_str::<SgdMeanConfig>("batch_size = 0").is_err());
        assert!(toml::from_str::<SgdMeanConfig>("batch_size = \"most\"").is_err());
    }
}
