"""A batched vector env: N text-generation episodes stepped together as numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from textgym.envs.text_gen import TextGenEnv, choose_prompt_index


class TextGenVectorEnv(VectorEnv):
    """N episodes of one :class:`TextGenEnv` task in numpy arrays of shape (N, max_length).

    Behaves exactly like ``gymnasium.vector.SyncVectorEnv`` over N copies of the env (the
    tests check it): slot ``i`` is seeded with ``seed + i``; with
    ``AutoresetMode.NEXT_STEP`` (default) finished slots are reset on the *next* ``step``,
    which ignores their action and returns reward 0; with ``AutoresetMode.SAME_STEP`` they
    are reset at once and ``info["final_obs"]`` / ``info["final_info"]`` hold the finished
    episode's last observation and info. What it adds is speed: appending tokens is array
    work, and all episodes that finish in a step are scored with **one** batched reward call
    (all active ones, in immediate mode).

    **Prompt groups** (``group_size=G``, for group-relative algorithms such as GRPO and RLOO):
    consecutive slots in blocks of G start each episode from the same prompt, drawn with the
    generator of the block's first slot (so ``G=1`` is the plain behaviour above). A slot
    whose episode has ended *waits* until every slot of its group has finished: its action
    is ignored, its observation stays the finished token state, its reward is 0 and it is
    neither terminated nor truncated again; ``info["waiting"]`` marks it, and a collector
    must record nothing for it. Only then is the group reset (at once with ``SAME_STEP``, on
    the next step with ``NEXT_STEP``), so every group is complete. ``info["group_id"]``
    numbers the group's episode (a new id at each group reset, unique within this env).
    The cost is idle slots: a group holds its slots until its longest episode ends, so with
    episodes of very different lengths up to ``(G - 1) / G`` of the slots can idle at a step.

    **No autoreset** (``AutoresetMode.DISABLED``): a finished slot waits as above until
    ``reset()`` or ``reset(options={"reset_mask": mask})`` resets it (whole groups only).
    Collectors that gather whole episodes per update use this.

    Args:
        env: The single env whose task, tokenizer and reward are shared by all slots.
        num_envs: Number of slots N.
        autoreset_mode: ``AutoresetMode.NEXT_STEP``, ``SAME_STEP`` or ``DISABLED``.
        group_size: Slots per prompt group G; ``num_envs`` must be a multiple of it.

    Raises:
        ValueError: If ``num_envs`` is not a positive multiple of ``group_size``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi"]}

    def __init__(
        self,
        env: TextGenEnv,
        num_envs: int,
        autoreset_mode: AutoresetMode = AutoresetMode.NEXT_STEP,
        group_size: int = 1,
    ):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if group_size < 1 or num_envs % group_size:
            raise ValueError(
                f"num_envs={num_envs} must be a multiple of group_size={group_size} (each group of "
                "slots shares one prompt)"
            )
        if autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED):
            raise ValueError(f"autoreset_mode must be NEXT_STEP, SAME_STEP or DISABLED, got {autoreset_mode}")
        self.metadata = {**self.metadata, "autoreset_mode": autoreset_mode}
        self.env = env
        self.num_envs = num_envs
        self.group_size = int(group_size)
        self.render_mode = "ansi" if env.render_mode else None
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        self.observation_space = batch_space(env.observation_space, num_envs)
        self.action_space = batch_space(env.action_space, num_envs)
        n, length = num_envs, env.max_length
        self._ids = np.full((n, length), env.pad_token_id, dtype=np.int64)
        self._mask = np.zeros((n, length), dtype=np.int64)
        self._prompt_index = np.zeros(n, dtype=np.int64)
        self._prompt_len = np.zeros(n, dtype=np.int64)
        self._n_new = np.zeros(n, dtype=np.int64)
        self._last_score = np.zeros(n)
        self._autoreset = np.zeros(n, dtype=bool)
        self._waiting = np.zeros(n, dtype=bool)  # finished, waiting for its group (or a reset)
        self._group_id = np.zeros(n, dtype=np.int64)
        self._next_group_id = 0
        self._stop_ids = np.array(sorted(env.stop_token_ids), dtype=np.int64)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._started = False

    def _obs(self) -> dict[str, np.ndarray]:
        return {"input_ids": self._ids.copy(), "attention_mask": self._mask.copy()}

    @property
    def _grouped(self) -> bool:
        return self.group_size > 1 or self.metadata["autoreset_mode"] == AutoresetMode.DISABLED

    def _seed_slot(self, i: int, seed: int | None) -> None:
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)

    def _reset_group(self, first: int) -> list[dict[str, Any]]:
        """Reset the group whose first slot is ``first``; one prompt draw, shared by its slots."""
        # Same draw as TextGenEnv.reset so that slot i matches env i of a SyncVectorEnv (G=1).
        rng = self._rngs[first]
        assert rng is not None
        index = choose_prompt_index(rng, None, len(self.env.prompts))
        group_id = self._next_group_id
        self._next_group_id += 1
        infos = []
        for i in range(first, first + self.group_size):
            infos.append(self._start_episode(i, index))
            self._group_id[i] = group_id
        return infos

    def _start_episode(self, i: int, index: int) -> dict[str, Any]:
        ids = self.env.prompt_ids[index]
        self._ids[i].fill(self.env.pad_token_id)
        self._mask[i].fill(0)
        self._ids[i, : len(ids)] = ids
        self._mask[i, : len(ids)] = 1
        self._prompt_index[i] = index
        self._prompt_len[i] = len(ids)
        self._n_new[i] = 0
        self._last_score[i] = 0.0
        self._autoreset[i] = False
        self._waiting[i] = False
        return {"prompt": self.env.prompts[index]}

    def _slot_info(self, info: dict[str, Any], i: int) -> dict[str, Any]:
        if self._grouped:
            info = {**info, "group_id": int(self._group_id[i]), "waiting": bool(self._waiting[i])}
        return info

    def _check_reset_mask(self, mask: Any) -> np.ndarray:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(f"options['reset_mask'] must be a bool numpy array of shape ({self.num_envs},)")
        per_group = mask.reshape(-1, self.group_size)
        if (per_group.any(axis=1) != per_group.all(axis=1)).any():
            raise ValueError(f"options['reset_mask'] must reset whole groups of group_size={self.group_size} slots")
        return mask

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every slot (or the groups in ``options["reset_mask"]``); an int seed gives slot i ``seed + i``."""
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"got {len(seed)} seeds for {self.num_envs} envs")
            seeds = list(seed)
        mask = np.ones(self.num_envs, dtype=bool)
        if options and "reset_mask" in options:
            mask = self._check_reset_mask(options["reset_mask"])
        infos: dict[str, Any] = {}
        for i, s in enumerate(seeds):
            if mask[i]:
                self._seed_slot(i, s)
        for first in range(0, self.num_envs, self.group_size):
            if mask[first]:
                for k, info in enumerate(self._reset_group(first)):
                    infos = self._add_info(infos, self._slot_info(info, first + k), first + k)
        self._started = True
        return self._obs(), infos

    def step(self, actions: Any) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append one token per active slot; score every episode that ends here in one call."""
        if not self._started:
            raise RuntimeError("step() called before reset()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        env = self.env
        mode = self.metadata["autoreset_mode"]
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        was_done = self._autoreset.copy()  # slots reset by this step (NEXT_STEP mode) take no action
        for first in np.flatnonzero(was_done[:: self.group_size]) * self.group_size:
            for k, info in enumerate(self._reset_group(int(first))):
                infos = self._add_info(infos, self._slot_info(info, int(first) + k), int(first) + k)
        # Waiting slots (finished, their group or a reset still to come) take no action either.
        active = np.flatnonzero(~was_done & ~self._waiting)
        acts = actions[active]
        if not np.issubdtype(acts.dtype, np.integer) or ((acts < 0) | (acts >= env.vocab_size)).any():
            for a in acts:  # the single-env check names the offending action
                env.validate_action(a)
        pos = self._prompt_len[active] + self._n_new[active]
        self._ids[active, pos] = acts
        self._mask[active, pos] = 1
        self._n_new[active] += 1
        terminated[active] = np.isin(acts, self._stop_ids)
        truncated[active] = ~terminated[active] & (self._n_new[active] >= env.max_new_tokens)
        done = terminated | truncated
        to_score = active if env.reward_mode == "immediate" else np.flatnonzero(done)
        if len(to_score):
            prompts = [env.prompts[self._prompt_index[i]] for i in to_score]
            completions = [self._completion(int(i)) for i in to_score]
            out = env.score(prompts, completions)
            for k, i in enumerate(to_score):
                score = float(out.total[k])
                rewards[i] = score - self._last_score[i] if env.reward_mode == "immediate" else score
                self._last_score[i] = score
                if done[i]:
                    info = {
                        "prompt": prompts[k],
                        "completion": completions[k],
                        "reward_components": {c: float(v[k]) for c, v in out.components.items()},
                        "budget_exhausted": bool(truncated[i]),
                    }
                    infos = self._add_info(infos, self._slot_info(info, int(i)), int(i))
        if self._grouped:
            self._waiting |= done
            for i in np.flatnonzero(self._waiting & ~done):  # still waiting: say so
                infos = self._add_info(infos, self._slot_info({}, int(i)), int(i))
        # Groups whose every slot has now finished (with G=1: every slot that finished).
        complete = np.zeros(self.num_envs, dtype=bool)
        if mode != AutoresetMode.DISABLED:
            finished = self._waiting | done
            complete = np.repeat(finished.reshape(-1, self.group_size).all(axis=1), self.group_size)
        if mode == AutoresetMode.SAME_STEP:
            final_obs = self._obs()
            for i in np.flatnonzero(done & complete):
                final = {"final_obs": {k: v[i] for k, v in final_obs.items()}, "final_info": {}}
                if "prompt" in infos and infos["_prompt"][i]:
                    final["final_info"] = {
                        "prompt": infos["prompt"][i],
                        "completion": infos["completion"][i],
                        "reward_components": {
                            c: float(v[i]) for c, v in infos["reward_components"].items() if not c.startswith("_")
                        },
                        "budget_exhausted": bool(infos["budget_exhausted"][i]),
                    }
                infos = self._add_info(infos, final, int(i))
            for first in np.flatnonzero(complete[:: self.group_size]) * self.group_size:
                for k, reset_info in enumerate(self._reset_group(int(first))):
                    i = int(first) + k
                    if "prompt" in infos and infos["_prompt"][i]:
                        infos["prompt"][i] = reset_info["prompt"]  # the new episode's prompt, as after reset()
                        if self._grouped:
                            infos["group_id"][i] = self._group_id[i]
                            infos["waiting"][i] = False
                    else:
                        infos = self._add_info(infos, self._slot_info(reset_info, i), i)
        elif mode == AutoresetMode.NEXT_STEP:
            self._autoreset = complete
        return self._obs(), rewards, terminated, truncated, infos

    def _completion(self, i: int) -> str:
        start = self._prompt_len[i]
        return self.env.decode_completion(self._ids[i, start : start + self._n_new[i]])

    def render(self) -> tuple[str, ...] | None:
        """``"prompt || completion"`` of each slot (ansi)."""
        if self.render_mode is None:
            return None
        return tuple(
            f"{self.env.prompts[self._prompt_index[i]]} || {self._completion(i)}" for i in range(self.num_envs)
        )
