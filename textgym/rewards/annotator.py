"""A simulated annotator with a hidden preference, for offline RLHF demos and tests.

The hidden preference (Christiano et al. 2017 used a synthetic labeller the same way): the
annotator likes short, grammatical cat stories that say where things happen. Its utility is

    u = [completion is grammar BODY text] + [mentions a cat]
        + [contains "in/near/behind/under the PLACE"] + [has 1 to 12 words]

and its feedback is noisy: Bradley-Terry choices and Plackett-Luce rankings with temperature
``noise``, ratings with Gaussian noise, and edits that fix only some of what it dislikes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textgym.data import CAT_WORDS, LEXICON, generate, is_grammatical
from textgym.rewards.base import RewardLike, RewardModel, RewardOutput, as_reward_model, score_batch
from textgym.rewards.feedback import Edit, Feedback, Preference, Ranking, Rating

PLACE_RE = re.compile(r"\b(?:in|near|behind|under) the (?:" + "|".join(LEXICON["PLACE"]) + r")\b")
_CAT_SET = frozenset(CAT_WORDS)
_NOUNS_SG = frozenset(LEXICON["ANIMAL_SG"] + LEXICON["PERSON_SG"] + LEXICON["THING_SG"]) - _CAT_SET
_NOUNS_PL = frozenset(LEXICON["ANIMAL_PL"] + LEXICON["PERSON_PL"] + LEXICON["THING_PL"]) - _CAT_SET


class HiddenPreference(RewardModel):
    """The simulated annotator's utility, as a reward (for evaluation; agents never see it).

    ``u = sum_k weight_k * feature_k`` over four 0/1 features, which are its components:

    * ``grammar``: the completion is text of the grammar (start symbol ``BODY``);
    * ``cat``: it mentions a cat (cat, cats, kitten, ...);
    * ``place``: it contains "in/near/behind/under the PLACE";
    * ``short``: it has 1 to ``max_words`` words (words and punctuation marks separated by
      spaces); the empty completion is not a story, so it is not short either.

    Binary features keep the preferences between distinct utilities clear-cut (a difference
    of at least the smallest weight), which a noisy annotator can still express.

    Args:
        grammar: Weight of grammaticality.
        cat: Weight of mentioning a cat.
        place: Weight of a place phrase.
        short: Weight of being short.
        max_words: Longest text that counts as short.
        name: Name of the reward.

    >>> pref = HiddenPreference()
    >>> pref(["p", "p"], ["the cat slept in the garden .", "slept the cat"]).tolist()
    [4.0, 2.0]
    """

    FEATURES = ("grammar", "cat", "place", "short")

    def __init__(
        self,
        grammar: float = 1.0,
        cat: float = 1.0,
        place: float = 1.0,
        short: float = 1.0,
        max_words: int = 12,
        name: str = "hidden_preference",
    ):
        self.weights = {"grammar": float(grammar), "cat": float(cat), "place": float(place), "short": float(short)}
        self.max_words = int(max_words)
        self.name = name

    def features(self, completion: str) -> dict[str, float]:
        """The utility's features of one completion."""
        words = completion.lower().split()
        return {
            "grammar": float(bool(words) and is_grammatical(words, "BODY")),
            "cat": float(any(w in _CAT_SET for w in words)),
            "place": float(bool(PLACE_RE.search(" ".join(words)))),
            "short": float(0 < len(words) <= self.max_words),
        }

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair by the hidden utility; the features are the components."""
        feats = [self.features(c) for c in completions]
        components = {k: np.array([f[k] for f in feats], dtype=np.float64) for k in self.FEATURES}
        total = np.zeros(len(completions))
        for k, w in self.weights.items():
            total = total + w * components[k]
        return RewardOutput(total=total, components=components)


@dataclass
class SimulatedAnnotator:
    """A noisy synthetic labeller of (prompt, completion) pairs.

    All randomness comes from ``np.random.default_rng(seed)``, so the same seed and calls give
    the same feedback.

    Attributes:
        preference: The hidden utility.
        noise: Temperature of choices and rankings: P(a preferred to b) =
            sigmoid((u_a - u_b) / noise); rankings are Plackett-Luce samples with scores
            ``u / noise`` (via the Gumbel-max trick). Ratings add ``noise``-scaled Gaussian
            noise. 0 gives a noiseless annotator.
        fix_probability: Each flaw an edit could fix is fixed with this probability (at
            least one always is).
        seed: Seed of the annotator's generator.
    """

    preference: HiddenPreference | None = None
    noise: float = 0.3
    fix_probability: float = 0.7
    seed: int = 0

    def __post_init__(self) -> None:
        if self.noise < 0 or not 0 < self.fix_probability <= 1:
            raise ValueError("noise must be >= 0 and fix_probability in (0, 1]")
        if self.preference is None:
            self.preference = HiddenPreference()
        self.rng = np.random.default_rng(self.seed)

    def utility(self, prompts: Sequence[str], completions: Sequence[str]) -> np.ndarray:
        """The hidden utility of each pair (noiseless)."""
        assert self.preference is not None
        return self.preference(prompts, completions)

    def rate(self, prompts: Sequence[str], completions: Sequence[str]) -> list[Rating]:
        """Integer ratings on a 1-10 scale: ``round(1 + 2 u + 2 noise * N(0, 1))``, clipped."""
        u = self.utility(prompts, completions)
        raw = 1 + 2 * u + 2 * self.noise * self.rng.standard_normal(len(u))
        ratings = np.clip(np.round(raw), 1, 10)
        return [Rating(p, c, float(r)) for p, c, r in zip(prompts, completions, ratings, strict=True)]

    def compare(self, prompt: str, a: str, b: str) -> Preference:
        """Choose between two completions (Bradley-Terry with temperature ``noise``)."""
        ua, ub = self.utility([prompt, prompt], [a, b])
        if self.noise == 0:
            a_wins = ua > ub or (ua == ub and self.rng.random() < 0.5)
        else:
            a_wins = self.rng.random() < 1.0 / (1.0 + np.exp(-(ua - ub) / self.noise))
        return Preference(prompt, a, b) if a_wins else Preference(prompt, b, a)

    def rank(self, prompt: str, completions: Sequence[str]) -> Ranking:
        """Rank distinct completions, best first (a Plackett-Luce sample)."""
        if len(set(completions)) != len(completions) or len(completions) < 2:
            raise ValueError("rank() needs at least two distinct completions")
        u = self.utility([prompt] * len(completions), completions)
        keys = u / self.noise + self.rng.gumbel(size=len(u)) if self.noise > 0 else u + 1e-9 * self.rng.random(len(u))
        return Ranking(prompt, tuple(completions[i] for i in np.argsort(-keys, kind="stable")))

    def edit(self, prompt: str, completion: str) -> Edit | None:
        """Rewrite a completion to fix some of its flaws; ``None`` if it has none.

        Flaws and fixes, in order: ungrammatical -> its best grammatical sentence (or, with
        none, a fresh grammar sentence); too long -> its first sentence; no cat -> the
        first noun becomes cat(s); no place -> "PREP the PLACE" goes before a full stop where
        the text stays grammatical. If the fixes chosen do not raise the hidden utility, all
        are applied; if even that does not, there is no edit (``None``).
        """
        assert self.preference is not None
        words = completion.lower().split()
        feats = self.preference.features(completion)
        flaws = []
        if not feats["grammar"]:
            flaws.append("grammar")
        elif not feats["short"]:
            flaws.append("shorten")
        if not feats["cat"]:
            flaws.append("cat")
        if not feats["place"]:
            flaws.append("place")
        if not flaws:
            return None
        fix = [f for f in flaws if self.rng.random() < self.fix_probability]
        if not fix:
            fix = [flaws[int(self.rng.integers(len(flaws)))]]
        before = self.utility([prompt], [completion])[0]
        for attempt in (fix, flaws):  # a sloppy edit that does not help: fix everything
            edited = " ".join(self._apply(words, attempt))
            if self.utility([prompt], [edited])[0] > before:
                return Edit(prompt, completion, edited)
        return None

    def annotate(self, prompts: Sequence[str], groups: Sequence[Sequence[str]], kind: str) -> list[Feedback]:
        """Feedback of one kind on groups of completions (``groups[i]`` continue ``prompts[i]``).

        * ``"rating"``: every completion is rated;
        * ``"preference"``: completions 0 and 1, 2 and 3, ... of a group are compared;
        * ``"ranking"``: each group's distinct completions are ranked (groups with fewer than
          two distinct completions give none);
        * ``"edit"``: every completion the annotator can improve is edited.
        """
        if len(prompts) != len(groups):
            raise ValueError(f"{len(prompts)} prompts but {len(groups)} groups of completions")
        out: list[Feedback] = []
        for prompt, group in zip(prompts, groups, strict=True):
            if kind == "rating":
                out += self.rate([prompt] * len(group), group)
            elif kind == "preference":
                out += [self.compare(prompt, a, b) for a, b in zip(group[0::2], group[1::2], strict=False)]
            elif kind == "ranking":
                distinct = list(dict.fromkeys(group))
                if len(distinct) >= 2:
                    out.append(self.rank(prompt, distinct))
            elif kind == "edit":
                out += [e for e in (self.edit(prompt, c) for c in group) if e is not None]
            else:
                raise ValueError(f"unknown feedback kind {kind!r}; choose rating, preference, ranking or edit")
        return out

    def _apply(self, words: list[str], fixes: Sequence[str]) -> list[str]:
        if "grammar" in fixes:
            words = self._grammatical_variant(words)
        if "shorten" in fixes:
            words = words[: words.index(".") + 1]
        if "cat" in fixes:
            words = self._add_cat(words)
        if "place" in fixes:
            words = self._add_place(words)
        return words

    def _grammatical_variant(self, words: list[str]) -> list[str]:
        candidates, sentence = [], []
        for w in words:
            sentence.append(w)
            if w == ".":
                candidates.append(sentence)
                sentence = []
        if sentence:
            candidates.append([*sentence, "."])  # an unfinished last sentence, finished
        candidates = [c for c in candidates if is_grammatical(c, "SENT")]
        if not candidates:
            return generate("SENT", self.rng)
        texts = [" ".join(c) for c in candidates]
        return candidates[int(np.argmax(self.utility([""] * len(texts), texts)))]

    def _add_cat(self, words: list[str]) -> list[str]:
        for i, w in enumerate(words):
            if w in _NOUNS_SG or w in _NOUNS_PL:
                out = [*words[:i], "cat" if w in _NOUNS_SG else "cats", *words[i + 1 :]]
                # Nouns and cat(s) share their grammar categories' contexts; check anyway.
                if is_grammatical(out, "BODY") or not is_grammatical(words, "BODY"):
                    return out
        return words

    def _add_place(self, words: list[str]) -> list[str]:
        phrase = [str(self.rng.choice(LEXICON["PREP"])), "the", str(self.rng.choice(LEXICON["PLACE"]))]
        stops = [i for i, w in enumerate(words) if w == "."]
        grammatical = bool(words) and is_grammatical(words, "BODY")
        for i in stops:
            out = [*words[:i], *phrase, *words[i:]]
            if not grammatical or is_grammatical(out, "BODY"):
                return out
        if not grammatical:
            return [*words, *phrase]
        return words


def hidden_pairwise_outcomes(
    reward: RewardLike,
    prompts: Sequence[str],
    groups: Sequence[Sequence[str]],
    preference: HiddenPreference | None = None,
) -> np.ndarray:
    """For each pair the hidden preference orders, whether ``reward`` orders it the same way.

    Every pair of distinct completions within a group whose hidden utilities differ counts
    (ties carry no preference); a tie in ``reward`` counts as wrong. The pairs come in a fixed
    order (group by group), so two reward models' outcomes on the same groups can be paired.

    Returns:
        A bool array, one entry per pair.

    Raises:
        ValueError: If no pair has distinct utilities.
    """
    preference = preference or HiddenPreference()
    rm = as_reward_model(reward)
    p_all, c_all, pairs = [], [], []
    for prompt, group in zip(prompts, groups, strict=True):
        distinct = list(dict.fromkeys(group))
        start = len(c_all)
        p_all += [prompt] * len(distinct)
        c_all += distinct
        pairs += [(start + i, start + j) for i in range(len(distinct)) for j in range(i + 1, len(distinct))]
    utility = preference(p_all, c_all)
    scores = score_batch(rm, p_all, c_all).total
    a, b = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    keep = utility[a] != utility[b]
    if not keep.any():
        raise ValueError("no pair of completions with different hidden utilities")
    a, b = a[keep], b[keep]
    better, worse = np.where(utility[a] > utility[b], a, b), np.where(utility[a] > utility[b], b, a)
    return scores[better] > scores[worse]


def hidden_pairwise_accuracy(
    reward: RewardLike,
    prompts: Sequence[str],
    groups: Sequence[Sequence[str]],
    preference: HiddenPreference | None = None,
) -> tuple[float, int]:
    """How often ``reward`` orders two completions of a prompt as the hidden preference does.

    The mean of :func:`hidden_pairwise_outcomes` (same arguments and errors).

    Returns:
        ``(accuracy, number_of_pairs)``.
    """
    outcomes = hidden_pairwise_outcomes(reward, prompts, groups, preference)
    return float(np.mean(outcomes)), len(outcomes)
