"""Issue 14: TRL's GRPOTrainer trains SmolLM2-135M against Dialogue-v0's simulated user, through TRL's own tool loop.

The tokenizer gets textgym's speak-tool templates (``use_speak_tool``), the environment factory
is ``DialogueUserEnvironment`` (whose only tool is ``reply``) and the reward is its
``get_reward()``: the token env's return for the replies TRL's loop sent.
"""

import gymnasium as gym
import pytest
import torch

import textgym  # noqa: F401  (registers the environments)
from textgym.data.shop_tasks import ShopUser
from textgym.models import load_model, load_tokenizer
from textgym.trl_adapters import DialogueUserEnvironment, dialogue_rows
from textgym.trl_chat import use_speak_tool

# fluency="none": the default fluency term would load a second SmolLM2 as a scorer.
MAKE = {"tokenizer": "smollm2-135m", "fluency": "none", "n_scenarios": 8}
USER_CALLS: list[list[dict]] = []  # the conversations the simulated user was asked to answer


def recording_user(scenario, messages):
    """Dialogue-v0's scripted user, recording every call made after an opening."""
    if messages:
        USER_CALLS.append([dict(m) for m in messages])
    return ShopUser()(scenario, messages)


class RecordingUser(DialogueUserEnvironment):
    """The adapter, recording each episode: scenario, replies, answers and the rewards TRL read."""

    episodes: list[dict] = []

    def __init__(self):
        super().__init__("textgym/Dialogue-v0", user=recording_user, **MAKE)

    def reset(self, **row) -> str:
        opening = super().reset(**row)
        self.log = {"index": int(row["prompt_index"]), "replies": [], "answers": [], "rewards": []}
        RecordingUser.episodes.append(self.log)
        return opening

    def reply(self, message: str) -> str:
        """Send your reply to the customer and read their answer.

        Args:
            message: What you say to the customer.

        Returns:
            The customer's next message, or a note that the conversation has ended.
        """
        answer = super().reply(message)
        self.log["replies"].append(message)
        self.log["answers"].append(answer)
        return answer

    def get_reward(self) -> float:
        reward = super().get_reward()
        self.log["rewards"].append(reward)
        return reward


def replay_return(index: int, replies: list[str]) -> float:
    """The token env's return for ``replies``, stepped token by token (independently of the adapters)."""
    env = gym.make("textgym/Dialogue-v0", **MAKE)
    base = env.unwrapped
    tok = base.tokenizer
    env.reset(options={"prompt_index": index})
    total, done = 0.0, False
    for reply in replies:
        if done:
            break
        turns = len(base.episode.agent_turns)
        for token in tok(reply, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
            _, reward, terminated, truncated, _ = env.step(token)
            total += float(reward)
            done = terminated or truncated
            # The turn is over (EOS, or max_reply_tokens) or the episode is: the rest is never written.
            if done or len(base.episode.agent_turns) > turns:
                break
    return total


@pytest.mark.slow
def test_grpo_trainer_plays_dialogue_through_trls_tool_loop(tmp_path, monkeypatch) -> None:
    pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from trl import GRPOConfig, GRPOTrainer

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    torch.manual_seed(0)
    USER_CALLS.clear()
    RecordingUser.episodes.clear()
    seen = []

    def completions_seen(prompts: list, completions: list, environments: list, **kwargs) -> list[float]:
        """Records what TRL's loop produced; scores nothing (0.0), so the reward is the env's alone."""
        seen.extend((completion, env.log) for completion, env in zip(completions, environments, strict=True))
        return [0.0] * len(completions)

    model = load_model("smollm2-135m")
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tokenizer = use_speak_tool(load_tokenizer("smollm2-135m"))
    tokenizer.padding_side = "left"
    rows = dialogue_rows(range(4), **MAKE)
    config = GRPOConfig(
        output_dir=str(tmp_path),
        learning_rate=1e-5,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=48,
        max_tool_calling_iterations=3,
        max_steps=2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[completions_seen],
        args=config,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        environment_factory=RecordingUser,
    )
    trainer.train()
    assert trainer.state.global_step == 2

    episodes = RecordingUser.episodes
    assert len(episodes) == 2 * 4 and len(seen) == 2 * 4  # two steps of 4 rollouts
    # TRL's loop called `reply`, and the simulated user was asked once per reply the env took:
    # every reply up to the one whose answer says that the conversation has ended.
    taken = []
    for e in episodes:
        ends = [i for i, answer in enumerate(e["answers"]) if answer.endswith("(the conversation has ended)")]
        taken.append(ends[0] + 1 if ends else len(e["replies"]))
    assert sum(taken) > 0
    assert len(USER_CALLS) == sum(taken)
    # Each call showed the user the conversation so far, ending with the reply just sent (TRL's
    # loop takes the rollouts' first replies, then their second ones, ...: compare as multisets).
    sent = [e["replies"][i] for e, n in zip(episodes, taken, strict=True) for i in range(n)]
    assert all(call[-1]["role"] == "assistant" for call in USER_CALLS)
    assert sorted(call[-1]["content"] for call in USER_CALLS) == sorted(sent)
    for completion, log in seen:
        # The replies the env got are the texts of the tool calls TRL parsed, in order, and the
        # customer's answers are the tool messages TRL appended (the last may have been dropped
        # by TRL for the completion budget, after the call).
        calls = [
            call["function"]["arguments"]["message"]
            for message in completion
            if message["role"] == "assistant"
            for call in message.get("tool_calls") or []
        ]
        answers = [m["content"] for m in completion if m["role"] == "tool"]
        assert calls == log["replies"]
        assert answers == log["answers"][: len(answers)] and len(log["answers"]) - len(answers) in (0, 1)

    # The rewards TRL read are the token env's returns for the same replies, replayed here.
    for episode in episodes:
        assert len(episode["rewards"]) == 1
        assert episode["rewards"][0] == pytest.approx(replay_return(episode["index"], episode["replies"]), abs=1e-9)
    # And TRL logged them: the mean of its env reward column at each step is the mean of those rewards.
    logged = [h["rewards/RecordingUser/mean"] for h in trainer.state.log_history if "rewards/RecordingUser/mean" in h]
    assert len(logged) == 2
    for step, mean in enumerate(logged):
        step_rewards = [e["rewards"][0] for e in episodes[4 * step : 4 * step + 4]]
        assert mean == pytest.approx(sum(step_rewards) / 4, abs=1e-6)

    changed = any(not torch.equal(before[name], p.detach()) for name, p in model.named_parameters())
    assert changed, "two GRPO steps left every weight unchanged"
