"""SB3's callback contract: a stock callback reading the per-step locals runs under every algorithm."""

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

import agents


class ReadsStepLocals(BaseCallback):
    """A user callback as SB3's docs write them: it reads what ``collect_rollouts`` hands over each step."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.episodes_ended = 0
        self.reward_sum = 0.0
        self.last_infos: list[dict] = []

    def _on_step(self) -> bool:
        infos, dones, rewards, new_obs = (self.locals[k] for k in ("infos", "dones", "rewards", "new_obs"))
        n_envs = self.training_env.num_envs
        assert len(infos) == n_envs and all(isinstance(info, dict) for info in infos)
        assert np.shape(dones) == (n_envs,) and np.shape(rewards) == (n_envs,)
        assert new_obs["input_ids"].shape[0] == n_envs
        self.steps += 1
        self.episodes_ended += int(np.sum(dones))
        self.reward_sum += float(np.sum(rewards))
        self.last_infos = infos
        return True


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (agents.make_ppo, dict(n_steps=16, batch_size=32, n_epochs=1)),
        (agents.make_a2c, dict(n_steps=16)),
        (agents.make_reinforce, dict(n_steps=16)),
    ],
    ids=["ppo", "a2c", "reinforce"],
)
def test_step_algorithms_hand_callbacks_the_step_locals(make, kwargs) -> None:
    algo = make("CatText-v0", n_envs=4, **kwargs)
    callback = ReadsStepLocals()
    algo.learn(256, callback=callback)
    assert callback.steps == 256 // 4
    assert callback.episodes_ended > 0  # CatText's episodes are shorter than 64 steps


def test_grpo_hands_callbacks_the_step_locals_each_episode_ending_once() -> None:
    algo = agents.make_grpo("CatText-v0", n_envs=8, group_size=4)
    callback = ReadsStepLocals()
    algo.learn(1, callback=callback)  # one rollout: one whole episode per slot
    episodes = algo.episodes
    assert callback.steps == int(episodes.n_actions().max())  # one call per batched token step
    # As in SB3's loop, each episode ends once and pays its reward once: the step rewards add up to the returns.
    assert callback.episodes_ended == episodes.n_episodes
    assert callback.reward_sum == pytest.approx(float(episodes.returns.sum()), abs=1e-5)
    assert any("completion" in info for info in callback.last_infos)  # the env's own final info
