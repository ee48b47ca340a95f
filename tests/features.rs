//! Feature columns (`rlkit::env::features`): values, layouts, pinned hashes,
//! tiles3 equality and every build error.

use rlkit::env::features::{ColumnError, ColumnSpec, FeatureSet, Features, TileCounts, MAX_FEATURE_ENTRIES};
use rlkit::env::mountain_car::MountainCar;
use rlkit::env::{ObsSpec, World};
use serde::Deserialize;

#[derive(Deserialize)]
struct Doc {
    features: Vec<ColumnSpec>,
}

/// Columns from a TOML array `features = [...]`.
fn cols(toml_array: &str) -> Vec<ColumnSpec> {
    toml::from_str::<Doc>(&format!("features = {toml_array}")).unwrap().features
}

fn grid() -> ObsSpec {
    World::load("envs/zhao_5x5.toml".as_ref()).unwrap().obs_spec()
}

/// A continuous spec with the given names and bounds.
fn spec(comps: &[(&str, f64, f64, bool)]) -> ObsSpec {
    ObsSpec {
        names: comps.iter().map(|c| c.0.to_string()).collect(),
        low: comps.iter().map(|c| c.1).collect(),
        high: comps.iter().map(|c| c.2).collect(),
        integer: comps.iter().map(|c| c.3).collect(),
        n_states: None,
    }
}

fn encode(fs: &mut FeatureSet, obs: &[f64]) -> Features {
    let mut x = Features::default();
    fs.encode(obs, &mut x);
    x
}

/// Observation of grid cell (row, col) of the 5x5 world.
fn cell(row: usize, col: usize) -> [f64; 3] {
    [(row * 5 + col) as f64, row as f64, col as f64]
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-12, "entry {k}: {g} vs {w} ({got:?})");
    }
}

fn build_err(columns: &[ColumnSpec], spec: &ObsSpec) -> ColumnError {
    match FeatureSet::build(columns, spec) {
        Ok(fs) => panic!("expected an error, built {}", fs.describe()),
        Err(e) => e,
    }
}

/// Asserts the error's column and key and that its message contains every `needle`.
fn assert_err(columns: &str, spec: &ObsSpec, column: usize, key: Option<&str>, needles: &[&str]) {
    let e = build_err(&cols(columns), spec);
    assert_eq!((e.column, e.key.as_deref()), (column, key), "{e}");
    for n in needles {
        assert!(e.message.contains(n), "`{n}` not in: {}", e.message);
    }
}

#[test]
fn bucketized_reproduces_tensorflow_example() {
    // tf.feature_column.bucketized_column docs: boundaries [0, 10, 100],
    // inputs [[-5, 10000], [150, 10], [5, 100]] → [[0, 3], [3, 2], [1, 3]].
    let sp = spec(&[("a", -1e9, 1e9, false), ("b", -1e9, 1e9, false)]);
    let mut fs = FeatureSet::build(
        &cols(
            r#"[{ kind = "bucketized", input = "a", boundaries = [0, 10, 100] },
                { kind = "bucketized", input = "b", boundaries = [0.0, 10.0, 100.0] }]"#,
        ),
        &sp,
    )
    .unwrap();
    assert_eq!((fs.dense_dim(), fs.sparse_dim(), fs.max_active()), (0, 8, 2));
    let inputs = [[-5.0, 10000.0], [150.0, 10.0], [5.0, 100.0]];
    let want = [[0, 3], [3, 2], [1, 3]];
    for (obs, w) in inputs.iter().zip(want) {
        let x = encode(&mut fs, obs);
        assert_eq!(x.active, vec![w[0], 4 + w[1]], "{obs:?}");
        assert!(x.dense.is_empty());
    }
}

#[test]
fn hashed_indices_are_pinned() {
    // FNV-1a 64 of the decimal text, mod 10 (computed independently in Python).
    let mut fs =
        FeatureSet::build(&cols(r#"[{ kind = "hashed", input = "state", hash_bucket_size = 10 }]"#), &grid()).unwrap();
    for (s, want) in [(0usize, 9u32), (1, 8), (2, 1), (3, 0), (4, 5), (12, 8), (24, 1)] {
        let x = encode(&mut fs, &cell(s / 5, s % 5));
        assert_eq!(x.active, vec![want], "state {s}");
    }
    let sp = spec(&[("k", -100.0, 100.0, true)]);
    let mut fs =
        FeatureSet::build(&cols(r#"[{ kind = "hashed", input = "k", hash_bucket_size = 1000 }]"#), &sp).unwrap();
    for (v, want) in [(-7.0, 237u32), (100.0, 868), (5.0, 24)] {
        assert_eq!(encode(&mut fs, &[v]).active, vec![want], "value {v}");
    }
}

#[test]
fn crossed_indices_are_pinned() {
    // FNV-1a 64 of "row_X_col", mod 16.
    let mut fs =
        FeatureSet::build(&cols(r#"[{ kind = "crossed", keys = ["row", "col"], hash_bucket_size = 16 }]"#), &grid())
            .unwrap();
    let want = [[15, 12, 5, 2, 3], [12, 15, 2, 5, 0], [5, 2, 15, 12, 9], [2, 5, 12, 15, 6], [3, 0, 9, 6, 15]];
    for (r, row) in want.iter().enumerate() {
        for (c, &w) in row.iter().enumerate() {
            assert_eq!(encode(&mut fs, &cell(r, c)).active, vec![w], "({r}, {c})");
        }
    }
    // Crossing a named categorical column uses its bucket index: b = bucket of col
    // with boundary 2 (0 for col < 2, else 1); the cross hashes "b_X_row".
    let columns = cols(
        r#"[{ kind = "crossed", keys = ["b", "row"], hash_bucket_size = 16 },
            { kind = "bucketized", name = "b", input = "col", boundaries = [2] },
            { kind = "crossed", keys = ["row", "col", "c3"], hash_bucket_size = 7 },
            { kind = "categorical_identity", name = "c3", input = "col", num_buckets = 5, default_value = 0 }]"#,
    );
    let mut fs = FeatureSet::build(&columns, &grid()).unwrap();
    // `b` and `c3` are consumed by the crosses: only the two crosses are output.
    assert_eq!((fs.sparse_dim(), fs.max_active()), (16 + 7, 2));
    // Cross 1 hashes "b_X_row" mod 16; cross 2 "row_X_col_X_c3" mod 7, at offset 16.
    assert_eq!(encode(&mut fs, &cell(0, 3)).active, vec![12, 16 + 3]); // "1_X_0", "0_X_3_X_3"
    assert_eq!(encode(&mut fs, &cell(0, 0)).active[0], 15); // "0_X_0"
    assert_eq!(encode(&mut fs, &cell(4, 4)).active[0], 0); // "1_X_4"
    assert_eq!(encode(&mut fs, &cell(3, 2)).active, vec![5, 16 + 2]); // "1_X_3", "3_X_2_X_2"
                                                                      // col 9 is off the grid: c3 takes its default 0, b is bucket 1.
    assert_eq!(encode(&mut fs, &[0.0, 3.0, 9.0]).active, vec![5, 16 + 5]); // "1_X_3", "3_X_9_X_0"
    assert_eq!(rlkit::env::features::hash::hash_cross(&[3, 2, 9]), 17346430768092334967);
}

/// Reads a tiles3 fixture: (`inputs` floats, then the indices) per row.
fn tiles3_fixture(file: &str, header: &str, inputs: usize) -> Vec<(Vec<f64>, Vec<u32>)> {
    let text = std::fs::read_to_string(format!("tests/fixtures/features/{file}")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header));
    let width = header.split(',').count();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), width, "{l}");
            // str::parse is correctly rounded, so Python's repr reads back to the same double.
            (
                f[..inputs].iter().map(|v| v.parse().unwrap()).collect(),
                f[inputs..].iter().map(|v| v.parse().unwrap()).collect(),
            )
        })
        .collect()
}

#[test]
fn tile_coding_matches_tiles3_fixture() {
    let rows = tiles3_fixture("tiles3_indices.csv", "position,velocity,t0,t1,t2,t3,t4,t5,t6,t7", 2);
    assert!(rows.len() > 300);
    let columns = cols(
        r#"[{ kind = "tile_coding", inputs = ["position", "velocity"], tilings = 8, tiles = [8, 8], size = 4096,
              ranges = [[-1.2, 0.5], [-0.07, 0.07]] }]"#,
    );
    let mut fs = FeatureSet::build(&columns, &MountainCar::spec()).unwrap();
    assert_eq!((fs.dense_dim(), fs.sparse_dim(), fs.max_active()), (0, 4096, 8));
    let mut x = Features::default();
    for (k, (obs, want)) in rows.iter().enumerate() {
        fs.encode(obs, &mut x);
        assert_eq!(&x.active, want, "row {k}: {obs:?}");
    }
    let usage = fs.tile_usage();
    assert_eq!(usage.len(), 1);
    let max_index = rows.iter().flat_map(|r| r.1.iter()).max().copied().unwrap() as usize;
    assert_eq!((usage[0].column, usage[0].stored, usage[0].size, usage[0].overfull), (0, max_index + 1, 4096, 0));
}

#[test]
fn tile_coding_matches_tiles3_fixture_3d() {
    // 6 tilings (not a power of two), three inputs, the third beyond its range.
    let rows = tiles3_fixture("tiles3_indices_3d.csv", "x,xdot,z,t0,t1,t2,t3,t4,t5", 3);
    let sp = spec(&[("x", -1.2, 0.6, false), ("xdot", -0.07, 0.07, false), ("z", -2.0, 2.0, false)]);
    let columns = cols(
        r#"[{ kind = "numeric", input = "x" },
            { kind = "tile_coding", inputs = ["x", "xdot", "z"], tilings = 6, tiles = [5, 4, 3], size = 4096,
              ranges = [[-1.2, 0.5], [-0.07, 0.07], [-2, 2]] }]"#,
    );
    let mut fs = FeatureSet::build(&columns, &sp).unwrap();
    let mut x = Features::default();
    for (k, (obs, want)) in rows.iter().enumerate() {
        fs.encode(obs, &mut x);
        assert_eq!(&x.active, want, "row {k}: {obs:?}");
        assert_eq!(x.dense, vec![obs[0]]);
    }
}

#[test]
fn tile_coding_indices_follow_first_sight_for_small_and_large_coordinates() {
    // One tiling, one tile per unit: the tuple is (0, floor(a)); coordinates
    // beyond the i16 range take the coder's other map, in the same insertion order.
    let sp = spec(&[("a", 0.0, 1.0, false)]);
    let columns = cols(r#"[{ kind = "tile_coding", inputs = ["a"], tilings = 1, tiles = 1, size = 100 }]"#);
    let mut fs = FeatureSet::build(&columns, &sp).unwrap();
    let seq = [0.5, 1e6, 1.5, 1e6 + 0.5, -40000.0, 0.2, -39998.5, -39999.9, 2.0, 1e300];
    let want = [0u32, 1, 2, 1, 3, 0, 4, 3, 5, 6];
    for (a, w) in seq.iter().zip(want) {
        assert_eq!(encode(&mut fs, &[*a]).active, vec![w], "a = {a}");
    }
    // Five inputs (six-entry tuples) use the general map.
    let names: Vec<String> = (0..5).map(|k| format!("v{k}")).collect();
    let comps: Vec<(&str, f64, f64, bool)> = names.iter().map(|n| (n.as_str(), 0.0, 1.0, false)).collect();
    let columns = cols(
        r#"[{ kind = "tile_coding", inputs = ["v0", "v1", "v2", "v3", "v4"], tilings = 1, tiles = 1, size = 8 }]"#,
    );
    let mut fs = FeatureSet::build(&columns, &spec(&comps)).unwrap();
    let pts = [[0.1; 5], [1.1, 0.0, 0.0, 0.0, 0.0], [0.9; 5], [0.0, 0.0, 0.0, 0.0, 1.0]];
    let got: Vec<u32> = pts.iter().map(|p| encode(&mut fs, p).active[0]).collect();
    assert_eq!(got, vec![0, 1, 0, 2]);
}

#[test]
fn tile_coding_full_table_hashes_into_range() {
    // A tiny table fills at once; later tiles hash into [0, size), the same way every time.
    let columns = vec![ColumnSpec::TileCoding {
        name: None,
        inputs: vec!["position".into(), "velocity".into()],
        tilings: 4,
        tiles: TileCounts::All(8),
        size: 6,
        ranges: None,
    }];
    let mut a = FeatureSet::build(&columns, &MountainCar::spec()).unwrap();
    let mut b = FeatureSet::build(&columns, &MountainCar::spec()).unwrap();
    assert_eq!(encode(&mut a, &[-0.5, 0.0]).active, vec![0, 1, 2, 3]);
    assert_eq!(encode(&mut b, &[-0.5, 0.0]).active, vec![0, 1, 2, 3]);
    for k in 1..50 {
        let obs = [-1.2 + 0.035 * k as f64, -0.07 + 0.0028 * k as f64];
        let xa = encode(&mut a, &obs);
        assert_eq!(xa.active.len(), 4);
        assert!(xa.active.iter().all(|&i| i < 6), "{:?}", xa.active);
        assert_eq!(xa, encode(&mut b, &obs));
    }
    let u = a.tile_usage()[0];
    assert_eq!((u.stored, u.size), (6, 6));
    assert!(u.overfull > 0);
    // NaN and infinite inputs do not panic.
    assert_eq!(encode(&mut a, &[f64::NAN, f64::INFINITY]).active.len(), 4);
}

#[test]
fn polynomial_values_on_the_5x5_grid() {
    let sp = grid();
    // x = col, y = row scaled to [-1, 1].
    let mut fs = FeatureSet::build(&cols(r#"[{ kind = "polynomial", order = 3 }]"#), &sp).unwrap();
    assert_eq!((fs.dense_dim(), fs.sparse_dim()), (10, 0));
    // (row 0, col 4): x = 1, y = -1.
    assert_close(&encode(&mut fs, &cell(0, 4)).dense, &[1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0]);
    // (row 3, col 1): x = -0.5, y = 0.5: [1, x, y, x², y², xy, x³, y³, x²y, xy²].
    assert_close(
        &encode(&mut fs, &cell(3, 1)).dense,
        &[1.0, -0.5, 0.5, 0.25, 0.25, -0.25, -0.125, 0.125, 0.125, -0.125],
    );
    // (row 2, col 2): the centre, x = y = 0.
    assert_close(&encode(&mut fs, &cell(2, 2)).dense, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    // dimension = 3 / 6 are orders 1 / 2.
    let mut f3 = FeatureSet::build(&cols(r#"[{ kind = "polynomial", dimension = 3 }]"#), &sp).unwrap();
    assert_close(&encode(&mut f3, &cell(1, 0)).dense, &[1.0, -1.0, -0.5]);
    let mut f6 = FeatureSet::build(&cols(r#"[{ kind = "polynomial", dimension = 6, order = 2 }]"#), &sp).unwrap();
    assert_close(&encode(&mut f6, &cell(1, 3)).dense, &[1.0, 0.5, -0.5, 0.25, 0.25, -0.25]);
    // Inputs in another order swap x and y.
    let mut fr =
        FeatureSet::build(&cols(r#"[{ kind = "polynomial", inputs = ["row", "col"], order = 1 }]"#), &sp).unwrap();
    assert_close(&encode(&mut fr, &cell(1, 0)).dense, &[1.0, -0.5, -1.0]);
}

#[test]
fn fourier_values_on_the_5x5_grid() {
    let sp = grid();
    let h = std::f64::consts::FRAC_1_SQRT_2;
    // x = col, y = row scaled to [0, 1]; c = (c1, c2) with c1 (col) slowest.
    let mut fs = FeatureSet::build(&cols(r#"[{ kind = "fourier", order = 1 }]"#), &sp).unwrap();
    assert_eq!(fs.dense_dim(), 4);
    // (row 0, col 4): x = 1, y = 0 → c = (0,0), (0,1), (1,0), (1,1).
    assert_close(&encode(&mut fs, &cell(0, 4)).dense, &[1.0, 1.0, -1.0, -1.0]);
    // (row 2, col 1): x = 0.25, y = 0.5.
    assert_close(&encode(&mut fs, &cell(2, 1)).dense, &[1.0, 0.0, h, -h]);
    let mut f2 = FeatureSet::build(&cols(r#"[{ kind = "fourier", order = 2 }]"#), &sp).unwrap();
    assert_eq!(f2.dense_dim(), 9);
    // (row 2, col 1): cos(π(c1·0.25 + c2·0.5)) for c1, c2 in 0..=2.
    assert_close(&encode(&mut f2, &cell(2, 1)).dense, &[1.0, 0.0, -1.0, h, -h, -h, 0.0, -1.0, 0.0]);
    // Order 5 of Zhao's Figs 8.9/8.10: 36 features, the first is the constant.
    let mut f5 = FeatureSet::build(&cols(r#"[{ kind = "fourier", order = 5 }]"#), &sp).unwrap();
    let x = encode(&mut f5, &cell(4, 4));
    assert_eq!(x.dense.len(), 36);
    // x = y = 1: cos(π(c1 + c2)) = (-1)^(c1 + c2).
    let want: Vec<f64> = (0..6).flat_map(|a| (0..6).map(move |b| if (a + b) % 2 == 0 { 1.0 } else { -1.0 })).collect();
    assert_close(&x.dense, &want);
}

#[test]
fn one_hot_state_and_layout() {
    let sp = grid();
    let mut fs = FeatureSet::build(&[ColumnSpec::OneHotState {}], &sp).unwrap();
    assert_eq!((fs.dense_dim(), fs.sparse_dim(), fs.dim(), fs.max_active()), (0, 25, 25, 1));
    for s in 0..25 {
        let x = encode(&mut fs, &cell(s / 5, s % 5));
        assert_eq!(x.active, vec![s as u32]);
        assert!(x.dense.is_empty() && x.embed.is_empty());
    }
    // Out of range: nothing active, no panic; a short observation reads NaN.
    assert!(encode(&mut fs, &[25.0, 0.0, 0.0]).active.is_empty());
    assert!(encode(&mut fs, &[]).active.is_empty());

    // Dense columns first, then the sparse ones, each in list order.
    let columns = cols(
        r#"[{ kind = "one_hot_state" },
            { kind = "numeric", input = "row", normalize = "unit" },
            { kind = "categorical_identity", input = "col", num_buckets = 5 },
            { kind = "polynomial", order = 1 },
            { kind = "numeric", input = "state" },
            { kind = "bucketized", name = "b", input = "col", boundaries = [1, 3] },
            { kind = "indicator", column = "b" },
            { kind = "numeric", input = "col", normalize = "symmetric" }]"#,
    );
    let mut fs = FeatureSet::build(&columns, &sp).unwrap();
    assert_eq!((fs.dense_dim(), fs.sparse_dim(), fs.max_active()), (1 + 3 + 1 + 1, 25 + 5 + 3, 3));
    let x = encode(&mut fs, &cell(3, 4)); // state 19
    assert_close(&x.dense, &[0.75, 1.0, 1.0, 0.5, 19.0, 1.0]);
    assert_eq!(x.active, vec![19, 25 + 4, 30 + 2]);
    let d = fs.describe();
    assert!(d.starts_with("features: dim 39 = 6 dense + 33 sparse, at most 3 active"), "{d}");
    for line in [
        "[0] one_hot_state (25 states): sparse 0..25 = x[6..31], width 25",
        "[1] numeric (`row`, normalize unit): dense 0..1, width 1",
        "[2] categorical_identity (5 buckets of `col`): sparse 25..30 = x[31..36], width 5",
        "[3] polynomial (order 1 over `col`, `row`): dense 1..4, width 3",
        "[5] bucketized `b` (3 buckets of `col`): consumed by [6]",
        "[6] indicator (one-hot of `b`): sparse 30..33 = x[36..39], width 3",
        "[7] numeric (`col`, normalize symmetric): dense 5..6, width 1",
    ] {
        assert!(d.contains(line), "`{line}` not in\n{d}");
    }
    // An MDP has only `state`.
    let mdp = World::load("envs/random_walk.toml".as_ref()).unwrap().obs_spec();
    let mut fm = FeatureSet::build(&[ColumnSpec::OneHotState {}], &mdp).unwrap();
    assert_eq!(fm.sparse_dim(), mdp.n_states.unwrap());
    assert_eq!(encode(&mut fm, &[2.0]).active, vec![2]);
}

#[test]
fn embedding_training_moves_exactly_the_used_row() {
    let columns = cols(
        r#"[{ kind = "numeric", input = "row" },
            { kind = "categorical_identity", name = "cell", input = "state", num_buckets = 25 },
            { kind = "embedding", column = "cell", dimension = 3 }]"#,
    );
    let sp = grid();
    let mut fs = FeatureSet::build(&columns, &sp).unwrap();
    assert!(fs.has_embeddings());
    // The identity column is consumed by the embedding: no sparse block.
    assert_eq!((fs.dense_dim(), fs.sparse_dim(), fs.max_active()), (4, 0, 0));
    let before = fs.tensors();
    assert_eq!(before.len(), 1);
    let (name, shape, table) = &before[0];
    assert_eq!((name.as_str(), shape.as_slice()), ("embedding2", &[25usize, 3][..]));
    // Deterministic N(0, 0.1²) initialisation: a second build gives the same table.
    assert_eq!(FeatureSet::build(&columns, &sp).unwrap().tensors()[0].2, *table);
    let mean = table.iter().sum::<f64>() / 75.0;
    let sd = (table.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 74.0).sqrt();
    assert!(mean.abs() < 0.05 && (0.05..0.15).contains(&sd), "mean {mean}, sd {sd}");

    let x = encode(&mut fs, &cell(1, 2)); // state 7
    assert_eq!(x.embed, vec![(0, 7, 1)]);
    assert_eq!(x.dense[0], 1.0);
    assert_eq!(&x.dense[1..], &table[21..24]);
    let grad = [10.0, 1.0, 2.0, -3.0];
    fs.train_embeddings(&x, 0.5, &grad);
    let after = &fs.tensors()[0].2;
    for r in 0..25 {
        for j in 0..3 {
            let want = if r == 7 { table[r * 3 + j] + 0.5 * grad[1 + j] } else { table[r * 3 + j] };
            assert_eq!(after[r * 3 + j], want, "row {r}, col {j}");
        }
    }
    // The next encoding reads the trained row.
    assert_eq!(&encode(&mut fs, &cell(1, 2)).dense[1..], &after[21..24]);
    // A bogus embed entry is ignored, not a panic.
    let bogus = Features { dense: vec![], active: vec![], embed: vec![(3, 0, 0), (0, 99, 0), (0, 1, 50)] };
    fs.train_embeddings(&bogus, 1.0, &grad);
    assert_eq!(&fs.tensors()[0].2, after);

    // init_std = 0 gives zeros; named tables keep their name.
    let z = cols(
        r#"[{ kind = "hashed", name = "h", input = "state", hash_bucket_size = 4 },
            { kind = "embedding", name = "emb", column = "h", dimension = 2, init_std = 0.0 }]"#,
    );
    let fz = FeatureSet::build(&z, &sp).unwrap();
    assert_eq!(fz.tensors(), vec![("emb".to_string(), vec![4, 2], vec![0.0; 8])]);
}

#[test]
fn encode_allocates_nothing_after_warm_up() {
    let columns = cols(
        r#"[{ kind = "polynomial", order = 3 },
            { kind = "fourier", order = 3 },
            { kind = "bucketized", name = "b", input = "col", boundaries = [1, 2, 3] },
            { kind = "embedding", column = "b", dimension = 4 },
            { kind = "crossed", keys = ["row", "col"], hash_bucket_size = 64 },
            { kind = "tile_coding", inputs = ["row", "col"], tilings = 4, tiles = 3, size = 512 },
            { kind = "one_hot_state" }]"#,
    );
    let mut fs = FeatureSet::build(&columns, &grid()).unwrap();
    assert_eq!(fs.max_active(), 1 + 4 + 1);
    let mut x = Features::default();
    fs.encode(&cell(0, 0), &mut x);
    let caps = (x.dense.capacity(), x.active.capacity(), x.embed.capacity());
    let ptrs = (x.dense.as_ptr(), x.active.as_ptr(), x.embed.as_ptr());
    for s in 0..500 {
        let s = (s * 7) % 25;
        fs.encode(&cell(s / 5, s % 5), &mut x);
        assert_eq!(x.dense.len(), fs.dense_dim());
        assert_eq!(x.active.len(), fs.max_active());
        assert!(x.active.iter().all(|&i| (i as usize) < fs.sparse_dim()));
    }
    assert_eq!((x.dense.capacity(), x.active.capacity(), x.embed.capacity()), caps);
    assert_eq!((x.dense.as_ptr(), x.active.as_ptr(), x.embed.as_ptr()), ptrs);
}

#[test]
fn mountain_car_default_ranges_and_describe() {
    let mut fs = FeatureSet::build(
        &cols(r#"[{ kind = "tile_coding", inputs = ["position", "velocity"], tilings = 8, tiles = 8, size = 4096 }]"#),
        &MountainCar::spec(),
    )
    .unwrap();
    let x = encode(&mut fs, &[-0.5, 0.0]);
    assert_eq!(x.active, (0..8).collect::<Vec<u32>>());
    assert!(fs
        .describe()
        .contains("[0] tile_coding (8 tilings of 8×8 over `position`, `velocity`, table 4096): sparse 0..4096"));
    // Numeric normalisation with Mountain Car's bounds [-1.2, 0.6] × [-0.07, 0.07].
    let mut fs = FeatureSet::build(
        &cols(
            r#"[{ kind = "numeric", input = "position", normalize = "unit" },
                { kind = "numeric", input = "velocity", normalize = "symmetric" },
                { kind = "numeric", input = "velocity" }]"#,
        ),
        &MountainCar::spec(),
    )
    .unwrap();
    assert_close(&encode(&mut fs, &[-0.3, 0.035]).dense, &[0.5, 0.5, 0.035]);
}

#[test]
fn every_bad_column_is_a_column_error() {
    let g = grid();
    let mc = MountainCar::spec();
    // Unknown input.
    assert_err(
        r#"[{ kind = "one_hot_state" }, { kind = "numeric", input = "foo" }]"#,
        &g,
        1,
        Some("input"),
        &["`foo` is not an observation of this world", "`state` in [0, 24]", "`row` in [0, 4]", "`col` in [0, 4]"],
    );
    assert_err(r#"[{ kind = "polynomial", order = 2 }]"#, &mc, 0, Some("inputs"), &["`col` is not an observation"]);
    assert_err(
        r#"[{ kind = "tile_coding", inputs = ["position", "speed"], tilings = 8, tiles = 8, size = 64 }]"#,
        &mc,
        0,
        Some("inputs"),
        &["`speed`", "`velocity` in [-0.07, 0.07]"],
    );
    // Boundaries.
    assert_err(
        r#"[{ kind = "bucketized", input = "col", boundaries = [0, 2, 2] }]"#,
        &g,
        0,
        Some("boundaries"),
        &["strictly increasing", "boundaries[2]"],
    );
    assert_err(
        r#"[{ kind = "bucketized", input = "col", boundaries = [3, 1] }]"#,
        &g,
        0,
        Some("boundaries"),
        &["strictly increasing"],
    );
    assert_err(
        r#"[{ kind = "bucketized", input = "col", boundaries = [] }]"#,
        &g,
        0,
        Some("boundaries"),
        &["at least one boundary"],
    );
    assert_err(
        r#"[{ kind = "bucketized", input = "col", boundaries = [0, nan] }]"#,
        &g,
        0,
        Some("boundaries"),
        &["finite"],
    );
    // Zero buckets / sizes / tilings / tiles / dimension.
    assert_err(
        r#"[{ kind = "categorical_identity", input = "col", num_buckets = 0 }]"#,
        &g,
        0,
        Some("num_buckets"),
        &["at least 1"],
    );
    assert_err(
        r#"[{ kind = "hashed", input = "col", hash_bucket_size = 0 }]"#,
        &g,
        0,
        Some("hash_bucket_size"),
        &["at least 1"],
    );
    assert_err(
        r#"[{ kind = "crossed", keys = ["row", "col"], hash_bucket_size = 0 }]"#,
        &g,
        0,
        Some("hash_bucket_size"),
        &["at least 1"],
    );
    let tc = |tilings: u64, tiles: u64, size: u64| {
        format!(
            r#"[{{ kind = "tile_coding", inputs = ["position", "velocity"], tilings = {tilings}, tiles = {tiles}, size = {size} }}]"#
        )
    };
    assert_err(&tc(0, 8, 64), &mc, 0, Some("tilings"), &["at least 1"]);
    assert_err(&tc(8, 0, 64), &mc, 0, Some("tiles"), &["at least 1"]);
    assert_err(&tc(8, 8, 0), &mc, 0, Some("size"), &["at least 1"]);
    assert_err(
        r#"[{ kind = "hashed", name = "h", input = "col", hash_bucket_size = 4 },
            { kind = "embedding", column = "h", dimension = 0 }]"#,
        &g,
        1,
        Some("dimension"),
        &["at least 1"],
    );
    // Sizes over 2^26.
    let limit = MAX_FEATURE_ENTRIES.to_string();
    assert_err(&tc(8, 8, 1 << 27), &mc, 0, Some("size"), &[&limit, "2^26"]);
    assert_err(
        r#"[{ kind = "hashed", input = "col", hash_bucket_size = 134217728 }]"#,
        &g,
        0,
        Some("hash_bucket_size"),
        &["67108864"],
    );
    assert_err(
        r#"[{ kind = "categorical_identity", input = "col", num_buckets = 100000000 }]"#,
        &g,
        0,
        Some("num_buckets"),
        &["67108864"],
    );
    assert_err(r#"[{ kind = "fourier", order = 10000 }]"#, &g, 0, Some("order"), &["67108864"]);
    assert_err(r#"[{ kind = "polynomial", order = 100000 }]"#, &g, 0, Some("order"), &["67108864"]);
    assert_err(
        r#"[{ kind = "hashed", name = "h", input = "col", hash_bucket_size = 67108864 },
            { kind = "embedding", column = "h", dimension = 2 }]"#,
        &g,
        1,
        Some("dimension"),
        &["67108864"],
    );
    assert_err(
        r#"[{ kind = "hashed", input = "col", hash_bucket_size = 67108864 },
            { kind = "hashed", input = "row", hash_bucket_size = 1 }]"#,
        &g,
        1,
        None,
        &["67108864"],
    );
    // Ranges: non-finite, high <= low, wrong count.
    let mut bad = vec![ColumnSpec::TileCoding {
        name: None,
        inputs: vec!["position".into(), "velocity".into()],
        tilings: 8,
        tiles: TileCounts::PerInput(vec![8, 8]),
        size: 64,
        ranges: Some(vec![[-1.2, f64::INFINITY], [-0.07, 0.07]]),
    }];
    let e = build_err(&bad, &mc);
    assert_eq!((e.column, e.key.as_deref()), (0, Some("ranges")), "{e}");
    assert!(e.message.contains("finite with high > low") && e.message.contains("`position`"), "{e}");
    if let ColumnSpec::TileCoding { ranges, .. } = &mut bad[0] {
        *ranges = Some(vec![[-1.2, 0.5], [0.07, -0.07]]);
    }
    let e = build_err(&bad, &mc);
    assert_eq!((e.column, e.key.as_deref()), (0, Some("ranges")), "{e}");
    assert!(e.message.contains("ranges[1]"), "{e}");
    if let ColumnSpec::TileCoding { ranges, tiles, .. } = &mut bad[0] {
        *ranges = Some(vec![[-1.2, 0.5]]);
        *tiles = TileCounts::All(8);
    }
    assert_eq!(build_err(&bad, &mc).key.as_deref(), Some("ranges"));
    if let ColumnSpec::TileCoding { ranges, tiles, .. } = &mut bad[0] {
        *ranges = None;
        *tiles = TileCounts::PerInput(vec![8]);
    }
    assert_eq!(build_err(&bad, &mc).key.as_deref(), Some("tiles"));
    // Bounds that cannot be scaled: infinite, or high <= low.
    let odd = spec(&[("a", 0.0, f64::INFINITY, false), ("b", 2.0, 2.0, true), ("c", 0.0, 1.0, false)]);
    assert_err(
        r#"[{ kind = "numeric", input = "a", normalize = "unit" }]"#,
        &odd,
        0,
        Some("normalize"),
        &["`a` has bounds [0, inf]", "normalize = \"none\""],
    );
    assert_err(
        r#"[{ kind = "polynomial", inputs = ["c", "b"], order = 1 }]"#,
        &odd,
        0,
        Some("inputs"),
        &["`b` has bounds [2, 2]", "high > low"],
    );
    assert_err(r#"[{ kind = "fourier", inputs = ["a"], order = 1 }]"#, &odd, 0, Some("inputs"), &["`a` has bounds"]);
    assert_err(
        r#"[{ kind = "tile_coding", inputs = ["a"], tilings = 4, tiles = 4, size = 64 }]"#,
        &odd,
        0,
        Some("ranges"),
        &["give ranges"],
    );
    // References: missing, not categorical, self.
    assert_err(
        r#"[{ kind = "bucketized", name = "pb", input = "col", boundaries = [2] },
            { kind = "indicator", column = "nope" }]"#,
        &g,
        1,
        Some("column"),
        &["no column is named `nope`", "`pb`"],
    );
    assert_err(
        r#"[{ kind = "numeric", name = "n", input = "col" },
            { kind = "embedding", column = "n", dimension = 2 }]"#,
        &g,
        1,
        Some("column"),
        &["numeric", "categorical"],
    );
    assert_err(r#"[{ kind = "indicator", name = "me", column = "me" }]"#, &g, 0, Some("column"), &["itself"]);
    assert_err(
        r#"[{ kind = "crossed", keys = ["row", "x"], hash_bucket_size = 8 }]"#,
        &g,
        0,
        Some("keys"),
        &["`x` is neither an observation"],
    );
    assert_err(
        r#"[{ kind = "crossed", keys = ["row"], hash_bucket_size = 8 }]"#,
        &g,
        0,
        Some("keys"),
        &["at least two keys"],
    );
    assert_err(
        r#"[{ kind = "crossed", keys = ["position", "velocity"], hash_bucket_size = 8 }]"#,
        &mc,
        0,
        Some("keys"),
        &["`position` is continuous", "bucketize"],
    );
    assert_err(
        r#"[{ kind = "crossed", name = "a", keys = ["row", "b"], hash_bucket_size = 8 },
            { kind = "crossed", name = "b", keys = ["col", "a"], hash_bucket_size = 8 }]"#,
        &g,
        0,
        Some("keys"),
        &["cycle"],
    );
    // Duplicate names, and names that shadow an observation.
    assert_err(
        r#"[{ kind = "numeric", name = "x", input = "col" }, { kind = "numeric", name = "x", input = "row" }]"#,
        &g,
        1,
        Some("name"),
        &["already the name of column 0"],
    );
    assert_err(r#"[{ kind = "numeric", name = "row", input = "col" }]"#, &g, 0, Some("name"), &["observation"]);
    // categorical_identity: bounds that do not fit, default out of range, continuous input.
    assert_err(
        r#"[{ kind = "categorical_identity", input = "col", num_buckets = 3 }]"#,
        &g,
        0,
        Some("num_buckets"),
        &["[0, 4]", "num_buckets >= 5", "default_value"],
    );
    assert!(FeatureSet::build(
        &cols(r#"[{ kind = "categorical_identity", input = "col", num_buckets = 3, default_value = 2 }]"#),
        &g
    )
    .is_ok());
    assert_err(
        r#"[{ kind = "categorical_identity", input = "col", num_buckets = 3, default_value = 3 }]"#,
        &g,
        0,
        Some("default_value"),
        &["[0, 2]"],
    );
    assert_err(
        r#"[{ kind = "hashed", input = "velocity", hash_bucket_size = 8 }]"#,
        &mc,
        0,
        Some("input"),
        &["continuous"],
    );
    // Polynomial order / dimension.
    assert_err(
        r#"[{ kind = "polynomial", dimension = 7 }]"#,
        &g,
        0,
        Some("dimension"),
        &["3 (order 1)", "10 (order 3)"],
    );
    assert_err(r#"[{ kind = "polynomial", dimension = 6, order = 3 }]"#, &g, 0, Some("dimension"), &["gives 10"]);
    assert_err(r#"[{ kind = "polynomial" }]"#, &g, 0, Some("order"), &["`dimension`"]);
    // Too many inputs for a tile coding.
    let nine: Vec<(String, f64, f64, bool)> = (0..9).map(|k| (format!("x{k}"), 0.0, 1.0, false)).collect();
    let nine: Vec<(&str, f64, f64, bool)> = nine.iter().map(|(n, a, b, c)| (n.as_str(), *a, *b, *c)).collect();
    let names: Vec<String> = (0..9).map(|k| format!("\"x{k}\"")).collect();
    assert_err(
        &format!(r#"[{{ kind = "tile_coding", inputs = [{}], tilings = 4, tiles = 2, size = 64 }}]"#, names.join(", ")),
        &spec(&nine),
        0,
        Some("inputs"),
        &["at most 8"],
    );
    // one_hot_state needs a finite world.
    assert_err(
        r#"[{ kind = "numeric", input = "position" }, { kind = "one_hot_state" }]"#,
        &mc,
        1,
        None,
        &["finite world", "`position` in [-1.2, 0.6]"],
    );
    // Display names the column and key.
    let e = build_err(&cols(r#"[{ kind = "hashed", input = "col", hash_bucket_size = 0 }]"#), &g);
    assert!(e.to_string().starts_with("features[0].hash_bucket_size: "), "{e}");
}

#[test]
fn unknown_kinds_and_keys_are_serde_errors() {
    for bad in [
        r#"[{ kind = "wavelet" }]"#,
        r#"[{ kind = "numeric", input = "col", scale = 2 }]"#,
        r#"[{ kind = "one_hot_state", size = 3 }]"#,
        r#"[{ kind = "tile_coding", inputs = ["col"], tilings = 2, tiles = 2, size = 8, offsets = "uniform" }]"#,
        r#"[{ kind = "numeric", input = "col", normalize = "zscore" }]"#,
        r#"[{ kind = "tile_coding", inputs = ["col"], tilings = 2, tiles = -1, size = 8 }]"#,
        r#"[{ kind = "tile_coding", inputs = ["col"], tilings = 2, tiles = [2.5], size = 8 }]"#,
        r#"[{ kind = "hashed", input = "col", hash_bucket_size = -3 }]"#,
    ] {
        assert!(toml::from_str::<Doc>(&format!("features = {bad}")).is_err(), "{bad}");
    }
}

#[test]
fn toml_forms_parse() {
    let c = cols(
        r#"[{ kind = "tile_coding", inputs = ["a", "b"], tilings = 8, tiles = [8, 4], size = 4096 },
            { kind = "tile_coding", inputs = ["a"], tilings = 8, tiles = 8, size = 64, ranges = [[-1, 1]] },
            { kind = "embedding", column = "c", dimension = 3 },
            { kind = "categorical_identity", input = "row", num_buckets = 5, default_value = 0 }]"#,
    );
    assert!(
        matches!(&c[0], ColumnSpec::TileCoding { tiles: TileCounts::PerInput(v), ranges: None, .. } if v == &[8, 4])
    );
    assert!(
        matches!(&c[1], ColumnSpec::TileCoding { tiles: TileCounts::All(8), ranges: Some(r), .. } if r == &[[-1.0, 1.0]])
    );
    assert!(matches!(&c[2], ColumnSpec::Embedding { init_std: None, dimension: 3, .. }));
    assert_eq!(c[3].kind(), "categorical_identity");
    assert!(c[3].is_categorical() && !c[2].is_categorical());
    // Serialising gives back the same columns.
    #[derive(serde::Serialize)]
    struct Out<'a> {
        features: &'a [ColumnSpec],
    }
    let text = toml::to_string(&Out { features: &c }).unwrap();
    assert_eq!(toml::from_str::<Doc>(&text).unwrap().features, c);
}
