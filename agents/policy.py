"""A causal language model as a Stable-Baselines3 actor-critic policy."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn
from transformers import DynamicCache, PreTrainedModel

from agents import lora as lora_utils
from agents.hf_compat import cache_kwargs
from agents.kv_cache import SlotKVCache
from agents.sampling import SamplingConfig, process_logits, sample
from agents.segment_batch import SegmentBatch


def check_token_observation_space(space: spaces.Space) -> int:
    """Return the sequence length of a textgym token-state space, or raise ValueError."""
    if not isinstance(space, spaces.Dict) or set(space.spaces) != {"input_ids", "attention_mask"}:
        raise ValueError(
            "LMActorCriticPolicy reads Dict(input_ids, attention_mask) observations (textgym's token "
            f"state); got {space}"
        )
    shapes = {k: s.shape for k, s in space.spaces.items()}
    if (
        any(not isinstance(s, spaces.Box) or len(s.shape) != 1 for s in space.spaces.values())
        or len(set(shapes.values())) != 1
    ):
        raise ValueError(f"input_ids and attention_mask must be 1-D Boxes of one length; got {shapes}")
    return int(space["input_ids"].shape[0])


def _disable_dropout(model: nn.Module) -> None:
    # PPO's ratio must compare the sampling distribution with itself at the start of an
    # update (ratio exactly 1); dropout in train mode would make it random.
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


class LMActorCriticPolicy(ActorCriticPolicy):
    """Actor-critic policy whose actor is a causal LM and whose critic is a value head.

    * Actor: the LM's next-token logits at the last real token of the (right-padded)
      observation, turned into a categorical distribution by the sampling settings
      (temperature, top-k, top-p) — for acting *and* for re-evaluating actions in updates.
    * Critic: a linear value head on the trunk's last hidden state (shared trunk), or on a
      separate copy of the trunk (``separate_critic=True``).
    * Rollouts cost one token's forward per step: a per-slot KV cache is checked against each
      observation's token ids and reused when the observation is the cached sequence plus the
      last action; otherwise (reset, changed weights) the slot is recomputed. GPT-2 and
      Llama-family trunks (Llama, Mistral, Qwen2, e.g. SmolLM2) take a lean step that writes
      keys/values straight into the cache; other architectures run the ``transformers``
      forward over it (see :mod:`agents.kv_cache`).
    * Updates cost one forward per episode segment: :meth:`evaluate_actions` takes the
      segments' sequences from :class:`agents.EpisodeRolloutBuffer` (a
      :class:`agents.segment_batch.SegmentBatch`, with the algorithms' ``whole_episode_updates``)
      or, given one row per step, finds runs of rows where each row is the previous row plus its
      action (checked on the token ids); either way it reads all their log-probs and values
      from one forward pass over the run's last row. Rows sharing no prefix are computed on
      their own.
    * A frozen copy of the initial model (``build_reference=True``), held once, in this policy,
      gives :meth:`reference_log_prob`; with LoRA no copy is made: the reference is the same
      model with its adapters switched off (:meth:`reference_model`). The KL penalty itself belongs to the algorithm
      (:class:`agents.PPO`, :class:`agents.A2C`, :class:`agents.REINFORCE`), which asks for the
      reference; plain SB3 algorithms apply no penalty and build no reference.

    Dropout is disabled so that old and new log-probs come from the same distribution.

    Args:
        observation_space: textgym's ``Dict(input_ids, attention_mask)`` token state.
        action_space: ``Discrete(n)`` with ``n`` the model's vocabulary size.
        lr_schedule: Learning-rate schedule (from SB3).
        model: A name for :func:`textgym.models.load_model` (``"tiny"``, ``"smollm2-135m"``, a
            path or hub id) or a loaded causal LM.
        temperature: Sampling temperature.
        top_k: Keep the k most likely tokens (0 = all).
        top_p: Nucleus sampling mass (1.0 = off).
        separate_critic: Give the critic its own copy of the trunk.
        build_reference: Keep a frozen copy of the initial model (a full model's memory) for
            :meth:`reference_log_prob`; set by the KL-penalised algorithms. With ``lora`` it
            costs nothing: the reference is the base weights with the adapters off.
        lora: Train LoRA adapters instead of the whole model (needs the ``lora`` extra,
            ``pip install 'textgym[lora]'``): an :class:`agents.LoRAConfig` (e.g.
            ``LoRAConfig(r=16, alpha=32)``), or for the rest of peft's options a dict of
            ``peft.LoraConfig`` keyword arguments or a ``LoraConfig``. Without
            ``target_modules``, every attention and MLP projection of the architecture
            (:data:`agents.lora.DEFAULT_TARGET_MODULES`). The adapters are injected into the
            model in place (``self.lm`` stays the transformers model); only they and the
            value head are trainable and given to the optimizer; LoRA dropout is disabled
            with all other dropout. Rollouts then use the transformers forward, never the
            lean GPT-2 step (which reads the base weights only). With ``separate_critic`` the
            critic's trunk is a copy of the LoRA'd trunk: its base weights are frozen too and
            it trains its own adapters (a trunk's memory, as without LoRA). ``save``/``load``
            keep the adapters' weights and configuration.
        kv_cache: Keep per-slot keys/values during rollouts (one token per step). ``False``
            recomputes every observation's whole prefix at every step: the naive per-token
            design, kept so benchmarks can time it in the same SB3 loop.
        optimizer_class: Optimizer (AdamW by default).
        optimizer_kwargs: Its keyword arguments (AdamW gets ``fused=True`` unless ``fused`` or
            ``foreach`` is given).
        **kwargs: Passed to ``ActorCriticPolicy`` (``use_sde`` must stay False).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        model: str | PreTrainedModel = "tiny",
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        separate_critic: bool = False,
        build_reference: bool = False,
        kv_cache: bool = True,
        lora: dict[str, Any] | Any | None = None,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.AdamW,
        optimizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"LMActorCriticPolicy needs a Discrete action space (token ids); got {action_space}")
        self.max_length = check_token_observation_space(observation_space)
        if kwargs.get("use_sde"):
            raise ValueError("LMActorCriticPolicy does not support gSDE")
        moved = sorted({"kl_coef", "target_kl", "kl_horizon", "log_kl"} & kwargs.keys())
        if moved:
            raise ValueError(
                f"{moved} are not policy options: the KL penalty belongs to the algorithm. Use "
                "agents.PPO / A2C / REINFORCE (or make_ppo / make_a2c / make_reinforce) with kl_coef, "
                "kl_target (the penalty's adaptive target; SB3's target_kl is PPO's early stop), kl_horizon, log_kl"
            )
        # A model object must not become a submodule before nn.Module.__init__ (nor twice,
        # as model_spec and as lm): keep it as a plain attribute; _build adopts it as self.lm.
        object.__setattr__(self, "model_spec", model)
        self.sampling = SamplingConfig(temperature, top_k, top_p)
        self.separate_critic = separate_critic
        self.build_reference = build_reference
        self.kv_cache = kv_cache
        self.lora = lora
        if lora is not None:
            lora_utils.import_peft()  # fail before loading a model when the extra is missing
        kwargs.pop("ortho_init", None)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            ortho_init=False,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            **kwargs,
        )

    # ----- construction -----
    def _build(self, lr_schedule: Schedule) -> None:
        from textgym.models import load_model

        lm = load_model(self.model_spec) if isinstance(self.model_spec, str) else self.model_spec
        _disable_dropout(lm)
        head = lm.get_output_embeddings()
        n_vocab = head.out_features if head is not None else lm.config.vocab_size
        if n_vocab != self.action_space.n:
            name = self.model_spec if isinstance(self.model_spec, str) else type(lm).__name__
            raise ValueError(
                f"model {name!r} has a vocabulary of {n_vocab} tokens but the action space is "
                f"Discrete({self.action_space.n}); use the env's tokenizer's model"
            )
        lm = lm.float()
        if self.lora is not None:
            if lora_utils.has_lora(lm):
                raise ValueError("the model already holds LoRA layers; pass the plain model with lora=...")
            config = lora_utils.lora_config(self.lora, lm)
            lm = lora_utils.add_lora(lm, config)
            _disable_dropout(lm)  # LoRA's own dropout, for the same reason as the model's
            # Saved by SB3 as a constructor argument: load rebuilds the same adapters, then
            # loads their weights from the state dict.
            self.lora = lora_utils.config_kwargs(config)
        self.lm = lm
        hidden = lm.config.get_text_config().hidden_size
        self.value_net = nn.Linear(hidden, 1)
        nn.init.zeros_(self.value_net.weight)
        nn.init.zeros_(self.value_net.bias)
        self.critic_trunk = copy.deepcopy(lm.base_model) if self.separate_critic else None
        self.reference: PreTrainedModel | None = None
        if self.build_reference and self.lora is None:
            self.reference = copy.deepcopy(lm).eval().requires_grad_(False)
        # The lean decode step reads the base weight tensors and would ignore the adapters.
        lean = self.lora is None
        self._actor_cache = SlotKVCache(lean=lean)
        self._critic_cache = SlotKVCache(lean=lean)
        params = [p for p in self.parameters() if p.requires_grad]
        kwargs = dict(self.optimizer_kwargs)
        if self.optimizer_class is torch.optim.AdamW and not {"fused", "foreach"} & kwargs.keys():
            # AdamW's fused kernel: one pass over the weights instead of a loop of vector ops,
            # several times faster on CPU at SmolLM2's size (TRL's default too, via transformers).
            kwargs["fused"] = True
        self.optimizer = self.optimizer_class(params, lr=lr_schedule(1), **kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in (
            "net_arch",
            "activation_fn",
            "ortho_init",
            "log_std_init",
            "full_std",
            "use_expln",
            "squash_output",
            "features_extractor_class",
            "features_extractor_kwargs",
            "share_features_extractor",
        ):
            data.pop(key, None)
        data.update(
            model=self.model_spec,
            temperature=self.sampling.temperature,
            top_k=self.sampling.top_k,
            top_p=self.sampling.top_p,
            separate_critic=self.separate_critic,
            build_reference=self.build_reference,
            lora=self.lora,
        )
        return data

    def set_training_mode(self, mode: bool) -> None:
        """Switch train/eval; entering training means the weights will change: drop caches."""
        if mode:
            self._actor_cache.invalidate()
            self._critic_cache.invalidate()
        self.reference_eval()
        super().set_training_mode(mode)

    def reference_eval(self) -> None:
        """The reference model is frozen and always in eval mode."""
        if self.reference is not None:
            self.reference.eval()

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        """Load weights; cached keys/values of the old weights are dropped."""
        self._actor_cache.invalidate()
        self._critic_cache.invalidate()
        return super().load_state_dict(*args, **kwargs)

    # ----- the one place that computes the policy's outputs -----
    def _read_obs(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = obs["input_ids"].long()
        mask = obs["attention_mask"].long()
        lengths = mask.sum(dim=1)
        expected = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]).long()
        if not torch.equal(mask, expected) or bool((lengths == 0).any()):
            raise ValueError("observations must be right-padded token states with at least one real token")
        return ids, lengths

    def _distribution(self, logits: torch.Tensor) -> CategoricalDistribution:
        return self.action_dist.proba_distribution(action_logits=process_logits(logits, self.sampling))

    def _last_hidden(
        self, obs: dict[str, torch.Tensor], use_cache: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actor hidden state at each row's last real token, (B, hidden), plus ids and lengths."""
        ids, lengths = self._read_obs(obs)
        if use_cache and self.kv_cache and not self.training:
            hidden = self._actor_cache.forward(self.lm.base_model, ids, lengths)
        else:
            hidden = self._sequence_hidden(self.lm.base_model, ids, lengths, *self._no_groups(lengths))
        return hidden, ids, lengths

    def _critic_values(
        self, ids: torch.Tensor, lengths: torch.Tensor, actor_hidden: torch.Tensor, use_cache: bool
    ) -> torch.Tensor:
        if self.critic_trunk is None:
            return self.value_net(actor_hidden)
        if use_cache and self.kv_cache and not self.training:
            hidden = self._critic_cache.forward(self.critic_trunk, ids, lengths)
        else:
            hidden = self._sequence_hidden(self.critic_trunk, ids, lengths, *self._no_groups(lengths))
        return self.value_net(hidden)

    def _next_token(self, hidden: torch.Tensor, deterministic: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample (or argmax) the next token from hidden states (B, hidden); return it and its log-prob."""
        # The distribution of _distribution (same processed logits), sampled without building
        # a torch Categorical: at one token per step its argument checks, double
        # normalisation and torch.multinomial cost about a seventh of a rollout step.
        log_probs = torch.log_softmax(process_logits(self.lm.get_output_embeddings()(hidden), self.sampling), -1)
        actions = log_probs.argmax(dim=-1) if deterministic else sample(log_probs)
        return actions, log_probs.gather(1, actions[:, None]).squeeze(1)

    def _remember_actions(self, actions: torch.Tensor, slots: torch.Tensor | None) -> None:
        # The next observation of each slot should be its cached tokens plus this action.
        actions = actions.detach().cpu()
        if slots is None:
            self._actor_cache.last_action = actions.clone()
            self._critic_cache.last_action = self._actor_cache.last_action
        else:
            self._actor_cache.last_action[slots] = actions

    def _act(
        self, obs: dict[str, torch.Tensor], deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden, ids, lengths = self._last_hidden(obs, use_cache=True)
        actions, log_prob = self._next_token(hidden, deterministic)
        values = self._critic_values(ids, lengths, hidden, use_cache=True)
        # Only now: the critic's cache has just checked this observation against the previous
        # action; given the new one first, it never matched and recomputed every slot.
        self._remember_actions(actions, None)
        return actions, log_prob, values

    @torch.no_grad()
    def sample_slots(
        self, obs: dict[str, torch.Tensor], slots: torch.Tensor, n_slots: int, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next tokens (r,) and their log-probs (r,) for some env slots; no values are computed.

        For collectors that step only the slots whose episode is still running
        (:func:`agents.episode_batch.collect_episodes`): row j of ``obs`` is slot ``slots[j]`` of
        ``n_slots``, and the per-slot KV cache is used as in rollouts.
        """
        ids, lengths = self._read_obs(obs)
        if self.kv_cache:
            hidden = self._actor_cache.forward(self.lm.base_model, ids, lengths, slots=slots, n_slots=n_slots)
        else:
            hidden = self._sequence_hidden(self.lm.base_model, ids, lengths, *self._no_groups(lengths))
        actions, log_prob = self._next_token(hidden, deterministic)
        if self.kv_cache:
            self._remember_actions(actions, slots)
        return actions, log_prob

    def forward(self, obs: dict[str, torch.Tensor], deterministic: bool = False) -> tuple[torch.Tensor, ...]:
        """Sample actions; return (actions, values (B, 1), log_probs) as SB3 expects."""
        actions, log_prob, values = self._act(obs, deterministic)
        return actions, values, log_prob

    def _predict(self, observation: dict[str, torch.Tensor], deterministic: bool = False) -> torch.Tensor:
        return self._act(observation, deterministic)[0]

    def get_distribution(self, obs: dict[str, torch.Tensor]) -> CategoricalDistribution:
        """The sampling distribution of the next token."""
        hidden, _, _ = self._last_hidden(obs, use_cache=False)
        return self._distribution(self.lm.get_output_embeddings()(hidden))

    def predict_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Values (B, 1), computed without touching the rollout cache (bootstrap states)."""
        hidden, ids, lengths = self._last_hidden(obs, use_cache=False)
        return self._critic_values(ids, lengths, hidden, use_cache=False)

    # ----- episode-batched evaluation -----
    @staticmethod
    def _no_groups(lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.arange(len(lengths), device=lengths.device)
        return rows, rows

    @staticmethod
    def group_rows(
        ids: torch.Tensor, lengths: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Group consecutive rows that extend each other by their action.

        Row k+1 joins row k's group when its tokens are row k's tokens followed by
        ``actions[k]``, checked on the ids. Returns ``group`` (B,), each row's group index,
        and ``last`` (G,), the row whose sequence covers the whole group.
        """
        n, width = ids.shape
        if n == 1:
            zero = torch.zeros(1, dtype=torch.long, device=ids.device)
            return zero, zero
        prev_len = lengths[:-1]
        in_prev = torch.arange(width, device=ids.device)[None, :] < prev_len[:, None]
        same_prefix = ((ids[1:] == ids[:-1]) | ~in_prev).all(dim=1)
        appended = ids[1:].gather(1, prev_len.clamp(max=width - 1)[:, None]).squeeze(1) == actions[:-1]
        extends = (lengths[1:] == prev_len + 1) & same_prefix & appended
        starts = torch.cat([torch.ones(1, dtype=torch.bool, device=ids.device), ~extends])
        group = torch.cumsum(starts.long(), 0) - 1
        ends = torch.cat([starts[1:], torch.ones(1, dtype=torch.bool, device=ids.device)])
        return group, torch.nonzero(ends).squeeze(1)

    @staticmethod
    def _forward_sequences(trunk: nn.Module, seq_ids: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        """Hidden states (G, W, hidden) of right-padded sequences (G, W) with real lengths (G,)."""
        width = int(seq_lengths.max())
        mask = (torch.arange(width, device=seq_ids.device)[None, :] < seq_lengths[:, None]).long()
        return trunk(input_ids=seq_ids[:, :width], attention_mask=mask, use_cache=False).last_hidden_state

    @classmethod
    def _sequence_hidden(
        cls, trunk: nn.Module, ids: torch.Tensor, lengths: torch.Tensor, group: torch.Tensor, last: torch.Tensor
    ) -> torch.Tensor:
        """Hidden states (B, hidden) at each row's last token: one forward per group."""
        hidden = cls._forward_sequences(trunk, ids[last], lengths[last])  # each group's longest row
        # Row k's next-token state is at position lengths[k] - 1 of its group's sequence.
        return hidden[group, lengths - 1]

    def evaluate_actions(
        self, obs: dict[str, torch.Tensor] | SegmentBatch, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Values (B, 1), log-probs (B,) and entropies (B,) of taken actions, one forward per segment.

        ``obs`` is either one token state per step (rows that extend each other are found on
        the token ids and share a forward) or a :class:`agents.segment_batch.SegmentBatch`, whose
        sequences already hold the steps (what :class:`agents.EpisodeRolloutBuffer` yields with
        ``whole_segments``). Both give the same numbers: the same sequences go through one
        forward and each step reads the state before its action.
        """
        actions = actions.long().reshape(-1)
        hidden_of = self._step_hidden(obs, actions)
        hidden = hidden_of(self.lm.base_model)
        dist = self._distribution(self.lm.get_output_embeddings()(hidden))
        critic_hidden = hidden if self.critic_trunk is None else hidden_of(self.critic_trunk)
        return self.value_net(critic_hidden), dist.log_prob(actions), dist.entropy()

    def _step_hidden(
        self, obs: dict[str, torch.Tensor] | SegmentBatch, actions: torch.Tensor
    ) -> Callable[[nn.Module], torch.Tensor]:
        """A function of a trunk giving the hidden state (B, hidden) that predicts each step's action.

        The runs of steps are found once (given as a :class:`SegmentBatch`, or on the rows'
        token ids) and serve every trunk: actor, critic, reference.
        """
        if isinstance(obs, SegmentBatch):
            if len(obs) != len(actions):
                raise ValueError(f"{len(obs)} steps in the segment batch but {len(actions)} actions")
            return lambda trunk: self._forward_sequences(trunk, obs.input_ids, obs.lengths)[obs.group, obs.position]
        ids, lengths = self._read_obs(obs)
        group, last = self.group_rows(ids, lengths, actions)
        return lambda trunk: self._sequence_hidden(trunk, ids, lengths, group, last)

    @contextmanager
    def reference_model(self) -> Iterator[PreTrainedModel]:
        """The frozen reference model, for the duration of a ``with`` block.

        Without LoRA, the copy made at construction. With LoRA, ``self.lm`` itself with every
        adapter switched off, i.e. the initial weights (the base weights are never trained);
        the adapters are back on when the block ends. Every reader of the reference goes
        through here, so both cases behave the same.
        """
        if not self.build_reference:
            raise RuntimeError("this policy holds no reference model (build it with build_reference=True)")
        if self.reference is not None:
            yield self.reference
            return
        with lora_utils.adapters_disabled(self.lm) as base:
            yield base

    @torch.no_grad()
    def reference_log_prob(self, obs: dict[str, torch.Tensor] | SegmentBatch, actions: torch.Tensor) -> torch.Tensor:
        """Log-probs (B,) of actions under the frozen reference model, one forward per segment."""
        actions = actions.long().reshape(-1)
        hidden_of = self._step_hidden(obs, actions)
        with self.reference_model() as reference:
            logits = reference.get_output_embeddings()(hidden_of(reference.base_model))
        return self._distribution(logits).log_prob(actions)

    # ----- completions of shared prompts -----
    def shared_prefix_log_probs(
        self,
        prompts: Sequence[torch.Tensor],
        completions: torch.Tensor,
        lengths: torch.Tensor,
        scored: torch.Tensor,
        reference: bool = False,
        share_prompt: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probs and entropies of the scored tokens of completions of shared prompts, flat (n_scored,).

        Rows come in groups: rows ``k*G .. k*G+G-1`` continue ``prompts[k]``, with ``G =
        len(completions) // len(prompts)``. Each prompt is encoded once and its keys/values serve
        all G rows of its group (``share_prompt``), instead of once per row: the saving grows with
        the prompt's share of the tokens. Gradients flow through the shared prompt too. The
        result is ordered row by row, in time order (``completions[scored]``).

        Args:
            prompts: Per group, the prompt's token ids, 1-D (no padding).
            completions: (E, T) token ids after each row's prompt, right-padded.
            lengths: (E,) real tokens per row of ``completions``.
            scored: (E, T) bool, True where a token's log-prob is wanted (e.g. the agent's
                actions, not context an env appended).
            reference: Use the frozen reference model (no gradient) instead of the policy.
            share_prompt: Encode each prompt once per group (False: once per row, the plain
                forward; equal up to float rounding, kept for tests and comparison).

        Raises:
            ValueError: If the rows do not split into one group per prompt, or the shapes disagree.
        """
        n_rows = len(completions)
        if not prompts or n_rows % len(prompts) or completions.ndim != 2:
            raise ValueError(
                f"completions of shape {tuple(completions.shape)} do not split into one group per prompt "
                f"({len(prompts)} prompts)"
            )
        if tuple(lengths.shape) != (n_rows,) or scored.shape != completions.shape:
            raise ValueError(
                f"lengths {tuple(lengths.shape)} and scored {tuple(scored.shape)} must be ({n_rows},) and "
                f"{tuple(completions.shape)}, as completions"
            )
        args = (prompts, completions, lengths, scored, share_prompt)
        if reference:
            with torch.no_grad(), self.reference_model() as model:
                return self._shared_prefix_log_probs(model, *args)
        return self._shared_prefix_log_probs(self.lm, *args)

    def _shared_prefix_log_probs(
        self,
        model: PreTrainedModel,
        prompts: Sequence[torch.Tensor],
        completions: torch.Tensor,
        lengths: torch.Tensor,
        scored: torch.Tensor,
        share_prompt: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden: list[torch.Tensor] = []
        g = len(completions) // len(prompts)
        for k, prompt in enumerate(prompts):
            rows = slice(k * g, (k + 1) * g)
            h = self._group_hidden(model.base_model, prompt, completions[rows], lengths[rows], share_prompt)
            hidden.append(h[scored[rows][:, : h.shape[1]].to(h.device)])
        targets = completions[scored].to(self.device)
        logits = process_logits(model.get_output_embeddings()(torch.cat(hidden)), self.sampling)
        log_probs = torch.log_softmax(logits, dim=-1)  # (n_scored, vocab)
        entropy = -(log_probs.exp() * log_probs).sum(dim=-1)
        return log_probs.gather(1, targets[:, None]).squeeze(1), entropy

    def _group_hidden(
        self, trunk: nn.Module, prompt: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor, share_prompt: bool
    ) -> torch.Tensor:
        """States that predict each token after the prompt, (G, T, hidden), T = longest row."""
        device = self.device
        width = int(lengths.max())
        prompt, tokens = prompt.to(device), tokens[:, :width].to(device)
        n, p = len(tokens), len(prompt)
        tail_mask = (torch.arange(width, device=device)[None, :] < lengths.to(device)[:, None]).long()  # (G, T)
        if share_prompt:
            cache = DynamicCache(config=trunk.config)
            # (1, 1, hidden): the state after the prompt's last token
            last = trunk(input_ids=prompt[None], use_cache=True, **cache_kwargs(cache)).last_hidden_state[:, -1:]
            cache.batch_repeat_interleave(n)  # the prompt's keys/values, once per episode row
            mask = torch.cat([torch.ones(n, p, dtype=torch.long, device=device), tail_mask], dim=1)
            tail = trunk(input_ids=tokens, attention_mask=mask, use_cache=True, **cache_kwargs(cache)).last_hidden_state
            # token t is predicted by the state before it: the prompt's last for t = 0
            return torch.cat([last.expand(n, 1, -1), tail[:, :-1]], dim=1)
        ids = torch.cat([prompt[None].expand(n, p), tokens], dim=1)  # (G, p + T)
        mask = torch.cat([torch.ones(n, p, dtype=torch.long, device=device), tail_mask], dim=1)
        out = trunk(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        return out[:, p - 1 : p - 1 + width]
