import gymnasium as gym
import numpy as np
import pytest
import torch

import textgym  # noqa: F401
from agents import LMActorCriticPolicy


@pytest.fixture
def cat_env():
    return gym.make("textgym/CatText-v0").unwrapped


def make_policy(env, **kwargs) -> LMActorCriticPolicy:
    policy = LMActorCriticPolicy(env.observation_space, env.action_space, lambda _: 1e-4, model="tiny", **kwargs)
    policy.set_training_mode(False)
    return policy


def to_batch(obs_list) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.stack([o[k] for o in obs_list])) for k in obs_list[0]}


@pytest.fixture
def policy_factory():
    return make_policy


@pytest.fixture
def batcher():
    return to_batch


# ----- the lean decode steps (agents.fast_llama, agents.fast_gemma3) against transformers -----


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights large enough that attention is far from uniform (so positions and masks matter).

    With transformers' default init (std 0.02) every attention row is nearly uniform, and a
    wrong rotary angle or mask would move the output by less than the tolerance.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            p.copy_(1 + 0.1 * noise if "norm" in name else 0.2 * noise)
    return model.eval()


def empty_cache(layout, trunk: torch.nn.Module, n_slots: int, max_len: int):  # noqa: ANN001, ANN201
    """Zeroed keys and values for ``n_slots`` slots, shaped by the step's ``cache_layout``."""
    n_layers, heads, head_dim = layout(trunk)
    shape = (n_slots, heads, max_len, head_dim)
    return [torch.zeros(shape) for _ in range(n_layers)], [torch.zeros(shape) for _ in range(n_layers)]


def reference(trunk: torch.nn.Module, seq: torch.Tensor) -> torch.Tensor:
    """transformers' final-norm hidden states of one row's real tokens, (len, hidden)."""
    return trunk(input_ids=seq[None]).last_hidden_state[0]


def check_prefill_decode_chunk(
    forward,  # noqa: ANN001  (a lean step: fast_llama.llama_forward, fast_gemma3.gemma3_forward)
    layout,  # noqa: ANN001  (its cache_layout)
    trunk: torch.nn.Module,
    starts: list[int],
    rows: list[int] | None,
    n_slots: int,
    atol: float = 1e-4,
) -> None:
    """Prefill, three one-token decode steps, then two tokens at once; each equal to transformers."""
    r, max_len, decode = len(starts), 16, 3
    prefill = max(starts)
    g = torch.Generator().manual_seed(1)
    seqs = torch.randint(0, trunk.config.vocab_size, (r, prefill + decode + 2), generator=g)
    keys, values = empty_cache(layout, trunk, n_slots, max_len)
    rows_arg = None if rows is None else torch.tensor(rows)
    start = torch.tensor(starts)
    # Prefill max(starts) tokens per row; a shorter row's extra keys are overwritten by its decode steps.
    got = forward(trunk, seqs[:, :prefill], torch.zeros(r, dtype=torch.long), keys, values, rows_arg)
    for i in range(r):
        torch.testing.assert_close(got[i], reference(trunk, seqs[i, :prefill]), atol=atol, rtol=1e-4)
    for step in range(decode):
        pos = start + step
        tokens = seqs[torch.arange(r), pos][:, None]  # (r, 1)
        got = forward(trunk, tokens, pos, keys, values, rows_arg)[:, 0]
        for i in range(r):
            want = reference(trunk, seqs[i, : starts[i] + step + 1])[-1]
            torch.testing.assert_close(got[i], want, atol=atol, rtol=1e-4)
    # two tokens per row at once, from each row's own position
    pos = start + decode
    tokens = torch.stack([seqs[i, int(p) : int(p) + 2] for i, p in enumerate(pos)])  # (r, 2)
    got = forward(trunk, tokens, pos, keys, values, rows_arg)
    for i in range(r):
        want = reference(trunk, seqs[i, : starts[i] + decode + 2])[-2:]
        torch.testing.assert_close(got[i], want, atol=atol, rtol=1e-4)
    if rows is not None:  # slots outside `rows` were never written
        for k in keys:
            untouched = [s for s in range(n_slots) if s not in rows]
            assert torch.all(k[untouched] == 0)


class LeanStepChecks:
    """The helpers above, for test modules (``--import-mode=importlib`` keeps them from importing conftest)."""

    randomize = staticmethod(randomize)
    empty_cache = staticmethod(empty_cache)
    check_prefill_decode_chunk = staticmethod(check_prefill_decode_chunk)


@pytest.fixture
def lean_checks() -> type[LeanStepChecks]:
    return LeanStepChecks
