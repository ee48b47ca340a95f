use rlkit::agents::train::{run_seed, TrainConfig};
use rlkit::config::Doc;
use rlkit::env::World;
fn main() {
    let mut d = Doc::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    for (k, v) in [("target", "\"terminal\""), ("rewards.target", "0"), ("rewards.forbidden", "-10"), ("rewards.boundary", "-10"), ("rewards.step", "-1")] { d.set(k, v).unwrap(); }
    let w = World::from_doc(&d, &[]).unwrap();
    let p: toml::Table = toml::from_str("alpha = 0.1\nepsilon = 0.1").unwrap();
    for seed in [1u64, 4] {
    let r = run_seed(&w, "sarsa", &p, seed, &TrainConfig { episodes: 500, ..Default::default() }).unwrap();
    let m = w.model(); let mut s = w.starts()[0]; let mut len = 0;
    let q = r.q.unwrap();
    while len < 12 { let a = r.greedy_actions[s]; let t = m.sample(s, a, 0.0); println!("{:?} a={a} q={:.2?} -> {:?}", w.coords(s), &q[s*5..s*5+5], w.coords(t.next)); len += 1; if t.done { break; } s = t.next; }
    }
    let v = rlkit::agents::dp::value_iteration::optimal_values(w.model()).unwrap();
    println!("{:.2?}", v);
}
