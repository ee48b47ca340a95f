"""Shared helpers: resolving env names, overrides, spaces."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np
from gymnasium import spaces

from . import _rlkit

#: The shipped env files, ``{stem: TOML text}`` (embedded from the repository's ``envs/*.toml``).
SHIPPED_ENVS = dict(_rlkit.shipped_envs())

NAMESPACE = "rlkit"


def env_id(stem: str) -> str:
    """The Gymnasium id of a shipped env: ``rlkit/<stem>-v0``."""
    return f"{NAMESPACE}/{stem}-v0"


def resolve_env(env: str | os.PathLike) -> Tuple[str, Optional[str]]:
    """Where an env comes from: ``(file label, TOML text or None to read the file)``.

    Accepts a registered id (``rlkit/frozen_lake_8x8-v0``), a path to an env file, or the
    path of a shipped env (``envs/frozen_lake_8x8.toml``), which works from any directory.
    """
    s = os.fspath(env)
    if s.startswith(NAMESPACE + "/") and s.endswith("-v0"):
        stem = s[len(NAMESPACE) + 1 : -3]
        if stem not in SHIPPED_ENVS:
            raise _rlkit.ConfigError(
                f"unknown env id `{s}`; shipped: {', '.join(env_id(k) for k in sorted(SHIPPED_ENVS))}"
            )
        return f"envs/{stem}.toml", SHIPPED_ENVS[stem]
    if os.path.exists(s):
        return s, None
    head, name = os.path.split(s)
    stem, ext = os.path.splitext(name)
    if ext == ".toml" and os.path.basename(head) in ("envs", "") and stem in SHIPPED_ENVS:
        return s, SHIPPED_ENVS[stem]
    return s, None


def toml_literal(v: Any) -> str:
    """A Python value written as a TOML value (for ``overrides``)."""
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_literal(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(toml_literal(x) for x in v) + "]"
    raise _rlkit.ConfigError(f"override value {v!r}: cannot be written as TOML (use bool, int, float, str, list or dict)")


def overrides_to_sets(overrides: Optional[Mapping[str, Any]]) -> list:
    """``{"rewards.forbidden": -10}`` → ``[("rewards.forbidden", "-10")]`` (rlkit's ``--set``)."""
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        raise _rlkit.ConfigError(f"overrides must be a dict of key -> value, not {type(overrides).__name__}")
    return [(str(k), toml_literal(v)) for k, v in overrides.items()]


def features_json(features: Optional[Sequence[Mapping[str, Any]]]) -> Optional[str]:
    """Feature columns (a list of dicts, as in ``docs/features.md``) as JSON for the core."""
    if features is None:
        return None
    try:
        return json.dumps(list(features))
    except (TypeError, ValueError) as e:
        raise _rlkit.ConfigError(f"features: {e}") from None


def make_core(env, obs=None, features=None, overrides=None, n: int = 1) -> "_rlkit.Batch":
    """The Rust batch of ``n`` copies of ``env``."""
    file, text = resolve_env(env)
    return _rlkit.Batch(
        file, text, overrides_to_sets(overrides), "auto" if obs is None else obs, features_json(features), int(n)
    )


def observation_space(core) -> spaces.Space:
    """The single-env observation space of a core's observation mode."""
    shape = tuple(core.obs_shape)
    low, high = core.obs_bounds()
    mode = core.obs_mode
    if mode == "index":
        return spaces.Discrete(core.n_states)
    if mode == "one_hot":
        return spaces.MultiBinary(list(shape))
    if core.obs_dtype == "int64":
        # coords, or the raw [state, row, col] of a finite world.
        return spaces.MultiDiscrete(np.asarray(high, dtype=np.int64).reshape(shape) + 1)
    lo = np.asarray(low, dtype=np.float64).reshape(shape).astype(np.float32)
    hi = np.asarray(high, dtype=np.float64).reshape(shape).astype(np.float32)
    return spaces.Box(lo, hi, shape=shape, dtype=np.float32)


def buffer_shape(core, n: int) -> tuple:
    """The shape of the observation buffer of ``n`` copies (``(n,)`` for state indices)."""
    return (n,) if core.obs_mode == "index" else (n, *core.obs_shape)


def action_index(action: Any, n: int) -> int:
    """An action as an index, or a ValueError naming the action space."""
    try:
        a = int(np.asarray(action).item()) if not isinstance(action, (int, np.integer)) else int(action)
        ok = float(np.asarray(action).item()) == a
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"action {action!r} is not an integer in the action space Discrete({n})")
    return a
