"""Benchmark (a): rollout tokens/s of SB3 collection with the LM policy.

Compared, in one run, on the same model, batch and lengths:
  * floor: ``transformers`` ``generate`` with KV cache (sampling, exactly N new tokens);
  * naive: recompute the whole prefix at every step (what a per-token policy without a cache
    does, e.g. RL4LMs' rollouts);
  * ours:  ``PPO.collect_rollouts`` with ``LMActorCriticPolicy`` on textgym/CatText-v0 — the
    whole SB3 loop: env steps, rewards, buffer writes, values.

    python benchmarks/rollout.py [--n-envs 16] [--new-tokens 24]
"""

from __future__ import annotations

import argparse

import torch
from common import best_of, header

import agents
from textgym.envs import CatTextEnv
from textgym.models import load_model, load_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--rollouts", type=int, default=4, help="episodes' worth of steps per timing")
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
    ppo = agents.make_ppo(
        lambda: CatTextEnv(max_new_tokens=t_new, stop_token_ids=[]),
        n_envs=n,
        n_steps=steps,
        batch_size=n * steps,
        kl_coef=0.0,
        log_kl=False,
    )
    _, callback = ppo._setup_learn(10**9, callback=None)

    def ours() -> None:
        ppo.collect_rollouts(ppo.env, callback, ppo.rollout_buffer, n_rollout_steps=steps)

    t_gen, t_naive, t_ours = best_of(generate), best_of(naive), best_of(ours)
    print(f"{'method':<34}{'tokens/s':>10}")
    for name, t in [
        ("transformers generate (KV cache)", t_gen),
        ("naive: recompute prefix", t_naive),
        ("ours: SB3 collect_rollouts", t_ours),
    ]:
        print(f"{name:<34}{tokens / t:>10.0f}")
    print(f"ours / generate = {t_gen / t_ours:.2f}x   ours / naive = {t_naive / t_ours:.2f}x")


if __name__ == "__main__":
    main()
