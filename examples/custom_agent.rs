//! A new agent in under 100 lines: Double Q-learning (van Hasselt 2010; Sutton & Barto
//! §6.7), registered under the kind name "double-q-learning" and run on cliff walking.
//!
//! `cargo run --release --example custom_agent`
use rlkit::agents::agent::{argmax_first, epsilon_greedy, parse_params, Agent, AgentRng, Experience, StepSize};
use rlkit::agents::train::{register, run_seed, TrainConfig};
use rlkit::data::table::Cell;
use rlkit::env::World;
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
    let world = World::load("envs/cliff_walking.toml".as_ref())?;
    let params: toml::Table = toml::from_str("alpha = 0.5\nepsilon = 0.1").expect("valid TOML");
    let cfg = TrainConfig { episodes: 500, ..Default::default() };
    for kind in ["double-q-learning", "q-learning", "sarsa"] {
        let mut late = 0.0;
        let seeds = 10;
        for seed in 0..seeds {
            let r = run_seed(&world, kind, &params, rlkit::util::derive_seed(0, &[seed]), &cfg)?;
            let returns: Vec<f64> = r.episodes.rows[400..]
                .iter()
                .map(|row| if let Cell::Float(x) = row[1] { x } else { f64::NAN })
                .collect();
            late += returns.iter().sum::<f64>() / returns.len() as f64 / seeds as f64;
        }
        println!("{kind:>18}: mean return over episodes 401-500, {seeds} seeds: {late:.1}");
    }
    Ok(())
}
