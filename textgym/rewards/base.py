"""The reward interface: a reward scores a batch of (prompt, completion) pairs.

A reward is either a :class:`RewardModel` (which may report named components) or any plain
callable ``f(prompts, completions) -> sequence of floats``. Environments validate every
result through :func:`score_batch`, so a NaN, an infinity or a wrong shape stops with an
error that names the reward and never reaches an agent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RewardOutput:
    """Scores of a batch.

    Attributes:
        total: Shape (batch,), the reward of each pair.
        components: Name -> array of shape (batch,), the terms ``total`` is made of.
        token_scores: Optional immediate rewards: for pair ``i``, a 1-D array with one score
            per completion token (of the reward's own tokenizer). By convention they sum to
            ``total[i]``, like the env's ``reward_mode="immediate"`` rewards do.
    """

    total: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)
    token_scores: list[np.ndarray] | None = None


class RewardModel(ABC):
    """Base class of rewards: deterministic scores for batches of (prompt, completion)."""

    #: Name used in ``info["reward_components"]`` and in error messages.
    name: str = "reward"

    @abstractmethod
    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair; return totals and, optionally, named components and token scores."""

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> np.ndarray:
        """The totals alone, so a RewardModel is also a plain reward callable."""
        return self.score(prompts, completions).total


RewardLike = RewardModel | Callable[[Sequence[str], Sequence[str]], Sequence[float]]


class CallableReward(RewardModel):
    """Adapts a plain callable ``f(prompts, completions) -> floats`` to a RewardModel."""

    def __init__(self, fn: Callable[[Sequence[str], Sequence[str]], Sequence[float]], name: str | None = None):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Call the wrapped function; score_batch validates what it returns."""
        # Left raw: score_batch validates and converts, naming this reward in any error.
        return RewardOutput(total=self.fn(list(prompts), list(completions)))  # type: ignore[arg-type]


def as_reward_model(reward: RewardLike) -> RewardModel:
    """Return ``reward`` as a RewardModel, wrapping a plain callable.

    Raises:
        TypeError: If ``reward`` is not callable.
    """
    if isinstance(reward, RewardModel):
        return reward
    if not callable(reward):
        raise TypeError(f"reward must be a RewardModel or a callable, got {type(reward).__name__}")
    return CallableReward(reward)


def _check(name: str, what: str, values: object, batch: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"reward {name!r} returned {what} that is not numeric: {err}") from err
    if arr.shape != (batch,):
        raise ValueError(
            f"reward {name!r} returned {what} of shape {arr.shape} for a batch of {batch}; expected shape ({batch},)"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"reward {name!r} returned a non-finite {what} ({arr[i]}) for pair {i}")
    return arr


def _check_token_scores(name: str, values: object, batch: int) -> list[np.ndarray]:
    if isinstance(values, np.ndarray) and values.ndim >= 1:
        values = list(values)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"reward {name!r} returned token_scores that are not a list of arrays")
    if len(values) != batch:
        raise ValueError(f"reward {name!r} returned token_scores for {len(values)} pairs in a batch of {batch}")
    out = []
    for i, row in enumerate(values):
        try:
            arr = np.asarray(row, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"reward {name!r} returned non-numeric token_scores for pair {i}: {err}") from err
        if arr.ndim != 1:
            raise ValueError(f"reward {name!r} returned token_scores of shape {arr.shape} for pair {i}; expected 1-D")
        if not np.isfinite(arr).all():
            raise ValueError(f"reward {name!r} returned a non-finite token score for pair {i}")
        out.append(arr)
    return out


def check_nonempty(name: str, completions: Sequence[str]) -> None:
    """Raise if a completion is empty, for rewards that cannot score one.

    Empty completions are legitimate agent output (an agent may emit EOS at once), so
    rewards should score them when they can; those that cannot call this first.

    Raises:
        ValueError: Naming the reward and the first empty completion's index.
    """
    for i, c in enumerate(completions):
        if not c.strip():
            raise ValueError(
                f"reward {name!r} cannot score an empty completion (pair {i}); "
                "wrap it to give empty completions a score of your choice"
            )


def _add_note(err: BaseException, note: str) -> None:
    """Add a PEP 678 note to ``err`` (``err.__notes__``; its traceback prints it from Python 3.11 on).

    Python 3.10 has no ``BaseException.add_note``: there the note is kept in ``__notes__`` alone.
    """
    if hasattr(err, "add_note"):
        err.add_note(note)
    else:  # Python 3.10
        err.__notes__ = [*getattr(err, "__notes__", []), note]


def score_batch(reward: RewardModel, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
    """Score a batch and validate the result.

    An exception raised inside ``reward.score`` propagates as itself (its type unchanged, so
    ``except ValueError`` around a reward still works), with a note (PEP 678,
    ``err.__notes__``, printed with its traceback from Python 3.11 on) naming the reward:
    ``"raised by reward 'name' while scoring a batch of N (prompt, completion) pairs"``. A
    reward made of rewards (e.g. :class:`~textgym.rewards.WeightedSum`) adds one note per
    level, innermost first.

    Raises:
        ValueError: On a batch-size mismatch, a wrong shape or a non-finite value (in the
            totals, components or token scores); the message names the reward.
        TypeError: If the scores are not numeric or ``score`` does not return a RewardOutput;
            the message names the reward.
    """
    if len(prompts) != len(completions):
        raise ValueError(f"reward {reward.name!r}: {len(prompts)} prompts but {len(completions)} completions")
    try:
        out = reward.score(prompts, completions)
    except Exception as err:
        # The user's own exception, kept as it is, but saying whose it is.
        _add_note(
            err, f"raised by reward {reward.name!r} while scoring a batch of {len(prompts)} (prompt, completion) pairs"
        )
        raise
    if not isinstance(out, RewardOutput):
        raise TypeError(f"reward {reward.name!r}: score() must return a RewardOutput, got {type(out).__name__}")
    batch = len(prompts)
    total = _check(reward.name, "score", out.total, batch)
    components = {k: _check(reward.name, f"component {k!r}", v, batch) for k, v in out.components.items()}
    token_scores = None
    if out.token_scores is not None:
        token_scores = _check_token_scores(reward.name, out.token_scores, batch)
    return RewardOutput(total=total, components=components or {reward.name: total}, token_scores=token_scores)
