"""Loading (document, summary) pairs from JSONL files or Hugging Face datasets, by split.

JSONL: one JSON object per line, e.g. ``{"document": "...", "summary": "..."}``; blank
lines are skipped. Every problem (bad JSON, a missing or non-string field, an empty text)
raises a ``ValueError`` that names the file and the line.

A dataset spec names where each split's data lives:

* a directory holding ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl``;
* a path pattern containing ``{split}``, e.g. ``"data/news-{split}.jsonl"``;
* a mapping ``{"train": path, "validation": path, "test": path}``;
* ``"hf:NAME"`` or ``"hf:NAME:CONFIG"``: a Hugging Face dataset (needs the ``datasets``
  package and a reachable hub or a local cache).

A single file is refused: a split must never be evaluated on its own training data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from textgym.data.corpus import SPLIT_SEEDS

HF_PREFIX = "hf:"


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, Any]]:
    """The values of a JSONL file's non-blank lines, each with its ``"file:line"`` for messages.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: On a line that is not valid JSON, naming file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such JSONL file: {path}")
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: invalid JSON ({err.msg} at column {err.colno})") from err
            yield where, value


def load_jsonl_pairs(
    path: str | Path, document_field: str = "document", summary_field: str = "summary"
) -> list[tuple[str, str]]:
    """Read ``(document, summary)`` pairs from a JSONL file.

    Args:
        path: The file.
        document_field: Key of the document in each object.
        summary_field: Key of the reference summary.

    Returns:
        The pairs in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: On bad JSON, a record that is not an object, a missing, non-string or
            empty field, or a file without records; the message names file and line.
    """
    pairs: list[tuple[str, str]] = []
    for where, record in iter_jsonl(path):
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
        pairs.append((_text_field(record, document_field, where), _text_field(record, summary_field, where)))
    if not pairs:
        raise ValueError(f"{path}: no records (the file is empty)")
    return pairs


def _text_field(record: Mapping[str, Any], key: str, where: str) -> str:
    if key not in record:
        raise ValueError(f"{where}: missing field {key!r} (fields: {sorted(record)})")
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {key!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{where}: field {key!r} is empty")
    return value


def split_file(spec: str | Path | Mapping[str, str | Path], split: str) -> Path:
    """The JSONL file of ``split`` under a dataset spec (see the module docstring).

    Raises:
        ValueError: On an unknown split, a single-file spec, or a mapping without the split.
        FileNotFoundError: If the split's file does not exist.
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SEEDS)}")
    if isinstance(spec, Mapping):
        if split not in spec:
            raise ValueError(f"the dataset mapping has no {split!r} file; it has {sorted(spec)}")
        path = Path(spec[split])
    elif "{split}" in str(spec):
        path = Path(str(spec).format(split=split))
    elif Path(spec).is_dir():
        path = Path(spec) / f"{split}.jsonl"
    elif Path(spec).is_file():
        raise ValueError(
            f"dataset {str(spec)!r} is a single file, but splits need one file each: pass a directory "
            "with train.jsonl, validation.jsonl and test.jsonl, a pattern containing '{split}', "
            "or a mapping split -> file"
        )
    else:
        raise FileNotFoundError(f"dataset {str(spec)!r}: no such directory or file")
    if not path.is_file():
        raise FileNotFoundError(f"no {split!r} split: {path} does not exist")
    return path


def load_hf_pairs(
    name: str, split: str, document_field: str = "document", summary_field: str = "summary"
) -> list[tuple[str, str]]:
    """``(document, summary)`` pairs of a Hugging Face dataset split.

    Args:
        name: ``"NAME"`` or ``"NAME:CONFIG"`` (e.g. ``"cnn_dailymail:3.0.0"``).
        split: The split name passed to ``datasets.load_dataset``.
        document_field: Column of the documents (``"article"`` for CNN/DailyMail).
        summary_field: Column of the reference summaries (``"highlights"`` for CNN/DailyMail).

    Raises:
        ModuleNotFoundError: If ``datasets`` is not installed, saying how to install it.
        ValueError: If a column is missing, or a row's text is not a non-empty string.
    """
    try:
        import datasets  # lazily: an optional dependency, only needed for hub data
    except ImportError as err:
        raise ModuleNotFoundError(
            f"dataset 'hf:{name}' needs the Hugging Face 'datasets' package: pip install datasets"
        ) from err
    repo, _, config = name.partition(":")
    data = datasets.load_dataset(repo, config or None, split=split)
    for column in (document_field, summary_field):
        if column not in data.column_names:
            columns = data.column_names
            raise ValueError(f"hf:{name} split {split!r} has no column {column!r}; it has {columns}")
    pairs = []
    for i, (doc, summary) in enumerate(zip(data[document_field], data[summary_field], strict=True)):
        where = f"hf:{name} split {split!r} row {i}"
        record = {document_field: doc, summary_field: summary}
        pairs.append((_text_field(record, document_field, where), _text_field(record, summary_field, where)))
    if not pairs:
        raise ValueError(f"hf:{name} split {split!r} is empty")
    return pairs


def load_summarization_pairs(
    spec: str | Path | Mapping[str, str | Path],
    split: str,
    document_field: str = "document",
    summary_field: str = "summary",
) -> list[tuple[str, str]]:
    """``(document, summary)`` pairs of one split of a JSONL or Hugging Face dataset spec."""
    if isinstance(spec, str) and spec.startswith(HF_PREFIX):
        return load_hf_pairs(spec[len(HF_PREFIX) :], split, document_field, summary_field)
    return load_jsonl_pairs(split_file(spec, split), document_field, summary_field)
