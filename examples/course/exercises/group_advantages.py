"""Exercise 6: group-relative advantages (GRPO, RLOO, Dr. GRPO) and loss aggregation.

Tensor library: **PyTorch** (the aggregated loss must be differentiable with respect to the
per-token losses).

Background
----------
Critic-free policy gradients for language models sample ``G`` completions of the same
prompt and use the *other* completions as the baseline: no value network is trained. With
``R[p, i]`` the reward of completion ``i`` of prompt ``p`` (one row per prompt, shape
``(P, G)``):

* **GRPO** (Shao et al. 2024) standardises within the group::

      A[p, i] = (R[p, i] - mean_j R[p, j]) / (std_j R[p, j] + eps)

  with the *sample* standard deviation (Bessel's correction, divide by ``G - 1``, as
  ``torch.std`` does by default). A group whose rewards are all equal gets ``A = 0``: it
  carries no signal, and the ``eps`` keeps ``0 / 0`` out.
* **RLOO** (Ahmadian et al. 2024, after Kool et al. 2019) subtracts the mean of the *other*
  ``G - 1`` rewards, a baseline that does not depend on ``R[p, i]`` itself, so the gradient
  estimate stays unbiased::

      A[p, i] = R[p, i] - (sum_j R[p, j] - R[p, i]) / (G - 1)

  It needs ``G >= 2``. (Algebra: it equals ``G / (G - 1) * (R[p, i] - mean_j R[p, j])``.)
* **Dr. GRPO** (Liu et al. 2025) drops GRPO's division by the group std, which gives too
  easy and too hard prompts (small std) outsized updates: ``A[p, i] = R[p, i] - mean_j R[p, j]``.

Every token a completion wrote gets its completion's advantage, and the per-token losses
are then reduced to one scalar. The token losses come padded as ``(B, T)`` with a boolean
``mask`` (True on the completion's real tokens; ``B = P * G`` completions, ``T`` the
generation budget). The padded positions hold arbitrary values and must not count. Three
reductions are in use:

* ``"sequence"`` (the original GRPO): the mean over each completion's tokens, then the mean
  over completions. A token of a short completion weighs more than one of a long completion.
* ``"token"`` (DAPO, Yu et al. 2025): the sum over every real token divided by the number
  of real tokens: every token weighs the same, whatever its completion's length.
* ``"constant"`` (Dr. GRPO): the sum over every real token divided by ``B * T``, a constant
  that does not depend on the lengths at all (no length normalisation).

Worked example::

    R = [[1, 0, 0, 1]]:   mean 0.5, sample std sqrt(1/3) = 0.57735
        GRPO      A = [0.5, -0.5, -0.5, 0.5] / (0.57735 + eps) ~ [0.866, -0.866, -0.866, 0.866]
        RLOO      A = [1 - 1/3, 0 - 2/3, 0 - 2/3, 1 - 1/3] = [0.667, -0.667, -0.667, 0.667]
        Dr. GRPO  A = [0.5, -0.5, -0.5, 0.5]

    per_token_loss = [[1, 2, 3], [4, 9, 9]], mask = [[T, T, T], [T, F, F]]  (9 is padding)
        "sequence":  ((1 + 2 + 3) / 3 + 4 / 1) / 2 = 3
        "token":     (1 + 2 + 3 + 4) / 4 = 2.5
        "constant":  (1 + 2 + 3 + 4) / (2 * 3) = 1.6667

References:
    Shao et al., "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language
    Models", arXiv:2402.03300 (2024), sec. 4.1 (GRPO).
    Ahmadian et al., "Back to Basics: Revisiting REINFORCE Style Optimization for Learning
    from Human Feedback in LLMs", arXiv:2402.14740 (2024) (RLOO).
    Yu et al., "DAPO: An Open-Source LLM Reinforcement Learning System at Scale",
    arXiv:2503.14476 (2025) (token-level loss).
    Liu et al., "Understanding R1-Zero-Like Training: A Critical Perspective",
    arXiv:2503.20783 (2025) (Dr. GRPO).
"""

from __future__ import annotations

import torch


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """GRPO's group-standardised advantages.

    Args:
        rewards: Float tensor of shape ``(P, G)``, one row of ``G`` completions per prompt.
        eps: Added to each group's standard deviation.

    Returns:
        Float tensor of shape ``(P, G)``: ``(R - row mean) / (row sample std + eps)``.
    """
    # TODO(student): subtract each row's mean (keepdim=True keeps it broadcastable),
    # then divide by the row's sample std (torch.std's default, divide by G - 1) plus eps.
    raise NotImplementedError


def rloo_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """RLOO's leave-one-out advantages.

    Args:
        rewards: Float tensor of shape ``(P, G)`` with ``G >= 2``.

    Returns:
        Float tensor of shape ``(P, G)``: each reward minus the mean of the other ``G - 1``
        rewards of its row.

    Raises:
        ValueError: If ``G < 2`` (no other completion to compare with).
    """
    # TODO(student): refuse G < 2 with a ValueError; the mean of the other G - 1 rewards
    # is (row sum - R) / (G - 1), computed for every entry at once.
    raise NotImplementedError


def dr_grpo_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """Dr. GRPO's advantages: the group mean subtracted, not divided by the group std.

    Args:
        rewards: Float tensor of shape ``(P, G)``.

    Returns:
        Float tensor of shape ``(P, G)``: ``R - row mean``.
    """
    # TODO(student): the row mean subtracted, nothing else.
    raise NotImplementedError


def aggregate_loss(per_token_loss: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Reduce padded per-token losses to one scalar, ignoring the padding.

    Args:
        per_token_loss: Float tensor of shape ``(B, T)``; positions where ``mask`` is False
            hold arbitrary (finite) values.
        mask: Bool tensor of shape ``(B, T)``; True on real tokens. Every row has at least
            one real token.
        mode: ``"sequence"``, ``"token"`` or ``"constant"`` (see the module docstring).

    Returns:
        A 0-dim tensor, differentiable with respect to ``per_token_loss`` (zero gradient on
        the padding).

    Raises:
        ValueError: If ``mode`` is not one of the three.
    """
    # TODO(student): turn the mask into float weights and multiply (never index: keep (B, T));
    # 'sequence': per-row sums / per-row token counts, then the mean over rows;
    # 'token': total sum / total token count; 'constant': total sum / (B * T);
    # anything else: ValueError.
    raise NotImplementedError
