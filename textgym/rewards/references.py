"""Reference texts for rewards that compare a completion with a reference (ROUGE, BLEU, ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

#: A mapping prompt -> reference(s), or a callable prompt -> reference(s). A prompt may have
#: one reference (a string) or several (a non-empty sequence of strings).
References = Mapping[str, str | Sequence[str]] | Callable[[str], str | Sequence[str]]


def check_references(name: str, references: object) -> None:
    """Raise early when ``references`` is neither a mapping nor a callable.

    Raises:
        TypeError: Naming the reward.
    """
    if not isinstance(references, Mapping) and not callable(references):
        raise TypeError(
            f"reward {name!r}: references must be a mapping prompt -> reference or a callable, "
            f"got {type(references).__name__}"
        )


def lookup_references(name: str, references: References, prompts: Sequence[str]) -> list[list[str]]:
    """The reference texts of each prompt, as a non-empty list per prompt.

    Args:
        name: The reward's name, for error messages.
        references: A mapping or a callable (see :data:`References`).
        prompts: The batch's prompts.

    Returns:
        One list of reference strings per prompt.

    Raises:
        KeyError: If the mapping has no reference for a prompt.
        TypeError: If a reference is not a string or a sequence of strings.
        ValueError: If a prompt has an empty list of references.
    """
    out = []
    for prompt in prompts:
        if isinstance(references, Mapping):
            if prompt not in references:
                raise KeyError(f"reward {name!r} has no reference for prompt {prompt!r}")
            refs = references[prompt]
        else:
            refs = references(prompt)
        if isinstance(refs, str):
            refs = [refs]
        elif not isinstance(refs, Sequence) or not all(isinstance(r, str) for r in refs):
            raise TypeError(
                f"reward {name!r}: the reference of prompt {prompt!r} must be a string or a list of "
                f"strings, got {refs!r}"
            )
        if not refs:
            raise ValueError(f"reward {name!r}: prompt {prompt!r} has an empty list of references")
        out.append(list(refs))
    return out
