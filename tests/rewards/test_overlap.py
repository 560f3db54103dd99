import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from textgym.rewards import BleuReward, RougeReward, score_batch

REFS = {
    "report : tom saw a box .": "tom saw a box .",
    "report : the dog ran in the park .": ["the dog ran .", "a dog ran in the park ."],
}
PROMPTS = list(REFS)
HYPS = ["tom saw the big box .", "the dog ran in the park quickly ."]


def test_rouge_hand_computed() -> None:
    # "tom saw the big box" vs "tom saw a box" (punctuation is dropped by rouge-score):
    # 3 common unigrams, P = 3/5, R = 3/4, F = 2PR/(P+R) = 2/3
    r = RougeReward({"p": "tom saw a box ."}, rouge_types=["rouge1"], name="r1")
    out = score_batch(r, ["p"], ["tom saw the big box ."])
    assert out.total[0] == pytest.approx(2 / 3)
    assert list(out.components) == ["r1"]
    assert RougeReward({"p": "tom saw a box ."}, ["rouge1"], measure="recall")(["p"], ["tom saw"])[0] == 0.5


@pytest.mark.parametrize("types", [["rouge1"], ["rouge2"], ["rougeL"], ["rouge1", "rouge2", "rougeL"]])
def test_rouge_matches_rouge_score(types: list[str]) -> None:
    scorer = rouge_scorer.RougeScorer(types)
    out = score_batch(RougeReward(REFS, rouge_types=types), PROMPTS, HYPS)
    for i, (p, h) in enumerate(zip(PROMPTS, HYPS, strict=True)):
        refs = REFS[p] if isinstance(REFS[p], list) else [REFS[p]]
        expected = {t: max(scorer.score(ref, h)[t].fmeasure for ref in refs) for t in types}
        assert out.total[i] == pytest.approx(np.mean(list(expected.values())))
        if len(types) > 1:
            for t in types:
                assert out.components[t][i] == pytest.approx(expected[t])


def test_bleu_matches_sacrebleu() -> None:
    out = score_batch(BleuReward(REFS), PROMPTS, HYPS)
    for i, (p, h) in enumerate(zip(PROMPTS, HYPS, strict=True)):
        refs = REFS[p] if isinstance(REFS[p], list) else [REFS[p]]
        assert out.total[i] == pytest.approx(sacrebleu.sentence_bleu(h, refs).score / 100)
    assert 0 < out.total[0] < 1


def test_references_as_callable_and_empty_completion_scores_zero() -> None:
    def ref(prompt: str) -> str:
        return prompt.removeprefix("report : ")

    for reward in (RougeReward(ref), BleuReward(ref)):
        out = score_batch(reward, PROMPTS, ["", PROMPTS[1].removeprefix("report : ")])
        assert out.total[0] == 0.0
        assert out.total[1] == pytest.approx(1.0)


def test_missing_reference_names_the_reward_and_prompt() -> None:
    with pytest.raises(KeyError, match="'bleu'.*unknown prompt"):
        BleuReward(REFS)(["unknown prompt"], ["x"])
    with pytest.raises(TypeError, match="'rouge'"):
        RougeReward("not a mapping")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rouge_types"):
        RougeReward(REFS, rouge_types=["rouge9"])
