"""Exercise 5: per-token KL(policy || reference) for a language model, exact and sampled.

Tensor library: **PyTorch** (logits come straight out of the models).

Background
----------
RLHF keeps the policy ``p`` close to a frozen reference model ``q`` (usually the SFT model)
with a KL penalty, computed per generated token from the two models' next-token logits::

    log p(v) = log_softmax(policy_logits)[v],     log q(v) = log_softmax(ref_logits)[v]

**Exact KL** over the vocabulary (possible because both full distributions are at hand)::

    KL(p || q) = sum_v p(v) * (log p(v) - log q(v))

**Sampled estimators.** Often only the log-probabilities of the token ``x ~ p`` that was
actually generated are kept. With ``r = q(x) / p(x)`` (Schulman, 2020)::

    k1 = log p(x) - log q(x)  = -log r        unbiased, high variance, can be negative
    k3 = (r - 1) - log r                      unbiased, lower variance, always >= 0

Both are unbiased because ``E_{x~p}[r] = sum_v q(v) = 1``, so the ``(r - 1)`` term of k3
has zero mean: it is a control variate. ``k3 >= 0`` because ``log r <= r - 1``. PPO-based
RLHF typically penalises rewards with k1; GRPO (DeepSeekMath) adds k3 to the loss.

Hints: use ``log_softmax`` (never ``log(softmax(...))``, which gives ``-inf`` for tiny
probabilities), ``gather`` to pick the sampled token's log-probability, and compute
``exp(log r) - 1`` as ``expm1(log r)`` to keep precision when ``r`` is close to 1.

Shapes: logits are ``(..., V)`` (e.g. ``(B, T, V)`` for B sequences of T tokens over a
vocabulary of V), tokens and all per-token outputs are ``(...)`` (e.g. ``(B, T)``).

Worked example: ``p = [0.5, 0.5]``, ``q = [0.9, 0.1]``::

    KL = 0.5 * log(0.5 / 0.9) + 0.5 * log(0.5 / 0.1) = 0.5 * (-0.5878 + 1.6094) = 0.5108
    token 0: r = 1.8, k1 = -0.5878, k3 = 0.8 - 0.5878 = 0.2122
    token 1: r = 0.2, k1 =  1.6094, k3 = -0.8 + 1.6094 = 0.8094
    E_p[k3] = 0.5 * (0.2122 + 0.8094) = 0.5108 = KL, and the same holds for k1.

References:
    Schulman, "Approximating KL Divergence", http://joschu.net/blog/kl-approx.html (2020).
    Ziegler et al., "Fine-Tuning Language Models from Human Preferences", arXiv:1909.08593.
    Shao et al., "DeepSeekMath" (GRPO), arXiv:2402.03300, eq. (4).
"""

from __future__ import annotations

import torch


def token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Log-probability of each given token under the distribution ``softmax(logits)``.

    Args:
        logits: Float tensor of shape ``(..., V)``.
        tokens: Integer (``torch.long``) tensor of shape ``(...)`` with values in ``[0, V)``.

    Returns:
        Float tensor of shape ``(...)``: ``log_softmax(logits)[..., tokens]``.
    """
    # TODO(student): log_softmax over the last dim, then gather the entries indexed by `tokens`.
    raise NotImplementedError


def exact_kl(policy_logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """Exact ``KL(p || q)`` per position, summing over the vocabulary.

    Args:
        policy_logits: Float tensor of shape ``(..., V)``; logits of the policy ``p``.
        ref_logits: Float tensor of shape ``(..., V)``; logits of the reference ``q``.

    Returns:
        Float tensor of shape ``(...)``: ``sum_v p(v) * (log p(v) - log q(v))``.
    """
    # TODO(student): sum_v p(v) * (log p(v) - log q(v)) with log-probabilities from log_softmax.
    raise NotImplementedError


def kl_k1(policy_logits: torch.Tensor, ref_logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The k1 estimator ``log p(x) - log q(x)`` of ``KL(p || q)`` at sampled tokens ``x ~ p``.

    Args:
        policy_logits: Float tensor of shape ``(..., V)``; logits of the policy ``p``.
        ref_logits: Float tensor of shape ``(..., V)``; logits of the reference ``q``.
        tokens: Integer tensor of shape ``(...)``; the tokens sampled from ``p``.

    Returns:
        Float tensor of shape ``(...)`` with the per-token k1 estimates.
    """
    # TODO(student): log p(x) - log q(x) at the sampled tokens (reuse token_log_probs).
    raise NotImplementedError


def kl_k3(policy_logits: torch.Tensor, ref_logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The k3 estimator ``(r - 1) - log r``, ``r = q(x) / p(x)``, at sampled tokens ``x ~ p``.

    Args:
        policy_logits: Float tensor of shape ``(..., V)``; logits of the policy ``p``.
        ref_logits: Float tensor of shape ``(..., V)``; logits of the reference ``q``.
        tokens: Integer tensor of shape ``(...)``; the tokens sampled from ``p``.

    Returns:
        Float tensor of shape ``(...)`` with the per-token k3 estimates (all ``>= 0``).
    """
    # TODO(student): log_r = log q(x) - log p(x); return (r - 1) - log_r with r - 1 = expm1(log_r).
    raise NotImplementedError
