"""``python -m textgym.models.pretrain --evaluate``: the docs' metrics of the shipped tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textgym.models.pretrain import PretrainConfig, evaluate_saved, weights_sha256

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "benchmarks" / "results" / "pretrain_tiny.json"


def test_evaluate_reproduces_the_reported_perplexity_of_the_shipped_weights() -> None:
    # The docs' table is rendered from this report; re-measuring the shipped weights must give
    # its held-out perplexity (a deterministic number: no sampling) and its weights' hash.
    report = json.loads(REPORT.read_text())
    cfg = PretrainConfig(eval_samples=8)
    assert report["weights_sha256"] == weights_sha256(cfg.out)
    metrics = evaluate_saved(cfg)
    assert metrics["heldout_perplexity"] == pytest.approx(report["metrics"]["heldout_perplexity"], rel=1e-4)
    for rate in ("grammatical_rate", "cattext_cat_rate", "cattext_grammatical_rate"):
        assert 0.0 <= metrics[rate] <= 1.0


def test_evaluate_refuses_a_directory_without_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        evaluate_saved(PretrainConfig(out=tmp_path))
