"""Every shipped env is a correct Gymnasium env, in every observation mode that applies."""

import glob
import os
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlkit

from conftest import REPO

STEMS = sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(REPO, "envs", "*.toml")))
GRIDS = [s for s in STEMS if s not in ("random_walk", "mountain_car")]
MODES = {s: ["index", "coords", "coords_normalized", "one_hot", "features", "raw"] for s in GRIDS}
MODES["random_walk"] = ["index", "features", "raw"]
MODES["mountain_car"] = ["raw", "features"]
CASES = [(s, m) for s in STEMS for m in MODES[s]]
#: Mountain Car has no `one_hot_state` (the default columns): tile coding as in S&B Fig. 10.2.
TILES = [{"kind": "tile_coding", "inputs": ["position", "velocity"], "tilings": 8, "tiles": [8, 8],
          "size": 4096, "ranges": [[-1.2, 0.5], [-0.07, 0.07]]}, {"kind": "numeric", "input": "velocity"}]


def test_every_env_file_is_shipped_and_registered():
    assert len(STEMS) == 9
    assert rlkit.env_ids() == [f"rlkit/{s}-v0" for s in STEMS]
    for s in STEMS:
        assert f"rlkit/{s}-v0" in gym.registry
        with open(os.path.join(REPO, "envs", f"{s}.toml")) as f:
            assert rlkit.env_text(f"rlkit/{s}-v0") == f.read(), "the embedded env equals envs/*.toml"


@pytest.mark.parametrize("stem,mode", CASES)
def test_check_env(stem, mode):
    features = TILES if (stem, mode) == ("mountain_car", "features") else None
    env = gym.make(f"rlkit/{stem}-v0", obs=mode, features=features)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    msgs = [str(w.message) for w in caught]
    # The only warning allowed: unbounded feature boxes of a continuous task.
    assert all("infinity" in m for m in msgs), msgs
    env.close()


@pytest.mark.parametrize("stem", STEMS)
def test_check_env_render_modes(stem):
    env = gym.make(f"rlkit/{stem}-v0")
    for mode in env.unwrapped.metadata["render_modes"]:
        e = gym.make(f"rlkit/{stem}-v0", render_mode=mode)
        check_env(e.unwrapped)
        e.reset(seed=0)
        out = e.render()
        if mode == "rgb_array":
            assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        else:
            assert isinstance(out, str) and out.endswith("\n")


def test_spaces_and_dtypes():
    e = rlkit.make("rlkit/frozen_lake_8x8-v0")
    assert e.observation_space == gym.spaces.Discrete(64)
    assert e.action_space == gym.spaces.Discrete(4)
    obs, info = e.reset(seed=1)
    assert obs == 0 and isinstance(obs, int) and info == {"prob": 1.0, "state": 0}
    e = rlkit.make("rlkit/zhao_5x5-v0", obs="one_hot")
    assert e.observation_space == gym.spaces.MultiBinary([4, 5, 5])
    obs, _ = e.reset(seed=0)
    assert obs.dtype == np.int8 and obs.shape == (4, 5, 5)
    assert obs[0].sum() == 1 and obs[0, 0, 0] == 1  # the agent at (0, 0)
    assert obs[1, 3, 2] == 1 and obs[1].sum() == 1  # the target at (3, 2)
    assert obs[2].sum() == 6  # six forbidden cells
    obs, r, term, trunc, info = e.step(1)  # right
    assert obs[0, 0, 1] == 1 and r == 0.0 and info == {"prob": 1.0, "state": 1}
    e = rlkit.make("rlkit/zhao_5x5-v0", obs="coords")
    assert e.observation_space == gym.spaces.MultiDiscrete([5, 5])
    e.reset(seed=0)
    obs, r, *_ = e.step(2)  # down
    assert obs.tolist() == [1, 0] and obs.dtype == np.int64 and r == 0.0
    obs, r, *_ = e.step(1)  # right into the forbidden (1, 1)
    assert obs.tolist() == [1, 1] and r == -1.0
    e = rlkit.make("rlkit/mountain_car-v0")
    assert isinstance(e.observation_space, gym.spaces.Box) and e.observation_space.dtype == np.float32
    np.testing.assert_allclose(e.observation_space.low, [-1.2, -0.07], rtol=1e-6)
    obs, info = e.reset(seed=3)
    assert -0.6 <= obs[0] < -0.4 and obs[1] == 0.0 and info == {}


def test_features_mode():
    cols = [{"kind": "polynomial", "order": 1}, {"kind": "categorical_identity", "input": "row", "num_buckets": 5}]
    e = rlkit.make("envs/zhao_5x5.toml", obs="features", features=cols)
    obs, _ = e.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == e.observation_space.shape
    assert obs in e.observation_space
    obs, *_ = e.step(2)  # down to (1, 0)
    # The row-1 one-hot is set in the categorical block (the last 5 entries).
    assert obs[-5:].tolist() == [0, 1, 0, 0, 0]


def test_timelimit_from_env_file():
    e = rlkit.make("rlkit/frozen_lake_4x4-v0")
    assert e.spec.max_episode_steps == 100
    e = rlkit.make("rlkit/zhao_5x5-v0", max_episode_steps=7)
    e.reset(seed=0)
    for t in range(7):
        _, _, term, trunc, _ = e.step(4)  # stay
    assert not term and trunc
    e = rlkit.make("rlkit/mountain_car-v0")
    e.reset(seed=0)
    n = 0
    while True:
        n += 1
        _, r, term, trunc, _ = e.step(1)
        if term or trunc:
            break
    assert n == 200 and trunc and not term  # doing nothing never reaches the goal


def test_make_from_path_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    e = rlkit.make("envs/frozen_lake_8x8.toml")
    assert e.unwrapped.n_states == 64 and e.spec.max_episode_steps == 200
    own = tmp_path / "tiny.toml"
    own.write_text('name = "tiny"\ngamma = 0.9\nactions = "four"\nmax_steps = 5\nmap = """\nS.G\n"""\n')
    e = rlkit.make(str(own))
    e.reset(seed=0)
    obs, r, term, trunc, info = e.step(1)
    obs, r, term, trunc, info = e.step(1)
    assert obs == 2 and r == 1.0 and term and not trunc


def test_ansi_render():
    e = rlkit.make("rlkit/frozen_lake_4x4-v0", render_mode="ansi")
    e.reset(seed=0)
    text = e.render()
    lines = text.splitlines()
    # rlkit's symbols: . free, H hole, G goal; the agent's cell is highlighted.
    assert len(lines) == 4 and lines[1] == ".H.H" and lines[3] == "H..G" and "\x1b[" in lines[0]


def test_overrides():
    e = rlkit.make("rlkit/zhao_5x5-v0", overrides={"rewards.forbidden": -10})
    assert e.unwrapped.P[0][2] == [(1.0, 5, 0.0, False)]
    assert e.unwrapped.P[5][1] == [(1.0, 6, -10.0, False)]
