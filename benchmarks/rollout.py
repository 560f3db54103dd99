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

Models: ``tiny`` (GPT-2 architecture, the lean step of ``agents.fast_decode``),
``smollm2-135m`` (Llama architecture, the lean step of ``agents.fast_llama``) or
``gemma3-270m`` (Gemma 3 architecture, the lean step of ``agents.fast_gemma3``). The real
models get CatText's natural-prose prompts exactly as the env gives them: the env applies no
chat template, and generate must see the same prompts as the SB3 rollouts. Their reward is
the topic term only by default: CatText's LM-fluency term re-reads every finished episode
with a full forward of the model, about as many token-forwards as the rollout itself, which
generate does not pay; ``--lm-fluency`` adds it (scored by the one copy all methods share).

The results are printed and written as JSON (``--json``, by default
``benchmarks/results/rollout_<model>.json``): tokens/s of each method, the ratios, the
settings, torch/transformers versions, threads and date.

    python benchmarks/rollout.py [--model tiny|smollm2-135m|gemma3-270m] [--n-envs 16] [--new-tokens 24] [--repeats 5]
        [--lm-fluency] [--json PATH]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch
from common import best_of_interleaved, header, same_length_prompts, write_result

import agents
from textgym.data import CAT_WORDS
from textgym.envs import CatTextEnv
from textgym.envs.cat_text import LM_FLUENCY_WEIGHT, TOPIC_WEIGHT
from textgym.models import load_model, load_tokenizer
from textgym.rewards import KeywordReward, LMFluencyReward, WeightedSum

MODELS = ("tiny", "smollm2-135m", "gemma3-270m")
RESULTS = Path(__file__).parent / "results"


def env_factory(
    name: str, model: torch.nn.Module, t_new: int, lm_fluency: bool, stop_on_eos: bool = False
) -> Callable[[], CatTextEnv]:
    """CatText for ``name``'s tokenizer; EOS not a stop token unless ``stop_on_eos``.

    Without it every episode has t_new tokens, like ``generate``; with it an episode ends at the
    agent's EOS (the env's default), so episodes vary in length as in training.
    """
    stop = None if stop_on_eos else []
    if name == "tiny":
        return lambda: CatTextEnv(max_new_tokens=t_new, stop_token_ids=stop)
    terms: dict[str, tuple[object, float]] = {"topic": (KeywordReward(CAT_WORDS), TOPIC_WEIGHT)}
    if lm_fluency:
        # CatText's default term for a non-grammar tokenizer, with the already-loaded model as the
        # scorer instead of a second copy (nothing trains here, so it stays the reference).
        terms["fluency"] = (LMFluencyReward(model, tokenizer=load_tokenizer(name)), LM_FLUENCY_WEIGHT)
    reward = WeightedSum(terms, name="cat_text")
    return lambda: CatTextEnv(tokenizer=name, reward=reward, max_new_tokens=t_new, stop_token_ids=stop)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=MODELS, default="tiny")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--rollouts", type=int, default=8, help="episodes' worth of steps per timing")
    parser.add_argument("--lm-fluency", action="store_true", help="real models: add CatText's LM-fluency reward term")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per method (best is kept)")
    parser.add_argument("--json", type=Path, default=None, help="default: benchmarks/results/rollout_<model>.json")
    args = parser.parse_args()
    if args.lm_fluency and args.model == "tiny":
        raise SystemExit("--lm-fluency is for the real models (the tiny model's CatText scores fluency by its grammar)")
    n, t_new = args.n_envs, args.new_tokens
    header(f"rollout: {args.model} model, {n} envs, {t_new} new tokens")
    torch.manual_seed(0)
    tok = load_tokenizer(args.model)
    model = load_model(args.model)
    make_env = env_factory(args.model, model, t_new, args.lm_fluency)
    env = make_env()
    # generate and the bare loop get n prompts of one length (no padding): the most common
    # length, so that there are n of them and every method's tokens/s counts n rows.
    batch, prompt_len = same_length_prompts(env.prompt_ids, n)
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
    # Both collectors adopt the one loaded model (no second copy; nothing trains here).
    def sb3_collector(kv_cache: bool):  # noqa: ANN202
        ppo = agents.make_ppo(
            make_env,
            model=model,
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
    t_gen, t_naive, t_naive_sb3, t_ours = best_of_interleaved([generate, naive, naive_sb3, ours], args.repeats)
    methods = {
        "transformers generate (KV cache)": t_gen,
        "naive, bare loop: recompute prefix": t_naive,
        "naive, SB3 loop: policy without cache": t_naive_sb3,
        "ours: SB3 collect_rollouts": t_ours,
    }
    print(f"{'method':<40}{'tokens/s':>10}")
    for name, t in methods.items():
        print(f"{name:<40}{tokens / t:>10.0f}")
    # speed ratios: ours' tokens/s over the other method's (> 1: ours is faster)
    ratios = {
        "ours / generate": t_gen / t_ours,
        "ours / naive (bare loop)": t_naive / t_ours,
        "ours / naive (SB3 loop)": t_naive_sb3 / t_ours,
    }
    print("   ".join(f"{k} = {v:.2f}x" for k, v in ratios.items()))
    result = {
        "benchmark": "rollout",
        "model": args.model,
        "n_envs": n,
        "new_tokens": t_new,
        "rollouts_per_timing": args.rollouts,
        "prompt_tokens_generate": prompt_len,
        "reward": "grammar + topic" if args.model == "tiny" else "topic + LM fluency" if args.lm_fluency else "topic",
        "timing": f"best of {args.repeats} interleaved repeats after one warm-up",
        "tokens_per_s": {name: tokens / t for name, t in methods.items()},
        "ratios_tokens_per_s": ratios,
    }
    path = args.json if args.json is not None else RESULTS / f"rollout_{args.model}.json"
    write_result(result, path)


if __name__ == "__main__":
    main()
