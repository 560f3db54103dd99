"""Whole episodes of a rollout, each stored once, grouped by shared prompt.

Group-relative algorithms (:class:`agents.GRPO`) learn from whole episodes: the return of
each, compared within its group of completions of one prompt. This module holds the data
(:class:`EpisodeBatch`) and the collector that gathers them from a batched textgym env
(:func:`collect_episodes`). Memory is O(T) per episode: the prompt once per group, the
generated tokens once per episode, never a token state per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv

from agents.vec_env import TextGenSB3VecEnv

if TYPE_CHECKING:
    from agents.policy import LMActorCriticPolicy


#: Info keys the SB3 adapter adds for collectors; the episode's own info is the rest.
_COLLECTOR_KEYS = ("terminal_observation", "TimeLimit.truncated", "waiting", "group_id")


@dataclass
class EpisodeBatch:
    """Whole episodes, grouped: episodes ``g*G .. g*G+G-1`` share ``prompts[g]``.

    A learner's rollout of finished episodes as token arrays; not to be confused with
    :class:`textgym.envs.episodes.Episode`, the env's record of one running episode.

    Attributes:
        prompts: Per group, the prompt's token ids (with the tokenizer's special tokens), 1-D int64.
        group_size: Episodes per group G.
        tokens: (E, T) int64, every token after the prompt (actions, and in multi-turn envs the
            context tokens the env appended), right-padded with 0.
        lengths: (E,) real tokens per row of ``tokens``.
        action_mask: (E, T) bool, True where the token was the agent's action.
        old_log_probs: (E, T) float32, log-probability of each action under the sampling policy
            (0 elsewhere).
        returns: (E,) float64, each episode's return (sum of its env rewards).
        rewards: (E,) float64, what the algorithm's advantages are computed from: the returns,
            less any penalty the algorithm applies (e.g. GRPO's ``k1_reward`` KL term).
        ref_log_probs: (E, T) float32 log-probs of the actions under the reference model, or None.
        infos: Per episode, the env's final info (prompt, completion, reward components).
    """

    prompts: list[torch.Tensor]
    group_size: int
    tokens: torch.Tensor
    lengths: torch.Tensor
    action_mask: torch.Tensor
    old_log_probs: torch.Tensor
    returns: np.ndarray
    rewards: np.ndarray
    ref_log_probs: torch.Tensor | None = None
    infos: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_episodes(self) -> int:
        return len(self.lengths)

    @property
    def n_groups(self) -> int:
        return len(self.prompts)

    def n_actions(self) -> torch.Tensor:
        """Actions per episode, (E,)."""
        return self.action_mask.sum(dim=1)

    def group_rows(self, groups: np.ndarray | list[int]) -> torch.Tensor:
        """Episode indices (rows) of the given groups, group by group, (len(groups) * G,)."""
        return torch.tensor([int(g) * self.group_size + k for g in groups for k in range(self.group_size)])

    def select_groups(self, groups: np.ndarray | list[int]) -> EpisodeBatch:
        """The episodes of the given groups, in that order."""
        groups = [int(g) for g in groups]
        rows = self.group_rows(groups)
        return EpisodeBatch(
            prompts=[self.prompts[g] for g in groups],
            group_size=self.group_size,
            tokens=self.tokens[rows],
            lengths=self.lengths[rows],
            action_mask=self.action_mask[rows],
            old_log_probs=self.old_log_probs[rows],
            returns=self.returns[rows.numpy()],
            rewards=self.rewards[rows.numpy()],
            ref_log_probs=None if self.ref_log_probs is None else self.ref_log_probs[rows],
            infos=[self.infos[i] for i in rows.tolist()] if self.infos else [],
        )

    def action_log_probs(
        self, policy: LMActorCriticPolicy, reference: bool = False, share_prompt: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probs and entropies of every action, flat (n_actions,), episode by episode in time order.

        One call of the policy's shared-prefix forward
        (:meth:`agents.policy.LMActorCriticPolicy.shared_prefix_log_probs`) on this batch's arrays:
        each group's prompt is encoded once for its G episodes.

        Args:
            policy: The LM policy.
            reference: Score under the frozen reference model (no gradient) instead.
            share_prompt: Encode each prompt once per group (False: once per episode).
        """
        return policy.shared_prefix_log_probs(
            self.prompts, self.tokens, self.lengths, self.action_mask, reference=reference, share_prompt=share_prompt
        )

    def nbytes(self) -> int:
        """Bytes held by the token and log-prob arrays (the O(T) storage)."""
        tensors = [*self.prompts, self.tokens, self.lengths, self.action_mask, self.old_log_probs]
        if self.ref_log_probs is not None:
            tensors.append(self.ref_log_probs)
        return sum(t.numel() * t.element_size() for t in tensors) + self.returns.nbytes + self.rewards.nbytes


def whole_episode_env(env: VecEnv) -> TextGenSB3VecEnv:
    """The textgym batched env under SB3 wrappers, checked to collect whole episodes.

    Raises:
        TypeError: If ``env`` is not (a wrapper of) a :class:`agents.vec_env.TextGenSB3VecEnv` in
            ``AutoresetMode.DISABLED`` mode, as ``agents.make_env(..., group_size=G,
            whole_episodes=True)`` builds.
    """
    inner = env.unwrapped if hasattr(env, "unwrapped") else env
    if not isinstance(inner, TextGenSB3VecEnv) or inner.vec.metadata["autoreset_mode"] != AutoresetMode.DISABLED:
        raise TypeError(
            "whole-episode algorithms need textgym's batched env without autoreset: build it with "
            "agents.make_env(env_id, n_envs=N, group_size=G, whole_episodes=True); got "
            f"{type(inner).__name__}"
        )
    return inner


@torch.no_grad()
def collect_episodes(
    policy: LMActorCriticPolicy,
    env: TextGenSB3VecEnv,
    on_step: Callable[[int, dict[str, Any]], bool],
) -> EpisodeBatch | None:
    """Reset every slot, run the policy until every episode has ended, return the episodes.

    Slots whose episode has ended wait (the env ignores their actions) and cost no forward
    pass: the policy is called on the active slots only, through its per-slot KV cache.

    Args:
        policy: The LM policy (sampling settings and KV cache are its own).
        env: The batched env in whole-episode mode (see :func:`whole_episode_env`).
        on_step: Called after each env step with the number of tokens it generated and the
            step's locals as SB3's ``collect_rollouts`` hands them to callbacks (``actions``,
            ``clipped_actions``, ``new_obs``, ``rewards``, ``dones``, ``infos``); returning False
            stops collection early (SB3 callbacks), and then None is returned.

    Returns:
        The episodes in slot order (slot i is episode i), or None if stopped early.
    """
    n = env.num_envs
    obs = env.reset_groups(np.ones(n, dtype=bool))
    prompt_len = obs["attention_mask"].sum(axis=1)
    width = obs["input_ids"].shape[1]
    log_probs = np.zeros((n, width), dtype=np.float32)
    is_action = np.zeros((n, width), dtype=bool)
    final_ids = obs["input_ids"].copy()
    final_len = prompt_len.copy()
    returns = np.zeros(n)
    infos: list[dict[str, Any]] = [{} for _ in range(n)]
    active = np.ones(n, dtype=bool)
    while active.any():
        slots = np.flatnonzero(active)
        batch = {k: torch.as_tensor(v[slots], device=policy.device) for k, v in obs.items()}
        actions, lp = policy.sample_slots(batch, torch.as_tensor(slots), n)
        pos = obs["attention_mask"][slots].sum(axis=1)  # where each action lands in the token state
        log_probs[slots, pos] = lp.cpu().numpy()
        is_action[slots, pos] = True
        all_actions = np.zeros(n, dtype=np.int64)
        all_actions[slots] = actions.cpu().numpy()
        env.step_async(all_actions)
        obs, rewards, dones, step_infos = env.step_wait()
        # Slots already finished only wait: as in SB3's loop, each episode ends (and is paid) once.
        step_rewards, step_dones = np.zeros_like(rewards), np.zeros_like(dones)
        step_rewards[slots], step_dones[slots] = rewards[slots], dones[slots]
        returns += step_rewards
        for i in slots[dones[slots]]:
            info = step_infos[i]
            last = info["terminal_observation"]
            final_len[i] = int(last["attention_mask"].sum())
            final_ids[i] = last["input_ids"]
            infos[i] = {k: v for k, v in info.items() if k not in _COLLECTOR_KEYS}
            active[i] = False
        step = {"actions": all_actions, "clipped_actions": all_actions, "new_obs": obs}
        if not on_step(len(slots), {**step, "rewards": step_rewards, "dones": step_dones, "infos": step_infos}):
            return None
    g = env.group_size
    longest = int((final_len - prompt_len).max())
    tokens = np.zeros((n, longest), dtype=np.int64)
    mask = np.zeros((n, longest), dtype=bool)
    lps = np.zeros((n, longest), dtype=np.float32)
    for i in range(n):
        a, b = int(prompt_len[i]), int(final_len[i])
        tokens[i, : b - a] = final_ids[i, a:b]
        mask[i, : b - a] = is_action[i, a:b]
        lps[i, : b - a] = log_probs[i, a:b]
    return EpisodeBatch(
        prompts=[torch.as_tensor(final_ids[f, : prompt_len[f]]) for f in range(0, n, g)],
        group_size=g,
        tokens=torch.as_tensor(tokens),
        lengths=torch.as_tensor(final_len - prompt_len),
        action_mask=torch.as_tensor(mask),
        old_log_probs=torch.as_tensor(lps),
        returns=returns,
        rewards=returns.copy(),
        infos=infos,
    )
