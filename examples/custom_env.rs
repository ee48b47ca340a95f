//! A new environment kind written in Rust: a chain MDP built as a `TabularModel`, registered
//! under the env kind "chain", so that an env table `kind = "chain"` works everywhere an env
//! file does: in experiment files run by the runner, and in the whole `rlkit` command line.
//!
//! States 0..N−1 in a row; "left" moves one step left (0 stays put), "right" one step right.
//! Reaching state N−1 ends the episode with reward +10; every other step pays −1.
//!
//! ```text
//! cargo run --release --example custom_env                                # the demo below
//! cargo run --release --example custom_env -- run examples/chain.toml    # the rlkit CLI, with "chain"
//! cargo run --release --example custom_env -- check examples/chain.toml
//! ```
use std::process::ExitCode;

use rlkit::env::{register_env_kind, LoadedEnv, TabularModel, Transition, World};
use rlkit::experiment::{load, run, LoadOptions, RunOptions};

/// The model of a chain of `n` states.
fn chain(n: usize, gamma: f64) -> rlkit::Result<TabularModel> {
    let mut lists = Vec::new();
    for s in 0..n {
        for a in 0..2 {
            let t = if s == n - 1 {
                Transition { prob: 1.0, next: s, reward: 0.0, done: true } // terminal: absorbing
            } else {
                let next = if a == 0 { s.saturating_sub(1) } else { s + 1 };
                let done = next == n - 1;
                Transition { prob: 1.0, next, reward: if done { 10.0 } else { -1.0 }, done }
            };
            lists.push(vec![t]);
        }
    }
    let fixed = (0..n).map(|s| s == n - 1).collect();
    TabularModel::new(n, 2, gamma, lists, fixed)
}

/// The env kind "chain": keys `n` (2..=100,000, default 8) and `gamma` (default 0.95).
/// Errors are `rlkit::Error::input`; the loader prefixes them with the file and key location.
fn chain_kind(params: &toml::Table, name: &str) -> rlkit::Result<LoadedEnv> {
    for k in params.keys() {
        if !["n", "gamma", "name", "description"].contains(&k.as_str()) {
            return Err(rlkit::Error::input(format!("unknown key `{k}` for kind \"chain\"; valid: n, gamma")));
        }
    }
    let n = match params.get("n") {
        None => 8,
        Some(toml::Value::Integer(n)) if (2..=100_000).contains(n) => *n as usize,
        Some(v) => return Err(rlkit::Error::input(format!("n = {v}: need an integer in 2..=100000"))),
    };
    let gamma = match params.get("gamma") {
        None => 0.95,
        Some(toml::Value::Float(g)) if (0.0..=1.0).contains(g) => *g,
        Some(v) => return Err(rlkit::Error::input(format!("gamma = {v}: need a float in [0, 1]"))),
    };
    let states = (0..n).map(|s| format!("s{s}")).collect();
    let world = World::from_model(name, chain(n, gamma)?, vec![0], states, vec!["left".into(), "right".into()], None)?;
    Ok(LoadedEnv::Finite(world))
}

fn main() -> ExitCode {
    register_env_kind("chain", chain_kind);
    if std::env::args().len() > 1 {
        // The whole rlkit CLI, with the "chain" kind available.
        return rlkit::cli::main();
    }
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Run `examples/chain.toml` (value iteration, Q-learning, linear Sarsa on the chain) through the runner.
fn demo() -> rlkit::Result<()> {
    let out = std::env::temp_dir().join("rlkit-example-chain");
    let opts = LoadOptions { out: Some(out.clone()), ..Default::default() };
    let exp = load("examples/chain.toml".as_ref(), &opts)?;
    let report = run(&exp, &RunOptions::default())?;
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).map_err(|e| rlkit::Error::input(e.to_string()))?,
    )
    .map_err(|e| rlkit::Error::input(e.to_string()))?;
    println!("wrote {} files to {}", report.files.len(), out.display());
    for a in summary["agents"].as_array().into_iter().flatten() {
        println!(
            "{:<16} start value / late return: {}   PA: {}",
            a["agent"].as_str().unwrap_or("?"),
            a.get("start_state_value").or(a.get("mean_late_return")).unwrap_or(&serde_json::Value::Null),
            a.get("mean_pa").unwrap_or(&serde_json::Value::Null)
        );
    }
    Ok(())
}
