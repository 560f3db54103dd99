"""The process's random generators (Python, NumPy, torch) as JSON, to continue a run where it stopped.

SB3 seeds these once, when an algorithm is built (``set_random_seed``), and draws from them
from then on: torch samples the actions, NumPy's global generator shuffles the minibatches.
A checkpoint (:mod:`agents.checkpoints`) keeps their states so that a resumed run draws what
the interrupted run would have drawn next, instead of the draws of a fresh seed.

>>> import random
>>> state = capture()
>>> first = (random.random(), np.random.rand(), torch.rand(1).item())
>>> restore(state)
>>> (random.random(), np.random.rand(), torch.rand(1).item()) == first
True
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import numpy as np
import torch


def capture() -> dict[str, Any]:
    """The states of Python's ``random``, NumPy's global generator and torch's (CPU, and CUDA if available)."""
    version, internal, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "numpy": {**numpy_state, "state": {**numpy_state["state"], "key": numpy_state["state"]["key"].tolist()}},
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["torch_cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def restore(state: dict[str, Any]) -> None:
    """Set the generators to a :func:`capture`'d state.

    CUDA states are restored when this machine has as many CUDA devices as the one that
    captured them; otherwise they are left as they are, with a warning.
    """
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    numpy_state = state["numpy"]
    key = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state({**numpy_state, "state": {**numpy_state["state"], "key": key}})
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    cuda = state.get("torch_cuda")
    if cuda is not None:
        if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
            torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in cuda])
        else:
            warnings.warn(
                f"the checkpoint holds the random states of {len(cuda)} CUDA device(s) and this machine has "
                f"{torch.cuda.device_count() if torch.cuda.is_available() else 0}: CUDA draws start afresh",
                stacklevel=2,
            )
