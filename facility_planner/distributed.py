"""The Dask runner: a state's districts and their chunks as tasks on a cluster.

By default a ``LocalCluster`` sized to the machine (one single-threaded worker process per core,
memory split evenly); ``scheduler="tcp://host:8786"`` (or ``DASK_SCHEDULER_ADDRESS``) uses an
existing cluster of many machines. The tasks are the functions of ``facility_planner.pipeline``,
the same ones the single-process path calls, so both give identical results.

Memory stays bounded: at most ``in_flight`` districts are loaded at once (two per worker by
default); a district's futures are released as soon as its roll-up is back. A worker that dies
costs its tasks only: Dask re-runs them (from the district's own load task when its data died
with the worker). A district whose chunk fails on bad data fails alone, with a plain error.
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
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           memory_limit=memory_limit if memory_limit is not None else "auto",
                           dashboard_address=":0" if dashboard else None)
    client = Client(cluster)
    info = client.scheduler_info().get("workers", {})
    limits = [w.get("memory_limit") for w in info.values() if w.get("memory_limit")]
    return Cluster(client, cluster, n, float(min(limits)) if limits else None)


def run_dask(sources: Sequence[DistrictSource], options: RunOptions, *, cluster: Cluster,
             progress: Any = None, in_flight: int | None = None) -> list[DistrictResult]:
    """Every district of ``sources`` on the cluster; results in the order of ``sources``.

    ``progress`` (a tqdm bar, optional) grows by each district's chunks as they are planned and
    advances by one per chunk measured.
    """
    from distributed import as_completed

    client = cluster.client
    limit = in_flight or 2 * cluster.workers
    queue = list(enumerate(sources))
    running: dict[Any, tuple[str, int, dict[str, Any]]] = {}
    results: dict[int, DistrictResult] = {}
    done = as_completed()

    def start() -> None:
        while queue and len({i for _, i, _ in running.values()}) < limit:
            i, source = queue.pop(0)
            loaded = client.submit(load_source, source, key=f"load-{i}-{source.name}", pure=False)
            plan = client.submit(plan_district, loaded, options, key=f"plan-{i}-{source.name}", pure=False)
            running[plan] = ("plan", i, {"source": source, "loaded": loaded})
            done.add(plan)

    start()
    for future in done:
        entry = running.pop(future, None)
        if entry is None:  # a future of a district already finished or failed
            continue
        kind, i, state = entry
        name = state["source"].name
        if future.status == "error":
            if kind != "chunk":
                results[i] = failed(name, future.exception())
                _forget(running, i)
            start()
            continue
        if kind == "plan":
            chunks = future.result()
            parts = [client.submit(measure_chunk, state["loaded"], chunk, options, index=k,
                                   key=f"chunk-{i}-{k}-{name}", pure=False) for k, chunk in enumerate(chunks)]
            finish = client.submit(finish_district, state["loaded"], *parts, options=options,
                                   key=f"finish-{i}-{name}", pure=False)
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
            results[i] = future.result()
            _forget(running, i)
            start()
    return [results[i] for i in range(len(sources))]


def _forget(running: dict[Any, tuple[str, int, dict[str, Any]]], district: int) -> None:
    """Drop every future of a district (its data leaves the workers)."""
    for future in [f for f, (_, i, _) in running.items() if i == district]:
        running.pop(future)
        future.cancel()
