"""What every pool of Ray workers does about faults: deadlines, restarts, one error type.

:class:`RayVecEnv <agents.distributed.RayVecEnv>` and :class:`RolloutWorkers
<agents.distributed.RolloutWorkers>` (hence ``RayGRPO`` and ``RayPPO``) hold their workers
through :class:`WorkerPool`:

* every call to a worker is awaited at most ``worker_timeout_s`` seconds; a worker that does
  not answer by then is killed (:mod:`agents.distributed.faults`). A new worker is first
  awaited until it has started, for ``max(worker_timeout_s, START_TIMEOUT_S)``;
* a worker that died or was killed is restarted at the start of the pool's next batch (a
  reset, a rollout), whether it failed in a call or in between (:meth:`WorkerPool._restart_dead`);
* within a call that can be repeated whole (a reset, a rollout), a worker that dies or hangs is
  restarted and called again, up to ``max_restarts`` times per call;
* whatever cannot be repeated comes out as one :class:`~agents.distributed.errors.WorkerError`
  naming the worker, its slots and the cause, after every other call of the batch has finished,
  so no call runs on into the next batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from agents.distributed.faults import START_TIMEOUT_S, Calls, Fault, fault_error, kill


class WorkerPool:
    """Fault handling over ``workers`` (Ray actor handles), worker j holding slots ``bounds[j]``.

    The class using it sets ``workers``, ``bounds``, ``worker_timeout_s`` and ``max_restarts``,
    calls :meth:`_init_pool` once the workers are started, and defines :meth:`_who` and
    :meth:`_start_fresh`.

    Attributes:
        restarts: Workers restarted so far.
    """

    workers: list[Any]
    bounds: list[tuple[int, int]]
    worker_timeout_s: float
    max_restarts: int

    def _init_pool(self) -> None:
        self.restarts = 0
        self._dead: set[int] = set()  # died or killed: restart before the next batch
        self._started: set[int] = set()  # have answered a call: only calls are timed from now on

    def _who(self, j: int) -> str:
        """Worker ``j`` named for an error message (its index and slots at least)."""
        raise NotImplementedError

    def _start_fresh(self, j: int) -> Any:
        """A new actor for worker ``j``'s slots, with fresh seeds (not its old ones: no replayed episodes)."""
        raise NotImplementedError

    def _restart(self, j: int) -> None:
        """Kill worker ``j`` (if it still runs) and put a fresh actor in its place."""
        kill(self.workers[j])
        self.workers[j] = self._start_fresh(j)
        self._started.discard(j)
        self.restarts += 1

    def _restart_dead(self) -> None:
        """Restart every worker that died, was killed or hangs, whenever that happened (not counted in max_restarts)."""
        _, faults = self._run(lambda j: self.workers[j].ping.remote(), repeat=False)
        for j in sorted(self._dead | set(faults)):
            self._restart(j)
        self._dead.clear()

    def _run(
        self, call: Callable[[int], Any], workers: Iterable[int] | None = None, repeat: bool = True
    ) -> tuple[dict[int, Any], dict[int, Fault]]:
        """Every listed worker's ``call(j)`` (a Ray object ref), each awaited ``worker_timeout_s`` at most.

        A worker that has not answered yet since it was started is pinged first, with the
        start's allowance (:data:`~agents.distributed.faults.START_TIMEOUT_S`). A worker that
        hangs is killed. One that died or hung is restarted and called again (when ``repeat``,
        up to ``max_restarts`` times in this run), or else left for the next
        :meth:`_restart_dead`. An exception raised in the worker is never repeated: it is news
        for the user, and it would most likely be raised again. Returns once every call has
        finished or been given up.

        Returns:
            The results and the faults, by worker.
        """
        calls = Calls()
        starting: set[int] = set()

        def submit(j: int) -> None:
            if j in self._started:
                calls.add(j, call(j), self.worker_timeout_s)
            else:
                starting.add(j)
                calls.add(j, self.workers[j].ping.remote(), max(self.worker_timeout_s, START_TIMEOUT_S))

        for j in range(len(self.workers)) if workers is None else workers:
            submit(j)
        results: dict[int, Any] = {}
        faults: dict[int, Fault] = {}
        tries: dict[int, int] = {}
        while calls:
            j, value, fault = calls.next()
            if fault is None:
                self._started.add(j)
                if j in starting:
                    starting.discard(j)
                    submit(j)
                else:
                    results[j] = value
                continue
            if j in starting:
                starting.discard(j)
                fault = dataclasses.replace(fault, starting=True)
            if fault.kind == "timed out":
                kill(self.workers[j])  # a stopped process would keep its CPU and answer some later call
            if fault.kind != "raised":
                if repeat and tries.get(j, 0) < self.max_restarts:
                    tries[j] = tries.get(j, 0) + 1
                    self._restart(j)
                    submit(j)
                    continue
                self._dead.add(j)
            faults[j] = dataclasses.replace(fault, restarts=tries.get(j, 0))
        return results, faults

    def _raise(self, faults: dict[int, Fault], what: str, then: str) -> NoReturn:
        """Raise the :class:`WorkerError` of the lowest-numbered failed worker, chained to Ray's or the env's error.

        Raises:
            WorkerError: Always.
        """
        j = min(faults)
        start, stop = self.bounds[j]
        fault = faults[j]
        raise fault_error(fault, j, range(start, stop), self._who(j), what, then) from fault.error
