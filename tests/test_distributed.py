"""The Dask runner: identical to the single-process path, survives a killed worker."""

from __future__ import annotations

import os
import signal
from datetime import date

import pytest

from facility_planner.assess import load_settings
from facility_planner.distributed import connect, run_dask
from facility_planner.pipeline import DistrictSource, RunOptions, run_local

AS_OF = date(2025, 9, 1)
SOURCES = [DistrictSource("city", demo=(10, 3, "city")), DistrictSource("farms", demo=(4, 4, "rural"))]


@pytest.fixture(scope="module")
def cluster():
    c = connect(workers=2, memory_limit="2GB", dashboard=False)
    yield c
    c.close()


@pytest.fixture(scope="module")
def options():
    return RunOptions(settings=load_settings(), as_of=AS_OF, budget=[1.5e6], chunk_buildings=8)


@pytest.fixture(scope="module")
def reference(options):
    return run_local(SOURCES, options)


def figures(results) -> list[dict]:
    """Roll-up rows without the wall time: statuses, coverage means, chosen projects, objective."""
    return [{k: v for k, v in r.row.items() if not k.endswith("seconds")} for r in results]


def test_dask_gives_the_single_process_figures(cluster, options, reference):
    assert all(r.error is None for r in reference)
    assert reference[0].row["projects_chosen"] > 0
    results = run_dask(SOURCES, options, cluster=cluster)
    assert figures(results) == figures(reference)
    for a, b in zip(results, reference, strict=True):
        assert a.projects.equals(b.projects)


class _KillOnce:
    """A progress bar whose first chunk done kills one worker process (mid-run)."""

    def __init__(self, cluster) -> None:
        self.cluster, self.total, self.killed, self.done = cluster, 0, None, 0

    def refresh(self) -> None:
        pass

    def update(self, n: int) -> None:
        self.done += n
        if self.killed is None:
            pids = self.cluster.client.run(os.getpid)
            address, pid = sorted(pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            self.killed = address


def test_a_killed_worker_costs_nothing(cluster, options, reference):
    bar = _KillOnce(cluster)
    results = run_dask(SOURCES, options, cluster=cluster, progress=bar)
    assert bar.killed is not None and bar.done >= 1
    assert figures(results) == figures(reference)
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_district_that_cannot_load_fails_alone(cluster, options, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "inventory.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    sources = [DistrictSource("bad", inventory=bad / "inventory.xlsx"), SOURCES[1]]
    results = run_dask(sources, options, cluster=cluster)
    assert results[0].row["status"] == "failed" and "Traceback" not in results[0].error
    assert results[1].error is None and results[1].row["buildings"] > 0


def test_the_memory_check_runs_before_the_heavy_work(cluster, options):
    from dataclasses import replace

    tiny = replace(options, memory_limit=64 * 2**20)
    (result,) = run_dask([SOURCES[1]], tiny, cluster=cluster)
    assert result.row["status"] == "failed" and "need about" in result.error


def _spans(stream) -> dict[tuple[str, str], tuple[float, float]]:
    """(worker, district) -> when the first and last of that district's tasks there ran."""
    spans: dict[tuple[str, str], tuple[float, float]] = {}
    for task in stream.data:
        key = (task["worker"], task["key"].split("-")[1])
        start = min(s["start"] for s in task["startstops"])
        stop = max(s["stop"] for s in task["startstops"])
        first, last = spans.get(key, (start, stop))
        spans[key] = (min(first, start), max(last, stop))
    return spans


def test_a_worker_holds_one_district_at_a_time(cluster, options):
    """A worker starts no district (and helps none) before its previous one is finished: its
    peak memory is one district's, however many the state has."""
    from distributed import get_task_stream

    assert "stealing" not in cluster.cluster.scheduler.extensions
    sources = [DistrictSource(f"d{i}", demo=(3, 10 + i, "city")) for i in range(5)]
    with get_task_stream(client=cluster.client) as stream:
        results = run_dask(sources, options, cluster=cluster)
    assert all(r.error is None for r in results)
    spans = _spans(stream)
    assert {d for _, d in spans} == {str(i) for i in range(5)} and len({w for w, _ in spans}) == 2
    for worker in {w for w, _ in spans}:
        held = sorted(span for (w, _), span in spans.items() if w == worker)
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(held, held[1:], strict=False)), held


def test_an_idle_worker_helps_with_the_last_district(cluster, options):
    """With no district left to start, a worker measures chunks of another worker's district;
    the figures are those of the single-process run."""
    from distributed import get_task_stream

    source = [DistrictSource("big", demo=(12, 21, "city"))]
    with get_task_stream(client=cluster.client) as stream:
        (result,) = run_dask(source, options, cluster=cluster)
    chunk_workers = {t["worker"] for t in stream.data if t["key"].startswith("chunk-")}
    assert result.row["chunks"] >= 4 and len(chunk_workers) == 2
    assert figures([result]) == figures(run_local(source, options))


def test_dask_workers_save_their_districts_to_the_store(cluster, options, reference, store_url):
    """Each worker saves the district it finished (SQLite from two processes, or PostGIS), as
    the user and role taken on the driver; the figures are those of the run without a store."""
    from dataclasses import replace

    from facility_planner.store import open_store

    saving = replace(options, store=store_url, saved_by=("planner@example.org", "planner"))
    results = run_dask(SOURCES, saving, cluster=cluster)
    with open_store(store_url, readonly=True) as s:
        infos = {i.id: i for i in s.snapshots()}
        rollup = s.rollup(level="state", snapshot_ids=list(infos))
    assert len(infos) == len(SOURCES)
    for r in results:
        info = infos[r.row.pop("snapshot_id")]
        assert (info.district, info.user, info.role) == (r.name, "planner@example.org", "planner")
    assert figures(results) == figures(reference)
    assert int(rollup["buildings"].iat[0]) == sum(r.row["buildings"] for r in results)
