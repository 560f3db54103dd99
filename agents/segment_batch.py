"""A minibatch's token states as whole sequences, one per run of steps that extend each other."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SegmentBatch:
    """Observations of a minibatch of steps, stored as the sequences that contain them.

    Within an episode segment, each step's token state is the previous one plus the previous
    action, so one right-padded sequence (the run's last state) holds every step of the run, and
    step ``k``'s action is predicted by the state at ``position[k]`` of sequence ``group[k]``.
    :class:`agents.EpisodeRolloutBuffer` yields this instead of one row per step when its
    ``whole_segments`` is set, and :meth:`agents.LMActorCriticPolicy.evaluate_actions` then runs
    one forward per sequence without rebuilding or comparing per-step rows.

    Attributes:
        input_ids: (G, W) token ids of each run's last state, right-padded to the longest.
        lengths: (G,) real tokens of each sequence (at least one).
        group: (B,) the sequence that holds each step.
        position: (B,) index in its sequence of the last token of each step's state.
    """

    input_ids: torch.Tensor
    lengths: torch.Tensor
    group: torch.Tensor
    position: torch.Tensor

    def __post_init__(self) -> None:
        n_seq, width = self.input_ids.shape if self.input_ids.ndim == 2 else (-1, -1)
        if n_seq < 1 or tuple(self.lengths.shape) != (n_seq,):
            raise ValueError(
                f"input_ids must be (G, W) with G >= 1 and lengths (G,); got {tuple(self.input_ids.shape)} "
                f"and {tuple(self.lengths.shape)}"
            )
        if self.group.ndim != 1 or self.group.shape != self.position.shape:
            raise ValueError(
                f"group and position must be 1-D of one length; got {tuple(self.group.shape)} and "
                f"{tuple(self.position.shape)}"
            )
        if bool((self.lengths < 1).any()) or bool((self.lengths > width).any()):
            raise ValueError(f"sequence lengths must lie in [1, {width}]; got {self.lengths.tolist()}")
        if len(self.group) and (
            bool((self.group < 0).any())
            or bool((self.group >= n_seq).any())
            or bool((self.position < 0).any())
            or bool((self.position >= self.lengths[self.group]).any())
        ):
            raise ValueError("every step must point at a real token of one of the sequences")

    def __len__(self) -> int:
        """Steps in the minibatch."""
        return len(self.group)
