use super::*;
use crate::config::Doc;

fn world(text: &str) -> Result<World> {
    World::from_doc(&Doc::from_str("t.toml", text)?, &[])
}

fn load(name: &str) -> World {
    World::load(Path::new(&format!("envs/{name}.toml"))).unwrap()
}

/// The single outcome of a deterministic (s, a).
fn det(w: &World, rc: (usize, usize), a: usize) -> (usize, usize, f64, bool) {
    let g = w.grid().unwrap();
    let t: Vec<_> = w.model().transitions(g.state(rc.0, rc.1), a).collect();
    assert_eq!(t.len(), 1, "{t:?}");
    let (r, c) = g.coords(t[0].next);
    (r, c, t[0].reward, t[0].done)
}

// Zhao actions: 0 up, 1 right, 2 down, 3 left, 4 stay.
#[test]
fn zhao_rewards_follow_the_landing_cell() {
    let w = load("zhao_5x5");
    assert_eq!(w.model().n_states(), 25);
    assert_eq!(w.model().n_actions(), 5);
    assert_eq!(det(&w, (0, 0), 0), (0, 0, -1.0, false)); // off the top: stay, r_boundary
    assert_eq!(det(&w, (0, 0), 3), (0, 0, -1.0, false)); // off the left
    assert_eq!(det(&w, (0, 0), 1), (0, 1, 0.0, false)); // ordinary cell
    assert_eq!(det(&w, (0, 1), 2), (1, 1, -1.0, false)); // into forbidden (2,2) 1-idx
    assert_eq!(det(&w, (1, 1), 4), (1, 1, -1.0, false)); // staying in forbidden
    assert_eq!(det(&w, (3, 2), 4), (3, 2, 1.0, false)); // staying on the target pays r_target
    assert_eq!(det(&w, (3, 2), 2), (4, 2, 0.0, false)); // the target can be left
    assert_eq!(det(&w, (4, 2), 0), (3, 2, 1.0, false)); // entering the target
    assert_eq!(det(&w, (4, 1), 2), (4, 1, -1.0, false)); // bump from forbidden: plain rule
    assert_eq!(det(&w, (4, 4), 1), (4, 4, -1.0, false));
}

#[test]
fn zhao_additive_boundary_flag() {
    let text = std::fs::read_to_string("envs/zhao_5x5.toml").unwrap();
    let mut doc = Doc::from_str("envs/zhao_5x5.toml", &text).unwrap();
    doc.set("rewards.additive_forbidden_boundary", "true").unwrap();
    doc.set("rewards.forbidden", "-10").unwrap();
    let w = World::from_doc(&doc, &[]).unwrap();
    assert_eq!(det(&w, (4, 1), 2), (4, 1, -11.0, false)); // r_boundary + r_forbidden
    assert_eq!(det(&w, (4, 1), 4), (4, 1, -10.0, false)); // staying is not a bump
    assert_eq!(det(&w, (0, 0), 0), (0, 0, -1.0, false)); // bump from a free cell: plain
}

#[test]
fn target_modes() {
    let base = "gamma = 0.9\nmap = \"T.\"\n";
    let w = world(&format!("{base}target = \"terminal\"\n")).unwrap();
    assert!(w.model().is_fixed(0));
    assert_eq!(det(&w, (0, 1), 3), (0, 0, 1.0, true));
    let w = world(&format!("{base}target = \"absorbing\"\n")).unwrap();
    assert_eq!(det(&w, (0, 0), 1), (0, 0, 1.0, false));
    let w = world(base).unwrap();
    assert_eq!(det(&w, (0, 0), 1), (0, 1, 0.0, false));
}

#[test]
fn sutton_barto_teleports() {
    let w = load("sutton_barto_5x5");
    for a in 0..4 {
        assert_eq!(det(&w, (0, 1), a), (4, 1, 10.0, false));
        assert_eq!(det(&w, (0, 3), a), (2, 3, 5.0, false));
    }
    assert_eq!(det(&w, (0, 0), 0), (0, 0, -1.0, false));
    assert_eq!(det(&w, (2, 2), 1), (2, 3, 0.0, false));
}

#[test]
fn sutton_barto_4x4_terminal_corners() {
    let w = load("sutton_barto_4x4");
    let g = w.grid().unwrap();
    assert!(w.model().is_fixed(0) && w.model().is_fixed(15));
    assert_eq!(det(&w, (0, 1), 3), (0, 0, -1.0, true));
    assert_eq!(det(&w, (0, 1), 0), (0, 1, -1.0, false));
    assert_eq!(g.starts.len(), 14);
    w.check_gamma("x").unwrap();
}

#[test]
fn windy_gridworld_wind_from_the_column_left() {
    let w = load("windy_gridworld");
    // four: 0 up, 1 right, 2 down, 3 left. Column 6 has wind 2: moving right from (3,6)
    // lands in column 7, pushed up 2 rows by column 6's wind.
    assert_eq!(det(&w, (3, 6), 1), (1, 7, -1.0, false));
    // Column 7 has wind 2: moving left from (3,7)? (3,7) is the goal (terminal); use (4,7).
    assert_eq!(det(&w, (4, 7), 3), (2, 6, -1.0, false));
    // Clipped at the top.
    assert_eq!(det(&w, (0, 6), 1), (0, 7, -1.0, false));
    // Column 8 wind 1: moving down from (2,8) stays in row 2.
    assert_eq!(det(&w, (2, 8), 2), (2, 8, -1.0, false));
    // Reaching the goal ends the episode: from (4,7) up, wind 2 in column 7: to (1,7)?
    // Up to (3,7) then wind pushes to (1,7): the goal is passed over, as in the book's model.
    assert_eq!(det(&w, (4, 7), 0), (1, 7, -1.0, false));
    assert_eq!(det(&w, (3, 8), 3), (2, 7, -1.0, false));
    assert_eq!(det(&w, (3, 6), 1).2, -1.0);
    assert_eq!(det(&w, (4, 6), 1), (2, 7, -1.0, false));
    assert_eq!(det(&w, (5, 6), 1), (3, 7, -1.0, true)); // lands on the goal
}

#[test]
fn cliff_sends_back_to_start() {
    let w = load("cliff_walking");
    assert_eq!(det(&w, (3, 0), 1), (3, 0, -100.0, false));
    assert_eq!(det(&w, (2, 5), 2), (3, 0, -100.0, false));
    assert_eq!(det(&w, (2, 11), 2), (3, 11, -1.0, true));
    assert_eq!(det(&w, (3, 0), 2), (3, 0, -1.0, false));
}

#[test]
fn frozen_lake_slips_perpendicular() {
    let w = load("frozen_lake_4x4");
    let g = w.grid().unwrap();
    assert_eq!(w.action_names(), vec!["left", "down", "right", "up"]);
    // From (0,1) pushing down (action 1): down to (1,1) = hole (terminal, 0), left to (0,0), right to (0,2).
    let mut t: Vec<_> = w.model().transitions(g.state(0, 1), 1).collect();
    t.sort_by_key(|x| x.next);
    let third = 1.0 / 3.0;
    assert_eq!(t.len(), 3);
    assert_eq!((t[0].next, t[0].done), (0, false));
    assert_eq!((t[1].next, t[1].done), (2, false));
    assert_eq!((t[2].next, t[2].done, t[2].reward), (5, true, 0.0));
    for x in &t {
        assert!((x.prob - third).abs() < 1e-15);
    }
    // From (0,0) left: left bumps (stay), up bumps (stay), down to (1,0): stay merged with 2/3.
    let t: Vec<_> = w.model().transitions(0, 0).collect();
    assert_eq!(t.len(), 2);
    let stay = t.iter().find(|x| x.next == 0).unwrap();
    assert!((stay.prob - 2.0 * third).abs() < 1e-15);
    // Goal pays 1.
    let t: Vec<_> = w.model().transitions(g.state(3, 2), 2).collect();
    assert!(t.iter().any(|x| x.next == 15 && x.reward == 1.0 && x.done));
}

#[test]
fn stochastic_wind_and_success_prob() {
    let text = "gamma = 0.9\nactions = \"four\"\nmap = \"\"\"\n...\n...\n...\n...\n\"\"\"\n[dynamics]\nwind = [0, 1, 0]\nstochastic_wind = true\n";
    let w = world(text).unwrap();
    let g = w.grid().unwrap();
    // From (3,1) moving right (1): lands col 2, wind of col 1 is 0, 1 or 2 rows.
    let mut t: Vec<_> = w.model().transitions(g.state(3, 1), 1).map(|t| (g.coords(t.next), t.prob)).collect();
    t.sort_by_key(|a| a.0);
    assert_eq!(t.iter().map(|x| x.0).collect::<Vec<_>>(), vec![(1, 2), (2, 2), (3, 2)]);
    let w = world(&text.replace("stochastic_wind = true", "slippery = true\nsuccess_prob = 0.8")).unwrap();
    let g = w.grid().unwrap();
    let t: Vec<_> = w.model().transitions(g.state(1, 0), 1).map(|t| (g.coords(t.next), t.prob)).collect();
    // right to (1,1) pushed up by column 0's wind (0): p 0.8; up to (0,0) 0.1; down to (2,0) 0.1.
    assert!(t.contains(&((1, 1), 0.8)), "{t:?}");
    assert!(t.iter().any(|x| x.0 == (0, 0) && (x.1 - 0.1).abs() < 1e-12), "{t:?}");
}

#[test]
fn walls_block_like_the_boundary() {
    let w = world("gamma = 0.9\nactions = \"four\"\nmap = \".#.\"\n[rewards]\nboundary = -3.0\n").unwrap();
    assert_eq!(det(&w, (0, 0), 1), (0, 0, -3.0, false));
    assert!(w.model().is_fixed(1));
}

#[test]
fn king_moves_and_cell_overrides() {
    let w = world(
        "gamma = 0.9\nactions = \"king_stay\"\nmap = \"\"\"\n...\n...\n\"\"\"\n[rewards]\ncells = [{ at = [0, 2], reward = 7.0 }]\n",
    )
    .unwrap();
    assert_eq!(w.model().n_actions(), 9);
    // up_right from (1,1) to (0,2), which pays the override.
    assert_eq!(det(&w, (1, 1), 1), (0, 2, 7.0, false));
    assert_eq!(w.grid().unwrap().action_symbol(1), '9');
}

#[test]
fn random_walk_mdp() {
    let w = load("random_walk");
    assert_eq!(w.model().n_states(), 7);
    assert_eq!(w.starts(), &[3]);
    let t: Vec<_> = w.model().transitions(5, 0).collect();
    assert!(t.contains(&Transition { prob: 0.5, next: 6, reward: 1.0, done: true }));
    w.check_gamma("x").unwrap();
}

#[test]
fn sampled_steps_follow_the_model() {
    // Property test: empirical outcome frequencies of every (s, a) match the model
    // within 5 standard errors, on slippery FrozenLake 8x8 and stochastic wind.
    for w in [load("frozen_lake_8x8"), world("gamma = 0.9\nactions = \"king_stay\"\nmap = \"\"\"\n....\n....\n....\n\"\"\"\n[dynamics]\nwind = [0, 1, 2, 1]\nstochastic_wind = true\nslippery = true\nsuccess_prob = 0.6\n").unwrap()] {
        let m = w.model();
        let mut env = w.make_env();
        env.reset(Some(3));
        let n = 4000usize;
        for s in 0..m.n_states() {
            if m.is_fixed(s) {
                continue;
            }
            for a in 0..m.n_actions() {
                let expected: Vec<_> = m.transitions(s, a).collect();
                let mut counts = vec![0usize; expected.len()];
                for _ in 0..n {
                    env.set_state(s);
                    let st = env.step(a);
                    let k = expected
                        .iter()
                        .position(|t| t.next == st.state && t.reward == st.reward && t.done == st.terminated)
                        .unwrap_or_else(|| panic!("step {st:?} from {s},{a} is not in the model"));
                    counts[k] += 1;
                }
                for (t, c) in expected.iter().zip(&counts) {
                    let p = *c as f64 / n as f64;
                    let se = (t.prob * (1.0 - t.prob) / n as f64).sqrt().max(1e-9);
                    assert!((p - t.prob).abs() <= 5.0 * se, "s {s} a {a}: {p} vs {}", t.prob);
                }
            }
        }
    }
}

#[test]
fn truncation_is_not_termination() {
    let w = load("frozen_lake_4x4");
    let mut env = w.make_env();
    env.reset(Some(1));
    // Action "left" from the start mostly bumps; run until the limit or a terminal.
    let mut last = None;
    for _ in 0..100 {
        let st = env.step(0);
        last = Some(st);
        if st.terminated || st.truncated {
            break;
        }
    }
    let st = last.unwrap();
    assert!(st.terminated ^ st.truncated || !st.truncated);
}

#[test]
fn one_hot_channels() {
    let w = load("zhao_5x5");
    let g = w.grid().unwrap();
    let img = g.one_hot(g.state(0, 0));
    assert_eq!(img.shape(), &[4, 5, 5]);
    assert_eq!(img[[0, 0, 0]], 1.0);
    assert_eq!(img.index_axis(ndarray::Axis(0), 0).sum(), 1.0);
    assert_eq!(img[[1, 3, 2]], 1.0);
    assert_eq!(img.index_axis(ndarray::Axis(0), 2).sum(), 6.0);
}

#[test]
fn bad_maps_are_located() {
    let e = world("gamma = 0.9\nmap = \"\"\"\n...\n..\n\"\"\"\n").unwrap_err().to_string();
    assert_eq!(e, "t.toml:4:1: map: row 1 has 2 cells but row 0 has 3; all rows must have the same width");
    let e = world("gamma = 0.9\nmap = \"\"\"\n.Q.\n\"\"\"\n").unwrap_err().to_string();
    assert!(e.starts_with("t.toml:3:1: map: row 0: unknown symbol `Q`; valid symbols:"), "{e}");
    let e = world("gamma = 0.9\nmap = \".Q.\"\n").unwrap_err().to_string();
    assert!(e.starts_with("t.toml:2:1: map: row 0: unknown symbol `Q`"), "{e}");
    let e = world("gamma = 0.9\nmap = \".C.\"\n").unwrap_err().to_string();
    assert!(e.contains("no start"), "{e}");
    let e = world("gamma = 1.5\nmap = \"...\"\n").unwrap_err().to_string();
    assert_eq!(e, "t.toml:1:1: gamma: gamma = 1.5 is outside [0, 1]");
    let e = world("gamma = 0.9\nmap = \"...\"\nactions = \"six\"\n").unwrap_err().to_string();
    assert!(e.starts_with("t.toml:3:1: actions: unknown action set `six`"), "{e}");
    let e = world("gamma = 0.9\nmap = \"...\"\nreward = 1\n").unwrap_err().to_string();
    assert!(e.starts_with("t.toml:3:1: reward: unknown field `reward`"), "{e}");
    assert!(e.ends_with("did you mean `rewards`?"), "{e}");
    let e = world("kind = \"mdp\"\ngamma = 0.9\nstates = [\"a\"]\nactions = [\"x\"]\n").unwrap_err().to_string();
    assert!(e.contains("state `a` action `x`: probabilities sum to 0"), "{e}");
}

#[test]
fn gamma_one_needs_termination() {
    let text = std::fs::read_to_string("envs/zhao_5x5.toml").unwrap();
    let mut doc = Doc::from_str("envs/zhao_5x5.toml", &text).unwrap();
    doc.set("gamma", "1.0").unwrap();
    let w = World::from_doc(&doc, &[]).unwrap();
    let e = w.check_gamma("envs/zhao_5x5.toml").unwrap_err().to_string();
    assert!(e.starts_with("envs/zhao_5x5.toml: gamma = 1 requires an episodic task"), "{e}");
}

#[test]
fn observation_encoders_agree_with_the_world() {
    use super::obs::{ObsEncoder, ObsMode};
    let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
    let g = w.grid().unwrap().clone();
    let env = super::LoadedEnv::Finite(w.clone());
    let mut raw = vec![0.0; 3];
    let mut img = ObsEncoder::new(&env, ObsMode::OneHot, &[]).unwrap();
    let mut co = ObsEncoder::new(&env, ObsMode::CoordsNormalized, &[]).unwrap();
    let mut idx = ObsEncoder::new(&env, ObsMode::Index, &[]).unwrap();
    let cols = vec![super::features::ColumnSpec::OneHotState {}];
    let mut feat = ObsEncoder::new(&env, ObsMode::Features, &cols).unwrap();
    assert_eq!(img.shape(), &[4, 4, 12]);
    assert_eq!(feat.shape(), &[48]);
    let (mut a, mut b, mut c, mut d) = (vec![0.0; 192], vec![0.0; 2], vec![0.0; 1], vec![0.0; 48]);
    for s in 0..w.model().n_states() {
        w.observe_state(s, &mut raw);
        img.encode(&raw, &mut a);
        let want: Vec<f64> = g.one_hot(s).iter().map(|&x| x as f64).collect();
        assert_eq!(a, want, "state {s}");
        co.encode(&raw, &mut b);
        let (r, cc) = g.coords(s);
        assert_eq!(b, vec![r as f64 / 3.0, cc as f64 / 11.0]);
        idx.encode(&raw, &mut c);
        assert_eq!(c[0], s as f64);
        feat.encode(&raw, &mut d);
        assert_eq!(d.iter().sum::<f64>(), 1.0);
        assert_eq!(d[s], 1.0);
    }
    // A continuous task has no image, no coordinates and no index.
    let mc = super::load_env("envs/mountain_car.toml".as_ref()).unwrap();
    for m in [ObsMode::OneHot, ObsMode::Coords, ObsMode::Index] {
        assert!(ObsEncoder::new(&mc, m, &[]).is_err(), "{m:?}");
    }
    assert_eq!(ObsEncoder::new(&mc, ObsMode::Raw, &[]).unwrap().shape(), &[2]);
}

/// A deterministic model with one start state skips the step draws; the
/// trajectory is the one drawing would give, and stochastic or multi-start
/// envs still draw every step.
#[test]
fn deterministic_single_start_envs_skip_step_draws_with_the_same_outcomes() {
    use rand::{RngExt, SeedableRng};
    let cliff = load("cliff_walking");
    let mut fast = cliff.make_env();
    assert!(!fast.step_draws, "cliff walking: deterministic, one start");
    let mut drawing = cliff.make_env();
    drawing.step_draws = true;
    let mut actions = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (mut s1, mut s2) = (fast.reset(Some(3)), drawing.reset(Some(3)));
    let mut steps = 0;
    for _ in 0..5000 {
        let a = actions.random_range(0..cliff.model().n_actions());
        let (x, y) = (fast.step(a), drawing.step(a));
        assert_eq!((x.state, x.reward, x.terminated), (y.state, y.reward, y.terminated));
        steps += 1;
        if x.terminated || x.truncated {
            (s1, s2) = (fast.reset(None), drawing.reset(None));
        }
        assert_eq!(s1, s2);
    }
    assert_eq!(steps, 5000);
    assert!(load("frozen_lake_4x4").make_env().step_draws, "slippery: draws");
}
