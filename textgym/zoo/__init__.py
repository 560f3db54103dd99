"""Hyperparameter files for rl_zoo3 shipped with textgym.

rl_zoo3 reads a YAML file given with ``-conf``; the files here hold tuned settings for textgym's
small-vocabulary ids, keyed by env id in rl_zoo3's format. ``python -m textgym.zoo ppo`` prints the
path of the PPO file so that it can be passed on the command line::

    python -m rl_zoo3.train --algo ppo --env textgym/TinyCat-v0 --gym-packages textgym -conf "$(python -m textgym.zoo)"
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def available_algos() -> list[str]:
    """Names of the algorithms that have a shipped hyperparameter file.

    Returns:
        The sorted rl_zoo3 algorithm names (``"ppo"``, ...), one per ``<algo>.yml`` file.
    """
    return sorted(path.stem for path in _HERE.glob("*.yml"))


def config_path(algo: str = "ppo") -> Path:
    """Path of the rl_zoo3 hyperparameter file for ``algo``.

    Args:
        algo: rl_zoo3's algorithm name, as given to ``--algo``.

    Returns:
        The absolute path of the YAML file, for rl_zoo3's ``-conf``.

    Raises:
        ValueError: If textgym ships no file for ``algo``.

    Example:
        >>> config_path("ppo").name
        'ppo.yml'
    """
    path = _HERE / f"{algo}.yml"
    if not path.is_file():
        raise ValueError(f"textgym ships no rl_zoo3 hyperparameters for algo {algo!r}; available: {available_algos()}")
    return path
