"""A real pretrained LM on a textgym task: held-out score before and after RL, next to TRL.

For one task and model (SmolLM2-135M-Instruct by default), one seed:

1. **Before.** The base model on the task's test split: every test item once (episode ``j`` is
   prompt ``j``, reset with seed ``10_000 + j``), sampling at temperature 1 as the agent trains.
2. **Train** ``agents.GRPO`` (``--algo grpo``; ``--algo ppo`` for ``agents.PPO``) on the train
   split for ``--minutes`` of its own wall time, scoring the validation split every
   ``--eval-every`` minutes of training (the curve).
3. **After.** The trained model on the same test items and seeds: the paired difference
   after - before with its standard error, and second measures beside the trained reward
   (length, fluency under the frozen base model, repetition, and each reward component:
   a gamed reward shows there).
4. ``--trl``: Hugging Face TRL's ``GRPOTrainer`` on the same prompts, reward, completions per
   step, group size and learning rate, in the same process, taking turns with textgym
   (``--block`` steps each), so that the machine's drift falls on both; its validation curve
   and test score are measured the same way (its weights are copied into a textgym policy for
   evaluation). Reported: each system's held-out score at equal wall time, and the time each
   takes to reach the other's final validation score.

    python benchmarks/real_lm.py --task summarization --minutes 30 --seed 0 [--trl]

Writes ``benchmarks/results/real_lm_{task}_{model}_{algo}[_trl]_seed{S}.json`` with every
number, the settings, samples before/after, the machine's load and the date.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

import agents
from agents.evaluation import paired_difference, standard_error

RESULTS = Path(__file__).parent / "results"
EVAL_SEED = 10_000


@dataclasses.dataclass(frozen=True)
class Task:
    """What one task needs: its env id and settings, and which reward components it reports."""

    env_id: str
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The reward component that is the task's score (None: the whole reward).
    score: str | None = None
    max_new_tokens: int | None = None


TASKS: dict[str, Task] = {
    "cattext": Task("textgym/CatText-v0", score="topic"),
    "summarization": Task("textgym/Summarization-v0"),
    "dialogue": Task("textgym/Dialogue-v0", score="success"),
    "classify": Task("textgym/Classify-v0", score="correct"),
    "arithmetic": Task("textgym/Arithmetic-v0", score="correct"),
}


def make_env_kwargs(task: Task, model: str, split: str, extra: dict[str, Any]) -> dict[str, Any]:
    kwargs = {**task.env_kwargs, "tokenizer": model, "split": split, **extra}
    if task.max_new_tokens is not None:
        kwargs.setdefault("max_new_tokens", task.max_new_tokens)
    return kwargs


def n_prompts(task: Task, model: str, split: str, extra: dict[str, Any]) -> int:
    import gymnasium as gym

    return len(gym.make(task.env_id, **make_env_kwargs(task, model, split, extra)).unwrapped.prompts)


# ----- second measures -----
def repetition(texts: list[str]) -> dict[str, float]:
    """Fraction of repeated word 3-grams within each text, and distinct-2 over all texts (Li et al. 2016)."""
    repeated, total, bigrams = 0, 0, []
    for t in texts:
        words = t.lower().split()
        grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
        counts = Counter(grams)
        repeated += sum(c - 1 for c in counts.values())
        total += len(grams)
        bigrams += [tuple(words[i : i + 2]) for i in range(len(words) - 1)]
    return {
        "repeated_3gram_fraction": repeated / total if total else 0.0,
        "distinct_2": len(set(bigrams)) / len(bigrams) if bigrams else 0.0,
    }


class BaseFluency:
    """Mean per-token log-likelihood of completions under the frozen base model (nats)."""

    def __init__(self, model: str):
        from textgym.rewards.fluency import LMFluencyReward

        self.reward = LMFluencyReward(model)

    def __call__(self, prompts: list[str], completions: list[str]) -> float:
        return float(np.mean(self.reward.score(prompts, completions).total))


def measures(result: dict[str, Any], fluency: BaseFluency) -> dict[str, float]:
    eps = result["episodes"]
    texts = [e["completion"] for e in eps]
    out = {
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
        "base_log_likelihood_per_token": fluency([e["prompt"] for e in eps], texts),
        "turns": float(np.mean([len(t.split("\n")) for t in texts])),
        **repetition(texts),
    }
    for name, value in result["components"].items():
        out[f"component_{name}"] = value
    return out


# ----- evaluation -----
def evaluate(
    model: Any, task: Task, args: argparse.Namespace, split: str, n: int, deterministic: bool = False
) -> dict[str, Any]:
    """Each of the first ``n`` prompts of ``split`` once (episode j: prompt j, seed EVAL_SEED + j).

    Sampling at temperature 1 as the agent trains, or greedy decoding with ``deterministic``.
    """
    kwargs = make_env_kwargs(task, args.model, split, args.env_kwargs)
    return agents.evaluate_policy_text(
        model,
        task.env_id,
        n_episodes=n,
        deterministic=deterministic,
        seed=EVAL_SEED,
        n_envs=args.eval_envs,
        env_kwargs=kwargs,
        options=lambda j: {"prompt_index": j},
    )


def score(result: dict[str, Any], task: Task) -> float:
    if task.score is None:
        return result["mean_reward"]
    return float(np.mean([e["components"][task.score] for e in result["episodes"]]))


def summarize(result: dict[str, Any], task: Task, fluency: BaseFluency, samples: int = 6) -> dict[str, Any]:
    return {
        "mean_reward": result["mean_reward"],
        "standard_error": standard_error(result),
        "score": score(result, task),
        "n_episodes": len(result["episodes"]),
        "measures": measures(result, fluency),
        "samples": [
            {"prompt": e["prompt"][-300:], "completion": e["completion"], "reward": e["reward"]}
            for e in result["episodes"][:samples]
        ],
    }


def paired(before: dict[str, Any], after: dict[str, Any], task: Task) -> dict[str, Any]:
    """after - before on the same test items: reward and, when the task has one, its score component."""
    gain, sem, n = paired_difference(before, after)
    out = {"reward_gain": gain, "reward_standard_error": sem, "n_pairs": n}
    if task.score is not None:
        b = {e["index"]: e["components"][task.score] for e in before["episodes"]}
        a = {e["index"]: e["components"][task.score] for e in after["episodes"]}
        diff = np.array([a[i] - b[i] for i in sorted(a)])
        out.update(score_gain=float(diff.mean()), score_standard_error=float(diff.std(ddof=1) / np.sqrt(len(diff))))
    return out


# ----- training -----
class TextgymRun:
    """textgym's algorithm on the task, one rollout + update per :meth:`step`."""

    def __init__(self, task: Task, args: argparse.Namespace):
        kwargs = make_env_kwargs(task, args.model, "train", args.env_kwargs)
        common = dict(
            model=args.model,
            n_envs=args.n_envs,
            seed=args.seed,
            env_kwargs=kwargs,
            learning_rate=args.lr,
            kl_coef=args.kl_coef,
            policy_kwargs={"optimizer_kwargs": {"weight_decay": 0.0}},
        )
        if args.kl_target is not None:
            common["kl_target"] = args.kl_target
        if args.algo == "grpo":
            self.model = agents.make_grpo(
                task.env_id,
                group_size=args.group_size,
                batch_size=args.group_size,
                max_grad_norm=1.0,
                kl_estimator=args.kl_estimator,
                group=agents.GroupConfig(scale_rewards=args.scale_rewards),
                **common,
            )
        else:
            self.model = agents.make_ppo(task.env_id, n_steps=args.ppo_steps, **common)
        self.times: list[float] = []
        self.rewards: list[float] = []

    def step(self) -> None:
        t0 = time.perf_counter()
        done = self.model.num_timesteps
        self.model.learn(1, reset_num_timesteps=not self.times)
        self.times.append(time.perf_counter() - t0)
        episodes = getattr(self.model, "episodes", None)
        if episodes is not None:
            self.rewards.append(float(np.mean(episodes.returns)))
        else:
            infos = list(self.model.ep_info_buffer)
            self.rewards.append(float(np.mean([i["r"] for i in infos])) if infos else float("nan"))
        print(
            f"  textgym step {len(self.times):4d}: {self.times[-1]:6.1f} s, {self.model.num_timesteps - done} tokens, "
            f"reward {self.rewards[-1]:.3f}",
            flush=True,
        )

    @property
    def policy_model(self) -> Any:
        return self.model


def eval_due(curve: list[dict[str, Any]], seconds: float, steps: int, every: float, force: bool) -> bool:
    """Whether a validation point is due after ``steps`` steps and ``seconds`` of training.

    Due when ``every`` seconds have passed since the curve's last point, or when ``force``d (the
    final point), but never twice at the same step count: the final point right after a
    scheduled one would score the same weights again and add a second, different sample of
    the same point to the curve.

    >>> curve = [{"seconds": 0.0, "steps": 0, "score": 0.1}, {"seconds": 905.0, "steps": 192, "score": 0.2}]
    >>> eval_due(curve, 905.0, 192, 450.0, force=True), eval_due(curve, 910.0, 193, 450.0, force=True)
    (False, True)
    >>> eval_due(curve, 1354.0, 250, 450.0, force=False), eval_due(curve, 1355.0, 251, 450.0, force=False)
    (False, True)
    """
    last = curve[-1]
    if steps == last["steps"]:
        return False
    return force or seconds >= last["seconds"] + every


def time_to(curve: list[dict[str, Any]], bar: float) -> float | None:
    """Training seconds at the first validation point whose score reaches ``bar`` (None: never)."""
    return next((p["seconds"] for p in curve if p["score"] >= bar), None)


def score_at(curve: list[dict[str, Any]], seconds: float) -> float | None:
    """The validation score of the last point at or before ``seconds`` of training."""
    before = [p for p in curve if p["seconds"] <= seconds + 1e-9]
    return before[-1]["score"] if before else None


def save_lm(model: Any, tokenizer: str, directory: Path) -> None:
    """Write the policy's LM and the tokenizer ``tokenizer`` with ``save_pretrained``.

    ``textgym.models.load_model(directory)`` loads the trained LM back, to re-check a result.
    """
    from textgym.models import load_tokenizer

    directory.mkdir(parents=True, exist_ok=True)
    model.policy.lm.save_pretrained(directory)
    load_tokenizer(tokenizer).save_pretrained(directory)
    print(f"saved the trained LM to {directory}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--algo", choices=["grpo", "ppo"], default="grpo")
    parser.add_argument("--minutes", type=float, default=30.0, help="training wall time of each system")
    parser.add_argument("--eval-every", type=float, default=5.0, help="minutes of training between validation points")
    parser.add_argument("--val-items", type=int, default=64)
    parser.add_argument("--test-items", type=int, default=256)
    parser.add_argument("--eval-envs", type=int, default=32)
    parser.add_argument("--n-envs", type=int, default=16, help="completions per step")
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--ppo-steps", type=int, default=24, help="PPO: steps per env per rollout")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--kl-coef", type=float, default=0.0)
    parser.add_argument("--kl-target", type=float, default=None)
    parser.add_argument("--kl-estimator", choices=["k1_reward", "k3_loss"], default="k3_loss")
    parser.add_argument("--scale-rewards", choices=["group", "batch", "none"], default="group")
    parser.add_argument("--env-kwargs", type=json.loads, default={}, help="JSON, e.g. '{\"max_new_tokens\": 32}'")
    parser.add_argument("--trl", action="store_true", help="also train TRL's GRPOTrainer, in turns")
    parser.add_argument("--block", type=int, default=2, help="--trl: steps per turn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="", help="appended to the output file's name")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--save", type=Path, default=None, help="write the trained LM and its tokenizer here (save_pretrained)"
    )
    args = parser.parse_args()
    task = TASKS[args.task]
    torch.manual_seed(args.seed)
    name = f"real_lm_{args.task}_{args.model}_{args.algo}{'_trl' if args.trl else ''}{args.tag}_seed{args.seed}"
    out_path = args.json or RESULTS / f"{name}.json"
    n_test = min(args.test_items, n_prompts(task, args.model, "test", args.env_kwargs))
    n_val = min(args.val_items, n_prompts(task, args.model, "validation", args.env_kwargs))
    fluency = BaseFluency(args.model)
    t_start = time.time()

    ours = TextgymRun(task, args)
    print(f"{args.task} on {args.model}: before training, {n_test} test items", flush=True)
    t0 = time.perf_counter()
    before = evaluate(ours.model, task, args, "test", n_test)
    eval_seconds = time.perf_counter() - t0
    print(agents.describe("before", before, "test reward"), f"({eval_seconds:.0f} s)", flush=True)
    val0 = score(evaluate(ours.model, task, args, "validation", n_val), task)

    systems: dict[str, Any] = {"textgym": ours}
    curves: dict[str, list[dict[str, Any]]] = {"textgym": [{"seconds": 0.0, "steps": 0, "score": val0}]}
    budget = 60 * args.minutes
    every = 60 * args.eval_every

    def maybe_eval(key: str, model: Any, times: list[float], force: bool = False) -> None:
        spent = sum(times)
        if eval_due(curves[key], spent, len(times), every, force):
            s = score(evaluate(model, task, args, "validation", n_val), task)
            curves[key].append({"seconds": spent, "steps": len(times), "score": s})
            print(f"  {key} validation score {s:.3f} after {spent:.0f} s ({len(times)} steps)", flush=True)

    if args.trl:
        trl = TRLRun(task, args, on_block=None)
        systems["trl"] = trl
        curves["trl"] = [{"seconds": 0.0, "steps": 0, "score": val0}]
        while sum(ours.times) < budget or sum(trl.times) < budget:
            for _ in range(args.block):
                if sum(trl.times) < budget:
                    trl.step()
                    maybe_eval("trl", trl.evaluation_model(ours.model), trl.times)
            for _ in range(args.block):
                if sum(ours.times) < budget:
                    ours.step()
                    maybe_eval("textgym", ours.model, ours.times)
        maybe_eval("trl", trl.evaluation_model(ours.model), trl.times, force=True)
    else:
        while sum(ours.times) < budget:
            ours.step()
            maybe_eval("textgym", ours.model, ours.times)
    maybe_eval("textgym", ours.model, ours.times, force=True)

    after = evaluate(ours.model, task, args, "test", n_test)
    print(agents.describe("after", after, "test reward"), flush=True)
    if args.save is not None:
        save_lm(ours.model, args.model, args.save)
    result: dict[str, Any] = {
        "benchmark": "real_lm",
        "task": args.task,
        "env_id": task.env_id,
        "model": args.model,
        "algo": args.algo,
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "save")},
        "saved_to": None if args.save is None else str(args.save),
        "before": summarize(before, task, fluency),
        "textgym": {
            "after": summarize(after, task, fluency),
            "paired": paired(before, after, task),
            "steps": len(ours.times),
            "train_seconds": sum(ours.times),
            "step_seconds_median": float(np.median(ours.times)),
            "train_rewards": ours.rewards,
            "curve": curves["textgym"],
        },
    }
    if args.trl:
        trl_after = evaluate(trl.evaluation_model(ours.model), task, args, "test", n_test)
        print(agents.describe("TRL after", trl_after, "test reward"), flush=True)
        trl_final, ours_final = curves["trl"][-1]["score"], curves["textgym"][-1]["score"]
        result["trl"] = {
            "after": summarize(trl_after, task, fluency),
            "paired": paired(before, trl_after, task),
            "textgym_minus_trl": paired(trl_after, after, task),
            "steps": len(trl.times),
            "train_seconds": sum(trl.times),
            "step_seconds_median": float(np.median(trl.times)),
            "train_rewards": trl.rewards,
            "curve": curves["trl"],
            "seconds_to_other_final": {
                "textgym_to_trl_final": time_to(curves["textgym"], trl_final),
                "trl_to_textgym_final": time_to(curves["trl"], ours_final),
            },
        }
    result.update(
        wall_seconds=time.time() - t_start,
        machine=f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        load_average=[round(x, 2) for x in os.getloadavg()],
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    p = result["textgym"]["paired"]
    print(f"textgym: reward gain {p['reward_gain']:+.3f} +- {p['reward_standard_error']:.3f} over {p['n_pairs']} pairs")
    print(f"wrote {out_path}")


class TRLRun:
    """TRL's ``GRPOTrainer`` on the same task, advanced one optimizer step per :meth:`step`.

    TRL's ``train()`` owns its loop, so it runs in a thread that waits on an event before each
    step: the caller's :meth:`step` releases one step and waits for it to end. That keeps TRL's
    own loop, dataloader and optimizer untouched while the two systems take turns.
    """

    def __init__(self, task: Task, args: argparse.Namespace, on_block: Callable[[], None] | None):
        import threading

        import gymnasium as gym
        from datasets import Dataset
        from transformers import TrainerCallback
        from trl import GRPOConfig, GRPOTrainer

        from textgym.models import load_model, load_tokenizer
        from textgym.trl_adapters import trl_reward_function

        if args.task == "dialogue":
            raise SystemExit(
                "--trl on Dialogue-v0 needs TRL's tool loop (tests/test_trl_grpo_dialogue.py); not wired here"
            )
        env = gym.make(task.env_id, **make_env_kwargs(task, args.model, "train", args.env_kwargs)).unwrapped
        self.times: list[float] = []
        self.rewards: list[float] = []
        self._go, self._done = threading.Event(), threading.Event()
        self._stop = False
        self._holder: Any = None
        run = self

        class Turns(TrainerCallback):
            def on_step_begin(self, a: Any, state: Any, control: Any, **_: Any) -> None:
                run._go.wait()
                run._go.clear()
                if run._stop:
                    control.should_training_stop = True
                run._t0 = time.perf_counter()

            def on_step_end(self, a: Any, state: Any, control: Any, **_: Any) -> None:
                run.times.append(time.perf_counter() - run._t0)

            def on_log(self, a: Any, state: Any, control: Any, logs: dict | None = None, **_: Any) -> None:
                # The Trainer logs a step's reward after on_step_end: the step is over only then.
                if logs and "reward" in logs:
                    run.rewards.append(float(logs["reward"]))
                    run._done.set()

            def on_train_end(self, a: Any, state: Any, control: Any, **_: Any) -> None:
                run._done.set()

        import tempfile

        self._tmp = tempfile.TemporaryDirectory()
        steps = 100_000
        config = GRPOConfig(
            output_dir=self._tmp.name,
            learning_rate=args.lr,
            lr_scheduler_type="constant",
            weight_decay=0.0,
            max_grad_norm=1.0,
            per_device_train_batch_size=args.n_envs,
            num_generations=args.group_size,
            max_completion_length=env.max_new_tokens,
            temperature=1.0,
            beta=args.kl_coef,
            loss_type="dapo",
            scale_rewards=args.scale_rewards,
            max_steps=steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=False,
            seed=args.seed,
            disable_dropout=True,
        )
        prompts = list(env.prompts)
        rng = np.random.default_rng(args.seed)
        order = [prompts[i] for i in rng.integers(len(prompts), size=steps * args.n_envs // args.group_size + 8)]
        self.lm = load_model(args.model)
        self.trainer = GRPOTrainer(
            model=self.lm,
            reward_funcs=[trl_reward_function(env.reward_model, name="reward")],
            args=config,
            train_dataset=Dataset.from_dict({"prompt": order}),
            processing_class=load_tokenizer(args.model),
            callbacks=[Turns()],
        )
        self._thread = threading.Thread(target=self.trainer.train, daemon=True)
        self._thread.start()

    def step(self) -> None:
        self._done.clear()
        self._go.set()
        self._done.wait()
        print(
            f"  TRL     step {len(self.times):4d}: {self.times[-1]:6.1f} s, reward {self.rewards[-1]:.3f}", flush=True
        )

    def evaluation_model(self, textgym_model: Any) -> Any:
        """A textgym model holding TRL's current weights (a copy of ``textgym_model``'s policy), for evaluation."""
        import copy

        if self._holder is None:
            self._holder = copy.copy(textgym_model)
            self._holder.policy = copy.deepcopy(textgym_model.policy)
        self._holder.policy.lm.load_state_dict(self.lm.state_dict())
        return self._holder


if __name__ == "__main__":
    main()
