"""The import guard and the error of the Ray path."""

from __future__ import annotations

from types import ModuleType


class WorkerDiedError(RuntimeError):
    """A Ray worker (actor) died or failed; the batch it was part of was dropped whole.

    Attributes:
        worker: Index of the worker that failed.
    """

    def __init__(self, worker: int, message: str):
        super().__init__(message)
        self.worker = worker


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
