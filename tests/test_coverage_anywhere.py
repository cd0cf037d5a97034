"""Right answers anywhere: a campus moved anywhere (60 S - 70 N, any longitude) and turned gives
the same coverage (within 0.1 point), alone or in one run with far campuses; the sample district
in EPSG:4326, its UTM zone and a state plane in US feet gives the same figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility_planner.geo import compute_coverage
from facility_planner.io.load import load_district
from tests._moving import in_crs, move_site

AS_OF = date(2026, 11, 28)
SAMPLE = Path(__file__).resolve().parents[1] / "sample_sites"
METRICS = ["camera_entrance_coverage", "camera_perimeter_coverage", "camera_outdoor_coverage",
           "corridor_camera_coverage", "radio_area_coverage", "radio_critical_coverage",
           "aed_reach_coverage", "kit_reach_coverage"]


@pytest.fixture(scope="module")
def sample():
    district, _ = load_district(SAMPLE / "inventory.xlsx",
                                maps=[("campus.gpkg", (SAMPLE / "campus.gpkg").read_bytes())])
    base = compute_coverage(district, as_of=AS_OF).facts.values[METRICS]
    return in_crs(district, "EPSG:4326"), base


def _close(values, base, buildings=None):
    a, b = values.loc[buildings or base.index, METRICS], base.loc[buildings or base.index, METRICS]
    assert ((a - b).abs().fillna(0) <= 0.1).all().all(), (a - b).abs().max()
    assert (a.isna() == b.isna()).all().all()


def _check(sample, lon, lat, turn, alone):
    district, base = sample
    moved = move_site(district, "HS-01", lon=lon, lat=lat, turn_deg=turn)
    if alone:
        moved = moved.subset(["HS-01"])
    values = compute_coverage(moved, as_of=AS_OF).facts.values
    _close(values, base, list(values.index))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lon=st.floats(-179.9, 179.9), lat=st.floats(-60, 70), turn=st.floats(0, 360), alone=st.booleans())
def test_campus_moved_and_turned_keeps_its_coverage(sample, lon, lat, turn, alone):
    _check(sample, lon, lat, turn, alone)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lon=st.floats(-179.9, 179.9), lat=st.floats(-60, 70), turn=st.floats(0, 360), alone=st.booleans())
def test_campus_moved_and_turned_keeps_its_coverage_many(sample, lon, lat, turn, alone):
    _check(sample, lon, lat, turn, alone)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32615", "EPSG:3417"])  # 3417: Iowa North (ftUS)
def test_sample_district_in_three_crs_gives_the_same_figures(sample, crs):
    district, base = sample
    values = compute_coverage(in_crs(district, crs), as_of=AS_OF).facts.values
    _close(values, base)
