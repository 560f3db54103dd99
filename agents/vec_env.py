"""An SB3 ``VecEnv`` over textgym's batched vector env.

SB3's ``DummyVecEnv`` steps N wrapped envs one by one in Python; for a token-level env whose
step is a few array writes, that loop costs more than the language model's one-token forward.
This adapter steps all N episodes as arrays (:class:`textgym.envs.TextGenVectorEnv` in
``SAME_STEP`` autoreset mode) and speaks SB3's protocol as ``DummyVecEnv`` does: each slot's
info is the single env's (:meth:`textgym.envs.TextGenEnv.final_info` at the end of an
episode) with ``TimeLimit.truncated``; finished slots are reset at once, with
``terminal_observation`` in their info.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv

from textgym.envs import TextGenEnv, TextGenVectorEnv


class TextGenSB3VecEnv(VecEnv):
    """N episodes of one :class:`TextGenEnv` task, stepped as arrays, for SB3.

    Slot ``i`` is seeded with ``seed + i`` (``VecEnv.seed``), as SB3's ``make_vec_env`` does.

    With ``group_size=G > 1`` consecutive slots in blocks of G share each episode's prompt and
    a finished slot waits for its group (see :class:`textgym.envs.TextGenVectorEnv`); its
    info then has ``"waiting": True`` and ``"group_id"``. SB3's own collectors record every
    slot at every step, waiting or not, so grouped envs are for collectors that read
    ``"waiting"`` (:class:`agents.GRPO`).

    A step whose reward fails (raises, or returns NaN or an infinity) raises and leaves every
    slot as it was (:class:`textgym.envs.TextGenVectorEnv`'s failed steps): calling
    ``step`` again goes on from there.

    Args:
        env: The single env whose task, tokenizer and reward all slots share.
        num_envs: Number of slots.
        group_size: Slots per prompt group; ``num_envs`` must be a multiple of it.
        autoreset_mode: ``SAME_STEP`` (SB3's protocol) or ``DISABLED`` (finished slots wait
            until the collector resets them with :meth:`reset_groups`: whole-episode collection).
    """

    def __init__(
        self,
        env: TextGenEnv,
        num_envs: int,
        group_size: int = 1,
        autoreset_mode: AutoresetMode = AutoresetMode.SAME_STEP,
    ):
        if autoreset_mode not in (AutoresetMode.SAME_STEP, AutoresetMode.DISABLED):
            raise ValueError(f"TextGenSB3VecEnv needs autoreset_mode SAME_STEP or DISABLED, got {autoreset_mode}")
        self.vec = TextGenVectorEnv(env, num_envs, autoreset_mode=autoreset_mode, group_size=group_size)
        self.group_size = group_size
        super().__init__(num_envs, env.observation_space, env.action_space)
        self._actions: np.ndarray | None = None

    @property
    def max_new_tokens(self) -> int:
        """Each episode's budget of agent tokens: the shared env's ``max_new_tokens``."""
        return int(self.vec.env.max_new_tokens)

    def reset(self) -> dict[str, np.ndarray]:
        seeds = [s if s is None else int(s) for s in self._seeds]
        obs, _ = self.vec.reset(seed=seeds)
        self.reset_infos = [dict(info) for info in self.vec.reset_infos]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, terminated, truncated, infos = self.vec.step(self._actions)
        dones = terminated | truncated
        # Each slot's info as the single env returned it (TextGenEnv.final_info at the end), plus
        # what SB3's DummyVecEnv adds: TimeLimit.truncated, and the terminal observation.
        out = [
            {**self.vec.step_infos[i], "TimeLimit.truncated": bool(truncated[i] and not terminated[i])}
            for i in range(self.num_envs)
        ]
        for i in np.flatnonzero(dones):
            # A slot reset at once reports its last observation in final_obs; one that waits for
            # its group (or for the collector) still shows it in obs.
            if "final_obs" in infos and infos["_final_obs"][i]:
                out[i]["terminal_observation"] = infos["final_obs"][i]
                self.reset_infos[i] = dict(self.vec.reset_infos[i])
            else:
                out[i]["terminal_observation"] = {k: v[i].copy() for k, v in obs.items()}
        for i in np.flatnonzero(~dones):
            if self.vec.group_size > 1 and "group_id" in infos and infos["_group_id"][i]:
                out[i].setdefault("group_id", int(infos["group_id"][i]))
                out[i].setdefault("waiting", bool(infos["waiting"][i]))
        return obs, rewards.astype(np.float32), dones, out

    def reset_groups(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Reset the slots in ``mask`` (whole groups) and return every slot's observation."""
        obs, _ = self.vec.reset(options={"reset_mask": mask})
        for i in np.flatnonzero(mask):
            self.reset_infos[i] = dict(self.vec.reset_infos[i])
        return obs

    def close(self) -> None:
        self.vec.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.vec.env, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        raise AttributeError("the slots of TextGenSB3VecEnv share one env; set attributes on it before wrapping")

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
        raise AttributeError("the slots of TextGenSB3VecEnv share one env; call its methods directly")

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs
