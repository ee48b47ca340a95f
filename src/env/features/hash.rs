//! The stable hashes of the `hashed`, `crossed` and `tile_coding` columns.
//!
//! All three use **FNV-1a 64** (offset basis `0xcbf29ce484222325`, prime
//! `0x100000001b3`), which is fixed by its definition: the same value gives the
//! same bucket on every machine, build and run (unlike std's randomly seeded
//! `HashMap` hasher, or Python's `hash`).
//!
//! - `hashed`: FNV-1a over the decimal text of the integer value (Rust's `i64`
//!   `Display`, the same text as Python's `str(int)`: `-3`, `0`, `17`).
//! - `crossed`: FNV-1a over the keys' decimal texts joined with `_X_`
//!   (TensorFlow's separator), e.g. `2_X_3`.
//! - `tile_coding`, once its index table is full: FNV-1a over the coordinate
//!   tuple `[tiling, c_0, c_1, ...]`, each as 8 little-endian bytes of an `i64`.

use std::io::Write;

/// FNV-1a 64 offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
pub const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`, continuing from state `h` (start with [`FNV_OFFSET`]).
#[inline]
pub fn fnv1a_continue(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a 64 of `bytes`.
#[inline]
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_continue(FNV_OFFSET, bytes)
}

/// Continue an FNV-1a 64 state with the decimal text of `v` (no allocation).
#[inline]
pub fn fnv1a_continue_i64(h: u64, v: i64) -> u64 {
    // "-9223372036854775808" is 20 bytes.
    let mut buf = [0u8; 24];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    // Writing an i64 into 24 bytes cannot fail.
    let _ = write!(cur, "{v}");
    let n = cur.position() as usize;
    fnv1a_continue(h, &buf[..n])
}

/// FNV-1a 64 of the decimal text of `v`: the `hashed` column's hash.
#[inline]
pub fn hash_i64(v: i64) -> u64 {
    fnv1a_continue_i64(FNV_OFFSET, v)
}

/// The separator of crossed keys, as TensorFlow's `crossed_column` writes it.
pub const CROSS_SEPARATOR: &[u8] = b"_X_";

/// FNV-1a 64 of the values' decimal texts joined with `_X_`: the `crossed` column's hash.
pub fn hash_cross(values: &[i64]) -> u64 {
    let mut h = FNV_OFFSET;
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            h = fnv1a_continue(h, CROSS_SEPARATOR);
        }
        h = fnv1a_continue_i64(h, v);
    }
    h
}

/// FNV-1a 64 of a tile coordinate tuple (each coordinate as 8 little-endian bytes).
#[inline]
pub fn hash_coords(coords: &[i64]) -> u64 {
    let mut h = FNV_OFFSET;
    for &c in coords {
        h = fnv1a_continue(h, &c.to_le_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_vectors() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn integer_text_hash_matches_hashing_the_text() {
        for v in [0i64, 7, -3, 42, i64::MIN, i64::MAX] {
            assert_eq!(hash_i64(v), fnv1a(v.to_string().as_bytes()));
        }
        assert_eq!(hash_cross(&[2, 3]), fnv1a(b"2_X_3"));
        assert_eq!(hash_cross(&[-1, 0, 12]), fnv1a(b"-1_X_0_X_12"));
        assert_eq!(hash_coords(&[1, -2]), fnv1a(&[1, 0, 0, 0, 0, 0, 0, 0, 254, 255, 255, 255, 255, 255, 255, 255]));
    }
}
