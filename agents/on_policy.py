"""What :class:`agents.REINFORCE` and :class:`agents.GRPO` tell SB3's ``OnPolicyAlgorithm`` alike.

Both learn from whole returns: no GAE (``gae_lambda=1``), no gSDE, and each sets up its own
model after its constructor has stored its settings. They take SB3's own settings under SB3's
names and pass them on unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: SB3 settings that these algorithms take under SB3's names and pass on unchanged.
PASSED_ON = (
    "learning_rate",
    "ent_coef",
    "max_grad_norm",
    "stats_window_size",
    "tensorboard_log",
    "policy_kwargs",
    "verbose",
    "seed",
    "device",
)


def whole_return_settings(arguments: Mapping[str, Any], **settings: Any) -> dict[str, Any]:
    """``OnPolicyAlgorithm``'s keyword arguments for an algorithm that learns from whole returns.

    Args:
        arguments: The constructor's arguments (its ``locals()``); the :data:`PASSED_ON` ones are taken.
        **settings: The algorithm's own values of the rest (``n_steps``, ``gamma``, ``vf_coef``,
            ``rollout_buffer_class``, ``supported_action_spaces``, ...).

    Raises:
        KeyError: If ``arguments`` lacks one of :data:`PASSED_ON` (a constructor that does not take it).
    """
    passed_on = {name: arguments[name] for name in PASSED_ON}
    fixed = {"gae_lambda": 1.0, "use_sde": False, "sde_sample_freq": -1, "_init_setup_model": False}
    return {**passed_on, **fixed, **settings}
