"""A batched vector env: N text-generation episodes stepped together as numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from textgym.envs.episodes import EpisodeSlots
from textgym.envs.text_gen import TextGenEnv, choose_prompt_index, requested_prompt_index
from textgym.validation import check_int


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

    **Failed steps** are all or nothing, as in the single env (see Failed steps in
    :class:`TextGenEnv`): if the reward raises or returns an invalid value, a turn hook raises,
    or an action is invalid, :meth:`step` raises and changes nothing. No slot advances (the
    reward is one batched call for every slot, so one bad reply stops them all), no finished
    slot is autoreset, and the autoreset and waiting flags, group ids, :attr:`step_infos` and
    :attr:`reset_infos` stay as they were; the next ``step`` goes on from there.

    Besides gymnasium's batched ``info``, :attr:`step_infos` and :attr:`reset_infos` hold
    each slot's ``info`` of its latest step and reset as the single env returns them (for
    the SB3 adapter in ``agents``, which needs them per slot).

    Args:
        env: The single env whose task, tokenizer, reward and hooks are shared by all slots.
        num_envs: Number of slots N.
        autoreset_mode: ``AutoresetMode.NEXT_STEP``, ``SAME_STEP`` or ``DISABLED``.
        group_size: Slots per prompt group G; ``num_envs`` must be a multiple of it.

    Raises:
        TypeError: If ``num_envs`` or ``group_size`` is not an integer (``2.0`` included).
        ValueError: If ``num_envs`` is not a positive multiple of ``group_size``, or the env's
            class is not :attr:`~textgym.envs.TextGenEnv.batchable`.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        env: TextGenEnv,
        num_envs: int,
        autoreset_mode: AutoresetMode = AutoresetMode.NEXT_STEP,
        group_size: int = 1,
    ):
        num_envs = check_int("num_envs", num_envs)
        group_size = check_int("group_size", group_size)
        if not env.batchable:
            raise ValueError(
                f"{type(env).__name__} is not batchable (batchable = False: per-episode state or calls on the "
                "env itself), so its episodes cannot share one template env: use gymnasium's SyncVectorEnv or "
                "SB3's DummyVecEnv"
            )
        if num_envs % group_size:
            raise ValueError(
                f"num_envs={num_envs} must be a multiple of group_size={group_size} (each group of "
                "slots shares one prompt)"
            )
        if autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED):
            raise ValueError(f"autoreset_mode must be NEXT_STEP, SAME_STEP or DISABLED, got {autoreset_mode}")
        self.metadata = {**self.metadata, "autoreset_mode": autoreset_mode}
        self.env = env
        self.num_envs = num_envs
        self.group_size = group_size
        # "human" has no batched form: such an env renders its slots as text.
        self.render_mode = {None: None, "rgb_array": "rgb_array"}.get(env.render_mode, "ansi")
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        self.observation_space = batch_space(env.observation_space, num_envs)
        self.action_space = batch_space(env.action_space, num_envs)
        self._slots = EpisodeSlots(env, num_envs)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._waiting = np.zeros(num_envs, dtype=bool)  # finished, waiting for its group (or a reset)
        self._group_id = np.zeros(num_envs, dtype=np.int64)
        self._next_group_id = 0
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._started = False
        #: The info each slot's latest step returned, unbatched (``{}`` for a slot reset in it).
        self.step_infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
        #: Each slot's latest reset info, unbatched.
        self.reset_infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]

    @property
    def slots(self) -> EpisodeSlots:
        """The N episodes' token state (read it; step the env, not the slots)."""
        return self._slots

    def _obs(self) -> Any:
        return self.env.encode_observation(self._slots.obs())

    @property
    def _grouped(self) -> bool:
        return self.group_size > 1 or self.metadata["autoreset_mode"] == AutoresetMode.DISABLED

    def _seed_slot(self, i: int, seed: int | None) -> None:
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)

    def _reset_group(self, first: int, options: dict[str, Any] | None = None) -> None:
        """Reset the group whose first slot is ``first``: one prompt draw, shared by its slots."""
        # Same draw as TextGenEnv.reset so that slot i matches env i of a SyncVectorEnv (G = 1).
        rng = self._rngs[first]
        assert rng is not None
        index = choose_prompt_index(rng, options, len(self.env.prompts), self.env.prompt_noun)
        group_id = self._next_group_id
        self._next_group_id += 1
        for i in range(first, first + self.group_size):
            self._autoreset[i] = False
            self._waiting[i] = False
            self._group_id[i] = group_id
            info = self.env.output_info(self._slots.begin(i, index), self._slots.episode(i))
            self.reset_infos[i] = self._with_group(info, i)

    def _with_group(self, info: dict[str, Any], i: int) -> dict[str, Any]:
        # Group bookkeeping, present in grouped and no-autoreset envs only.
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

    def _groups_of(self, slots: np.ndarray) -> np.ndarray:
        """First slots of the groups whose slots are all in the bool mask ``slots``, (k,)."""
        return np.flatnonzero(slots.reshape(-1, self.group_size).all(axis=1)) * self.group_size

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every slot (or the groups in ``options["reset_mask"]``); an int seed gives slot i ``seed + i``.

        ``options`` go to every slot, as ``SyncVectorEnv`` does: ``{"prompt_index": i}``
        starts them all from prompt ``i``.

        Raises:
            ValueError: If the seeds do not match the slots, ``prompt_index`` is out of range, or
                ``reset_mask`` is not a bool array of whole groups.
        """
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"got {len(seed)} seeds for {self.num_envs} envs")
            seeds = list(seed)
        options = dict(options or {})
        mask = np.ones(self.num_envs, dtype=bool)
        if "reset_mask" in options:
            mask = self._check_reset_mask(options.pop("reset_mask"))
        requested_prompt_index(options, len(self.env.prompts), self.env.prompt_noun)  # raise before any slot changes
        for i, s in enumerate(seeds):
            if mask[i]:
                self._seed_slot(i, s)
        infos: dict[str, Any] = {}
        for first in self._groups_of(mask):
            self._reset_group(int(first), options)
            for i in range(first, first + self.group_size):
                infos = self._add_info(infos, self.reset_infos[i], int(i))
                self.step_infos[i] = {}
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
        mode = self.metadata["autoreset_mode"]
        was_done = self._autoreset.copy()  # slots reset by this step (NEXT_STEP mode) take no action
        # Waiting slots (finished; their group, or a reset, still to come) take no action either.
        active = np.flatnonzero(~was_done & ~self._waiting)
        acts = actions[active]
        self._check_actions(acts)
        # The slots step first: it is all or nothing (a failing reward raises before any slot
        # changes), and so is this step, since nothing of this env's own changes before it.
        out = self._slots.step(active, acts.astype(np.int64))
        infos: dict[str, Any] = {}
        self.step_infos = [{} for _ in range(self.num_envs)]
        for first in self._groups_of(was_done):
            self._reset_group(int(first))
            for i in range(first, first + self.group_size):
                infos = self._add_info(infos, self.reset_infos[i], int(i))
        rewards[active], terminated[active], truncated[active] = out.rewards, out.terminated, out.truncated
        for k, i in enumerate(active):
            info = self.env.output_info(out.infos[k], self._slots.episode(int(i)))
            self.step_infos[i] = self._with_group(info, int(i))
        done = terminated | truncated
        waiting_before = self._waiting.copy()
        if self._grouped:
            self._waiting |= done
        # Groups whose every slot has now finished (with G = 1: every slot that finished).
        complete = np.zeros(self.num_envs, dtype=bool)
        if mode != AutoresetMode.DISABLED:
            complete = np.repeat((self._waiting | done).reshape(-1, self.group_size).all(axis=1), self.group_size)
        if mode == AutoresetMode.SAME_STEP:
            final_obs = self._obs()
            for i in np.flatnonzero(done & complete):  # as SyncVectorEnv: the finished episode goes to final_*
                slot_obs = {k: v[i] for k, v in final_obs.items()} if isinstance(final_obs, dict) else final_obs[i]
                final = {"final_obs": slot_obs, "final_info": self.step_infos[i]}
                infos = self._add_info(infos, final, int(i))
            for first in self._groups_of(complete):
                self._reset_group(int(first))
            for i in range(self.num_envs):
                if complete[i] and (done[i] or waiting_before[i]):
                    infos = self._add_info(infos, self.reset_infos[i], i)
                elif i in active or waiting_before[i]:
                    infos = self._add_info(infos, self.step_infos[i] or self._with_group({}, i), i)
        else:
            for i in range(self.num_envs):
                if i in active or waiting_before[i]:
                    infos = self._add_info(infos, self.step_infos[i] or self._with_group({}, i), i)
            if mode == AutoresetMode.NEXT_STEP:
                self._autoreset = complete
        return self._obs(), rewards, terminated, truncated, infos

    def render(self) -> tuple[str, ...] | tuple[np.ndarray, ...] | None:
        """Each slot rendered as the single env renders it: text (:meth:`TextGenEnv.render_text`) or an image.

        As ``SyncVectorEnv`` does, a tuple with one text (``"ansi"``) or one ``uint8`` image of
        shape (360, 640, 3) (``"rgb_array"``) per slot.
        """
        if self.render_mode is None:
            return None
        slots = range(self.num_envs)
        texts = tuple(self.env.render_text(self._slots.episode(i), self._slots.replies(i)) for i in slots)
        if self.render_mode == "rgb_array":
            from textgym.render import text_image

            return tuple(text_image(t) for t in texts)
        return texts
