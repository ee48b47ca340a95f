//! A seeded, in-process fuzz harness on stable Rust.
//!
//! ```sh
//! cargo run --release --example fuzz -- --seed 1 --parse-cases 100000 --run-seconds 60
//! ```
//!
//! It mutates the shipped input files — `envs/*.toml`, `experiments/*.toml`,
//! `configs/**/*.toml` (presets and networks), `configs/policies/*` and
//! safetensors files written by the library — with byte flips, splices,
//! extreme numbers (0, −1, 1e308, NaN, 2^63, …), huge strings, deleted,
//! duplicated and swapped lines, swapped keys and strings, and feeds them to
//! the library under `std::panic::catch_unwind`:
//!
//! - **parse/check cases** (`--parse-cases N`): experiment load (with env,
//!   presets, agents), env load, network load and build, policy parsing,
//!   safetensors reading (F32 and F64);
//! - **run cases** (`--run-seconds T`, wall clock): experiment runs with one
//!   seed, few episodes and every integer above 20 cut to 20 (not Mountain
//!   Car or behaviour cloning, which take minutes), into a temp
//!   dir; network forward/backward (and a small gradcheck) on random inputs,
//!   with mutated networks or weights.
//!
//! Every case runs under a small memory budget (`rlkit::util::set_mem_budget`:
//! 64 MiB for parse cases, 256 MiB for run cases). A panic is a finding: the
//! input goes to `target/fuzz-crashes/<target>-<seed>-<case>.<ext>` and one
//! line is printed. The input in flight is always in `in-flight.*` of the
//! harness's temp dir (printed at the start; in /dev/shm where it exists), so
//! an abort (stack overflow, failed allocation) leaves it behind. Cases slower than `--slow-seconds` (default
//! 20) are reported and saved as `slow-…`; a case still running after
//! `--hang-seconds` (default 120) is saved as `hang-…`, the counts so far are
//! printed and the process exits with code 3 (a case cannot be stopped
//! in-process); `--exclude NAME` keeps experiments whose path contains NAME
//! out of the run cases and `--no-plots` runs them with `plots = []` (to get
//! past a known hang). Otherwise the exit code is 1 if any case panicked, else 0.
//! The counts are printed per target at the end.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ndarray::ArrayD;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rlkit::config::Doc;
use rlkit::experiment::load::{load, LoadOptions};
use rlkit::nn::model::NetworkFile;
use rlkit::{Error, Result};

/// The message of the last panic (set by the hook, read after `catch_unwind`).
static PANIC_MSG: Mutex<String> = Mutex::new(String::new());

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "3",
    "-0.0",
    "1e308",
    "-1e308",
    "1e-308",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "4611686018427387904",
    "4294967296",
    "4294967295",
    "1073741824",
    "65536",
    "65537",
    "4097",
    "100000",
    "16777216",
    "1e9",
    "1_000_000_000",
    "\"\"",
    "[]",
    "{}",
    "true",
];

const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "=",
    ",",
    ".",
    "#",
    "\n",
    "[[",
    "]]",
    "\\u0000",
    "\u{0}",
    "é",
    "\r\n",
    "[[agents]]\n",
    "[[layers]]\n",
    "[env]\n",
    "[[variants]]\n",
    "[sweep]\n",
    "= [",
    "\"\"\"",
    "0x",
    "1979-05-27",
    "-",
    "+",
    "_",
];

/// One shipped input file, a mutation source.
#[derive(Clone)]
struct Seed {
    /// Path relative to the repository root.
    path: PathBuf,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Experiment,
    Env,
    Preset,
    Network,
    Policy,
    Safetensors,
    RunExperiment,
    RunNetwork,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Experiment => "experiment-load",
            Target::Env => "env-load",
            Target::Preset => "preset-load",
            Target::Network => "network-load",
            Target::Policy => "policy-parse",
            Target::Safetensors => "safetensors-read",
            Target::RunExperiment => "experiment-run",
            Target::RunNetwork => "network-forward",
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Target::Safetensors => "safetensors",
            Target::Policy => "txt",
            _ => "toml",
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    cases: u64,
    ok: u64,
    errors: u64,
    panics: u64,
    slow: u64,
    secs: f64,
}

struct Corpus {
    experiments: Vec<Seed>,
    envs: Vec<Seed>,
    presets: Vec<Seed>,
    networks: Vec<Seed>,
    policies: Vec<Seed>,
    safetensors: Vec<Seed>,
    /// Every quoted string and every key of the TOML files (for swaps).
    strings: Vec<String>,
    keys: Vec<String>,
}

fn read_dir_files(dir: &str, ext: Option<&str>) -> Vec<Seed> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    paths.sort();
    for p in paths {
        if ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)) {
            if let Ok(bytes) = std::fs::read(&p) {
                out.push(Seed { path: p, bytes });
            }
        }
    }
    out
}

fn corpus(tmp: &Path) -> Result<Corpus> {
    let experiments = read_dir_files("experiments", Some("toml"));
    let envs = read_dir_files("envs", Some("toml"));
    let mut presets = read_dir_files("configs", Some("toml"));
    presets.extend(read_dir_files("configs/agents", Some("toml")));
    let networks = read_dir_files("configs/networks", Some("toml"));
    let policies = read_dir_files("configs/policies", None);
    if experiments.is_empty() || envs.is_empty() || networks.is_empty() {
        return Err(Error::input(
            "run the fuzz harness from the repository root (it reads envs/, experiments/, configs/)",
        ));
    }
    // Safetensors written by the library: grid_backbone's weights (F32), an
    // input tensor, and F64 tensors as the learners write them.
    let file = NetworkFile::load(Path::new("configs/networks/grid_backbone.toml"))?;
    let net = file.build::<f32>([4, 3, 3], 0)?;
    let w = tmp.join("seed-weights.safetensors");
    let tensors: Vec<(String, ArrayD<f32>)> =
        net.named_params().into_iter().map(|(n, p)| (n, p.value.clone())).collect();
    rlkit::nn::io::write_tensors(&w, &tensors)?;
    let x = tmp.join("seed-input.safetensors");
    let input = ArrayD::from_shape_fn(vec![2, 4, 3, 3], |i| (i[1] + i[2] * 3 + i[3]) as f32 / 7.0 - 0.5);
    rlkit::nn::io::write_tensors(&x, &[("input".into(), input)])?;
    let q = tmp.join("seed-f64.safetensors");
    rlkit::data::tensors::write_f64_tensors(&q, &[("q".into(), vec![3, 2], vec![0.5, -1.0, 2.0, 0.0, 1e-3, 7.0])])?;
    let safetensors = [w, x, q]
        .into_iter()
        .map(|p| Ok(Seed { bytes: std::fs::read(&p).map_err(|e| Error::input(e.to_string()))?, path: p }))
        .collect::<Result<Vec<_>>>()?;
    let mut strings = vec![];
    let mut keys = vec![];
    for s in experiments.iter().chain(&envs).chain(&presets).chain(&networks) {
        let text = String::from_utf8_lossy(&s.bytes);
        for line in text.lines() {
            let line = line.trim();
            if let Some((k, _)) = line.split_once('=') {
                keys.push(k.trim().to_string());
            }
            let mut parts = line.split('"');
            parts.next();
            while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
                strings.push(format!("\"{inside}\""));
            }
        }
    }
    strings.sort();
    strings.dedup();
    keys.sort();
    keys.dedup();
    Ok(Corpus { experiments, envs, presets, networks, policies, safetensors, strings, keys })
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// Byte ranges of number-like tokens outside strings and comments.
fn number_spans(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let mut i = 0;
    let mut in_str = false;
    let mut comment = false;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            comment = false;
            in_str = false;
        }
        if comment {
            i += 1;
            continue;
        }
        if c == b'"' {
            in_str = !in_str;
        } else if c == b'#' && !in_str {
            comment = true;
        } else if !in_str && (c.is_ascii_digit() || c == b'-' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let prev_ok = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'_' | b'-' | b'+')) {
                i += 1;
            }
            if prev_ok {
                out.push((start, i));
            }
            continue;
        }
        i += 1;
    }
    out
}

fn line_spans(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() {
        out.push((start, b.len()));
    }
    out
}

/// Apply 1–`max` seeded mutations to `b`.
fn mutate(rng: &mut ChaCha8Rng, b: &mut Vec<u8>, c: &Corpus, others: &[Seed], max: u32) {
    let n = 1 + rng.random_range(0..max);
    for _ in 0..n {
        match rng.random_range(0..13u32) {
            0 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8u32);
            }
            1..=3 => {
                let spans = number_spans(b);
                if !spans.is_empty() {
                    let (s, e) = *pick(rng, &spans);
                    b.splice(s..e, pick(rng, EXTREMES).bytes());
                }
            }
            4 => {
                let lines = line_spans(b);
                if !lines.is_empty() {
                    let (s, e) = *pick(rng, &lines);
                    b.drain(s..e);
                }
            }
            5 => {
                // Duplicate a line (duplicate keys, repeated tables).
                let lines = line_spans(b);
                if !lines.is_empty() {
                    let (s, e) = *pick(rng, &lines);
                    let line = b[s..e].to_vec();
                    let at = pick(rng, &lines).0;
                    b.splice(at..at, line);
                }
            }
            6 => {
                // Splice a few lines of another file in.
                let o = &pick(rng, others).bytes;
                let lines = line_spans(o);
                if !lines.is_empty() {
                    let i = rng.random_range(0..lines.len());
                    let j = (i + 1 + rng.random_range(0..4usize)).min(lines.len());
                    let chunk = o[lines[i].0..lines[j - 1].1].to_vec();
                    let at = line_spans(b).first().map_or(0, |_| {
                        let l = line_spans(b);
                        pick(rng, &l).0
                    });
                    b.splice(at..at, chunk);
                }
            }
            7 => {
                // A huge string or a deep bracket nest.
                let len = [1_000usize, 100_000, 1_000_000][rng.random_range(0..3)];
                let s: Vec<u8> = match rng.random_range(0..3u32) {
                    0 => std::iter::once(b'"').chain(std::iter::repeat_n(b'x', len)).chain([b'"']).collect(),
                    1 => std::iter::repeat_n(b'[', len.min(100_000)).collect(),
                    _ => std::iter::repeat_n(b'9', len.min(10_000)).collect(),
                };
                let spans = number_spans(b);
                if let Some(&(s0, e0)) = (!spans.is_empty()).then(|| pick(rng, &spans)) {
                    b.splice(s0..e0, s);
                } else {
                    b.extend(s);
                }
            }
            8 => {
                let lines = line_spans(b);
                if lines.len() >= 2 {
                    let i = rng.random_range(0..lines.len() - 1);
                    let (a, m, z) = (lines[i].0, lines[i].1, lines[i + 1].1);
                    let mut swapped = b[m..z].to_vec();
                    swapped.extend_from_slice(&b[a..m]);
                    b.splice(a..z, swapped);
                }
            }
            9 if !b.is_empty() => {
                let at = rng.random_range(0..=b.len());
                b.truncate(at);
            }
            10 => {
                let at = rng.random_range(0..=b.len());
                b.splice(at..at, pick(rng, TOKENS).bytes());
            }
            11 => {
                // Replace a quoted string by another one of the corpus (kinds, paths, names).
                let text = String::from_utf8_lossy(b).to_string();
                let quotes: Vec<usize> = text.match_indices('"').map(|(i, _)| i).collect();
                if quotes.len() >= 2 && !c.strings.is_empty() {
                    let k = rng.random_range(0..quotes.len() / 2) * 2;
                    let (s, e) = (quotes[k], quotes[k + 1] + 1);
                    let mut t = text;
                    t.replace_range(s..e, pick(rng, &c.strings).as_str());
                    *b = t.into_bytes();
                }
            }
            _ => {
                // Insert `key = extreme` (unknown, duplicate or misplaced keys).
                if !c.keys.is_empty() {
                    let line = format!("{} = {}\n", pick(rng, &c.keys), pick(rng, EXTREMES));
                    let lines = line_spans(b);
                    let at = if lines.is_empty() { 0 } else { pick(rng, &lines).0 };
                    b.splice(at..at, line.into_bytes());
                }
            }
        }
    }
}

/// Byte-level mutations of a safetensors file: header numbers, lengths, data.
fn mutate_safetensors(rng: &mut ChaCha8Rng, b: &mut Vec<u8>) {
    let n = 1 + rng.random_range(0..3u32);
    for _ in 0..n {
        let hlen = if b.len() >= 8 { u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])) as usize } else { 0 };
        let hend = (8 + hlen).min(b.len());
        match rng.random_range(0..6u32) {
            0 if hend > 8 => {
                // A number in the JSON header.
                let spans: Vec<(usize, usize)> =
                    number_spans(&b[8..hend]).into_iter().map(|(s, e)| (s + 8, e + 8)).collect();
                if !spans.is_empty() {
                    let (s, e) = *pick(rng, &spans);
                    let v = pick(rng, &["0", "1", "4294967296", "18446744073709551615", "9999999999", "-1", "3"]);
                    b.splice(s..e, v.bytes());
                    let new_len = (hlen as i64 + v.len() as i64 - (e - s) as i64).max(0) as u64;
                    b[..8].copy_from_slice(&new_len.to_le_bytes());
                }
            }
            1 if b.len() >= 8 => {
                let v = [0u64, 1, 7, u64::MAX, 1 << 40, b.len() as u64, hlen as u64 + 1][rng.random_range(0..7)];
                b[..8].copy_from_slice(&v.to_le_bytes());
            }
            2 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8u32);
            }
            3 if hend < b.len() => {
                // NaN / inf / huge values in the data.
                let i = rng.random_range(hend..b.len());
                let v = [f32::NAN, f32::INFINITY, f32::MAX, -0.0][rng.random_range(0..4)];
                let end = (i + 4).min(b.len());
                let bytes = v.to_le_bytes();
                b[i..end].copy_from_slice(&bytes[..end - i]);
            }
            4 if !b.is_empty() => {
                let at = rng.random_range(0..b.len());
                b.truncate(at);
            }
            _ if hend > 8 => {
                // A dtype or a name in the header.
                let text = String::from_utf8_lossy(&b[8..hend]).to_string();
                let repl = [
                    ("F32", "F16"),
                    ("F32", "I64"),
                    ("F32", "F64"),
                    ("F64", "BF16"),
                    ("input", "inpu"),
                    ("layers.0", "layers.9"),
                ][rng.random_range(0..6)];
                if text.contains(repl.0) {
                    let t = text.replacen(repl.0, repl.1, 1);
                    let new_len = t.len() as u64;
                    b.splice(8..hend, t.into_bytes());
                    b[..8].copy_from_slice(&new_len.to_le_bytes());
                }
            }
            _ => {}
        }
    }
}

/// Cut every integer literal above 20 to 20 (run cases: tiny budgets).
fn cap_integers(b: &[u8]) -> Vec<u8> {
    let mut out = b.to_vec();
    for (s, e) in number_spans(b).into_iter().rev() {
        let tok: String = String::from_utf8_lossy(&b[s..e]).replace('_', "");
        if let Ok(v) = tok.parse::<i128>() {
            if v > 20 {
                out.splice(s..e, *b"20");
            }
        }
    }
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::input(format!("{}: {e}", path.display())))
}

fn zhao_world() -> Result<rlkit::env::World> {
    rlkit::env::World::load(Path::new("envs/zhao_5x5.toml"))
}

/// One parse/check case on `target` with mutated `bytes`.
fn parse_case(target: Target, bytes: &[u8], tmp: &Path, seed_path: &Path, world: &rlkit::env::World) -> Result<()> {
    let text = String::from_utf8_lossy(bytes);
    match target {
        Target::Experiment => {
            let p = tmp.join("case-experiment.toml");
            write(&p, bytes)?;
            let opts = LoadOptions { out: Some(tmp.join("out")), ..Default::default() };
            load(&p, &opts).map(|_| ())
        }
        Target::Env => {
            let doc = Doc::from_str("case-env.toml", &text)?;
            rlkit::env::LoadedEnv::from_doc(&doc, &[]).map(|_| ())
        }
        Target::Preset => {
            let p = tmp.join("case-preset.toml");
            write(&p, bytes)?;
            let agent_preset = seed_path.parent().is_some_and(|d| d.ends_with("agents"));
            let exp = if agent_preset {
                format!(
                    "name = \"f\"\n[env]\npath = \"envs/zhao_5x5.toml\"\n[[agents]]\npreset = \"{}\"\nname = \"A\"\n",
                    p.display()
                )
            } else {
                format!(
                    "name = \"f\"\nextends = \"{}\"\n[env]\npath = \"envs/zhao_5x5.toml\"\n[[agents]]\nkind = \"value-iteration\"\n",
                    p.display()
                )
            };
            let e = tmp.join("case-preset-exp.toml");
            write(&e, exp.as_bytes())?;
            load(&e, &LoadOptions { out: Some(tmp.join("out")), ..Default::default() }).map(|_| ())
        }
        Target::Network => {
            let f = NetworkFile::from_str("case-net.toml", &text)?;
            let shape = f.input_shape(None).or_else(|_| f.input_shape(Some([4, 5, 5])))?;
            f.build::<f32>(shape, 0).map(|_| ())
        }
        Target::Policy => {
            let p = Path::new("case-policy.txt");
            if seed_path.extension().is_some_and(|e| e == "csv") {
                rlkit::agents::dp::policy::parse_policy_csv(world, p, &text).map(|_| ())
            } else {
                rlkit::agents::dp::policy::parse_policy_grid(world, p, &text)
                    .or_else(|_| rlkit::agents::dp::policy::parse_policy_csv(world, p, &text))
                    .map(|_| ())
            }
        }
        Target::Safetensors => {
            let p = tmp.join("case.safetensors");
            write(&p, bytes)?;
            let a = rlkit::nn::io::read_tensors(&p);
            let b = rlkit::data::tensors::read_f64_tensors(&p);
            a.and(b).map(|_| ())
        }
        Target::RunExperiment | Target::RunNetwork => unreachable!("run targets are not parse cases"),
    }
}

/// One run case: an experiment with one seed and few episodes, into `tmp/out`.
fn run_experiment_case(bytes: &[u8], tmp: &Path, no_plots: bool) -> Result<()> {
    let p = tmp.join("run-experiment.toml");
    write(&p, bytes)?;
    let out = tmp.join("run-out");
    let _ = std::fs::remove_dir_all(&out);
    let sets = if no_plots { vec![("plots".to_string(), "[]".to_string())] } else { vec![] };
    let opts = LoadOptions { out: Some(out.clone()), seeds: Some(1), sets };
    let exp = load(&p, &opts)?;
    let r = rlkit::experiment::runner::run(&exp, &Default::default()).map(|_| ());
    let _ = std::fs::remove_dir_all(&out);
    r
}

/// One run case on a network: build, forward and backward a random batch, and
/// with mutated weights; a small gradcheck on small networks.
fn run_network_case(net_text: &[u8], weights: Option<&[u8]>, tmp: &Path, rng: &mut ChaCha8Rng) -> Result<()> {
    let f = NetworkFile::from_str("run-net.toml", &String::from_utf8_lossy(net_text))?;
    let shape = [rng.random_range(1..6usize), rng.random_range(1..9usize), rng.random_range(1..9usize)];
    let shape = if rng.random_range(0..2u32) == 0 { f.input_shape(None).unwrap_or(shape) } else { shape };
    let mut net = f.build::<f32>(shape, rng.random_range(0..1000u64))?;
    if net.flops() > 50_000_000 {
        return Ok(());
    }
    if let Some(w) = weights {
        let p = tmp.join("run-weights.safetensors");
        write(&p, w)?;
        net.load_state(&rlkit::nn::io::read_tensors(&p)?, "run-weights.safetensors")?;
    }
    let batch = rng.random_range(1..4usize);
    let x = ArrayD::from_shape_simple_fn(net.input.batch_dims(batch), || rng.random::<f32>() * 4.0 - 2.0);
    let y = net.forward(x)?;
    let dy = ArrayD::from_shape_simple_fn(y.shape(), || rng.random::<f32>() - 0.5);
    net.backward(dy)?;
    if net.flops() < 200_000 && rng.random_range(0..4u32) == 0 {
        rlkit::nn::cli::gradcheck(&net.cast::<f64>(), 1, 2, rng.random_range(0..1000u64))?;
    }
    Ok(())
}

/// The case in flight, shared with the watchdog.
struct Current {
    start: Instant,
    case: u64,
    target: Target,
    in_flight: PathBuf,
    warned: bool,
}

type CountMap = BTreeMap<Target, Counts>;

struct Harness {
    crash_dir: PathBuf,
    tmp: PathBuf,
    seed: u64,
    counts: Arc<Mutex<CountMap>>,
    current: Arc<Mutex<Current>>,
    slow_seconds: u64,
}

/// Print the table of counts per target and return the number of panics.
fn print_table(counts: &CountMap) -> u64 {
    let mut total = Counts::default();
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>7} {:>6} {:>9}",
        "target", "cases", "ok", "errors", "panics", "slow", "seconds"
    );
    for (t, k) in counts {
        println!(
            "{:<18} {:>10} {:>10} {:>10} {:>7} {:>6} {:>9.1}",
            t.name(),
            k.cases,
            k.ok,
            k.errors,
            k.panics,
            k.slow,
            k.secs
        );
        total.cases += k.cases;
        total.ok += k.ok;
        total.errors += k.errors;
        total.panics += k.panics;
        total.slow += k.slow;
        total.secs += k.secs;
    }
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>7} {:>6} {:>9.1}",
        "total", total.cases, total.ok, total.errors, total.panics, total.slow, total.secs
    );
    total.panics
}

impl Harness {
    /// Run `f` on `input` for `target` under `catch_unwind`, count the outcome,
    /// save the input of a panic.
    fn case(&mut self, target: Target, case: u64, input: &[u8], budget: u64, f: impl FnOnce() -> Result<()>) {
        let in_flight = self.tmp.join(format!("in-flight.{}", target.ext()));
        let _ = std::fs::write(&in_flight, input);
        rlkit::util::set_mem_budget(budget);
        if let Ok(mut g) = self.current.lock() {
            *g = Current { start: Instant::now(), case, target, in_flight, warned: false };
        }
        let t0 = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(f));
        let secs = t0.elapsed().as_secs_f64();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry(target).or_default();
        c.cases += 1;
        c.secs += secs;
        match r {
            Ok(Ok(())) => c.ok += 1,
            Ok(Err(_)) => c.errors += 1,
            Err(_) => {
                c.panics += 1;
                let msg = PANIC_MSG.lock().map(|m| m.clone()).unwrap_or_default();
                let name = format!("{}-{}-{case}.{}", target.name(), self.seed, target.ext());
                let path = self.crash_dir.join(&name);
                let _ = std::fs::write(&path, input);
                println!("PANIC {} case {case}: {} (input: {})", target.name(), msg.replace('\n', " "), path.display());
            }
        }
        if secs > self.slow_seconds as f64 {
            c.slow += 1;
            let path = self.crash_dir.join(format!("slow-{}-{}-{case}.{}", target.name(), self.seed, target.ext()));
            let _ = std::fs::write(&path, input);
            println!("SLOW {} case {case}: {secs:.1} s (input: {})", target.name(), path.display());
        }
    }
}

struct Args {
    seed: u64,
    parse_cases: u64,
    run_seconds: f64,
    slow_seconds: u64,
    hang_seconds: u64,
    crash_dir: PathBuf,
    /// Experiments whose file name contains one of these are not run.
    exclude: Vec<String>,
    /// Run experiments with `plots = []`.
    no_plots: bool,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut a = Args {
        seed: 0,
        parse_cases: 10_000,
        run_seconds: 10.0,
        slow_seconds: 20,
        hang_seconds: 120,
        crash_dir: PathBuf::from("target/fuzz-crashes"),
        exclude: vec![],
        no_plots: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |v: &str| format!("{flag} {v}: not a valid value");
        match flag.as_str() {
            "--seed" => a.seed = val()?.parse().map_err(|_| bad("seed"))?,
            "--parse-cases" => a.parse_cases = val()?.parse().map_err(|_| bad("count"))?,
            "--run-seconds" => {
                a.run_seconds = val()?.parse().map_err(|_| bad("seconds"))?;
                if !(a.run_seconds.is_finite() && a.run_seconds >= 0.0) {
                    return Err(bad("seconds"));
                }
            }
            "--slow-seconds" => a.slow_seconds = val()?.parse().map_err(|_| bad("seconds"))?,
            "--hang-seconds" => a.hang_seconds = val()?.parse().map_err(|_| bad("seconds"))?,
            "--crash-dir" => a.crash_dir = PathBuf::from(val()?),
            "--exclude" => a.exclude.push(val()?),
            "--no-plots" => a.no_plots = true,
            "-h" | "--help" => {
                return Err(
                    "usage: fuzz [--seed S] [--parse-cases N] [--run-seconds T] [--slow-seconds T] [--hang-seconds T] [--crash-dir DIR] [--exclude NAME]... [--no-plots]"
                        .to_string(),
                )
            }
            other => return Err(format!("unknown argument `{other}`; try --help")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(m) => {
            eprintln!("{m}");
            std::process::exit(2);
        }
    };
    match fuzz(&args) {
        Ok(panics) => std::process::exit(if panics > 0 { 1 } else { 0 }),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

fn fuzz(args: &Args) -> Result<u64> {
    std::fs::create_dir_all(&args.crash_dir).map_err(|e| Error::input(format!("{}: {e}", args.crash_dir.display())))?;
    // Cases write their inputs to files: in memory (/dev/shm) where there is one.
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let tmp = base.join(format!("rlkit-fuzz-{}-{}", std::process::id(), args.seed));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::input(format!("{}: {e}", tmp.display())))?;
    let c = corpus(&tmp)?;
    let world = zhao_world()?;
    std::panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if let Ok(mut m) = PANIC_MSG.lock() {
            *m = format!("{payload}{loc}");
        }
    }));
    println!("seed {}: inputs in flight in {} (left behind if the process aborts)", args.seed, tmp.display());
    let mut h = Harness {
        crash_dir: args.crash_dir.clone(),
        tmp: tmp.clone(),
        seed: args.seed,
        counts: Arc::new(Mutex::new(BTreeMap::new())),
        current: Arc::new(Mutex::new(Current {
            start: Instant::now(),
            case: 0,
            target: Target::Env,
            in_flight: tmp.join("none"),
            warned: true,
        })),
        slow_seconds: args.slow_seconds,
    };
    // A watchdog names a case still running after --slow-seconds; after
    // --hang-seconds it saves the input as `hang-…`, prints the counts so far
    // and ends the process with exit code 3 (a case cannot be stopped in-process).
    let done = Arc::new(AtomicBool::new(false));
    {
        let (current, counts, done) = (h.current.clone(), h.counts.clone(), done.clone());
        let (slow, hang, seed, crash_dir) = (args.slow_seconds, args.hang_seconds, args.seed, args.crash_dir.clone());
        let began = Instant::now();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                let Ok(mut g) = current.lock() else { continue };
                let secs = g.start.elapsed().as_secs();
                if !g.warned && secs > slow {
                    g.warned = true;
                    println!("still running: {} case {} after {slow} s", g.target.name(), g.case);
                }
                if g.warned && secs > hang {
                    let path = crash_dir.join(format!("hang-{}-{seed}-{}.{}", g.target.name(), g.case, g.target.ext()));
                    let _ = std::fs::copy(&g.in_flight, &path);
                    println!(
                        "HANG {} case {}: over {hang} s (input: {}); {:.0} s after the start",
                        g.target.name(),
                        g.case,
                        path.display(),
                        began.elapsed().as_secs_f64()
                    );
                    print_table(&counts.lock().unwrap_or_else(|p| p.into_inner()));
                    std::process::exit(3);
                }
            }
        });
    }
    let t0 = Instant::now();
    let mut rng = rlkit::util::rng_for(args.seed, &[0xf022]);
    let all: Vec<Seed> = c.experiments.iter().chain(&c.envs).chain(&c.presets).chain(&c.networks).cloned().collect();
    let parse_targets = [
        (Target::Experiment, 3u32),
        (Target::Env, 3),
        (Target::Preset, 1),
        (Target::Network, 3),
        (Target::Policy, 1),
        (Target::Safetensors, 2),
    ];
    let total_w: u32 = parse_targets.iter().map(|t| t.1).sum();
    for case in 0..args.parse_cases {
        let mut r = rng.random_range(0..total_w);
        let target = parse_targets
            .iter()
            .find(|t| {
                if r < t.1 {
                    true
                } else {
                    r -= t.1;
                    false
                }
            })
            .map_or(Target::Env, |t| t.0);
        let pool = match target {
            Target::Experiment => &c.experiments,
            Target::Env => &c.envs,
            Target::Preset => &c.presets,
            Target::Network => &c.networks,
            Target::Policy => &c.policies,
            _ => &c.safetensors,
        };
        let seed = pick(&mut rng, pool).clone();
        let mut bytes = seed.bytes.clone();
        if target == Target::Safetensors {
            mutate_safetensors(&mut rng, &mut bytes);
        } else {
            mutate(&mut rng, &mut bytes, &c, &all, 4);
        }
        h.case(target, case, &bytes, 64 << 20, || parse_case(target, &bytes, &tmp, &seed.path, &world));
        if (case + 1) % 100_000 == 0 {
            println!("… {} parse cases, {:.0} s", case + 1, t0.elapsed().as_secs_f64());
        }
    }
    let parse_secs = t0.elapsed().as_secs_f64();
    // Run cases until the time is up (one in eight unmutated, as a baseline).
    // Mountain Car without a step limit takes minutes even for a few
    // episodes, and behaviour cloning trains for minutes on the shared
    // machine: they are left to the parse cases.
    let run_pool: Vec<Seed> = c
        .experiments
        .iter()
        .filter(|s| {
            let t = String::from_utf8_lossy(&s.bytes);
            let name = s.path.display().to_string();
            !t.contains("mountain_car")
                && !t.contains("behaviour-cloning")
                && !args.exclude.iter().any(|x| name.contains(x.as_str()))
        })
        .cloned()
        .collect();
    let t1 = Instant::now();
    let mut case = args.parse_cases;
    while t1.elapsed().as_secs_f64() < args.run_seconds {
        let target = if rng.random_range(0..2u32) == 0 { Target::RunExperiment } else { Target::RunNetwork };
        if target == Target::RunExperiment {
            let seed = pick(&mut rng, &run_pool).clone();
            let mut bytes = seed.bytes.clone();
            // Mutate the experiment, or the env it names (written next to it).
            let text = String::from_utf8_lossy(&bytes).to_string();
            let env_ref = c.envs.iter().find(|e| text.contains(&e.path.display().to_string()));
            if let (Some(env), true) = (env_ref, rng.random_range(0..2u32) == 0) {
                let mut env_bytes = env.bytes.clone();
                mutate(&mut rng, &mut env_bytes, &c, &all, 2);
                let p = tmp.join("run-env.toml");
                let _ = std::fs::write(&p, cap_integers(&env_bytes));
                bytes = text.replace(&env.path.display().to_string(), &p.display().to_string()).into_bytes();
            } else if rng.random_range(0..8u32) > 0 {
                mutate(&mut rng, &mut bytes, &c, &all, 2);
            }
            let mut capped = cap_integers(&bytes);
            capped.extend_from_slice(b"\n");
            h.case(target, case, &capped, 256 << 20, || run_experiment_case(&capped, &tmp, args.no_plots));
        } else {
            let seed = pick(&mut rng, &c.networks).clone();
            let mut bytes = seed.bytes.clone();
            let mutate_weights = rng.random_range(0..4u32) == 0;
            let weights = if mutate_weights {
                // grid_backbone's weights, mutated, on the unmutated network.
                let mut w = c.safetensors[0].bytes.clone();
                mutate_safetensors(&mut rng, &mut w);
                bytes = std::fs::read("configs/networks/grid_backbone.toml").unwrap_or(bytes);
                Some(w)
            } else {
                if rng.random_range(0..8u32) > 0 {
                    mutate(&mut rng, &mut bytes, &c, &all, 2);
                }
                None
            };
            let mut case_rng = rlkit::util::rng_for(args.seed, &[0xf023, case]);
            let saved = weights.clone().unwrap_or_else(|| bytes.clone());
            h.case(target, case, &saved, 256 << 20, || {
                if weights.is_some() {
                    // The weights were written for [4, 3, 3].
                    let f = NetworkFile::from_str("grid_backbone.toml", &String::from_utf8_lossy(&bytes))?;
                    let mut net = f.build::<f32>([4, 3, 3], 0)?;
                    let p = tmp.join("run-weights.safetensors");
                    write(&p, weights.as_deref().unwrap_or_default())?;
                    net.load_state(&rlkit::nn::io::read_tensors(&p)?, "run-weights.safetensors")?;
                    let x = ArrayD::from_shape_simple_fn(vec![2, 4, 3, 3], || case_rng.random::<f32>() - 0.5);
                    let y = net.forward(x)?;
                    net.backward(ArrayD::ones(y.shape()))?;
                    Ok(())
                } else {
                    run_network_case(&bytes, None, &tmp, &mut case_rng)
                }
            });
        }
        case += 1;
    }
    done.store(true, Ordering::SeqCst);
    let run_secs = t1.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&tmp);
    let panics = print_table(&h.counts.lock().unwrap_or_else(|p| p.into_inner()));
    println!(
        "seed {}: {} parse/check cases in {parse_secs:.1} s, {} run/forward cases in {run_secs:.1} s; crashes in {}",
        args.seed,
        args.parse_cases,
        case - args.parse_cases,
        h.crash_dir.display()
    );
    Ok(panics)
}
