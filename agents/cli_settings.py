"""``textgym train``'s settings: a new run's (flags and defaults) or a resumed run's, and its run directory.

The defaults that differ by algorithm are its :class:`agents.registry.AlgorithmSpec`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.cli_shared import join_names, resolve_env
from agents.registry import ALGORITHMS, get_algorithm, grouped_names

#: Env steps between checkpoints: four PPO rollouts at the defaults (16 slots x 64 steps), so a
#: save (about 0.1 s for the tiny model) costs little next to the training it protects.
CHECKPOINT_EVERY = 4096
#: Defaults that are the same for every algorithm (the others: :func:`algorithm_defaults`).
COMMON_DEFAULTS = {
    "algo": "ppo",
    "model": "tiny",
    "seed": 0,
    "eval_episodes": 256,
    "checkpoint_every": CHECKPOINT_EVERY,
    "keep_checkpoints": 1,
}
#: The settings a run records at its start (DIR/settings.json) and ``--resume`` reuses, by argparse name.
SETTING_NAMES = (
    "env",
    "algo",
    "model",
    "timesteps",
    "n_envs",
    "group_size",
    "seed",
    "lr",
    "kl_coef",
    "eval_episodes",
    "checkpoint_every",
    "keep_checkpoints",
    "json",
)


def algorithm_defaults(algo: str) -> dict[str, Any]:
    """The defaults of ``algo``'s registry record, by setting name (``group_size`` only for a group algorithm)."""
    spec = get_algorithm(algo)
    defaults: dict[str, Any] = {"timesteps": spec.timesteps, "n_envs": spec.n_envs}
    if spec.grouped:
        defaults["group_size"] = spec.group_size
    return defaults


def _flag(name: str) -> str:
    return "ENV" if name == "env" else "--" + name.replace("_", "-")


def new_settings(args: argparse.Namespace) -> dict[str, Any]:
    """A new run's settings: the flags given, the defaults for the others."""
    if args.env is None:
        raise SystemExit("textgym train needs an ENV (e.g. CatText-v0), or --resume DIR to continue a run")
    settings = {name: getattr(args, name) for name in SETTING_NAMES}
    settings["env"] = resolve_env(args.env)
    algo = settings["algo"] or COMMON_DEFAULTS["algo"]
    if not get_algorithm(algo).grouped and settings["group_size"] is not None:
        raise SystemExit(f"--group-size is for {join_names(grouped_names())}, not {algo}")
    for name, value in {**COMMON_DEFAULTS, **algorithm_defaults(algo)}.items():
        if settings[name] is None:
            settings[name] = value
    settings["json"] = _absolute(settings["json"])
    return settings


def _absolute(path: str | None) -> str | None:
    # The --json copy's path, absolute: a resume from another folder writes it to the same place.
    return None if path is None else str(Path(path).resolve())


def start_run_dir(out: Path, overwrite: bool) -> None:
    """Refuse a folder that holds a previous run, unless ``overwrite``: then remove that run's files."""
    from agents import run_dir

    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out {out} is a file, not a directory")
    previous = run_dir.previous_run_files(out)
    if previous and not overwrite:
        names = ", ".join(str(p.relative_to(out)) for p in previous[:5])
        more = f" and {len(previous) - 5} more" if len(previous) > 5 else ""
        raise SystemExit(
            f"{out} holds a previous run ({names}{more}); pass --overwrite to replace it, "
            f"--resume {out} to continue it, or another --out"
        )
    if previous:
        run_dir.remove_run_files(out)
        print(f"--overwrite: removed the previous run's {len(previous)} files from {out}")
    out.mkdir(parents=True, exist_ok=True)


def resume_settings(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The run directory and settings of ``--resume DIR``; flags given too must agree with them."""
    from agents import run_dir

    out = Path(args.resume)
    if args.overwrite:
        raise SystemExit("--resume continues a run and --overwrite deletes it: pass one of them")
    if args.out is not None and Path(args.out).resolve() != out.resolve():
        raise SystemExit(f"--resume {out} continues the run in {out}; --out {args.out} names another folder")
    settings_file = out / run_dir.SETTINGS
    try:
        saved = run_dir.read_run_json(settings_file)
    except FileNotFoundError:
        raise SystemExit(f"{settings_file} not found: {out} is not a run started by 'textgym train'") from None
    except ValueError as error:
        raise SystemExit(str(error)) from None
    missing = [name for name in SETTING_NAMES if name not in saved]
    if missing:
        raise SystemExit(f"{settings_file} lacks {', '.join(missing)}: it was not written by this textgym")
    given = {name: getattr(args, name) for name in SETTING_NAMES if getattr(args, name) is not None}
    if "env" in given:
        given["env"] = resolve_env(given["env"])
    if "json" in given:
        given["json"] = _absolute(given["json"])
    conflicts = [f"{_flag(k)} {given[k]} (the run's: {saved[k]})" for k in given if given[k] != saved[k]]
    if conflicts:
        raise SystemExit(
            f"--resume {out}: {'; '.join(conflicts)} differ from the run's settings in {settings_file}; "
            "leave them out to resume with the run's settings"
        )
    if (out / run_dir.SUMMARY).is_file():
        raise SystemExit(f"{out} holds a finished run ({run_dir.SUMMARY}): nothing to resume")
    if saved["algo"] not in ALGORITHMS:
        raise SystemExit(f"{settings_file} names algorithm {saved['algo']!r}; textgym knows {', '.join(ALGORITHMS)}")
    return out, {name: saved[name] for name in SETTING_NAMES}
