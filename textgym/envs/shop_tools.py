"""The shop task with its facts behind tools: the agent calls them token by token, the results are context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from textgym.data import to_natural
from textgym.data.grammar import LEXICON
from textgym.data.shop_tasks import DialogueScenario, is_helpful
from textgym.data.shop_tools import CALL_CLOSE, CALL_FORMS, ToolResult, run_call, tool_scenarios
from textgym.envs.episodes import AGENT, Episode, TurnEnd
from textgym.envs.text_gen import SPLITS, TextGenEnv, items_by_split
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import RewardLike, RewardModel, RewardOutput
from textgym.tokenization import resolve_tokenizer, speaks_grammar
from textgym.validation import check_int

GRAMMAR_REPLY_TOKENS, NATURAL_REPLY_TOKENS = 12, 48
#: Role of the tool results in :attr:`~textgym.envs.episodes.Episode.turns`.
TOOL = "tool"
#: What a failed call shows, in the grammar (the tiny vocabulary has no word for an error) and in prose.
GRAMMAR_ERROR = "what ?"
NATURAL_ERROR = "Error: that is not a call. The calls are: " + ", ".join(f.replace(" ?", "?") for f in CALL_FORMS)
SYSTEM_PROMPT = (
    "You are the assistant of a shop. You do not know the shop's facts: look them up with a tool call, "
    "written alone as your message: cost ITEM? (the price of an item, e.g. cost eggs?), sell ITEM? (whether "
    "the shop sells it), sell? (what the shop sells), when? (opening hours), where? (where the shop is). "
    "The result comes back as a tool message. Then answer the customer's question."
)


class NoShaping(RewardModel):
    """The default per-segment reward of ShopTools-v0: 0.0 for every segment (the reward is the goal's)."""

    name = "shaping"

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Zero for each segment."""
        return RewardOutput(total=np.zeros(len(completions)))


class _Transcript:
    """``user : Q assistant :``; a result is shown as ``facts : R user : Q assistant :`` (the pretraining format)."""

    separator = "user"

    def __init__(self, natural: bool):
        self.natural = natural

    def text(self, grammar_text: str) -> str:
        return to_natural(grammar_text) if self.natural else grammar_text

    def error(self) -> str:
        return NATURAL_ERROR if self.natural else GRAMMAR_ERROR

    def prompt(self, question: str) -> str:
        return f"user : {self.text(question)} assistant :"

    def result(self, question: str, shown: str) -> str:
        return f" facts : {shown} user : {self.text(question)} assistant :"


class _Chat(_Transcript):
    """The tokenizer's chat template: the tools in the system message, each result a ``tool`` message."""

    separator = None
    _SENTINEL = "\x00TEXTGYM_CALL\x00"

    def __init__(self, tokenizer: Any):
        super().__init__(natural=True)
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("conversation_format='chat' needs a tokenizer with a chat template")
        self.tokenizer = tokenizer

    def messages(self, question: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": self.text(question)}]

    def prompt(self, question: str) -> str:
        return self.tokenizer.apply_chat_template(self.messages(question), tokenize=False, add_generation_prompt=True)

    def result(self, question: str, shown: str) -> str:
        # What the template writes between the call (rendered as a sentinel reply) and the next reply.
        messages = [*self.messages(question), {"role": "assistant", "content": self._SENTINEL}]
        messages.append({"role": TOOL, "content": shown})
        full = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return full[full.index(self._SENTINEL) + len(self._SENTINEL) :]


class ShopToolsEnv(TextGenEnv):
    """Answer a shop customer's question, looking the facts up with tool calls written token by token.

    ## Description
    The customer-service shop task of :class:`~textgym.envs.DialogueEnv` with the shop's
    facts behind tools instead of in the prompt. Each episode draws a scenario
    (:func:`~textgym.data.shop_tools.tool_scenarios`, 512 per split, disjoint splits): a shop
    and one customer question that needs one of its facts ("how much are the eggs ?", "do
    you sell hats ?", "what do you sell ?", "when do you open ?", "when do you close ?",
    "where is the shop ?"). The prompt holds the question only. The agent writes one token
    per step; what it writes is a sequence of *segments*, each ended by a stop token:

    * a **tool call**, closed by ``?`` (the call's closing token): ``cost ITEM ?`` (price),
      ``sell ITEM ?`` (stock), ``sell ?`` (catalogue), ``when ?`` (hours), ``where ?``
      (place); the whole segment is the call (:mod:`textgym.data.shop_tools`). When the
      ``?`` is written the env runs the call and appends its result to the observation as
      **context tokens**: they are never actions (an agent's loss masks them out, as it masks
      the simulated user's tokens in Dialogue-v0). A malformed call (``cost the eggs ?``,
      ``fly ?``, ``?``) fails: its result is an error text, never an exception. After
      ``max_calls`` calls, one more call ends the episode unanswered.
    * the **answer** to the customer: any segment ended by EOS (or, in the transcript
      format, the turn separator "user"), or one that reaches ``max_reply_tokens`` tokens
      without a stop token. It ends the episode.

    Formats. Tiny model (``"transcript"``, in the grammar): ``"<bos> user : Q assistant :"``;
    a result R is appended as ``"facts : R user : Q assistant :"``, so that after a call the
    transcript reads exactly as the tiny model's pretraining dialogues ("facts : ... user :
    ... assistant : ..."); a failed call's result is ``"what ?"`` (the tiny vocabulary has no
    word for an error). Every call word is in the tiny vocabulary, so the tiny model can write
    every call. Chat models (``"smollm2-135m"``): the tokenizer's chat template, the call
    syntax in the system message, the question in the user message, each result a ``tool``
    message in prose (a failed call's: ``"Error: that is not a call. The calls are: ..."``);
    a call closes at any token whose text ends with ``?``, the answer at ``<|im_end|>``.

    It is a :class:`~textgym.envs.TextGenEnv` whose turn hooks run the tools (the same
    mechanism as Dialogue-v0's user), with every per-episode fact in the episode record, so it
    has a batched vector env: ``gym.make_vec("textgym/ShopTools-v0", num_envs=N)``
    (:class:`ShopToolsVectorEnv`).

    ## Action Space
    ``Discrete(len(tokenizer))``: the next token (247 for ``"tiny"``).

    ## Observation Space
    ``Dict(input_ids=Box(0, vocab_size - 1, (max_length,), int64),
    attention_mask=Box(0, 1, (max_length,), int64))``, right-padded as in
    :class:`~textgym.envs.TextGenEnv`: the prompt, the agent's tokens and the tool results in
    order, then padding. By default ``max_length`` = the longest prompt of any split +
    ``max_new_tokens`` + ``max_calls`` x the longest result context, so every default episode
    fits (95 for ``"tiny"``, within its 128 positions).

    ## Rewards
    Extrinsic goal success: when the agent answers, ``success`` = 1.0 if the answer states
    the right fact (:func:`~textgym.data.shop_tasks.is_helpful`: the right price, hour,
    place, items, yes/no or "do not know", and no other fact word), else 0.0; the answer's
    step gets ``success_weight * success``. Each call's step gets ``-tool_cost`` (default
    0.0), failed calls included. ``reward=`` adds a per-segment term scored on each segment's
    text against :meth:`turn_prompt` (default :class:`NoShaping`: 0.0, component
    ``"shaping"``). ``info["reward_components"]`` holds ``"success"``, ``"tool_cost"`` (the
    costs paid, a sum <= 0) and the per-segment term, so the return is ``success_weight *
    success + tool_cost + shaping``.

    ## Episode End
    * Termination: the agent answers, or makes a call after ``max_calls`` (2) calls.
    * Truncation: the agent has written ``max_new_tokens`` tokens (default ``(max_calls + 1)
      * max_reply_tokens``) without answering; the episode's own budget, so
      ``info["budget_exhausted"]`` is True as in :class:`~textgym.envs.TextGenEnv`.

    ``info`` at a call's step: ``"tool_call"``, ``{"call", "result", "error"}`` (``result``
    as shown, ``error`` None for a call that ran). At the end, besides
    :class:`~textgym.envs.TextGenEnv`'s keys: ``"question"``, ``"answer"`` (None without
    one), ``"goal_met"``, ``"tool_calls"`` (calls made), ``"failed_calls"`` and
    ``"tool_results"`` (each call's ``{"call", "result", "error"}``, in order). With
    ``info="numeric"`` they are kept under a leading underscore, as all text is, and the
    numeric keys are the reward components'.

    ## Arguments
    * ``tokenizer``: ``"tiny"`` (default), ``"smollm2-135m"`` or any tokenizer spec.
    * ``tool_cost``: the cost of each call, a finite float >= 0 (default 0.0).
    * ``success_weight``: the reward of a right answer (1.0).
    * ``max_calls`` (2), ``max_reply_tokens`` (12 for the grammar, 48 otherwise),
      ``max_new_tokens``, ``max_length``: the budgets above, integers >= 1.
    * ``conversation_format``: ``"auto"`` (transcript for the tiny tokenizer, the chat
      template when the tokenizer has one), ``"transcript"``, ``"chat"``.
    * ``scenarios``: a list of one-question :class:`~textgym.data.shop_tasks.DialogueScenario`
      or a mapping split -> list, instead of the generated ones; ``n_scenarios``: per split.
    * ``split``: ``"train"``, ``"validation"`` or ``"test"``.
    * ``reward``: the per-segment term above.
    * ``render_mode``: ``"ansi"`` returns the episode, one ``"role : text"`` line per segment
      (``user``, ``call``, ``result``, ``assistant``); ``"human"`` prints it;
      ``"rgb_array"`` draws it.
    * ``reward_mode``, ``observation``, ``budget_as_termination``, ``info``: as in
      :class:`~textgym.envs.TextGenEnv`.

    ## Version History
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/ShopTools-v0", render_mode="ansi", tool_cost=0.1)
    >>> obs, info = env.reset(seed=0, options={"prompt_index": 4})
    >>> info["question"]
    'how much are the shoes ?'
    >>> tok = env.unwrapped.tokenizer
    >>> def say(text):
    ...     for word in text.split():
    ...         out = env.step(tok.convert_tokens_to_ids(word))
    ...     return out
    >>> obs, reward, terminated, truncated, info = say("cost shoes ?")
    >>> reward, terminated, info["tool_call"]["result"]
    (-0.1, False, 'the shop sells shoes for nine coins .')
    >>> obs, reward, terminated, truncated, info = say("the shoes cost nine coins . <eos>")
    >>> reward, terminated, info["goal_met"], info["tool_calls"], info["failed_calls"]
    (1.0, True, True, 1, 0)
    >>> info["reward_components"]
    {'shaping': 0.0, 'tool_cost': -0.1, 'success': 1.0}
    >>> print(env.render())
    user : how much are the shoes ?
    call : cost shoes
    result : the shop sells shoes for nine coins .
    assistant : the shoes cost nine coins .
    """

    prompt_noun = "scenarios"
    #: The reward components :meth:`end_turn` adds (for ``info="numeric"``).
    extra_reward_components = ("success", "tool_cost")

    def __init__(
        self,
        *,
        tokenizer: str | Any = "tiny",
        tool_cost: float = 0.0,
        success_weight: float = 1.0,
        max_calls: int = 2,
        max_reply_tokens: int | None = None,
        max_new_tokens: int | None = None,
        max_length: int | None = None,
        conversation_format: Literal["auto", "transcript", "chat"] = "auto",
        scenarios: Sequence[DialogueScenario] | Mapping[str, Sequence[DialogueScenario]] | None = None,
        split: str = "train",
        n_scenarios: int = 512,
        reward: RewardLike | None = None,
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        self.tool_cost = float(tool_cost)
        if not np.isfinite(self.tool_cost) or self.tool_cost < 0:
            raise ValueError(f"tool_cost must be a finite number >= 0, got {tool_cost!r}")
        self.success_weight = float(success_weight)
        if not np.isfinite(self.success_weight):
            raise ValueError(f"success_weight must be finite, got {success_weight!r}")
        self.max_calls = check_int("max_calls", max_calls)
        n_scenarios = check_int("n_scenarios", n_scenarios)
        tok = resolve_tokenizer(tokenizer)
        grammar = speaks_grammar(tok)
        if conversation_format == "auto":
            has_template = bool(getattr(tok, "chat_template", None))
            conversation_format = "chat" if not grammar and has_template else "transcript"
        if conversation_format == "transcript":
            self._format: _Transcript = _Transcript(natural=not grammar)
        elif conversation_format == "chat":
            self._format = _Chat(tok)
        else:
            raise ValueError(f"conversation_format must be 'auto', 'transcript' or 'chat', got {conversation_format!r}")
        self.conversation_format = conversation_format

        all_scenarios = self._scenarios(scenarios, n_scenarios, split)
        self.scenarios = all_scenarios[split]
        if max_reply_tokens is None:
            max_reply_tokens = GRAMMAR_REPLY_TOKENS if grammar else NATURAL_REPLY_TOKENS
        max_reply_tokens = check_int("max_reply_tokens", max_reply_tokens)
        if max_new_tokens is None:
            max_new_tokens = (self.max_calls + 1) * max_reply_tokens
        max_new_tokens = check_int("max_new_tokens", max_new_tokens)

        vocab = tok.get_vocab()
        specials = set(tok.all_special_tokens)
        #: The tokens that close a call: every token whose text ends with "?".
        self.call_close_ids = frozenset(i for t, i in vocab.items() if t.endswith(CALL_CLOSE) and t not in specials)
        if not self.call_close_ids:
            raise ValueError(f"the tokenizer has no token ending with {CALL_CLOSE!r}: calls could never close")
        stops = {int(tok.eos_token_id), *self.call_close_ids}
        if self._format.separator is not None:
            sep = tok(self._format.separator, add_special_tokens=False)["input_ids"]
            if len(sep) == 1:
                stops.add(int(sep[0]))

        prompts = [self._format.prompt(s.questions[0]) for s in self.scenarios]
        add_special = conversation_format == "transcript"  # chat templates hold their own
        if max_length is None:
            questions = sorted({s.questions[0] for split_scenarios in all_scenarios.values() for s in split_scenarios})
            encoded = tok([self._format.prompt(q) for q in questions], add_special_tokens=add_special)["input_ids"]
            longest_prompt = max(len(ids) for ids in encoded)
            max_length = longest_prompt + max_new_tokens + self.max_calls * self._longest_result(tok, all_scenarios)
        max_length = check_int("max_length", max_length)
        super().__init__(
            prompts,
            tokenizer=tok,
            reward=reward if reward is not None else NoShaping(),
            max_new_tokens=max_new_tokens,
            max_length=max_length,
            split=split,
            reward_mode=reward_mode,
            stop_token_ids=sorted(stops),
            add_special_tokens=add_special,
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
        )
        self.max_reply_tokens = max_reply_tokens

    # ----- construction helpers -----
    @staticmethod
    def _scenarios(
        scenarios: Sequence[DialogueScenario] | Mapping[str, Sequence[DialogueScenario]] | None,
        n_scenarios: int,
        split: str,
    ) -> dict[str, list[DialogueScenario]]:
        out = items_by_split(scenarios, split, lambda s: tool_scenarios(s, n_scenarios), "scenarios")
        for scenarios_of_split in out.values():
            for s in scenarios_of_split:
                if len(s.questions) != 1:
                    raise ValueError(f"a ShopTools scenario has one question, got {s.questions!r}")
        return out

    def _longest_result(self, tokenizer: Any, all_scenarios: Mapping[str, Sequence[DialogueScenario]]) -> int:
        """Tokens of the longest result context any call can add, with the longest question."""
        shown = {self._format.error()}
        for split_scenarios in all_scenarios.values():
            for s in split_scenarios:
                items = [f"{tool} {item}" for item in s.shop.prices for tool in ("cost", "sell")]
                calls = ["when", "where", "sell", *items]
                shown.update(self._format.text(run_call(s.shop, c).result) for c in calls)
        shown.update(self._format.text(f"the shop sells no {item} .") for item in LEXICON["ITEM_PL"])
        questions = sorted({s.questions[0] for split_scenarios in all_scenarios.values() for s in split_scenarios})

        def n_tokens(texts: Sequence[str]) -> list[int]:
            return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

        lengths = n_tokens([self._format.text(q) for q in questions])
        question = questions[int(np.argmax(lengths))]
        return max(n_tokens([self._format.result(question, r) for r in sorted(shown)]))

    # ----- the episode's calls, worked out from its record (so the vector env's slots share one env) -----
    def is_call(self, token_ids: Sequence[int]) -> bool:
        """Whether an agent segment (its tokens) is a tool call: its last token closes a call."""
        return bool(token_ids) and int(token_ids[-1]) in self.call_close_ids

    def calls(self, episode: Episode) -> list[ToolResult]:
        """The episode's calls so far, in order; one after ``max_calls`` calls is failed, not run."""
        shop = self.scenarios[episode.index].shop
        out: list[ToolResult] = []
        for turn in episode.agent_turns:
            if not self.is_call(turn.token_ids):
                continue
            result = run_call(shop, turn.text)
            if len(out) >= self.max_calls:
                result = ToolResult(result.call, "", f"over max_calls={self.max_calls}: the call is not run")
            out.append(result)
        return out

    def shown_result(self, result: ToolResult) -> str:
        """A call's result as the observation shows it: the tool's text, or the error text of a failed call."""
        return self._format.text(result.result) if result.ok else self._format.error()

    def _call_record(self, result: ToolResult) -> dict[str, Any]:
        return {"call": result.call, "result": self.shown_result(result), "error": result.error}

    # ----- TextGenEnv hooks -----
    def turn_prompt(self, episode: Episode) -> str:
        """The text each segment is scored against: ``"facts : R1 R2 user : Q assistant :"`` (the results so far)."""
        results = [t.text for t in episode.turns if t.role == TOOL]
        question = self.scenarios[episode.index].questions[0]
        return " ".join(["facts :", *results, "user :", question, "assistant :"])

    def end_turn(self, episode: Episode) -> TurnEnd:
        """Run the call the segment closed (its result is context), or check the answer and end the episode."""
        segment = episode.turns[-1]
        scenario = self.scenarios[episode.index]
        if not self.is_call(segment.token_ids):
            success = float(is_helpful(scenario.shop, scenario.questions[0], segment.text))
            return TurnEnd(terminated=True, reward=self.success_weight * success, components={"success": success})
        calls = self.calls(episode)
        result = calls[-1]
        cost = {"reward": -self.tool_cost, "components": {"tool_cost": -self.tool_cost}}
        info = {"tool_call": self._call_record(result)}
        if len(calls) > self.max_calls:
            return TurnEnd(terminated=True, info=info, **cost)
        shown = self.shown_result(result)
        ids = self.tokenizer(self._format.result(scenario.questions[0], shown), add_special_tokens=False)["input_ids"]
        return TurnEnd(terminated=False, context=ids, context_role=TOOL, context_text=shown, info=info, **cost)

    def reset_info(self, episode: Episode) -> dict[str, Any]:
        """The prompt and the customer's question."""
        return {"prompt": episode.prompt, "question": self.scenarios[episode.index].questions[0]}

    def final_info(self, episode: Episode, truncation_reason: str | None) -> dict[str, Any]:
        """:meth:`TextGenEnv.final_info` with the question, the answer, goal success and the calls."""
        episode.components.setdefault("success", 0.0)
        episode.components.setdefault("tool_cost", 0.0)
        info = super().final_info(episode, truncation_reason)
        calls = self.calls(episode)
        last = episode.agent_turns[-1] if episode.agent_turns else None
        answered = last is not None and not self.is_call(last.token_ids) and truncation_reason is None
        info["question"] = self.scenarios[episode.index].questions[0]
        info["answer"] = last.text if answered and last is not None else None
        info["goal_met"] = bool(episode.components["success"])
        info["tool_calls"] = len(calls)
        info["failed_calls"] = sum(not c.ok for c in calls)
        info["tool_results"] = [self._call_record(c) for c in calls]
        return info

    def render_text(self, episode: Episode, replies: Sequence[str]) -> str:
        """One ``"role : text"`` line per segment: the question, calls, results, the answer (or the unfinished one)."""
        lines = [f"user : {self._format.text(self.scenarios[episode.index].questions[0])}"]
        agent = iter(replies)
        for turn in episode.turns[1:]:
            if turn.role == AGENT:
                lines.append(f"{'call' if self.is_call(turn.token_ids) else 'assistant'} : {next(agent).strip()}")
            elif turn.role == TOOL:
                lines.append(f"result : {turn.text}")
        lines += [f"assistant : {reply.strip()}" for reply in agent]  # the unfinished segment, if any
        return "\n".join(lines)


class ShopToolsVectorEnv(TextGenVectorEnv):
    """Batched ShopTools: ``gymnasium.make_vec("textgym/ShopTools-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(ShopToolsEnv(**kwargs), num_envs, group_size=group_size)
