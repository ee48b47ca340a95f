//! The book experiment files of the TD/MC chapters name valid agent kinds and parameters.

use rlkit::agents::agent::parse_params;
use rlkit::agents::mc::{McBasicConfig, McEsConfig};
use rlkit::agents::train::build;

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
        let text = std::fs::read_to_string(format!("experiments/{f}.toml")).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let agents = doc["agents"].as_array().unwrap();
        assert!(!agents.is_empty(), "{f}");
        for a in agents {
            let t = a.as_table().unwrap().clone();
            let kind = t["kind"].as_str().unwrap().to_string();
            let mut p = t.clone();
            for k in ["kind", "name", "preset"] {
                p.remove(k);
            }
            match kind.as_str() {
                "mc-basic" => drop(parse_params::<McBasicConfig>(&kind, &p).unwrap()),
                "mc-exploring-starts" => drop(parse_params::<McEsConfig>(&kind, &p).unwrap()),
                _ => drop(build(&kind, &t, 25, 5, 0.9).unwrap_or_else(|e| panic!("{f}: {e}"))),
            }
        }
    }
}
