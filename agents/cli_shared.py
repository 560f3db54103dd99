"""What ``textgym train`` and ``textgym eval`` share: argument types, env ids, the summary table, JSON files.

Nothing here imports torch at module level: ``textgym --help`` parses with these types.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textgym.validation import check_float, check_int


def count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (``textgym.validation.check_int``'s rule)."""

    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None

    return parse


def rate(*, positive: bool = False, non_negative: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number, > 0 or >= 0 as asked (``textgym.validation.check_float``'s rule)."""
    bound = " > 0" if positive else " >= 0" if non_negative else ""

    def parse(text: str) -> float:
        try:
            return check_float("value", float(text), positive=positive, non_negative=non_negative)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a finite number{bound}, got {text!r}") from None

    return parse


def join_names(names: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``: algorithm names in a message."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def resolve_env(env: str) -> str:
    """``env`` as a registered id (``CatText-v0`` -> ``textgym/CatText-v0``), or exit with one line."""
    from agents.factory import resolve_env_id

    try:
        return resolve_env_id(env)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def print_summary(title: str, result: dict[str, Any], n_samples: int) -> None:
    """Print ``n_samples`` of an evaluation's episodes as a table, then its mean reward and components."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("prompt", overflow="fold")
    table.add_column("completion", overflow="fold")
    table.add_column("reward", justify="right")
    for ep in result["episodes"][:n_samples]:
        table.add_row(ep["prompt"], ep["completion"], f"{ep['reward']:.2f}")
    console = Console()
    console.print(table)
    parts = [f"mean reward {result['mean_reward']:.3f} ± {result['std_reward']:.3f}"]
    parts += [f"{k} {v:.3f}" for k, v in result["components"].items()]
    console.print(f"[bold]{title}[/bold] over {len(result['episodes'])} episodes: " + ", ".join(parts))


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (:func:`agents.run_files.write_json`), or exit with one line for a NaN."""
    from agents.run_files import write_json as write_atomically

    try:
        write_atomically(path, data)
    except ValueError as error:  # a NaN or infinity: JSON has none
        raise SystemExit(str(error)) from None
