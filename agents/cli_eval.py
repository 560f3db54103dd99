"""``textgym eval``: load a run's saved agent (its class from the registry) and report its rewards."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.cli_shared import print_summary, resolve_env, write_json
from agents.registry import ALGORITHMS, get_algorithm


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
    if not isinstance(meta.get("algo"), str) or meta["algo"] not in ALGORITHMS:
        raise SystemExit(f"{meta_file} names algorithm {meta.get('algo')!r}; textgym knows {', '.join(ALGORITHMS)}")
    if args.env is None and not isinstance(meta.get("env_id"), str):
        raise SystemExit(f"{meta_file} names no env_id; pass --env")
    env_id = resolve_env(args.env or meta["env_id"])
    zip_path = path if path.is_file() else folder / run_dir.MODEL
    if not zip_path.is_file():
        raise SystemExit(f"{zip_path} not found: the run in {folder} saved no model")
    try:
        model = get_algorithm(meta["algo"]).load_class().load(zip_path, device="cpu")
    except (zipfile.BadZipFile, ValueError, KeyError, RuntimeError) as error:  # RuntimeError: torch's, damaged file
        raise SystemExit(
            f"{zip_path} does not load as a {meta['algo']} model ({type(error).__name__}: {error})"
        ) from None
    env_kwargs = {"split": args.split}
    _check_spaces(model, zip_path, env_id, env_kwargs)
    result = agents.evaluate_policy_text(model, env_id, n_episodes=args.episodes, seed=args.seed, env_kwargs=env_kwargs)
    print_summary(f"{meta['algo'].upper()} on {env_id} ({args.split} split)", result, args.samples)
    if args.json:  # the summary a docs table is rendered from (benchmarks/tables.py)
        summary = {"env_id": env_id, "algo": meta["algo"], "split": args.split, "episodes": args.episodes}
        summary.update({k: result[k] for k in ("mean_reward", "components")})
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(args.json), summary)
    return result
