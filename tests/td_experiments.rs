//! The book experiment files of the TD/MC chapters load and validate through the runner's
//! loader: valid agent kinds, parameters (including the runner's keys) and environments.

use rlkit::experiment::{load, LoadOptions};

#[test]
fn experiment_agent_tables_are_valid() {
    let files = [
        "zhao_fig5_4",
        "zhao_fig5_5_5_7",
        "sutton_barto_fig6_4",
        "sutton_barto_fig6_3",
        "sutton_barto_example6_2",
        "zhao_fig7_2",
        "zhao_fig7_4",
    ];
    for f in files {
        let path = format!("experiments/{f}.toml");
        let exp = load(path.as_ref(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(exp.variants.iter().all(|v| !v.agents.is_empty()), "{f}");
    }
}
