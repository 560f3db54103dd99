"""Ctrl-C as a request to stop at a safe point, instead of an exception wherever the program happens to be.

A ``KeyboardInterrupt`` raised in the middle of an optimizer step or a save leaves the model
half-updated: Ctrl-C during ``learn`` would lose the training. Within
:func:`first_sigint_requests`, the first SIGINT only calls a function (e.g.
:meth:`agents.checkpoints.ResumableCheckpoint.request_stop`), which lets training stop at its
next step and save; a second SIGINT raises ``KeyboardInterrupt`` as usual, for a user who will
not wait.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType


@contextlib.contextmanager
def first_sigint_requests(request: Callable[[], None], notice: str = "") -> Iterator[None]:
    """Within the block, the first SIGINT (Ctrl-C) calls ``request()`` instead of raising ``KeyboardInterrupt``.

    The previous SIGINT handler is back after the first SIGINT (so a second one acts as it
    would have) and when the block ends. Signal handlers can only be set from the main thread;
    elsewhere the block runs with SIGINT as it was.

    Args:
        request: Called, in the main thread, when the first SIGINT arrives.
        notice: Written to stderr when it arrives (e.g. "stopping at the next step ...").

    Yields:
        Nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # set outside Python: SIG_DFL is the closest we can restore
        previous = signal.SIG_DFL

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, previous)
        if notice:
            # os.write to fd 2, not print: the handler may run in the middle of another print to stderr.
            os.write(2, (notice + "\n").encode())
        request()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
