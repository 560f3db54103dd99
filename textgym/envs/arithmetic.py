"""Arithmetic-v0: small-number arithmetic, a verifiable task (the reward is the exact answer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from textgym.data.arithmetic_tasks import Problem, arithmetic_problems
from textgym.data.numbers import MAX_WORD_NUMBER, number_word, read_answer
from textgym.envs.episodes import Episode
from textgym.envs.text_gen import SPLITS, TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards.known import KnownAnswerReward
from textgym.tokenization import resolve_tokenizer, speaks_grammar
from textgym.validation import check_int

#: How each prompt format writes an operation in words; the grammar has only "and" (addition).
OPERATION_WORDS = {"+": "plus", "-": "minus", "*": "times"}
GRAMMAR_OPERATION_WORDS = {"+": "and"}
INSTRUCTION = "Answer with the number only."
#: The default operand range per language: the tiny model's words are one-twelve, so its sums
#: of 1-6 stay within them; for SmolLM2 the range is chosen by its zero-shot accuracy (see the
#: class docstring).
GRAMMAR_RANGE, NATURAL_RANGE = (1, 6), (0, 30)
GRAMMAR_NEW_TOKENS, NATURAL_NEW_TOKENS = 3, 16
#: Ends the tiny model's answer besides EOS, as in Classify-v0: it ends sentences with ".".
FULL_STOP = "."


class ExactAnswerReward(KnownAnswerReward):
    """1.0 when the completion's answer is exactly the prompt's, else 0.0 (component ``"correct"``).

    The answer is read by :func:`textgym.data.numbers.read_answer`: the last number the
    completion writes, in digits or words; no number scores 0.

    Args:
        answers: Prompt text -> its exact answer.
    """

    def is_right(self, completion: str, answer: int) -> bool:
        """Whether the completion's last number is ``answer``."""
        return read_answer(completion) == answer


class ArithmeticEnv(TextGenEnv):
    r"""Answer a small arithmetic problem: a task whose reward is verified, not judged.

    ## Description
    Each prompt asks for the result of one problem ``a OP b``: both operands in
    ``[min_operand, max_operand]``, ``OP`` one of ``operations`` (``"+"``, ``"-"``, ``"*"``;
    subtraction only with ``a >= b``, so every answer is a whole number >= 0). Every such
    problem is in exactly one split (:func:`~textgym.data.arithmetic_tasks.arithmetic_problems`:
    30% test, 10% validation, the rest train, dealt from a fixed seeded shuffle; a problem and
    its commutative twin, ``3 + 5`` and ``5 + 3``, are in the same split). Chat models
    (``"smollm2-135m"``) get, inside their chat template, ``"What is 7 + 5? Answer with the
    number only."`` (``numbers="words"``: ``"What is seven plus five? ..."``); other
    tokenizers the same question as ``"Question: ...\nAnswer:"``; the tiny model, whose words
    are the grammar's, ``"<bos> how much is two and three ?"`` (it has no digits, and "and" is
    its only operation word, so only ``"+"``). ``info["reference"]`` at reset is the correct
    answer, written as the prompt writes numbers; ``env.answers`` holds every prompt's answer
    as an int.

    Zero-shot accuracy of SmolLM2-135M-Instruct on the default task's test split (digits,
    ``"+"``, operands 0-30, 16 new tokens; 288 test problems), chosen so that it lies between
    5% and 60%: 9.4% +- 1.7% sampling at temperature 1, as the agent trains, and 37.8% +-
    2.9% greedy (``benchmarks/results/zero_shot_arithmetic_smollm2-135m.json``, written by
    ``python benchmarks/zero_shot.py --task arithmetic --test-items 512``). Quick probes
    before it (``generate`` with 12 new tokens, 64 problems each, not kept) put addition of
    0-9 at 11% sampled and 52% greedy (but 0-9 has too few problems for 256 test items), of
    10-99 at 3% and 5%, and subtraction of 0-20 at 3% sampled, hence addition of 0-30. Two
    GRPO runs of seed 0 raised the sampled test accuracy to 32.0% and 47.7% (docs/envs.md).

    ## Action Space
    ``Discrete(len(tokenizer))``: the next token (247 for ``"tiny"``, 49152 for SmolLM2).

    ## Observation Space
    As :class:`~textgym.envs.TextGenEnv`: right-padded ``input_ids`` and ``attention_mask``,
    int64, of length ``max_prompt_tokens + max_new_tokens``; the prompt budget is the longest
    prompt of all three splits, so every split has the same shape.

    ## Rewards
    At the end of the episode: 1.0 if the answer read from the completion is exactly the
    problem's answer, else 0.0; the component ``"correct"`` is the same number, so its mean
    is the accuracy. The completion is read by :func:`textgym.data.numbers.read_answer`:
    **the last number it writes** counts, as ASCII digits (``"8"``, ``"8."`` and ``"8.0"``
    are 8; ``"8.5"`` is 8.5; ``"-8"`` is -8; commas are not thousands separators) or as
    English words of 0-99 in any case (``"Eight"``, ``"forty-two"``, ``"forty two"``); it
    must equal the answer as a number. A completion without a number scores 0. So the model
    may show its work (``"5 + 3 = 8"`` is right, ``"8 + 1 = 9"`` is wrong), and a
    completion cut off by the budget is read as it stands. ``reward_mode="immediate"``: the
    change of that score per token, so an episode's rewards sum to its terminal score.

    ## Episode End
    * Termination: the agent emits EOS (for the tiny tokenizer also ".").
    * Truncation: ``max_new_tokens`` tokens without a stop token (``info["budget_exhausted"]``).

    ## Arguments
    * ``split``: ``"train"`` (default), ``"validation"`` or ``"test"``.
    * ``tokenizer``: ``"tiny"`` (default) or ``"smollm2-135m"`` (or another tokenizer; one
      that speaks the grammar gets the grammar prompt).
    * ``numbers``: ``"digits"`` or ``"words"`` (operands 0-99) in the prompt; default
      ``"auto"``: words for the tiny tokenizer (it has no digits), else digits.
    * ``operations``: the operations, default ``("+",)``.
    * ``min_operand``, ``max_operand``: the operand range; default 1-6 for the tiny
      tokenizer (sums within its words one-twelve), 0-30 otherwise.
    * ``max_new_tokens``: the budget (default 3 for the tiny tokenizer, 16 otherwise).
    * ``reward_mode``, ``render_mode``, ``observation``, ``budget_as_termination``, ``info``:
      as in :class:`~textgym.envs.TextGenEnv`.

    ## Version History
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/Arithmetic-v0")
    >>> obs, info = env.reset(seed=0, options={"prompt_index": 0})
    >>> info["prompt"], info["reference"]
    ('how much is three and six ?', 'nine')
    >>> tok = env.unwrapped.tokenizer
    >>> for word in ["nine", "."]:
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> reward, terminated, info["reward_components"]
    (1.0, True, {'correct': 1.0})
    """

    prompt_noun = "problems"

    def __init__(
        self,
        *,
        split: str = "train",
        tokenizer: str | Any = "tiny",
        numbers: Literal["auto", "digits", "words"] = "auto",
        operations: Sequence[str] = ("+",),
        min_operand: int | None = None,
        max_operand: int | None = None,
        max_new_tokens: int | None = None,
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        tok = resolve_tokenizer(tokenizer)
        grammar = speaks_grammar(tok)
        if numbers == "auto":
            numbers = "words" if grammar else "digits"
        if numbers not in ("digits", "words"):
            raise ValueError(f"numbers must be 'auto', 'digits' or 'words', got {numbers!r}")
        if isinstance(operations, str):  # "+-" would otherwise pass as two operations
            raise TypeError(f"operations must be a sequence of operation strings, got the string {operations!r}")
        low, high = GRAMMAR_RANGE if grammar else NATURAL_RANGE
        low = low if min_operand is None else check_int("min_operand", min_operand, minimum=0)
        high = high if max_operand is None else check_int("max_operand", max_operand, minimum=0)
        if max_new_tokens is None:
            max_new_tokens = GRAMMAR_NEW_TOKENS if grammar else NATURAL_NEW_TOKENS
        max_new_tokens = check_int("max_new_tokens", max_new_tokens)
        if grammar and numbers == "digits":
            raise ValueError("the tiny tokenizer has no digits: use numbers='words'")
        all_splits = {s: arithmetic_problems(s, operations, low, high) for s in SPLITS}  # checks them
        if grammar and set(operations) - set(GRAMMAR_OPERATION_WORDS):
            raise ValueError(f"the tiny tokenizer can only write '+' (as 'and'), got operations {list(operations)}")
        if numbers == "words":
            largest = max(max(p.a, p.b, p.answer) for ps in all_splits.values() for p in ps)
            if largest > MAX_WORD_NUMBER:
                raise ValueError(f"numbers='words' covers 0-{MAX_WORD_NUMBER}; this range reaches {largest}")
        self.numbers = numbers

        def write(n: int) -> str:
            return number_word(n) if numbers == "words" else str(n)

        if grammar:
            make_prompt = lambda p: f"how much is {write(p.a)} and {write(p.b)} ?"  # noqa: E731
        else:
            words = OPERATION_WORDS if numbers == "words" else {op: op for op in OPERATION_WORDS}

            def question(p: Problem) -> str:
                return f"What is {write(p.a)} {words[p.op]} {write(p.b)}? {INSTRUCTION}"

            if getattr(tok, "chat_template", None):
                make_prompt = lambda p: tok.apply_chat_template(  # noqa: E731
                    [{"role": "user", "content": question(p)}], tokenize=False, add_generation_prompt=True
                )
            else:
                make_prompt = lambda p: f"Question: {question(p)}\nAnswer:"  # noqa: E731
        prompts = {s: [make_prompt(p) for p in ps] for s, ps in all_splits.items()}
        if grammar:
            vocab = tok.get_vocab()
            missing = sorted({w for ps in prompts.values() for t in ps for w in t.split()} - set(vocab))
            missing += [write(p.answer) for ps in all_splits.values() for p in ps if write(p.answer) not in vocab]
            if missing:
                raise ValueError(f"the tokenizer lacks the words {sorted(set(missing))}; narrow the operand range")
        chat = not grammar and bool(getattr(tok, "chat_template", None))
        #: The problems of this split, in prompt order.
        self.problems = all_splits[split]
        #: The exact answer of each prompt, in prompt order.
        self.answers = [p.answer for p in self.problems]
        self._references = [write(a) for a in self.answers]
        stops = [int(tok.eos_token_id)]
        if grammar:
            stops.append(int(tok.get_vocab()[FULL_STOP]))
        # Every split's longest prompt, so that all splits share one observation space.
        longest = max(
            len(ids)
            for ps in prompts.values()
            for ids in tok(ps, add_special_tokens=not chat)["input_ids"]  # chat templates hold their own
        )
        super().__init__(
            prompts[split],
            tokenizer=tok,
            reward=ExactAnswerReward(dict(zip(prompts[split], self.answers, strict=True))),
            split=split,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=longest,
            reward_mode=reward_mode,
            stop_token_ids=stops,
            add_special_tokens=not chat,
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
        )

    def reset_info(self, episode: Episode) -> dict[str, Any]:
        """The prompt and ``"reference"``: the correct answer, written as the prompt writes numbers."""
        return {"prompt": episode.prompt, "reference": self._references[episode.index]}


class ArithmeticVectorEnv(TextGenVectorEnv):
    """Batched Arithmetic: ``gymnasium.make_vec("textgym/Arithmetic-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(ArithmeticEnv(**kwargs), num_envs, group_size=group_size)
