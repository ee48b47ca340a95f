//! Policies: stochastic π(a|s) tables, greedy extraction, optimal action sets,
//! and policy files.
//!
//! # Policy files
//! A deterministic policy on a grid is written like the map, one row per line,
//! one symbol per cell, spaces optional:
//!
//! ```text
//! > > > v v
//! ^ ^ > v v
//! ^ < v > v
//! ^ > o < v
//! ^ > ^ < <
//! ```
//!
//! `^ > v < o` are up, right, down, left and stay; the king's diagonals are
//! `7 9 1 3` as on a numeric keypad. Cells with no decision (walls, terminal
//! cells, cliffs) are written `#`, and any symbol is accepted there on input.
//!
//! A stochastic policy (or a policy for a finite MDP) is a tidy CSV file with
//! the header `state,action,prob`: `state` is the state index (row-major on a
//! grid), `action` the action's name or symbol (quoted the CSV way when it
//! holds a comma). Every non-fixed state must be listed and its probabilities
//! must sum to 1. [`read_policy`] tells the two formats apart by content (a
//! first line `state,action,prob` is a CSV), not by the file's extension, so
//! `policies/<agent>.txt` written for a finite MDP reads back.

use std::path::Path;

use crate::env::{TabularModel, World};
use crate::{Error, Result};

/// A stochastic policy π(a|s), stored row-major as `n_states × n_actions`.
///
/// ```
/// use rlkit::agents::dp::Policy;
/// let p = Policy::deterministic(2, &[1, 0]);
/// assert_eq!(p.prob(0, 1), 1.0);
/// assert_eq!(p.greedy_action(1), 0);
/// let u = Policy::uniform(3, 4);
/// assert_eq!(u.prob(2, 3), 0.25);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    n_actions: usize,
    probs: Vec<f64>,
}

impl Policy {
    /// The uniform random policy.
    pub fn uniform(n_states: usize, n_actions: usize) -> Policy {
        Policy { n_actions, probs: vec![1.0 / n_actions as f64; n_states * n_actions] }
    }

    /// A deterministic policy from one action per state.
    pub fn deterministic(n_actions: usize, actions: &[usize]) -> Policy {
        let mut probs = vec![0.0; actions.len() * n_actions];
        for (s, &a) in actions.iter().enumerate() {
            probs[s * n_actions + a] = 1.0;
        }
        Policy { n_actions, probs }
    }

    /// From a row-major probability table (rows must sum to 1; not checked here).
    pub fn from_probs(n_actions: usize, probs: Vec<f64>) -> Policy {
        Policy { n_actions, probs }
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.probs.len() / self.n_actions.max(1)
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// π(a|s).
    #[inline]
    pub fn prob(&self, s: usize, a: usize) -> f64 {
        self.probs[s * self.n_actions + a]
    }

    /// The row π(·|s).
    pub fn row(&self, s: usize) -> &[f64] {
        &self.probs[s * self.n_actions..(s + 1) * self.n_actions]
    }

    /// The whole table.
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }

    /// The most probable action in `s` (lowest index on ties).
    pub fn greedy_action(&self, s: usize) -> usize {
        argmax_first(self.row(s), 0.0)
    }

    /// Whether every row puts probability 1 on one action.
    pub fn is_deterministic(&self) -> bool {
        self.probs.iter().all(|&p| p == 0.0 || p == 1.0)
    }
}

/// Index of the first element within `tol` of the maximum.
pub fn argmax_first(xs: &[f64], tol: f64) -> usize {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    xs.iter().position(|&x| x >= max - tol).unwrap_or(0)
}

/// The relative tolerance used to break ties between equally good actions.
pub const TIE_TOL: f64 = 1e-9;

/// The greedy policy of `v`: in every state the action with the largest
/// q(s, a). **Tie-break:** among actions whose q is within
/// `1e-9 · max(1, |max q|)` of the best, the lowest action index wins (so on
/// Zhao's grid: up, then right, down, left, stay). Fixed states get action 0.
pub fn greedy(model: &TabularModel, v: &[f64]) -> Vec<usize> {
    let na = model.n_actions();
    let mut q = vec![0.0; na];
    (0..model.n_states())
        .map(|s| {
            if model.is_fixed(s) {
                return 0;
            }
            for (a, qa) in q.iter_mut().enumerate() {
                *qa = model.q_value(v, s, a);
            }
            let max = q.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            argmax_first(&q, TIE_TOL * max.abs().max(1.0))
        })
        .collect()
}

/// For every state, the set of actions whose q(s, a) is within `tol` of the
/// best (the optimal actions when `v` is v*). Fixed states get every action.
pub fn optimal_action_sets(model: &TabularModel, v: &[f64], tol: f64) -> Vec<Vec<usize>> {
    let na = model.n_actions();
    (0..model.n_states())
        .map(|s| {
            if model.is_fixed(s) {
                return (0..na).collect();
            }
            let q: Vec<f64> = (0..na).map(|a| model.q_value(v, s, a)).collect();
            let max = q.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (0..na).filter(|&a| q[a] >= max - tol).collect()
        })
        .collect()
}

/// Render a deterministic policy as a grid file (see the module docs), or one
/// `state action` line per state for an MDP.
pub fn format_policy(world: &World, actions: &[usize]) -> String {
    let model = world.model();
    match world.grid() {
        Some(g) => {
            let mut out = String::new();
            for r in 0..g.height {
                let row: Vec<String> = (0..g.width)
                    .map(|c| {
                        let s = g.state(r, c);
                        if model.is_fixed(s) {
                            "#".to_string()
                        } else {
                            g.action_symbol(actions[s]).to_string()
                        }
                    })
                    .collect();
                out.push_str(&row.join(" "));
                out.push('\n');
            }
            out
        }
        None => {
            let names = world.action_names();
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut rows = vec![["state".to_string(), "action".to_string(), "prob".to_string()]];
            for (s, &a) in actions.iter().enumerate() {
                if !model.is_fixed(s) {
                    rows.push([s.to_string(), names[a].clone(), "1".to_string()]);
                }
            }
            for r in rows {
                // Writing to a Vec cannot fail.
                let _ = w.write_record(&r);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
    }
}

/// `rlkit solve`'s output: the state values and, when there is one, the
/// greedy (or evaluated deterministic) policy `actions`.
///
/// - `csv = false` (a table): on a grid the values as the map, then the
///   policy as a policy file; on a finite MDP one line per state with its
///   name, value and action (`-` for states with no decision).
/// - `csv = true`: `row,col,value` on a grid (one line per cell, row-major,
///   walls included with value 0); `state,name,value,action` on a finite MDP
///   (`action` empty for terminal states; the column is left out when there
///   is no deterministic policy). Written with the csv crate, so names with
///   commas or quotes are quoted.
pub fn format_solution(world: &World, values: &[f64], actions: Option<&[usize]>, csv: bool) -> Result<String> {
    let model = world.model();
    let names = world.action_names();
    let action_of = |s: usize| actions.map(|a| if model.is_fixed(s) { String::new() } else { names[a[s]].clone() });
    if csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::internal(format!("writing the solution as CSV: {e}"));
        match world.grid() {
            Some(g) => {
                w.write_record(["row", "col", "value"]).map_err(err)?;
                for (s, v) in values.iter().enumerate() {
                    let (r, c) = g.coords(s);
                    w.write_record([r.to_string(), c.to_string(), v.to_string()]).map_err(err)?;
                }
            }
            None => {
                let mut head = vec!["state", "name", "value"];
                if actions.is_some() {
                    head.push("action");
                }
                w.write_record(&head).map_err(err)?;
                for (s, v) in values.iter().enumerate() {
                    let mut rec = vec![s.to_string(), world.state_label(s), v.to_string()];
                    rec.extend(action_of(s));
                    w.write_record(&rec).map_err(err)?;
                }
            }
        }
        let bytes = w.into_inner().map_err(|e| Error::internal(format!("writing the solution as CSV: {e}")))?;
        return String::from_utf8(bytes).map_err(|e| Error::internal(e.to_string()));
    }
    let mut out = String::new();
    match world.grid() {
        Some(g) => {
            out.push_str(&format!("{} (gamma {}): state values\n", world.name, world.gamma()));
            for r in 0..g.height {
                let row: Vec<String> = (0..g.width).map(|c| format!("{:>8.3}", values[g.state(r, c)])).collect();
                out.push_str(&row.join(" "));
                out.push('\n');
            }
            if let Some(a) = actions {
                out.push_str("\npolicy:\n");
                out.push_str(&format_policy(world, a));
            }
        }
        None => {
            let what = if actions.is_some() { "state values and policy" } else { "state values" };
            out.push_str(&format!("{} (gamma {}): {what}\n", world.name, world.gamma()));
            for (s, v) in values.iter().enumerate() {
                let a = action_of(s).map(|a| if a.is_empty() { "-".to_string() } else { a });
                out.push_str(&format!("{:>12} {v:>12.6}", world.state_label(s)));
                if let Some(a) = a {
                    out.push_str(&format!("  {a}"));
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Read a policy file for `world`: a `state,action,prob` CSV if its first
/// non-blank line is that header (or the file ends in `.csv`, or the world is
/// a finite MDP, which has no symbol grid), else a symbol grid: a `.txt` file
/// holding a CSV policy reads as a CSV.
/// Errors name the file, the line and column, and what is valid.
pub fn read_policy(world: &World, path: &Path) -> Result<Policy> {
    let text = crate::config::read_text(path)?;
    let csv_ext = path.extension().and_then(|e| e.to_str()) == Some("csv");
    if world.grid().is_none() || csv_ext || is_policy_csv(&text) {
        parse_policy_csv(world, path, &text)
    } else {
        parse_policy_grid(world, path, &text)
    }
}

/// Whether a policy file's text is a CSV: its first non-blank line is the
/// header `state,action,prob` (spaces around the names allowed).
pub fn is_policy_csv(text: &str) -> bool {
    let first = text.trim_start_matches('\u{feff}').lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.split(',').map(str::trim).eq(["state", "action", "prob"])
}

fn action_by_token(world: &World, tok: &str) -> Option<usize> {
    let names = world.action_names();
    (0..names.len()).find(|&a| names[a] == tok || world.action_symbol(a) == tok)
}

/// Parse a symbol-grid policy (see the module docs).
pub fn parse_policy_grid(world: &World, path: &Path, text: &str) -> Result<Policy> {
    let file = path.display();
    let Some(g) = world.grid() else {
        return Err(Error::input(format!(
            "{file}: a symbol-grid policy needs a gridworld; for a finite MDP write a CSV with the header state,action,prob"
        )));
    };
    let model = world.model();
    let valid: Vec<String> = (0..model.n_actions()).map(|a| g.action_symbol(a).to_string()).collect();
    let mut actions = vec![0usize; g.n_states()];
    let mut row = 0usize;
    for (li, line) in text.lines().enumerate() {
        let cells: Vec<(usize, char)> = line.chars().enumerate().filter(|(_, c)| !c.is_whitespace()).collect();
        if cells.is_empty() {
            continue;
        }
        if row >= g.height {
            return Err(Error::input(format!(
                "{file}:{}:1: the policy has more rows than the map ({} rows); one line per map row",
                li + 1,
                g.height
            )));
        }
        if cells.len() != g.width {
            return Err(Error::input(format!(
                "{file}:{}:1: policy row {row} has {} symbols but the map has {} columns",
                li + 1,
                cells.len(),
                g.width
            )));
        }
        for (c, &(col, ch)) in cells.iter().enumerate() {
            let s = g.state(row, c);
            match action_by_token(world, &ch.to_string()) {
                Some(a) => actions[s] = a,
                None if model.is_fixed(s) => {}
                None => {
                    return Err(Error::input(format!(
                    "{file}:{}:{}: `{ch}` is not an action of this env; valid: {} (and # for cells with no decision)",
                    li + 1,
                    col + 1,
                    valid.join(" ")
                )))
                }
            }
        }
        row += 1;
    }
    if row != g.height {
        return Err(Error::input(format!(
            "{file}: the policy has {row} rows but the map has {}; one line per map row",
            g.height
        )));
    }
    Ok(Policy::deterministic(model.n_actions(), &actions))
}

/// Parse a `state,action,prob` CSV policy.
pub fn parse_policy_csv(world: &World, path: &Path, text: &str) -> Result<Policy> {
    let file = path.display();
    let model = world.model();
    let (ns, na) = (model.n_states(), model.n_actions());
    let mut probs = vec![0.0; ns * na];
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = rdr.headers().map_err(|e| Error::input(format!("{file}:1: cannot read the CSV header: {e}")))?.clone();
    if header.iter().collect::<Vec<_>>() != ["state", "action", "prob"] {
        return Err(Error::input(format!("{file}:1: the header must be `state,action,prob`")));
    }
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::input(format!("{file}:{line}: {e}")))?;
        let s: usize = rec[0].parse().ok().filter(|&s| s < ns).ok_or_else(|| {
            Error::input(format!("{file}:{line}:1: state `{}` is not a state index in 0..{ns}", &rec[0]))
        })?;
        let a = action_by_token(world, &rec[1]).ok_or_else(|| {
            Error::input(format!(
                "{file}:{line}: action `{}` is not an action of this env; valid: {}",
                &rec[1],
                world.action_names().join(", ")
            ))
        })?;
        let p: f64 = rec[2]
            .parse()
            .ok()
            .filter(|p: &f64| (0.0..=1.0).contains(p))
            .ok_or_else(|| Error::input(format!("{file}:{line}: prob `{}` must be a number in [0, 1]", &rec[2])))?;
        probs[s * na + a] += p;
    }
    for s in 0..ns {
        let sum: f64 = probs[s * na..(s + 1) * na].iter().sum::<f64>() + 0.0;
        if model.is_fixed(s) {
            if sum == 0.0 {
                probs[s * na] = 1.0;
            }
            continue;
        }
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::input(format!(
                "{file}: state {s} {}: probabilities sum to {sum}, not 1; list every non-terminal state",
                world.state_label(s)
            )));
        }
    }
    Ok(Policy::from_probs(na, probs))
}
