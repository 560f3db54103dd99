"""Autograder for Exercise 3, ``ppo_clip.ppo_clip_loss``.

The reference evaluates the clipped objective element by element with the ``math`` module,
and the gradient check compares autograd with the analytic derivative
``d(-ratio * A) / d(log pi_new) = -ratio * A`` (zero where the clipped term is active).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import pytest
import torch
from _grading import assert_close, assert_scalar_tensor

HINT_MIN = (
    "The objective is min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A): clipping only ever "
    "removes the incentive to move further, it never makes a bad move look better."
)
OUT_NAMES = ("loss", "clip_fraction", "approx_kl")


@pytest.fixture(scope="module")
def ppo(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``ppo_clip`` module."""
    return load_implementation("ppo_clip")


def reference_ppo(new: list[float], old: list[float], adv: list[float], eps: float) -> tuple[float, float, float]:
    """(loss, clip_fraction, approx_kl) computed one sample at a time with `math`."""
    terms, n_clipped, kls = [], 0, []
    for log_new, log_old, a in zip(new, old, adv, strict=True):
        ratio = math.exp(log_new - log_old)
        clipped_ratio = min(max(ratio, 1.0 - eps), 1.0 + eps)
        terms.append(min(ratio * a, clipped_ratio * a))
        n_clipped += abs(ratio - 1.0) > eps
        kls.append((ratio - 1.0) - (log_new - log_old))
    n = len(terms)
    return -sum(terms) / n, n_clipped / n, sum(kls) / n


def call(ppo: ModuleType, ratios: list[float], adv: list[float], eps: float, old: float = -1.3):
    """Call the student's function for given ratios (old log-probs all equal to `old`)."""
    old_lp = torch.full((len(ratios),), old, dtype=torch.float64)
    new_lp = old_lp + torch.log(torch.tensor(ratios, dtype=torch.float64))
    out = ppo.ppo_clip_loss(new_lp, old_lp, torch.tensor(adv, dtype=torch.float64), eps)
    assert isinstance(out, tuple) and len(out) == 3, (
        "ppo_clip_loss must return a tuple (loss, clip_fraction, approx_kl)"
    )
    return tuple(assert_scalar_tensor(x, name) for x, name in zip(out, OUT_NAMES, strict=True))


def test_worked_example(ppo: ModuleType) -> None:
    # eps = 0.2; ratios [1.5, 0.5, 1.5, 0.5], advantages [+1, +1, -1, -1]:
    #   terms = [min(1.5, 1.2), min(0.5, 0.8), min(-1.5, -1.2), min(-0.5, -0.8)]
    #         = [1.2, 0.5, -1.5, -0.8]            -> loss = -(-0.6) / 4 = 0.15
    #   every |ratio - 1| = 0.5 > 0.2             -> clip_fraction = 1
    #   approx_kl = mean of (0.5 - ln 1.5) and (-0.5 - ln 0.5) = (ln 2 - ln 1.5) / 2
    #             = ln(4/3) / 2 ~ 0.143841
    loss, clip_fraction, approx_kl = call(ppo, [1.5, 0.5, 1.5, 0.5], [1, 1, -1, -1], 0.2)
    assert_close(loss, 0.15, "loss (worked example)", HINT_MIN + " Return the *negated* mean.")
    assert_close(
        clip_fraction,
        1.0,
        "clip_fraction (worked example)",
        "clip_fraction is the share of samples with |ratio - 1| > clip_range.",
    )
    assert_close(
        approx_kl,
        math.log(4.0 / 3.0) / 2.0,
        "approx_kl (worked example)",
        "approx_kl = mean((ratio - 1) - log(ratio)).",
    )


def test_pessimistic_side_is_not_clipped(ppo: ModuleType) -> None:
    # A > 0 with ratio 0.5 keeps 0.5 * A (not 0.8 * A); A < 0 with ratio 2 keeps 2 * A.
    # terms = [0.5 * 2, 2 * (-3)] = [1, -6] -> loss = 2.5
    loss, _, _ = call(ppo, [0.5, 2.0], [2.0, -3.0], 0.2)
    assert_close(loss, 2.5, "loss when the ratio moved in the harmful direction", HINT_MIN)


def test_identical_policies(ppo: ModuleType) -> None:
    # ratio = 1 everywhere: loss = -mean(A) = -(1 - 2 + 4) / 3 = -1, nothing clipped, KL 0.
    loss, clip_fraction, approx_kl = call(ppo, [1.0, 1.0, 1.0], [1.0, -2.0, 4.0], 0.2)
    assert_close(loss, -1.0, "loss with new == old", "With ratio = 1 the loss is -mean(A).")
    assert_close(clip_fraction, 0.0, "clip_fraction with new == old")
    assert_close(approx_kl, 0.0, "approx_kl with new == old", atol=1e-12)


def test_clip_boundaries(ppo: ModuleType) -> None:
    # eps = 0.2, ratios just inside / just outside the trust region:
    #   1.19 (A=+1) -> 1.19      1.21 (A=+1) -> 1.2 (clipped)
    #   0.81 (A=-1) -> -0.81     0.79 (A=-1) -> -0.8 (clipped)
    #   loss = -(1.19 + 1.2 - 0.81 - 0.8) / 4 = -0.195; clipped share 2 / 4 = 0.5
    loss, clip_fraction, _ = call(ppo, [1.19, 1.21, 0.81, 0.79], [1, 1, -1, -1], 0.2)
    assert_close(loss, -0.195, "loss near the clip boundaries", HINT_MIN)
    assert_close(
        clip_fraction,
        0.5,
        "clip_fraction near the clip boundaries",
        "Count a sample as clipped when |ratio - 1| > clip_range (strictly outside "
        "[1 - eps, 1 + eps]), whatever the sign of its advantage.",
    )


@pytest.mark.parametrize("eps", [0.1, 0.2, 0.3])
def test_random_batch_matches_reference(ppo: ModuleType, eps: float) -> None:
    gen = torch.Generator().manual_seed(0)
    old = -torch.rand(4, 5, generator=gen, dtype=torch.float64) * 3.0
    new = old + 0.4 * torch.randn(4, 5, generator=gen, dtype=torch.float64)
    adv = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    out = ppo.ppo_clip_loss(new, old, adv, eps)
    expected = reference_ppo(new.flatten().tolist(), old.flatten().tolist(), adv.flatten().tolist(), eps)
    for value, want, name in zip(out, expected, OUT_NAMES, strict=True):
        assert_close(
            assert_scalar_tensor(value, name),
            want,
            f"{name} for a random 4x5 batch (clip_range={eps})",
            "Average over *all* elements of the batch, whatever its shape.",
        )
    assert float(out[2]) >= 0.0, "approx_kl = mean((r - 1) - log r) can never be negative"


def test_gradient(ppo: ModuleType) -> None:
    # d loss / d new_log_prob_i = -ratio_i * A_i / n where the unclipped term is active and
    # 0 where the clipped (constant) term is active. Ratios are kept away from the kinks.
    eps = 0.2
    ratios = [1.5, 1.5, 0.5, 0.5, 1.1, 0.9]
    adv = [1.0, -2.0, 3.0, -1.0, 0.5, -0.5]
    # clipped (flat) where A > 0 and ratio > 1 + eps, or A < 0 and ratio < 1 - eps
    flat = [(a > 0 and r > 1 + eps) or (a < 0 and r < 1 - eps) for r, a in zip(ratios, adv, strict=True)]
    expected = [0.0 if f else -r * a / len(ratios) for r, a, f in zip(ratios, adv, flat, strict=True)]
    old = torch.full((len(ratios),), -2.0, dtype=torch.float64)
    new = (old + torch.log(torch.tensor(ratios, dtype=torch.float64))).requires_grad_(True)
    loss = ppo.ppo_clip_loss(new, old, torch.tensor(adv, dtype=torch.float64), eps)[0]
    assert isinstance(loss, torch.Tensor) and loss.requires_grad, (
        "loss must be a differentiable function of new_log_probs (did you detach it or use .item()?)"
    )
    (grad,) = torch.autograd.grad(loss, new)
    assert_close(
        grad,
        expected,
        "gradient of the loss with respect to new_log_probs",
        "Where the clipped term is selected the gradient must be exactly 0; elsewhere it is "
        "-ratio * A / n. A wrong sign means you returned L^CLIP instead of -L^CLIP.",
    )


def test_diagnostics_are_detached(ppo: ModuleType) -> None:
    old = torch.tensor([-1.0, -2.0, -0.5], dtype=torch.float64)
    new = (old + torch.tensor([0.3, -0.3, 0.05], dtype=torch.float64)).requires_grad_(True)
    _, clip_fraction, approx_kl = ppo.ppo_clip_loss(new, old, torch.ones(3, dtype=torch.float64), 0.2)
    for value, name in ((clip_fraction, "clip_fraction"), (approx_kl, "approx_kl")):
        assert_scalar_tensor(value, name)
        assert not value.requires_grad, (
            f"{name} is a logging diagnostic and must not carry gradients: compute it inside "
            "torch.no_grad() or call .detach()."
        )


def test_ratio_computed_in_log_space(ppo: ModuleType) -> None:
    # Per-sequence log-probs of long generations are very negative. In float32,
    # exp(-200) underflows to 0, so exp(new) / exp(old) would give 0 / 0 = NaN, while
    # exp(new - old) = exp(0.1) is perfectly representable.
    old = torch.tensor([-200.0, -300.0], dtype=torch.float32)
    new = old + torch.tensor([0.1, -0.1], dtype=torch.float32)
    adv = torch.tensor([1.0, 1.0], dtype=torch.float32)
    loss, _, _ = ppo.ppo_clip_loss(new, old, adv, 0.2)
    # ratios e^0.1 ~ 1.10517 and e^-0.1 ~ 0.904837, both unclipped -> loss = -mean(ratios)
    expected = -(math.exp(0.1) + math.exp(-0.1)) / 2.0
    assert_close(
        assert_scalar_tensor(loss, "loss"),
        expected,
        "loss for very negative log-probabilities (float32)",
        "Compute ratio = exp(new_log_probs - old_log_probs); never exponentiate the log-probabilities themselves.",
        rtol=1e-4,
    )
