"""Group-relative policy optimization (GRPO) and REINFORCE leave-one-out (RLOO) for LM policies.

The baseline of each completion comes from the other completions of the same prompt instead
of a learned critic, so no value head is trained or computed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

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
from agents.grpo_objectives import ImportanceSampling, LossType, check_objective, policy_loss, reinforce_pp_advantages
from agents.kl import KLConfig
from agents.kl_penalty import KLPenaltyMixin
from agents.learning_rate import LearningRateCheckMixin
from agents.policy import LMActorCriticPolicy
from agents.saved_class import SavedClassMixin
from textgym.validation import check_int

Baseline = Literal["mean", "leave_one_out", "reinforce++", "reinforce++_baseline"]
BASELINES = ("mean", "leave_one_out", "reinforce++", "reinforce++_baseline")
Scale = Literal["group", "batch", "none"]
Aggregation = Literal["token", "sequence", "constant"]


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
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if scale_rewards not in ("group", "batch", "none"):
        raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', got {scale_rewards!r}")
    if baseline.startswith("reinforce++"):
        if scale_rewards == "group":
            raise ValueError(
                f"baseline={baseline!r} normalises over the batch, not the group: "
                "pass scale_rewards='batch' (REINFORCE++ as published) or 'none'"
            )
        if baseline == "reinforce++_baseline" and group_size < 2:
            raise ValueError("baseline='reinforce++_baseline' needs group_size >= 2")
        return reinforce_pp_advantages(
            rewards, group_size, baseline == "reinforce++_baseline", scale_rewards == "batch"
        )
    if group_size < 2 and (baseline == "leave_one_out" or scale_rewards == "group"):
        raise ValueError(f"baseline={baseline!r}, scale_rewards={scale_rewards!r} need group_size >= 2")
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
    of PPO per token (Schulman et al. 2017), aggregated by ``loss_aggregation``; on the first
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
        baseline: ``"mean"`` (GRPO) or ``"leave_one_out"`` (RLOO, Ahmadian et al. 2024), or
            ``"reinforce++"`` / ``"reinforce++_baseline"`` (REINFORCE++, Hu 2025,
            arXiv:2501.03262: ``(R_i - mean of the batch's R)``, or ``R_i`` minus its group's mean,
            divided by the batch std of those; with ``scale_rewards="batch"``); see
            :func:`group_advantages`.
        scale_rewards: ``"group"`` (GRPO), ``"batch"`` or ``"none"`` (Dr. GRPO, Liu et al. 2025).
        loss_aggregation: ``"token"`` (DAPO, Yu et al. 2025), ``"sequence"`` (GRPO) or
            ``"constant"`` (Dr. GRPO); see :func:`aggregate_loss`.
        loss_type: The per-token objective (:func:`agents.grpo_objectives.policy_loss`):
            ``"clip"``, PPO's clipped surrogate ``-min(r A, clip(r, 1 - low, 1 + high) A)``, or
            ``"cispo"`` (CISPO, MiniMax-M1, arXiv:2506.13585): ``-sg(min(r, 1 + high)) A log pi``,
            the clipped ratio a stop-gradient weight, so the gradient flows through ``log pi``
            only and no token's gradient is clipped away (no lower bound, as in the paper).
        importance_sampling: ``"token"`` (each token's ratio ``r_t = pi / pi_old``) or
            ``"sequence"`` (GSPO, Zheng et al. 2025, arXiv:2507.18071): every token of episode
            ``i`` uses ``s_i = exp(mean_t (log pi - log pi_old))`` over its tokens, clipped
            once per episode; GSPO's own objective pairs it with ``loss_aggregation="sequence"``
            and clip ranges of about 3e-4 / 4e-4.
        clip_range: The ratio's clip below (and above, unless ``clip_range_high`` is set).
        clip_range_high: Upper clip (DAPO's "clip-higher", e.g. 0.28), None: ``clip_range``.
        kl: The KL settings (:class:`agents.KLConfig`), instead of the KL keywords.
        skip_zero_advantage_groups: Leave out of the minibatches every group whose advantages
            are all zero (all its completions got the same reward) when nothing else in the loss
            depends on it (no k3 KL term, no entropy bonus): its gradient is exactly zero, so
            its forward and backward are skipped, and a rollout with no signal at all takes no
            optimizer step (which would only replay Adam's momentum). Early in a sparse-reward
            task most groups carry no signal (DAPO, Yu et al. 2025, filters them too).
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
        baseline: Baseline = "mean",
        scale_rewards: Scale = "group",
        loss_aggregation: Aggregation = "token",
        loss_type: LossType = "clip",
        importance_sampling: ImportanceSampling = "token",
        clip_range: float = 0.2,
        clip_range_high: float | None = None,
        kl: KLConfig | None = None,
        skip_zero_advantage_groups: bool = True,
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
        if loss_aggregation not in ("token", "sequence", "constant"):
            raise ValueError(f"loss_aggregation must be 'token', 'sequence' or 'constant', got {loss_aggregation!r}")
        check_objective(loss_type, importance_sampling)
        if not 0 < clip_range < 1 or (clip_range_high is not None and clip_range_high <= 0):
            raise ValueError(f"clip ranges must be positive (and clip_range < 1): {clip_range}, {clip_range_high}")
        n_epochs = check_int("n_epochs", n_epochs)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size)
        policy_kwargs = dict(policy_kwargs or {})
        if policy_kwargs.get("separate_critic"):
            raise ValueError("GRPO trains no critic: separate_critic must be False")
        # The policy holds the reference model only when this algorithm needs it; the
        # penalty itself is computed here, not in the policy or a buffer.
        policy_kwargs["build_reference"] = self.uses_reference
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=1,
            gamma=1.0,
            gae_lambda=1.0,
            ent_coef=ent_coef,
            vf_coef=0.0,
            max_grad_norm=max_grad_norm,
            use_sde=False,
            sde_sample_freq=-1,
            rollout_buffer_class=_NoBuffer,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
            supported_action_spaces=(spaces.Discrete,),
        )
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.baseline = baseline
        self.scale_rewards = scale_rewards
        self.loss_aggregation = loss_aggregation
        self.loss_type = loss_type
        self.importance_sampling = importance_sampling
        self.clip_range = clip_range
        self.clip_range_high = clip_range_high
        self.skip_zero_advantage_groups = skip_zero_advantage_groups
        self.episodes: EpisodeBatch | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
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
        # group_advantages checks the baseline/scale options against the group size now, not mid-training
        group_advantages(np.zeros(self.group_size), self.group_size, self.baseline, self.scale_rewards)
        self.clip_range_schedule = FloatSchedule(self.clip_range)

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
        self.advantages = group_advantages(episodes.rewards, self.group_size, self.baseline, self.scale_rewards)
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
        if self.skip_zero_advantage_groups and not k3_term and self.ent_coef == 0:
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
                    log_probs, old, adv, n_actions, self.loss_type, self.importance_sampling, low, high
                )
                per_token = objective.per_token - self.ent_coef * entropy
                if k3_term:
                    assert mb.ref_log_probs is not None
                    penalty, k3_mean = self.kl_penalty.loss_term(
                        log_probs, mb.ref_log_probs[mb.action_mask].to(self.device)
                    )
                    per_token = per_token + penalty
                    stats["kl"].append(k3_mean)
                loss = aggregate_loss(per_token, n_actions, self.loss_aggregation, self.max_new_tokens)
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
