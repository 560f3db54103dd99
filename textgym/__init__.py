"""textgym: text generation as Gymnasium environments, and language-model agents for them.

Importing the package registers its environments (``textgym/CatText-v0``, ...) with
Gymnasium; that import is cheap (no torch).
"""

import envs_registry  # noqa: F401  (registers the environments)

__version__ = "0.2.0"
