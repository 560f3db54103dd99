"""Rollout memory: agents.EpisodeRolloutBuffer vs SB3's DictRolloutBuffer, filled with the same rollout.

SB3 stores each step's whole token state (ids and mask of width prompt + new tokens), so a
rollout's memory grows with the square of the episode length; ours keeps each episode's
tokens once. Both buffers are filled, through their ``add``, with one identical rollout and
measured by the ``nbytes`` of every array they hold once full (our observations are rebuilt on
demand and checked equal to SB3's stored ones here). No model is needed: actions are random
tokens. Shapes:

* SmolLM2-135M: vocabulary 49,152, 128-token prompts, 256-token completions (each episode
  runs its whole budget), 16 envs, ``n_steps=256`` so every step of an episode is stored;
  slots start at random points of their episodes, as in the steady state of training.
* CatText-v0 with the tiny model: the real env (its prompts, EOS, resets) stepped by random
  tokens, 16 envs, ``n_steps=64`` (``make_ppo``'s default).

It also counts the tokens one update epoch forwards, per segment (as now) vs each episode
forwarded once (the cost of cutting episodes at rollout boundaries, issue 11 item 2).

SB3 (2.9) allocates observations in the space's dtype, int64 for textgym; that is what is
measured. (Older SB3 versions stored float32, half of SB3's observation bytes.) Besides the
totals, the observation storage alone is reported: SB3's observation arrays vs our heads,
tokens and per-step head index; the other per-step arrays (actions, rewards, values, ...) are
the same in both.

Writes ``benchmarks/results/buffer_memory.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import DictRolloutBuffer

import agents

SMOLLM2_VOCAB = 49_152  # len(textgym.models.load_tokenizer("smollm2-135m"))
RESULTS = Path(__file__).resolve().parent / "results" / "buffer_memory.json"


def array_nbytes(buffer: Any) -> int:
    """Bytes of every numpy array the buffer holds (attributes, and arrays inside dicts)."""
    total = 0
    for value in vars(buffer).values():
        items = value.values() if isinstance(value, dict) else [value]
        total += sum(v.nbytes for v in items if isinstance(v, np.ndarray))
    return total


def token_space(vocab: int, width: int) -> spaces.Dict:
    """textgym's token-state space (as TextGenEnv builds it)."""
    return spaces.Dict(
        {
            "input_ids": spaces.Box(0, vocab - 1, (width,), np.int64),
            "attention_mask": spaces.Box(0, 1, (width,), np.int64),
        }
    )


def synthetic_rollout(
    n_envs: int, n_steps: int, prompt: int, new: int, vocab: int, pad: int, seed: int
) -> list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
    """(obs, actions, episode_starts) per step; every episode is a prompt plus ``new`` tokens."""
    rng = np.random.default_rng(seed)
    width = prompt + new
    ids = np.full((n_envs, width), pad, dtype=np.int64)
    ids[:, :prompt] = rng.integers(0, vocab, size=(n_envs, prompt))
    done = rng.integers(0, new, size=n_envs)  # tokens already generated when the rollout starts
    ids[np.arange(width)[None, :] >= prompt + done[:, None]] = pad
    for e in range(n_envs):
        ids[e, prompt : prompt + done[e]] = rng.integers(0, vocab, size=done[e])
    starts = np.zeros(n_envs, dtype=bool)
    out = []
    for _ in range(n_steps):
        lengths = prompt + done
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        actions = rng.integers(0, vocab, size=n_envs)
        out.append(({"input_ids": ids.copy(), "attention_mask": mask}, actions, starts.copy()))
        ids[np.arange(n_envs), lengths] = actions
        done += 1
        starts = done == new  # the budget ran out: a new episode with a new prompt
        for e in np.flatnonzero(starts):
            ids[e] = pad
            ids[e, :prompt] = rng.integers(0, vocab, size=prompt)
            done[e] = 0
    return out


def cattext_rollout(n_envs: int, n_steps: int, seed: int) -> tuple[spaces.Dict, int, list]:
    """The real CatText-v0 env stepped by random tokens (after a warm-up, so episodes are cut)."""
    env = agents.make_env("CatText-v0", n_envs=n_envs, seed=seed)
    rng = np.random.default_rng(seed)
    vocab = int(env.action_space.n)
    obs = env.reset()
    starts = np.ones(n_envs, dtype=bool)
    for _ in range(int(rng.integers(5, 20))):
        obs, _, starts, _ = env.step(rng.integers(0, vocab, size=n_envs))
    out = []
    for _ in range(n_steps):
        actions = rng.integers(0, vocab, size=n_envs)
        out.append(({k: v.copy() for k, v in obs.items()}, actions, starts.copy()))
        obs, _, starts, _ = env.step(actions)
    return env.observation_space, vocab, out


def forward_tokens(buffer: agents.EpisodeRolloutBuffer) -> tuple[int, int]:
    """Tokens one update epoch forwards, per segment as now, and with each episode forwarded once.

    Now: one forward per segment over its last row. Whole episodes: each episode's tokens once
    over all updates, so a segment that continues an episode from the previous rollout adds
    only its new tokens (its prefix was paid there), and one that starts an episode adds its
    prompt too.
    """
    now = whole = 0
    for seg in buffer.segments():
        lengths = buffer.rows(seg[[0, -1]])["attention_mask"].sum(axis=1)
        now += int(lengths[1])
        starts = bool(buffer.episode_starts[seg[0] % buffer.buffer_size, seg[0] // buffer.buffer_size])
        whole += len(seg) + (int(lengths[0]) - 1 if starts else 0)
    return now, whole


def measure(name: str, space: spaces.Dict, vocab: int, n_envs: int, rollout: list) -> dict[str, Any]:
    """Fill both buffers with ``rollout``; bytes of each, and a check that observations agree."""
    n_steps = len(rollout)
    ours = agents.EpisodeRolloutBuffer(n_steps, space, spaces.Discrete(vocab), n_envs=n_envs)
    sb3 = DictRolloutBuffer(n_steps, space, spaces.Discrete(vocab), n_envs=n_envs)
    zeros = torch.zeros(n_envs)
    for obs, actions, starts in rollout:
        for buf in (ours, sb3):
            buf.add(obs, actions[:, None], np.zeros(n_envs, np.float32), starts, zeros, zeros)
    rebuilt = ours.observations
    for key, stored in sb3.observations.items():
        if rebuilt[key].dtype != stored.dtype or not np.array_equal(rebuilt[key], stored):
            raise AssertionError(f"{name}: rebuilt {key} differ from SB3's stored ones")
    ours_bytes, sb3_bytes = array_nbytes(ours), array_nbytes(sb3)
    now, whole = forward_tokens(ours)
    ours_obs = sum(getattr(ours, name).nbytes for name in ("head_of", "heads", "head_pad", "tokens"))
    sb3_obs = sum(v.nbytes for v in sb3.observations.values())
    steps = n_steps * n_envs
    return {
        "shape": name,
        "n_envs": n_envs,
        "n_steps": n_steps,
        "width": int(space["input_ids"].shape[0]),
        "sb3_obs_dtype": str(sb3.observations["input_ids"].dtype),
        "episode_starts_in_rollout": int(np.sum([s for _, _, s in rollout])),
        "heads": int(ours.n_heads),
        "stored_tokens": int(ours.n_tokens),
        "ours_bytes": ours_bytes,
        "sb3_bytes": sb3_bytes,
        "ours_bytes_per_step": ours_bytes / steps,
        "sb3_bytes_per_step": sb3_bytes / steps,
        "ratio": sb3_bytes / ours_bytes,
        "ours_observation_bytes": ours_obs,
        "sb3_observation_bytes": sb3_obs,
        "observation_ratio": sb3_obs / ours_obs,
        "update_forward_tokens_per_segment": now,
        "update_forward_tokens_whole_episodes": whole,
    }


def main() -> None:
    """Measure both shapes, print a table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    n_envs, prompt, new = 16, 128, 256
    smol = synthetic_rollout(n_envs, 256, prompt, new, SMOLLM2_VOCAB, pad=2, seed=args.seed)
    rows = [
        measure("SmolLM2-135M, 128 + 256 tokens", token_space(SMOLLM2_VOCAB, prompt + new), SMOLLM2_VOCAB, n_envs, smol)
    ]
    space, vocab, cat = cattext_rollout(n_envs, 64, args.seed)
    rows.append(measure("tiny, CatText-v0", space, vocab, n_envs, cat))

    print(
        f"{'shape':<32}{'width':>6}{'steps':>7}{'SB3 bytes':>13}{'ours bytes':>12}{'ratio':>8}"
        f"{'SB3 obs':>13}{'ours obs':>10}{'obs ratio':>10}"
    )
    for r in rows:
        print(
            f"{r['shape']:<32}{r['width']:>6}{r['n_steps'] * r['n_envs']:>7}{r['sb3_bytes']:>13,}"
            f"{r['ours_bytes']:>12,}{r['ratio']:>7.1f}x{r['sb3_observation_bytes']:>13,}"
            f"{r['ours_observation_bytes']:>10,}{r['observation_ratio']:>9.1f}x"
        )
    for r in rows:
        now, whole = r["update_forward_tokens_per_segment"], r["update_forward_tokens_whole_episodes"]
        print(
            f"{r['shape']}: an update epoch forwards {now:,} tokens (one forward per segment); "
            f"{whole:,} if each episode were forwarded once ({now / whole:.2f}x)"
        )
    bar = rows[0]["ratio"] >= 50
    print(f"SmolLM2 shape: ours {rows[0]['ratio']:.1f}x smaller than SB3's (bar: 50x) -> {'met' if bar else 'NOT met'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "bar_50x_met": bar}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
