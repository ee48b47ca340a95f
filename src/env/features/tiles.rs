//! Tile coding exactly as Sutton's tiles3 (<http://incompleteideas.net/tiles/tiles3.html>).
//!
//! For inputs `x_i` with ranges `[low_i, high_i]` and `tiles_i` tiles each:
//!
//! ```text
//! f_i = tiles_i · x_i / (high_i − low_i)          (no subtraction of low, as in S&B's code)
//! q_i = ⌊f_i · tilings⌋
//! tiling t: coords = [t, ⌊(q_0 + t)/T⌋, ⌊(q_1 + 3t)/T⌋, ⌊(q_2 + 5t)/T⌋, ...]   (T = tilings)
//! index   = IHT(coords)
//! ```
//!
//! The index hash table (IHT) gives each new coordinate tuple the next free
//! index (0, 1, 2, ... in order of first sight) until `size` tuples are stored;
//! after that a new tuple gets `FNV-1a(coords) % size` (see [`super::hash`]).
//! tiles3 uses Python's `hash` there, so once the table is full the collisions
//! differ from tiles3 (before that the indices are identical).

use rustc_hash::FxHashMap;

use super::hash::hash_coords;

/// The most inputs a `tile_coding` column may have.
pub const MAX_TILE_INPUTS: usize = 8;

/// Coordinate tuple: tiling, then up to [`MAX_TILE_INPUTS`] coordinates (unused ones 0).
type Key = [i64; MAX_TILE_INPUTS + 1];

/// A tiles3 tile coder with its own index hash table.
#[derive(Debug, Clone)]
pub(crate) struct TileCoder {
    /// Observation component of each input.
    pub inputs: Vec<usize>,
    /// tiles_i.
    pub tiles: Vec<f64>,
    /// high_i − low_i.
    pub width: Vec<f64>,
    /// Number of tilings T.
    pub tilings: u32,
    /// IHT size.
    pub size: u32,
    table: FxHashMap<Key, u32>,
    /// Lookups that found the table full (tiles3's `overfullCount`).
    pub overfull: u64,
}

impl TileCoder {
    /// A coder with an empty table (arguments checked by the caller).
    pub fn new(inputs: Vec<usize>, tiles: Vec<f64>, width: Vec<f64>, tilings: u32, size: u32) -> TileCoder {
        let mut table = FxHashMap::default();
        table.reserve((size as usize).min(4096));
        TileCoder { inputs, tiles, width, tilings, size, table, overfull: 0 }
    }

    /// Number of coordinate tuples stored.
    pub fn count(&self) -> usize {
        self.table.len()
    }

    /// Push the `tilings` active indices of `obs`, each plus `offset`.
    #[inline]
    pub fn encode(&mut self, obs: &[f64], offset: u32, active: &mut Vec<u32>) {
        let n = self.inputs.len().min(MAX_TILE_INPUTS);
        let t_count = i64::from(self.tilings);
        let tf = f64::from(self.tilings);
        let mut q = [0i64; MAX_TILE_INPUTS];
        for i in 0..n {
            let x = obs.get(self.inputs[i]).copied().unwrap_or(f64::NAN);
            let f = self.tiles[i] * x / self.width[i];
            // `as` saturates (NaN → 0): no panic on any input.
            q[i] = (f * tf).floor() as i64;
        }
        for t in 0..t_count {
            let mut key: Key = [0; MAX_TILE_INPUTS + 1];
            key[0] = t;
            let mut b = t;
            for i in 0..n {
                key[i + 1] = q[i].saturating_add(b).div_euclid(t_count);
                b += 2 * t;
            }
            let idx = self.index(&key, n + 1);
            active.push(offset + idx);
        }
    }

    #[inline]
    fn index(&mut self, key: &Key, used: usize) -> u32 {
        if let Some(&i) = self.table.get(key) {
            return i;
        }
        let count = self.table.len();
        if count >= self.size as usize {
            self.overfull += 1;
            (hash_coords(&key[..used]) % u64::from(self.size)) as u32
        } else {
            self.table.insert(*key, count as u32);
            count as u32
        }
    }
}
