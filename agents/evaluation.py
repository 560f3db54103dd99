"""Evaluate a text agent: mean reward, each reward component, and sample completions.

Works for SB3 models (anything with ``predict``) and plain functions from a batch of
observations to actions, on textgym envs and wrapped ones (``wrap_for_stock_agents``), so the
examples, the CLI and the tests evaluate the same way: episode ``j`` is reset with seed
``seed + j``, and two agents evaluated with the same seed see the same prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

#: A batch of observations (a dict of stacked arrays, or one stacked array) -> one action per row.
Actor = Callable[[Any], Sequence[int] | np.ndarray]


def _stack(obs: list[Any]) -> Any:
    if isinstance(obs[0], dict):
        return {key: np.stack([o[key] for o in obs]) for key in obs[0]}
    return np.stack([np.asarray(o) for o in obs])


def evaluate_policy_text(
    model: Any,
    env: str | gym.Env | Callable[[], gym.Env],
    n_episodes: int = 64,
    deterministic: bool = False,
    seed: int = 0,
    n_envs: int = 16,
    env_kwargs: dict[str, Any] | None = None,
    options: Callable[[int], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run ``n_episodes`` episodes (``n_envs`` at a time) and summarize them.

    Episode ``j`` is reset with seed ``seed + j``, so two agents evaluated with the same
    seed see the same prompts.

    Args:
        model: An SB3 model (its ``predict(obs, deterministic=...)`` is used) or an
            :data:`Actor`, a function from a batch of observations to actions.
        env: An env id (made with ``env_kwargs``), a factory of envs (e.g. wrapped ones), or
            one Env instance (then ``n_envs`` is 1).
        n_episodes: Episodes to run.
        deterministic: Passed to ``predict`` (an SB3 model's greedy action); an Actor decides itself.
        seed: Episode ``j`` is reset with ``seed + j``.
        n_envs: Episodes run side by side.
        env_kwargs: Keyword arguments of ``gym.make`` when ``env`` is an id.
        options: Episode ``j`` is reset with ``options=options(j)`` too, e.g. ``lambda j:
            {"prompt_index": j}`` to pair two envs that share their scenarios but draw them
            differently from a seed (Dialogue-v0 and the hierarchy's high-level view).

    Returns:
        ``{"mean_reward", "std_reward", "components": {name: mean}, "episodes": [...]}``
        where each episode is ``{"index", "prompt", "completion", "reward", "components"}``.

    Raises:
        ValueError: If ``n_episodes`` < 1, or an Env instance is given with ``n_envs`` > 1.
        TypeError: If ``env`` is none of the above.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    k = max(1, min(n_envs, n_episodes))
    envs = _build_envs(env, k, env_kwargs)
    if hasattr(model, "predict"):
        act: Actor = lambda obs: model.predict(obs, deterministic=deterministic)[0]  # noqa: E731
    else:
        act = model
    episodes: list[dict[str, Any]] = []
    for first in range(0, n_episodes, k):
        episodes += _run_episodes(envs[: min(k, n_episodes - first)], act, first, seed, options)
    episodes.sort(key=lambda e: e["index"])
    return _summary(episodes)


def _build_envs(env: str | gym.Env | Callable[[], gym.Env], k: int, env_kwargs: dict[str, Any] | None) -> list[gym.Env]:
    """``k`` envs to run side by side, from an id, one Env instance (``k`` must be 1) or a factory."""
    from agents.factory import resolve_env_id

    if isinstance(env, str):
        return [gym.make(resolve_env_id(env), **(env_kwargs or {})) for _ in range(k)]
    if isinstance(env, gym.Env):
        if k > 1:
            raise ValueError("pass an env id or factory (not an Env instance) to evaluate with n_envs > 1")
        return [env]
    if callable(env):
        return [env() for _ in range(k)]
    raise TypeError(f"env must be an env id, an Env or an env factory, got {type(env).__name__}")


def _run_episodes(
    envs: list[gym.Env],
    act: Actor,
    first: int,
    seed: int,
    options: Callable[[int], dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Episodes ``first``, ``first + 1``, ... one per env, side by side, in the order they end."""
    obs = [
        env.reset(seed=seed + first + i, options=None if options is None else options(first + i))[0]
        for i, env in enumerate(envs)
    ]
    returns = np.zeros(len(envs))
    done = np.zeros(len(envs), dtype=bool)
    episodes = []
    while not done.all():
        actions = act(_stack(obs))
        for i in np.flatnonzero(~done):
            obs[i], reward, terminated, truncated, info = envs[i].step(int(actions[i]))
            returns[i] += reward
            if terminated or truncated:
                done[i] = True
                episodes.append(
                    {
                        "index": first + int(i),  # reset with seed + index
                        "prompt": info["prompt"],
                        "completion": info["completion"],
                        "reward": float(returns[i]),
                        "components": info["reward_components"],
                    }
                )
    return episodes


def _summary(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread of the episodes' rewards, each component's mean, and the episodes."""
    rewards = np.array([e["reward"] for e in episodes])
    names = episodes[0]["components"].keys()
    return {
        "mean_reward": float(rewards.mean()),
        "std_reward": float(rewards.std()),
        "components": {n: float(np.mean([e["components"][n] for e in episodes])) for n in names},
        "episodes": episodes,
    }


def standard_error(result: dict[str, Any]) -> float:
    """Standard error of the mean episode reward of an :func:`evaluate_policy_text` result (0 for one episode).

    >>> standard_error({"episodes": [{"reward": 1.0}, {"reward": 3.0}]})
    1.0
    """
    rewards = np.array([e["reward"] for e in result["episodes"]])
    return float(rewards.std(ddof=1) / np.sqrt(len(rewards))) if len(rewards) > 1 else 0.0


def success_rate(result: dict[str, Any], components: Sequence[str]) -> float:
    """Share of episodes that succeed: the mean over episodes of the product of ``components``.

    With 0/1 components (TinyCat's ``topic`` and ``grammar``) this is the share of episodes
    where all of them hold.

    >>> eps = [{"components": {"topic": 1.0, "grammar": 1.0}}, {"components": {"topic": 1.0, "grammar": 0.0}}]
    >>> success_rate({"episodes": eps}, ["topic", "grammar"])
    0.5

    Raises:
        KeyError: If an episode lacks one of ``components`` (the message lists those it has).
    """
    values = []
    for e in result["episodes"]:
        missing = [c for c in components if c not in e["components"]]
        if missing:
            raise KeyError(f"episode has no reward component {missing}; it has {sorted(e['components'])}")
        values.append(float(np.prod([e["components"][c] for c in components])))
    return float(np.mean(values))


def describe(tag: str, result: dict[str, Any], what: str = "reward") -> str:
    """One line: mean reward with its standard error, the number of episodes, each component's mean.

    >>> r = {"mean_reward": 2.0, "components": {"topic": 0.5}, "episodes": [{"reward": 1.0}, {"reward": 3.0}]}
    >>> describe("after", r, "test reward")
    'after: test reward 2.000 +- 1.000 (n=2; topic 0.500)'
    """
    parts = "".join(f"; {k} {v:.3f}" for k, v in result["components"].items())
    n = len(result["episodes"])
    return f"{tag}: {what} {result['mean_reward']:.3f} +- {standard_error(result):.3f} (n={n}{parts})"


def sample_table(
    before: dict[str, Any], after: dict[str, Any], n: int = 3, labels: tuple[str, str] = ("before", "after")
) -> str:
    """The first ``n`` prompts with the completion (and reward) before and after, paired by episode.

    Both results come from :func:`evaluate_policy_text` with the same ``seed``, so episode
    ``index`` j had the same prompt both times.

    >>> ep = lambda c, r: {"episodes": [{"index": 0, "prompt": "p", "completion": c, "reward": r}]}
    >>> print(sample_table(ep("a", 0.0), ep("b", 1.0)))
    p
      before: 'a' (0.00)
      after:  'b' (1.00)

    Raises:
        ValueError: If an episode's prompt differs between the two results.
    """
    after_by_index = {e["index"]: e for e in after["episodes"]}
    width = max(map(len, labels)) + 1
    lines = []
    for b in before["episodes"][:n]:
        a = after_by_index.get(b["index"])
        if a is None or a["prompt"] != b["prompt"]:
            raise ValueError(f"episode {b['index']} is not the same prompt in both results (evaluate with one seed)")
        lines.append(b["prompt"])
        for label, e in zip(labels, (b, a), strict=True):
            lines.append(f"  {label + ':':<{width}} {e['completion']!r} ({e['reward']:.2f})")
    return "\n".join(lines)


def paired_difference(
    before: dict[str, Any], after: dict[str, Any], component: str | None = None
) -> tuple[float, float, int]:
    """Mean difference ``after - before`` over the same episodes, with its standard error.

    Both results come from :func:`evaluate_policy_text` with the same ``seed`` and
    ``n_episodes``, so episode ``index`` j had the same prompt both times; pairing removes the
    prompt-to-prompt spread from the comparison.

    >>> before = {"episodes": [{"index": 0, "reward": 0.0, "components": {"topic": 0.0}},
    ...                        {"index": 1, "reward": 1.0, "components": {"topic": 1.0}}]}
    >>> after = {"episodes": [{"index": 1, "reward": 2.0, "components": {"topic": 1.0}},
    ...                       {"index": 0, "reward": 3.0, "components": {"topic": 1.0}}]}
    >>> paired_difference(before, after)  # differences 3 and 1
    (2.0, 1.0, 2)
    >>> paired_difference(before, after, component="topic")  # differences 1 and 0
    (0.5, 0.5, 2)

    Args:
        before: The first result.
        after: The second result, on the same episodes.
        component: Compare this reward component (``info["reward_components"]``) instead of
            the episode reward.

    Returns:
        ``(mean difference, standard error of the mean, number of pairs)``.

    Raises:
        ValueError: If the two results do not hold the same episode indices.
        KeyError: If an episode lacks ``component`` (the message lists those it has).
    """

    def values(result: dict[str, Any]) -> dict[int, float]:
        if component is None:
            return {e["index"]: e["reward"] for e in result["episodes"]}
        out = {}
        for e in result["episodes"]:
            if component not in e["components"]:
                raise KeyError(f"episode {e['index']} has no component {component!r}; it has {sorted(e['components'])}")
            out[e["index"]] = e["components"][component]
        return out

    b, a = values(before), values(after)
    if a.keys() != b.keys():
        raise ValueError("before and after must cover the same episodes (same seed and n_episodes)")
    diff = np.array([a[i] - b[i] for i in sorted(a)])
    sem = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    return float(diff.mean()), sem, len(diff)
