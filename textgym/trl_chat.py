"""A chat template in which every assistant turn is a call of one "speak" tool, for TRL's tool loop.

TRL's ``GRPOTrainer(environment_factory=...)`` (TRL >= 1.16) runs a multi-turn episode as a tool
loop: it generates an assistant turn, parses the tool calls out of it with the tokenizer's
``response_template``, calls the environment's methods, appends their results as ``tool``
messages and generates again, until a turn calls no tool. It accepts only a chat template that
renders a whole tool-calling conversation (``trl.chat_template_utils.supports_tool_calling``) and
keeps earlier turns' tokens when later messages are added (prefix preservation).

In a conversation with a simulated user the model does not need to write tool-call syntax:
everything it says is said to the user. :func:`use_speak_tool` sets, on a chat tokenizer:

* ``chat_template``: the tokenizer's own template behind a preamble that rewrites the messages
  first: an assistant call of the speak tool becomes the assistant's plain text (its
  ``argument``), and a ``tool`` message (the user's answer) becomes a ``user`` message. A
  conversation thus renders exactly as the chat it stands for, which is what a textgym chat env
  (Dialogue-v0 with ``tokenizer="smollm2-135m"``) shows its agent. Calls of any other tool are
  written as ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` text (TRL's check asks
  that a template show every tool call), but they are never parsed back.
* ``response_template``: the generated turn (up to the end-of-turn token, without it, exactly as
  written) is one call ``tool(argument=text)``; an empty turn calls nothing, which ends TRL's loop.

So the environment's speak tool must be its only tool (as :class:`~textgym.trl_adapters.DialogueUserEnvironment`'s
``reply`` is). Requires transformers >= 5.13 (``response_template`` parsing).
"""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedTokenizerBase

_PROBE = "\x00textgym-probe\x00"

# Rewrites `messages` (a top-level set shadows the context variable for the template that follows).
# `speak_tool` and `speak_argument` are substituted as Jinja string literals.
_PREAMBLE = """\
{%- set _tg = namespace(messages=[]) -%}
{%- for _m in messages -%}
{%- if _m['role'] == 'tool' -%}
{%- set _tg.messages = _tg.messages + [{'role': 'user', 'content': _m['content']}] -%}
{%- elif _m['role'] == 'assistant' and _m['tool_calls'] is defined and _m['tool_calls'] -%}
{%- set _parts = namespace(items=[_m['content']] if _m['content'] else []) -%}
{%- for _call in _m['tool_calls'] -%}
{%- set _f = _call['function'] if _call['function'] is defined else _call -%}
{%- set _args = _f['arguments'] if _f['arguments'] is defined else {} -%}
{%- if _f['name'] == SPEAK_TOOL -%}
{%- if _args is not mapping -%}
{{- raise_exception('the arguments of a ' + SPEAK_TOOL + ' call must be a mapping') -}}
{%- endif -%}
{%- if _args[SPEAK_ARGUMENT] is defined and _args[SPEAK_ARGUMENT] -%}
{%- set _parts.items = _parts.items + [_args[SPEAK_ARGUMENT]] -%}
{%- endif -%}
{%- else -%}
{%- set _call_json = {'name': _f['name'], 'arguments': _args} | tojson -%}
{%- set _parts.items = _parts.items + ['<tool_call>' + _call_json + '</tool_call>'] -%}
{%- endif -%}
{%- endfor -%}
{%- set _tg.messages = _tg.messages + [{'role': 'assistant', 'content': _parts.items | join('\\n')}] -%}
{%- else -%}
{%- set _tg.messages = _tg.messages + [_m] -%}
{%- endif -%}
{%- endfor -%}
{%- set messages = _tg.messages -%}
"""


def _jinja_string(value: str) -> str:
    """``value`` as a Jinja string literal (an identifier-like name, so no escaping is needed)."""
    if not value.isidentifier():
        raise ValueError(f"tool and argument names must be identifiers, got {value!r}")
    return f"'{value}'"


def speak_tool_chat_template(base_template: str, tool: str = "reply", argument: str = "message") -> str:
    """The Jinja chat template: ``base_template`` behind the preamble that turns speak-tool calls into chat.

    Args:
        base_template: A chat template that renders ``system``/``user``/``assistant`` messages.
        tool: The speak tool's name.
        argument: Its text argument.

    Returns:
        The template text.

    Raises:
        ValueError: If ``tool`` or ``argument`` is not an identifier.
    """
    preamble = _PREAMBLE.replace("SPEAK_TOOL", _jinja_string(tool)).replace("SPEAK_ARGUMENT", _jinja_string(argument))
    return preamble + base_template


def speak_tool_response_template(
    generation_prompt: str, end_of_turn: str, tool: str = "reply", argument: str = "message"
) -> dict[str, Any]:
    """The ``response_template`` that reads a whole generated turn as one call ``tool(argument=text)``.

    Args:
        generation_prompt: The text the chat template puts before an assistant turn (the parser
            reads from its last occurrence in the prompt).
        end_of_turn: The token text that ends an assistant turn (generation stops at it).
        tool: The speak tool's name.
        argument: Its text argument.

    Returns:
        A transformers ``response_template`` dict.
    """
    call = {"type": "function", "function": {"name": tool, "arguments": {argument: "{content}"}}}
    return {
        "defaults": {"role": "assistant"},
        "start_anchor": generation_prompt,
        "fields": {
            # The only field, and it has no opening marker: whatever the model writes is the
            # tool call's text (kept as written: no stripping), closed by the end-of-turn token.
            "tool_calls": {
                "close": end_of_turn,
                "content": "text",
                "content_args": {"strip": False},
                "repeats": True,
                "transform": call,
            }
        },
    }


def _generation_prompt(tokenizer: PreTrainedTokenizerBase, template: str) -> str:
    messages = [{"role": "user", "content": _PROBE}]
    without = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False)
    with_prompt = tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=True
    )
    if not with_prompt.startswith(without) or len(with_prompt) == len(without):
        raise ValueError("the chat template writes no generation prompt after the messages (add_generation_prompt)")
    return with_prompt[len(without) :]


def use_speak_tool(
    tokenizer: PreTrainedTokenizerBase, tool: str = "reply", argument: str = "message"
) -> PreTrainedTokenizerBase:
    """Set the speak-tool chat and response templates on ``tokenizer`` (in place) and return it.

    Args:
        tokenizer: A tokenizer with a chat template whose assistant turns end with its EOS token
            (generation must stop there), e.g. ``load_tokenizer("smollm2-135m")``.
        tool: The speak tool's name (``"reply"`` for :class:`~textgym.trl_adapters.DialogueUserEnvironment`).
        argument: Its text argument (``"message"``).

    Returns:
        ``tokenizer``, with ``chat_template`` and ``response_template`` set.

    Raises:
        ValueError: If the tokenizer has no chat template, no EOS token, a template that writes no
            generation prompt or does not end an assistant turn with the EOS token, or it already
            has this preamble.
    """
    base = tokenizer.chat_template
    if not isinstance(base, str) or not base:
        raise ValueError("use_speak_tool needs a tokenizer with a (single, string) chat template")
    if "_tg = namespace(messages=[])" in base:
        raise ValueError("the tokenizer's chat template already has the speak-tool preamble")
    eos = tokenizer.eos_token
    if not eos:
        raise ValueError("use_speak_tool needs a tokenizer with an EOS token (the end of an assistant turn)")
    generation_prompt = _generation_prompt(tokenizer, base)
    turn = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _PROBE}],
        chat_template=base,
        tokenize=False,
    )
    if not turn[turn.index(_PROBE) + len(_PROBE) :].startswith(eos):
        raise ValueError(f"the chat template does not end an assistant turn with the EOS token {eos!r}")
    tokenizer.chat_template = speak_tool_chat_template(base, tool, argument)
    tokenizer.response_template = speak_tool_response_template(generation_prompt, eos, tool, argument)
    return tokenizer
