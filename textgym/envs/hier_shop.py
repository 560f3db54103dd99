"""HierShop: the shop conversation of Dialogue-v0 as a two-level task.

The high level picks a dialogue act (:data:`~textgym.data.shop_acts.ACTS`) for each reply;
the low level writes the reply token by token toward it. Two Gymnasium views of the same
task: :class:`HierShopLowEnv` (the token MDP, the current act in the token state) and
:class:`HierShopHighEnv` (one step per act, running a given low-level policy over its span).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textgym.data.shop_acts import (
    ACT_WORDS,
    ACTS,
    MAX_SLOTS,
    N_FEATURES,
    act_features,
    act_slots,
    correct_act,
    realize,
    realizes,
)
from textgym.envs.dialogue import DialogueEnv
from textgym.envs.episodes import Episode, TurnEnd, TurnStart
from textgym.envs.text_gen import INFO_MODES, numeric_info
from textgym.envs.vector import TextGenVectorEnv
from textgym.render import text_image
from textgym.validation import check_int

INTRINSIC_WEIGHT = 1.0
#: Where a turn's act token goes: ``"before_speaker"`` (v1: ``"user : Q GOAL assistant :"``) or
#: ``"after_speaker"`` (v0: ``"user : Q assistant : GOAL"``, read by the pretrained model as reply text).
GOAL_POSITIONS = ("before_speaker", "after_speaker")
SubgoalPolicy = Callable[[np.ndarray], int]
LowPolicy = Callable[[dict[str, np.ndarray]], int]


class HierShopLowEnv(DialogueEnv):
    """The low level of HierShop: serve the shop's customer, one token per step, toward a given act.

    ## Description
    Dialogue-v0 (its scenarios, scripted user, transcript format and per-turn reward) with a
    subgoal per agent turn: a dialogue act, chosen when the turn starts by ``subgoal_policy``
    (default: the act whose realization is the correct answer,
    :func:`~textgym.data.shop_acts.correct_act`). The act is a **control token in the token
    state**: one context token (not an action), its word in
    :data:`~textgym.data.shop_acts.ACT_WORDS` (greet "hello", price "coins", open "open",
    close "close", where "near", stock "sell", unknown "know"), placed at the end of the
    user's line, before ``"assistant :"``. So the observation is
    ``"<bos> facts : F user : Q GOAL assistant :"`` and the agent writes after it. (v0 put it
    right after ``"assistant :"``, where the pretrained tiny model read the act word as the
    first word of its reply and continued it: "open" -> "at seven ." instead of "we open at
    one .". Before the speaker, the base model's replies score almost as without the token:
    ``python benchmarks/goal_position.py`` measures both places.) In v2 (``goal_slots=True``)
    the act also carries its slots: the words its realization takes from the facts and the
    question (:func:`~textgym.data.shop_acts.act_slots`), after the act word:
    ``"user : how much are the eggs ? coins eggs two assistant :"``. That is the act a
    pipeline dialogue system's manager hands its sentence writer (``inform(price, eggs,
    two)``, the database lookup done). Without them the pretrained tiny model, given the
    right act, mostly writes the right sentence with the wrong item or value ("the cups cost
    twelve coins ."): the lookup, not the choice of sentence, is what it cannot do.

    Why a flat token policy finds the task hard: the right reply depends on the question
    *and* on which facts the shop has ("when do you open ?" is answered with the hour or
    with "sorry , i do not know ."), and the reward arrives only after a whole reply. With
    the act given, the low level's job shrinks to realizing it, and the intrinsic reward
    says at once whether it did.

    ## Action Space
    ``Discrete(247)``: the next token (tiny tokenizer).

    ## Observation Space
    As Dialogue-v0 (right-padded ``input_ids``, ``attention_mask``), with room for one goal
    token per turn (``max_length`` 117); v2: for the act and up to two slot words per turn
    (``max_length`` 123).

    ## Rewards
    At the last step of each agent turn: ``extrinsic + intrinsic_weight * intrinsic``, where
    extrinsic is Dialogue-v0's turn reward (helpfulness, rudeness, length, fluency; plus the
    success bonus when the user leaves satisfied) and intrinsic is 1.0 if the reply is
    exactly the act's realization (:func:`~textgym.data.shop_acts.realizes`), else 0.0.
    ``info["reward_components"]`` holds, besides Dialogue-v0's components, ``"extrinsic"``
    and ``"intrinsic"`` summed over the episode; ``info["turn_intrinsic"]`` is the turn's.
    ``info["turn_act_correct"]`` says whether the turn's act was the correct one
    (:func:`~textgym.data.shop_acts.correct_act`; a diagnostic of the high level, not a reward).
    Both are None when the budget, not a stop, ended the turn.

    ## Episode End
    As Dialogue-v0.

    ## Info for typed collectors
    With ``info="numeric"`` (TorchRL's ``auto_register_info_dict``; the layout of
    :class:`~textgym.envs.TextGenEnv`, built by :func:`~textgym.envs.text_gen.numeric_info`)
    every ``info``, at reset and at every step, has these keys and numpy types:

    * ``"budget_exhausted"`` (``np.bool_``): the token budget ended the episode.
    * ``"reward_<name>"`` (``np.float64``), the episode's sums so far, for Dialogue-v0's
      components (``helpfulness``, ``rudeness``, ``length``, ``fluency``, ``success``) and
      ``"reward_intrinsic"`` and ``"reward_extrinsic"`` (the return so far minus
      ``intrinsic_weight`` times the intrinsic sum); at the end equal to
      ``reward_components[name]``.
    * ``"turn_ended"`` (``np.bool_``): this step ended an agent turn (a stop token, its
      length, or the budget), where the default info has ``"turn_reward_components"``.
    * ``"turn_reward_<name>"`` (``np.float64``) for Dialogue-v0's scored terms
      (``helpfulness``, ``rudeness``, ``length``, ``fluency``): ``turn_reward_components``
      of the turn that ended; 0.0 on other steps.
    * ``"turn_intrinsic"`` (``np.float64``): ``info["turn_intrinsic"]``; 0.0 on other steps,
      and when the budget, not a stop, ended the turn (the default info's None).
    * ``"goal_act"`` (``np.int64``): the act id of the turn being written (after the turn
      that ends the episode: that turn's); -1 while the high level has not set one.
    * ``"goal_met"`` (``np.bool_``): the user left satisfied (the default final info's
      ``goal_met``).

    Every other key (the text: ``prompt``, ``goal``, ``completion``, ``turns``, ...) is kept
    with a leading underscore. The default ``info`` (see Rewards) is unchanged.

    ## Arguments
    * ``intrinsic_weight``: weight of the intrinsic reward (default 1.0; >= 0).
    * ``subgoal_policy``: ``f(features) -> act id`` with the features of
      :func:`~textgym.data.shop_acts.act_features` (12 floats), or None for the correct act.
    * ``goal_position``: ``"before_speaker"`` (default, v1) or ``"after_speaker"`` (v0).
    * ``goal_slots``: the act's slot words follow its control token (v2; default False).
      A slot word outside the tokenizer's vocabulary (a custom scenario's fact) is refused
      with a ``ValueError`` when its turn begins.
    * ``info``: ``"default"`` or ``"numeric"`` (see Info for typed collectors).
    * everything else: as Dialogue-v0 (tiny tokenizer and transcript format only).

    ## Batched
    ``gymnasium.make_vec("textgym/HierShopLow-v2", num_envs=N, vectorization_mode="vector_entry_point")``
    (:class:`HierShopLowVectorEnv`) and ``agents.make_env`` run N episodes as one
    :class:`~textgym.envs.TextGenVectorEnv`: each turn's act is chosen in the turn's start hook
    (:meth:`start_turn`) and kept on the episode record (``Episode.goals``), so the slots
    share one env. Each slot steps as a single env with the same seed does (with a stateless
    ``subgoal_policy``; a stateful one is called once per turn, slots in order). Not with
    ``external_goals``, whose acts the high level sets between steps (:meth:`begin_turn`).

    ## Version History
    * v2: the act's slot words follow its token (``goal_slots``); the token state is 6 longer.
    * v1: the act token goes before ``"assistant :"`` instead of after it (``goal_position``).
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/HierShopLow-v1")
    >>> obs, info = env.reset(seed=0, options={"prompt_index": 1})
    >>> tok = env.unwrapped.tokenizer
    >>> tok.decode(obs["input_ids"][obs["attention_mask"] == 1][-4:])
    '? know assistant :'
    >>> for word in "sorry , i do not know . <eos>".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> c = info["reward_components"]
    >>> terminated, c["intrinsic"], round(c["extrinsic"], 2), round(reward, 2)
    (True, 1.0, 2.43, 3.43)
    """

    def __init__(
        self,
        *,
        intrinsic_weight: float = INTRINSIC_WEIGHT,
        subgoal_policy: SubgoalPolicy | None = None,
        external_goals: bool = False,
        goal_position: str = "before_speaker",
        goal_slots: bool = False,
        **kwargs: Any,
    ):
        if not intrinsic_weight >= 0:
            raise ValueError(f"intrinsic_weight must be >= 0, got {intrinsic_weight}")
        if goal_position not in GOAL_POSITIONS:
            raise ValueError(f"goal_position must be one of {GOAL_POSITIONS}, got {goal_position!r}")
        if "context_tokens" in kwargs:
            raise ValueError("HierShopLow sets context_tokens itself: the room for each turn's act")
        max_turns = check_int("max_turns", kwargs.setdefault("max_turns", 3))
        # encode_prompts reads these during DialogueEnv's __init__.
        self.goal_position = goal_position
        self.goal_slots = bool(goal_slots)
        # Room for each agent turn's goal: the act token and, with goal_slots, up to MAX_SLOTS
        # slot words (the tiny tokenizer has one token per word); the speaker only moves.
        super().__init__(context_tokens=max_turns * (1 + (MAX_SLOTS if self.goal_slots else 0)), **kwargs)
        self.intrinsic_weight = float(intrinsic_weight)
        self.subgoal_policy = subgoal_policy
        #: The high-level view sets each turn's act itself (:meth:`begin_turn`).
        self.external_goals = bool(external_goals)
        self.goal_token_ids = [int(self.tokenizer.convert_tokens_to_ids(ACT_WORDS[a])) for a in ACTS]
        #: ``"assistant :"``: with ``goal_position="before_speaker"`` every prompt and user turn
        #: ends without it, and each turn's start appends the act token and then it.
        self.speaker_ids = self._speaker_ids()

    @property
    def batchable(self) -> bool:  # type: ignore[override]
        """False with ``external_goals``: the high level sets each turn's act on this env, between its steps."""
        return not self.external_goals

    def _speaker_ids(self) -> list[int]:
        return [int(t) for t in self.tokenizer("assistant :", add_special_tokens=False)["input_ids"]]

    def encode_prompts(self, prompts: Sequence[str], add_special_tokens: bool) -> list[list[int]]:
        """Dialogue-v0's openings; before the speaker (v1, v2) without their final ``"assistant :"``.

        The turn's start (:meth:`start_turn`) appends the act and then the speaker.

        Raises:
            ValueError: If the env does not use the tiny tokenizer's transcript format, or (act
                before the speaker) an opening does not end with ``"assistant :"``.
        """
        # Checked here, the first time the prompts are seen, so that a chat format gets this error.
        if self.conversation_format != "transcript" or "coins" not in self.tokenizer.get_vocab():
            raise ValueError("HierShop needs the tiny tokenizer's transcript format (its acts are grammar words)")
        encoded = super().encode_prompts(prompts, add_special_tokens)
        if self.goal_position != "before_speaker":
            return encoded
        speaker = self._speaker_ids()
        k = len(speaker)
        for i, ids in enumerate(encoded):
            if ids[-k:] != speaker:
                raise ValueError(f"prompt {i} does not end with 'assistant :'; cannot place the act before it")
        return [ids[:-k] for ids in encoded]

    @property
    def goals(self) -> list[int]:
        """The acts of the current episode's turns so far, the current turn's last (its :attr:`Episode.goals`)."""
        episode = self.episode
        return [] if episode is None else episode.goals

    # ----- the current question and its act -----
    def question(self, episode: Episode | None = None) -> str:
        """The question the agent's current turn answers (the user's last utterance)."""
        return [m for m in self.messages(episode) if m["role"] == "user"][-1]["content"]

    def features(self, episode: Episode | None = None) -> np.ndarray:
        """:func:`~textgym.data.shop_acts.act_features` of ``episode``'s question (default: the current one), (12,)."""
        episode = episode if episode is not None else self.episode
        if episode is None:
            raise RuntimeError("no episode yet: call reset()")
        return act_features(self.scenarios[episode.index].shop, self.question(episode))

    def _choose_goal(self, episode: Episode) -> int:
        if self.subgoal_policy is None:
            return correct_act(self.scenarios[episode.index].shop, self.question(episode))
        return int(self.subgoal_policy(self.features(episode)))

    @staticmethod
    def _check_goal(goal: int) -> None:
        if not 0 <= int(goal) < len(ACTS):
            raise ValueError(f"goal must be an act id in [0, {len(ACTS)}), got {goal}")

    def goal_turn(self, episode: Episode, goal: int) -> TurnStart:
        """The start of ``episode``'s current turn toward act ``goal``: its control token, slot words, speaker.

        Raises:
            ValueError: If ``goal`` is not an act id, or a slot word is not in the tokenizer's vocabulary.
        """
        self._check_goal(goal)
        act = ACTS[int(goal)]
        slots = act_slots(act, self.scenarios[episode.index].shop, self.question(episode)) if self.goal_slots else []
        words = [ACT_WORDS[act], *slots]
        ids = [self.goal_token_ids[int(goal)], *(int(self.tokenizer.convert_tokens_to_ids(w)) for w in slots)]
        if self.tokenizer.unk_token_id in ids:  # a custom scenario's fact outside the tiny vocabulary
            raise ValueError(f"the goal's words {words} are not all in the tokenizer's vocabulary")
        if self.goal_position == "before_speaker":
            ids += self.speaker_ids  # the user's line ends with the act; then the reply's speaker
        # Context tokens, never actions (as a user's turn); the agent's reply starts after them.
        return TurnStart(goal=int(goal), context=ids, context_role="goal", context_text=" ".join(words))

    def begin_turn(self, goal: int) -> None:
        """Start the agent's turn toward act ``goal`` (``external_goals``): append its control token to the token state.

        Raises:
            ValueError: If ``goal`` is not an act id, the turn has already begun, or its tokens
                do not fit in ``max_length``.
            RuntimeError: Before the first reset.
        """
        self._check_goal(goal)
        episode = self.episode
        if episode is None:
            raise RuntimeError("no episode yet: call reset()")
        if len(episode.goals) > len(episode.agent_turns):
            raise ValueError("this turn already has its goal")
        start = self.goal_turn(episode, goal)
        room = self.slots.room(0, final=False)
        if len(start.context) > room:
            raise ValueError(f"the goal {start.context_text!r} needs {len(start.context)} tokens, only {room} are free")
        self.slots.start_turn(0, start)

    # ----- TextGenEnv hooks -----
    def start_turn(self, episode: Episode) -> TurnStart | None:
        """Each turn's act: from ``subgoal_policy`` (or the correct act); none with ``external_goals``."""
        if self.external_goals:
            return None  # the high level calls begin_turn
        return self.goal_turn(episode, self._choose_goal(episode))

    def _step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Dialogue-v0's step; with ``external_goals``, only once the high level has begun the turn."""
        if self.external_goals and len(self.goals) <= len(self.episode.agent_turns):  # type: ignore[union-attr]
            raise RuntimeError("the high level must call begin_turn(goal) before the turn's first token")
        return super()._step(action)

    #: Dialogue-v0's goal bonus, and the two sums this view adds (for ``info="numeric"``).
    extra_reward_components = (*DialogueEnv.extra_reward_components, "intrinsic", "extrinsic")

    def numeric_components(self, episode: Episode) -> dict[str, float]:
        """The episode's components so far, with ``extrinsic``: the return so far minus the weighted intrinsic."""
        components = dict(episode.components)
        # The same sum the final info's reward_components["extrinsic"] is, at every step.
        components["extrinsic"] = episode.total_reward - self.intrinsic_weight * components.get("intrinsic", 0.0)
        return components

    def numeric_fields(self, info: Mapping[str, Any], episode: Episode) -> dict[str, np.generic]:
        """The turn and goal keys of ``info="numeric"`` (the class docstring's Info for typed collectors)."""
        turn = info.get("turn_reward_components")
        scored = [n for n in self.reward_component_names(episode) if n not in self.extra_reward_components]
        fields: dict[str, np.generic] = {"turn_ended": np.bool_(turn is not None)}
        fields.update({f"turn_reward_{n}": np.float64((turn or {}).get(n, 0.0)) for n in scored})
        fields["turn_intrinsic"] = np.float64(info.get("turn_intrinsic") or 0.0)  # None: the budget ended the turn
        fields["goal_act"] = np.int64(episode.goals[-1] if episode.goals else -1)
        fields["goal_met"] = np.bool_(bool(episode.components.get("success", 0.0)))
        return fields

    def end_turn(self, episode: Episode) -> TurnEnd:
        """Dialogue-v0's user answers; the turn's intrinsic reward goes to its last step, its outcome to its info."""
        scenario = self.scenarios[episode.index]
        messages = self.messages(episode)
        question = [m for m in messages if m["role"] == "user"][-1]["content"]
        reply = episode.turns[-1].text
        act = ACTS[episode.goals[len(episode.agent_turns) - 1]]
        intrinsic = float(realizes(act, scenario.shop, question, reply))
        end = super().end_turn(episode)
        components = {**end.components, "intrinsic": intrinsic}
        context = list(end.context)
        k = len(self.speaker_ids)
        if self.goal_position == "before_speaker" and context[-k:] == self.speaker_ids:
            context = context[:-k]  # the next turn's start appends its act, then the speaker
        return TurnEnd(
            terminated=end.terminated,
            reward=end.reward + self.intrinsic_weight * intrinsic,
            components=components,
            context=context,
            context_role=end.context_role,
            context_text=end.context_text,
            info={
                "turn_intrinsic": intrinsic,
                "turn_act_correct": ACTS.index(act) == correct_act(scenario.shop, question),
            },
        )

    def turn_info(self, episode: Episode, components: Mapping[str, float]) -> dict[str, Any]:
        """Dialogue-v0's, with ``turn_intrinsic`` and ``turn_act_correct`` None until :meth:`end_turn` sets them.

        They stay None when the budget, not a stop, ended the turn (no :meth:`end_turn` then).
        """
        return {**super().turn_info(episode, components), "turn_intrinsic": None, "turn_act_correct": None}

    def final_info(self, episode: Episode, truncation_reason: str | None) -> dict[str, Any]:
        """Dialogue-v0's, with the episode's ``intrinsic`` and ``extrinsic`` sums in ``reward_components``."""
        info = super().final_info(episode, truncation_reason)
        c = info["reward_components"]
        c.setdefault("intrinsic", 0.0)
        c["extrinsic"] = episode.total_reward - self.intrinsic_weight * c["intrinsic"]
        return info

    def messages(self, episode: Episode | None = None) -> list[dict[str, str]]:
        """Dialogue-v0's conversation without the goal tokens (the user and the reward never see them)."""
        return [m for m in super().messages(episode) if m["role"] != "goal"]


class HierShopLowVectorEnv(TextGenVectorEnv):
    """Batched HierShopLow: ``gymnasium.make_vec("textgym/HierShopLow-v2", num_envs=N)``.

    Each slot's acts come from the env's ``subgoal_policy`` (one call per turn, slots in order),
    so ``external_goals`` (a high level that sets the acts itself) is refused.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any):
        super().__init__(HierShopLowEnv(**kwargs), num_envs)


class ScriptedLowPolicy:
    """A fixed low-level policy: writes the current act's realization, then EOS (just EOS if it has none).

    Args:
        env: The low-level env it acts in (it reads the act, the shop and the question there).
    """

    def __init__(self, env: HierShopLowEnv):
        self.env = env

    def __call__(self, obs: dict[str, np.ndarray]) -> int:
        """The next token of the realization."""
        env = self.env
        episode = env.episode
        assert episode is not None
        shop = env.scenarios[episode.index].shop
        target = realize(ACTS[episode.goals[-1]], shop, env.question()) or ""
        ids = [int(t) for t in env.tokenizer(target, add_special_tokens=False)["input_ids"]] + [env.eos_token_id]
        written = len(env.slots.reply_ids(0))
        return ids[written]


class RandomLowPolicy:
    """A fixed low-level policy that writes uniformly random tokens (seeded once, pickles with its state).

    Args:
        env: The low-level env it acts in.
        seed: Seed of its generator.
    """

    def __init__(self, env: HierShopLowEnv, seed: int = 0):
        self.vocab_size = env.vocab_size
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: dict[str, np.ndarray]) -> int:
        """A uniformly random token."""
        return int(self.rng.integers(self.vocab_size))


class HierShopHighEnv(gym.Env[dict[str, np.ndarray], int]):
    """The high level of HierShop: pick the dialogue act of each reply; a fixed low-level policy writes it.

    ## Description
    The same conversations as :class:`HierShopLowEnv` (which it runs inside), one step per
    agent turn. Each step the agent picks an act (:data:`~textgym.data.shop_acts.ACTS`); the
    env appends the act's control token and runs the low-level policy, token by token, until
    the reply's span ends (a stop token, ``max_reply_tokens`` tokens, or the episode's end).
    Then the user answers and the next step starts. Planning matters: the right act depends
    on the question and on the shop's facts ("when do you open ?" -> ``open`` if the hour is
    known, ``unknown`` if not), which the features show.

    ## Action Space
    ``Discrete(7)``: greet, price, open, close, where, stock, unknown.

    ## Observation Space
    ``Dict(input_ids, attention_mask, features)``: the low level's token state (as
    :class:`HierShopLowEnv`: the conversation so far, right-padded, length 117; v2: 123) and
    ``features = Box(0, 1, (12,), float32)``: :func:`~textgym.data.shop_acts.act_features`
    of the question to answer (a one-hot of its kind, then whether the named item is sold,
    whether the opening hour, the closing hour, the place are known, whether it names an
    item). Stock SB3 agents read the features alone:
    ``FlattenObservation(FilterObservation(env, ["features"]))`` with ``MlpPolicy``.

    ## Rewards
    The span's extrinsic reward, discounted within the span as in a semi-MDP (Sutton, Precup
    & Singh 1999): ``sum_j gamma**j * r_j`` over the span's tokens ``j = 0 .. k-1``, where
    ``r_j`` is the low level's reward without the intrinsic part (Dialogue-v0's turn reward
    and success bonus, all paid on the span's last token, so it is ``gamma**(k-1) *
    r_{k-1}``). ``info["span_tokens"]`` is ``k``, ``info["discount"]`` is ``gamma**k`` (the
    discount to the next decision, for agents that do semi-MDP updates) and
    ``info["intrinsic"]`` whether the span realized the act. At the end ``info`` holds
    ``"prompt"``, ``"completion"``, ``"reward_components"`` (the low level's, extrinsic only)
    and ``"budget_exhausted"``.

    ## Episode End
    * Termination: the conversation ends (the user leaves satisfied or gives up after
      ``max_turns`` (3) replies).
    * Truncation: the low level's token budget ran out (``info["budget_exhausted"]``).

    A step is all or nothing, as in :class:`~textgym.envs.TextGenEnv` (its Failed steps): if
    the reward or the low-level policy raises part-way through the span, the inner env is
    restored to where the step began (:meth:`HierShopLowEnv.checkpoint`) and the error
    propagates; the low-level policy's own state (the ``"random"`` policy's generator) is not.

    ## Info for typed collectors
    With ``info="numeric"`` (TorchRL's ``auto_register_info_dict``; the layout of
    :class:`~textgym.envs.TextGenEnv`, built by :func:`~textgym.envs.text_gen.numeric_info`)
    every ``info``, at reset and at every step, has these keys and numpy types:

    * ``"budget_exhausted"`` (``np.bool_``): the low level's token budget ended the episode.
    * ``"reward_<name>"`` (``np.float64``): the low level's components summed over the
      episode so far (``helpfulness``, ``rudeness``, ``length``, ``fluency``, ``success``,
      ``intrinsic``: the realized spans, ``extrinsic``: the undiscounted extrinsic return);
      at the end equal to ``reward_components[name]``.
    * ``"span_tokens"`` (``np.int64``), ``"discount"`` (``np.float64``, ``gamma**k``) and
      ``"intrinsic"`` (``np.float64``): as in the default info; 0, 1.0 and 0.0 at reset.
    * ``"span_extrinsic"`` (``np.float64``, only in this layout): the span's undiscounted
      extrinsic reward ``sum_j r_j`` (the step's reward is its discounted sum); 0.0 at reset.

    Every other key (the text: ``prompt``, ``goal``, ``completion``, ...) is kept with a
    leading underscore. The inner :class:`HierShopLowEnv` always runs with the default info.

    ## Arguments
    * ``low_policy``: ``"scripted"`` (default: writes the act's realization then EOS, or just
      EOS if the act has none; :func:`scripted_low_policy`), ``"random"`` (uniform tokens),
      or a callable ``f(env) -> (obs -> token id)`` given the inner :class:`HierShopLowEnv`.
    * ``gamma``: the discount within a span (default 0.99).
    * ``goal_position``: where the inner low level puts the act token (as
      :class:`HierShopLowEnv`; default ``"before_speaker"``, v0 ``"after_speaker"``).
    * ``goal_slots``: the inner low level's act carries its slot words (as
      :class:`HierShopLowEnv`; v2).
    * ``low_env_kwargs``: keyword arguments of the inner :class:`HierShopLowEnv` (e.g.
      ``split``; not ``info``).
    * ``render_mode``: ``"ansi"`` (the conversation, as Dialogue-v0), ``"human"`` or ``"rgb_array"``
      (the conversation drawn as an image).
    * ``info``: ``"default"`` or ``"numeric"`` (see Info for typed collectors).

    ## Version History
    * v2: the inner low level is HierShopLow-v2 (the act's slot words follow its token).
    * v1: the inner low level is HierShopLow-v1 (the act token before ``"assistant :"``).
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/HierShopHigh-v1")
    >>> obs, info = env.reset(seed=0, options={"prompt_index": 1})
    >>> obs["features"].tolist()  # "where is the shop ?", the place is not known
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    >>> obs, reward, terminated, truncated, info = env.step(6)  # unknown: "sorry , i do not know ."
    >>> info["span_tokens"], info["intrinsic"], terminated
    (8, 1.0, True)
    >>> round(reward, 6) == round(0.99**7 * (1.0 + 0.5 - 0.07 + 1.0), 6)
    True
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        *,
        low_policy: str | Callable[[HierShopLowEnv], LowPolicy] = "scripted",
        gamma: float = 0.99,
        low_env_kwargs: dict[str, Any] | None = None,
        render_mode: str | None = None,
        info: str = "default",
        goal_position: str = "before_speaker",
        goal_slots: bool = False,
    ):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if info not in INFO_MODES:
            raise ValueError(f"info must be one of {INFO_MODES}, got {info!r}")
        kwargs = dict(low_env_kwargs or {})
        # The high level's observation is its own (token state + features, for MlpPolicy through
        # FilterObservation): the token envs' observation options do not apply to it.
        for key in ("observation", "budget_as_termination"):
            if key in kwargs:
                raise ValueError(f"HierShopHigh does not take the token envs' {key!r} option")
        if "info" in kwargs:
            # The span loop reads the low level's default info; the high view lays out its own.
            raise ValueError("low_env_kwargs must not set 'info': pass info= to the high view itself")
        for key in ("intrinsic_weight", "external_goals", "subgoal_policy", "goal_position", "goal_slots"):
            if key in kwargs:
                raise ValueError(f"low_env_kwargs must not set {key!r}: the high level sets it")
        self.low = HierShopLowEnv(
            intrinsic_weight=0.0,
            external_goals=True,
            goal_position=goal_position,
            goal_slots=goal_slots,
            render_mode="ansi" if render_mode else None,
            **kwargs,
        )
        if low_policy == "scripted":
            self.low_policy: LowPolicy = ScriptedLowPolicy(self.low)
        elif low_policy == "random":
            self.low_policy = RandomLowPolicy(self.low)
        elif callable(low_policy):
            self.low_policy = low_policy(self.low)
        else:
            raise ValueError(f"low_policy must be 'scripted', 'random' or a callable, got {low_policy!r}")
        self.gamma = float(gamma)
        self.render_mode = render_mode
        self.info_mode = info
        #: High-level steps per episode at most: one per agent turn.
        self.max_new_tokens = self.low.max_turns
        self.action_space = spaces.Discrete(len(ACTS))
        self.observation_space = spaces.Dict(
            {
                **self.low.observation_space.spaces,
                "features": spaces.Box(0.0, 1.0, (N_FEATURES,), np.float32),
            }
        )
        self._done = True

    def _obs(self, low_obs: dict[str, np.ndarray], done: bool) -> dict[str, np.ndarray]:
        features = np.zeros(N_FEATURES, dtype=np.float32) if done else self.low.features()
        return {**low_obs, "features": features}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a conversation (``options={"prompt_index": i}`` picks scenario ``i``)."""
        super().reset(seed=seed)
        # The inner env draws the scenario with its own generator, seeded from ours.
        low_obs, info = self.low.reset(seed=int(self.np_random.integers(2**31)), options=options)
        self._low_obs = low_obs
        self._done = False
        return self._obs(low_obs, False), self._output_info(info, span_tokens=0, extrinsic=0.0)

    def _output_info(self, info: dict[str, Any], span_tokens: int, extrinsic: float) -> dict[str, Any]:
        """``info`` as the ``info`` option asks: unchanged, or the numeric layout with the span's keys.

        Args:
            info: The default info.
            span_tokens: The span's length ``k`` (0 at reset).
            extrinsic: The span's undiscounted extrinsic reward (0.0 at reset).
        """
        if self.info_mode == "default":
            return info
        episode = self.low.episode
        assert episode is not None
        span = {
            "span_tokens": np.int64(span_tokens),
            "discount": np.float64(self.gamma**span_tokens),
            "intrinsic": np.float64(info.get("intrinsic", 0.0)),
            "span_extrinsic": np.float64(extrinsic),
        }
        names = self.low.reward_component_names(episode)
        return numeric_info(info, self.low.numeric_components(episode), names, span)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Run the low-level policy over the act's span; return its semi-MDP discounted extrinsic reward."""
        if self._done:
            raise RuntimeError("step() called on a finished episode (or before reset()); call reset() first")
        arr = np.asarray(action)
        if arr.shape != () or not np.issubdtype(arr.dtype, np.integer) or not 0 <= int(arr) < len(ACTS):
            raise ValueError(f"action must be an act id in [0, {len(ACTS)}), got {action!r}")
        # The span is one step of this env: all or nothing. If the reward (or the low policy) raises
        # part-way, the low level goes back to where the step started; the low policy's
        # own state (e.g. the random policy's generator) is not rolled back.
        checkpoint = self.low.checkpoint()
        try:
            self.low.begin_turn(int(arr))
            obs = self.low.slots.obs(0)
            total, undiscounted, k = 0.0, 0.0, 0
            while True:
                obs, r, terminated, truncated, info = self.low.step(self.low_policy(obs))
                total += self.gamma**k * r  # intrinsic_weight is 0 inside: r is extrinsic only
                undiscounted += r
                k += 1
                if "turn_reward_components" in info or terminated or truncated:
                    break
        except BaseException:
            self.low.restore(checkpoint)
            raise
        self._done = terminated or truncated
        out = {"span_tokens": k, "discount": self.gamma**k, "intrinsic": float(info.get("turn_intrinsic") or 0.0)}
        if self._done:
            out.update({key: info[key] for key in ("prompt", "completion", "reward_components", "budget_exhausted")})
            if "truncation_reason" in info:
                out["truncation_reason"] = info["truncation_reason"]
        out = self._output_info(out, span_tokens=k, extrinsic=undiscounted)
        return self._obs(obs, self._done), float(total), terminated, truncated, out

    def render(self) -> str | np.ndarray | None:
        """The conversation so far, as Dialogue-v0 renders it (``rgb_array``: drawn as an image)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        text = self.low.render()
        if self.render_mode == "human":
            print(text)
            return None
        if self.render_mode == "rgb_array":
            return text_image(text)
        return text
