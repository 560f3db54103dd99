"""textgym.validation: check_int's type-only mode (minimum=None), for indices whose range the caller checks."""

import numpy as np
import pytest

from textgym.validation import check_int


@pytest.mark.parametrize("value", [-1, 0, 7, np.int64(-3)])
def test_check_int_without_a_minimum_takes_any_integer(value) -> None:
    assert check_int("prompt_index", value, minimum=None) == int(value)


@pytest.mark.parametrize("value", [2.0, 2.7, True, "2", None])
def test_check_int_without_a_minimum_still_refuses_non_integers(value) -> None:
    with pytest.raises(TypeError, match=r"prompt_index must be an integer, got"):
        check_int("prompt_index", value, minimum=None)
