"""The dialogue task: a multi-turn conversation with a simulated user, one token per step."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Literal

import numpy as np

from textgym.data import to_natural
from textgym.data.shop_tasks import (
    CLOSING,
    DialogueScenario,
    ShopUser,
    UserTurn,
    dialogue_context,
    is_helpful,
    parse_dialogue_context,
    shop_scenarios,
)
from textgym.envs.episodes import Episode, TurnEnd
from textgym.envs.text_gen import SPLITS, TextGenEnv, items_by_split
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import (
    GrammarReward,
    KeywordReward,
    LengthPenalty,
    RewardLike,
    RewardModel,
    RewardOutput,
    WeightedSum,
)
from textgym.tokenization import resolve_tokenizer, speaks_grammar
from textgym.validation import check_int

UserLike = Callable[[DialogueScenario, Sequence[Mapping[str, str]]], UserTurn | str]

GRAMMAR_REPLY_TOKENS, NATURAL_REPLY_TOKENS = 12, 48
HELPFULNESS_WEIGHT, RUDENESS_WEIGHT, LENGTH_COST = 1.0, -1.0, 0.01
GRAMMAR_FLUENCY_WEIGHT, LM_FLUENCY_WEIGHT = 0.5, 0.2
SUCCESS_WEIGHT = 1.0
RUDE_WORDS = ("stupid", "idiot", "dumb", "shut", "whatever", "hate", "ugly", "damn", "moron", "annoying")
SYSTEM_PROMPT = "You are the assistant of a shop. Answer the customer's questions using only these facts: "


# ----- per-turn reward terms: plain reward models over (dialogue context, reply) -----
class ShopHelpfulness(RewardModel):
    """1.0 when the reply answers the customer's question correctly, by the shop's facts.

    The prompt is a :func:`~textgym.data.shop_tasks.dialogue_context` string (facts, the
    conversation, the question being answered); the check is
    :func:`~textgym.data.shop_tasks.is_helpful`. A question outside the shop domain (say,
    from an LM user) cannot be answered from the facts: it scores 0.0, or raises with
    ``on_unknown="raise"``.
    """

    name = "helpfulness"

    def __init__(self, on_unknown: Literal["zero", "raise"] = "zero"):
        if on_unknown not in ("zero", "raise"):
            raise ValueError(f"on_unknown must be 'zero' or 'raise', got {on_unknown!r}")
        self.on_unknown = on_unknown

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Helpfulness of each reply given its dialogue context."""
        total = np.zeros(len(completions))
        for i, (context, reply) in enumerate(zip(prompts, completions, strict=True)):
            shop, question = parse_dialogue_context(context)
            try:
                total[i] = float(is_helpful(shop, question, reply))
            except ValueError:
                if self.on_unknown == "raise":
                    raise
        return RewardOutput(total=total, components={self.name: total})


def default_turn_reward(fluency: Literal["grammar", "lm", "none"], lm_name: str | None = None) -> WeightedSum:
    """``helpfulness - rudeness + length + w_f * fluency``, per turn (see :class:`DialogueEnv`).

    * helpfulness: :class:`ShopHelpfulness`, 1.0 or 0.0;
    * rudeness: 1.0 if the reply contains a rude word (:class:`~textgym.rewards.KeywordReward`
      over ``RUDE_WORDS``), weighted -1;
    * length: ``-0.01`` per whitespace-separated word (:class:`~textgym.rewards.LengthPenalty`);
    * fluency: ``w_f = 0.5`` x (the reply is a grammatical shop reply,
      :class:`~textgym.rewards.GrammarReward` from ``"REPLY"``) for the tiny model; ``w_f =
      0.2`` x mean log-likelihood per token under the frozen LM ``lm_name`` otherwise;
      absent with ``"none"``.
    """
    terms: dict[str, tuple[RewardLike, float]] = {
        "helpfulness": (ShopHelpfulness(), HELPFULNESS_WEIGHT),
        "rudeness": (KeywordReward(RUDE_WORDS, name="rudeness"), RUDENESS_WEIGHT),
        "length": (LengthPenalty(weight=LENGTH_COST, name="length"), 1.0),
    }
    if fluency == "grammar":
        terms["fluency"] = (GrammarReward("REPLY"), GRAMMAR_FLUENCY_WEIGHT)
    elif fluency == "lm":
        if lm_name is None:
            raise ValueError("fluency='lm' needs the tokenizer given as a model name or path")
        from textgym.rewards.fluency import LMFluencyReward  # imports torch: only when used

        terms["fluency"] = (LMFluencyReward(lm_name), LM_FLUENCY_WEIGHT)
    elif fluency != "none":
        raise ValueError(f"fluency must be 'auto', 'grammar', 'lm' or 'none', got {fluency!r}")
    return WeightedSum(terms, name="dialogue_turn")


# ----- an LM as the user -----
class LMUser:
    """A user played by a frozen causal LM, greedily continuing the transcript.

    It opens with the goal's first question, then writes each turn as the continuation of
    ``"facts : ... user : ... assistant : ... user :"`` up to EOS, the word "assistant" or
    ``max_new_tokens`` tokens (greedy, so deterministic). It leaves, goal met, when it says
    "thank you ." (the pretraining dialogues' closing), or when it has nothing to say. The
    model loads on first use and is not pickled.

    Args:
        model: Model name for :func:`textgym.models.load_model` (default ``"tiny"``).
        max_new_tokens: Longest utterance in tokens.
    """

    def __init__(self, model: str = "tiny", max_new_tokens: int = 12):
        self.model_name = model
        self.max_new_tokens = check_int("max_new_tokens", max_new_tokens)
        self._model: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_model": None, "_tokenizer": None}

    def __call__(self, scenario: DialogueScenario, messages: Sequence[Mapping[str, str]]) -> UserTurn:
        """The next user turn."""
        if not messages:
            return UserTurn(scenario.questions[0])
        import torch  # here, so that the env module imports no torch

        if self._model is None:
            from textgym.models import load_model

            self._model = load_model(self.model_name)
            self._tokenizer = resolve_tokenizer(self.model_name)
        tok = self._tokenizer
        transcript = dialogue_context(scenario.facts, messages).removesuffix(" assistant :") + " user :"
        if messages[-1]["role"] != "assistant":
            raise ValueError("LMUser speaks after the assistant; the last message must be the assistant's")
        ids = torch.tensor([tok(transcript)["input_ids"]])
        stop = [tok.eos_token_id]
        separator = tok("assistant", add_special_tokens=False)["input_ids"]
        if len(separator) == 1:
            stop.append(separator[0])
        with torch.no_grad():
            out = self._model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=self.max_new_tokens,
                eos_token_id=stop,
                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            )
        new = [t for t in out[0, ids.shape[1] :].tolist() if t not in stop]
        text = tok.decode(new, skip_special_tokens=True).strip()
        if text == CLOSING:
            return UserTurn(text, goal_met=True, done=True)
        return UserTurn(text, done=not text)


# ----- how a conversation becomes tokens -----
class _TranscriptFormat:
    """``facts : F user : Q assistant : A user : ...`` (the tiny model's pretraining format)."""

    separator = "user"

    def __init__(self, natural: bool):
        self.natural = natural

    def text(self, grammar_text: str) -> str:
        return to_natural(grammar_text) if self.natural else grammar_text

    def prompt(self, facts: str, first: str) -> str:
        return f"facts : {self.text(facts)} user : {self.text(first)} assistant :"

    def user_turn(self, facts: str, shown: Sequence[Mapping[str, str]], text: str, closing: bool) -> str:
        return f" user : {self.text(text)}" + ("" if closing else " assistant :")


class _ChatFormat(_TranscriptFormat):
    """The tokenizer's chat template, with the facts in the system message."""

    separator = None
    _SENTINEL = "\x00TEXTGYM_REPLY\x00"

    def __init__(self, tokenizer: Any):
        super().__init__(natural=True)
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("conversation_format='chat' needs a tokenizer with a chat template")
        self.tokenizer = tokenizer

    def system_message(self, facts: str) -> dict[str, str]:
        """The system message: the task and the shop's facts, as prose."""
        return {"role": "system", "content": SYSTEM_PROMPT + self.text(facts)}

    def _render(self, facts: str, messages: Sequence[Mapping[str, str]], generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(
            [self.system_message(facts), *messages], tokenize=False, add_generation_prompt=generation_prompt
        )

    def prompt(self, facts: str, first: str) -> str:
        return self._render(facts, [{"role": "user", "content": self.text(first)}], True)

    def user_turn(self, facts: str, shown: Sequence[Mapping[str, str]], text: str, closing: bool) -> str:
        # Render the conversation with a sentinel as the last reply; what follows the sentinel
        # is exactly the template's text between the reply and the assistant's next turn.
        messages = [*shown[:-1], {"role": "assistant", "content": self._SENTINEL}]
        messages.append({"role": "user", "content": self.text(text)})
        full = self._render(facts, messages, not closing)
        return full[full.index(self._SENTINEL) + len(self._SENTINEL) :]


def _conversation_format(
    conversation_format: str, tok: Any, grammar: bool
) -> tuple[_TranscriptFormat, Literal["transcript", "chat"]]:
    """How the conversation is written into the observation, and its name (``"auto"`` resolved)."""
    if conversation_format == "auto":
        has_template = bool(getattr(tok, "chat_template", None))
        conversation_format = "chat" if not grammar and has_template else "transcript"
    if conversation_format == "transcript":
        return _TranscriptFormat(natural=not grammar), "transcript"
    if conversation_format == "chat":
        return _ChatFormat(tok), "chat"
    raise ValueError(f"conversation_format must be 'auto', 'transcript' or 'chat', got {conversation_format!r}")


def _user(user: str | UserLike, tokenizer: str | Any) -> UserLike:
    """The simulated user: the scripted one, the LM one, or the caller's callable."""
    if user == "scripted":
        return ShopUser()
    if user == "lm":
        return LMUser(tokenizer if isinstance(tokenizer, str) else "tiny")
    if not callable(user):
        raise TypeError(f"user must be 'scripted', 'lm' or a callable, got {type(user).__name__}")
    return user


def _stop_tokens(tok: Any, separator: str | None) -> list[int]:
    """The tokens that end an agent turn: EOS, and the turn separator when it is one token."""
    stops = {int(tok.eos_token_id)}
    if separator is not None:
        sep = tok(separator, add_special_tokens=False)["input_ids"]
        if len(sep) == 1:
            stops.add(int(sep[0]))
    return sorted(stops)


class DialogueEnv(TextGenEnv):
    """Serve a customer in a shop: a multi-turn conversation with a simulated user.

    ## Description
    Task-oriented dialogue in the project's shop domain. Each episode draws a scenario
    (:func:`~textgym.data.shop_tasks.shop_scenarios`, 512 per split, disjoint splits): a
    shop's facts and a customer goal of one or two questions ("how much are the eggs ?",
    "when do you close ?", "do you sell hats ?", ...). The observation is the conversation so
    far; the agent writes its reply token by token. Its turn ends when it emits a stop
    token (EOS or, in the transcript format, the turn separator "user") or after
    ``max_reply_tokens`` tokens; then the simulated user answers and the user's tokens are
    appended to the observation as context: they are never actions. The default user
    (:class:`~textgym.data.shop_tasks.ShopUser`) asks its questions in order, repeats one
    until a reply answers it correctly, and says "thank you ." when all are answered. Any
    callable ``user(scenario, messages) -> UserTurn | str`` can play the user
    (``user="lm"``: :class:`LMUser`).

    It is a :class:`~textgym.envs.TextGenEnv` whose turn hooks play the user, so it has the
    same observation, padding, validation, rendering (with token colours) and end-of-episode
    ``info`` as every env, and a batched vector env: ``gym.make_vec("textgym/Dialogue-v0",
    num_envs=N)`` (:class:`DialogueVectorEnv`), which ``agents.make_env`` uses.

    Conversation formats. Tiny model (the ``"transcript"`` format it was pretrained on):
    ``"<bos> facts : F user : Q1 assistant :"``, then the agent's reply, then
    ``"user : Q2 assistant :"``, and so on. If the agent ended its turn with "user" that
    token stays and the user's turn starts after it; an EOS also stays where the agent wrote
    it. Chat models (``"smollm2-135m"``): the tokenizer's chat template, the facts in the
    system message, the texts as prose; the agent's ``<|im_end|>`` closes its turn.

    ## Action Space
    ``Discrete(len(tokenizer))``: the next token of the agent's reply (247 for ``"tiny"``).

    ## Observation Space
    ``Dict(input_ids=Box(0, vocab_size - 1, (max_length,), int64),
    attention_mask=Box(0, 1, (max_length,), int64))``, right-padded like
    :class:`~textgym.envs.TextGenEnv`: the conversation's tokens, then padding with mask 0;
    no token ever moves. Token budget: by default ``max_length`` = the longest opening
    prompt of any split + ``max_new_tokens`` + ``max_turns`` x the longest user turn of the
    scripted user, so a default episode always fits (110 for ``"tiny"``, within its 128
    positions). A user turn that does not fit (a custom user, a smaller ``max_length``)
    truncates the episode with a warning and ``info["truncation_reason"]``; text is never
    dropped silently.

    ## Rewards
    At the end of each agent turn, the reward model scores the reply given the conversation
    (a :func:`~textgym.data.shop_tasks.dialogue_context` string, e.g. ``"facts : F user : Q
    assistant :"``, as the prompt); by default ``helpfulness - rudeness + length + w_f *
    fluency`` (:func:`default_turn_reward`):

    * helpfulness: 1.0 if the reply answers the question correctly by the facts
      (:func:`~textgym.data.shop_tasks.is_helpful`), else 0.0;
    * rudeness (the politeness term): 1.0 if the reply contains a rude word, else 0.0; the
      tiny vocabulary has none, so it matters for open-vocabulary models only;
    * length: -0.01 per word (whitespace-separated, so "." counts in grammar text);
    * fluency: for the tiny model 1.0 if the reply is a grammatical shop reply (``w_f =
      0.5``); otherwise the mean log-likelihood per token under the frozen LM (``w_f = 0.2``).

    When the user's goal is met the last step also gets ``success_weight`` (1.0). Other
    steps get 0 (``reward_mode="immediate"``: each step gets the change of its turn's
    score instead, as in :class:`~textgym.envs.TextGenEnv`). ``info["turn_reward_components"]``
    holds a turn's components at its last step; at the end, ``info["reward_components"]``
    holds the episode's sums, with ``"success"`` (1.0 or 0.0), so the return is ``sum_k
    weight_k * component_k``. A scripted episode answered perfectly with g questions returns
    ``1 + 1.5 g - 0.01 x words`` (with the tiny model).

    ## Episode End
    * Termination: the user's goal is met (the user leaves satisfied), the user ends the
      conversation, or the agent has had ``max_turns`` (3) turns (the user gives up). The
      user's patience is part of the environment and the turn count is visible in the
      observation, so this is termination, not a time limit.
    * Truncation: the agent has written ``max_new_tokens`` tokens in all (default
      ``max_turns * max_reply_tokens``, which a default episode cannot exceed before it
      terminates), or the observation is full. ``info["truncation_reason"]`` says which.
      Both are the env's own token budget: the reply so far is scored and the rewards paid
      are the episode's whole return, so ``info["budget_exhausted"]`` is True and agents
      must not bootstrap past it (as in :class:`~textgym.envs.TextGenEnv`).

    At the end ``info`` holds, as in every env, ``"prompt"`` (the opening), ``"completion"``
    (the agent's replies, one per line), ``"reward_components"`` and ``"budget_exhausted"``,
    and also ``"goal_met"``, ``"conversation"`` (as rendered) and ``"turns"``: each turn's
    role, text and the token ids it put in the observation. ``reset`` returns the prompt and
    the user's ``"goal"`` (its questions).

    ## Arguments
    * ``tokenizer``: ``"tiny"`` (default), ``"smollm2-135m"`` or any tokenizer spec.
    * ``user``: ``"scripted"`` (default), ``"lm"`` or a callable
      ``user(scenario, messages) -> UserTurn | str`` (``messages``: the conversation so
      far as ``{"role", "content"}`` dicts; ``[]`` asks for the opening, once per
      scenario when the env is built).
    * ``reward``: replaces the per-turn reward, as ``reward=`` does for every id (any reward
      model or callable ``f(contexts, replies) -> floats``); ``success_weight``: the goal bonus.
    * ``fluency``: ``"auto"`` (grammar for the tiny tokenizer, else ``"lm"``), ``"grammar"``,
      ``"lm"``, ``"none"``.
    * ``conversation_format``: ``"auto"`` (transcript for the tiny tokenizer, the chat
      template when the tokenizer has one), ``"transcript"``, ``"chat"``.
    * ``scenarios``: a list of :class:`~textgym.data.shop_tasks.DialogueScenario` or a
      mapping split -> list, instead of the generated ones; ``n_scenarios``: per split.
    * ``split``: ``"train"``, ``"validation"`` or ``"test"``.
    * ``max_turns`` (3), ``max_reply_tokens`` (12 for tiny, 48 otherwise),
      ``max_new_tokens``, ``max_length``: the budgets above. Every count here (these and
      ``n_scenarios``) must be an integer >= 1; ``2.0`` is refused too.
    * ``reward_mode``: ``"terminal"`` (default) or ``"immediate"``.
    * ``render_mode``: ``"ansi"`` returns the conversation turn by turn (one
      ``"role : text"`` line each); ``"human"`` prints it; ``"rgb_array"`` draws it. After
      ``set_token_values`` the agent's tokens are coloured by their values.
    * ``observation``, ``budget_as_termination``, ``info``, ``context_tokens``: as in
      :class:`~textgym.envs.TextGenEnv`.

    ## Version History
    * v0: initial version. Since it became a :class:`~textgym.envs.TextGenEnv` subclass it
      takes ``reward=`` and ``reward_mode``, and has a vector
      entry point; its observations, rewards and data are unchanged, so the id stays v0.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/Dialogue-v0", render_mode="ansi")
    >>> obs, info = env.reset(seed=0, options={"prompt_index": 1})
    >>> info["goal"]
    ['where is the shop ?']
    >>> tok = env.unwrapped.tokenizer
    >>> for word in "sorry , i do not know . <eos>".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> c = info["reward_components"]
    >>> terminated, info["goal_met"], c["helpfulness"], c["fluency"], c["success"]
    (True, True, 1.0, 1.0, 1.0)
    >>> reward == 1.0 * c["helpfulness"] + 0.5 * c["fluency"] - 0.01 * 7 + 1.0 * c["success"]  # 7 words
    True
    >>> print(env.render())
    facts : the shop sells cups for ten coins . the shop closes at one . the shop opens at ten .
    user : where is the shop ?
    assistant : sorry , i do not know .
    user : thank you .
    """

    prompt_noun = "scenarios"

    def __init__(
        self,
        *,
        tokenizer: str | Any = "tiny",
        user: Literal["scripted", "lm"] | UserLike = "scripted",
        reward: RewardLike | None = None,
        success_weight: float = SUCCESS_WEIGHT,
        fluency: Literal["auto", "grammar", "lm", "none"] = "auto",
        conversation_format: Literal["auto", "transcript", "chat"] = "auto",
        scenarios: Sequence[DialogueScenario] | Mapping[str, Sequence[DialogueScenario]] | None = None,
        split: str = "train",
        n_scenarios: int = 512,
        max_turns: int = 3,
        max_reply_tokens: int | None = None,
        max_new_tokens: int | None = None,
        max_length: int | None = None,
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
        context_tokens: int = 0,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        max_turns = check_int("max_turns", max_turns)
        n_scenarios = check_int("n_scenarios", n_scenarios)
        if max_reply_tokens is not None:  # None picks the default below; 0 is an error, not the default
            max_reply_tokens = check_int("max_reply_tokens", max_reply_tokens)
        if max_new_tokens is not None:
            max_new_tokens = check_int("max_new_tokens", max_new_tokens)
        if max_length is not None:
            max_length = check_int("max_length", max_length)
        tok = resolve_tokenizer(tokenizer)
        grammar = speaks_grammar(tok)
        self._format, self.conversation_format = _conversation_format(conversation_format, tok, grammar)
        self.user = _user(user, tokenizer)
        if reward is None:
            if fluency == "auto":
                fluency = "grammar" if grammar else "lm"
            reward = default_turn_reward(fluency, tokenizer if isinstance(tokenizer, str) else None)
        self.success_weight = float(success_weight)
        all_scenarios = items_by_split(scenarios, split, lambda s: shop_scenarios(s, n_scenarios), "scenarios")
        self.scenarios = all_scenarios[split]
        self.max_turns = max_turns
        if max_reply_tokens is None:
            max_reply_tokens = GRAMMAR_REPLY_TOKENS if grammar else NATURAL_REPLY_TOKENS
        if max_new_tokens is None:
            max_new_tokens = self.max_turns * max_reply_tokens
        stops = _stop_tokens(tok, self._format.separator)

        # The opening: facts and the user's first utterance (a pure function of the scenario).
        self._openings = [self._opening(s) for s in self.scenarios]
        pairs = zip(self.scenarios, self._openings, strict=True)
        prompts = [self._format.prompt(s.facts, first) for s, first in pairs]
        if max_length is None:
            max_length = self._default_max_length(tok, all_scenarios, max_new_tokens)
        super().__init__(
            prompts,
            tokenizer=tok,
            reward=reward,
            max_new_tokens=max_new_tokens,
            max_length=max_length,
            split=split,
            reward_mode=reward_mode,
            stop_token_ids=stops,
            add_special_tokens=self.conversation_format == "transcript",  # chat templates hold their own
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
            context_tokens=context_tokens,
        )
        self.max_reply_tokens = max_reply_tokens

    # ----- the user and the conversation -----
    def _encode(self, tokenizer: Any, text: str, special: bool = False) -> list[int]:
        # Chat templates already contain their special tokens.
        add = special and self.conversation_format == "transcript"
        return [int(t) for t in tokenizer(text, add_special_tokens=add)["input_ids"]]

    def _opening(self, scenario: DialogueScenario) -> str:
        turn = self._ask(scenario, [])
        if turn.done or not turn.text:
            raise ValueError(f"the user must open the conversation with an utterance, got {turn!r}")
        return turn.text

    def _ask(self, scenario: DialogueScenario, messages: Sequence[Mapping[str, str]]) -> UserTurn:
        turn = self.user(scenario, [dict(m) for m in messages])
        if isinstance(turn, str):
            turn = UserTurn(turn)
        if not isinstance(turn, UserTurn):
            raise TypeError(f"the user must return a UserTurn or a str, got {type(turn).__name__}")
        if not turn.done and not turn.text.strip():
            raise ValueError("the user returned an empty utterance without ending the conversation")
        return turn

    def _shown(self, messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
        """Messages as the model sees them: user texts in the tokenizer's language."""
        fmt = self._format
        return [
            {"role": m["role"], "content": fmt.text(m["content"]) if m["role"] == "user" else m["content"]}
            for m in messages
        ]

    def _user_turn_ids(
        self, tokenizer: Any, facts: str, messages: Sequence[Mapping[str, str]], text: str, closing: bool
    ) -> list[int]:
        return self._encode(tokenizer, self._format.user_turn(facts, self._shown(messages), text, closing))

    def _default_max_length(
        self, tokenizer: Any, all_scenarios: Mapping[str, Sequence[DialogueScenario]], max_new_tokens: int
    ) -> int:
        """Longest opening of any split + max_new_tokens + max_turns x the longest user turn."""
        openings, utterances = [], {CLOSING}
        for scenarios in all_scenarios.values():
            for s in scenarios:
                prompt = self._format.prompt(s.facts, self._opening(s))
                openings.append(len(self._encode(tokenizer, prompt, special=True)))
                utterances.update(s.questions)
        s = self.scenarios[0]
        history = [{"role": "user", "content": s.questions[0]}, {"role": "assistant", "content": "x"}]
        longest_user = max(
            len(self._user_turn_ids(tokenizer, s.facts, history, u, closing=u == CLOSING)) for u in utterances
        )
        return max(openings) + max_new_tokens + self.max_turns * longest_user

    def messages(self, episode: Episode | None = None) -> list[dict[str, str]]:
        """The conversation of ``episode`` (default: the current one) as ``{"role", "content"}`` dicts.

        The user's opening, then each finished turn in order (user texts in the grammar, as
        the user said them); the reply being written is not included.
        """
        episode = episode if episode is not None else self.episode
        if episode is None:
            raise RuntimeError("no episode yet: call reset()")
        opening = {"role": "user", "content": self._openings[episode.index]}
        return [opening, *({"role": t.role, "content": t.text} for t in episode.turns[1:])]

    def opening_messages(self, index: int) -> list[dict[str, str]]:
        """Scenario ``index``'s opening as the chat messages the chat format renders (``conversation_format="chat"``).

        The system message holds the task and the facts, the user message the customer's first
        utterance, both as prose; ``tokenizer.apply_chat_template(messages, add_generation_prompt=True)``
        is the episode's prompt.

        Raises:
            ValueError: If the env uses the transcript format (it has no messages), or ``index``
                is not a scenario of the split.
        """
        if not isinstance(self._format, _ChatFormat):
            raise ValueError("opening_messages needs conversation_format='chat'; this env renders transcripts")
        if not 0 <= index < len(self.scenarios):
            raise ValueError(f"index {index} is out of range for the {len(self.scenarios)} scenarios of the split")
        facts = self.scenarios[index].facts
        return [
            self._format.system_message(facts),
            {"role": "user", "content": self._format.text(self._openings[index])},
        ]

    def shown_text(self, text: str) -> str:
        """A user utterance as the conversation shows it to the agent (prose for open-vocabulary models)."""
        return self._format.text(text)

    # ----- TextGenEnv hooks -----
    #: The goal bonus's component, added by :meth:`end_turn` (for ``info="numeric"``).
    extra_reward_components = ("success",)

    def turn_prompt(self, episode: Episode) -> str:
        """The dialogue context the reply is scored against: facts and conversation so far."""
        return dialogue_context(self.scenarios[episode.index].facts, self.messages(episode))

    def end_turn(self, episode: Episode) -> TurnEnd:
        """The user answers the reply; the conversation ends when the user leaves or gives up."""
        scenario = self.scenarios[episode.index]
        messages = self.messages(episode)
        user = self._ask(scenario, messages)
        ended = user.done or user.goal_met or len(episode.agent_turns) >= self.max_turns
        goal = float(user.goal_met)
        if ended and not (user.done and user.text):  # leaves (or gives up) without a word
            return TurnEnd(terminated=True, reward=self.success_weight * goal, components={"success": goal})
        ids = self._user_turn_ids(self.tokenizer, scenario.facts, messages, user.text, closing=ended)
        reply = episode.turns[-1].token_ids
        if ids and reply and reply[-1] in self.stop_token_ids and ids[0] == reply[-1]:
            ids = ids[1:]  # the agent's own stop token (EOS / "user") already opens this turn
        bonus = {"reward": self.success_weight * goal, "components": {"success": goal}} if ended else {}
        return TurnEnd(terminated=ended, context=ids, context_role="user", context_text=user.text, **bonus)

    def turn_info(self, episode: Episode, components: Mapping[str, float]) -> dict[str, Any]:
        """``info["turn_reward_components"]``: the finished turn's reward components."""
        return {"turn_reward_components": dict(components)}

    def reset_info(self, episode: Episode) -> dict[str, Any]:
        """The opening prompt and the user's goal (its questions)."""
        return {"prompt": episode.prompt, "goal": list(self.scenarios[episode.index].questions)}

    def final_info(self, episode: Episode, truncation_reason: str | None) -> dict[str, Any]:
        """:meth:`TextGenEnv.final_info`, with ``success`` always set, ``goal_met``, the conversation and turns."""
        episode.components.setdefault("success", 0.0)
        info = super().final_info(episode, truncation_reason)
        info["goal_met"] = bool(episode.components["success"])
        info["conversation"] = self.render_text(episode, [t.text for t in episode.agent_turns])
        info["turns"] = [asdict(t) for t in episode.turns]
        return info

    def render_text(self, episode: Episode, replies: Sequence[str]) -> str:
        """The conversation, one ``"role : text"`` line per turn, the reply being written last."""
        scenario = self.scenarios[episode.index]
        lines = [f"facts : {self._format.text(scenario.facts)}"]
        agent = iter(replies)
        for m in self._shown(self.messages(episode)):
            content = next(agent) if m["role"] == "assistant" else m["content"]
            lines.append(f"{m['role']} : {content}")
        lines += [f"assistant : {reply}" for reply in agent]  # the unfinished reply, if any
        return "\n".join(lines)


class DialogueVectorEnv(TextGenVectorEnv):
    """Batched Dialogue: ``gymnasium.make_vec("textgym/Dialogue-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, **kwargs: Any):
        super().__init__(DialogueEnv(**kwargs), num_envs)
