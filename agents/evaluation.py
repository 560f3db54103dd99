"""Evaluate a text agent: mean reward, each reward component, and sample completions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm


def evaluate_policy_text(
    model: BaseAlgorithm,
    env: str | gym.Env,
    n_episodes: int = 64,
    deterministic: bool = False,
    seed: int = 0,
    n_envs: int = 16,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``n_episodes`` episodes (``n_envs`` at a time) and summarize them.

    Episode ``j`` is reset with seed ``seed + j``, so two agents evaluated with the same
    seed see the same prompts.

    Returns:
        ``{"mean_reward", "std_reward", "components": {name: mean}, "episodes": [...]}``
        where each episode is ``{"prompt", "completion", "reward", "components"}``.
    """
    from agents.factory import resolve_env_id

    k = max(1, min(n_envs, n_episodes))
    if isinstance(env, str):
        envs = [gym.make(resolve_env_id(env), **(env_kwargs or {})) for _ in range(k)]
    else:
        if k > 1:
            raise ValueError("pass an env id (not an Env instance) to evaluate with n_envs > 1")
        envs = [env]
    episodes: list[dict[str, Any]] = []
    next_episode = 0
    while next_episode < n_episodes:
        batch = min(k, n_episodes - next_episode)
        obs = [envs[i].reset(seed=seed + next_episode + i)[0] for i in range(batch)]
        returns = np.zeros(batch)
        done = np.zeros(batch, dtype=bool)
        while not done.all():
            stacked = {key: np.stack([o[key] for o in obs]) for key in obs[0]}
            actions, _ = model.predict(stacked, deterministic=deterministic)
            for i in np.flatnonzero(~done):
                obs[i], reward, terminated, truncated, info = envs[i].step(int(actions[i]))
                returns[i] += reward
                if terminated or truncated:
                    done[i] = True
                    episodes.append(
                        {
                            "index": next_episode + int(i),  # reset with seed + index
                            "prompt": info["prompt"],
                            "completion": info["completion"],
                            "reward": float(returns[i]),
                            "components": info["reward_components"],
                        }
                    )
        next_episode += batch
    rewards = np.array([e["reward"] for e in episodes])
    names = episodes[0]["components"].keys() if episodes else []
    return {
        "mean_reward": float(rewards.mean()),
        "std_reward": float(rewards.std()),
        "components": {n: float(np.mean([e["components"][n] for e in episodes])) for n in names},
        "episodes": episodes,
    }


def paired_difference(before: dict[str, Any], after: dict[str, Any]) -> tuple[float, float, int]:
    """Mean reward difference ``after - before`` over the same episodes, with its standard error.

    Both results come from :func:`evaluate_policy_text` with the same ``seed`` and
    ``n_episodes``, so episode ``index`` j had the same prompt both times; pairing removes the
    prompt-to-prompt spread from the comparison.

    Returns:
        ``(mean difference, standard error of the mean, number of pairs)``.

    Raises:
        ValueError: If the two results do not hold the same episode indices.
    """
    b = {e["index"]: e["reward"] for e in before["episodes"]}
    a = {e["index"]: e["reward"] for e in after["episodes"]}
    if a.keys() != b.keys():
        raise ValueError("before and after must cover the same episodes (same seed and n_episodes)")
    diff = np.array([a[i] - b[i] for i in sorted(a)])
    sem = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    return float(diff.mean()), sem, len(diff)
