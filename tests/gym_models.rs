//! rlkit's FrozenLake and CliffWalking models equal Gymnasium's model tables
//! `P[s][a] = [(prob, next, reward, terminated)]`, dumped to JSON by
//! `tests/fixtures/gen_gym_models.py` (gymnasium 1.4.0). Outcomes that Gymnasium lists
//! twice (FrozenLake's slips that land in the same cell) are merged before comparing.

use std::collections::BTreeMap;
use std::path::Path;

use rlkit::env::World;

type Outcomes = BTreeMap<(usize, i64, bool), f64>;

fn merge(list: impl Iterator<Item = (f64, usize, f64, bool)>) -> Outcomes {
    let mut m = Outcomes::new();
    for (p, s2, r, d) in list {
        // Rewards are small integers here; key them exactly.
        assert_eq!(r, r.round());
        *m.entry((s2, r as i64, d)).or_insert(0.0) += p;
    }
    m
}

fn compare(env: &str, fixture: &str, skip: impl Fn(usize) -> bool) -> usize {
    let w = World::load(Path::new(&format!("envs/{env}.toml"))).unwrap();
    let text = std::fs::read_to_string(format!("tests/fixtures/{fixture}")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = w.model();
    assert_eq!(j["n_states"].as_u64().unwrap() as usize, m.n_states());
    assert_eq!(j["n_actions"].as_u64().unwrap() as usize, m.n_actions());
    let mut compared = 0;
    for s in 0..m.n_states() {
        if skip(s) {
            continue;
        }
        for a in 0..m.n_actions() {
            let gym = merge(j["P"][s][a].as_array().unwrap().iter().map(|t| {
                let t = t.as_array().unwrap();
                (
                    t[0].as_f64().unwrap(),
                    t[1].as_u64().unwrap() as usize,
                    t[2].as_f64().unwrap(),
                    t[3].as_bool().unwrap(),
                )
            }));
            let ours = merge(m.transitions(s, a).map(|t| (t.prob, t.next, t.reward, t.done)));
            assert_eq!(gym.len(), ours.len(), "{env} s {s} a {a}: {gym:?} vs {ours:?}");
            for (k, p) in &gym {
                let q = ours.get(k).unwrap_or_else(|| panic!("{env} s {s} a {a}: missing {k:?}"));
                assert!((p - q).abs() < 1e-12, "{env} s {s} a {a} {k:?}: {p} vs {q}");
            }
            compared += 1;
        }
    }
    compared
}

#[test]
fn frozen_lake_4x4_equals_gymnasium() {
    // Every state, terminal ones included (Gymnasium: a self-loop, reward 0, terminated).
    assert_eq!(compare("frozen_lake_4x4", "gym_frozen_lake_4x4.json", |_| false), 64);
}

#[test]
fn frozen_lake_8x8_equals_gymnasium() {
    assert_eq!(compare("frozen_lake_8x8", "gym_frozen_lake_8x8.json", |_| false), 256);
}

#[test]
fn cliff_walking_equals_gymnasium() {
    // Gymnasium also fills P for the cliff cells (never occupied: entering one resets the
    // agent) and for the goal (the episode has ended there); rlkit makes those states fixed
    // self-loops with value 0. Every state an agent can actually occupy is compared.
    let skip = |s: usize| (37..=47).contains(&s);
    assert_eq!(compare("cliff_walking", "gym_cliff_walking.json", skip), 37 * 4);
}
