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
//!
//! # Large MDPs: transitions in a CSV file
//!
//! `transitions = { file = "big.csv" }` reads the transitions from a CSV file
//! (a path relative to the current directory, else to the TOML file that
//! names it) with the header `from,action,to,prob,reward` and one transition
//! per line, the same fields as the TOML (`action` may be `*`; an empty
//! `prob` is 1, an empty `reward` 0; names with commas are quoted the CSV
//! way). The file is streamed twice (count, then fill), straight into the
//! model's CSR arrays: loading takes at most about twice the model's final
//! size (8 bytes per state–action pair and 21 bytes per transition), never a
//! parsed copy of the file. Bad rows are errors naming `file:line`. The same
//! transitions inline or in a file give the same model, bit for bit. The
//! file's SHA-256 is computed while it is read: `transitions = { file = ...,
//! sha256 = "..." }` refuses a file with another hash (at
//! `transitions.sha256`), and every run's `config.resolved.toml` records it.
//!
//! # Limits
//! At most [`MAX_MDP_STATES`] states and [`MAX_MDP_ACTIONS`] actions, and the
//! model must fit the memory budget ([`crate::util::check_mem`]), checked
//! before the model's arrays are allocated.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::model::TabularModel;
use crate::config::{Doc, Seg};
use crate::{Error, Result};

/// The most states a finite MDP may have (states are stored as `u32`).
pub const MAX_MDP_STATES: usize = 100_000_000;

/// The most actions a finite MDP may have.
pub const MAX_MDP_ACTIONS: usize = 65_536;

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

/// Where an MDP's transitions are: written out in the TOML, or in a CSV file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Transitions {
    /// `[[transitions]]` tables (or an inline array of them).
    List(Vec<TransitionSpec>),
    /// `transitions = { file = "big.csv" }`.
    File(TransitionsFile),
}

impl Default for Transitions {
    fn default() -> Self {
        Transitions::List(Vec::new())
    }
}

/// `transitions = { file = "..." }`: a CSV file of transitions (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionsFile {
    /// The CSV file, relative to the current directory or else to the TOML file.
    pub file: String,
    /// SHA-256 of the file's bytes (lowercase hex). When set, a file whose hash
    /// differs is refused; `config.resolved.toml` records it for every run, so
    /// a run cannot be replayed silently on changed transitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl<'de> Deserialize<'de> for Transitions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Transitions;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of transition tables, or a table `{ file = \"transitions.csv\" }`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<Transitions, A::Error> {
                Vec::<TransitionSpec>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(Transitions::List)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<Transitions, A::Error> {
                TransitionsFile::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Transitions::File)
            }
        }
        d.deserialize_any(V)
    }
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
    /// The transitions, inline or in a CSV file.
    #[serde(default)]
    pub transitions: Transitions,
}

/// A built finite MDP.
#[derive(Debug, Clone)]
pub struct Mdp {
    /// The spec it came from.
    pub spec: MdpSpec,
    /// Start states.
    pub starts: Vec<usize>,
    /// The exact model (shared with the [`World`](super::World) that holds this MDP).
    pub model: std::sync::Arc<TabularModel>,
}

/// One transition row, from the TOML or from a CSV line.
struct Row<'a> {
    from: &'a str,
    action: &'a str,
    to: &'a str,
    prob: f64,
    reward: f64,
}

/// Which field of a row an error is about.
#[derive(Clone, Copy)]
enum Field {
    From,
    Action,
    To,
    Prob,
    Reward,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::From => "from",
            Field::Action => "action",
            Field::To => "to",
            Field::Prob => "prob",
            Field::Reward => "reward",
        }
    }
}

type RowResult = std::result::Result<(), (Field, String)>;

/// The CSV header of a transitions file.
pub const TRANSITIONS_CSV_HEADER: [&str; 5] = ["from", "action", "to", "prob", "reward"];

/// Resolve a file name written in `doc` at `key`: as given if it exists or is
/// absolute, else relative to the directory of the TOML file that wrote it.
fn resolve_file(doc: Option<&Doc>, key: &[Seg], name: &str) -> PathBuf {
    let direct = Path::new(name);
    if direct.is_absolute() || direct.exists() {
        return direct.to_path_buf();
    }
    if let Some(dir) = doc.and_then(|d| d.defining_file(key)).and_then(Path::parent) {
        let rel = dir.join(name);
        if rel.exists() {
            return rel;
        }
    }
    direct.to_path_buf()
}

/// Stream the rows of a transitions CSV file through `f`; errors name `file:line`.
/// With `sha256`, the file's SHA-256 (lowercase hex) is written there once
/// every row has been read.
fn visit_csv(path: &Path, f: &mut dyn FnMut(Row) -> RowResult, sha256: Option<&mut String>) -> Result<()> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| {
        Error::input(format!("{shown}: cannot read the transitions file: {e}; check the path (relative to the current directory or to the env file)"))
    })?;
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(crate::util::HashingReader::new(std::io::BufReader::new(file)));
    let csv_err = |e: csv::Error| -> Error {
        let line = e.position().map(|p| format!(":{}", p.line())).unwrap_or_default();
        let msg = match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("a row has {len} fields but the header has {expected_len}; every row needs from,action,to,prob,reward")
            }
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        Error::input(format!("{shown}{line}: {msg}"))
    };
    let header = rd.headers().map_err(csv_err)?.clone();
    if header.iter().map(str::trim).ne(TRANSITIONS_CSV_HEADER.iter().copied()) {
        return Err(Error::input(format!(
            "{shown}:1: the header is `{}`; a transitions file starts with the header `{}`",
            header.iter().collect::<Vec<_>>().join(","),
            TRANSITIONS_CSV_HEADER.join(",")
        )));
    }
    let mut rec = csv::StringRecord::new();
    while rd.read_record(&mut rec).map_err(csv_err)? {
        let line = rec.position().map_or(0, |p| p.line());
        let num = |i: usize, default: f64| -> std::result::Result<f64, String> {
            let t = rec[i].trim();
            if t.is_empty() {
                return Ok(default);
            }
            t.parse::<f64>().map_err(|_| format!("`{t}` is not a number"))
        };
        let row = match (num(3, 1.0), num(4, 0.0)) {
            (Ok(prob), Ok(reward)) => {
                Row { from: rec[0].trim(), action: rec[1].trim(), to: rec[2].trim(), prob, reward }
            }
            (Err(m), _) => return Err(Error::input(format!("{shown}:{line}: prob: {m}"))),
            (_, Err(m)) => return Err(Error::input(format!("{shown}:{line}: reward: {m}"))),
        };
        f(row).map_err(|(field, m)| Error::input(format!("{shown}:{line}: {}: {m}", field.name())))?;
    }
    if let Some(out) = sha256 {
        *out = rd.get_ref().hex();
    }
    Ok(())
}

impl Mdp {
    /// Build from a spec; `doc`/`prefix` locate errors in the source file.
    pub fn build(mut spec: MdpSpec, doc: Option<&Doc>, prefix: &[Seg]) -> Result<Mdp> {
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
        let (ns, na) = (spec.states.len(), spec.actions.len());
        if ns > MAX_MDP_STATES {
            return Err(err(&[k("states")], format!("{ns} states; an MDP may have at most {MAX_MDP_STATES}")));
        }
        if na > MAX_MDP_ACTIONS {
            return Err(err(&[k("actions")], format!("{na} actions; an MDP may have at most {MAX_MDP_ACTIONS}")));
        }
        let mut state_ix: FxHashMap<&str, u32> = FxHashMap::default();
        let mut action_ix: FxHashMap<&str, u32> = FxHashMap::default();
        for (list, key, map) in [(&spec.states, "states", &mut state_ix), (&spec.actions, "actions", &mut action_ix)] {
            map.reserve(list.len());
            for (i, n) in list.iter().enumerate() {
                if map.insert(n.as_str(), i as u32).is_some() {
                    return Err(err(&[k(key), Seg::Index(i)], format!("`{n}` is listed twice")));
                }
            }
        }
        let valid_states = || {
            let shown: Vec<&str> = spec.states.iter().take(20).map(String::as_str).collect();
            let more = if ns > 20 { format!(", ... ({ns} states)") } else { String::new() };
            format!("{}{more}", shown.join(", "))
        };
        let state_idx = |n: &str| state_ix.get(n).map(|&i| i as usize);
        let mut fixed = vec![false; ns];
        for (i, t) in spec.terminal.iter().enumerate() {
            let s = state_idx(t).ok_or_else(|| {
                err(&[k("terminal"), Seg::Index(i)], format!("unknown state `{t}`; valid: {}", valid_states()))
            })?;
            fixed[s] = true;
        }
        // Resolve and check one row: (state, first action, last action + 1, next).
        let resolve = |r: &Row| -> std::result::Result<(usize, usize, usize, usize), (Field, String)> {
            let s = state_idx(r.from)
                .ok_or_else(|| (Field::From, format!("unknown state `{}`; valid: {}", r.from, valid_states())))?;
            let s2 = state_idx(r.to)
                .ok_or_else(|| (Field::To, format!("unknown state `{}`; valid: {}", r.to, valid_states())))?;
            if !(r.prob >= 0.0 && r.prob <= 1.0) {
                return Err((Field::Prob, format!("prob = {} is outside [0, 1]", r.prob)));
            }
            if !r.reward.is_finite() {
                return Err((Field::Reward, "reward must be finite".into()));
            }
            if fixed[s] {
                return Err((Field::From, format!("`{}` is terminal and cannot have transitions", r.from)));
            }
            let (a0, a1) = if r.action == "*" {
                (0, na)
            } else {
                let a = action_ix.get(r.action).copied().ok_or_else(|| {
                    (
                        Field::Action,
                        format!("unknown action `{}`; valid: {}, or \"*\"", r.action, spec.actions.join(", ")),
                    )
                })? as usize;
                (a, a + 1)
            };
            Ok((s, a0, a1, s2))
        };
        // The rows, inline or from the file, visited once per pass.
        let file_key = [k("transitions"), k("file")];
        let file = match &spec.transitions {
            Transitions::List(_) => None,
            Transitions::File(f) => {
                let mut key = prefix.to_vec();
                key.extend_from_slice(&file_key);
                Some(resolve_file(doc, &key, &f.file))
            }
        };
        let visit = |f: &mut dyn FnMut(Row) -> RowResult, sha256: Option<&mut String>| -> Result<()> {
            match (&spec.transitions, &file) {
                (Transitions::List(list), _) => {
                    for (i, t) in list.iter().enumerate() {
                        let row = Row { from: &t.from, action: &t.action, to: &t.to, prob: t.prob, reward: t.reward };
                        f(row).map_err(|(field, m)| err(&[k("transitions"), Seg::Index(i), k(field.name())], m))?;
                    }
                    Ok(())
                }
                (Transitions::File(_), Some(path)) => visit_csv(path, f, sha256).map_err(|e| match e {
                    Error::Input(m) if !path.exists() => err(&file_key, m),
                    other => other,
                }),
                (Transitions::File(_), None) => Err(Error::internal("transitions file not resolved")),
            }
        };
        let pairs = ns * na;
        crate::util::check_mem(
            (pairs as u64 + 1) * 8,
            &format!("the transition counts of this MDP ({ns} states x {na} actions)"),
        )
        .map_err(|e| err(&[k("states")], e.to_string()))?;
        // Pass 1: check every row and count the outcomes of every pair.
        let mut offsets = vec![0usize; pairs + 1];
        let mut file_sha256 = String::new();
        visit(
            &mut |r: Row| {
                let (s, a0, a1, _) = resolve(&r)?;
                for a in a0..a1 {
                    offsets[s * na + a + 1] += 1;
                }
                Ok(())
            },
            Some(&mut file_sha256),
        )?;
        if let (Transitions::File(tf), Some(path)) = (&spec.transitions, &file) {
            if let Some(recorded) = tf.sha256.as_ref().filter(|r| !r.eq_ignore_ascii_case(&file_sha256)) {
                return Err(err(
                    &[k("transitions"), k("sha256")],
                    format!(
                        "the transitions file {} changed since this config was written (sha256 {recorded} recorded, {file_sha256} now); restore the file, or remove transitions.sha256 to use it as it is now",
                        path.display()
                    ),
                ));
            }
        }
        for s in 0..ns {
            if fixed[s] {
                for a in 0..na {
                    offsets[s * na + a + 1] = 1;
                }
            }
        }
        for i in 0..pairs {
            offsets[i + 1] += offsets[i];
        }
        let total = offsets[pairs];
        crate::util::check_mem(
            (pairs as u64) * 8 + total as u64 * 21,
            &format!("the model of this MDP ({ns} states x {na} actions, {total} transitions)"),
        )
        .map_err(|e| err(&[k("transitions")], e.to_string()))?;
        // Pass 2: fill the CSR arrays in row order (the order of each pair's list).
        let (mut prob, mut next) = (vec![0.0f64; total], vec![0u32; total]);
        let (mut reward, mut done) = (vec![0.0f64; total], vec![false; total]);
        let mut cursor: Vec<usize> = offsets[..pairs].to_vec();
        for s in 0..ns {
            if fixed[s] {
                for a in 0..na {
                    let c = cursor[s * na + a];
                    (prob[c], next[c], reward[c], done[c]) = (1.0, s as u32, 0.0, true);
                    cursor[s * na + a] += 1;
                }
            }
        }
        let mut second_sha256 = String::new();
        visit(
            &mut |r: Row| {
                let (s, a0, a1, s2) = resolve(&r)?;
                for a in a0..a1 {
                    let c = cursor[s * na + a];
                    if c >= offsets[s * na + a + 1] {
                        return Err((Field::From, "the transitions file changed while it was read".into()));
                    }
                    (prob[c], next[c], reward[c], done[c]) = (r.prob, s2 as u32, r.reward, fixed[s2]);
                    cursor[s * na + a] += 1;
                }
                Ok(())
            },
            Some(&mut second_sha256),
        )?;
        drop(cursor);
        if let (Transitions::File(tf), Some(path)) = (&mut spec.transitions, &file) {
            if second_sha256 != file_sha256 {
                return Err(err(
                    &file_key,
                    format!("the transitions file {} changed while it was read", path.display()),
                ));
            }
            tf.sha256 = Some(file_sha256);
        }
        for s in (0..ns).filter(|&s| !fixed[s]) {
            for a in 0..na {
                let i = s * na + a;
                let sum: f64 = prob[offsets[i]..offsets[i + 1]].iter().sum::<f64>() + 0.0;
                if (sum - 1.0).abs() > 1e-9 {
                    return Err(err(
                        &[k("transitions")],
                        format!(
                            "state `{}` action `{}`: probabilities sum to {sum}, not 1; every non-terminal state needs transitions summing to 1 for every action",
                            spec.states[s], spec.actions[a]
                        ),
                    ));
                }
            }
        }
        let model = TabularModel::from_csr(ns, na, spec.gamma, offsets, prob, next, reward, done, fixed.clone())?;
        let mut starts = Vec::new();
        for (i, n) in spec.start.iter().enumerate() {
            starts.push(state_idx(n).ok_or_else(|| {
                err(&[k("start"), Seg::Index(i)], format!("unknown state `{n}`; valid: {}", valid_states()))
            })?);
        }
        if starts.is_empty() {
            starts = (0..ns).filter(|&s| !fixed[s]).collect();
        }
        if starts.is_empty() {
            return Err(err(&[k("start")], "every state is terminal: there is nowhere to start".into()));
        }
        Ok(Mdp { spec, starts, model: std::sync::Arc::new(model) })
    }
}
