"""The observation options of every textgym env: one token state, three encodings.

``gym.make(id, observation=...)`` picks one; all three hold the same information:

* ``"tokens"`` (default): ``Dict(input_ids=Box(0, V - 1, (L,), int64), attention_mask=Box(0, 1, (L,),
  int64))``, the right-padded token state that language-model policies read directly.
* ``"multidiscrete"``: the same arrays declared as ``Dict(input_ids=MultiDiscrete([V] * L),
  attention_mask=MultiBinary(L))`` (the mask as int8, MultiBinary's dtype), so libraries that
  one-hot discrete spaces themselves (SB3's ``MultiInputPolicy``, RLlib, TorchRL) do so.
* ``"onehot"``: ``Box(0, 1, (L * V,), float32)``, the flattened one-hot code of
  :func:`one_hot_tokens` with the real tokens right-aligned, for flat-vector agents (SB3's
  ``MlpPolicy``, CleanRL scripts). The same code as :class:`textgym.wrappers.OneHotTokens`.

``V`` is the vocabulary size and ``L`` the observation length (``max_length``).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

#: The values of the ``observation`` argument.
OBSERVATIONS = ("tokens", "multidiscrete", "onehot")
#: Where :func:`one_hot_tokens` puts the real tokens.
ALIGNS = ("right", "left")


def check_observation(observation: str) -> str:
    """Return ``observation`` if it is one of :data:`OBSERVATIONS`, else raise a ValueError naming them."""
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation must be one of {OBSERVATIONS}, got {observation!r}")
    return observation


def observation_space(observation: str, vocab_size: int, max_length: int) -> spaces.Space:
    """The observation space of one env for the given option."""
    check_observation(observation)
    if observation == "onehot":
        return spaces.Box(0.0, 1.0, (max_length * vocab_size,), np.float32)
    if observation == "multidiscrete":
        return spaces.Dict(
            {
                "input_ids": spaces.MultiDiscrete(np.full(max_length, vocab_size, dtype=np.int64)),
                "attention_mask": spaces.MultiBinary(max_length),
            }
        )
    return spaces.Dict(
        {
            "input_ids": spaces.Box(0, vocab_size - 1, (max_length,), np.int64),
            "attention_mask": spaces.Box(0, 1, (max_length,), np.int64),
        }
    )


def one_hot_tokens(
    input_ids: np.ndarray, attention_mask: np.ndarray, vocab_size: int, align: str = "right"
) -> np.ndarray:
    """Flattened one-hot code of right-padded token states; zeros for empty positions.

    Row ``p`` of the ``(L, V)`` code of a state is the one-hot code of the token in position
    ``p``; with ``align="right"`` the real tokens fill the *last* rows instead (the latest token
    always in the last row), which is what lets an MLP learn a word order quickly (see
    :class:`textgym.wrappers.OneHotTokens`). Either way the number of empty rows tells how many
    tokens are written, so the code is lossless.

    Args:
        input_ids: Token ids, shape (L,) or (N, L).
        attention_mask: 1 for real tokens, 0 for padding, same shape; right-padded (the real
            tokens come first).
        vocab_size: V.
        align: ``"right"`` or ``"left"`` (the state's own layout).

    Returns:
        float32 array of shape (L * V,) or (N, L * V).

    >>> one_hot_tokens(np.array([2, 1, 0]), np.array([1, 1, 0]), 3).reshape(3, 3).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if align not in ALIGNS:
        raise ValueError(f"align must be one of {ALIGNS}, got {align!r}")
    ids = np.asarray(input_ids)
    mask = np.asarray(attention_mask)
    if ids.shape != mask.shape or ids.ndim not in (1, 2):
        raise ValueError(f"input_ids {ids.shape} and attention_mask {mask.shape} must have one shape, (L,) or (N, L)")
    single = ids.ndim == 1
    ids, mask = np.atleast_2d(ids), np.atleast_2d(mask)  # (N, L)
    n, length = ids.shape
    out = np.zeros((n, length, vocab_size), dtype=np.float32)  # (N, L, V)
    rows, cols = np.nonzero(mask)
    # Right-padded states: the k real tokens of a row sit in columns 0..k-1; right-aligned, they go to L-k..L-1.
    shift = length - mask.sum(axis=1) if align == "right" else np.zeros(n, dtype=np.int64)
    out[rows, cols + shift[rows], ids[rows, cols]] = 1.0
    out = out.reshape(n, length * vocab_size)  # (N, L * V)
    return out[0] if single else out


def encode(observation: str, input_ids: np.ndarray, attention_mask: np.ndarray, vocab_size: int) -> object:
    """The observation for the option, from the token state (shape (L,) or (N, L); the arrays are not kept)."""
    if observation == "onehot":
        return one_hot_tokens(input_ids, attention_mask, vocab_size)
    if observation == "multidiscrete":
        return {"input_ids": input_ids, "attention_mask": attention_mask.astype(np.int8)}
    return {"input_ids": input_ids, "attention_mask": attention_mask}
