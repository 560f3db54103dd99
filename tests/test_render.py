"""Token colouring (ANSI and HTML) and the TextGenEnv hook that renders with it."""

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.envs.small_vocab import word_list_tokenizer
from textgym.models import load_tokenizer
from textgym.render import (
    HIGH_RGB,
    LOW_RGB,
    MID_RGB,
    colorize_tokens,
    to_html,
    token_pieces,
    value_to_rgb,
)


def test_value_to_rgb_by_hand() -> None:
    assert value_to_rgb(-1.0, -1.0, 3.0) == LOW_RGB == (215, 48, 39)
    assert value_to_rgb(3.0, -1.0, 3.0) == HIGH_RGB == (26, 152, 80)
    assert value_to_rgb(1.0, -1.0, 3.0) == MID_RGB
    # A quarter of the way: halfway from red to pale yellow.
    assert value_to_rgb(0.0, -1.0, 3.0) == (235, 152, 115)  # 215+20, 48+103.5 (rounds to even), 39+76
    # Three quarters: halfway from pale yellow to green; 255-114.5 rounds to 140 (even).
    assert value_to_rgb(2.0, -1.0, 3.0) == (140, 204, 136)
    assert value_to_rgb(99.0, -1.0, 3.0) == HIGH_RGB  # clipped
    assert value_to_rgb(5.0, 2.0, 2.0) == MID_RGB  # degenerate range


def test_colorize_tokens_exact_escape_codes() -> None:
    out = colorize_tokens(["the", " cat", " ."], [0.0, 2.0, None])
    assert out == "\x1b[30;48;2;215;48;39mthe\x1b[0m \x1b[30;48;2;26;152;80mcat\x1b[0m ."
    # A fixed scale: 1.0 is the middle of [0, 2].
    assert colorize_tokens(["x"], [1.0], vmin=0.0, vmax=2.0) == "\x1b[30;48;2;255;255;191mx\x1b[0m"


def test_colouring_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="2 tokens but 1 values"):
        colorize_tokens(["a", "b"], [1.0])
    with pytest.raises(ValueError, match="not finite"):
        to_html(["a"], [float("nan")])
    with pytest.raises(ValueError, match="below vmin"):
        colorize_tokens(["a"], [1.0], vmin=2.0, vmax=1.0)
    with pytest.raises(TypeError, match="not one string"):
        colorize_tokens("ab", [1.0, 2.0])


def test_to_html_escapes_and_colours() -> None:
    out = to_html(["<a>", " &"], [0.0, 1.0])
    assert '<span style="background-color: rgb(215, 48, 39); color: black" title="0">&lt;a&gt;</span>' in out
    assert ' <span style="background-color: rgb(26, 152, 80); color: black" title="1">&amp;</span>' in out
    assert "<a>" not in out


@pytest.mark.parametrize("tokenizer", ["word_list", "tiny"])
def test_token_pieces_join_to_the_decoded_text(tokenizer: str) -> None:
    tok = word_list_tokenizer([".", "the", "cat", "sat"]) if tokenizer == "word_list" else load_tokenizer("tiny")
    ids = tok("the cat sat .", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    pieces = token_pieces(tok, ids)
    assert pieces == ["the", " cat", " sat", " .", " <eos>"]
    assert "".join(pieces) == tok.decode(ids)


def test_env_render_colours_tokens_by_the_values_given() -> None:
    env = gym.make("textgym/TinyCat-v0", render_mode="ansi").unwrapped
    env.reset(seed=0)
    tok = env.tokenizer
    rewards = [env.step(tok.convert_tokens_to_ids(w))[1] for w in ["the", "cat", "sat", "."]]
    assert env.render() == "tom saw it . || the cat sat ."  # unchanged without values
    env.set_token_values(rewards)  # [0.1, 0.1, 0.1, 1.2]
    low, high = "\x1b[30;48;2;215;48;39m", "\x1b[30;48;2;26;152;80m"
    assert env.render() == (f"tom saw it . || {low}the\x1b[0m {low}cat\x1b[0m {low}sat\x1b[0m {high}.\x1b[0m")
    env.set_token_values(rewards[:1])  # values for the first tokens only: the rest plain
    assert env.render().endswith("the\x1b[0m cat sat .")
    with pytest.raises(ValueError, match="5 token values but only 4 tokens"):
        env.set_token_values([0.0] * 5)
    with pytest.raises(ValueError, match="finite"):
        env.set_token_values([np.inf])
    env.reset()
    assert env.token_values is None  # cleared with each episode


def test_env_render_shows_the_stop_token_when_coloured() -> None:
    env = gym.make("textgym/TinyCat-v0", render_mode="ansi").unwrapped
    env.reset(seed=0)
    env.step(2)
    env.step(0)  # "the <eos>"
    env.set_token_values([1.0, 1.0])
    mid = "\x1b[30;48;2;255;255;191m"
    assert env.render() == f"tom saw it . || {mid}the\x1b[0m {mid}<eos>\x1b[0m"
