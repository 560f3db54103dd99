"""Losses for learning a scalar reward from comparisons, and pairwise accuracy.

References:
    Bradley & Terry, "Rank Analysis of Incomplete Block Designs", Biometrika 39 (1952).
    Plackett, "The Analysis of Permutations", JRSS C 24 (1975); Luce, "Individual Choice
    Behavior" (1959).
    Ouyang et al., "Training language models to follow instructions with human feedback"
    (InstructGPT), NeurIPS 2022, eq. (1): the all-pairs loss over K-way rankings.
"""

from __future__ import annotations

import torch
from torch.nn.functional import logsigmoid, relu


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """Mean ``-log sigmoid(r_chosen - r_rejected)`` over the batch.

    >>> round(float(bradley_terry_loss(torch.zeros(3), torch.zeros(3))), 4)  # log 2
    0.6931
    """
    return -logsigmoid(chosen - rejected).mean()


def margin_hinge_loss(chosen: torch.Tensor, rejected: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Mean ``max(0, margin - (r_chosen - r_rejected))``: zero once chosen wins by ``margin``."""
    return relu(margin - (chosen - rejected)).mean()


def plackett_luce_loss(scores: torch.Tensor) -> torch.Tensor:
    """Mean negative Plackett-Luce log-likelihood of rankings.

    Args:
        scores: Shape (B, K): the scores of each ranking's completions, best first.

    Returns:
        ``mean_b sum_i [logsumexp(s_i, ..., s_K) - s_i]``; for K = 2 this is Bradley-Terry.
        The last term is always 0 (one item left), so the sum runs over i < K.

    >>> round(float(plackett_luce_loss(torch.zeros(1, 3))), 4)  # log 3! = log 6
    1.7918
    """
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must have shape (batch, K >= 2), got {tuple(scores.shape)}")
    # logsumexp over each suffix s_i..s_K: a cumulative logsumexp of the reversed row.
    suffix = torch.logcumsumexp(scores.flip(-1), dim=-1).flip(-1)
    return (suffix - scores)[:, :-1].sum(-1).mean()


def all_pairs_loss(scores: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry averaged over the K(K-1)/2 pairs each ranking implies (InstructGPT).

    Args:
        scores: Shape (B, K), best first.

    >>> round(float(all_pairs_loss(torch.zeros(2, 4))), 4)
    0.6931
    """
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must have shape (batch, K >= 2), got {tuple(scores.shape)}")
    i, j = torch.triu_indices(scores.shape[1], scores.shape[1], offset=1)
    return -logsigmoid(scores[:, i] - scores[:, j]).mean()


def pairwise_accuracy(better: torch.Tensor, worse: torch.Tensor) -> float:
    """Fraction of pairs where the better item scores strictly higher (ties count as wrong)."""
    if better.shape != worse.shape or better.numel() == 0:
        raise ValueError(f"need two non-empty tensors of one shape, got {tuple(better.shape)}, {tuple(worse.shape)}")
    return float((better > worse).float().mean())
