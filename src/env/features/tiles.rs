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
/// Hashing reads only the `used` entries, so a 2-input key hashes 3 words, not 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    used: u8,
    c: [i64; MAX_TILE_INPUTS + 1],
}

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for &v in &self.c[..usize::from(self.used)] {
            state.write_i64(v);
        }
    }
}

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
    /// Tuples of at most 4 entries that each fit an `i16`, packed into a `u64`
    /// (the usual case: a fast map). Every tuple lives in exactly one of the two
    /// maps, and both share one insertion counter, so the indices are tiles3's.
    small: FxHashMap<u64, u32>,
    /// All other tuples.
    wide: FxHashMap<Key, u32>,
    /// Lookups that found the table full (tiles3's `overfullCount`).
    pub overfull: u64,
}

impl TileCoder {
    /// A coder with an empty table (arguments checked by the caller).
    pub fn new(inputs: Vec<usize>, tiles: Vec<f64>, width: Vec<f64>, tilings: u32, size: u32) -> TileCoder {
        let mut small = FxHashMap::default();
        small.reserve((size as usize).min(4096));
        TileCoder { inputs, tiles, width, tilings, size, small, wide: FxHashMap::default(), overfull: 0 }
    }

    /// Number of coordinate tuples stored.
    pub fn count(&self) -> usize {
        self.small.len() + self.wide.len()
    }

    /// Push the `tilings` active indices of `obs`, each plus `offset`.
    #[inline]
    pub fn encode(&mut self, obs: &[f64], offset: u32, active: &mut Vec<u32>) {
        let n = self.inputs.len().min(MAX_TILE_INPUTS);
        let t_count = i64::from(self.tilings);
        let tf = f64::from(self.tilings);
        let shift = if self.tilings.is_power_of_two() { self.tilings.trailing_zeros() as i32 } else { -1 };
        let mut q = [0i64; MAX_TILE_INPUTS];
        for (((qi, &c), &tiles), &width) in q.iter_mut().zip(&self.inputs).zip(&self.tiles).zip(&self.width) {
            let x = obs.get(c).copied().unwrap_or(f64::NAN);
            let f = tiles * x / width;
            // `as` saturates (NaN → 0): no panic on any input.
            *qi = (f * tf).floor() as i64;
        }
        for t in 0..t_count {
            let mut key = Key { used: (n + 1) as u8, c: [0; MAX_TILE_INPUTS + 1] };
            key.c[0] = t;
            let mut b = t;
            for (k, &qi) in key.c[1..=n].iter_mut().zip(&q) {
                let v = qi.saturating_add(b);
                // Floor division; an arithmetic shift when T is a power of two (the usual case).
                *k = if shift >= 0 { v >> shift } else { v.div_euclid(t_count) };
                b += 2 * t;
            }
            let idx = self.index(&key);
            active.push(offset + idx);
        }
    }

    #[inline]
    fn index(&mut self, key: &Key) -> u32 {
        let used = &key.c[..usize::from(key.used)];
        let packed = if used.len() <= 4 && used.iter().all(|&v| i16::try_from(v).is_ok()) {
            Some(used.iter().enumerate().fold(0u64, |acc, (k, &v)| acc | (u64::from(v as i16 as u16) << (16 * k))))
        } else {
            None
        };
        let found = match packed {
            Some(p) => self.small.get(&p),
            None => self.wide.get(key),
        };
        if let Some(&i) = found {
            return i;
        }
        let count = self.count();
        if count >= self.size as usize {
            self.overfull += 1;
            (hash_coords(used) % u64::from(self.size)) as u32
        } else {
            match packed {
                Some(p) => self.small.insert(p, count as u32),
                None => self.wide.insert(*key, count as u32),
            };
            count as u32
        }
    }
}
