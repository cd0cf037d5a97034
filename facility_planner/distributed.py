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

    with dask.config.set({"distributed.scheduler.work-stealing": False}):  # a district stays on its worker
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               memory_limit=memory_limit if memory_limit is not None else "auto",
                               dashboard_address=":0" if dashboard else None)
    client = Client(cluster)
    info = client.scheduler_info().get("workers", {})
    limits = [w.get("memory_limit") for w in info.values() if w.get("memory_limit")]
    return Cluster(client, cluster, n, float(min(limits)) if limits else None)


class _Placement:
    """Which worker holds which district: at most one district per worker thread at a time.

    A district's tasks (load, plan, chunks, finish) are all pinned to the worker it was given, so
    a worker never holds two districts' data and chunk results at once; its peak is that of one
    district, however many districts the state has. The pin is loose: when the worker dies, Dask
    runs the district's tasks on any other worker (a killed worker costs its tasks only).
    """

    def __init__(self, client: Any, per_worker: int | None = None) -> None:
        self.client, self.per_worker = client, per_worker
        self.holding: dict[int, str] = {}  # district index -> worker address

    def free_worker(self) -> str | None:
        """A live worker with a free district slot (the least loaded), or None."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        if not workers and not self.holding:  # an existing cluster whose workers are still starting
            self.client.wait_for_workers(1)
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        taken = list(self.holding.values())
        free = {address: (self.per_worker or int(w.get("nthreads", 1) or 1)) - taken.count(address)
                for address, w in workers.items()}
        best = max(sorted(free), key=lambda a: free[a], default=None)
        return best if best is not None and free[best] > 0 else None


def run_dask(sources: Sequence[DistrictSource], options: RunOptions, *, cluster: Cluster,
             progress: Any = None, per_worker: int | None = None) -> list[DistrictResult]:
    """Every district of ``sources`` on the cluster; results in the order of ``sources``.

    Each district runs on one worker (``per_worker`` districts at a time on each, default one
    per worker thread), so a worker's peak memory is that of one district; a district's data
    leaves the worker as soon as its roll-up is back. ``progress`` (a tqdm bar, optional) grows
    by each district's chunks as they are planned and advances by one per chunk measured.
    """
    from distributed import as_completed

    client = cluster.client
    placement = _Placement(client, per_worker)
    queue = list(enumerate(sources))
    running: dict[Any, tuple[str, int, dict[str, Any]]] = {}
    results: dict[int, DistrictResult] = {}
    done = as_completed()

    def submit(func: Any, *args: Any, key: str, state: dict[str, Any], **kwargs: Any) -> Any:
        return client.submit(func, *args, key=key, pure=False, workers=[state["worker"]],
                             allow_other_workers=True, **kwargs)

    def start() -> None:
        while queue and (worker := placement.free_worker()) is not None:
            i, source = queue.pop(0)
            placement.holding[i] = worker
            state: dict[str, Any] = {"source": source, "worker": worker}
            state["loaded"] = submit(load_source, source, key=f"load-{i}-{source.name}", state=state)
            plan = submit(plan_district, state["loaded"], options, key=f"plan-{i}-{source.name}", state=state)
            running[plan] = ("plan", i, state)
            done.add(plan)

    def finished(i: int, result: DistrictResult) -> None:
        results[i] = result
        _forget(running, i)
        placement.holding.pop(i, None)
        start()

    start()
    for future in done:
        entry = running.pop(future, None)
        if entry is None:  # a future of a district already finished or failed
            continue
        kind, i, state = entry
        name = state["source"].name
        if future.status == "error":
            if kind != "chunk":  # a failed chunk fails its district's finish task, reported there
                finished(i, failed(name, future.exception()))
            continue
        if kind == "plan":
            chunks = future.result()
            parts = [submit(measure_chunk, state["loaded"], chunk, options, index=k,
                            key=f"chunk-{i}-{k}-{name}", state=state) for k, chunk in enumerate(chunks)]
            finish = submit(finish_district, state["loaded"], *parts, options=options,
                            key=f"finish-{i}-{name}", state=state)
            if progress is not None:
                progress.total = (progress.total or 0) + len(parts)
                progress.refresh()
            for part in parts:
                running[part] = ("chunk", i, state)
                done.add(part)
            running[finish] = ("finish", i, state)
            done.add(finish)
        elif kind == "chunk":
            if progress is not None:
                progress.update(1)
        else:
            finished(i, future.result())
    return [results[i] for i in range(len(sources))]


def _forget(running: dict[Any, tuple[str, int, dict[str, Any]]], district: int) -> None:
    """Drop every future of a district (its data leaves the workers)."""
    for future in [f for f, (_, i, _) in running.items() if i == district]:
        running.pop(future)
        future.cancel()
