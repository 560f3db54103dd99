r"""Seeing the agent: generated tokens coloured by a per-token value (reward, log-probability).

* :func:`colorize_tokens`: ANSI escape colours for a terminal (``render_mode="ansi"``).
* :func:`to_html`: the same as HTML ``<span>`` elements, for notebooks
  (``IPython.display.HTML(to_html(...))``).
* :func:`token_pieces`: a completion's token ids as text pieces that join back to the text.

Values map linearly from ``vmin`` (red) through the middle (pale yellow) to ``vmax``
(green), the end and middle colours of ColorBrewer's RdYlGn scale. A token whose value is
``None`` is shown uncoloured.

>>> colorize_tokens(["the", " cat"], [0.0, 1.0])
'\x1b[30;48;2;215;48;39mthe\x1b[0m \x1b[30;48;2;26;152;80mcat\x1b[0m'
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

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
    vals = _check(tokens, values)
    lo, hi = _range(vals, vmin, vmax)
    parts = []
    for tok, v in zip(tokens, vals, strict=True):
        space, body = _split_space(tok)
        if v is None or not body:
            parts.append(tok)
            continue
        r, g, b = value_to_rgb(v, lo, hi)
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
    lo, hi = _range(vals, vmin, vmax)
    parts = []
    for tok, v in zip(tokens, vals, strict=True):
        space, body = _split_space(tok)
        if v is None or not body:
            parts.append(html.escape(tok))
            continue
        r, g, b = value_to_rgb(v, lo, hi)
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
