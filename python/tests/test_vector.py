"""The batched vector env: Gymnasium 1.x NEXT_STEP autoreset, dtypes, shapes, masks."""

import gymnasium as gym
import numpy as np
import pytest

import rlkit


def test_spaces_dtypes_shapes():
    v = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=64)
    assert isinstance(v, gym.vector.VectorEnv)
    assert v.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert v.single_observation_space == gym.spaces.Discrete(64)
    assert v.action_space == gym.spaces.MultiDiscrete([4] * 64)
    obs, info = v.reset(seed=0)
    assert obs.shape == (64,) and obs.dtype == np.int64 and (obs == 0).all() and info == {}
    assert obs in v.observation_space
    obs, r, term, trunc, info = v.step(v.action_space.sample())
    assert obs.shape == (64,) and obs.dtype == np.int64
    assert r.dtype == np.float64 and term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert obs in v.observation_space
    w = rlkit.vector.make("rlkit/zhao_5x5-v0", num_envs=3, obs="one_hot")
    obs, _ = w.reset(seed=0)
    assert obs.shape == (3, 4, 5, 5) and obs.dtype == np.int8 and obs in w.observation_space
    m = rlkit.vector.make("rlkit/mountain_car-v0", num_envs=5)
    obs, _ = m.reset(seed=0)
    assert obs.shape == (5, 2) and obs.dtype == np.float32 and obs in m.observation_space
    obs, r, *_ = m.step(np.full(5, 2))
    assert (r == -1.0).all() and (obs[:, 1] > 0).all()


def test_next_step_autoreset():
    # Cliff walking, deterministic: from the start (3, 0), "right" (1) steps into the cliff
    # (-100, back to the start); "up" then 11 x "right" then "down" reaches the goal.
    v = rlkit.vector.make("rlkit/cliff_walking-v0", num_envs=2)
    obs, _ = v.reset(seed=0)
    assert obs.tolist() == [36, 36]
    path = [0] + [1] * 11 + [2]
    for k, a in enumerate(path):
        obs, r, term, trunc, _ = v.step([a, 1])
        assert r[1] == -100.0 and obs[1] == 36 and not term[1]
        assert r[0] == -1.0
        assert term[0] == (k == len(path) - 1)
    assert obs[0] == 47 and v.states[0] == 47
    # The next step resets copy 0 and ignores its action.
    obs, r, term, trunc, _ = v.step([0, 1])
    assert obs[0] == 36 and r[0] == 0.0 and not term[0] and not trunc[0]
    assert r[1] == -100.0
    obs, r, term, trunc, _ = v.step([0, 1])
    assert obs[0] == 24 and r[0] == -1.0


def test_truncation_and_autoreset_after_limit():
    v = rlkit.vector.make("rlkit/zhao_5x5-v0", num_envs=2, max_episode_steps=3)
    v.reset(seed=0)
    flags = []
    for _ in range(5):
        obs, r, term, trunc, _ = v.step([1, 4])
        flags.append((trunc.tolist(), obs.tolist(), r.tolist()))
    assert [f[0] for f in flags] == [[False, False], [False, False], [True, True], [False, False], [False, False]]
    assert flags[3][1] == [0, 0] and flags[3][2] == [0.0, 0.0]  # the reset step
    assert flags[4][1] == [1, 0]


def test_disabled_autoreset_with_reset_mask():
    v = rlkit.vector.make("rlkit/cliff_walking-v0", num_envs=2, autoreset=False)
    assert v.metadata["autoreset_mode"] == gym.vector.AutoresetMode.DISABLED
    v.reset(seed=0)
    v.step([0, 0])  # both up to (2, 0) = 24
    obs, _ = v.reset(options={"reset_mask": np.array([True, False])})
    assert obs.tolist() == [36, 24]


def test_copy_false_returns_buffers():
    v = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=8, copy=False)
    o1, *_ = v.reset(seed=0)
    o2, *_ = v.step(np.zeros(8, dtype=np.int64))
    assert o1 is o2


def test_bad_actions():
    v = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=4)
    v.reset(seed=0)
    with pytest.raises(ValueError, match=r"action 4 \(env 2\) is outside the action space Discrete\(4\)"):
        v.step([0, 1, 4, 0])
    with pytest.raises(ValueError, match="3 elements; expected 4"):
        v.step([0, 1, 2])
    with pytest.raises(ValueError, match="integers"):
        v.step([0.5, 1, 2, 3])
    with pytest.raises(ValueError):
        rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=0)


def test_random_policy_statistics_match_sync_vector_env():
    # FrozenLake 8x8 under random actions: the fraction of episodes that reach the goal
    # agrees with Gymnasium's own env (both around 0.2% within 200 steps).
    n, steps = 64, 3000
    ours = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=n)
    theirs = gym.make_vec("FrozenLake-v1", num_envs=n, vectorization_mode="sync", map_name="8x8")
    res = []
    for v in (ours, theirs):
        v.reset(seed=0)
        rng = np.random.default_rng(1)
        ends = goals = 0
        for _ in range(steps):
            _, r, term, trunc, _ = v.step(rng.integers(0, 4, size=n))
            ends += int((term | trunc).sum())
            goals += int((r > 0).sum())
        res.append((ends, goals))
    (e1, g1), (e2, g2) = res
    assert abs(e1 - e2) / e2 < 0.05, res  # episode counts within 5%
