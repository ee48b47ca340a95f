//! The `behaviour-cloning` agent family: train one network on generated maps
//! and evaluate it on held-out maps ([`crate::agents::bc`], `docs/bc.md`).
//!
//! ```toml
//! [[agents]]
//! kind = "behaviour-cloning"
//! name = "arcface"
//! network = "configs/networks/grid_backbone.toml"
//! head = "arcface"            # softmax normface cosface arcface sphereface lsoftmax
//! scale = 16.0                # s (normface, cosface, arcface); default 64
//! margin = 0.5                # m; default: the head's
//! labels = "any"              # or "lowest"
//! train_sizes = [5, 8]        # square sides, inclusive, 3..=16
//! train_maps = 8
//! held_out_sizes = [5, 12]
//! held_out_maps_per_size = 2
//! density = 0.2
//! epochs = 10
//! ```
//!
//! The maps derive from the experiment seed only (every run id sees the same
//! maps); each run id seeds the weights and the minibatch order. Outputs (next
//! to the runner's): `bc_maps.csv` (per agent, seed, split and map: PA, MPA,
//! MIoU, value error), `bc_metrics.csv`, `plots/bc_pa_by_size.png`,
//! `plots/bc_metrics.png`, `plots/bc_embedding.png` (agents with
//! `embedding = true`), `embeddings/<agent>.csv`,
//! `weights/<agent>_seed<k>.safetensors`, `maps/<agent>/{train,held_out}/*.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::load::{resolve_path, Experiment, Variant};
use super::progress::Progress;
use super::runner::Outputs;
use super::schema::slug;
use crate::agents::bc::{self, BcConfig, HeadKind, LabelMode, LabelledMap, MAX_SIDE, MIN_SIDE};
use crate::config::{Doc, Seg};
use crate::data::table::{Cell, Table};
use crate::env::generate::{generate_map, generate_maps, write_maps, MapGenConfig};
use crate::env::LoadedEnv;
use crate::nn::model::NetworkFile;
use crate::util::{derive_seed, ensure_writable_dir};
use crate::{Error, Result};

/// The agent kind.
pub const KIND: &str = "behaviour-cloning";

/// At most this many maps (training, or held out in total).
pub const MAX_MAPS: usize = 10_000;

/// The keys of a `behaviour-cloning` agent (defaults in parentheses in `docs/bc.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BcAgentSpec {
    /// Network file (must take `[4, H, W]` and end in `linear` with 5 outputs).
    pub network: String,
    /// Head.
    pub head: HeadKind,
    /// Scale `s` (normface, cosface, arcface).
    pub scale: Option<f32>,
    /// Margin `m` (cosface, arcface: radians or cosine; sphereface, lsoftmax: an integer 1..=8).
    pub margin: Option<f32>,
    /// Label mode.
    pub labels: LabelMode,
    /// Training map sides `[min, max]`, inclusive.
    pub train_sizes: [usize; 2],
    /// Number of training maps (sides cycle over `train_sizes`).
    pub train_maps: usize,
    /// Held-out map sides `[min, max]`, inclusive.
    pub held_out_sizes: [usize; 2],
    /// Held-out maps per side (0: none).
    pub held_out_maps_per_size: usize,
    /// Fraction of forbidden cells.
    pub density: f64,
    /// Reward for entering a forbidden cell.
    pub forbidden_reward: f64,
    /// Passes over the training cells.
    pub epochs: usize,
    /// Cells per minibatch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// AdamW weight decay (0: Adam).
    pub weight_decay: f64,
    /// Gradient-norm clip (0: off).
    pub clip: f64,
    /// Plot the first two principal components of the penultimate features.
    pub embedding: bool,
    /// Write the maps as env files under `maps/<agent>/`.
    pub write_maps: bool,
}

impl Default for BcAgentSpec {
    fn default() -> Self {
        BcAgentSpec {
            network: "configs/networks/grid_backbone.toml".into(),
            head: HeadKind::Softmax,
            scale: None,
            margin: None,
            labels: LabelMode::Any,
            train_sizes: [5, 8],
            train_maps: 8,
            held_out_sizes: [5, 12],
            held_out_maps_per_size: 2,
            density: 0.2,
            forbidden_reward: -10.0,
            epochs: 10,
            batch_size: 32,
            lr: 3e-3,
            weight_decay: 0.0,
            clip: 5.0,
            embedding: false,
            write_maps: true,
        }
    }
}

impl BcAgentSpec {
    fn train_config(&self) -> BcConfig {
        BcConfig {
            head: self.head,
            scale: self.scale,
            margin: self.margin,
            labels: self.labels,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            weight_decay: self.weight_decay,
            clip: self.clip,
        }
    }

    fn gen_config(&self) -> MapGenConfig {
        MapGenConfig { density: self.density, forbidden: self.forbidden_reward, ..MapGenConfig::default() }
    }

    /// Range checks: `Err((key, message))`.
    fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        for (key, s) in [("train_sizes", self.train_sizes), ("held_out_sizes", self.held_out_sizes)] {
            if s[0] < MIN_SIDE || s[1] < s[0] || s[1] > MAX_SIDE {
                return Err((
                    key,
                    format!(
                        "{key} = [{}, {}]: need {MIN_SIDE} <= min <= max <= {MAX_SIDE} (attention costs grow as (H·W)²; 16×16 is the bound)",
                        s[0], s[1]
                    ),
                ));
            }
        }
        if !(1..=MAX_MAPS).contains(&self.train_maps) {
            return Err(("train_maps", format!("train_maps = {} must be in 1..={MAX_MAPS}", self.train_maps)));
        }
        let n_held = self.held_out_maps_per_size * (self.held_out_sizes[1] - self.held_out_sizes[0] + 1);
        if n_held > MAX_MAPS {
            return Err(("held_out_maps_per_size", format!("{n_held} held-out maps in total; at most {MAX_MAPS}")));
        }
        if !(1..=100_000).contains(&self.epochs) {
            return Err(("epochs", format!("epochs = {} must be in 1..=100000", self.epochs)));
        }
        if !(1..=1024).contains(&self.batch_size) {
            return Err(("batch_size", format!("batch_size = {} must be in 1..=1024", self.batch_size)));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return Err(("lr", format!("lr = {} must be in (0, 1]", self.lr)));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(("weight_decay", format!("weight_decay = {} must be a finite number >= 0", self.weight_decay)));
        }
        if !(self.clip.is_finite() && self.clip >= 0.0) {
            return Err(("clip", format!("clip = {} must be a finite number >= 0 (0: off)", self.clip)));
        }
        if let Err(e) = self.gen_config().validate() {
            let key = if e.to_string().starts_with("density") { "density" } else { "forbidden_reward" };
            return Err((key, e.to_string()));
        }
        let head = self.head.name();
        match self.head {
            HeadKind::Softmax => {
                if self.scale.is_some() {
                    return Err((
                        "scale",
                        "the softmax head has no scale; remove `scale` or pick a margin head".into(),
                    ));
                }
                if self.margin.is_some() {
                    return Err((
                        "margin",
                        "the softmax head has no margin; remove `margin` or pick a margin head".into(),
                    ));
                }
            }
            HeadKind::Sphereface | HeadKind::Lsoftmax => {
                if self.scale.is_some() {
                    return Err(("scale", format!("{head} scales by the feature norm; it takes no `scale`")));
                }
                if let Some(m) = self.margin {
                    if !(m.fract() == 0.0 && (1.0..=8.0).contains(&m)) {
                        return Err(("margin", format!("{head}'s margin m = {m} must be an integer in 1..=8")));
                    }
                }
            }
            HeadKind::Normface | HeadKind::Cosface | HeadKind::Arcface => {
                if let Some(s) = self.scale {
                    if !(s.is_finite() && s > 0.0 && s <= 1000.0) {
                        return Err(("scale", format!("scale = {s} must be in (0, 1000]")));
                    }
                }
                if let Some(m) = self.margin {
                    if self.head == HeadKind::Normface {
                        return Err(("margin", "normface has no margin; use cosface or arcface".into()));
                    }
                    if !(m.is_finite() && (0.0..1.5).contains(&m)) {
                        return Err(("margin", format!("{head}'s margin m = {m} must be in [0, 1.5)")));
                    }
                }
            }
        }
        Ok(())
    }

    fn all_sides(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (self.train_sizes[0]..=self.train_sizes[1]).collect();
        if self.held_out_maps_per_size > 0 {
            v.extend(self.held_out_sizes[0]..=self.held_out_sizes[1]);
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Validate a `behaviour-cloning` agent at load time (so `rlkit check`
/// refuses what `run` would): keys, ranges, head, and the network, built at
/// every map side it will see.
pub fn resolve(doc: &Doc, prefix: &[Seg], params: &toml::Table, env: Option<&LoadedEnv>) -> Result<toml::Table> {
    let at = |k: &str| {
        let mut p = prefix.to_vec();
        p.push(Seg::Key(k.into()));
        p
    };
    if env.is_some() {
        return Err(doc.error_at(
            prefix,
            "`behaviour-cloning` generates its own maps (train_sizes, held_out_sizes, density); remove the [env] table or put this agent in its own experiment",
        ));
    }
    let spec: BcAgentSpec = doc.deserialize_value(toml::Value::Table(params.clone()), prefix)?;
    spec.check().map_err(|(k, m)| doc.error_at(&at(k), &m))?;
    let path = resolve_path(doc.file(), &spec.network);
    let file = NetworkFile::load(Path::new(&path)).map_err(|e| doc.error_at(&at("network"), &e.to_string()))?;
    for side in spec.all_sides() {
        let net = file
            .build::<f32>([4, side, side], 0)
            .map_err(|e| doc.error_at(&at("network"), &format!("for a {side}x{side} map: {e}")))?;
        bc::check_network(&net).map_err(|m| doc.error_at(&at("network"), &format!("{}: {m}", spec.network)))?;
    }
    match toml::Value::try_from(&spec) {
        Ok(toml::Value::Table(t)) => Ok(t),
        _ => Err(Error::internal("cannot serialize the behaviour-cloning config")),
    }
}

/// Picks one split's scores out of a seed's results.
type ScoresOf = fn(&SeedOut) -> &Vec<bc::MapScores>;

/// One seed's results.
struct SeedOut {
    id: u64,
    loss: Vec<f64>,
    seconds: Vec<f64>,
    train: Vec<bc::MapScores>,
    held: Vec<bc::MapScores>,
    tensors: Vec<(String, ndarray::ArrayD<f32>)>,
    embedding: Option<(ndarray::Array2<f64>, Vec<usize>)>,
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// JSON number or null (NaN has no JSON form).
fn num(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}

/// Run a `behaviour-cloning` agent over the experiment's seeds (in parallel).
pub fn run(
    exp: &Experiment,
    _v: &Variant,
    agent: &super::agents::ResolvedAgent,
    params: &toml::Table,
    dir: &Path,
    out: &mut Outputs,
    progress: &Progress,
) -> Result<()> {
    let spec: BcAgentSpec = toml::Value::Table(params.clone())
        .try_into()
        .map_err(|e| Error::input(format!("{}: agent `{}`: {e}", exp.file.display(), agent.name)))?;
    let file = NetworkFile::load(Path::new(&resolve_path(&exp.file, &spec.network)))?;
    let gen = spec.gen_config();
    let map_seed = derive_seed(exp.spec.seed, &[0x6d_6170]);
    let train_maps: Vec<LabelledMap> =
        generate_maps((spec.train_sizes[0], spec.train_sizes[1]), spec.train_maps, &gen, derive_seed(map_seed, &[0]))?
            .into_par_iter()
            .map(LabelledMap::new)
            .collect::<Result<_>>()?;
    let mut held_jobs = Vec::new();
    for side in spec.held_out_sizes[0]..=spec.held_out_sizes[1] {
        for j in 0..spec.held_out_maps_per_size {
            held_jobs.push((side, j));
        }
    }
    let held_maps: Vec<LabelledMap> = held_jobs
        .par_iter()
        .map(|&(side, j)| {
            LabelledMap::new(generate_map(side, side, &gen, derive_seed(map_seed, &[1, side as u64, j as u64]))?)
        })
        .collect::<Result<_>>()?;
    let aslug = slug(&agent.name);
    if spec.write_maps {
        let mdir = dir.join("maps").join(&aslug);
        ensure_writable_dir(&mdir)?;
        let grids: Vec<crate::env::Grid> = train_maps.iter().map(|m| m.grid.clone()).collect();
        out.files.extend(write_maps(&mdir.join("train"), &grids)?);
        if !held_maps.is_empty() {
            let grids: Vec<crate::env::Grid> = held_maps.iter().map(|m| m.grid.clone()).collect();
            out.files.extend(write_maps(&mdir.join("held_out"), &grids)?);
        }
    }
    let cfg = spec.train_config();
    let first = exp.seeds[0];
    let bar = progress.agent(&agent.name, exp.seeds.len() as u64);
    let results: Vec<SeedOut> = exp
        .seeds
        .par_iter()
        .map(|&id| {
            let mut run = bc::train(&file, &cfg, &train_maps, derive_seed(exp.spec.seed, &[id]))?;
            let train = train_maps.iter().map(|m| run.model.evaluate(m)).collect::<Result<Vec<_>>>()?;
            let held = held_maps.iter().map(|m| run.model.evaluate(m)).collect::<Result<Vec<_>>>()?;
            let embedding = if spec.embedding && id == first {
                let mut feats = Vec::new();
                let mut labels = Vec::new();
                for m in &train_maps {
                    let states = m.states();
                    feats.push(run.model.features(&m.images(&states))?);
                    let low = m.lowest_labels();
                    labels.extend(states.iter().map(|&s| low[s]));
                }
                let views: Vec<_> = feats.iter().map(|f| f.view()).collect();
                let all = ndarray::concatenate(ndarray::Axis(0), &views)
                    .map_err(|e| Error::internal(format!("embedding: {e}")))?;
                Some((bc::pca_2d(&all), labels))
            } else {
                None
            };
            progress.inc(1);
            bar.inc();
            Ok(SeedOut {
                id,
                loss: run.epoch_loss,
                seconds: run.epoch_seconds,
                train,
                held,
                tensors: run.model.tensors(),
                embedding,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    drop(bar);

    // Tables: loss per epoch, timings, weights.
    let mut it = Table::new(&["agent", "seed", "iteration", "loss"]);
    let wdir = dir.join("weights");
    ensure_writable_dir(&wdir)?;
    for r in &results {
        for (e, (&l, &s)) in r.loss.iter().zip(&r.seconds).enumerate() {
            it.push(vec![agent.name.as_str().into(), r.id.into(), (e + 1).into(), l.into()]);
            out.timings.push(vec![agent.name.as_str().into(), r.id.into(), (e + 1).into(), s.into()]);
        }
        let p = wdir.join(format!("{aslug}_seed{}.safetensors", r.id));
        crate::nn::io::write_tensors(&p, &r.tensors)?;
        out.files.push(p);
    }
    out.iterations.extend_union(it);
    let mut emb_file = None;
    if let Some((coords, labels)) = results.iter().find_map(|r| r.embedding.as_ref()) {
        let edir = dir.join("embeddings");
        ensure_writable_dir(&edir)?;
        let mut t = Table::new(&["pc1", "pc2", "action"]);
        for (i, &a) in labels.iter().enumerate() {
            t.push(vec![coords[[i, 0]].into(), coords[[i, 1]].into(), (a as u64).into()]);
        }
        let p = edir.join(format!("{aslug}.csv"));
        t.write_csv(&p)?;
        out.files.push(p);
        emb_file = Some(format!("embeddings/{aslug}.csv"));
    }

    // Summary.
    let splits: [(&str, &[LabelledMap], ScoresOf); 2] =
        [("train", &train_maps, |r| &r.train), ("held_out", &held_maps, |r| &r.held)];
    let mut per_map = Vec::new();
    let mut split_summary = serde_json::Map::new();
    let mut per_size = Vec::new();
    for (split, maps, get) in splits {
        if maps.is_empty() {
            continue;
        }
        let mut by_seed: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut by_size: BTreeMap<usize, [Vec<f64>; 3]> = BTreeMap::new();
        for r in &results {
            let scores = get(r);
            for (k, metric) in ["pa", "mpa", "miou"].iter().enumerate() {
                let vals: Vec<f64> = scores.iter().map(|s| [s.pa, s.mpa, s.miou][k]).collect();
                by_seed.entry(metric).or_default().push(mean(&vals));
            }
            for (i, (s, m)) in scores.iter().zip(maps.iter()).enumerate() {
                per_map.push(json!({
                    "seed": r.id, "split": split, "map": i, "size": m.grid.height,
                    "pa": num(s.pa), "mpa": num(s.mpa), "miou": num(s.miou), "value_error": num(s.value_error),
                }));
                let e = by_size.entry(m.grid.height).or_default();
                e[0].push(s.pa);
                e[1].push(s.mpa);
                e[2].push(s.miou);
            }
        }
        let mut o = serde_json::Map::new();
        for (metric, vals) in &by_seed {
            o.insert((*metric).into(), num(mean(vals)));
            o.insert(format!("{metric}_std"), num(std_dev(vals)));
        }
        o.insert("maps".into(), json!(maps.len()));
        split_summary.insert(split.into(), serde_json::Value::Object(o));
        for (size, v) in by_size {
            per_size.push(json!({
                "split": split, "size": size, "pa": num(mean(&v[0])), "mpa": num(mean(&v[1])),
                "miou": num(mean(&v[2])), "maps": v[0].len() / results.len().max(1),
            }));
        }
    }
    let per_seed: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            json!({
                "seed": r.id,
                "final_loss": r.loss.last().copied().map_or(serde_json::Value::Null, num),
                "train_pa": num(mean(&r.train.iter().map(|s| s.pa).collect::<Vec<_>>())),
                "held_out_pa": num(mean(&r.held.iter().map(|s| s.pa).collect::<Vec<_>>())),
            })
        })
        .collect();
    let samples: usize = train_maps.iter().map(|m| m.states().len()).sum();
    out.summaries.push(json!({
        "agent": agent.name,
        "kind": KIND,
        "head": spec.head.name(),
        "labels": match spec.labels { LabelMode::Any => "any", LabelMode::Lowest => "lowest" },
        "network": spec.network,
        "seeds": exp.seeds.len(),
        "epochs": spec.epochs,
        "batch_size": spec.batch_size,
        "train_sizes": spec.train_sizes,
        "held_out_sizes": spec.held_out_sizes,
        "samples_per_epoch": samples,
        "train": split_summary.get("train").cloned().unwrap_or(serde_json::Value::Null),
        "held_out": split_summary.get("held_out").cloned().unwrap_or(serde_json::Value::Null),
        "per_size": per_size,
        "per_seed": per_seed,
        "per_map": per_map,
        "embedding": emb_file,
    }));
    write_family_outputs(dir, exp, out)
}

fn push_once(files: &mut Vec<PathBuf>, p: PathBuf) {
    if !files.contains(&p) {
        files.push(p);
    }
}

/// The behaviour-cloning summaries of the variant so far.
fn bc_summaries(out: &Outputs) -> Vec<&serde_json::Value> {
    out.summaries.iter().filter(|s| s.get("kind").and_then(|k| k.as_str()) == Some(KIND)).collect()
}

/// Cross-agent outputs, rewritten after every behaviour-cloning agent so the
/// last one covers all of them: `bc_maps.csv`, `bc_metrics.csv` and the plots.
fn write_family_outputs(dir: &Path, exp: &Experiment, out: &mut Outputs) -> Result<()> {
    let sums: Vec<serde_json::Value> = bc_summaries(out).into_iter().cloned().collect();
    let f = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    // Per-map table.
    let mut maps = Table::new(&["agent", "head", "seed", "split", "map", "size", "pa", "mpa", "miou", "value_error"]);
    let mut metrics = Table::new(&["agent", "head", "split", "metric", "mean", "std"]);
    for a in &sums {
        let (name, head) = (s(a, "agent"), s(a, "head"));
        for m in a.get("per_map").and_then(|x| x.as_array()).into_iter().flatten() {
            maps.push(vec![
                name.as_str().into(),
                head.as_str().into(),
                Cell::Int(m.get("seed").and_then(|x| x.as_i64()).unwrap_or(0)),
                s(m, "split").into(),
                Cell::Int(m.get("map").and_then(|x| x.as_i64()).unwrap_or(0)),
                Cell::Int(m.get("size").and_then(|x| x.as_i64()).unwrap_or(0)),
                f(m, "pa").into(),
                f(m, "mpa").into(),
                f(m, "miou").into(),
                f(m, "value_error").into(),
            ]);
        }
        for split in ["train", "held_out"] {
            let Some(o) = a.get(split).filter(|o| o.is_object()) else { continue };
            for metric in ["pa", "mpa", "miou"] {
                metrics.push(vec![
                    name.as_str().into(),
                    head.as_str().into(),
                    split.into(),
                    metric.into(),
                    f(o, metric).into(),
                    f(o, &format!("{metric}_std")).into(),
                ]);
            }
        }
    }
    for (name, t) in [("bc_maps.csv", &maps), ("bc_metrics.csv", &metrics)] {
        let p = dir.join(name);
        t.write_csv(&p)?;
        push_once(&mut out.files, p);
    }
    let plots = dir.join("plots");
    // PA against map size.
    let mut series = Vec::new();
    for a in &sums {
        for (split, label) in [("train", "train"), ("held_out", "held out")] {
            let pts: Vec<(f64, f64)> = a
                .get("per_size")
                .and_then(|x| x.as_array())
                .into_iter()
                .flatten()
                .filter(|p| p.get("split").and_then(|x| x.as_str()) == Some(split))
                .map(|p| (f(p, "size"), f(p, "pa")))
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            if !pts.is_empty() {
                series.push(crate::plot::lines::Series {
                    label: format!("{} {label}", s(a, "agent")),
                    points: pts,
                    ..Default::default()
                });
            }
        }
    }
    if series.iter().any(|s| !s.points.is_empty()) {
        ensure_writable_dir(&plots)?;
        let p = plots.join("bc_pa_by_size.png");
        crate::plot::lines::LineChart {
            title: format!("{}: pixel accuracy against map size (mean over maps and seeds)", exp.spec.name),
            x_label: "map side (H = W)".into(),
            y_label: "PA (fraction of cells with an optimal action)".into(),
            series,
            y_range: Some((0.0, 1.05)),
            ..Default::default()
        }
        .render(&p)?;
        push_once(&mut out.files, p);
    }
    // Grouped bars: one group per agent.
    let groups: Vec<String> = sums.iter().map(|a| s(a, "agent")).collect();
    let mut bars = Vec::new();
    for (split, label) in [("train", "train"), ("held_out", "held out")] {
        for metric in ["pa", "mpa", "miou"] {
            let values: Vec<f64> = sums.iter().map(|a| a.get(split).map_or(f64::NAN, |o| f(o, metric))).collect();
            let errors: Vec<f64> =
                sums.iter().map(|a| a.get(split).map_or(f64::NAN, |o| f(o, &format!("{metric}_std")))).collect();
            if values.iter().any(|v| v.is_finite()) {
                bars.push(crate::plot::bars::BarSeries {
                    label: format!(
                        "{label} {}",
                        match metric {
                            "pa" => "PA",
                            "mpa" => "MPA",
                            _ => "MIoU",
                        }
                    ),
                    values,
                    errors: Some(errors),
                });
            }
        }
    }
    if !groups.is_empty() && !bars.is_empty() {
        ensure_writable_dir(&plots)?;
        let p = plots.join("bc_metrics.png");
        crate::plot::bars::BarChart {
            title: format!("{}: PA / MPA / MIoU (mean ± sd over seeds)", exp.spec.name),
            y_label: "score".into(),
            groups,
            series: bars,
            y_range: Some((0.0, 1.45)),
            size: Some((1100, 620)),
        }
        .render(&p)?;
        push_once(&mut out.files, p);
    }
    // Embeddings.
    let mut panels = Vec::new();
    for a in &sums {
        let Some(rel) = a.get("embedding").and_then(|x| x.as_str()) else { continue };
        let text = std::fs::read_to_string(dir.join(rel))
            .map_err(|e| Error::internal(format!("{}: cannot read back: {e}", dir.join(rel).display())))?;
        let points: Vec<(f64, f64, usize)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut it = l.split(',');
                Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?))
            })
            .collect();
        panels.push(crate::plot::scatter::ScatterPanel {
            title: format!("{} ({})", s(a, "agent"), s(a, "head")),
            points,
        });
    }
    if !panels.is_empty() {
        ensure_writable_dir(&plots)?;
        let p = plots.join("bc_embedding.png");
        let classes: Vec<String> = ["up", "right", "down", "left", "stay"].iter().map(|c| c.to_string()).collect();
        crate::plot::scatter::render_scatter_panels(
            &p,
            "Penultimate features, first two principal components (training cells, coloured by optimal action)",
            &classes,
            &panels,
        )?;
        push_once(&mut out.files, p);
    }
    Ok(())
}
