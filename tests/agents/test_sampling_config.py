"""agents.SamplingConfig: each sampling setting refused with its name and value when it cannot work."""

import pytest

from agents.sampling import SamplingConfig


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(temperature=0), ValueError, "temperature must be > 0, got 0.0"),
        (dict(temperature=float("nan")), ValueError, "temperature must be a finite number, got nan"),
        (dict(temperature="hot"), TypeError, r"temperature must be a number, got 'hot' \(str\)"),
        (dict(top_k=-1), ValueError, "top_k must be >= 0, got -1"),
        (dict(top_k=2.5), TypeError, r"top_k must be an integer, got 2.5 \(float\)"),
        (dict(top_p=0), ValueError, "top_p must be > 0, got 0.0"),
        (dict(top_p=1.5), ValueError, r"top_p must be in \(0, 1\], got 1.5"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        SamplingConfig(**kwargs)


def test_settings_are_stored_as_floats_and_an_int() -> None:
    config = SamplingConfig(temperature=2, top_k=5, top_p=1)
    assert (config.temperature, config.top_k, config.top_p) == (2.0, 5, 1.0)
    assert isinstance(config.temperature, float) and isinstance(config.top_p, float)
