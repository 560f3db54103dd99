"""Group-relative policy optimization (GRPO) and REINFORCE leave-one-out (RLOO) for LM policies.

The baseline of each completion comes from the other completions of the same prompt instead
of a learned critic, so no value head is trained or computed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.common.utils import FloatSchedule
from stable_baselines3.common.vec_env import VecEnv

from agents.episode_batch import EpisodeBatch, collect_episodes, whole_episode_env
from agents.group_config import Aggregation, Baseline, GroupConfig, Scale
from agents.grpo_objectives import policy_loss, reinforce_pp_advantages
from agents.kl import KLConfig
from agents.kl_penalty import KLPenaltyMixin
from agents.learning_rate import LearningRateCheckMixin
from agents.on_policy import whole_return_settings
from agents.policy import LMActorCriticPolicy
from agents.saved_class import SavedClassMixin
from textgym.validation import check_int


def group_advantages(
    rewards: np.ndarray, group_size: int, baseline: Baseline = "mean", scale_rewards: Scale = "group"
) -> np.ndarray:
    """Advantage of each episode against its group, (E,), for groups of consecutive episodes.

    * ``baseline="mean"`` (GRPO, Shao et al. 2024): ``A_i = R_i - mean(R_group)``.
    * ``baseline="leave_one_out"`` (RLOO, Ahmadian et al. 2024): ``A_i = R_i - mean of the
      other G - 1 rewards``, an unbiased baseline (it does not depend on ``R_i``).
    * ``baseline="reinforce++"`` (REINFORCE++, Hu 2025): ``A_i = R_i - mean(R_batch)``, and
      ``"reinforce++_baseline"``: ``A_i = R_i - mean(R_group)``; both normalised over the
      batch, so they take ``scale_rewards="batch"`` (as published) or ``"none"``
      (:func:`agents.grpo_objectives.reinforce_pp_advantages`).
    * ``scale_rewards="group"`` divides by the group's standard deviation (GRPO),
      ``"batch"`` by the whole batch's, ``"none"`` not at all (Dr. GRPO, Liu et al. 2025, who
      show the group std biases updates towards too easy and too hard prompts). Standard
      deviations use Bessel's correction (ddof=1), as ``torch.std`` does, plus 1e-4.

    A group whose rewards are all equal carries no signal: its advantages are exactly 0
    (except under ``"reinforce++"``, whose baseline is the batch's, not the group's).

    Raises:
        ValueError: If the rewards do not split into groups, or an option is unknown, or a
            leave-one-out baseline or a group std is asked of groups of one.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim != 1 or group_size < 1 or len(rewards) % group_size:
        raise ValueError(f"{rewards.shape} rewards do not split into groups of {group_size}")
    GroupConfig(baseline, scale_rewards).check_group_size(group_size)
    if baseline.startswith("reinforce++"):
        return reinforce_pp_advantages(
            rewards, group_size, baseline == "reinforce++_baseline", scale_rewards == "batch"
        )
    r = rewards.reshape(-1, group_size)  # (groups, G)
    if baseline == "mean":
        adv = r - r.mean(axis=1, keepdims=True)
    else:
        adv = r - (r.sum(axis=1, keepdims=True) - r) / (group_size - 1)
    if scale_rewards == "group":
        adv = adv / (r.std(axis=1, ddof=1, keepdims=True) + 1e-4)
    elif scale_rewards == "batch" and len(rewards) > 1:
        adv = adv / (rewards.std(ddof=1) + 1e-4)
    adv[r.max(axis=1) == r.min(axis=1)] = 0.0
    return adv.reshape(-1)


def aggregate_loss(
    per_token: torch.Tensor, n_actions: torch.Tensor, how: Aggregation, max_new_tokens: int
) -> torch.Tensor:
    """Reduce per-token losses (n_actions,), ordered episode by episode, to a scalar.

    * ``"token"``: mean over every token of the batch (DAPO, Yu et al. 2025): long and short
      completions weigh by their tokens.
    * ``"sequence"``: mean over each episode's tokens, then over episodes (the original GRPO):
      a token of a short completion weighs more.
    * ``"constant"``: the sum divided by ``episodes * max_new_tokens`` (Dr. GRPO, Liu et al.
      2025): no length normalisation at all, a fixed scale.

    Args:
        per_token: Loss of each action token, episode by episode.
        n_actions: Tokens per episode, (E,); they sum to ``len(per_token)``.
        how: One of the three.
        max_new_tokens: The constant's token budget per episode.
    """
    if how == "token":
        return per_token.mean()
    if how == "sequence":
        episode = torch.repeat_interleave(torch.arange(len(n_actions), device=per_token.device), n_actions)
        sums = torch.zeros(len(n_actions), dtype=per_token.dtype, device=per_token.device).index_add(
            0, episode, per_token
        )
        return (sums / n_actions.to(per_token.dtype)).mean()
    if how == "constant":
        return per_token.sum() / (len(n_actions) * max_new_tokens)
    raise ValueError(f"loss_aggregation must be 'token', 'sequence' or 'constant', got {how!r}")


class _NoBuffer(RolloutBuffer):
    """SB3 allocates a step buffer in ``_setup_model``; GRPO keeps :class:`EpisodeBatch` instead."""

    def __init__(self, buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space, **_: Any):
        self.buffer_size, self.n_envs = buffer_size, 1
        self.observation_space, self.action_space = observation_space, action_space
        self.full = False

    def reset(self) -> None:
        pass


class GRPO(SavedClassMixin, LearningRateCheckMixin, KLPenaltyMixin, OnPolicyAlgorithm):
    """Group-relative policy optimization for :class:`agents.LMActorCriticPolicy` (no critic).

    Each rollout resets every env slot, runs the policy until every episode has ended, and
    keeps the whole episodes (:func:`agents.episode_batch.collect_episodes`). Slots come in
    groups of ``group_size`` that share a prompt; an episode's return, compared within its
    group (:func:`group_advantages`), is the advantage of every token the agent wrote in it.
    Then ``n_epochs`` passes over minibatches of whole groups minimise the clipped surrogate
    of PPO per token (Schulman et al. 2017), aggregated as ``group`` says; on the first
    minibatch the ratio is 1, as the weights have not moved since sampling. Each group's
    prompt is encoded once for its G completions, in rollouts and in updates.

    One ``learn`` timestep is one generated token. With ``n_envs`` slots, each rollout
    gathers ``n_envs`` episodes (``n_envs / group_size`` prompts). ``load`` refuses a file saved
    by another algorithm (:mod:`agents.saved_class`).

    Args:
        policy: ``"LMActorCriticPolicy"`` or the class; ``separate_critic`` must be False.
        env: A batched textgym env in whole-episode mode (``agents.make_env(..., group_size=G,
            whole_episodes=True)``); ``make_grpo`` builds it.
        learning_rate: Learning rate (finite, > 0) or schedule (checked at its start).
        n_epochs: Passes over each rollout's episodes (an integer >= 1).
        batch_size: Episodes per minibatch, an integer multiple of the group size; None: the whole rollout.
        clip_range: The ratio's clip below (and above, unless ``clip_range_high`` is set).
        clip_range_high: Upper clip (DAPO's "clip-higher", e.g. 0.28), None: ``clip_range``.
        group: The group settings (:class:`agents.GroupConfig`: baseline, reward scaling, loss
            aggregation, skipping groups without signal, the per-token objective and its
            importance ratio); None: GRPO's.
        kl: The KL settings (:class:`agents.KLConfig`), instead of the KL keywords.
        ent_coef: Entropy bonus weight.
        max_grad_norm: Gradient clipping.
        stats_window_size: Episodes averaged in the logs.
        tensorboard_log: TensorBoard directory.
        policy_kwargs: Policy keyword arguments (``model``, sampling settings, ...).
        verbose: Verbosity.
        seed: Random seed.
        device: Torch device.
        _init_setup_model: Build the networks now (SB3 convention).
        **kl_keywords: The KL settings as keywords (:data:`agents.kl.KL_KEYWORDS`): ``kl_coef``
            (beta; 0: no penalty), ``kl_target`` (an adaptive beta, Ziegler et al. 2019: after each
            rollout beta moves toward keeping the policy that far from the reference, so it can be
            small while the policy is still near the base model and grows when it drifts),
            ``kl_horizon``, ``kl_estimator`` (``"k3_loss"``, the default: ``beta * k3`` per token
            added to the loss, :func:`agents.kl_penalty.k3_kl`, GRPO; ``"k1_reward"``: ``beta *
            sum_t (log pi - log pi_ref)`` of the sampled tokens subtracted from each episode's
            return before the advantages, as PPO's per-token reward penalty) and ``log_kl``
            (log ``train/kl_ref`` even when ``kl_coef`` is 0, at one reference forward per
            rollout and a model copy).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"LMActorCriticPolicy": LMActorCriticPolicy}
    kl_estimators = ("k3_loss", "k1_reward")
    policy: LMActorCriticPolicy

    def __init__(
        self,
        policy: str | type[LMActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        n_epochs: int = 1,
        batch_size: int | None = None,
        clip_range: float = 0.2,
        clip_range_high: float | None = None,
        group: GroupConfig | None = None,
        kl: KLConfig | None = None,
        ent_coef: float = 0.0,
        max_grad_norm: float = 1.0,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
        **kl_keywords: Any,
    ):
        self._init_kl(kl, kl_keywords)
        if kl_keywords:
            raise TypeError(f"GRPO got unexpected keyword arguments {sorted(kl_keywords)}")
        if group is not None and not isinstance(group, GroupConfig):
            raise TypeError(f"group must be an agents.GroupConfig, got {type(group).__name__}")
        # Written as "not (inside)" so that NaN, which fails every comparison, is refused too.
        if not 0 < clip_range < 1 or (clip_range_high is not None and not 0 < clip_range_high < math.inf):
            raise ValueError(
                f"clip ranges must be finite and positive (and clip_range < 1): {clip_range}, {clip_range_high}"
            )
        n_epochs = check_int("n_epochs", n_epochs)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size)
        policy_kwargs = dict(policy_kwargs or {})
        if policy_kwargs.get("separate_critic"):
            raise ValueError("GRPO trains no critic: separate_critic must be False")
        # The policy holds the reference model only when this algorithm needs it; the
        # penalty itself is computed here, not in the policy or a buffer.
        policy_kwargs["build_reference"] = self.uses_reference
        settings = whole_return_settings(
            locals(),
            n_steps=1,
            gamma=1.0,
            vf_coef=0.0,
            rollout_buffer_class=_NoBuffer,
            supported_action_spaces=(spaces.Discrete,),
        )
        super().__init__(policy, env, **settings)
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.group = group or GroupConfig()
        self.clip_range = clip_range
        self.clip_range_high = clip_range_high
        self.episodes: EpisodeBatch | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._adopt_saved_group()
        super()._setup_model()
        if self.env is None:  # loaded for prediction only: the saved group size stands
            return
        env = whole_episode_env(self.env)
        self.group_size = env.group_size
        self.max_new_tokens = env.max_new_tokens
        if self.batch_size is not None and (self.batch_size < 1 or self.batch_size % self.group_size):
            raise ValueError(
                f"batch_size={self.batch_size} must be a positive multiple of group_size={self.group_size}"
            )
        # Checked against the env's group size now, not mid-training.
        self.group.check_group_size(self.group_size)
        self.clip_range_schedule = FloatSchedule(self.clip_range)

    def _adopt_saved_group(self) -> None:
        """Take over the group settings of a file saved before :class:`GroupConfig` existed (textgym 0.1).

        Such a file holds them as attributes (``baseline``, ``loss_aggregation``, ...), which SB3's
        ``load`` puts in the instance dict; without this the run would continue with GRPO's
        defaults instead of its own. Idempotent; a no-op on new files.
        """
        saved = self.__dict__
        names = [field.name for field in dataclasses.fields(GroupConfig) if field.name in saved]
        if names:
            self.group = GroupConfig(**{name: saved.pop(name) for name in names})

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "episodes"]

    # ----- collect -----
    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """Gather one rollout of whole episodes (every slot runs one episode)."""
        self.policy.set_training_mode(False)
        callback.on_rollout_start()

        def on_step(n_tokens: int, step_locals: dict[str, Any]) -> bool:
            self.num_timesteps += n_tokens
            # What SB3's collect_rollouts hands its callbacks: the step's infos, dones, rewards,
            # new_obs and actions, and the collection's own names.
            rollout = {"self": self, "env": env, "callback": callback, "n_rollout_steps": n_rollout_steps}
            callback.update_locals({**rollout, **step_locals, "n_tokens": n_tokens})
            return callback.on_step()

        episodes = self.gather_episodes(env, on_step)
        if episodes is None:
            return False
        # rollout/ep_rew_mean shows the env's returns (before any KL penalty), as for PPO
        for ret, n_act in zip(episodes.returns.tolist(), episodes.n_actions().tolist(), strict=True):
            self.ep_info_buffer.append({"r": ret, "l": n_act})
        self._finish_rollout(episodes)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def gather_episodes(self, env: VecEnv, on_step: Callable[[int, dict[str, Any]], bool]) -> EpisodeBatch | None:
        """One episode per slot under the current policy, here in this process.

        ``on_step(n_tokens, step_locals)`` runs after every batched step with SB3's per-step
        callback locals (:func:`agents.episode_batch.collect_episodes`) and stops collection (None)
        when it returns False. Subclasses collect elsewhere (``agents.distributed.RayGRPO``: Ray
        rollout workers).
        """
        return collect_episodes(self.policy, whole_episode_env(env), on_step)

    def _finish_rollout(self, episodes: EpisodeBatch) -> None:
        """Reference log-probs, KL penalty and advantages of a fresh rollout."""
        if self.uses_reference:
            self.kl_penalty.penalize_episodes(episodes, self.policy, self.logger)
        self.advantages = group_advantages(
            episodes.rewards, self.group_size, self.group.baseline, self.group.scale_rewards
        )
        self.logger.record("rollout/episode_return_mean", float(np.mean(episodes.returns)))
        self.logger.record(
            "rollout/groups_without_signal",
            float(np.mean(episodes.rewards.reshape(-1, self.group_size).std(axis=1) == 0)),
        )
        self.episodes = episodes

    # ----- train -----
    def train(self) -> None:
        """``n_epochs`` passes of clipped policy-gradient steps over minibatches of whole groups."""
        assert self.episodes is not None, "train() before a rollout"
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        episodes, g = self.episodes, self.group_size
        low = self.clip_range_schedule(self._current_progress_remaining)
        high = self.clip_range_high if self.clip_range_high is not None else low
        groups_per_batch = episodes.n_groups if self.batch_size is None else max(1, self.batch_size // g)
        advantages = torch.as_tensor(self.advantages, dtype=torch.float32)
        groups_used = np.arange(episodes.n_groups)
        k3_term = self.kl_penalty.in_loss
        if self.group.skip_zero_advantage_groups and not k3_term and self.ent_coef == 0:
            flat = (self.advantages.reshape(-1, g) == 0).all(axis=1)  # (n_groups,)
            groups_used = groups_used[~flat]
        self.logger.record("train/groups_skipped", episodes.n_groups - len(groups_used))
        stats: dict[str, list[float]] = {k: [] for k in ("loss", "clip_fraction", "approx_kl", "entropy", "kl")}
        for _ in range(self.n_epochs if len(groups_used) else 0):
            order = np.random.permutation(groups_used)
            for start in range(0, len(order), groups_per_batch):
                groups = order[start : start + groups_per_batch]
                mb = episodes.select_groups(groups)
                rows = episodes.group_rows(groups)
                n_actions = mb.n_actions().to(self.device)
                log_probs, entropy = mb.action_log_probs(self.policy)
                old = mb.old_log_probs[mb.action_mask].to(self.device)
                adv = torch.repeat_interleave(advantages[rows].to(self.device), n_actions)
                objective = policy_loss(
                    log_probs, old, adv, n_actions, self.group.loss_type, self.group.importance_sampling, low, high
                )
                per_token = objective.per_token - self.ent_coef * entropy
                if k3_term:
                    assert mb.ref_log_probs is not None
                    penalty, k3_mean = self.kl_penalty.loss_term(
                        log_probs, mb.ref_log_probs[mb.action_mask].to(self.device)
                    )
                    per_token = per_token + penalty
                    stats["kl"].append(k3_mean)
                loss = aggregate_loss(per_token, n_actions, self.group.loss_aggregation, self.max_new_tokens)
                self.policy.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
                with torch.no_grad():
                    log_ratio = log_probs - old
                    stats["approx_kl"].append(float((torch.expm1(log_ratio) - log_ratio).mean()))
                    stats["clip_fraction"].append(float(objective.clipped.float().mean()))
                    stats["entropy"].append(float(entropy.mean()))
                    stats["loss"].append(float(loss))
        self._n_updates += self.n_epochs if len(groups_used) else 0
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for key, values in stats.items():
            if values:
                self.logger.record(f"train/{'k3_kl' if key == 'kl' else key}", float(np.mean(values)))
        self.logger.record("train/clip_range", low)
