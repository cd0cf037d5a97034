"""A state run with a store: each district's snapshot is saved as that district finishes (never all
held), on SQLite and PostGIS, and the state roll-up is the store's own (``history rollup``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import facility_planner.pipeline as pipeline
from facility_planner.cli import main
from facility_planner.demo import write_demo_data
from facility_planner.store import open_store


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    write_demo_data(folder / "north", schools=3, seed=1, fmt="csv", layout="city")
    write_demo_data(folder / "south", schools=2, seed=2, fmt="csv")
    return folder


def test_each_district_is_saved_as_it_finishes(state, store_url, tmp_path, monkeypatch, capsys):
    saved_before_load: list[int] = []
    real_load = pipeline.load_source

    def load(source):  # what the store holds when the next district starts loading
        with open_store(store_url) as s:
            saved_before_load.append(len(s.snapshots()))
        return real_load(source)

    monkeypatch.setattr(pipeline, "load_source", load)
    out = tmp_path / "out"
    code = main(["assess-state", str(state), "--out", str(out), "--workers", "1", "--budget", "300000",
                 "--as-of", "2025-09-01", "--save", "--store", store_url])
    printed = capsys.readouterr().out
    assert code == 0 and "saved 2 snapshot(s) to the store" in printed
    assert saved_before_load == [0, 1]  # north was in the store before south was read
    with open_store(store_url, readonly=True) as s:
        infos = {i.district: i for i in s.snapshots()}
    assert sorted(infos) == ["north", "south"]
    summary = json.loads((out / "state.json").read_text())
    rows = {d["district"]: d for d in summary["districts"]}
    for name, info in infos.items():
        district_summary = json.loads((out / "districts" / name / "summary.json").read_text())
        assert district_summary["snapshot"]["id"] == info.id == rows[name]["snapshot_id"]
        assert info.buildings == rows[name]["buildings"]
    # the state roll-up comes from the store: the same figures `history rollup` prints
    for level in ("district", "state"):
        assert main(["history", "rollup", "--store", store_url, "--level", level, "--json"]) == 0
        history = json.loads(capsys.readouterr().out)
        stored = summary["store_rollup"][level]
        assert [r["buildings"] for r in stored] == [r["buildings"] for r in history]
        assert [r["score_mean"] for r in stored] == pytest.approx([r["score_mean"] for r in history])
        assert [r["risk_total"] for r in stored] == pytest.approx([r["risk_total"] for r in history])
    assert summary["store_rollup"]["state"][0]["buildings"] == sum(r["buildings"] for r in rows.values())
    import openpyxl

    wb = openpyxl.load_workbook(out / "state.xlsx", read_only=True)
    assert {"Store roll-up, district", "Store roll-up, state"} <= set(wb.sheetnames)
