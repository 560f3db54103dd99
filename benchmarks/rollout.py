"""Benchmark (a): rollout tokens/s of SB3 collection with the LM policy.

Compared, in one run, on the same model, batch and lengths:
  * floor: ``transformers`` ``generate`` with KV cache (sampling, exactly N new tokens);
  * naive (bare loop): recompute the whole prefix at every step, model and sampling only;
  * naive (SB3 loop): the same SB3 collection as ours with the policy's KV cache off, so
    every step re-encodes each observation's whole prefix: the per-token design of RL4LMs'
    rollouts, everything else equal;
  * ours:  ``PPO.collect_rollouts`` with ``LMActorCriticPolicy`` on textgym/CatText-v0 — the
    whole SB3 loop: env steps, rewards, buffer writes, values.

The bare naive loop has none of the SB3/env/reward overhead ours pays, so "ours / naive
(bare loop)" is the conservative ratio; "ours / naive (SB3 loop)" compares the designs.

    python benchmarks/rollout.py [--n-envs 16] [--new-tokens 24]
"""

from __future__ import annotations

import argparse

import torch
from common import best_of_interleaved, header

import agents
from textgym.envs import CatTextEnv
from textgym.models import load_model, load_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--rollouts", type=int, default=8, help="episodes' worth of steps per timing")
    args = parser.parse_args()
    n, t_new = args.n_envs, args.new_tokens
    header(f"rollout: tiny model, {n} envs, {t_new} new tokens")
    torch.manual_seed(0)
    tok = load_tokenizer("tiny")
    model = load_model("tiny")
    env = CatTextEnv(max_new_tokens=t_new)
    # Same prompts everywhere; they share a length so generate needs no padding.
    prompt_len = 8
    prompts = [ids for ids in env.prompt_ids if len(ids) == prompt_len][:n]
    batch = torch.tensor([list(p) for p in prompts])
    steps = args.rollouts * t_new
    tokens = n * steps

    def generate() -> None:
        for _ in range(args.rollouts):
            model.generate(
                batch,
                attention_mask=torch.ones_like(batch),
                do_sample=True,
                top_k=0,
                max_new_tokens=t_new,
                min_new_tokens=t_new,
                pad_token_id=tok.pad_token_id,
            )

    @torch.no_grad()
    def naive() -> None:
        for _ in range(args.rollouts):
            ids = batch
            for _ in range(t_new):
                logits = model(input_ids=ids).logits[:, -1]
                nxt = torch.multinomial(torch.softmax(logits, -1), 1)
                ids = torch.cat([ids, nxt], dim=1)

    # Ours: EOS is forbidden (top-k would change the distribution, so we mask it in the env by
    # a stop set that is empty) so that every episode has exactly t_new tokens, like generate.
    def sb3_collector(kv_cache: bool):  # noqa: ANN202
        ppo = agents.make_ppo(
            lambda: CatTextEnv(max_new_tokens=t_new, stop_token_ids=[]),
            n_envs=n,
            n_steps=steps,
            batch_size=n * steps,
            kl_coef=0.0,
            log_kl=False,
            policy_kwargs={"kv_cache": kv_cache},
        )
        _, callback = ppo._setup_learn(10**9, callback=None)
        return lambda: ppo.collect_rollouts(ppo.env, callback, ppo.rollout_buffer, n_rollout_steps=steps)

    ours, naive_sb3 = sb3_collector(True), sb3_collector(False)
    t_gen, t_naive, t_naive_sb3, t_ours = best_of_interleaved([generate, naive, naive_sb3, ours])
    print(f"{'method':<40}{'tokens/s':>10}")
    for name, t in [
        ("transformers generate (KV cache)", t_gen),
        ("naive, bare loop: recompute prefix", t_naive),
        ("naive, SB3 loop: policy without cache", t_naive_sb3),
        ("ours: SB3 collect_rollouts", t_ours),
    ]:
        print(f"{name:<40}{tokens / t:>10.0f}")
    print(
        f"ours / generate = {t_gen / t_ours:.2f}x   ours / naive (bare loop) = {t_naive / t_ours:.2f}x   "
        f"ours / naive (SB3 loop) = {t_naive_sb3 / t_ours:.2f}x"
    )


if __name__ == "__main__":
    main()
