"""Registers every shipped env with Gymnasium as ``rlkit/<stem>-v0``."""

from __future__ import annotations

import gymnasium as gym

from . import _common, _rlkit


def register_envs() -> None:
    """Register ``rlkit/<stem>-v0`` for every shipped ``envs/<stem>.toml`` (idempotent)."""
    for stem, text in sorted(_common.SHIPPED_ENVS.items()):
        eid = _common.env_id(stem)
        if eid in gym.registry:
            continue
        limit = _rlkit.Batch(f"envs/{stem}.toml", text, [], "auto", None, 1).default_limit
        gym.register(
            id=eid,
            entry_point="rlkit.envs:RlkitEnv",
            kwargs={"env": eid},
            max_episode_steps=limit,
        )
