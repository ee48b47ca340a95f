"""Seeding: the same seed gives the same episodes; vector copies replay single envs."""

import numpy as np

import rlkit


def rollout(env, seed, n=300):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    acts = np.random.default_rng(seed).integers(0, env.action_space.n, size=n)
    for a in acts:
        obs, r, term, trunc, _ = env.step(int(a))
        out.append((obs, r, term, trunc))
        if term or trunc:
            obs, _ = env.reset()
            out.append(obs)
    return out


def test_same_seed_same_trajectory():
    e = rlkit.make("rlkit/frozen_lake_8x8-v0")
    a, b, c = rollout(e, 5), rollout(e, 5), rollout(e, 6)
    assert a == b
    assert a != c


def test_unseeded_envs_differ():
    # Without a seed, each env draws its own (np_random is seeded from OS entropy).
    a = rollout(rlkit.make("rlkit/frozen_lake_8x8-v0"), None)
    b = rollout(rlkit.make("rlkit/frozen_lake_8x8-v0"), None)
    assert a != b


def test_mountain_car_seeded_starts():
    e = rlkit.make("rlkit/mountain_car-v0")
    x1, _ = e.reset(seed=11)
    x2, _ = e.reset(seed=11)
    x3, _ = e.reset(seed=12)
    assert x1.tolist() == x2.tolist() and x1.tolist() != x3.tolist()


def test_vector_copy_i_replays_single_env_with_seed_plus_i():
    n, steps = 4, 400
    v = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=n)
    acts = np.random.default_rng(0).integers(0, 4, size=(steps, n))
    obs, _ = v.reset(seed=100)
    vec = [[int(obs[i])] for i in range(n)]
    for t in range(steps):
        obs, r, term, trunc, _ = v.step(acts[t])
        for i in range(n):
            vec[i].append((int(obs[i]), float(r[i]), bool(term[i]), bool(trunc[i])))
    for i in range(n):
        e = rlkit.make("rlkit/frozen_lake_8x8-v0").unwrapped  # no TimeLimit: the vector env's limit is 200
        s, _ = e.reset(seed=100 + i)
        single = [s]
        done, t_ep = False, 0
        for t in range(steps):
            if done:  # NEXT_STEP autoreset: this step resets, its action is ignored
                s, _ = e.reset()
                single.append((s, 0.0, False, False))
                done, t_ep = False, 0
                continue
            s, r, term, _, _ = e.step(int(acts[t, i]))
            t_ep += 1
            trunc = not term and t_ep >= 200
            single.append((s, r, term, trunc))
            done = term or trunc
        assert single == vec[i], f"copy {i}"
