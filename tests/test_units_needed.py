"""Units a gap needs by geometry (geo.units): new AEDs to bring a footprint within reach, new
cameras to see the unseen exterior entrances; hand-worked cases and re-measured properties."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility_planner.geo import compute_coverage, load_coverage_config
from facility_planner.geo.units import disc_cover

AS_OF = date(2025, 9, 1)
REACH = 90 * 1.52 / 1.3  # 105.23 m straight-line AED reach (coverage.yaml)
X0, Y0 = 500_000.0, 4_300_000.0  # local origin of the coverage_campus fixture (UTM 18N)


def door(did, x, y, building="A", role="exterior_primary"):
    return {"door_id": did, "building_id": building, "role": role, "x": x, "y": y}


def aed(aid, x, y, building="A", pads="2027-01-01"):
    return {"aed_id": aid, "building_id": building, "pads_expiry": pads, "battery_expiry": "2028-01-01",
            "x": x, "y": y}


def units_of(cov, building, fact):
    layer = cov.layers["units_needed"]
    return layer[(layer["building_id"] == building) & (layer["fact"] == fact)].reset_index(drop=True)


# --------------------------------------------------------------------------------------- AEDs
@pytest.mark.parametrize(("length", "expected"), [(150, 1), (300, 2), (500, 3)])
def test_long_thin_building_needs_an_aed_per_210_m(coverage_campus, length, expected):
    """A 10 m wide strip with no AED: a disc of 105.2 m covers sqrt(105.2² - 5²) = 105.1 m either side
    of its centre, 210 m of strip, so 150 m needs 1 AED, 300 m 2, 500 m 3 (420 m < 500 m)."""
    d = coverage_campus(buildings={"A": (0, 0, length, 10)})
    cov = compute_coverage(d, as_of=AS_OF)
    units = units_of(cov, "A", "aed_reach_coverage")
    assert len(units) == expected and (units["units"] == expected).all()
    assert (units["unit"] == "aed").all() and units["range_m"].iloc[0] == pytest.approx(REACH)
    basis = units["basis"].iloc[0]
    assert basis.startswith(f"{expected} new AED") and "100% of the footprint" in basis
    assert f"{length * 10:,}" in basis or "m²" in basis


def test_expired_aed_is_counted_as_serviced_not_again_by_geometry(coverage_campus):
    """One expired AED in the middle of a 150 m building: once serviced it reaches all of it, so
    the geometry asks for no new AED (the project counts the expired AED once, as an asset)."""
    d = coverage_campus(buildings={"A": (0, 0, 150, 10)}, aeds=[aed("OLD", 75, 5, pads="2024-01-01")])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "aed_reach_coverage"] == 0.0
    assert len(units_of(cov, "A", "aed_reach_coverage")) == 0


def test_expired_aed_at_one_end_of_a_long_building_leaves_one_new_aed(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 300, 10)}, aeds=[aed("OLD", 0, 5, pads="2024-01-01")])
    units = units_of(compute_coverage(d, as_of=AS_OF), "A", "aed_reach_coverage")
    assert len(units) == 1
    assert "once OLD is back in service" in units["basis"].iloc[0]
    assert "65% of the footprint" in units["basis"].iloc[0]  # 35% within 105 m of x = 0


def test_building_already_within_reach_needs_no_aed(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 150, 10)}, aeds=[aed("E1", 75, 5)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "aed_reach_coverage"] == 100.0
    assert len(cov.layers["units_needed"]) == 0


def test_disc_cover_covers_an_l_shape_and_stops():
    region = shapely.union(shapely.box(0, 0, 400, 20), shapely.box(0, 0, 20, 300))
    centres = disc_cover(region, radius=100.0, step=5.0)
    discs = shapely.union_all(shapely.buffer(np.asarray(centres, dtype=object), 100.0, quad_segs=16))
    assert shapely.area(shapely.difference(region, discs)) <= 1.0
    assert 3 <= len(centres) <= 5  # at least 3: 400 m + 300 m arms, a disc spans 200 m of an arm
    assert disc_cover(shapely.box(0, 0, 0.5, 0.5), radius=100.0) == []


# ------------------------------------------------------------------------------------ cameras
def test_three_unseen_entrances_on_two_sides_need_two_cameras(coverage_campus):
    """40 x 20 building: D1 and D2 on the south wall 7 m apart, D3 on the north wall. A 90° camera of
    2688 px recognises to 2688 / (2 x 125 x tan 45°) = 10.75 m: one camera in front of D1 sees D1
    and D2 (bearings 0° and 82° from 1 m out); the building hides the north wall, so D3 needs a
    second camera."""
    d = coverage_campus(buildings={"A": (0, 0, 40, 20)},
                        doors=[door("D1", 15, 0), door("D2", 22, 0), door("D3", 20, 20)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "camera_entrance_coverage"] == 0.0
    units = units_of(cov, "A", "camera_entrance_coverage")
    assert len(units) == 2 and (units["unit"] == "camera").all()
    assert sorted(units["watches"]) == ["D1, D2", "D3"]
    assert units["range_m"].iloc[0] == pytest.approx(10.752)
    assert units["basis"].iloc[0].startswith("2 new cameras to see 3 unseen exterior entrances (D1, D2, D3)")


def test_entrances_far_apart_need_a_camera_each(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 60, 20)}, doors=[door("D1", 5, 0), door("D2", 55, 0)])
    units = units_of(compute_coverage(d, as_of=AS_OF), "A", "camera_entrance_coverage")
    assert sorted(units["watches"]) == ["D1", "D2"]


def test_seen_entrances_and_interior_doors_need_no_camera(coverage_campus):
    cams = [{"camera_id": "C1", "building_id": "A", "mount": "exterior", "heading_deg": 180.0, "hfov_deg": 90.0,
             "resolution_px": 3840, "status": "working", "x": 10.0, "y": 20.0}]
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)}, cameras=cams,
                        doors=[door("D1", 10, 10), door("I1", 5, 5, role="classroom")])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "camera_entrance_coverage"] == 100.0
    assert len(units_of(cov, "A", "camera_entrance_coverage")) == 0


# -------------------------------------------------------------- properties: re-measured, closed
def _bisector(mount, targets) -> float:
    """Compass bearing halfway across the smallest arc holding the bearings from mount to targets."""
    b = np.sort(np.degrees(np.arctan2(targets[:, 0] - mount[0], targets[:, 1] - mount[1])) % 360)
    gaps = np.diff(np.r_[b, b[0] + 360])
    start = b[(int(np.argmax(gaps)) + 1) % len(b)]
    span = 360 - gaps.max()
    return float((start + span / 2) % 360)


@st.composite
def walls_with_doors(draw):
    width = draw(st.floats(12, 80))
    depth = draw(st.floats(8, 40))
    spots = draw(st.lists(st.floats(0.05, 0.95), min_size=1, max_size=6))
    sides = draw(st.lists(st.sampled_from("SNEW"), min_size=len(spots), max_size=len(spots)))
    doors = []
    for k, (t, side) in enumerate(zip(spots, sides, strict=True)):
        x, y = {"S": (t * width, 0.0), "N": (t * width, depth), "W": (0.0, t * depth), "E": (width, t * depth)}[side]
        doors.append(door(f"D{k}", x, y))
    return width, depth, doors


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=walls_with_doors())
def test_proposed_cameras_see_every_entrance_when_re_measured(coverage_campus, case):
    width, depth, doors = case
    d = coverage_campus(buildings={"A": (0, 0, width, depth)}, doors=doors)
    cov = compute_coverage(d, as_of=AS_OF)
    units = units_of(cov, "A", "camera_entrance_coverage")
    unseen = len(cov.layers["uncovered_entrances"])
    assert (len(units) >= 1) == (unseen > 0)
    if not unseen:
        return
    config = load_coverage_config().new_units
    where = {dd["door_id"]: (dd["x"], dd["y"]) for dd in doors}
    cams = []
    for k, row in units.iterrows():
        mount = np.array([row.geometry.x - X0, row.geometry.y - Y0])
        targets = np.array([where[i] for i in row["watches"].split(", ")])
        cams.append({"camera_id": f"NEW{k}", "building_id": "A", "mount": "exterior", "status": "working",
                     "heading_deg": _bisector(mount, targets), "hfov_deg": config.camera_hfov_deg.value,
                     "resolution_px": config.camera_resolution_px.value, "x": mount[0], "y": mount[1]})
    again = compute_coverage(coverage_campus(buildings={"A": (0, 0, width, depth)}, doors=doors, cameras=cams),
                             as_of=AS_OF)
    assert again.facts.values.loc["A", "camera_entrance_coverage"] == 100.0
    assert len(units_of(again, "A", "camera_entrance_coverage")) == 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.floats(20, 700), width=st.floats(5, 120), aed_at=st.none() | st.floats(0, 1))
def test_proposed_aeds_bring_the_whole_footprint_within_reach(coverage_campus, length, width, aed_at):
    existing = [] if aed_at is None else [aed("E1", aed_at * length, width / 2)]
    d = coverage_campus(buildings={"A": (0, 0, length, width)}, aeds=existing)
    cov = compute_coverage(d, as_of=AS_OF)
    units = units_of(cov, "A", "aed_reach_coverage")
    short = cov.facts.values.loc["A", "aed_reach_coverage"] < 100.0
    assert (len(units) >= 1) == short
    lower = int(np.ceil(length * width / (np.pi * REACH**2)))  # no fewer discs than the area needs
    assert len(units) >= (lower if aed_at is None else 0)
    new = [aed(f"N{k}", p.x - X0, p.y - Y0) for k, p in enumerate(units.geometry)]
    again = compute_coverage(coverage_campus(buildings={"A": (0, 0, length, width)}, aeds=existing + new),
                             as_of=AS_OF)
    assert again.facts.values.loc["A", "aed_reach_coverage"] == pytest.approx(100.0, abs=0.01)
    assert len(units_of(again, "A", "aed_reach_coverage")) == 0


def test_units_layer_survives_a_far_local_frame(coverage_campus):
    """The layer comes back in the district's CRS like every other layer (points inside their site)."""
    d = coverage_campus(buildings={"A": (0, 0, 300, 10)})
    layer = compute_coverage(d, as_of=AS_OF).layers["units_needed"]
    assert str(layer.crs) == str(d.crs)
    fp = d.buildings.geometry.iloc[0]
    assert all(fp.buffer(1.0).contains(p) for p in layer.geometry)
    assert isinstance(layer, pd.DataFrame) and set(layer["site_id"]) == {"S"}


# ------------------------------------------------- the projects: quantity, cost and basis, end to end
def _projects(district):
    from facility_planner.assess import assess

    return assess(district, as_of=AS_OF).projects.set_index("project_id")


def test_long_thin_building_gets_an_aed_project_of_two(coverage_campus):
    """300 x 10 m, no AED: 2 AEDs at $1,555 (costs.yaml typical), the basis says why."""
    projects = _projects(coverage_campus(buildings={"A": (0, 0, 300, 10)}))
    row = projects.loc["A:aeds"]
    assert row["quantity"] == 2 and row["unit"] == "aed"
    assert row["cost"] == pytest.approx(2 * 1555.0)
    # 3,000 m² drawn in UTM is 3,002 true m² (grid scale 0.9996): measured in the local frame
    assert row["quantity_basis"].startswith("2 new AEDs: 100% of the footprint (3,002 m²) is beyond 105 m")
    assert "2 discs of 105 m cover it" in row["quantity_basis"]


def test_expired_aed_in_reach_of_all_is_one_aed_however_many_rules_name_it(coverage_campus):
    projects = _projects(coverage_campus(buildings={"A": (0, 0, 150, 10)},
                                         aeds=[aed("OLD", 75, 5, pads="2024-01-01")]))
    row = projects.loc["A:aeds"]
    assert row["quantity"] == 1 and row["cost"] == pytest.approx(1555.0)
    assert row["quantity_basis"] == "1 distinct asset(s) falling short (OLD), one aed each"


def test_three_unseen_entrances_on_two_sides_get_a_camera_project_of_two(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 40, 20)},
                        doors=[door("D1", 15, 0), door("D2", 22, 0), door("D3", 20, 20)])
    row = _projects(d).loc["A:cameras"]
    assert row["quantity"] == 2 and row["cost"] == pytest.approx(2 * 1850.0)
    assert "camera 1 sees D1, D2; camera 2 sees D3" in row["quantity_basis"]


def test_building_within_reach_and_watched_gets_no_aed_or_camera_project(coverage_campus):
    cams = [{"camera_id": "C1", "building_id": "A", "mount": "exterior", "heading_deg": 180.0, "hfov_deg": 90.0,
             "resolution_px": 3840, "status": "working", "recording_days": 30, "x": 10.0, "y": 20.0}]
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)}, cameras=cams, doors=[door("D1", 10, 10)],
                        aeds=[aed("E1", 10, 5)])
    projects = _projects(d)
    assert "A:aeds" not in projects.index
    # the camera gap left is the perimeter and interior (not counted by geometry): min_quantity
    row = projects.loc["A:cameras"]
    assert row["quantity"] == 1 and row["quantity_basis"] == "gap with no asset named: 1 camera (catalog min_quantity)"


def test_a_district_coverage_file_without_new_units_takes_the_shipped_section(tmp_path):
    from pathlib import Path

    text = (Path(__file__).parents[1] / "facility_planner/geo/coverage.yaml").read_text()
    older = tmp_path / "coverage.yaml"
    older.write_text(text[:text.index("\nnew_units:")])
    assert load_coverage_config(older).new_units == load_coverage_config().new_units
    older.write_text(text.replace("camera_hfov_deg:\n    value: 90.0", "camera_hfov_deg:\n    value: 200.0"))
    from facility_planner.errors import ConfigError

    with pytest.raises(ConfigError, match="camera_hfov_deg"):
        load_coverage_config(older)


def test_replan_and_summary_keep_the_geometric_quantity_and_basis(coverage_campus):
    from facility_planner.assess import assess, replan, summary_dict

    first = assess(coverage_campus(buildings={"A": (0, 0, 300, 10)}), as_of=AS_OF)
    again = replan(first, budget=10_000.0).projects.set_index("project_id")
    assert again.loc["A:aeds", "quantity"] == 2 and again.loc["A:aeds", "quantity_basis"].startswith("2 new AEDs")
    record = next(p for p in summary_dict(first)["projects"] if p["project_id"] == "A:aeds")
    assert record["quantity"] == 2 and record["quantity_basis"].startswith("2 new AEDs")


def test_courtyard_and_separate_wings_get_mounts_of_their_own(coverage_campus):
    """A 60 x 60 block round a 20 x 20 courtyard (door C1 on the courtyard wall) and a second wing
    50 m east (door W1): each door is seen from its own side, one camera each."""
    block = shapely.Polygon([(0, 0), (60, 0), (60, 60), (0, 60)], [[(20, 20), (40, 20), (40, 40), (20, 40)]])
    wings = shapely.MultiPolygon([block, shapely.box(110, 0, 130, 20)])
    d = coverage_campus(buildings={"A": wings}, doors=[door("C1", 30, 20), door("W1", 120, 0)])
    cov = compute_coverage(d, as_of=AS_OF)
    units = units_of(cov, "A", "camera_entrance_coverage")
    assert sorted(units["watches"]) == ["C1", "W1"]
    court = units.set_index("watches").geometry["C1"]
    assert shapely.box(X0 + 20, Y0 + 20, X0 + 40, Y0 + 40).contains(court)  # mounted in the courtyard
