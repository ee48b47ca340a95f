"""rlkit environments as Gymnasium environments."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import colorize

from . import _common, _rlkit

# RGB colours of map cells, by default-legend symbol.
_COLOURS = {
    ".": (235, 242, 250),  # free
    "S": (250, 240, 200),  # start
    "#": (60, 60, 60),  # wall
    "X": (240, 160, 60),  # forbidden
    "T": (120, 200, 120),  # target
    "G": (60, 170, 80),  # goal
    "H": (40, 70, 140),  # hole
    "C": (30, 30, 30),  # cliff
    "E": (150, 150, 150),  # terminal
}
_AGENT = np.array((220, 40, 40), dtype=np.uint8)
_CELL = 32  # pixels per cell


def _disc(size: int) -> np.ndarray:
    """A boolean mask of a filled circle in a size x size square."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2
    return (x - c) ** 2 + (y - c) ** 2 <= (size * 0.35) ** 2


class RlkitEnv(gym.Env):
    """One rlkit environment (any ``envs/*.toml`` or your own env file) as a ``gymnasium.Env``.

    Args:
        env: a registered id (``"rlkit/frozen_lake_8x8-v0"``), a path to an env file, or the
            path of a shipped env (``"envs/frozen_lake_8x8.toml"``, found from any directory).
        obs: the observation: ``"index"`` (``Discrete(n)``, the default for finite worlds),
            ``"coords"`` (``MultiDiscrete([H, W])``), ``"coords_normalized"`` (``Box([0, 1]^2)``),
            ``"one_hot"`` (``MultiBinary([4, H, W])``: agent, target/goal, forbidden/hole/cliff,
            walls), ``"features"`` (``Box``, from ``features``), ``"raw"`` (the env's raw
            observation; the default for continuous tasks such as Mountain Car).
        features: feature columns for ``obs="features"``, a list of dicts as in
            ``docs/features.md`` (default ``[{"kind": "one_hot_state"}]``).
        render_mode: ``None``, ``"rgb_array"`` or ``"ansi"`` (grids and finite MDPs).
        overrides: ``{"key": value}`` applied to the env file (rlkit's ``--set``).

    The unwrapped env never truncates; the env file's ``max_steps`` is the ``TimeLimit`` that
    ``gymnasium.make`` / ``rlkit.make`` wrap around it, as for Gymnasium's own envs.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        env: str = "rlkit/zhao_5x5-v0",
        obs: Optional[str] = None,
        features: Optional[Sequence[Mapping[str, Any]]] = None,
        render_mode: Optional[str] = None,
        overrides: Optional[Mapping[str, Any]] = None,
    ):
        self._core = _common.make_core(env, obs, features, overrides, 1)
        core = self._core
        self.name = core.name
        self.kind = core.kind
        self.obs_mode = core.obs_mode
        self.gamma = core.gamma
        #: The env file's own step limit (``max_steps``), used as the TimeLimit.
        self.max_episode_steps = core.default_limit
        self.action_names = list(core.action_names)
        self.observation_space = _common.observation_space(core)
        self.action_space = spaces.Discrete(core.n_actions)
        modes = ["rgb_array", "ansi"] if core.kind != "continuous" else []
        if core.kind == "continuous" and list(core.raw_names) == ["position", "velocity"]:
            modes = ["rgb_array"]
        self.metadata = {"render_modes": modes, "render_fps": 4 if core.kind != "continuous" else 30}
        if render_mode is not None and render_mode not in modes:
            raise ValueError(f"render_mode={render_mode!r} is not supported by `{self.name}`; valid: {modes}")
        self.render_mode = render_mode
        if core.kind != "continuous":
            self.n_states = core.n_states
            self.P = core.P()
            self.state_labels = list(core.state_labels)
        self._obs = np.zeros(_common.buffer_shape(core, 1), dtype=np.dtype(core.obs_dtype))
        self._act = np.zeros(1, dtype=np.int64)
        self._rew = np.zeros(1, dtype=np.float64)
        self._term = np.zeros(1, dtype=bool)
        self._trunc = np.zeros(1, dtype=bool)
        self._states = np.zeros(1, dtype=np.int64)
        self._probs = np.ones(1, dtype=np.float64)
        self._rust_seeded = False
        self._last_action: Optional[int] = None

    # -- Gymnasium API ------------------------------------------------------------------

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        """Start an episode; ``seed`` seeds ``np_random``, and the Rust env from it."""
        super().reset(seed=seed)
        if seed is not None or not self._rust_seeded:
            self._core.seed(0, int(self.np_random.integers(0, 2**63 - 1)))
            self._rust_seeded = True
        self._core.reset(self._obs, self._states)
        self._last_action = None
        return self._observation(), self._info()

    def step(self, action):
        """Take ``action``: ``(obs, reward, terminated, truncated, info)``."""
        self._act[0] = _common.action_index(action, self.action_space.n)
        self._core.step(self._act, self._obs, self._rew, self._term, self._trunc, self._states, self._probs)
        self._last_action = int(self._act[0])
        return self._observation(), float(self._rew[0]), bool(self._term[0]), bool(self._trunc[0]), self._info()

    def render(self):
        """An RGB array (``rgb_array``) or text (``ansi``) of the current state."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; make the env with render_mode='rgb_array' or 'ansi'")
            return None
        if self.render_mode == "ansi":
            return self._render_ansi()
        if self.kind == "continuous":
            return self._render_mountain_car()
        return self._render_grid_rgb()

    # -- helpers --------------------------------------------------------------------------

    @property
    def state(self) -> int:
        """The current state index (finite worlds)."""
        return int(self._states[0])

    def _observation(self):
        if self.obs_mode == "index":
            return int(self._obs[0])
        return self._obs[0].copy()

    def _info(self) -> dict:
        if self.kind == "continuous":
            return {}
        return {"prob": float(self._probs[0]), "state": int(self._states[0])}

    def _render_ansi(self) -> str:
        s = self.state
        lines = []
        if self._last_action is not None:
            lines.append(f"  ({self.action_names[self._last_action]})")
        if self.kind == "grid":
            h, w = self._core.grid_shape
            sym = self._core.grid_symbols
            for r in range(h):
                row = ""
                for c in range(w):
                    ch = sym[r * w + c]
                    row += colorize(ch, "red", highlight=True) if r * w + c == s else ch
                lines.append(row)
        else:
            lines.append(" ".join(f"[{n}]" if i == s else n for i, n in enumerate(self.state_labels)))
        return "\n".join(lines) + "\n"

    def _render_grid_rgb(self) -> np.ndarray:
        if not hasattr(self, "_base_img"):
            if self.kind == "grid":
                h, w = self._core.grid_shape
                sym = self._core.grid_symbols
                cols = np.array([_COLOURS.get(ch, _COLOURS["."]) for ch in sym], dtype=np.uint8).reshape(h, w, 3)
            else:  # a finite MDP: one cell per state, in a row
                h, w = 1, self.n_states
                fixed = np.asarray(self._core.fixed)
                cols = np.where(fixed[:, None], np.array(_COLOURS["E"]), np.array(_COLOURS["."])).astype(np.uint8)
                cols = cols.reshape(1, w, 3)
            img = np.repeat(np.repeat(cols, _CELL, axis=0), _CELL, axis=1)
            img[::_CELL, :, :] = 90  # grid lines
            img[:, ::_CELL, :] = 90
            self._base_img = img
            self._width = w
            self._disc = _disc(_CELL)
        img = self._base_img.copy()
        r, c = divmod(self.state, self._width)
        cell = img[r * _CELL : (r + 1) * _CELL, c * _CELL : (c + 1) * _CELL]
        cell[self._disc] = _AGENT
        return img

    def _render_mountain_car(self) -> np.ndarray:
        # The raw observation is [position, velocity]: read it back from the core.
        pos = float(self._core.raw_obs(0)[0])
        w, h = 300, 200
        img = np.full((h, w, 3), 255, dtype=np.uint8)
        xs = np.linspace(-1.2, 0.6, w)
        ys = np.sin(3 * xs) * 0.45 + 0.55
        rows = (h - 1 - ys * (h - 20)).astype(int)
        img[rows, np.arange(w)] = (40, 40, 40)
        gx = int((0.5 + 1.2) / 1.8 * (w - 1))
        img[max(0, rows[gx] - 25) : rows[gx], gx] = (60, 170, 80)  # the flag
        px = int(np.clip((pos + 1.2) / 1.8 * (w - 1), 0, w - 1))
        py = rows[px]
        img[max(0, py - 8) : py, max(0, px - 5) : px + 5] = _AGENT
        return img
