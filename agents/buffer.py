"""Rollout buffer for token-state episodes: O(T) memory, minibatches of whole episode segments."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.buffers import BaseBuffer, DictRolloutBuffer
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

from agents.policy import check_token_observation_space
from agents.segment_batch import SegmentBatch


class EpisodeRolloutBuffer(DictRolloutBuffer):
    """A ``DictRolloutBuffer`` for textgym token states: O(T) memory per episode, whole segments.

    **Storage.** A token state is a right-padded row of width ``L`` (prompt + new tokens), and
    within an episode each step's row is the previous row plus the previous action. SB3 stores
    every step's whole row, so an episode of ``T`` tokens costs ``O(T * L)``, i.e. it grows with
    the square of the episode length. This buffer stores *heads* — rows kept whole — and, per
    step, which head it extends: step ``t`` of a slot whose head was stored at step ``b`` is
    rebuilt as the head's tokens, then the slot's actions of steps ``b .. t-1``, then the head's
    padding. A step becomes a head when it is not its predecessor plus the predecessor's action,
    checked on the token ids in :meth:`add` (same tokens, one more real token, same padding): a
    slot's first step in the rollout (an episode cut by the rollout's start), every reset, and any
    row that an env changed in place. A head keeps only its real tokens and one padding id when
    its padding is one repeated id (textgym's PAD), otherwise its whole row. Rebuilding is
    therefore exact by construction, and an episode costs its prompt once plus a few bytes per step.
    Attention masks must be right-padded runs of 1s with at least one real token (the only token
    states :class:`agents.LMActorCriticPolicy` accepts); they are rebuilt from the lengths.
    Observations come back in the space's dtypes (int64 for textgym).

    **Minibatches.** A segment is the run of consecutive steps of one env slot inside this rollout
    that belong to one episode (an episode cut by the rollout's start or end gives a shorter
    segment). Minibatches take segments in shuffled order, each kept whole and in time order, so
    the policy can evaluate a segment with one forward pass over its last row. A minibatch holds
    at most ``batch_size`` steps unless one segment alone is longer (SB3's buffers give exactly
    ``batch_size``, the last minibatch excepted): the number of minibatches per epoch is at
    least ``ceil(steps / batch_size)`` and can be larger, since a segment is never split.

    **Whole segments.** With ``whole_segments`` set (the algorithms of this package set it for
    the LM policy, see ``whole_episode_updates``), a minibatch's ``observations`` are a
    :class:`agents.segment_batch.SegmentBatch`: one rebuilt token sequence per run of steps that
    extend each other, and each step's position in it, instead of every step's ``(L,)`` row.
    The policy then reads a run's steps from one forward without rebuilding or comparing the
    rows (``O(G * L)`` tokens per minibatch instead of ``O(B * L)``). Off (the default, and what
    SB3's own algorithms get), observations are the per-step rows, as ``DictRolloutBuffer``'s.

    **Episodes cut by the rollout.** An episode running across a rollout's end is trained as SB3
    trains it: its first piece in this update, bootstrapped at the cut (unless terminated or the
    env's own budget ran out, see ``agents.factory.BudgetIsPartOfTask``), its rest in the next,
    whose forward re-encodes the prompt and the first piece because the weights changed in
    between. docs/agents.md ("Episodes cut by the rollout") measures what that costs and why
    neither alternative replaced it.

    **Reward shaping.** ``before_returns``, when set, is called with the buffer just before
    :meth:`compute_returns_and_advantage` (after the rollout is complete): the KL penalty of
    :class:`agents.PPO` and friends subtracts its per-token penalty from ``rewards`` there.
    """

    observation_space: spaces.Dict

    def __init__(self, *args: Any, **kwargs: Any):
        self.before_returns: Callable[[EpisodeRolloutBuffer], None] | None = None
        self.whole_segments = False
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        """Allocate storage for one rollout: per-step arrays, and an empty token store."""
        self.width = check_token_observation_space(self.observation_space)
        self.ids_dtype = np.dtype(self.observation_space["input_ids"].dtype)
        self.mask_dtype = np.dtype(self.observation_space["attention_mask"].dtype)
        if not np.issubdtype(self.ids_dtype, np.integer):
            raise ValueError(f"EpisodeRolloutBuffer stores integer token ids; input_ids has dtype {self.ids_dtype}")
        size = (self.buffer_size, self.n_envs)
        self.actions = np.zeros((*size, self.action_dim), dtype=self.action_space.dtype)
        for name in ("rewards", "returns", "episode_starts", "values", "log_probs", "advantages"):
            setattr(self, name, np.zeros(size, dtype=np.float32))
        self.head_of = np.full(size, -1, dtype=np.int32)  # head each step extends; -1 = not filled
        # One row per head: offset into `tokens`, tokens stored, real tokens, step it was stored at.
        self.heads = np.zeros((2 * self.n_envs, 4), dtype=np.int64)
        self.head_pad = np.zeros(2 * self.n_envs, dtype=self.ids_dtype)  # padding id of each head
        self.tokens = np.zeros(self.n_envs * self.width, dtype=self.ids_dtype)
        self.n_heads = 0
        self.n_tokens = 0
        self.generator_ready = False
        BaseBuffer.reset(self)

    # ----- storing -----
    def add(  # type: ignore[override]
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: Any,
        log_prob: Any,
    ) -> None:
        """Store one step of every slot; observations as heads or as extensions of the last step."""
        ids, lengths = self._check_obs(obs)
        extends = np.zeros(self.n_envs, dtype=bool)
        if self.pos > 0:
            prev = self._rebuild(np.full(self.n_envs, self.pos - 1), np.arange(self.n_envs))
            prev_len = prev["attention_mask"].sum(axis=1)
            # The row this step must equal to extend the last one: last row with its action written
            # at its first padding position (rows already at full width cannot grow).
            room = prev_len < self.width
            expected = prev["input_ids"]
            slots = np.flatnonzero(room)
            expected[slots, prev_len[slots]] = self.actions[self.pos - 1, slots, 0]
            extends = room & (lengths == prev_len + 1) & (ids == expected).all(axis=1)
            self.head_of[self.pos, extends] = self.head_of[self.pos - 1, extends]
        for slot in np.flatnonzero(~extends):
            self.head_of[self.pos, slot] = self._store_head(ids[slot], int(lengths[slot]))
        self.actions[self.pos] = np.asarray(action).reshape((self.n_envs, self.action_dim))
        self.rewards[self.pos] = np.asarray(reward)
        self.episode_starts[self.pos] = np.asarray(episode_start)
        self.values[self.pos] = value.clone().cpu().numpy().flatten()
        self.log_probs[self.pos] = log_prob.clone().cpu().numpy().reshape(-1)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True
            # Growth left spare capacity; the finished rollout keeps exactly what it uses.
            self.tokens = self.tokens[: self.n_tokens].copy()
            self.heads = self.heads[: self.n_heads].copy()
            self.head_pad = self.head_pad[: self.n_heads].copy()

    def _check_obs(self, obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (n_envs, L) and real lengths (n_envs,); ValueError for anything else."""
        if set(obs) != {"input_ids", "attention_mask"}:
            raise ValueError(f"EpisodeRolloutBuffer stores input_ids and attention_mask; got keys {sorted(obs)}")
        shape = (self.n_envs, self.width)
        ids, mask = np.asarray(obs["input_ids"]), np.asarray(obs["attention_mask"])
        if ids.shape != shape or mask.shape != shape:
            raise ValueError(
                f"expected input_ids and attention_mask of shape {shape}, got {ids.shape} and {mask.shape}"
            )
        lengths = (mask != 0).sum(axis=1)
        prefix = np.arange(self.width)[None, :] < lengths[:, None]
        if not np.array_equal(mask, prefix) or (lengths == 0).any():
            raise ValueError(
                "EpisodeRolloutBuffer needs right-padded token states: each attention_mask must be 1 on a "
                "non-empty prefix of real tokens and 0 after it (it is rebuilt from the lengths)"
            )
        stored = ids.astype(self.ids_dtype, copy=False)
        if not np.array_equal(stored, ids):
            raise ValueError(f"token ids are not exactly representable as the space's dtype {self.ids_dtype}")
        return stored, lengths

    def _store_head(self, row: np.ndarray, length: int) -> int:
        """Keep one row whole; return its head index."""
        tail = row[length:]
        if len(tail) == 0 or (tail == tail[0]).all():
            stored, pad = length, (tail[0] if len(tail) else 0)  # real tokens + one padding id
        else:
            stored, pad = self.width, 0  # irregular padding: the whole row, verbatim
        if self.n_tokens + stored > len(self.tokens):
            self.tokens = np.concatenate([self.tokens, np.zeros_like(self.tokens, shape=max(stored, len(self.tokens)))])
        if self.n_heads == len(self.heads):
            self.heads = np.concatenate([self.heads, np.zeros_like(self.heads)])
            self.head_pad = np.concatenate([self.head_pad, np.zeros_like(self.head_pad)])
        self.tokens[self.n_tokens : self.n_tokens + stored] = row[:stored]
        self.heads[self.n_heads] = (self.n_tokens, stored, length, self.pos)
        self.head_pad[self.n_heads] = pad
        self.n_tokens += stored
        self.n_heads += 1
        return self.n_heads - 1

    # ----- rebuilding -----
    def _actions_by_step(self) -> np.ndarray:
        """Actions as (buffer_size, n_envs), whichever layout they are in."""
        if self.generator_ready:  # flattened env-major by get(): index env * buffer_size + step
            return self.actions.reshape(self.n_envs, self.buffer_size).T
        return self.actions[:, :, 0]

    def _rebuild(self, steps: np.ndarray, envs: np.ndarray) -> dict[str, np.ndarray]:
        """Observations of the given (step, env) pairs, each (n, L), exactly as they were added."""
        head = self.head_of[steps, envs]
        if (head < 0).any():
            raise IndexError("rebuilding a step that was not added")
        offset, stored, head_len, head_step = self.heads[head].T
        lengths = head_len + (steps - head_step)
        pos = np.arange(self.width)[None, :]  # (1, L)
        ids = np.repeat(self.head_pad[head][:, None], self.width, axis=1)  # (n, L), padding first
        in_head = pos < stored[:, None]
        ids[in_head] = self.tokens[(offset[:, None] + pos)[in_head]]
        # Positions past the head's real tokens hold the actions of the steps since the head.
        appended = (pos >= head_len[:, None]) & (pos < lengths[:, None])
        action_step = head_step[:, None] + (pos - head_len[:, None])  # (n, L): step whose action is here
        env_of = np.broadcast_to(envs[:, None], ids.shape)
        ids[appended] = self._actions_by_step()[action_step[appended], env_of[appended]]
        mask = (pos < lengths[:, None]).astype(self.mask_dtype)
        return {"input_ids": ids, "attention_mask": mask}

    def rows(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Observations (n, L) of flat env-major indices ``env * buffer_size + step`` (as ``get``)."""
        indices = np.asarray(indices)
        return self._rebuild(indices % self.buffer_size, indices // self.buffer_size)

    def segment_batch(self, indices: np.ndarray) -> SegmentBatch:
        """The steps of flat env-major indices as whole sequences, one per run that extends itself.

        A run is a stretch of ``indices`` whose steps follow each other in one slot and share a
        head (each step's state is the previous one plus its action, by construction of
        :meth:`add`); its last step's state, rebuilt once, holds all of them. Any index order is
        accepted: out-of-order or repeated steps only make shorter runs.
        """
        indices = np.asarray(indices)
        if indices.ndim != 1 or len(indices) == 0:
            raise ValueError(f"segment_batch needs a non-empty 1-D array of indices; got shape {indices.shape}")
        steps, envs = indices % self.buffer_size, indices // self.buffer_size
        head = self.head_of[steps, envs]
        if (head < 0).any():
            raise IndexError("rebuilding a step that was not added")
        _, _, head_len, head_step = self.heads[head].T
        lengths = head_len + (steps - head_step)
        starts = np.ones(len(indices), dtype=bool)
        # A head belongs to one slot, so one head and consecutive steps mean one growing sequence.
        starts[1:] = (head[1:] != head[:-1]) | (steps[1:] != steps[:-1] + 1)
        group = np.cumsum(starts) - 1
        last = np.flatnonzero(np.append(starts[1:], True))
        width = int(lengths[last].max())
        ids = self._rebuild(steps[last], envs[last])["input_ids"][:, :width]
        return SegmentBatch(
            input_ids=self.to_torch(ids).long(),
            lengths=self.to_torch(lengths[last]).long(),
            group=self.to_torch(group).long(),
            position=self.to_torch(lengths - 1).long(),
        )

    @property
    def observations(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        """All stored observations, rebuilt, in SB3's layout.

        ``(buffer_size, n_envs, L)`` before :meth:`get` and ``(n_envs * buffer_size, L)`` (env-major)
        after it, like ``DictRolloutBuffer``; unfilled steps are zeros. This materialises the
        ``O(T * L)`` arrays the buffer avoids storing: for inspection, not for training loops.
        """
        filled = self.buffer_size if self.full else self.pos
        out = {
            "input_ids": np.zeros((self.buffer_size, self.n_envs, self.width), dtype=self.ids_dtype),
            "attention_mask": np.zeros((self.buffer_size, self.n_envs, self.width), dtype=self.mask_dtype),
        }
        steps, envs = np.meshgrid(np.arange(filled), np.arange(self.n_envs), indexing="ij")
        rebuilt = self._rebuild(steps.reshape(-1), envs.reshape(-1))
        for key, value in rebuilt.items():
            out[key][:filled] = value.reshape(filled, self.n_envs, self.width)
        if self.generator_ready:
            return {key: self.swap_and_flatten(value) for key, value in out.items()}
        return out

    # ----- segments -----
    def segments(self) -> list[np.ndarray]:
        """Flat indices (env-major, as after ``swap_and_flatten``) of each episode segment."""
        out = []
        for env in range(self.n_envs):
            starts = np.flatnonzero(self.episode_starts[:, env])
            bounds = np.unique(np.concatenate([[0], starts, [self.buffer_size]]))
            base = env * self.buffer_size
            out += [np.arange(base + a, base + b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return out

    def get(self, batch_size: int | None = None) -> Generator[DictRolloutBufferSamples, None, None]:
        """Yield minibatches of whole segments in shuffled order (all at once if None)."""
        assert self.full, "the rollout buffer is not full"
        segments = self.segments()
        if not self.generator_ready:
            for name in ("actions", "values", "log_probs", "advantages", "returns"):
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
            self.generator_ready = True
        total = self.buffer_size * self.n_envs
        if batch_size is None:
            batch_size = total
        batch: list[np.ndarray] = []
        size = 0
        for i in np.random.permutation(len(segments)):
            seg = segments[i]
            if batch and size + len(seg) > batch_size:
                yield self._get_samples(np.concatenate(batch))
                batch, size = [], 0
            batch.append(seg)
            size += len(seg)
        if batch:
            yield self._get_samples(np.concatenate(batch))

    def _get_samples(  # type: ignore[override]
        self, batch_inds: np.ndarray, env: VecNormalize | None = None
    ) -> DictRolloutBufferSamples:
        """One minibatch of flat env-major indices, observations rebuilt (as sequences with ``whole_segments``)."""
        if self.whole_segments:
            observations: Any = self.segment_batch(batch_inds)
        else:
            observations = {key: self.to_torch(value) for key, value in self.rows(batch_inds).items()}
        return DictRolloutBufferSamples(
            observations=observations,
            actions=self.to_torch(self.actions[batch_inds].astype(np.float32, copy=False)),
            old_values=self.to_torch(self.values[batch_inds].flatten()),
            old_log_prob=self.to_torch(self.log_probs[batch_inds].flatten()),
            advantages=self.to_torch(self.advantages[batch_inds].flatten()),
            returns=self.to_torch(self.returns[batch_inds].flatten()),
        )

    # ----- returns -----
    def compute_returns_and_advantage(self, last_values: Any, dones: np.ndarray) -> None:
        """Let ``before_returns`` shape the rewards (KL penalty), then SB3's GAE."""
        if self.before_returns is not None:
            self.before_returns(self)
        super().compute_returns_and_advantage(last_values, dones)
