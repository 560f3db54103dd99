import itertools
import math

import pytest
import torch

from textgym.rewards.losses import (
    all_pairs_loss,
    bradley_terry_loss,
    margin_hinge_loss,
    pairwise_accuracy,
    plackett_luce_loss,
)


def test_pairwise_losses_hand_computed() -> None:
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    expected = (math.log(1 + math.exp(-2.0)) + math.log(1 + math.exp(1.0))) / 2
    assert float(bradley_terry_loss(chosen, rejected)) == pytest.approx(expected)
    # margins 2 and -1 against margin 1: max(0, 1 - 2) = 0, max(0, 1 + 1) = 2
    assert float(margin_hinge_loss(chosen, rejected, margin=1.0)) == pytest.approx(1.0)


def test_plackett_luce_hand_computed() -> None:
    s = torch.tensor([[3.0, 1.0, 0.0]])
    # -log P = [lse(3,1,0) - 3] + [lse(1,0) - 1]
    lse = math.log(math.exp(3) + math.exp(1) + 1)
    expected = (lse - 3) + (math.log(math.exp(1) + 1) - 1)
    assert float(plackett_luce_loss(s)) == pytest.approx(expected)
    # the probabilities of all K! rankings sum to 1
    scores = torch.tensor([0.3, -1.2, 2.0, 0.5])
    total = sum(math.exp(-float(plackett_luce_loss(scores[list(p)][None]))) for p in itertools.permutations(range(4)))
    assert total == pytest.approx(1.0)
    # K = 2 is Bradley-Terry
    assert float(plackett_luce_loss(torch.tensor([[1.0, -0.5]]))) == pytest.approx(
        float(bradley_terry_loss(torch.tensor([1.0]), torch.tensor([-0.5])))
    )


def test_all_pairs_hand_computed() -> None:
    s = torch.tensor([[2.0, 1.0, 0.0]])
    pairs = [(2.0, 1.0), (2.0, 0.0), (1.0, 0.0)]
    expected = sum(math.log(1 + math.exp(-(a - b))) for a, b in pairs) / 3
    assert float(all_pairs_loss(s)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="K >= 2"):
        all_pairs_loss(torch.zeros(3, 1))


def test_pairwise_accuracy_counts_ties_as_wrong() -> None:
    assert pairwise_accuracy(torch.tensor([1.0, 2.0, 0.0, 5.0]), torch.tensor([0.0, 2.0, 1.0, 4.0])) == 0.5
