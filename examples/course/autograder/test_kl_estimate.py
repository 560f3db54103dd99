"""Autograder for Exercise 5, ``kl_estimate`` (exact KL, k1 and k3 from logits).

Exact values come from ``torch.distributions`` (``Categorical.log_prob`` and
``kl_divergence``), which the students are not asked to use. Unbiasedness of k1 and k3 is
checked *exactly*, without sampling noise: with a small vocabulary, the expectation under
``p`` is a finite sum over every token weighted by its probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import pytest
import torch
from _grading import assert_close, assert_shape
from torch.distributions import Categorical, kl_divergence

B, T, V = 2, 3, 5


@pytest.fixture(scope="module")
def kl(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``kl_estimate`` module."""
    return load_implementation("kl_estimate")


def random_logits(seed: int, scale: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Policy and reference logits of shape (B, T, V)."""
    gen = torch.Generator().manual_seed(seed)
    policy = scale * torch.randn(B, T, V, generator=gen, dtype=torch.float64)
    ref = scale * torch.randn(B, T, V, generator=gen, dtype=torch.float64)
    return policy, ref


def random_tokens(seed: int) -> torch.Tensor:
    """Token ids of shape (B, T)."""
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def test_token_log_probs(kl: ModuleType) -> None:
    logits, _ = random_logits(0)
    tokens = random_tokens(1)
    assert_close(
        kl.token_log_probs(logits, tokens),
        Categorical(logits=logits).log_prob(tokens),
        "token_log_probs for (B, T, V) logits",
        "Take log_softmax over the vocabulary (last) dimension, then gather each token's "
        "entry; the result has the shape of `tokens`.",
        want_tensor=True,
    )


def test_exact_kl_matches_torch_distributions(kl: ModuleType) -> None:
    policy, ref = random_logits(2)
    expected = kl_divergence(Categorical(logits=policy), Categorical(logits=ref))
    assert_close(
        kl.exact_kl(policy, ref),
        expected,
        "exact_kl for (B, T, V) logits",
        "KL(p || q) = sum_v p(v) (log p(v) - log q(v)) with p from the *policy*; summing "
        "over the wrong dimension or swapping p and q are the usual mistakes.",
        want_tensor=True,
    )


def test_worked_example(kl: ModuleType) -> None:
    # p = [0.5, 0.5], q = [0.9, 0.1] (logits = log-probabilities):
    #   KL = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) ~ 0.5 * (-0.587787 + 1.609438) ~ 0.510826
    #   token 0: r = 1.8, k1 = ln(0.5/0.9) ~ -0.587787, k3 = 0.8 - ln 1.8 ~ 0.212213
    #   token 1: r = 0.2, k1 = ln 5 ~ 1.609438,         k3 = -0.8 - ln 0.2 ~ 0.809438
    policy = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64))
    ref = torch.log(torch.tensor([[0.9, 0.1], [0.9, 0.1]], dtype=torch.float64))
    tokens = torch.tensor([0, 1])
    kl_exact = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(5.0)
    assert_close(kl.exact_kl(policy, ref), [kl_exact] * 2, "exact_kl (worked example)")
    assert_close(
        kl.kl_k1(policy, ref, tokens),
        [math.log(0.5 / 0.9), math.log(5.0)],
        "kl_k1 (worked example)",
        "k1 = log p(x) - log q(x) with p the policy; it is negative when q(x) > p(x).",
    )
    assert_close(
        kl.kl_k3(policy, ref, tokens),
        [0.8 - math.log(1.8), -0.8 - math.log(0.2)],
        "kl_k3 (worked example)",
        "k3 = (r - 1) - log r with r = q(x) / p(x) = exp(log q(x) - log p(x)).",
    )


@pytest.mark.parametrize("estimator", ["kl_k1", "kl_k3"])
def test_estimators_are_unbiased(kl: ModuleType, estimator: str) -> None:
    # E_{x ~ p}[k(x)] = sum_v p(v) k(v): evaluate the estimator at *every* token v (a
    # (V, B, T) batch of token ids) and weight by the policy's probabilities.
    policy, ref = random_logits(3)
    every_token = torch.arange(V).view(V, 1, 1).expand(V, B, T)
    estimates = getattr(kl, estimator)(policy.expand(V, B, T, V), ref.expand(V, B, T, V), every_token)
    assert_shape(estimates, f"{estimator} for (V, B, T) tokens", (V, B, T), want_tensor=True)
    probs = torch.softmax(policy, dim=-1).permute(2, 0, 1)  # (V, B, T)
    expected = kl_divergence(Categorical(logits=policy), Categorical(logits=ref))
    assert_close(
        (probs * estimates).sum(dim=0),
        expected,
        f"E_p[{estimator}] (exact expectation over the vocabulary)",
        f"{estimator} must be an unbiased estimator of KL(p || q) for x ~ p (the policy). "
        "A biased result usually means p and q (policy and reference) are swapped.",
    )


def test_k3_is_non_negative_and_bounds_k1(kl: ModuleType) -> None:
    policy, ref = random_logits(4, scale=4.0)
    tokens = random_tokens(5)
    k1 = kl.kl_k1(policy, ref, tokens)
    k3 = kl.kl_k3(policy, ref, tokens)
    assert_shape(k3, "kl_k3", (B, T), want_tensor=True)
    assert bool((k3 >= 0).all()), (
        f"kl_k3 returned negative values {k3[k3 < 0].tolist()}: (r - 1) - log r >= 0 for "
        "every r > 0. Check that r = q(x) / p(x) and that you subtract log r."
    )
    # k3 = (r - 1) + k1 with r = exp(-k1): an identity linking the two estimators.
    assert_close(
        k3,
        torch.expm1(-k1) + k1,
        "kl_k3 versus your kl_k1",
        "k3 should equal (r - 1) + k1 since log r = -k1.",
    )


def test_identical_distributions(kl: ModuleType) -> None:
    policy, _ = random_logits(6)
    tokens = random_tokens(7)
    # Adding a constant to the logits gives the same distribution: KL must still be 0.
    ref = policy + 3.0
    zeros = torch.zeros(B, T)
    hint = "KL(p || p) = 0: compare log_softmax outputs, not raw logits."
    assert_close(kl.exact_kl(policy, ref), zeros, "exact_kl(p, p)", hint, atol=1e-12)
    assert_close(kl.kl_k1(policy, ref, tokens), zeros, "kl_k1(p, p)", hint, atol=1e-12)
    assert_close(kl.kl_k3(policy, ref, tokens), zeros, "kl_k3(p, p)", hint, atol=1e-12)


def test_numerical_stability(kl: ModuleType) -> None:
    # float32, a token whose policy probability e^-200 underflows to 0:
    # log(softmax(...)) gives -inf there and p * (log p - log q) becomes 0 * inf = NaN.
    policy = torch.tensor([[0.0, -200.0, 1.0]], dtype=torch.float32)
    ref = torch.tensor([[0.5, 0.0, -0.5]], dtype=torch.float32)
    expected = kl_divergence(Categorical(logits=policy.double()), Categorical(logits=ref.double()))
    assert_close(
        kl.exact_kl(policy, ref),
        expected,
        "exact_kl with a near-zero policy probability (float32)",
        "Use log_softmax for both log-probabilities instead of log(softmax(...)).",
        rtol=1e-5,
    )
    # Huge logits: softmax of [1000, 0] computed naively overflows (exp(1000) = inf).
    big_policy = torch.tensor([[1000.0, 0.0]], dtype=torch.float32)
    big_ref = torch.tensor([[999.0, 0.0]], dtype=torch.float32)
    token = torch.tensor([0])
    assert_close(
        kl.kl_k1(big_policy, big_ref, token),
        [0.0],
        "kl_k1 with logits around 1000 (float32)",
        "log p(x) must be computed with log_softmax, which never forms exp(1000).",
        atol=1e-6,
    )


def test_k3_precision_when_policy_is_close_to_reference(kl: ModuleType) -> None:
    # Early in RLHF training p ~ q, and k3 ~ (log r)^2 / 2 is tiny (here ~5e-7). In float32,
    # exp(log r) - 1 loses about 1e-7 to rounding, a 20% error; expm1 does not.
    policy = torch.tensor([[0.2, -0.3, 0.1]], dtype=torch.float32)
    ref = policy + torch.tensor([[0.0, 1e-3, 0.0]], dtype=torch.float32)
    token = torch.tensor([1])
    # Exact k3 from float64 log-probabilities (math.expm1 on a double is accurate).
    log_p = torch.log_softmax(policy.double(), -1)[0, 1]
    log_q = torch.log_softmax(ref.double(), -1)[0, 1]
    log_r = float(log_q - log_p)
    expected = [math.expm1(log_r) - log_r]
    assert_close(
        kl.kl_k3(policy, ref, token),
        expected,
        "kl_k3 when the policy is very close to the reference (float32)",
        "Compute r - 1 as torch.expm1(log_r) rather than torch.exp(log_r) - 1; the latter "
        "cancels catastrophically when r ~ 1.",
        rtol=2e-2,
        atol=0.0,
    )
