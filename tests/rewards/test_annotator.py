import math

import numpy as np
import pytest

from textgym.data import is_grammatical
from textgym.rewards import HiddenPreference, SimulatedAnnotator, score_batch
from textgym.rewards.annotator import PLACE_RE


def test_hidden_preference_hand_computed() -> None:
    texts = ["the cat slept in the garden .", "", "cat the", "the dog ran . a boy sat near the lake . tom ran ."]
    out = score_batch(HiddenPreference(place=2.0), ["p"] * 4, texts)
    # grammar + cat + 2 * place + short; nothing (empty is not short); cat + short;
    # grammar + 2 * place, 14 words: not short
    np.testing.assert_allclose(out.total, [5.0, 0.0, 2.0, 3.0])
    np.testing.assert_allclose(out.components["place"], [1, 0, 0, 1])
    np.testing.assert_allclose(out.components["short"], [1, 0, 1, 0])
    np.testing.assert_allclose(out.components["grammar"], [1, 0, 0, 1])


def test_noiseless_annotator_follows_the_utility() -> None:
    ann = SimulatedAnnotator(noise=0.0)
    good, bad = "the cat slept in the garden .", "slept the"
    assert ann.compare("p", bad, good).chosen == good
    ranking = ann.rank("p", [bad, "", good, "the cat slept ."])
    assert ranking.completions == (good, "the cat slept .", bad, "")
    ratings = [r.rating for r in ann.rate(["p"] * 3, [good, "", bad])]
    # round(1 + 2u) clipped to [1, 10]: u = 4, 0, 1
    assert ratings == [9.0, 1.0, 3.0]


def test_choice_and_ranking_noise_follow_bradley_terry_and_plackett_luce() -> None:
    ann = SimulatedAnnotator(noise=0.5, seed=1)
    a, b, c = "the cat slept .", "the dog slept .", "slept the"  # u = 3, 2, 1
    n = 4000
    wins = sum(ann.compare("p", a, b).chosen == a for _ in range(n)) / n
    assert wins == pytest.approx(1 / (1 + math.exp(-1.0 / 0.5)), abs=0.03)  # Bradley-Terry
    firsts = [ann.rank("p", [c, b, a]).completions[0] for _ in range(n)]
    z = np.exp(np.array([3.0, 2.0, 1.0]) / 0.5)  # Plackett-Luce: P(first) = softmax(u / noise)
    assert firsts.count(a) / n == pytest.approx(z[0] / z.sum(), abs=0.03)
    assert firsts.count(c) / n == pytest.approx(z[2] / z.sum(), abs=0.02)


def test_edits_improve_the_hidden_utility_and_stay_grammatical() -> None:
    ann = SimulatedAnnotator(seed=0, fix_probability=1.0)
    pref = HiddenPreference()
    edit = ann.edit("p", "the dog slept .")
    assert edit is not None and edit.original == "the dog slept ."
    assert is_grammatical(edit.edited, "BODY") and "cat" in edit.edited.split() and PLACE_RE.search(edit.edited)
    ungrammatical = "slept the dog . a boy ran"
    fixed = ann.edit("p", ungrammatical)
    assert fixed is not None and is_grammatical(fixed.edited, "BODY")
    assert ann.edit("p", "the cat slept in the garden .") is None  # nothing to fix
    sloppy = SimulatedAnnotator(seed=3, fix_probability=0.3)
    long = "tom saw a box . then , he ran . the dog slept ."
    for text in ["the dog slept .", "dog dog dog", "", long] * 5:
        e = sloppy.edit("p", text)
        assert e is not None
        assert pref(["p"], [e.edited])[0] > pref(["p"], [text])[0]


def test_same_seed_same_feedback() -> None:
    texts = ["the dog slept .", "slept .", "the cat ran ."]
    a, b = SimulatedAnnotator(seed=5), SimulatedAnnotator(seed=5)
    assert [a.rank("p", texts), a.edit("p", texts[0]), a.rate(["p"], ["x"])] == [
        b.rank("p", texts),
        b.edit("p", texts[0]),
        b.rate(["p"], ["x"]),
    ]
