//! Sweeps: plan, shards, resume and merge. Merged shards equal the unsharded
//! run byte for byte; bad shard specs, bad sweeps and bad merges are one line
//! and exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rlkit::experiment::sweep::Shard;

fn rlkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).args(args).output().expect("run rlkit")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
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

const EXP: &str = "name = \"sw\"\nseeds = 2\nepisodes = 20\nplots = []\n[env]\npath = \"envs/cliff_walking.toml\"\n\
[[agents]]\nkind = \"sarsa\"\nname = \"Sarsa\"\nalpha = 0.5\nepsilon = 0.1\n\
[[agents]]\nkind = \"q-learning\"\nname = \"Q\"\nalpha = 0.5\nepsilon = 0.1\n\
[sweep]\n\"agents[0].alpha\" = [0.1, 0.5]\n\"env.rewards.cliff\" = [-100.0, -50.0, -10.0]\n";

fn write_exp(dir: &Path, text: &str) -> String {
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn merged_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    [
        "iterations.csv",
        "episodes.csv",
        "values.csv",
        "policy.csv",
        "summary.json",
        "plots/sweep.png",
        "plots/learning_curves.png",
    ]
    .iter()
    .filter_map(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b)))
    .collect()
}

#[test]
fn shards_merge_to_the_unsharded_run() {
    let dir = tmpdir("merge");
    let exp = write_exp(&dir, EXP);
    // Plan: 2 x 3 points x 2 seeds = 12 runs, stable ids.
    let plan = ok(&rlkit(&["plan", &exp]));
    assert!(plan.starts_with("sweep `sw`: 12 runs"), "{plan}");
    let rows: Vec<&str> = plan.lines().skip(2).collect();
    assert_eq!(rows.len(), 12);
    assert!(rows[0].contains("agents[0].alpha=0.1 env.rewards.cliff=-100.0"), "{}", rows[0]);
    assert!(rows[11].contains("agents[0].alpha=0.5 env.rewards.cliff=-10.0"), "{}", rows[11]);
    assert_eq!(ok(&rlkit(&["plan", &exp])), plan, "ids are stable");
    let full = dir.join("full");
    ok(&rlkit(&["run", &exp, "--out", full.to_str().unwrap(), "-q"]));
    let want = merged_files(&full);
    assert_eq!(want.len(), 5, "episodes, values, policy, summary, plot");
    let episodes = String::from_utf8_lossy(&want.iter().find(|f| f.0 == "episodes.csv").unwrap().1).to_string();
    assert!(
        episodes.starts_with("run,point,agents[0].alpha,env.rewards.cliff,agent,seed,episode,return"),
        "{episodes}"
    );
    assert_eq!(episodes.lines().count(), 1 + 12 * 2 * 20);
    for n in [2usize, 3] {
        let mut shard_dirs = Vec::new();
        for i in 1..=n {
            let d = dir.join(format!("s{n}_{i}"));
            let s = ok(&rlkit(&["run", &exp, "--out", d.to_str().unwrap(), "--shard", &format!("{i}/{n}"), "-q"]));
            assert!(s.contains(&format!("{} of 12 runs assigned", 12 / n)), "{s}");
            shard_dirs.push(d.display().to_string());
        }
        let out = dir.join(format!("merged{n}"));
        let mut args = vec!["merge".to_string()];
        args.extend(shard_dirs.iter().cloned());
        args.extend(["--out".to_string(), out.display().to_string()]);
        ok(&Command::new(env!("CARGO_BIN_EXE_rlkit")).args(&args).output().unwrap());
        let got = merged_files(&out);
        assert_eq!(got.len(), want.len());
        for ((f, a), (_, b)) in got.iter().zip(&want) {
            assert!(a == b, "{f} differs after merging {n} shards");
        }
        if n == 3 {
            // Missing a shard; the same shard twice; a shard of another sweep.
            let o = rlkit(&["merge", &shard_dirs[0], &shard_dirs[1], "--out", out.to_str().unwrap()]);
            assert_user_error(&o, &["8 of 12 runs are finished", "missing run numbers 2, 5"]);
            let o = rlkit(&["merge", &shard_dirs[0], &shard_dirs[0], "--out", out.to_str().unwrap()]);
            assert_user_error(&o, &["is also in", "merge each run once"]);
        }
    }
    // Resume: a finished shard is skipped; a run without DONE is redone.
    let d = dir.join("s2_1");
    let runs: Vec<PathBuf> = std::fs::read_dir(d.join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    std::fs::remove_file(runs[0].join("DONE")).unwrap();
    let s = ok(&rlkit(&["run", &exp, "--out", d.to_str().unwrap(), "--shard", "1/2", "--resume", "-q"]));
    assert!(s.contains("6 of 12 runs assigned, 1 ran, 5 skipped"), "{s}");
    // A different sweep's shard does not merge with this one.
    let other = write_exp(&tmpdir("other"), &EXP.replace("[0.1, 0.5]", "[0.2, 0.5]"));
    let od = dir.join("other");
    ok(&rlkit(&["run", &other, "--out", od.to_str().unwrap(), "--shard", "2/2", "-q"]));
    let o = rlkit(&["merge", d.to_str().unwrap(), od.to_str().unwrap(), "--out", dir.join("bad").to_str().unwrap()]);
    assert_user_error(&o, &["belongs to another sweep"]);
}

#[test]
fn bad_shards_and_sweeps_are_one_line() {
    let dir = tmpdir("bad");
    let exp = write_exp(&dir, EXP);
    for s in ["3/2", "0/0", "1/0", "x", "1/2/3"] {
        let o = rlkit(&["run", &exp, "--shard", s, "--out", dir.join("o").to_str().unwrap()]);
        assert_user_error(&o, &[&format!("--shard {s}"), "1 <= I <= N"]);
    }
    assert!(!dir.join("o").exists());
    let bad = write_exp(&dir, &EXP.replace("\"agents[0].alpha\"", "\"agents[0].alpah\""));
    let o = rlkit(&["plan", &bad]);
    assert_user_error(&o, &["[sweep] point", "alpah"]);
    let o = rlkit(&["run", &bad, "--out", dir.join("o").to_str().unwrap()]);
    assert_user_error(&o, &["alpah"]);
    let bad = write_exp(&dir, &EXP.replace("[0.1, 0.5]", "[]"));
    assert_user_error(&rlkit(&["plan", &bad]), &["sweep", "non-empty array"]);
    let bad = write_exp(&dir, &EXP.replace("\"agents[0].alpha\" = [0.1, 0.5]", "seeds = [1, 2]"));
    assert_user_error(&rlkit(&["plan", &bad]), &["cannot be swept"]);
    let o = rlkit(&["run", "experiments/quickstart.toml", "--shard", "1/2", "--out", dir.join("q").to_str().unwrap()]);
    assert_user_error(&o, &["needs a [sweep]"]);
    let o = rlkit(&["merge", dir.to_str().unwrap(), "--out", dir.join("m").to_str().unwrap()]);
    assert_user_error(&o, &["no runs/ directory"]);
}

#[test]
fn slurm_array_variables_give_the_shard() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
    };
    assert_eq!(Shard::from_slurm(env(&[])).unwrap(), None);
    let s = Shard::from_slurm(env(&[
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_MAX", "4"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]))
    .unwrap();
    assert_eq!(s, Some(Shard { index: 3, count: 4 }));
    let s = Shard::from_slurm(env(&[
        ("SLURM_ARRAY_TASK_ID", "6"),
        ("SLURM_ARRAY_TASK_MIN", "0"),
        ("SLURM_ARRAY_TASK_MAX", "9"),
        ("SLURM_ARRAY_TASK_STEP", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]))
    .unwrap();
    assert_eq!(s, Some(Shard { index: 3, count: 4 }));
    // --array=1,2,7: count 3 but max 7 is not min + step * (count - 1).
    let e = Shard::from_slurm(env(&[
        ("SLURM_ARRAY_TASK_ID", "7"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_MAX", "7"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("not an evenly stepped range"), "{e}");
    assert!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "1")])).is_err());
    let owned: Vec<usize> = (0..10).filter(|&i| Shard { index: 2, count: 3 }.owns(i)).collect();
    assert_eq!(owned, vec![1, 4, 7]);
}

/// Every file under `dir` (recursively), relative paths.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn done_runs(out: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(out.join("runs")) else { return Vec::new() };
    rd.map(|e| e.unwrap().path()).filter(|p| p.join("DONE").is_file()).collect()
}

#[test]
fn sigterm_stops_cleanly_and_resume_finishes() {
    let dir = tmpdir("sigterm");
    // 6 points x 10 seeds = 60 runs (the file has 3 seeds), so that SIGTERM comes well before the end.
    let exp = "experiments/sweep_cliff.toml";
    let full = dir.join("full");
    ok(&rlkit(&["run", exp, "--out", full.to_str().unwrap(), "--seeds", "10", "-q"]));
    let want = merged_files(&full);
    assert_eq!(want.len(), 6, "episodes, values, policy, summary, sweep and learning-curve plots");

    let out = dir.join("int");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlkit"))
        .args(["run", exp, "--out", out.to_str().unwrap(), "--seeds", "10", "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while done_runs(&out).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before any DONE was seen");
        assert!(t0.elapsed().as_secs() < 120, "no DONE after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let k = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(k.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "stderr: {err}");
    let done = done_runs(&out);
    assert!(!done.is_empty() && done.len() < 60, "{} runs done", done.len());
    assert_eq!(
        err.trim_end(),
        format!("interrupted: {} of 60 runs done; rerun with --resume to finish", done.len()),
        "one line"
    );
    // Every run with DONE is complete: its files equal the uninterrupted run's.
    for d in &done {
        let id = d.file_name().unwrap();
        let refd = full.join("runs").join(id);
        let files = walk(d);
        assert_eq!(files, walk(&refd), "files of run {id:?}");
        for f in files.iter().filter(|f| !f.ends_with("timings.csv") && !f.ends_with("provenance.json")) {
            // The resolved config and summary name their own directory.
            let got = String::from_utf8_lossy(&std::fs::read(d.join(f)).unwrap())
                .replace(out.to_str().unwrap(), full.to_str().unwrap());
            let want = String::from_utf8_lossy(&std::fs::read(refd.join(f)).unwrap()).to_string();
            assert!(got == want, "{f:?} of {id:?}");
        }
    }
    // Nothing half-written under a final name: no temp files anywhere, no merged output yet.
    let all = walk(&out);
    assert!(!all.iter().any(|f| f.to_string_lossy().contains(".tmp")), "temp files left: {all:?}");
    assert!(!out.join("episodes.csv").exists() && !out.join("summary.json").exists());

    // Without --resume a non-empty output directory is refused; --resume finishes the rest.
    let o = rlkit(&["run", exp, "--out", out.to_str().unwrap(), "--seeds", "10", "-q"]);
    assert_user_error(&o, &[out.to_str().unwrap(), "--resume", "--force"]);
    let s = ok(&rlkit(&["run", exp, "--out", out.to_str().unwrap(), "--seeds", "10", "--resume", "-q"]));
    assert!(s.contains(&format!("{} skipped", done.len())), "{s}");
    let got = merged_files(&out);
    assert_eq!(got.len(), want.len());
    for ((f, a), (_, b)) in got.iter().zip(&want) {
        assert!(a == b, "{f} differs from the uninterrupted run");
    }
}

#[test]
fn non_empty_output_needs_resume_or_force() {
    let dir = tmpdir("force");
    let exp = write_exp(&dir, &EXP.replace("seeds = 2", "seeds = 1").replace("[-100.0, -50.0, -10.0]", "[-100.0]"));
    let out = dir.join("o");
    let o_s = out.to_str().unwrap();
    ok(&rlkit(&["run", &exp, "--out", o_s, "-q"]));
    let want = merged_files(&out);
    let o = rlkit(&["run", &exp, "--out", o_s, "-q"]);
    assert_user_error(&o, &[o_s, "not empty", "--resume", "--force"]);
    // --force clears it (a stray file goes too) and reruns.
    std::fs::write(out.join("stray.txt"), "x").unwrap();
    let s = ok(&rlkit(&["run", &exp, "--out", o_s, "--force", "-q"]));
    assert!(s.contains("2 ran, 0 skipped"), "{s}");
    assert!(!out.join("stray.txt").exists());
    assert_eq!(merged_files(&out), want);
    // --force does not clear a directory rlkit did not write.
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(foreign.join("runs")).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let f_s = foreign.to_str().unwrap();
    assert_user_error(&rlkit(&["run", &exp, "--out", f_s, "-q"]), &[f_s, "--resume", "--force"]);
    assert_user_error(&rlkit(&["run", &exp, "--out", f_s, "--force", "-q"]), &[f_s, "not rlkit output"]);
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).unwrap(), "keep me");
    // An empty directory is fine without flags.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    ok(&rlkit(&["run", &exp, "--out", empty.to_str().unwrap(), "-q"]));
}
