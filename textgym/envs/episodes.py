"""The text-generation MDP's dynamics on token arrays, written once for the single and the vector env.

:class:`EpisodeSlots` holds N episodes of one :class:`~textgym.envs.TextGenEnv` task as
right-padded arrays of shape (N, max_length) plus one :class:`Episode` record per slot, and
advances any subset of them by one agent token. :class:`~textgym.envs.TextGenEnv` is this with
N = 1 and :class:`~textgym.envs.TextGenVectorEnv` with N slots, so both step identically by
construction. What is task-specific (when the agent's turn ends, what the env answers, what
the reward scores, the end-of-episode ``info``) comes from the env's hooks.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from textgym.envs.text_gen import TextGenEnv

#: Role of the agent's turns in :attr:`Episode.turns`.
AGENT = "assistant"
#: Role of the opening prompt in :attr:`Episode.turns`.
PROMPT = "prompt"


@dataclass
class Turn:
    """One piece of an episode's token state: the prompt, an agent turn, or context the env added.

    Attributes:
        role: ``"prompt"``, ``"assistant"`` (the agent) or the context's speaker (e.g. ``"user"``).
        text: The turn's text (an agent turn: its tokens decoded without stop and special tokens).
        token_ids: The tokens it put in the observation, in order (empty for context that did
            not fit).
    """

    role: str
    text: str
    token_ids: list[int]


@dataclass
class Episode:
    """The Python-side record of one episode; the env's hooks read it.

    Attributes:
        index: Index of the episode's prompt in ``env.prompts``.
        prompt: That prompt.
        turns: The prompt, then each finished agent turn and each piece of context, in order.
            The agent's unfinished turn is not in it: its tokens are only in the token arrays.
        components: The episode's reward components so far: each finished agent turn's
            components summed, plus what :meth:`TextGenEnv.end_turn` added.
        goals: The subgoal of each agent turn so far, the current turn's last, as
            :meth:`TextGenEnv.start_turn` set them (empty for an env without subgoals).
        total_reward: The rewards of the episode's steps so far, summed in step order.
    """

    index: int
    prompt: str
    turns: list[Turn]
    components: dict[str, float] = field(default_factory=dict)
    goals: list[Any] = field(default_factory=list)
    total_reward: float = 0.0

    @property
    def agent_turns(self) -> list[Turn]:
        """The agent's finished turns, in order."""
        return [t for t in self.turns if t.role == AGENT]

    @property
    def goal(self) -> Any:
        """The current agent turn's subgoal, or None when no turn has one yet."""
        return self.goals[-1] if self.goals else None


@dataclass
class TurnEnd:
    """What the env does when the agent's turn ends (the return value of :meth:`TextGenEnv.end_turn`).

    Attributes:
        terminated: Whether the episode ends here. The default, ``True``, is the single-turn MDP.
        reward: Added to the reward of the step that ended the turn (e.g. a goal bonus).
        components: Added to the episode's reward components (e.g. ``{"success": 1.0}``).
        context: Token ids the env appends to the observation after the agent's tokens (e.g. a
            simulated user's answer). They are context, never actions. If they do not fit in
            ``max_length`` (keeping one position free for the agent when the episode goes on),
            nothing is appended, a warning is raised and the episode is truncated (or, when it
            terminates anyway, ``info["closing_not_shown"]`` says so).
        context_role: The speaker of the context, for :attr:`Episode.turns`.
        context_text: The context's text, for :attr:`Episode.turns` and error messages. With
            an empty text and no tokens nothing is recorded.
        info: Added to the ``info`` of the step that ended the turn (e.g. how the turn met its
            subgoal), after :meth:`TextGenEnv.turn_info`'s keys.
    """

    terminated: bool = True
    reward: float = 0.0
    components: Mapping[str, float] = field(default_factory=dict)
    context: Sequence[int] = ()
    context_role: str = "user"
    context_text: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TurnStart:
    """How the agent's next turn begins (the return value of :meth:`TextGenEnv.start_turn`).

    Attributes:
        goal: The turn's subgoal, appended to :attr:`Episode.goals` (None: the turn has none).
        context: Token ids appended to the observation before the agent's first token (e.g. the
            subgoal's control tokens); context, never actions, as :attr:`TurnEnd.context`.
        context_role: The speaker of the context, for :attr:`Episode.turns`.
        context_text: The context's text, for :attr:`Episode.turns` and error messages.
    """

    goal: Any = None
    context: Sequence[int] = ()
    context_role: str = "goal"
    context_text: str = ""


@dataclass
class SlotsStep:
    """The outcome of :meth:`EpisodeSlots.step` for the stepped slots, in the order given."""

    rewards: np.ndarray  # (k,) float64
    terminated: np.ndarray  # (k,) bool
    truncated: np.ndarray  # (k,) bool
    infos: list[dict[str, Any]]  # the info each slot's step returns ({} mid-turn)


@dataclass
class SlotState:
    """A copy of one slot's whole state (:meth:`EpisodeSlots.save`), to put back with :meth:`EpisodeSlots.load`."""

    ids: np.ndarray  # (max_length,)
    mask: np.ndarray  # (max_length,)
    length: int
    n_new: int
    turn_start: int
    last_score: float
    episode: Episode | None


class EpisodeSlots:
    """N episodes of one env's task as right-padded token arrays, stepped together.

    Slot ``i``'s real tokens are ``ids[i, : length[i]]``; no token ever moves once written.
    Within them, the agent's current turn is ``ids[i, turn_start[i] : length[i]]``.

    Args:
        env: The env whose task, tokenizer, reward and hooks the slots use.
        n: Number of slots.
    """

    def __init__(self, env: TextGenEnv, n: int):
        self.env = env
        self.n = n
        length = env.max_length
        self.ids = np.full((n, length), env.pad_token_id, dtype=np.int64)  # (n, max_length)
        self.mask = np.zeros((n, length), dtype=np.int64)  # (n, max_length)
        self.length = np.zeros(n, dtype=np.int64)  # real tokens per slot
        self.n_new = np.zeros(n, dtype=np.int64)  # agent tokens per slot (the env's token budget)
        self.turn_start = np.zeros(n, dtype=np.int64)  # where the agent's current turn starts
        self.last_score = np.zeros(n)  # score of the current turn so far (immediate mode)
        self.episodes: list[Episode | None] = [None] * n
        self._stop_ids = np.array(sorted(env.stop_token_ids), dtype=np.int64)

    def obs(self, i: int | None = None) -> dict[str, np.ndarray]:
        """Copies of the arrays: all slots, shape (n, max_length), or slot ``i``, (max_length,)."""
        if i is None:
            return {"input_ids": self.ids.copy(), "attention_mask": self.mask.copy()}
        return {"input_ids": self.ids[i].copy(), "attention_mask": self.mask[i].copy()}

    def begin(self, i: int, index: int) -> dict[str, Any]:
        """Start a new episode in slot ``i`` from prompt ``index``; return its reset info."""
        env = self.env
        prompt_ids = env.prompt_ids[index]
        episode = Episode(index, env.prompts[index], [Turn(PROMPT, env.prompts[index], prompt_ids.tolist())])
        n = len(prompt_ids)
        self.ids[i].fill(env.pad_token_id)
        self.mask[i].fill(0)
        self.ids[i, :n] = prompt_ids
        self.mask[i, :n] = 1
        self.length[i] = n
        self.n_new[i] = 0
        self.turn_start[i] = n
        self.last_score[i] = 0.0
        self.episodes[i] = episode
        start = env.start_turn(episode)
        if start is not None:
            room = self.room(i, final=False)
            if len(start.context) > room:
                raise ValueError(
                    f"the first turn's {start.context_role} {start.context_text!r} needs {len(start.context)} "
                    f"tokens after prompt {index} but only {room} of max_length={env.max_length} are free; "
                    "raise max_length"
                )
            self.start_turn(i, start)
        return env.reset_info(episode)

    def save(self, i: int) -> SlotState:
        """A copy of slot ``i``'s state: its token arrays, counters and episode record."""
        return SlotState(
            self.ids[i].copy(),
            self.mask[i].copy(),
            int(self.length[i]),
            int(self.n_new[i]),
            int(self.turn_start[i]),
            float(self.last_score[i]),
            copy.deepcopy(self.episodes[i]),
        )

    def load(self, i: int, state: SlotState) -> None:
        """Put slot ``i`` back in a state from :meth:`save` (the state stays usable for another load)."""
        self.ids[i] = state.ids
        self.mask[i] = state.mask
        self.length[i] = state.length
        self.n_new[i] = state.n_new
        self.turn_start[i] = state.turn_start
        self.last_score[i] = state.last_score
        self.episodes[i] = copy.deepcopy(state.episode)

    def episode(self, i: int) -> Episode:
        """Slot ``i``'s episode record."""
        episode = self.episodes[i]
        if episode is None:
            raise RuntimeError(f"slot {i} has no episode; reset first")
        return episode

    def reply_ids(self, i: int) -> np.ndarray:
        """The agent's unfinished turn in slot ``i``."""
        return self.ids[i, self.turn_start[i] : self.length[i]]

    def replies(self, i: int, values: Sequence[float | None] | None = None) -> list[str]:
        """Slot ``i``'s agent turns as text, the unfinished one last if it has tokens.

        With ``values`` (one per agent token, in order; fewer is fine), each turn is its
        tokens coloured by their values (:func:`textgym.render.colorize_tokens`), stop tokens
        included; without, the turns' texts.
        """
        episode = self.episode(i)
        turns = [t.token_ids for t in episode.agent_turns]
        current = self.reply_ids(i).tolist()
        if values is None:
            texts = [t.text for t in episode.agent_turns]
            return texts + ([self.env.decode_completion(current)] if current else [])
        from textgym.render import colorize_tokens, token_pieces

        given = [v for v in values if v is not None]
        scale = {"vmin": min(given), "vmax": max(given)} if given else {}  # one colour scale for all turns
        out, k = [], 0
        for ids in turns + ([current] if current else []):
            vals = list(values[k : k + len(ids)])
            k += len(ids)
            pieces = token_pieces(self.env.tokenizer, ids)
            out.append(colorize_tokens(pieces, vals + [None] * (len(pieces) - len(vals)), **scale).lstrip())
        return out

    def step(self, slots: np.ndarray, actions: np.ndarray) -> SlotsStep:
        """Append one agent token to each of ``slots``; score, answer and end turns and episodes.

        Every reply scored in this step (every turn that ends; every unfinished one too in
        immediate mode) is scored with **one** batched reward call.

        The step is all or nothing: the would-be replies (each reply so far plus its
        new token) are scored *before* anything is written, so a reward that raises or returns
        an invalid value (:func:`~textgym.rewards.score_batch`) leaves every slot exactly as it
        was: no token appended, no turn recorded, no component added. If a turn hook
        (:meth:`~textgym.envs.TextGenEnv.end_turn`, ``turn_info``, ``final_info``) raises after
        that, the stepped slots' token arrays and episode records are rolled back before the
        error propagates. (What a hook did outside them, e.g. a stateful simulated user, is
        not undone.)

        Args:
            slots: Indices of the slots to step, shape (k,); each must hold a running episode.
            actions: Their token ids, shape (k,), already validated.
        """
        env = self.env
        k = len(slots)
        if k == 0:
            return SlotsStep(np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool), [])
        pos = self.length[slots]  # where each token goes (fancy indexing: a copy, kept for a rollback)
        length = pos + 1
        n_new = self.n_new[slots] + 1
        turn_over = np.isin(actions, self._stop_ids)
        if env.max_reply_tokens is not None:
            turn_over |= length - self.turn_start[slots] >= env.max_reply_tokens
        # The env's own token budget: the agent's tokens, and the observation's positions.
        out_of_tokens = (n_new >= env.max_new_tokens) | (length >= env.max_length)
        reply_done = turn_over | out_of_tokens
        immediate = env.reward_mode == "immediate"
        to_score = np.flatnonzero(reply_done | immediate)
        # Score before writing anything: a failing reward must leave the slots untouched.
        scored = None
        if len(to_score):
            prompts = [env.turn_prompt(self.episode(int(slots[j]))) for j in to_score]
            completions = [env.decode_completion(self._reply_with(int(slots[j]), actions[j])) for j in to_score]
            scored = (completions, env.score(prompts, completions))
        # What the commit below may change besides the new tokens, for a rollback if a hook raises.
        last_score = self.last_score[slots]
        records = {int(j): self._record(int(slots[j])) for j in range(k)}
        self.ids[slots, pos] = actions
        self.mask[slots, pos] = 1
        self.length[slots] = length
        self.n_new[slots] = n_new
        try:
            return self._commit(slots, to_score, scored, turn_over, reply_done, immediate)
        except BaseException:
            self._roll_back(slots, pos, last_score, records)
            raise

    def _reply_with(self, i: int, action: Any) -> list[int]:
        """Slot ``i``'s unfinished turn followed by ``action``: the reply the step would leave."""
        return [*self.reply_ids(i).tolist(), int(action)]

    def _record(self, i: int) -> tuple[int, int, dict[str, float], int, float]:
        """What a step may change in slot ``i`` besides its tokens: turn start, turns, components, goals, return."""
        episode = self.episode(i)
        return (
            int(self.turn_start[i]),
            len(episode.turns),
            dict(episode.components),
            len(episode.goals),
            episode.total_reward,
        )

    def _roll_back(
        self, slots: np.ndarray, pos: np.ndarray, last_score: np.ndarray, records: Mapping[int, tuple]
    ) -> None:
        """Undo a step whose hook raised: each slot back to ``length = pos`` with its saved record."""
        for j, i in enumerate(slots):
            # Everything from the old length on (the token, any context) was padding before.
            self.ids[i, pos[j] : self.length[i]] = self.env.pad_token_id
            self.mask[i, pos[j] : self.length[i]] = 0
        self.length[slots] = pos
        self.n_new[slots] -= 1
        self.last_score[slots] = last_score
        for j, (turn_start, n_turns, components, n_goals, total_reward) in records.items():
            i = int(slots[j])
            episode = self.episode(i)
            self.turn_start[i] = turn_start
            del episode.turns[n_turns:]
            episode.components.clear()
            episode.components.update(components)
            del episode.goals[n_goals:]
            episode.total_reward = total_reward

    def _commit(
        self,
        slots: np.ndarray,
        to_score: np.ndarray,
        scored: tuple[list[str], Any] | None,
        turn_over: np.ndarray,
        reply_done: np.ndarray,
        immediate: bool,
    ) -> SlotsStep:
        """The rest of :meth:`step` once its tokens are written: rewards, turn hooks, episode ends."""
        env = self.env
        k = len(slots)
        rewards = np.zeros(k)
        terminated = np.zeros(k, dtype=bool)
        truncated = np.zeros(k, dtype=bool)
        infos: list[dict[str, Any]] = [{} for _ in range(k)]
        if scored is not None:
            completions, out = scored
            for m, j in enumerate(to_score):
                i = int(slots[j])
                score = float(out.total[m])
                rewards[j] = score - self.last_score[i] if immediate else score
                self.last_score[i] = score
                if reply_done[j]:
                    components = {c: float(v[m]) for c, v in out.components.items()}
                    self._finish_reply(i, completions[m], components)
                    infos[j].update(env.turn_info(self.episode(i), components))
        reasons: dict[int, str] = {}
        for j in np.flatnonzero(turn_over):
            i = int(slots[j])
            episode = self.episode(i)
            end = env.end_turn(episode)
            rewards[j] += end.reward
            for c, v in end.components.items():
                episode.components[c] = episode.components.get(c, 0.0) + float(v)
            terminated[j] = end.terminated
            infos[j].update(end.info)
            reason = self.add_context(i, end.context, end.context_role, end.context_text, final=end.terminated)
            if reason is not None and end.terminated:
                infos[j]["closing_not_shown"] = reason
            elif reason is not None:
                reasons[int(j)] = reason
        going_on = ~terminated
        going_on[list(reasons)] = False
        out_of_budget = going_on & (self.n_new[slots] >= env.max_new_tokens)
        for j in np.flatnonzero(out_of_budget):
            reasons[int(j)] = f"the agent wrote max_new_tokens={env.max_new_tokens} tokens"
        for j in np.flatnonzero(going_on & ~out_of_budget & (self.length[slots] >= env.max_length)):
            reasons[int(j)] = f"the observation is full (max_length={env.max_length})"
        # The agent's next turn begins in the episodes that go on after a finished turn.
        for j in np.flatnonzero(turn_over & ~terminated):
            if int(j) not in reasons:
                reason = self._begin_turn(int(slots[j]))
                if reason is not None:
                    reasons[int(j)] = reason
        for j in range(k):
            episode = self.episode(int(slots[j]))
            episode.total_reward += float(rewards[j])
        # The env's own budget ends these episodes: truncated, or terminated for libraries that
        # bootstrap every truncation (``budget_as_termination``); info["budget_exhausted"] either way.
        (terminated if env.budget_as_termination else truncated)[list(reasons)] = True
        for j in np.flatnonzero(terminated | truncated):
            infos[j].update(env.final_info(self.episode(int(slots[j])), reasons.get(int(j))))
        return SlotsStep(rewards, terminated, truncated, infos)

    def _finish_reply(self, i: int, text: str, components: Mapping[str, float]) -> None:
        """Record slot ``i``'s current agent turn and start a new one."""
        episode = self.episode(i)
        for c, v in components.items():
            episode.components[c] = episode.components.get(c, 0.0) + v
        episode.turns.append(Turn(AGENT, text, self.reply_ids(i).tolist()))
        self.turn_start[i] = self.length[i]
        self.last_score[i] = 0.0

    def _begin_turn(self, i: int) -> str | None:
        """Start the agent's next turn in slot ``i`` as the env's :meth:`~TextGenEnv.start_turn` says."""
        start = self.env.start_turn(self.episode(i))
        return None if start is None else self.start_turn(i, start)

    def room(self, i: int, final: bool) -> int:
        """How many context tokens slot ``i`` can still take (``final``: none need be left for the agent)."""
        free = self.env.max_length - int(self.length[i])
        return max(free - (0 if final else 1), 0)  # leave the agent room to answer

    def start_turn(self, i: int, start: TurnStart) -> str | None:
        """Begin the agent's turn in slot ``i``: record its goal and append its context.

        Returns:
            Why the context did not fit (see :meth:`add_context`), or None.
        """
        if start.goal is not None:
            self.episode(i).goals.append(start.goal)
        return self.add_context(i, start.context, start.context_role, start.context_text)

    def add_context(self, i: int, context: Sequence[int], role: str, text: str, final: bool = False) -> str | None:
        """Append context tokens (not actions) to slot ``i``; the agent's turn then starts after them.

        The context is recorded in :attr:`Episode.turns` as a :class:`Turn` of ``role``; with no
        tokens and an empty text nothing happens.

        Args:
            i: The slot.
            context: The token ids.
            role: Their speaker (e.g. ``"user"``, ``"goal"``).
            text: Their text.
            final: The episode ends here, so no position need be left for the agent.

        Returns:
            None, or, when the tokens do not fit in ``max_length``, why: then nothing is
            appended, the turn is recorded without tokens and a warning is raised; the caller
            ends the episode.
        """
        ids = [int(t) for t in context]
        if not ids and not text:
            return None
        episode = self.episode(i)
        room = self.room(i, final)
        if len(ids) > room:
            reason = (
                f"observation budget: the {role}'s turn {text!r} needs {len(ids)} tokens "
                f"but only {room} of max_length={self.env.max_length} are free; raise max_length"
            )
            what = "the closing context is not shown" if final else "episode truncated"
            warnings.warn(f"{what}: {reason}", stacklevel=5)
            episode.turns.append(Turn(role, text, []))
            return reason
        n = int(self.length[i])
        self.ids[i, n : n + len(ids)] = ids
        self.mask[i, n : n + len(ids)] = 1
        self.length[i] += len(ids)
        self.turn_start[i] = self.length[i]
        episode.turns.append(Turn(role, text, ids))
        return None
