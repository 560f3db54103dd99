"""``textgym train``: build the run's algorithm from the registry, train (or resume), save and evaluate.

A run directory's files are listed in :mod:`agents.run_dir`; each is written atomically
(:mod:`agents.run_files`), so a killed run never leaves a fragment under a file's name.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from agents.cli_settings import new_settings, resume_settings, start_run_dir
from agents.cli_shared import print_summary, write_json
from agents.registry import get_algorithm

_INTERRUPT_NOTICE = "textgym: Ctrl-C: stopping at the next step to save a checkpoint (Ctrl-C again: stop at once)"


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


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train (or resume), print before/after tables, save agent, curve and metadata under the run directory."""
    if args.resume is None:
        settings = new_settings(args)
        out = Path(args.out or f"runs/{settings['env'].split('/')[-1]}-{settings['algo']}")
    else:
        out, settings = resume_settings(args)
    try:
        if args.resume is None:
            from agents import run_dir

            start_run_dir(out, args.overwrite)
            write_json(out / run_dir.SETTINGS, settings)
        return _train(
            settings, out, resume=args.resume is not None, samples=args.samples, progress=not args.no_progress
        )
    except KeyboardInterrupt:  # outside learn (build, evaluation, saving), or a second Ctrl-C
        _interrupted(out, settings["timesteps"])


def _build(settings: dict[str, Any], out: Path) -> Any:
    """A new model of the run's settings (algorithm, LM, env slots, seed)."""
    spec = get_algorithm(settings["algo"])
    extra: dict[str, Any] = {}
    if spec.grouped:
        extra["group_size"] = settings["group_size"]
    if settings["lr"] is not None:
        extra["learning_rate"] = settings["lr"]
    if settings["kl_coef"] is not None:
        extra["kl_coef"] = settings["kl_coef"]
    return spec.factory()(
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
        model = (
            get_algorithm(settings["algo"])
            .load_class()
            .load(checkpoint, env=fresh.get_env(), device=fresh.device, tensorboard_log=str(out / "tb"))
        )
    except (ValueError, RuntimeError, zipfile.BadZipFile) as error:  # RuntimeError: torch's, for a damaged file
        raise SystemExit(f"cannot resume from {checkpoint}: {type(error).__name__}: {error}") from None
    print(f"resuming {out} from {checkpoint} at {model.num_timesteps:,} of {settings['timesteps']:,} steps")
    return model, resume


def _train(settings: dict[str, Any], out: Path, *, resume: bool, samples: int, progress: bool) -> dict[str, Any]:
    import agents
    from agents import run_dir
    from agents.checkpoints import ResumableCheckpoint
    from agents.interrupt import first_sigint_requests

    total = settings["timesteps"]
    curve = agents.RewardCurve()
    model, before, seconds_before, resumed_from = _start(settings, out, curve, resume=resume, samples=samples)
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
    after = agents.evaluate_policy_text(model, settings["env"], **_eval_kwargs(settings))
    print_summary("after training (validation prompts)", after, samples)
    meta = _save_results(settings, out, model, curve, before, after, seconds, resumed_from)
    curve_file = out / run_dir.CURVE if curve.steps else "no learning curve (no episode finished)"
    print(
        f"trained {model.num_timesteps} steps in {seconds:.0f}s; saved {out / run_dir.MODEL}, "
        f"{curve_file}, TensorBoard logs in {out / 'tb'}"
    )
    return meta


def _eval_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """How a run evaluates its agent before and after training: validation prompts, fixed seeds."""
    return dict(n_episodes=settings["eval_episodes"], seed=10_000, env_kwargs={"split": "validation"})


def _start(
    settings: dict[str, Any], out: Path, curve: Any, *, resume: bool, samples: int
) -> tuple[Any, dict[str, Any], float, list[int]]:
    """The model to train and where its run stands (a new one, or the last checkpoint's).

    Returns the model, the evaluation before training, the training seconds so far and the steps
    the run resumed from; a resumed run's ``curve`` continues where the checkpoint left it.
    """
    import agents
    from agents import rng_state

    model = _build(settings, out)
    if not resume:
        before = agents.evaluate_policy_text(model, settings["env"], **_eval_kwargs(settings))
        print_summary("before training (validation prompts)", before, samples)
        return model, {k: before[k] for k in ("mean_reward", "components")}, 0.0, []
    model, resumed = _load_checkpoint(settings, out, model)
    state = resumed["state"]
    curve.steps, curve.values = list(state["curve_steps"]), list(state["curve_values"])
    rng_state.restore(resumed["rng"])
    # The episodes in flight at the checkpoint restart: fresh ones, from a seed of their own.
    model.get_env().seed(settings["seed"] + model.num_timesteps)
    return model, state["before"], state["train_seconds"], [*state["resumed_from"], model.num_timesteps]


def _save_results(
    settings: dict[str, Any],
    out: Path,
    model: Any,
    curve: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    seconds: float,
    resumed_from: list[int],
) -> dict[str, Any]:
    """Write the trained model, the learning curve and the run's summary (last); return the summary."""
    import torch  # here, not at the top: `textgym --help` imports no torch

    from agents import run_dir
    from agents.run_files import replacing, save_model
    from textgym.plotting import plot_learning_curves

    env_id, algo = settings["env"], settings["algo"]
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
        "timesteps": settings["timesteps"],
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
    write_json(out / run_dir.SUMMARY, meta)  # last: a run with textgym.json is finished
    if settings["json"]:  # a copy where the docs' tables are rendered from (benchmarks/tables.py)
        Path(settings["json"]).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(settings["json"]), meta)
    return meta
