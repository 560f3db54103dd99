"""Assertion helpers shared by the autograder tests, written to give students useful messages.

Every helper checks type and shape before values, so a student who returns a list, a
tensor of the wrong shape or a NumPy array where a tensor was asked for is told exactly
that instead of receiving a broadcasting error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_numpy(value: Any, what: str, *, want_tensor: bool | None = None) -> np.ndarray:
    """Convert a returned value to a float64 NumPy array, checking its type first.

    Args:
        value: The value returned by the student's function.
        what: Human-readable name of the value, used in messages.
        want_tensor: True to require a ``torch.Tensor``, False to require a
            ``numpy.ndarray``, None to accept either.

    Returns:
        ``value`` as a float64 array (detached and on the CPU for tensors).
    """
    __tracebackhide__ = True  # show the failing check, not this helper
    if want_tensor is True:
        assert isinstance(value, torch.Tensor), (
            f"{what} must be a torch.Tensor, got {type(value).__name__}. This exercise uses "
            "PyTorch so that gradients can flow through the result."
        )
    elif want_tensor is False:
        assert isinstance(value, np.ndarray), (
            f"{what} must be a numpy.ndarray, got {type(value).__name__}. This exercise "
            "works on NumPy arrays (see the module docstring)."
        )
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def assert_close(
    actual: Any,
    expected: Any,
    what: str,
    hint: str = "",
    *,
    want_tensor: bool | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Assert that a returned value has the expected shape and values.

    Args:
        actual: The value returned by the student's function.
        expected: The independently computed expected value (array-like or scalar).
        what: Human-readable name of the value, used in messages.
        hint: What the student most likely got wrong when the values differ.
        want_tensor: Passed to :func:`to_numpy`.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
    """
    __tracebackhide__ = True  # show the failing check, not this helper
    got = to_numpy(actual, what, want_tensor=want_tensor)
    want = np.asarray(expected, dtype=np.float64)
    assert got.shape == want.shape, (
        f"{what} has shape {got.shape}, expected {want.shape}. Check the Returns section "
        "of the docstring (reductions, keepdim, extra or missing dimensions)."
    )
    assert np.all(np.isfinite(got) | ~np.isfinite(want)), (
        f"{what} contains NaN or inf where a finite value was expected:\n{got}\n"
        "Look for log(0), exp overflow or 0 * inf; work in log space where you can.\n"
        f"{hint}"
    ).rstrip()
    message = f"{what} is wrong.\n{hint}".rstrip()
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=message)


def assert_shape(value: Any, what: str, shape: tuple[int, ...], *, want_tensor: bool | None = None) -> np.ndarray:
    """Assert that a returned value has the given type and shape and is finite.

    Args:
        value: The value returned by the student's function.
        what: Human-readable name of the value, used in messages.
        shape: The expected shape.
        want_tensor: Passed to :func:`to_numpy`.

    Returns:
        ``value`` as a float64 NumPy array.
    """
    __tracebackhide__ = True  # show the failing check, not this helper
    got = to_numpy(value, what, want_tensor=want_tensor)
    assert got.shape == tuple(shape), (
        f"{what} has shape {got.shape}, expected {tuple(shape)}. Check the Returns section of the docstring."
    )
    assert np.all(np.isfinite(got)), f"{what} contains NaN or inf:\n{got}"
    return got


def assert_scalar_tensor(value: Any, what: str) -> float:
    """Assert that a value is a 0-dim torch tensor and return it as a Python float.

    Args:
        value: The value returned by the student's function.
        what: Human-readable name of the value, used in messages.

    Returns:
        The scalar value.
    """
    __tracebackhide__ = True  # show the failing check, not this helper
    assert isinstance(value, torch.Tensor), f"{what} must be a torch.Tensor, got {type(value).__name__}."
    assert value.dim() == 0, (
        f"{what} must be a 0-dim tensor (a scalar, e.g. from .mean()), got shape {tuple(value.shape)}."
    )
    return float(value.detach())
