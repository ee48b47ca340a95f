//! MC Exploring Starts (Zhao Algorithm 5.2; Sutton & Barto §5.3).
//!
//! ```text
//! for every episode:
//!     pick a start (s_0, a_0) so that every pair keeps being chosen;
//!     generate s_0, a_0, r_1, ..., s_{T−1}, a_{T−1}, r_T following the greedy π
//!     g ← 0
//!     for t = T−1, ..., 0:                       (returns computed backwards)
//!         g ← γ g + r_{t+1}
//!         if every-visit, or (s_t, a_t) does not occur before t:
//!             Returns(s_t, a_t) += g;  Num(s_t, a_t) += 1
//!             q(s_t, a_t) = Returns / Num
//!             π(s_t) = argmax_a q(s_t, a)
//! ```
//!
//! Episodes have `episode_length` steps (fewer if they terminate). Starts
//! cycle through all non-fixed (s, a) in order (`start = "cycle"`, default) or
//! are drawn uniformly (`start = "random"`). Ties in the argmax: lowest index.
//!
//! **Every-visit on continuing tasks.** Episodes are cut at `episode_length`
//! and not bootstrapped, so a pair repeated late in an episode (e.g. "stay"
//! on Zhao's target) is credited with returns of ever shorter horizons. On a
//! continuing task every-visit averages are therefore biased low for such
//! pairs and the method can settle on a suboptimal policy whatever the
//! budget; first-visit (one return per pair per episode, from its first
//! visit) does not have this problem. Sample averages also never forget the
//! returns of early (looping) policies, so every-visit converges slowly.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::agents::agent::argmax_first;
use crate::data::table::Table;
use crate::env::TabularModel;
use crate::{Error, Result};

/// How exploring starts are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartMode {
    /// Every non-fixed (s, a) in turn, row-major.
    #[default]
    Cycle,
    /// Uniformly random non-fixed (s, a).
    Random,
}

/// Hyperparameters of MC Exploring Starts (TOML kind `mc-exploring-starts`:
/// `episode_length`, `first_visit`, `start`, `q0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McEsConfig {
    /// Steps per episode (required).
    pub episode_length: usize,
    /// First-visit (true) or every-visit (false, default) updates.
    #[serde(default)]
    pub first_visit: bool,
    /// How starts are chosen.
    #[serde(default)]
    pub start: StartMode,
    /// Initial q of unvisited pairs (default 0).
    #[serde(default)]
    pub q0: f64,
}

/// The result of MC Exploring Starts.
#[derive(Debug, Clone, PartialEq)]
pub struct McEsResult {
    /// Final q, row-major `n_states × n_actions`.
    pub q: Vec<f64>,
    /// Visit counts Num(s, a).
    pub counts: Vec<u64>,
    /// Final greedy policy (action 0 on fixed states).
    pub actions: Vec<usize>,
    /// Final max_a q (0 on fixed states).
    pub values: Vec<f64>,
    /// One row per completed episode: `episode, return, length, steps` (return undiscounted).
    pub episodes: Table,
    /// (episode, step) of the first non-finite reward, return or q value: the run stopped
    /// there and `episodes` holds the episodes before it.
    pub diverged: Option<(usize, u64)>,
}

/// Run `episodes` episodes of MC Exploring Starts on `model`.
///
/// ```
/// use rlkit::agents::mc::{mc_exploring_starts, McEsConfig};
/// use rlkit::env::World;
/// let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
/// let cfg = McEsConfig { episode_length: 30, first_visit: false, start: Default::default(), q0: 0.0 };
/// let r = mc_exploring_starts(w.model(), &cfg, 25 * 5 * 4, &mut rlkit::util::rng_for(0, &[])).unwrap();
/// assert_eq!(r.episodes.len(), 500);
/// ```
pub fn mc_exploring_starts(
    model: &TabularModel,
    cfg: &McEsConfig,
    episodes: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<McEsResult> {
    if cfg.episode_length == 0 {
        return Err(Error::input("agent `mc-exploring-starts` key `episode_length`: must be >= 1"));
    }
    let (ns, na) = (model.n_states(), model.n_actions());
    let pairs: Vec<(usize, usize)> =
        (0..ns).filter(|&s| !model.is_fixed(s)).flat_map(|s| (0..na).map(move |a| (s, a))).collect();
    if pairs.is_empty() {
        return Err(Error::input("mc-exploring-starts: the environment has no non-fixed state"));
    }
    let mut q = vec![cfg.q0; ns * na];
    let mut counts = vec![0u64; ns * na];
    let mut pi: Vec<usize> = (0..ns).map(|s| argmax_first(&q[s * na..(s + 1) * na])).collect();
    let mut table = Table::new(&["episode", "return", "length", "steps"]);
    // first_seen[pair] == stamp marks pairs seen earlier in this episode.
    let mut first_at = vec![usize::MAX; ns * na];
    let mut traj: Vec<(usize, usize, f64)> = Vec::with_capacity(cfg.episode_length.min(1 << 16));
    let mut steps = 0u64;
    let mut diverged = None;
    'episodes: for ep in 0..episodes {
        let (s0, a0) = match cfg.start {
            StartMode::Cycle => pairs[ep % pairs.len()],
            StartMode::Random => pairs[rng.random_range(0..pairs.len())],
        };
        traj.clear();
        let (mut s, mut a) = (s0, a0);
        let mut ret = 0.0;
        for _ in 0..cfg.episode_length {
            let t = model.sample(s, a, rng.random::<f64>());
            traj.push((s, a, t.reward));
            ret += t.reward;
            if !ret.is_finite() {
                diverged = Some((ep + 1, traj.len() as u64));
                break 'episodes;
            }
            if t.done {
                break;
            }
            s = t.next;
            a = pi[s];
        }
        steps += traj.len() as u64;
        if cfg.first_visit {
            for (t, &(s, a, _)) in traj.iter().enumerate().rev() {
                first_at[s * na + a] = t;
            }
        }
        let mut g = 0.0;
        for (t, &(s, a, r)) in traj.iter().enumerate().rev() {
            g = model.gamma * g + r;
            let i = s * na + a;
            if cfg.first_visit && first_at[i] != t {
                continue;
            }
            counts[i] += 1;
            q[i] += (g - q[i]) / counts[i] as f64;
            if !q[i].is_finite() && diverged.is_none() {
                diverged = Some((ep + 1, traj.len() as u64));
            }
            pi[s] = argmax_first(&q[s * na..(s + 1) * na]);
        }
        if diverged.is_some() {
            break;
        }
        if cfg.first_visit {
            for &(s, a, _) in &traj {
                first_at[s * na + a] = usize::MAX;
            }
        }
        table.push(vec![(ep + 1).into(), ret.into(), traj.len().into(), steps.into()]);
    }
    let mut values = vec![0.0; ns];
    let mut actions = vec![0; ns];
    for s in 0..ns {
        if !model.is_fixed(s) {
            let row = &q[s * na..(s + 1) * na];
            actions[s] = argmax_first(row);
            values[s] = row[actions[s]];
        }
    }
    Ok(McEsResult { q, counts, actions, values, episodes: table, diverged })
}
