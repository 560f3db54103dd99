"""Calls to Ray workers under a deadline, and what a failed call was: the fault handling every Ray class shares.

Ray reports a worker's fault in three ways; :class:`Calls` turns each into a :class:`Fault`
and :func:`fault_error` into the :class:`~agents.distributed.errors.WorkerError` users catch:

* ``died``: the actor is dead or unreachable (``RayActorError``: its process was killed, ran
  out of memory, lost its node), or the call's result was lost (any other ``RayError``);
* ``timed out``: no answer within ``worker_timeout_s`` of the wait's start (a stopped,
  deadlocked or runaway process). The caller kills such an actor (:func:`kill`): left alive
  it would hold its CPU and its slots, and answer a later call with a stale result;
* ``raised``: the call raised inside the worker (``RayTaskError``); the fault holds the env's
  own exception, with the worker's traceback attached as a note.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from agents.distributed.errors import (
    WorkerDiedError,
    WorkerEnvError,
    WorkerError,
    WorkerTimeoutError,
    require_ray,
)
from textgym.validation import check_float, check_int

#: How long a worker call may take before the worker counts as hung (seconds). Generous: a
#: rollout of many slots with an LM reward takes minutes on CPUs; a hang lasts for ever.
DEFAULT_WORKER_TIMEOUT_S = 300.0

#: The least time a new worker is given to start (seconds), whatever ``worker_timeout_s``: a new
#: process imports torch and builds its env and policy copy, which takes from seconds on an idle
#: machine to a minute on a loaded one; a short ``worker_timeout_s`` is meant for calls.
START_TIMEOUT_S = 300.0


def check_fault_settings(worker_timeout_s: float, max_restarts: int) -> tuple[float, int]:
    """``worker_timeout_s`` (finite, > 0) and ``max_restarts`` (an integer >= 0), checked.

    Raises:
        TypeError: If either has the wrong type.
        ValueError: If either is out of range.
    """
    return check_float("worker_timeout_s", worker_timeout_s, positive=True), check_int(
        "max_restarts", max_restarts, minimum=0
    )


class ActorBody:
    """What every worker actor answers besides its work: a liveness check and its process id."""

    def ping(self) -> bool:
        return True

    def pid(self) -> int:
        """The worker's process id (where its process must be found: to stop it in a fault test, say)."""
        return os.getpid()


@dataclass(frozen=True)
class Fault:
    """Why a worker call failed.

    Attributes:
        kind: ``"died"``, ``"timed out"`` or ``"raised"``.
        error: Ray's error for ``died``, the env's own exception for ``raised``, None for ``timed out``.
        timeout_s: For ``timed out``, the seconds the call was given.
        starting: Whether the worker failed while starting, before the call itself.
        restarts: How often the worker had been restarted in the failed call before this fault.
    """

    kind: Literal["died", "timed out", "raised"]
    error: BaseException | None = None
    timeout_s: float | None = None
    starting: bool = False
    restarts: int = 0


class Calls:
    """Worker calls in flight, at most one per worker, each with its own deadline."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[Any, float, float]] = {}

    def add(self, worker: int, ref: Any, timeout_s: float) -> None:
        """Wait for ``ref``, worker ``worker``'s call, until ``timeout_s`` from now."""
        self._calls[worker] = (ref, time.monotonic() + timeout_s, timeout_s)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def next(self) -> tuple[int, Any, Fault | None]:
        """The next call to finish or run out of time: ``(worker, result, None)`` or ``(worker, None, fault)``.

        Raises:
            RuntimeError: If no call is in flight.
        """
        if not self._calls:
            raise RuntimeError("no worker call in flight")
        ray = require_ray()
        due = min(self._calls, key=lambda j: self._calls[j][1])
        by_ref = {ref: j for j, (ref, _, _) in self._calls.items()}
        ready, _ = ray.wait(list(by_ref), num_returns=1, timeout=max(0.0, self._calls[due][1] - time.monotonic()))
        if not ready:
            _, _, timeout_s = self._calls.pop(due)
            return due, None, Fault("timed out", timeout_s=timeout_s)
        j = by_ref[ready[0]]
        ref, _, _ = self._calls.pop(j)
        try:
            return j, ray.get(ref), None
        except ray.exceptions.RayTaskError as err:
            cause = err.cause
            # Ray's text of the error is the worker's traceback (its frames, without Ray's own).
            add_note(cause, f"Traceback in the worker:\n{err}")
            return j, None, Fault("raised", cause)
        except ray.exceptions.RayError as err:  # the actor or the result is gone
            return j, None, Fault("died", err)


def add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``; on Python 3.10, which has no notes, the same ``__notes__`` list."""
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:
        error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]


def kill(actor: Any) -> None:
    """Kill a worker actor for good (Ray ends its process, stopped or not); no-op if it is dead."""
    require_ray().kill(actor, no_restart=True)


def fault_error(fault: Fault, worker: int, slots: range, who: str, what: str, then: str) -> WorkerError:
    """The :class:`WorkerError` of ``fault``: ``"{who} {what happened} during {what}; {then}"``.

    Raise it ``from fault.error``.

    Args:
        fault: What happened.
        worker: The worker's index.
        slots: Its slots.
        who: The worker, named for a person (index, slots and whatever else identifies it).
        what: The call that failed ("step", "collect", ...).
        then: What became of the batch and what to do next.
    """
    if fault.kind == "raised":
        err = fault.error
        assert err is not None
        return WorkerEnvError(worker, slots, f"{who} raised {type(err).__name__}: {err} during {what}; {then}", err)
    if fault.restarts:
        what = f"{what}, after {fault.restarts} restart{'s' * (fault.restarts > 1)} in this call (max_restarts)"
    if fault.kind == "timed out":
        assert fault.timeout_s is not None
        if fault.starting:
            hung = f"did not start within {fault.timeout_s:g} s before {what}"
        else:
            hung = f"did not answer within worker_timeout_s={fault.timeout_s:g} s during {what}"
        return WorkerTimeoutError(worker, slots, f"{who} {hung} and was killed; {then}", fault.timeout_s)
    when = f"while starting before {what}" if fault.starting else f"during {what}"
    return WorkerDiedError(worker, slots, f"{who} died {when} ({_reason(fault.error)}); {then}")


def _reason(err: BaseException | None) -> str:
    """Ray's account of a death in a sentence or two: why the actor is dead and how its process exited."""
    sentences = [part for line in str(err).splitlines() for part in re.split(r"(?<=\.)\s+", line.strip()) if part]
    why = [part for part in sentences if re.search(r"dead because|killed|exit type", part, re.IGNORECASE)]
    return f"{type(err).__name__}: {' '.join(why[:2] or sentences[:1])}"[:300]
