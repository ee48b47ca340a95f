"""Stable-Baselines3 DQN on rlkit's Zhao 5x5 grid with one-hot observations.

NOT RUN IN CI: it needs Stable-Baselines3 and PyTorch (hundreds of MB). To run it:

    pip install ./python stable-baselines3
    python3 python/examples/sb3_dqn.py

The observation is the one-hot image MultiBinary([4, 5, 5]) (channel 0 the agent, 1 the
target, 2 forbidden cells, 3 walls), which SB3 flattens for its MLP Q-network. Zhao's grid is
a continuing task, so episodes are cut at 100 steps (`max_episode_steps`); the discounted
optimal return from (0, 0) is v*(0,0) = 5.832 (Fig. 3.4a), which the script compares with the
trained greedy policy's discounted return and with `rlkit.solve`.
"""

import numpy as np

import rlkit

try:
    from stable_baselines3 import DQN
except ImportError as e:  # pragma: no cover - documentation example
    raise SystemExit("this example needs stable-baselines3: pip install stable-baselines3") from e


def discounted_return(env, policy, gamma, steps=100):
    obs, _ = env.reset(seed=0)
    g, disc = 0.0, 1.0
    for _ in range(steps):
        obs, r, term, trunc, _ = env.step(policy(obs))
        g += disc * r
        disc *= gamma
        if term or trunc:
            break
    return g


def main():
    env = rlkit.make("rlkit/zhao_5x5-v0", obs="one_hot", max_episode_steps=100)
    gamma = env.unwrapped.gamma
    model = DQN(
        "MlpPolicy",
        env,
        gamma=gamma,
        learning_rate=1e-3,
        buffer_size=50_000,
        learning_starts=1_000,
        exploration_fraction=0.3,
        target_update_interval=500,
        train_freq=4,
        verbose=0,
        seed=0,
    )
    model.learn(total_timesteps=60_000)
    greedy = lambda obs: int(model.predict(obs, deterministic=True)[0])  # noqa: E731
    v_star = rlkit.solve("rlkit/zhao_5x5-v0")["values"][0]
    print(f"DQN greedy discounted return from (0,0): {discounted_return(env, greedy, gamma):.3f}")
    # Over 100 steps the optimal return misses only gamma^100 * 10 < 0.001 of v*(0,0).
    print(f"optimal v*(0,0) (rlkit.solve):           {v_star:.3f}")


if __name__ == "__main__":
    main()
