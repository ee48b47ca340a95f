//! Image-level tests of every plot kind: each PNG is decoded and checked to be
//! not blank and to show each series' colour in its plot area; plus the
//! regression tests of issue #11 (absurd ranges that used to hang, repeated
//! tick labels, overlapping series, clipped data, empty charts).

use std::path::{Path, PathBuf};

use plotters::style::RGBColor;
use rlkit::plot::axis::{check_range, tick_labels, Axis};
use rlkit::plot::bars::{BarChart, BarSeries};
use rlkit::plot::grid::{render_grid, viridis, CellMark, GridMap, GridPlot};
use rlkit::plot::intervals::{render_intervals, Interval};
use rlkit::plot::learning::{render_learning_curves, CurveSpec, SeedCurve};
use rlkit::plot::lines::{LineChart, Series, PALETTE};
use rlkit::plot::sa::{plot as sa_plot, SaSeries};
use rlkit::plot::scatter::{render_scatter_panels, ScatterPanel};

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-plots-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A decoded RGB image.
struct Img {
    w: usize,
    h: usize,
    px: Vec<[u8; 3]>,
}

fn decode(path: &Path) -> Img {
    let dec = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let (w, h) = (info.width as usize, info.height as usize);
    let px = (0..w * h).map(|i| [buf[i * ch], buf[i * ch + 1], buf[i * ch + 2]]).collect();
    Img { w, h, px }
}

impl Img {
    /// Pixels within `tol` (per channel) of `c` in the region where `keep(x, y)`.
    fn count(&self, c: RGBColor, tol: u8, keep: impl Fn(usize, usize) -> bool) -> usize {
        (0..self.w * self.h)
            .filter(|&i| {
                let p = self.px[i];
                keep(i % self.w, i / self.w)
                    && p[0].abs_diff(c.0) <= tol
                    && p[1].abs_diff(c.1) <= tol
                    && p[2].abs_diff(c.2) <= tol
            })
            .count()
    }

    /// Not blank: a fair share of non-white pixels and several colours.
    fn assert_not_blank(&self, what: &str) {
        let ink = self.px.iter().filter(|p| **p != [255, 255, 255]).count();
        let mut colours: Vec<[u8; 3]> = self.px.clone();
        colours.sort();
        colours.dedup();
        assert!(ink > self.w * self.h / 100, "{what}: only {ink} non-white pixels");
        assert!(colours.len() >= 4, "{what}: only {} colours", colours.len());
    }
}

/// `c` blended with white at opacity `a` (plotters' `mix`).
fn on_white(c: RGBColor, a: f64) -> RGBColor {
    let m = |v: u8| (v as f64 * a + 255.0 * (1.0 - a)).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

#[test]
fn five_overlapping_series_stay_distinguishable() {
    // Five identical lines (the ch. 4 plot: VI and PI hid under TPI j = 1 and j = 100).
    let pts: Vec<(f64, f64)> = (0..=100).map(|i| (i as f64, i as f64)).collect();
    let series = (0..5).map(|i| Series { label: format!("s{i}"), points: pts.clone(), ..Default::default() }).collect();
    let dir = out_dir("overlap");
    let p = dir.join("lines.png");
    LineChart { title: "five".into(), x_label: "x".into(), y_label: "y".into(), series, ..Default::default() }
        .render(&p)
        .unwrap();
    let img = decode(&p);
    img.assert_not_blank("lines");
    // The legend goes to the empty upper-left corner; count outside that quadrant.
    let (w, h) = (img.w, img.h);
    let outside_legend = |x: usize, y: usize| x > w / 2 || y > h / 2;
    for (i, c) in PALETTE.iter().take(5).enumerate() {
        let n = img.count(*c, 0, outside_legend);
        assert!(n >= 20, "series {i}: colour {c:?} shows on {n} pixels only");
    }
}

#[test]
fn learning_curves_with_bands_show_lines_and_bands() {
    let seed_curve = |k: usize, slope: f64| -> SeedCurve {
        (1..=60u64).map(|e| (e * 10, slope * e as f64 + (k as f64 - 1.0) * 3.0)).collect()
    };
    let agents = vec![
        ("a".to_string(), (0..3).map(|k| seed_curve(k, 1.0)).collect::<Vec<_>>()),
        ("b".to_string(), (0..3).map(|k| seed_curve(k, -0.5)).collect::<Vec<_>>()),
    ];
    let dir = out_dir("learning");
    let p = dir.join("learning.png");
    render_learning_curves(&p, "curves", &agents, &CurveSpec::default(), 7).unwrap();
    let img = decode(&p);
    img.assert_not_blank("learning");
    for (i, c) in PALETTE.iter().take(2).enumerate() {
        assert!(img.count(*c, 0, |_, _| true) >= 200, "line {i}");
        assert!(img.count(on_white(*c, 0.2), 3, |_, _| true) >= 200, "band {i}");
    }
}

#[test]
fn fixed_y_range_marks_clipped_points() {
    // Every point lies above the range: before the fix nothing but the legend showed.
    let pts: Vec<(f64, f64)> = (0..200).map(|i| (i as f64, 5.0 + i as f64)).collect();
    let dir = out_dir("clip");
    let p = dir.join("clip.png");
    LineChart {
        title: "clipped".into(),
        series: vec![Series { label: "high".into(), points: pts, ..Default::default() }],
        y_range: Some((0.0, 1.0)),
        ..Default::default()
    }
    .render(&p)
    .unwrap();
    let img = decode(&p);
    let n = img.count(PALETTE[0], 0, |_, _| true);
    assert!(n >= 500, "clip marks: {n} pixels of the series colour");
}

#[test]
fn an_all_zero_log_chart_says_nothing_to_draw() {
    let dir = out_dir("empty");
    let p = dir.join("empty.png");
    LineChart {
        title: "zeros".into(),
        log_y: true,
        series: vec![Series { label: "z".into(), points: vec![(1.0, 0.0), (2.0, 0.0)], ..Default::default() }],
        ..Default::default()
    }
    .render(&p)
    .unwrap();
    let img = decode(&p);
    // The note is drawn in dark red in the plot area.
    assert!(img.count(RGBColor(150, 0, 0), 40, |_, _| true) >= 100, "no 'nothing to draw' note");
}

#[test]
fn heatmap_shows_colour_bar_arrows_ties_and_marks() {
    // 3x3: a goal in the corner, a hole, a start, a teleport, wind.
    let mut cells = vec![CellMark::Free; 9];
    cells[8] = CellMark::Goal;
    cells[4] = CellMark::Hole;
    let fixed: Vec<bool> = (0..9).map(|s| s == 8 || s == 4).collect();
    let map = GridMap {
        height: 3,
        width: 3,
        cells,
        fixed,
        dirs: vec![(-1, 0), (0, 1), (1, 0), (0, -1), (0, 0)],
        starts: vec![0],
        teleports: vec![(1, 6)],
        wind: vec![0, 1, 2],
    };
    let values: Vec<f64> = (0..9).map(|s| s as f64).collect();
    let actions = vec![1; 9];
    let mut sets = vec![vec![1]; 9];
    sets[0] = vec![1, 2]; // a tie: right and down
    let dir = out_dir("grid");
    let p = dir.join("grid.png");
    let plot = GridPlot {
        title: "grid".into(),
        values: Some(&values),
        actions: Some(&actions),
        action_sets: Some(&sets),
        decimals: None,
    };
    render_grid(&p, &map, &plot).unwrap();
    let img = decode(&p);
    img.assert_not_blank("heatmap");
    let grid_right = 30 + 3 * 90;
    let in_grid = |x: usize, y: usize| x < grid_right && (60..60 + 270).contains(&y);
    // Lowest and highest open values (0 and 7) are the two ends of the scale.
    assert!(img.count(viridis(0.0), 0, in_grid) > 1000, "low end in the grid");
    assert!(img.count(viridis(1.0), 0, in_grid) > 1000, "high end in the grid");
    // The colour bar, right of the grid, shows the middle of the scale.
    assert!(img.count(viridis(0.5), 2, |x, _| x > grid_right) >= 10, "colour bar");
    // Arrows are black or white ink on the cells.
    assert!(img.count(RGBColor(0, 0, 0), 0, in_grid) > 100, "arrows");
    // Tie: the start cell (0, 0) has arrows both right and down of its arrow centre.
    let cell0 = |x: usize, y: usize| (30..120).contains(&x) && (60..150).contains(&y);
    let right = img.count(RGBColor(255, 255, 255), 0, |x, y| cell0(x, y) && x > 90 && (100..130).contains(&y));
    let down = img.count(RGBColor(255, 255, 255), 0, |x, y| cell0(x, y) && (70..80).contains(&x) && y > 125);
    assert!(right > 10 && down > 10, "tied arrows: right {right}, down {down}");
    // Hole, goal, start and teleport marks have their own colours.
    assert!(img.count(RGBColor(55, 65, 85), 0, in_grid) > 1000, "hole");
    assert!(img.count(RGBColor(200, 235, 200), 0, in_grid) > 1000, "goal");
    assert!(img.count(RGBColor(0, 170, 60), 0, in_grid) > 20, "start dot");
    assert!(img.count(RGBColor(150, 40, 190), 60, in_grid) > 10, "teleport letters");
    // Wind strengths under the grid.
    assert!(img.count(RGBColor(0, 90, 160), 60, |_, y| (330..360).contains(&y)) > 5, "wind numbers");
}

#[test]
fn bars_show_every_series() {
    let dir = out_dir("bars");
    let p = dir.join("bars.png");
    BarChart {
        title: "bars".into(),
        y_label: "score".into(),
        groups: vec!["g1".into(), "g2".into()],
        series: vec![
            BarSeries { label: "A".into(), values: vec![0.9, 0.4], errors: Some(vec![0.05, 0.05]) },
            BarSeries { label: "B".into(), values: vec![0.7, 0.6], errors: None },
        ],
        y_range: Some((0.0, 1.0)),
        ..Default::default()
    }
    .render(&p)
    .unwrap();
    let img = decode(&p);
    img.assert_not_blank("bars");
    for c in PALETTE.iter().take(2) {
        assert!(img.count(*c, 0, |_, _| true) >= 2000, "{c:?}");
    }
}

#[test]
fn scatter_shows_every_class() {
    let dir = out_dir("scatter");
    let p = dir.join("scatter.png");
    let points: Vec<(f64, f64, usize)> =
        (0..90).map(|i| ((i % 3) as f64 * 4.0 + (i as f64 * 0.37).sin(), (i as f64 * 0.11).cos(), i % 3)).collect();
    let panel = ScatterPanel { title: "p".into(), points };
    render_scatter_panels(&p, "emb", &["a".into(), "b".into(), "c".into()], &[panel]).unwrap();
    let img = decode(&p);
    img.assert_not_blank("scatter");
    for c in PALETTE.iter().take(3) {
        assert!(img.count(on_white(*c, 0.75), 3, |_, _| true) >= 100, "{c:?}");
    }
}

#[test]
fn intervals_show_every_agent() {
    let dir = out_dir("intervals");
    let p = dir.join("intervals.png");
    let iv = |e: f64| Interval { estimate: e, lo: e - 0.2, hi: e + 0.3 };
    let aggs = vec![
        ("A".to_string(), [iv(1.0), iv(1.1), iv(1.05), iv(0.3)]),
        ("B".to_string(), [iv(2.0), iv(1.9), iv(2.1), iv(0.1)]),
    ];
    render_intervals(&p, "intervals", &aggs).unwrap();
    let img = decode(&p);
    img.assert_not_blank("intervals");
    for c in PALETTE.iter().take(2) {
        assert!(img.count(on_white(*c, 0.6), 3, |_, _| true) >= 500, "{c:?}");
    }
}

#[test]
fn sa_plots_show_every_agent() {
    let run = |label: &str, seed: u64, rate: f64| SaSeries {
        label: label.into(),
        seed,
        truth: vec![1.0],
        trajectory: (0..300)
            .map(|k| vec![1.0 + 2.0 * (1.0 + k as f64).powf(-rate) * (1.0 + 0.1 * seed as f64)])
            .collect(),
        ..Default::default()
    };
    let runs = vec![run("fast", 0, 1.0), run("fast", 1, 1.0), run("slow", 0, 0.5), run("slow", 1, 0.5)];
    let dir = out_dir("sa");
    let files = sa_plot(&dir, &runs).unwrap();
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["sa_estimate.png", "sa_error.png"]);
    for f in &files {
        let img = decode(f);
        img.assert_not_blank(&names.join(","));
        for c in PALETTE.iter().take(2) {
            assert!(img.count(*c, 0, |_, _| true) >= 150, "{}: {c:?}", f.display());
        }
    }
}

#[test]
fn absurd_data_and_ranges_return_promptly() {
    let dir = out_dir("absurd");
    let p = dir.join("a.png");
    // Data at 1.5e307 (the quickstart reproducer) on a log axis, and infinities.
    for log_y in [false, true] {
        let pts = vec![(1.0, 1.5e307), (2.0, 1.5e308), (3.0, f64::INFINITY), (4.0, 1e-5), (5.0, -1e308)];
        LineChart {
            log_y,
            series: vec![Series { label: "x".into(), points: pts, ..Default::default() }],
            ..Default::default()
        }
        .render(&p)
        .unwrap();
        assert!(decode(&p).w > 0);
    }
    // A y range of ±1e308 or ±inf is refused, naming the key.
    for (lo, hi) in [(-1e308, 1e308), (f64::NEG_INFINITY, f64::INFINITY), (f64::NAN, 1.0), (2.0, 1.0)] {
        let e = LineChart {
            series: vec![Series { label: "x".into(), points: vec![(0.0, 0.0), (1.0, 1.0)], ..Default::default() }],
            y_range: Some((lo, hi)),
            y_range_key: "learning_curve.y_range".into(),
            ..Default::default()
        }
        .render(&p)
        .unwrap_err();
        assert!(matches!(e, rlkit::Error::Input(_)), "{e}");
        assert!(e.to_string().contains("learning_curve.y_range"), "{e}");
    }
    let spec = CurveSpec { y_range: Some([-1e308, 1e308]), ..Default::default() };
    assert!(spec.check().unwrap_err().contains("y_range"));
    assert!(check_range("k", 1e-3, 1e300, true).is_ok());
    assert!(check_range("k", 0.0, 1.0, true).unwrap_err().contains("k:"));
    // Bars and heatmaps with absurd values.
    BarChart {
        title: "b".into(),
        groups: vec!["g".into()],
        series: vec![BarSeries { label: "s".into(), values: vec![1.5e307], errors: None }],
        ..Default::default()
    }
    .render(&p)
    .unwrap_err();
    let map = GridMap {
        height: 1,
        width: 2,
        cells: vec![CellMark::Free; 2],
        fixed: vec![false; 2],
        dirs: vec![(0, 1)],
        ..Default::default()
    };
    let v = [1.5e307, f64::INFINITY];
    render_grid(&p, &map, &GridPlot { title: "g".into(), values: Some(&v), ..Default::default() }).unwrap();
}

#[test]
fn tick_labels_are_distinct_and_one_style_per_axis() {
    let mut ranges = vec![];
    for lo_exp in -12..14 {
        for &m in &[1.0, 1.7, 3.3, 9.99] {
            let lo = m * 10f64.powi(lo_exp);
            for &span in &[1e-9, 1e-4, 0.01, 0.5, 3.0, 70.0, 1e6] {
                ranges.push((lo, lo + span * lo.abs().max(1e-300)));
                ranges.push((-lo - span * lo, -lo));
                ranges.push((-lo, lo));
            }
        }
    }
    for (lo, hi) in ranges {
        for log in [false, true] {
            if log && lo <= 0.0 {
                continue;
            }
            let a = Axis::new(lo, hi, log);
            let mut l = a.labels.clone();
            l.sort();
            l.dedup();
            assert_eq!(l.len(), a.labels.len(), "[{lo}, {hi}] log {log}: {:?}", a.labels);
            for (t, l) in a.ticks.iter().zip(&a.labels) {
                let x: f64 = l.parse().unwrap();
                assert!((x - t).abs() <= 0.01 * t.abs(), "[{lo}, {hi}]: tick {t} labelled {l}");
            }
            let sci = a.labels.iter().filter(|s| *s != "0").map(|s| s.contains('e')).collect::<Vec<_>>();
            assert!(sci.iter().all(|&b| b) || sci.iter().all(|&b| !b), "[{lo}, {hi}]: {:?}", a.labels);
            if log {
                assert!(a.ticks.len() >= 3, "log [{lo}, {hi}] ({} ticks): {:?}", a.ticks.len(), a.labels);
            }
        }
    }
    // The examples: "-2e6" three times, and 0.001 next to 1e-4.
    assert_eq!(tick_labels(&[-2.2e6, -2.1e6, -2e6]), ["-2.2e6", "-2.1e6", "-2.0e6"]);
    assert_eq!(tick_labels(&[1e-4, 1e-3]), ["1e-4", "1e-3"]);
    // A log axis over three decades is scientific (it once printed 0.01 as "0.0").
    assert_eq!(tick_labels(&[0.01, 0.1, 1.0, 10.0]), ["1e-2", "1e-1", "1e0", "1e1"]);
    assert_eq!(rlkit::plot::lines::fmt_tick(0.0027), "0.0027");
}

#[test]
fn quickstart_with_an_absurd_target_reward_finishes() {
    let dir = out_dir("cli");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlkit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-q", "experiments/quickstart.toml", "--set", "env.rewards.target=1.5e307", "--out"])
        .arg(dir.join("run"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["convergence.png", "values_VI.png"] {
        let img = decode(&dir.join("run/plots").join(f));
        img.assert_not_blank(f);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlkit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "-q", "experiments/quickstart.toml", "--set", "learning_curve.y_range=[-1e308, 1e308]", "--out"])
        .arg(dir.join("run2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("y_range"));
}
