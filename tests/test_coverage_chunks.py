"""Coverage measured in chunks of whole sites gives the same facts and layers as all at once."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from facility_planner.demo import demo_district
from facility_planner.geo import compute_coverage
from facility_planner.geo.coverage import _site_chunks

AS_OF = date(2025, 9, 1)


@pytest.fixture(scope="module")
def district():
    return demo_district(12, seed=3).to_district()


@pytest.fixture(scope="module")
def both(district):
    return (compute_coverage(district, as_of=AS_OF, chunk_buildings=None),
            compute_coverage(district, as_of=AS_OF, chunk_buildings=5))


def test_chunks_are_whole_sites(district):
    chunks = _site_chunks(district, 5)
    assert len(chunks) > 2
    sites = [s for chunk in chunks for s in chunk.sites]
    assert sorted(sites) == sorted(district.sites["site_id"])
    per_site = district.buildings["site_id"].value_counts()
    # a chunk closes before it would pass 5 buildings, unless one site alone is bigger
    for chunk in chunks:
        assert per_site[chunk.sites].sum() <= 5 or len(chunk.sites) == 1
        assert not set(chunk.halo) & set(chunk.sites)


def test_subset_keeps_only_the_sites_rows(district):
    site = district.sites["site_id"].iloc[0]
    sub = district.subset([site])
    assert set(sub.buildings["site_id"]) == {site}
    kept = set(sub.buildings["building_id"])
    for name in ("rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls"):
        full = district.table(name)
        assert set(sub.table(name)["building_id"]) <= kept
        assert len(sub.table(name)) == full["building_id"].isin(kept).sum()
    for name in ("sites", "programs", "site_boundaries", "parking"):
        assert set(sub.table(name)["site_id"]) <= {site}
    assert len(sub.programs) == (district.programs["site_id"] == site).sum()


def test_chunked_facts_equal_unchunked(both):
    """Exactly equal: every chunk measures each campus in the frame the whole run gives it
    (``SiteChunk.frames``, the whole district's ``LocalFrames.plan``)."""
    whole, chunked = both
    for table, part in ((whole.facts, chunked.facts), (whole.site_facts, chunked.site_facts)):
        pd.testing.assert_frame_equal(table.values, part.values, check_exact=True)
        pd.testing.assert_frame_equal(table.subjects, part.subjects, check_exact=True)
        pd.testing.assert_frame_equal(table.evidence, part.evidence)
    assert whole.facts.values.notna().any().any()


def test_city_layout_chunked_facts_equal_unchunked():
    """A city district (neighbours 15-60 m apart, shared campuses) cut into many chunks with halos:
    the same coverage to the last digit, the same evidence."""
    district = demo_district(40, seed=3, layout="city").to_district()
    chunks = _site_chunks(district, 6)
    assert len(chunks) > 10 and sum(len(c.halo) for c in chunks) > 0
    whole = compute_coverage(district, as_of=AS_OF, chunk_buildings=None)
    chunked = compute_coverage(district, as_of=AS_OF, chunk_buildings=6)
    pd.testing.assert_frame_equal(whole.facts.values, chunked.facts.values, check_exact=True)
    pd.testing.assert_frame_equal(whole.facts.evidence, chunked.facts.evidence)
    pd.testing.assert_frame_equal(whole.site_facts.values, chunked.site_facts.values, check_exact=True)


def test_chunked_layers_equal_unchunked(both):
    whole, chunked = both
    assert whole.layers.keys() == chunked.layers.keys()
    for name, layer in whole.layers.items():
        other = chunked.layers[name]
        if name == "unwatched_perimeter":  # the same stretches, possibly cut into other pieces
            assert layer["length_m"].sum() == pytest.approx(other["length_m"].sum(), rel=1e-9)
            continue
        assert len(layer) == len(other), name
        assert list(layer.columns) == list(other.columns), name
        assert other.crs == layer.crs, name
        area = shapely.area(layer.geometry.values)
        other_area = shapely.area(other.geometry.values)
        assert np.nansum(area) == pytest.approx(np.nansum(other_area), rel=1e-9), name
        # row by row, once both are in the same order (ids; measured columns may differ a hair)
        keys = [c for c in layer.columns if c != layer.geometry.name and layer[c].dtype.kind not in "fc"]
        a = layer.assign(_area=area).sort_values(keys + ["_area"], ignore_index=True)
        b = other.assign(_area=other_area).sort_values(keys + ["_area"], ignore_index=True)
        np.testing.assert_allclose(a["_area"].to_numpy(dtype=float), b["_area"].to_numpy(dtype=float),
                                   rtol=1e-9, atol=0, err_msg=name)
        measured = [c for c in layer.columns if c != layer.geometry.name and layer[c].dtype.kind in "fc"]
        pd.testing.assert_frame_equal(a[measured], b[measured], check_exact=False, rtol=1e-9, atol=0)
        same = shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9)
        assert (same | (a.geometry.isna() & b.geometry.isna()).to_numpy()).all(), name
    pd.testing.assert_frame_equal(
        whole.room_comm.sort_values("room_id", ignore_index=True),
        chunked.room_comm.sort_values("room_id", ignore_index=True))


def test_neighbouring_campuses_share_a_chunk():
    """A camera of campus A watches the wall of campus B's building 25 m away: chunking must keep
    A and B together, or B's watched perimeter would silently drop to 0."""
    import geopandas as gpd

    from facility_planner.model import make_district

    crs = "EPSG:32615"
    footprints = gpd.GeoDataFrame({"building_id": ["A1", "B1", "C1"]}, geometry=[
        shapely.box(0, 0, 20, 20), shapely.box(45, 0, 65, 20), shapely.box(5000, 0, 5020, 20)], crs=crs)
    tables = {
        "sites": pd.DataFrame({"site_id": ["A", "B", "C"]}),
        "buildings": pd.DataFrame({"building_id": ["A1", "B1", "C1"], "site_id": ["A", "B", "C"]}),
        "cameras": pd.DataFrame({"camera_id": ["CA"], "building_id": ["A1"], "mount": ["exterior"],
                                 "x": [20.0], "y": [10.0], "heading_deg": [90.0], "hfov_deg": [90.0],
                                 "range_m": [60.0], "resolution_px": [3840], "status": ["working"]}),
    }
    district = make_district(tables, footprints=footprints, crs=crs, map_crs=crs)
    whole = compute_coverage(district, as_of=AS_OF, chunk_buildings=None)
    chunked = compute_coverage(district, as_of=AS_OF, chunk_buildings=1)
    assert whole.facts.values.at["B1", "camera_perimeter_coverage"] > 0
    pd.testing.assert_frame_equal(whole.facts.values, chunked.facts.values)
    chunks = {tuple(c.sites): c.halo for c in _site_chunks(district, 1, reach_m=60.0)}
    # each campus is its own chunk; A and B see each other in their halo, C (5 km off) nobody
    assert chunks == {("A",): ["B"], ("B",): ["A"], ("C",): []}


def test_a_chain_of_close_campuses_stays_in_bounded_chunks():
    """Forty campuses 30 m apart in a row: "within reach of each other" chains them all into one
    group; grid cells with a halo keep every chunk at 5 own campuses plus its two neighbours."""
    import geopandas as gpd

    from facility_planner.model import make_district

    crs = "EPSG:32615"
    ids = [f"S{i:02d}" for i in range(40)]
    footprints = gpd.GeoDataFrame({"building_id": [f"{s}-A" for s in ids]},
                                  geometry=[shapely.box(50 * i, 0, 50 * i + 20, 20) for i in range(40)], crs=crs)
    tables = {"sites": pd.DataFrame({"site_id": ids}),
              "buildings": pd.DataFrame({"building_id": [f"{s}-A" for s in ids], "site_id": ids})}
    district = make_district(tables, footprints=footprints, crs=crs, map_crs=crs)
    chunks = _site_chunks(district, 5, reach_m=40.0)
    assert len(chunks) == 8
    assert all(len(c.sites) == 5 and len(c.halo) <= 2 for c in chunks)
    whole = compute_coverage(district, as_of=AS_OF, chunk_buildings=None)
    chunked = compute_coverage(district, as_of=AS_OF, chunk_buildings=5)
    pd.testing.assert_frame_equal(whole.facts.values, chunked.facts.values)
