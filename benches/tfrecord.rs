//! TFRecord throughput: rlkit's writer and CRC-checking reader (with Example
//! encode/decode) against the Python `tfrecord` package on the same records.
//!
//! ```sh
//! cargo bench --bench tfrecord            # N = 200000 transitions
//! RLKIT_BENCH_N=50000 cargo bench --bench tfrecord
//! ```
//!
//! Prints records/s and MB/s for each direction; the Python side is
//! `scripts/bench_tfrecord.py` (skipped with a note when python3 or the
//! package is missing).

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use rlkit::data::example::{Example, Value};
use rlkit::data::tfrecord::{Reader, Writer};

fn transition(i: usize) -> Example {
    let mut ex = Example::default();
    let o = vec![(i % 48) as f32, (i % 4) as f32, (i % 12) as f32];
    ex.insert("action", Value::Int(vec![(i % 4) as i64]));
    ex.insert("agent", Value::Bytes(vec![b"LinQ".to_vec()]));
    ex.insert("episode", Value::Int(vec![(i / 100 + 1) as i64]));
    ex.insert("next_observation", Value::Float(o.clone()));
    ex.insert("next_state", Value::Int(vec![(i % 48) as i64]));
    ex.insert("observation", Value::Float(o));
    ex.insert("observation_shape", Value::Int(vec![3]));
    ex.insert("reward", Value::Float(vec![-1.0]));
    ex.insert("seed", Value::Int(vec![0]));
    ex.insert("state", Value::Int(vec![(i % 48) as i64]));
    ex.insert("step", Value::Int(vec![(i % 100 + 1) as i64]));
    ex.insert("terminated", Value::Int(vec![0]));
    ex.insert("truncated", Value::Int(vec![0]));
    ex
}

fn line(who: &str, dir: &str, n: u64, secs: f64, bytes: u64) {
    println!(
        "{who:<8} {dir:<6} {n:>9} records {secs:>8.3} s {:>12.0} records/s {:>8.1} MB/s",
        n as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn main() {
    let n: usize = std::env::var("RLKIT_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let path = std::env::temp_dir().join(format!("rlkit-bench-{}.tfrecord", std::process::id()));
    // Write: build the Example, encode it, frame it with both CRCs, buffered file.
    let t = Instant::now();
    let f = std::fs::File::create(&path).unwrap();
    let mut w = Writer::new(BufWriter::with_capacity(1 << 20, f));
    for i in 0..n {
        w.write_record(&transition(i).encode_to_vec()).unwrap();
    }
    let bytes = w.bytes();
    drop(w.into_inner());
    line("rlkit", "write", n as u64, t.elapsed().as_secs_f64(), bytes);
    // Read: check both CRCs and decode every Example.
    let t = Instant::now();
    let mut r = Reader::new(BufReader::with_capacity(1 << 20, std::fs::File::open(&path).unwrap()));
    let mut buf = Vec::new();
    let mut k = 0u64;
    let mut keys = 0usize;
    while r.read_into(&mut buf).unwrap() {
        keys += Example::decode(&buf).unwrap().keys().len();
        k += 1;
    }
    assert_eq!((k, keys), (n as u64, 13 * n));
    line("rlkit", "read", k, t.elapsed().as_secs_f64(), bytes);
    match std::process::Command::new("python3")
        .args(["scripts/bench_tfrecord.py", path.to_str().unwrap(), &n.to_string()])
        .output()
    {
        Ok(o) if o.status.success() => {
            for l in String::from_utf8_lossy(&o.stdout).lines() {
                let f: Vec<&str> = l.split_whitespace().collect();
                if let [who, dir, n, s, b] = f[..] {
                    line(who, dir, n.parse().unwrap(), s.parse().unwrap(), b.parse().unwrap());
                }
            }
        }
        Ok(o) => println!("python side skipped: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")),
        Err(e) => println!("python side skipped: {e}"),
    }
    let _ = std::fs::remove_file(&path);
}
