//! The gridworld: an ASCII map plus a legend, rewards and dynamics, in TOML.
//!
//! ```toml
//! name = "zhao_5x5"
//! gamma = 0.9
//! actions = "zhao"            # up, right, down, left, stay
//! map = """
//! .....
//! .XX..
//! ..X..
//! .XTX.
//! .X...
//! """
//! [rewards]
//! boundary = -1.0
//! forbidden = -1.0
//! target = 1.0
//! step = 0.0
//! ```
//!
//! # The model
//! A move from cell `c` in direction `d` is resolved in this order:
//! 1. **Teleport**: if `c` is a teleport cell, every action jumps to its `to`
//!    cell and pays its reward (Sutton & Barto Example 3.5).
//! 2. **Boundary**: if `c + d` is off the grid or a wall, the agent stays in `c`
//!    and pays `rewards.boundary` (plus `rewards.forbidden` when
//!    `additive_forbidden_boundary = true` and `c` is forbidden — Zhao's
//!    Figs. 5.6–5.7 need this; everything else uses the plain rule).
//! 3. **Wind**: the wind of the column the agent is *leaving* pushes it up that
//!    many rows, stopping at the top edge or a wall.
//! 4. **Landing reward**: otherwise the reward depends on the cell landed in:
//!    a per-cell override if there is one, else `target`, `forbidden`, `goal`,
//!    `hole`, `cliff` or `step`. "Stay" lands on the current cell, so staying
//!    on the target pays `target` every step (Zhao's model).
//! 5. **Cliff**: landing in a cliff pays `cliff` and sends the agent back to the
//!    start, without ending the episode. **Goal**, **hole**, **terminal** cells
//!    (and the target when `target = "terminal"`) end the episode.
//!
//! Slippery dynamics replace the intended direction by itself with probability
//! `success_prob` and by each of the two perpendicular directions with
//! probability `(1 − success_prob)/2` (FrozenLake: 1/3 each); "stay" never
//! slips. Stochastic wind (Sutton & Barto Exercise 6.10) blows `w − 1`, `w`
//! or `w + 1` with probability 1/3 each in columns where `w > 0`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{ModelBuilder, TabularModel, Transition};
use crate::config::{Doc, Seg};
use crate::{Error, Result};

/// The largest map rlkit builds (cells). Below this cap, a map must also fit
/// the memory budget ([`crate::util::check_mem`]): see [`grid_model_bytes`].
pub const MAX_CELLS: usize = 100_000_000;

/// Estimated bytes to build a gridworld of `cells` cells with `n_actions`
/// actions and at most `outcomes` outcomes per (state, action) pair: the
/// model's CSR arrays (8 bytes of offset per pair, 21 bytes per transition:
/// probability, reward, next state, done flag), the cell kinds and fixed-state
/// masks (with their parse-time copies), and the start lists of the grid and
/// its world (8 bytes each per cell when every cell is a start). The estimate is checked against the
/// memory budget before anything per-cell is allocated.
///
/// ```
/// // Zhao's 5x5 grid: 25 cells, five actions, deterministic.
/// assert_eq!(rlkit::env::gridworld::grid_model_bytes(25, 5, 1), 25 * (4 + 16 + 5 * 8 + 5 * 21) + 8);
/// ```
pub fn grid_model_bytes(cells: usize, n_actions: usize, outcomes: usize) -> u64 {
    let (c, a, k) = (cells as u64, n_actions as u64, outcomes as u64);
    let per_cell = 4 + 16 + a * 8 + a * k * 21;
    c.saturating_mul(per_cell).saturating_add(8)
}

/// The kind of a map cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// An ordinary cell.
    Free,
    /// Blocks moves; bumping into it counts as a boundary bump.
    Wall,
    /// Enterable, pays `rewards.forbidden` (Zhao).
    Forbidden,
    /// Pays `rewards.target`; continuing, absorbing or terminal per `target`.
    Target,
    /// An ordinary cell where episodes start.
    Start,
    /// Terminal, pays `rewards.goal` on arrival (FrozenLake's G).
    Goal,
    /// Terminal, pays `rewards.hole` on arrival (FrozenLake's H).
    Hole,
    /// Pays `rewards.cliff` and sends the agent back to the start (CliffWalking).
    Cliff,
    /// Terminal, pays `rewards.step` on arrival (Sutton & Barto 4.1's corners).
    Terminal,
}

impl CellKind {
    fn symbol(self) -> char {
        match self {
            CellKind::Free => '.',
            CellKind::Wall => '#',
            CellKind::Forbidden => 'X',
            CellKind::Target => 'T',
            CellKind::Start => 'S',
            CellKind::Goal => 'G',
            CellKind::Hole => 'H',
            CellKind::Cliff => 'C',
            CellKind::Terminal => 'E',
        }
    }
}

/// The default legend: `.`/`F` free, `#`/`W` wall, `X` forbidden, `T` target,
/// `S` start, `G` goal, `H` hole, `C` cliff, `E` terminal.
pub fn default_legend() -> BTreeMap<char, CellKind> {
    use CellKind::*;
    [
        ('.', Free),
        ('F', Free),
        ('#', Wall),
        ('W', Wall),
        ('X', Forbidden),
        ('T', Target),
        ('S', Start),
        ('G', Goal),
        ('H', Hole),
        ('C', Cliff),
        ('E', Terminal),
    ]
    .into_iter()
    .collect()
}

/// A move direction (row delta, column delta), or stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dir {
    /// Row delta (−1 is up).
    pub dr: i32,
    /// Column delta (+1 is right).
    pub dc: i32,
}

/// The named actions a gridworld understands.
pub const ACTION_NAMES: &[(&str, i32, i32, char)] = &[
    ("up", -1, 0, '^'),
    ("right", 0, 1, '>'),
    ("down", 1, 0, 'v'),
    ("left", 0, -1, '<'),
    ("stay", 0, 0, 'o'),
    ("up_right", -1, 1, '9'),
    ("down_right", 1, 1, '3'),
    ("down_left", 1, -1, '1'),
    ("up_left", -1, -1, '7'),
];

/// The action set: a preset name or an explicit list of action names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionSpec {
    /// `"zhao"` (up, right, down, left, stay), `"four"` (up, right, down,
    /// left), `"king"` (the eight king's moves), `"king_stay"` (eight plus stay),
    /// `"frozen_lake"` (Gymnasium's left, down, right, up).
    Preset(String),
    /// Explicit names from: up, right, down, left, stay, up_right, down_right, down_left, up_left.
    List(Vec<String>),
}

impl Default for ActionSpec {
    fn default() -> Self {
        ActionSpec::Preset("zhao".into())
    }
}

impl ActionSpec {
    /// Resolve to action names.
    pub fn names(&self) -> std::result::Result<Vec<String>, String> {
        let v: Vec<&str> = match self {
            ActionSpec::Preset(p) => match p.as_str() {
                "zhao" => vec!["up", "right", "down", "left", "stay"],
                "four" => vec!["up", "right", "down", "left"],
                "king" => vec!["up", "up_right", "right", "down_right", "down", "down_left", "left", "up_left"],
                "king_stay" => {
                    vec!["up", "up_right", "right", "down_right", "down", "down_left", "left", "up_left", "stay"]
                }
                "frozen_lake" => vec!["left", "down", "right", "up"],
                other => {
                    return Err(format!(
                        "unknown action set `{other}`; valid: \"zhao\", \"four\", \"king\", \"king_stay\", \"frozen_lake\", or a list of action names"
                    ))
                }
            },
            ActionSpec::List(l) => l.iter().map(String::as_str).collect(),
        };
        if v.is_empty() {
            return Err("the action list is empty".into());
        }
        for (i, n) in v.iter().enumerate() {
            if !ACTION_NAMES.iter().any(|(a, ..)| a == n) {
                let names: Vec<&str> = ACTION_NAMES.iter().map(|a| a.0).collect();
                return Err(format!("unknown action `{n}`; valid: {}", names.join(", ")));
            }
            if v[..i].contains(n) {
                return Err(format!("action `{n}` is listed twice"));
            }
        }
        Ok(v.into_iter().map(String::from).collect())
    }
}

/// What the target cell does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMode {
    /// Zhao's planning chapters: an ordinary cell that pays `target` on every
    /// arrival, staying included; the agent may leave it. The task continues.
    #[default]
    Continuing,
    /// Every action from the target stays there and pays `target`.
    Absorbing,
    /// Reaching the target pays `target` and ends the episode (Zhao ch. 7).
    Terminal,
}

/// Reward settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rewards {
    /// Moving off the grid or into a wall (the agent stays put).
    pub boundary: f64,
    /// Landing in (or staying in) a forbidden cell.
    pub forbidden: f64,
    /// Landing in (or staying in) the target.
    pub target: f64,
    /// Landing in any other cell (Zhao's r_other).
    pub step: f64,
    /// Landing in a goal cell (terminal).
    pub goal: f64,
    /// Landing in a hole (terminal).
    pub hole: f64,
    /// Stepping into a cliff (back to the start, not terminal).
    pub cliff: f64,
    /// Zhao Figs. 5.6–5.7: a boundary bump from a forbidden cell pays
    /// `boundary + forbidden`. Off by default (the plain rule).
    pub additive_forbidden_boundary: bool,
    /// Per-cell overrides: landing in `at` pays `reward` instead.
    pub cells: Vec<CellReward>,
}

impl Default for Rewards {
    fn default() -> Self {
        Rewards {
            boundary: -1.0,
            forbidden: -1.0,
            target: 1.0,
            step: 0.0,
            goal: 1.0,
            hole: 0.0,
            cliff: -100.0,
            additive_forbidden_boundary: false,
            cells: vec![],
        }
    }
}

/// A per-cell reward override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellReward {
    /// (row, col), 0-indexed.
    pub at: [usize; 2],
    /// The reward for landing there.
    pub reward: f64,
}

/// A teleport: every action from `from` jumps to `to` and pays `reward`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teleport {
    /// (row, col), 0-indexed.
    pub from: [usize; 2],
    /// (row, col), 0-indexed.
    pub to: [usize; 2],
    /// Reward of the jump.
    pub reward: f64,
}

/// Dynamics settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dynamics {
    /// Slippery moves (FrozenLake).
    pub slippery: bool,
    /// Probability of the intended move when slippery (FrozenLake: 1/3).
    pub success_prob: f64,
    /// Upward wind strength per column (Sutton & Barto Example 6.5); empty for none.
    pub wind: Vec<u32>,
    /// Wind varies by ±1 with probability 1/3 each where it blows (Exercise 6.10).
    pub stochastic_wind: bool,
}

impl Default for Dynamics {
    fn default() -> Self {
        Dynamics { slippery: false, success_prob: 1.0 / 3.0, wind: vec![], stochastic_wind: false }
    }
}

/// A gridworld as written in TOML (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Always `"gridworld"` (the default).
    #[serde(default = "gridworld_kind")]
    pub kind: String,
    /// Short name.
    #[serde(default)]
    pub name: String,
    /// One line of description.
    #[serde(default)]
    pub description: String,
    /// Discount factor in [0, 1].
    pub gamma: f64,
    /// The map, one row per line; spaces between symbols are optional.
    pub map: String,
    /// Extra or overriding map symbols: `{ "A" = "free" }`.
    #[serde(default)]
    pub legend: BTreeMap<String, CellKind>,
    /// The action set.
    #[serde(default)]
    pub actions: ActionSpec,
    /// What the target does.
    #[serde(default)]
    pub target: TargetMode,
    /// Start cell (row, col) when the map has no `S`.
    #[serde(default)]
    pub start: Option<[usize; 2]>,
    /// Episode step limit: episodes are *truncated* (not terminated) after this many steps.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Rewards.
    #[serde(default)]
    pub rewards: Rewards,
    /// Dynamics.
    #[serde(default)]
    pub dynamics: Dynamics,
    /// Teleport cells.
    #[serde(default)]
    pub teleports: Vec<Teleport>,
}

fn gridworld_kind() -> String {
    "gridworld".into()
}

/// A built gridworld: the parsed map and its exact tabular model.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The spec it was built from.
    pub spec: GridSpec,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Cell kinds, row-major.
    pub cells: Vec<CellKind>,
    /// Action names, in order.
    pub action_names: Vec<String>,
    /// Action directions, in order.
    pub dirs: Vec<Dir>,
    /// Start states (uniform among them).
    pub starts: Vec<usize>,
    /// The exact model (shared with the [`World`](super::World) that holds this grid).
    pub model: std::sync::Arc<TabularModel>,
    teleport_at: rustc_hash::FxHashMap<usize, (usize, f64)>,
    reward_override: rustc_hash::FxHashMap<usize, f64>,
}

/// Where a map row sits in the source, for error messages.
struct MapLoc<'a> {
    doc: Option<&'a Doc>,
    path: Vec<Seg>,
}

impl MapLoc<'_> {
    fn err_line(&self, line: usize, msg: String) -> Error {
        match self.doc {
            Some(d) => d.error_in_value(&self.path, line, &msg),
            None => Error::input(format!("{}: {msg}", crate::config::path_string(&self.path))),
        }
    }

    fn err(&self, msg: String) -> Error {
        match self.doc {
            Some(d) => d.error_at(&self.path, &msg),
            None => Error::input(format!("{}: {msg}", crate::config::path_string(&self.path))),
        }
    }
}

impl Grid {
    /// Build from a spec (no source locations in errors).
    pub fn from_spec(spec: GridSpec) -> Result<Grid> {
        Grid::build(spec, None, &[])
    }

    /// Build from a spec that was read from `doc` at `prefix` (errors name the file and line).
    pub fn build(spec: GridSpec, doc: Option<&Doc>, prefix: &[Seg]) -> Result<Grid> {
        let at = |k: &str| -> MapLoc {
            let mut path = prefix.to_vec();
            path.push(Seg::Key(k.into()));
            MapLoc { doc, path }
        };
        if !(0.0..=1.0).contains(&spec.gamma) {
            return Err(at("gamma").err(format!("gamma = {} is outside [0, 1]", spec.gamma)));
        }
        let mut legend = default_legend();
        for (k, v) in &spec.legend {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_whitespace() => {
                    legend.insert(c, *v);
                }
                _ => return Err(at("legend").err(format!("legend key `{k}` must be a single non-space character"))),
            }
        }
        // Size the map before parsing it: the cell cap and the memory budget
        // are checked before anything per-cell is allocated.
        let action_names = spec.actions.names().map_err(|m| at("actions").err(m))?;
        {
            let mut lines = spec.map.lines().filter(|l| l.chars().any(|c| !c.is_whitespace()));
            let width = lines.next().map_or(0, |l| l.chars().filter(|c| !c.is_whitespace()).count());
            let height = 1 + lines.count();
            let n = width.saturating_mul(height);
            if n > MAX_CELLS {
                return Err(at("map").err(format!(
                    "the map has {height} rows of {width} cells = {n} cells; rlkit supports up to {MAX_CELLS} cells"
                )));
            }
            let d = &spec.dynamics;
            let outcomes = if d.slippery { 3 } else { 1 } * if d.stochastic_wind { 3 } else { 1 };
            let bytes = grid_model_bytes(n, action_names.len(), outcomes);
            crate::util::check_mem(
                bytes,
                &format!("the model of this {height}x{width} map ({n} cells, {} actions)", action_names.len()),
            )
            .map_err(|e| at("map").err(e.to_string()))?;
        }
        // Parse the map straight into one row-major vector.
        let mut cells: Vec<CellKind> = Vec::new();
        let (mut height, mut width) = (0usize, 0usize);
        for (li, line) in spec.map.lines().enumerate() {
            let before = cells.len();
            for c in line.chars().filter(|c| !c.is_whitespace()) {
                match legend.get(&c) {
                    Some(k) => cells.push(*k),
                    None => {
                        let valid: String = legend.keys().map(|c| c.to_string()).collect::<Vec<_>>().join(" ");
                        return Err(at("map").err_line(li, format!(
                            "row {height}: unknown symbol `{c}`; valid symbols: {valid} (or add it to the legend, e.g. legend = {{ \"{c}\" = \"free\" }})"
                        )));
                    }
                }
            }
            let len = cells.len() - before;
            if len == 0 {
                continue;
            }
            if height == 0 {
                width = len;
                cells.reserve(len.saturating_mul(spec.map.len() / (line.len() + 1)));
            } else if len != width {
                return Err(at("map").err_line(
                    li,
                    format!("row {height} has {len} cells but row 0 has {width}; all rows must have the same width"),
                ));
            }
            height += 1;
        }
        if cells.is_empty() {
            return Err(at("map").err("the map is empty; write one row of symbols per line".into()));
        }
        cells.shrink_to_fit();
        let n = cells.len();
        let idx = |rc: [usize; 2]| rc[0] * width + rc[1];
        let in_grid = |rc: [usize; 2]| rc[0] < height && rc[1] < width;

        let dirs: Vec<Dir> = action_names
            .iter()
            .map(|n| {
                let (_, dr, dc, _) = ACTION_NAMES.iter().find(|a| a.0 == n).copied().unwrap_or(("stay", 0, 0, 'o'));
                Dir { dr, dc }
            })
            .collect();

        let d = &spec.dynamics;
        if !(0.0..=1.0).contains(&d.success_prob) {
            return Err(at("dynamics").err(format!("dynamics.success_prob = {} is outside [0, 1]", d.success_prob)));
        }
        if !d.wind.is_empty() && d.wind.len() != width {
            return Err(at("dynamics").err(format!(
                "dynamics.wind has {} entries but the map has {width} columns; give one strength per column",
                d.wind.len()
            )));
        }

        if let Some(&w) = d.wind.iter().find(|&&w| w as usize > height) {
            return Err(at("dynamics")
                .err(format!("dynamics.wind: strength {w} is more than the map's {height} rows; use 0..={height}")));
        }
        let rw = &spec.rewards;
        for (name, v) in [
            ("boundary", rw.boundary),
            ("forbidden", rw.forbidden),
            ("target", rw.target),
            ("step", rw.step),
            ("goal", rw.goal),
            ("hole", rw.hole),
            ("cliff", rw.cliff),
        ]
        .into_iter()
        .chain(rw.cells.iter().map(|c| ("cells[].reward", c.reward)))
        .chain(spec.teleports.iter().map(|t| ("teleports[].reward", t.reward)))
        {
            if !v.is_finite() {
                return Err(at("rewards").err(format!("rewards.{name} = {v}: rewards must be finite numbers")));
            }
        }
        if n > MAX_CELLS {
            return Err(at("map").err(format!("the map has {n} cells; rlkit supports up to {MAX_CELLS}")));
        }
        let mut teleport_at = rustc_hash::FxHashMap::default();
        for (i, t) in spec.teleports.iter().enumerate() {
            for rc in [t.from, t.to] {
                if !in_grid(rc) {
                    return Err(at("teleports").err(format!(
                        "teleports[{i}]: cell {rc:?} is outside the {height}x{width} map (coordinates are 0-indexed [row, col])"
                    )));
                }
            }
            if cells[idx(t.to)] == CellKind::Wall {
                return Err(at("teleports").err(format!("teleports[{i}]: destination {:?} is a wall", t.to)));
            }
            teleport_at.insert(idx(t.from), (idx(t.to), t.reward));
        }
        let mut reward_override = rustc_hash::FxHashMap::default();
        for (i, c) in spec.rewards.cells.iter().enumerate() {
            if !in_grid(c.at) {
                return Err(at("rewards")
                    .err(format!("rewards.cells[{i}]: cell {:?} is outside the {height}x{width} map", c.at)));
            }
            reward_override.insert(idx(c.at), c.reward);
        }

        let mut starts: Vec<usize> = (0..n).filter(|&i| cells[i] == CellKind::Start).collect();
        if let Some(s) = spec.start {
            if !in_grid(s) || cells[idx(s)] == CellKind::Wall {
                return Err(at("start").err(format!(
                    "start {s:?} is outside the {height}x{width} map or on a wall (coordinates are 0-indexed [row, col])"
                )));
            }
            starts = vec![idx(s)];
        }
        if starts.is_empty() && cells.contains(&CellKind::Cliff) {
            return Err(at("map").err(
                "the map has cliff cells but no start: cliffs send the agent back to the start; add an `S` to the map or `start = [row, col]`".into(),
            ));
        }

        let mut grid = Grid {
            spec,
            height,
            width,
            cells,
            action_names,
            dirs,
            starts,
            model: std::sync::Arc::new(TabularModel::new(
                1,
                1,
                0.0,
                vec![vec![Transition { prob: 1.0, next: 0, reward: 0.0, done: true }]],
                vec![true],
            )?),
            teleport_at,
            reward_override,
        };
        if grid.starts.is_empty() {
            grid.starts = (0..n).filter(|&s| !grid.is_fixed_cell(s)).collect();
        }
        if grid.starts.is_empty() {
            return Err(at("map").err("the map has no cell an episode could start in".into()));
        }
        grid.model = std::sync::Arc::new(grid.build_model()?);
        Ok(grid)
    }

    /// Number of cells (= states; walls included, with value 0).
    pub fn n_states(&self) -> usize {
        self.cells.len()
    }

    /// (row, col) of a state.
    pub fn coords(&self, s: usize) -> (usize, usize) {
        (s / self.width, s % self.width)
    }

    /// The state at (row, col).
    pub fn state(&self, row: usize, col: usize) -> usize {
        row * self.width + col
    }

    fn is_terminal_kind(&self, k: CellKind) -> bool {
        matches!(k, CellKind::Goal | CellKind::Hole | CellKind::Terminal)
            || (k == CellKind::Target && self.spec.target == TargetMode::Terminal)
    }

    /// Whether state `s` is fixed: terminal, a wall or a cliff (never occupied).
    pub fn is_fixed_cell(&self, s: usize) -> bool {
        let k = self.cells[s];
        self.is_terminal_kind(k) || matches!(k, CellKind::Wall | CellKind::Cliff)
    }

    fn blocked(&self, r: i64, c: i64) -> bool {
        r < 0
            || c < 0
            || r >= self.height as i64
            || c >= self.width as i64
            || self.cells[r as usize * self.width + c as usize] == CellKind::Wall
    }

    /// The outcome of moving from `s` in direction `d` with wind strength `wind`
    /// (see the module docs for the order of the rules).
    pub fn resolve(&self, s: usize, d: Dir, wind: u32) -> Transition {
        let rw = &self.spec.rewards;
        if let Some(&(to, reward)) = self.teleport_at.get(&s) {
            return Transition { prob: 1.0, next: to, reward, done: self.is_terminal_kind(self.cells[to]) };
        }
        let (r0, c0) = self.coords(s);
        let (mut r, mut c) = (r0 as i64 + d.dr as i64, c0 as i64 + d.dc as i64);
        let bump = self.blocked(r, c);
        if bump {
            r = r0 as i64;
            c = c0 as i64;
        }
        for _ in 0..wind {
            if self.blocked(r - 1, c) {
                break;
            }
            r -= 1;
        }
        let next = r as usize * self.width + c as usize;
        let kind = self.cells[next];
        let absorbing_target = self.cells[s] == CellKind::Target && self.spec.target == TargetMode::Absorbing;
        if absorbing_target {
            return Transition { prob: 1.0, next: s, reward: rw.target, done: false };
        }
        if bump && next == s {
            let mut reward = rw.boundary;
            if rw.additive_forbidden_boundary && self.cells[s] == CellKind::Forbidden {
                reward += rw.forbidden;
            }
            return Transition { prob: 1.0, next, reward, done: false };
        }
        let landing = match kind {
            CellKind::Target => rw.target,
            CellKind::Forbidden => rw.forbidden,
            CellKind::Goal => rw.goal,
            CellKind::Hole => rw.hole,
            CellKind::Cliff => rw.cliff,
            _ => rw.step,
        };
        let reward = self.reward_override.get(&next).copied().unwrap_or(landing);
        if kind == CellKind::Cliff {
            return Transition { prob: 1.0, next: self.starts[0], reward, done: false };
        }
        Transition { prob: 1.0, next, reward, done: self.is_terminal_kind(kind) }
    }

    /// The outcome distribution of action `a` in state `s`, merged by (next, reward, done).
    pub fn outcomes(&self, s: usize, a: usize) -> Vec<Transition> {
        let d = self.dirs[a];
        let dy = &self.spec.dynamics;
        let mut moves: Vec<(Dir, f64)> = vec![];
        if dy.slippery && (d.dr, d.dc) != (0, 0) {
            let p = dy.success_prob;
            moves.push((d, p));
            // Perpendiculars: rotate 90° either way.
            moves.push((Dir { dr: -d.dc, dc: d.dr }, (1.0 - p) / 2.0));
            moves.push((Dir { dr: d.dc, dc: -d.dr }, (1.0 - p) / 2.0));
        } else {
            moves.push((d, 1.0));
        }
        let (_, c0) = self.coords(s);
        let w = dy.wind.get(c0).copied().unwrap_or(0);
        let winds: Vec<(u32, f64)> = if dy.stochastic_wind && w > 0 {
            vec![(w - 1, 1.0 / 3.0), (w, 1.0 / 3.0), (w.saturating_add(1), 1.0 / 3.0)]
        } else {
            vec![(w, 1.0)]
        };
        let mut out: Vec<Transition> = Vec::new();
        for (md, pm) in moves {
            if pm == 0.0 {
                continue;
            }
            for &(wv, pw) in &winds {
                let t = self.resolve(s, md, wv);
                let p = pm * pw;
                match out.iter_mut().find(|o| o.next == t.next && o.reward == t.reward && o.done == t.done) {
                    Some(o) => o.prob += p,
                    None => out.push(Transition { prob: p, ..t }),
                }
            }
        }
        out
    }

    fn build_model(&self) -> Result<TabularModel> {
        let (ns, na) = (self.n_states(), self.dirs.len());
        let fixed: Vec<bool> = (0..ns).map(|s| self.is_fixed_cell(s)).collect();
        let dy = &self.spec.dynamics;
        let outcomes =
            if dy.slippery { 3 } else { 1 } * if dy.stochastic_wind && dy.wind.iter().any(|&w| w > 0) { 3 } else { 1 };
        let mut b = ModelBuilder::with_capacity(ns, na, self.spec.gamma, fixed.clone(), ns * na * outcomes)?;
        for (s, &fx) in fixed.iter().enumerate() {
            for a in 0..na {
                if fx {
                    b.push(&[Transition { prob: 1.0, next: s, reward: 0.0, done: true }])?;
                } else {
                    b.push(&self.outcomes(s, a))?;
                }
            }
        }
        b.finish()
    }

    /// The policy symbol of action `a` (`^ > v < o`, diagonals `7 9 1 3` as on a keypad).
    pub fn action_symbol(&self, a: usize) -> char {
        let n = &self.action_names[a];
        ACTION_NAMES.iter().find(|x| x.0 == n).map_or('?', |x| x.3)
    }

    /// The map symbol of a cell kind (default legend).
    pub fn cell_symbol(&self, s: usize) -> char {
        self.cells[s].symbol()
    }

    /// A one-hot C×H×W image of the state: channel 0 the agent, 1 the
    /// target/goal cells, 2 forbidden cells (holes and cliffs included), 3 walls.
    pub fn one_hot(&self, s: usize) -> ndarray::Array3<f32> {
        let mut img = ndarray::Array3::<f32>::zeros((4, self.height, self.width));
        for (i, k) in self.cells.iter().enumerate() {
            let (r, c) = self.coords(i);
            let ch = match k {
                CellKind::Target | CellKind::Goal => Some(1),
                CellKind::Forbidden | CellKind::Hole | CellKind::Cliff => Some(2),
                CellKind::Wall => Some(3),
                _ => None,
            };
            if let Some(ch) = ch {
                img[[ch, r, c]] = 1.0;
            }
        }
        let (r, c) = self.coords(s);
        img[[0, r, c]] = 1.0;
        img
    }

    /// Generate a Zhao-style `height × width` grid with a fraction of random
    /// forbidden cells and the target in the middle (for benchmarks).
    pub fn generate_zhao(height: usize, width: usize, forbidden_frac: f64, seed: u64) -> Result<Grid> {
        use rand::RngExt;
        if height.checked_mul(width).is_none_or(|n| n == 0 || n > MAX_CELLS) {
            return Err(Error::input(format!("a {height}x{width} grid is empty or larger than {MAX_CELLS} cells")));
        }
        let mut rng = crate::util::rng_for(seed, &[0x6e17]);
        let mut map = String::with_capacity((width + 1) * height);
        let (tr, tc) = (height / 2, width / 2);
        for r in 0..height {
            for c in 0..width {
                let ch = if (r, c) == (tr, tc) {
                    'T'
                } else if rng.random::<f64>() < forbidden_frac {
                    'X'
                } else {
                    '.'
                };
                map.push(ch);
            }
            map.push('\n');
        }
        Grid::from_spec(GridSpec {
            kind: gridworld_kind(),
            name: format!("zhao_generated_{height}x{width}"),
            description: String::new(),
            gamma: 0.9,
            map,
            legend: BTreeMap::new(),
            actions: ActionSpec::default(),
            target: TargetMode::Continuing,
            start: Some([0, 0]),
            max_steps: None,
            rewards: Rewards::default(),
            dynamics: Dynamics::default(),
            teleports: vec![],
        })
    }
}
