"""The ``textgym`` command: train an agent on a textgym env, evaluate a saved agent.

textgym train CatText-v0 --algo ppo --model tiny --timesteps 20000
textgym train --resume runs/CatText-v0-ppo       # continue an interrupted run from its last checkpoint
textgym eval runs/CatText-v0-ppo --episodes 128 --split test

A run directory's files are listed in :mod:`agents.run_dir`; each is written atomically
(:mod:`agents.run_files`), so a killed run never leaves a fragment under a file's name.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from textgym.validation import check_float, check_int

ALGOS = ("ppo", "a2c", "reinforce", "grpo", "rloo")
GROUP_ALGOS = ("grpo", "rloo")
#: Defaults that differ by algorithm: group-relative ones learn from whole groups of
#: episodes, so they take more slots (8 prompts x 8 completions per rollout on the tiny model).
DEFAULTS = {
    "ppo": {"timesteps": 20_000, "n_envs": 16},
    "a2c": {"timesteps": 20_000, "n_envs": 16},
    "reinforce": {"timesteps": 20_000, "n_envs": 16},
    "grpo": {"timesteps": 24_576, "n_envs": 64, "group_size": 8},
    "rloo": {"timesteps": 24_576, "n_envs": 64, "group_size": 8},
}
#: Env steps between checkpoints: four PPO rollouts at the defaults (16 slots x 64 steps), so a
#: save (about 0.1 s for the tiny model) costs little next to the training it protects.
CHECKPOINT_EVERY = 4096
#: Defaults that are the same for every algorithm.
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
_INTERRUPT_NOTICE = "textgym: Ctrl-C: stopping at the next step to save a checkpoint (Ctrl-C again: stop at once)"


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (``textgym.validation.check_int``'s rule)."""

    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None

    return parse


def _rate(*, positive: bool = False, non_negative: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number, > 0 or >= 0 as asked (``textgym.validation.check_float``'s rule)."""
    bound = " > 0" if positive else " >= 0" if non_negative else ""

    def parse(text: str) -> float:
        try:
            return check_float("value", float(text), positive=positive, non_negative=non_negative)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a finite number{bound}, got {text!r}") from None

    return parse


def _flag(name: str) -> str:
    return "ENV" if name == "env" else "--" + name.replace("_", "-")


def _algo_class(name: str) -> Any:
    # agents' classes, not SB3's: they restore the KL penalty (settings, adaptive coefficient) on load.
    from agents import A2C, GRPO, PPO, REINFORCE

    return {"ppo": PPO, "a2c": A2C, "reinforce": REINFORCE, "grpo": GRPO, "rloo": GRPO}[name]


def _resolve_env(env: str) -> str:
    from agents.factory import resolve_env_id

    try:
        return resolve_env_id(env)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def _print_summary(title: str, result: dict[str, Any], n_samples: int) -> None:
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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from agents.run_files import write_json

    try:
        write_json(path, data)
    except ValueError as error:  # a NaN or infinity: JSON has none (issue 30)
        raise SystemExit(str(error)) from None


# ----- train: settings and the run directory -----
def _new_settings(args: argparse.Namespace) -> dict[str, Any]:
    """A new run's settings: the flags given, the defaults for the others."""
    if args.env is None:
        raise SystemExit("textgym train needs an ENV (e.g. CatText-v0), or --resume DIR to continue a run")
    settings = {name: getattr(args, name) for name in SETTING_NAMES}
    settings["env"] = _resolve_env(args.env)
    algo = settings["algo"] or COMMON_DEFAULTS["algo"]
    if algo not in GROUP_ALGOS and settings["group_size"] is not None:
        raise SystemExit(f"--group-size is for grpo and rloo, not {algo}")
    for name, value in {**COMMON_DEFAULTS, **DEFAULTS[algo]}.items():
        if settings[name] is None:
            settings[name] = value
    settings["json"] = _absolute(settings["json"])
    return settings


def _absolute(path: str | None) -> str | None:
    # The --json copy's path, absolute: a resume from another folder writes it to the same place.
    return None if path is None else str(Path(path).resolve())


def _start_run_dir(out: Path, overwrite: bool) -> None:
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


def _resume_settings(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
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
        given["env"] = _resolve_env(given["env"])
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
    return out, {name: saved[name] for name in SETTING_NAMES}


def _interrupted(out: Path, total: int) -> NoReturn:
    """Exit 130 (as a shell does for Ctrl-C) with one line naming the checkpoint to resume from."""
    from agents.checkpoints import checkpoint_steps, latest_checkpoint
    from agents.run_dir import CHECKPOINTS

    latest = latest_checkpoint(out / CHECKPOINTS)
    if latest is None:
        line = "textgym: interrupted before the first checkpoint; nothing to resume: start again with --overwrite"
    else:
        steps = checkpoint_steps(latest)
        line = (
            f"textgym: interrupted; checkpoint {latest} ({steps:,} of {total:,} steps); "
            f"resume with: textgym train --resume {out}"
        )
    print(line, file=sys.stderr)
    raise SystemExit(130)


# ----- train -----
def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train (or resume), print before/after tables, save agent, curve and metadata under the run directory."""
    if args.resume is None:
        settings = _new_settings(args)
        out = Path(args.out or f"runs/{settings['env'].split('/')[-1]}-{settings['algo']}")
    else:
        out, settings = _resume_settings(args)
    try:
        if args.resume is None:
            from agents import run_dir

            _start_run_dir(out, args.overwrite)
            _write_json(out / run_dir.SETTINGS, settings)
        return _train(
            settings, out, resume=args.resume is not None, samples=args.samples, progress=not args.no_progress
        )
    except KeyboardInterrupt:  # outside learn (build, evaluation, saving), or a second Ctrl-C
        _interrupted(out, settings["timesteps"])


def _build(settings: dict[str, Any], out: Path) -> Any:
    """A new model of the run's settings (algorithm, LM, env slots, seed)."""
    import agents

    make = {
        "ppo": agents.make_ppo,
        "a2c": agents.make_a2c,
        "reinforce": agents.make_reinforce,
        "grpo": agents.make_grpo,
        "rloo": agents.make_rloo,
    }[settings["algo"]]
    extra: dict[str, Any] = {}
    if settings["algo"] in GROUP_ALGOS:
        extra["group_size"] = settings["group_size"]
    if settings["lr"] is not None:
        extra["learning_rate"] = settings["lr"]
    if settings["kl_coef"] is not None:
        extra["kl_coef"] = settings["kl_coef"]
    return make(
        settings["env"],
        model=settings["model"],
        n_envs=settings["n_envs"],
        seed=settings["seed"],
        tensorboard_log=str(out / "tb"),
        verbose=0,
        **extra,
    )


def _load_checkpoint(settings: dict[str, Any], out: Path, fresh: Any) -> tuple[Any, dict[str, Any]]:
    """The run's last checkpoint, loaded onto ``fresh``'s envs, and its resume state; stale temporaries removed."""
    import zipfile

    from agents import run_dir
    from agents.checkpoints import latest_checkpoint, read_resume_state

    checkpoint = latest_checkpoint(out / run_dir.CHECKPOINTS)
    if checkpoint is None:
        raise SystemExit(
            f"{out / run_dir.CHECKPOINTS} holds no checkpoint: nothing to resume (start again with --overwrite)"
        )
    for stale in run_dir.temporary_files(out):  # fragments of the killed run's last writes
        stale.unlink()
    try:
        resume = read_resume_state(checkpoint)
        # SB3's load onto the envs of a model built as the run built its own (agents.make_*): the same
        # env wiring, without a second copy of it here. tensorboard_log: the folder may have moved.
        model = _algo_class(settings["algo"]).load(
            checkpoint, env=fresh.get_env(), device=fresh.device, tensorboard_log=str(out / "tb")
        )
    except (ValueError, RuntimeError, zipfile.BadZipFile) as error:  # RuntimeError: torch's, for a damaged file
        raise SystemExit(f"cannot resume from {checkpoint}: {type(error).__name__}: {error}") from None
    print(f"resuming {out} from {checkpoint} at {model.num_timesteps:,} of {settings['timesteps']:,} steps")
    return model, resume


def _train(settings: dict[str, Any], out: Path, *, resume: bool, samples: int, progress: bool) -> dict[str, Any]:
    import torch  # here, not at the top: `textgym --help` imports no torch

    import agents
    from agents import rng_state, run_dir
    from agents.checkpoints import ResumableCheckpoint
    from agents.interrupt import first_sigint_requests
    from agents.run_files import replacing, save_model
    from textgym.plotting import plot_learning_curves

    env_id, algo, total = settings["env"], settings["algo"], settings["timesteps"]
    model = _build(settings, out)
    eval_kwargs = dict(n_episodes=settings["eval_episodes"], seed=10_000, env_kwargs={"split": "validation"})
    curve = agents.RewardCurve()
    if not resume:
        before = agents.evaluate_policy_text(model, env_id, **eval_kwargs)
        _print_summary("before training (validation prompts)", before, samples)
        before = {k: before[k] for k in ("mean_reward", "components")}
        seconds_before, resumed_from = 0.0, []
    else:
        model, resumed = _load_checkpoint(settings, out, model)
        state = resumed["state"]
        before, seconds_before = state["before"], state["train_seconds"]
        curve.steps, curve.values = list(state["curve_steps"]), list(state["curve_values"])
        resumed_from = [*state["resumed_from"], model.num_timesteps]
        rng_state.restore(resumed["rng"])
        # The episodes in flight at the checkpoint restart: fresh ones, from a seed of their own.
        model.get_env().seed(settings["seed"] + model.num_timesteps)

    t0 = time.time()

    def resume_state() -> dict[str, Any]:
        return {
            "before": before,
            "curve_steps": curve.steps,
            "curve_values": curve.values,
            "train_seconds": seconds_before + time.time() - t0,
            "resumed_from": resumed_from,
        }

    checkpoints = ResumableCheckpoint(
        out / run_dir.CHECKPOINTS,
        every=settings["checkpoint_every"],
        keep=settings["keep_checkpoints"],
        state=resume_state,
    )
    remaining = total - model.num_timesteps
    if remaining > 0:
        with first_sigint_requests(checkpoints.request_stop, _INTERRUPT_NOTICE):
            model.learn(
                total_timesteps=remaining,
                callback=[curve, checkpoints],
                progress_bar=progress,
                reset_num_timesteps=not resume,
            )
    if checkpoints.stop_requested:
        _interrupted(out, total)
    seconds = seconds_before + time.time() - t0
    after = agents.evaluate_policy_text(model, env_id, **eval_kwargs)
    _print_summary("after training (validation prompts)", after, samples)

    save_model(model, out / run_dir.MODEL)
    if curve.steps:  # no point before the first finished episode
        with replacing(out / run_dir.CURVE, out / run_dir.CURVE_NUMBERS) as (png, _numbers):
            # plot_learning_curves writes the numbers beside the PNG: _numbers is that name
            plot_learning_curves(
                {algo.upper(): curve.curve},
                png,
                title=f"{algo.upper()} on {env_id} ({settings['model']})",
                xlabel="environment steps (tokens)",
                ylabel="mean episode reward (last 100 episodes)",
            )
    meta = {
        "env_id": env_id,
        "algo": algo,
        "model": settings["model"],
        "timesteps": total,
        # SB3 learns from whole rollouts: the first rollout boundary at or past "timesteps"
        "trained_steps": model.num_timesteps,
        "n_envs": settings["n_envs"],
        "group_size": settings["group_size"],
        "seed": settings["seed"],
        "learning_rate": float(model.learning_rate) if not callable(model.learning_rate) else None,
        "kl_coef": settings["kl_coef"],
        "eval_episodes": settings["eval_episodes"],
        "train_seconds": seconds,
        "resumed_from": resumed_from,
        "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "before": before,
        "after": {k: after[k] for k in ("mean_reward", "components")},
    }
    _write_json(out / run_dir.SUMMARY, meta)  # last: a run with textgym.json is finished
    if settings["json"]:  # a copy where the docs' tables are rendered from (benchmarks/tables.py)
        Path(settings["json"]).parent.mkdir(parents=True, exist_ok=True)
        _write_json(Path(settings["json"]), meta)
    curve_file = out / run_dir.CURVE if curve.steps else "no learning curve (no episode finished)"
    print(
        f"trained {model.num_timesteps} steps in {seconds:.0f}s; saved {out / run_dir.MODEL}, "
        f"{curve_file}, TensorBoard logs in {out / 'tb'}"
    )
    return meta


# ----- eval -----
def _space_text(space: Any) -> str:
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return "{" + ", ".join(f"{k}: {v.shape}" for k, v in space.spaces.items()) + "}"
    return str(space)


def _check_spaces(model: Any, zip_path: Path, env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Exit with one line if ``env_id``'s observations or actions are not the ones the model was trained on."""
    import gymnasium as gym
    from stable_baselines3.common.utils import check_for_correct_spaces

    try:
        env = gym.make(env_id, **env_kwargs)
    except TypeError as error:  # e.g. an env without splits
        raise SystemExit(f"cannot make {env_id} with {env_kwargs}: {error}") from None
    try:
        check_for_correct_spaces(env, model.observation_space, model.action_space)
    except ValueError:
        raise SystemExit(
            f"{zip_path} was trained on observations {_space_text(model.observation_space)} and actions "
            f"{model.action_space}; {env_id} has observations {_space_text(env.observation_space)} and actions "
            f"{env.action_space}"
        ) from None
    finally:
        env.close()


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Load a saved agent and report mean reward and each reward component."""
    import zipfile

    import agents
    from agents import run_dir

    path = Path(args.path)
    if not path.exists():
        raise SystemExit(f"{path} not found: pass a directory written by 'textgym train' (or its model.zip)")
    folder = path if path.is_dir() else path.parent
    meta_file = folder / run_dir.SUMMARY
    try:
        meta = run_dir.read_run_json(meta_file)
    except FileNotFoundError:
        unfinished = " (the run has not finished: continue it with textgym train --resume DIR)"
        hint = unfinished if (folder / run_dir.SETTINGS).is_file() else ""
        raise SystemExit(f"{meta_file} not found: pass a directory written by 'textgym train'{hint}") from None
    except ValueError as error:
        raise SystemExit(str(error)) from None
    if meta.get("algo") not in ALGOS:
        raise SystemExit(f"{meta_file} names algorithm {meta.get('algo')!r}; textgym knows {', '.join(ALGOS)}")
    if args.env is None and not isinstance(meta.get("env_id"), str):
        raise SystemExit(f"{meta_file} names no env_id; pass --env")
    env_id = _resolve_env(args.env or meta["env_id"])
    zip_path = path if path.is_file() else folder / run_dir.MODEL
    if not zip_path.is_file():
        raise SystemExit(f"{zip_path} not found: the run in {folder} saved no model")
    try:
        model = _algo_class(meta["algo"]).load(zip_path, device="cpu")
    except (zipfile.BadZipFile, ValueError, KeyError, RuntimeError) as error:  # RuntimeError: torch's, damaged file
        raise SystemExit(
            f"{zip_path} does not load as a {meta['algo']} model ({type(error).__name__}: {error})"
        ) from None
    env_kwargs = {"split": args.split}
    _check_spaces(model, zip_path, env_id, env_kwargs)
    result = agents.evaluate_policy_text(model, env_id, n_episodes=args.episodes, seed=args.seed, env_kwargs=env_kwargs)
    _print_summary(f"{meta['algo'].upper()} on {env_id} ({args.split} split)", result, args.samples)
    if args.json:  # the summary a docs table is rendered from (benchmarks/tables.py)
        summary = {"env_id": env_id, "algo": meta["algo"], "split": args.split, "episodes": args.episodes}
        summary.update({k: result[k] for k in ("mean_reward", "components")})
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        _write_json(Path(args.json), summary)
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``textgym`` console command."""
    parser = argparse.ArgumentParser(prog="textgym", description="Train and evaluate LM agents on textgym envs.")
    sub = parser.add_subparsers(dest="command", required=True)
    count, count0 = _count(1), _count(0)
    p = sub.add_parser(
        "train",
        help="train an agent",
        description=(
            "Train an agent. The run directory (--out) gets settings.json at the start, checkpoints/ every "
            "--checkpoint-every env steps, and model.zip, learning_curve.png/.json and textgym.json at the end; "
            "each file is written to a temporary file and renamed into place, so a killed run leaves no "
            "fragment. Ctrl-C saves a checkpoint and exits with status 130; --resume DIR continues from it."
        ),
    )
    p.add_argument("env", nargs="?", default=None, help="environment id, e.g. CatText-v0 or textgym/CatText-v0")
    p.add_argument("--algo", choices=ALGOS, default=None, help="algorithm (default ppo)")
    p.add_argument("--model", default=None, help="'tiny' (default), 'smollm2-135m', a path or a hub id")
    p.add_argument(
        "--timesteps", type=count, default=None, help="env steps (tokens); default 20,000 (grpo/rloo: 24,576)"
    )
    p.add_argument("--n-envs", type=count, default=None, help="env slots; default 16 (grpo/rloo: 64)")
    p.add_argument("--seed", type=count0, default=None, help="random seed (default 0)")
    p.add_argument("--lr", type=_rate(positive=True), default=None, help="learning rate (default: the algorithm's)")
    p.add_argument("--kl-coef", type=_rate(non_negative=True), default=None, help="KL-to-reference penalty per token")
    p.add_argument("--group-size", type=count, default=None, help="grpo/rloo: completions per prompt (default 8)")
    p.add_argument("--eval-episodes", type=count, default=None, help="validation episodes before/after (default 256)")
    p.add_argument("--samples", type=count0, default=8, help="completions shown before/after")
    p.add_argument("--out", default=None, help="run directory (default runs/ENV-ALGO)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", default=None, help="also write the run's summary (textgym.json) to this path")
    p.add_argument(
        "--checkpoint-every",
        type=count0,
        default=None,
        metavar="N",
        help=f"save a checkpoint under OUT/checkpoints at the first rollout boundary after every N env steps "
        f"(default {CHECKPOINT_EVERY:,}: four PPO rollouts at the defaults) and at the end of training; "
        "0: none but Ctrl-C's",
    )
    p.add_argument("--keep-checkpoints", type=count, default=None, metavar="K", help="keep the newest K (default 1)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a previous run in --out: remove its settings, model, summary, curve, checkpoints and "
        "TensorBoard events (other files stay); without it such a folder is refused",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the run in DIR from its last checkpoint with its settings (DIR/settings.json) to its "
        "--timesteps; other settings given must equal the run's",
    )
    e = sub.add_parser("eval", help="evaluate a saved agent")
    e.add_argument("path", help="run directory (or its model.zip)")
    e.add_argument("--episodes", type=count, default=128)
    e.add_argument("--split", default="test", choices=("train", "validation", "test"))
    e.add_argument("--env", default=None, help="evaluate on another env id (same observation and action spaces)")
    e.add_argument("--seed", type=count0, default=0)
    e.add_argument("--samples", type=count0, default=8)
    e.add_argument("--json", default=None, help="also write the mean reward and components to this path")
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
