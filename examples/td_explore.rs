use rlkit::agents::train::{run_seed, TrainConfig};
use rlkit::config::Doc;
use rlkit::data::table::Cell;
use rlkit::env::World;
fn f(c: &Cell) -> f64 { match c { Cell::Float(x) => *x, Cell::Int(i) => *i as f64, _ => f64::NAN } }
fn main() {
    let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
    for kind in ["sarsa", "q-learning", "expected-sarsa"] {
        let p: toml::Table = toml::from_str("alpha = 0.5\nepsilon = 0.1").unwrap();
        let cfg = TrainConfig { episodes: 500, ..Default::default() };
        let mut late = 0.0; let mut n = 0.0;
        let mut curve = vec![0.0; 500];
        for i in 0..50 {
            let r = run_seed(&w, kind, &p, rlkit::util::derive_seed(1234, &[i]), &cfg).unwrap();
            for (k, row) in r.episodes.rows.iter().enumerate() { curve[k] += f(&row[1]) / 50.0; if k >= 400 { late += f(&row[1]); n += 1.0; } }
        }
        let win = |a: usize, b: usize| curve[a..b].iter().sum::<f64>() / (b - a) as f64;
        println!("{kind}: late(401-500) {:.2}  100-200 {:.2} 200-300 {:.2} 300-400 {:.2} first10 {:.1}", late / n, win(100,200), win(200,300), win(300,400), win(0,10));
    }
    // windy
    let w = World::load("envs/windy_gridworld.toml".as_ref()).unwrap();
    let p: toml::Table = toml::from_str("alpha = 0.5\nepsilon = 0.1").unwrap();
    for i in 0..10 {
        let r = run_seed(&w, "sarsa", &p, rlkit::util::derive_seed(99, &[i]), &TrainConfig { episodes: 300, ..Default::default() }).unwrap();
        let done = r.episodes.rows.iter().filter(|row| f(&row[3]) <= 8000.0).count();
        // greedy path
        let m = w.model(); let mut s = w.starts()[0]; let mut len = 0;
        while len < 100 { let t = m.sample(s, r.greedy_actions[s], 0.0); len += 1; if t.done { break; } s = t.next; }
        println!("windy seed {i}: episodes by 8000 = {done}, greedy path {len}");
    }
    // random walk
    let w = World::load("envs/random_walk.toml".as_ref()).unwrap();
    let truth = [1.0/6.0, 2.0/6.0, 3.0/6.0, 4.0/6.0, 5.0/6.0];
    for (kind, alphas) in [("td0", vec![0.15, 0.1, 0.05]), ("mc-prediction", vec![0.01, 0.02, 0.03, 0.04])] {
        for a in alphas {
            let p: toml::Table = toml::from_str(&format!("alpha = {a}\nv0 = 0.5")).unwrap();
            let mut rms_at = [0.0; 4]; let checkpoints = [10usize, 25, 50, 100];
            for run in 0..100u64 {
                for (ci, &c) in checkpoints.iter().enumerate() {
                    let r = run_seed(&w, kind, &p, rlkit::util::derive_seed(7, &[run]), &TrainConfig { episodes: c, ..Default::default() }).unwrap();
                    let e: f64 = (0..5).map(|i| (r.values[i + 1] - truth[i]).powi(2)).sum::<f64>() / 5.0;
                    rms_at[ci] += e.sqrt() / 100.0;
                }
            }
            println!("{kind} alpha {a}: rms at {checkpoints:?} = {rms_at:.4?}");
        }
    }
    // zhao 7.2
    let mut d = Doc::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    for (k, v) in [("target", "\"terminal\""), ("rewards.target", "0"), ("rewards.forbidden", "-10"), ("rewards.boundary", "-10"), ("rewards.step", "-1")] { d.set(k, v).unwrap(); }
    let w = World::from_doc(&d, &[]).unwrap();
    let p: toml::Table = toml::from_str("alpha = 0.1\nepsilon = 0.1").unwrap();
    for i in 0..10 {
        let r = run_seed(&w, "sarsa", &p, i, &TrainConfig { episodes: 500, ..Default::default() }).unwrap();
        let m = w.model(); let mut s = w.starts()[0]; let mut len = 0; let mut ok = false;
        while len < 50 { let t = m.sample(s, r.greedy_actions[s], 0.0); len += 1; if t.done { ok = true; break; } s = t.next; }
        let last: Vec<f64> = r.episodes.rows[480..].iter().map(|row| f(&row[2])).collect();
        println!("zhao72 seed {i}: reaches {ok} in {len}; last-20 mean length {:.1}", last.iter().sum::<f64>() / 20.0);
    }
    // zhao 7.4
    let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    for q0 in [0, 10, 100] {
        let p: toml::Table = toml::from_str(&format!("alpha = 0.1\nq0 = {q0}\nbehaviour = \"uniform\"\nepisode_length = 100_000")).unwrap();
        let r = run_seed(&w, "q-learning", &p, 5, &TrainConfig { episodes: 1, eval_every: Some(1000), ..Default::default() }).unwrap();
        let it = r.iterations.unwrap();
        let rm: Vec<f64> = it.rows.iter().map(|row| f(&row[2])).collect();
        let pa: Vec<f64> = it.rows.iter().map(|row| f(&row[4])).collect();
        println!("zhao74 q0 {q0}: rmse {:.3} {:.3} {:.3} {:.3} {:.4}; pa first {:.2} last {:.2}", rm[0], rm[9], rm[29], rm[59], rm[99], pa[0], pa[99]);
    }
}
