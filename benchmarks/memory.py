"""Peak resident memory of one SmolLM2-135M PPO rollout + update: full fine-tuning vs LoRA.

Each configuration runs in its own Python process (so one's allocations cannot hide in the
other's peak) and reports ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at three points: after
the imports, after the env and agent are built, and after one ``learn`` call of exactly one
rollout and one update epoch. The workload: CatText-v0 with ``tokenizer="smollm2-135m"`` (its
fluency reward scores completions with its own frozen SmolLM2, the same in both
configurations), 16 envs, 24 new tokens per episode, ``agents.make_ppo(..., model="smollm2-135m",
kl_coef=0.05)``, one rollout of 24 steps per env and one epoch over it.

* ``full``: every weight trained; the policy holds the model plus a frozen copy as the KL
  reference, and AdamW keeps two moments per weight.
* ``lora``: ``lora=dict(r=16, lora_alpha=32)`` on every attention and MLP projection; the
  reference is the same weights with the adapters off, and AdamW's state covers the adapters only.

``--quick`` runs 4 envs and 8 new tokens (a check that the script works, not a measurement).
Writes ``benchmarks/results/memory.json`` (``memory_quick.json`` with ``--quick``) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONFIGS: dict[str, dict[str, Any]] = {"full": {}, "lora": {"lora": {"r": 16, "lora_alpha": 32}}}


def peak_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(config: str, n_envs: int, new_tokens: int) -> dict[str, Any]:
    """One rollout + one update in this process; peak RSS at each stage and the parameter counts."""
    import torch

    import agents

    if not Path(agents.__file__).resolve().is_relative_to(ROOT):
        raise RuntimeError(f"imported agents from {agents.__file__}, not from {ROOT}")
    torch.manual_seed(0)
    after_imports = peak_mib()
    ppo = agents.make_ppo(
        "CatText-v0",
        model="smollm2-135m",
        n_envs=n_envs,
        env_kwargs={"tokenizer": "smollm2-135m", "max_new_tokens": new_tokens},
        kl_coef=0.05,
        n_steps=new_tokens,
        batch_size=n_envs * new_tokens,
        n_epochs=1,
        **CONFIGS[config],
    )
    after_build = peak_mib()
    ppo.learn(n_envs * new_tokens)  # exactly one rollout, then one update
    params = list(ppo.policy.parameters())
    return {
        "config": config,
        "n_envs": n_envs,
        "new_tokens": new_tokens,
        "peak_rss_mib": {"after_imports": after_imports, "after_build": after_build, "after_step": peak_mib()},
        "parameters": sum(p.numel() for p in params),
        "trainable_parameters": sum(p.numel() for p in params if p.requires_grad),
        "reference_copy": ppo.policy.reference is not None,
    }


def run_child(config: str, n_envs: int, new_tokens: int) -> dict[str, Any]:
    """Run :func:`measure` in a fresh interpreter and return its result."""
    cmd = [sys.executable, __file__, "--child", config, "--n-envs", str(n_envs), "--new-tokens", str(new_tokens)]
    # This checkout's agents/ and textgym/ first, whatever copy the environment has installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure each configuration in its own process, write the JSON and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 envs, 8 new tokens: checks the script runs")
    parser.add_argument("--n-envs", type=int, default=None)
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--child", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    n_envs = args.n_envs or (4 if args.quick else 16)
    new_tokens = args.new_tokens or (8 if args.quick else 24)
    if args.child:
        print(json.dumps(measure(args.child, n_envs, new_tokens)))
        return
    rows = [run_child(config, n_envs, new_tokens) for config in args.configs]
    print(f"SmolLM2-135M PPO, CatText-v0, {n_envs} envs x {new_tokens} new tokens: one rollout + one update")
    print(f"{'config':<6} {'imports MiB':>12} {'built MiB':>10} {'peak MiB':>9} {'trainable':>12} {'params':>12}")
    for row in rows:
        rss = row["peak_rss_mib"]
        print(
            f"{row['config']:<6} {rss['after_imports']:>12.0f} {rss['after_build']:>10.0f} {rss['after_step']:>9.0f} "
            f"{row['trainable_parameters']:>12,} {row['parameters']:>12,}"
        )
    out = args.out or RESULTS / ("memory_quick.json" if args.quick else "memory.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    note = "peak RSS (ru_maxrss) per configuration, each in its own process, on a shared 2-core machine"
    out.write_text(json.dumps({"note": note, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
