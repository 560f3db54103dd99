"""Benchmark (b): PPO update time per token.

On one rollout buffer of textgym/CatText-v0 (tiny model, 16 envs), compared in one run:
  * floor: one bare forward + backward + optimizer step of the LM over the same token
    sequences (each episode segment's full sequence once), no RL bookkeeping;
  * naive: per-transition evaluation — every transition's observation forwarded as its own
    sequence (what a policy that evaluates row by row costs);
  * ours:  ``PPO.train()`` (one epoch) with ``EpisodeRolloutBuffer`` minibatches and the
    episode-batched ``evaluate_actions``, including all of SB3's loss bookkeeping.

    python benchmarks/update.py [--n-envs 16] [--n-steps 96] [--batch-size 512] [--json PATH]

Writes ``benchmarks/results/update_tiny.json`` (ms per token of each method and the ratios),
which docs/benchmarks.md's table is rendered from (``benchmarks/renderers/update.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from common import best_of_interleaved, header, write_result

import agents

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--json", type=Path, default=RESULTS / "update_tiny.json")
    args = parser.parse_args()
    header(f"PPO update: tiny model, {args.n_envs} envs x {args.n_steps} steps, minibatch {args.batch_size}")
    ppo = agents.make_ppo(
        "CatText-v0",
        n_envs=args.n_envs,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=1,
        kl_coef=0.0,
        log_kl=False,
        seed=0,
    )
    _, callback = ppo._setup_learn(10**9, callback=None)
    ppo.collect_rollouts(ppo.env, callback, ppo.rollout_buffer, n_rollout_steps=args.n_steps)
    policy = ppo.policy
    # The floor and the naive method take each step's token state; PPO.train (ours) gets the
    # buffer's whole segments, as make_ppo sets it.
    ppo.rollout_buffer.whole_segments = False
    minibatches = list(ppo.rollout_buffer.get(args.batch_size))
    ppo.rollout_buffer.whole_segments = True
    lm = policy.lm
    opt = policy.optimizer
    segment_batches, row_batches = [], []
    n_rows = 0
    for mb in minibatches:
        ids = mb.observations["input_ids"].long()
        lengths = mb.observations["attention_mask"].long().sum(1)
        _, last = policy.group_rows(ids, lengths, mb.actions.long().flatten())
        width = int(lengths.max())
        mask = (torch.arange(width)[None, :] < lengths[:, None]).long()
        segment_batches.append((ids[last, :width], mask[last]))
        row_batches.append((ids[:, :width], mask))
        n_rows += len(ids)
    n_seg = sum(len(s[0]) for s in segment_batches)
    print(f"{n_rows} transitions in {n_seg} segments, {len(minibatches)} minibatches")

    def bare(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        policy.set_training_mode(True)
        for ids, mask in batches:
            logits = lm(input_ids=ids, attention_mask=mask, use_cache=False).logits
            loss = (logits * mask[..., None]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    def ours() -> None:
        ppo.train()

    # In turns, so that a slow drift of the shared machine does not favour one method.
    t_floor, t_naive, t_ours = best_of_interleaved([lambda: bare(segment_batches), lambda: bare(row_batches), ours])
    ms_per_token = {
        "floor: bare fwd+bwd over segment sequences": 1000 * t_floor / n_rows,
        "naive: fwd+bwd per transition": 1000 * t_naive / n_rows,
        "ours: PPO.train, one epoch": 1000 * t_ours / n_rows,
    }
    print(f"{'method':<44}{'ms/token':>10}")
    for name, ms in ms_per_token.items():
        print(f"{name:<44}{ms:>10.3f}")
    print(f"ours / floor = {t_ours / t_floor:.2f}x   naive / ours = {t_naive / t_ours:.2f}x")
    result = {
        "model": "tiny",
        "env": "CatText-v0",
        "n_envs": args.n_envs,
        "n_steps": args.n_steps,
        "batch_size": args.batch_size,
        "transitions": n_rows,
        "segments": n_seg,
        "ms_per_token": ms_per_token,
        "ratios": {"ours / floor": t_ours / t_floor, "naive / ours": t_naive / t_ours},
        "timing": "best of 5 interleaved repeats after one warm-up",
    }
    write_result(result, args.json)


if __name__ == "__main__":
    main()
