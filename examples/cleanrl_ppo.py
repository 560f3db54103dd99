"""CleanRL's PPO (ppo.py) on TinyCat-v0: CleanRL's single-file layout, episode logging that works under Gymnasium 1.x.

The two changes CleanRL's own `ppo.py` needs for a textgym id are `import textgym` and the env
options `gym.make(env_id, observation="onehot", budget_as_termination=True)`: a flat one-hot
observation for its MLP (`np.array(space.shape).prod()` then works), and the end of the
token budget as a terminal so that it does not bootstrap there. Under Gymnasium 1.x a
vector env puts `RecordEpisodeStatistics`' result under `infos["episode"]` (autoreset on the
next step) or `infos["final_info"]["episode"]` (same step), masked by `_episode`; CleanRL's
loop over `infos["final_info"]` prints nothing there. `episode_stats` reads both.

At the end, `agents.evaluate_policy_text` scores the greedy policy and a uniformly random one
on the same seeded episodes, and `--out` gets `cleanrl_ppo.png` (and its numbers,
`cleanrl_ppo.json`): the training episodes' mean return per iteration, and the two scores.

    python examples/cleanrl_ppo.py            # ~30 s
    python examples/cleanrl_ppo.py --smoke    # < 20 s
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn, optim
from torch.distributions.categorical import Categorical

import agents
import textgym  # noqa: F401  (change 1 of 2: registers the ids)
from textgym.plotting import Curve, Panel, plot_panels
from textgym.script_args import parse_args


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    total_timesteps: int = 40_000
    learning_rate: float = 3e-4
    num_envs: int = 8
    num_steps: int = 128
    anneal_lr: bool = False
    gamma: float = 1.0  # undiscounted: at most 5 tokens
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 10
    clip_coef: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    eval_episodes: int = 100  # seeded episodes scoring the greedy and the random policy at the end
    seed: int = 1
    out: str = "."  # folder for the plot and its numbers
    smoke: bool = False


# --smoke: checks the pipeline in seconds (4 iterations of 8 envs x 128 steps)
SMOKE = dict(total_timesteps=4096, eval_episodes=50)


def make_env(env_id: str, record_stats: bool = True, **make_kwargs: object):  # noqa: ANN201
    def thunk() -> gym.Env:
        # Change 2 of 2: a flat one-hot observation, and the token budget as a terminal.
        env = gym.make(env_id, observation="onehot", budget_as_termination=True, **make_kwargs)
        return gym.wrappers.RecordEpisodeStatistics(env) if record_stats else env

    return thunk


def episode_stats(infos: dict) -> list[tuple[float, int]]:
    """(return, length) of each episode that ended in this step, under Gymnasium 1.x's vector info."""
    source = infos.get("final_info", infos)  # SAME_STEP autoreset nests the finished episodes' info
    if "episode" not in source:
        return []
    ep = source["episode"]
    return [(float(ep["r"][i]), int(ep["l"][i])) for i in np.flatnonzero(source["_episode"])]


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias_const: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs: gym.vector.VectorEnv):
        super().__init__()
        obs_dim = int(np.array(envs.single_observation_space.shape).prod())
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0),
        )  # fmt: skip
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, envs.single_action_space.n), std=0.01),
        )  # fmt: skip

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None):  # noqa: ANN201
        probs = Categorical(logits=self.actor(x))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_iterations = args.total_timesteps // batch_size
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # a tiny MLP: threads cost more than they save

    # --- env setup: same-step autoreset, as CleanRL's loop (written for gym 0.26) assumes ---
    envs = gym.vector.SyncVectorEnv(
        [make_env(args.env_id) for _ in range(args.num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    assert isinstance(envs.single_action_space, gym.spaces.Discrete), "only discrete action space is supported"
    agent = Agent(envs)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # --- storage ---
    obs = torch.zeros((args.num_steps, args.num_envs, *envs.single_observation_space.shape))
    actions = torch.zeros((args.num_steps, args.num_envs))
    logprobs = torch.zeros((args.num_steps, args.num_envs))
    rewards = torch.zeros((args.num_steps, args.num_envs))
    dones = torch.zeros((args.num_steps, args.num_envs))
    values = torch.zeros((args.num_steps, args.num_envs))

    # --- the rollout / update loop ---
    global_step, start_time = 0, time.time()
    episodic_returns: list[float] = []  # every finished training episode, in order
    curve = []  # (global_step, mean return of the episodes finished in the iteration), per iteration
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs, next_done = torch.Tensor(next_obs), torch.zeros(args.num_envs)
    for iteration in range(1, num_iterations + 1):
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / num_iterations) * args.learning_rate
        finished_before = len(episodic_returns)
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step], logprobs[step] = action, logprob
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)
            for episodic_return, episodic_length in episode_stats(infos):
                episodic_returns.append(episodic_return)
                if len(episodic_returns) % 500 == 0:
                    print(f"global_step={global_step}, episodic_return={episodic_return:.2f}, length={episodic_length}")
        if len(episodic_returns) > finished_before:  # an iteration of >= 5 steps per env always ends episodes
            curve.append((global_step, float(np.mean(episodic_returns[finished_before:]))))

        # --- GAE (Schulman et al., 2016); the budget is a terminal, so nothing bootstraps past it ---
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                nextnonterminal = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
                nextvalues = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values

        # --- flatten the batch: (num_steps, num_envs, ...) -> (batch_size, ...) ---
        b_obs = obs.reshape((-1, *envs.single_observation_space.shape))
        b_logprobs, b_actions = logprobs.reshape(-1), actions.reshape(-1)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)

        # --- optimize the clipped surrogate (Schulman et al., 2017) ---
        b_inds = np.arange(batch_size)
        for _epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                mb_inds = b_inds[start : start + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions.long()[mb_inds])
                ratio = (newlogprob - b_logprobs[mb_inds]).exp()
                mb_adv = b_advantages[mb_inds]
                mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(
                    -mb_adv * ratio, -mb_adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                ).mean()
                v_loss = 0.5 * ((newvalue.view(-1) - b_returns[mb_inds]) ** 2).mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
        print(f"iteration {iteration}/{num_iterations}, SPS={int(global_step / (time.time() - start_time))}")
    envs.close()

    # --- report: the greedy policy and a uniformly random one on the same seeded episodes ---
    last = episodic_returns[-200:]
    print(f"mean return of the last {len(last)} training episodes: {np.mean(last):.3f}")
    rng = np.random.default_rng(args.seed)
    n_actions = int(envs.single_action_space.n)

    @torch.no_grad()
    def greedy(obs_batch: np.ndarray) -> np.ndarray:
        return agent.actor(torch.Tensor(obs_batch)).argmax(dim=-1).numpy()

    def evaluate(act) -> dict:  # noqa: ANN001
        # episode j is reset with seed 10_000 + j, so both policies see the same prompts
        # info="default": the evaluation records each episode's prompt and text, which the teaching ids'
        # numeric info (TinyCat-v1's default) leaves out.
        env_fn = make_env(args.env_id, record_stats=False, info="default")
        return agents.evaluate_policy_text(act, env_fn, n_episodes=args.eval_episodes, seed=10_000)

    random_result = evaluate(lambda obs_batch: rng.integers(n_actions, size=len(obs_batch)))
    greedy_result = evaluate(greedy)
    print(agents.describe("random policy", random_result, "return"))
    print(agents.describe("PPO (greedy)", greedy_result, "return"))

    # --- plot ---
    steps, rets = zip(*curve, strict=True)
    png = plot_panels(
        [
            Panel(
                curves={"PPO (training episodes)": Curve.from_points(steps, rets)},
                baselines={"random policy": random_result["mean_reward"]},
                ylabel="mean episodic return per iteration",
            ),
            Panel(
                bars={"random policy": random_result["mean_reward"], "PPO (greedy)": greedy_result["mean_reward"]},
                ylabel=f"mean return ({args.eval_episodes} seeded episodes)",
            ),
        ],
        Path(args.out) / "cleanrl_ppo.png",
        title=f"CleanRL PPO on {args.env_id}",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
