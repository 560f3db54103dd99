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

# Small-vocabulary tasks: 18 tokens, 5-token horizon, for tabular and MLP agents.
register(
    id="textgym/TinyCat-v0",
    entry_point="textgym.envs.tiny_cat:TinyCatEnv",
    vector_entry_point="textgym.envs.tiny_cat:TinyCatVectorEnv",
    kwargs={"max_new_tokens": 5, "reward_mode": "immediate"},
)

# The teaching version: the defaults that stock agents read as they are (a flat
# Box, the budget as termination, numeric info) and the period ending the episode.
register(
    id="textgym/TinyCat-v1",
    entry_point="textgym.envs.tiny_cat:TinyCatEnv",
    vector_entry_point="textgym.envs.tiny_cat:TinyCatVectorEnv",
    kwargs={
        "max_new_tokens": 5,
        "reward_mode": "immediate",
        "sentence_end": True,
        "observation": "onehot",
        "budget_as_termination": True,
        "info": "numeric",
    },
)

register(
    id="textgym/Summarization-v0",
    entry_point="textgym.envs.summarization:SummarizationEnv",
    vector_entry_point="textgym.envs.summarization:SummarizationVectorEnv",
    kwargs={"tokenizer": "tiny"},
)

register(
    id="textgym/Dialogue-v0",
    entry_point="textgym.envs.dialogue:DialogueEnv",
    vector_entry_point="textgym.envs.dialogue:DialogueVectorEnv",
    kwargs={"tokenizer": "tiny"},
)

register(
    id="textgym/TinyShop-v0",
    entry_point="textgym.envs.tiny_shop:TinyShopEnv",
    vector_entry_point="textgym.envs.tiny_shop:TinyShopVectorEnv",
    kwargs={"reward_mode": "immediate"},
)

# The teaching version: the defaults that stock agents read as they are.
register(
    id="textgym/TinyShop-v1",
    entry_point="textgym.envs.tiny_shop:TinyShopEnv",
    vector_entry_point="textgym.envs.tiny_shop:TinyShopVectorEnv",
    kwargs={"reward_mode": "immediate", "observation": "onehot", "budget_as_termination": True, "info": "numeric"},
)

# Text classification as generation: which animal is a story about?
register(
    id="textgym/Classify-v0",
    entry_point="textgym.envs.classify:ClassifyEnv",
    vector_entry_point="textgym.envs.classify:ClassifyVectorEnv",
    # No max_new_tokens here: the env's default is 3 for the tiny tokenizer, 8 for natural text.
)

# Hierarchical RL: the shop conversation with dialogue-act subgoals, two views.
register(
    id="textgym/HierShopLow-v0",
    entry_point="textgym.envs.hier_shop:HierShopLowEnv",
    vector_entry_point="textgym.envs.hier_shop:HierShopLowVectorEnv",
    kwargs={"tokenizer": "tiny", "goal_position": "after_speaker"},
)

register(
    id="textgym/HierShopHigh-v0",
    entry_point="textgym.envs.hier_shop:HierShopHighEnv",
    kwargs={"low_policy": "scripted", "goal_position": "after_speaker"},
)

register(
    id="textgym/HierShopLow-v1",
    entry_point="textgym.envs.hier_shop:HierShopLowEnv",
    vector_entry_point="textgym.envs.hier_shop:HierShopLowVectorEnv",
    kwargs={"tokenizer": "tiny", "goal_position": "before_speaker"},
)

register(
    id="textgym/HierShopHigh-v1",
    entry_point="textgym.envs.hier_shop:HierShopHighEnv",
    kwargs={"low_policy": "scripted", "goal_position": "before_speaker"},
)

register(
    id="textgym/HierShopLow-v2",
    entry_point="textgym.envs.hier_shop:HierShopLowEnv",
    vector_entry_point="textgym.envs.hier_shop:HierShopLowVectorEnv",
    kwargs={"tokenizer": "tiny", "goal_position": "before_speaker", "goal_slots": True},
)

register(
    id="textgym/HierShopHigh-v2",
    entry_point="textgym.envs.hier_shop:HierShopHighEnv",
    kwargs={"low_policy": "scripted", "goal_position": "before_speaker", "goal_slots": True},
)

# Tool use, token by token: the shop's facts behind tools whose results are context.
register(
    id="textgym/ShopTools-v0",
    entry_point="textgym.envs.shop_tools:ShopToolsEnv",
    vector_entry_point="textgym.envs.shop_tools:ShopToolsVectorEnv",
    kwargs={"tokenizer": "tiny"},
)

# A verifiable task: small-number arithmetic, reward 1 for the exact answer.
register(
    id="textgym/Arithmetic-v0",
    entry_point="textgym.envs.arithmetic:ArithmeticEnv",
    vector_entry_point="textgym.envs.arithmetic:ArithmeticVectorEnv",
    kwargs={"tokenizer": "tiny"},
)
