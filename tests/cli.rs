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

/// Issue #11 §2: inputs that used to pass `check` and fail only at `run` (with no location and
/// a partial output directory) are refused by both, with the file, the line and the key.
#[test]
fn check_refuses_what_run_refuses() {
    let d = tmpdir("agree");
    let env = concat!(env!("CARGO_MANIFEST_DIR"), "/envs/zhao_5x5.toml");
    let s_b = concat!(env!("CARGO_MANIFEST_DIR"), "/envs/sutton_barto_4x4.toml");
    let with_env = |p: &str, agent: &str| format!("name = \"t\"\n[env]\npath = \"{p}\"\n[[agents]]\n{agent}\n");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "name = \"s\"\n[[agents]]\nkind = \"sgd-mean\"\nn_samples = 0\n".into(),
            vec![":4:1:", "agents[0].n_samples", "between 1 and"],
        ),
        (
            "name = \"s\"\n[[agents]]\nkind = \"mbgd\"\nbatch_size = 0\n".into(),
            vec![":4:", "agents[0].batch_size", ">= 1"],
        ),
        (
            "name = \"s\"\n[[agents]]\nkind = \"sgd\"\nlow = [1.0, 1.0]\nhigh = [1.0, 2.0]\n".into(),
            vec![":5:", "agents[0].high[0]", "greater than low[0]"],
        ),
        (with_env(env, "kind = \"mc-basic\"\nepisode_length = 0"), vec![":6:1:", "agents[0].episode_length", ">= 1"]),
        (
            with_env(env, "kind = \"mc-basic\"\nepisode_length = 5\niterations = 0"),
            vec!["agents[0].iterations", ">= 1"],
        ),
        (
            with_env(env, "kind = \"q-learning\""),
            vec![":4:1:", "agents[0]", "can never terminate", "max_episode_steps"],
        ),
        (
            with_env(env, "kind = \"linear-q-learning\"\nfeatures = [{ kind = \"one_hot_state\" }]"),
            vec!["agents[0]", "can never terminate"],
        ),
        (
            with_env(s_b, "kind = \"policy-iteration\"").replace("[[agents]]", "gamma = 1.0\n[[agents]]"),
            vec!["agents[0].initial_policy", "gamma = 1", "initial_policy = \"uniform\""],
        ),
    ];
    for (i, (text, needles)) in cases.iter().enumerate() {
        let f = write(&d, &format!("e{i}.toml"), text);
        assert_user_error(&rlkit(&["check", &f]), needles);
        let out = d.join(format!("out{i}"));
        assert_user_error(&rlkit(&["run", &f, "--out", out.to_str().unwrap(), "-q"]), needles);
        assert!(!out.exists(), "case {i}: nothing written");
    }
    // The fixes are not over-eager: a step cap or a uniform first policy makes them valid.
    let ok = [
        with_env(env, "kind = \"q-learning\"\nmax_episode_steps = 50\nepisodes = 2"),
        with_env(s_b, "kind = \"policy-iteration\"\ninitial_policy = \"uniform\"")
            .replace("[[agents]]", "gamma = 1.0\n[[agents]]"),
    ];
    for (i, text) in ok.iter().enumerate() {
        let f = write(&d, &format!("ok{i}.toml"), text);
        let o = rlkit(&["check", &f]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Issue #11 §2, smaller items: messages that leaked internals or blamed the wrong thing.
#[test]
fn small_messages_say_what_is_wrong() {
    let d = tmpdir("small");
    // `seeds = 1.5` used to say "untagged enum SeedSpec".
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("name = \"t\"", "name = \"t\"\nseeds = 1.5"));
    assert_user_error(&o, &["exp.toml:2:1", "seeds", "whole number of seeds", "list of run ids"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("untagged"));
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("name = \"t\"", "name = \"t\"\nseeds = [0, -1]"));
    assert_user_error(&o, &["exp.toml:2:", "seeds[1]", "whole numbers >= 0"]);
    // `--seeds 0` blames the flag, not the file.
    let f = write(&d, "exp.toml", GOOD_EXP);
    let o = rlkit(&["run", &f, "--seeds", "0", "--out", d.join("o").to_str().unwrap()]);
    assert_user_error(&o, &["--seeds 0", "at least one seed"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("exp.toml"));
    // The wrong kind of file says what it is and what to do.
    assert_user_error(
        &rlkit(&["run", "envs/zhao_5x5.toml"]),
        &["this is an env file", "rlkit solve envs/zhao_5x5.toml"],
    );
    assert_user_error(
        &rlkit(&["solve", "experiments/quickstart.toml"]),
        &["this is an experiment file", "`rlkit solve` takes an env file", "rlkit run experiments/quickstart.toml"],
    );
    assert_user_error(&rlkit(&["run", "configs/networks/zhao_mlp.toml"]), &["this is a network file"]);
    // gamma = 1 on a continuing task: `run` suggests the experiment's key, not solve's --gamma.
    let (o, _) =
        run_exp(&d, &GOOD_EXP.replace("path = \"envs/zhao_5x5.toml\"", "path = \"envs/zhao_5x5.toml\"\ngamma = 1.0"));
    assert_user_error(&o, &["exp.toml:4:1", "env.gamma", "--set env.gamma=0.9"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("--gamma"));
    // A user string with a newline stays on the one error line, escaped.
    let (o, _) = run_exp(&d, &GOOD_EXP.replace("value-iteration", "value\\niteration"));
    assert_user_error(&o, &["unknown agent kind `value\\niteration`"]);
    // A map written with `\n` escapes is located on its own line, not past the end of the file.
    let env = write(&d, "esc.toml", "gamma = 0.9\nmap = \"..#\\n.xT\"\n");
    assert_user_error(&rlkit(&["check", &env]), &["esc.toml:2:7", "row 1", "unknown symbol `x`"]);
    // `render -o x` names the flag and leaves no temporary file.
    let o = rlkit(&["render", "envs/zhao_5x5.toml", "-o", d.join("x").to_str().unwrap()]);
    assert_user_error(&o, &["-o ", "ending in .png"]);
    assert!(std::fs::read_dir(&d).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("tmp")));
}

/// `check` validates every shipped preset and network file too (as `run` would use them).
#[test]
fn check_accepts_shipped_presets_and_networks_and_refuses_bad_ones() {
    for f in [
        "configs/dp_precise.toml",
        "configs/agents/vi_precise.toml",
        "configs/networks/grid_backbone.toml",
        "configs/networks/zhao_mlp.toml",
    ] {
        let o = rlkit(&["check", f]);
        assert!(o.status.success(), "{f}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("valid"), "{f}");
    }
    let d = tmpdir("presets");
    let p = write(&d, "vi.toml", "kind = \"value-iteration\"\ntol = -1.0\n");
    assert_user_error(&rlkit(&["check", &p]), &["vi.toml:2:1", "tol", "> 0"]);
    let p = write(&d, "base.toml", "seed = 0\nplots = [\"valus\"]\n");
    assert_user_error(&rlkit(&["check", &p]), &["base.toml:2:", "did you mean `values`?"]);
    let p =
        write(&d, "net.toml", "input = [1, 2, 2]\n[[layers]]\nkind = \"conv2d\"\nout_channels = 2\nkernel_size = 9\n");
    assert_user_error(&rlkit(&["check", &p]), &["net.toml", "layers[0]", "kernel_size 9"]);
}

/// `render` draws the agent and seed asked for, and says which exist when they do not.
#[test]
fn render_chooses_agent_and_seed() {
    let d = tmpdir("render-pick");
    let csv = write(&d, "v.csv", "agent,seed,state,row,col,value\nA,0,0,0,0,1.5\nA,1,0,0,0,2.5\nB,0,0,0,0,3.5\n");
    let png = d.join("p.png");
    let o = rlkit(&[
        "render",
        "envs/zhao_5x5.toml",
        "--values",
        &csv,
        "--agent",
        "B",
        "--seed",
        "0",
        "-o",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(png.exists());
    let o = rlkit(&["render", "envs/zhao_5x5.toml", "--values", &csv, "--agent", "C", "-o", png.to_str().unwrap()]);
    assert_user_error(&o, &["v.csv", "no rows for agent `C`", "A seed 0", "A seed 1", "B seed 0"]);
    let o = rlkit(&["render", "envs/zhao_5x5.toml", "--agent", "A", "-o", png.to_str().unwrap()]);
    assert_user_error(&o, &["--agent and --seed", "--values"]);
}

fn ls(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Issue #11 §3: a non-empty output directory is refused unless --force (and --force only
/// clears rlkit output); the default output is a fresh timestamped directory with `latest`.
#[test]
fn output_directory_rules() {
    let d = tmpdir("outdir");
    let f = write(
        &d,
        "exp.toml",
        &GOOD_EXP.replace("envs/zhao_5x5.toml", concat!(env!("CARGO_MANIFEST_DIR"), "/envs/zhao_5x5.toml")),
    );
    let out = d.join("out");
    let run = |extra: &[&str]| {
        let mut a = vec!["run", f.as_str(), "-q", "--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        rlkit(&a)
    };
    assert!(run(&[]).status.success());
    std::fs::write(out.join("note.txt"), "old").unwrap();
    let before = ls(&out);
    assert_user_error(&run(&[]), &["out: output directory is not empty", "--force"]);
    assert_eq!(ls(&out), before, "a refused run changes nothing");
    assert_user_error(&run(&["--resume"]), &["--resume finishes a [sweep]"]);
    let o = run(&["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.join("note.txt").exists(), "--force replaced the old run");
    assert!(out.join("summary.json").exists() && out.join("provenance.json").exists());
    // --force does not clear a directory rlkit did not write.
    let mine = d.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "x").unwrap();
    let o = rlkit(&["run", &f, "-q", "--out", mine.to_str().unwrap(), "--force"]);
    assert_user_error(&o, &["mine", "--force refuses to clear a directory that is not rlkit output"]);
    assert_eq!(ls(&mine), vec!["thesis.tex"]);
    // The default output directory: runs/<name>/<YYYYMMDD-HHMMSS>, and runs/<name>/latest.
    let cwd = d.join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let bin = env!("CARGO_BIN_EXE_rlkit");
    let o1 = Command::new(bin).args(["run", &f, "-q"]).current_dir(&cwd).output().unwrap();
    let o2 = Command::new(bin).args(["run", &f, "-q"]).current_dir(&cwd).output().unwrap();
    assert!(o1.status.success() && o2.status.success(), "{}", String::from_utf8_lossy(&o2.stderr));
    let base = cwd.join("runs").join("t");
    let names = ls(&base);
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[2], "latest");
    assert!(
        names[0].len() >= 15 && names[0].as_bytes()[8] == b'-' && names[0][..8].bytes().all(|b| b.is_ascii_digit()),
        "{names:?}"
    );
    let latest = std::fs::canonicalize(base.join("latest")).unwrap();
    assert_eq!(latest, std::fs::canonicalize(base.join(&names[1])).unwrap(), "latest is the newest");
    assert!(String::from_utf8_lossy(&o2.stdout).contains(&names[1]));
    assert!(latest.join("summary.json").exists());
}

/// Two identical runs into different directories are byte-identical except `timings.csv`
/// and `provenance.json`; the output path is in neither the config nor the summary.
#[test]
fn identical_runs_into_different_directories_match_byte_for_byte() {
    let d = tmpdir("ident");
    let f = write(
        &d,
        "exp.toml",
        &format!(
            "name = \"t\"\nseeds = 2\n[env]\npath = \"{}\"\n[[agents]]\nkind = \"value-iteration\"\n[[agents]]\nkind = \"sarsa\"\nepisodes = 20\nmax_episode_steps = 50\n[[variants]]\nname = \"a\"\n[[variants]]\nname = \"b\"\nset = {{ \"env.gamma\" = 0.5 }}\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/envs/zhao_5x5.toml")
        ),
    );
    let (a, b) = (d.join("first"), d.join("second/deeper"));
    for out in [&a, &b] {
        let o = rlkit(&["run", &f, "-q", "--out", out.to_str().unwrap(), "--set", "agents[1].alpha=0.2"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut compared = 0;
    for v in ["", "a", "b"] {
        for name in
            ["summary.json", "config.resolved.toml", "values.csv", "policy.csv", "episodes.csv", "iterations.csv"]
        {
            let (pa, pb) = (a.join(v).join(name), b.join(v).join(name));
            if !pa.exists() {
                continue;
            }
            let (ta, tb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
            assert!(ta == tb, "{} differs", pb.display());
            let text = String::from_utf8_lossy(&ta);
            assert!(!text.contains("first") && !text.contains("deeper") && !text.contains("out_dir"), "{name}: {text}");
            compared += 1;
        }
    }
    assert!(compared >= 9, "{compared}");
    let prov: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("provenance.json")).unwrap()).unwrap();
    assert_eq!(prov["rlkit_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(prov["set"][0], "agents[1].alpha=0.2");
    assert!(prov["command_line"].as_array().unwrap().iter().any(|a| a == "--set"));
    assert!(prov["start"].as_str().unwrap().ends_with('Z') && prov["end"].as_str().unwrap().len() == 20);
    assert_eq!(prov["interrupted"], false);
}

/// What a killed run left (a staging directory beside the output, hidden temporary files
/// in it) is removed at the next start and does not make the directory "non-empty".
#[cfg(target_os = "linux")]
#[test]
fn stale_temporary_files_are_cleaned_at_start() {
    let d = tmpdir("stale");
    let f = write(
        &d,
        "exp.toml",
        &GOOD_EXP.replace("envs/zhao_5x5.toml", concat!(env!("CARGO_MANIFEST_DIR"), "/envs/zhao_5x5.toml")),
    );
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    // Process 4000000000 cannot exist (Linux pids are below 2^22).
    std::fs::write(out.join(".episodes.tmp4000000000.csv"), vec![b'x'; 1 << 20]).unwrap();
    std::fs::create_dir(d.join(".out.staging-4000000000")).unwrap();
    let o = rlkit(&["run", &f, "-q", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.join(".episodes.tmp4000000000.csv").exists());
    assert!(!d.join(".out.staging-4000000000").exists());
    assert!(out.join("summary.json").exists());
}

/// Printing to a closed pipe (`rlkit solve BIG --format csv | head -1`) ends quietly, exit 0.
#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::io::BufRead;
    let d = tmpdir("pipe");
    // 120 x 120 cells: about 1.7 MB of CSV, far more than a pipe buffers, so rlkit is still
    // writing when the reader goes away.
    let row = ".".repeat(120);
    let mut map: Vec<String> = vec![row.clone(); 120];
    map[119] = format!("{}T", &row[..119]);
    let env = write(&d, "big.toml", &format!("gamma = 0.9\nmap = \"\"\"\n{}\n\"\"\"\n", map.join("\n")));
    for args in [vec!["solve", env.as_str(), "--format", "csv"], vec!["solve", env.as_str()], vec!["list"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rlkit"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    }
}

/// SIGINT/SIGTERM: the run stops, exit 130; finished variants stay complete, nothing is left
/// half-written or in staging, and the top-level summary.json records the interruption.
#[cfg(unix)]
#[test]
fn an_interrupted_run_keeps_finished_variants() {
    let d = tmpdir("sigint");
    // Variant `a` is quick; variant `b` (200 seeds of 20,000 episodes) runs long enough to be
    // interrupted: the signal is sent once `a` is complete in the staging directory.
    let f = write(
        &d,
        "exp.toml",
        &format!(
            "name = \"t\"\nseeds = 200\n[env]\npath = \"{}\"\n[[agents]]\nkind = \"q-learning\"\nmax_episode_steps = 100\n[[variants]]\nname = \"a\"\nset = {{ \"agents[0].episodes\" = 2 }}\n[[variants]]\nname = \"b\"\nset = {{ \"agents[0].episodes\" = 20000 }}\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/envs/zhao_5x5.toml")
        ),
    );
    for signal in ["-INT", "-TERM"] {
        let out = d.join(format!("out{signal}"));
        let child = Command::new(env!("CARGO_BIN_EXE_rlkit"))
            .args(["run", &f, "-q", "--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let staged_a = d.join(format!(".out{signal}.staging-{}", child.id())).join("a").join("summary.json");
        let mut waited = 0;
        while !staged_a.exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
            waited += 1;
            assert!(waited < 3000, "variant a never finished");
        }
        let k = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        assert!(k.success());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{err}");
        assert!(err.contains("interrupted"), "{err}");
        let top: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(top["interrupted"], true);
        let a: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("a/summary.json")).unwrap()).unwrap();
        assert!(a.get("interrupted").is_none());
        assert_eq!(a["agents"][0]["seeds"], 200);
        let lines = std::fs::read_to_string(out.join("a/episodes.csv")).unwrap().lines().count();
        assert_eq!(lines, 1 + 200 * 2, "variant a is complete");
        let prov: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("provenance.json")).unwrap()).unwrap();
        assert_eq!(prov["interrupted"], true);
        let hidden: Vec<String> = ls(&d).into_iter().filter(|n| n.starts_with('.')).collect();
        assert!(hidden.is_empty(), "{hidden:?}");
        for v in ["", "a", "b"] {
            if let Ok(rd) = std::fs::read_dir(out.join(v)) {
                for e in rd {
                    let n = e.unwrap().file_name().to_string_lossy().into_owned();
                    assert!(!n.contains(".tmp"), "half-written {n}");
                }
            }
        }
    }
}

#[test]
fn list_bench_and_nn_help_have_examples() {
    for cmd in [&["list", "--help"][..], &["bench", "--help"], &["nn", "--help"], &["run", "--help"]] {
        let o = rlkit(cmd);
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.contains("Example") && s.contains(&format!("rlkit {}", cmd[0])), "{cmd:?}: {s}");
    }
}

/// A plot the experiment asks for that cannot apply is refused (it used to be silently skipped).
#[test]
fn plots_that_do_not_apply_are_refused() {
    let d = tmpdir("plots");
    let cases: &[(&str, &[&str])] = &[
        (
            "plots = [\"values\", \"learning\"]",
            &["exp.toml:2:20", "plots[1]", "plot `learning` does not apply", "no agent learns"],
        ),
        ("plots = [\"sa\"]", &["plots[0]", "plot `sa` does not apply"]),
    ];
    for (plots, needles) in cases {
        let (o, out) = run_exp(&d, &GOOD_EXP.replace("name = \"t\"", &format!("name = \"t\"\n{plots}")));
        assert_user_error(&o, needles);
        assert!(!out.exists());
    }
    let mdp = "name = \"m\"\nplots = [\"values\"]\n[env]\npath = \"envs/random_walk.toml\"\n[[agents]]\nkind = \"td0\"\nepisodes = 5\n";
    let f = write(&d, "mdp.toml", mdp);
    assert_user_error(&rlkit(&["check", &f]), &["plots[0]", "value maps of a gridworld"]);
    // Inherited from a preset, a plot that does not apply is just not drawn.
    let f = write(
        &d,
        "pe.toml",
        &format!(
            "extends = \"{}/configs/dp_precise.toml\"\nname = \"pe\"\n[env]\npath = \"envs/zhao_5x5.toml\"\n[[agents]]\nkind = \"policy-evaluation\"\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    );
    assert!(rlkit(&["check", &f]).status.success());
}
