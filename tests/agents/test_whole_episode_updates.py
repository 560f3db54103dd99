"""Whole-episode PPO updates equal the per-step evaluation: same rollout, same minibatch order.

Three evaluations of the same minibatches are compared:
  * segments: the buffer's :class:`SegmentBatch` (one rebuilt sequence per run of steps);
  * rows: one token state per step, runs found on the token ids (the path before segments);
  * per step: one forward per step, each state on its own (no prefix sharing at all).
"""

import copy

import numpy as np
import pytest
import torch

import agents
from agents import EpisodeRolloutBuffer
from agents.segment_batch import SegmentBatch

# Float32 forwards of the same tokens in different batch shapes differ by rounding only.
ATOL = RTOL = 1e-5
# Weights after one train() (2 epochs, 10 AdamW steps at lr 1e-3, updates of about 1e-2): segments
# and rows run the very same forwards (equal bitwise; checked at 1e-6); per step, 1e-5 except for
# the attention key biases. Their true gradient is zero (adding q.b to every logit of a query's row
# leaves the softmax unchanged), so theirs is rounding noise, which AdamW normalises into steps of
# up to about lr: measured 1.2e-4 apart, bounded here by half of lr.
WEIGHT_ATOL = 1e-5
LR = 1e-3
KEY_BIAS_ATOL = LR / 2


def rollout_ppo(env_id: str, separate_critic: bool = False, **kwargs) -> agents.PPO:  # noqa: ANN003
    """A tiny-model PPO (4 envs x 16 steps) after two rollouts: the second has episodes cut by its start."""
    ppo = agents.make_ppo(
        env_id, n_envs=4, n_steps=16, batch_size=16, n_epochs=2, separate_critic=separate_critic, seed=3, **kwargs
    )
    torch.nn.init.normal_(ppo.policy.value_net.weight, std=0.1)  # values that are not all zero
    _, callback = ppo._setup_learn(10**6, callback=None)
    for _ in range(2):
        ppo.collect_rollouts(ppo.env, callback, ppo.rollout_buffer, n_rollout_steps=16)
    buf = ppo.rollout_buffer
    # The second rollout holds a segment continued from the first (its state carries that prefix)
    # and several segments per slot: the cases a whole-episode evaluation must get right.
    assert not buf.episode_starts[0].all()
    assert len(buf.segments()) > buf.n_envs
    return ppo


def minibatches(buf: EpisodeRolloutBuffer, whole_segments: bool, seed: int = 0) -> list:
    buf.whole_segments = whole_segments
    np.random.seed(seed)  # the buffer shuffles segments with numpy's global generator
    return list(buf.get(16))


def per_step(policy: agents.LMActorCriticPolicy, obs: dict, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Values, log-probs and entropies with one forward per step."""
    outs = [
        policy.evaluate_actions({k: v[i : i + 1] for k, v in obs.items()}, actions[i : i + 1])
        for i in range(len(actions))
    ]
    return tuple(torch.cat([o[j].reshape(-1) for o in outs]) for j in range(3))


@pytest.mark.parametrize("separate_critic", [False, True])
def test_segment_evaluation_equals_per_step_evaluation(separate_critic: bool) -> None:
    ppo = rollout_ppo("CatText-v0", separate_critic=separate_critic)
    assert ppo.rollout_buffer.whole_segments  # the default for the LM policy
    segs, rows = minibatches(ppo.rollout_buffer, True), minibatches(ppo.rollout_buffer, False)
    assert len(segs) == len(rows) > 1
    shared = 0
    with torch.no_grad():
        for s, r in zip(segs, rows, strict=True):
            assert isinstance(s.observations, SegmentBatch) and isinstance(r.observations, dict)
            assert torch.equal(s.actions, r.actions) and torch.equal(s.advantages, r.advantages)
            actions = s.actions.long().flatten()
            shared += len(actions) - len(s.observations.lengths)
            got = [x.reshape(-1) for x in ppo.policy.evaluate_actions(s.observations, actions)]
            by_rows = [x.reshape(-1) for x in ppo.policy.evaluate_actions(r.observations, actions)]
            one_each = per_step(ppo.policy, r.observations, actions)
            for name, a, b, c in zip(("values", "log-probs", "entropies"), got, by_rows, one_each, strict=True):
                torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL, msg=f"{name}: segments vs rows")
                torch.testing.assert_close(a, c, atol=ATOL, rtol=RTOL, msg=f"{name}: segments vs per step")
            # the rollout's own log-probs (KV-cached acting) are the same distribution
            torch.testing.assert_close(got[1], s.old_log_prob, atol=1e-4, rtol=1e-4)
    assert shared > 0  # sequences really held several steps


def test_segment_batch_holds_each_steps_state() -> None:
    """Each step's state is its sequence's first position[k] + 1 tokens (also on Dialogue's env turns)."""
    for env_id in ("CatText-v0", "Dialogue-v0"):
        ppo = rollout_ppo(env_id, kl_coef=0.0, log_kl=False)
        buf = ppo.rollout_buffer
        for s, r in zip(minibatches(buf, True), minibatches(buf, False), strict=True):
            seg, obs = s.observations, r.observations
            lengths = obs["attention_mask"].sum(1)
            assert torch.equal(seg.position, lengths - 1)
            for k in range(len(seg)):
                n = int(lengths[k])
                assert torch.equal(seg.input_ids[seg.group[k], :n], obs["input_ids"][k, :n])


def train_weights(ppo: agents.PPO, state: dict, mode: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """One ``train()`` from ``state`` with the given evaluation; the weights after it."""
    ppo.policy.load_state_dict(state["policy"])
    ppo.policy.optimizer.load_state_dict(state["optimizer"])
    ppo.rollout_buffer.whole_segments = mode == "segments"
    with monkeypatch.context() as m:
        if mode == "per step":  # no run is found: every row goes through its own forward
            m.setattr(ppo.policy, "group_rows", lambda ids, lengths, actions: (torch.arange(len(ids)),) * 2)
        np.random.seed(0)
        torch.manual_seed(0)
        ppo.train()
    return {k: v.detach().clone() for k, v in ppo.policy.state_dict().items()}


def key_bias(ppo: agents.PPO, name: str) -> slice | None:
    """The key part of a GPT-2 ``c_attn`` bias (q, k, v stacked), or None for other weights."""
    if not name.endswith("attn.c_attn.bias"):
        return None
    h = ppo.policy.lm.config.n_embd
    return slice(h, 2 * h)


def test_one_train_call_gives_the_same_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    ppo = rollout_ppo("CatText-v0", learning_rate=LR)
    state = {
        "policy": copy.deepcopy(ppo.policy.state_dict()),
        "optimizer": copy.deepcopy(ppo.policy.optimizer.state_dict()),
    }
    before = state["policy"]
    after = {mode: train_weights(ppo, state, mode, monkeypatch) for mode in ("segments", "rows", "per step")}
    trained = [k for k in before if not k.startswith("reference.")]
    assert any(not torch.equal(after["segments"][k], before[k]) for k in trained)  # the update did something
    for k in trained:
        torch.testing.assert_close(after["segments"][k], after["rows"][k], atol=1e-6, rtol=0, msg=k)
        a, b = after["segments"][k].clone(), after["per step"][k].clone()
        keys = key_bias(ppo, k)
        if keys is not None:
            torch.testing.assert_close(a[keys], b[keys], atol=KEY_BIAS_ATOL, rtol=0, msg=k)
            a[keys] = b[keys] = 0
        torch.testing.assert_close(a, b, atol=WEIGHT_ATOL, rtol=0, msg=k)


def test_whole_episode_updates_setting() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8, whole_episode_updates=False)
    assert not ppo.rollout_buffer.whole_segments
    with pytest.raises(ValueError, match="LMActorCriticPolicy and agents.EpisodeRolloutBuffer"):
        agents.PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8, whole_episode_updates=True)
    with pytest.raises(ValueError, match="True, False or None"):
        agents.PPO("MlpPolicy", "CartPole-v1", whole_episode_updates="yes")
    mlp = agents.PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8)
    assert mlp.whole_episode_updates is None  # per-step rows, as SB3's own buffer gives them


def test_the_setting_survives_save_and_load(tmp_path) -> None:  # noqa: ANN001
    for setting in (False, None):
        ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8, whole_episode_updates=setting)
        ppo.save(tmp_path / "ppo.zip")
        loaded = agents.PPO.load(tmp_path / "ppo.zip", env=ppo.env)
        assert loaded.whole_episode_updates is setting
        assert loaded.rollout_buffer.whole_segments is (setting is None)


def test_segment_batch_of_any_index_order_holds_each_steps_state() -> None:
    buf = rollout_ppo("CatText-v0", kl_coef=0.0, log_kl=False).rollout_buffer
    next(buf.get(16))  # flattened env-major, as in an update
    index = np.random.default_rng(0).permutation(buf.buffer_size * buf.n_envs)[:40]
    index = np.concatenate([index, np.arange(10, 20), [12, 12]])  # a run, then a repeated step
    seg, rows = buf.segment_batch(index), buf.rows(index)
    lengths = torch.as_tensor(rows["attention_mask"].sum(1))
    assert torch.equal(seg.position, lengths - 1)
    assert len(seg.lengths) < len(index)  # the run of ten steps shares one sequence
    for k in range(len(index)):
        n = int(lengths[k])
        assert torch.equal(seg.input_ids[seg.group[k], :n], torch.as_tensor(rows["input_ids"][k, :n]))


def test_bad_segment_batches_are_refused(policy_factory, cat_env) -> None:  # noqa: ANN001
    ids, lengths = torch.zeros(2, 5, dtype=torch.long), torch.tensor([3, 5])
    with pytest.raises(ValueError, match="real token"):
        SegmentBatch(ids, lengths, group=torch.tensor([0, 1]), position=torch.tensor([2, 5]))
    with pytest.raises(ValueError, match="real token"):
        SegmentBatch(ids, lengths, group=torch.tensor([0, 2]), position=torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        SegmentBatch(ids, torch.tensor([0, 5]), group=torch.tensor([1]), position=torch.tensor([0]))
    with pytest.raises(ValueError, match="lengths"):
        SegmentBatch(ids, torch.tensor([3]), group=torch.tensor([0]), position=torch.tensor([0]))
    batch = SegmentBatch(ids, lengths, group=torch.tensor([0, 1]), position=torch.tensor([2, 4]))
    with pytest.raises(ValueError, match="2 steps in the segment batch but 3 actions"):
        policy_factory(cat_env).evaluate_actions(batch, torch.zeros(3))
