"""LMActorCriticPolicy: caching and episode batching equal plain computation; bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents import LMActorCriticPolicy, SamplingConfig, process_logits
from agents.sampling import sample


def episode_rows(env, policy, seeds, steps, to_batch):
    """Observations and actions of env slots stepped by the policy, laid out env-major."""
    rows, actions = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        for _ in range(steps):
            with torch.no_grad():
                a = int(policy.get_distribution(to_batch([obs])).sample()[0])
            rows.append(obs)
            actions.append(a)
            obs, _, te, tr, _ = env.step(a)
            if te or tr:
                obs, _ = env.reset()
    return to_batch(rows), torch.tensor(actions)


@pytest.mark.parametrize("sampling", [{}, {"temperature": 0.7, "top_k": 20, "top_p": 0.9}])
@pytest.mark.parametrize("separate_critic", [False, True])
def test_episode_batched_evaluate_actions_equals_row_by_row(
    cat_env, sampling, separate_critic, policy_factory, batcher
) -> None:
    make_policy, to_batch = policy_factory, batcher
    policy = make_policy(cat_env, separate_critic=separate_critic, **sampling)
    torch.nn.init.normal_(policy.value_net.weight, std=0.1)  # non-trivial values
    obs, actions = episode_rows(cat_env, policy, seeds=[0, 1, 2], steps=9, to_batch=to_batch)
    group, last = policy.group_rows(obs["input_ids"], obs["attention_mask"].sum(1), actions)
    assert len(last) < len(actions)  # prefixes really were shared
    values, log_prob, entropy = policy.evaluate_actions(obs, actions)
    for k in range(len(actions)):
        row = {key: v[k : k + 1] for key, v in obs.items()}
        v1, lp1, e1 = policy.evaluate_actions(row, actions[k : k + 1])
        torch.testing.assert_close(values[k], v1[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(log_prob[k], lp1[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(entropy[k], e1[0], atol=1e-5, rtol=1e-5)


def test_group_rows_checks_token_ids(cat_env, policy_factory, batcher) -> None:
    make_policy, to_batch = policy_factory, batcher
    policy = make_policy(cat_env)
    obs, actions = episode_rows(cat_env, policy, seeds=[0], steps=4, to_batch=to_batch)
    ids, lengths = obs["input_ids"], obs["attention_mask"].sum(1)
    group, last = policy.group_rows(ids, lengths, actions)
    assert group.tolist() == [0, 0, 0, 0] and last.tolist() == [3]
    wrong = actions.clone()
    wrong[1] = (wrong[1] + 1) % cat_env.action_space.n  # row 2 is no longer row 1 + its action
    group, last = policy.group_rows(ids, lengths, wrong)
    assert group.tolist() == [0, 0, 1, 1] and last.tolist() == [1, 3]
    shuffled = [0, 2, 1, 3]
    group, _ = policy.group_rows(ids[shuffled], lengths[shuffled], actions[shuffled])
    assert group.tolist() == [0, 1, 2, 3]  # no row extends its predecessor: row by row


@pytest.mark.parametrize("fast", [True, False], ids=["gpt2-fast-step", "transformers-forward"])
def test_rollout_cache_equals_full_recompute(cat_env, policy_factory, batcher, fast, monkeypatch) -> None:
    from agents import fast_decode

    if not fast:
        monkeypatch.setattr(fast_decode, "supports", lambda trunk: False)
    make_policy, to_batch = policy_factory, batcher
    policy = make_policy(cat_env)
    envs = [gym.make("textgym/CatText-v0").unwrapped for _ in range(4)]
    obs = [e.reset(seed=i)[0] for i, e in enumerate(envs)]
    for _ in range(40):
        batch = to_batch(obs)
        with torch.no_grad():
            actions, values, log_prob = policy(batch)
            torch.testing.assert_close(log_prob, policy.get_distribution(batch).log_prob(actions), atol=1e-5, rtol=0)
            torch.testing.assert_close(values, policy.predict_values(batch), atol=1e-5, rtol=0)
        for i, e in enumerate(envs):
            o, _, te, tr, _ = e.step(int(actions[i]))
            obs[i] = e.reset()[0] if te or tr else o
    cache = policy._actor_cache
    assert cache.hits > 100 and cache.misses >= 4  # one token per step, except after resets


def test_kv_cache_off_recomputes_and_agrees(cat_env, policy_factory, batcher) -> None:
    # kv_cache=False is the naive design the benchmark times: same outputs, no cache used.
    cached, naive = policy_factory(cat_env), policy_factory(cat_env, kv_cache=False)
    naive.load_state_dict(cached.state_dict())
    obs, _ = cat_env.reset(seed=3)
    for _ in range(6):
        batch = batcher([obs])
        with torch.no_grad():
            torch.manual_seed(0)
            a1, v1, lp1 = cached(batch)
            torch.manual_seed(0)
            a2, v2, lp2 = naive(batch)
        assert a1.tolist() == a2.tolist()
        torch.testing.assert_close(lp1, lp2, atol=1e-5, rtol=0)
        torch.testing.assert_close(v1, v2, atol=1e-5, rtol=0)
        obs, *_ = cat_env.step(int(a1[0]))
    assert cached._actor_cache.hits == 5 and naive._actor_cache.hits + naive._actor_cache.misses == 0


def test_cache_is_dropped_when_training_starts(cat_env, policy_factory, batcher) -> None:
    make_policy, to_batch = policy_factory, batcher
    policy = make_policy(cat_env)
    obs, _ = cat_env.reset(seed=0)
    with torch.no_grad():
        a, _, _ = policy(to_batch([obs]))
    obs2, *_ = cat_env.step(int(a[0]))
    policy.set_training_mode(True)
    policy.set_training_mode(False)
    misses = policy._actor_cache.misses
    with torch.no_grad():
        policy(to_batch([obs2]))
    assert policy._actor_cache.misses == misses + 1


def test_process_logits() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    probs = torch.softmax(process_logits(logits, SamplingConfig(top_k=2)), -1)[0]
    e = np.exp([2.0, 1.0])
    np.testing.assert_allclose(probs.numpy(), [e[0] / e.sum(), e[1] / e.sum(), 0, 0], rtol=1e-6)
    # softmax([2,1,0,-1]) = [.644, .237, .087, .032]: top_p=0.7 keeps the first two tokens
    probs = torch.softmax(process_logits(logits, SamplingConfig(top_p=0.7)), -1)[0]
    assert probs[2] == 0 and probs[3] == 0 and probs[1] > 0
    probs = torch.softmax(process_logits(logits, SamplingConfig(temperature=2.0)), -1)[0]
    np.testing.assert_allclose(probs.numpy(), torch.softmax(logits[0] / 2, -1).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        SamplingConfig(temperature=0)


def test_construction_errors(cat_env) -> None:
    with pytest.raises(ValueError, match="vocabulary of 247"):
        LMActorCriticPolicy(cat_env.observation_space, spaces.Discrete(100), lambda _: 1e-4, model="tiny")
    with pytest.raises(ValueError, match="Dict"):
        LMActorCriticPolicy(spaces.Box(0, 1, (5,)), cat_env.action_space, lambda _: 1e-4, model="tiny")
    bad = spaces.Dict(
        {"input_ids": spaces.Box(0, 9, (5,), np.int64), "attention_mask": spaces.Box(0, 1, (6,), np.int64)}
    )
    with pytest.raises(ValueError, match="one length"):
        LMActorCriticPolicy(bad, cat_env.action_space, lambda _: 1e-4, model="tiny")
    with pytest.raises(ValueError, match="Discrete"):
        LMActorCriticPolicy(cat_env.observation_space, spaces.Box(0, 1, (2,)), lambda _: 1e-4, model="tiny")


def test_a_model_object_is_adopted(cat_env) -> None:
    # make_ppo(model=lm) with an in-memory LM (e.g. after supervised fine-tuning): the policy
    # trains that very module, and its KL reference is a frozen copy of it.
    from textgym.models import load_model

    lm = load_model("tiny")
    policy = LMActorCriticPolicy(
        cat_env.observation_space, cat_env.action_space, lambda _: 1e-4, model=lm, build_reference=True
    )
    assert policy.lm is lm
    assert policy.reference is not lm
    ref_params = dict(policy.reference.named_parameters())
    for name, param in lm.named_parameters():
        assert torch.equal(param, ref_params[name]) and not ref_params[name].requires_grad
    with pytest.raises(ValueError, match="'GPT2LMHeadModel' has a vocabulary of 247"):
        LMActorCriticPolicy(cat_env.observation_space, spaces.Discrete(100), lambda _: 1e-4, model=lm)


def test_left_padded_observation_is_rejected(cat_env, policy_factory, batcher) -> None:
    make_policy, to_batch = policy_factory, batcher
    policy = make_policy(cat_env)
    obs, _ = cat_env.reset(seed=0)
    batch = to_batch([obs])
    batch["attention_mask"] = batch["attention_mask"].flip(1)
    with pytest.raises(ValueError, match="right-padded"):
        policy.predict_values(batch)


def test_sample_draws_from_the_categorical_and_never_a_cut_token() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 50) * 2
    cut = process_logits(logits, SamplingConfig(top_k=5))  # 45 tokens per row get probability 0
    log_probs = torch.log_softmax(cut, -1)
    n = 100_000
    draws = sample(log_probs.repeat(n, 1)).view(n, 2)  # (n, 2)
    for row in range(2):
        freq = torch.bincount(draws[:, row], minlength=50).double() / n
        p = log_probs[row].exp().double()
        assert torch.all(freq[p == 0] == 0)  # never a token outside the top 5
        # binomial standard error of each frequency; 5 SE is far beyond chance for 5 tokens
        se = (p * (1 - p) / n).sqrt()
        assert torch.all((freq - p).abs() <= 5 * se + 1e-9), (freq - p).abs().max()
