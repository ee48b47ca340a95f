//! TFRecord and trajectory export: byte-exact framing against an independent
//! writer, round trips, damage reporting, and exported runs that reproduce the
//! run's episodes.csv and are readable by the Python `tfrecord` package.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::RngExt;
use rlkit::data::example::{Example, Value};
use rlkit::data::tfrecord::{self, crc32c, Reader, Writer};

fn rlkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).args(args).output().expect("run rlkit")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-tfr-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn assert_user_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` not in: {err}");
    }
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    // The masked CRC of an 8-byte zero length, as TensorFlow writes an empty record.
    let mut v = Vec::new();
    tfrecord::encode_record(b"", &mut v);
    assert_eq!(v, [0, 0, 0, 0, 0, 0, 0, 0, 41, 3, 152, 7, 0xd8, 0xea, 0x82, 0xa2]);
}

/// `tests/fixtures/tfrecord/one_record.tfrecord` was written by the Python
/// `tfrecord` package (see `make_fixture.py` beside it).
#[test]
fn one_record_matches_python_tfrecord_fixture() {
    let fixture = std::fs::read("tests/fixtures/tfrecord/one_record.tfrecord").unwrap();
    let mut ex = Example::default();
    ex.insert("action", Value::Int(vec![3]));
    ex.insert("agent", Value::Bytes(vec![b"Sarsa".to_vec()]));
    ex.insert("episode", Value::Int(vec![2]));
    ex.insert("next_observation", Value::Float(vec![37.0, 3.0, 1.0]));
    ex.insert("next_state", Value::Int(vec![37]));
    ex.insert("observation", Value::Float(vec![36.0, 3.0, 0.0]));
    ex.insert("observation_shape", Value::Int(vec![3]));
    ex.insert("reward", Value::Float(vec![-100.0]));
    ex.insert("seed", Value::Int(vec![7]));
    ex.insert("state", Value::Int(vec![36]));
    ex.insert("step", Value::Int(vec![15]));
    ex.insert("terminated", Value::Int(vec![0]));
    ex.insert("truncated", Value::Int(vec![1]));
    let mut w = Writer::new(Vec::new());
    w.write_record(&ex.encode_to_vec()).unwrap();
    let bytes = w.into_inner();
    assert_eq!(bytes.len(), 301);
    assert_eq!(bytes, fixture);
    // And the reader parses the fixture back to the same example.
    let recs: Vec<Vec<u8>> = Reader::new(&fixture[..]).map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), 1);
    assert_eq!(Example::decode(&recs[0]).unwrap(), ex);
}

#[test]
fn random_examples_round_trip_through_a_file() {
    let mut rng = rlkit::util::rng_for(42, &[]);
    let mut examples = Vec::new();
    for _ in 0..300 {
        let mut ex = Example::default();
        for k in 0..rng.random_range(0..6usize) {
            let n = rng.random_range(0..5usize);
            let v = match rng.random_range(0..3u8) {
                0 => {
                    Value::Bytes((0..n).map(|_| (0..rng.random_range(0..20)).map(|_| rng.random()).collect()).collect())
                }
                1 => Value::Float((0..n).map(|_| rng.random::<f32>() * 1e6 - 5e5).collect()),
                _ => Value::Int((0..n).map(|_| rng.random::<i64>()).collect()),
            };
            ex.insert(&format!("key{k}_{}", rng.random_range(0..100u32)), v);
        }
        examples.push(ex);
    }
    let dir = tmpdir("rt");
    let p = dir.join("r.tfrecord");
    let n = tfrecord::write_all(&p, examples.iter().map(|e| e.encode_to_vec())).unwrap();
    assert_eq!(n, 300);
    let back: Vec<Example> = tfrecord::read_all(&p).unwrap().iter().map(|b| Example::decode(b).unwrap()).collect();
    assert_eq!(back, examples);
    // Sorted keys: the same example always serializes to the same bytes.
    for (a, b) in back.iter().zip(&examples) {
        assert_eq!(a.encode_to_vec(), b.encode_to_vec());
        let keys = a.keys();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}

fn run_cliff(dir: &Path, extra: &str) -> PathBuf {
    let exp = dir.join("exp.toml");
    std::fs::write(
        &exp,
        format!(
            "name = \"cliff\"\nseeds = 2\nepisodes = 30\n{extra}\n[env]\npath = \"envs/cliff_walking.toml\"\n\
             [[agents]]\nkind = \"sarsa\"\nname = \"Sarsa\"\nalpha = 0.5\nepsilon = 0.1\n\
             [[agents]]\nkind = \"linear-q-learning\"\nname = \"LinQ\"\nalpha = 0.5\nepsilon = 0.1\nfeatures = [{{ kind = \"one_hot_state\" }}]\n\
             [[agents]]\nkind = \"value-iteration\"\nname = \"VI\"\n"
        ),
    )
    .unwrap();
    let out = dir.join("run");
    let o = rlkit(&["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// (agent, seed) → per-episode (return, length) from episodes.csv.
fn episodes(run: &Path) -> std::collections::BTreeMap<(String, i64), Vec<(f64, i64)>> {
    let text = std::fs::read_to_string(run.join("episodes.csv")).unwrap();
    let mut m: std::collections::BTreeMap<(String, i64), Vec<(f64, i64)>> = Default::default();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        m.entry((f[0].to_string(), f[1].parse().unwrap()))
            .or_default()
            .push((f[3].parse().unwrap(), f[4].parse().unwrap()));
    }
    m
}

fn int(ex: &Example, k: &str) -> i64 {
    match ex.get(k) {
        Some(Value::Int(v)) => v[0],
        other => panic!("{k}: {other:?}"),
    }
}

#[test]
fn export_reproduces_episodes_and_is_deterministic() {
    let dir = tmpdir("export");
    let run = run_cliff(&dir, "");
    let o = rlkit(&["export", run.to_str().unwrap(), "--format", "tfrecord"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("wrote 4 files"), "{stdout}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped VI"));
    let eps = episodes(&run);
    for ((agent, seed), rows) in &eps {
        let p = run.join("trajectories").join(format!("{agent}_seed{seed}.tfrecord"));
        let recs = tfrecord::read_all(&p).unwrap();
        let total: i64 = rows.iter().map(|r| r.1).sum();
        assert_eq!(recs.len() as i64, total, "{agent} {seed}");
        // Sum the rewards per episode: equals the episode's return in episodes.csv.
        let mut ret = vec![0.0f64; rows.len()];
        let mut len = vec![0i64; rows.len()];
        let mut prev_next: Option<i64> = None;
        for r in &recs {
            let ex = Example::decode(r).unwrap();
            assert_eq!(ex.get("agent"), Some(Value::Bytes(vec![agent.as_bytes().to_vec()])));
            assert_eq!(int(&ex, "seed"), *seed);
            let e = int(&ex, "episode") as usize - 1;
            len[e] += 1;
            assert_eq!(int(&ex, "step"), len[e]);
            let Some(Value::Float(rw)) = ex.get("reward") else { panic!() };
            ret[e] += rw[0] as f64;
            // Within an episode, a step starts where the previous one ended.
            if len[e] > 1 {
                assert_eq!(Some(int(&ex, "state")), prev_next);
            } else {
                assert_eq!(int(&ex, "state"), 36, "cliff start (3,0)");
            }
            prev_next = Some(int(&ex, "next_state"));
            let approx = agent == "LinQ";
            assert_eq!(ex.get("observation").is_some(), approx);
            if approx {
                assert_eq!(int(&ex, "observation_shape"), 3);
                let Some(Value::Float(o)) = ex.get("observation") else { panic!() };
                assert_eq!(o[0] as i64, int(&ex, "state"));
            }
            let last = int(&ex, "terminated") == 1 || int(&ex, "truncated") == 1;
            assert_eq!(last, len[e] == rows[e].1, "end flags at the episode's last step");
        }
        for (e, row) in rows.iter().enumerate() {
            assert_eq!((ret[e], len[e]), *row, "{agent} seed {seed} episode {}", e + 1);
        }
    }
    // Exporting again gives identical bytes; `[output] trajectories` gives the same files.
    let a = std::fs::read(run.join("trajectories/Sarsa_seed1.tfrecord")).unwrap();
    let o = rlkit(&["export", run.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(std::fs::read(run.join("trajectories/Sarsa_seed1.tfrecord")).unwrap(), a);
    let dir2 = tmpdir("export-output");
    let run2 = run_cliff(&dir2, "[output]\ntrajectories = \"tfrecord\"");
    assert_eq!(std::fs::read(run2.join("trajectories/Sarsa_seed1.tfrecord")).unwrap(), a);
    assert_eq!(
        std::fs::read(run2.join("trajectories/LinQ_seed0.tfrecord")).unwrap(),
        std::fs::read(run.join("trajectories/LinQ_seed0.tfrecord")).unwrap()
    );
    // inspect lists the keys and their types.
    let o = rlkit(&["inspect", run.join("trajectories/LinQ_seed0.tfrecord").to_str().unwrap()]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    let n: i64 = eps[&("LinQ".to_string(), 0)].iter().map(|r| r.1).sum();
    assert!(s.contains(&format!("{n} records")), "{s}");
    for (k, t) in [("agent", "bytes"), ("observation", "float"), ("observation_shape", "int64"), ("reward", "float")] {
        assert!(s.lines().any(|l| l.split_whitespace().take(2).eq([k, t])), "{k} {t} in {s}");
    }
    // Python's `tfrecord` package reads the same records, when it is installed.
    let py = "import sys, tfrecord\nn = 0; r = 0.0\nfor ex in tfrecord.tfrecord_loader(sys.argv[1], None):\n    n += 1; r += float(ex['reward'][0])\nprint(n, r)\n";
    match Command::new("python3").args(["-c", "import tfrecord"]).output() {
        Ok(o) if o.status.success() => {
            let p = run.join("trajectories/LinQ_seed0.tfrecord");
            let o = Command::new("python3").args(["-c", py, p.to_str().unwrap()]).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let s = String::from_utf8_lossy(&o.stdout);
            let mut it = s.split_whitespace();
            let count: i64 = it.next().unwrap().parse().unwrap();
            let reward: f64 = it.next().unwrap().parse().unwrap();
            let want: f64 = eps[&("LinQ".to_string(), 0)].iter().map(|r| r.0).sum();
            assert_eq!((count, reward), (n, want));
        }
        _ => println!("skipped: python3 with the `tfrecord` package is not available (pip install tfrecord)"),
    }
}

#[test]
fn damaged_files_are_reported_with_record_and_offset() {
    let dir = tmpdir("damage");
    let p = dir.join("ok.tfrecord");
    let recs: Vec<Vec<u8>> = (0..10u8)
        .map(|i| {
            let mut ex = Example::default();
            ex.insert("x", Value::Bytes(vec![vec![i; 10 + i as usize]]));
            ex.encode_to_vec()
        })
        .collect();
    tfrecord::write_all(&p, &recs).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    // Record k starts after the 16 framing bytes and the data of each record before it.
    let start = |k: usize| (0..k).map(|i| 16 + recs[i].len()).sum::<usize>();
    // Corrupt a data byte of record 4.
    let mut bad = bytes.clone();
    bad[start(4) + 12 + 3] ^= 0xff;
    let bp = dir.join("bad.tfrecord");
    std::fs::write(&bp, &bad).unwrap();
    let good: Vec<_> = tfrecord::open(&bp).unwrap().take_while(|r| r.is_ok()).collect();
    assert_eq!(good.len(), 4, "the reader yields the records before the damage");
    let o = rlkit(&["inspect", bp.to_str().unwrap()]);
    assert_user_error(&o, &["bad.tfrecord", "record 4", &format!("byte offset {}", start(4)), "data CRC"]);
    // Truncated in the middle of record 7's data.
    let tp = dir.join("trunc.tfrecord");
    std::fs::write(&tp, &bytes[..start(7) + 15]).unwrap();
    let o = rlkit(&["inspect", tp.to_str().unwrap()]);
    assert_user_error(&o, &["trunc.tfrecord", "record 7", &format!("byte offset {}", start(7)), "truncated"]);
    let o = rlkit(&["inspect", p.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("10 records"));
    // Not an Example, missing file, not a run directory.
    let np = dir.join("raw.tfrecord");
    tfrecord::write_all(&np, [vec![0u8; 5]]).unwrap();
    let o = rlkit(&["inspect", np.to_str().unwrap()]);
    assert_user_error(&o, &["raw.tfrecord", "record 0 at byte offset 0", "not a tf.train.Example"]);
    let o = rlkit(&["inspect", dir.join("nope.tfrecord").to_str().unwrap()]);
    assert_user_error(&o, &["nope.tfrecord", "cannot open"]);
    let o = rlkit(&["export", dir.to_str().unwrap()]);
    assert_user_error(&o, &["no summary.json"]);
}
