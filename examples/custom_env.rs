//! A new environment: a chain MDP written directly as a `TabularModel`, solved by value
//! iteration and learned by Q-learning through the generic training loop.
//!
//! States 0..N−1 in a row; "left" moves one step left (0 stays put), "right" one step right.
//! Reaching state N−1 ends the episode with reward +10; every other step pays −1.
//!
//! `cargo run --release --example custom_env`
use std::sync::Arc;

use rlkit::agents::agent::Agent;
use rlkit::agents::dp::{value_iteration, ViConfig};
use rlkit::agents::td::{QLearning, QLearningConfig};
use rlkit::agents::train::{train, TrainConfig};
use rlkit::env::{TabularEnv, TabularModel, Transition};

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

fn main() -> rlkit::Result<()> {
    let n = 8;
    let model = Arc::new(chain(n, 0.95)?);
    let dp = value_iteration(&model, &ViConfig { tol: 1e-10, ..Default::default() }, None)?;

    // Any `Env` works with `train`; `TabularEnv` samples from a model, starting in state 0.
    let mut env = TabularEnv::new(model.clone(), Arc::new(vec![0]), Some(200));
    let mut agent = QLearning::new(QLearningConfig::default(), n, 2, model.gamma);
    let cfg = TrainConfig { episodes: 300, ..Default::default() };
    let records = train(&mut env, &mut agent, &cfg, 7, |_, _, _: &QLearning| {});

    println!("state  v*(VI)   max_a q (Q-learning)  pi*  pi(Q)");
    let v = agent.values();
    let pi = agent.greedy_policy();
    for s in 0..n - 1 {
        println!("{s:>5}  {:>7.3}  {:>20.3}  {:>3}  {:>5}", dp.values[s], v[s], dp.actions[s], pi[s]);
    }
    let last = records.last().expect("300 episodes");
    println!("last episode: return {}, length {}; {} steps in all", last.ret, last.length, last.steps);
    Ok(())
}
