"""``python -m textgym.zoo [ALGO]``: print the path of textgym's rl_zoo3 hyperparameter file for ALGO."""

from __future__ import annotations

import argparse
import sys

from textgym.zoo import available_algos, config_path


def main(argv: list[str] | None = None) -> int:
    """Print the hyperparameter file's path (for rl_zoo3's ``-conf``).

    Args:
        argv: Command-line arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0, or 2 when no file exists for the algorithm.
    """
    parser = argparse.ArgumentParser(prog="python -m textgym.zoo", description=__doc__)
    parser.add_argument("algo", nargs="?", default="ppo", help=f"rl_zoo3 algorithm, one of {available_algos()}")
    args = parser.parse_args(argv)
    try:
        print(config_path(args.algo))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
