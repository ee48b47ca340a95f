//! Input bounds of env files: the grid cell cap and memory budget, and finite
//! MDPs whose transitions live in a CSV file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rlkit::env::{load_env, World};

fn rlkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).args(args).output().expect("run rlkit")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-envin-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A gridworld TOML of `rows` rows of `cols` free cells.
fn write_grid(path: &Path, rows: usize, cols: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "gamma = 0.9\nmap = \"\"\"").unwrap();
    let row = ".".repeat(cols);
    for _ in 0..rows {
        writeln!(f, "{row}").unwrap();
    }
    writeln!(f, "\"\"\"").unwrap();
}

/// Regression (issue #11.1): a 100 M-cell map passed the cell cap and then
/// aborted allocating ~16 GiB. It is now refused before any per-cell
/// allocation, with the map's location and the budget, exit code 2.
#[test]
fn a_100m_cell_map_is_refused_by_the_memory_budget() {
    let d = tmpdir("huge");
    let p = d.join("big.toml");
    write_grid(&p, 10_000, 10_000);
    let o = rlkit(&["check", p.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("big.toml:2:1: map:"), "{e}");
    assert!(e.contains("10000x10000 map (100000000 cells, 5 actions)"), "{e}");
    // 100e6 cells x (4 + 16 + 5*8 + 5*21) bytes + 8 = 16.5e9 bytes = 15.4 GiB.
    assert!(e.contains("needs about 15.4 GiB but the memory budget is 2.0 GiB"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    // One row more is over the cell cap, whatever the budget.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.seek(SeekFrom::End(-4)).unwrap(); // before the closing `"""\n`
        write!(f, "{}\n\"\"\"\n", ".".repeat(10_000)).unwrap();
    }
    let o = rlkit(&["--mem-budget", "1T", "check", p.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("the map has 10001 rows of 10000 cells = 100010000 cells; rlkit supports up to 100000000"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_memory_budget_flag_decides_for_a_mid_sized_map() {
    let d = tmpdir("mid");
    let p = d.join("mid.toml");
    write_grid(&p, 1000, 1000);
    // 1e6 cells x 165 bytes + 8 = 165,000,008 bytes: over 100 MiB, under the default 2 GiB.
    assert_eq!(rlkit::env::gridworld::grid_model_bytes(1_000_000, 5, 1), 165_000_008);
    let o = rlkit(&["--mem-budget", "100M", "check", p.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("mid.toml:2:1: map:") && e.contains("needs about 157.4 MiB but the memory budget is 100.0 MiB"),
        "{e}"
    );
    let o = rlkit(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_dir_all(&d).unwrap();
}

const MDP_HEAD: &str = r#"kind = "mdp"
gamma = 0.9
states = ["a,b", "c \"q\"", "end"]
actions = ["go", "stay"]
terminal = ["end"]
start = ["a,b"]
"#;

const MDP_ROWS: &[(&str, &str, &str, f64, f64)] = &[
    ("a,b", "go", "c \"q\"", 0.25, 1.5),
    ("a,b", "go", "end", 0.75, -2.0),
    ("a,b", "stay", "a,b", 1.0, 0.0),
    ("c \"q\"", "*", "end", 0.5, 10.0),
    ("c \"q\"", "*", "a,b", 0.5, 0.1),
];

fn inline_mdp() -> String {
    let mut s = MDP_HEAD.to_string();
    for (f, a, t, p, r) in MDP_ROWS {
        let q = |x: &str| x.replace('"', "\\\"");
        s.push_str(&format!(
            "[[transitions]]\nfrom = \"{}\"\naction = \"{a}\"\nto = \"{}\"\nprob = {p:?}\nreward = {r:?}\n",
            q(f),
            q(t)
        ));
    }
    s
}

fn csv_rows() -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(["from", "action", "to", "prob", "reward"]).unwrap();
    for (f, a, t, p, r) in MDP_ROWS {
        w.write_record([f.to_string(), a.to_string(), t.to_string(), format!("{p:?}"), format!("{r:?}")]).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// A model's CSR arrays, owned: (offsets, prob, next, reward, done).
type Csr = (Vec<usize>, Vec<f64>, Vec<u32>, Vec<f64>, Vec<bool>);

fn model_of(w: &World) -> Csr {
    let (o, p, n, r, d) = w.model().raw();
    (o.to_vec(), p.to_vec(), n.to_vec(), r.to_vec(), d.to_vec())
}

#[test]
fn an_mdp_with_transitions_in_a_csv_file_equals_the_inline_one() {
    let d = tmpdir("mdpfile");
    std::fs::write(d.join("inline.toml"), inline_mdp()).unwrap();
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/t.csv"), csv_rows()).unwrap();
    // Relative to the TOML file's directory.
    std::fs::write(d.join("file.toml"), format!("{MDP_HEAD}transitions = {{ file = \"data/t.csv\" }}\n")).unwrap();
    let a = load_env(&d.join("inline.toml")).unwrap();
    let b = load_env(&d.join("file.toml")).unwrap();
    let (a, b) = (a.finite().unwrap(), b.finite().unwrap());
    assert_eq!(model_of(a), model_of(b));
    // Hand-checked CSR: pairs (a,b)/go, (a,b)/stay, c/go, c/stay, end/go, end/stay.
    let (offsets, prob, next, reward, done) = model_of(b);
    assert_eq!(offsets, vec![0, 2, 3, 5, 7, 8, 9]);
    assert_eq!(prob, vec![0.25, 0.75, 1.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]);
    assert_eq!(next, vec![1, 2, 0, 2, 0, 2, 0, 2, 2]);
    assert_eq!(reward, vec![1.5, -2.0, 0.0, 10.0, 0.1, 10.0, 0.1, 0.0, 0.0]);
    assert_eq!(done, vec![false, true, false, true, false, true, false, true, true]);
    assert_eq!(b.starts(), &[0]);
    // The same solution through the CLI, and both pass `check`.
    let sa = rlkit(&["solve", d.join("inline.toml").to_str().unwrap(), "--format", "csv"]);
    let sb = rlkit(&["solve", d.join("file.toml").to_str().unwrap(), "--format", "csv"]);
    assert_eq!(sa.status.code(), Some(0), "{}", stderr(&sa));
    assert_eq!(sa.stdout, sb.stdout);
    std::fs::remove_dir_all(&d).unwrap();
}

/// Runs `rlkit check` on an MDP whose transitions file has `csv` as content.
fn check_csv(name: &str, csv: &str) -> String {
    let d = tmpdir(name);
    std::fs::write(d.join("t.csv"), csv).unwrap();
    std::fs::write(d.join("m.toml"), format!("{MDP_HEAD}transitions = {{ file = \"t.csv\" }}\n")).unwrap();
    let o = rlkit(&["check", d.join("m.toml").to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    std::fs::remove_dir_all(&d).unwrap();
    e
}

#[test]
fn bad_rows_of_a_transitions_file_are_located_errors() {
    let good = csv_rows();
    let head = "from,action,to,prob,reward\n";
    let e = check_csv("unknown", &format!("{head}\"a,b\",go,nowhere,1,0\n"));
    assert!(e.contains("t.csv:2: to: unknown state `nowhere`; valid: a,b, c \"q\", end"), "{e}");
    let e = check_csv("action", &format!("{good}\"a,b\",jump,end,1,0\n"));
    assert!(e.contains("t.csv:7: action: unknown action `jump`; valid: go, stay, or \"*\""), "{e}");
    let e = check_csv("prob", &format!("{head}\"a,b\",go,end,x,0\n"));
    assert!(e.contains("t.csv:2: prob: `x` is not a number"), "{e}");
    let e = check_csv("range", &format!("{head}\"a,b\",go,end,1.5,0\n"));
    assert!(e.contains("t.csv:2: prob: prob = 1.5 is outside [0, 1]"), "{e}");
    let e = check_csv("ragged", &format!("{head}\"a,b\",go,end,1,0\n\"a,b\",stay\n"));
    assert!(e.contains("t.csv:3: a row has 2 fields but the header has 5"), "{e}");
    let e = check_csv("header", "state,action,next_state,prob,reward\n");
    assert!(e.contains("t.csv:1: the header is `state,action,next_state,prob,reward`"), "{e}");
    let e = check_csv("terminal", &format!("{good}end,go,end,1,0\n"));
    assert!(e.contains("t.csv:7: from: `end` is terminal and cannot have transitions"), "{e}");
    // Rows that parse but do not sum to 1: named by state and action, located at the key.
    let e = check_csv("sum", &format!("{head}\"a,b\",go,end,0.5,0\n"));
    assert!(e.contains("m.toml:7:1: transitions: state `a,b` action `go`: probabilities sum to 0.5, not 1"), "{e}");
    // A missing file is located at the TOML key.
    let d = tmpdir("missing");
    std::fs::write(d.join("m.toml"), format!("{MDP_HEAD}transitions = {{ file = \"nope.csv\" }}\n")).unwrap();
    let o = rlkit(&["check", d.join("m.toml").to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("m.toml:7:17: transitions.file: nope.csv: cannot read the transitions file"), "{e}");
    let o = rlkit(&["check", d.join("m.toml").to_str().unwrap().replace("m.toml", "x.toml").as_str()]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&d).unwrap();
}

/// Regression (issue #11.4): `run` wrote a finite MDP's greedy policy as CSV
/// into `policies/<agent>.txt`, and `solve --policy` picked the format by the
/// extension and failed on it; action names were not quoted. Now the file is
/// written with the csv crate and read back by content.
#[test]
fn a_policy_written_by_run_for_an_mdp_reads_back_in_solve() {
    let d = tmpdir("roundtrip");
    let head = MDP_HEAD.replace(r#"actions = ["go", "stay"]"#, r#"actions = ["go, fast", "stay"]"#);
    let rows = inline_mdp().replace(MDP_HEAD, "").replace("action = \"go\"", "action = \"go, fast\"");
    let env = d.join("m.toml");
    std::fs::write(&env, format!("{head}{rows}")).unwrap();
    let exp = d.join("exp.toml");
    std::fs::write(
        &exp,
        format!(
            "name = \"rt\"\nplots = []\n[env]\npath = \"{}\"\n[[agents]]\nkind = \"value-iteration\"\nname = \"VI\"\ntol = 1e-12\n",
            env.display()
        ),
    )
    .unwrap();
    let out = d.join("out");
    let o = rlkit(&["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pol = out.join("policies/VI.txt");
    let text = std::fs::read_to_string(&pol).unwrap();
    // By hand: v(c) = 0.5*10 + 0.5*(0.1 + 0.9 v(a,b)) = 5.05 + 0.45 v(a,b); from (a,b),
    // "go, fast" gives 0.25*(1.5 + 0.9 v(c)) + 0.75*(-2) = 0.225 v(c) - 1.125, "stay" 0.9 v(a,b).
    // With "go, fast": v(a,b) = 0.01125 / 0.89875 > 0 = the value of always staying, so it is greedy.
    let v_ab = 0.01125 / 0.89875;
    let v_c = 5.05 + 0.45 * v_ab;
    assert_eq!(text, "state,action,prob\n0,\"go, fast\",1\n1,\"go, fast\",1\n");
    let o = rlkit(&[
        "solve",
        env.to_str().unwrap(),
        "--algo",
        "policy-evaluation",
        "--policy",
        pol.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let eval = String::from_utf8(o.stdout).unwrap();
    let o = rlkit(&["solve", env.to_str().unwrap(), "--format", "csv", "--tol", "1e-12"]);
    let vi = String::from_utf8(o.stdout).unwrap();
    let parse = |t: &str| -> Vec<(String, f64, String)> {
        let mut r = csv::Reader::from_reader(t.as_bytes());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), ["state", "name", "value", "action"]);
        r.records().map(|x| x.unwrap()).map(|x| (x[1].to_string(), x[2].parse().unwrap(), x[3].to_string())).collect()
    };
    let (e, v) = (parse(&eval), parse(&vi));
    assert_eq!(e.len(), 3);
    for (a, b) in e.iter().zip(&v) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-9, "{a:?} {b:?}");
        assert_eq!(a.2, b.2);
    }
    assert_eq!((e[0].0.as_str(), e[0].2.as_str()), ("a,b", "go, fast"));
    assert!((e[0].1 - v_ab).abs() < 1e-9 && (e[1].1 - v_c).abs() < 1e-9, "{e:?}");
    assert_eq!((e[2].0.as_str(), e[2].1, e[2].2.as_str()), ("end", 0.0, ""), "a terminal state has no action");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A run pins its transitions file by SHA-256 in `config.resolved.toml` (env
/// file by reference, or an inline MDP env): replaying that config on a changed
/// file is refused at `transitions.sha256`, naming the file, with exit 2;
/// the unchanged file replays.
#[test]
fn config_resolved_pins_the_transitions_file_by_hash() {
    let d = tmpdir("mdphash");
    let csv = csv_rows();
    std::fs::write(d.join("t.csv"), &csv).unwrap();
    std::fs::write(d.join("m.toml"), format!("{MDP_HEAD}transitions = {{ file = \"t.csv\" }}\n")).unwrap();
    let want = rlkit::util::sha256_hex(csv.as_bytes());
    // The env file by reference.
    let exp =
        "name = \"pin\"\nplots = []\n[env]\npath = \"m.toml\"\n[[agents]]\nkind = \"value-iteration\"\nname = \"VI\"\n";
    std::fs::write(d.join("e.toml"), exp).unwrap();
    let out = d.join("out");
    let o = rlkit(&["run", d.join("e.toml").to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cfg = out.join("config.resolved.toml");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    assert_eq!(t["env"]["transitions"]["sha256"].as_str(), Some(want.as_str()), "{t}");
    let check = || rlkit(&["check", cfg.to_str().unwrap()]);
    assert_eq!(check().status.code(), Some(0), "{}", stderr(&check()));
    // Change one reward: the hash no longer matches.
    std::fs::write(d.join("t.csv"), csv.replacen("1.5", "2.5", 1)).unwrap();
    let o = check();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("transitions.sha256") && e.contains("t.csv changed since this config was written"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    // An MDP env written inline in the experiment records the hash in its spec.
    std::fs::write(d.join("t.csv"), &csv).unwrap();
    let inline = format!(
        "name = \"pin2\"\nplots = []\n[env]\n{MDP_HEAD}transitions = {{ file = \"t.csv\" }}\n[[agents]]\nkind = \"value-iteration\"\nname = \"VI\"\n"
    );
    std::fs::write(d.join("e2.toml"), inline).unwrap();
    let out2 = d.join("out2");
    let o = rlkit(&["run", d.join("e2.toml").to_str().unwrap(), "--out", out2.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(out2.join("config.resolved.toml")).unwrap()).unwrap();
    assert_eq!(t["env"]["transitions"]["sha256"].as_str(), Some(want.as_str()), "{t}");
    std::fs::remove_dir_all(&d).unwrap();
}
