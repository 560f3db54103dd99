"""Human-feedback records (ratings, pairwise preferences, rankings, edits) and their JSONL files.

One JSON object per line; the fields say which kind a record is (extra fields, e.g. an
annotator id, are allowed and ignored)::

    {"prompt": ..., "completion": ..., "rating": 7}                 # Rating (any finite number)
    {"prompt": ..., "chosen": ..., "rejected": ...}                  # Preference
    {"prompt": ..., "completions": [best, second, ..., worst]}       # Ranking (>= 2, distinct)
    {"prompt": ..., "original": ..., "edited": ...}                  # Edit (edited is preferred)

A malformed line is an error naming the file and line number; nothing is skipped silently
(blank lines are allowed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from textgym.data.loaders import iter_jsonl


@dataclass(frozen=True)
class Rating:
    """An absolute score of one completion (higher is better)."""

    prompt: str
    completion: str
    rating: float


@dataclass(frozen=True)
class Preference:
    """``chosen`` was preferred over ``rejected`` for the same prompt."""

    prompt: str
    chosen: str
    rejected: str


@dataclass(frozen=True)
class Ranking:
    """K completions of one prompt, best first."""

    prompt: str
    completions: tuple[str, ...]


@dataclass(frozen=True)
class Edit:
    """An annotator rewrote ``original`` into ``edited``, which is therefore preferred."""

    prompt: str
    original: str
    edited: str


Feedback = Rating | Preference | Ranking | Edit

#: Kind name -> (record class, required fields).
SCHEMAS: dict[str, tuple[type, tuple[str, ...]]] = {
    "rating": (Rating, ("prompt", "completion", "rating")),
    "preference": (Preference, ("prompt", "chosen", "rejected")),
    "ranking": (Ranking, ("prompt", "completions")),
    "edit": (Edit, ("prompt", "original", "edited")),
}
_MARKERS = {
    "rating": "rating",
    "chosen": "preference",
    "rejected": "preference",
    "completions": "ranking",
    "original": "edit",
    "edited": "edit",
}


def kind_of(record: Feedback) -> str:
    """``"rating"``, ``"preference"``, ``"ranking"`` or ``"edit"``."""
    for kind, (cls, _) in SCHEMAS.items():
        if isinstance(record, cls):
            return kind
    raise TypeError(f"not a feedback record: {type(record).__name__}")


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {key!r} must be a string, got {type(value).__name__}")
    return value


def feedback_from_dict(obj: Any, where: str = "record") -> Feedback:
    """Validate a JSON object and turn it into a record.

    Args:
        obj: The decoded JSON object.
        where: Where it came from (``"file.jsonl:12"``), for error messages.

    Raises:
        ValueError: On a missing field, a wrong type, a non-finite rating, a ranking with
            fewer than two or repeated completions, or an edit that changes nothing.
    """
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: a feedback record must be a JSON object, got {type(obj).__name__}")
    kinds = {_MARKERS[k] for k in obj if k in _MARKERS}
    if len(kinds) != 1:
        schemas = "; ".join(f"{k}: {list(f)}" for k, (_, f) in SCHEMAS.items())
        found = "fields of several kinds" if kinds else "no rating/chosen/completions/original field"
        raise ValueError(f"{where}: cannot tell the feedback kind ({found}); the schemas are {schemas}")
    kind = kinds.pop()
    cls, fields = SCHEMAS[kind]
    missing = [f for f in fields if f not in obj]
    if missing:
        raise ValueError(f"{where}: {kind} record is missing field(s) {missing}; it needs {list(fields)}")
    prompt = _text(obj, "prompt", where)
    if kind == "rating":
        value = obj["rating"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: 'rating' must be a finite number, got {value!r}")
        return Rating(prompt, _text(obj, "completion", where), float(value))
    if kind == "preference":
        return Preference(prompt, _text(obj, "chosen", where), _text(obj, "rejected", where))
    if kind == "edit":
        original, edited = _text(obj, "original", where), _text(obj, "edited", where)
        if original == edited:
            raise ValueError(f"{where}: the edit changes nothing ('edited' equals 'original')")
        return Edit(prompt, original, edited)
    completions = obj["completions"]
    if not isinstance(completions, list) or not all(isinstance(c, str) for c in completions):
        raise ValueError(f"{where}: 'completions' must be a list of strings, best first")
    if len(completions) < 2 or len(set(completions)) != len(completions):
        raise ValueError(f"{where}: a ranking needs at least two distinct completions, got {completions!r}")
    return Ranking(prompt, tuple(completions))


def feedback_to_dict(record: Feedback) -> dict[str, Any]:
    """The record as a JSON-ready dict (the schema above)."""
    out = asdict(record)
    if isinstance(record, Ranking):
        out["completions"] = list(record.completions)
    return out


def read_feedback(path: str | Path) -> list[Feedback]:
    """Read a JSONL feedback file (kinds may be mixed).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: On invalid JSON or an invalid record, naming the file and line; or if
            the file holds no records.
    """
    records = [feedback_from_dict(obj, where) for where, obj in iter_jsonl(path)]
    if not records:
        raise ValueError(f"{path}: no feedback records")
    return records


def write_feedback(path: str | Path, records: Iterable[Feedback]) -> int:
    """Write records as JSONL (creating parent folders); return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(feedback_to_dict(record)) + "\n")
            n += 1
    return n
