"""Experiments and DP from Python, with the book's numbers."""

import numpy as np
import pytest

import rlkit

# Zhao Fig. 3.4(a) and (d): optimal values of the 5x5 grid (r_forbidden = -1 and -10).
ZHAO_34A = [
    [5.832, 5.58, 6.2, 6.48, 5.832],
    [6.48, 7.2, 8.0, 7.2, 6.48],
    [7.2, 8.0, 10.0, 8.0, 7.2],
    [8.0, 10.0, 10.0, 10.0, 8.0],
    [7.2, 9.0, 10.0, 9.0, 8.1],
]
ZHAO_34D_ROW0 = [3.486784, 3.874205, 4.304672, 4.782969, 5.314410]


@pytest.mark.parametrize("algo", ["value-iteration", "policy-iteration", "truncated-policy-iteration"])
def test_solve_zhao(algo):
    sol = rlkit.solve("rlkit/zhao_5x5-v0", algo=algo)
    assert sol["converged"]
    np.testing.assert_allclose(sol["values_grid"], ZHAO_34A, atol=1e-6)
    assert sol["values"].shape == (25,) and sol["policy"].dtype == np.int64
    assert sol["policy"][17] == 4  # stay on the target (3, 2)


def test_solve_overrides_and_evaluation():
    sol = rlkit.solve("envs/zhao_5x5.toml", overrides={"rewards.forbidden": -10})
    np.testing.assert_allclose(sol["values"][:5], ZHAO_34D_ROW0, atol=1e-6)
    ev = rlkit.solve("envs/zhao_5x5.toml", algo="policy-evaluation", policy=sol["policy"],
                     overrides={"rewards.forbidden": -10})
    np.testing.assert_allclose(ev["values"], sol["values"], atol=1e-6)
    # Sutton & Barto Fig. 4.1: the uniform policy on the 4x4 grid, v(1) = -14, v(2) = -20, v(3) = -22.
    u = rlkit.solve("rlkit/sutton_barto_4x4-v0", algo="policy-evaluation")
    np.testing.assert_allclose(u["values"][:4], [0, -14, -20, -22], atol=1e-6)
    assert u["policy"] is None


def test_run_quickstart(tmp_path, repo_cwd):
    res = rlkit.run("experiments/quickstart.toml", out=tmp_path / "qs")
    assert res["out_dir"] == str(tmp_path / "qs")
    summary = res["summary"]
    assert isinstance(summary, dict)
    tables = res["tables"]
    assert {"iterations", "values", "policy"} <= set(tables)
    vals = tables["values"]
    assert isinstance(vals["value"], np.ndarray) and vals["value"].dtype == np.float64
    assert isinstance(vals["agent"], list)
    vi = np.array([v for v, a in zip(vals["value"], vals["agent"]) if a == "VI"])
    np.testing.assert_allclose(vi, np.ravel(ZHAO_34A), atol=1e-5)
    assert len(set(tables["iterations"]["agent"])) == 3


def test_rerun_into_the_same_out_needs_force(tmp_path, repo_cwd):
    out = tmp_path / "again"
    rlkit.run("experiments/quickstart.toml", out=out, overrides={"plots": []})
    with pytest.raises(rlkit.ConfigError, match="--force"):
        rlkit.run("experiments/quickstart.toml", out=out, overrides={"plots": []})
    res = rlkit.run("experiments/quickstart.toml", out=out, overrides={"plots": [], "env.rewards.forbidden": -10},
                    force=True)
    vals = res["tables"]["values"]
    vi = np.array([v for v, a in zip(vals["value"], vals["agent"]) if a == "VI"])
    np.testing.assert_allclose(vi[:5], ZHAO_34D_ROW0, atol=1e-5)


def test_run_with_overrides(tmp_path, repo_cwd):
    res = rlkit.run("experiments/quickstart.toml", out=tmp_path / "q2",
                    overrides={"env.rewards.forbidden": -10, "plots": []})
    vals = res["tables"]["values"]
    vi = np.array([v for v, a in zip(vals["value"], vals["agent"]) if a == "VI"])
    np.testing.assert_allclose(vi[:5], ZHAO_34D_ROW0, atol=1e-5)


def test_run_learning_experiment_with_seeds(tmp_path, repo_cwd):
    # S&B Fig. 6.4 with 4 seeds: the episodes table has a row per agent, seed and episode,
    # and Q-learning's late online return is about -50, as the Python example finds.
    res = rlkit.run("experiments/sutton_barto_fig6_4.toml", out=tmp_path / "f64", seeds=4, overrides={"plots": []})
    ep = res["tables"]["episodes"]
    assert len(ep["agent"]) == 3 * 4 * 500
    assert len(set(ep["seed"].tolist())) == 4
    ret, ag, epi = ep["return"], np.array(ep["agent"]), ep["episode"]
    late_q = ret[(ag == "Q-learning") & (epi >= epi.max() - 99)].mean()
    late_sarsa = ret[(ag == "Sarsa") & (epi >= epi.max() - 99)].mean()
    assert -60.0 < late_q < -40.0, late_q
    assert late_sarsa > late_q  # Sarsa's safer path pays more online (the figure's point)
