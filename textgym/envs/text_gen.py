"""The base token-level text-generation MDP."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textgym.envs.episodes import Episode, EpisodeSlots, TurnEnd, TurnStart
from textgym.envs.observations import check_observation, encode, observation_space
from textgym.rewards.base import RewardLike, RewardModel, RewardOutput, as_reward_model, score_batch
from textgym.tokenization import resolve_tokenizer
from textgym.validation import check_int

SPLITS = ("train", "validation", "test")
#: The values of the ``info`` argument.
INFO_MODES = ("default", "numeric")


def requested_prompt_index(options: dict[str, Any] | None, n: int, what: str = "prompts") -> int | None:
    """``options["prompt_index"]`` checked against ``n``, or None when it is not given.

    Raises:
        TypeError: If the given index is not an integer.
        ValueError: If the given index is outside ``[0, n)``; the message names ``what``.
    """
    if options and "prompt_index" in options:
        index = check_int("prompt_index", options["prompt_index"], minimum=None)  # 2.7 is not prompt 2
        if not 0 <= index < n:
            raise ValueError(f"prompt_index {index} out of range for {n} {what}")
        return index
    return None


def choose_prompt_index(rng: np.random.Generator, options: dict[str, Any] | None, n: int, what: str = "prompts") -> int:
    """``options["prompt_index"]`` if given (checked against ``n``), else a draw from ``rng``.

    Raises:
        ValueError: If the given index is outside ``[0, n)``; the message names ``what``.
    """
    index = requested_prompt_index(options, n, what)
    return int(rng.integers(n)) if index is None else index


def numeric_info(
    info: Mapping[str, Any],
    components: Mapping[str, float],
    names: Sequence[str],
    fields: Mapping[str, np.generic] | None = None,
) -> dict[str, Any]:
    """The ``info="numeric"`` layout of a default ``info`` (the one builder, for every textgym env).

    See "Info for typed collectors" in :class:`TextGenEnv`'s docstring: ``"budget_exhausted"``
    (``np.bool_``), ``"reward_<name>"`` (``np.float64``, ``components[name]`` or 0.0) for every
    name, then an env's own numeric ``fields``; every other key of ``info`` is kept under a
    leading underscore. A key of ``info`` that the layout gives a number (``budget_exhausted``, a
    field) is replaced, not kept twice.

    Args:
        info: The default info.
        components: The episode's reward components so far.
        names: Every component name the env declares (fixed from the first reset, so that the
            keys are the same at every step).
        fields: Extra numeric keys (an env's :meth:`TextGenEnv.numeric_fields`); each value must
            be a numpy scalar, with the same type at reset and at every step.

    Raises:
        ValueError: If ``components`` has a name that is not in ``names``, or a field is not a
            numpy scalar or clashes with a reward key.
    """
    unknown = set(components) - set(names)
    if unknown:
        raise ValueError(
            f"reward components {sorted(unknown)} were not found at the first reset; declare them in "
            "the env's extra_reward_components"
        )
    out: dict[str, Any] = {"budget_exhausted": np.bool_(info.get("budget_exhausted", False))}
    for name in names:
        out[f"reward_{name}"] = np.float64(components.get(name, 0.0))
    for key, value in (fields or {}).items():
        if key in out:
            raise ValueError(f"numeric info field {key!r} clashes with the reward or budget keys")
        if not isinstance(value, np.generic):
            raise ValueError(f"numeric info field {key!r} must be a numpy scalar, got {type(value).__name__}")
        out[key] = value
    out.update({f"_{k}": v for k, v in info.items() if k not in out})
    return out


Item = TypeVar("Item")


def items_by_split(
    given: Sequence[Item] | Mapping[str, Sequence[Item]] | None,
    split: str,
    generate: Callable[[str], Sequence[Item]],
    noun: str,
) -> dict[str, list[Item]]:
    """Every split's items (scenarios, say): generated for each of :data:`SPLITS`, or the caller's.

    Args:
        given: None (generate them), a mapping split -> items, or the items of ``split`` alone.
        split: The split the env uses; it must have items.
        generate: The items of one split, when none are given.
        noun: What the items are called, for the error message.

    Raises:
        ValueError: If ``split`` has no items.
    """
    if given is None:
        out = {s: list(generate(s)) for s in SPLITS}
    elif isinstance(given, Mapping):
        out = {k: list(v) for k, v in given.items()}
    else:
        out = {split: list(given)}
    if split not in out or not out[split]:
        raise ValueError(f"no {noun} for split {split!r}; the data has splits {sorted(out)}")
    return out


def _split_prompts(prompts: Sequence[str] | Mapping[str, Sequence[str]], split: str) -> list[str]:
    """The prompts of ``split`` (all of them when they are not split), checked to be strings.

    Raises:
        ValueError: If the split has none, or there are none at all.
        TypeError: If one is not a string.
    """
    if isinstance(prompts, Mapping):
        if split not in prompts:
            raise ValueError(f"no prompts for split {split!r}; the data has splits {sorted(prompts)}")
        prompts = prompts[split]
    if isinstance(prompts, str) or not prompts:
        raise ValueError("prompts must be a non-empty sequence of strings")
    prompts = list(prompts)
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str):  # str() would silently turn 1 or None into the prompt '1' / 'None'
            raise TypeError(f"prompts must be strings; prompt {i} is {prompt!r} ({type(prompt).__name__})")
    return prompts


class TextGenEnv(gym.Env[dict[str, np.ndarray], int]):
    """Text generation as a token-level MDP: each step the agent writes one token.

    ## Description
    An episode starts from a prompt sampled from the task's data; the agent appends one token
    per step until it emits EOS (or another stop token) or has written ``max_new_tokens``
    tokens. A pluggable reward model scores the (prompt, completion) text.

    Multi-turn tasks are subclasses that override the turn hooks (:class:`DialogueEnv
    <textgym.envs.DialogueEnv>` does): when the agent's turn ends (a stop token, or
    ``max_reply_tokens`` tokens when that attribute is set), :meth:`end_turn` may append
    context tokens that are not actions (a simulated user's answer), continue or end the
    episode, and add to the turn's reward; :meth:`turn_prompt` gives the text each turn's
    reply is scored against. By default a turn ends the episode: the plain single-turn MDP.
    The batched :class:`~textgym.envs.TextGenVectorEnv` runs the same hooks.

    ## Action Space
    ``Discrete(vocab_size)``: the id of the next token, ``vocab_size = len(tokenizer)``.

    ## Observation Space
    ``Dict(input_ids=Box(0, vocab_size - 1, (max_length,), int64),
    attention_mask=Box(0, 1, (max_length,), int64))`` with
    ``max_length = max_prompt_tokens + max_new_tokens`` unless given. The token state is
    **right-padded**: the prompt's tokens (with the tokenizer's special tokens, e.g. the tiny
    model's ``<bos>``), then the generated tokens (and any context a multi-turn env adds),
    then padding (the tokenizer's PAD id, or EOS if it has none) with ``attention_mask`` 0. A
    token never moves once written, so the real tokens are always
    ``input_ids[: attention_mask.sum()]``. ``observation="multidiscrete"`` declares the same
    arrays as ``Dict(input_ids=MultiDiscrete([vocab_size] * max_length),
    attention_mask=MultiBinary(max_length))`` (mask as int8); ``observation="onehot"`` gives
    the flattened one-hot code ``Box(0, 1, (max_length * vocab_size,), float32)``, real tokens
    right-aligned (:mod:`textgym.envs.observations`).

    ## Rewards
    From the reward model, on the completion decoded without special tokens (in a
    multi-turn env: each turn's reply, given :meth:`turn_prompt`).
    ``reward_mode="terminal"`` (default): 0 on every step but the last of a turn, which gets
    the score. ``reward_mode="immediate"``: each step gets the change in the score of the
    reply so far (counting the score before its first token as 0), so a turn's rewards sum
    to its terminal score while credit arrives as soon as it is earned.

    ## Episode End
    * Termination: the agent emits a stop token (EOS by default); it is not part of the
      completion text. (A multi-turn env decides in :meth:`end_turn` instead.)
    * Truncation: ``max_new_tokens`` tokens were written without the episode ending, or the
      observation is full (``max_length`` tokens). This token budget is part of the task:
      the text is scored as it stands and the rewards paid so far are the episode's whole
      return, so ``info["budget_exhausted"]`` is True and ``info["truncation_reason"]`` says
      which. An agent must not bootstrap a value past it (Pardo et al. 2018, "Time Limits in
      Reinforcement Learning"; bootstrapping here counts the future twice and made PPO
      collapse in our runs); it should still bootstrap at truncations by any *other* time
      limit (e.g. a ``TimeLimit`` wrapper), and never at termination. ``agents.make_env``
      does exactly this. With ``budget_as_termination=True`` the env reports this end as
      ``terminated`` instead (``info["budget_exhausted"]`` is still True), for libraries
      that bootstrap every truncation and cannot read the flag.
    At the end, ``info`` holds ``"prompt"``, ``"completion"`` (the agent's turns, one per
    line), ``"reward_components"`` (name -> float, summed over turns) and
    ``"budget_exhausted"``, built by :meth:`final_info` for the single and the vector env.

    ## Failed steps
    A step is all or nothing. The reward scores the would-be reply (the reply so
    far and the new token) before anything is written, so when it raises, or returns what
    :func:`~textgym.rewards.score_batch` refuses (NaN, an infinity, a wrong shape), the step
    raises and the env is exactly as before it: the token is not appended, no turn is
    recorded, no reward component is added, and the episode goes on from there (step again,
    with the same or another action, once the reward works). The error names the reward:
    ``score_batch``'s own ``ValueError`` / ``TypeError`` in its message; an exception the
    reward raised itself propagates unchanged (same type, so ``except`` clauses keep working)
    with a note (PEP 678, ``err.__notes__``, printed with its traceback) ``"raised by reward
    'name' while scoring ..."``. A turn hook (:meth:`end_turn`, :meth:`turn_info`,
    :meth:`final_info`) that raises rolls the step back as well; what the hook did outside
    the episode's state (a stateful simulated user) is not undone. An invalid action raises
    before anything changes too. :meth:`checkpoint` and :meth:`restore` give the same
    guarantee to operations of several steps.

    ## Info for typed collectors
    With ``info="numeric"`` every ``info`` (at reset and at every step, in the single and the
    vector env) has the same keys with the same numpy types, as collectors that register the
    info's keys once (TorchRL's ``auto_register_info_dict``) need: ``"budget_exhausted"``
    (``np.bool_``) and ``"reward_<name>"`` (``np.float64``) for every reward component (the
    episode's sum so far; 0.0 before it is first scored; at the end, equal to
    ``reward_components[name]``). Every other key (all the text: ``prompt``, ``completion``,
    ...) is kept with a leading underscore (``"_prompt"``, ``"_completion"``,
    ``"_reward_components"``), which such collectors skip. The component names are found by
    scoring one empty completion at the first reset, plus :attr:`extra_reward_components`.
    One function builds this layout for every textgym env, :func:`numeric_info`; a subclass
    adds its own numeric keys with :meth:`numeric_fields` (and may report its sums with
    :meth:`numeric_components`), as the HierShop views do.

    ## Arguments
    * ``prompts``: a sequence of prompts (strings: anything else is an error, not converted),
      or a mapping split -> prompts.
    * ``tokenizer``: ``"tiny"`` (default), ``"smollm2-135m"``, a local directory, a Hugging
      Face repo id ``owner/name``, or a transformers tokenizer; it must have an EOS token.
    * ``reward``: a :class:`~textgym.rewards.RewardModel` or a plain callable
      ``f(prompts, completions) -> floats``.
    * ``max_new_tokens``: episode length limit (default 24). This and the other counts
      (``max_prompt_tokens``, ``max_length``) must be integers >= 1: ``2.0`` is refused too
      (:func:`textgym.validation.check_int`).
    * ``max_prompt_tokens``: observation budget for the prompt; default: the longest prompt.
      A longer prompt is an error, never silently truncated.
    * ``max_length``: the observation's length; default ``max_prompt_tokens +
      max_new_tokens``. It must leave room for at least one token after every prompt.
    * ``context_tokens``: positions added to ``max_length`` for context a subclass shows
      besides the prompt and the agent's tokens (e.g. a hierarchical env's subgoal tokens,
      :meth:`start_turn`); default 0. So ``self.max_length`` is ``max_length + context_tokens``.
    * ``split``: ``"train"``, ``"validation"`` or ``"test"`` when ``prompts`` is a mapping.
    * ``reward_mode``: ``"terminal"`` or ``"immediate"``.
    * ``stop_token_ids``: tokens that end the agent's turn (default: EOS).
    * ``add_special_tokens``: whether the tokenizer adds its special tokens (e.g. ``<bos>``)
      to the prompts (default True; False for prompts that contain them, like chat templates).
    * ``observation``: ``"tokens"`` (default), ``"multidiscrete"`` or ``"onehot"`` (see
      Observation Space).
    * ``budget_as_termination``: report the end of the token budget as ``terminated``
      (default False: ``truncated``, see Episode End).
    * ``info``: ``"default"`` or ``"numeric"`` (see Info for typed collectors).
    * ``render_mode``: ``"ansi"`` returns ``"prompt || completion"``; ``"human"`` prints it;
      ``"rgb_array"`` returns it drawn as a ``uint8`` image of shape (360, 640, 3)
      (:func:`textgym.render.text_image`), for video recorders such as Gymnasium's
      ``RecordVideo`` and SB3's ``VecVideoRecorder`` (and SB3's ``make_vec_env``, which asks
      for it). After :meth:`set_token_values` (e.g. the agent's log-probabilities or the step
      rewards), each generated token is coloured by its value (:mod:`textgym.render`), in
      the text and in the image alike.

    ## Version History
    * v0: initial version.

    ## Example
    >>> from textgym.envs import TextGenEnv
    >>> env = TextGenEnv(["the dog ran ."], reward=lambda p, c: [float(len(s)) for s in c],
    ...                  max_new_tokens=3)
    >>> obs, info = env.reset(seed=0)
    >>> tok = env.tokenizer
    >>> for word in ["the", "cat", "slept"]:
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> (reward, terminated, truncated, info["completion"], info["budget_exhausted"])
    (13.0, False, True, 'the cat slept', True)
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    #: Whether many episodes of this task can run as one batched VecEnv (the turn hooks called
    #: on one template env, all per-episode state in :class:`~textgym.envs.episodes.Episode`).
    #: A subclass that keeps per-episode state on the instance sets it False.
    batchable: bool = True
    #: What the prompts are, in error messages (``reset(options={"prompt_index": i})``).
    prompt_noun = "prompts"

    def __init__(
        self,
        prompts: Sequence[str] | Mapping[str, Sequence[str]],
        *,
        tokenizer: str | Any = "tiny",
        reward: RewardLike,
        max_new_tokens: int = 24,
        max_prompt_tokens: int | None = None,
        max_length: int | None = None,
        split: str = "train",
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        stop_token_ids: Sequence[int] | None = None,
        add_special_tokens: bool = True,
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
        context_tokens: int = 0,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        context_tokens = check_int("context_tokens", context_tokens, minimum=0)
        prompts = _split_prompts(prompts, split)
        max_new_tokens = check_int("max_new_tokens", max_new_tokens)
        if max_prompt_tokens is not None:
            max_prompt_tokens = check_int("max_prompt_tokens", max_prompt_tokens)
        if max_length is not None:
            max_length = check_int("max_length", max_length)
        if reward_mode not in ("terminal", "immediate"):
            raise ValueError(f"reward_mode must be 'terminal' or 'immediate', got {reward_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.observation = check_observation(observation)
        self.budget_as_termination = bool(budget_as_termination)
        if info not in INFO_MODES:
            raise ValueError(f"info must be one of {INFO_MODES}, got {info!r}")
        self.info_mode = info
        self._component_names: tuple[str, ...] | None = None
        self.tokenizer = resolve_tokenizer(tokenizer)
        self.reward_model: RewardModel = as_reward_model(reward)
        self.prompts: list[str] = prompts
        self.split = split
        self.max_new_tokens = max_new_tokens
        self.reward_mode = reward_mode
        self.render_mode = render_mode
        self.eos_token_id = int(self.tokenizer.eos_token_id)
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.eos_token_id)
        self.stop_token_ids = frozenset(
            int(t) for t in (stop_token_ids if stop_token_ids is not None else [self.eos_token_id])
        )
        #: A turn also ends after this many agent tokens (None: only at a stop token). Multi-turn
        #: subclasses set it; with the default :meth:`end_turn` it would end the episode.
        self.max_reply_tokens: int | None = None
        self.vocab_size = len(self.tokenizer)
        self._fit_lengths(add_special_tokens, max_prompt_tokens, max_length, context_tokens)
        self.action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = observation_space(self.observation, self.vocab_size, self.max_length)
        self._slots = EpisodeSlots(self, 1)  # the token state: one slot
        self._done = True
        self.token_values: list[float | None] | None = None  # render colours

    def _fit_lengths(
        self, add_special_tokens: bool, max_prompt_tokens: int | None, max_length: int | None, context_tokens: int
    ) -> None:
        """Encode the prompts and fix the observation's lengths: prompt, whole, and the env's context on top.

        Raises:
            ValueError: If the longest prompt does not fit ``max_prompt_tokens``, or leaves no
                room for the agent in ``max_length``.
        """
        encoded = self.encode_prompts(self.prompts, add_special_tokens)
        self.prompt_ids = [np.asarray(ids, dtype=np.int64) for ids in encoded]
        longest = max(len(ids) for ids in self.prompt_ids)
        i = max(range(len(self.prompt_ids)), key=lambda k: len(self.prompt_ids[k]))
        if max_prompt_tokens is None:
            max_prompt_tokens = longest
        elif longest > max_prompt_tokens:
            raise ValueError(
                f"prompt {self.prompts[i]!r} has {longest} tokens, more than max_prompt_tokens="
                f"{max_prompt_tokens}; raise max_prompt_tokens or shorten the prompt"
            )
        self.max_prompt_tokens = int(max_prompt_tokens)
        if max_length is None:
            max_length = self.max_prompt_tokens + self.max_new_tokens
        elif longest >= max_length:
            raise ValueError(
                f"prompt {self.prompts[i]!r} has {longest} tokens, leaving no room for the agent in "
                f"max_length={max_length}; raise max_length"
            )
        # The context the env adds (e.g. each turn's subgoal) gets its own positions on top.
        self.max_length = int(max_length) + context_tokens

    # ----- helpers shared with the vector env -----
    #: Reward components a subclass adds in :meth:`end_turn` (the reward model's own are found
    #: by scoring), declared so that ``info="numeric"`` has their keys from the first reset.
    extra_reward_components: tuple[str, ...] = ()

    def reward_component_names(self, episode: Episode) -> tuple[str, ...]:
        """The names of the reward components, found once by scoring an empty reply in ``episode``."""
        if self._component_names is None:
            probe = self.score([self.turn_prompt(episode)], [""])
            names = list(probe.components) + [n for n in self.extra_reward_components if n not in probe.components]
            self._component_names = tuple(names)
        return self._component_names

    def output_info(self, info: dict[str, Any], episode: Episode) -> dict[str, Any]:
        """``info`` as the ``info`` option asks: unchanged, or :func:`numeric_info` of it (see the class docstring).

        The numeric layout has :meth:`numeric_components` as the components and
        :meth:`numeric_fields` as the env's own keys.

        Raises:
            ValueError: If the episode has a reward component that was not declared (add it to
                :attr:`extra_reward_components`).
        """
        if self.info_mode == "default":
            return info
        names = self.reward_component_names(episode)
        return numeric_info(info, self.numeric_components(episode), names, self.numeric_fields(info, episode))

    def numeric_components(self, episode: Episode) -> Mapping[str, float]:
        """The episode's reward components so far, as ``info="numeric"`` reports them (default: its record's)."""
        return episode.components

    def numeric_fields(self, info: Mapping[str, Any], episode: Episode) -> dict[str, np.generic]:
        """An env's own numeric ``info`` keys (none by default), given the step's default ``info``.

        A subclass that overrides this must give the same keys and types at reset and every step.
        """
        return {}

    def encode_observation(self, state: dict[str, np.ndarray]) -> Any:
        """The observation (in the ``observation`` option's encoding) of a token state, (L,) or (N, L)."""
        return encode(self.observation, state["input_ids"], state["attention_mask"], self.vocab_size)

    def validate_action(self, action: Any) -> int:
        """Return ``action`` as an int, or raise if it is not in the action space."""
        arr = np.asarray(action)
        if arr.shape != () or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"action must be a single integer token id, got {action!r}")
        a = int(arr)
        if not 0 <= a < self.vocab_size:
            raise ValueError(f"action {a} is outside the action space Discrete({self.vocab_size})")
        return a

    def decode_completion(self, token_ids: Sequence[int]) -> str:
        """Completion text: generated tokens without stop tokens and special tokens."""
        ids = [int(t) for t in token_ids if int(t) not in self.stop_token_ids]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """One validated, batched call of the reward model."""
        return score_batch(self.reward_model, prompts, completions)

    # ----- hooks: the single-turn MDP by default; multi-turn envs override them -----
    def encode_prompts(self, prompts: Sequence[str], add_special_tokens: bool) -> list[list[int]]:
        """The token ids each prompt's episode starts with, before the budgets are checked (default: the tokenizer's).

        Called once, in ``__init__``, after ``self.tokenizer`` is set.
        """
        return [list(ids) for ids in self.tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"]]

    def turn_prompt(self, episode: Episode) -> str:
        """The text the reward model gets as the prompt of the agent's current turn."""
        return episode.prompt

    def end_turn(self, episode: Episode) -> TurnEnd:
        """What happens when the agent's turn ends; ``episode.turns[-1]`` is the finished turn.

        Called after a stop token (or ``max_reply_tokens`` tokens), not when the token budget
        ends the episode. Default: the episode terminates.
        """
        return TurnEnd(terminated=True)

    def start_turn(self, episode: Episode) -> TurnStart | None:
        """How the agent's next turn begins: its subgoal and the context shown before it (None: nothing).

        Called when an episode begins (after its prompt) and after each turn that the episode
        goes on from (after :meth:`end_turn`'s context). A hierarchical env returns the turn's
        subgoal, which goes to :attr:`Episode.goals`, and its control tokens. Default: None.
        """
        return None

    def turn_info(self, episode: Episode, components: Mapping[str, float]) -> dict[str, Any]:
        """Extra ``info`` at the last step of each agent turn, given the turn's reward components."""
        return {}

    def reset_info(self, episode: Episode) -> dict[str, Any]:
        """The ``info`` that ``reset()`` returns."""
        return {"prompt": episode.prompt}

    def final_info(self, episode: Episode, truncation_reason: str | None) -> dict[str, Any]:
        """The end-of-episode ``info``, for the single env, the vector env and ``agents``' VecEnv.

        Args:
            episode: The finished episode.
            truncation_reason: Why the env's own token budget truncated it, or None.
        """
        info: dict[str, Any] = {
            "prompt": episode.prompt,
            "completion": "\n".join(t.text for t in episode.agent_turns),
            "reward_components": dict(episode.components),
            # Every truncation here is the env's own budget: the text is scored as it stands,
            # so agents must not bootstrap past it (Pardo et al. 2018).
            "budget_exhausted": truncation_reason is not None,
        }
        if truncation_reason is not None:
            info["truncation_reason"] = truncation_reason
        return info

    def render_text(self, episode: Episode, replies: Sequence[str]) -> str:
        """The rendered episode, given its agent turns as (maybe coloured) text."""
        completion = "\n".join(replies)
        return f"{episode.prompt} || {completion}"

    # ----- gymnasium API -----
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Start an episode from a prompt drawn with ``self.np_random``.

        ``options={"prompt_index": i}`` picks the i-th prompt instead (evaluation sweeps).
        """
        obs, info = self._reset(seed=seed, options=options)
        return obs, self.output_info(info, self._slots.episode(0))

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Append one token; score the reply when its turn ends (or every step in immediate mode)."""
        obs, reward, terminated, truncated, info = self._step(action)
        return obs, reward, terminated, truncated, self.output_info(info, self._slots.episode(0))

    # reset() and step() are these two, then output_info: a subclass that adds to the default
    # info overrides these, so that the numeric layout is built from its complete info.
    def _reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """:meth:`reset` with the default ``info``."""
        super().reset(seed=seed)
        index = choose_prompt_index(self.np_random, options, len(self.prompts), self.prompt_noun)
        info = self._slots.begin(0, index)
        self._done = False
        self.token_values = None
        return self.encode_observation(self._slots.obs(0)), info

    def _step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """:meth:`step` with the default ``info``."""
        if self._done:
            raise RuntimeError("step() called on a finished episode (or before reset()); call reset() first")
        a = self.validate_action(action)
        out = self._slots.step(np.zeros(1, dtype=np.int64), np.array([a], dtype=np.int64))
        terminated, truncated = bool(out.terminated[0]), bool(out.truncated[0])
        self._done = terminated or truncated
        obs = self.encode_observation(self._slots.obs(0))
        return obs, float(out.rewards[0]), terminated, truncated, out.infos[0]

    def checkpoint(self) -> dict[str, Any]:
        """A copy of the episode's state (token state, record, whether it is over), for :meth:`restore`.

        For operations of several steps that must be all or nothing (HierShopHigh's span of
        low-level steps): checkpoint first, restore if one of the steps raises. A
        subclass with more per-episode state on the instance extends both.
        """
        return {"slot": self._slots.save(0), "done": self._done, "token_values": copy.copy(self.token_values)}

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Put the episode back as :meth:`checkpoint` saved it (the checkpoint can be restored again)."""
        self._slots.load(0, checkpoint["slot"])
        self._done = checkpoint["done"]
        self.token_values = copy.copy(checkpoint["token_values"])

    @property
    def episode(self) -> Episode | None:
        """The current (or last) episode's record; None before the first reset."""
        return self._slots.episodes[0]

    @property
    def slots(self) -> EpisodeSlots:
        """The episode's token state: slot 0 of an :class:`~textgym.envs.episodes.EpisodeSlots`.

        For reading the raw token state (``slots.obs(0)``, ``slots.reply_ids(0)``) and for hooks
        that add context between steps (``slots.start_turn(0, ...)``); step the env, not the slots.
        """
        return self._slots

    @property
    def completion(self) -> str:
        """The text generated so far: the agent's turns, one per line."""
        if self.episode is None:
            return ""
        return "\n".join(self._slots.replies(0))

    def set_token_values(self, values: Sequence[float | None] | None) -> None:
        """Give render() one value per generated token to colour it by; ``None`` clears them.

        Values for the first tokens only are allowed (the rest stay uncoloured), so an agent
        can add its log-probabilities as it goes. reset() clears them.

        Raises:
            ValueError: If there are more values than generated tokens, or one is not finite.
        """
        if values is None:
            self.token_values = None
            return
        vals = [None if v is None else float(v) for v in values]
        n_new = int(self._slots.n_new[0])
        if len(vals) > n_new:
            raise ValueError(f"got {len(vals)} token values but only {n_new} tokens are generated")
        if any(v is not None and not np.isfinite(v) for v in vals):
            raise ValueError(f"token values must be finite, got {values}")
        self.token_values = vals

    def render(self) -> str | np.ndarray | None:
        """:meth:`render_text` of the episode: the text, printed (human mode) or drawn (rgb_array)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi', 'human' or 'rgb_array'")
            return None
        episode = self.episode
        if episode is None:
            text = "(no episode yet: call reset())"
        else:
            text = self.render_text(episode, self._slots.replies(0, self.token_values))
        if self.render_mode == "human":
            print(text)
            return None
        if self.render_mode == "rgb_array":
            from textgym.render import text_image  # Pillow and matplotlib's font: only when drawing

            return text_image(text)
        return text
