//! Mountain Car against Gymnasium's own implementation, step for step.
//!
//! The fixture `tests/fixtures/mountain_car/gymnasium_trajectories.csv` was made by
//! `tests/fixtures/mountain_car/make_fixture.py` (Gymnasium 1.4.0's `MountainCar-v0`,
//! see the script's header): 6 episodes, 2,100+ steps, including the goal and the left wall.

use rlkit::env::mountain_car::MountainCar;
use rlkit::env::{load_env, LoadedEnv, ObsEnv};

struct Row {
    episode: u32,
    t: u32,
    action: i64,
    pos: f64,
    vel: f64,
    obs: [f64; 2],
    terminated: bool,
}

fn rows() -> Vec<Row> {
    let mut r = csv::Reader::from_path("tests/fixtures/mountain_car/gymnasium_trajectories.csv").unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let f = |i: usize| rec[i].parse::<f64>().unwrap();
            Row {
                episode: rec[0].parse().unwrap(),
                t: rec[1].parse().unwrap(),
                action: rec[2].parse().unwrap(),
                pos: f(3),
                vel: f(4),
                obs: [f(5), f(6)],
                terminated: &rec[8] == "True",
            }
        })
        .collect()
}

#[test]
fn dynamics_equal_gymnasium_step_for_step() {
    let rows = rows();
    let mut env = MountainCar::new(1.0, None);
    let mut x = [0.0; 2];
    let (mut steps, mut wall, mut goals) = (0, 0, 0);
    for r in &rows {
        if r.t == 0 {
            env.reset_to(r.pos, r.vel, &mut x);
            assert_eq!(x, r.obs, "episode {} reset observation", r.episode);
            continue;
        }
        let st = env.step(r.action as usize, &mut x);
        let (p, v) = env.state();
        assert_eq!((p.to_bits(), v.to_bits()), (r.pos.to_bits(), r.vel.to_bits()), "episode {} t {}", r.episode, r.t);
        assert_eq!(x, r.obs, "episode {} t {}: f32 observation", r.episode, r.t);
        assert_eq!(st.terminated, r.terminated, "episode {} t {}", r.episode, r.t);
        assert_eq!(st.reward, -1.0);
        steps += 1;
        wall += usize::from(p == -1.2);
        goals += usize::from(st.terminated);
    }
    assert!(steps > 2000, "{steps}");
    assert!(wall >= 1, "the fixture must exercise the left wall");
    assert_eq!(goals, 1, "fixture episode 4 reaches the goal");
}

#[test]
fn time_limit_and_start_distribution() {
    let LoadedEnv::Continuous(task) = load_env("envs/mountain_car.toml".as_ref()).unwrap() else {
        panic!("mountain car is continuous")
    };
    assert_eq!(task.max_steps, Some(200));
    let mut env = task.make_env();
    let mut x = [0.0; 2];
    let mut starts = Vec::new();
    for ep in 0..2000 {
        env.reset(if ep == 0 { Some(1) } else { None }, &mut x);
        assert_eq!(x[1], 0.0);
        assert!((-0.6..-0.4).contains(&x[0]), "{}", x[0]);
        starts.push(x[0]);
    }
    let mean = starts.iter().sum::<f64>() / starts.len() as f64;
    assert!((mean + 0.5).abs() < 0.005, "uniform on [-0.6, -0.4): mean {mean}");
    // Doing nothing never reaches the goal: truncated at exactly 200 steps.
    env.reset(None, &mut x);
    let mut n = 0;
    loop {
        n += 1;
        let st = env.step(1, &mut x);
        assert!(!st.terminated);
        if st.truncated {
            break;
        }
    }
    assert_eq!(n, 200);
}
