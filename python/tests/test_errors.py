"""Bad input raises Python exceptions with rlkit's one-line message, never crashes."""

import pytest

import rlkit


def test_config_error_is_value_error():
    assert issubclass(rlkit.ConfigError, ValueError)


def test_missing_env_file():
    with pytest.raises(rlkit.ConfigError, match="no/such/env.toml"):
        rlkit.make("no/such/env.toml")


def test_bad_toml_has_file_line_col(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('name = "bad"\ngamma = 0.9\nmap = """\nS.G\n"""\ntoll = 3\n')
    with pytest.raises(rlkit.ConfigError) as e:
        rlkit.make(str(p))
    msg = str(e.value)
    assert f"{p}:6:1" in msg and "unknown field `toll`" in msg and "\n" not in msg
    p.write_text("gamma = = 0.9\n")
    with pytest.raises(rlkit.ConfigError, match=r"bad.toml:1:\d+"):
        rlkit.make(str(p))


def test_bad_value_in_shipped_env_names_it():
    with pytest.raises(rlkit.ConfigError, match=r"gamma = 2 is outside \[0, 1\]"):
        rlkit.make("rlkit/zhao_5x5-v0", overrides={"gamma": 2.0})
    with pytest.raises(rlkit.ConfigError, match="unknown env id"):
        rlkit.make("rlkit/nope-v0")


def test_bad_observation_modes():
    with pytest.raises(rlkit.ConfigError, match="unknown observation mode"):
        rlkit.make("rlkit/zhao_5x5-v0", obs="pixels")
    with pytest.raises(rlkit.ConfigError, match="needs a gridworld"):
        rlkit.make("rlkit/random_walk-v0", obs="one_hot")
    with pytest.raises(rlkit.ConfigError, match="needs a finite world"):
        rlkit.make("rlkit/mountain_car-v0", obs="index")
    with pytest.raises(rlkit.ConfigError, match=r"features\[0\]"):
        rlkit.make("rlkit/mountain_car-v0", obs="features", features=[{"kind": "numeric", "input": "speed"}])
    with pytest.raises(rlkit.ConfigError, match=r"features\[1\]: missing field `num_buckets`"):
        rlkit.make("rlkit/zhao_5x5-v0", obs="features",
                   features=[{"kind": "one_hot_state"}, {"kind": "categorical_identity", "input": "row"}])
    with pytest.raises(rlkit.ConfigError, match="unknown variant"):
        rlkit.make("rlkit/zhao_5x5-v0", obs="features", features=[{"kind": "nonsense"}])
    with pytest.raises(rlkit.ConfigError, match='only used with obs="features"'):
        rlkit.make("rlkit/zhao_5x5-v0", obs="index", features=[{"kind": "one_hot_state"}])


def test_bad_actions_are_value_errors():
    e = rlkit.make("rlkit/frozen_lake_8x8-v0").unwrapped
    e.reset(seed=0)
    with pytest.raises(ValueError, match=r"action 4 is outside the action space Discrete\(4\)"):
        e.step(4)
    with pytest.raises(ValueError, match="outside"):
        e.step(-1)
    with pytest.raises(ValueError, match="not an integer"):
        e.step(1.5)
    with pytest.raises(ValueError, match="not an integer"):
        e.step("left")
    assert e.step(2)[0] in range(64)  # the env still works


def test_bad_render_mode():
    with pytest.raises(ValueError, match="render_mode"):
        rlkit.make("rlkit/mountain_car-v0", render_mode="ansi")


def test_bad_experiment(tmp_path, repo_cwd):
    with pytest.raises(rlkit.ConfigError, match="no/such.toml"):
        rlkit.run("no/such.toml", out=tmp_path / "x")
    with pytest.raises(rlkit.ConfigError, match=r"agents\[0\]\.toll: unknown field `toll`.*did you mean `tol`"):
        rlkit.run("experiments/quickstart.toml", out=tmp_path / "x", overrides={"agents[0].toll": 1e-3})
    assert not (tmp_path / "x").exists()  # nothing written on bad input


def test_bad_solve():
    with pytest.raises(rlkit.ConfigError, match="unknown; valid"):
        rlkit.solve("rlkit/zhao_5x5-v0", algo="magic")
    with pytest.raises(rlkit.ConfigError, match="continuous-state env"):
        rlkit.solve("rlkit/mountain_car-v0")
    with pytest.raises(rlkit.ConfigError, match="tol"):
        rlkit.solve("rlkit/zhao_5x5-v0", tol=-1)
    with pytest.raises(rlkit.ConfigError, match="gamma = 1 requires an episodic task"):
        rlkit.solve("rlkit/zhao_5x5-v0", gamma=1.0)
    with pytest.raises(rlkit.ConfigError, match="summing to 1"):
        rlkit.solve("rlkit/zhao_5x5-v0", algo="policy-evaluation", policy=[[0.5] * 5] * 25)
