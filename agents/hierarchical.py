"""Train both levels of a textgym hierarchy together on SB3's machinery.

* The **low level** is :class:`agents.PPO` with :class:`agents.LMActorCriticPolicy` (as
  :func:`agents.make_ppo` builds it) on the low-level view (the token MDP with the subgoal as
  a control token in the observation), trained on extrinsic + ``intrinsic_weight`` x
  intrinsic reward. Each turn's subgoal is drawn from the current high-level policy.
* The **high level** is stock SB3 ``PPO`` with ``MlpPolicy`` on the high-level view's
  ``features``; each of its steps runs the current low-level LM (sampling) over one option,
  and its returns are semi-MDP ones (:class:`agents.semi_mdp.SemiMDPRolloutBuffer`: the
  discount to the next decision is ``gamma**span_tokens``).
* :meth:`HierarchicalAgent.learn` alternates: ``low_steps`` low-level tokens, then
  ``high_steps`` high-level decisions over the current low level, until the token budget
  (both levels' tokens together) is spent. With ``schedule="joint"`` the high level runs no
  rollouts of its own: it learns from the acts it sampled for the low level's training turns
  (:mod:`agents.hier_joint`), one update after each ``low_steps`` tokens. Extrinsic and
  intrinsic returns are logged separately on each level's SB3 logger
  (``rollout/ep_extrinsic_mean``, ``rollout/ep_intrinsic_mean``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FilterObservation, FlattenObservation
from stable_baselines3 import PPO as SB3PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import configure_logger

from agents.algorithms import PPO
from agents.callbacks import ActAccuracyLog, RewardSplitLog
from agents.factory import make_env, make_ppo
from agents.hier_joint import DecisionRecorder, SpanRewards, decisions_buffer
from agents.hierarchy_config import HierarchyConfig, Schedule
from agents.semi_mdp import RecordDiscounts, SemiMDPRolloutBuffer

#: The file of a saved agent that holds its configuration (:class:`HierarchyConfig`) and counters.
_CONFIG_FILE = "hierarchical.json"


class HierarchicalAgent:
    """A high-level SB3 policy that picks subgoals and a low-level LM policy that writes toward them.

    Build it with :func:`make_hierarchical`, or from an :class:`agents.HierarchyConfig` (``config``).
    Attributes ``low`` (:class:`agents.PPO`) and ``high`` (SB3 ``PPO``) are the two learners;
    ``low_log`` and ``high_log`` their :class:`agents.callbacks.RewardSplitLog` histories; ``act_log``
    (:class:`agents.callbacks.ActAccuracyLog`) how often the high level's acts on the low
    level's training turns were correct; ``tokens`` the tokens written so far
    (``low.num_timesteps`` plus the low level's tokens inside the high level's rollouts).
    """

    def __init__(self, config: HierarchyConfig):
        if not isinstance(config, HierarchyConfig):
            raise TypeError(f"config must be an agents.HierarchyConfig, got {type(config).__name__}")
        self.config = config
        low_id, high_id = config.views
        env_kwargs = dict(config.env_kwargs)
        self.high_tokens = 0  # tokens the low level wrote inside high-level rollouts
        self._count_tokens = False
        self.low_log, self.high_log = RewardSplitLog(), RewardSplitLog()
        self.act_log = ActAccuracyLog()  # the high level's acts on the low level's training turns
        self._high_id = high_id
        self.joint = config.schedule == "joint"
        # Skill phase (``skill_tokens``): the low level's acts are uniformly random and the high
        # level is not trained; the generator is seeded from the config, so runs repeat.
        self._skill_phase = False
        self._uniform_acts = np.random.default_rng(config.seed)

        def low_env() -> gym.Env:
            # Joint schedule: each slot's own recorder of the high level's decisions.
            subgoal = DecisionRecorder(gamma=config.gamma) if self.joint else self._subgoal
            return gym.make(low_id, intrinsic_weight=config.intrinsic_weight, subgoal_policy=subgoal, **env_kwargs)

        # Alternating schedule: one subgoal policy for every slot, so the slots run batched (one
        # template env). Joint: each slot has its own recorder, so each its own env (SB3's
        # DummyVecEnv, slot i seeded with seed + i as the batched env seeds it).
        low_envs = make_vec_env(low_env, n_envs=config.n_envs, seed=config.seed) if self.joint else low_env
        self.low: PPO = make_ppo(
            low_envs, model=config.model, n_envs=config.n_envs, seed=config.seed, **config.low_kwargs
        )
        self.high: SB3PPO = SB3PPO(
            "MlpPolicy",
            make_env(
                lambda: self.high_view(gamma=config.gamma, **env_kwargs),
                n_envs=config.n_high_envs,
                seed=config.seed,
            ),
            rollout_buffer_class=SemiMDPRolloutBuffer,
            gamma=config.gamma,
            seed=config.seed,
            **config.high_kwargs,
        )
        #: Joint schedule: the low-level slots' subgoal policies, in the VecEnv's order.
        self._recorders: list[DecisionRecorder] = []
        if self.joint:
            self._recorders = self.low.env.get_attr("subgoal_policy")
            for recorder in self._recorders:
                recorder.high = self.high
            self._span_rewards = SpanRewards(self._recorders, config.intrinsic_weight)

    # ----- the two levels as functions of each other -----
    def _subgoal(self, features: np.ndarray) -> int:
        """The low-level view's ``subgoal_policy``: the current high level, sampling (uniform in the skill phase)."""
        if self._skill_phase:
            return int(self._uniform_acts.integers(self.high.action_space.n))
        return int(self.high.predict(features, deterministic=False)[0])

    def low_policy(self, low_env: gym.Env, deterministic: bool = False) -> Callable[[dict[str, np.ndarray]], int]:
        """The high-level view's ``low_policy``: the current low-level LM (one token per call)."""

        def act(obs: dict[str, np.ndarray]) -> int:
            if self._count_tokens:
                self.high_tokens += 1
            return int(self.low.predict(obs, deterministic=deterministic)[0])

        return act

    def high_view(self, gamma: float = 0.99, deterministic_low: bool = False, **env_kwargs: Any) -> gym.Env:
        """The high-level view over the current low level, observing the ``features`` only (for ``MlpPolicy``).

        Args:
            gamma: The within-span discount (1.0 gives the undiscounted extrinsic return).
            deterministic_low: The low level writes its argmax tokens instead of sampling.
            **env_kwargs: The low-level view's keyword arguments (e.g. ``split``).
        """
        env = gym.make(
            self._high_id,
            low_policy=lambda low_env: self.low_policy(low_env, deterministic_low),
            gamma=gamma,
            low_env_kwargs=env_kwargs,
        )
        return FlattenObservation(FilterObservation(env, ["features"]))

    @property
    def tokens(self) -> int:
        """Tokens written so far by the low level, in its own rollouts and inside the high level's."""
        return int(self.low.num_timesteps) + self.high_tokens

    # ----- SB3-like API -----
    def learn(
        self,
        total_tokens: int,
        low_steps: int | None = None,
        high_steps: int | None = None,
        callback: BaseCallback | None = None,
    ) -> HierarchicalAgent:
        """Alternate the two levels until ``total_tokens`` more tokens are written.

        Args:
            total_tokens: Token budget of this call: low-level PPO steps plus the tokens the low
                level writes during the high level's rollouts.
            low_steps: Low-level PPO steps per round (default: one rollout, ``n_envs * n_steps``).
            high_steps: High-level decisions per round (default: one rollout of the high level);
                unused by the joint schedule, whose high level learns from the round's turns.
            callback: An extra SB3 callback for the low level's learn calls (e.g. to read infos).

        Raises:
            ValueError: If a budget or step count is not positive.
        """
        low_steps = low_steps or self.low.n_envs * self.low.n_steps
        high_steps = high_steps or self.high.n_envs * self.high.n_steps
        if min(total_tokens, low_steps, high_steps) < 1:
            raise ValueError(
                f"total_tokens, low_steps, high_steps must be >= 1, got {total_tokens, low_steps, high_steps}"
            )
        end = self.tokens + total_tokens
        while self.tokens < end:
            # A round starts in the skill phase while fewer than skill_tokens tokens are written.
            self._skill_phase = self.tokens < self.config.skill_tokens
            low_callbacks: list[BaseCallback] = [self.low_log, self.act_log] + ([callback] if callback else [])
            if self.joint:
                low_callbacks.append(self._span_rewards)
            self.low.learn(low_steps, callback=CallbackList(low_callbacks), reset_num_timesteps=False)
            if self.joint:
                self._train_high_on_low_turns()
                continue
            if self.tokens >= end:
                break
            if self._skill_phase:
                continue  # the high level waits until the low level follows its acts
            self._count_tokens = True
            try:
                self.high.learn(
                    high_steps, callback=CallbackList([RecordDiscounts(), self.high_log]), reset_num_timesteps=False
                )
            finally:
                self._count_tokens = False
        return self

    def _train_high_on_low_turns(self) -> None:
        """Joint schedule: one PPO update of the high level on the decisions of the low level's finished episodes."""
        episodes = [episode for recorder in self._recorders for episode in recorder.take_episodes()]
        if not episodes:
            return  # no episode finished yet: the decisions wait for the next round
        high = self.high
        if getattr(high, "_logger", None) is None:  # SB3 sets it up in learn(), which this schedule never calls
            high.set_logger(configure_logger(high.verbose, high.tensorboard_log, "high", True))
        high.rollout_buffer = decisions_buffer(high, episodes)
        high.num_timesteps += high.rollout_buffer.buffer_size
        extrinsic = float(np.mean([sum(d.extrinsic for d in episode) for episode in episodes]))
        intrinsic = float(np.mean([sum(d.intrinsic for d in episode) for episode in episodes]))
        high.logger.record("rollout/ep_extrinsic_mean", extrinsic)
        high.logger.record("rollout/ep_intrinsic_mean", intrinsic)
        high.train()
        high.logger.dump(step=high.num_timesteps)
        self.high_log.history.append((high.num_timesteps, extrinsic, intrinsic))

    def predict(
        self, observation: dict[str, np.ndarray] | np.ndarray, deterministic: bool = False
    ) -> tuple[np.ndarray, None]:
        """The high level's subgoals for high-level observations (a dict with ``features``, or features).

        The low level writes toward them inside the high-level view (:meth:`high_view`); its own
        token predictions are ``agent.low.predict(low_obs)``.
        """
        features = observation["features"] if isinstance(observation, dict) else observation
        return self.high.predict(np.asarray(features, dtype=np.float32), deterministic=deterministic)

    def save(self, path: str | Path) -> None:
        """Write both levels (``low.zip``, ``high.zip``) and the configuration into folder ``path``."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.low.save(folder / "low.zip")
        self.high.save(folder / "high.zip")
        state = {
            "config": self.config.to_json(),
            "high_tokens": self.high_tokens,
            "num_timesteps": {"low": self.low.num_timesteps, "high": self.high.num_timesteps},
        }
        (folder / _CONFIG_FILE).write_text(json.dumps(state, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> HierarchicalAgent:
        """Rebuild an agent saved by :meth:`save` (weights, optimizers and counters).

        Raises:
            FileNotFoundError: If ``path`` is not a folder written by :meth:`save`.
        """
        folder = Path(path)
        if not (folder / _CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{folder} has no {_CONFIG_FILE}: not a HierarchicalAgent.save folder")
        state = json.loads((folder / _CONFIG_FILE).read_text())
        agent = cls(HierarchyConfig(**state["config"]))
        agent.high_tokens = int(state["high_tokens"])
        for level, learner in (("low", agent.low), ("high", agent.high)):
            learner.set_parameters(str(folder / f"{level}.zip"), exact_match=True)
            learner.num_timesteps = int(state["num_timesteps"][level])
        return agent


def make_hierarchical(
    env_id: str,
    model: str = "tiny",
    n_envs: int = 8,
    n_high_envs: int = 4,
    seed: int = 0,
    intrinsic_weight: float = 1.0,
    gamma: float = 0.99,
    env_kwargs: dict[str, Any] | None = None,
    low_kwargs: dict[str, Any] | None = None,
    high_kwargs: dict[str, Any] | None = None,
    schedule: Schedule = "alternate",
    skill_tokens: int = 0,
) -> HierarchicalAgent:
    """A :class:`HierarchicalAgent` for a textgym hierarchy.

    Args:
        env_id: Either view of a hierarchy (``"HierShopLow-v1"`` or ``"HierShopHigh-v1"``; v0 too).
        model: The low level's LM by name.
        n_envs: Low-level env slots.
        n_high_envs: High-level env slots.
        seed: Seed of both learners and their envs.
        intrinsic_weight: The low level's reward is extrinsic + this x intrinsic.
        gamma: The high level's discount per token.
        env_kwargs: Keyword arguments of the low-level view (None: none).
        low_kwargs: :func:`agents.make_ppo`'s keyword arguments (None: none).
        high_kwargs: SB3 ``PPO``'s, over the config's defaults (None: none).
        schedule: ``"alternate"`` or ``"joint"``.
        skill_tokens: Tokens of the skill phase at the start of training (alternating schedule only).

    Each is the :class:`agents.HierarchyConfig` attribute of the same name; see there for what
    it does and how it is checked.

    Raises:
        ValueError: As :class:`agents.HierarchyConfig`.
        TypeError: As :class:`agents.HierarchyConfig`.

    >>> import agents
    >>> agent = agents.make_hierarchical("HierShopHigh-v1", n_envs=2, n_high_envs=1, low_kwargs={"n_steps": 8})
    >>> type(agent.low).__name__, type(agent.high.rollout_buffer).__name__
    ('PPO', 'SemiMDPRolloutBuffer')
    """
    config = HierarchyConfig(
        env_id,
        model=model,
        n_envs=n_envs,
        n_high_envs=n_high_envs,
        seed=seed,
        intrinsic_weight=intrinsic_weight,
        gamma=gamma,
        env_kwargs=env_kwargs or {},
        low_kwargs=low_kwargs or {},
        high_kwargs=high_kwargs or {},
        schedule=schedule,
        skill_tokens=skill_tokens,
    )
    return HierarchicalAgent(config)
