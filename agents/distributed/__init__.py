"""textgym on Ray: environment slots and rollout workers as Ray actors (the optional ``ray`` extra).

Nothing here imports ray until it is used, so ``import agents.distributed`` works without it
and ``import agents`` never loads it; using a Ray class without ray installed raises an
ImportError that names the extra (``pip install 'textgym[ray]'``).

* :class:`RayVecEnv`: an SB3 ``VecEnv`` whose slots live in Ray actors, each holding a batched
  textgym env of k slots.
* :class:`RolloutWorkers`: Ray actors holding a policy copy and a batched env that collect whole
  episodes (one ``ray.put`` of the weights per update).
* :class:`RayGRPO`, :func:`make_ray_grpo`: GRPO whose rollouts come from those workers, the
  update in the learner's process.
* :class:`RayPPO`, :func:`make_ray_ppo`: PPO whose rollouts come from :class:`PPORolloutWorkers`
  (actors holding a policy copy and autoresetting env slots), the update in the learner's process.
* :class:`BusyReward`, :func:`costly_cat_text`: a reward that costs a fixed CPU time per scored
  text, for scaling benchmarks and fault tests.
* :class:`WorkerError`: the one error every Ray class raises for a worker's fault, as
  :class:`WorkerDiedError` (its process died), :class:`WorkerTimeoutError` (no answer within
  ``worker_timeout_s``, default :data:`DEFAULT_WORKER_TIMEOUT_S`; it was killed) or
  :class:`WorkerEnvError` (its env raised).
"""

from agents.distributed.costly import BusyReward, costly_cat_text
from agents.distributed.errors import (
    WorkerDiedError,
    WorkerEnvError,
    WorkerError,
    WorkerTimeoutError,
    require_ray,
)
from agents.distributed.faults import DEFAULT_WORKER_TIMEOUT_S
from agents.distributed.grpo import RayGRPO, make_ray_grpo
from agents.distributed.ppo import RayPPO, make_ray_ppo
from agents.distributed.ppo_rollout import PPORolloutWorkers, join_steps
from agents.distributed.rollout import RolloutWorkers, concat_episodes
from agents.distributed.vec_env import RayVecEnv, split_slots

__all__ = [
    "DEFAULT_WORKER_TIMEOUT_S",
    "BusyReward",
    "PPORolloutWorkers",
    "RayGRPO",
    "RayPPO",
    "RayVecEnv",
    "RolloutWorkers",
    "WorkerDiedError",
    "WorkerEnvError",
    "WorkerError",
    "WorkerTimeoutError",
    "concat_episodes",
    "costly_cat_text",
    "join_steps",
    "make_ray_grpo",
    "make_ray_ppo",
    "require_ray",
    "split_slots",
]
