"""Language-model agents for Stable-Baselines3.

* :class:`LMActorCriticPolicy`: a causal LM with a value head as an SB3 actor-critic policy.
* :class:`EpisodeRolloutBuffer`: token states in O(T) memory; minibatches of whole episode segments.
* :class:`PPO`, :class:`A2C`: SB3's, plus a per-token KL penalty to the initial model (kept by save/load).
* :class:`REINFORCE`: reward-to-go policy gradient with a learned baseline (same KL penalty).
* :class:`GRPO`: group-relative policy optimization (GRPO, RLOO, Dr. GRPO, DAPO options), no critic.
* :func:`make_ppo`, :func:`make_a2c`, :func:`make_reinforce`, :func:`make_grpo`, :func:`make_rloo`:
  wired with sensible defaults.
* :data:`ALGORITHMS`, :func:`register_algorithm`, :func:`make_agent`: the algorithms by name, as
  ``textgym train --algo`` knows them (:mod:`agents.registry`).
* :func:`make_hierarchical`: a high-level SB3 policy picking subgoals over a low-level LM policy.
* :func:`supervised_finetune`: the supervised warm start before RL.
* :func:`evaluate_policy_text`, :func:`describe`, :func:`sample_table`, :class:`RewardCurve`: evaluation
  and learning curves, as the examples and the CLI use them.

Each name is imported on first use (PEP 562), so ``import agents.cli`` for ``textgym --help``
imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import textgym  # noqa: F401  (registers the environments, as importing agents always has)
from textgym.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports each name on first use
    from agents.algorithms import A2C, PPO
    from agents.buffer import EpisodeRolloutBuffer
    from agents.callbacks import RewardCurve
    from agents.episode_batch import EpisodeBatch
    from agents.evaluation import (
        describe,
        evaluate_policy_text,
        paired_difference,
        sample_table,
        standard_error,
        success_rate,
    )
    from agents.factory import make_a2c, make_env, make_grpo, make_ppo, make_reinforce, make_rloo
    from agents.group_config import GroupConfig
    from agents.grpo import GRPO
    from agents.hierarchical import HierarchicalAgent, make_hierarchical
    from agents.hierarchy_config import HierarchyConfig
    from agents.kl import KLConfig, KLController
    from agents.kl_penalty import KLPenalty
    from agents.lora_config import LoRAConfig
    from agents.policy import LMActorCriticPolicy
    from agents.registry import ALGORITHMS, AlgorithmSpec, make_agent, register_algorithm, unregister_algorithm
    from agents.reinforce import REINFORCE
    from agents.sampling import SamplingConfig, process_logits
    from agents.sft import supervised_finetune, target_loss

#: The module each public name is defined in. A new export is a line here, one in __all__ and its import above.
_EXPORTS = {
    "A2C": "agents.algorithms",
    "PPO": "agents.algorithms",
    "EpisodeRolloutBuffer": "agents.buffer",
    "RewardCurve": "agents.callbacks",
    "EpisodeBatch": "agents.episode_batch",
    "describe": "agents.evaluation",
    "evaluate_policy_text": "agents.evaluation",
    "paired_difference": "agents.evaluation",
    "sample_table": "agents.evaluation",
    "standard_error": "agents.evaluation",
    "success_rate": "agents.evaluation",
    "make_a2c": "agents.factory",
    "make_env": "agents.factory",
    "make_grpo": "agents.factory",
    "make_ppo": "agents.factory",
    "make_reinforce": "agents.factory",
    "make_rloo": "agents.factory",
    "GroupConfig": "agents.group_config",
    "GRPO": "agents.grpo",
    "HierarchicalAgent": "agents.hierarchical",
    "make_hierarchical": "agents.hierarchical",
    "HierarchyConfig": "agents.hierarchy_config",
    "KLConfig": "agents.kl",
    "KLController": "agents.kl",
    "KLPenalty": "agents.kl_penalty",
    "LoRAConfig": "agents.lora_config",
    "LMActorCriticPolicy": "agents.policy",
    "REINFORCE": "agents.reinforce",
    "ALGORITHMS": "agents.registry",
    "AlgorithmSpec": "agents.registry",
    "make_agent": "agents.registry",
    "register_algorithm": "agents.registry",
    "unregister_algorithm": "agents.registry",
    "SamplingConfig": "agents.sampling",
    "process_logits": "agents.sampling",
    "supervised_finetune": "agents.sft",
    "target_loss": "agents.sft",
}

__all__ = [
    "A2C",
    "ALGORITHMS",
    "AlgorithmSpec",
    "GRPO",
    "GroupConfig",
    "HierarchicalAgent",
    "HierarchyConfig",
    "PPO",
    "REINFORCE",
    "RewardCurve",
    "EpisodeBatch",
    "EpisodeRolloutBuffer",
    "KLConfig",
    "KLController",
    "KLPenalty",
    "LMActorCriticPolicy",
    "LoRAConfig",
    "SamplingConfig",
    "describe",
    "evaluate_policy_text",
    "paired_difference",
    "make_a2c",
    "make_agent",
    "make_env",
    "make_grpo",
    "make_hierarchical",
    "make_ppo",
    "make_reinforce",
    "make_rloo",
    "process_logits",
    "register_algorithm",
    "sample_table",
    "standard_error",
    "success_rate",
    "supervised_finetune",
    "target_loss",
    "unregister_algorithm",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
