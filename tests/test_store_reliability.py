"""The store under failure: kill -9 during a save, two processes saving at once, and every way a
store can be unusable (database down, wrong password, read-only file, disk full, newer schema):
one plain sentence, exit 1, and the assessment's files still written."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from facility_planner.cli import main
from facility_planner.store import open_store
from facility_planner.store import schema as t
from tests.conftest import SAMPLE_SITES

ROOT = Path(__file__).resolve().parent.parent

#: A driver process: reads the sample assessment (pickled by the test), then on each line of
#: input forks a child that saves it again and again (printing "saved ID" after each), and prints
#: the child's pid; the test kills children with SIGKILL at random moments.
DRIVER = textwrap.dedent("""
    import dataclasses, os, pickle, sys
    from facility_planner.geo import load_coverage_config
    from facility_planner.store import open_store
    with open({pickled!r}, "rb") as f:
        assessment = pickle.load(f)
    config = load_coverage_config()
    assessment = dataclasses.replace(
        assessment, settings=dataclasses.replace(assessment.settings, coverage=config),
        coverage=dataclasses.replace(assessment.coverage, config=config))
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        count = int(line)
        pid = os.fork()
        if pid == 0:
            with open_store({url!r}) as store:
                for _ in range(count):
                    info = store.save(assessment, user="kill@test", role="planner")
                    print(f"saved {{info.id}}", flush=True)
            os._exit(0)
        print(f"child {{pid}}", flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
""")


@pytest.fixture(scope="module")
def pickled_sample(sample_assessment, tmp_path_factory) -> Path:
    """The sample assessment pickled for driver processes (the coverage configuration, whose
    generic pydantic types do not pickle, is the shipped default and is re-read there)."""
    import dataclasses
    import pickle

    a = sample_assessment
    plain = dataclasses.replace(a, settings=dataclasses.replace(a.settings, coverage=None),
                                coverage=dataclasses.replace(a.coverage, config=None))
    path = tmp_path_factory.mktemp("pickled") / "assessment.pickle"
    path.write_bytes(pickle.dumps(plain))
    return path


def _driver(url: str, pickled: Path) -> subprocess.Popen[str]:
    code = DRIVER.format(pickled=str(pickled), url=url)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _parts(store, sid: int) -> tuple[int, int, int]:
    """How many building rows, bulk tables and map features snapshot ``sid`` has."""
    with store._engine.connect() as conn:
        def count(table: sa.Table) -> int:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.snapshot_id == sid)).scalar_one())
        return count(t.snapshot_buildings), count(t.snapshot_tables), count(t.snapshot_features)


def _expected_parts(url: str, sid: int) -> tuple[int, int, int]:
    with open_store(url) as store:
        return _parts(store, sid)


def _check_intact(url: str, expected: tuple[int, int, int], sample_assessment, *, load_all: bool) -> list[int]:
    """The store opens, every listed snapshot is whole, and (the last or every) one loads."""
    with open_store(url) as store:
        ids = [i.id for i in store.snapshots()]
        for sid in ids:
            assert _parts(store, sid) == expected, f"snapshot {sid} is incomplete"
        for sid in ids if load_all else ids[-1:]:
            snap = store.load(sid, layers=False)
            assert len(snap.results) == len(sample_assessment.scores.results)
            assert len(snap.buildings) == len(sample_assessment.district.buildings)
    return ids


def _kill_during_saves(url: str, sample_assessment, pickled: Path, *, kills: int) -> None:
    proc = _driver(url, pickled)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("1\n")
    proc.stdin.flush()
    lines = [proc.stdout.readline().strip() for _ in range(3)]
    first = int(next(x for x in lines if x.startswith("saved")).split()[1])
    expected = _expected_parts(url, first)
    confirmed = {first}
    rng = random.Random(9)
    try:
        for _ in range(kills):
            proc.stdin.write("1000\n")
            proc.stdin.flush()
            pid = int(proc.stdout.readline().split()[1])
            time.sleep(rng.uniform(0.2, 1.2))
            os.kill(pid, signal.SIGKILL)
            while (line := proc.stdout.readline().strip()) != "reaped":
                if line.startswith("saved"):
                    confirmed.add(int(line.split()[1]))
            ids = _check_intact(url, expected, sample_assessment, load_all=False)
            assert confirmed <= set(ids), "a save reported done was lost"
            assert len(ids) <= len(confirmed) + 1  # at most the one in flight also committed
            confirmed = set(ids)
    finally:
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
    _check_intact(url, expected, sample_assessment, load_all=True)


def test_kill_9_during_save_leaves_no_half_snapshot(store_url, sample_assessment, pickled_sample):
    _kill_during_saves(store_url, sample_assessment, pickled_sample, kills=3)


@pytest.mark.slow
def test_kill_9_during_save_100_times(store_url, sample_assessment, pickled_sample):
    _kill_during_saves(store_url, sample_assessment, pickled_sample, kills=100)


def test_two_processes_saving_at_once_both_land(store_url, sample_assessment, pickled_sample):
    open_store(store_url).close()  # created once; both savers find it ready
    drivers = [_driver(store_url, pickled_sample) for _ in range(2)]
    for proc in drivers:
        proc.stdin.write("3\n")
        proc.stdin.flush()
    saved: list[int] = []
    for proc in drivers:
        while (line := proc.stdout.readline().strip()) != "reaped":
            if line.startswith("saved"):
                saved.append(int(line.split()[1]))
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    assert len(saved) == len(set(saved)) == 6
    with open_store(store_url) as store:
        assert sorted(i.id for i in store.snapshots()) == sorted(saved)
        assert len(store.audit_events(action="save")) == 6
    expected = _expected_parts(store_url, saved[0])
    _check_intact(store_url, expected, sample_assessment, load_all=True)


# -- unusable stores: one sentence, exit 1, files written ----------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _assess_to(store: str, out: Path, sample_assessment, monkeypatch, capsys) -> tuple[int, str]:
    import facility_planner.assess as assess_module

    monkeypatch.setattr(assess_module, "assess", lambda *a, **k: sample_assessment)
    code = main(["assess", str(SAMPLE_SITES / "inventory.xlsx"), "--map", str(SAMPLE_SITES / "campus.gpkg"),
                 "--out", str(out), "--save", "--store", store])
    return code, capsys.readouterr().err


def _one_sentence(err: str, *words: str) -> None:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and err.rstrip().endswith("."), err
    for word in words:
        assert word in err.lower(), err


def _files_written(out: Path) -> None:
    for name in ("assessment.xlsx", "coverage.gpkg", "map.html", "projects.csv", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    assert "snapshot" not in json.loads((out / "summary.json").read_text())


def test_database_down(tmp_path, sample_assessment, monkeypatch, capsys):
    url = f"postgresql://planner:secret@127.0.0.1:{_free_port()}/facility_planner"
    code, err = _assess_to(url, tmp_path, sample_assessment, monkeypatch, capsys)
    assert code == 1
    _one_sentence(err, "not answering")
    assert "secret" not in err
    _files_written(tmp_path)


def test_wrong_password(postgres_server, tmp_path, sample_assessment, monkeypatch, capsys):
    url = sa.make_url(postgres_server).set(password="not-the-password")
    code, err = _assess_to(url.render_as_string(hide_password=False), tmp_path, sample_assessment,
                           monkeypatch, capsys)
    assert code == 1
    _one_sentence(err, "refused the user name or password")
    assert "not-the-password" not in err
    _files_written(tmp_path)


def test_read_only_file(tmp_path, sample_assessment, monkeypatch, capsys):
    path = tmp_path / "store.sqlite"
    open_store(path).close()
    path.chmod(0o444)
    immutable = os.geteuid() == 0  # root writes through file modes: make the file immutable instead
    if immutable:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        code, err = _assess_to(str(path), tmp_path / "out", sample_assessment, monkeypatch, capsys)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    assert code == 1
    _one_sentence(err, "read-only")
    _files_written(tmp_path / "out")


def test_disk_full(tmp_path, sample_assessment, monkeypatch, capsys):
    from facility_planner.store import engine

    path = tmp_path / "store.sqlite"
    with open_store(path) as s, s._engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    # A disk that fills up a few pages in: SQLite's own limit on the file's size.
    monkeypatch.setitem(engine.SQLITE_PRAGMAS, "max_page_count", pages + 4)
    code, err = _assess_to(str(path), tmp_path / "out", sample_assessment, monkeypatch, capsys)
    assert code == 1
    _one_sentence(err, "full")
    _files_written(tmp_path / "out")
    monkeypatch.delitem(engine.SQLITE_PRAGMAS, "max_page_count")
    with open_store(path) as s:
        assert s.snapshots() == []


def test_newer_schema(store_url, tmp_path, sample_assessment, monkeypatch, capsys):
    from facility_planner.store.engine import make_engine

    open_store(store_url).close()
    eng = make_engine(store_url, readonly=False)[0]
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    eng.dispose()
    code, err = _assess_to(store_url, tmp_path, sample_assessment, monkeypatch, capsys)
    assert code == 1
    _one_sentence(err, "newer version", "upgrade facility-planner")
    _files_written(tmp_path)
    assert main(["history", "list", "--store", store_url]) == 1
    _one_sentence(capsys.readouterr().err, "newer version")
