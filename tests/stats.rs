//! Aggregate statistics against rliable: the point estimates exactly, the
//! 95 % stratified-bootstrap intervals within the Monte Carlo noise of two
//! independent bootstrap seeds. Data and reference: `tests/fixtures/stats/`
//! (made by `make_reference.py` with the `rliable` package).

use std::collections::BTreeMap;
use std::process::Command;

use rlkit::stats::{aggregate, iqm, mean, median, optimality_gap, probability_of_improvement};

fn scores() -> BTreeMap<String, Vec<Vec<f64>>> {
    let text = std::fs::read_to_string("tests/fixtures/stats/scores.csv").unwrap();
    let tasks = ["t0", "t1", "t2"];
    let mut m: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let rows = m.entry(f[0].to_string()).or_insert_with(|| vec![vec![0.0; 10]; 3]);
        let t = tasks.iter().position(|t| *t == f[1]).unwrap();
        rows[t][f[2].parse::<usize>().unwrap()] = f[3].parse().unwrap();
    }
    m
}

/// (agent, statistic) → (estimate, lo, hi).
fn reference(file: &str) -> BTreeMap<(String, String), (f64, f64, f64)> {
    let text = std::fs::read_to_string(format!("tests/fixtures/stats/{file}")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[0].into(), f[1].into()), (f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap()))
        })
        .collect()
}

#[test]
fn iqm_and_intervals_match_rliable() {
    let s = scores();
    let r0 = reference("reference.csv");
    let r1 = reference("reference_mc.csv");
    assert_eq!(s["A"].iter().map(Vec::len).sum::<usize>(), 30);
    // The point estimates are exact (up to float summation order).
    for (a, sc) in &s {
        let point =
            [("mean", mean(sc)), ("median", median(sc)), ("iqm", iqm(sc)), ("optimality_gap", optimality_gap(sc, 1.0))];
        for (stat, x) in point {
            let want = r0[&(a.clone(), stat.to_string())].0;
            assert!((x - want).abs() < 1e-12, "{a} {stat}: {x} vs rliable {want}");
        }
    }
    // Hand check of the IQM on the fixed data: 30 scores, drop 7 from each end, average 16.
    let mut pooled: Vec<f64> = s["A"].iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let by_hand = pooled[7..23].iter().sum::<f64>() / 16.0;
    assert!((iqm(&s["A"]) - by_hand).abs() < 1e-12);
    // Intervals: within 3x the difference between rliable's two bootstrap seeds,
    // plus 0.004 (the Monte Carlo noise of a 50,000-resample percentile here).
    let mut checked = 0;
    for (k, (a, sc)) in s.iter().enumerate() {
        let ag = aggregate(sc, 1.0, 50_000, k as u64);
        for (stat, i) in
            [("mean", ag.mean), ("median", ag.median), ("iqm", ag.iqm), ("optimality_gap", ag.optimality_gap)]
        {
            let key = (a.clone(), stat.to_string());
            let (_, lo0, hi0) = r0[&key];
            let (_, lo1, hi1) = r1[&key];
            let tol_lo = 3.0 * (lo0 - lo1).abs() + 0.004;
            let tol_hi = 3.0 * (hi0 - hi1).abs() + 0.004;
            assert!((i.lo - lo0).abs() <= tol_lo, "{a} {stat} lo: {} vs rliable {lo0} (±{tol_lo})", i.lo);
            assert!((i.hi - hi0).abs() <= tol_hi, "{a} {stat} hi: {} vs rliable {hi0} (±{tol_hi})", i.hi);
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
    // Probability of improvement of A over B.
    let key = ("A".to_string(), "prob_improvement_over:B".to_string());
    let (est, lo0, hi0) = r0[&key];
    let (_, lo1, hi1) = r1[&key];
    let p = probability_of_improvement(&s["A"], &s["B"], 20_000, 5);
    assert!((p.estimate - est).abs() < 1e-12, "{} vs {est}", p.estimate);
    assert!((p.lo - lo0).abs() <= 3.0 * (lo0 - lo1).abs() + 0.006, "{} vs {lo0}", p.lo);
    assert!((p.hi - hi0).abs() <= 3.0 * (hi0 - hi1).abs() + 0.006, "{} vs {hi0}", p.hi);
    // Reproducible: the same seed gives the same intervals.
    assert_eq!(aggregate(&s["B"], 1.0, 2000, 9), aggregate(&s["B"], 1.0, 2000, 9));
}

#[test]
fn stats_command_writes_table_csv_and_plots() {
    let dir = std::env::temp_dir().join(format!("rlkit-stats-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_rlkit");
    let mut runs = Vec::new();
    for env in ["cliff_walking", "windy_gridworld"] {
        let exp = dir.join(format!("{env}.toml"));
        std::fs::write(
            &exp,
            format!(
                "name = \"{env}\"\nseeds = 4\nepisodes = 40\n[env]\npath = \"envs/{env}.toml\"\n\
                 [[agents]]\nkind = \"sarsa\"\nname = \"Sarsa\"\nalpha = 0.5\nepsilon = 0.1\n\
                 [[agents]]\nkind = \"q-learning\"\nname = \"Q\"\nalpha = 0.5\nepsilon = 0.1\n"
            ),
        )
        .unwrap();
        let out = dir.join(env);
        let o = Command::new(bin)
            .args(["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        runs.push(out);
    }
    let sdir = dir.join("stats");
    let args = |extra: &[&str]| {
        let mut a = vec!["stats".to_string()];
        a.extend(runs.iter().map(|r| r.display().to_string()));
        a.extend(["--normalize", "minmax", "--resamples", "500", "--out"].iter().map(|s| s.to_string()));
        a.push(sdir.display().to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let o = Command::new(bin).args(args(&[])).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("P(Q > Sarsa)"), "{stdout}");
    let csv = std::fs::read_to_string(sdir.join("stats.csv")).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "agent,statistic,estimate,ci_low,ci_high,runs,tasks");
    assert_eq!(csv.lines().count(), 1 + 2 * 4 + 2);
    // The IQM row equals the library's IQM of the same normalized scores.
    let mut set =
        rlkit::experiment::stats_cli::load_scores(&runs, rlkit::experiment::stats_cli::Metric::FinalReturn).unwrap();
    rlkit::experiment::stats_cli::normalize_minmax(&mut set);
    let want = iqm(&set.agents["Sarsa"]);
    let row = csv.lines().find(|l| l.starts_with("Sarsa,iqm,")).unwrap();
    let got: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    assert!(row.ends_with(",8,2"), "{row}");
    for f in ["intervals.png", "profile.png", "profile.csv"] {
        assert!(std::fs::metadata(sdir.join(f)).unwrap().len() > 1000, "{f}");
    }
    // Same seed, same file; bad input is one line and exit 2.
    let first = csv.clone();
    let o = Command::new(bin).args(args(&[])).output().unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(sdir.join("stats.csv")).unwrap(), first);
    let o = Command::new(bin).args(["stats", runs[0].to_str().unwrap(), "--resamples", "0"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resamples 0"));
    let o = Command::new(bin).args(["stats", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
}
