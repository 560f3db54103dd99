"""The import guard and the errors of the Ray path.

Every fault of a Ray worker comes out of the Ray classes as one type, :class:`WorkerError`,
never as Ray's own exceptions (``RayTaskError``, ``ActorDiedError``, ``GetTimeoutError``):
a subclass says which fault it was.

* :class:`WorkerDiedError`: the worker's process died (killed, out of memory, node lost).
* :class:`WorkerTimeoutError`: the worker did not answer within ``worker_timeout_s`` (a
  stopped, deadlocked or endlessly slow process); it was killed.
* :class:`WorkerEnvError`: the env (or the policy) raised inside the worker; the env's own
  exception is chained as ``__cause__`` and kept as :attr:`WorkerEnvError.error`.
"""

from __future__ import annotations

from types import ModuleType


class WorkerError(RuntimeError):
    """A Ray worker (actor) failed; the batch it was part of (step, reset, rollout) was dropped whole.

    The one error to catch for a worker's fault; the subclasses say which fault it was.

    Attributes:
        worker: Index of the worker that failed.
        slots: The env slots it holds (``range(start, stop)``).
    """

    def __init__(self, worker: int, slots: range, message: str):
        super().__init__(message)
        self.worker = worker
        self.slots = slots


class WorkerDiedError(WorkerError):
    """A worker's process died (killed by a signal or ``ray.kill``, out of memory, its node lost)."""


class WorkerTimeoutError(WorkerError):
    """A worker did not answer within ``worker_timeout_s`` seconds and was killed.

    Attributes:
        timeout_s: The ``worker_timeout_s`` it exceeded.
    """

    def __init__(self, worker: int, slots: range, message: str, timeout_s: float):
        super().__init__(worker, slots, message)
        self.timeout_s = timeout_s


class WorkerEnvError(WorkerError):
    """The env (or the policy) raised inside a worker; raised ``from`` the env's own exception.

    Attributes:
        error: The exception the env raised (also ``__cause__``), with the worker's traceback
            attached as a note.
    """

    def __init__(self, worker: int, slots: range, message: str, error: BaseException):
        super().__init__(worker, slots, message)
        self.error = error


def require_ray() -> ModuleType:
    """Import ray, or say which extra provides it.

    Raises:
        ImportError: If ray is not installed.
    """
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "agents.distributed needs ray, which is an optional extra: pip install 'textgym[ray]'"
        ) from err
    return ray
