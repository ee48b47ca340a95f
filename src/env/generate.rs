//! Seeded random Zhao-style gridworlds for training and evaluating one network
//! on many maps (`rlkit generate`, behaviour cloning).
//!
//! A generated map is an `h × w` Zhao grid (actions up, right, down, left,
//! stay; continuing target; γ 0.9; `r_boundary = −1`, `r_forbidden = −10`,
//! `r_target = 1` by default) with one target cell drawn uniformly and exactly
//! `round(density · (h·w − 1))` forbidden cells drawn uniformly among the
//! others. A draw is kept only if it is **solvable**: every non-forbidden cell
//! reaches the target by up/down/left/right moves through non-forbidden cells
//! (breadth-first search from the target). Otherwise it is redrawn, at most
//! [`MAX_ATTEMPTS`] times, from the next stream of the same seed.
//!
//! [`map_toml`] writes the map as an ordinary env file that
//! [`crate::env::World::load`] reads back to the identical [`GridSpec`].
//!
//! ```
//! use rlkit::env::generate::{generate_map, MapGenConfig};
//! let g = generate_map(6, 6, &MapGenConfig::default(), 42).unwrap();
//! assert_eq!((g.height, g.width), (6, 6));
//! assert!(rlkit::env::generate::is_solvable(&g));
//! ```

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use rand::RngExt;

use super::gridworld::{ActionSpec, CellKind, Dynamics, Grid, GridSpec, Rewards, TargetMode};
use crate::{Error, Result};

/// Redraws allowed before a map is given up as unsolvable.
pub const MAX_ATTEMPTS: u64 = 1000;

/// Largest side length the generator accepts.
pub const MAX_SIDE: usize = 256;

/// Largest forbidden-cell density the generator accepts.
pub const MAX_DENSITY: f64 = 0.6;

/// Settings of generated maps.
#[derive(Debug, Clone, PartialEq)]
pub struct MapGenConfig {
    /// Fraction of the non-target cells that are forbidden, in `[0, 0.6]`.
    pub density: f64,
    /// Discount factor of the written env.
    pub gamma: f64,
    /// Reward for bumping into the boundary.
    pub boundary: f64,
    /// Reward for entering or staying in a forbidden cell.
    pub forbidden: f64,
    /// Reward for entering or staying in the target.
    pub target: f64,
}

impl Default for MapGenConfig {
    fn default() -> Self {
        MapGenConfig { density: 0.2, gamma: 0.9, boundary: -1.0, forbidden: -10.0, target: 1.0 }
    }
}

impl MapGenConfig {
    /// Check the ranges (one-line errors).
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=MAX_DENSITY).contains(&self.density) {
            return Err(Error::input(format!(
                "density = {} must be in [0, {MAX_DENSITY}] (the fraction of forbidden cells)",
                self.density
            )));
        }
        if !(0.0..1.0).contains(&self.gamma) {
            return Err(Error::input(format!("gamma = {} must be in [0, 1)", self.gamma)));
        }
        if ![self.boundary, self.forbidden, self.target].iter().all(|r| r.is_finite()) {
            return Err(Error::input("rewards must be finite numbers"));
        }
        Ok(())
    }
}

/// Whether every non-forbidden cell of `grid` reaches a target cell through
/// non-forbidden cells by 4-neighbour moves (breadth-first search from the targets).
pub fn is_solvable(grid: &Grid) -> bool {
    let blocked: Vec<bool> = grid.cells.iter().map(|k| matches!(k, CellKind::Forbidden | CellKind::Wall)).collect();
    let targets: Vec<usize> = (0..grid.cells.len()).filter(|&s| grid.cells[s] == CellKind::Target).collect();
    reaches_all(grid.height, grid.width, &blocked, &targets)
}

fn reaches_all(h: usize, w: usize, blocked: &[bool], sources: &[usize]) -> bool {
    let mut seen = vec![false; h * w];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for &s in sources {
        seen[s] = true;
        queue.push_back(s);
    }
    while let Some(s) = queue.pop_front() {
        let (r, c) = (s / w, s % w);
        let mut next = Vec::with_capacity(4);
        if r > 0 {
            next.push(s - w);
        }
        if r + 1 < h {
            next.push(s + w);
        }
        if c > 0 {
            next.push(s - 1);
        }
        if c + 1 < w {
            next.push(s + 1);
        }
        for n in next {
            if !seen[n] && !blocked[n] {
                seen[n] = true;
                queue.push_back(n);
            }
        }
    }
    (0..h * w).all(|s| blocked[s] || seen[s])
}

/// Generate one solvable `height × width` map from `seed` (see the module docs).
///
/// # Errors
/// A bad size or setting, or no solvable draw in [`MAX_ATTEMPTS`] attempts.
pub fn generate_map(height: usize, width: usize, cfg: &MapGenConfig, seed: u64) -> Result<Grid> {
    cfg.validate()?;
    if !(2..=MAX_SIDE).contains(&height) || !(1..=MAX_SIDE).contains(&width) || height * width < 2 {
        return Err(Error::input(format!(
            "a {height}x{width} map: sides must be in 1..={MAX_SIDE} with at least 2 cells"
        )));
    }
    let n = height * width;
    let n_forbidden = (cfg.density * (n - 1) as f64).round() as usize;
    for attempt in 0..MAX_ATTEMPTS {
        let mut rng = crate::util::rng_for(seed, &[0x0067_656e, attempt]);
        let target = rng.random_range(0..n);
        let mut others: Vec<usize> = (0..n).filter(|&s| s != target).collect();
        // Partial Fisher–Yates: the first n_forbidden entries are a uniform sample.
        for i in 0..n_forbidden {
            let j = rng.random_range(i..others.len());
            others.swap(i, j);
        }
        let mut blocked = vec![false; n];
        for &s in &others[..n_forbidden] {
            blocked[s] = true;
        }
        if !reaches_all(height, width, &blocked, &[target]) {
            continue;
        }
        let mut map = String::with_capacity((width + 1) * height);
        for r in 0..height {
            for c in 0..width {
                let s = r * width + c;
                map.push(if s == target {
                    'T'
                } else if blocked[s] {
                    'X'
                } else {
                    '.'
                });
            }
            map.push('\n');
        }
        let spec = GridSpec {
            kind: "gridworld".into(),
            name: format!("generated_{height}x{width}_{seed:016x}"),
            description: format!(
                "Zhao-style map generated by rlkit: density {}, seed {seed}, attempt {attempt}",
                cfg.density
            ),
            gamma: cfg.gamma,
            map,
            legend: BTreeMap::new(),
            actions: ActionSpec::default(),
            target: TargetMode::Continuing,
            start: None,
            max_steps: None,
            rewards: Rewards {
                boundary: cfg.boundary,
                forbidden: cfg.forbidden,
                target: cfg.target,
                ..Rewards::default()
            },
            dynamics: Dynamics::default(),
            teleports: vec![],
        };
        return Grid::from_spec(spec);
    }
    Err(Error::input(format!(
        "could not draw a solvable {height}x{width} map with density {} in {MAX_ATTEMPTS} attempts; lower the density",
        cfg.density
    )))
}

/// The env file of a generated map (a spec from [`generate_map`]): ordinary
/// gridworld TOML that [`crate::env::World::load`] reads back to the same spec.
pub fn map_toml(spec: &GridSpec) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "# A generated Zhao-style gridworld (rlkit generate). Coordinates 0-indexed, row 0 at the top.\n\
         kind = \"gridworld\"\n\
         name = \"{}\"\n\
         description = \"{}\"\n\
         gamma = {:?}\n\
         actions = \"zhao\"\n\
         target = \"continuing\"\n\
         map = \"\"\"\n{}\"\"\"\n\n\
         [rewards]\n\
         boundary = {:?}\n\
         forbidden = {:?}\n\
         target = {:?}\n",
        esc(&spec.name),
        esc(&spec.description),
        spec.gamma,
        spec.map,
        spec.rewards.boundary,
        spec.rewards.forbidden,
        spec.rewards.target
    )
}

/// The side lengths of `count` maps over the inclusive range `sizes`: they
/// cycle through the sizes in order (`5, 6, 7, 8, 5, …`), so every size gets
/// `count / n` or one more.
pub fn cycle_sizes(sizes: (usize, usize), count: usize) -> Vec<usize> {
    let n = sizes.1 - sizes.0 + 1;
    (0..count).map(|i| sizes.0 + i % n).collect()
}

/// Generate `count` square maps with sides cycling over `sizes` (inclusive);
/// map `i` is drawn from `derive_seed(seed, [i])`.
///
/// # Errors
/// Bad sizes or settings, or an unsolvable draw (see [`generate_map`]).
pub fn generate_maps(sizes: (usize, usize), count: usize, cfg: &MapGenConfig, seed: u64) -> Result<Vec<Grid>> {
    if sizes.0 < 2 || sizes.1 < sizes.0 || sizes.1 > MAX_SIDE {
        return Err(Error::input(format!("sizes {}-{}: need 2 <= min <= max <= {MAX_SIDE}", sizes.0, sizes.1)));
    }
    cycle_sizes(sizes, count)
        .into_iter()
        .enumerate()
        .map(|(i, side)| generate_map(side, side, cfg, crate::util::derive_seed(seed, &[i as u64])))
        .collect()
}

/// Write maps as `dir/map_<i>_<h>x<w>.toml` (atomically); returns the paths.
pub fn write_maps(dir: &Path, maps: &[Grid]) -> Result<Vec<PathBuf>> {
    crate::util::ensure_writable_dir(dir)?;
    let mut out = Vec::with_capacity(maps.len());
    for (i, g) in maps.iter().enumerate() {
        let p = dir.join(format!("map_{i:04}_{}x{}.toml", g.height, g.width));
        crate::util::atomic_write(&p, map_toml(&g.spec).as_bytes())?;
        out.push(p);
    }
    Ok(out)
}

/// Parse `"5-8"` or `"7"` into an inclusive range of side lengths.
pub fn parse_sizes(s: &str) -> Result<(usize, usize)> {
    let bad =
        || Error::input(format!("--sizes {s}: expected MIN-MAX or N, e.g. 5-8, with 2 <= MIN <= MAX <= {MAX_SIDE}"));
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim().parse::<usize>().map_err(|_| bad())?, b.trim().parse::<usize>().map_err(|_| bad())?),
        None => {
            let v = s.trim().parse::<usize>().map_err(|_| bad())?;
            (v, v)
        }
    };
    if a < 2 || b < a || b > MAX_SIDE {
        return Err(bad());
    }
    Ok((a, b))
}
