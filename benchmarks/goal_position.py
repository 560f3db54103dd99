"""Where HierShop's act token goes: the base tiny model's first reply with it before, after or without it.

HierShopLow-v0 put the act's control token right after ``"assistant :"``; v1 puts it at the
end of the user's line, before ``"assistant :"`` (``goal_position``). This measures why: on
validation scenarios, the pretrained tiny model (no training) samples its first reply to the
prompt (a) as Dialogue-v0 shows it, (b) with the correct act's token after the speaker and
(c) before it; each reply is scored by Dialogue-v0's turn reward and by the intrinsic checker
(:func:`textgym.data.shop_acts.realizes`). Sampling at temperature 1, seeded per scenario, the
same seed for the three variants (paired).

    python benchmarks/goal_position.py [--episodes 384]   # writes benchmarks/results/goal_position.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from common import write_result

import textgym  # noqa: F401  (registers the ids)
from textgym.data.shop_acts import ACT_WORDS, ACTS, correct_act, realizes
from textgym.models import load_model

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = ("no act token", "after 'assistant :' (v0)", "before 'assistant :' (v1)")


@torch.no_grad()
def sample_reply(lm: torch.nn.Module, ids: list[int], stops: set[int], max_tokens: int, seed: int) -> list[int]:
    """Sample one reply (temperature 1) until a stop token or ``max_tokens``."""
    gen = torch.Generator().manual_seed(seed)
    out: list[int] = []
    for _ in range(max_tokens):  # the whole prefix each step: a tiny model, short replies, no cache to manage
        logits = lm(input_ids=torch.tensor([ids + out])).logits[0, -1]
        token = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen))
        out.append(token)
        if token in stops:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=384)
    parser.add_argument("--json", type=Path, default=RESULTS / "goal_position.json")
    args = parser.parse_args()
    env = gym.make("textgym/Dialogue-v0", split="validation").unwrapped
    tok = env.tokenizer
    lm = load_model("tiny").eval()
    speaker = tok("assistant :", add_special_tokens=False)["input_ids"]
    stops = set(env.stop_token_ids)
    rewards = {v: [] for v in VARIANTS}
    realized = {v: [] for v in VARIANTS}
    for j in range(args.episodes):
        env.reset(seed=j, options={"prompt_index": j % len(env.scenarios)})
        episode = env.episode
        shop = env.scenarios[episode.index].shop
        question = env.messages()[-1]["content"]
        act = ACTS[correct_act(shop, question)]
        ids = env.prompt_ids[episode.index].tolist()
        if ids[-len(speaker) :] != speaker:
            raise RuntimeError("a Dialogue-v0 prompt does not end with 'assistant :'")
        goal = int(tok.convert_tokens_to_ids(ACT_WORDS[act]))
        prompts = dict(zip(VARIANTS, (ids, ids + [goal], ids[: -len(speaker)] + [goal] + speaker), strict=True))
        for variant, prompt in prompts.items():
            reply = env.decode_completion(sample_reply(lm, prompt, stops, env.max_new_tokens, seed=j))
            rewards[variant].append(float(env.score([env.turn_prompt(episode)], [reply]).total[0]))
            realized[variant].append(float(realizes(act, shop, question, reply)))
    base = np.array(rewards[VARIANTS[0]])
    result = {
        "episodes": args.episodes,
        "split": "validation",
        "variants": {
            v: {
                "first_reply_reward": float(np.mean(rewards[v])),
                "standard_error": float(np.std(rewards[v], ddof=1) / np.sqrt(args.episodes)),
                "realized_rate": float(np.mean(realized[v])),
                "paired_difference_to_no_act": float(np.mean(np.array(rewards[v]) - base)),
                "paired_standard_error": float(np.std(np.array(rewards[v]) - base, ddof=1) / np.sqrt(args.episodes)),
            }
            for v in VARIANTS
        },
    }
    for v, r in result["variants"].items():
        print(
            f"{v:<28} reward {r['first_reply_reward']:.3f} ± {r['standard_error']:.3f}  "
            f"vs none {r['paired_difference_to_no_act']:+.3f} ± {r['paired_standard_error']:.3f}  "
            f"realizes the act {100 * r['realized_rate']:.1f}%"
        )
    write_result(result, args.json)


if __name__ == "__main__":
    main()
