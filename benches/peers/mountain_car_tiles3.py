"""Peer for `cargo bench --bench approx`: tile-coded semi-gradient Sarsa on Mountain Car in Python
with Sutton's tiles3 (IHT of 4,096, 8 tilings of 8x8, S&B's scaling) and numpy weights, the way
the book's own code and ShangtongZhang's reimplementation do it: one env step, the 8 tiles of S'
for each of the 3 actions, 3 action values, greedy choice (ties at random, epsilon = 0), an update
of 8 weights. alpha = 0.5/8, q initialised to 0, no step limit.

    pip install numpy
    taskset -c 0 python3 benches/peers/mountain_car_tiles3.py [episodes]

Prints environment steps with learning per second (best of 3).
"""
import math
import sys
import time
from math import floor

import numpy as np


class IHT:
    """tiles3's index hash table (R. Sutton, http://incompleteideas.net/tiles/tiles3.html)."""

    def __init__(self, sizeval):
        self.size = sizeval
        self.overfullCount = 0
        self.dictionary = {}

    def count(self):
        return len(self.dictionary)

    def getindex(self, obj, readonly=False):
        d = self.dictionary
        if obj in d:
            return d[obj]
        elif readonly:
            return None
        size = self.size
        count = self.count()
        if count >= size:
            self.overfullCount += 1
            return hash(obj) % self.size
        else:
            d[obj] = count
            return count


def tiles(iht, numtilings, floats, ints=[]):
    qfloats = [floor(f * numtilings) for f in floats]
    Tiles = []
    for tiling in range(numtilings):
        tilingX2 = tiling * 2
        coords = [tiling]
        b = tiling
        for q in qfloats:
            coords.append((q + b) // numtilings)
            b += tilingX2
        coords.extend(ints)
        Tiles.append(iht.getindex(tuple(coords)))
    return Tiles


def run_sarsa(episodes, seed):
    rng = np.random.default_rng(seed)
    iht = IHT(4096)
    w = np.zeros(4096)
    alpha = 0.5 / 8
    ps, vs = 8 / (0.5 + 1.2), 8 / (0.07 + 0.07)
    steps = 0
    for _ in range(episodes):
        p, v = rng.uniform(-0.6, -0.4), 0.0
        feats = [tiles(iht, 8, [ps * p, vs * v], [b]) for b in range(3)]
        q = np.array([w[f].sum() for f in feats])
        a = int(rng.choice(np.flatnonzero(q == q.max())))
        while True:
            x_sa = feats[a]
            v = min(max(v + (a - 1) * 0.001 + math.cos(3 * p) * (-0.0025), -0.07), 0.07)
            p = min(max(p + v, -1.2), 0.6)
            if p == -1.2 and v < 0:
                v = 0.0
            steps += 1
            if p >= 0.5:
                w[x_sa] += alpha * (-1.0 - w[x_sa].sum())
                break
            feats = [tiles(iht, 8, [ps * p, vs * v], [b]) for b in range(3)]
            q = np.array([w[f].sum() for f in feats])
            a2 = int(rng.choice(np.flatnonzero(q == q.max())))
            w[x_sa] += alpha * (-1.0 + q[a2] - w[x_sa].sum())
            a = a2
    return steps


if __name__ == "__main__":
    episodes = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    best, steps = float("inf"), 0
    for rep in range(3):
        t = time.perf_counter()
        steps = run_sarsa(episodes, rep)
        best = min(best, time.perf_counter() - t)
    print(f"python tiles3 + numpy Sarsa, Mountain Car: {episodes} episodes, {steps} steps, best {best:.3f} s, "
          f"{steps / best / 1e6:.4f} M steps/s (numpy {np.__version__}, Python {sys.version.split()[0]})")
