"""Exercise 7: semi-MDP returns, when one decision lasts several steps (discount gamma^span).

Array library: **NumPy** throughout (rollout bookkeeping, as in Exercises 1 and 2).

Background
----------
In a hierarchical agent a high-level policy picks an *option* (a sub-policy, a skill, a
tool call, a whole sentence) that then runs for ``k_j`` primitive steps before the next
high-level decision. Seen from the high level, time is no longer uniform: decision ``j``
starts at primitive step ``t_j`` and the next one at ``t_{j+1} = t_j + k_j``. This is a
semi-Markov decision process (Sutton, Precup & Singh 1999), and its bookkeeping differs
from an MDP's in two places:

1. **The option's reward** is the discounted sum of the primitive rewards it collected,
   discounted from the step where it started::

       R_j = sum_{i = 0}^{k_j - 1} gamma^i * r_{t_j + i}

2. **The discount to the next decision** is ``gamma^(k_j)``, not ``gamma``: the next
   decision happens ``k_j`` steps later::

       G_j = R_j + gamma^(k_j) * G_{j+1}

   With every ``k_j = 1`` this is the ordinary recursion ``G_t = r_t + gamma G_{t+1}``. Using
   ``gamma`` for every decision would make long options look cheaper than they are (their
   future is discounted too little) and bias the high level towards them.

The two together guarantee the key identity: ``G_j`` equals the ordinary discounted return
of the primitive rewards, taken from step ``t_j``. The high level sees exactly the return
the primitive steps earned, only grouped.

Episode ends work as in Exercise 1: ``dones[j] = True`` means the episode terminated during
option ``j`` (nothing after it counts, decision ``j + 1`` starts a fresh episode). The last
option of the stream is truncated unless ``dones[-1]`` is True; then the bootstrap value
``last_value = V(s_end)`` enters discounted by ``gamma^(k_last)``.

GAE (Schulman et al. 2016, Exercise 2) over decisions carries over with each decision's own
discount ``d_j = gamma^(k_j) * (1 - dones[j])``::

    delta_j = R_j + d_j * V_{j+1} - V_j            (V_J = last_value)
    A_j     = delta_j + d_j * lambda * A_{j+1}

Worked example (gamma = 0.5, primitive rewards [1, 2, 4, 8], spans [1, 3])::

    R_0 = 1                           R_1 = 2 + 0.5 * 4 + 0.25 * 8 = 6
    terminated (dones [F, T]):        G_1 = 6,                    G_0 = 1 + 0.5 * 6 = 4
    primitive check:                  1 + 0.5 * 2 + 0.25 * 4 + 0.125 * 8 = 4
    truncated (dones [F, F]), last_value 16:
                                      G_1 = 6 + 0.5^3 * 16 = 8,   G_0 = 1 + 0.5 * 8 = 5

Data layout
-----------
One stream of decisions, 1-D: ``spans`` has shape ``(J,)`` (positive integers), the
primitive rewards ``(T,)`` with ``T = sum(spans)``, and everything per decision ``(J,)``.

References:
    Sutton, Precup & Singh, "Between MDPs and semi-MDPs: A framework for temporal
    abstraction in reinforcement learning", Artificial Intelligence 112 (1999), sec. 3.
    Bradtke & Duff, "Reinforcement Learning Methods for Continuous-Time Markov Decision
    Problems", NIPS 1994.
    Schulman, Moritz, Levine, Jordan & Abbeel, "High-Dimensional Continuous Control Using
    Generalized Advantage Estimation", ICLR 2016.
"""

# Reference solution: keep the solutions/ folder out of the student handout.
from __future__ import annotations

import numpy as np


def option_rewards(step_rewards: np.ndarray, spans: np.ndarray, gamma: float) -> np.ndarray:
    """Each option's reward: its primitive rewards discounted from the option's first step.

    Args:
        step_rewards: Float array of shape ``(T,)``, the primitive rewards in order.
        spans: Int array of shape ``(J,)``; option ``j`` covers the next ``spans[j]`` steps.
        gamma: Discount factor in ``[0, 1]``.

    Returns:
        Float64 array of shape ``(J,)`` with ``R_j = sum_i gamma^i * r_{t_j + i}``.

    Raises:
        ValueError: If a span is below 1 or the spans do not add up to ``T``.
    """
    step_rewards = np.asarray(step_rewards, dtype=np.float64)
    spans = np.asarray(spans)
    if (spans < 1).any() or int(spans.sum()) != len(step_rewards):
        raise ValueError(f"spans {spans.tolist()} must be >= 1 and add up to {len(step_rewards)} steps")
    out = np.empty(len(spans), dtype=np.float64)
    start = 0
    for j, k in enumerate(spans.tolist()):
        out[j] = np.sum(step_rewards[start : start + k] * gamma ** np.arange(k))
        start += k
    return out


def semi_mdp_returns(
    option_rewards: np.ndarray,
    spans: np.ndarray,
    dones: np.ndarray,
    last_value: float,
    gamma: float,
) -> np.ndarray:
    """The return of every decision, discounted by ``gamma^span`` to the next one.

    Args:
        option_rewards: Float array of shape ``(J,)``, each option's reward ``R_j``.
        spans: Int array of shape ``(J,)``, each option's number of primitive steps.
        dones: Bool array of shape ``(J,)``; True where the episode terminated during option ``j``.
        last_value: ``V`` of the state after the last option, used only if ``dones[-1]`` is False.
        gamma: Discount factor in ``[0, 1]``.

    Returns:
        Float64 array of shape ``(J,)`` with ``G_j = R_j + gamma^(k_j) (1 - done_j) G_{j+1}``
        and ``G_J = last_value``.
    """
    discounts = gamma ** np.asarray(spans, dtype=np.float64) * (1.0 - np.asarray(dones, dtype=np.float64))
    returns = np.empty(len(option_rewards), dtype=np.float64)
    running = float(last_value)
    for j in reversed(range(len(option_rewards))):
        running = float(option_rewards[j]) + discounts[j] * running
        returns[j] = running
    return returns


def semi_mdp_gae(
    option_rewards: np.ndarray,
    values: np.ndarray,
    spans: np.ndarray,
    dones: np.ndarray,
    last_value: float,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """GAE over decisions, each with its own discount ``gamma^span``.

    Args:
        option_rewards: Float array of shape ``(J,)``, each option's reward ``R_j``.
        values: Float array of shape ``(J,)``, ``V`` of the state where decision ``j`` was made.
        spans: Int array of shape ``(J,)``, each option's number of primitive steps.
        dones: Bool array of shape ``(J,)``; True where the episode terminated during option ``j``.
        last_value: ``V`` of the state after the last option, used only if ``dones[-1]`` is False.
        gamma: Discount factor in ``[0, 1]``.
        lam: GAE's ``lambda`` in ``[0, 1]``.

    Returns:
        Float64 array of shape ``(J,)``, the advantages ``A_j``.
    """
    values = np.asarray(values, dtype=np.float64)
    discounts = gamma ** np.asarray(spans, dtype=np.float64) * (1.0 - np.asarray(dones, dtype=np.float64))
    next_values = np.append(values[1:], float(last_value))
    deltas = np.asarray(option_rewards, dtype=np.float64) + discounts * next_values - values
    advantages = np.empty_like(deltas)
    running = 0.0
    for j in reversed(range(len(deltas))):
        running = deltas[j] + discounts[j] * lam * running
        advantages[j] = running
    return advantages
