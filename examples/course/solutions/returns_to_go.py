"""Exercise 1: discounted reward-to-go, terminated versus truncated episodes.

Array library: **NumPy** throughout (this is rollout bookkeeping; no gradients flow through it).

Background
----------
REINFORCE-style policy gradients weight the log-probability of the action taken at step ``t``
by the return that *followed* it, the discounted reward-to-go::

    G_t = r_t + gamma * r_{t+1} + gamma^2 * r_{t+2} + ...  =  sum_{k >= 0} gamma^k * r_{t+k}

which is computed backwards in time with the recursion ``G_t = r_t + gamma * G_{t+1}``.

The interesting part is where the sum stops:

* **Terminated** episode (``dones[b, t]`` is True): the environment reached a true terminal
  state (the model emitted its end-of-sequence token, the game was won...). Nothing comes
  after it, so ``G_t = r_t`` -- no bootstrap.
* **Truncated** episode: we stopped collecting before the episode finished (time limit,
  token budget, the end of a fixed-length rollout). The future is *unknown*, not zero, so we
  bootstrap with a value estimate ``V(s_T)`` of the state we stopped in::

      G_{T-1} = r_{T-1} + gamma * V(s_T)

  Treating a truncation as a termination silently teaches the agent that running out of time
  is a terminal event (Pardo et al., 2018).

Data layout
-----------
``rewards`` has shape ``(B, T)``, batch-major: row ``b`` holds ``T`` consecutive steps of
one environment (for a language model: one row per generated sequence). A row may hold
several consecutive episodes: ``dones[b, t] = True`` means the episode running at step
``t`` terminated after that step, and step ``t + 1`` (if any) starts a fresh episode whose
rewards must not leak into ``G_t``. The last episode of a row is truncated unless
``dones[b, T - 1]`` is True; ``last_values[b]`` is the bootstrap value ``V(s_T)`` for it
and is ignored when the row ends with a termination.

(Time-limit truncations in the *middle* of a row are out of scope; Stable-Baselines3 handles
them by adding ``gamma * V(final_obs)`` to that step's reward and then treating the step as
done, which you can do before calling this function.)

Worked example (gamma = 0.5, one row, no termination, last value 8)::

    rewards = [1, 2, 4]            G_2 = 4 + 0.5 * 8 = 8
                                   G_1 = 2 + 0.5 * 8 = 6
                                   G_0 = 1 + 0.5 * 6 = 4    ->  [4, 6, 8]

References:
    Sutton & Barto, "Reinforcement Learning: An Introduction", 2nd ed. (2018), sec. 3.3.
    Pardo, Tavakoli, Levdik & Kormushev, "Time Limits in Reinforcement Learning", ICML 2018.
"""

# Reference solution: keep the solutions/ folder out of the student handout.
from __future__ import annotations

import numpy as np


def discounted_returns_to_go(
    rewards: np.ndarray,
    dones: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Compute the discounted reward-to-go of every step of a batch of reward streams.

    Args:
        rewards: Float array of shape ``(B, T)``; ``rewards[b, t]`` is the reward received
            after the action at step ``t`` of stream ``b``.
        dones: Bool array of shape ``(B, T)``; True where the episode *terminated* after
            step ``t`` (no bootstrap past it; step ``t + 1`` starts a new episode).
        last_values: Float array of shape ``(B,)``; value estimate ``V(s_T)`` of the state
            reached after the final step of each row, used to bootstrap rows whose last
            episode was truncated (``dones[b, T - 1]`` is False). Ignored otherwise.
        gamma: Discount factor in ``[0, 1]``.

    Returns:
        Float64 array of shape ``(B, T)`` with ``G[b, t]`` the discounted sum of the rewards
        from step ``t`` to the end of its episode, plus the discounted bootstrap value when
        that episode is truncated at the end of the row.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    # 1.0 where the next step continues the same episode, 0.0 where the episode terminated:
    # multiplying by it cuts the recursion without any branching.
    not_done = 1.0 - np.asarray(dones, dtype=np.float64)
    returns = np.empty_like(rewards)
    # The running return "after" the last column is the bootstrap value; it only survives
    # into G_{T-1} if the row's final step is not a termination.
    running = np.asarray(last_values, dtype=np.float64)
    # A loop over time is unavoidable (each G_t depends on G_{t+1}); it is vectorised over B.
    for t in reversed(range(rewards.shape[1])):
        running = rewards[:, t] + gamma * not_done[:, t] * running
        returns[:, t] = running
    return returns
