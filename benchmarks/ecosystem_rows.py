"""The rows of docs/ecosystem.md's opening table (issue 29): each client's command, written once, and how it runs.

The slow tests (``tests/envs/test_teaching_learns.py``, ``test_rl_zoo3.py``, ``test_rllib.py``)
and ``benchmarks/ecosystem.py``, which writes the table's JSON, both import the command strings
and the ``run_*`` functions from here, so the table prints exactly what the tests run. Python
code rows are evaluated from their string (``eval``) with only the seed added; shell rows are
split and run with only ``--seed`` added. The module imports nothing but the standard library at
the top, so RLlib's own venv (which has no SB3) imports it too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENV_ID = "textgym/TinyCat-v1"

#: SB3 as a student writes it: every default (one env, n_steps=2048), 16 rollouts.
SB3_CODE = 'PPO("MlpPolicy", make_vec_env("textgym/TinyCat-v1")).learn(32_768)'
#: rl_zoo3's own "default" hyperparameters (SB3's, MlpPolicy), no -conf, its eval callback on.
ZOO_TRAIN = "python -m rl_zoo3.train --algo ppo --env textgym/TinyCat-v1 --gym-packages textgym -n 50000"
ZOO_ENJOY = (
    "python -m rl_zoo3.enjoy --algo ppo --env textgym/TinyCat-v1 --gym-packages textgym"
    " -f logs --no-render --deterministic"
)
#: RLlib's PPO with every default (new API stack, 2 env-runner processes, 4,000 steps an iteration).
RLLIB_CODE = 'PPOConfig().environment("envs_registry:textgym/TinyCat-v1").build_algo()'
RLLIB_STEPS = 44_000
#: CleanRL's own ppo.py (not in the repository: CleanRL ships it as a file to copy, not as a module).
CLEANRL_COMMAND = "python ppo.py --env-id envs_registry:textgym/TinyCat-v1"
#: textgym's adapted copy in CleanRL's layout (its own hyperparameters: gamma 1, 8 envs, 10 epochs).
CLEANRL_COPY_COMMAND = "python examples/cleanrl_ppo.py --env-id textgym/TinyCat-v1"

CLEANRL_NOT_UNMODIFIED = (
    "no: it runs (Gymnasium 1.4) but logs no episode, with any env (CartPole too): its logging reads"
    ' `infos["final_info"]`, which Gymnasium 1.x\'s `SyncVectorEnv` (next-step autoreset) never writes'
    ' (the statistics are in `infos["episode"]`); it saves no model, so nothing it learned can be read;'
    " CleanRL pins gymnasium==0.29.1, textgym needs 1.x"
)


@dataclass(frozen=True)
class Row:
    """One client of the table.

    Attributes:
        key: the row's name on ``benchmarks/ecosystem.py --rows``.
        client: the library, as the table names it.
        command: the exact commands or code the row runs, in order.
        unmodified: ``"yes"``, or ``"no: ..."`` saying exactly what the client cannot do and why.
        not_run: why ``benchmarks/ecosystem.py`` measures nothing for this row (None: it runs it).
    """

    key: str
    client: str
    command: tuple[str, ...]
    unmodified: str
    not_run: str | None = None


ROWS = (
    Row("sb3", "Stable-Baselines3", (SB3_CODE,), "yes"),
    Row("zoo", "rl_zoo3", (ZOO_TRAIN, ZOO_ENJOY), "yes"),
    Row(
        "rllib",
        "RLlib",
        (RLLIB_CODE,),
        "yes, with the module-prefixed id; the plain id `textgym/TinyCat-v1` raises NamespaceNotFound in"
        " RLlib's worker processes, which never import textgym (Gymnasium 1.x loads no plugins)",
    ),
    Row(
        "cleanrl",
        "CleanRL `ppo.py`",
        (CLEANRL_COMMAND,),
        CLEANRL_NOT_UNMODIFIED,
        not_run="nothing to read: no episode line, no saved model (and its file is CleanRL's, not shipped here)",
    ),
    Row(
        "cleanrl_copy",
        "CleanRL layout (textgym's copy)",
        (CLEANRL_COPY_COMMAND,),
        "no: textgym's adapted copy of `ppo.py` (episode logging that reads Gymnasium 1.x's info)",
    ),
)


def row(key: str) -> Row:
    """The row named ``key``.

    Raises:
        ValueError: if no row has that name.
    """
    for r in ROWS:
        if r.key == key:
            return r
    raise ValueError(f"no row {key!r}; the rows are {[r.key for r in ROWS]}")


def greedy_returns(act: Callable[[Any], int], env_id: str = ENV_ID) -> list[float]:
    """The return of ``act`` (observation -> action) from every prompt of ``env_id``, in prompt order.

    The episodes are deterministic given the prompt and the policy, so this is the greedy return.
    """
    import gymnasium as gym

    import textgym  # noqa: F401  (registers the ids)

    env = gym.make(env_id)
    out = []
    for index in range(len(env.unwrapped.prompts)):
        obs, _ = env.reset(seed=0, options={"prompt_index": index})
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total, done = total + float(reward), terminated or truncated
        out.append(total)
    return out


def run_sb3(seed: int) -> dict[str, Any]:
    """:data:`SB3_CODE` evaluated with ``seed=seed`` added to ``PPO`` and ``make_vec_env``; its greedy returns."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    import textgym  # noqa: F401  (registers the ids: the code uses the plain id)

    names = {"PPO": partial(PPO, seed=seed), "make_vec_env": partial(make_vec_env, seed=seed)}
    model = eval(SB3_CODE, names)  # noqa: S307  (this module's own constant)
    returns = greedy_returns(lambda obs: int(model.predict(obs, deterministic=True)[0]))
    return {"steps": int(model.num_timesteps), "greedy_returns": returns}


def _split(command: str, seed: int | None, python: str) -> list[str]:
    """A documented ``python ...`` command as an argument list for ``python``, with ``--seed`` added if given."""
    words = command.split()
    if words[0] != "python":
        raise ValueError(f"not a python command: {command!r}")
    return [python, *words[1:], *([] if seed is None else ["--seed", str(seed)])]


def _run(args: list[str], cwd: Path, timeout: float) -> str:
    # PYTHONPATH: the subprocess imports this checkout's textgym and envs_registry.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = result.stdout[-3000:] + result.stderr[-3000:]
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}:\n{tail}")
    return result.stdout


def run_zoo(seed: int, cwd: Path, python: str = sys.executable) -> dict[str, Any]:
    """:data:`ZOO_TRAIN` (plus ``--seed``) then :data:`ZOO_ENJOY` in ``cwd``; greedy returns and enjoy's mean reward."""
    from stable_baselines3 import PPO

    _run(_split(ZOO_TRAIN, seed, python), cwd, timeout=1800)
    model = PPO.load(cwd / "logs" / "ppo" / "textgym-TinyCat-v1_1" / "textgym-TinyCat-v1.zip", device="cpu")
    returns = greedy_returns(lambda obs: int(model.predict(obs, deterministic=True)[0]))
    out = _run(_split(ZOO_ENJOY, None, python), cwd, timeout=600)
    match = re.search(r"Mean reward: ([-0-9.]+)", out)
    if match is None:
        raise RuntimeError(f"no 'Mean reward:' line in enjoy's output:\n{out[-2000:]}")
    return {"steps": int(model.num_timesteps), "greedy_returns": returns, "enjoy_mean_reward": float(match.group(1))}


def run_rllib(seed: int) -> dict[str, Any]:
    """:data:`RLLIB_CODE` with ``.debugging(seed=seed)`` added, trained to :data:`RLLIB_STEPS`; its greedy returns.

    Needs ray[rllib] (its own venv). Greedy: the argmax of the RLModule's logits.

    Raises:
        RuntimeError: if RLlib has not sampled :data:`RLLIB_STEPS` steps after 20 iterations.
    """
    import ray
    import torch
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.columns import Columns

    code = RLLIB_CODE.replace(".build_algo()", f".debugging(seed={seed}).build_algo()")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        algo = eval(code, {"PPOConfig": PPOConfig})  # noqa: S307  (this module's own constant)
        steps = 0
        for _ in range(20):  # RLlib's default iteration is 4,000 steps: 11 of them reach RLLIB_STEPS
            # An iteration whose workers return no samples within RLlib's sample_timeout_s (a loaded
            # host) reports no env_runners metrics; it sampled nothing, so the count stays.
            steps = algo.train().get("env_runners", {}).get("num_env_steps_sampled_lifetime", steps)
            if steps >= RLLIB_STEPS:
                break
        if steps < RLLIB_STEPS:
            raise RuntimeError(f"RLlib sampled only {steps} steps in 20 iterations")
        module = algo.get_module()

        def act(obs: Any) -> int:
            with torch.no_grad():
                out = module.forward_inference({Columns.OBS: torch.as_tensor(obs[None])})
            return int(out[Columns.ACTION_DIST_INPUTS][0].argmax())

        returns = greedy_returns(act, "envs_registry:" + ENV_ID)
        algo.stop()
    finally:
        ray.shutdown()
    return {"steps": int(steps), "greedy_returns": returns}


def run_cleanrl_copy(seed: int, cwd: Path, python: str = sys.executable) -> dict[str, Any]:
    """:data:`CLEANRL_COPY_COMMAND` (plus ``--seed`` and ``--out cwd``); the greedy return it reports.

    The script scores its greedy policy on 100 seeded episodes (prompts drawn at random), not on
    each prompt once; its steps are the last point of its training curve (``cwd/cleanrl_ppo.json``).

    Raises:
        RuntimeError: if the script fails or prints no greedy return.
    """
    out = _run([*_split(CLEANRL_COPY_COMMAND, seed, python), "--out", str(cwd)], ROOT, timeout=1800)
    match = re.search(r"^PPO \(greedy\): return (-?\d+\.\d+) \+- ", out, flags=re.M)
    if match is None:
        raise RuntimeError(f"no 'PPO (greedy): return' line in the output:\n{out[-2000:]}")
    curve = json.loads((cwd / "cleanrl_ppo.json").read_text())["panels"][0]["curves"]["PPO (training episodes)"]
    return {"steps": int(curve["steps"][-1]), "greedy_return": float(match.group(1))}
