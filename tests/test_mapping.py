"""The folium map: offline page, escaped user text, layers, status colours."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from facility_planner import mapping

HOSTILE = "<script>alert('x')</script> `tick` ${window.pwned=1} <img src=x onerror=alert(1)>"


def test_escape_text_neutralises_html_and_template_literals() -> None:
    out = mapping.escape_text("<b>`a` ${x} & \"q\"")
    assert out == "&lt;b&gt;&#96;a&#96; &#36;{x} &amp; &quot;q&quot;"
    assert mapping.escape_text(None) == ""
    assert mapping.escape_text(pd.NA) == ""
    assert mapping.escape_text(float("nan")) == ""
    assert mapping.escape_text(pd.Timestamp("2027-03-01")) == "2027-03-01"


def test_map_html_is_self_contained(hostile_district) -> None:
    page = mapping.map_html(mapping.build_map(hostile_district))
    # no external script, stylesheet or image: nothing leaves the machine
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert not re.search(r"<link[^>]*\bhref\s*=", page)
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", page)
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page and "code.jquery" not in page
    assert "<script>" in page and "L.map(" in page
    assert "Leaflet 1.9.4" in page  # the shipped copy, inlined
    assert "data:text/javascript" not in page  # inlined as text, not left as a data URI


def test_hostile_names_render_inert(hostile_district) -> None:
    page = mapping.map_html(mapping.build_map(hostile_district))
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "${window.pwned" not in page
    assert "`tick`" not in page
    # the escaped text is there (as entities, inside folium's JSON-escaped data) to be shown literally
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &#96;tick&#96; &#36;{window.pwned=1}"
    assert escaped.replace("&", "\\u0026") in page


def test_layers_legend_and_popups(hostile_district) -> None:
    cam = hostile_district.cameras.geometry.iloc[0]
    coverage = {
        "camera_views": gpd.GeoDataFrame({"camera_id": ["C1"]}, geometry=[cam.buffer(20)],
                                         crs=hostile_district.crs),
        "blind_spots": gpd.GeoDataFrame({"building_id": ["B1"]}, geometry=[cam.buffer(5)],
                                        crs=hostile_district.crs),
        "aed_reach": gpd.GeoDataFrame({"aed_id": ["A1"]}, geometry=[Point(cam.x + 5, cam.y).buffer(30)],
                                      crs=hostile_district.crs),
    }
    m = mapping.build_map(hostile_district, coverage=coverage)
    page = mapping.map_html(m)
    for name in ("Buildings", "Camera wedges", "Gaps: blind spots", "AED reach", "Cameras", "AEDs", "Doors"):
        assert f'"{name}"' in page or f"&quot;{name}&quot;" in page or name in page, name
    assert "L.control.layers" in page
    assert 'class="fp-legend"' in page
    assert mapping.GAP_COLOUR in page
    assert "geojsondetail" in page or "bindPopup" in page
    # lon/lat drawing: coordinates near the campus, not UTM metres
    assert "-77.03" in page and "38.89" in page


def test_unlocated_assets_not_drawn(hostile_district) -> None:
    d = hostile_district
    aeds = d.aeds.copy()
    aeds["located"] = pd.array([False], dtype="boolean")
    d2 = type(d)(**{**d.__dict__, "aeds": aeds})
    page = mapping.map_html(mapping.build_map(d2))
    assert '"AEDs"' not in page


def test_building_status_from_measure_table(hostile_district) -> None:
    table = pd.DataFrame({"M1": ["met"], "M2": ["unknown"]}, index=pd.Index(["B1"], name="building_id"))
    assert mapping.building_status(hostile_district, table).to_dict() == {"B1": "partial"}
    table = pd.DataFrame({"M1": ["met"], "M2": ["met"]}, index=pd.Index(["B1"], name="building_id"))
    assert mapping.building_status(hostile_district, table).to_dict() == {"B1": "met"}
    table = pd.DataFrame({"M1": ["unmet"], "M2": ["unknown"]}, index=pd.Index(["B1"], name="building_id"))
    assert mapping.building_status(hostile_district, table).to_dict() == {"B1": "unmet"}
    assert mapping.building_status(hostile_district).to_dict() == {"B1": "unknown"}


def test_tiles_setting(hostile_district) -> None:
    assert "tile.openstreetmap.org" not in mapping.map_html(mapping.build_map(hostile_district))
    osm = mapping.map_html(mapping.build_map(hostile_district, tiles="openstreetmap"))
    assert "tile.openstreetmap.org" in osm
    own = mapping.map_html(mapping.build_map(hostile_district, tiles="https://gis.district.example/{z}/{x}/{y}.png"))
    assert "gis.district.example" in own
    with pytest.raises(ValueError, match="map tiles"):
        mapping.build_map(hostile_district, tiles="javascript:alert(1)")


def test_empty_district_map() -> None:
    from facility_planner.model import make_district

    page = mapping.map_html(mapping.build_map(make_district({}, crs="EPSG:32618")))
    assert "L.map(" in page


def test_map_from_a_real_assessment(hostile_district) -> None:
    from facility_planner.assess import assess

    result = assess(hostile_district, budget=1000.0)
    status = mapping.building_status(hostile_district, result.scores)
    assert set(status) <= {"met", "partial", "unmet", "unknown"}
    page = mapping.map_html(mapping.build_map(hostile_district, coverage=result.coverage, scores=result.scores))
    assert "Camera wedges" in page
    assert mapping.STATUS_COLOURS[status.iloc[0]] in page
    assert "<script>alert" not in page
