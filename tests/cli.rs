//! The `rlkit` binary, run as a user would: bad input gets one clear line on
//! stderr naming the file and the line/column or key, exit code 2, no panic, and
//! no partial output directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rlkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).args(args).output().expect("run rlkit")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Exit code 2, exactly one line on stderr that starts with `error: ` and contains every
/// `needle`, no panic.
fn assert_user_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` not in: {err}");
    }
}

const GOOD_EXP: &str = "name = \"t\"\n[env]\npath = \"envs/zhao_5x5.toml\"\n[[agents]]\nkind = \"value-iteration\"\n";

fn run_exp(dir: &Path, text: &str) -> (Output, PathBuf) {
    let f = write(dir, "exp.toml", text);
    let out_dir = dir.join("out");
    let o = rlkit(&["run", &f, "--out", out_dir.to_str().unwrap(), "-q"]);
    (o, out_dir)
}

#[test]
fn malformed_toml() {
    let d = tmpdir("malformed");
    let (o, out) = run_exp(&d, "name = \"t\"\n[env\npath = 1\n");
    assert_user_error(&o, &["exp.toml:2:", "invalid TOML"]);
    assert!(!out.exists(), "no partial output directory");
}

#[test]
fn unknown_key_with_did_you_mean() {
    let d = tmpdir("unknown");
    let (o, out) =
        run_exp(&d, &GOOD_EXP.replace("kind = \"value-iteration\"\n", "kind = \"value-iteration\"\ntoll = 1e-6\n"));
    assert_user_error(&o, &["exp.toml:6:1", "agents[0].toll", "unknown field `toll`", "did you mean `tol`?"]);
    assert!(!out.exists());
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("name = \"t\"", "name = \"t\"\nseeed = 3"));
    assert_user_error(&o, &["exp.toml:2:1", "did you mean `seed`?"]);
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("value-iteration", "value-iterashun"));
    assert_user_error(&o, &["exp.toml:5:1", "unknown agent kind `value-iterashun`", "did you mean `value-iteration`?"]);
}

#[test]
fn wrong_types() {
    let d = tmpdir("types");
    let (o, out) = run_exp(
        &d,
        &GOOD_EXP.replace("kind = \"value-iteration\"\n", "kind = \"value-iteration\"\nmax_iterations = 1e5\n"),
    );
    assert_user_error(&o, &["exp.toml:6:1", "agents[0].max_iterations", "100_000"]);
    assert!(!out.exists());
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("name = \"t\"", "name = \"t\"\nseeds = \"many\""));
    assert_user_error(&o, &["exp.toml:2:1", "seeds"]);
}

#[test]
fn bad_maps() {
    let d = tmpdir("maps");
    let ragged = write(&d, "ragged.toml", "gamma = 0.9\nmap = \"\"\"\n...\n..\n...\n\"\"\"\n");
    assert_user_error(&rlkit(&["check", &ragged]), &["ragged.toml:4:1", "row 1 has 2 cells but row 0 has 3"]);
    let sym = write(&d, "sym.toml", "gamma = 0.9\nmap = \"\"\"\n..Z\n\"\"\"\n");
    assert_user_error(&rlkit(&["check", &sym]), &["sym.toml:3:1", "unknown symbol `Z`", "valid symbols:"]);
    let nostart = write(&d, "nostart.toml", "gamma = 1.0\nactions = \"four\"\nmap = \"\"\"\n....\n.CCG\n\"\"\"\n");
    assert_user_error(&rlkit(&["check", &nostart]), &["nostart.toml:3:1", "no start", "add an `S`"]);
    // An env error reached through an experiment names the env file.
    let env = write(&d, "env.toml", "gamma = 0.9\nmap = \"..Q\"\n");
    let (o, out) = run_exp(&d, &GOOD_EXP.replace("envs/zhao_5x5.toml", &env));
    assert_user_error(&o, &["env.toml:2:1", "unknown symbol `Q`"]);
    assert!(!out.exists());
}

#[test]
fn bad_gamma() {
    let d = tmpdir("gamma");
    let (o, out) =
        run_exp(&d, &GOOD_EXP.replace("path = \"envs/zhao_5x5.toml\"", "path = \"envs/zhao_5x5.toml\"\ngamma = 1.5"));
    assert_user_error(&o, &["exp.toml:4:1", "env.gamma", "outside [0, 1]"]);
    assert!(!out.exists());
    // gamma = 1 on a continuing task.
    let (o, out) =
        run_exp(&d, &GOOD_EXP.replace("path = \"envs/zhao_5x5.toml\"", "path = \"envs/zhao_5x5.toml\"\ngamma = 1.0"));
    assert_user_error(&o, &["envs/zhao_5x5.toml", "gamma = 1 requires an episodic task", "use gamma < 1"]);
    assert!(!out.exists());
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--gamma", "1"]);
    assert_user_error(&o, &["envs/zhao_5x5.toml", "gamma = 1 requires an episodic task"]);
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--set", "gamma=-0.1"]);
    assert_user_error(&o, &["--set gamma=-0.1", "outside [0, 1]"]);
}

#[test]
fn policy_file_shape_mismatch() {
    let d = tmpdir("policy");
    let p = write(&d, "p.txt", "> > > >\n> > > >\n");
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--algo", "policy-evaluation", "--policy", &p]);
    assert_user_error(&o, &["p.txt:1:1", "4 symbols but the map has 5 columns"]);
    let p = write(&d, "q.txt", ">>>>>\n>>>>>\n");
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--algo", "policy-evaluation", "--policy", &p]);
    assert_user_error(&o, &["q.txt", "2 rows but the map has 5"]);
    let p = write(&d, "r.txt", ">>>>>\n>>x>>\n>>>>>\n>>>>>\n>>>>>\n");
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--algo", "policy-evaluation", "--policy", &p]);
    assert_user_error(&o, &["r.txt:2:3", "`x` is not an action", "^ > v < o"]);
    // Through an experiment: nothing is written.
    let (o, out) = run_exp(
        &d,
        &GOOD_EXP.replace("kind = \"value-iteration\"\n", &format!("kind = \"policy-evaluation\"\npolicy = \"{p}\"\n")),
    );
    assert_user_error(&o, &["r.txt:2:3"]);
    assert!(!out.exists());
}

#[test]
fn unwritable_output_directory() {
    let d = tmpdir("unwritable");
    // A path below a regular file cannot be created, even by root.
    let blocker = write(&d, "file", "x");
    let f = write(&d, "exp.toml", GOOD_EXP);
    let o = rlkit(&["run", &f, "--out", &format!("{blocker}/sub"), "-q"]);
    assert_user_error(&o, &["file/sub", "not writable", "--out DIR"]);
}

#[test]
fn bad_set_and_missing_file() {
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--set", "rewards"]);
    assert_user_error(&o, &["--set rewards", "KEY=VALUE"]);
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--set", "rewards.forbiden=-10"]);
    assert_user_error(&o, &["--set rewards.forbiden=-10", "did you mean `forbidden`?"]);
    let o = rlkit(&["check", "envs/nope.toml"]);
    assert_user_error(&o, &["envs/nope.toml: cannot read"]);
}

#[test]
fn check_accepts_every_shipped_file() {
    for dir in ["envs", "experiments"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let o = rlkit(&["check", p.to_str().unwrap()]);
                assert!(o.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
            }
        }
    }
}

#[test]
fn solve_csv_format() {
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--format", "csv", "--set", "rewards.forbidden=-10"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,col,value");
    assert_eq!(lines.len(), 26);
    let v: f64 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
    assert!((v - 3.486784401).abs() < 1e-8, "{v}"); // Zhao Fig 3.4(d) top-left
    assert!(lines[18].starts_with("3,2,")); // the target
                                            // Walls are included with their value 0.
    let d = tmpdir("walls");
    let env = write(&d, "w.toml", "gamma = 0.9\nactions = \"four\"\nmap = \".#T\"\n");
    let o = rlkit(&["solve", &env, "--format", "csv"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().nth(2).unwrap(), "0,1,0");
}

#[test]
fn run_render_and_list() {
    let d = tmpdir("render");
    let (o, out) = run_exp(&d, GOOD_EXP);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(out.to_str().unwrap()));
    for f in
        ["summary.json", "iterations.csv", "values.csv", "policy.csv", "config.resolved.toml", "plots/convergence.png"]
    {
        assert!(out.join(f).exists(), "{f}");
    }
    let png = d.join("r.png");
    let o = rlkit(&[
        "render",
        "envs/zhao_5x5.toml",
        "--values",
        out.join("values.csv").to_str().unwrap(),
        "--policy",
        out.join("policies/value-iteration.txt").to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let o = rlkit(&["list"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("envs/zhao_5x5.toml") && s.contains("value-iteration") && s.contains("experiments/quickstart.toml")
    );
}

#[test]
fn help_shows_examples() {
    let o = rlkit(&["--help"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("Examples:") && s.contains("rlkit run experiments/quickstart.toml"));
}

/// Inputs found in review: each is refused with one located line, exit 2, and nothing written.
#[test]
fn review_findings_are_refused_cleanly() {
    let d = tmpdir("review");
    // Absurd seed counts are refused before anything is allocated.
    let f = write(&d, "exp.toml", GOOD_EXP);
    let o = rlkit(&["run", &f, "--seeds", "1000000000000", "--out", d.join("o1").to_str().unwrap()]);
    assert_user_error(&o, &["--seeds = 1000000000000", "100000"]);
    assert!(!d.join("o1").exists());
    // Invalid solver settings are caught at load time (rlkit check agrees with rlkit run).
    let (o, out) =
        run_exp(&d, &GOOD_EXP.replace("kind = \"value-iteration\"\n", "kind = \"value-iteration\"\ntol = 0.0\n"));
    assert_user_error(&o, &["exp.toml:6:1", "agents[0].tol", "must be a finite number > 0"]);
    assert!(!out.exists());
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("name = \"t\"", "name = \"t\"\nepisodes = 0"));
    assert_user_error(&o, &["exp.toml:2:1", "episodes must be >= 1"]);
    // Non-finite rewards and impossible wind name the key.
    let env = write(&d, "nan.toml", "gamma = 0.9\nmap = \"..T\"\n[rewards]\nforbidden = nan\n");
    assert_user_error(&rlkit(&["check", &env]), &["nan.toml", "rewards.forbidden = NaN", "finite"]);
    let env = write(&d, "wind.toml", "gamma = 0.9\nmap = \"..T\"\n[dynamics]\nwind = [0, 7, 0]\n");
    assert_user_error(&rlkit(&["check", &env]), &["wind.toml", "dynamics.wind: strength 7"]);
    // A --set key with text after `]`.
    let o = rlkit(&["solve", "envs/zhao_5x5.toml", "--set", "rewards[0]forbidden=1"]);
    assert_user_error(&o, &["unexpected `forbidden` after `]`"]);
    // Variant names cannot climb out of the output directory.
    let (o, out) = run_exp(&d, &format!("{GOOD_EXP}[[variants]]\nname = \"..\"\n"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("___").join("values.csv").exists());
    // A values CSV with a negative row is refused, not read as row 0.
    let csv = write(&d, "v.csv", "row,col,value\n-1,0,5\n");
    let o = rlkit(&["render", "envs/zhao_5x5.toml", "--values", &csv, "-o", d.join("r.png").to_str().unwrap()]);
    assert_user_error(&o, &["v.csv:2", "whole numbers"]);
}

#[test]
fn bad_feature_columns_and_continuous_envs() {
    let d = tmpdir("features");
    let exp = |agent: &str, env: &str| {
        format!("name = \"f\"\n[env]\npath = \"{env}\"\n[[agents]]\nmax_episode_steps = 10\n{agent}\n")
    };
    let cases: &[(&str, &[&str])] = &[
        ("kind = \"linear-sarsa\"\nfeatures = [{ kind = \"polynomal\" }]", &[":7:", "features[0].kind", "did you mean `polynomial`?"]),
        (
            "kind = \"linear-sarsa\"\nfeatures = [{ kind = \"bucketized\", input = \"col\", boundaries = [3.0, 1.0] }]",
            &[":7:", "features[0].boundaries", "strictly increasing"],
        ),
        (
            "kind = \"td-linear\"\nfeatures = [{ kind = \"bucketized\", input = \"col\", boundaries = [] }]",
            &["features[0].boundaries", "at least one boundary"],
        ),
        (
            "kind = \"linear-q-learning\"\nfeatures = [{ kind = \"one_hot_state\" }, { kind = \"numeric\", input = \"velocity\" }]",
            &["features[1].input", "`velocity` is not an observation", "`row` in [0, 4]"],
        ),
        (
            "kind = \"linear-sarsa\"\nfeatures = [{ kind = \"hashed\", input = \"col\", hash_bucket_size = 0 }]",
            &["features[0].hash_bucket_size", "at least 1"],
        ),
        (
            "kind = \"linear-sarsa\"\nfeatures = [{ kind = \"fourier\", order = 9000 }]",
            &["features[0].order", "2^26"],
        ),
        ("kind = \"linear-sarsa\"\nstart = \"everywhere\"", &["agents[0].start", "\"uniform\""]),
    ];
    for (i, (agent, needles)) in cases.iter().enumerate() {
        let f = write(&d, &format!("e{i}.toml"), &exp(agent, "envs/zhao_5x5.toml"));
        assert_user_error(&rlkit(&["check", &f]), needles);
        let out = d.join(format!("out{i}"));
        assert_user_error(&rlkit(&["run", &f, "--out", out.to_str().unwrap(), "-q"]), needles);
        assert!(!out.exists(), "nothing written for a bad file");
    }
    // Tabular agents refuse a continuous env; features that need a finite world too.
    let f = write(&d, "mc1.toml", &exp("kind = \"sarsa\"", "envs/mountain_car.toml"));
    assert_user_error(&rlkit(&["check", &f]), &["agents[0].kind", "`mountain_car` is continuous", "linear-sarsa"]);
    let f = write(&d, "mc2.toml", &exp("kind = \"linear-sarsa\"\nstart = \"uniform\"", "envs/mountain_car.toml"));
    assert_user_error(&rlkit(&["check", &f]), &["agents[0].start", "continuous"]);
    let f = write(&d, "mc3.toml", &exp("kind = \"linear-sarsa\"", "envs/mountain_car.toml"));
    assert_user_error(&rlkit(&["check", &f]), &["one_hot_state", "finite"]);
    // An env file with a continuous kind: check describes it, solve refuses it.
    let o = rlkit(&["check", "envs/mountain_car.toml"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("`position` in [-1.2, 0.6]"));
    assert_user_error(&rlkit(&["solve", "envs/mountain_car.toml"]), &["continuous", "no tabular model"]);
}

#[test]
fn bad_network_files_for_dqn() {
    let d = tmpdir("dqn-net");
    write(&d, "out4.toml", "[[layers]]\nkind = \"flatten\"\n[[layers]]\nkind = \"linear\"\nout_features = 4\n");
    write(
        &d,
        "big.toml",
        "[[layers]]\nkind = \"conv2d\"\nout_channels = 2\nkernel_size = 9\n[[layers]]\nkind = \"flatten\"\n[[layers]]\nkind = \"linear\"\nout_features = 5\n",
    );
    write(&d, "typo.toml", "[[layers]]\nkind = \"linar\"\n");
    let cases: &[(&str, &[&str])] = &[
        ("out4", &["out4.toml:3:1", "layers[1]", "5 actions", "out_features = 5"]),
        ("big", &["big.toml:1:1", "layers[0]", "too small for kernel_size 9"]),
        ("typo", &["typo.toml:2:1", "did you mean `linear`?"]),
        ("missing", &["exp_missing.toml:7:1", "agents[0].network", "not found"]),
    ];
    for (net, needles) in cases {
        let f = write(
            &d,
            &format!("exp_{net}.toml"),
            &format!(
                "name = \"x\"\nepisodes = 1\n[env]\npath = \"{}/envs/zhao_5x5.toml\"\n[[agents]]\nkind = \"dqn\"\nnetwork = \"{net}.toml\"\nepisode_length = 10\n",
                env!("CARGO_MANIFEST_DIR")
            ),
        );
        assert_user_error(&rlkit(&["check", &f]), needles);
        let out = d.join(format!("out_{net}"));
        assert_user_error(&rlkit(&["run", &f, "--out", out.to_str().unwrap()]), needles);
        assert!(!out.exists());
    }
}

#[test]
fn a_diverging_seed_exits_1_and_keeps_the_outputs() {
    let d = tmpdir("nan");
    let out = d.join("out");
    let o = rlkit(&[
        "run",
        "experiments/zhao_fig8_11.toml",
        "--seeds",
        "2",
        "--set",
        "agents[0].lr=1e30",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("agent `DQN` seed 0") && err.contains("episode 1, step 1000"), "{err}");
    assert!(out.join("summary.json").exists() && out.join("values.csv").exists());
}
