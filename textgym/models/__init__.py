"""Language models: the embedded tiny model, SmolLM2-135M offline, or any local/hub model."""

from textgym.models.loading import TINY_DIR, load_model, load_tokenizer

__all__ = ["TINY_DIR", "load_model", "load_tokenizer"]
