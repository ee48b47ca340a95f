"""A batched vector env: N copies of an rlkit env stepped in one Rust call.

``step(actions)`` hands the actions and preallocated numpy buffers to Rust, which steps every
copy and writes observations, rewards and flags in place (no Python loop over envs, no
allocation per step on the Rust side). Autoreset follows Gymnasium 1.x's default,
``AutoresetMode.NEXT_STEP``: when a copy's episode ends (terminated or truncated) at step t,
the next ``step`` resets that copy instead of stepping it, ignoring its action, and returns the
first observation of the new episode with reward 0 and both flags false.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _common

__all__ = ["RlkitVectorEnv", "make"]


def _rust_seed(seed: Optional[int]) -> int:
    """The Rust stream seed for a Gymnasium seed: what ``RlkitEnv.reset(seed=seed)`` uses."""
    rng, _ = seeding.np_random(seed)
    return int(rng.integers(0, 2**63 - 1))


class RlkitVectorEnv(VectorEnv):
    """``num_envs`` copies of one rlkit env as a ``gymnasium.vector.VectorEnv``.

    Args:
        env: an id (``"rlkit/frozen_lake_8x8-v0"``) or env file path, as for ``rlkit.make``.
        num_envs: number of copies.
        autoreset: ``True`` for ``AutoresetMode.NEXT_STEP`` (Gymnasium 1.x's default),
            ``False`` for ``AutoresetMode.DISABLED`` (reset finished copies yourself with
            ``reset(options={"reset_mask": mask})``).
        obs, features, overrides: as for ``rlkit.make``.
        max_episode_steps: the time limit (default: the env file's ``max_steps``; ``0``: none).
        copy: return copies of the buffers (default). ``False`` returns the buffers themselves,
            which the next ``step`` overwrites (fastest; copy what you keep).

    Observations have shape ``(num_envs, *single_observation_space.shape)`` and the single
    space's dtype (``int64`` for index/coords, ``int8`` for one_hot, ``float32`` otherwise);
    rewards are ``float64``, flags ``bool``. ``info`` is empty; the state index and the
    probability of each sampled outcome are in ``env.states`` and ``env.probs`` after each call.
    """

    def __init__(
        self,
        env: str,
        num_envs: int,
        autoreset: bool = True,
        obs: Optional[str] = None,
        features: Optional[Sequence[Mapping[str, Any]]] = None,
        max_episode_steps: Optional[int] = None,
        overrides: Optional[Mapping[str, Any]] = None,
        copy: bool = True,
    ):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs = {num_envs}: must be >= 1")
        core = _common.make_core(env, obs, features, overrides, int(num_envs))
        limit = core.default_limit if max_episode_steps is None else (int(max_episode_steps) or None)
        core.limit = limit
        core.autoreset = bool(autoreset)
        self._core = core
        self.num_envs = int(num_envs)
        self.max_episode_steps = limit
        self.copy = copy
        self.single_observation_space = _common.observation_space(core)
        self.single_action_space = spaces.Discrete(core.n_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {
            "autoreset_mode": AutoresetMode.NEXT_STEP if autoreset else AutoresetMode.DISABLED,
            "render_modes": [],
        }
        self.render_mode = None
        self.name = core.name
        self.obs_mode = core.obs_mode
        n = self.num_envs
        self._obs = np.zeros(_common.buffer_shape(core, n), dtype=np.dtype(core.obs_dtype))
        self._rew = np.zeros(n, dtype=np.float64)
        self._term = np.zeros(n, dtype=bool)
        self._trunc = np.zeros(n, dtype=bool)
        #: The state index of each copy after the last call (−1 for a continuous env).
        self.states = np.zeros(n, dtype=np.int64)
        #: The probability of each copy's last sampled outcome (Gymnasium's ``info["prob"]``).
        self.probs = np.ones(n, dtype=np.float64)
        self._seeded = False

    def reset(self, *, seed=None, options: Optional[dict] = None):
        """Reset every copy (or those in ``options["reset_mask"]``).

        ``seed=int`` seeds copy ``i`` with ``seed + i`` (as ``SyncVectorEnv`` does), so copy
        ``i`` replays ``rlkit.make(env).reset(seed=seed + i)``; a list gives one seed per copy.
        """
        super().reset(seed=int(seed) if isinstance(seed, (int, np.integer)) else None)
        if seed is not None or not self._seeded:
            if seed is None:
                seeds = [None] * self.num_envs
            elif isinstance(seed, (int, np.integer)):
                seeds = [int(seed) + i for i in range(self.num_envs)]
            else:
                seeds = list(seed)
                if len(seeds) != self.num_envs:
                    raise ValueError(f"{len(seeds)} seeds for {self.num_envs} envs")
            for i, s in enumerate(seeds):
                self._core.seed(i, _rust_seed(s))
            self._seeded = True
        mask = None
        if options and "reset_mask" in options:
            mask = np.ascontiguousarray(options["reset_mask"], dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"reset_mask must have shape ({self.num_envs},), not {mask.shape}")
        self._core.reset(self._obs, self.states, mask)
        if mask is not None:
            self._rew[mask] = 0.0
            self._term[mask] = False
            self._trunc[mask] = False
        return (self._obs.copy() if self.copy else self._obs), {}

    def step(self, actions):
        """Step every copy: ``(obs, rewards, terminated, truncated, info)``, arrays of ``num_envs``."""
        a = np.asarray(actions)
        if a.dtype != np.int64:
            if a.dtype.kind not in "iub":
                if a.dtype.kind == "f" and np.all(a == np.floor(a)):
                    pass
                else:
                    raise ValueError(f"actions must be integers in Discrete({self.single_action_space.n}), got dtype {a.dtype}")
            a = a.astype(np.int64)
        if a.shape != (self.num_envs,):
            a = a.reshape(-1)
        self._core.step(a, self._obs, self._rew, self._term, self._trunc, self.states, self.probs)
        if self.copy:
            return self._obs.copy(), self._rew.copy(), self._term.copy(), self._trunc.copy(), {}
        return self._obs, self._rew, self._term, self._trunc, {}


def make(
    env: str,
    num_envs: int = 1,
    autoreset: bool = True,
    obs: Optional[str] = None,
    features: Optional[Sequence[Mapping[str, Any]]] = None,
    max_episode_steps: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    copy: bool = True,
) -> RlkitVectorEnv:
    """``num_envs`` copies of ``env`` stepped together in Rust (see :class:`RlkitVectorEnv`)."""
    return RlkitVectorEnv(env, num_envs, autoreset, obs, features, max_episode_steps, overrides, copy)
