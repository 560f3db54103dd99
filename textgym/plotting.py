r"""Learning curves from training logs (SB3 ``Monitor`` CSV files, TensorBoard scalars) and figures, as PNG.

:func:`plot_panels` draws side-by-side panels of curves, baselines and bars (the examples'
figures, the ``textgym train`` curve) and writes the plotted numbers beside the PNG as JSON,
so a run's figure can be checked, or redrawn, from data.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "0.monitor.csv").write_text('#{"t_start": 0}\nr,l,t\n0.5,5,0.1\n1.5,4,0.2\n')
>>> curve = load_curve(folder)
>>> curve.steps.tolist(), curve.values.tolist()
([5.0, 9.0], [0.5, 1.5])
>>> plot_learning_curves({"PPO": curve}, folder / "curve.png").name
'curve.png'
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: SB3's default TensorBoard tag for the mean episode return.
DEFAULT_TAG = "rollout/ep_rew_mean"


@dataclass
class Curve:
    """A learning curve: ``values[i]`` measured after ``steps[i]`` environment steps.

    Attributes:
        steps: Shape (n,), increasing.
        values: Shape (n,).
    """

    steps: np.ndarray
    values: np.ndarray

    @classmethod
    def from_points(cls, steps: Sequence[float], values: Sequence[float]) -> Curve:
        """A curve from two equally long sequences.

        >>> Curve.from_points([64, 128], [0.5, 0.75]).values.tolist()
        [0.5, 0.75]
        """
        if len(steps) != len(values):
            raise ValueError(f"a curve needs as many steps as values, got {len(steps)} and {len(values)}")
        return cls(steps=np.asarray(steps, dtype=np.float64), values=np.asarray(values, dtype=np.float64))


def load_monitor(path: str | Path) -> Curve:
    """Episode returns from SB3 ``Monitor`` files (``*monitor.csv``).

    A folder's files (one per env of ``make_vec_env(..., monitor_dir=...)``) are merged in
    order of episode end time, as SB3's ``load_results`` does (which needs pandas, not a
    textgym dependency); ``steps`` is the running total of episode lengths.

    Args:
        path: A ``*monitor.csv`` file or a folder holding them.

    Returns:
        One point per episode: (steps so far, episode return ``r``).

    Raises:
        FileNotFoundError: If there is no monitor file.
        ValueError: If a file is not in the Monitor format.
    """
    path = Path(path)
    files = sorted(path.glob("*monitor.csv")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise FileNotFoundError(f"no *monitor.csv file at {path}")
    rows: list[tuple[float, float, float]] = []  # (t, l, r)
    for file in files:
        with file.open(newline="") as f:
            first = f.readline()
            if not first.startswith("#"):
                raise ValueError(f"{file} is not an SB3 Monitor file: its first line is not a '#{{json}}' header")
            t_start = float(json.loads(first[1:]).get("t_start", 0.0))
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"r", "l", "t"} <= set(reader.fieldnames):
                raise ValueError(f"{file} lacks the Monitor columns r, l, t (has {reader.fieldnames})")
            rows.extend((t_start + float(row["t"]), float(row["l"]), float(row["r"])) for row in reader)
    rows.sort(key=lambda row: row[0])
    lengths = np.array([row[1] for row in rows], dtype=np.float64)
    returns = np.array([row[2] for row in rows], dtype=np.float64)
    return Curve(steps=np.cumsum(lengths), values=returns)


def load_tensorboard(path: str | Path, tag: str = DEFAULT_TAG) -> Curve:
    """A scalar from TensorBoard event files (SB3's ``tensorboard_log``), read with tensorboard.

    Args:
        path: An event file, a folder holding one run's event files, or a folder holding
            exactly one such run folder (SB3's ``tensorboard_log`` puts each run in
            ``PPO_1``, ``PPO_2``, ...).
        tag: The scalar's tag, e.g. ``"rollout/ep_rew_mean"``.

    Returns:
        (step, value) for each logged point, sorted by step.

    Raises:
        FileNotFoundError: If there are no event files.
        ValueError: If ``path`` holds several runs (the message lists them).
        KeyError: If the tag is not in the log (the message lists the tags that are).
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = Path(path)
    pattern = "events.out.tfevents.*"
    if path.is_dir() and not any(path.glob(pattern)):
        runs = sorted({p.parent for p in path.rglob(pattern)})
        if len(runs) > 1:
            raise ValueError(f"{path} holds several TensorBoard runs; pass one of {[str(r) for r in runs]}")
        path = runs[0] if runs else path
    if not path.exists() or (path.is_dir() and not any(path.glob(pattern))):
        raise FileNotFoundError(f"no TensorBoard event file at {path}")
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0}).Reload()  # 0 = keep every point
    tags = acc.Tags().get("scalars", [])
    if tag not in tags:
        raise KeyError(f"tag {tag!r} is not in {path}; it has {sorted(tags)}")
    events = sorted(acc.Scalars(tag), key=lambda e: e.step)
    return Curve(
        steps=np.array([e.step for e in events], dtype=np.float64),
        values=np.array([e.value for e in events], dtype=np.float64),
    )


def load_curve(path: str | Path, tag: str = DEFAULT_TAG) -> Curve:
    """Load a Monitor file/folder or, if there is none, a TensorBoard log (``tag``, see load_tensorboard)."""
    path = Path(path)
    if (path.is_dir() and any(path.glob("*monitor.csv"))) or path.name.endswith("monitor.csv"):
        return load_monitor(path)
    return load_tensorboard(path, tag)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what there is so far).

    >>> smooth(np.array([0.0, 2.0, 4.0, 6.0]), 2).tolist()
    [0.0, 1.0, 3.0, 5.0]
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    sums = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (sums[idx] - sums[lo]) / (idx - lo)


Bars = Mapping[str, float] | Mapping[str, Mapping[str, float]]


@dataclass
class Panel:
    """One panel (axes) of a figure: learning curves, dashed baselines and/or a bar chart.

    Attributes:
        curves: Label -> a :class:`Curve` or a log path for :func:`load_curve`.
        baselines: Label -> a constant drawn as a dashed horizontal line (e.g. a random policy).
        bars: Label -> height (one bar each), or series label -> {category: height} (grouped
            bars, every series over the same categories).
        title: Panel title.
        xlabel: X axis label (curves only; bars are labelled by their categories).
        ylabel: Y axis label.
        ylim: Y axis limits, or None for matplotlib's.
        window: Moving-average window applied to each curve (1 = raw).
    """

    curves: Mapping[str, Curve | str | Path] = field(default_factory=dict)
    baselines: Mapping[str, float] = field(default_factory=dict)
    bars: Bars = field(default_factory=dict)
    title: str = ""
    xlabel: str = "environment steps"
    ylabel: str = "episode return"
    ylim: tuple[float, float] | None = None
    window: int = 1


def _grouped(bars: Bars) -> dict[str, dict[str, float]]:
    """Bars as series -> {category: height}; single bars become one unnamed series."""
    if all(isinstance(v, Mapping) for v in bars.values()):
        grouped = {series: {k: float(v) for k, v in row.items()} for series, row in bars.items()}  # type: ignore[union-attr]
        categories = [list(row) for row in grouped.values()]
        if any(c != categories[0] for c in categories):
            raise ValueError(f"grouped bars need the same categories in every series, got {categories}")
        return grouped
    if any(isinstance(v, Mapping) for v in bars.values()):
        raise ValueError("bars must be all numbers (one bar each) or all mappings (grouped), not a mix")
    return {"": {k: float(v) for k, v in bars.items()}}  # type: ignore[arg-type]


def plot_panels(panels: Sequence[Panel], out: str | Path, *, title: str = "") -> Path:
    """Draw panels side by side into a PNG, and the plotted numbers into JSON beside it.

    The JSON (``out`` with suffix ``.json``) holds, per panel, its labels, each curve's raw
    ``steps`` and ``values`` (before smoothing), the baselines and the bars (grouped form).

    Args:
        panels: One :class:`Panel` per axes, left to right.
        out: The PNG path; its folder is created.
        title: Figure title.

    Returns:
        The PNG path.

    Raises:
        ValueError: If there is no panel, a panel is empty, or a curve has no points.
    """
    from matplotlib.figure import Figure  # the OO API needs no GUI backend

    if not panels:
        raise ValueError("plot_panels needs at least one panel")
    fig = Figure(figsize=(6, 4) if len(panels) == 1 else (5 * len(panels), 4), dpi=100)
    record: dict = {"title": title, "panels": []}
    for k, panel in enumerate(panels):
        if not (panel.curves or panel.bars or panel.baselines):
            raise ValueError(f"panel {k} ({panel.title!r}) has no curves, bars or baselines")
        ax = fig.add_subplot(1, len(panels), k + 1)
        curves = {}
        for label, curve in panel.curves.items():
            c = curve if isinstance(curve, Curve) else load_curve(curve)
            if len(c.steps) == 0:
                raise ValueError(f"curve {label!r} has no points")
            ax.plot(c.steps, smooth(c.values, panel.window), label=label, marker="." if len(c.steps) < 50 else None)
            curves[label] = {"steps": c.steps.tolist(), "values": c.values.tolist()}
        for label, value in panel.baselines.items():
            ax.axhline(value, linestyle="--", color="grey", label=label)
        grouped = _grouped(panel.bars) if panel.bars else {}
        if grouped:
            categories = list(next(iter(grouped.values())))
            x = np.arange(len(categories))
            width = 0.8 / len(grouped)
            for j, (series, row) in enumerate(grouped.items()):
                offset = (j - (len(grouped) - 1) / 2) * width
                colors = None if series else ["grey", *[f"C{i}" for i in range(len(row) - 1)]]
                ax.bar(x + offset, list(row.values()), width, label=series or None, color=colors)
            ax.set_xticks(x, categories)
        else:
            ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        if panel.title:
            ax.set_title(panel.title)
        if ax.get_legend_handles_labels()[1]:
            ax.legend()
        ax.grid(alpha=0.3)
        record["panels"].append(
            {
                "title": panel.title,
                "xlabel": panel.xlabel,
                "ylabel": panel.ylabel,
                "curves": curves,
                "baselines": {k: float(v) for k, v in panel.baselines.items()},
                "bars": grouped,
            }
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return out


def plot_learning_curves(
    curves: Mapping[str, Curve | str | Path],
    out: str | Path,
    *,
    window: int = 1,
    baselines: Mapping[str, float] | None = None,
    title: str = "",
    xlabel: str = "environment steps",
    ylabel: str = "episode return",
) -> Path:
    """Plot one or more learning curves into a PNG, and their numbers into JSON beside it (see plot_panels).

    Args:
        curves: Label -> a :class:`Curve` or a log path for :func:`load_curve`.
        out: The PNG path; its folder is created.
        window: Moving-average window applied to each curve (1 = raw).
        baselines: Label -> a constant drawn as a dashed line (e.g. a random policy).
        title: Figure title.
        xlabel: X axis label.
        ylabel: Y axis label.

    Returns:
        The PNG path.

    Raises:
        ValueError: If ``curves`` is empty or a curve has no points.
    """
    if not curves:
        raise ValueError("plot_learning_curves needs at least one curve")
    panel = Panel(curves=curves, baselines=baselines or {}, xlabel=xlabel, ylabel=ylabel, window=window)
    return plot_panels([panel], out, title=title)
