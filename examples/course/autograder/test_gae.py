"""Autograder for Exercise 2, ``gae.compute_gae`` (Stable-Baselines3 flag convention).

The reference below computes GAE from its *definition* as a finite sum,
``A_t = sum_l (gamma * lambda)^l * delta_{t+l}`` up to the episode end, with explicit
per-environment loops, rather than the backward recursion; special cases are checked
against TD(0), Monte-Carlo returns and hand-worked numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
from _grading import assert_close

CONVENTION_HINT = (
    "Remember SB3's convention: episode_starts[t + 1] (not episode_starts[t]) says whether "
    "step t ended its episode, and for the last step that flag is `dones`."
)


@pytest.fixture(scope="module")
def gae(load_implementation: Callable[[str], ModuleType]) -> ModuleType:
    """The graded ``gae`` module."""
    return load_implementation("gae")


def episode_ends(episode_starts: np.ndarray, dones: np.ndarray, n: int) -> list[bool]:
    """ends[k] is True when step k of env n is the last step of its episode."""
    horizon = episode_starts.shape[0]
    return [bool(episode_starts[k + 1, n]) for k in range(horizon - 1)] + [bool(dones[n])]


def reference_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    episode_starts: np.ndarray,
    last_values: np.ndarray,
    dones: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE by the definition: a forward (gamma * lambda)-weighted sum of TD errors."""
    horizon, n_envs = rewards.shape
    advantages = np.zeros((horizon, n_envs))
    for n in range(n_envs):
        ends = episode_ends(episode_starts, dones, n)
        next_v = [values[k + 1, n] for k in range(horizon - 1)] + [last_values[n]]
        deltas = [rewards[k, n] + (0.0 if ends[k] else gamma * next_v[k]) - values[k, n] for k in range(horizon)]
        for t in range(horizon):
            total, weight = 0.0, 1.0
            for k in range(t, horizon):
                total += weight * deltas[k]
                if ends[k]:
                    break
                weight *= gamma * gae_lambda
            advantages[t, n] = total
    return advantages, advantages + values


def reference_mc_returns(
    rewards: np.ndarray,
    episode_starts: np.ndarray,
    last_values: np.ndarray,
    dones: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Discounted Monte-Carlo returns, bootstrapped with last_values only at the rollout end."""
    horizon, n_envs = rewards.shape
    out = np.zeros((horizon, n_envs))
    for n in range(n_envs):
        ends = episode_ends(episode_starts, dones, n)
        for t in range(horizon):
            total, discount = 0.0, 1.0
            for k in range(t, horizon):
                total += discount * rewards[k, n]
                if ends[k]:
                    break
                discount *= gamma
                if k == horizon - 1:
                    total += discount * last_values[n]
            out[t, n] = total
    return out


def random_rollout(seed: int, horizon: int = 6, n_envs: int = 3) -> dict[str, np.ndarray]:
    """A random rollout with several episode boundaries per environment."""
    rng = np.random.default_rng(seed)
    return {
        "rewards": rng.normal(size=(horizon, n_envs)),
        "values": rng.normal(size=(horizon, n_envs)),
        "episode_starts": rng.random((horizon, n_envs)) < 0.35,
        "last_values": rng.normal(size=n_envs),
        # Mix both cases: even-numbered envs end their last episode, odd ones are cut off.
        "dones": np.arange(n_envs) % 2 == 0,
    }


def run(gae: ModuleType, rollout: dict[str, np.ndarray], gamma: float, lam: float):
    """Call the student's function with keyword arguments and check the output types."""
    out = gae.compute_gae(**rollout, gamma=gamma, gae_lambda=lam)
    assert isinstance(out, tuple) and len(out) == 2, (
        "compute_gae must return a tuple (advantages, returns), got "
        f"{type(out).__name__}{'' if not isinstance(out, tuple) else f' of length {len(out)}'}"
    )
    return out


def one_env(rewards, values, starts, last_value, done) -> dict[str, np.ndarray]:
    """Build a single-environment rollout (N = 1) from plain lists."""
    return {
        "rewards": np.asarray(rewards, dtype=np.float64)[:, None],
        "values": np.asarray(values, dtype=np.float64)[:, None],
        "episode_starts": np.asarray(starts, dtype=bool)[:, None],
        "last_values": np.asarray([last_value], dtype=np.float64),
        "dones": np.asarray([done], dtype=bool),
    }


def test_worked_example(gae: ModuleType) -> None:
    # The docstring example, gamma = lambda = 0.5, no episode boundary, V(s_T) = 4:
    # delta_1 = 1 + 0.5 * 4 - 2 = 1 -> A_1 = 1
    # delta_0 = 1 + 0.5 * 2 - 1 = 1 -> A_0 = 1 + 0.25 * A_1 = 1.25;  returns = A + V.
    adv, ret = run(gae, one_env([1, 1], [1, 2], [False, False], 4.0, False), 0.5, 0.5)
    assert_close(adv, [[1.25], [1.0]], "advantages (worked example)", want_tensor=False)
    assert_close(
        ret,
        [[2.25], [3.0]],
        "returns (worked example)",
        "returns must be advantages + values (the value-function target).",
        want_tensor=False,
    )


def test_episode_start_looks_one_step_ahead(gae: ModuleType) -> None:
    # Same numbers, but episode_starts[1] = True: step 0 ended an episode.
    # step 1: delta_1 = 1 + 0.5 * 4 - 2 = 1           -> A_1 = 1
    # step 0: nonterminal = 1 - episode_starts[1] = 0 -> delta_0 = 1 - 1 = 0, A_0 = 0
    adv, ret = run(gae, one_env([1, 1], [1, 2], [False, True], 4.0, False), 0.5, 0.5)
    assert_close(
        adv,
        [[0.0], [1.0]],
        "advantages when episode_starts[1] is True",
        CONVENTION_HINT + " Here step 0 is terminal, so neither V(s_1) nor A_1 may flow "
        "into A_0, while step 1 (the first step of a new episode) still bootstraps.",
        want_tensor=False,
    )
    assert_close(ret, [[1.0], [3.0]], "returns when episode_starts[1] is True", want_tensor=False)


def test_final_done_ignores_last_values(gae: ModuleType) -> None:
    # dones = [True]: the last step is terminal, V(s_T) = 1000 must be ignored.
    # step 1: delta_1 = 1 - 2 = -1                -> A_1 = -1
    # step 0: delta_0 = 1 + 0.5 * 2 - 1 = 1        -> A_0 = 1 + 0.25 * (-1) = 0.75
    adv, ret = run(gae, one_env([1, 1], [1, 2], [False, False], 1000.0, True), 0.5, 0.5)
    assert_close(
        adv,
        [[0.75], [-1.0]],
        "advantages when the last step is done",
        "`dones` marks the last step as terminal: do not bootstrap with last_values there.",
        want_tensor=False,
    )
    assert_close(ret, [[1.75], [1.0]], "returns when the last step is done", want_tensor=False)


def test_first_episode_start_is_ignored(gae: ModuleType) -> None:
    rollout = random_rollout(seed=7)
    rollout["episode_starts"][0] = False
    adv_a, _ = run(gae, rollout, 0.9, 0.8)
    adv_a = np.array(adv_a, dtype=np.float64, copy=True)
    rollout["episode_starts"][0] = True
    adv_b, _ = run(gae, rollout, 0.9, 0.8)
    assert_close(
        adv_b,
        adv_a,
        "advantages after flipping episode_starts[0]",
        "episode_starts[0] describes the boundary *before* this rollout and must not change "
        "any advantage. " + CONVENTION_HINT,
    )


def test_single_step_episodes(gae: ModuleType) -> None:
    # Every step is its own episode: A_t = r_t - V(s_t), no bootstrap anywhere.
    rollout = random_rollout(seed=3)
    rollout["episode_starts"][:] = True
    rollout["dones"][:] = True
    adv, ret = run(gae, rollout, 0.99, 0.95)
    assert_close(
        adv,
        rollout["rewards"] - rollout["values"],
        "advantages of one-step episodes",
        "When every step ends its episode, A_t = r_t - V(s_t). " + CONVENTION_HINT,
    )
    assert_close(ret, rollout["rewards"], "returns of one-step episodes")


@pytest.mark.parametrize("gamma", [0.0, 0.9, 1.0])
def test_lambda_zero_is_td0(gae: ModuleType, gamma: float) -> None:
    rollout = random_rollout(seed=11)
    adv, _ = run(gae, rollout, gamma, 0.0)
    horizon, n_envs = rollout["rewards"].shape
    expected = np.zeros((horizon, n_envs))
    for n in range(n_envs):
        ends = episode_ends(rollout["episode_starts"], rollout["dones"], n)
        for t in range(horizon):
            next_v = rollout["last_values"][n] if t == horizon - 1 else rollout["values"][t + 1, n]
            bootstrap = 0.0 if ends[t] else gamma * next_v
            expected[t, n] = rollout["rewards"][t, n] + bootstrap - rollout["values"][t, n]
    assert_close(
        adv,
        expected,
        f"advantages with gae_lambda = 0 (gamma = {gamma})",
        "With lambda = 0, GAE reduces to the one-step TD error "
        "delta_t = r_t + gamma * V(s_{t+1}) * nonterminal - V(s_t).",
    )


@pytest.mark.parametrize("gamma", [0.8, 1.0])
def test_lambda_one_returns_are_monte_carlo(gae: ModuleType, gamma: float) -> None:
    rollout = random_rollout(seed=5)
    _, ret = run(gae, rollout, gamma, 1.0)
    expected = reference_mc_returns(
        rollout["rewards"],
        rollout["episode_starts"],
        rollout["last_values"],
        rollout["dones"],
        gamma,
    )
    assert_close(
        ret,
        expected,
        f"returns with gae_lambda = 1 (gamma = {gamma})",
        "With lambda = 1 the intermediate values cancel and advantages + values must be the "
        "discounted Monte-Carlo return, bootstrapped with last_values only at the rollout end.",
    )


def test_gamma_zero(gae: ModuleType) -> None:
    rollout = random_rollout(seed=9)
    adv, ret = run(gae, rollout, 0.0, 0.95)
    assert_close(
        adv,
        rollout["rewards"] - rollout["values"],
        "advantages with gamma = 0",
        "With gamma = 0 there is no bootstrapping and no accumulation: A_t = r_t - V(s_t).",
    )
    assert_close(ret, rollout["rewards"], "returns with gamma = 0")


@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.9, 0.5), (1.0, 1.0)])
def test_random_rollout_matches_definition(gae: ModuleType, gamma: float, lam: float) -> None:
    rollout = random_rollout(seed=2024, horizon=8, n_envs=4)
    snapshot = {k: v.copy() for k, v in rollout.items()}
    adv, ret = run(gae, rollout, gamma, lam)
    expected_adv, expected_ret = reference_gae(**snapshot, gamma=gamma, gae_lambda=lam)
    assert_close(
        adv,
        expected_adv,
        f"advantages for a random 8x4 rollout (gamma={gamma}, lambda={lam})",
        "Check the (gamma * lambda) decay and that both the bootstrap V(s_{t+1}) and the "
        "recursion stop at episode ends. " + CONVENTION_HINT,
        want_tensor=False,
    )
    assert_close(ret, expected_ret, "returns for a random rollout", want_tensor=False)
    for name, before in snapshot.items():
        assert np.array_equal(before, rollout[name]), f"compute_gae modified its input `{name}`"
