"""Token colouring (ANSI and HTML) and the TextGenEnv hook that renders with it."""

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.envs.small_vocab import word_list_tokenizer
from textgym.models import load_tokenizer
from textgym.render import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    HIGH_RGB,
    LOW_RGB,
    MID_RGB,
    NOTICE_RGB,
    _wrap,
    colorize_tokens,
    coloured_pieces,
    parse_ansi,
    text_image,
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


def test_coloured_pieces_is_what_ansi_and_html_write() -> None:
    pieces = coloured_pieces(["the", " cat", "  "], [0.0, 2.0, 1.0])
    assert pieces == [("", "the", LOW_RGB), (" ", "cat", HIGH_RGB), ("  ", "", None)]  # white space: uncoloured


def test_parse_ansi_inverts_colorize_tokens() -> None:
    text = "tom . || " + colorize_tokens(["the", " cat", " ."], [0.0, 2.0, None])
    assert parse_ansi(text) == [("tom . || ", None), ("the", LOW_RGB), (" ", None), ("cat", HIGH_RGB), (" .", None)]
    assert parse_ansi("plain") == [("plain", None)]
    with pytest.raises(ValueError, match="unsupported or unclosed"):
        parse_ansi("\x1b[1mbold\x1b[0m")
    with pytest.raises(ValueError, match="unsupported or unclosed"):
        parse_ansi("\x1b[30;48;2;1;2;3mnever closed")


def test_wrap_breaks_at_spaces_and_newlines() -> None:
    lines = _wrap([("aa bb cc", None), ("\nd", LOW_RGB)], columns=5)
    assert ["".join(c for c, _ in line) for line in lines] == ["aa bb", "cc", "d"]
    assert lines[2] == [("d", LOW_RGB)]
    lines = _wrap([("abcdefgh", None)], columns=3)  # no space: cut inside the word
    assert ["".join(c for c, _ in line) for line in lines] == ["abc", "def", "gh"]


def colour_pixels(image: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int((image == np.array(rgb, dtype=np.uint8)).all(axis=-1).sum())


def test_text_image_draws_coloured_backgrounds_and_keeps_the_newest_lines() -> None:
    image = text_image("plain " + colorize_tokens(["cat"], [1.0], vmin=0.0, vmax=1.0))
    assert image.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3) and image.dtype == np.uint8
    # Three characters' background cells of exactly HIGH_RGB: about 3 x char width x line height
    # pixels, less the pixels the glyphs cover.
    n_high = colour_pixels(image, HIGH_RGB)
    assert 3 * 8 * 17 * 0.5 < n_high <= 3 * 9 * 18
    assert colour_pixels(image, LOW_RGB) == 0
    plain = text_image("plain cat")
    assert colour_pixels(plain, HIGH_RGB) == 0 and (plain < 255).any()  # black text, no colour
    # 100 lines do not fit: the first row becomes a grey notice, the last line is drawn.
    many = text_image("\n".join(f"line {i}" for i in range(100)))
    assert colour_pixels(many[:20], NOTICE_RGB) > 0 and colour_pixels(plain[:20], NOTICE_RGB) == 0
    np.testing.assert_array_equal(many[-40:], text_image("\n".join(f"line {i}" for i in range(60, 100)))[-40:])
    with pytest.raises(ValueError, match="no room"):
        text_image("x", width=20, height=20)


def test_env_rgb_array_is_the_ansi_text_drawn() -> None:
    ansi = gym.make("textgym/TinyCat-v0", render_mode="ansi").unwrapped
    rgb = gym.make("textgym/TinyCat-v0", render_mode="rgb_array").unwrapped
    assert "rgb_array" in rgb.metadata["render_modes"] and rgb.metadata["render_fps"] > 0
    for env in (ansi, rgb):
        env.reset(seed=0)
        for w in ["the", "cat"]:
            env.step(env.tokenizer.convert_tokens_to_ids(w))
        env.set_token_values([0.0, 1.0])
    frame = rgb.render()
    np.testing.assert_array_equal(frame, text_image(ansi.render()))
    assert colour_pixels(frame, LOW_RGB) > 0 and colour_pixels(frame, HIGH_RGB) > 0


def test_vector_env_renders_one_frame_per_slot() -> None:
    venv = gym.make_vec(
        "textgym/TinyCat-v0", num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array"
    )
    single = gym.make("textgym/TinyCat-v0", render_mode="rgb_array")
    venv.reset(seed=5)
    single.reset(seed=6)
    frames = venv.render()
    assert len(frames) == 2
    np.testing.assert_array_equal(frames[1], single.render())
