"""Returns, GAE, truncation bootstrapping and segment minibatches."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from agents import EpisodeRolloutBuffer
from textgym.envs import TextGenEnv
from textgym.models import load_tokenizer


def test_gae_matches_hand_computed_values(cat_env) -> None:
    # One env, four steps: episode A = t0..t2 ends by EOS at t2 with reward 1; episode B
    # starts at t3 and is cut by the end of the rollout, bootstrapped with V(s4) = 0.4.
    buf = EpisodeRolloutBuffer(4, cat_env.observation_space, cat_env.action_space, gamma=0.9, gae_lambda=0.5)
    obs, _ = cat_env.reset(seed=0)
    obs = {k: v[None] for k, v in obs.items()}
    for reward, start, value in [(0, 1, 0.5), (0, 0, 0.6), (1, 0, 0.7), (0, 1, 0.2)]:
        buf.add(obs, np.array([[3]]), np.array([reward]), np.array([start]), torch.tensor([[value]]), torch.zeros(1))
    buf.compute_returns_and_advantage(last_values=torch.tensor([[0.4]]), dones=np.array([False]))
    # delta_t = r_t + gamma * V(s_t+1) * (1 - end_t) - V(s_t);  A_t = delta_t + gamma * lambda * (1 - end_t) * A_t+1
    # t3: 0 + 0.9*0.4 - 0.2 = 0.16                     A3 = 0.16
    # t2: 1 + 0 (terminated: no bootstrap) - 0.7 = 0.3 A2 = 0.3
    # t1: 0 + 0.9*0.7 - 0.6 = 0.03                     A1 = 0.03 + 0.45*0.3 = 0.165
    # t0: 0 + 0.9*0.6 - 0.5 = 0.04                     A0 = 0.04 + 0.45*0.165 = 0.11425
    np.testing.assert_allclose(buf.advantages[:, 0], [0.11425, 0.165, 0.3, 0.16], rtol=1e-5)
    np.testing.assert_allclose(buf.returns[:, 0], [0.61425, 0.765, 1.0, 0.36], rtol=1e-5)
    assert [s.tolist() for s in buf.segments()] == [[0, 1, 2], [3]]


class Recorder(gym.Wrapper):
    """Remembers how each step ended: (terminated, truncated, budget_exhausted)."""

    def __init__(self, env):
        super().__init__(env)
        self.log = []

    def step(self, action):
        out = super().step(action)
        self.log.append((out[2], out[3], out[4].get("budget_exhausted", False)))
        return out


def collect(algo, n_steps):
    _, callback = algo._setup_learn(n_steps, callback=None)
    algo.collect_rollouts(algo.env, callback, algo.rollout_buffer, n_rollout_steps=n_steps)
    return algo.rollout_buffer


@pytest.mark.parametrize("external_limit", [False, True], ids=["token-budget", "TimeLimit-wrapper"])
def test_bootstrap_only_at_external_truncation(external_limit: bool) -> None:
    tok = load_tokenizer("tiny")
    # Every even token id stops the episode, so some episodes terminate and some are truncated:
    # by the env's own budget (3 tokens), or by a TimeLimit wrapper (2 steps) before the budget.
    env = TextGenEnv(
        ["the dog ran ."],
        tokenizer=tok,
        reward=lambda p, c: [1.0] * len(c),
        max_new_tokens=3,
        stop_token_ids=range(0, len(tok), 2),
    )
    env = Recorder(gym.wrappers.TimeLimit(env, max_episode_steps=2) if external_limit else env)
    n = 40
    ppo = agents.make_ppo(env, n_envs=1, n_steps=n, batch_size=n, gamma=1.0, gae_lambda=1.0, kl_coef=0.0, log_kl=False)
    with torch.no_grad():
        ppo.policy.value_net.bias.fill_(0.5)  # V(s) = 0.5 everywhere
    buf = collect(ppo, n)
    log = env.log[-n:]
    assert any(te for te, _, _ in log) and any(tr for _, tr, _ in log)
    for t in range(n):
        end = next((u for u in range(t, n) if log[u][0] or log[u][1]), None)
        if end is None:
            expected = 0.5  # cut by the rollout's end: bootstrap V(last observation)
        elif log[end][0]:
            expected = 1.0  # terminated by EOS: the score, no bootstrap
        elif log[end][2]:
            expected = 1.0  # the env's own budget ran out: the score is final, no bootstrap
        else:
            expected = 0.0 + 0.5  # external time limit: env paid nothing yet; bootstrap V(terminal obs)
        assert buf.returns[t, 0] == np.float32(expected), (t, log[t : (end or t) + 1])


def test_minibatches_are_whole_segments_in_time_order(cat_env) -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=3, n_steps=30, batch_size=40, kl_coef=0.0, log_kl=False)
    buf = collect(ppo, 30)
    segments = buf.segments()
    assert sum(len(s) for s in segments) == 90
    seen = []
    for batch in buf.get(40):
        ids = batch.observations["input_ids"]
        lengths = batch.observations["attention_mask"].sum(1)
        group, last = ppo.policy.group_rows(ids, lengths, batch.actions.long().flatten())
        assert len(batch.actions) <= 40 or len(last) == 1
        seen.append(len(batch.actions))
        # every segment of the batch is recognised from its token ids alone
        assert len(last) <= len([s for s in segments if len(s)]) and len(last) < len(batch.actions)
    assert sum(seen) == 90


def test_sampled_kl_is_log_pi_minus_log_ref_of_each_stored_action() -> None:
    # The penalty's KL of each stored action is its stored log pi minus log ref(a|s); the
    # reference part is checked here against a plain forward of each prefix. In the first
    # rollout the policy is its reference, so every token's KL is 0.
    torch.manual_seed(0)
    model = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=16, kl_coef=0.1)
    _, callback = model._setup_learn(total_timesteps=16)  # one rollout, no update (SB3 internals)
    callback.on_training_start(locals(), globals())
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=model.n_steps)
    policy, buf = model.policy, model.rollout_buffer
    assert buf.kl_per_token == pytest.approx(0.0, abs=1e-6)
    buf.log_probs[:] = 0.0  # any stored values: the KL must be them minus the reference's
    kl = buf._sampled_kl(policy)  # (n_steps, n_envs)
    for t in range(buf.buffer_size):
        for e in range(buf.n_envs):
            ids = torch.as_tensor(buf.observations["input_ids"][t, e])
            mask = torch.as_tensor(buf.observations["attention_mask"][t, e])
            prefix = ids[mask.bool()][None]  # (1, prompt + tokens so far)
            with torch.no_grad():
                ref = torch.log_softmax(policy.reference(input_ids=prefix).logits[0, -1], -1)
            assert kl[t, e] == pytest.approx(-float(ref[int(buf.actions[t, e].item())]), abs=1e-4)
