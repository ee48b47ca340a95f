"""Peer for `rlkit run experiments/sutton_barto_fig6_4.toml` (S&B Fig. 6.4).

A faithful re-implementation of the core loops of ShangtongZhang's
reinforcement-learning-an-introduction `chapter06/cliff_walking.py`
(`figure_6_4`: Sarsa and Q-learning, 50 runs x 500 episodes, epsilon 0.1,
alpha 0.5, gamma 1, numpy arrays and numpy's RNG as in the original; the
matplotlib plot is left out). Written from the published algorithm and code
structure, not copied: this workplace cannot fetch the repository.

Measures: wall time of the whole process (interpreter start included when
timed with /usr/bin/time), and prints the late mean returns as a sanity check
(book: Sarsa about -25, Q-learning about -50).

Run (one core):
    taskset -c 0 /usr/bin/time -f '%e s' python3 benches/peers/cliff_walking.py
"""
import time

import numpy as np

WORLD_HEIGHT, WORLD_WIDTH = 4, 12
EPSILON, ALPHA, GAMMA = 0.1, 0.5, 1
ACTION_UP, ACTION_DOWN, ACTION_LEFT, ACTION_RIGHT = 0, 1, 2, 3
ACTIONS = [ACTION_UP, ACTION_DOWN, ACTION_LEFT, ACTION_RIGHT]
START, GOAL = [3, 0], [3, 11]


def step(state, action):
    i, j = state
    if action == ACTION_UP:
        next_state = [max(i - 1, 0), j]
    elif action == ACTION_LEFT:
        next_state = [i, max(j - 1, 0)]
    elif action == ACTION_RIGHT:
        next_state = [i, min(j + 1, WORLD_WIDTH - 1)]
    else:
        next_state = [min(i + 1, WORLD_HEIGHT - 1), j]
    reward = -1
    if (action == ACTION_DOWN and i == 2 and 1 <= j <= 10) or (action == ACTION_RIGHT and state == START):
        reward = -100
        next_state = START
    return next_state, reward


def choose_action(state, q_value):
    if np.random.binomial(1, EPSILON) == 1:
        return np.random.choice(ACTIONS)
    values_ = q_value[state[0], state[1], :]
    return np.random.choice([a for a, v in enumerate(values_) if v == np.max(values_)])


def sarsa(q_value, step_size=ALPHA):
    state = START
    action = choose_action(state, q_value)
    rewards = 0.0
    while state != GOAL:
        next_state, reward = step(state, action)
        next_action = choose_action(next_state, q_value)
        rewards += reward
        target = GAMMA * q_value[next_state[0], next_state[1], next_action]
        q_value[state[0], state[1], action] += step_size * (reward + target - q_value[state[0], state[1], action])
        state, action = next_state, next_action
    return rewards


def q_learning(q_value, step_size=ALPHA):
    state = START
    rewards = 0.0
    while state != GOAL:
        action = choose_action(state, q_value)
        next_state, reward = step(state, action)
        rewards += reward
        q_value[state[0], state[1], action] += step_size * (
            reward + GAMMA * np.max(q_value[next_state[0], next_state[1], :]) - q_value[state[0], state[1], action]
        )
        state = next_state
    return rewards


def figure_6_4(episodes=500, runs=50):
    rewards_sarsa = np.zeros(episodes)
    rewards_q_learning = np.zeros(episodes)
    for _ in range(runs):
        q_sarsa = np.zeros((WORLD_HEIGHT, WORLD_WIDTH, 4))
        q_q_learning = np.copy(q_sarsa)
        for i in range(episodes):
            rewards_sarsa[i] += max(sarsa(q_sarsa), -100)
            rewards_q_learning[i] += max(q_learning(q_q_learning), -100)
    return rewards_sarsa / runs, rewards_q_learning / runs


if __name__ == "__main__":
    t = time.perf_counter()
    s, q = figure_6_4()
    print(f"numpy {np.__version__}: core loops {time.perf_counter() - t:.2f} s; "
          f"mean return over the last 100 episodes: Sarsa {s[-100:].mean():.1f}, Q-learning {q[-100:].mean():.1f}")
