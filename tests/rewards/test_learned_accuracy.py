"""Reward models learn the simulated annotator's hidden preference from each kind of feedback.

Completions are drawn from the grammar (the tiny model's own language) and varied on purpose
so that every feature of the hidden preference (grammatical, cat, place, short) varies:
fast and independent of the model's samples. Accuracy is measured against the noiseless
hidden preference on completions of held-out (validation) prompts.
"""

import numpy as np
import pytest
import torch

from textgym.data import LEXICON, generate, story_openings
from textgym.rewards import LearnedRewardModel, SimulatedAnnotator, train_reward_model
from textgym.rewards.annotator import hidden_pairwise_outcomes

NOUNS = {w: "cat" for w in LEXICON["ANIMAL_SG"] + LEXICON["PERSON_SG"]} | {
    w: "cats" for w in LEXICON["ANIMAL_PL"] + LEXICON["PERSON_PL"]
}


def candidate(rng: np.random.Generator) -> str:
    """A grammar text, then maybe a cat, a place phrase, a corruption."""
    words = generate("BODY", rng)
    if rng.random() < 0.3:  # make it about a cat
        i = next((i for i, w in enumerate(words) if w in NOUNS), None)
        if i is not None:
            words[i] = NOUNS[words[i]]
    if rng.random() < 0.3:  # say where: "... in the PLACE ." (may be ungrammatical: that varies too)
        i = words.index(".")
        words[i:i] = [str(rng.choice(LEXICON["PREP"])), "the", str(rng.choice(LEXICON["PLACE"]))]
    r = rng.random()
    if r < 0.15:  # swap two words
        i, j = rng.integers(len(words), size=2)
        words[i], words[j] = words[j], words[i]
    elif r < 0.3:  # stop mid-sentence
        words = words[: int(rng.integers(1, len(words)))]
    return " ".join(words)


def groups(prompts: list[str], k: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[candidate(rng) for _ in range(k)] for _ in prompts]


TRAIN_PROMPTS = story_openings("train")[:384]
VAL_PROMPTS = story_openings("validation")[:256]
TRAIN = groups(TRAIN_PROMPTS, 8, seed=0)
VAL = groups(VAL_PROMPTS, 4, seed=1)
# A preference (one bit per pair) or an edit says less per completion than a rating or a ranking
# of 8: on 384 x 8 completions they reached 0.85-0.92 over seeds 0-2, so they annotate all 512
# train openings x 12 completions (3,072 pairs instead of 1,536; at 512 x 8, 0.905 and 0.909 at
# seed 2: no headroom).
MORE_PROMPTS = story_openings("train")[:512]
MORE = groups(MORE_PROMPTS, 12, seed=0)
DATA = {"rating": (TRAIN_PROMPTS, TRAIN), "ranking": (TRAIN_PROMPTS, TRAIN)}
DATA |= {"preference": (MORE_PROMPTS, MORE), "edit": (MORE_PROMPTS, MORE)}


# The bar is 0.9 for rating, ranking and preference. Each completion is annotated once: rated, compared in
# pairs (0-1, 2-3, ...), ranked in its group, or edited (DATA above says how many).
# benchmarks/reward_accuracy.py compares the kinds at equal data (all on 384 x 8, and pooling "last+mean" too)
# into benchmarks/results/reward_accuracy.json, which docs/rewards.md's table is rendered from.
#
# Edit feedback does not hold 0.9 on any host: 0.905, 0.923, 0.916 at seeds 0-2 on 2026-12-07, but 0.866 at seed
# 0 in a fresh venv on another host of the same kind on 2026-12-08 (CI went red there), and on twice the data
# (512 x 24) 0.906 and 0.891 at seeds 0 and 1. As issue 30 asks of a check that cannot hold at a fixed bar, it
# asserts a paired gain over the untrained reward model on the same held-out pairs, with its standard error.
BARS = {"rating": 0.9, "ranking": 0.9, "preference": 0.9}
EDIT_GAIN, EDIT_GAIN_SE = 0.15, 6.0  # the untrained model: 0.43, 0.63, 0.53 at seeds 0-2
SETTINGS = {"noise": 0.3, "epochs": 6, "batch_size": 8, "learning_rate": 1e-3, "seed": 0}
POOLING = "last+mean+lm"


# Seeds 0-2 at 1 torch thread (benchmarks/results/learning_margins.json, 2026-12-07): rating lowest 0.985,
# ranking 0.950; on the 512 x 12 data preference 0.936, 0.955, 0.924 (on 384 x 8 seed 2 gave 0.849); 2 threads
# not yet run. Edit's paired gain over the untrained model at seeds 0-2, 1 thread (2026-12-08): 0.437, 0.249, 0.354
# (lowest 14.7 standard errors); 2 threads not yet run.
@pytest.mark.slow
@pytest.mark.learning(minutes=5)
@pytest.mark.parametrize("kind", ["rating", "preference", "ranking", "edit"])
def test_reward_model_learns_the_hidden_preference(kind: str, learning_seed, check_learned) -> None:
    s = {**SETTINGS, "seed": SETTINGS["seed"] + learning_seed}
    prompts, completions = DATA[kind]
    records = SimulatedAnnotator(noise=s["noise"], seed=s["seed"]).annotate(prompts, completions, kind)
    rm = train_reward_model(
        records,
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        learning_rate=s["learning_rate"],
        pooling=POOLING,
        seed=s["seed"],
    )
    outcomes = hidden_pairwise_outcomes(rm, VAL_PROMPTS, VAL)
    accuracy = float(outcomes.mean())
    print(
        f"{kind}: {len(records)} records, held-out accuracy {accuracy:.3f} on {len(outcomes)} pairs, "
        f"in-kind validation accuracy {rm.report.val_pairwise_accuracy:.3f}, {rm.report.seconds:.0f}s"
    )
    assert len(outcomes) > 900
    if kind != "edit":
        check_learned("held-out pairwise accuracy", accuracy, ">=", BARS[kind])
        return
    with torch.random.fork_rng():  # seeds the untrained head's initialisation without touching later tests' RNG
        torch.manual_seed(s["seed"])
        untrained_rm = LearnedRewardModel.from_backbone("tiny", pooling=POOLING)
    untrained = hidden_pairwise_outcomes(untrained_rm, VAL_PROMPTS, VAL)
    gain = outcomes.astype(float) - untrained.astype(float)  # paired: the same pairs in the same order
    se = gain.std(ddof=1) / np.sqrt(len(gain))
    print(f"edit: untrained accuracy {untrained.mean():.3f}, paired gain {gain.mean():.3f} +- {se:.3f}")
    check_learned("held-out pairwise accuracy gain over the untrained model", gain.mean(), ">=", EDIT_GAIN)
    check_learned("held-out pairwise accuracy gain, in standard errors", gain.mean() / se, ">=", EDIT_GAIN_SE)
