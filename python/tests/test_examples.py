"""The shipped examples and bench run and give the book's numbers."""

import importlib.util
import os

import numpy as np

import rlkit

from conftest import REPO


def load(rel):
    path = os.path.join(REPO, "python", rel)
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_q_learning_reaches_sutton_barto_fig_6_4():
    ql = load("examples/q_learning.py")
    env = rlkit.make("rlkit/cliff_walking-v0")
    rng = np.random.default_rng(0)
    late = []
    for _ in range(5):
        q, returns = ql.q_learning(env, 500, alpha=0.5, epsilon=0.1, gamma=1.0, rng=rng)
        late.append(returns[-100:].mean())
        # The greedy policy walks the cliff edge: 13 steps from the start to the goal.
        s, _ = env.reset(seed=0)
        for k in range(1, 30):
            s, r, term, _, _ = env.step(int(q[s].argmax()))
            if term:
                break
        assert term and k == 13
    assert -60.0 < np.mean(late) < -40.0, late  # S&B Fig. 6.4: about -50


def test_bench_script_runs():
    bench = load("bench/vector_bench.py")
    v = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=8)
    sps = bench.bench(v, np.zeros((50, 8), dtype=np.int64), seconds=0.05)
    assert sps > 10_000
