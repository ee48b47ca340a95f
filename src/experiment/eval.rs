//! `rlkit eval RUN_DIR [--env OTHER.toml] [--out DIR]`: reload the trained
//! networks of a finished run (`weights/<agent>_seed<k>.safetensors` of its
//! `dqn` agents) and evaluate their greedy policies on the run's env or on
//! another one — a network trained on one map size runs on another when its
//! layers allow it (`configs/networks/grid_backbone.toml` does).
//!
//! Writes `values.csv`, `policy.csv`, `policies/<agent>_seed<k>.txt`,
//! `plots/values_<agent>_seed<k>.png` and `summary.json` (PA, MPA, MIoU against
//! the optimal action sets of value iteration, and a greedy rollout from the
//! env's first start state) into `--out` (default `RUN_DIR/eval/<env name>`).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::runner::{push_values_policy, Outputs};
use super::schema::slug;
use crate::agents::agent::argmax_first;
use crate::config::{Doc, Seg};
use crate::env::obs::{ObsEncoder, ObsMode};
use crate::env::{LoadedEnv, World};
use crate::nn::model::NetworkFile;
use crate::util::{atomic_write, ensure_writable_dir};
use crate::{Error, Result};

/// What `eval` wrote.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    /// The output directory.
    pub out_dir: PathBuf,
    /// (agent, seed, PA) per evaluated network.
    pub results: Vec<(String, u64, f64)>,
}

/// The greedy values and actions of a network in every state of `world`.
fn network_maps(
    world: &World,
    enc: &mut ObsEncoder,
    net: &mut crate::nn::model::Network<f32>,
    input: [usize; 3],
) -> Result<(Vec<f64>, Vec<usize>)> {
    let n = world.model().n_states();
    let mut raw = vec![0.0; world.obs_spec().dim()];
    let mut x = vec![0.0; enc.len()];
    let mut xs = Vec::with_capacity(n * enc.len());
    for s in 0..n {
        world.observe_state(s, &mut raw);
        enc.encode(&raw, &mut x);
        xs.extend(x.iter().map(|&v| v as f32));
    }
    let batch = ndarray::ArrayD::from_shape_vec(vec![n, input[0], input[1], input[2]], xs)
        .map_err(|e| Error::internal(format!("eval batch: {e}")))?;
    let q = net.forward(batch)?;
    let na = world.model().n_actions();
    let mut values = Vec::with_capacity(n);
    let mut actions = Vec::with_capacity(n);
    for s in 0..n {
        let row: Vec<f64> = (0..na).map(|a| q[[s, a]] as f64).collect();
        values.push(row.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        actions.push(argmax_first(&row));
    }
    Ok(crate::agents::train::clean(world.model(), values, actions))
}

/// Follow the greedy actions from the first start state (deterministic env steps
/// drawn from a fixed stream) for at most `max` steps: (return, steps, terminated).
fn rollout(world: &World, actions: &[usize], max: u64) -> (f64, u64, bool) {
    use crate::env::Env;
    let mut env = world.make_env();
    let mut s = env.reset(Some(0));
    let (mut ret, mut t) = (0.0, 0);
    while t < max {
        let st = env.step(actions[s]);
        ret += st.reward;
        t += 1;
        if st.terminated {
            return (ret, t, true);
        }
        if st.truncated {
            break;
        }
        s = st.state;
    }
    (ret, t, false)
}

/// Evaluate the networks of `run_dir` (see the module docs).
pub fn eval(run_dir: &Path, env_file: Option<&Path>, out: Option<&Path>) -> Result<EvalReport> {
    let cfg_path = run_dir.join("config.resolved.toml");
    if !cfg_path.is_file() {
        return Err(Error::input(format!(
            "{}: not an rlkit run directory (no config.resolved.toml); give the directory `rlkit run` wrote",
            run_dir.display()
        )));
    }
    let mut doc = Doc::load(&cfg_path)?;
    // An env recorded by reference (path + sha256): load it, refuse it if it changed.
    super::load::merge_env_file(&mut doc, &cfg_path)?;
    let env = match env_file {
        Some(p) => LoadedEnv::from_doc(&Doc::load(p)?, &[])?,
        None => LoadedEnv::from_doc(&doc, &[Seg::Key("env".into())])?,
    };
    let env_label = env_file.map_or_else(|| cfg_path.display().to_string(), |p| p.display().to_string());
    let Some(world) = env.finite().cloned() else {
        return Err(Error::input(format!("{env_label}: eval needs a finite world (it compares with value iteration)")));
    };
    let agents = match doc.table.get("agents") {
        Some(toml::Value::Array(a)) => a.clone(),
        _ => vec![],
    };
    let dqn: Vec<(usize, toml::Table)> = agents
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.as_table().filter(|t| t.get("kind").and_then(|k| k.as_str()) == Some("dqn")).map(|t| (i, t.clone()))
        })
        .collect();
    if dqn.is_empty() {
        return Err(Error::input(format!(
            "{}: the run has no `dqn` agent; eval reloads trained networks",
            cfg_path.display()
        )));
    }
    let out_dir = out.map(Path::to_path_buf).unwrap_or_else(|| run_dir.join("eval").join(slug(&world.name)));
    let v_star = crate::agents::dp::value_iteration::optimal_values(world.model())?;
    let mut outs = Outputs {
        values: crate::data::table::Table::new(&["agent", "seed", "state", "row", "col", "value"]),
        policy: crate::data::table::Table::new(&["agent", "seed", "state", "row", "col", "action"]),
        ..Default::default()
    };
    let mut summaries = Vec::new();
    let mut report = EvalReport { out_dir: out_dir.clone(), results: vec![] };
    let mut maps = Vec::new();
    for (i, t) in &dqn {
        let at = |k: &str| [Seg::Key("agents".into()), Seg::Index(*i), Seg::Key(k.into())];
        let name = t.get("name").and_then(|v| v.as_str()).unwrap_or("dqn").to_string();
        let network = t
            .get("network")
            .and_then(|v| v.as_str())
            .ok_or_else(|| doc.error_at(&at("network"), "missing the network file"))?;
        let mode: ObsMode = match t.get("observation") {
            Some(v) => doc.deserialize_value(v.clone(), &at("observation"))?,
            None => ObsMode::OneHot,
        };
        let features = match t.get("features") {
            Some(v) => doc.deserialize_value(v.clone(), &at("features"))?,
            None => vec![],
        };
        let mut enc = ObsEncoder::new(&env, mode, &features)?;
        let input = crate::agents::approx::dqn::input_shape(&enc);
        let file = NetworkFile::load(Path::new(network))?;
        let mut net = crate::agents::approx::dqn::check_network(&file, input, world.model().n_actions())?;
        let prefix = format!("{}_seed", slug(&name));
        let mut weights: Vec<(u64, PathBuf)> = std::fs::read_dir(run_dir.join("weights"))
            .map_err(|e| Error::input(format!("{}: cannot read: {e}", run_dir.join("weights").display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| {
                let stem = p.file_stem()?.to_str()?.to_string();
                let seed = stem.strip_prefix(&prefix)?.parse::<u64>().ok()?;
                Some((seed, p))
            })
            .collect();
        weights.sort();
        if weights.is_empty() {
            return Err(Error::input(format!(
                "{}: no weights/{prefix}<k>.safetensors for agent `{name}`",
                run_dir.display()
            )));
        }
        let mut per_seed = Vec::new();
        for (seed, path) in weights {
            let tensors = crate::data::tensors::read_f64_tensors(&path)?;
            let state = tensors
                .into_iter()
                .map(|(k, (shape, data))| {
                    let arr = ndarray::ArrayD::from_shape_vec(shape, data.into_iter().map(|v| v as f32).collect())
                        .map_err(|e| Error::input(format!("{}: tensor `{k}`: {e}", path.display())))?;
                    Ok((k, arr))
                })
                .collect::<Result<std::collections::BTreeMap<_, _>>>()?;
            net.load_state(&state, &path.display().to_string())?;
            let (values, actions) = network_maps(&world, &mut enc, &mut net, input)?;
            let m = crate::agents::dp::policy_metrics(world.model(), &actions, &v_star, 1e-6)?;
            let cap = world.max_steps().unwrap_or(10 * world.model().n_states() as u64);
            let (ret, steps, term) = rollout(&world, &actions, cap);
            push_values_policy(&mut outs, &world, &name, seed, &values, Some(&actions));
            per_seed.push(json!({
                "seed": seed, "weights": path.display().to_string(),
                "pa": m.scores.pa, "mpa": m.scores.mpa, "miou": m.scores.miou,
                "rollout_return": ret, "rollout_steps": steps, "rollout_terminated": term,
            }));
            report.results.push((name.clone(), seed, m.scores.pa));
            maps.push((format!("{}_seed{seed}", slug(&name)), values, actions));
        }
        let pas: Vec<f64> = per_seed.iter().filter_map(|p| p["pa"].as_f64()).collect();
        summaries.push(json!({
            "agent": name, "kind": "dqn", "network": network,
            "mean_pa": pas.iter().sum::<f64>() / pas.len() as f64,
            "seeds_with_pa_1": pas.iter().filter(|&&p| p == 1.0).count(),
            "per_seed": per_seed,
        }));
    }
    ensure_writable_dir(&out_dir)?;
    outs.values.write_csv(&out_dir.join("values.csv"))?;
    outs.policy.write_csv(&out_dir.join("policy.csv"))?;
    let pdir = out_dir.join("policies");
    ensure_writable_dir(&pdir)?;
    for (label, values, actions) in &maps {
        atomic_write(
            &pdir.join(format!("{label}.txt")),
            crate::agents::dp::policy::format_policy(&world, actions).as_bytes(),
        )?;
        if let Some(grid) = world.grid() {
            let plots = out_dir.join("plots");
            ensure_writable_dir(&plots)?;
            crate::plot::grid::render_grid(
                &plots.join(format!("values_{label}.png")),
                &super::runner::grid_map(grid),
                &crate::plot::grid::GridPlot {
                    title: format!("{label} on {}", world.name),
                    values: Some(values),
                    actions: Some(actions),
                    action_sets: None,
                    decimals: None,
                },
            )?;
        }
    }
    let summary = json!({
        "run": run_dir.display().to_string(),
        "env": world.name, "env_file": env_label,
        "states": world.model().n_states(),
        "agents": summaries,
    });
    let mut text = serde_json::to_string_pretty(&summary).map_err(|e| Error::internal(e.to_string()))?;
    text.push('\n');
    atomic_write(&out_dir.join("summary.json"), text.as_bytes())?;
    Ok(report)
}
