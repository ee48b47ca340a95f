"""rlkit from Python: every rlkit environment as a Gymnasium environment, a batched vector
env stepped in Rust, and rlkit's experiments and DP solvers.

    import rlkit, gymnasium as gym
    env = rlkit.make("rlkit/frozen_lake_8x8-v0")          # or gym.make(...) after `import rlkit`
    venv = rlkit.vector.make("rlkit/frozen_lake_8x8-v0", num_envs=64)
    res = rlkit.run("experiments/quickstart.toml", out="runs/py")
    sol = rlkit.solve("rlkit/zhao_5x5-v0")

See python/README.md.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import gymnasium as gym

from . import _common, vector
from ._registration import register_envs
from ._rlkit import ConfigError
from .envs import RlkitEnv
from .experiments import read_table, run, solve

__all__ = [
    "ConfigError",
    "RlkitEnv",
    "make",
    "vector",
    "run",
    "solve",
    "read_table",
    "env_ids",
    "env_text",
    "FrozenLake",
    "CliffWalking",
]

__version__ = "0.1.0"

register_envs()


def env_ids() -> list:
    """The registered ids of the shipped envs, ``rlkit/<stem>-v0``."""
    return [_common.env_id(s) for s in sorted(_common.SHIPPED_ENVS)]


def env_text(env: str) -> str:
    """The TOML text of a shipped env (an id or ``envs/<stem>.toml``), to copy and edit."""
    file, text = _common.resolve_env(env)
    if text is None:
        with open(file) as f:
            return f.read()
    return text


def make(
    env: str,
    obs: Optional[str] = None,
    features: Optional[Sequence[Mapping[str, Any]]] = None,
    render_mode: Optional[str] = None,
    max_episode_steps: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> gym.Env:
    """An rlkit env as a Gymnasium env, through ``gymnasium.make`` (so with its usual wrappers:
    the env file's ``max_steps`` or ``max_episode_steps`` as ``TimeLimit``, order enforcing and
    the passive checker). ``env`` is an id (``"rlkit/frozen_lake_8x8-v0"``) or an env file path
    (``"envs/frozen_lake_8x8.toml"``: shipped envs are found from any directory). See
    :class:`rlkit.RlkitEnv` for ``obs``, ``features``, ``render_mode`` and ``overrides``.
    """
    import os

    kwargs = {"obs": obs, "features": features, "overrides": overrides}
    s = os.fspath(env)
    if s in gym.registry and overrides is None:
        return gym.make(s, render_mode=render_mode, max_episode_steps=max_episode_steps, **kwargs)
    probe = RlkitEnv(s, obs=obs, features=features, overrides=overrides)
    limit = max_episode_steps if max_episode_steps is not None else probe.max_episode_steps
    stem = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in probe.name) or "env"
    spec = gym.envs.registration.EnvSpec(
        id=f"rlkit/{stem}-v0",
        entry_point="rlkit.envs:RlkitEnv",
        kwargs={"env": s, **kwargs},
        max_episode_steps=limit,
    )
    return gym.make(spec, render_mode=render_mode)


def FrozenLake(map_name: str = "4x4", **kwargs) -> gym.Env:
    """Gymnasium's ``FrozenLake-v1`` (slippery; ``map_name`` ``"4x4"`` or ``"8x8"``), rlkit's model."""
    if map_name not in ("4x4", "8x8"):
        raise ValueError(f"map_name={map_name!r}: rlkit ships the 4x4 and 8x8 maps")
    return make(f"rlkit/frozen_lake_{map_name}-v0", **kwargs)


def CliffWalking(**kwargs) -> gym.Env:
    """Gymnasium's ``CliffWalking-v1`` (Sutton & Barto Example 6.6), rlkit's model."""
    return make("rlkit/cliff_walking-v0", **kwargs)
