"""Exercise 3: the PPO clipped surrogate objective.

Tensor library: **PyTorch** (the loss must be differentiable with respect to the new
log-probabilities).

Background
----------
After collecting a rollout with the "old" policy ``pi_old``, PPO takes several gradient
steps on the same data. The importance ratio of the new policy to the old one::

    ratio_t = pi_theta(a_t | s_t) / pi_old(a_t | s_t) = exp(log pi_theta - log pi_old)

corrects for the data being off-policy, and the clipped surrogate objective (to be
*maximised*) removes the incentive to move the ratio outside ``[1 - eps, 1 + eps]``::

    L^CLIP = mean_t  min( ratio_t * A_t,  clip(ratio_t, 1 - eps, 1 + eps) * A_t )

Taking the minimum makes it a pessimistic bound: with ``A_t > 0`` the objective stops
growing once ``ratio_t > 1 + eps``; with ``A_t < 0`` it stops once ``ratio_t < 1 - eps``.
In the clipped region the gradient is exactly zero. Moves that make the objective *worse*
are never clipped (e.g. ``A_t > 0`` and ``ratio_t < 1 - eps`` keeps the ratio term).

We return the **loss** to minimise, ``-L^CLIP``, plus two detached diagnostics that every
PPO implementation logs:

* ``clip_fraction = mean(|ratio_t - 1| > eps)``: the share of samples whose ratio lies
  strictly outside the trust region (Stable-Baselines3's definition);
* ``approx_kl = mean((ratio_t - 1) - log ratio_t)``: an unbiased, always non-negative
  estimate of ``KL(pi_old || pi_theta)`` from samples of ``pi_old`` (the "k3" estimator of
  Exercise 5), used for early stopping.

The log-probabilities can have any shape (``(B,)`` per sequence or ``(B, T)`` per token);
the mean is over all elements. Advantages are used as given (normalise them beforehand if
you want to) and are treated as constants.

Worked example (eps = 0.2)::

    ratio:   1.5    0.5    1.5    0.5
    A:       +1     +1     -1     -1
    term:    1.2    0.5    -1.5   -0.8     (min of ratio*A and clip(ratio)*A)
    loss = -(1.2 + 0.5 - 1.5 - 0.8) / 4 = 0.15,   clip_fraction = 1.0

References:
    Schulman, Wolski, Dhariwal, Radford & Klimov, "Proximal Policy Optimization
    Algorithms", arXiv:1707.06347 (2017), eq. (7).
    Schulman, "Approximating KL Divergence", http://joschu.net/blog/kl-approx.html (2020).
"""

from __future__ import annotations

import torch


def ppo_clip_loss(
    new_log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip_range: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Compute the PPO clipped surrogate loss and its diagnostics.

    Args:
        new_log_probs: Float tensor of any shape ``S``; ``log pi_theta(a_t | s_t)`` under the
            policy being optimised (carries gradients).
        old_log_probs: Float tensor of shape ``S``; ``log pi_old(a_t | s_t)`` recorded at
            rollout time (treated as a constant).
        advantages: Float tensor of shape ``S``; advantage estimates (treated as constants).
        clip_range: The clipping parameter ``eps > 0``.

    Returns:
        A tuple ``(loss, clip_fraction, approx_kl)`` of 0-dim float tensors: ``loss`` is
        ``-L^CLIP`` and is differentiable with respect to ``new_log_probs``;
        ``clip_fraction`` and ``approx_kl`` are detached diagnostics.
    """
    # TODO(student): ratio = exp(new - old), computed in log space;
    # loss = -mean(min(ratio * A, clamp(ratio, 1 - eps, 1 + eps) * A)).
    # Compute clip_fraction = mean(|ratio - 1| > eps) and
    # approx_kl = mean((ratio - 1) - log ratio) under torch.no_grad().
    raise NotImplementedError
