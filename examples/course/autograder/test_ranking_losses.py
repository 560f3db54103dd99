"""Autograder for Exercise 4, ``ranking_losses`` (Bradley-Terry, hinge, Plackett-Luce, pairs).

Plackett-Luce is checked by brute force: for ``K = 3`` every one of the ``3! = 6`` rankings
is scored with the sequential-choice definition in plain Python, and the student's
likelihoods must match and sum to one. Pairwise losses are checked against ``math``
formulas and hand-worked numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from types import ModuleType

import pytest
import torch
from _grading import assert_close, assert_scalar_tensor

LN2 = math.log(2.0)


@pytest.fixture(scope="module")
def rank(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``ranking_losses`` module."""
    return load_implementation("ranking_losses")


def softplus(x: float) -> float:
    """Return log(1 + e^x) without overflow (so that -log sigmoid(d) is f(-d))."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def pl_probability(ranked_scores: list[float]) -> float:
    """P(ranking) by sequential choice: pick the best of the remaining items, K times."""
    prob, remaining = 1.0, list(ranked_scores)
    while remaining:
        prob *= math.exp(remaining[0]) / sum(math.exp(s) for s in remaining)
        remaining.pop(0)
    return prob


def t64(values: object) -> torch.Tensor:
    """Float64 tensor from nested lists."""
    return torch.tensor(values, dtype=torch.float64)


def scalar(value: object, what: str) -> float:
    """Check the 0-dim tensor contract and unwrap."""
    return assert_scalar_tensor(value, what)


# ---------------------------------------------------------------- Bradley-Terry and hinge


def test_bradley_terry_worked_example(rank: ModuleType) -> None:
    # chosen - rejected = [2, -2]: losses ln(1 + e^-2) ~ 0.126928 and ln(1 + e^2)
    # = 2 + ln(1 + e^-2); their mean is 1 + ln(1 + e^-2) ~ 1.126928.
    loss = scalar(rank.bradley_terry_loss(t64([2.0, 0.0]), t64([0.0, 2.0])), "bradley_terry_loss")
    assert_close(
        loss,
        1.0 + math.log1p(math.exp(-2.0)),
        "bradley_terry_loss (worked example)",
        "L = mean(-log sigmoid(chosen - rejected)); check the sign of the difference.",
    )


def test_bradley_terry_equal_scores(rank: ModuleType) -> None:
    loss = scalar(rank.bradley_terry_loss(t64([0.3, -4.0]), t64([0.3, -4.0])), "bradley_terry_loss")
    assert_close(loss, LN2, "bradley_terry_loss with equal scores", "sigmoid(0) = 1/2: loss = ln 2.")


def test_bradley_terry_is_numerically_stable(rank: ModuleType) -> None:
    # d = [-1000, 1000]: -log sigmoid(-1000) = 1000 (+ e^-1000), -log sigmoid(1000) ~ 0,
    # mean 500. log(sigmoid(-1000)) = log(0) = -inf in floating point.
    loss = rank.bradley_terry_loss(t64([-1000.0, 1000.0]), t64([0.0, 0.0]))
    assert_close(
        scalar(loss, "bradley_terry_loss"),
        500.0,
        "bradley_terry_loss for very confident (and very wrong) scores",
        "Use torch.nn.functional.logsigmoid (or softplus) instead of log(sigmoid(x)).",
    )


def test_bradley_terry_gradient(rank: ModuleType) -> None:
    # dL/d chosen_b = -sigmoid(-(c_b - r_b)) / B and dL/d rejected_b = +sigmoid(-(c_b - r_b)) / B.
    chosen = t64([1.0, -0.5, 2.0]).requires_grad_(True)
    rejected = t64([0.0, 0.5, 2.5]).requires_grad_(True)
    loss = rank.bradley_terry_loss(chosen, rejected)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        "bradley_terry_loss must stay differentiable (no .item(), numpy or detach)."
    )
    grad_c, grad_r = torch.autograd.grad(loss, (chosen, rejected))
    diffs = [1.0, -1.0, -0.5]
    expected = [-1.0 / (1.0 + math.exp(d)) / 3.0 for d in diffs]
    assert_close(grad_c, expected, "gradient of bradley_terry_loss w.r.t. chosen_rewards")
    assert_close(grad_r, [-g for g in expected], "gradient w.r.t. rejected_rewards")


def test_margin_hinge_worked_example(rank: ModuleType) -> None:
    # margin 1, chosen - rejected = [2, 0.5, -1] -> [max(0, -1), max(0, 0.5), max(0, 2)]
    # = [0, 0.5, 2], mean 2.5 / 3.
    loss = rank.margin_hinge_loss(t64([2.0, 0.5, -1.0]), t64([0.0, 0.0, 0.0]), margin=1.0)
    assert_close(
        scalar(loss, "margin_hinge_loss"),
        2.5 / 3.0,
        "margin_hinge_loss (worked example)",
        "L = mean(max(0, margin - (chosen - rejected))): pairs that already win by the margin contribute exactly 0.",
    )


def test_margin_hinge_equal_scores_and_zero_margin(rank: ModuleType) -> None:
    loss = rank.margin_hinge_loss(t64([1.0, -2.0]), t64([1.0, -2.0]), margin=0.7)
    assert_close(scalar(loss, "margin_hinge_loss"), 0.7, "hinge loss with equal scores")
    loss = rank.margin_hinge_loss(t64([1.0, 3.0]), t64([0.0, 2.9]), margin=0.0)
    assert_close(
        scalar(loss, "margin_hinge_loss"),
        0.0,
        "hinge loss with margin 0 and every chosen score ahead",
        "With margin 0 a pair is satisfied as soon as chosen > rejected.",
    )


# ---------------------------------------------------------------------------- Plackett-Luce


def test_plackett_luce_brute_force_k3(rank: ModuleType) -> None:
    item_scores = [0.7, -0.4, 1.9]
    perms = list(itertools.permutations(range(3)))
    ref_probs = [pl_probability([item_scores[i] for i in p]) for p in perms]
    # Sanity check of the reference itself: a distribution over the 6 rankings.
    assert math.isclose(sum(ref_probs), 1.0), "autograder bug: reference does not sum to 1"
    student_probs = []
    for perm, ref in zip(perms, ref_probs, strict=True):
        ranked = t64([[item_scores[i] for i in perm]])
        nll = scalar(rank.plackett_luce_nll(ranked), "plackett_luce_nll")
        assert_close(
            nll,
            -math.log(ref),
            f"plackett_luce_nll of the ranking {perm} (scores {item_scores})",
            "-log P = sum_i [logsumexp(s_i, ..., s_K) - s_i]: at each position the chosen "
            "item competes only with the items ranked *at or below* it.",
        )
        student_probs.append(math.exp(-nll))
    assert math.isclose(sum(student_probs), 1.0, rel_tol=1e-6), (
        f"exp(-plackett_luce_nll) over all 6 rankings sums to {sum(student_probs):.6f}, "
        "but the probabilities of all rankings must sum to 1."
    )


def test_plackett_luce_k2_is_bradley_terry(rank: ModuleType) -> None:
    chosen, rejected = [1.5, -0.2, 0.0], [0.5, 0.3, 0.0]
    pl = scalar(rank.plackett_luce_nll(t64([chosen, rejected]).T), "plackett_luce_nll")
    expected = sum(softplus(r - c) for c, r in zip(chosen, rejected, strict=True)) / 3.0
    assert_close(
        pl,
        expected,
        "plackett_luce_nll for K = 2",
        "With two items Plackett-Luce is exactly Bradley-Terry: -log sigmoid(s_1 - s_2).",
    )
    bt = scalar(rank.bradley_terry_loss(t64(chosen), t64(rejected)), "bradley_terry_loss")
    assert_close(pl, bt, "plackett_luce_nll(K=2) versus your bradley_terry_loss")


def test_plackett_luce_equal_scores(rank: ModuleType) -> None:
    # All 4! = 24 rankings are equally likely: -log(1/24) = ln 24.
    nll = scalar(rank.plackett_luce_nll(torch.full((2, 4), 0.3, dtype=torch.float64)), "nll")
    assert_close(
        nll,
        math.log(24.0),
        "plackett_luce_nll with 4 equal scores",
        "Equal scores make all K! rankings equally likely, so the loss must be log(K!). "
        "Check that the denominators shrink to the remaining items.",
    )


def test_plackett_luce_single_item(rank: ModuleType) -> None:
    nll = scalar(rank.plackett_luce_nll(t64([[3.0], [-1.0]])), "plackett_luce_nll")
    assert_close(nll, 0.0, "plackett_luce_nll for K = 1", "A single item has probability 1.")


def test_plackett_luce_random_batch_and_stability(rank: ModuleType) -> None:
    gen = torch.Generator().manual_seed(3)
    scores = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    expected = 0.0
    for row in scores.tolist():
        expected += sum(math.log(sum(math.exp(s) for s in row[i:])) - row[i] for i in range(len(row))) / len(scores)
    nll = scalar(rank.plackett_luce_nll(scores), "plackett_luce_nll")
    assert_close(nll, expected, "plackett_luce_nll for a random 3x5 batch", "Average over the batch.")
    # Adding a constant to every score leaves all probabilities unchanged; exp(1000)
    # overflows, so this only works with logsumexp-style computations.
    shifted = scalar(rank.plackett_luce_nll(scores + 1000.0), "plackett_luce_nll")
    assert_close(
        shifted,
        expected,
        "plackett_luce_nll after adding 1000 to every score",
        "The loss is shift-invariant; use torch.logsumexp / torch.logcumsumexp rather than log(sum(exp(...))).",
        rtol=1e-9,
        atol=1e-9,
    )


# ------------------------------------------------------------------------------- All pairs


def test_all_pairs_worked_example(rank: ModuleType) -> None:
    # scores [2, 1, 0]: pairs (0,1), (0,2), (1,2) with differences 1, 2, 1:
    # (2 ln(1 + e^-1) + ln(1 + e^-2)) / 3 ~ (2 * 0.313262 + 0.126928) / 3 ~ 0.251151
    loss = scalar(rank.all_pairs_loss(t64([[2.0, 1.0, 0.0]])), "all_pairs_loss")
    expected = (2.0 * softplus(-1.0) + softplus(-2.0)) / 3.0
    assert_close(
        loss,
        expected,
        "all_pairs_loss (worked example)",
        "Use each of the K(K-1)/2 pairs i < j exactly once, as 'i beats j', and average.",
    )


def test_all_pairs_brute_force(rank: ModuleType) -> None:
    gen = torch.Generator().manual_seed(4)
    scores = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    losses = [softplus(row[j] - row[i]) for row in scores.tolist() for i in range(4) for j in range(i + 1, 4)]
    loss = scalar(rank.all_pairs_loss(scores), "all_pairs_loss")
    assert_close(
        loss,
        sum(losses) / len(losses),
        "all_pairs_loss for a random 3x4 batch",
        "Average -log sigmoid(s_i - s_j) over the batch and the 6 pairs with i ranked above j "
        "(no i == j terms, no reversed pairs).",
    )


def test_all_pairs_k2_and_equal_scores(rank: ModuleType) -> None:
    chosen, rejected = t64([0.4, 2.0]), t64([1.0, -1.0])
    pairs = scalar(rank.all_pairs_loss(torch.stack([chosen, rejected], dim=1)), "all_pairs_loss")
    bt = scalar(rank.bradley_terry_loss(chosen, rejected), "bradley_terry_loss")
    assert_close(pairs, (softplus(0.6) + softplus(-3.0)) / 2.0, "all_pairs_loss for K = 2")
    assert_close(pairs, bt, "all_pairs_loss(K=2) versus your bradley_terry_loss")
    equal = scalar(rank.all_pairs_loss(torch.zeros(2, 5, dtype=torch.float64)), "all_pairs_loss")
    assert_close(equal, LN2, "all_pairs_loss with equal scores", "Every pair costs ln 2.")
