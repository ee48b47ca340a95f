//! Behaviour cloning and the map generator (docs/bc.md), with real numbers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::ArrayD;
use rlkit::agents::bc::{self, BcConfig, BcModel, HeadKind, LabelMode, LabelledMap};
use rlkit::agents::dp::{optimal_action_sets, value_iteration::optimal_values};
use rlkit::config::Doc;
use rlkit::env::generate::{generate_map, generate_maps, is_solvable, map_toml, write_maps, MapGenConfig};
use rlkit::env::{CellKind, World};
use rlkit::experiment::{load, run, LoadOptions, RunOptions};
use rlkit::nn::model::NetworkFile;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-bc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rlkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).args(args).output().expect("run rlkit")
}

/// Exit code 2 and exactly one `error: ` line containing every needle.
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

#[test]
fn generator_is_deterministic_solvable_and_round_trips_through_toml() {
    let cfg = MapGenConfig::default();
    let a = generate_maps((5, 8), 12, &cfg, 3).unwrap();
    let b = generate_maps((5, 8), 12, &cfg, 3).unwrap();
    let c = generate_maps((5, 8), 12, &cfg, 4).unwrap();
    assert_eq!(a.iter().map(|g| &g.spec).collect::<Vec<_>>(), b.iter().map(|g| &g.spec).collect::<Vec<_>>());
    assert_ne!(a.iter().map(|g| &g.spec.map).collect::<Vec<_>>(), c.iter().map(|g| &g.spec.map).collect::<Vec<_>>());
    let dir = tmpdir("gen");
    let files = write_maps(&dir, &a).unwrap();
    for (i, (g, f)) in a.iter().zip(&files).enumerate() {
        // Sides cycle 5, 6, 7, 8; one target; exactly round(0.2·(n − 1)) forbidden cells.
        assert_eq!((g.height, g.width), (5 + i % 4, 5 + i % 4));
        let n = g.height * g.width;
        assert_eq!(g.cells.iter().filter(|k| **k == CellKind::Target).count(), 1);
        let forbidden = g.cells.iter().filter(|k| **k == CellKind::Forbidden).count();
        assert_eq!(forbidden, (0.2 * (n - 1) as f64).round() as usize);
        assert!(is_solvable(g), "map {i} is not solvable:\n{}", g.spec.map);
        // The written TOML reads back to the identical spec and model.
        let w = World::load(f).unwrap();
        let back = w.grid().unwrap();
        assert_eq!(back.spec, g.spec);
        for s in 0..n {
            for act in 0..5 {
                assert_eq!(back.outcomes(s, act), g.outcomes(s, act));
            }
        }
        assert_eq!(std::fs::read_to_string(f).unwrap(), map_toml(&g.spec));
    }
    // Every free cell reaches the target through free cells, checked independently of
    // `is_solvable` by flooding the map text from the target.
    for g in &a {
        let rows: Vec<Vec<char>> = g.spec.map.lines().map(|l| l.chars().collect()).collect();
        let (h, w) = (rows.len(), rows[0].len());
        let mut seen = vec![vec![false; w]; h];
        let t = (0..h * w).find(|&i| rows[i / w][i % w] == 'T').unwrap();
        let mut stack = vec![(t / w, t % w)];
        seen[t / w][t % w] = true;
        while let Some((r, c)) = stack.pop() {
            for (dr, dc) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                if nr >= 0 && nc >= 0 && (nr as usize) < h && (nc as usize) < w {
                    let (nr, nc) = (nr as usize, nc as usize);
                    if !seen[nr][nc] && rows[nr][nc] != 'X' {
                        seen[nr][nc] = true;
                        stack.push((nr, nc));
                    }
                }
            }
        }
        assert!((0..h * w).all(|i| rows[i / w][i % w] == 'X' || seen[i / w][i % w]));
    }
    // Bounded redraws: 60% forbidden on 12x12 is (almost surely) never solvable.
    let e = generate_map(12, 12, &MapGenConfig { density: 0.6, ..cfg.clone() }, 1).unwrap_err().to_string();
    assert!(e.contains("could not draw a solvable 12x12 map") && e.contains("1000 attempts"), "{e}");
    assert!(generate_map(5, 5, &MapGenConfig { density: 0.9, ..cfg }, 1).is_err());
}

#[test]
fn generate_cli_writes_identical_files_and_refuses_bad_sizes() {
    let d = tmpdir("cli");
    let (o1, o2) = (d.join("a"), d.join("b"));
    for o in [&o1, &o2] {
        let out = rlkit(&[
            "generate",
            "--sizes",
            "5-8",
            "--count",
            "6",
            "--density",
            "0.2",
            "--seed",
            "9",
            "--out",
            o.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&o1).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 6);
    assert_eq!(names[0], "map_0000_5x5.toml");
    for n in &names {
        assert_eq!(std::fs::read(o1.join(n)).unwrap(), std::fs::read(o2.join(n)).unwrap());
        let w = World::load(&o1.join(n)).unwrap();
        assert!(is_solvable(w.grid().unwrap()));
    }
    assert_user_error(
        &rlkit(&["generate", "--sizes", "8-5", "--out", d.join("c").to_str().unwrap()]),
        &["--sizes 8-5", "MIN-MAX"],
    );
    assert_user_error(&rlkit(&["generate", "--density", "0.95", "--out", d.join("c").to_str().unwrap()]), &["density"]);
}

#[test]
fn labels_equal_value_iteration_optimal_sets_on_zhao_5x5() {
    let mut doc = Doc::load(Path::new("envs/zhao_5x5.toml")).unwrap();
    doc.set("rewards.forbidden", "-10").unwrap();
    let w = World::from_doc(&doc, &[]).unwrap();
    let m = LabelledMap::new(w.grid().unwrap().clone()).unwrap();
    let v = optimal_values(w.model()).unwrap();
    assert_eq!(m.optimal, optimal_action_sets(w.model(), &v, 1e-6));
    let low = m.lowest_labels();
    // Zhao Fig. 3.4(d) (r_f = −10): top row → → → → ↓ (right = 1, down = 2); the target stays.
    assert_eq!(&low[0..5], &[1, 1, 1, 1, 2]);
    assert_eq!(low[3 * 5 + 2], 4);
    // Every lowest label is in its set, and value iteration's greedy policy is optimal.
    let greedy = rlkit::agents::dp::greedy(w.model(), &v);
    for s in 0..25 {
        assert!(m.optimal[s].contains(&low[s]) && m.optimal[s].contains(&greedy[s]));
    }
    assert_eq!(m.states().len(), 25);
}

#[test]
fn set_cross_entropy_matches_finite_differences() {
    // −log P(S) with multi-action sets, f32 loss: central differences, h = 1e-3,
    // |analytic − numeric| ≤ 1e-3 + 1e-2·|numeric|.
    let z = ndarray::array![[0.3f32, -1.2, 2.0, 0.1, 0.5], [1.0, 1.0, -0.4, 0.2, -2.0]];
    let sets: [&[usize]; 2] = [&[0, 2], &[4]];
    let (_, g) = bc::set_cross_entropy(&z, &sets);
    for i in 0..2 {
        for c in 0..5 {
            let mut zp = z.clone();
            zp[[i, c]] += 1e-3;
            let mut zm = z.clone();
            zm[[i, c]] -= 1e-3;
            let num = (bc::set_cross_entropy(&zp, &sets).0 as f64 - bc::set_cross_entropy(&zm, &sets).0 as f64) / 2e-3;
            assert!((g[[i, c]] as f64 - num).abs() <= 1e-3 + 1e-2 * num.abs(), "[{i},{c}] {} vs {num}", g[[i, c]]);
        }
    }
    // One action per set is the ordinary cross-entropy.
    let ce = rlkit::nn::loss::cross_entropy_forward(z.view(), &[2, 4]).unwrap();
    assert!((bc::set_cross_entropy(&z, &[&[2], &[4]]).0 - ce).abs() < 1e-6);
}

const TINY: &str = r#"
name = "tiny"
[[layers]]
kind = "conv2d"
out_channels = 3
kernel_size = 3
padding = 1
[[layers]]
kind = "spp"
levels = [1, 2]
[[layers]]
kind = "linear"
out_features = 5
"#;

/// Every head's wiring in `BcModel::loss_grad`: the gradient of the batch loss
/// with respect to the head's class weights (the last linear layer) and to
/// the first conv layer (through the penultimate features) against central
/// differences of the same f32 loss, h = 1e-2 (f32 has no f64 path through the
/// margin heads): |analytic − numeric| ≤ 2e-3 + 3e-2·|numeric| for every entry.
#[test]
fn every_head_gradient_matches_finite_differences() {
    let file = NetworkFile::from_str("tiny.toml", TINY).unwrap();
    let g = generate_map(4, 4, &MapGenConfig::default(), 5).unwrap();
    let map = LabelledMap::new(g).unwrap();
    let states = [0usize, 5, 9, 14];
    let x = map.images(&states);
    let low = map.lowest_labels();
    let sets_v: Vec<Vec<usize>> = states.iter().map(|&s| vec![low[s]]).collect();
    let sets: Vec<&[usize]> = sets_v.iter().map(|v| v.as_slice()).collect();
    for head in [
        HeadKind::Softmax,
        HeadKind::Normface,
        HeadKind::Cosface,
        HeadKind::Arcface,
        HeadKind::Sphereface,
        HeadKind::Lsoftmax,
    ] {
        let scale = match head {
            HeadKind::Normface | HeadKind::Cosface | HeadKind::Arcface => Some(4.0),
            _ => None,
        };
        let margin = if head == HeadKind::Lsoftmax { Some(2.0) } else { None };
        let cfg = BcConfig { head, scale, margin, labels: LabelMode::Lowest, ..BcConfig::default() };
        let mut model = BcModel::new(&file, &cfg, (4, 4), 3).unwrap();
        let loss = model.loss_grad(&x, &sets).unwrap();
        assert!(loss.is_finite(), "{head:?}");
        let n = model.params.len();
        for k in [0, n - 2] {
            let name = model.params[k].0.clone();
            let grad: ArrayD<f32> = model.params[k].1.grad.clone();
            let value = model.params[k].1.value.clone();
            let mut worst = 0.0f64;
            for j in 0..value.len() {
                let mut f = |delta: f32| {
                    let mut v = value.clone();
                    *v.iter_mut().nth(j).unwrap() += delta;
                    model.params[k].1.value = v;
                    model.loss_grad(&x, &sets).unwrap() as f64
                };
                let num = (f(1e-2) - f(-1e-2)) / 2e-2;
                let ana = *grad.iter().nth(j).unwrap() as f64;
                let err = (ana - num).abs();
                assert!(err <= 2e-3 + 3e-2 * num.abs(), "{head:?} {name}[{j}]: analytic {ana} vs numeric {num}");
                worst = worst.max(err);
            }
            model.params[k].1.value = value;
            assert!(grad.iter().any(|g| g.abs() > 1e-4), "{head:?} {name}: gradient is all zero");
            let _ = worst;
        }
    }
}

/// Behaviour cloning memorises a handful of maps: 4 maps of sides 5-6
/// (122 cells), softmax head, 15 epochs, seed 7: measured training PA 1.0
/// (asserted ≥ 0.9 on every map on average).
#[test]
fn bc_reaches_training_pa_on_a_handful_of_maps() {
    let file = NetworkFile::load(Path::new("configs/networks/grid_backbone.toml")).unwrap();
    let maps: Vec<LabelledMap> = generate_maps((5, 6), 4, &MapGenConfig::default(), 11)
        .unwrap()
        .into_iter()
        .map(|g| LabelledMap::new(g).unwrap())
        .collect();
    let cfg = BcConfig { epochs: 15, ..BcConfig::default() };
    let mut run = bc::train(&file, &cfg, &maps, 7).unwrap();
    let pa: Vec<f64> = maps.iter().map(|m| run.model.evaluate(m).unwrap().pa).collect();
    let mean = pa.iter().sum::<f64>() / pa.len() as f64;
    eprintln!("training PA per map {pa:?}, mean {mean:.4}, losses {:?}", run.epoch_loss);
    assert!(mean >= 0.9, "training PA {mean}");
    assert!(run.epoch_loss.last().unwrap() < &(run.epoch_loss[0] * 0.5));
    // The same seed gives the same weights.
    let run2 = bc::train(&file, &cfg, &maps, 7).unwrap();
    assert_eq!(run.model.tensors(), run2.model.tensors());
}

#[test]
fn pca_recovers_the_principal_axes() {
    // Points on the line (t, 2t) plus a small spread along the third axis.
    let x = ndarray::Array2::from_shape_fn((40, 3), |(i, j)| {
        let t = i as f32 - 20.0;
        // ±0.5 in the pattern + − − + (orthogonal to t, mean 0).
        let o = if i % 4 == 0 || i % 4 == 3 { 0.5 } else { -0.5 };
        [t, 2.0 * t, o][j]
    });
    let p = bc::pca_2d(&x);
    // PC 1 = projection on (1, 2, 0)/√5; PC 2 = ±the third coordinate.
    for i in 0..40 {
        let t = i as f64 - 19.5; // centred
        assert!((p[[i, 0]].abs() - (5.0f64).sqrt() * t.abs()).abs() < 1e-4, "{i}: {}", p[[i, 0]]);
        assert!((p[[i, 1]].abs() - 0.5).abs() < 1e-6);
    }
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn png_is_drawn(p: &Path) {
    let bytes = std::fs::read(p).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} looks blank", p.display());
}

#[test]
fn generalisation_experiment_runs_end_to_end_and_is_reproducible() {
    let d = tmpdir("genexp");
    // The shipped file once, then twice with a tiny budget for reproducibility.
    let small: Vec<(String, String)> =
        [("agents[0].train_maps", "6"), ("agents[0].epochs", "3"), ("agents[0].held_out_maps_per_size", "1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let mut outs = Vec::new();
    for k in 0..3 {
        let out = d.join(format!("run{k}"));
        let sets = if k == 0 { vec![] } else { small.clone() };
        let exp = load(
            Path::new("experiments/generalisation.toml"),
            &LoadOptions { out: Some(out.clone()), sets, ..Default::default() },
        )
        .unwrap();
        run(&exp, &RunOptions::default()).unwrap();
        outs.push(out);
    }
    let s = read_json(&outs[0].join("summary.json"));
    let a = &s["agents"][0];
    assert_eq!(a["kind"], "behaviour-cloning");
    for split in ["train", "held_out"] {
        for m in ["pa", "mpa", "miou"] {
            let v = a[split][m].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{split} {m} {v}");
        }
    }
    let sizes: Vec<(String, u64)> = a["per_size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["split"].as_str().unwrap().to_string(), p["size"].as_u64().unwrap()))
        .collect();
    for side in 5..=8 {
        assert!(sizes.contains(&("train".into(), side)));
    }
    for side in 5..=12 {
        assert!(sizes.contains(&("held_out".into(), side)));
    }
    assert!(a["train"]["pa"].as_f64().unwrap() >= 0.8, "training PA {}", a["train"]["pa"]);
    assert!(!a["per_map"].as_array().unwrap().is_empty());
    png_is_drawn(&outs[0].join("plots/bc_pa_by_size.png"));
    png_is_drawn(&outs[0].join("plots/bc_metrics.png"));
    let w = rlkit::nn::io::read_tensors(&outs[0].join("weights/softmax_seed0.safetensors")).unwrap();
    assert!(w.contains_key("layers.7.weight"));
    // Same seed → byte-identical outputs, timings aside.
    for f in ["summary.json", "bc_maps.csv", "bc_metrics.csv", "iterations.csv", "weights/softmax_seed0.safetensors"] {
        assert_eq!(std::fs::read(outs[1].join(f)).unwrap(), std::fs::read(outs[2].join(f)).unwrap(), "{f}");
    }
    let map0 = outs[0].join("maps/softmax/train/map_0000_5x5.toml");
    assert!(World::load(&map0).is_ok());
}

#[test]
fn margin_heads_experiment_runs_end_to_end() {
    let d = tmpdir("heads");
    let exp = load(
        Path::new("experiments/margin_heads.toml"),
        &LoadOptions { out: Some(d.join("out")), ..Default::default() },
    )
    .unwrap();
    run(&exp, &RunOptions::default()).unwrap();
    let s = read_json(&d.join("out/summary.json"));
    let heads: Vec<&str> = s["agents"].as_array().unwrap().iter().map(|a| a["head"].as_str().unwrap()).collect();
    assert_eq!(heads, ["softmax", "normface", "cosface", "arcface", "sphereface", "lsoftmax"]);
    for a in s["agents"].as_array().unwrap() {
        assert_eq!(a["per_seed"].as_array().unwrap().len(), 3);
        assert!(a["held_out"]["pa"].as_f64().is_some());
    }
    let softmax_pa = s["agents"][0]["train"]["pa"].as_f64().unwrap();
    assert!(softmax_pa >= 0.8, "softmax training PA {softmax_pa}");
    png_is_drawn(&d.join("out/plots/bc_metrics.png"));
    png_is_drawn(&d.join("out/plots/bc_embedding.png"));
    let table = std::fs::read_to_string(d.join("out/bc_metrics.csv")).unwrap();
    assert_eq!(table.lines().count(), 1 + 6 * 2 * 3);
}

#[test]
fn check_refuses_bad_behaviour_cloning_agents_with_one_located_line() {
    let d = tmpdir("check");
    let exp = |body: &str| {
        let p = d.join("exp.toml");
        std::fs::write(&p, format!("name = \"t\"\n[[agents]]\nkind = \"behaviour-cloning\"\n{body}")).unwrap();
        p.display().to_string()
    };
    let f = exp("head = \"arcfase\"\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:4:", "arcfase", "arcface"]);
    let f = exp("train_sizes = [5, 40]\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:4:", "train_sizes", "16"]);
    let f = exp("held_out_sizes = [2, 9]\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:4:", "held_out_sizes"]);
    let f = exp("network = \"no/such/net.toml\"\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:4:", "network", "no/such/net.toml"]);
    let net = d.join("net3.toml");
    std::fs::write(&net, "[[layers]]\nkind = \"conv2d\"\nout_channels = 2\nkernel_size = 3\npadding = 1\n[[layers]]\nkind = \"global_avg_pool\"\n[[layers]]\nkind = \"linear\"\nout_features = 3\n").unwrap();
    let f = exp(&format!("network = \"{}\"\n", net.display()));
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:4:", "network", "5 action scores"]);
    let f = exp("head = \"softmax\"\nmargin = 0.5\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:5:", "margin"]);
    let f = exp("head = \"sphereface\"\nmargin = 2.5\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:5:", "integer"]);
    let f = exp("epochz = 3\n");
    assert_user_error(&rlkit(&["check", &f]), &["exp.toml:4:", "epochz", "epochs"]);
    let f = d.join("env.toml");
    std::fs::write(
        &f,
        "name = \"t\"\n[env]\npath = \"envs/zhao_5x5.toml\"\n[[agents]]\nkind = \"behaviour-cloning\"\n",
    )
    .unwrap();
    assert_user_error(&rlkit(&["check", f.to_str().unwrap()]), &["generates its own maps"]);
    // A valid file passes.
    let f = exp("head = \"cosface\"\nscale = 16.0\n");
    let o = rlkit(&["check", &f]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
