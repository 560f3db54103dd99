"""Returns, GAE, truncation bootstrapping and segment minibatches."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from agents import EpisodeRolloutBuffer
from agents.kl_penalty import sampled_kl
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


@pytest.mark.parametrize("whole_segments", [False, True], ids=["rows", "segment-batch"])
def test_minibatches_are_whole_segments_in_time_order(cat_env, whole_segments: bool) -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=3, n_steps=30, batch_size=40, kl_coef=0.0, log_kl=False)
    buf = collect(ppo, 30)
    buf.whole_segments = whole_segments
    segments = buf.segments()
    assert sum(len(s) for s in segments) == 90
    seen = []
    for batch in buf.get(40):
        if whole_segments:  # the runs the buffer found, each held by one sequence
            last = torch.nonzero(torch.diff(batch.observations.group, append=torch.tensor([-1]))).flatten()
            assert len(last) == len(batch.observations.lengths)
        else:  # the runs found on the rows' token ids
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
    assert model.kl_per_token == pytest.approx(0.0, abs=1e-6)
    buf.log_probs[:] = 0.0  # any stored values: the KL must be them minus the reference's
    kl = sampled_kl(buf, policy)  # (n_steps, n_envs)
    for t in range(buf.buffer_size):
        for e in range(buf.n_envs):
            ids = torch.as_tensor(buf.observations["input_ids"][t, e])
            mask = torch.as_tensor(buf.observations["attention_mask"][t, e])
            prefix = ids[mask.bool()][None]  # (1, prompt + tokens so far)
            with torch.no_grad():
                ref = torch.log_softmax(policy.reference(input_ids=prefix).logits[0, -1], -1)
            assert kl[t, e] == pytest.approx(-float(ref[int(buf.actions[t, e].item())]), abs=1e-4)


# ----- O(T) storage: observations rebuilt exactly -----
def scripted_rollout(seed: int, n_envs: int, width: int, n_steps: int, pad: int = 5, vocab: int = 40):
    """A token-level rollout with everything that cuts or breaks an episode, and its heads.

    Each slot starts mid-episode (cut by the rollout's start); an action 0 is EOS (reset with a
    new prompt); a full row truncates; one row in 12 is rewritten by the env (its first token
    changes), and one in 15 gets a stray padding id (irregular padding). Returns per step
    (obs, actions, episode_starts), plus the expected number of heads and stored tokens: a
    step is a head when it is a slot's first step, a reset, a rewritten row, or its padding is
    irregular and its predecessor's was not, or the other way round (a head with irregular
    padding is stored whole, and rows with the same stray id extend it).
    """
    rng = np.random.default_rng(seed)

    def prompt() -> list[int]:
        return rng.integers(1, vocab, size=rng.integers(1, width // 2)).tolist()

    def row(tokens: list[int], irregular: bool) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full(width, pad, dtype=np.int64)
        ids[: len(tokens)] = tokens
        mask = (np.arange(width) < len(tokens)).astype(np.int64)
        if irregular:
            ids[-1] = pad + 1
        return ids, mask

    state = []
    for _ in range(n_envs):  # advance each slot a random number of steps before the rollout
        tokens = prompt()
        tokens += rng.integers(1, vocab, size=rng.integers(0, width - len(tokens))).tolist()
        state.append(tokens)
    starts = np.zeros(n_envs, dtype=bool)
    kind = [("first", False)] * n_envs  # why each slot's current row is (or is not) a head
    steps, heads, stored = [], 0, 0
    for _ in range(n_steps):
        rows = []
        for e in range(n_envs):
            irregular = kind[e][0] == "cont" and len(state[e]) < width - 1 and rng.random() < 1 / 15
            rows.append(row(state[e], irregular))
            # A row extends an irregular one only when it has the same stray padding id.
            is_head = kind[e][0] != "cont" or kind[e][1] != irregular
            heads += is_head
            stored += (width if irregular else len(state[e])) if is_head else 0
            kind[e] = ("cont", irregular)  # the next row follows an irregular one
        obs = {k: np.stack([r[i] for r in rows]) for i, k in enumerate(("input_ids", "attention_mask"))}
        actions = rng.integers(0, vocab, size=n_envs)
        steps.append((obs, actions, starts.copy()))
        for e in range(n_envs):
            a = int(actions[e])
            starts[e] = a == 0 or len(state[e]) == width
            if starts[e]:
                state[e], kind[e] = prompt(), ("reset", False)
            else:
                state[e] = [*state[e], a]
                if rng.random() < 1 / 12:
                    state[e][0] = (state[e][0] % (vocab - 1)) + 1 if state[e][0] != vocab - 1 else 1
                    kind[e] = ("rewritten", False)
    return steps, heads, stored


@pytest.mark.parametrize("seed", range(4))
def test_rebuilt_observations_equal_sb3s_stored_ones(seed: int) -> None:
    from gymnasium import spaces
    from stable_baselines3.common.buffers import DictRolloutBuffer

    n_envs, width, n_steps = 3, 12, 40
    obs_space = spaces.Dict(
        {"input_ids": spaces.Box(0, 39, (width,), np.int64), "attention_mask": spaces.Box(0, 1, (width,), np.int64)}
    )
    ours = EpisodeRolloutBuffer(n_steps, obs_space, spaces.Discrete(40), n_envs=n_envs)
    sb3 = DictRolloutBuffer(n_steps, obs_space, spaces.Discrete(40), n_envs=n_envs)
    steps, n_heads, n_tokens = scripted_rollout(seed, n_envs, width, n_steps)
    for rollout in range(2):  # reset() between rollouts leaves nothing behind
        ours.reset()
        sb3.reset()
        for obs, actions, starts in steps:
            for buf in (ours, sb3):
                buf.add(obs, actions[:, None], np.zeros(n_envs), starts, torch.zeros(n_envs), torch.zeros(n_envs))
        # compact: one head per slot start, reset, rewritten or irregular row; only their tokens kept
        assert (ours.n_heads, ours.n_tokens) == (n_heads, n_tokens)
        for key in sb3.observations:
            assert ours.observations[key].dtype == sb3.observations[key].dtype == np.int64
            np.testing.assert_array_equal(ours.observations[key], sb3.observations[key])
        for buf in (ours, sb3):
            buf.compute_returns_and_advantage(torch.zeros(n_envs), np.zeros(n_envs))
            next(buf.get(batch_size=8))  # flattens env-major
        index = np.random.default_rng(rollout).permutation(n_envs * n_steps)[:25]
        a, b = ours._get_samples(index), sb3._get_samples(index)
        for key in sb3.observations:
            np.testing.assert_array_equal(ours.observations[key], sb3.observations[key])  # env-major now
            assert torch.equal(a.observations[key], b.observations[key])
        assert torch.equal(a.actions, b.actions)


def test_add_rejects_masks_that_are_not_right_padded(cat_env) -> None:
    obs, _ = cat_env.reset(seed=0)
    for bad in ("flipped", "two", "empty"):
        buf = EpisodeRolloutBuffer(2, cat_env.observation_space, cat_env.action_space)
        mask = obs["attention_mask"].copy()
        if bad == "flipped":
            mask = mask[::-1].copy()
        elif bad == "two":
            mask[0] = 2
        else:
            mask[:] = 0
        batch = {"input_ids": obs["input_ids"][None], "attention_mask": mask[None]}
        with pytest.raises(ValueError, match="right-padded"):
            buf.add(batch, np.array([[1]]), np.zeros(1), np.ones(1), torch.zeros(1, 1), torch.zeros(1))
