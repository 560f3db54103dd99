"""The per-token policy objectives and the REINFORCE++ advantages that :class:`agents.GRPO` offers.

Pure functions on tensors (or arrays) of the tokens an agent wrote, laid out as GRPO keeps
them: every action token of the minibatch in one flat tensor, episode after episode, with
``n_actions`` the number of tokens of each episode. GRPO picks among them with its
``loss_type``, ``importance_sampling`` and ``baseline`` options.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch

LossType = Literal["clip", "cispo"]
ImportanceSampling = Literal["token", "sequence"]
LOSS_TYPES: tuple[str, ...] = ("clip", "cispo")
IMPORTANCE_SAMPLING: tuple[str, ...] = ("token", "sequence")


def check_objective(loss_type: str, importance_sampling: str) -> None:
    """Refuse an unknown ``loss_type`` or ``importance_sampling``, naming the values allowed.

    Raises:
        ValueError: If either is not one of :data:`LOSS_TYPES` / :data:`IMPORTANCE_SAMPLING`.
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    if importance_sampling not in IMPORTANCE_SAMPLING:
        raise ValueError(f"importance_sampling must be one of {IMPORTANCE_SAMPLING}, got {importance_sampling!r}")


def sequence_log_ratio(log_ratio: torch.Tensor, n_actions: torch.Tensor) -> torch.Tensor:
    """GSPO's length-normalised log-ratio of each episode, repeated on each of its tokens.

    ``log s_i = (1 / |y_i|) * sum_t (log pi(y_i,t) - log pi_old(y_i,t))`` (Zheng et al. 2025,
    "Group Sequence Policy Optimization", arXiv:2507.18071): the geometric mean of the
    episode's token ratios, so that its scale does not grow with the completion's length.
    The gradient reaches every token of the episode through the mean.

    Args:
        log_ratio: ``log pi - log pi_old`` of each action token, (n_actions.sum(),).
        n_actions: Tokens per episode, (E,), each >= 1.

    Returns:
        ``log s_i`` of token ``t``'s episode ``i`` at each token, the shape of ``log_ratio``.
    """
    if int(n_actions.sum()) != len(log_ratio) or bool((n_actions < 1).any()):
        raise ValueError(f"n_actions {n_actions.tolist()} do not split {len(log_ratio)} tokens into episodes")
    episode = torch.repeat_interleave(torch.arange(len(n_actions), device=log_ratio.device), n_actions)
    sums = torch.zeros(len(n_actions), dtype=log_ratio.dtype, device=log_ratio.device).index_add(0, episode, log_ratio)
    return (sums / n_actions.to(log_ratio.dtype))[episode]


class PolicyLoss(NamedTuple):
    """What :func:`policy_loss` returns.

    Attributes:
        per_token: The loss of each action token, to aggregate (``agents.grpo.aggregate_loss``).
        ratio: The importance ratio each token used: its own, or its episode's (GSPO); detached.
        clipped: Whether that ratio lay outside the clip range (the ``clip_fraction`` log).
    """

    per_token: torch.Tensor
    ratio: torch.Tensor
    clipped: torch.Tensor


def policy_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    n_actions: torch.Tensor,
    loss_type: LossType = "clip",
    importance_sampling: ImportanceSampling = "token",
    clip_low: float = 0.2,
    clip_high: float = 0.2,
) -> PolicyLoss:
    """The policy-gradient loss of each action token (to minimise), before aggregation.

    The importance ratio ``r`` of a token is, with ``importance_sampling``:

    * ``"token"``: its own, ``r_t = pi(y_t) / pi_old(y_t)`` (PPO, GRPO);
    * ``"sequence"``: its episode's length-normalised ratio ``s_i`` (:func:`sequence_log_ratio`;
      GSPO, Zheng et al. 2025, arXiv:2507.18071), one ratio and one clip decision for every
      token of the episode. With ``loss_aggregation="sequence"`` the aggregated loss is GSPO's
      objective exactly; GSPO clips in a far narrower range than PPO (3e-4 below, 4e-4 above in
      its paper), since a mean of log-ratios moves much less than any one of them.

    and, with ``loss_type``:

    * ``"clip"``: PPO's clipped surrogate (Schulman et al. 2017),
      ``-min(r * A, clip(r, 1 - clip_low, 1 + clip_high) * A)``;
    * ``"cispo"``: CISPO (MiniMax-M1, arXiv:2506.13585),
      ``-sg(min(r, 1 + clip_high)) * A * log pi(y_t)``, where ``sg`` stops the gradient: the
      clipped ratio only weighs the token, the gradient ``w * A * grad log pi`` flows through
      ``log pi`` alone, and no token is dropped from the gradient as PPO's ``min`` drops the
      clipped ones (the rare "fork" tokens of a reasoning chain, whose ratios move most).
      MiniMax-M1 sets the lower bound so loose that it never binds and tunes only the upper
      one, so ``clip_low`` is not used. The loss's value is not a surrogate of the return
      (it is ``-A log pi``-sized); its gradient is what matters.

    Args:
        log_probs: ``log pi`` of each action token under the policy being trained (with grad).
        old_log_probs: ``log pi_old`` of the same tokens, at sampling time.
        advantages: Each token's advantage (its episode's), the same shape.
        n_actions: Tokens per episode, (E,), summing to ``len(log_probs)``.
        loss_type: ``"clip"`` or ``"cispo"``.
        importance_sampling: ``"token"`` or ``"sequence"``.
        clip_low: The clip below 1 (``"clip"`` only), in (0, 1).
        clip_high: The clip above 1, > 0.

    Returns:
        The per-token loss, the ratio each token used and where it was clipped.

    Raises:
        ValueError: If an option is unknown or ``n_actions`` does not fit the tokens.
    """
    check_objective(loss_type, importance_sampling)
    log_ratio = log_probs - old_log_probs
    if importance_sampling == "sequence":
        log_ratio = sequence_log_ratio(log_ratio, n_actions)
    elif int(n_actions.sum()) != len(log_ratio):
        raise ValueError(f"n_actions {n_actions.tolist()} do not split {len(log_ratio)} tokens into episodes")
    ratio = torch.exp(log_ratio)
    if loss_type == "clip":
        surrogate = torch.min(ratio * advantages, torch.clamp(ratio, 1 - clip_low, 1 + clip_high) * advantages)
        clipped = (ratio < 1 - clip_low) | (ratio > 1 + clip_high)
        return PolicyLoss(-surrogate, ratio.detach(), clipped.detach())
    weight = torch.clamp(ratio, max=1 + clip_high).detach()
    return PolicyLoss(-weight * advantages * log_probs, ratio.detach(), (ratio > 1 + clip_high).detach())


def reinforce_pp_advantages(rewards: np.ndarray, group_size: int, subtract_group_mean: bool, scale: bool) -> np.ndarray:
    """REINFORCE++ advantages (Hu 2025, arXiv:2501.03262), one per episode, (E,).

    * ``subtract_group_mean=False`` (REINFORCE++, verl's and OpenRLHF's ``reinforce_plus_plus``
      / ``reinforce``): no group baseline; ``A_i = (R_i - mean_B(R)) / std_B(R)`` over the
      whole batch ``B``, so a group whose completions all got the same reward still moves.
    * ``subtract_group_mean=True`` (REINFORCE++-baseline, verl's
      ``reinforce_plus_plus_baseline``, OpenRLHF's ``reinforce_baseline``):
      ``c_i = R_i - mean(R_group)``, then ``A_i = c_i / std_B(c)``: the group mean removes each
      prompt's difficulty and the batch std, unlike GRPO's group std, does not magnify a
      group's tiny differences. ``mean_B(c)`` is exactly zero, so the whitening has nothing
      to subtract, and an all-equal group keeps advantages of exactly zero.

    Standard deviations use Bessel's correction plus 1e-4, as :func:`agents.grpo.group_advantages`.
    ``scale=False`` stops after the centring. verl and OpenRLHF whiten per token (each
    episode's outcome reward, minus any per-token KL, is every token's return), so there a
    long completion weighs in the batch mean and std once per token; here each episode
    counts once, as in every other GRPO baseline. A k1 KL penalty
    (``kl_estimator="k1_reward"``) is subtracted from the return before, as in REINFORCE++.

    Args:
        rewards: Each episode's return, groups of ``group_size`` consecutive episodes.
        group_size: Episodes per prompt group.
        subtract_group_mean: The baseline variant.
        scale: Divide by the batch standard deviation (skipped for a batch of one episode).
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1 or group_size < 1 or len(r) % group_size:
        raise ValueError(f"{r.shape} rewards do not split into groups of {group_size}")
    if subtract_group_mean:
        groups = r.reshape(-1, group_size)
        centred = groups - groups.mean(axis=1, keepdims=True)
        centred[groups.max(axis=1) == groups.min(axis=1)] = 0.0  # exact zeros despite rounding
        adv = centred.reshape(-1)
    else:
        adv = r - r.mean()
    if scale and len(adv) > 1:
        adv = adv / (adv.std(ddof=1) + 1e-4)
    return adv
