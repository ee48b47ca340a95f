//! Policy-map metrics on real models: several optimal actions, masking, value error.

use rlkit::agents::dp::{greedy, optimal_action_sets, value_iteration::optimal_values};
use rlkit::agents::dp::{policy_metrics, value_error};
use rlkit::env::World;

#[test]
fn any_optimal_action_counts_as_correct_and_errors_are_counted() {
    let w = World::load("envs/zhao_5x5.toml".as_ref()).unwrap();
    let m = w.model();
    let v = optimal_values(m).unwrap();
    let sets = optimal_action_sets(m, &v, 1e-6);
    let multi: Vec<usize> = (0..25).filter(|&s| sets[s].len() > 1).collect();
    assert!(!multi.is_empty(), "Zhao's grid has states with several optimal actions");
    // The last optimal action instead of the first (dp's tie-break): still perfect.
    let alt: Vec<usize> = sets.iter().map(|s| *s.last().unwrap()).collect();
    assert_ne!(alt, greedy(m, &v));
    let pm = policy_metrics(m, &alt, &v, 1e-6).unwrap();
    assert_eq!(pm.scores.pa, 1.0);
    assert_eq!(pm.scores.mpa, 1.0);
    assert_eq!(pm.scores.miou, 1.0);
    assert!(pm.value_error < 1e-9);
    // Make three states wrong: each gets a non-optimal action.
    let mut bad = alt.clone();
    let wrong: Vec<usize> = (0..25).filter(|&s| sets[s].len() < 5).take(3).collect();
    for &s in &wrong {
        bad[s] = (0..5).find(|a| !sets[s].contains(a)).unwrap();
    }
    let pm = policy_metrics(m, &bad, &v, 1e-6).unwrap();
    assert_eq!(pm.confusion.total(), 25);
    assert!((pm.scores.pa - 22.0 / 25.0).abs() < 1e-15);
    // Each wrong state is counted as (first optimal action, predicted action).
    for &s in &wrong {
        assert!(pm.confusion.get(sets[s][0], bad[s]) >= 1);
    }
    assert!(pm.value_error > 0.0);
    assert!((pm.value_error - value_error(m, &bad, &v).unwrap()).abs() == 0.0);
}

#[test]
fn fixed_cells_are_masked_and_improper_policies_have_infinite_error() {
    // Cliff walking: 10 cliff cells and the goal are fixed; 48 - 11 = 37 states count.
    let w = World::load("envs/cliff_walking.toml".as_ref()).unwrap();
    let m = w.model();
    let v = optimal_values(m).unwrap();
    let pi = greedy(m, &v);
    let pm = policy_metrics(m, &pi, &v, 1e-6).unwrap();
    assert_eq!(pm.confusion.total(), 37);
    assert_eq!(pm.scores.pa, 1.0);
    assert!(pm.value_error < 1e-9);
    // Always "up": never reaches the goal with gamma = 1.
    assert_eq!(value_error(m, &[0; 48], &v).unwrap(), f64::INFINITY);
}
