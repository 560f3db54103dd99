"""A batched vector env: N text-generation episodes stepped together as numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from textgym.envs.episodes import EpisodeSlots
from textgym.envs.text_gen import TextGenEnv, choose_prompt_index, requested_prompt_index


class TextGenVectorEnv(VectorEnv):
    """N episodes of one :class:`TextGenEnv` task in numpy arrays of shape (N, max_length).

    Behaves exactly like ``gymnasium.vector.SyncVectorEnv`` over N copies of the env (the
    tests check it): slot ``i`` is seeded with ``seed + i``; with
    ``AutoresetMode.NEXT_STEP`` (default) finished slots are reset on the *next* ``step``,
    which ignores their action and returns reward 0; with ``AutoresetMode.SAME_STEP`` they
    are reset at once and ``info["final_obs"]`` / ``info["final_info"]`` hold the finished
    episode's last observation and info. Multi-turn envs work too: the env's turn hooks
    (:meth:`TextGenEnv.end_turn`) run per slot, and the context they add (a simulated
    user's turn) is appended to that slot's tokens, never taken as an action. The MDP itself
    is :class:`~textgym.envs.episodes.EpisodeSlots`, shared with the single env. What this
    adds is speed: appending tokens is array work, and all replies that are scored in a step
    are scored with **one** batched reward call.

    ``reset(options={"prompt_index": i})`` starts every slot from prompt ``i``.

    Besides gymnasium's batched ``info``, :attr:`step_infos` and :attr:`reset_infos` hold
    each slot's ``info`` of its latest step and reset as the single env returns them (for
    the SB3 adapter in ``agents``, which needs them per slot).

    Args:
        env: The single env whose task, tokenizer, reward and hooks are shared by all slots.
        num_envs: Number of slots N.
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` or ``AutoresetMode.SAME_STEP``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi"]}

    def __init__(self, env: TextGenEnv, num_envs: int, autoreset_mode: AutoresetMode = AutoresetMode.NEXT_STEP):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode must be NEXT_STEP or SAME_STEP, got {autoreset_mode}")
        self.metadata = {**self.metadata, "autoreset_mode": autoreset_mode}
        self.env = env
        self.num_envs = num_envs
        self.render_mode = "ansi" if env.render_mode else None
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        self.observation_space = batch_space(env.observation_space, num_envs)
        self.action_space = batch_space(env.action_space, num_envs)
        self._slots = EpisodeSlots(env, num_envs)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._started = False
        #: The info each slot's latest step returned, unbatched (``{}`` for a slot reset in it).
        self.step_infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
        #: Each slot's latest reset info, unbatched.
        self.reset_infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]

    def _obs(self) -> dict[str, np.ndarray]:
        return self._slots.obs()

    def _reset_slot(self, i: int, seed: int | None, options: dict[str, Any] | None = None) -> dict[str, Any]:
        # Same draw as TextGenEnv.reset so that slot i matches env i of a SyncVectorEnv.
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)
        rng = self._rngs[i]
        assert rng is not None
        index = choose_prompt_index(rng, options, len(self.env.prompts), self.env.prompt_noun)
        self._autoreset[i] = False
        self.reset_infos[i] = self._slots.begin(i, index)
        return self.reset_infos[i]

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every slot; an int seed gives slot i the seed ``seed + i``.

        ``options`` go to every slot, as ``SyncVectorEnv`` does: ``{"prompt_index": i}``
        starts them all from prompt ``i``.

        Raises:
            ValueError: If the seeds do not match the slots, or ``prompt_index`` is out of range.
        """
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"got {len(seed)} seeds for {self.num_envs} envs")
            seeds = list(seed)
        requested_prompt_index(options, len(self.env.prompts), self.env.prompt_noun)  # raise before any slot changes
        infos: dict[str, Any] = {}
        for i, s in enumerate(seeds):
            infos = self._add_info(infos, self._reset_slot(i, s, options), i)
        self.step_infos = [{} for _ in range(self.num_envs)]
        self._started = True
        return self._obs(), infos

    def _check_actions(self, actions: np.ndarray) -> None:
        env = self.env
        if not np.issubdtype(actions.dtype, np.integer) or ((actions < 0) | (actions >= env.vocab_size)).any():
            for a in actions:  # the single-env check names the offending action
                env.validate_action(a)

    def step(self, actions: Any) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append one token per slot; score every reply that is due in one call."""
        if not self._started:
            raise RuntimeError("step() called before reset()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        self.step_infos = [{} for _ in range(self.num_envs)]
        was_done = self._autoreset.copy()  # slots reset by this step (NEXT_STEP mode) take no action
        for i in np.flatnonzero(was_done):
            infos = self._add_info(infos, self._reset_slot(int(i), None), int(i))
        active = np.flatnonzero(~was_done)
        acts = actions[active]
        self._check_actions(acts)
        out = self._slots.step(active, acts.astype(np.int64))
        rewards[active], terminated[active], truncated[active] = out.rewards, out.terminated, out.truncated
        for k, i in enumerate(active):
            self.step_infos[i] = out.infos[k]
        done = terminated | truncated
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            final_obs = self._obs()
            for i in active:
                info = self.step_infos[i]
                if done[i]:  # as SyncVectorEnv: the finished episode goes to final_*, then reset
                    final = {"final_obs": {k: v[i] for k, v in final_obs.items()}, "final_info": info}
                    infos = self._add_info(infos, final, int(i))
                    info = self._reset_slot(int(i), None)
                infos = self._add_info(infos, info, int(i))
        else:
            for i in active:
                infos = self._add_info(infos, self.step_infos[i], int(i))
            self._autoreset = done
        return self._obs(), rewards, terminated, truncated, infos

    def render(self) -> tuple[str, ...] | None:
        """Each slot rendered as the single env renders it (:meth:`TextGenEnv.render_text`)."""
        if self.render_mode is None:
            return None
        return tuple(self.env.render_text(self._slots.episode(i), self._slots.replies(i)) for i in range(self.num_envs))
