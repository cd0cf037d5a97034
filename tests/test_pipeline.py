"""A state run chunk by chunk: same figures as one whole assessment, bounded chunks, plain errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from facility_planner.assess import assess, load_settings, summary_dict
from facility_planner.cli import main
from facility_planner.demo import demo_district, write_demo_data
from facility_planner.errors import CapacityError, InputError
from facility_planner.geo.coverage import _site_chunks, site_chunks
from facility_planner.pipeline import (
    DistrictSource,
    RunOptions,
    assess_chunked,
    check_fits,
    find_districts,
    load_source,
    measure_chunk,
    plan_district,
    run_local,
    state_portfolio,
)

AS_OF = date(2025, 9, 1)


@pytest.fixture(scope="module")
def settings():
    return load_settings()


def comparable(summary: dict) -> dict:
    """summary.json without what depends on the clock."""
    out = {k: v for k, v in summary.items() if k != "timings_s"}
    out["budget"] = {k: v for k, v in summary["budget"].items() if k != "seconds"}
    return out


def test_city_district_chunked_equals_unchunked(settings):
    """Statuses, coverage, chosen projects and objective: the same in 20 chunks as in one."""
    loaded = load_source(DistrictSource("city", demo=(40, 3, "city")))
    options = RunOptions(settings=settings, as_of=AS_OF, budget=[2e6], chunk_buildings=6)
    chunks = plan_district(loaded, options)
    assert len(chunks) > 10 and sum(len(c.halo) for c in chunks) > 0
    parts = [measure_chunk(loaded, chunk, options, index=i) for i, chunk in enumerate(chunks)]
    chunked = summary_dict(assess_chunked(loaded, parts, options))
    whole = summary_dict(assess(loaded.district, loaded.report, settings=settings, budget=[2e6], as_of=AS_OF))
    assert comparable(chunked) == comparable(whole)
    assert chunked["budget"]["objective"] > 0 and any(p["selected"] for p in chunked["projects"])


def test_chunks_stay_bounded_however_dense_the_city():
    """800 schools in 30 km x 30 km, shared campuses, a pile on one address: no chunk's own sites
    pass the limit, and a halo holds only sites within reach of the chunk's own."""
    district = demo_district(400, seed=2, layout="city").to_district()
    per_site = district.buildings["site_id"].value_counts()
    chunks = site_chunks(district, chunk_buildings=200)
    assert len(chunks) >= len(district.buildings) // 200
    assert sorted(s for c in chunks for s in c.sites) == sorted(district.sites["site_id"])
    for chunk in chunks:
        assert per_site[chunk.sites].sum() <= 200 + per_site.max()
        assert len(chunk.halo) <= 60  # neighbours only, never a transitive closure of the city
    # the old "within reach of each other" closure: the pile and the blocks link up far more
    assert max(len(c.halo) for c in chunks) > 0


def test_halo_sites_are_measured_but_not_reported():
    district = demo_district(30, seed=5, layout="city").to_district()
    chunks = _site_chunks(district, 10, reach_m=60.0)
    with_halo = next(c for c in chunks if c.halo)
    from facility_planner.geo.coverage import chunk_coverage

    cov = chunk_coverage(district, with_halo, config=load_settings().coverage, as_of=AS_OF)
    b_sites = district.buildings.set_index("building_id")["site_id"]
    assert set(b_sites.loc[cov.facts.values.index]) <= set(with_halo.sites)
    for layer in cov.layers.values():
        assert set(layer["site_id"].dropna()) <= set(with_halo.sites)


def test_capacity_error_is_plain_and_early():
    with pytest.raises(CapacityError, match=r"2,000,000 inventory rows need about 6\.3 GB.*--workers"):
        check_fits("Big ISD", 2_000_000, 1.5 * 2**30)
    check_fits("Small ISD", 10_000, 1.5 * 2**30)


def test_a_failing_district_fails_alone(settings, monkeypatch, tmp_path):
    """A chunk that fails on bad data fails its district with a plain error; the others finish."""
    import facility_planner.geo.coverage as coverage

    real = coverage.chunk_coverage

    def broken(district, chunk, **kw):
        if district.sites["district"].iloc[0] == "bad":
            raise ValueError("invalid polygon ring")
        return real(district, chunk, **kw)

    monkeypatch.setattr(coverage, "chunk_coverage", broken)
    options = RunOptions(settings=settings, as_of=AS_OF, memory_limit=8 * 2**30)
    results = run_local([DistrictSource("good", demo=(3, 1, "mixed")), DistrictSource("bad", demo=(3, 2, "mixed"))],
                        options)
    assert results[0].error is None and results[0].row["status"] == "assessed"
    assert results[1].row["status"] == "failed"
    assert "bad" in results[1].error and "could not be measured" in results[1].error
    assert "invalid polygon ring" in results[1].error and "Traceback" not in results[1].error


def test_district_too_big_for_a_worker_fails_with_advice(settings):
    options = RunOptions(settings=settings, as_of=AS_OF, memory_limit=100 * 2**20)
    (result,) = run_local([DistrictSource("huge", demo=(2, 1, "mixed"))], options)
    assert result.row["status"] == "failed" and "split the district" in result.error
    assert "need about" in result.error and "--workers" in result.error


def test_state_folder_runs_each_district_with_its_own_report(tmp_path: Path, capsys):
    state = tmp_path / "state"
    write_demo_data(state / "north", schools=3, seed=1, fmt="csv", layout="city")
    write_demo_data(state / "south", schools=2, seed=2, fmt="xlsx")
    (state / "empty").mkdir(parents=True)
    with pytest.raises(InputError, match="empty.*no inventory"):
        find_districts(state)
    (state / "empty" / "inventory.xlsx").write_bytes(b"not a workbook")
    sources = find_districts(state)
    assert [s.name for s in sources] == ["empty", "north", "south"]
    assert sources[1].maps and sources[1].maps[0].name == "campus.gpkg"
    out = tmp_path / "out"
    code = main(["assess-state", str(state), "--out", str(out), "--workers", "1", "--budget", "300000",
                 "--state-budget", "500000", "--as-of", "2025-09-01"])
    captured = capsys.readouterr()
    assert code == 1 and "district empty" in captured.err and "Traceback" not in captured.err
    for name in ("north", "south"):
        for f in ("assessment.xlsx", "coverage.gpkg", "map.html", "summary.json", "projects.csv"):
            assert (out / "districts" / name / f).is_file()
    summary = json.loads((out / "state.json").read_text())
    assert summary["state"] == {**summary["state"], "districts": 3, "assessed": 2, "failed": 1}
    assert summary["state"]["projects_chosen"] > 0 and summary["state"]["cost_chosen"] <= 500000
    rows = {d["district"]: d for d in summary["districts"]}
    assert rows["empty"]["status"] == "failed" and rows["north"]["buildings"] > 0
    # GeoParquet: one dataset per layer, partitioned by district, as streamed from the chunks
    cameras = ds.dataset(out / "layers" / "cameras", partitioning="hive").to_table().to_pandas()
    assert set(cameras["district"]) == {"north", "south"}
    per_district = json.loads((out / "districts" / "north" / "summary.json").read_text())
    assert len(cameras[cameras["district"] == "north"]) == len(pd.read_parquet(
        out / "layers" / "cameras" / "district=north"))
    assert len(per_district["buildings"]) == rows["north"]["buildings"]
    import openpyxl

    wb = openpyxl.load_workbook(out / "state.xlsx", read_only=True)
    assert wb.sheetnames == ["Districts", "Failed districts", "State"]
    assert wb["Districts"].max_row == 4  # a roll-up: one row per district, not per building
    assert np.isfinite(rows["north"]["score_mean"])


def test_assess_says_early_when_a_district_cannot_fit(tmp_path: Path, monkeypatch, capsys):
    import facility_planner.pipeline as pipeline

    monkeypatch.setattr(pipeline, "available_memory", lambda: 200 * 2**20)
    sample = Path(__file__).resolve().parent.parent / "sample_sites"
    code = main(["assess", str(sample / "inventory.xlsx"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "need about" in err and "assess-state" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # stopped before the heavy work, nothing half-written


def test_the_state_plan_is_one_optimum_over_every_district(settings):
    """The state portfolio is the structured optimiser over every district's projects as compact
    arrays; the districts' own plans together fit the state budget, so the state plan removes at
    least as much risk (within its proven gap), and it picks across district lines."""
    sources = [DistrictSource("east", demo=(3, 5, "city")), DistrictSource("west", demo=(3, 6, "rural"))]
    results = run_local(sources, RunOptions(settings=settings, as_of=AS_OF, budget=[150_000]))
    for r in results:
        assert isinstance(r.projects["project_id"].dtype, pd.CategoricalDtype)
        assert r.projects["cost"].dtype == np.float64 and r.projects["risk_reduction"].dtype == np.float64
        assert r.projects["project_id"].astype(str).str.startswith(f"{r.name}/").all()
    plan = state_portfolio(results, budget=[300_000], year_discount=settings.risk.year_discount)
    assert plan.method and np.isfinite(plan.gap) and plan.gap < 1e-3  # the structured optimiser, proven
    assert plan.total_cost <= 300_000
    together = sum(r.row["risk_removed"] for r in results)
    assert plan.total_risk_reduction >= together * (1 - plan.gap) - 1e-3
    assert {p.split("/")[0] for p in plan.selected} == {"east", "west"}
