"""The hierarchy's ceiling: the low level given the correct act every turn, against a stored flat PPO run.

A perfect high level, as an arm: :func:`agents.make_ppo` on ``HierShopLow-v1`` (the stored run's
version: ``-v2`` for ``--version v2`` runs) with its default
``subgoal_policy`` (the correct act, :func:`textgym.data.shop_acts.correct_act`), extrinsic +
intrinsic reward, the LM settings of ``benchmarks/hierarchy.py``, trained on the whole token
budget. It is evaluated as that script evaluates both arms (test scenario ``j`` is episode
``j``, sampling at temperature 1) and compared, per scenario, with the flat arm's test returns
stored in a ``benchmarks/hierarchy.py`` JSON of the same seed and budget. The measure is the
extrinsic return (Dialogue-v0's reward). If this arm does not beat flat PPO, no high level can
make the hierarchy do so at that budget; if it does, the gap left is the high level's.

    python benchmarks/hierarchy_oracle.py benchmarks/results/hierarchy_60k.json
        # writes benchmarks/results/hier_oracle_60k_seed0.json (not matched by hierarchy*.json)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from common import write_result
from renderers.hierarchy import DEFAULT_LM_LR, lr_text

import agents
import textgym  # noqa: F401  (registers the environments)
from agents.callbacks import RewardSplitLog

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("flat_run", type=Path, help="a benchmarks/hierarchy.py JSON: its seed, budget and flat arm")
    parser.add_argument(
        "--out",
        type=Path,
        help="default: results/hier_oracle_<k>k_seed<S>.json (<k>k_lr<LR> at another LM lr, <k>k_v2 for v2)",
    )
    args = parser.parse_args()
    stored = json.loads(args.flat_run.read_text())
    # The flat arm's learn() budget (the hierarchy's final token count), so both learn() calls match.
    seed, tokens = stored["config"]["seed"], stored["tokens"]["hierarchical"]
    # The flat arm's test episodes (episode j is test scenario j), as agents.paired_difference reads them.
    flat = {"episodes": [{"index": j, "reward": r} for j, r in enumerate(stored["test_returns"]["flat"])]}
    lr = stored["config"]["lm_ppo"]["learning_rate"]
    version = stored["config"]["version"]
    # e.g. _lr1e-4_v2; runs at the default lr on v1 keep their names
    tag = ("" if lr == DEFAULT_LM_LR else f"_lr{lr_text(lr)}") + ("" if version == "v1" else f"_{version}")
    out = args.out or RESULTS / f"hier_oracle_{stored['config']['tokens_budget'] // 1024}k{tag}_seed{seed}.json"
    low_id = f"textgym/HierShopLow-{version}"

    torch.manual_seed(seed)
    lm = stored["config"]["lm_ppo"]
    t0 = time.time()
    oracle = agents.make_ppo(lambda: gym.make(low_id), n_envs=stored["config"]["n_envs"], seed=seed, **lm)
    log = RewardSplitLog()
    oracle.learn(tokens, callback=log)
    train_s = time.time() - t0
    test = agents.evaluate_policy_text(
        oracle,
        lambda: gym.make(low_id, split="test"),
        n_episodes=len(flat["episodes"]),
        options=lambda j: {"prompt_index": j},
    )
    # The measure is the extrinsic return (Dialogue-v0's reward): the oracle's reward less its intrinsic part.
    episodes = [{"index": e["index"], "reward": e["components"]["extrinsic"]} for e in test["episodes"]]
    oracle_test = {"episodes": episodes}
    extrinsic = np.asarray([e["reward"] for e in oracle_test["episodes"]])
    diff, sem, n = agents.paired_difference(flat, oracle_test)  # oracle - flat, per test scenario
    print(agents.describe("oracle acts, test", test))
    margin = diff / sem
    print(f"paired (oracle acts - flat): {diff:+.3f} +- {sem:.3f} over {n} = {margin:+.1f} SE")
    result = {
        "command": f"python benchmarks/hierarchy_oracle.py benchmarks/results/{args.flat_run.name}",
        "config": {"seed": seed, "tokens": tokens, "lm_ppo": lm, "version": version, "flat_run": args.flat_run.name},
        "oracle": {
            "mean_extrinsic": float(extrinsic.mean()),
            "stderr": agents.standard_error(oracle_test),
            "components": test["components"],
        },
        "flat_mean_return": float(np.mean(stored["test_returns"]["flat"])),
        "paired": {"difference": diff, "stderr": sem, "n": n, "margin_se": margin},
        "curve": [list(p) for p in log.history],
        "train_seconds": train_s,
        "test_extrinsic": extrinsic.tolist(),
    }
    write_result(result, out)


if __name__ == "__main__":
    main()
