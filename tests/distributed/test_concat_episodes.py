"""concat_episodes joins workers' EpisodeBatch parts in order, right-padding token arrays as collect_episodes does."""

import numpy as np
import pytest
import torch

from agents import EpisodeBatch
from agents.distributed import concat_episodes


def episodes(width: int, rows: list[list[int]], group_size: int, base: float) -> EpisodeBatch:
    e = len(rows)
    tokens = torch.zeros((e, width), dtype=torch.int64)
    mask = torch.zeros((e, width), dtype=torch.bool)
    lps = torch.zeros((e, width), dtype=torch.float32)
    for i, row in enumerate(rows):
        tokens[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = True
        lps[i, : len(row)] = -0.5 * (i + 1)
    return EpisodeBatch(
        prompts=[torch.tensor([7, g]) for g in range(e // group_size)],
        group_size=group_size,
        tokens=tokens,
        lengths=torch.tensor([len(r) for r in rows]),
        action_mask=mask,
        old_log_probs=lps,
        returns=base + np.arange(e, dtype=np.float64),
        rewards=base + np.arange(e, dtype=np.float64),
        infos=[{"i": base + i} for i in range(e)],
    )


def test_concat_pads_and_keeps_order() -> None:
    a = episodes(2, [[5, 6], [9]], group_size=2, base=0.0)
    b = episodes(3, [[1, 2, 3], [4, 4]], group_size=2, base=10.0)
    c = concat_episodes([a, b])
    assert c.n_episodes == 4 and c.n_groups == 2 and c.group_size == 2
    assert c.tokens.tolist() == [[5, 6, 0], [9, 0, 0], [1, 2, 3], [4, 4, 0]]
    assert c.action_mask.tolist() == [[True, True, False], [True, False, False], [True] * 3, [True, True, False]]
    assert c.old_log_probs.tolist() == [[-0.5, -0.5, 0], [-1.0, 0, 0], [-0.5] * 3, [-1.0, -1.0, 0]]
    assert c.lengths.tolist() == [2, 1, 3, 2]
    assert c.returns.tolist() == [0.0, 1.0, 10.0, 11.0] and c.rewards.tolist() == c.returns.tolist()
    assert [i["i"] for i in c.infos] == [0.0, 1.0, 10.0, 11.0]
    assert [p.tolist() for p in c.prompts] == [[7, 0], [7, 0]]
    assert c.ref_log_probs is None


def test_concat_rejects_mismatched_parts() -> None:
    with pytest.raises(ValueError, match="no episodes"):
        concat_episodes([])
    with pytest.raises(ValueError, match="different group sizes"):
        concat_episodes([episodes(1, [[1], [2]], 2, 0.0), episodes(1, [[1]], 1, 0.0)])
