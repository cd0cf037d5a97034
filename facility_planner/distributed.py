"""The Dask runner: a state's districts and their chunks as tasks on a cluster.

By default a ``LocalCluster`` sized to the machine (one single-threaded worker process per core,
memory split evenly); ``scheduler="tcp://host:8786"`` (or ``DASK_SCHEDULER_ADDRESS``) uses an
existing cluster of many machines. The tasks are the functions of ``facility_planner.pipeline``,
the same ones the single-process path calls, so both give identical results.

Memory stays bounded by one district per worker: every task of a district is pinned to the
worker it was given, which takes no other district until that one's roll-up is back (work
stealing is off on the local cluster, so no task of another district lands there either); the
district's futures are then released. On an existing cluster (``--scheduler``) set
``distributed.scheduler.work-stealing: false`` there for the same bound. A worker that dies costs
its tasks only: Dask re-runs them on another worker (from the district's own load task when its
data died with the worker). A district whose chunk fails on bad data fails alone, with a plain
error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from facility_planner.errors import OptionalDependencyError
from facility_planner.pipeline import (
    DistrictResult,
    DistrictSource,
    RunOptions,
    failed,
    finish_district,
    load_source,
    measure_chunk,
    plan_district,
)

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


@dataclass
class Cluster:
    """A connected Dask client, the cluster it owns (None for an existing one) and what one
    worker may hold."""

    client: Any
    cluster: Any
    workers: int
    memory_limit: float | None

    @property
    def dashboard(self) -> str | None:
        """Link to the Dask dashboard, when it runs."""
        try:
            return str(self.client.dashboard_link)
        except Exception:  # noqa: BLE001 - no dashboard (bokeh missing): no link
            return None

    def close(self) -> None:
        """Disconnect; stop the cluster when this run started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def connect(*, workers: int | None = None, scheduler: str | None = None,
            memory_limit: str | float | None = None, dashboard: bool = True) -> Cluster:
    """A client on ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``), else on a new ``LocalCluster``
    of ``workers`` processes (default: one per core), each single-threaded with an equal share
    of the machine's memory (or ``memory_limit``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise OptionalDependencyError("the Dask runner needs dask.distributed: "
                                      "pip install 'dask[distributed]'") from err
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        client = Client(address)
        info = client.scheduler_info().get("workers", {})
        limits = [w.get("memory_limit") for w in info.values() if w.get("memory_limit")]
        return Cluster(client, None, max(len(info), 1), float(min(limits)) if limits else None)
    from facility_planner.pipeline import cpu_count

    n = workers or cpu_count()
    import dask

    # Work stealing off: a district stays on its worker. The workers' statistical profiler off: it
    # takes the GIL from the task every 10 ms to walk its stack (chunks ran 5-9% slower with it).
    with dask.config.set({"distributed.scheduler.work-stealing": False,
                          "distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               memory_limit=memory_limit if memory_limit is not None else "auto",
                               dashboard_address=":0" if dashboard else None)
    client = Client(cluster)
    info = client.scheduler_info().get("workers", {})
    limits = [w.get("memory_limit") for w in info.values() if w.get("memory_limit")]
    return Cluster(client, cluster, n, float(min(limits)) if limits else None)


class _Placement:
    """Which worker holds which district: at most one district per worker thread at a time.

    A district's tasks (load, plan, chunks, finish) run on the worker it was given, so a worker
    never holds two districts' data and chunk results at once; its peak is that of one district,
    however many districts the state has. At the end of a run, when no district is waiting, a
    worker with none of its own helps: it measures chunks of the district with the most chunks
    still to go (it then holds that one district, never two). The pin is loose: when the worker
    dies, Dask runs the district's tasks on any other worker (a killed worker costs its tasks only).
    """

    def __init__(self, client: Any, per_worker: int | None = None) -> None:
        self.client, self.per_worker = client, per_worker
        self.holding: dict[int, str] = {}  # district index -> worker address
        self.helping: dict[str, int] = {}  # worker address -> district index it measures chunks of

    def _free_slots(self) -> dict[str, int]:
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        if not workers and not self.holding:  # an existing cluster whose workers are still starting
            self.client.wait_for_workers(1)
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        taken = [*self.holding.values(), *self.helping]
        return {address: (self.per_worker or int(w.get("nthreads", 1) or 1)) - taken.count(address)
                for address, w in workers.items()}

    def free_worker(self) -> str | None:
        """A live worker with a free district slot (the least loaded), or None."""
        free = self._free_slots()
        best = max(sorted(free), key=lambda a: free[a], default=None)
        return best if best is not None and free[best] > 0 else None

    def idle_workers(self) -> list[str]:
        """Live workers that hold no district and help none."""
        return [a for a, slots in sorted(self._free_slots().items())
                if a not in self.holding.values() and a not in self.helping and slots > 0]


def _size_hint(source: DistrictSource) -> tuple[int, int]:
    """How big a district looks before it is read (schools of a synthetic one, bytes of its files):
    the largest start first, so the last district to finish is a small one."""
    files = [source.inventory, *source.maps] if source.inventory is not None else list(source.maps)
    size = 0
    for path in files:
        try:
            size += sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() \
                else path.stat().st_size
        except OSError:
            continue
    return (source.demo[0] if source.demo else 0, size)


def run_dask(sources: Sequence[DistrictSource], options: RunOptions, *, cluster: Cluster,
             progress: Any = None, per_worker: int | None = None) -> list[DistrictResult]:
    """Every district of ``sources`` on the cluster; results in the order of ``sources``.

    Each district runs on one worker (``per_worker`` districts at a time on each, default one
    per worker thread), so a worker's peak memory is that of one district; a district's data
    leaves the worker as soon as its roll-up is back. The largest districts start first; a
    district's chunks are handed to its worker one at a time, so that at the end of the run an
    idle worker can take some of them (``_Placement``). ``progress`` (a tqdm bar, optional) grows
    by each district's chunks as they are planned and advances by one per chunk measured.
    """
    return _StateRun(sources, options, cluster.client, progress, _Placement(cluster.client, per_worker)).run()


class _StateRun:
    """The driver's book-keeping of one ``run_dask``: districts waiting, their futures, results."""

    def __init__(self, sources: Sequence[DistrictSource], options: RunOptions, client: Any,
                 progress: Any, placement: _Placement) -> None:
        from distributed import as_completed

        self.sources, self.options, self.client, self.progress = sources, options, client, progress
        self.placement = placement
        self.queue = sorted(enumerate(sources), key=lambda item: _size_hint(item[1]), reverse=True)
        self.running: dict[Any, tuple[str, int, str]] = {}  # future -> (kind, district, worker)
        self.states: dict[int, dict[str, Any]] = {}
        self.results: dict[int, DistrictResult] = {}
        self.done = as_completed()

    def run(self) -> list[DistrictResult]:
        """Start districts, follow their futures to the end, and return the roll-ups in order."""
        self.start()
        for future in self.done:
            entry = self.running.pop(future, None)
            if entry is None:  # a future of a district already finished or failed
                continue
            kind, i, worker = entry
            if future.status == "error":
                self.finished(i, failed(self.sources[i].name, future.exception()))
            elif kind == "plan":
                self.planned(i, future.result())
            elif kind == "chunk":
                if self.progress is not None:
                    self.progress.update(1)
                self.feed(i, worker)
            else:
                self.finished(i, future.result())
        return [self.results[i] for i in range(len(self.sources))]

    def submit(self, func: Any, *args: Any, key: str, i: int, kind: str, worker: str, **kwargs: Any) -> Any:
        future = self.client.submit(func, *args, key=key, pure=False, workers=[worker],
                                    allow_other_workers=True, **kwargs)
        self.running[future] = (kind, i, worker)
        self.done.add(future)
        return future

    def start(self) -> None:
        """Give waiting districts to workers with a free slot; with none waiting, idle workers help."""
        while self.queue and (worker := self.placement.free_worker()) is not None:
            i, source = self.queue.pop(0)
            self.placement.holding[i] = worker
            loaded = self.client.submit(load_source, source, key=f"load-{i}-{source.name}", pure=False,
                                        workers=[worker], allow_other_workers=True)
            self.states[i] = {"loaded": loaded, "worker": worker, "pending": [], "parts": {}}
            self.submit(plan_district, loaded, self.options, key=f"plan-{i}-{source.name}", i=i, kind="plan",
                        worker=worker)
        if not self.queue:
            self.help_idle()

    def planned(self, i: int, chunks: list[Any]) -> None:
        state = self.states[i]
        state["pending"] = list(enumerate(chunks))
        if self.progress is not None:
            self.progress.total = (self.progress.total or 0) + len(chunks)
            self.progress.refresh()
        if not chunks:
            self.submit_finish(i)
        self.feed(i, state["worker"])
        if not self.queue:
            self.help_idle()

    def feed(self, i: int, worker: str) -> None:
        """Hand district ``i``'s next chunk to ``worker``, if one is left; the finish task once
        every chunk is handed out."""
        state = self.states.get(i)
        if state is None or not state["pending"]:
            return
        k, chunk = state["pending"].pop(0)
        name = self.sources[i].name
        state["parts"][k] = self.submit(measure_chunk, state["loaded"], chunk, self.options, index=k,
                                        key=f"chunk-{i}-{k}-{name}", i=i, kind="chunk", worker=worker)
        if not state["pending"]:
            self.submit_finish(i)

    def submit_finish(self, i: int) -> None:
        state = self.states[i]
        parts = [state["parts"][k] for k in sorted(state["parts"])]
        self.submit(finish_district, state["loaded"], *parts, options=self.options,
                    key=f"finish-{i}-{self.sources[i].name}", i=i, kind="finish", worker=state["worker"])

    def help_idle(self) -> None:
        """Each idle worker joins the district with the most chunks still to hand out (and holds
        it, as a second holder, until that district is finished)."""
        for worker in self.placement.idle_workers():
            waiting = [(len(st["pending"]), i) for i, st in self.states.items() if st["pending"]]
            if not waiting:
                return
            _, i = max(waiting)
            self.placement.helping[worker] = i
            self.feed(i, worker)

    def finished(self, i: int, result: DistrictResult) -> None:
        self.results[i] = result
        _forget(self.running, i)
        state = self.states.pop(i, None)
        if state is not None:
            state["loaded"].cancel()
        self.placement.holding.pop(i, None)
        for worker in [w for w, d in self.placement.helping.items() if d == i]:
            self.placement.helping.pop(worker)
        self.start()


def _forget(running: dict[Any, tuple[str, int, str]], district: int) -> None:
    """Drop every future of a district (its data leaves the workers)."""
    for future in [f for f, (_, i, _) in running.items() if i == district]:
        running.pop(future)
        future.cancel()
