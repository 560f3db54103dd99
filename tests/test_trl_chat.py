"""Issue 14: the speak-tool chat template renders a TRL tool conversation exactly as Dialogue-v0 shows it."""

import gymnasium as gym
import pytest
from jinja2 import TemplateError

import textgym  # noqa: F401  (registers the environments)
from textgym.models import load_tokenizer
from textgym.text_level import TextLevelEnv
from textgym.trl_adapters import DialogueUserEnvironment, dialogue_rows
from textgym.trl_chat import speak_tool_chat_template, use_speak_tool

MAKE = {"tokenizer": "smollm2-135m", "fluency": "none", "n_scenarios": 8}
ENDED = "(the conversation has ended)"


def reply(message: str) -> str:
    """Send your reply to the customer.

    Args:
        message: What you say.
    """
    return message


def call(message: str) -> dict:
    return {"type": "function", "function": {"name": "reply", "arguments": {"message": message}}}


@pytest.fixture(scope="module")
def tokenizer():
    return use_speak_tool(load_tokenizer("smollm2-135m"))


def test_tool_conversation_renders_as_the_token_env_shows_it(tokenizer) -> None:
    replies = ["We open at ten.", " I do not know", "Bye!"]
    for index in (0, 3):
        (row,) = dialogue_rows([index], **MAKE)
        user = DialogueUserEnvironment(**MAKE)
        reference = TextLevelEnv("textgym/Dialogue-v0", **MAKE)
        obs, _ = reference.reset(options={"prompt_index": index})
        # TRL appends reset()'s text to the row's (empty) last message.
        messages = [*row["prompt"][:-1], {"role": "user", "content": row["prompt"][-1]["content"] + user.reset(**row)}]
        for message in replies:
            text = tokenizer.apply_chat_template(messages, tools=[reply], tokenize=False, add_generation_prompt=True)
            ids = tokenizer.apply_chat_template(messages, tools=[reply], add_generation_prompt=True, return_dict=False)
            state = reference.base.slots.obs(0)
            env_ids = state["input_ids"][: int(state["attention_mask"].sum())].tolist()
            assert text == obs and ids == env_ids
            obs, _, terminated, truncated, _ = reference.step(message)
            answer = user.reply(message)
            if terminated or truncated:
                assert answer.endswith(ENDED)
                break
            messages += [{"role": "assistant", "content": "", "tool_calls": [call(message)]}]
            messages += [{"role": "tool", "name": "reply", "content": answer}]
        else:
            pytest.fail("the scripted user should have ended the conversation within max_turns replies")


def test_plain_chat_renders_as_the_base_template_and_other_tools_as_json(tokenizer) -> None:
    base = load_tokenizer("smollm2-135m")
    plain = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "?"},
    ]
    for generation_prompt in (False, True):
        assert tokenizer.apply_chat_template(
            plain, tokenize=False, add_generation_prompt=generation_prompt
        ) == base.apply_chat_template(plain, tokenize=False, add_generation_prompt=generation_prompt)
    other = {"type": "function", "function": {"name": "look_up", "arguments": {"item": "eggs"}}}
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Let me see.", "tool_calls": [call("One moment."), other]},
        {"role": "tool", "name": "look_up", "content": "one coin"},
    ]
    expected = base.apply_chat_template(
        [
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": "Let me see.\nOne moment.\n"
                '<tool_call>{"name": "look_up", "arguments": {"item": "eggs"}}</tool_call>',
            },
            {"role": "user", "content": "one coin"},
        ],
        tokenize=False,
    )
    assert tokenizer.apply_chat_template(messages, tokenize=False) == expected


def test_trl_accepts_the_template_and_not_the_plain_one(tokenizer) -> None:
    pytest.importorskip("trl")
    from trl.chat_template_utils import is_chat_template_prefix_preserving, supports_tool_calling

    assert not supports_tool_calling(load_tokenizer("smollm2-135m"))  # why the helper exists
    assert supports_tool_calling(tokenizer) and is_chat_template_prefix_preserving(tokenizer)


def test_a_generated_turn_parses_as_one_reply_call_with_its_exact_text(tokenizer) -> None:
    (row,) = dialogue_rows([1], **MAKE)
    prompt = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, return_dict=False)
    eos = tokenizer.eos_token_id
    for text in ["We open at ten.", "  two  spaces\nand a line ", "<|im_start|>odd"]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for generated in (ids + [eos], ids):  # finished, or cut by the completion budget
            parsed = tokenizer.parse_response(generated, prefix=prompt, tools=[reply])
            assert parsed == {"role": "assistant", "tool_calls": [call(text)]}
    assert tokenizer.parse_response([eos], prefix=prompt) == {"role": "assistant"}  # nothing said: no call


def test_bad_input_is_refused(tokenizer) -> None:
    with pytest.raises(ValueError, match="chat template"):
        use_speak_tool(load_tokenizer("tiny"))
    with pytest.raises(ValueError, match="already"):
        use_speak_tool(tokenizer)
    with pytest.raises(ValueError, match="identifiers"):
        speak_tool_chat_template("{{ messages }}", tool="say it")
    bad = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "", "tool_calls": [call("x")]}]
    bad[1]["tool_calls"][0]["function"]["arguments"] = '{"message": "x"}'  # a JSON string, not a mapping
    with pytest.raises(TemplateError, match="mapping"):
        tokenizer.apply_chat_template(bad, tokenize=False)

    (row,) = dialogue_rows([2], **MAKE)
    user = DialogueUserEnvironment(**MAKE)
    with pytest.raises(ValueError, match="dialogue_rows"):
        user.reset(prompt_index=2)  # TRL's placeholder rows carry no prompt, hence no facts
    with pytest.raises(ValueError, match="dialogue_rows"):
        user.reset(**{**row, "prompt_index": 3})  # another scenario's facts
    first = user.reset(**row)  # the customer's first message, as the env's prompt shows it
    obs, info = TextLevelEnv("textgym/Dialogue-v0", **MAKE).reset(options={"prompt_index": 2})
    assert first and f"<|im_start|>user\n{first}<|im_end|>" in obs and first.lower().startswith(info["goal"][0][:3])
    with pytest.raises(ValueError, match="transcripts"):
        dialogue_rows([0])  # the tiny tokenizer: transcript format, no messages
    with pytest.raises(ValueError, match="out of range"):
        dialogue_rows([8], **MAKE)
    with pytest.raises(TypeError, match="not a dialogue env"):
        DialogueUserEnvironment("textgym/CatText-v0")
    assert gym.make("textgym/Dialogue-v0", **MAKE).unwrapped.shown_text("where is the shop ?") == "Where is the shop?"
