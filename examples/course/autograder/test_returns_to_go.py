"""Autograder for Exercise 1, ``returns_to_go.discounted_returns_to_go``.

Expected values come from hand-worked examples (derivations in the comments) and from a
deliberately naive reference that sums ``gamma^k * r_{t+k}`` forward from every step, a
different route from the backward recursion students are expected to write.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
from _grading import assert_close


@pytest.fixture(scope="module")
def rtg(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``returns_to_go`` module."""
    return load_implementation("returns_to_go")


def reference_returns(
    rewards: list[list[float]], dones: list[list[bool]], last_values: list[float], gamma: float
) -> list[list[float]]:
    """Reward-to-go by the definition: a forward sum from each step to its episode's end."""
    out = []
    for row_r, row_d, last in zip(rewards, dones, last_values, strict=True):
        horizon = len(row_r)
        row_out = []
        for t in range(horizon):
            total, discount, k = 0.0, 1.0, t
            while True:
                total += discount * row_r[k]
                if row_d[k]:  # terminated: nothing after this step counts
                    break
                if k == horizon - 1:  # truncated by the end of the row: bootstrap
                    total += discount * gamma * last
                    break
                discount *= gamma
                k += 1
            row_out.append(total)
        out.append(row_out)
    return out


def call(rtg: ModuleType, rewards, dones, last_values, gamma: float) -> np.ndarray:
    """Call the student's function with NumPy inputs of the documented dtypes."""
    return rtg.discounted_returns_to_go(
        np.asarray(rewards, dtype=np.float64),
        np.asarray(dones, dtype=bool),
        np.asarray(last_values, dtype=np.float64),
        gamma,
    )


def test_worked_example_truncated(rtg: ModuleType) -> None:
    # gamma = 0.5, rewards [1, 2, 4], no termination, V(s_T) = 8 (the docstring example):
    # G_2 = 4 + 0.5 * 8 = 8, G_1 = 2 + 0.5 * 8 = 6, G_0 = 1 + 0.5 * 6 = 4.
    got = call(rtg, [[1, 2, 4]], [[False, False, False]], [8.0], 0.5)
    assert_close(
        got,
        [[4.0, 6.0, 8.0]],
        "returns for a truncated row",
        "A row that does not end with done=True was cut short: bootstrap the last step with gamma * last_values[b].",
        want_tensor=False,
    )


def test_terminated_row_ignores_last_value(rtg: ModuleType) -> None:
    # Same rewards, but the episode terminates at the last step, so V(s_T) = 8 is ignored:
    # G_2 = 4, G_1 = 2 + 0.5 * 4 = 4, G_0 = 1 + 0.5 * 4 = 3.
    got = call(rtg, [[1, 2, 4]], [[False, False, True]], [8.0], 0.5)
    assert_close(
        got,
        [[3.0, 4.0, 4.0]],
        "returns for a terminated row",
        "When dones[b, T-1] is True the episode really ended: there is no future reward "
        "and last_values[b] must not be added.",
        want_tensor=False,
    )


def test_truncated_minus_terminated_is_discounted_bootstrap(rtg: ModuleType) -> None:
    # Two rows with identical rewards, one truncated and one terminated at the end: their
    # difference at step t is exactly gamma^(T - t) * V(s_T).
    gamma, value, horizon = 0.9, 5.0, 4
    rewards = [[0.5, -1.0, 2.0, 1.0]] * 2
    dones = [[False] * horizon, [False] * (horizon - 1) + [True]]
    got = np.asarray(call(rtg, rewards, dones, [value, value], gamma), dtype=np.float64)
    expected_gap = [gamma ** (horizon - t) * value for t in range(horizon)]
    assert_close(
        got[0] - got[1],
        expected_gap,
        "G(truncated row) - G(terminated row)",
        "Only the truncated row may bootstrap, and the bootstrap must be discounted once per remaining step.",
    )


def test_termination_inside_a_row_starts_a_new_episode(rtg: ModuleType) -> None:
    # gamma = 0.9, rewards all 1, the first episode terminates at t = 1, V(s_T) = 10:
    # G_3 = 1 + 0.9 * 10 = 10, G_2 = 1 + 0.9 * 10 = 10   (second, truncated episode)
    # G_1 = 1, G_0 = 1 + 0.9 * 1 = 1.9                   (first, terminated episode)
    got = call(rtg, [[1, 1, 1, 1]], [[False, True, False, False]], [10.0], 0.9)
    assert_close(
        got,
        [[1.9, 1.0, 10.0, 10.0]],
        "returns for a row with two episodes",
        "Rewards (or the bootstrap value) of the next episode leaked into an earlier one: "
        "a done flag at step t must stop the sum right after r_t.",
        want_tensor=False,
    )


def test_single_step_episodes(rtg: ModuleType) -> None:
    # Every step terminates its own one-step episode, so G_t = r_t whatever gamma is.
    rewards = [[3.0, -2.0, 0.5], [1.0, 1.0, 1.0]]
    got = call(rtg, rewards, [[True] * 3] * 2, [100.0, -100.0], 0.99)
    assert_close(
        got,
        rewards,
        "returns of one-step episodes",
        "With done=True at every step each return is just its own reward.",
        want_tensor=False,
    )


def test_single_step_truncated_row(rtg: ModuleType) -> None:
    # T = 1 and truncated: G_0 = r_0 + gamma * V = 2 + 0.5 * 6 = 5.
    got = call(rtg, [[2.0]], [[False]], [6.0], 0.5)
    assert_close(got, [[5.0]], "return of a 1-step truncated row", want_tensor=False)


def test_gamma_zero_is_immediate_reward(rtg: ModuleType) -> None:
    rewards = [[1.0, 2.0, 3.0], [-1.0, 0.0, 4.0]]
    got = call(rtg, rewards, [[False, True, False], [False] * 3], [50.0, 50.0], 0.0)
    assert_close(
        got,
        rewards,
        "returns with gamma = 0",
        "With gamma = 0 nothing after r_t counts, not even the bootstrap value.",
        want_tensor=False,
    )


def test_gamma_one_is_undiscounted_sum(rtg: ModuleType) -> None:
    # Truncated row: [1+2+3+4, 2+3+4, 3+4] = [10, 9, 7]; terminated row: [6, 5, 3].
    got = call(rtg, [[1, 2, 3], [1, 2, 3]], [[False] * 3, [False, False, True]], [4.0, 4.0], 1.0)
    assert_close(
        got,
        [[10.0, 9.0, 7.0], [6.0, 5.0, 3.0]],
        "returns with gamma = 1",
        "With gamma = 1 the return is the plain sum of the remaining rewards (+ V if truncated).",
        want_tensor=False,
    )


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.93, 1.0])
def test_random_batch_matches_definition(rtg: ModuleType, gamma: float) -> None:
    rng = np.random.default_rng(1234)
    rewards = rng.normal(size=(5, 7))
    dones = rng.random((5, 7)) < 0.3
    last_values = rng.normal(size=5)
    snapshot = (rewards.copy(), dones.copy(), last_values.copy())
    got = rtg.discounted_returns_to_go(rewards, dones, last_values, gamma)
    expected = reference_returns(rewards.tolist(), dones.tolist(), last_values.tolist(), gamma)
    assert_close(
        got,
        expected,
        f"returns for a random 5x7 batch (gamma={gamma})",
        "Compare with the definition G_t = sum_k gamma^k r_{t+k}, stopping after a done "
        "step and bootstrapping at the end of a row that is not done.",
        want_tensor=False,
    )
    names = ("rewards", "dones", "last_values")
    for before, after, name in zip(snapshot, (rewards, dones, last_values), names, strict=True):
        assert np.array_equal(before, after), f"your function modified its input `{name}`"
