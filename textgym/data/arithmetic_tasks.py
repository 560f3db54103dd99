"""The data of Arithmetic-v0: every small arithmetic problem of a range, split three ways.

A problem is ``a OP b`` with both operands in ``[low, high]`` and ``OP`` one of ``"+"``,
``"-"``, ``"*"``; subtraction keeps ``a >= b``, so every answer is a whole number >= 0. The
problems are grouped into *classes*: ``a + b`` and ``b + a`` (and ``a * b`` and ``b * a``) are
one class, every other problem is its own. The classes are shuffled with a fixed seed and
dealt to the test, validation and train splits in turn until each split holds its share of
the problems (:data:`SPLIT_FRACTIONS`), so the splits are disjoint and a problem's
commutative twin is always in the same split as the problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: The operations, and what each computes.
OPERATIONS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
#: The share of the problems in each split (the rest is train). Test is large so that a
#: small range still has a few hundred test items.
SPLIT_FRACTIONS = {"test": 0.3, "validation": 0.1}
#: The seed of the shuffle that deals the problems to the splits; away from the other data's
#: seeds (the corpus 0-1, story openings 1000+, reports 2000+, shop 3000+, classify 4000+).
ARITHMETIC_SEED = 5000


@dataclass(frozen=True)
class Problem:
    """One arithmetic problem ``a op b``.

    Attributes:
        a: The first operand.
        op: ``"+"``, ``"-"`` or ``"*"``.
        b: The second operand.
    """

    a: int
    op: str
    b: int

    @property
    def answer(self) -> int:
        """The exact result."""
        return OPERATIONS[self.op](self.a, self.b)


def _class_key(p: Problem) -> tuple[str, int, int]:
    if p.op in ("+", "*"):  # commutative: a problem and its twin share a class
        return (p.op, min(p.a, p.b), max(p.a, p.b))
    return (p.op, p.a, p.b)


@lru_cache(maxsize=16)
def _splits(operations: tuple[str, ...], low: int, high: int) -> dict[str, tuple[Problem, ...]]:
    problems = [
        Problem(a, op, b)
        for op in operations
        for a in range(low, high + 1)
        for b in range(low, high + 1)
        if op != "-" or a >= b
    ]
    classes: dict[tuple[str, int, int], list[Problem]] = {}
    for p in problems:
        classes.setdefault(_class_key(p), []).append(p)
    keys = sorted(classes)
    order = np.random.default_rng(ARITHMETIC_SEED).permutation(len(keys))
    targets = {split: round(fraction * len(problems)) for split, fraction in SPLIT_FRACTIONS.items()}
    out: dict[str, list[Problem]] = {"test": [], "validation": [], "train": []}
    for i in order:
        split = next((s for s in ("test", "validation") if len(out[s]) < targets[s]), "train")
        out[split].extend(classes[keys[int(i)]])
    return {split: tuple(ps) for split, ps in out.items()}


def arithmetic_problems(split: str, operations: Sequence[str], low: int, high: int) -> list[Problem]:
    """The problems of one split, in a fixed shuffled order (class by class).

    >>> [f"{p.a} {p.op} {p.b} = {p.answer}" for p in arithmetic_problems("test", ["+"], 0, 2)]
    ['0 + 1 = 1', '1 + 0 = 1', '2 + 2 = 4']

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"``.
        operations: Which of ``"+"``, ``"-"``, ``"*"`` (at least one, no repeats).
        low: The smallest operand (>= 0).
        high: The largest operand (>= ``low``).

    Raises:
        ValueError: If an argument is out of range, or the range has too few problems for
            every split to get one.
    """
    if split not in ("train", "validation", "test"):
        raise ValueError(f"unknown split {split!r}; choose 'train', 'validation' or 'test'")
    ops = tuple(operations)
    unknown = [op for op in ops if op not in OPERATIONS]
    if not ops or unknown or len(set(ops)) != len(ops):
        raise ValueError(f"operations must be distinct ones of {sorted(OPERATIONS)}, got {list(operations)}")
    if not 0 <= low <= high:
        raise ValueError(f"the operand range must have 0 <= low <= high, got low={low}, high={high}")
    splits = _splits(ops, low, high)
    empty = [s for s, ps in splits.items() if not ps]
    if empty:
        raise ValueError(
            f"operands {low}-{high} with {list(ops)} give too few problems for the splits {empty}; widen the range"
        )
    return list(splits[split])
