"""Tabular Q-learning in plain numpy on rlkit's cliff walking (Sutton & Barto Example 6.6).

    python3 python/examples/q_learning.py [--runs 10] [--episodes 500]

epsilon-greedy with epsilon = 0.1, alpha = 0.5, gamma = 1, as in S&B Fig. 6.4, where
Q-learning's online return settles around -50 (it learns the optimal path along the cliff
edge, and the exploration falls off the cliff now and then). Prints the mean return of the
last 100 episodes averaged over the runs, and the greedy path.
"""

import argparse

import numpy as np

import rlkit


def q_learning(env, episodes, alpha, epsilon, gamma, rng):
    n_s, n_a = env.observation_space.n, env.action_space.n
    q = np.zeros((n_s, n_a))
    returns = np.zeros(episodes)
    for ep in range(episodes):
        s, _ = env.reset(seed=int(rng.integers(2**31)) if ep == 0 else None)
        done, total = False, 0.0
        while not done:
            if rng.random() < epsilon:
                a = int(rng.integers(n_a))
            else:  # greedy, ties broken at random
                best = np.flatnonzero(q[s] == q[s].max())
                a = int(rng.choice(best))
            s2, r, terminated, truncated, _ = env.step(a)
            target = r + (0.0 if terminated else gamma * q[s2].max())
            q[s, a] += alpha * (target - q[s, a])
            total += r
            s, done = s2, terminated or truncated
        returns[ep] = total
    return q, returns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=500)
    args = ap.parse_args()
    env = rlkit.make("rlkit/cliff_walking-v0")
    rng = np.random.default_rng(0)
    curves = []
    for _ in range(args.runs):
        q, returns = q_learning(env, args.episodes, alpha=0.5, epsilon=0.1, gamma=1.0, rng=rng)
        curves.append(returns)
    curves = np.array(curves)
    late = curves[:, -100:].mean()
    print(f"Q-learning on cliff walking, {args.runs} runs x {args.episodes} episodes (eps 0.1, alpha 0.5)")
    for lo in range(0, args.episodes, 100):
        print(f"  episodes {lo + 1:>4}-{lo + 100:<4} mean return {curves[:, lo:lo + 100].mean():8.1f}")
    print(f"mean return over the last 100 episodes: {late:.1f}  (S&B Fig. 6.4: about -50)")
    # The greedy path from the start, on the map.
    s, _ = env.reset(seed=0)
    path = [s]
    for _ in range(30):
        s, _, term, _, _ = env.step(int(q[s].argmax()))
        path.append(s)
        if term:
            break
    print(f"greedy path ({len(path) - 1} steps): {path}")
    return late


if __name__ == "__main__":
    main()
