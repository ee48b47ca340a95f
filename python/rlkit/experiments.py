"""rlkit experiments and DP solvers from Python."""

from __future__ import annotations

import csv
import json
import os
from typing import Any, Mapping, Optional

import numpy as np

from . import _common, _rlkit


def _column(values: list) -> Any:
    """A CSV column as an int64 or float64 array if every cell is a number, else a list."""
    try:
        ints = [int(v) for v in values]
        return np.asarray(ints, dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.asarray([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return list(values)


def read_table(path: str | os.PathLike) -> dict:
    """A tidy CSV table as ``{column: numpy array (numbers) or list (text)}``."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {name: _column([r[i] if i < len(r) else "" for r in body]) for i, name in enumerate(header)}


def run(
    experiment: str | os.PathLike,
    out: Optional[str | os.PathLike] = None,
    seeds: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    force: bool = False,
) -> dict:
    """Run an experiment file, as ``rlkit run EXP --out OUT --seeds N --set K=V [--force]``.

    ``out=None`` writes to ``runs/<name>/<timestamp>`` (a new directory each run). A
    non-empty ``out`` is refused unless ``force=True``, which replaces a directory rlkit
    wrote, once the run has succeeded.

    Returns ``{"out_dir", "summary", "tables", "files", "warnings"}``: ``summary`` is
    ``summary.json`` as a dict, ``tables`` maps each CSV's stem (``iterations``, ``values``,
    ``policy``, ``episodes``, ...) to ``{column: numpy array or list of str}``.
    Bad input raises :class:`rlkit.ConfigError` with rlkit's message (file:line:col).
    """
    out_dir, files, warnings = _rlkit.run_experiment(
        os.fspath(experiment),
        None if out is None else os.fspath(out),
        None if seeds is None else int(seeds),
        _common.overrides_to_sets(overrides),
        bool(force),
    )
    out_dir = os.fspath(out_dir)
    summary_path = os.path.join(out_dir, "summary.json")
    summary = {}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    tables = {}
    for name in sorted(os.listdir(out_dir)):
        if name.endswith(".csv"):
            tables[name[:-4]] = read_table(os.path.join(out_dir, name))
    return {
        "out_dir": out_dir,
        "summary": summary,
        "tables": tables,
        "files": [os.fspath(p) for p in files],
        "warnings": list(warnings),
    }


def solve(
    env: str | os.PathLike,
    algo: str = "value-iteration",
    gamma: Optional[float] = None,
    tol: float = 1e-10,
    sweeps: int = 5,
    policy: Any = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> dict:
    """Solve a finite env by dynamic programming, as ``rlkit solve``.

    ``algo``: ``"value-iteration"`` (default), ``"policy-iteration"``,
    ``"truncated-policy-iteration"`` (``sweeps`` per step) or ``"policy-evaluation"`` of
    ``policy`` (``None``: uniform; an ``(n_states, n_actions)`` array of probabilities; or an
    ``(n_states,)`` array of actions). Returns ``{"values": float64[n_states], "policy":
    int64[n_states] greedy actions (None when evaluating a stochastic policy), "converged",
    "sweeps"}``, plus ``"values_grid"`` (``H x W``) for a gridworld.
    """
    sets = _common.overrides_to_sets(overrides)
    if gamma is not None:
        sets.append(("gamma", _common.toml_literal(float(gamma))))
    file, text = _common.resolve_env(env)
    pol = None
    if policy is not None:
        p = np.asarray(policy)
        if p.ndim == 1:
            core = _common.make_core(env, None, None, overrides, 1)
            if p.dtype.kind not in "iu" or np.any(p < 0) or np.any(p >= core.n_actions):
                raise _rlkit.ConfigError(f"policy: a 1-d policy lists one action in 0..{core.n_actions - 1} per state")
            onehot = np.zeros((p.shape[0], core.n_actions))
            onehot[np.arange(p.shape[0]), p] = 1.0
            p = onehot
        pol = np.ascontiguousarray(p, dtype=np.float64).reshape(-1)
    values, actions, converged, n_sweeps = _rlkit.solve(file, text, sets, algo, float(tol), int(sweeps), pol)
    out = {"values": values, "policy": actions, "converged": bool(converged), "sweeps": int(n_sweeps)}
    core = _common.make_core(env, None, None, overrides, 1)
    if core.grid_shape is not None:
        out["values_grid"] = values.reshape(core.grid_shape)
    return out
