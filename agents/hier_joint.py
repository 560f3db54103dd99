"""The joint schedule of :class:`agents.HierarchicalAgent`: both levels learn from one stream of tokens.

In the alternating schedule the high level runs rollouts of its own, in which the low level
writes tokens that train nothing else. Here the high level's decisions are the acts it
samples for the low level's own training turns: each low-level turn is one option, so the
low level's rollouts are also the high level's experience (as FeUdal networks, Vezhnevets et
al. 2017, and HIRO, Nachum et al. 2018, train both levels from one collected stream), and
the whole token budget goes to low-level PPO.

* :class:`DecisionRecorder` is one low-level env slot's ``subgoal_policy``: it samples the
  current high-level policy and keeps the action's value and log-probability, as SB3's
  ``collect_rollouts`` does.
* :class:`SpanRewards` (a callback of the low level's ``learn``) credits each token's
  extrinsic reward to the option it belongs to: ``sum_j gamma**j r_j`` over the span and its
  discount ``gamma**k`` (semi-MDP, as :class:`textgym.envs.hier_shop.HierShopHighEnv` returns them).
* :func:`decisions_buffer` puts the finished episodes' decisions into a
  :class:`agents.semi_mdp.SemiMDPRolloutBuffer` for SB3 PPO's ``train``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from stable_baselines3 import PPO as SB3PPO
from stable_baselines3.common.callbacks import BaseCallback

from agents.semi_mdp import SemiMDPRolloutBuffer


@dataclass
class Decision:
    """One high-level decision and its option's outcome (filled in as the span's tokens arrive)."""

    features: np.ndarray  # (n_features,) float32, the high level's observation
    act: int
    value: float  # V(features) when the act was sampled
    log_prob: float  # log pi(act | features) when it was sampled
    reward: float = 0.0  # sum_j gamma**j r_j over the span's extrinsic rewards
    extrinsic: float = 0.0  # the same, undiscounted (for logging)
    intrinsic: float = 0.0  # whether the span realized the act
    tokens: int = 0  # k, the span's length
    episode_start: bool = False
    done: bool = False  # the episode ended with this span


@dataclass
class DecisionRecorder:
    """A low-level slot's ``subgoal_policy`` that samples the high level and records each decision.

    Args:
        gamma: The high level's per-token discount.
        high: The high-level SB3 PPO (its policy is read at each call, so it is always current);
            set before the first call (the low level's envs are built before the high level).
    """

    gamma: float
    high: SB3PPO | None = None
    open: list[Decision] = field(default_factory=list)  # sampled, span not finished (oldest first)
    finished: list[Decision] = field(default_factory=list)  # spans done, episode maybe not
    _new_episode: bool = True

    def __call__(self, features: np.ndarray) -> int:
        """Sample an act for ``features`` and record it."""
        if self.high is None:
            raise RuntimeError("DecisionRecorder.high is not set")
        obs = torch.as_tensor(np.asarray(features, dtype=np.float32)[None], device=self.high.device)  # (1, n_features)
        with torch.no_grad():
            action, value, log_prob = self.high.policy(obs)
        act = int(action.reshape(-1)[0])
        self.open.append(
            Decision(
                features=np.asarray(features, dtype=np.float32).copy(),
                act=act,
                value=float(value.reshape(-1)[0]),
                log_prob=float(log_prob.reshape(-1)[0]),
                episode_start=self._new_episode,
            )
        )
        self._new_episode = False
        return act

    def on_token(self, extrinsic: float, intrinsic: float | None, turn_ended: bool, done: bool) -> None:
        """Credit one low-level token's extrinsic reward to the oldest open decision.

        The env asks for the next act inside the step that ends a turn (and inside the reset
        after the episode's end), before SB3's callback sees that step, so the decision a token
        belongs to is the oldest open one, not the newest.

        Raises:
            RuntimeError: If a token arrives with no decision open.
        """
        if not self.open:
            raise RuntimeError("a low-level token arrived with no high-level decision open")
        d = self.open[0]
        d.reward += self.gamma**d.tokens * extrinsic
        d.extrinsic += extrinsic
        d.tokens += 1
        if turn_ended or done:
            d.intrinsic = float(intrinsic or 0.0)
            d.done = done
            self.finished.append(self.open.pop(0))
        if done:
            # In SB3's VecEnvs the act of the next episode's first turn was already sampled, in the
            # auto-reset; otherwise the next call samples it.
            for later in self.open:
                later.episode_start = True
            self._new_episode = not self.open

    def take_episodes(self) -> list[list[Decision]]:
        """The decisions of the episodes finished so far, removed from the recorder (unfinished ones stay)."""
        ends = [i for i, d in enumerate(self.finished) if d.done]
        if not ends:
            return []
        taken, self.finished = self.finished[: ends[-1] + 1], self.finished[ends[-1] + 1 :]
        episodes, start = [], 0
        for end in ends:
            episodes.append(taken[start : end + 1])
            start = end + 1
        return episodes


class SpanRewards(BaseCallback):
    """Feeds each low-level step's extrinsic reward to its slot's :class:`DecisionRecorder`.

    The step's extrinsic reward is its reward less ``intrinsic_weight`` times the turn's
    intrinsic reward (paid at the turn's last token).

    Args:
        recorders: One per low-level env slot, in the VecEnv's order.
        intrinsic_weight: The low level's intrinsic weight.
    """

    def __init__(self, recorders: list[DecisionRecorder], intrinsic_weight: float) -> None:
        super().__init__()
        self.recorders = recorders
        self.intrinsic_weight = intrinsic_weight

    def _on_step(self) -> bool:
        rewards, dones, infos = self.locals["rewards"], self.locals["dones"], self.locals["infos"]
        if len(infos) != len(self.recorders):
            raise ValueError(f"{len(infos)} low-level envs but {len(self.recorders)} decision recorders")
        for recorder, reward, done, info in zip(self.recorders, rewards, dones, infos, strict=True):
            turn_ended = "turn_reward_components" in info
            intrinsic = info.get("turn_intrinsic") if turn_ended else None
            extrinsic = float(reward) - self.intrinsic_weight * float(intrinsic or 0.0)
            recorder.on_token(extrinsic, intrinsic, turn_ended, bool(done))
        return True


def decisions_buffer(high: SB3PPO, episodes: list[list[Decision]]) -> SemiMDPRolloutBuffer:
    """The decisions of whole episodes, one after another, as a one-env semi-MDP rollout buffer.

    Every episode is finished, so GAE stops at each episode's last decision and nothing is
    bootstrapped; the buffer's returns and advantages are computed.

    Raises:
        ValueError: If there is no decision or an episode does not end with its last one.
    """
    decisions = [d for episode in episodes for d in episode]
    if not decisions:
        raise ValueError("no finished episode to train the high level on")
    if any(not episode[-1].done or any(d.done for d in episode[:-1]) for episode in episodes):
        raise ValueError("each episode's decisions must end with, and only with, its last one")
    buffer = SemiMDPRolloutBuffer(
        len(decisions),
        high.observation_space,
        high.action_space,
        device=high.device,
        gae_lambda=high.gae_lambda,
        gamma=high.gamma,
        n_envs=1,
    )
    for d in decisions:
        buffer.record_discounts([{"discount": high.gamma**d.tokens}])  # to the next decision, k tokens later
        buffer.add(
            d.features[None],
            np.array([[d.act]]),
            np.array([d.reward], dtype=np.float32),
            np.array([d.episode_start], dtype=np.float32),
            torch.tensor([d.value]),
            torch.tensor([d.log_prob]),
        )
    buffer.compute_returns_and_advantage(last_values=torch.zeros(1), dones=np.array([True]))
    return buffer
