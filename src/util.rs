//! Small shared helpers: atomic file writes, stale temporary files, UTC
//! timestamps, quiet stdout on a closed pipe, the memory budget, and seed
//! derivation.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Write `bytes` to `path` atomically: write a temporary file beside it
/// ([`temp_beside`]), flush it to disk, then rename it over `path`. A reader
/// never sees a half-written file, and an interrupted run never leaves one
/// behind under the final name (on failure the temporary file is removed).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let write = || -> std::io::Result<()> {
        let mut tmp = temp_beside(path)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| write_error(path, &e))
}

/// Create a hidden temporary file next to `path` for an atomic write, named
/// `.<stem>.tmp<pid>-<random>.<ext>`: it keeps the extension (tools that infer
/// a format from it still work) and carries this process's id, so that
/// [`clean_stale_temps`] can remove it once the process is gone. The file is
/// removed when the handle is dropped unless it is
/// [`persist`](tempfile::NamedTempFile::persist)ed over `path`. Unlike most
/// temporary files it gets the permissions of an ordinary new file (`0o666`
/// less the umask), which it keeps under its final name.
pub fn temp_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("out");
    let suffix = path.extension().and_then(|e| e.to_str()).map(|ext| format!(".{ext}")).unwrap_or_default();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!(".{stem}.tmp{}-", std::process::id());
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(&suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

/// The error for a failed write of `path`: a full disk says so (and does not
/// suggest another directory); anything else asks for a writable one.
pub fn write_error(path: &Path, e: &std::io::Error) -> Error {
    if is_disk_full(e) {
        Error::input(format!("{}: cannot write: the disk is full ({e}); free some space and run again", path.display()))
    } else {
        Error::input(format!(
            "{}: cannot write: {e}; choose a writable output directory (e.g. --out DIR)",
            path.display()
        ))
    }
}

/// Whether `e` is "no space left on device" (ENOSPC) or a disk quota error (EDQUOT).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
        || matches!(e.raw_os_error(), Some(28 | 122))
}

/// The process id encoded in a temporary name that rlkit wrote: the digits
/// after `.tmp` (a [`temp_beside`] file of an atomic write,
/// `.values.tmp123-AbC9xz.csv`, or the older `.values.tmp123.csv`) or after
/// `.staging-` (a run's staging directory, `.out.staging-123`).
fn temp_owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    for tag in [".tmp", ".staging-"] {
        for (i, _) in name.rmatch_indices(tag) {
            let digits: String = name[i + tag.len()..].chars().take_while(char::is_ascii_digit).collect();
            let rest = &name[i + tag.len() + digits.len()..];
            if !digits.is_empty() && (rest.is_empty() || rest.starts_with('.') || rest.starts_with('-')) {
                return digits.parse().ok();
            }
        }
    }
    None
}

/// Whether process `pid` is alive (Linux: `/proc/<pid>` exists; elsewhere a
/// process is assumed alive unless it is this one's own id, so nothing of a
/// concurrent run is removed).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        return proc_dir.join(pid.to_string()).exists();
    }
    true
}

/// Remove what killed rlkit processes left in `dir` (and its subdirectories,
/// `depth` levels down): hidden temporary files of atomic writes
/// (`.episodes.tmp<pid>-<random>.csv`) and staging directories (`.<name>.staging-<pid>`)
/// whose process is gone. Returns how many were removed. Errors are ignored:
/// this is housekeeping.
pub fn clean_stale_temps(dir: &Path, depth: usize) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(ft) = e.file_type() else { continue };
        match temp_owner(&name) {
            Some(pid) if !process_alive(pid) => {
                let r = if ft.is_dir() { fs::remove_dir_all(e.path()) } else { fs::remove_file(e.path()) };
                removed += usize::from(r.is_ok());
            }
            Some(_) => {}
            None if ft.is_dir() && depth > 0 => removed += clean_stale_temps(&e.path(), depth - 1),
            None => {}
        }
    }
    removed
}

/// `t` as UTC calendar fields (year, month, day, hour, minute, second).
pub fn utc_fields(t: std::time::SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

/// `t` in RFC 3339, UTC, to the second: `2026-12-01T07:25:10Z`.
///
/// ```
/// let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
/// assert_eq!(rlkit::util::rfc3339(t), "2000-02-29T00:00:00Z");
/// ```
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `t` as a directory name, UTC: `20261201-072510`.
pub fn compact_timestamp(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(t);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Write `text` to stdout. A closed pipe (`rlkit solve ... | head -1`) is not
/// an error: the rest of the output is dropped quietly, and the command still
/// exits 0. Use it (or the crate-internal `outln!`) instead of `println!`,
/// which panics on a closed pipe.
pub fn write_stdout(text: &str) {
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `println!` that treats a closed stdout as success (see [`write_stdout`]).
macro_rules! outln {
    () => { $crate::util::write_stdout("\n") };
    ($($arg:tt)*) => { $crate::util::write_stdout(&format!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use outln;

/// Create `dir` (and its parents) and check that a file can be written in it.
/// Fails with an [`Error::Input`] naming the directory.
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        if is_disk_full(&e) {
            return write_error(dir, &e);
        }
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

/// Lowercase hex of a SHA-256 digest.
pub fn hex_digest(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(2 * digest.len()), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex_digest(&sha2::Sha256::digest(bytes))
}

/// A reader that feeds every byte read through it to a SHA-256 (hash a file
/// while streaming it, without a second read).
pub struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R> HashingReader<R> {
    /// Wrap `inner`.
    pub fn new(inner: R) -> Self {
        use sha2::Digest;
        HashingReader { inner, hasher: sha2::Sha256::new() }
    }

    /// Lowercase hex SHA-256 of the bytes read so far.
    pub fn hex(&self) -> String {
        use sha2::Digest;
        hex_digest(&self.hasher.clone().finalize())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of "abc" (FIPS 180-2 test vector), directly and through the
    /// hashing reader in small reads.
    #[test]
    fn sha256_hex_and_the_hashing_reader_agree_with_the_test_vector() {
        use std::io::Read;
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), abc);
        let mut r = HashingReader::new(&b"abc"[..]);
        let mut buf = [0u8; 2];
        while r.read(&mut buf).unwrap() > 0 {}
        assert_eq!(r.hex(), abc);
    }

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
    fn stale_temps_are_found_by_their_dead_owner() {
        assert_eq!(temp_owner(".episodes.tmp123.csv"), Some(123));
        assert_eq!(temp_owner(".out.staging-77"), Some(77));
        assert_eq!(temp_owner(".DONE.tmp9"), Some(9));
        assert_eq!(temp_owner("episodes.tmp123.csv"), None);
        assert_eq!(temp_owner(".tmpfoo"), None);
        // Names of tempfile-based atomic writes: `.<stem>.tmp<pid>-<random>.<ext>`.
        assert_eq!(temp_owner(".episodes.tmp123-Ab9xYz.csv"), Some(123));
        assert_eq!(temp_owner(".DONE.tmp9-Ab9xYz"), Some(9));
        assert_eq!(temp_owner(".notes.tmp42-Ab9xYz.tmp"), Some(42));
        assert_eq!(temp_owner(".episodes.tmp-Ab9xYz.csv"), None);
        let dir = std::env::temp_dir().join(format!("rlkit-stale-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub").join(".x.staging-4000000000")).unwrap();
        // pid 4000000000 cannot exist (Linux pids are below 2^22); our own pid is alive.
        fs::write(dir.join("sub").join(".episodes.tmp4000000000.csv"), b"x").unwrap();
        fs::write(dir.join("sub").join(".values.tmp4000000000-Ab9xYz.png"), b"x").unwrap();
        let mine = temp_beside(&dir.join("values.csv")).unwrap();
        fs::write(dir.join("values.csv"), b"x").unwrap();
        let removed = clean_stale_temps(&dir, 1);
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, 3);
            assert_eq!(fs::read_dir(dir.join("sub")).unwrap().count(), 0);
        }
        assert!(mine.path().exists() && dir.join("values.csv").exists());
        drop(mine);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00Z");
        // 2024-02-29 12:34:56 UTC (a leap day), and the last second of 1999.
        assert_eq!(rfc3339(at(1_709_210_096)), "2024-02-29T12:34:56Z");
        assert_eq!(rfc3339(at(946_684_799)), "1999-12-31T23:59:59Z");
        assert_eq!(compact_timestamp(at(1_709_210_096)), "20240229-123456");
    }

    #[test]
    fn disk_full_is_not_blamed_on_the_directory() {
        let e = write_error(Path::new("out/values.csv"), &std::io::Error::from_raw_os_error(28));
        let m = e.to_string();
        assert!(m.contains("disk is full") && !m.contains("writable output directory"), "{m}");
        let e = write_error(Path::new("out/values.csv"), &std::io::Error::from_raw_os_error(13));
        assert!(e.to_string().contains("writable output directory"));
    }

    #[test]
    fn temp_beside_is_hidden_keeps_extension_and_names_its_owner() {
        let dir = std::env::temp_dir().join(format!("rlkit-beside-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let t = temp_beside(&dir.join("values.png")).unwrap();
        assert_eq!(t.path().parent().unwrap(), dir);
        let name = t.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with(&format!(".values.tmp{}-", std::process::id())), "{name}");
        assert!(name.ends_with(".png"), "{name}");
        assert_eq!(temp_owner(&name), Some(std::process::id()));
        // The permissions of an ordinary new file, not a private 0o600 one.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let plain = dir.join("plain");
            fs::write(&plain, b"").unwrap();
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(t.path()), mode(&plain));
        }
        let p = t.path().to_path_buf();
        drop(t);
        assert!(!p.exists(), "a dropped temporary file is removed");
        // No extension: no suffix.
        let t = temp_beside(&dir.join("DONE")).unwrap();
        let name = t.path().file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(&format!(".DONE.tmp{}-", std::process::id())) && name.matches('.').count() == 2,
            "{name}"
        );
        drop(t);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_failure_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("rlkit-atomic-fail-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // The target is an existing directory: the rename fails.
        fs::create_dir_all(dir.join("a.csv").join("x")).unwrap();
        let e = atomic_write(&dir.join("a.csv"), b"one").unwrap_err().to_string();
        assert!(e.contains("a.csv: cannot write:") && e.contains("writable output directory"), "{e}");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.csv")]);
        // A missing directory: nothing is created, the message names the target.
        let e = atomic_write(&dir.join("missing").join("b.csv"), b"one").unwrap_err().to_string();
        assert!(e.contains("b.csv: cannot write:"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
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
