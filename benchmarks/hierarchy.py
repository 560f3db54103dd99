"""Hierarchical training vs flat PPO on the shop conversation, with an equal token budget (issue 15).

* **hierarchical**: :func:`agents.make_hierarchical` on HierShop (the low-level LM on
  ``HierShopLow-v1``, extrinsic + intrinsic reward, acts from the high level; the high level,
  SB3 PPO ``MlpPolicy`` on ``HierShopHigh-v1``'s features with semi-MDP returns; ``--version
  v2``: the v2 views, whose acts carry their slot words), trained until
  ``--tokens`` tokens are written by the low level (its own rollouts plus those inside the
  high level's).
* **flat**: :func:`agents.make_ppo` on ``Dialogue-v0`` (the same conversations, rewards and
  budgets without subgoals), trained for the same number of tokens (the hierarchical run's
  final count, which overshoots ``--tokens`` by at most one round).

Both start from the same pretrained tiny model (``--sft-steps``: each fine-tuned on the same
scripted correct replies of the train split, the hierarchy's with the turn's act in view,
:func:`warm_start`) with the same PPO settings for the LM and are
evaluated on the held-out **test** split: episode ``j`` is test scenario ``j`` for both
(``options={"prompt_index": j}``), tokens sampled at temperature 1 as in training, the high
level sampling its acts too. The measure is Dialogue-v0's return (the hierarchy's
undiscounted extrinsic return, which is the same reward); the comparison is paired per
scenario: the mean difference and its standard error.

    python benchmarks/hierarchy.py                 # writes benchmarks/results/hierarchy.json
    python benchmarks/hierarchy.py --tokens 2048 --eval-episodes 32 --out /tmp/h.json   # a quick check
    python benchmarks/hierarchy.py --plot docs/hierarchy.png benchmarks/results/hierarchy_60k*.json
        # no training: both levels' curves and the test returns of stored runs, one line per seed
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from common import write_result

import agents
import textgym  # noqa: F401  (registers the environments)
from agents.hierarchy_config import SCHEDULES
from textgym.data.shop_acts import ACTS
from textgym.envs.hier_shop import ScriptedLowPolicy
from textgym.models import load_model, load_tokenizer
from textgym.plotting import Curve, Panel, plot_panels

RESULTS = Path(__file__).resolve().parent / "results"


def scripted_replies(version: str, n_scenarios: int) -> tuple[list[str], list[str], list[str]]:
    """Both arms' supervised data: the correct replies of the first train conversations, as each arm sees them.

    Each of the first ``n_scenarios`` train scenarios is played to its end by the scripted low
    level with the correct acts (:class:`textgym.envs.hier_shop.ScriptedLowPolicy`), and
    Dialogue-v0 is stepped with the same tokens, so both conversations are the same. Every
    reply is one pair per arm: the same target, after the hierarchy's token state (with the
    turn's act, and its slot words on v2) or after Dialogue-v0's (without).

    Returns:
        The hierarchy's prompts, the flat arm's prompts and the replies, as text.
    """
    low = gym.make(f"textgym/HierShopLow-{version}", split="train").unwrapped
    flat = gym.make("textgym/Dialogue-v0", split="train").unwrapped
    tok, policy = low.tokenizer, ScriptedLowPolicy(low)

    def text(obs: dict[str, np.ndarray]) -> str:  # what supervised_finetune re-tokenizes, BOS added back
        return tok.decode(obs["input_ids"][obs["attention_mask"] == 1]).removeprefix(tok.bos_token + " ")

    hier_prompts, flat_prompts, replies = [], [], []
    for j in range(n_scenarios):
        obs, _ = low.reset(seed=j, options={"prompt_index": j})
        flat_obs, _ = flat.reset(seed=j, options={"prompt_index": j})
        done = False
        while not done:
            hier_prompts.append(text(obs))
            flat_prompts.append(text(flat_obs))
            reply: list[int] = []
            while True:
                reply.append(policy(obs))
                obs, _, terminated, truncated, info = low.step(reply[-1])
                flat_obs, _, flat_terminated, flat_truncated, _ = flat.step(reply[-1])
                done = terminated or truncated
                if done != (flat_terminated or flat_truncated):
                    raise AssertionError("the two views' conversations diverged")
                if "turn_reward_components" in info or done:
                    break
            replies.append(tok.decode(reply[:-1]))  # without the EOS: supervised_finetune appends it
    return hier_prompts, flat_prompts, replies


def warm_start(args: argparse.Namespace, folder: Path) -> tuple[str, str]:
    """Fine-tune the tiny model on :func:`scripted_replies`, once per arm; the two models' folders."""
    hier_prompts, flat_prompts, replies = scripted_replies(args.version, args.sft_scenarios)
    print(f"supervised warm start: {len(replies)} replies from {args.sft_scenarios} train scenarios")
    paths = []
    for arm, prompts in (("hierarchical", hier_prompts), ("flat", flat_prompts)):
        torch.manual_seed(args.seed)
        lm = load_model("tiny")
        losses = agents.supervised_finetune(
            lm,
            load_tokenizer("tiny"),
            prompts,
            replies,
            steps=args.sft_steps,
            batch_size=32,
            learning_rate=1e-3,
            seed=args.seed,
        )
        print(f"  {arm}: final loss {losses[-1]:.3f}")
        lm.save_pretrained(folder / arm)
        paths.append(str(folder / arm))
    return paths[0], paths[1]


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Mean test return with its standard error and the mean reward components."""
    return {
        "mean_return": result["mean_reward"],
        "stderr": agents.standard_error(result),
        "components": result["components"],
    }


def plot(png: Path, paths: list[Path]) -> Path:
    """Both levels' training curves, the act accuracy (runs that logged it) and both arms' test returns."""
    runs = [json.loads(p.read_text()) for p in paths]

    seeds = ", ".join(str(r["config"]["seed"]) for r in runs)

    def curves(level: str) -> dict[str, Curve]:
        # (steps, extrinsic, intrinsic) per rollout; the runs share their rollout schedule, so
        # the curves are averaged over seeds point by point (refused if the schedules differ).
        points = [np.asarray(r["curves"][level], dtype=np.float64) for r in runs]
        n = min(len(p) for p in points)
        if any(not np.array_equal(p[:n, 0], points[0][:n, 0]) for p in points):
            raise ValueError(f"the runs' {level}-level curves were logged at different steps; plot them one by one")
        mean = np.mean([p[:n] for p in points], axis=0)  # (n, 3)
        return {
            f"{part} (mean of seeds {seeds})": Curve.from_points(mean[:, 0], mean[:, i])
            for i, part in ((1, "extrinsic"), (2, "intrinsic"))
        }

    bars = {
        arm: {f"seed {r['config']['seed']}": r[key]["mean_return"] for r in runs}
        for arm, key in (("hierarchical", "hierarchical"), ("flat PPO", "flat"))
    }
    tokens = sorted({r["config"]["tokens_budget"] for r in runs})
    versions = sorted({r["config"]["version"] for r in runs})
    budgets = "/".join(f"{t:,}" for t in tokens)
    # The high level's act accuracy on the low level's training turns (runs from before it was logged have none).
    accuracy = {
        f"seed {r['config']['seed']}": Curve.from_points(*np.asarray(r["curves"]["act_accuracy"])[:, :2].T)
        for r in runs
        if r["curves"].get("act_accuracy")
    }
    accuracy_panel = Panel(
        curves=accuracy,
        baselines={"uniformly random acts": 1 / len(ACTS)},
        title="acts the low level trained on that were correct",
        xlabel="low-level PPO steps (tokens)",
        ylabel="fraction of turns",
        ylim=(0.0, 1.0),
        window=4,
    )
    levels = (
        ("low", "low level (LM, PPO)", "low-level PPO steps (tokens)"),
        ("high", "high level (MlpPolicy, semi-MDP PPO)", "high-level decisions"),
    )
    return plot_panels(
        [
            *(
                Panel(curves=curves(level), title=title, xlabel=x, ylabel="mean episode return (train)", window=8)
                for level, title, x in levels
            ),
            *([accuracy_panel] if accuracy else []),
            Panel(bars=bars, title="test split, equal tokens", ylabel="mean test return (Dialogue-v0's reward)"),
        ],
        png,
        title=f"HierShop-{'/'.join(versions)}: hierarchical vs flat PPO, {budgets} tokens per arm",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=24_576, help="token budget of each arm")
    parser.add_argument("--eval-episodes", type=int, default=512, help="test scenarios 0 .. n-1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="alternate",
        help="make_hierarchical's schedule: 'joint' trains the high level on the low level's own turns",
    )
    parser.add_argument(
        "--high-ent-coef", type=float, default=0.0, help="the high level's entropy bonus (SB3 PPO's ent_coef)"
    )
    parser.add_argument("--lm-lr", type=float, default=3e-4, help="the LM's PPO learning rate, both arms")
    parser.add_argument(
        "--skill-tokens",
        type=int,
        default=0,
        help="make_hierarchical's skill phase: the low level's first tokens on uniformly random acts",
    )
    parser.add_argument(
        "--version",
        choices=("v1", "v2"),
        default="v1",
        help="HierShop's version: v2's acts carry their slot words (the facts they state) into the low level's view",
    )
    parser.add_argument(
        "--sft-steps",
        type=int,
        default=0,
        help="supervised warm start of both arms' LM on the same scripted correct replies (0: none)",
    )
    parser.add_argument("--sft-scenarios", type=int, default=512, help="train scenarios whose replies --sft-steps uses")
    parser.add_argument("--out", type=Path, default=RESULTS / "hierarchy.json")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="only plot the stored runs given as arguments")
    parser.add_argument("runs", type=Path, nargs="*", help="with --plot: JSON files this script wrote")
    args = parser.parse_args()
    if args.plot:
        if not args.runs:
            parser.error("--plot needs the JSON files of stored runs")
        print(f"wrote {plot(args.plot, args.runs)}")
        return
    if args.runs:
        parser.error("JSON files are read only with --plot")
    torch.manual_seed(args.seed)
    # The LM's PPO settings of both arms (examples/dialogue.py's: 512 tokens per update; lr: --lm-lr).
    lm = dict(n_steps=32, batch_size=256, n_epochs=4, learning_rate=args.lm_lr, kl_coef=0.05, separate_critic=True)
    high = dict(n_steps=8, batch_size=32, learning_rate=3e-3, ent_coef=args.high_ent_coef)
    # The hierarchical round: 1,024 low-level tokens (two updates), then 32 high-level decisions.
    low_steps, high_steps, n_envs, n_high_envs = 1024, 32, 16, 4
    paired = dict(n_episodes=args.eval_episodes, env_kwargs={"split": "test"}, options=lambda j: {"prompt_index": j})

    folder = tempfile.TemporaryDirectory()
    t0 = time.time()
    hier_model, flat_model = warm_start(args, Path(folder.name)) if args.sft_steps else ("tiny", "tiny")
    sft_s = time.time() - t0
    t0 = time.time()  # the hierarchy's training time starts after the warm start
    hier = agents.make_hierarchical(
        f"HierShopHigh-{args.version}",
        model=hier_model,
        n_envs=n_envs,
        n_high_envs=n_high_envs,
        seed=args.seed,
        low_kwargs=lm,
        high_kwargs=high,
        schedule=args.schedule,
        skill_tokens=args.skill_tokens,
    )
    hier.learn(args.tokens, low_steps=low_steps, high_steps=high_steps)
    hier_train_s = time.time() - t0
    tokens = hier.tokens
    print(f"hierarchical: {tokens} tokens ({hier.low.num_timesteps} low PPO, {hier.high_tokens} in high rollouts)")
    hier_test = agents.evaluate_policy_text(hier, lambda: hier.high_view(gamma=1.0, split="test"), **paired)
    print(agents.describe("hierarchical, test", hier_test))

    t1 = time.time()
    flat = agents.make_ppo("Dialogue-v0", model=flat_model, n_envs=n_envs, seed=args.seed, **lm)
    flat.learn(tokens)
    flat_train_s = time.time() - t1
    flat_test = agents.evaluate_policy_text(flat, "Dialogue-v0", **paired)
    print(agents.describe("flat PPO, test", flat_test))

    diff, sem, n = agents.paired_difference(flat_test, hier_test)  # hierarchical - flat, per scenario
    margin = diff / sem if sem > 0 else float("nan")
    print(f"paired difference (hierarchical - flat): {diff:+.3f} +- {sem:.3f} over {n} scenarios = {margin:+.1f} SE")
    result = {
        "command": "python benchmarks/hierarchy.py "
        + f"--tokens {args.tokens} --eval-episodes {args.eval_episodes} --seed {args.seed}"
        + ("" if args.schedule == "alternate" else f" --schedule {args.schedule}")
        + (f" --high-ent-coef {args.high_ent_coef}" if args.high_ent_coef else "")
        + (f" --skill-tokens {args.skill_tokens}" if args.skill_tokens else "")
        + (f" --lm-lr {args.lm_lr:g}" if args.lm_lr != 3e-4 else "")
        + (f" --version {args.version}" if args.version != "v1" else "")
        + (f" --sft-steps {args.sft_steps} --sft-scenarios {args.sft_scenarios}" if args.sft_steps else ""),
        "config": {
            "tokens_budget": args.tokens,
            "seed": args.seed,
            "schedule": args.schedule,
            "skill_tokens": args.skill_tokens,
            "version": args.version,
            "sft": {"steps": args.sft_steps, "scenarios": args.sft_scenarios} if args.sft_steps else None,
            "lm_ppo": lm,
            "high_ppo": high,
            "low_steps_per_round": low_steps,
            "high_decisions_per_round": high_steps,
            "n_envs": n_envs,
            "n_high_envs": n_high_envs,
        },
        "tokens": {"hierarchical": tokens, "low_ppo": int(hier.low.num_timesteps), "high_rollouts": hier.high_tokens},
        "flat_tokens": int(flat.num_timesteps),
        "hierarchical": summary(hier_test),
        "flat": summary(flat_test),
        "paired": {"difference": diff, "stderr": sem, "n": n, "margin_se": margin},
        "curves": {
            "low": [list(p) for p in hier.low_log.history],
            "high": [list(p) for p in hier.high_log.history],
            # (steps, fraction of the low level's finished turns whose act was correct, turns) per rollout
            "act_accuracy": [list(p) for p in hier.act_log.history],
        },
        "train_seconds": {"supervised (both arms)": sft_s, "hierarchical": hier_train_s, "flat": flat_train_s},
        "test_returns": {
            "hierarchical": [e["reward"] for e in hier_test["episodes"]],
            "flat": [e["reward"] for e in flat_test["episodes"]],
        },
    }
    write_result(result, args.out)
    assert np.isfinite(diff)


if __name__ == "__main__":
    main()
