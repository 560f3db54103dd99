"""Semi-MDP returns for SB3's on-policy algorithms: each step's own discount to the next decision.

A high-level step of a hierarchy runs an option for ``k`` primitive steps, so the value of the
next decision is discounted by ``gamma**k``, not ``gamma`` (Sutton, Precup & Singh 1999,
"Between MDPs and semi-MDPs"). Envs that report it in ``info["discount"]``
(:class:`textgym.envs.hier_shop.HierShopHighEnv`) are trained with
:class:`SemiMDPRolloutBuffer` as ``rollout_buffer_class`` and :class:`RecordDiscounts` as a
callback; the buffer refuses to compute returns for a step whose discount was not recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback


class SemiMDPRolloutBuffer(RolloutBuffer):
    """SB3's rollout buffer with a discount per step (``gamma**span``) in GAE and the returns.

    ``discounts[t, e]`` is the discount from decision ``t`` of env ``e`` to its next decision.
    GAE (Schulman et al. 2016) with it: ``delta_t = r_t + d_t V(s_{t+1}) - V(s_t)`` and
    ``A_t = delta_t + d_t * lambda * A_{t+1}``, both cut at episode ends; the returns are
    ``A_t + V(s_t)``. With every ``d_t = gamma`` this is SB3's computation. The buffer's own
    ``gamma`` is not used.
    """

    discounts: np.ndarray

    def reset(self) -> None:
        """Empty the buffer; every step's discount is unknown (NaN) until recorded."""
        super().reset()
        self.discounts = np.full((self.buffer_size, self.n_envs), np.nan, dtype=np.float32)

    def record_discounts(self, infos: list[dict[str, Any]]) -> None:
        """Store each env's ``info["discount"]`` for the step about to be added (at ``self.pos``).

        Raises:
            KeyError: If an env's info has no ``"discount"`` (it is not a semi-MDP view).
        """
        if self.full:
            raise RuntimeError("the rollout buffer is full; discounts recorded past its end")
        for env, info in enumerate(infos):
            if "discount" not in info:
                raise KeyError("the env's info has no 'discount': SemiMDPRolloutBuffer needs a semi-MDP view")
            self.discounts[self.pos, env] = float(info["discount"])

    def compute_returns_and_advantage(self, last_values: torch.Tensor, dones: np.ndarray) -> None:
        """GAE and lambda-returns with each step's recorded discount.

        Raises:
            ValueError: If a step's discount was never recorded (train with :class:`RecordDiscounts`).
        """
        if np.isnan(self.discounts).any():
            raise ValueError("a step's discount was not recorded: pass RecordDiscounts() as a callback to learn()")
        next_values = last_values.detach().cpu().numpy().reshape(-1)  # (n_envs,)
        next_alive = 1.0 - dones.astype(np.float32)  # (n_envs,)
        running = np.zeros(self.n_envs, dtype=np.float32)
        for t in range(self.buffer_size - 1, -1, -1):
            d = self.discounts[t] * next_alive  # 0 across an episode end: nothing flows back from the next one
            delta = self.rewards[t] + d * next_values - self.values[t]
            running = delta + d * self.gae_lambda * running
            self.advantages[t] = running
            next_values = self.values[t]
            next_alive = 1.0 - self.episode_starts[t]
        self.returns = self.advantages + self.values


class RecordDiscounts(BaseCallback):
    """Feeds each step's ``info["discount"]`` to a :class:`SemiMDPRolloutBuffer` before SB3 adds the step.

    SB3's ``collect_rollouts`` calls the callback after ``env.step`` and before
    ``rollout_buffer.add``, so the step's slot is the buffer's current position.
    """

    def _on_step(self) -> bool:
        buffer = self.model.rollout_buffer  # type: ignore[union-attr]
        if not isinstance(buffer, SemiMDPRolloutBuffer):
            raise TypeError("RecordDiscounts needs rollout_buffer_class=SemiMDPRolloutBuffer")
        buffer.record_discounts(self.locals["infos"])
        return True
