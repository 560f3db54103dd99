"""The ``textgym`` command: train an agent on a textgym env, evaluate a saved agent.

textgym train CatText-v0 --algo ppo --model tiny --timesteps 20000
textgym train --resume runs/CatText-v0-ppo       # continue an interrupted run from its last checkpoint
textgym eval runs/CatText-v0-ppo --episodes 128 --split test

``--algo`` takes any name in :data:`agents.registry.ALGORITHMS`; the commands are
:func:`agents.cli_train.train` and :func:`agents.cli_eval.evaluate`. Parsing imports no torch, so
``textgym --help`` is quick.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable

from agents.cli_eval import evaluate
from agents.cli_settings import CHECKPOINT_EVERY, COMMON_DEFAULTS, algorithm_defaults
from agents.cli_shared import count, rate
from agents.cli_train import train
from agents.registry import ALGORITHMS, grouped_names


def default_text(setting: str, names: list[str], show: Callable[[int], str] = "{:,}".format) -> str:
    """``"default 20,000 (grpo/rloo: 24,576)"``: the default most of ``names`` share, then the others'.

    A tie goes to the value met first, in the registry's order (ppo first).
    """
    values = {name: algorithm_defaults(name)[setting] for name in names}
    if not values:
        return "no registered algorithm takes it"
    top = Counter(values.values()).most_common(1)[0][0]  # most_common keeps first-met order among equals
    others: dict[int, list[str]] = {}
    for name, value in values.items():
        if value != top:
            others.setdefault(value, []).append(name)
    extra = "".join(f" ({'/'.join(group)}: {show(value)})" for value, group in others.items())
    return f"default {show(top)}{extra}"


def _train_arguments(p: argparse.ArgumentParser) -> None:
    """``textgym train``'s arguments; the algorithms and their defaults come from the registry."""
    count1, count0 = count(1), count(0)
    names, grouped = list(ALGORITHMS), grouped_names()
    p.add_argument("env", nargs="?", default=None, help="environment id, e.g. CatText-v0 or textgym/CatText-v0")
    algos = "; ".join(f"{spec.name}: {spec.help}" for spec in ALGORITHMS.values())
    p.add_argument(
        "--algo", choices=names, default=None, help=f"algorithm (default {COMMON_DEFAULTS['algo']}): {algos}"
    )
    p.add_argument("--model", default=None, help="'tiny' (default), 'smollm2-135m', a path or a hub id")
    p.add_argument(
        "--timesteps", type=count1, default=None, help=f"env steps (tokens); {default_text('timesteps', names)}"
    )
    p.add_argument("--n-envs", type=count1, default=None, help=f"env slots; {default_text('n_envs', names)}")
    p.add_argument("--seed", type=count0, default=None, help="random seed (default 0)")
    p.add_argument("--lr", type=rate(positive=True), default=None, help="learning rate (default: the algorithm's)")
    p.add_argument("--kl-coef", type=rate(non_negative=True), default=None, help="KL-to-reference penalty per token")
    p.add_argument(
        "--group-size",
        type=count1,
        default=None,
        help=f"{'/'.join(grouped)}: completions per prompt ({default_text('group_size', grouped)})",
    )
    p.add_argument("--eval-episodes", type=count1, default=None, help="validation episodes before/after (default 256)")
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
    p.add_argument("--keep-checkpoints", type=count1, default=None, metavar="K", help="keep the newest K (default 1)")
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


def _eval_arguments(e: argparse.ArgumentParser) -> None:
    """``textgym eval``'s arguments."""
    count1, count0 = count(1), count(0)
    e.add_argument("path", help="run directory (or its model.zip)")
    e.add_argument("--episodes", type=count1, default=128)
    e.add_argument("--split", default="test", choices=("train", "validation", "test"))
    e.add_argument("--env", default=None, help="evaluate on another env id (same observation and action spaces)")
    e.add_argument("--seed", type=count0, default=0)
    e.add_argument("--samples", type=count0, default=8)
    e.add_argument("--json", default=None, help="also write the mean reward and components to this path")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``textgym`` console command."""
    parser = argparse.ArgumentParser(prog="textgym", description="Train and evaluate LM agents on textgym envs.")
    sub = parser.add_subparsers(dest="command", required=True)
    train_parser = sub.add_parser(
        "train",
        help="train an agent",
        description=(
            "Train an agent. The run directory (--out) gets settings.json at the start, checkpoints/ every "
            "--checkpoint-every env steps, and model.zip, learning_curve.png/.json and textgym.json at the end; "
            "each file is written to a temporary file and renamed into place, so a killed run leaves no "
            "fragment. Ctrl-C saves a checkpoint and exits with status 130; --resume DIR continues from it."
        ),
    )
    _train_arguments(train_parser)
    _eval_arguments(sub.add_parser("eval", help="evaluate a saved agent"))
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
