"""Autograder for Exercise 7, ``option_returns``: semi-MDP option rewards, returns and GAE.

The references are forward sums over the definitions in plain Python (every power of gamma
written out from the primitive step counts), never the backward recursions the exercise
asks for, so the two can only agree when the recursion is right.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
from _grading import assert_close

HINT_SPAN = (
    "The discount from decision j to decision j + 1 is gamma ** spans[j] (the next decision "
    "comes spans[j] primitive steps later), not gamma."
)
HINT_DONE = (
    "dones[j] = True ends the episode during option j: nothing after it (no later option, "
    "no last_value) may flow into G_j."
)


@pytest.fixture(scope="module")
def opt(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``option_returns`` module."""
    return load_implementation("option_returns")


def starts_of(spans: list[int]) -> list[int]:
    """The primitive step at which each option starts."""
    starts, t = [], 0
    for k in spans:
        starts.append(t)
        t += k
    return starts


def reference_option_rewards(steps: list[float], spans: list[int], gamma: float) -> list[float]:
    return [sum(gamma**i * steps[t + i] for i in range(k)) for t, k in zip(starts_of(spans), spans, strict=True)]


def reference_returns(
    rewards: list[float], spans: list[int], dones: list[bool], last_value: float, gamma: float
) -> list[float]:
    """G_j as a forward sum: each later option's reward discounted by the steps between them."""
    starts, total = starts_of(spans), sum(spans)
    out = []
    for j in range(len(rewards)):
        g, m = 0.0, j
        while True:
            g += gamma ** (starts[m] - starts[j]) * rewards[m]
            if dones[m]:
                break
            if m == len(rewards) - 1:
                g += gamma ** (total - starts[j]) * last_value
                break
            m += 1
        out.append(g)
    return out


def reference_gae(
    rewards: list[float],
    values: list[float],
    spans: list[int],
    dones: list[bool],
    last_value: float,
    gamma: float,
    lam: float,
) -> list[float]:
    """A_j = sum over the rest of the episode of (prod of d_l * lambda) * delta_m."""
    n = len(rewards)
    d = [0.0 if dones[j] else gamma ** spans[j] for j in range(n)]
    nxt = [*values[1:], last_value]
    delta = [rewards[j] + d[j] * nxt[j] - values[j] for j in range(n)]
    out = []
    for j in range(n):
        a, weight = 0.0, 1.0
        for m in range(j, n):
            a += weight * delta[m]
            if dones[m]:
                break
            weight *= d[m] * lam
        out.append(a)
    return out


def random_stream(seed: int, n_options: int = 7):
    rng = np.random.default_rng(seed)
    spans = rng.integers(1, 5, size=n_options)
    steps = rng.normal(size=int(spans.sum()))
    dones = rng.random(n_options) < 0.3
    values = rng.normal(size=n_options)
    return steps, spans, dones, values


def test_option_rewards_worked_example(opt: ModuleType) -> None:
    # gamma 0.5, rewards [1, 2, 4, 8], spans [1, 3]: R_0 = 1, R_1 = 2 + 0.5 * 4 + 0.25 * 8 = 6
    got = opt.option_rewards(np.array([1.0, 2.0, 4.0, 8.0]), np.array([1, 3]), 0.5)
    assert_close(
        got,
        [1.0, 6.0],
        "option_rewards (worked example)",
        "Discount each primitive reward from the start of ITS option (gamma^0 on the option's first step).",
        want_tensor=False,
    )


@pytest.mark.parametrize("gamma", [0.0, 0.9])
def test_option_rewards_random(opt: ModuleType, gamma: float) -> None:
    steps, spans, _, _ = random_stream(1)
    got = opt.option_rewards(steps, spans, gamma)
    want = reference_option_rewards(steps.tolist(), spans.tolist(), gamma)
    assert_close(got, want, f"option_rewards with gamma = {gamma}", want_tensor=False)


def test_option_rewards_refuses_bad_spans(opt: ModuleType) -> None:
    with pytest.raises(ValueError):
        opt.option_rewards(np.ones(4), np.array([1, 2]), 0.9)  # 3 steps of 4
    with pytest.raises(ValueError):
        opt.option_rewards(np.ones(4), np.array([4, 0]), 0.9)  # an option of no step


def test_returns_worked_example(opt: ModuleType) -> None:
    rewards, spans = np.array([1.0, 6.0]), np.array([1, 3])
    # terminated: G_1 = 6, G_0 = 1 + 0.5 * 6 = 4
    got = opt.semi_mdp_returns(rewards, spans, np.array([False, True]), 16.0, 0.5)
    assert_close(got, [4.0, 6.0], "semi_mdp_returns (terminated worked example)", HINT_DONE, want_tensor=False)
    # truncated, V = 16 after the last option (3 steps): G_1 = 6 + 0.5^3 * 16 = 8, G_0 = 1 + 0.5 * 8 = 5
    got = opt.semi_mdp_returns(rewards, spans, np.array([False, False]), 16.0, 0.5)
    assert_close(got, [5.0, 8.0], "semi_mdp_returns (truncated worked example)", HINT_SPAN, want_tensor=False)


def test_returns_discount_by_gamma_to_the_span(opt: ModuleType) -> None:
    # spans [4, 1], rewards [0, 1], gamma 0.5, terminated: G_0 = 0 + 0.5^4 * 1 = 0.0625 (0.5 with gamma)
    got = opt.semi_mdp_returns(np.array([0.0, 1.0]), np.array([4, 1]), np.array([False, True]), 0.0, 0.5)
    assert_close(got, [0.0625, 1.0], "semi_mdp_returns after a 4-step option", HINT_SPAN, want_tensor=False)


@pytest.mark.parametrize("seed", [2])
def test_returns_equal_the_primitive_return_from_each_decision(opt: ModuleType, seed: int) -> None:
    # one episode, truncated: G_j must be the plain discounted return of the primitive
    # rewards from the option's first step, plus gamma^(steps left) * last_value
    steps, spans, _, _ = random_stream(seed)
    gamma, last = 0.9, 2.5
    rewards = reference_option_rewards(steps.tolist(), spans.tolist(), gamma)
    got = opt.semi_mdp_returns(np.array(rewards), spans, np.zeros(len(spans), dtype=bool), last, gamma)
    total = len(steps)
    want = [
        sum(gamma ** (t - s) * steps[t] for t in range(s, total)) + gamma ** (total - s) * last
        for s in starts_of(spans.tolist())
    ]
    assert_close(got, want, "semi_mdp_returns against the primitive-step return", HINT_SPAN, want_tensor=False)


def test_unit_spans_give_ordinary_returns(opt: ModuleType) -> None:
    # every option one step long: G_t = r_t + gamma * G_{t+1}, as in Exercise 1
    r = np.array([1.0, -2.0, 0.5, 3.0])
    got = opt.semi_mdp_returns(r, np.ones(4, dtype=int), np.array([False, True, False, False]), 10.0, 0.8)
    want = [1.0 + 0.8 * -2.0, -2.0, 0.5 + 0.8 * (3.0 + 0.8 * 10.0), 3.0 + 0.8 * 10.0]
    assert_close(got, want, "semi_mdp_returns with every span 1", HINT_DONE, want_tensor=False)


@pytest.mark.parametrize("seed", [4, 5])
def test_returns_random_streams_with_episode_ends(opt: ModuleType, seed: int) -> None:
    steps, spans, dones, _ = random_stream(seed)
    rewards = reference_option_rewards(steps.tolist(), spans.tolist(), 0.95)
    got = opt.semi_mdp_returns(np.array(rewards), spans, dones, -1.5, 0.95)
    want = reference_returns(rewards, spans.tolist(), dones.tolist(), -1.5, 0.95)
    assert_close(got, want, "semi_mdp_returns (random stream)", HINT_SPAN + " " + HINT_DONE, want_tensor=False)


def test_gae_worked_example(opt: ModuleType) -> None:
    # rewards [1, 6], spans [1, 3], values [2, 4], truncated with V = 16, gamma 0.5:
    # d = [0.5, 0.125]; delta_1 = 6 + 0.125 * 16 - 4 = 4; delta_0 = 1 + 0.5 * 4 - 2 = 1
    # lambda 0.5: A_1 = 4, A_0 = 1 + 0.5 * 0.5 * 4 = 2
    got = opt.semi_mdp_gae(
        np.array([1.0, 6.0]), np.array([2.0, 4.0]), np.array([1, 3]), np.array([False, False]), 16.0, 0.5, 0.5
    )
    assert_close(got, [2.0, 4.0], "semi_mdp_gae (worked example)", HINT_SPAN, want_tensor=False)


@pytest.mark.parametrize("lam", [0.0, 0.7, 1.0])
@pytest.mark.parametrize("seed", [7])
def test_gae_random_streams(opt: ModuleType, lam: float, seed: int) -> None:
    steps, spans, dones, values = random_stream(seed)
    rewards = reference_option_rewards(steps.tolist(), spans.tolist(), 0.9)
    got = opt.semi_mdp_gae(np.array(rewards), values, spans, dones, 0.7, 0.9, lam)
    want = reference_gae(rewards, values.tolist(), spans.tolist(), dones.tolist(), 0.7, 0.9, lam)
    assert_close(got, want, f"semi_mdp_gae with lambda = {lam}", HINT_SPAN + " " + HINT_DONE, want_tensor=False)
    if lam == 1.0:  # lambda = 1: the advantage is the return minus the value
        returns = reference_returns(rewards, spans.tolist(), dones.tolist(), 0.7, 0.9)
        assert_close(got, np.array(returns) - values, "semi_mdp_gae at lambda = 1 against G - V", want_tensor=False)


def test_inputs_are_not_modified(opt: ModuleType) -> None:
    steps, spans, dones, values = random_stream(9)
    copies = [a.copy() for a in (steps, spans, dones, values)]
    rewards = opt.option_rewards(steps, spans, 0.9)
    rewards_copy = rewards.copy()
    opt.semi_mdp_returns(rewards, spans, dones, 1.0, 0.9)
    opt.semi_mdp_gae(rewards, values, spans, dones, 1.0, 0.9, 0.95)
    for a, c in zip((steps, spans, dones, values, rewards), (*copies, rewards_copy), strict=True):
        assert np.array_equal(a, c), "an input array was modified in place"
