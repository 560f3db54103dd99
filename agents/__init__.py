"""Language-model agents for Stable-Baselines3.

* :class:`LMActorCriticPolicy`: a causal LM with a value head as an SB3 actor-critic policy.
* :class:`EpisodeRolloutBuffer`: token states in O(T) memory; minibatches of whole episode segments.
* :class:`PPO`, :class:`A2C`: SB3's, plus a per-token KL penalty to the initial model (kept by save/load).
* :class:`REINFORCE`: reward-to-go policy gradient with a learned baseline (same KL penalty).
* :class:`GRPO`: group-relative policy optimization (GRPO, RLOO, Dr. GRPO, DAPO options), no critic.
* :func:`make_ppo`, :func:`make_a2c`, :func:`make_reinforce`, :func:`make_grpo`, :func:`make_rloo`:
  wired with sensible defaults.
* :func:`make_hierarchical`: a high-level SB3 policy picking subgoals over a low-level LM policy (issue 15).
* :func:`supervised_finetune`: the supervised warm start before RL.
* :func:`evaluate_policy_text`, :func:`describe`, :func:`sample_table`, :class:`RewardCurve`: evaluation
  and learning curves, as the examples and the CLI use them.
"""

from agents.algorithms import A2C, PPO
from agents.buffer import EpisodeRolloutBuffer
from agents.callbacks import RewardCurve
from agents.episodes import Episodes
from agents.evaluation import (
    describe,
    evaluate_policy_text,
    paired_difference,
    sample_table,
    standard_error,
    success_rate,
)
from agents.factory import attach, make_a2c, make_env, make_grpo, make_ppo, make_reinforce, make_rloo
from agents.grpo import GRPO
from agents.hierarchical import HierarchicalAgent, make_hierarchical
from agents.kl import KLConfig, KLController
from agents.kl_penalty import KLPenalty
from agents.policy import LMActorCriticPolicy
from agents.reinforce import REINFORCE
from agents.sampling import SamplingConfig, process_logits
from agents.sft import supervised_finetune, target_loss

__all__ = [
    "A2C",
    "GRPO",
    "HierarchicalAgent",
    "PPO",
    "REINFORCE",
    "RewardCurve",
    "Episodes",
    "EpisodeRolloutBuffer",
    "KLConfig",
    "KLController",
    "KLPenalty",
    "LMActorCriticPolicy",
    "SamplingConfig",
    "attach",
    "describe",
    "evaluate_policy_text",
    "paired_difference",
    "make_a2c",
    "make_env",
    "make_grpo",
    "make_hierarchical",
    "make_ppo",
    "make_reinforce",
    "make_rloo",
    "process_logits",
    "sample_table",
    "standard_error",
    "success_rate",
    "supervised_finetune",
    "target_loss",
]
