"""Registers textgym's environments with Gymnasium.

Only ``register()`` calls with string entry points live here, so importing this module (as
``gym.make("envs_registry:textgym/CatText-v0")`` does, or ``import textgym``) imports no
torch. A change to an env's reward or data bumps its version.
"""

from gymnasium.envs.registration import register

register(
    id="textgym/CatText-v0",
    entry_point="textgym.envs.cat_text:CatTextEnv",
    vector_entry_point="textgym.envs.cat_text:CatTextVectorEnv",
    kwargs={"tokenizer": "tiny", "max_new_tokens": 24},
)
