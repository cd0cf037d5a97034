"""Right answers anywhere: a campus moved anywhere (60 S - 70 N, any longitude) and turned gives
the same coverage (within 0.1 point), alone or in one run with far campuses; the sample district
in EPSG:4326, its UTM zone and a state plane in US feet gives the same figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility_planner.geo import compute_coverage
from facility_planner.io.exports import output_layer
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


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32760"])  # 32760: UTM 60 S, the run's own zone
def test_campus_straddling_the_antimeridian_keeps_its_coverage(sample, crs):
    """A campus moved to 179.999 E (Fiji's latitude) lies on both sides of +-180: measured in one
    local frame centred on it (not on longitude 0), it keeps its coverage."""
    district, base = sample
    moved = move_site(district, "HS-01", lon=179.999, lat=-17.8, turn_deg=30).subset(["HS-01"])
    lon = shapely.get_coordinates(moved.buildings.geometry.values)[:, 0]
    assert lon.min() < -179.99 and lon.max() > 179.99  # it straddles
    values = compute_coverage(in_crs(moved, crs), as_of=AS_OF).facts.values
    _close(values, base, list(values.index))


def test_layers_across_the_antimeridian_are_written_cut_there(sample):
    """Written in EPSG:4326, a view or reach area crossing 180 is cut into its two sides, each
    within [-180, 180], with nothing lost (the same area in the campus's UTM zone)."""
    district, _ = sample
    moved = move_site(district, "HS-01", lon=179.999, lat=-17.8, turn_deg=30).subset(["HS-01"])
    coverage = compute_coverage(moved, as_of=AS_OF)
    crossing = 0
    for name in ("camera_views", "camera_zones", "radio_coverage", "aed_reach", "kit_reach"):
        layer = coverage.layers[name]
        written = output_layer(layer)
        x0, _, x1, _ = shapely.bounds(shapely.get_parts(written.geometry.values)).T
        assert (x0 >= -180).all() and (x1 <= 180).all(), name
        assert (x1 - x0 < 1).all(), name  # no piece spans the globe
        crossing += int((shapely.get_num_geometries(written.geometry.values)
                         > shapely.get_num_geometries(layer.geometry.values)).sum())
        utm = "EPSG:32760"
        assert written.to_crs(utm).area.sum() == pytest.approx(layer.to_crs(utm).area.sum(), rel=1e-6), name
    assert crossing > 0
    rooms = output_layer(coverage.layers["room_comm"])  # the user's own shapes, as drawn
    x0, _, x1, _ = shapely.bounds(shapely.get_parts(rooms.geometry.dropna().values)).T
    assert (x1 - x0 < 1).all()
