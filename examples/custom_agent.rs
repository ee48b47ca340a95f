//! A new agent in under 100 lines: Double Q-learning (van Hasselt 2010; Sutton & Barto
//! §6.7), registered under the kind name "double-q-learning" and run on cliff walking by an
//! experiment file (`examples/double_q.toml`) through the same runner as `rlkit run`.
//!
//! `cargo run --release --example custom_agent`
use rlkit::agents::agent::{argmax_first, epsilon_greedy, parse_params, Agent, AgentRng, Experience, StepSize};
use rlkit::agents::train::register;
use rlkit::experiment::{load, run, LoadOptions, RunOptions};
use serde::Deserialize;

/// Hyperparameters (TOML: `alpha`, a constant step size here; `epsilon`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    alpha: StepSize,
    epsilon: f64,
}

/// Two tables; each update uses one to pick the argmax and the other to value it.
struct DoubleQ {
    cfg: Config,
    na: usize,
    gamma: f64,
    q: [Vec<f64>; 2],
    sum: Vec<f64>, // q[0] + q[1], what the agent acts on
    flip: bool,
}

impl Agent for DoubleQ {
    fn act(&mut self, s: usize, rng: &mut AgentRng) -> usize {
        use rand::RngExt;
        self.flip = rng.random::<bool>(); // which table the next update changes
        epsilon_greedy(&self.sum[s * self.na..(s + 1) * self.na], self.cfg.epsilon, rng)
    }

    fn observe(&mut self, t: &Experience) {
        let (a, b) = if self.flip { (0, 1) } else { (1, 0) };
        let boot = if t.terminated {
            0.0
        } else {
            let row = &self.q[a][t.next_state * self.na..(t.next_state + 1) * self.na];
            self.q[b][t.next_state * self.na + argmax_first(row)]
        };
        let i = t.state * self.na + t.action;
        let alpha = self.cfg.alpha.alpha(1);
        self.q[a][i] += alpha * (t.reward + self.gamma * boot - self.q[a][i]);
        self.sum[i] = self.q[0][i] + self.q[1][i];
    }

    fn greedy_policy(&self) -> Vec<usize> {
        self.sum.chunks(self.na).map(argmax_first).collect()
    }

    fn values(&self) -> Vec<f64> {
        self.sum.chunks(self.na).map(|r| r.iter().copied().fold(f64::MIN, f64::max) / 2.0).collect()
    }
}

fn main() -> rlkit::Result<()> {
    register("double-q-learning", |params, ns, na, gamma| {
        let cfg: Config = parse_params("double-q-learning", params)?;
        let z = vec![0.0; ns * na];
        Ok(Box::new(DoubleQ { cfg, na, gamma, q: [z.clone(), z.clone()], sum: z, flip: false }))
    });
    // The experiment names the new kind like any built-in one; the runner writes
    // runs/custom_agent/ with episodes.csv, summary.json and plots/learning_curves.png.
    let exp = load("examples/double_q.toml".as_ref(), &LoadOptions::default())?;
    let report = run(&exp, &RunOptions::default())?;
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.out_dir.join("summary.json")).unwrap_or_default())
            .unwrap_or_default();
    for a in summary["agents"].as_array().into_iter().flatten() {
        println!(
            "{:>18}: mean return over the last 50 episodes, 10 seeds: {:.1}",
            a["agent"].as_str().unwrap_or("?"),
            a["mean_late_return"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!("learning curves: {}", report.out_dir.join("plots/learning_curves.png").display());
    Ok(())
}
