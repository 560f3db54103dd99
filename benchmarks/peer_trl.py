"""Benchmark (c): textgym's GRPO against Hugging Face TRL's ``GRPOTrainer``, same task, one run.

Task (both systems): SmolLM2-135M-Instruct (fp32, the project's offline real LM), 32 chat
prompts ("Continue the story: <a CatText opening>" in the model's chat template), reward 1 if
the completion contains the whole word "cat" (any case) else 0, 4 prompts x 4 completions
per step, at most 24 new tokens, sampling at temperature 1, AdamW at a constant learning rate
of 5e-5 without weight decay, gradient clipping at 1.0, clip 0.2, group-normalised advantages,
token-level loss, beta = 0 (no KL term).

What differs (textgym's side): it takes 4 optimizer steps per rollout (minibatches of one
prompt's 4 completions; TRL takes one step per generation batch, its default), and each
prompt's keys/values are computed once per group in rollouts and updates.

The two systems take turns: TRL runs ``--block`` steps, then textgym runs ``--block`` steps,
and so on, in one process, so that the machine's drift falls on both. Each system stops when
the mean reward over its last 3 steps reaches 0.9, or at ``--max-steps``. Reported per
system: median seconds per step, steps and wall seconds (its own steps only) to 0.9, and
fluency of 64 samples at the end (mean per-token log-likelihood under the frozen base model,
next to the base model's own samples). With ``--kl-coef B`` textgym runs once more, alone,
with the KL penalty (k3 in the loss) and the same stopping rule.

    python benchmarks/peer_trl.py [--kl-coef 0.04] [--quick]

Needs the ``bench`` extra (``pip install -e ".[bench]"``: trl) and SmolLM2 (the ``smol`` extra).
Writes ``benchmarks/results/peer_trl.json`` (``--quick``: ``peer_trl_quick.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import header

import agents
from textgym.data import story_openings, to_natural
from textgym.envs import TextGenEnv
from textgym.models import load_model, load_tokenizer

MODEL = "smollm2-135m"
CAT = re.compile(r"\bcat\b", re.IGNORECASE)
RESULTS = Path(__file__).parent / "results"


def cat_reward(prompts: list[str], completions: list[str], **_: Any) -> list[float]:
    """1.0 if the completion contains the whole word "cat", else 0.0 (TRL's reward signature too)."""
    return [1.0 if CAT.search(c) else 0.0 for c in completions]


def chat_prompts(tokenizer: Any, n: int = 32) -> list[str]:
    """The first ``n`` CatText training openings as chat prompts, generation prompt appended."""
    openings = [to_natural(p) for p in story_openings("train")[:n]]
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": f"Continue the story: {o}"}], tokenize=False, add_generation_prompt=True
        )
        for o in openings
    ]


def reached(rewards: list[float], bar: float = 0.9) -> bool:
    return len(rewards) >= 3 and float(np.mean(rewards[-3:])) >= bar


@torch.no_grad()
def fluency(model: Any, base: Any, tokenizer: Any, prompts: list[str], n: int = 64, seed: int = 0) -> dict[str, Any]:
    """Sample ``n`` completions from ``model``; score each token under ``base``: mean log-likelihood."""
    torch.manual_seed(seed)
    eos = tokenizer.eos_token_id
    total, count, cats, samples = 0.0, 0, 0, []
    for start in range(0, n, 16):
        batch = [prompts[(start + i) % len(prompts)] for i in range(min(16, n - start))]
        for prompt in batch:  # one prompt at a time: no padding, so nothing depends on it
            ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
            out = model.generate(ids, do_sample=True, top_k=0, max_new_tokens=24, pad_token_id=eos)
            new = out[0, ids.shape[1] :]
            if (new == eos).any():  # keep the stop token, drop anything after it
                new = new[: int((new == eos).nonzero()[0]) + 1]
            logits = base(input_ids=torch.cat([ids[0], new])[None]).logits[0, ids.shape[1] - 1 : -1]
            total += float(torch.log_softmax(logits, -1).gather(1, new[:, None]).sum())
            count += len(new)
            text = tokenizer.decode(new, skip_special_tokens=True)
            cats += bool(CAT.search(text))
            samples.append(text)
    return {"log_likelihood_per_token": total / count, "cat_rate": cats / n, "samples": samples[:8]}


class TextgymRun:
    """textgym's GRPO on the task, advanced one rollout + update at a time."""

    def __init__(
        self, prompts: list[str], lr: float, kl_coef: float, seed: int, max_new_tokens: int, **grpo_kwargs: Any
    ):
        def make_env() -> TextGenEnv:
            return TextGenEnv(prompts, tokenizer=MODEL, reward=cat_reward, max_new_tokens=max_new_tokens)

        self.model = agents.make_grpo(
            make_env,
            model=load_model(MODEL),
            n_envs=16,
            group_size=4,
            batch_size=4,
            learning_rate=lr,
            kl_coef=kl_coef,
            max_grad_norm=1.0,
            seed=seed,
            policy_kwargs={"optimizer_kwargs": {"weight_decay": 0.0}},
            **{"kl_estimator": "k3_loss", **grpo_kwargs},
        )
        self.times: list[float] = []
        self.rewards: list[float] = []
        self.kl_coefs: list[float] = []  # the beta each step's rollout used (changes with --kl-target)

    def step(self) -> None:
        t0 = time.perf_counter()
        self.model.learn(1, reset_num_timesteps=not self.times)
        self.times.append(time.perf_counter() - t0)
        self.rewards.append(float(np.mean(self.model.episodes.returns)))
        self.kl_coefs.append(float(self.model.kl_coef))
        print(
            f"  textgym step {len(self.times):3d}: {self.times[-1]:6.1f} s, reward {self.rewards[-1]:.3f}", flush=True
        )


def summary(times: list[float], rewards: list[float], interleaved: int) -> dict[str, Any]:
    hit = next((i for i in range(3, len(rewards) + 1) if reached(rewards[:i])), None)
    return {
        "steps": len(times),
        "seconds_per_step_median_in_turns": statistics.median(times[:interleaved]) if interleaved else None,
        "seconds_per_step_median": statistics.median(times),
        "steps_to_0.9": hit,
        "seconds_to_0.9": sum(times[:hit]) if hit else None,
        "step_seconds": times,
        "step_rewards": rewards,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--block", type=int, default=2, help="steps per turn")
    parser.add_argument("--kl-coef", type=float, default=0.0, help="also run textgym with this KL penalty")
    parser.add_argument("--kl-estimator", choices=["k1_reward", "k3_loss"], default="k1_reward")
    parser.add_argument(
        "--kl-scale-rewards", choices=["group", "batch", "none"], default="batch", help="the KL run's reward scaling"
    )
    parser.add_argument(
        "--kl-target", type=float, default=None, help="adaptive beta toward this KL per token (starts at --kl-coef)"
    )
    parser.add_argument("--kl-horizon", type=int, default=10_000, help="tokens over which beta moves at most 20%%")
    parser.add_argument("--kl-max-steps", type=int, default=90)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 steps each, short fluency check")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.max_steps, args.block, args.kl_max_steps = 2, 1, 2
    out_path = args.json or RESULTS / ("peer_trl_quick.json" if args.quick else "peer_trl.json")
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    header("peer: textgym GRPO vs TRL GRPOTrainer, SmolLM2-135M-Instruct, 16 x 24 tokens per step")
    torch.manual_seed(args.seed)
    tokenizer = load_tokenizer(MODEL)
    prompts = chat_prompts(tokenizer)
    ours = TextgymRun(prompts, args.lr, 0.0, args.seed, args.max_new_tokens)

    trl_times: list[float] = []
    trl_rewards: list[float] = []
    interleaved = {"trl": 0, "textgym": 0}

    class Turns(TrainerCallback):
        """Time TRL's steps; after every block of them, run a block of textgym's."""

        def on_step_begin(self, args_: Any, state: Any, control: Any, **_: Any) -> None:
            self.t0 = time.perf_counter()

        def on_log(self, args_: Any, state: Any, control: Any, logs: dict | None = None, **_: Any) -> None:
            if logs and "reward" in logs:
                trl_rewards.append(float(logs["reward"]))

        def on_step_end(self, args_: Any, state: Any, control: Any, **_: Any) -> None:
            trl_times.append(time.perf_counter() - self.t0)
            print(f"  TRL     step {len(trl_times):3d}: {trl_times[-1]:6.1f} s", flush=True)
            if len(trl_times) % args.block == 0:
                for _ in range(args.block):
                    if len(ours.times) < args.max_steps and not reached(ours.rewards):
                        ours.step()
                        if not reached(trl_rewards):
                            interleaved["textgym"] = len(ours.times)
                if not reached(ours.rewards):
                    interleaved["trl"] = len(trl_times)
            if reached(trl_rewards[: len(trl_times)]):
                control.should_training_stop = True

    trl_model = load_model(MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        config = GRPOConfig(
            output_dir=tmp,
            learning_rate=args.lr,
            lr_scheduler_type="constant",
            weight_decay=0.0,
            max_grad_norm=1.0,
            per_device_train_batch_size=16,
            num_generations=4,
            max_completion_length=args.max_new_tokens,
            temperature=1.0,
            beta=0.0,
            loss_type="dapo",
            scale_rewards="group",
            max_steps=args.max_steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=False,
            seed=args.seed,
            disable_dropout=True,
        )
        dataset = Dataset.from_dict({"prompt": prompts * (args.max_steps // 8 + 2)})
        trainer = GRPOTrainer(
            model=trl_model,
            reward_funcs=[cat_reward],
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            callbacks=[Turns()],
        )
        trainer.train()
    while len(ours.times) < args.max_steps and not reached(ours.rewards):  # TRL stopped first
        ours.step()

    kl_run = None
    if args.kl_coef > 0:
        print(f"textgym GRPO with KL penalty {args.kl_coef} ({args.kl_estimator}), alone:")
        kl_run = TextgymRun(
            prompts,
            args.lr,
            args.kl_coef,
            args.seed,
            args.max_new_tokens,
            kl_estimator=args.kl_estimator,
            group=agents.GroupConfig(scale_rewards=args.kl_scale_rewards),
            kl_target=args.kl_target,
            kl_horizon=args.kl_horizon,
        )
        while len(kl_run.times) < args.kl_max_steps and not reached(kl_run.rewards):
            kl_run.step()

    base = load_model(MODEL)
    n_samples = 16 if args.quick else 64
    eval_prompts = prompts[:16]
    fl = {
        "base": fluency(base, base, tokenizer, eval_prompts, n_samples),
        "trl": fluency(trl_model.eval(), base, tokenizer, eval_prompts, n_samples),
        "textgym": fluency(ours.model.policy.lm.eval(), base, tokenizer, eval_prompts, n_samples),
    }
    if kl_run is not None:
        fl["textgym_kl"] = fluency(kl_run.model.policy.lm.eval(), base, tokenizer, eval_prompts, n_samples)

    result = {
        "benchmark": "peer_trl",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "config": {
            "model": MODEL,
            "prompts": len(prompts),
            "completions_per_step": 16,
            "group_size": 4,
            "max_new_tokens": args.max_new_tokens,
            "learning_rate": args.lr,
            "block": args.block,
            "max_steps": args.max_steps,
            "textgym_minibatches_per_rollout": 4,
            "kl_coef": args.kl_coef,
            "kl_estimator": args.kl_estimator,
            "kl_scale_rewards": args.kl_scale_rewards,
            "kl_target": args.kl_target,
            "kl_horizon": args.kl_horizon,
            "kl_max_steps": args.kl_max_steps,
            "quick": args.quick,
        },
        "trl": summary(trl_times, trl_rewards, interleaved["trl"]),
        "textgym": summary(ours.times, ours.rewards, interleaved["textgym"]),
        "textgym_kl": {**summary(kl_run.times, kl_run.rewards, 0), "kl_coefs": kl_run.kl_coefs} if kl_run else None,
        "fluency": fl,
    }
    t, o = result["trl"], result["textgym"]
    if t["seconds_per_step_median_in_turns"] and o["seconds_per_step_median_in_turns"]:
        result["step_time_ratio_textgym_over_trl"] = (
            o["seconds_per_step_median_in_turns"] / t["seconds_per_step_median_in_turns"]
        )
    if t["seconds_to_0.9"] and o["seconds_to_0.9"]:
        result["time_to_0.9_ratio_textgym_over_trl"] = o["seconds_to_0.9"] / t["seconds_to_0.9"]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    print(f"\n{'system':<14}{'s/step (turns)':>16}{'steps to 0.9':>14}{'s to 0.9':>10}{'log-lik/token':>15}")
    for name in ("trl", "textgym", "textgym_kl"):
        r = result.get(name)
        if not r:
            continue
        per = r["seconds_per_step_median_in_turns"] or r["seconds_per_step_median"]
        secs = r["seconds_to_0.9"]
        print(
            f"{name:<14}{per:>16.2f}{str(r['steps_to_0.9']):>14}{(f'{secs:.0f}' if secs else '-'):>10}"
            f"{fl[name]['log_likelihood_per_token']:>15.3f}"
        )
    print(f"{'base model':<14}{'':>16}{'':>14}{'':>10}{fl['base']['log_likelihood_per_token']:>15.3f}")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
