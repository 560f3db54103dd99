r"""Seeing the agent: generated tokens coloured by a per-token value (reward, log-probability).

* :func:`colorize_tokens`: ANSI escape colours for a terminal (``render_mode="ansi"``).
* :func:`to_html`: the same as HTML ``<span>`` elements, for notebooks
  (``IPython.display.HTML(to_html(...))``).
* :func:`token_pieces`: a completion's token ids as text pieces that join back to the text.
* :func:`text_image`: a rendered text (with the ANSI colours of :func:`colorize_tokens`) drawn
  as an RGB image, for ``render_mode="rgb_array"`` and video recorders.

:func:`coloured_pieces` is the one place where values become colours; the three formats
above only write its output differently.

Values map linearly from ``vmin`` (red) through the middle (pale yellow) to ``vmax``
(green), the end and middle colours of ColorBrewer's RdYlGn scale. A token whose value is
``None`` is shown uncoloured.

>>> colorize_tokens(["the", " cat"], [0.0, 1.0])
'\x1b[30;48;2;215;48;39mthe\x1b[0m \x1b[30;48;2;26;152;80mcat\x1b[0m'
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

#: RdYlGn's low, middle and high colours (ColorBrewer, Brewer 2003).
LOW_RGB = (215, 48, 39)
MID_RGB = (255, 255, 191)
HIGH_RGB = (26, 152, 80)
ANSI_RESET = "\x1b[0m"


def _check(tokens: Sequence[str], values: Sequence[float | None]) -> list[float | None]:
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of strings, not one string")
    if len(tokens) != len(values):
        raise ValueError(f"got {len(tokens)} tokens but {len(values)} values; give one value per token")
    out: list[float | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"value {i} ({v}) for token {tokens[i]!r} is not finite")
        out.append(f)
    return out


def _range(values: Sequence[float | None], vmin: float | None, vmax: float | None) -> tuple[float, float]:
    present = [v for v in values if v is not None]
    lo = min(present, default=0.0) if vmin is None else float(vmin)
    hi = max(present, default=0.0) if vmax is None else float(vmax)
    if hi < lo:
        raise ValueError(f"vmax ({hi}) is below vmin ({lo})")
    return lo, hi


def value_to_rgb(value: float, vmin: float, vmax: float) -> tuple[int, int, int]:
    """The colour of ``value`` on the red-yellow-green scale from ``vmin`` to ``vmax``.

    Values outside the range are clipped to its ends; when ``vmin == vmax`` every value gets
    the middle colour.

    >>> value_to_rgb(0.5, 0.0, 1.0), value_to_rgb(0.25, 0.0, 1.0)
    ((255, 255, 191), (235, 152, 115))
    """
    if vmax == vmin:
        return MID_RGB
    x = min(max((value - vmin) / (vmax - vmin), 0.0), 1.0)
    lo, hi, t = (LOW_RGB, MID_RGB, 2 * x) if x <= 0.5 else (MID_RGB, HIGH_RGB, 2 * x - 1)
    return tuple(round(a + (b - a) * t) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]


def _split_space(piece: str) -> tuple[str, str]:
    """Leading white space and the rest, so that only the visible text is coloured."""
    body = piece.lstrip()
    return piece[: len(piece) - len(body)], body


#: A token's text split into (leading white space, visible text, background colour or None).
ColouredPiece = tuple[str, str, "tuple[int, int, int] | None"]


def coloured_pieces(
    tokens: Sequence[str],
    values: Sequence[float | None],
    *,
    vmin: float | None = None,
    vmax: float | None = None,
) -> list[ColouredPiece]:
    """Each token as (leading white space, visible text, colour), the colour None when uncoloured.

    A token is uncoloured when its value is ``None`` or it has no visible text (white space
    only). Arguments and errors as :func:`colorize_tokens`.

    >>> coloured_pieces(["the", " cat", " ."], [0.0, 1.0, None])
    [('', 'the', (215, 48, 39)), (' ', 'cat', (26, 152, 80)), (' ', '.', None)]
    """
    vals = _check(tokens, values)
    lo, hi = _range(vals, vmin, vmax)
    out: list[ColouredPiece] = []
    for tok, v in zip(tokens, vals, strict=True):
        space, body = _split_space(tok)
        out.append((space, body, None if v is None or not body else value_to_rgb(v, lo, hi)))
    return out


def colorize_tokens(
    tokens: Sequence[str],
    values: Sequence[float | None],
    *,
    vmin: float | None = None,
    vmax: float | None = None,
) -> str:
    """Join ``tokens`` into one string with each token's background coloured by its value.

    Args:
        tokens: Text pieces in order, with their own spacing (see :func:`token_pieces`).
        values: One value per token (e.g. step reward, log-probability), or ``None`` to
            leave a token uncoloured.
        vmin: Value shown fully red; default the smallest value.
        vmax: Value shown fully green; default the largest value.

    Returns:
        The text with ANSI 24-bit background colours (black foreground) around each token.

    Raises:
        ValueError: If the lengths differ, a value is not finite, or ``vmax < vmin``.
    """
    parts = []
    for space, body, rgb in coloured_pieces(tokens, values, vmin=vmin, vmax=vmax):
        if rgb is None:
            parts.append(space + body)
            continue
        r, g, b = rgb
        parts.append(f"{space}\x1b[30;48;2;{r};{g};{b}m{body}{ANSI_RESET}")
    return "".join(parts)


def to_html(
    tokens: Sequence[str],
    values: Sequence[float | None],
    *,
    vmin: float | None = None,
    vmax: float | None = None,
) -> str:
    """The tokens as HTML spans coloured by value; hovering a token shows its value.

    Arguments and errors as :func:`colorize_tokens`; tokens are HTML-escaped.

    >>> to_html(["a", " <b>"], [1.0, None])
    '<span style="font-family: monospace; white-space: pre-wrap"><span style="background-color: \
rgb(255, 255, 191); color: black" title="1">a</span> &lt;b&gt;</span>'
    """
    vals = _check(tokens, values)
    parts = []
    for v, (space, body, rgb) in zip(vals, coloured_pieces(tokens, vals, vmin=vmin, vmax=vmax), strict=True):
        if rgb is None:
            parts.append(html.escape(space + body))
            continue
        r, g, b = rgb
        parts.append(
            f'{html.escape(space)}<span style="background-color: rgb({r}, {g}, {b}); color: black" '
            f'title="{v:.4g}">{html.escape(body)}</span>'
        )
    return f'<span style="font-family: monospace; white-space: pre-wrap">{"".join(parts)}</span>'


def token_pieces(tokenizer: Any, token_ids: Sequence[int]) -> list[str]:
    """Split a token sequence into the text each token adds, spacing included.

    Piece ``i`` is ``decode(ids[: i + 1])`` minus ``decode(ids[: i])``, which is right for
    word-level tokenizers (which join words with spaces) and byte-level BPE alike. Special
    tokens such as ``<eos>`` are kept, so that every token is visible. A byte-level token
    that ends inside a multi-byte character gets an empty piece; the character goes to the
    token that completes it.

    Args:
        tokenizer: A ``transformers`` tokenizer.
        token_ids: The ids.

    Returns:
        One string per id, joining to ``tokenizer.decode(token_ids)``.

    >>> from textgym.envs.small_vocab import word_list_tokenizer
    >>> token_pieces(word_list_tokenizer([".", "the", "cat"]), [2, 3, 1, 0])
    ['the', ' cat', ' .', ' <eos>']
    """
    pieces, previous = [], ""
    ids = [int(t) for t in token_ids]
    for i in range(len(ids)):
        text = tokenizer.decode(ids[: i + 1])
        if text.endswith("\ufffd") or not text.startswith(previous):
            # An incomplete UTF-8 character (decoded as U+FFFD) or a decoding that rewrites
            # earlier text: wait for the token that settles it.
            pieces.append("")
            continue
        pieces.append(text[len(previous) :])
        previous = text
    return pieces


#: The escape sequence :func:`colorize_tokens` opens a coloured token with.
_ANSI_COLOUR = re.compile(r"\x1b\[30;48;2;(\d{1,3});(\d{1,3});(\d{1,3})m")
#: Frame size of :func:`text_image`: 16:9, even sides (video codecs such as H.264 need them).
FRAME_WIDTH, FRAME_HEIGHT = 640, 360
FONT_SIZE = 14
MARGIN = 8
TEXT_RGB = (0, 0, 0)
BACKGROUND_RGB = (255, 255, 255)
#: Colour of the notice that earlier lines did not fit.
NOTICE_RGB = (128, 128, 128)


def parse_ansi(text: str) -> list[tuple[str, tuple[int, int, int] | None]]:
    r"""Split text written by :func:`colorize_tokens` into (text, background colour or None) runs.

    Only the escape codes that :func:`colorize_tokens` writes are understood.

    Raises:
        ValueError: If the text holds any other escape sequence, or a colour is not closed.

    >>> parse_ansi("a \x1b[30;48;2;215;48;39mcat\x1b[0m .")
    [('a ', None), ('cat', (215, 48, 39)), (' .', None)]
    """
    runs: list[tuple[str, tuple[int, int, int] | None]] = []
    pos = 0
    while pos < len(text):
        start = text.find("\x1b", pos)
        if start < 0:
            runs.append((text[pos:], None))
            break
        if start > pos:
            runs.append((text[pos:start], None))
        match = _ANSI_COLOUR.match(text, start)
        end = text.find(ANSI_RESET, start)
        if match is None or end < 0:
            raise ValueError(f"unsupported or unclosed escape sequence at character {start} of {text!r}")
        rgb = tuple(int(c) for c in match.groups())
        if max(rgb) > 255:
            raise ValueError(f"colour {rgb} at character {start} is not an RGB colour")
        runs.append((text[match.end() : end], rgb))  # type: ignore[arg-type]
        pos = end + len(ANSI_RESET)
    return runs


def _font(size: int) -> Any:
    """DejaVu Sans Mono, the monospaced font that ships with matplotlib (a core dependency)."""
    from pathlib import Path

    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"), size)


def _wrap(runs: Sequence[tuple[str, tuple[int, int, int] | None]], columns: int) -> list[list[tuple[str, Any]]]:
    """Lines of at most ``columns`` characters, each a list of (character, colour).

    Breaks at newlines, and at the last space before the limit when the line has one
    (otherwise inside the word).
    """
    lines: list[list[tuple[str, Any]]] = [[]]
    for text, rgb in runs:
        for ch in text:
            if ch == "\n":
                lines.append([])
                continue
            line = lines[-1]
            line.append((ch, rgb))
            if len(line) > columns:
                spaces = [k for k, (c, _) in enumerate(line) if c == " "]
                cut = spaces[-1] if spaces and spaces[-1] > 0 else columns
                head, tail = line[:cut], line[cut:]
                if tail and tail[0][0] == " ":
                    tail = tail[1:]  # the space at the break is dropped
                lines[-1] = head
                lines.append(tail)
    return lines


def text_image(
    text: str, *, width: int = FRAME_WIDTH, height: int = FRAME_HEIGHT, font_size: int = FONT_SIZE
) -> np.ndarray:
    """Draw ``text`` (plain, or coloured by :func:`colorize_tokens`) as an RGB image.

    Black monospaced text on white, wrapped to the width; a coloured token gets its colour
    as background, as in the terminal. Every frame has the same size, as video recorders
    need. When the text needs more lines than fit, the newest (last) lines are kept and
    the first line says how many earlier lines are not shown.

    Args:
        text: The text; newlines start new lines.
        width: Image width in pixels.
        height: Image height in pixels.
        font_size: Font size in pixels.

    Returns:
        ``uint8`` array of shape ``(height, width, 3)``.

    Raises:
        ValueError: If the size leaves no room for two lines of text, or the text holds an
            escape sequence that :func:`parse_ansi` rejects.
    """
    from PIL import Image, ImageDraw

    font = _font(font_size)
    ascent, descent = font.getmetrics()
    line_height = ascent + descent
    char_width = font.getlength("M")
    columns = int((width - 2 * MARGIN) // char_width)
    rows = int((height - 2 * MARGIN) // line_height)
    if columns < 1 or rows < 2:
        raise ValueError(f"a {width}x{height} image at font size {font_size} has no room for text")
    lines = _wrap(parse_ansi(text), columns)
    if len(lines) > rows:
        hidden = len(lines) - (rows - 1)
        notice = f"... {hidden} earlier line{'s' if hidden > 1 else ''} not shown"
        lines = [[(c, "notice") for c in notice[:columns]], *lines[hidden:]]
    image = Image.new("RGB", (width, height), BACKGROUND_RGB)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        y = MARGIN + row * line_height
        for col, (ch, rgb) in enumerate(line):
            x = MARGIN + col * char_width
            if isinstance(rgb, tuple):
                draw.rectangle((x, y, x + char_width, y + line_height), fill=rgb)
            draw.text((x, y), ch, font=font, fill=NOTICE_RGB if rgb == "notice" else TEXT_RGB)
    return np.asarray(image, dtype=np.uint8)
