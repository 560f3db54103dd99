"""GRPO / RLOO: the maths against hand-computed values, and the collector's groups."""

import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import KVWriter, Logger

import agents
from agents.grpo import aggregate_loss, group_advantages
from agents.kl_penalty import k3_kl


# ----- advantages -----
def test_group_mean_baseline_scaled_by_group_std() -> None:
    r = np.array([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 5.0])
    adv = group_advantages(r, 4, "mean", "group")
    # group 1: mean 0.5, sample std sqrt(1/3); group 2: mean 2.75, sample std 1.5
    s1, s2 = np.sqrt(1 / 3) + 1e-4, 1.5 + 1e-4
    want = [0.5 / s1, -0.5 / s1, -0.5 / s1, 0.5 / s1, -0.75 / s2, -0.75 / s2, -0.75 / s2, 2.25 / s2]
    np.testing.assert_allclose(adv, want, rtol=1e-12)


def test_leave_one_out_baseline_unscaled() -> None:
    r = np.array([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 5.0])
    adv = group_advantages(r, 4, "leave_one_out", "none")
    # A_i = R_i - (sum - R_i) / 3
    want = [1 - 1 / 3, 0 - 2 / 3, 0 - 2 / 3, 1 - 1 / 3, 2 - 3, 2 - 3, 2 - 3, 5 - 2]
    np.testing.assert_allclose(adv, want, rtol=1e-12)


def test_batch_scaling_uses_the_whole_batch_std() -> None:
    r = np.array([1.0, 0.0, 3.0, 1.0])
    adv = group_advantages(r, 2, "mean", "batch")
    s = np.std(r, ddof=1) + 1e-4
    np.testing.assert_allclose(adv, [0.5 / s, -0.5 / s, 1 / s, -1 / s], rtol=1e-12)


@pytest.mark.parametrize("baseline", ["mean", "leave_one_out"])
@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_equal_rewards_give_zero_advantage_without_nan(baseline: str, scale: str) -> None:
    r = np.array([0.1, 0.1, 0.1, 0.7, 0.7, 0.7])  # every group all-equal; 0.1 * 3 / 3 is not exact
    adv = group_advantages(r, 3, baseline, scale)
    assert np.all(adv == 0.0)


def test_advantage_argument_errors() -> None:
    with pytest.raises(ValueError, match="groups of 4"):
        group_advantages(np.zeros(6), 4)
    with pytest.raises(ValueError, match="group_size >= 2"):
        group_advantages(np.zeros(3), 1, "leave_one_out", "none")
    with pytest.raises(ValueError, match="baseline"):
        group_advantages(np.zeros(4), 2, "median", "none")  # type: ignore[arg-type]


# ----- loss aggregation and KL estimators -----
def test_loss_aggregations_against_hand_computed_values() -> None:
    per_token = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0])  # episode 0: 3 tokens, episode 1: 2 tokens
    n = torch.tensor([3, 2])
    assert aggregate_loss(per_token, n, "token", 8).item() == pytest.approx(36 / 5)
    assert aggregate_loss(per_token, n, "sequence", 8).item() == pytest.approx((6 / 3 + 30 / 2) / 2)
    assert aggregate_loss(per_token, n, "constant", 8).item() == pytest.approx(36 / (2 * 8))
    with pytest.raises(ValueError, match="loss_aggregation"):
        aggregate_loss(per_token, n, "mean", 8)  # type: ignore[arg-type]


def test_k3_estimator_matches_its_definition_and_the_true_kl() -> None:
    lp, ref = torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([-1.5, -1.0, -0.5])
    want = [np.exp(-0.5) + 0.5 - 1, np.exp(1.0) - 1.0 - 1, 0.0]
    np.testing.assert_allclose(k3_kl(lp, ref).numpy(), want, rtol=1e-6)
    # unbiased: E_{x~p}[k3] = KL(p || q) for two categoricals
    p = torch.tensor([0.2, 0.5, 0.3])
    q = torch.tensor([0.4, 0.4, 0.2])
    expected = (p * k3_kl(p.log(), q.log())).sum()
    assert expected.item() == pytest.approx((p * (p / q).log()).sum().item(), rel=1e-6)


# ----- the algorithm on the tiny model -----
@pytest.fixture(scope="module")
def grpo_k1():
    torch.manual_seed(0)
    model = agents.make_grpo("CatText-v0", n_envs=8, group_size=4, kl_coef=0.1, kl_estimator="k1_reward")
    model.learn(1)  # one rollout and one update
    return model


def test_group_slots_share_their_prompt(grpo_k1) -> None:
    e = grpo_k1.episodes
    assert e.n_episodes == 8 and e.n_groups == 2
    prompts = {info["prompt"] for info in e.infos[:4]}
    assert len(prompts) == 1 and prompts != {info["prompt"] for info in e.infos[4:]}
    # each episode's actions are exactly its tokens (single-turn), ended by EOS or the budget
    assert torch.equal(e.n_actions(), e.lengths)
    eos = 2
    for i in range(e.n_episodes):
        n = int(e.lengths[i])
        ended_by_eos = int(e.tokens[i, n - 1]) == eos
        assert ended_by_eos or n == 24
        assert e.infos[i]["budget_exhausted"] == (not ended_by_eos)


def _prefix_log_probs(lm, prompt: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    # independent reference: one plain forward per prefix, no cache, no sharing
    out = []
    for t in range(len(tokens)):
        ids = torch.cat([prompt, tokens[:t]])[None]
        logits = lm(input_ids=ids).logits[0, -1]
        out.append(torch.log_softmax(logits, -1)[tokens[t]])
    return torch.stack(out)


@torch.no_grad()
def test_k1_penalty_is_sampled_kl_summed_into_the_return(grpo_k1) -> None:
    e = grpo_k1.episodes
    policy = grpo_k1.policy
    for i in (0, 5):
        n = int(e.lengths[i])
        prompt = e.prompts[i // 4]
        ref = _prefix_log_probs(policy.reference, prompt, e.tokens[i, :n])
        torch.testing.assert_close(e.ref_log_probs[i, :n], ref, atol=1e-4, rtol=1e-4)
        env_return = 1.0 * e.infos[i]["reward_components"]["topic"] + 1.0 * e.infos[i]["reward_components"]["fluency"]
        penalty = 0.1 * float((e.old_log_probs[i, :n] - ref).sum())
        assert e.rewards[i] == pytest.approx(env_return - penalty, abs=1e-4)


def test_ratio_is_one_on_the_first_minibatch() -> None:
    torch.manual_seed(1)
    model = agents.make_grpo("CatText-v0", n_envs=8, group_size=4)
    model._setup_learn(1, callback=None)
    model.collect_rollouts(model.env, model._setup_learn(1, callback=None)[1], model.rollout_buffer, 1)
    e = model.episodes
    with torch.no_grad():
        new, _ = e.action_log_probs(model.policy)
    torch.testing.assert_close(new, e.old_log_probs[e.action_mask], atol=1e-4, rtol=0)


@torch.no_grad()
def test_shared_prompt_forward_equals_the_plain_forward(grpo_k1) -> None:
    e = grpo_k1.episodes
    shared, ent_s = e.action_log_probs(grpo_k1.policy, share_prompt=True)
    plain, ent_p = e.action_log_probs(grpo_k1.policy, share_prompt=False)
    torch.testing.assert_close(shared, plain, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ent_s, ent_p, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_shared_prefix_forward_takes_plain_tensors(grpo_k1) -> None:
    # no rollout container: two prompts of different lengths, two completions each, one
    # completion token left unscored (as context an env appended would be)
    policy = grpo_k1.policy
    prompts = [torch.tensor([5, 9, 12]), torch.tensor([7, 4])]
    completions = torch.tensor([[3, 8, 6], [10, 0, 0], [11, 13, 0], [6, 6, 6]])
    lengths = torch.tensor([3, 1, 2, 3])
    scored = lengths[:, None] > torch.arange(3)[None, :]
    scored[0, 1] = False
    log_probs, entropy = policy.shared_prefix_log_probs(prompts, completions, lengths, scored)
    want = torch.cat(
        [
            _prefix_log_probs(policy.lm, prompts[i // 2], completions[i, : int(lengths[i])])[
                scored[i, : int(lengths[i])]
            ]
            for i in range(4)
        ]
    )
    assert log_probs.shape == entropy.shape == (int(scored.sum()),)
    torch.testing.assert_close(log_probs, want, atol=1e-4, rtol=1e-4)
    ref, _ = policy.shared_prefix_log_probs(prompts, completions, lengths, scored, reference=True)
    want_ref = _prefix_log_probs(policy.reference, prompts[1], completions[3])
    torch.testing.assert_close(ref[-3:], want_ref, atol=1e-4, rtol=1e-4)


def test_shared_prefix_forward_names_mismatched_shapes(grpo_k1) -> None:
    policy = grpo_k1.policy
    completions, lengths = torch.ones(3, 2, dtype=torch.long), torch.full((3,), 2)
    scored = torch.ones(3, 2, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"\(3, 2\) do not split into one group per prompt \(2 prompts\)"):
        policy.shared_prefix_log_probs([torch.tensor([1]), torch.tensor([2])], completions, lengths, scored)
    with pytest.raises(ValueError, match=r"lengths \(2,\) and scored \(3, 2\) must be \(3,\)"):
        policy.shared_prefix_log_probs([torch.tensor([1])], completions, lengths[:2], scored)


def test_k3_loss_run_logs_kl_and_trains_no_value_head() -> None:
    torch.manual_seed(2)
    model = agents.make_grpo("CatText-v0", n_envs=4, group_size=2, kl_coef=0.05, learning_rate=1e-4)
    head = model.policy.value_net.weight.detach().clone()
    before = model.policy.lm.lm_head.weight.detach().clone()
    model.learn(1)
    e = model.episodes
    assert e.ref_log_probs is not None  # the reference was scored for the loss's k3 term
    env_returns = [sum(info["reward_components"].values()) for info in e.infos]  # weights 1 and 1
    np.testing.assert_allclose(e.rewards, env_returns)  # k3 goes in the loss, not the return
    assert torch.equal(model.policy.value_net.weight, head)  # no critic is trained
    assert model.policy.value_net.weight.grad is None
    assert not torch.equal(model.policy.lm.lm_head.weight, before)


def _rollout(model):
    model._setup_learn(1, callback=None)
    model.collect_rollouts(model.env, model._setup_learn(1, callback=None)[1], model.rollout_buffer, 1)
    return model.episodes


def _two_groups_of_two(skip: bool) -> agents.GRPO:
    """GRPO on two groups of two completions, one group per minibatch."""
    group = agents.GroupConfig(skip_zero_advantage_groups=skip)
    return agents.make_grpo("CatText-v0", n_envs=4, group_size=2, batch_size=2, learning_rate=1e-3, group=group)


@pytest.mark.parametrize("skip", [True, False])
def test_zero_advantage_groups_are_skipped_without_changing_the_update(skip: bool) -> None:
    # group 0 all reward 1 (no signal), group 1 mixed: only group 1's minibatch may move the weights
    torch.manual_seed(4)
    model = _two_groups_of_two(skip)
    e = _rollout(model)
    e.rewards = np.array([1.0, 1.0, 0.0, 1.0])
    model.advantages = agents.grpo.group_advantages(e.rewards, 2, "mean", "group")
    assert (model.advantages[:2] == 0).all() and (model.advantages[2:] != 0).all()
    minibatches, steps = [], []
    forward = model.policy.shared_prefix_log_probs
    # one call per minibatch; its completions are the minibatch's episodes, one row each
    model.policy.shared_prefix_log_probs = lambda p, rows, *a, **kw: (
        minibatches.append(len(rows)) or forward(p, rows, *a, **kw)
    )
    model.policy.optimizer.register_step_post_hook(lambda *_: steps.append(1))
    np.random.seed(0)
    model.train()
    assert len(steps) == len(minibatches) == (1 if skip else 2)
    if skip:
        # independent check: the unskipped run, visiting group 1 first, reaches the same weights
        # after its first optimizer step (its second, on group 0, only replays Adam's momentum)
        torch.manual_seed(4)
        twin = _two_groups_of_two(skip=False)
        e2 = _rollout(twin)
        assert torch.equal(e2.tokens, e.tokens)
        e2.rewards = e.rewards
        twin.advantages = model.advantages
        after_first: list[dict] = []
        twin.policy.optimizer.register_step_post_hook(
            lambda *_: after_first or after_first.append({k: v.clone() for k, v in twin.policy.named_parameters()})
        )
        np.random.seed(0)  # permutation(2) = [1, 0]
        twin.train()
        for name, a in model.policy.named_parameters():
            torch.testing.assert_close(a, after_first[0][name], atol=0, rtol=0, msg=name)


def test_a_rollout_without_signal_takes_no_step() -> None:
    torch.manual_seed(5)
    model = agents.make_grpo("CatText-v0", n_envs=4, group_size=2, learning_rate=1e-3)
    e = _rollout(model)
    e.rewards = np.zeros(4)
    model.advantages = agents.grpo.group_advantages(e.rewards, 2, "mean", "group")
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.train()
    for k, v in model.policy.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model.logger.name_to_value["train/groups_skipped"] == 2


def test_save_load_is_exact(tmp_path) -> None:
    torch.manual_seed(3)
    model = agents.make_rloo("CatText-v0", n_envs=4, group_size=2, learning_rate=1e-4)
    model.learn(1)
    model.save(tmp_path / "rloo.zip")
    env = agents.make_env("CatText-v0", n_envs=4, group_size=2, whole_episodes=True)
    loaded = agents.GRPO.load(tmp_path / "rloo.zip", env=env)
    assert loaded.group == agents.GroupConfig(baseline="leave_one_out", scale_rewards="none")
    assert loaded.group_size == 2
    for (name, a), (_, b) in zip(model.policy.state_dict().items(), loaded.policy.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    obs = env.reset()
    a1, _ = model.predict(obs, deterministic=True)
    a2, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    loaded.learn(1)  # training continues after load


def test_grpo_needs_a_whole_episode_env() -> None:
    with pytest.raises(TypeError, match="whole_episodes=True"):
        agents.GRPO("LMActorCriticPolicy", agents.make_env("CatText-v0", n_envs=4))
    with pytest.raises(ValueError, match="multiple of group_size"):
        agents.make_grpo("CatText-v0", n_envs=6, group_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        agents.make_grpo("CatText-v0", n_envs=8, group_size=4, batch_size=6)


def test_adaptive_kl_coef_follows_the_controller_from_the_sampled_kl() -> None:
    """With kl_target, each rollout uses the current beta, then beta moves by Ziegler et al.'s rule."""
    torch.manual_seed(3)
    # A reward that differs between any two completions of different lengths: every group carries
    # signal, so the first update moves the policy on any host. (With CatText's own reward a first
    # rollout whose groups all scored alike took no step, left KL at 0 and beta falling: the
    # premise of the last assertion then depended on the host's sampling.)
    model = agents.make_grpo(
        "CatText-v0",
        n_envs=8,
        group_size=4,
        kl_coef=0.1,
        kl_target=1e-6,
        kl_horizon=100,
        kl_estimator="k1_reward",
        env_kwargs={"reward": lambda prompts, completions: [float(len(c)) for c in completions]},
    )
    logged: list[dict] = []

    class Record(KVWriter):
        def write(self, key_values, key_excluded, step=0) -> None:
            logged.append(dict(key_values))

    model.set_logger(Logger(None, [Record()]))
    betas = []
    for _ in range(3):
        model.learn(1, reset_num_timesteps=False)
        e = model.episodes
        mask = e.action_mask
        kl = float(((e.old_log_probs - e.ref_log_probs) * mask).sum() / mask.sum())
        n = int(mask.sum())
        assert logged[-1]["train/kl_ref"] == pytest.approx(kl)
        # this rollout's rewards carry the beta it was collected with
        used = model.kl_coef
        assert logged[-1]["train/kl_coef"] == used
        sums = ((e.old_log_probs - e.ref_log_probs) * mask).sum(dim=1).double().numpy()
        np.testing.assert_allclose(e.rewards, e.returns - used * sums, atol=1e-6)
        # the next beta: e = clip(KL / target - 1, -0.2, 0.2), beta * (1 + e * n / horizon)
        error = min(max(kl / 1e-6 - 1, -0.2), 0.2)
        assert model.kl_controller.coef == pytest.approx(used * (1 + error * n / 100))
        betas.append(used)
    assert betas[0] == 0.1
    # after the first update the policy differs from the reference: KL > target, beta grows
    assert betas[2] > betas[1]


def test_adaptive_kl_needs_a_starting_coef() -> None:
    with pytest.raises(ValueError, match="needs kl_coef > 0"):
        agents.make_grpo("CatText-v0", n_envs=4, group_size=2, kl_target=0.1)
