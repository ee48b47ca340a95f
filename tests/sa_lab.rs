//! Integration tests of the stochastic approximation lab through its public
//! API (`rlkit::agents::sa::{run, plot, KINDS}`) and the experiment files.

use rlkit::agents::sa::{self, incremental_mean, schedule::Schedule, sgd_mean, SaRun};
use rlkit::data::table::Cell;
use rlkit::Error;

/// An agent of an experiment file: (kind, name, params without kind/name).
type Agent = (String, String, toml::Table);

/// Read `experiments/<name>.toml`: its agents and its list of seeds
/// (`seeds = N` is read as seed, seed + 1, ..., seed + N − 1).
fn experiment(name: &str) -> (Vec<Agent>, Vec<u64>) {
    let path = format!("{}/experiments/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let seed = doc["seed"].as_integer().unwrap() as u64;
    let seeds = match &doc["seeds"] {
        toml::Value::Integer(n) => (0..*n as u64).map(|i| seed + i).collect(),
        toml::Value::Array(a) => a.iter().map(|v| v.as_integer().unwrap() as u64).collect(),
        other => panic!("seeds: {other:?}"),
    };
    let agents = doc["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut t = a.as_table().unwrap().clone();
            let kind = t.remove("kind").unwrap().as_str().unwrap().to_string();
            let name = t.remove("name").unwrap().as_str().unwrap().to_string();
            (kind, name, t)
        })
        .collect();
    (agents, seeds)
}

fn params(src: &str) -> toml::Table {
    toml::from_str(src).unwrap()
}

fn final_scalar(r: &SaRun) -> f64 {
    r.trajectory.last().unwrap()[0]
}

fn input_error(kind: &str, src: &str) -> String {
    let m = match sa::run(kind, &params(src), 0) {
        Err(Error::Input(m)) => m,
        other => panic!("expected an input error for {src:?}, got {other:?}"),
    };
    assert!(!m.contains('\n'), "one line: {m:?}");
    m
}

/// Zhao Fig. 6.4, deterministic. Reference values from an independent Python
/// script (`w = 3.0; for k in 1..: w -= (1/k) * math.tanh(w - 1)`, printed
/// with `%.6f`): w_1..w_8 = 3.000000, 2.035972, 1.647826, 1.457758,
/// 1.350694, 1.283296, 1.237304, 1.204026; w_51 = 1.028788.
#[test]
fn fig_6_4_first_iterates_to_six_decimals() {
    let (agents, seeds) = experiment("zhao_fig6_4");
    let (kind, _, p) = &agents[0];
    let r = sa::run(kind, p, seeds[0]).unwrap();
    let expected = [3.000000, 2.035972, 1.647826, 1.457758, 1.350694, 1.283296, 1.237304, 1.204026];
    for (k, e) in expected.iter().enumerate() {
        let w = r.trajectory[k][0];
        assert!((w - e).abs() < 5e-7, "w_{} = {w}, expected {e}", k + 1);
        // The table carries the same numbers, with iteration = k.
        assert_eq!(r.iterations.row(k)[0], Cell::Int(k as i64 + 1));
        assert_eq!(r.iterations.row(k)[1], Cell::Float(w));
    }
    assert_eq!(r.trajectory.len(), 51);
    assert!((final_scalar(&r) - 1.028788).abs() < 5e-7);
    // Monotone decrease towards the root from above.
    for w in r.trajectory.windows(2) {
        assert!(w[1][0] < w[0][0] && w[1][0] > 1.0);
    }
    // And it does converge: after 10,000 steps the error is ~1.5e-4 (≈ 1.47/k).
    let mut long = p.clone();
    long.insert("iterations".into(), toml::Value::Integer(10_000));
    let r = sa::run(kind, &long, 0).unwrap();
    let e = final_scalar(&r) - 1.0;
    assert!(e > 0.0 && e < 3e-4, "w_10001 - 1 = {e}");
    // Noise-free: the seed does not matter.
    assert_eq!(sa::run(kind, p, 0).unwrap().trajectory, sa::run(kind, p, 99).unwrap().trajectory);
}

/// Zhao Fig. 6.3 with N(0,1) noise: over 20 seeds, both agents of the
/// experiment end within 0.08 of 5^(1/3) on average (a Python re-run of the
/// projected recursion gives a mean error of 0.03, max 0.09 over 40 seeds;
/// a sign error w_{k+1} = w_k + a_k g̃ ends on the bound, 1.7 away).
#[test]
fn fig_6_3_noisy_rm_converges_to_cube_root_of_5() {
    let root = 5f64.cbrt();
    let (agents, _) = experiment("zhao_fig6_3");
    assert_eq!(agents.len(), 2);
    for (kind, name, p) in &agents {
        let mut total = 0.0;
        for seed in 0..20 {
            let r = sa::run(kind, p, seed).unwrap();
            assert_eq!(r.truth, vec![root]);
            assert_eq!(r.trajectory.len(), 51);
            total += (final_scalar(&r) - root).abs();
        }
        let mean = total / 20.0;
        assert!(mean < 0.08, "{name}: mean |w_51 - 5^(1/3)| = {mean}");
    }
    // The book's literal settings (no projection, a_k = 1/k) blow up.
    let mut literal = agents[0].2.clone();
    literal.remove("bounds");
    let r = sa::run("robbins-monro", &literal, 0).unwrap();
    assert_eq!(r.summary["diverged"], serde_json::json!(true));
    assert!(r.summary["diverged_at_iteration"].as_u64().unwrap() < 10);
}

/// Reference-sheet identity: incremental averaging with α_k = 1/k gives the
/// sample mean exactly: w_{k+1} = (x_1 + ... + x_k)/k for every k.
#[test]
fn incremental_mean_with_inverse_steps_is_the_sample_mean() {
    for (i, dist) in [
        "{ dist = \"normal\", mean = 5.0, std = 2.0 }",
        "{ dist = \"exponential\", rate = 0.5 }",
        "{ dist = \"discrete\", values = [-1.0, 0.5, 10.0], probs = [0.2, 0.5, 0.3] }",
        "{ dist = \"bernoulli\", p = 0.3 }",
    ]
    .iter()
    .enumerate()
    {
        let src = format!("iterations = 500\nw1 = 123.0\nsamples = {dist}");
        let p = params(&src);
        let r = sa::run("incremental-mean", &p, i as u64).unwrap();
        let cfg: incremental_mean::IncrementalMeanConfig = sa::parse(&p).unwrap();
        let xs = incremental_mean::draw_samples(&cfg, i as u64).unwrap();
        assert_eq!(r.trajectory[0][0], 123.0);
        let mut sum = 0.0;
        for (k, x) in xs.iter().enumerate() {
            sum += x;
            let mean = sum / (k + 1) as f64;
            let w = r.trajectory[k + 1][0];
            assert!((w - mean).abs() <= 1e-12 * mean.abs().max(1.0), "{dist}: k={} w={w} mean={mean}", k + 1);
        }
        assert_eq!(r.summary["sample_mean"].as_f64().unwrap(), sum / xs.len() as f64);
    }
}

fn run_fig_6_5(seed: u64) -> Vec<(String, SaRun)> {
    let (agents, _) = experiment("zhao_fig6_5");
    agents.iter().map(|(k, n, p)| (n.clone(), sa::run(k, p, seed).unwrap())).collect()
}

/// BGD with α_k = 1/k: w_2 = w_1 − (w_1 − x̄) = x̄ and it stays there, up to
/// rounding (the gradient is summed over 100 samples).
#[test]
fn bgd_lands_on_the_sample_mean_after_one_step() {
    let runs = run_fig_6_5(0);
    let samples = runs[0].1.samples.clone().unwrap();
    for (name, r) in &runs {
        assert_eq!(r.samples.as_ref().unwrap(), &samples, "{name}: same sample set for every variant");
    }
    let xbar = sgd_mean::sample_mean(&samples);
    let (_, bgd) = runs.iter().find(|(n, _)| n == "BGD").unwrap();
    assert_eq!(bgd.trajectory[0], vec![20.0, 20.0]);
    for w in &bgd.trajectory[1..] {
        assert!((w[0] - xbar[0]).abs() < 1e-12 && (w[1] - xbar[1]).abs() < 1e-12, "{w:?} vs {xbar:?}");
    }
    assert_eq!(bgd.truth, xbar.to_vec());
}

/// With α_k = 1/k, MBGD gives w_{K+1} = average of K independent mini-batch
/// means (w_1 is forgotten at step 1), so E‖w_{K+1} − x̄‖² = tr(S)/(K·m) with S
/// the covariance of the sample set (divisor n; draws are with replacement).
/// Over 100 seeds the mean of ‖w_{K+1} − x̄‖²·K·m/tr(S) must be 1 ± 0.3
/// (its standard error is ≈ 0.1), and the error shrinks with m.
#[test]
fn minibatch_error_matches_theory_and_shrinks_with_m() {
    let seeds = 100;
    let mut ratio = std::collections::BTreeMap::<String, f64>::new();
    let mut mse = std::collections::BTreeMap::<String, f64>::new();
    for seed in 0..seeds {
        let runs = run_fig_6_5(seed);
        let xs = runs[0].1.samples.clone().unwrap();
        let xbar = sgd_mean::sample_mean(&xs);
        let n = xs.len() as f64;
        let tr: f64 = xs.iter().map(|x| (x[0] - xbar[0]).powi(2) + (x[1] - xbar[1]).powi(2)).sum::<f64>() / n;
        for (name, r) in &runs {
            let w = r.trajectory.last().unwrap();
            let e2 = (w[0] - xbar[0]).powi(2) + (w[1] - xbar[1]).powi(2);
            // Every variant ends near the sample mean (SGD rms ≈ 1.15).
            assert!(e2.sqrt() < 4.0, "{name} seed {seed}: error {}", e2.sqrt());
            let k = (r.trajectory.len() - 1) as f64;
            let m = match r.summary["batch_size"].as_u64() {
                Some(m) => m as f64,
                None => continue, // BGD: exact
            };
            *ratio.entry(name.clone()).or_default() += e2 * k * m / tr / seeds as f64;
            *mse.entry(name.clone()).or_default() += e2 / seeds as f64;
        }
    }
    for (name, r) in &ratio {
        assert!((r - 1.0).abs() < 0.3, "{name}: E|w-xbar|^2 K m / tr(S) = {r}");
    }
    assert!(mse["SGD (m=1)"] > 3.0 * mse["MBGD (m=5)"], "{mse:?}");
    assert!(mse["MBGD (m=5)"] > 5.0 * mse["MBGD (m=50)"], "{mse:?}");
}

#[test]
fn robbins_monro_conditions_are_reported() {
    let rm = |src: &str| {
        let s: Schedule = toml::from_str(src).unwrap();
        s.rm_conditions()
    };
    let inv = rm("type = \"inverse\"");
    assert_eq!(
        (inv.sum_alpha_infinite, inv.sum_alpha_sq_finite, inv.conditions_hold),
        (Some(true), Some(true), Some(true))
    );
    let slow = rm("type = \"power\"\np = 0.4");
    assert_eq!(
        (slow.sum_alpha_infinite, slow.sum_alpha_sq_finite, slow.conditions_hold),
        (Some(true), Some(false), Some(false))
    );
    let fast = rm("type = \"power\"\np = 2.0");
    assert_eq!(
        (fast.sum_alpha_infinite, fast.sum_alpha_sq_finite, fast.conditions_hold),
        (Some(false), Some(true), Some(false))
    );
    let edge = rm("type = \"power\"\np = 0.5");
    assert_eq!((edge.sum_alpha_infinite, edge.sum_alpha_sq_finite), (Some(true), Some(false)));
    let one = rm("type = \"power\"\na = 3.0\nb = 5.0\np = 1.0");
    assert_eq!(one.conditions_hold, Some(true));
    let c = rm("type = \"constant\"\nalpha = 0.1");
    assert_eq!(
        (c.sum_alpha_infinite, c.sum_alpha_sq_finite, c.conditions_hold),
        (Some(true), Some(false), Some(false))
    );
    assert!(c.note.contains("do not converge in mean square"), "{}", c.note);
    let l = rm("type = \"list\"\nvalues = [0.5, 0.25]");
    assert_eq!((l.sum_alpha_infinite, l.sum_alpha_sq_finite, l.conditions_hold), (None, None, None));

    // ... and land in summary.json, with the partial sums of the run.
    let r = sa::run(
        "incremental-mean",
        &params("iterations = 3\nsamples = { dist = \"normal\" }\nschedule = { type = \"constant\", alpha = 0.5 }"),
        0,
    )
    .unwrap();
    let s = &r.summary["schedule"];
    assert_eq!(s["rm_conditions"]["sum_alpha_sq_finite"], serde_json::json!(false));
    assert_eq!(s["rm_conditions"]["conditions_hold"], serde_json::json!(false));
    assert_eq!(s["partial_sum_alpha"].as_f64().unwrap(), 1.5);
    assert_eq!(s["partial_sum_alpha_sq"].as_f64().unwrap(), 0.75);
    let r = sa::run(
        "robbins-monro",
        &params("function = { type = \"tanh\" }\niterations = 2\nschedule = { type = \"list\", values = [0.5, 0.25] }"),
        0,
    )
    .unwrap();
    assert!(r.summary["schedule"]["rm_conditions"]["conditions_hold"].is_null());
}

/// Constant α = 0.1 on N(5, 2²): w_{k+1} = (1 − α) w_k + α x_k is a stationary
/// AR(1) with variance α σ² / (2 − α) = 0.2105..., so the late iterates never
/// settle; with α_k = 1/k their spread collapses (variance ≈ σ²/k ≤ 0.004).
#[test]
fn constant_step_never_settles() {
    let (agents, _) = experiment("sa_constant_step");
    let late_var = |r: &SaRun| {
        let v: Vec<f64> = r.trajectory[1000..].iter().map(|w| w[0]).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    };
    let theory = 0.1 * 4.0 / 1.9;
    let (mut constant, mut inverse) = (0.0, 0.0);
    for seed in 0..10 {
        for (kind, name, p) in &agents {
            let r = sa::run(kind, p, seed).unwrap();
            let v = late_var(&r) / 10.0;
            if name.contains("constant") {
                assert_eq!(r.summary["schedule"]["rm_conditions"]["conditions_hold"], serde_json::json!(false));
                constant += v;
            } else {
                inverse += v;
            }
        }
    }
    assert!((constant - theory).abs() < 0.25 * theory, "late variance {constant} vs {theory}");
    assert!(inverse < 0.005, "1/k late variance {inverse}");
}

#[test]
fn same_seed_same_tables() {
    let cases = [
        ("incremental-mean", "iterations = 50\nsamples = { dist = \"gamma\", shape = 2.0, scale = 1.5 }"),
        ("robbins-monro", "function = { type = \"cubic\" }\nw1 = 1.0\nnoise = { dist = \"uniform\", low = -1.0, high = 1.0 }\nschedule = { type = \"power\", b = 10.0, p = 1.0 }"),
        ("mbgd", "batch_size = 7\niterations = 40"),
    ];
    for (kind, src) in cases {
        let p = params(src);
        let a = sa::run(kind, &p, 5).unwrap();
        let b = sa::run(kind, &p, 5).unwrap();
        assert_eq!(a, b, "{kind}");
        assert_eq!(a.iterations.to_csv_string(), b.iterations.to_csv_string());
        let c = sa::run(kind, &p, 6).unwrap();
        assert_ne!(a.iterations, c.iterations, "{kind}: another seed, other samples");
    }
}

#[test]
fn bad_params_are_input_errors_naming_the_key() {
    let m = input_error("robbins-monro", "function = { type = \"tanh\" }\niteratons = 5");
    assert!(m.contains("iteratons"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"tanh\" }\nschedule = { type = \"power\", p = 0.0 }");
    assert!(m.starts_with("schedule.p:"), "{m}");
    let m =
        input_error("incremental-mean", "samples = { dist = \"normal\" }\nschedule = { type = \"power\", p = -1.0 }");
    assert!(m.starts_with("schedule.p:"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"linear\", a = 0.0, b = 1.0 }");
    assert!(m.starts_with("function.a:") && m.contains("non-zero"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"tanh\", centre = 1.0 }");
    assert!(m.contains("function") && m.contains("centre"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"sine\" }");
    assert!(m.contains("function") && m.contains("tanh"), "{m}");
    let m = input_error("robbins-monro", "w1 = 0.0");
    assert!(m.contains("function"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"tanh\" }\niterations = 1e5");
    assert!(m.starts_with("iterations:") && m.contains("100_000"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"tanh\" }\nnoise = { dist = \"normal\", std = -2.0 }");
    assert!(m.starts_with("noise.std:"), "{m}");
    let m = input_error("incremental-mean", "samples = { dist = \"normal\", sd = 1.0 }");
    assert!(m.contains("samples") && m.contains("sd"), "{m}");
    let m = input_error(
        "incremental-mean",
        "iterations = 5\nsamples = { dist = \"normal\" }\nschedule = { type = \"list\", values = [1.0, 0.5] }",
    );
    assert!(m.starts_with("schedule.values:"), "{m}");
    let m = input_error("mbgd", "iterations = 5");
    assert!(m.starts_with("batch_size:"), "{m}");
    let m = input_error("mbgd", "batch_size = 101");
    assert!(m.starts_with("batch_size:"), "{m}");
    let m = input_error("sgd-mean", "batch_size = \"half\"");
    assert!(m.starts_with("batch_size:") && m.contains("\"all\""), "{m}");
    let m = input_error("sgd-mean", "low = [1.0, 0.0]\nhigh = [1.0, 2.0]");
    assert!(m.starts_with("high[0]:"), "{m}");
    let m = input_error("robbins-monro", "function = { type = \"tanh\" }\niterations = 0");
    assert!(m.starts_with("iterations:"), "{m}");
}

#[test]
fn kinds_are_the_documented_ones() {
    assert_eq!(sa::KINDS, &["incremental-mean", "robbins-monro", "sgd-mean", "sgd", "bgd", "mbgd"]);
    let r = sa::run("sgd-mean", &params("iterations = 3"), 0).unwrap();
    assert_eq!(r.iterations.columns, vec!["iteration", "estimate_0", "estimate_1", "error"]);
    let r = sa::run("robbins-monro", &params("function = { type = \"tanh\" }\niterations = 3"), 0).unwrap();
    assert_eq!(r.iterations.columns, vec!["iteration", "estimate", "error"]);
}

/// Run every experiment file over its seeds and plot it: every run succeeds
/// and the expected PNGs are written (set SA_PLOT_DIR to keep them).
#[test]
fn experiments_run_and_plot() {
    let keep = std::env::var_os("SA_PLOT_DIR");
    for name in ["zhao_fig6_3", "zhao_fig6_4", "zhao_fig6_5", "sa_constant_step", "sa_incremental_mean"] {
        let (agents, seeds) = experiment(name);
        let mut runs = Vec::new();
        for (kind, label, p) in &agents {
            for &seed in &seeds {
                runs.push((label.clone(), seed, sa::run(kind, p, seed).unwrap()));
            }
        }
        let dir = match &keep {
            Some(d) => std::path::PathBuf::from(d).join(name),
            None => std::env::temp_dir().join(format!("rlkit-sa-plot-{}-{name}", std::process::id())),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let files = rlkit::plot::sa::plot(&dir, &rlkit::experiment::runner::sa_series(&runs)).unwrap();
        let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        let expect: &[&str] = if name == "zhao_fig6_5" {
            &["sa_error.png", "sa_trajectory.png"]
        } else {
            &["sa_estimate.png", "sa_error.png"]
        };
        assert_eq!(names, expect, "{name}");
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", f.display());
        }
        if keep.is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
