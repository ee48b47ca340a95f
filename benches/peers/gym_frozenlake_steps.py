"""Peer for `rlkit bench steps --env envs/frozen_lake_8x8.toml`.

Measures: random environment steps per second in Gymnasium's FrozenLake-v1,
8x8 map, slippery (the default), with the TimeLimit wrapper of
`gym.make` (200 steps), resetting at every episode end and counting episodes,
exactly like rlkit's bench loop (random action per step from the action space).

Run (one core, as in docs/speed.md):
    taskset -c 0 python3 benches/peers/gym_frozenlake_steps.py [steps]
"""
import sys
import time

import gymnasium as gym

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
env = gym.make("FrozenLake-v1", map_name="8x8")
env.reset(seed=0)
env.action_space.seed(1)
sample = env.action_space.sample
step = env.step
reset = env.reset
episodes = 0
total = 0.0
t = time.perf_counter()
for _ in range(steps):
    _, r, term, trunc, _ = step(sample())
    total += r
    if term or trunc:
        reset()
        episodes += 1
secs = time.perf_counter() - t
print(
    f"gymnasium {gym.__version__} FrozenLake-v1 8x8 slippery: {steps} random steps in {secs:.3f} s = "
    f"{steps / secs / 1e6:.3f} M steps/s ({episodes} episodes; reward sum {total})"
)
