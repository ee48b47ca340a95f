//! Finite MDPs written out directly in TOML.
//!
//! ```toml
//! kind = "mdp"
//! name = "random_walk"
//! gamma = 1.0
//! states = ["L", "A", "B", "C", "D", "E", "R"]
//! actions = ["left", "right"]
//! terminal = ["L", "R"]
//! start = ["C"]
//!
//! [[transitions]]
//! from = "A"
//! action = "left"      # or "*" for every action
//! to = "L"
//! prob = 1.0           # default 1
//! reward = 0.0         # default 0
//! ```
//!
//! Every non-terminal state needs, for every action, transitions whose
//! probabilities sum to 1. Arriving in a terminal state ends the episode.

use serde::{Deserialize, Serialize};

use super::model::{ModelBuilder, TabularModel, Transition};
use crate::config::{Doc, Seg};
use crate::{Error, Result};

/// One transition line of an MDP file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionSpec {
    /// Source state name.
    pub from: String,
    /// Action name, or `"*"` for every action.
    pub action: String,
    /// Next state name.
    pub to: String,
    /// Probability (default 1).
    #[serde(default = "one")]
    pub prob: f64,
    /// Reward (default 0).
    #[serde(default)]
    pub reward: f64,
}

fn one() -> f64 {
    1.0
}

/// A finite MDP as written in TOML (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdpSpec {
    /// Always `"mdp"`.
    pub kind: String,
    /// Short name.
    #[serde(default)]
    pub name: String,
    /// One line of description.
    #[serde(default)]
    pub description: String,
    /// Discount factor in [0, 1].
    pub gamma: f64,
    /// State names, in index order.
    pub states: Vec<String>,
    /// Action names, in index order.
    pub actions: Vec<String>,
    /// Terminal state names.
    #[serde(default)]
    pub terminal: Vec<String>,
    /// Start states (uniform among them); default: every non-terminal state.
    #[serde(default)]
    pub start: Vec<String>,
    /// Episode step limit (truncation).
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// The transitions.
    #[serde(default)]
    pub transitions: Vec<TransitionSpec>,
}

/// A built finite MDP.
#[derive(Debug, Clone)]
pub struct Mdp {
    /// The spec it came from.
    pub spec: MdpSpec,
    /// Start states.
    pub starts: Vec<usize>,
    /// The exact model.
    pub model: TabularModel,
}

impl Mdp {
    /// Build from a spec; `doc`/`prefix` locate errors in the source file.
    pub fn build(spec: MdpSpec, doc: Option<&Doc>, prefix: &[Seg]) -> Result<Mdp> {
        let err = |key: &[Seg], msg: String| -> Error {
            let mut p = prefix.to_vec();
            p.extend_from_slice(key);
            match doc {
                Some(d) => d.error_at(&p, &msg),
                None => Error::input(format!("{}: {msg}", crate::config::path_string(&p))),
            }
        };
        let k = |s: &str| Seg::Key(s.to_string());
        if !(0.0..=1.0).contains(&spec.gamma) {
            return Err(err(&[k("gamma")], format!("gamma = {} is outside [0, 1]", spec.gamma)));
        }
        if spec.states.is_empty() || spec.actions.is_empty() {
            return Err(err(&[k("states")], "an MDP needs at least one state and one action".into()));
        }
        let find = |names: &[String], n: &str| names.iter().position(|x| x == n);
        for (list, key) in [(&spec.states, "states"), (&spec.actions, "actions")] {
            for (i, n) in list.iter().enumerate() {
                if list[..i].contains(n) {
                    return Err(err(&[k(key), Seg::Index(i)], format!("`{n}` is listed twice")));
                }
            }
        }
        let state_idx = |n: &str, key: &[Seg]| {
            find(&spec.states, n)
                .ok_or_else(|| err(key, format!("unknown state `{n}`; valid: {}", spec.states.join(", "))))
        };
        let (ns, na) = (spec.states.len(), spec.actions.len());
        let mut fixed = vec![false; ns];
        for (i, t) in spec.terminal.iter().enumerate() {
            fixed[state_idx(t, &[k("terminal"), Seg::Index(i)])?] = true;
        }
        let mut lists: Vec<Vec<Transition>> = vec![Vec::new(); ns * na];
        for (i, t) in spec.transitions.iter().enumerate() {
            let at = |f: &str| [k("transitions"), Seg::Index(i), k(f)];
            let s = state_idx(&t.from, &at("from"))?;
            let s2 = state_idx(&t.to, &at("to"))?;
            if !(t.prob >= 0.0 && t.prob <= 1.0) {
                return Err(err(&at("prob"), format!("prob = {} is outside [0, 1]", t.prob)));
            }
            if !t.reward.is_finite() {
                return Err(err(&at("reward"), "reward must be finite".into()));
            }
            if fixed[s] {
                return Err(err(&at("from"), format!("`{}` is terminal and cannot have transitions", t.from)));
            }
            let actions: Vec<usize> = if t.action == "*" {
                (0..na).collect()
            } else {
                vec![find(&spec.actions, &t.action).ok_or_else(|| {
                    err(
                        &at("action"),
                        format!("unknown action `{}`; valid: {}, or \"*\"", t.action, spec.actions.join(", ")),
                    )
                })?]
            };
            for a in actions {
                lists[s * na + a].push(Transition { prob: t.prob, next: s2, reward: t.reward, done: fixed[s2] });
            }
        }
        let mut b = ModelBuilder::new(ns, na, spec.gamma, fixed.clone())?;
        for s in 0..ns {
            for a in 0..na {
                if fixed[s] {
                    b.push(&[Transition { prob: 1.0, next: s, reward: 0.0, done: true }])?;
                    continue;
                }
                let list = &lists[s * na + a];
                let sum: f64 = list.iter().map(|t| t.prob).sum::<f64>() + 0.0;
                if (sum - 1.0).abs() > 1e-9 {
                    return Err(err(
                        &[k("transitions")],
                        format!(
                            "state `{}` action `{}`: probabilities sum to {sum}, not 1; every non-terminal state needs transitions summing to 1 for every action",
                            spec.states[s], spec.actions[a]
                        ),
                    ));
                }
                b.push(list)?;
            }
        }
        let model = b.finish()?;
        let mut starts = Vec::new();
        for (i, n) in spec.start.iter().enumerate() {
            starts.push(state_idx(n, &[k("start"), Seg::Index(i)])?);
        }
        if starts.is_empty() {
            starts = (0..ns).filter(|&s| !fixed[s]).collect();
        }
        if starts.is_empty() {
            return Err(err(&[k("start")], "every state is terminal: there is nowhere to start".into()));
        }
        Ok(Mdp { spec, starts, model })
    }
}
