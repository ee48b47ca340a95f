//! The function-approximation book experiments (Zhao ch. 8, Sutton & Barto Fig. 10.2), run
//! end to end through the library; their numbers are read back from the files they write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rlkit::experiment::{load, run, LoadOptions, RunOptions};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-approx-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run_exp(file: &str, out: &Path, seeds: Option<usize>, sets: &[(&str, &str)]) -> serde_json::Value {
    let opts = LoadOptions {
        out: Some(out.to_path_buf()),
        seeds,
        sets: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    let exp = load(Path::new(file), &opts).unwrap();
    run(&exp, &RunOptions::default()).unwrap();
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn agent<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["agents"].as_array().unwrap().iter().find(|a| a["agent"] == name).unwrap_or_else(|| panic!("agent {name}"))
}

/// episodes.csv as agent -> episode -> lengths over seeds.
fn lengths(dir: &Path) -> BTreeMap<String, BTreeMap<usize, Vec<f64>>> {
    let mut rdr = csv::Reader::from_path(dir.join("episodes.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (a, e, l) = (col("agent"), col("episode"), col("length"));
    let mut out: BTreeMap<String, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        out.entry(r[a].to_string()).or_default().entry(r[e].parse().unwrap()).or_default().push(r[l].parse().unwrap());
    }
    out
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

#[test]
fn zhao_fig8_6_to_8_8_rmse_falls_with_richer_features() {
    let out = tmp("f86");
    let s = run_exp("experiments/zhao_fig8_6_8_8.toml", &out, None, &[]);
    let rmse = |n: &str| agent(&s, n)["mean_value_error_vs_v_pi_rmse"].as_f64().unwrap();
    let (p3, p6, p10) = (rmse("poly-3"), rmse("poly-6"), rmse("poly-10"));
    let (f1, f2, f3) = (rmse("fourier-1"), rmse("fourier-2"), rmse("fourier-3"));
    assert!(p3 > p6 && p6 > p10, "polynomial: {p3} {p6} {p10}");
    assert!(f1 > f2 && f2 > f3, "Fourier: {f1} {f2} {f3}");
    // Every estimate is far better than the N(0, 1) start (RMSE about 4 against v_pi) ...
    assert!(p3 < 0.35 && f3 < 0.2, "{p3} {f3}");
    // ... but a linear function of 3 features cannot be exact.
    assert!(p3 > 0.1, "{p3}");
    // values.csv: every agent's v-hat of every cell, for every seed.
    let text = std::fs::read_to_string(out.join("values.csv")).unwrap();
    assert_eq!(text.lines().count(), 1 + 6 * 5 * 25);
    for f in [
        "plots/value_error.png",
        "plots/values_v_pi.png",
        "plots/values_fourier-3.png",
        "weights/poly-10_seed4.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let w = rlkit::data::tensors::read_f64_tensors(&out.join("weights/poly-10_seed4.safetensors")).unwrap();
    assert_eq!(w["w"].0, vec![1, 10]);
}

/// Follow the greedy arrows of a policy file from the top-left cell; true if it reaches `T`'s cell.
fn greedy_path_reaches(policy: &str, target: (usize, usize)) -> bool {
    let grid: Vec<Vec<&str>> = policy.lines().map(|l| l.split_whitespace().collect()).collect();
    let (mut r, mut c) = (0usize, 0usize);
    for _ in 0..25 {
        if (r, c) == target {
            return true;
        }
        match grid[r][c] {
            "^" if r > 0 => r -= 1,
            "v" if r + 1 < grid.len() => r += 1,
            "<" if c > 0 => c -= 1,
            ">" if c + 1 < grid[r].len() => c += 1,
            _ => return false,
        }
    }
    false
}

#[test]
fn zhao_fig8_9_8_10_linear_sarsa_and_q_learning_learn_the_path() {
    let out = tmp("f89");
    let s = run_exp("experiments/zhao_fig8_9_8_10.toml", &out, Some(3), &[]);
    let pol = std::fs::read_to_string(out.join("policies/Sarsa__Fourier_5_.txt")).unwrap();
    assert!(greedy_path_reaches(&pol, (3, 2)), "Sarsa's greedy path from the start:\n{pol}");
    let l = lengths(&out);
    // Episode lengths fall: Sarsa to the shortest path (9 steps from the top left) plus
    // exploration; Q-learning (off-policy, with features: the deadly triad) far less steadily.
    for (name, factor) in [("Sarsa (Fourier 5)", 10.0), ("Q-learning (Fourier 5)", 1.2)] {
        let early = mean(&(1..=50).flat_map(|e| l[name][&e].clone()).collect::<Vec<_>>());
        let late = mean(&(1951..=2000).flat_map(|e| l[name][&e].clone()).collect::<Vec<_>>());
        assert!(late * factor < early, "{name}: episode length {early} -> {late}");
    }
    assert!(out.join("plots/episode_lengths.png").exists());
    let sarsa = agent(&s, "Sarsa (Fourier 5)")["mean_late_return"].as_f64().unwrap();
    assert!(sarsa > -10.0, "{sarsa}");
    assert!(out.join("plots/learning_curves.png").exists());
}

#[test]
fn sutton_barto_fig10_2_mountain_car() {
    let out = tmp("f102");
    run_exp("experiments/sutton_barto_fig10_2.toml", &out, None, &[]);
    let l = lengths(&out);
    assert_eq!(l.len(), 3);
    let m = |a: &str, e: std::ops::RangeInclusive<usize>| mean(&e.flat_map(|e| l[a][&e].clone()).collect::<Vec<_>>());
    for a in ["alpha=0.1/8", "alpha=0.2/8", "alpha=0.5/8"] {
        assert_eq!(l[a][&1].len(), 30, "30 runs");
        let (first, late) = (m(a, 1..=1), m(a, 451..=500));
        // The book: from about 1,000 steps down to about 120-150.
        assert!(first > 900.0, "{a}: first episode {first}");
        assert!((100.0..160.0).contains(&late), "{a}: last 50 episodes {late}");
    }
    // Larger steps learn faster early on (the book's ordering).
    let early = |a| m(a, 10..=50);
    assert!(early("alpha=0.5/8") < early("alpha=0.2/8") && early("alpha=0.2/8") < early("alpha=0.1/8"));
    // No result is lost: a weights file per run.
    assert!(out.join("weights/alpha_0.5_8_seed29.safetensors").exists());
}
