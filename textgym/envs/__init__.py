"""Token-level text-generation environments."""

from textgym.envs.cat_text import CatTextEnv, CatTextVectorEnv
from textgym.envs.dialogue import DialogueEnv, DialogueVectorEnv, LMUser
from textgym.envs.episodes import Episode, Turn, TurnEnd
from textgym.envs.shop_tools import ShopToolsEnv, ShopToolsVectorEnv
from textgym.envs.summarization import SummarizationEnv, SummarizationVectorEnv
from textgym.envs.text_gen import TextGenEnv
from textgym.envs.vector import TextGenVectorEnv

__all__ = [
    "CatTextEnv",
    "CatTextVectorEnv",
    "DialogueEnv",
    "DialogueVectorEnv",
    "Episode",
    "LMUser",
    "ShopToolsEnv",
    "ShopToolsVectorEnv",
    "SummarizationEnv",
    "SummarizationVectorEnv",
    "TextGenEnv",
    "TextGenVectorEnv",
    "Turn",
    "TurnEnd",
]
