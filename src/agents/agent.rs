//! The [`Agent`] trait for step-based learners, the [`Experience`] they learn
//! from, and the step-size and exploration schedules they share.
//!
//! # Writing an agent
//! Implement [`Agent`]: [`Agent::act`] picks an action, [`Agent::observe`]
//! learns from one transition, [`Agent::end_episode`] closes an episode, and
//! [`Agent::greedy_policy`] / [`Agent::values`] expose the result. Then
//! register a factory under a `kind` name with
//! [`crate::agents::train::register`] so that an experiment file can name it.
//!
//! # Schedules in TOML
//! A step size is a number (constant) or a table with a `kind`:
//!
//! ```toml
//! alpha = 0.5                                          # constant
//! alpha = { kind = "constant", value = 0.5 }           # the same
//! alpha = { kind = "inverse-count" }                   # 1 / n(s,a)
//! alpha = { kind = "polynomial", scale = 1.0, power = 0.6 }   # scale / n(s,a)^power
//! ```
//!
//! `n(s,a)` counts the updates of the pair, this one included (so the first
//! update uses n = 1). With `inverse-count`, the estimate is exactly the
//! sample mean of its targets.
//!
//! ε is a number (constant) or a table with a `kind`; decays are per
//! *episode* (episode 0 uses `start`):
//!
//! ```toml
//! epsilon = 0.1
//! epsilon = { kind = "linear", start = 1.0, end = 0.05, episodes = 200 }   # reaches `end` at episode 200
//! epsilon = { kind = "exponential", start = 1.0, end = 0.01, decay = 0.99 } # max(end, start * decay^episode)
//! ```

use serde::{Deserialize, Serialize};

/// The random stream an agent draws from (portable across platforms and rand versions).
pub type AgentRng = rand_chacha::ChaCha8Rng;

/// One transition (S_t, A_t, R_{t+1}, S_{t+1}) with Gymnasium's end flags.
///
/// `terminated`: S_{t+1} is terminal, its value is 0, never bootstrap from it.
/// `truncated`: the episode was cut by a time limit; S_{t+1} is an ordinary
/// state, bootstrap from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Experience {
    /// S_t.
    pub state: usize,
    /// A_t.
    pub action: usize,
    /// R_{t+1}.
    pub reward: f64,
    /// S_{t+1}.
    pub next_state: usize,
    /// The episode ended in a terminal state.
    pub terminated: bool,
    /// The episode was cut by a time limit (not terminal).
    pub truncated: bool,
}

impl Experience {
    /// Whether this is the last transition of its episode.
    pub fn last(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A step-based learner.
///
/// The training loop ([`crate::agents::train::train`]) calls, per episode:
/// `act` → env step → `observe` (repeat until terminated or truncated) →
/// `end_episode`. `act` is always called with the state the previous
/// `observe` reported as `next_state` (or the reset state).
///
/// ```
/// use rlkit::agents::agent::{Agent, AgentRng, Experience};
/// /// Always goes right, learns nothing.
/// struct Right;
/// impl Agent for Right {
///     fn act(&mut self, _s: usize, _rng: &mut AgentRng) -> usize { 1 }
///     fn observe(&mut self, _t: &Experience) {}
///     fn greedy_policy(&self) -> Vec<usize> { vec![1; 4] }
///     fn values(&self) -> Vec<f64> { vec![0.0; 4] }
/// }
/// ```
pub trait Agent {
    /// Choose the action to take in `state` (exploring as the agent sees fit).
    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize;
    /// Learn from one transition.
    fn observe(&mut self, transition: &Experience);
    /// The episode is over (after its last `observe`). Default: nothing.
    fn end_episode(&mut self) {}
    /// The greedy action of every state (lowest index on ties).
    fn greedy_policy(&self) -> Vec<usize>;
    /// State values: max_a q(s, a) for control agents, v(s) for prediction.
    fn values(&self) -> Vec<f64>;
    /// The action values, row-major `n_states × n_actions`, if the agent has them.
    fn q(&self) -> Option<&[f64]> {
        None
    }
    /// A step limit the agent wants on its episodes (e.g. an off-policy
    /// behaviour episode length); the loop uses the smaller of this and its own cap.
    fn max_episode_steps(&self) -> Option<u64> {
        None
    }
    /// Whether the values of `state` (the state of the transition just observed) are
    /// finite; the training loop checks it after every step, so it must be cheap.
    /// Default: `true` (the end-of-episode [`Agent::all_finite`] check still applies).
    fn finite_at(&self, _state: usize) -> bool {
        true
    }
    /// Whether every learned value is finite; the training loop checks it at the end of
    /// every episode. Default: every entry of [`Agent::q`], else of [`Agent::values`].
    fn all_finite(&self) -> bool {
        match self.q() {
            Some(q) => q.iter().all(|x| x.is_finite()),
            None => self.values().iter().all(|x| x.is_finite()),
        }
    }
}

impl<A: Agent + ?Sized> Agent for Box<A> {
    fn act(&mut self, state: usize, rng: &mut AgentRng) -> usize {
        (**self).act(state, rng)
    }
    fn observe(&mut self, transition: &Experience) {
        (**self).observe(transition)
    }
    fn end_episode(&mut self) {
        (**self).end_episode()
    }
    fn greedy_policy(&self) -> Vec<usize> {
        (**self).greedy_policy()
    }
    fn values(&self) -> Vec<f64> {
        (**self).values()
    }
    fn q(&self) -> Option<&[f64]> {
        (**self).q()
    }
    fn max_episode_steps(&self) -> Option<u64> {
        (**self).max_episode_steps()
    }
    fn finite_at(&self, state: usize) -> bool {
        (**self).finite_at(state)
    }
    fn all_finite(&self) -> bool {
        (**self).all_finite()
    }
}

/// A step-size schedule α_n (see the module docs for the TOML forms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StepSize {
    /// α_n = value.
    Constant {
        /// The step size.
        value: f64,
    },
    /// α_n = 1 / n: the estimate is the sample mean of its targets.
    InverseCount,
    /// α_n = scale / n^power (Robbins–Monro needs 0.5 < power ≤ 1).
    Polynomial {
        /// Numerator.
        scale: f64,
        /// Exponent.
        power: f64,
    },
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum StepSizeTable {
    Constant { value: f64 },
    InverseCount {},
    Polynomial { scale: f64, power: f64 },
}

impl<'de> Deserialize<'de> for StepSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = toml::Value::deserialize(d)?;
        let s = match v {
            toml::Value::Float(x) => StepSize::Constant { value: x },
            toml::Value::Integer(i) => StepSize::Constant { value: i as f64 },
            toml::Value::Table(_) => match v.try_into::<StepSizeTable>() {
                Ok(StepSizeTable::Constant { value }) => StepSize::Constant { value },
                Ok(StepSizeTable::InverseCount {}) => StepSize::InverseCount,
                Ok(StepSizeTable::Polynomial { scale, power }) => {
                    StepSize::Polynomial { scale, power }
                }
                Err(e) => return Err(D::Error::custom(format!(
                    "{}; valid: a number, {{ kind = \"constant\", value = 0.5 }}, {{ kind = \"inverse-count\" }} or {{ kind = \"polynomial\", scale = 1.0, power = 0.6 }}",
                    e.message().trim()
                ))),
            },
            other => {
                return Err(D::Error::custom(format!(
                    "a step size must be a number or a table with `kind`, not `{other}`"
                )))
            }
        };
        s.check().map_err(D::Error::custom)?;
        Ok(s)
    }
}

impl StepSize {
    /// α for the `n`-th update (n ≥ 1) of a pair.
    #[inline]
    pub fn alpha(&self, n: u64) -> f64 {
        match *self {
            StepSize::Constant { value } => value,
            StepSize::InverseCount => 1.0 / n.max(1) as f64,
            StepSize::Polynomial { scale, power } => scale / (n.max(1) as f64).powf(power),
        }
    }

    /// Whether α depends on the visit count.
    pub fn needs_counts(&self) -> bool {
        !matches!(self, StepSize::Constant { .. })
    }

    /// Validate the parameters (a one-line message naming what is valid).
    pub fn check(&self) -> Result<(), String> {
        match *self {
            StepSize::Constant { value } if !(value > 0.0 && value <= 1.0) => {
                Err(format!("step size {value} must be in (0, 1]"))
            }
            StepSize::Polynomial { scale, power }
                if !(scale > 0.0 && scale.is_finite() && (0.0..=1.0).contains(&power)) =>
            {
                Err(format!(
                    "polynomial step size scale = {scale}, power = {power}: need scale > 0 and 0 <= power <= 1"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// An exploration schedule ε_k over episodes k = 0, 1, ... (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Epsilon {
    /// ε_k = value.
    Constant {
        /// ε.
        value: f64,
    },
    /// ε_k = start + (end − start)·min(k / episodes, 1).
    Linear {
        /// ε at episode 0.
        start: f64,
        /// ε from episode `episodes` on.
        end: f64,
        /// Length of the decay, in episodes.
        episodes: u64,
    },
    /// ε_k = max(end, start·decay^k).
    Exponential {
        /// ε at episode 0.
        start: f64,
        /// Floor.
        end: f64,
        /// Factor per episode, in (0, 1].
        decay: f64,
    },
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum EpsilonTable {
    Constant { value: f64 },
    Linear { start: f64, end: f64, episodes: u64 },
    Exponential { start: f64, end: f64, decay: f64 },
}

impl<'de> Deserialize<'de> for Epsilon {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = toml::Value::deserialize(d)?;
        let e = match v {
            toml::Value::Float(x) => Epsilon::Constant { value: x },
            toml::Value::Integer(i) => Epsilon::Constant { value: i as f64 },
            toml::Value::Table(_) => match v.try_into::<EpsilonTable>() {
                Ok(EpsilonTable::Constant { value }) => Epsilon::Constant { value },
                Ok(EpsilonTable::Linear { start, end, episodes }) => Epsilon::Linear { start, end, episodes },
                Ok(EpsilonTable::Exponential { start, end, decay }) => Epsilon::Exponential { start, end, decay },
                Err(e) => return Err(D::Error::custom(format!(
                    "{}; valid: a number, {{ kind = \"linear\", start = 1.0, end = 0.05, episodes = 200 }} or {{ kind = \"exponential\", start = 1.0, end = 0.01, decay = 0.99 }}",
                    e.message().trim()
                ))),
            },
            other => {
                return Err(D::Error::custom(format!(
                    "epsilon must be a number or a table with `kind`, not `{other}`"
                )))
            }
        };
        e.check().map_err(D::Error::custom)?;
        Ok(e)
    }
}

impl Epsilon {
    /// ε for episode `k` (0-based).
    pub fn at(&self, k: u64) -> f64 {
        match *self {
            Epsilon::Constant { value } => value,
            Epsilon::Linear { start, end, episodes } => {
                if k >= episodes {
                    end
                } else {
                    start + (end - start) * (k as f64 / episodes as f64)
                }
            }
            Epsilon::Exponential { start, end, decay } => {
                let e = start * decay.powf(k as f64);
                e.max(end)
            }
        }
    }

    /// Validate (every ε in [0, 1], decay in (0, 1]).
    pub fn check(&self) -> Result<(), String> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        match *self {
            Epsilon::Constant { value } if !unit(value) => Err(format!("epsilon = {value} must be in [0, 1]")),
            Epsilon::Linear { start, end, .. } | Epsilon::Exponential { start, end, .. }
                if !unit(start) || !unit(end) =>
            {
                Err(format!("epsilon start = {start}, end = {end}: both must be in [0, 1]"))
            }
            Epsilon::Exponential { decay, .. } if !(decay > 0.0 && decay <= 1.0) => {
                Err(format!("epsilon decay = {decay} must be in (0, 1]"))
            }
            _ => Ok(()),
        }
    }
}

/// Index of the largest entry, lowest index on ties.
#[inline]
pub fn argmax_first(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate().skip(1) {
        if x > row[best] {
            best = i;
        }
    }
    best
}

/// Index of the largest entry, ties broken uniformly at random.
#[inline]
pub fn argmax_random(row: &[f64], rng: &mut AgentRng) -> usize {
    use rand::RngExt;
    let mut best = 0;
    let mut ties = 1u32;
    for (i, &x) in row.iter().enumerate().skip(1) {
        if x > row[best] {
            best = i;
            ties = 1;
        } else if x == row[best] {
            // Reservoir sampling over the tied maxima.
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    best
}

/// ε-greedy action: with probability ε a uniform action, otherwise a greedy
/// one (ties broken uniformly). Every action has probability at least ε/|A|.
#[inline]
pub fn epsilon_greedy(row: &[f64], epsilon: f64, rng: &mut AgentRng) -> usize {
    use rand::RngExt;
    if epsilon > 0.0 && rng.random::<f64>() < epsilon {
        rng.random_range(0..row.len())
    } else {
        argmax_random(row, rng)
    }
}

/// E_{a∼π}[q(a)] for π ε-greedy on `row`: ε·mean(q) + (1 − ε)·max(q)
/// (exact whatever the ties, since all tied maxima share the value max q).
#[inline]
pub fn epsilon_greedy_expectation(row: &[f64], epsilon: f64) -> f64 {
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    for &x in row {
        sum += x;
        if x > max {
            max = x;
        }
    }
    epsilon * sum / row.len() as f64 + (1.0 - epsilon) * max
}

/// Deserialize agent parameters from a `toml::Table`, naming the agent kind
/// and the offending key in the error.
pub fn parse_params<T: serde::de::DeserializeOwned>(kind: &str, params: &toml::Table) -> crate::Result<T> {
    let v = toml::Value::Table(params.clone());
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(v, &mut track);
    T::deserialize(de).map_err(|e: toml::de::Error| {
        let path = track.path().to_string();
        let at = if path.is_empty() || path == "." { String::new() } else { format!(" key `{path}`") };
        crate::Error::input(format!("agent `{kind}`{at}: {}", e.message().trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn parse<T: serde::de::DeserializeOwned>(s: &str) -> crate::Result<T> {
        #[derive(Deserialize)]
        struct W<T> {
            x: T,
        }
        let t: toml::Table = toml::from_str(s).unwrap();
        parse_params::<W<T>>("test", &t).map(|w| w.x)
    }

    #[test]
    fn step_size_forms() {
        assert_eq!(parse::<StepSize>("x = 0.5").unwrap(), StepSize::Constant { value: 0.5 });
        assert_eq!(parse::<StepSize>("x = 1").unwrap(), StepSize::Constant { value: 1.0 });
        assert_eq!(parse::<StepSize>("x = { kind = \"inverse-count\" }").unwrap(), StepSize::InverseCount);
        let p = parse::<StepSize>("x = { kind = \"polynomial\", scale = 2.0, power = 0.5 }").unwrap();
        assert_eq!(p.alpha(4), 1.0);
        assert_eq!(StepSize::InverseCount.alpha(4), 0.25);
        let e = parse::<StepSize>("x = { kind = \"inverse-count\", foo = 1 }").unwrap_err();
        assert!(e.to_string().contains("foo"), "{e}");
        assert!(parse::<StepSize>("x = 1.5").is_err());
        assert!(parse::<StepSize>("x = { kind = \"nope\" }").is_err());
    }

    #[test]
    fn inverse_count_gives_the_sample_mean() {
        let xs = [3.0, -1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
        let mut q = 100.0; // the initial value is forgotten at n = 1
        for (i, &x) in xs.iter().enumerate() {
            q += StepSize::InverseCount.alpha(i as u64 + 1) * (x - q);
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((q - mean).abs() < 1e-12);
    }

    #[test]
    fn epsilon_forms() {
        let l: Epsilon = parse("x = { kind = \"linear\", start = 1.0, end = 0.1, episodes = 10 }").unwrap();
        assert!((l.at(5) - 0.55).abs() < 1e-12);
        assert_eq!(l.at(10), 0.1);
        assert_eq!(l.at(1000), 0.1);
        let x: Epsilon = parse("x = { kind = \"exponential\", start = 1.0, end = 0.2, decay = 0.5 }").unwrap();
        assert_eq!(x.at(1), 0.5);
        assert_eq!(x.at(2), 0.25);
        assert_eq!(x.at(3), 0.2);
        assert!(parse::<Epsilon>("x = -0.1").is_err());
        assert!(parse::<Epsilon>("x = { kind = \"linear\", start = 1.0 }").is_err());
    }

    #[test]
    fn epsilon_greedy_frequencies() {
        let mut rng = AgentRng::seed_from_u64(1);
        let row = [0.0, 2.0, 2.0, 1.0];
        let mut c = [0usize; 4];
        let n = 200_000;
        for _ in 0..n {
            c[epsilon_greedy(&row, 0.2, &mut rng)] += 1;
        }
        // π = ε/4 for 0 and 3; (1-ε)/2 + ε/4 for the tied maxima 1 and 2.
        let want = [0.05, 0.45, 0.45, 0.05];
        for a in 0..4 {
            let f = c[a] as f64 / n as f64;
            assert!((f - want[a]).abs() < 0.005, "action {a}: {f} vs {}", want[a]);
        }
        let e = epsilon_greedy_expectation(&row, 0.2);
        assert!((e - (0.05 * 0.0 + 0.45 * 2.0 + 0.45 * 2.0 + 0.05 * 1.0)).abs() < 1e-12);
        assert_eq!(argmax_first(&row), 1);
    }
}
