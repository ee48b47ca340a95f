//! Small shared helpers: atomic file writes and seed derivation.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Write `bytes` to `path` atomically: write a temporary file beside it, flush
/// it to disk, then rename it over `path`. A reader never sees a half-written
/// file, and an interrupted run never leaves one behind under the final name.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::input(format!(
            "{}: cannot write: {e}; choose a writable output directory (e.g. --out DIR)",
            path.display()
        ))
    })
}

/// A hidden temporary path next to `path` that keeps its extension
/// (`plots/values.png` → `plots/.values.tmp.png`), so that tools which infer a
/// format from the extension still work.
pub fn temp_sibling(path: &Path, tag: &str) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("out");
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!(".{stem}.{tag}{}.{ext}", std::process::id()),
        None => format!(".{stem}.{tag}{}", std::process::id()),
    };
    path.with_file_name(name)
}

/// Create `dir` (and its parents) and check that a file can be written in it.
/// Fails with an [`Error::Input`] naming the directory.
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::input(format!("{}: output directory is not writable: {e}; choose another with --out DIR", dir.display()))
    };
    fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".rlkit-probe-{}", std::process::id()));
    fs::write(&probe, b"").map_err(fail)?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// Default memory budget for one allocation-heavy structure (a model table, a
/// network's activations, an episode buffer): 2 GiB.
pub const DEFAULT_MEM_BUDGET: u64 = 2 << 30;

static MEM_BUDGET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(DEFAULT_MEM_BUDGET);

/// Set the process-wide memory budget in bytes (the CLI's `--mem-budget`, or
/// the `RLKIT_MEM_BUDGET` environment variable; default [`DEFAULT_MEM_BUDGET`]).
pub fn set_mem_budget(bytes: u64) {
    MEM_BUDGET.store(bytes.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// The process-wide memory budget in bytes (see [`set_mem_budget`]).
pub fn mem_budget() -> u64 {
    MEM_BUDGET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Refuse an allocation estimated at `bytes` when it exceeds the memory
/// budget. `what` names the thing and where it comes from (e.g.
/// `"envs/big.toml: map: the model of 100000000 cells"`); the error says how
/// to raise the budget.
///
/// ```
/// rlkit::util::check_mem(1 << 20, "a small table").unwrap();
/// let e = rlkit::util::check_mem(u64::MAX, "a huge table").unwrap_err();
/// assert!(e.to_string().contains("--mem-budget"));
/// ```
pub fn check_mem(bytes: u64, what: &str) -> Result<()> {
    let budget = mem_budget();
    if bytes > budget {
        return Err(Error::input(format!(
            "{what} needs about {} but the memory budget is {}; make it smaller, or raise the budget with --mem-budget BYTES (e.g. 8G) or RLKIT_MEM_BUDGET",
            fmt_bytes(bytes),
            fmt_bytes(budget)
        )));
    }
    Ok(())
}

/// Parse a byte size such as `2G`, `512M`, `64k` or `1000000` (binary units).
pub fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = t[i..].to_ascii_lowercase();
            let m: u64 = match unit.trim_end_matches("ib").trim_end_matches('b') {
                "" => 1,
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                "t" => 1 << 40,
                _ => return Err(format!("`{s}` is not a byte size; use e.g. 2G, 512M, 64k or a number of bytes")),
            };
            (&t[..i], m)
        }
        None => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a byte size; use e.g. 2G, 512M, 64k or a number of bytes"))?;
    if !(n.is_finite() && n > 0.0) || n * mult as f64 >= u64::MAX as f64 {
        return Err(format!("`{s}` is not a positive byte size below 16 EiB; use e.g. 2G"));
    }
    Ok((n * mult as f64) as u64)
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Derive an independent 64-bit seed for a named stream from a base seed.
///
/// This is SplitMix64 applied over the base seed and the stream's labels, so
/// every (experiment seed, run, stream) triple gets its own portable
/// `ChaCha8Rng` stream whatever the thread that runs it.
///
/// ```
/// let a = rlkit::util::derive_seed(42, &[0, 1]);
/// let b = rlkit::util::derive_seed(42, &[0, 2]);
/// assert_ne!(a, b);
/// assert_eq!(a, rlkit::util::derive_seed(42, &[0, 1]));
/// ```
pub fn derive_seed(base: u64, labels: &[u64]) -> u64 {
    let mut x = splitmix(base ^ 0x5EED_0F4C_17AB_u64);
    for &l in labels {
        x = splitmix(x ^ splitmix(l.wrapping_add(0x9E37_79B9_7F4A_7C15)));
    }
    x
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seeded, portable random stream for (base seed, labels).
pub fn rng_for(base: u64, labels: &[u64]) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(derive_seed(base, labels))
}

/// Percentile `q` ∈ [0, 1] of sorted data, linear interpolation between
/// order statistics: position q·(n − 1); NaN for no data. (Used by the
/// bootstrap bands of `plot` and by `stats`.)
///
/// ```
/// assert_eq!(rlkit::util::percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
/// assert_eq!(rlkit::util::percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.025), 1.075);
/// ```
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("rlkit-aw-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.csv");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_sibling_keeps_extension() {
        let t = temp_sibling(Path::new("plots/values.png"), "tmp");
        assert!(t.to_str().unwrap().ends_with(".png"));
        assert!(t.file_name().unwrap().to_str().unwrap().starts_with(".values.tmp"));
    }

    #[test]
    fn byte_sizes_parse_and_print() {
        assert_eq!(parse_bytes("2G").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("64k").unwrap(), 65536);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("-1G").is_err());
        assert!(parse_bytes("2X").is_err());
        assert_eq!(fmt_bytes(3 << 29), "1.5 GiB");
        assert_eq!(fmt_bytes(100), "100 B");
    }

    #[test]
    fn derived_seeds_differ_per_label() {
        let s: std::collections::HashSet<u64> = (0..1000).map(|i| derive_seed(7, &[i])).collect();
        assert_eq!(s.len(), 1000);
    }
}
