"""PPO ratio, KL to the reference, save/load, and learning on a small text task."""

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import DictRolloutBuffer
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.vec_env import VecEnvWrapper
from transformers import GPT2LMHeadModel

import agents
from textgym.data import story_openings
from textgym.envs import TextGenEnv
from textgym.rewards import KeywordReward


def collect(algo, n_steps):
    _, callback = algo._setup_learn(n_steps, callback=None)
    algo.collect_rollouts(algo.env, callback, algo.rollout_buffer, n_rollout_steps=n_steps)
    return algo.rollout_buffer


# The factories' documented defaults (agents/factory.py docstrings), read back from the built algorithm.
FACTORY_DEFAULTS = {
    "ppo": dict(learning_rate=3e-4, n_steps=64, batch_size=512, n_epochs=4, gamma=1.0, gae_lambda=0.95, ent_coef=0.0),
    "a2c": dict(learning_rate=1e-4, n_steps=32, gamma=1.0, gae_lambda=0.95, ent_coef=0.0, max_grad_norm=0.5),
    "reinforce": dict(learning_rate=1e-4, n_steps=32, gamma=1.0),
}


@pytest.mark.parametrize(
    ("make", "cls", "name"),
    [
        (agents.make_ppo, agents.PPO, "ppo"),
        (agents.make_a2c, agents.A2C, "a2c"),
        (agents.make_reinforce, agents.REINFORCE, "reinforce"),
    ],
    ids=["ppo", "a2c", "reinforce"],
)
def test_factory_builds_its_algorithm_with_defaults_and_overrides(make, cls, name) -> None:
    algo = make("CatText-v0", n_envs=3)
    assert type(algo) is cls  # exactly agents' class: SB3's own would drop the KL penalty on load
    for key, value in FACTORY_DEFAULTS[name].items():
        assert getattr(algo, key) == value, key
    assert type(algo.policy.optimizer) is torch.optim.AdamW  # also for A2C, whose SB3 default is RMSprop
    assert algo.policy.optimizer.param_groups[0]["lr"] == FACTORY_DEFAULTS[name]["learning_rate"]
    assert algo.env.num_envs == 3 and type(algo.rollout_buffer).__name__ == "EpisodeRolloutBuffer"
    assert algo.kl_controller.coef == 0.05 and algo.kl_controller.target is None
    if name == "ppo":
        assert algo.clip_range(1.0) == 0.2
    # Overrides: algorithm keywords reach the algorithm, sampling keywords the policy.
    tuned = make(
        "CatText-v0", n_envs=2, n_steps=8, gamma=0.9, learning_rate=1e-3, kl_coef=0.2, temperature=0.7, top_k=5
    )
    assert (tuned.n_steps, tuned.gamma, tuned.learning_rate) == (8, 0.9, 1e-3)
    assert tuned.policy.optimizer.param_groups[0]["lr"] == 1e-3
    assert tuned.kl_controller.coef == 0.2
    assert (tuned.policy.sampling.temperature, tuned.policy.sampling.top_k) == (0.7, 5)


def test_ppo_ratio_is_one_on_first_minibatch() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=4, n_steps=24, batch_size=32, temperature=0.8, top_k=50)
    buf = collect(ppo, 24)
    ppo.policy.set_training_mode(True)
    batch = next(buf.get(32))
    _, log_prob, _ = ppo.policy.evaluate_actions(batch.observations, batch.actions.long().flatten())
    ratio = torch.exp(log_prob - batch.old_log_prob)
    torch.testing.assert_close(ratio, torch.ones_like(ratio), atol=1e-4, rtol=0)


class Capture(KVWriter):
    def __init__(self):
        self.rows = []

    def write(self, key_values, key_excluded, step=0):
        self.rows.append(dict(key_values))


def test_kl_to_reference_is_logged_and_reference_held_once() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=4, n_steps=16, batch_size=32, n_epochs=2, learning_rate=1e-3)
    capture = Capture()
    ppo.set_logger(Logger(folder=None, output_formats=[capture]))
    ppo.learn(3 * 64)
    kls = [row["train/kl_ref"] for row in capture.rows if "train/kl_ref" in row]
    assert len(kls) == 3  # one per update
    assert abs(kls[0]) < 1e-5  # policy == reference before the first update
    assert kls[-1] > 1e-4  # and they differ after training
    assert sum(isinstance(m, GPT2LMHeadModel) for m in ppo.policy.modules()) == 2  # policy + one reference
    assert not any(p.requires_grad for p in ppo.policy.reference.parameters())


def test_adaptive_kl_controller() -> None:
    kl = agents.KLController(0.1, target=0.05, horizon=1000)
    kl.update(kl_per_token=0.1, n_tokens=100)  # error clipped to +0.2: 0.1 * (1 + 0.2 * 0.1)
    assert kl.coef == pytest.approx(0.102)
    kl.update(kl_per_token=0.04, n_tokens=500)  # error -0.2: 0.102 * (1 - 0.2 * 0.5)
    assert kl.coef == pytest.approx(0.0918)
    fixed = agents.KLController(0.1)
    fixed.update(1.0, 100)
    assert fixed.coef == 0.1
    with pytest.raises(ValueError):
        agents.KLController(0.0, target=0.1)


def test_plain_sb3_ppo_runs_the_lm_policy_without_reference_or_penalty() -> None:
    # Built by hand, SB3's own PPO works with the policy; it applies no KL penalty, so the
    # policy holds no reference copy. The old policy-level KL options name their new home.
    env = agents.make_env("CatText-v0", n_envs=2)
    ppo = PPO(agents.LMActorCriticPolicy, env, n_steps=8, batch_size=8, policy_kwargs=dict(model="tiny"))
    ppo.learn(16)
    assert ppo.policy.reference is None
    with pytest.raises(RuntimeError, match="no reference"):
        ppo.policy.reference_log_prob(ppo.policy.obs_to_tensor(env.reset())[0], torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="belongs to the algorithm"):
        PPO(agents.LMActorCriticPolicy, env, n_steps=8, policy_kwargs=dict(model="tiny", kl_coef=0.1))


class RecordRewards(VecEnvWrapper):
    """Keeps a copy of each step's env rewards, before SB3 or the KL penalty touch them."""

    def __init__(self, venv):
        super().__init__(venv)
        self.rewards = []

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self.rewards.append(rewards.copy())
        return obs, rewards, dones, infos


def reference_log_prob_by_hand(reference, ids, mask, action) -> float:
    prefix = torch.as_tensor(ids)[torch.as_tensor(mask).bool()][None]  # (1, real tokens)
    with torch.no_grad():
        return float(torch.log_softmax(reference(input_ids=prefix).logits[0, -1], -1)[int(action)])


@pytest.mark.parametrize(
    ("make", "cls", "kwargs"),
    [
        (agents.make_ppo, agents.PPO, dict(batch_size=16, n_epochs=2)),
        (agents.make_a2c, agents.A2C, {}),
        (agents.make_reinforce, agents.REINFORCE, {}),
    ],
    ids=["ppo", "a2c", "reinforce"],
)
def test_loaded_algorithm_applies_the_kl_penalty_by_itself(tmp_path, make, cls, kwargs) -> None:
    torch.manual_seed(0)
    coef, n_envs, n_steps = 0.2, 2, 8
    algo = make("CatText-v0", n_envs=n_envs, n_steps=n_steps, learning_rate=3e-3, kl_coef=coef, **kwargs)
    algo.learn(4 * n_envs * n_steps)  # move the policy away from its reference
    algo.save(tmp_path / "agent.zip")
    env = RecordRewards(agents.make_env("CatText-v0", n_envs=n_envs, seed=7))
    loaded = cls.load(tmp_path / "agent.zip", env=env, device="cpu")
    assert type(loaded.rollout_buffer).__name__ == "EpisodeRolloutBuffer"
    capture = Capture()
    loaded.set_logger(Logger(folder=None, output_formats=[capture]))
    loaded.learn(n_envs * n_steps, log_interval=1)  # one rollout, then one update (A2C logs every 100)

    buf, reference = loaded.rollout_buffer, loaded.policy.reference
    assert reference is not None and not any(p.requires_grad for p in reference.parameters())
    # The reference is the initial model, restored by load, not the trained policy.
    for (name, p), q in zip(algo.policy.reference.named_parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q), name
    env_rewards = np.stack(env.rewards)  # (n_steps, n_envs)
    log_pi = buf.log_probs.reshape(n_envs, n_steps).T  # get() left them env-major
    actions = buf.actions.reshape(n_envs, n_steps).T
    obs = {k: v.reshape(n_envs, n_steps, -1).transpose(1, 0, 2) for k, v in buf.observations.items()}
    kl = np.empty((n_steps, n_envs))
    for t in range(n_steps):
        for e in range(n_envs):
            ids, mask = obs["input_ids"][t, e], obs["attention_mask"][t, e]
            kl[t, e] = log_pi[t, e] - reference_log_prob_by_hand(reference, ids, mask, actions[t, e])
    assert np.abs(kl).max() > 1e-3  # the policy moved: the penalty is not trivially zero
    # CatText episodes end by EOS or its own budget, so SB3 adds no bootstrap to the rewards.
    np.testing.assert_allclose(buf.rewards, env_rewards - coef * kl, atol=1e-4, rtol=0)
    rows = [row for row in capture.rows if "train/kl_ref" in row]
    assert rows[-1]["train/kl_coef"] == coef
    assert rows[-1]["train/kl_ref"] == pytest.approx(kl.mean(), abs=1e-5)


def test_adaptive_kl_coefficient_is_restored_by_load(tmp_path) -> None:
    ppo = agents.make_ppo(
        "CatText-v0", n_envs=2, n_steps=8, batch_size=16, learning_rate=3e-3, kl_coef=0.1, kl_target=1e-4, kl_horizon=50
    )
    ppo.learn(3 * 16)
    assert ppo.kl_controller.coef != pytest.approx(0.1)  # adapted
    ppo.save(tmp_path / "agent.zip")
    loaded = agents.PPO.load(tmp_path / "agent.zip", env=agents.make_env("CatText-v0", n_envs=2), device="cpu")
    assert loaded.kl_controller == ppo.kl_controller  # coef, target, horizon, initial coef
    capture = Capture()
    loaded.set_logger(Logger(folder=None, output_formats=[capture]))
    loaded.learn(16)
    logged = [row["train/kl_coef"] for row in capture.rows if "train/kl_coef" in row]
    assert logged[0] == ppo.kl_controller.coef  # the loaded model's first rollout uses the saved coef


def test_sb3_target_kl_reaches_ppo_untouched() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8, target_kl=0.03, kl_target=0.5)
    assert ppo.target_kl == 0.03  # SB3's early stop of the epochs
    assert ppo.kl_controller.target == 0.5  # the penalty's adaptive target
    plain = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8)
    assert plain.target_kl is None and plain.kl_controller.target is None


def test_kl_penalty_misuse_is_an_error() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8)
    ppo.rollout_buffer = DictRolloutBuffer(8, ppo.observation_space, ppo.action_space, n_envs=2)
    with pytest.raises(RuntimeError, match="does not carry"):
        ppo.learn(16)
    with pytest.raises(ValueError, match="LMActorCriticPolicy"):
        agents.PPO("MlpPolicy", "CartPole-v1", kl_coef=0.1)
    agents.REINFORCE("MlpPolicy", "CartPole-v1", n_steps=8).learn(16)  # no KL by default: any policy


def test_save_load_is_bit_exact(tmp_path) -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=16, batch_size=16, n_epochs=1, learning_rate=1e-3)
    ppo.learn(32)
    ppo.save(tmp_path / "agent.zip")
    loaded = agents.PPO.load(tmp_path / "agent.zip", device="cpu")
    a, b = ppo.policy.state_dict(), loaded.policy.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    obs = ppo.env.reset()
    torch.manual_seed(3)
    act_a, _ = ppo.predict(obs)
    torch.manual_seed(3)
    act_b, _ = loaded.predict(obs)
    np.testing.assert_array_equal(act_a, act_b)
    assert loaded.policy.sampling == ppo.policy.sampling


def cat_first_env():
    """Small task: write up to 3 tokens that contain 'cat'."""
    return TextGenEnv(story_openings("train", 64), tokenizer="tiny", reward=KeywordReward(["cat"]), max_new_tokens=3)


def success_rate(algo, n=96) -> float:
    result = agents.evaluate_policy_text(algo, cat_first_env(), n_episodes=n, n_envs=1, seed=123)
    return result["mean_reward"]


# Budgets with headroom (issue 30): on one host the success rate crossed 0.7 between 1,536 and
# 3,072 steps (PPO, seeds 0-2: 0.09-0.50 at 1,536, 0.94-0.98 at 3,072), and on another host PPO
# had reached only 0.20 (2 threads) and 0.48 (1 thread) at 3,072: so twice the budget that crosses
# here. A2C at lr 1e-3 collapsed to 0.0 between 4,608 and 6,912 steps at seed 2; at 5e-4 it held
# 0.97-1.0 from 6,912 to 11,520 (seeds 0-2). REINFORCE reached 0.67-1.0 at 3,072 and 1.0 at 6,144.
# benchmarks/learning_margins.py records the margins of these exact runs (docs/reliability.md).
# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): lowest success after training 0.927 against 0.7 (REINFORCE, seed 1); PPO 0.979, A2C 0.969.
@pytest.mark.parametrize(
    ("make", "kwargs", "steps"),
    [
        (agents.make_ppo, dict(learning_rate=1e-3, n_steps=32, batch_size=256, n_epochs=4), 6144),
        (agents.make_a2c, dict(learning_rate=5e-4, n_steps=8), 9216),
        (agents.make_reinforce, dict(learning_rate=1e-3, n_steps=8), 6144),
    ],
    ids=["ppo", "a2c", "reinforce"],
)
@pytest.mark.learning
def test_algorithms_learn_a_small_text_task(make, kwargs, steps, learning_seed, check_learned) -> None:
    algo = make(cat_first_env, n_envs=8, seed=learning_seed, kl_coef=0.01, **kwargs)
    before = success_rate(algo)
    algo.learn(steps)
    after = success_rate(algo)
    check_learned("success before", before, "<", 0.3)
    check_learned("success after", after, ">=", 0.7)
    check_learned("success after - before", after - before, ">", 0.4)


def test_paired_difference_by_hand() -> None:
    def result(rewards: dict[int, float]) -> dict:
        return {"episodes": [{"index": i, "reward": r} for i, r in rewards.items()]}

    # episodes finish in any order; pairs follow the index: differences 1, 3, 2
    before = result({0: 1.0, 1: 0.0, 2: 2.0})
    after = result({2: 4.0, 0: 2.0, 1: 3.0})
    mean, sem, n = agents.paired_difference(before, after)
    assert (mean, n) == (2.0, 3)
    assert sem == pytest.approx(1.0 / np.sqrt(3))  # sample std of [1, 3, 2] is 1
    with pytest.raises(ValueError, match="same episodes"):
        agents.paired_difference(before, result({0: 1.0, 1: 1.0}))


def test_paired_difference_of_a_component() -> None:
    def result(topic: list[float]) -> dict:
        return {"episodes": [{"index": i, "reward": 9.0, "components": {"topic": t}} for i, t in enumerate(topic)]}

    mean, sem, n = agents.paired_difference(result([0, 0, 1, 0]), result([1, 1, 1, 0]), component="topic")
    assert (mean, n) == (0.5, 4)  # differences 1, 1, 0, 0: the rewards (all 9) would give 0
    assert sem == pytest.approx(np.std([1, 1, 0, 0], ddof=1) / 2)
    with pytest.raises(KeyError, match=r"episode 0 has no component 'fluency'; it has \['topic'\]"):
        agents.paired_difference(result([0]), result([1]), component="fluency")
