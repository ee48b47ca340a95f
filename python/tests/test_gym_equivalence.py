"""rlkit's FrozenLake and CliffWalking equal Gymnasium's (live package): the model tables
``P`` and the distribution of sampled transitions."""

import math
from collections import defaultdict

import gymnasium as gym
import numpy as np
import pytest

import rlkit

CASES = [
    # (rlkit env, Gymnasium id and kwargs, states to skip)
    ("rlkit/frozen_lake_4x4-v0", dict(id="FrozenLake-v1", map_name="4x4", is_slippery=True), set()),
    ("rlkit/frozen_lake_8x8-v0", dict(id="FrozenLake-v1", map_name="8x8", is_slippery=True), set()),
    # Gymnasium fills P for the cliff cells (never occupied: entering one resets the agent)
    # and the goal (the episode has ended there); rlkit makes them fixed self-loops (value 0).
    ("rlkit/cliff_walking-v0", dict(id="CliffWalking-v1"), set(range(37, 48))),
]


def merged(outcomes):
    """Outcomes keyed by (next, reward, terminated), duplicate entries summed (Gymnasium lists
    a FrozenLake slip that lands where the intended move does twice)."""
    m = defaultdict(float)
    for p, s2, r, d in outcomes:
        m[(int(s2), float(r), bool(d))] += float(p)
    return dict(m)


@pytest.mark.parametrize("ours,theirs,skip", CASES)
def test_P_equals_gymnasium(ours, theirs, skip):
    a = rlkit.make(ours).unwrapped
    b = gym.make(**theirs).unwrapped
    assert a.observation_space == b.observation_space
    assert a.action_space == b.action_space
    compared = 0
    for s in range(b.observation_space.n):
        if s in skip:
            continue
        for act in range(b.action_space.n):
            mg, mr = merged(b.P[s][act]), merged(a.P[s][act])
            assert mg.keys() == mr.keys(), (s, act, mg, mr)
            for k in mg:
                assert abs(mg[k] - mr[k]) < 1e-12, (s, act, k)
            compared += 1
    assert compared == {16: 64, 64: 256, 48: 37 * 4}[b.observation_space.n]


def chi2_z(counts_a, counts_b):
    """Two-sample chi-square over several (s, a) rows, as a Wilson-Hilferty z score."""
    stat, dof = 0.0, 0
    for key in counts_a.keys() | counts_b.keys():
        ca, cb = counts_a.get(key, {}), counts_b.get(key, {})
        na, nb = sum(ca.values()), sum(cb.values())
        if na < 20 or nb < 20:
            continue
        cats = ca.keys() | cb.keys()
        for c in cats:
            pooled = (ca.get(c, 0) + cb.get(c, 0)) / (na + nb)
            for n, cnt in ((na, ca.get(c, 0)), (nb, cb.get(c, 0))):
                e = n * pooled
                stat += (cnt - e) ** 2 / e
        dof += len(cats) - 1
    assert dof > 0
    return ((stat / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof)), dof


def transition_counts(env, actions, seed):
    """(state, action) -> {next state: count} over a seeded rollout with the given actions."""
    counts = defaultdict(lambda: defaultdict(int))
    s, _ = env.reset(seed=seed)
    for a in actions:
        s2, r, term, trunc, _ = env.step(int(a))
        counts[(s, int(a))][s2] += 1
        s = s2
        if term or trunc:
            s, _ = env.reset()
    return counts


@pytest.mark.parametrize("ours,theirs", [(c[0], c[1]) for c in CASES[:2]])
def test_sampled_transitions_match_gymnasium(ours, theirs):
    actions = np.random.default_rng(7).integers(0, 4, size=40_000)
    ca = transition_counts(rlkit.make(ours), actions, seed=1)
    cb = transition_counts(gym.make(**theirs), actions, seed=1)
    z, dof = chi2_z(ca, cb)
    assert dof >= 50
    assert abs(z) < 4.0, f"next-state frequencies differ: z = {z:.2f} over {dof} dof"
    # And both match the exact model: the right move from the start succeeds 1/3 of the time.
    start_right = ca[(0, 2)]
    total = sum(start_right.values())
    assert total > 500
    assert abs(start_right[1] / total - 1 / 3) < 0.06


def test_cliff_walking_rollout_equals_gymnasium():
    # Deterministic dynamics: the same actions give the same trajectory, rewards included.
    actions = np.random.default_rng(3).integers(0, 4, size=2_000)
    a, b = rlkit.make("rlkit/cliff_walking-v0"), gym.make("CliffWalking-v1")
    sa, _ = a.reset(seed=0)
    sb, _ = b.reset(seed=0)
    assert sa == sb == 36
    for act in actions:
        ra, rb = a.step(int(act)), b.step(int(act))
        assert ra[0] == rb[0] and ra[1] == rb[1] and ra[2] == rb[2], (ra, rb)
        if ra[2]:
            a.reset()
            b.reset()
