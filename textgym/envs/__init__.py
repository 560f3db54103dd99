"""Token-level text-generation environments."""

from textgym.envs.cat_text import CatTextEnv, CatTextVectorEnv
from textgym.envs.text_gen import TextGenEnv
from textgym.envs.vector import TextGenVectorEnv

__all__ = ["CatTextEnv", "CatTextVectorEnv", "TextGenEnv", "TextGenVectorEnv"]
