//! Where `env.path` is found (beside the experiment, the current directory, the
//! env library built into the binary), and how `config.resolved.toml` records an
//! env file: by path + SHA-256, checked when the config is loaded again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rlkit::experiment::load::{sha256_hex, ENV_LIBRARY};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary with `cwd` as the current directory.
fn rlkit_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).current_dir(cwd).args(args).output().expect("run rlkit")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-envpath-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(o: &Output) {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn resolved_env(dir: &Path) -> toml::Table {
    let t: toml::Table = toml::from_str(&read(dir.join("config.resolved.toml"))).unwrap();
    t["env"].as_table().unwrap().clone()
}

/// A 3x3 gridworld with discount `gamma` (the contents tell the copies apart).
fn grid(gamma: f64) -> String {
    format!(
        "name = \"tiny\"\ngamma = {gamma}\nactions = \"zhao\"\ntarget = \"continuing\"\nmap = \"\"\"\n. . .\n. X .\n. . T\n\"\"\"\n\n[rewards]\nboundary = -1.0\nforbidden = -1.0\ntarget = 1.0\nstep = 0.0\n"
    )
}

fn experiment(env_path: &str) -> String {
    format!(
        "name = \"t\"\nplots = []\n\n[env]\npath = \"{env_path}\"\n\n[[agents]]\nkind = \"value-iteration\"\nname = \"VI\"\n"
    )
}

fn summary_gamma(out: &Path) -> f64 {
    let s: serde_json::Value = serde_json::from_str(&read(out.join("summary.json"))).unwrap();
    s["env"]["gamma"].as_f64().unwrap()
}

/// The library built into the binary is exactly the checkout's `envs/*.toml`.
#[test]
fn library_equals_the_envs_directory() {
    let mut on_disk: Vec<(String, String)> = std::fs::read_dir(repo().join("envs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), read(&p)))
        .collect();
    on_disk.sort();
    let built: Vec<(String, String)> = ENV_LIBRARY.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    assert_eq!(built, on_disk);
    assert!(ENV_LIBRARY.iter().any(|(n, _)| *n == "zhao_5x5"));
}

/// The shipped quick start, copied elsewhere and run from yet another directory:
/// `env.path = "envs/zhao_5x5.toml"` resolves through the library, with the same results
/// as in the checkout, and the resolved config names it by path + hash.
#[test]
fn copied_quickstart_runs_from_any_directory() {
    let d = tmpdir("quickstart");
    let (a, b) = (d.join("a"), d.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(repo().join("experiments/quickstart.toml"), a.join("quickstart.toml")).unwrap();
    assert!(read(a.join("quickstart.toml")).contains("path = \"envs/zhao_5x5.toml\""));
    assert!(!b.join("envs").exists() && !a.join("envs").exists());
    let out = d.join("out");
    ok(&rlkit_in(&b, &["run", a.join("quickstart.toml").to_str().unwrap(), "--out", out.to_str().unwrap()]));
    // The same run from the checkout (where envs/zhao_5x5.toml is on disk) gives the same values.
    let out_repo = d.join("out_repo");
    ok(&rlkit_in(&repo(), &["run", "experiments/quickstart.toml", "--out", out_repo.to_str().unwrap()]));
    assert_eq!(read(out.join("values.csv")), read(out_repo.join("values.csv")));
    let env = resolved_env(&out);
    assert_eq!(env["path"].as_str(), Some("envs/zhao_5x5.toml"));
    assert_eq!(env["sha256"].as_str(), Some(sha256_hex(read(repo().join("envs/zhao_5x5.toml")).as_bytes()).as_str()));
    assert_eq!(env.len(), 2, "nothing but path and sha256 (no override): {env:?}");
    // The bare name works too.
    std::fs::write(a.join("by_name.toml"), experiment("zhao_5x5")).unwrap();
    let out2 = d.join("out2");
    ok(&rlkit_in(&b, &["run", a.join("by_name.toml").to_str().unwrap(), "--out", out2.to_str().unwrap()]));
    assert_eq!(summary_gamma(&out2), 0.9);
}

/// (a) beside the experiment wins over (b) the current directory; with (a) gone, (b) is used.
#[test]
fn experiment_directory_wins_over_current_directory() {
    let d = tmpdir("order");
    let (a, b) = (d.join("a"), d.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("exp.toml"), experiment("tiny.toml")).unwrap();
    std::fs::write(a.join("tiny.toml"), grid(0.5)).unwrap();
    std::fs::write(b.join("tiny.toml"), grid(0.7)).unwrap();
    let out = d.join("o1");
    ok(&rlkit_in(&b, &["run", "../a/exp.toml", "--out", out.to_str().unwrap()]));
    assert_eq!(summary_gamma(&out), 0.5, "the file beside the experiment is used");
    assert_eq!(resolved_env(&out)["path"].as_str(), Some("../a/tiny.toml"));
    std::fs::remove_file(a.join("tiny.toml")).unwrap();
    let out = d.join("o2");
    ok(&rlkit_in(&b, &["run", "../a/exp.toml", "--out", out.to_str().unwrap()]));
    assert_eq!(summary_gamma(&out), 0.7, "then the one in the current directory");
    assert_eq!(resolved_env(&out)["path"].as_str(), Some("tiny.toml"));
}

/// Nothing found: one located line listing the search order and the places tried; exit 2.
#[test]
fn not_found_lists_the_search_order() {
    let d = tmpdir("missing");
    std::fs::write(d.join("exp.toml"), experiment("envs/nowhere.toml")).unwrap();
    let o = rlkit_in(&d, &["run", "exp.toml", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("exp.toml:5:1: env.path: env file `envs/nowhere.toml` not found"), "{e}");
    let (pa, pb, pc) = (e.find("(a)").unwrap(), e.find("(b) the current directory").unwrap(), e.find("(c)").unwrap());
    assert!(pa < pb && pb < pc, "{e}");
    assert!(e.contains("env library") && e.contains("rlkit list") && e.contains("zhao_5x5"), "{e}");
    assert!(!d.join("o").exists());
    // `check` refuses it the same way.
    let o = rlkit_in(&d, &["check", "exp.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("env.path: env file `envs/nowhere.toml` not found"));
    // An absolute path is used as is.
    let abs = d.join("nope.toml");
    std::fs::write(d.join("abs.toml"), experiment(abs.to_str().unwrap())).unwrap();
    let e = stderr(&rlkit_in(&d, &["check", "abs.toml"]));
    assert!(e.contains("an absolute path is used as is"), "{e}");
}

/// The resolved config of a file-based env: path + sha256 + the overrides, no inlined
/// tables; byte-identical across output directories; replaying it reproduces the run;
/// an edited env file makes the replay fail, naming the file.
#[test]
fn resolved_config_refers_to_env_file_by_hash() {
    let d = tmpdir("resolved");
    std::fs::write(d.join("tiny.toml"), grid(0.9)).unwrap();
    std::fs::write(d.join("exp.toml"), experiment("tiny.toml")).unwrap();
    let run = |out: &str| rlkit_in(&d, &["run", "exp.toml", "--out", out, "--set", "env.gamma=0.5"]);
    ok(&run("o1"));
    ok(&run("o2"));
    let text = read(d.join("o1/config.resolved.toml"));
    assert_eq!(text, read(d.join("o2/config.resolved.toml")), "byte-identical across output directories");
    let env = resolved_env(&d.join("o1"));
    assert_eq!(env["path"].as_str(), Some("tiny.toml"));
    assert_eq!(env["sha256"].as_str(), Some(sha256_hex(grid(0.9).as_bytes()).as_str()));
    assert_eq!(env["gamma"].as_float(), Some(0.5));
    assert_eq!(env.len(), 3, "path, sha256 and the override only: {env:?}");
    assert!(!env.contains_key("map") && !env.contains_key("rewards") && !text.contains(". X ."), "{text}");
    // Replaying the resolved config reproduces the run.
    ok(&rlkit_in(&d, &["run", "o1/config.resolved.toml", "--out", "replay"]));
    assert_eq!(read(d.join("replay/values.csv")), read(d.join("o1/values.csv")));
    // The override is replayed too: without it the values differ.
    ok(&rlkit_in(&d, &["run", "exp.toml", "--out", "plain"]));
    assert_ne!(read(d.join("plain/values.csv")), read(d.join("o1/values.csv")));
    // The env file changes: the replay is refused, located at env.sha256, naming the file.
    std::fs::write(d.join("tiny.toml"), grid(0.8)).unwrap();
    let o = rlkit_in(&d, &["run", "o1/config.resolved.toml", "--out", "replay2"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(
        e.contains("o1/config.resolved.toml:") && e.contains(": env.sha256: the env file tiny.toml changed"),
        "{e}"
    );
    assert!(!d.join("replay2").exists());
}

/// An inline env (no `path`) stays inline, every default filled in.
#[test]
fn inline_env_stays_inline() {
    let d = tmpdir("inline");
    let body = grid(0.9).replace("[rewards]", "[env.rewards]");
    let exp = format!("name = \"t\"\nplots = []\n\n[[agents]]\nkind = \"value-iteration\"\n\n[env]\n{body}");
    std::fs::write(d.join("exp.toml"), exp).unwrap();
    ok(&rlkit_in(&d, &["run", "exp.toml", "--out", "o"]));
    let env = resolved_env(&d.join("o"));
    assert!(env.contains_key("map") && !env.contains_key("sha256") && !env.contains_key("path"), "{env:?}");
}

/// `rlkit export` replays the resolved config: it refuses an env file changed since the run.
#[test]
fn export_refuses_a_changed_env_file() {
    let d = tmpdir("export");
    std::fs::write(d.join("tiny.toml"), grid(0.9).replace("target = \"continuing\"", "target = \"terminal\"")).unwrap();
    let exp = "name = \"t\"\nepisodes = 5\nplots = []\n\n[env]\npath = \"tiny.toml\"\nmax_steps = 50\n\n[[agents]]\nkind = \"q-learning\"\nalpha = 0.5\nepsilon = 0.1\n";
    std::fs::write(d.join("exp.toml"), exp).unwrap();
    ok(&rlkit_in(&d, &["run", "exp.toml", "--out", "o"]));
    ok(&rlkit_in(&d, &["export", "o"]));
    std::fs::write(d.join("tiny.toml"), grid(0.5).replace("target = \"continuing\"", "target = \"terminal\"")).unwrap();
    let o = rlkit_in(&d, &["export", "o"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("env.sha256: the env file tiny.toml changed since this config was written"), "{e}");
}

/// Every shipped experiment passes `check` from a directory that is not the
/// repository root: its env, presets, policies and network files are all
/// found beside it or in the env library (a network path written relative to
/// the current directory failed here before).
#[test]
fn every_shipped_experiment_checks_from_another_directory() {
    let cwd = tmpdir("anywhere");
    let mut n = 0;
    for e in std::fs::read_dir(repo().join("experiments")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let o = rlkit_in(&cwd, &["check", p.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
            n += 1;
        }
    }
    assert!(n >= 25, "found only {n} experiments");
}
