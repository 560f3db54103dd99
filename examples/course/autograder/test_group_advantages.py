"""Autograder for Exercise 6, ``group_advantages``: GRPO, RLOO and Dr. GRPO advantages, loss aggregation.

The reference loops over prompts, completions and tokens in plain Python with the
``statistics`` module, one definition at a time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from types import ModuleType

import pytest
import torch
from _grading import assert_close, assert_scalar_tensor

EPS = 1e-4
HINT_STD = (
    "GRPO divides by the *sample* standard deviation of the group (Bessel's correction, "
    "divide by G - 1: torch.std's default, not unbiased=False / correction=0), plus eps."
)
HINT_MASK = (
    "Padded positions (mask False) must not count: neither in the sums nor in the token "
    "counts. Multiply by the mask as floats, then divide by the right count."
)


@pytest.fixture(scope="module")
def ga(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``group_advantages`` module."""
    return load_implementation("group_advantages")


def reference_advantages(rewards: list[list[float]], kind: str) -> list[list[float]]:
    """GRPO / RLOO / Dr. GRPO advantages, one group at a time."""
    out = []
    for row in rewards:
        g, mean = len(row), statistics.fmean(row)
        if kind == "grpo":
            std = statistics.stdev(row)  # sample std, divides by G - 1
            out.append([(r - mean) / (std + EPS) for r in row])
        elif kind == "rloo":
            out.append([r - (sum(row) - r) / (g - 1) for r in row])
        else:
            out.append([r - mean for r in row])
    return out


def reference_aggregate(loss: list[list[float]], mask: list[list[bool]], mode: str) -> float:
    """The three reductions, token by token."""
    real = [[x for x, m in zip(row, mrow, strict=True) if m] for row, mrow in zip(loss, mask, strict=True)]
    if mode == "sequence":
        return statistics.fmean(sum(r) / len(r) for r in real)
    total = sum(sum(r) for r in real)
    if mode == "token":
        return total / sum(len(r) for r in real)
    return total / (len(loss) * len(loss[0]))


def random_rewards(seed: int, p: int = 3, g: int = 5) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(p, g, generator=gen, dtype=torch.float64)


def test_grpo_worked_example(ga: ModuleType) -> None:
    # R = [1, 0, 0, 1]: mean 0.5, sample std sqrt(((0.5^2) * 4) / 3) = sqrt(1/3) = 0.57735
    s = math.sqrt(1 / 3) + EPS
    got = ga.grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64))
    assert_close(
        got, [[0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s]], "grpo_advantages (worked example)", HINT_STD, want_tensor=True
    )


def test_grpo_uses_each_rows_own_statistics(ga: ModuleType) -> None:
    # row 1: mean 2.75, sample std 1.5 -> (R - 2.75) / 1.5001; row 0 as in the worked example
    rewards = [[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 5.0]]
    got = ga.grpo_advantages(torch.tensor(rewards, dtype=torch.float64))
    assert_close(
        got,
        reference_advantages(rewards, "grpo"),
        "grpo_advantages with two prompts",
        "Each row is its own group: reduce over dim=1 with keepdim=True, never over the whole batch.",
        want_tensor=True,
    )


def test_grpo_equal_rewards_give_zero_not_nan(ga: ModuleType) -> None:
    # a group where every completion got 0.7: no signal, advantage 0 (eps avoids 0 / 0)
    got = ga.grpo_advantages(torch.full((2, 4), 0.7, dtype=torch.float64))
    assert_close(
        got,
        [[0.0] * 4] * 2,
        "grpo_advantages of an all-equal group",
        "Add eps to the std.",
        want_tensor=True,
        atol=1e-9,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_grpo_random_batch(ga: ModuleType, seed: int) -> None:
    rewards = random_rewards(seed)
    got = ga.grpo_advantages(rewards, eps=EPS)
    assert_close(
        got,
        reference_advantages(rewards.tolist(), "grpo"),
        "grpo_advantages (random batch)",
        HINT_STD,
        want_tensor=True,
    )


def test_rloo_worked_example(ga: ModuleType) -> None:
    # A_i = R_i - (sum - R_i) / 3: sum 2 -> [1 - 1/3, 0 - 2/3, 0 - 2/3, 1 - 1/3]
    got = ga.rloo_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64))
    assert_close(
        got,
        [[2 / 3, -2 / 3, -2 / 3, 2 / 3]],
        "rloo_advantages (worked example)",
        "The baseline of completion i is the mean of the OTHER G - 1 rewards of its row.",
        want_tensor=True,
    )


@pytest.mark.parametrize("g", [2, 5])
def test_rloo_random_batch_and_its_identity(ga: ModuleType, g: int) -> None:
    rewards = random_rewards(3, g=g)
    got = ga.rloo_advantages(rewards)
    assert_close(got, reference_advantages(rewards.tolist(), "rloo"), f"rloo_advantages with G = {g}", want_tensor=True)
    # the leave-one-out advantage is G / (G - 1) times the mean-centred one
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    assert_close(got, centred * g / (g - 1), "rloo_advantages against G / (G - 1) * (R - mean)", want_tensor=True)


def test_rloo_refuses_a_single_completion(ga: ModuleType) -> None:
    with pytest.raises(ValueError):
        ga.rloo_advantages(torch.ones(3, 1, dtype=torch.float64))


def test_dr_grpo_is_not_scaled(ga: ModuleType) -> None:
    # [2, 2, 2, 5]: mean 2.75 -> [-0.75, -0.75, -0.75, 2.25], no division by the std
    got = ga.dr_grpo_advantages(torch.tensor([[2.0, 2.0, 2.0, 5.0]], dtype=torch.float64))
    assert_close(
        got,
        [[-0.75, -0.75, -0.75, 2.25]],
        "dr_grpo_advantages",
        "Dr. GRPO subtracts the group mean and does NOT divide by the group std.",
        want_tensor=True,
    )
    rewards = random_rewards(4)
    assert_close(
        ga.dr_grpo_advantages(rewards),
        reference_advantages(rewards.tolist(), "dr"),
        "dr_grpo_advantages (random batch)",
        want_tensor=True,
    )


def test_advantages_leave_the_rewards_untouched(ga: ModuleType) -> None:
    rewards = random_rewards(5)
    copy = rewards.clone()
    for fn in (ga.grpo_advantages, ga.rloo_advantages, ga.dr_grpo_advantages):
        fn(rewards)
        assert torch.equal(rewards, copy), f"{fn.__name__} modified its input in place (use out-of-place ops)"


LOSS = [[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]]
MASK = [[True, True, True], [True, False, False]]


@pytest.mark.parametrize(
    ("mode", "want", "hint"),
    [
        ("sequence", 3.0, "'sequence': mean over each row's real tokens, then mean over rows: (6/3 + 4/1) / 2."),
        ("token", 2.5, "'token': sum of the real tokens / number of real tokens: 10 / 4."),
        ("constant", 10 / 6, "'constant': sum of the real tokens / (B * T): 10 / (2 * 3)."),
    ],
)
def test_aggregate_worked_example(ga: ModuleType, mode: str, want: float, hint: str) -> None:
    got = ga.aggregate_loss(torch.tensor(LOSS, dtype=torch.float64), torch.tensor(MASK), mode)
    value = assert_scalar_tensor(got, f"aggregate_loss(mode={mode!r})")
    assert_close(value, want, f"aggregate_loss(mode={mode!r}) (worked example)", hint + " " + HINT_MASK)


@pytest.mark.parametrize("mode", ["sequence", "token", "constant"])
def test_aggregate_random_padded_batch_and_gradient(ga: ModuleType, mode: str) -> None:
    gen = torch.Generator().manual_seed(6)
    b, t = 4, 6
    lengths = [6, 1, 3, 4]
    mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
    loss = torch.randn(b, t, generator=gen, dtype=torch.float64)
    loss = torch.where(mask, loss, torch.full_like(loss, 1e6))  # garbage in the padding
    loss.requires_grad_(True)
    got = ga.aggregate_loss(loss, mask, mode)
    value = assert_scalar_tensor(got, f"aggregate_loss(mode={mode!r})")
    assert_close(
        value, reference_aggregate(loss.tolist(), mask.tolist(), mode), f"aggregate_loss(mode={mode!r})", HINT_MASK
    )
    assert got.requires_grad, "aggregate_loss must stay differentiable: do not detach or call .item()"
    got.backward()
    # d loss / d token: 1 / (B * length) for 'sequence', 1 / (real tokens) for 'token',
    # 1 / (B * T) for 'constant'; 0 on the padding
    per_row = {
        "sequence": [1 / (b * n) for n in lengths],
        "token": [1 / sum(lengths)] * b,
        "constant": [1 / (b * t)] * b,
    }
    want = [[per_row[mode][i] if mask[i, j] else 0.0 for j in range(t)] for i in range(b)]
    assert_close(
        loss.grad,
        want,
        f"the gradient of aggregate_loss(mode={mode!r})",
        "Each real token's weight; padding gets none.",
    )


def test_aggregate_refuses_an_unknown_mode(ga: ModuleType) -> None:
    with pytest.raises(ValueError):
        ga.aggregate_loss(torch.ones(2, 3), torch.ones(2, 3, dtype=torch.bool), "mean")
