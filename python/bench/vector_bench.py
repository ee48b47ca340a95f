"""Steps per second: rlkit's vector env vs Gymnasium's SyncVectorEnv, FrozenLake 8x8.

    taskset -c 0 python3 python/bench/vector_bench.py [--num-envs 64] [--seconds 3]

Random actions (drawn up front, the same array for every contender), autoreset on, one
process. Prints env-steps per second (num_envs x vector steps / wall time) and the ratios.
"""

import argparse
import time

import gymnasium as gym
import numpy as np

import rlkit


def bench(venv, actions, seconds):
    venv.reset(seed=0)
    n_steps, k = 0, len(actions)
    # Warm up, then time whole blocks of steps until `seconds` have passed.
    for i in range(min(200, k)):
        venv.step(actions[i])
    start = time.perf_counter()
    while True:
        for i in range(k):
            venv.step(actions[i])
        n_steps += k
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    venv.close()
    return n_steps * venv.num_envs / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-envs", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    n = args.num_envs
    actions = np.random.default_rng(0).integers(0, 4, size=(1000, n))
    rows = []
    sync_gym = gym.vector.SyncVectorEnv([lambda: gym.make("FrozenLake-v1", map_name="8x8") for _ in range(n)])
    rows.append(("gymnasium SyncVectorEnv(FrozenLake-v1 8x8)", bench(sync_gym, actions, args.seconds)))
    sync_rlkit = gym.vector.SyncVectorEnv([lambda: rlkit.make("rlkit/frozen_lake_8x8-v0") for _ in range(n)])
    rows.append(("gymnasium SyncVectorEnv(rlkit/frozen_lake_8x8-v0)", bench(sync_rlkit, actions, args.seconds)))
    ours = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=n)
    rows.append(("rlkit.vector (copy=True, the default)", bench(ours, actions, args.seconds)))
    ours_nocopy = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=n, copy=False)
    rows.append(("rlkit.vector (copy=False)", bench(ours_nocopy, actions, args.seconds)))
    base = rows[0][1]
    print(f"FrozenLake 8x8, {n} envs, random actions, autoreset on")
    print(f"{'contender':<52} {'env-steps/s':>14} {'vs SyncVectorEnv':>17}")
    for name, sps in rows:
        print(f"{name:<52} {sps:>14,.0f} {sps / base:>16.1f}x")


if __name__ == "__main__":
    main()
