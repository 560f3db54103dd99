"""Benchmark (e): one PPO rollout + update against the model-math floor, parts timed in one run.

Per repeat, on the same model and the same episodes (``--n-envs`` envs x ``--new-tokens``
tokens, EOS masked so that every episode has exactly that many tokens and one rollout is
exactly one episode per env; with ``--allow-eos`` an episode ends at the agent's EOS instead,
so a rollout of as many steps holds more, shorter episode segments, some cut by its end):
  * ours, rollout: ``PPO.collect_rollouts`` with ``LMActorCriticPolicy`` (SB3's whole loop);
  * ours, update: ``PPO.train()``, one epoch, one minibatch of the whole rollout (whole-episode
    updates: one forward per episode segment);
  * floor, generate: ``transformers`` ``generate`` with KV cache, as many new tokens;
  * floor, forward+backward: one bare forward and backward of the LM over the rollout's
    episode segments (each segment's token state before its last action, plus that action,
    padded), loss = minus the log-likelihood of the segment's actions;
  * floor, optimizer: one step of the same (fused) AdamW over the model's parameters.

The floor is generate + forward+backward + optimizer; ours is rollout + update. Ratios are of
times (ours over the floor's part: below 1 is faster than the floor). The methods
take turns within each repeat so that the machine's drift falls on all of them; medians over
the repeats are reported, with the ratios of the medians.

    python benchmarks/train_step.py [--model smollm2-135m|gemma3-270m|tiny] [--n-envs 16] [--new-tokens 24]
        [--repeats 5] [--allow-eos]

Writes ``benchmarks/results/train_step_<model>.json`` (``train_step_<model>_eos.json`` with
``--allow-eos``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from common import header, same_length_prompts, write_result
from rollout import MODELS, env_factory

import agents
from agents.segment_batch import SegmentBatch
from textgym.models import load_model, load_tokenizer

RESULTS = Path(__file__).parent / "results"


def timed(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=MODELS, default="smollm2-135m")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--allow-eos", action="store_true", help="episodes end at EOS (default: EOS masked)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    n, t_new = args.n_envs, args.new_tokens
    eos = "EOS allowed" if args.allow_eos else "EOS masked"
    header(f"PPO step vs model-math floor: {args.model}, {n} envs x {t_new} new tokens, {eos}")
    torch.manual_seed(0)
    tok = load_tokenizer(args.model)
    model = load_model(args.model)
    make_env = env_factory(args.model, model, t_new, lm_fluency=False, stop_on_eos=args.allow_eos)
    ppo = agents.make_ppo(
        make_env, model=model, n_envs=n, n_steps=t_new, batch_size=n * t_new, n_epochs=1, kl_coef=0.0, log_kl=False
    )
    _, callback = ppo._setup_learn(10**9, callback=None)
    policy, opt = ppo.policy, ppo.policy.optimizer

    # generate gets n prompts of one length (no padding), the most common length among the env's
    env = make_env()
    batch, prompt_len = same_length_prompts(env.prompt_ids, n)

    def generate() -> None:
        model.generate(
            batch,
            attention_mask=torch.ones_like(batch),
            do_sample=True,
            top_k=0,
            max_new_tokens=t_new,
            min_new_tokens=t_new,
            pad_token_id=tok.pad_token_id,
        )

    def rollout() -> None:
        ppo.collect_rollouts(ppo.env, callback, ppo.rollout_buffer, n_rollout_steps=t_new)

    def episodes() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The rollout's episode segments as padded full sequences: ids, attention mask, action mask."""
        (mb,) = list(ppo.rollout_buffer.get(n * t_new))
        seg = mb.observations
        if not isinstance(seg, SegmentBatch):
            raise RuntimeError("expected whole-episode minibatches (make_ppo's default for the LM policy)")
        actions = mb.actions.long().flatten()
        n_seg = len(seg.lengths)
        if not args.allow_eos and n_seg != n:
            raise RuntimeError(f"expected {n} whole episodes in the rollout, found {n_seg} segments")
        # Each sequence is its segment's last token state; its last action completes it.
        last = torch.nonzero(torch.diff(seg.group, append=torch.tensor([-1]))).flatten()
        width = int(seg.lengths.max()) + 1
        full = torch.full((n_seg, width), tok.pad_token_id or 0, dtype=torch.long)
        full[:, : seg.input_ids.shape[1]] = seg.input_ids
        full[seg.group[last], seg.lengths] = actions[last]
        attn = (torch.arange(width)[None, :] <= seg.lengths[:, None]).long()
        target = torch.zeros((n_seg, width), dtype=torch.bool)
        target[seg.group, seg.position + 1] = True  # each step's action follows its state
        return full, attn, target

    def forward_backward(full: torch.Tensor, attn: torch.Tensor, target: torch.Tensor) -> None:
        policy.set_training_mode(True)
        logits = model(input_ids=full, attention_mask=attn, use_cache=False).logits[:, :-1]
        log_probs = torch.log_softmax(logits.float(), -1).gather(2, full[:, 1:, None]).squeeze(2)
        loss = -(log_probs * target[:, 1:]).sum() / target.sum()
        opt.zero_grad()
        loss.backward()

    def optimizer_step() -> None:
        opt.step()

    parts: dict[str, list[float]] = {k: [] for k in ("rollout", "update", "generate", "forward_backward", "optimizer")}
    for r in range(args.repeats + 1):  # the first repeat warms up and is not kept
        t = {
            "rollout": timed(rollout),
            "update": timed(ppo.train),
        }
        seqs = episodes()
        t["forward_backward"] = timed(lambda seqs=seqs: forward_backward(*seqs))
        t["optimizer"] = timed(optimizer_step)
        t["generate"] = timed(generate)
        if r:
            for k, v in t.items():
                parts[k].append(v)
        print("  " + "  ".join(f"{k} {v:.2f}s" for k, v in t.items()), flush=True)
    med = {k: statistics.median(v) for k, v in parts.items()}
    ours = med["rollout"] + med["update"]
    floor = med["generate"] + med["forward_backward"] + med["optimizer"]
    ratios = {
        "rollout / generate": med["rollout"] / med["generate"],
        "update / (forward+backward + optimizer)": med["update"] / (med["forward_backward"] + med["optimizer"]),
        "step / floor": ours / floor,
    }
    print(f"\n{'part':<34}{'median s':>10}")
    for k, v in med.items():
        print(f"{k:<34}{v:>10.2f}")
    print(f"{'ours: rollout + update':<34}{ours:>10.2f}\n{'floor':<34}{floor:>10.2f}")
    print("   ".join(f"{k} = {v:.2f}x" for k, v in ratios.items()))
    result = {
        "benchmark": "train_step",
        "model": args.model,
        "n_envs": n,
        "new_tokens": t_new,
        "eos": "allowed" if args.allow_eos else "masked",
        "prompt_tokens_generate": prompt_len,
        "timing": f"median of {args.repeats} repeats (after one warm-up), parts in turns within each repeat",
        "median_seconds": med,
        "seconds": parts,
        "ours_step_seconds": ours,
        "floor_step_seconds": floor,
        "ratios": ratios,
    }
    suffix = "_eos" if args.allow_eos else ""
    path = args.json if args.json is not None else RESULTS / f"train_step_{args.model}{suffix}.json"
    write_result(result, path)


if __name__ == "__main__":
    main()
