"""Issue 30: the first Ctrl-C is a request to stop (agents.interrupt); a second one interrupts at once."""

import os
import signal

import pytest

from agents.interrupt import first_sigint_requests


def test_first_sigint_requests_then_second_interrupts() -> None:
    requests: list[int] = []
    # Python's own handler, as in `textgym train`; a pytest-xdist worker starts with SIGINT ignored.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), first_sigint_requests(lambda: requests.append(1)):
            os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler right after this call returns
            assert requests == [1]
            os.kill(os.getpid(), signal.SIGINT)  # the previous handler again: KeyboardInterrupt
        assert requests == [1]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
