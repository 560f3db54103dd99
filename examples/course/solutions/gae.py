"""Exercise 2: Generalized Advantage Estimation (GAE).

Array library: **NumPy** throughout, with the same time-major ``(T, N)`` layout and flag
convention as Stable-Baselines3's ``RolloutBuffer.compute_returns_and_advantage``, so the
result can be compared with SB3 one to one.

Background
----------
The advantage ``A(s_t, a_t) = Q(s_t, a_t) - V(s_t)`` says how much better the action taken
was than the policy's average. GAE (Schulman et al., 2016) estimates it with an
exponentially weighted sum of one-step temporal-difference (TD) errors::

    delta_t = r_t + gamma * V(s_{t+1}) * nonterminal_{t+1} - V(s_t)

    A_t = sum_{l >= 0} (gamma * lambda)^l * delta_{t+l}        (stopping at the episode end)
        = delta_t + gamma * lambda * nonterminal_{t+1} * A_{t+1}      (backward recursion)

    returns_t = A_t + V(s_t)        (the regression target for the value function)

``lambda`` trades bias for variance:

* ``lambda = 0``: ``A_t = delta_t``, the TD(0) advantage (low variance, biased by V).
* ``lambda = 1``: ``A_t = G_t - V(s_t)`` with ``G_t`` the discounted Monte-Carlo return
  (bootstrapped only where the rollout is cut), so ``returns_t = G_t``: unbiased, high
  variance.

The flag convention (read carefully, this is the classic off-by-one trap)
-------------------------------------------------------------------------
Flags mark the *start* of an episode, i.e. they describe the boundary *before* a step:

* ``episode_starts[t, n]`` is True when the observation at step ``t`` is the first of a new
  episode, which is the same as "the step ``t - 1`` ended an episode". So the
  nonterminal factor used at step ``t`` is ``nonterminal_{t+1} = 1 - episode_starts[t + 1]``:
  look one step *ahead*.
* ``episode_starts[0]`` describes the boundary before this rollout and is never read.
* For the last step ``t = T - 1`` there is no ``episode_starts[T]`` in the buffer; it is
  passed separately as ``dones`` (shape ``(N,)``): True if the last step ended the episode,
  which equally means "the next step (the first of the next rollout) is a new episode".
  The value of the state after the rollout is ``last_values`` (shape ``(N,)``) and is only
  used where ``dones`` is False.

A done step never bootstraps: both the ``V(s_{t+1})`` term of ``delta_t`` and the
recursion through ``A_{t+1}`` are cut. (Like SB3, time-limit truncations are expected to be
handled by the caller, by adding ``gamma * V(final_obs)`` to the reward of that step.)

Worked example (N = 1, gamma = 0.5, lambda = 0.5, no episode boundary)::

    rewards = [1, 1], values = [1, 2], last_values = [4], dones = [False]
    delta_1 = 1 + 0.5 * 4 - 2 = 1            A_1 = 1
    delta_0 = 1 + 0.5 * 2 - 1 = 1            A_0 = 1 + 0.25 * 1 = 1.25
    returns = [1.25 + 1, 1 + 2] = [2.25, 3]

References:
    Schulman, Moritz, Levine, Jordan & Abbeel, "High-Dimensional Continuous Control Using
    Generalized Advantage Estimation", ICLR 2016 (arXiv:1506.02438), eq. (16).
    Stable-Baselines3, ``stable_baselines3/common/buffers.py``,
    ``RolloutBuffer.compute_returns_and_advantage``.
"""

# Reference solution: keep the solutions/ folder out of the student handout.
from __future__ import annotations

import numpy as np


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    episode_starts: np.ndarray,
    last_values: np.ndarray,
    dones: np.ndarray,
    gamma: float = 0.99,
    gae_lambda: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute GAE advantages and value targets for a rollout of ``T`` steps of ``N`` envs.

    Args:
        rewards: Float array of shape ``(T, N)``; reward received after step ``t``.
        values: Float array of shape ``(T, N)``; critic estimate ``V(s_t)``.
        episode_starts: Bool array of shape ``(T, N)``; True where the observation at step
            ``t`` starts a new episode (step ``t - 1`` was done). Row 0 is ignored.
        last_values: Float array of shape ``(N,)``; ``V(s_T)`` for the observation that
            follows the last step of the rollout.
        dones: Bool array of shape ``(N,)``; True where the last step ``T - 1`` ended the
            episode (the next step would be a new episode), so ``last_values`` is not used.
        gamma: Discount factor in ``[0, 1]``.
        gae_lambda: GAE parameter ``lambda`` in ``[0, 1]``.

    Returns:
        A tuple ``(advantages, returns)``, both float64 arrays of shape ``(T, N)``, with
        ``returns = advantages + values``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    # next_nonterminal[t] = 1 - "step t + 1 starts a new episode": shift episode_starts one
    # step back in time and append the rollout-final `dones` as the missing row T.
    starts = np.asarray(episode_starts, dtype=np.float64)
    final_dones = np.asarray(dones, dtype=np.float64)[None]
    next_nonterminal = 1.0 - np.concatenate([starts[1:], final_dones], axis=0)
    final_values = np.asarray(last_values, dtype=np.float64)[None]
    next_values = np.concatenate([values[1:], final_values], axis=0)

    # All TD errors at once; only the discounted accumulation needs the time loop.
    deltas = rewards + gamma * next_values * next_nonterminal - values

    advantages = np.empty_like(rewards)
    running = np.zeros(rewards.shape[1], dtype=np.float64)
    for t in reversed(range(rewards.shape[0])):
        running = deltas[t] + gamma * gae_lambda * next_nonterminal[t] * running
        advantages[t] = running
    return advantages, advantages + values
