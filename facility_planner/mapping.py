"""The coverage map: a folium map of footprints, assets and coverage layers that works offline.

folium's default page loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs: unreachable
on a district network, and a request to them would tell a third party where a school map is
being opened. ``build_map`` swaps them for the Leaflet copy shipped in ``ui/static`` (as data
URIs, so the Streamlit component loads them from the app itself) and ``map_html`` inlines them
into a single self-contained page. Markers are CSS-styled ``DivIcon`` s, so no icon font is needed.

folium escapes nothing: every user string reaching the page goes through ``escape_text``.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner import settings
from facility_planner.model import District

#: Colour of a building footprint by its overall status.
STATUS_COLOURS: dict[str, str] = {
    "met": "#1a9850",
    "partial": "#fdae61",
    "unmet": "#d73027",
    "unknown": "#9e9e9e",
    "not_applicable": "#bdbdbd",
}
STATUS_LABELS: dict[str, str] = {
    "met": "all minimum measures met",
    "partial": "some measures met",
    "unmet": "measures unmet",
    "unknown": "not enough data",
    "not_applicable": "not assessed",
}

#: Asset layers: table -> (layer name, icon letter, colour, columns shown in the popup).
ASSET_STYLES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "doors": ("Doors", "D", "#5d4037", ("door_id", "building_id", "room_id", "role", "lock_from_inside",
                                         "access_control", "numbered")),
    "cameras": ("Cameras", "C", "#1565c0", ("camera_id", "building_id", "mount", "status",
                                             "heading_deg", "hfov_deg", "range_m")),
    "repeaters": ("Radio repeaters", "R", "#6a1b9a", ("repeater_id", "building_id", "kind", "range_m",
                                                        "psap_linked")),
    "aeds": ("AEDs", "+", "#c62828", ("aed_id", "building_id", "room_id", "pads_expiry",
                                       "battery_expiry", "accessible_24_7")),
    "equipment": ("Equipment", "E", "#00695c", ("equipment_id", "building_id", "room_id", "type")),
}

#: Coverage layers: name -> (layer name, stroke colour, fill colour, fill opacity, shown at start).
COVERAGE_STYLES: dict[str, tuple[str, str, str, float, bool]] = {
    "camera_views": ("Camera wedges", "#1565c0", "#42a5f5", 0.2, True),
    "radio_coverage": ("Radio coverage", "#6a1b9a", "#ba68c8", 0.15, False),
    "aed_reach": ("AED reach", "#2e7d32", "#66bb6a", 0.15, False),
    "kit_reach": ("Bleeding-control kit reach", "#00695c", "#4db6ac", 0.15, False),
    "units_needed": ("New AEDs and entrance cameras the projects count", "#e65100", "#ffb74d", 0.8, False),
}
GAP_COLOUR = "#e41a1c"
#: Leaflet pane of the footprints: above coverage (400) and markers (600), under tooltips (650).
BUILDING_PANE = "buildings"
_GAP_WORDS = ("gap", "blind", "uncovered", "unwatched", "dead", "unreached", "missing")

_LEAFLET_DIR = "ui/static/leaflet"
_MARKER_CSS = """
.fp-icon{display:flex;align-items:center;justify-content:center;width:18px;height:18px;
 border-radius:50%;border:2px solid #fff;color:#fff;font:bold 11px/1 sans-serif;
 box-shadow:0 0 2px rgba(0,0,0,.6)}
.fp-icon.square{border-radius:2px}
.fp-legend{position:absolute;bottom:64px;left:10px;z-index:1000;background:#fff;padding:6px 8px;
 border-radius:4px;box-shadow:0 0 4px rgba(0,0,0,.4);font:12px/1.4 sans-serif;max-width:240px}
.fp-legend summary{font-weight:bold;cursor:pointer}
.fp-legend i{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
.fp-popup th{text-align:left;padding-right:6px;vertical-align:top}
"""


def escape_text(value: Any) -> str:
    """Escape user text for HTML, attribute and JavaScript template-literal contexts.

    ``html.escape`` neutralises tags and quotes; backticks and ``${`` are also turned into
    entities so a value copied into a JS template literal cannot close it or interpolate.
    Missing values become an empty string.
    """
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.date().isoformat()
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """The shipped Leaflet script and stylesheet (images inlined as data URIs)."""
    root = resources.files("facility_planner") / _LEAFLET_DIR
    js = (root / "leaflet.js").read_text(encoding="utf-8")
    css = (root / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        data = (root / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode()})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css) + _MARKER_CSS
    return js, css


@lru_cache(maxsize=1)
def _asset_uris() -> tuple[str, str]:
    js, css = leaflet_assets()
    return (f"data:text/javascript;base64,{base64.b64encode(js.encode()).decode()}",
            f"data:text/css;base64,{base64.b64encode(css.encode()).decode()}")


def _offline(m: Any) -> None:
    """Point a folium map at the shipped Leaflet instead of CDNs (per instance)."""
    js_uri, css_uri = _asset_uris()
    m.default_js = [("leaflet", js_uri)]
    m.default_css = [("leaflet_css", css_uri)]


def _popup_html(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], title: pd.Series | None = None) -> pd.Series:
    """One escaped HTML table per row, from the named columns that exist."""
    out = pd.Series("", index=frame.index, dtype=object)
    if title is not None:
        out = "<b>" + title.map(escape_text).astype(object) + "</b>"
    rows = pd.Series("", index=frame.index, dtype=object)
    for col in columns:
        if col not in frame:
            continue
        values = frame[col].map(escape_text).astype(object)
        rows = rows + f"<tr><th>{escape_text(col.replace('_', ' '))}</th><td>" + values + "</td></tr>"
    return out + '<table class="fp-popup">' + rows + "</table>"


def _geojson_frame(gdf: gpd.GeoDataFrame, props: dict[str, pd.Series]) -> gpd.GeoDataFrame:
    """Only our own (escaped or code-made) properties, in lon/lat, empty geometries dropped."""
    keep = gdf.geometry.notna() & ~gdf.geometry.is_empty
    frame = gpd.GeoDataFrame({k: v[keep].values for k, v in props.items()},
                             geometry=gdf.geometry[keep].values, crs=gdf.crs)
    if frame.crs is not None and len(frame):
        frame = frame.to_crs(settings.lonlat_crs)
    elif frame.crs is None:
        frame = frame.set_crs(settings.lonlat_crs, allow_override=True)
    if len(frame):  # 6 decimals of a degree is 0.1 m: the page is half the size
        frame = frame.set_geometry(shapely.transform(frame.geometry.values, lambda xy: np.round(xy, 6)))
    return frame


def building_status(district: District, scores: Any = None) -> pd.Series:
    """Overall status per building (``met``/``partial``/``unmet``/``unknown``), indexed by building_id.

    Reads the minimum-measure statuses of ``scores`` when given: all met -> met, any unmet or
    partial -> partial/unmet, otherwise unknown. Without scores every building is unknown.
    """
    ids = district.building_ids
    status = pd.Series("unknown", index=ids, dtype=object)
    table = _measure_table(scores)
    if table is None or table.empty:
        return status
    table = table.reindex(ids)
    values = table.astype(object).where(table.notna(), "unknown")
    decided = values.isin(["met", "partial", "unmet", "unknown"])
    met = (values.eq("met") | ~decided).all(axis=1) & values.eq("met").any(axis=1)
    unmet = values.eq("unmet").any(axis=1)
    partial = values.eq("partial").any(axis=1) | (values.eq("met").any(axis=1) & ~met)
    status[partial] = "partial"
    status[unmet & ~values.eq("met").any(axis=1)] = "unmet"
    status[unmet & values.eq("met").any(axis=1)] = "partial"
    status[met & ~unmet] = "met"
    return status


def _measure_table(scores: Any) -> pd.DataFrame | None:
    """Minimum-measure statuses (buildings x measures) from a ``Scores`` object or a frame."""
    if scores is None:
        return None
    if isinstance(scores, pd.DataFrame):
        return scores
    if isinstance(scores, pd.Series):
        return scores.to_frame("status")
    for name in ("minimum_measures", "measures", "measure_status"):
        table = getattr(scores, name, None)
        if isinstance(table, pd.DataFrame):
            if "building_id" in table.columns and "status" in table.columns:
                key = next((c for c in ("measure_id", "measure", "rule_id") if c in table.columns), None)
                if key is None:
                    return table.set_index("building_id")[["status"]]
                return table.pivot_table(index="building_id", columns=key, values="status",
                                         aggfunc="first")
            return table
    return None


def _tiles(m: Any, tiles: str) -> None:
    import folium

    choice = (tiles or "none").strip()
    if choice.lower() == "none":
        return
    if choice.lower() == "openstreetmap":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(m)
        return
    if not re.match(r"^https?://", choice) or "{z}" not in choice:
        raise ValueError("map tiles must be 'none', 'openstreetmap' or an http(s) URL template with {z}/{x}/{y}")
    attribution = escape_text(settings.map_tiles_attribution or "District tile server")
    folium.TileLayer(tiles=choice, attr=attribution, name="District tiles", control=False).add_to(m)


def _legend_html(coverage_names: list[str], note: str | None = None) -> str:
    items = [f'<div><i style="background:{STATUS_COLOURS[s]}"></i>Building: {STATUS_LABELS[s]}</div>'
             for s in ("met", "partial", "unmet", "unknown")]
    for table, (label, letter, colour, _) in ASSET_STYLES.items():
        shape = " square" if table == "doors" else ""
        items.append(f'<div><span class="fp-icon{shape}" style="display:inline-flex;background:{colour};'
                     f'margin-right:4px;vertical-align:middle">{html.escape(letter)}</span>{label}</div>')
    for name in coverage_names:
        label, stroke, fill, _, _ = _coverage_style(name)
        items.append(f'<div><i style="background:{fill};border:1px solid {stroke}"></i>{escape_text(label)}</div>')
    items.append("<div><small>Assets placed only at a room or building are counted, not drawn.</small></div>")
    if note:
        items.append(f'<div class="fp-note"><small>{escape_text(note)}</small></div>')
    opened = " open" if len(coverage_names) <= 3 else ""  # a long legend starts folded
    return (f'<div class="fp-legend"><details{opened}><summary>Legend</summary>' + "".join(items)
            + "</details></div>")


def _coverage_style(name: str) -> tuple[str, str, str, float, bool]:
    if name in COVERAGE_STYLES:
        return COVERAGE_STYLES[name]
    label = name.replace("_", " ").capitalize()
    if any(word in name for word in _GAP_WORDS):
        # gaps along walls and at doors show at start; large gap areas (a campus' unwatched
        # ground) would hide the buildings, so they start hidden in the layer control
        linear = any(word in name for word in ("entrance", "perimeter"))
        return (f"Gaps: {label.lower()}", GAP_COLOUR, GAP_COLOUR, 0.35 if linear else 0.2, linear)
    return (f"Coverage: {label.lower()}", "#455a64", "#90a4ae", 0.15, False)


class _Bounds:
    """The lon/lat box of everything drawn, for ``fit_bounds``."""

    def __init__(self) -> None:
        self.box: list[float] | None = None

    def extend(self, frame: gpd.GeoDataFrame) -> None:
        if len(frame):
            b = [float(v) for v in frame.total_bounds]
            self.box = b if self.box is None else [min(self.box[0], b[0]), min(self.box[1], b[1]),
                                                   max(self.box[2], b[2]), max(self.box[3], b[3])]

    def fit(self, m: Any) -> None:
        if self.box is None:
            m.location, m.options["zoom"] = [0.0, 0.0], 2
        else:
            m.fit_bounds([[self.box[1], self.box[0]], [self.box[3], self.box[2]]], max_zoom=19)


def _for_sites(frame: gpd.GeoDataFrame, sites: frozenset[str] | None, district: District) -> gpd.GeoDataFrame:
    """Rows of the given sites only, by ``site_id`` or else by building (``None``: all rows)."""
    if sites is None:
        return frame
    if "site_id" in frame:
        return frame[frame["site_id"].astype("string").isin(sites).fillna(False).to_numpy()]
    if "building_id" not in frame:
        return frame.iloc[:0]
    b = district.buildings
    ids = b.loc[b["site_id"].astype("string").isin(sites).fillna(False).to_numpy(), "building_id"].astype(str)
    return frame[frame["building_id"].astype("string").isin(set(ids)).fillna(False).to_numpy()]


def _building_index(district: District, frame: pd.DataFrame) -> pd.Series:
    """Row position in ``district.buildings`` of each row's building (None without one), for clicks."""
    positions = pd.Series(range(len(district.buildings)),
                          index=district.buildings["building_id"].astype(str).to_numpy())
    if "building_id" not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    found = frame["building_id"].astype("string").map(positions)
    return found.astype(object).where(found.notna(), None)


def _context_layers(m: Any, district: District, bounds: _Bounds) -> None:
    """Site boundaries and parking, dashed, under everything else."""
    import folium

    for name, label, colour in (("site_boundaries", "Site boundaries", "#37474f"),
                                ("parking", "Parking", "#616161")):
        layer = district.table(name)
        if layer is None or not len(layer):
            continue
        frame = _geojson_frame(layer, {"popup": _popup_html(layer, ["site_id"], title=pd.Series(label, index=layer.index))})
        bounds.extend(frame)
        folium.GeoJson(
            frame.__geo_interface__, name=label,
            style_function=lambda _f, c=colour: {"color": c, "weight": 1.5, "fill": True,
                                                 "fillOpacity": 0.05, "dashArray": "4 4"},
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(m)


def _coverage_layers(m: Any, district: District, layers: Mapping[str, Any], bounds: _Bounds, *,
                     sites: frozenset[str] | None) -> list[str]:
    """Coverage areas and gaps (a click on one selects its building); returns the names drawn."""
    import folium

    # coverage layers named like an asset table repeat the asset points: the asset layer draws them
    names = [n for n, g in layers.items() if g is not None and len(g) and n not in ASSET_STYLES]
    drawn = []
    for name in names:
        layer = _for_sites(layers[name], sites, district)
        label, stroke, fill, opacity, show = _coverage_style(name)
        cols = [c for c in layer.columns if c != layer.geometry.name][:8]
        frame = _geojson_frame(layer, {"popup": _popup_html(layer, cols, title=pd.Series(label, index=layer.index)),
                                       "building_index": _building_index(district, layer)})
        if not len(frame):
            continue
        bounds.extend(frame)
        drawn.append(name)
        folium.GeoJson(
            frame.__geo_interface__, name=label, show=show,
            style_function=lambda _f, s=stroke, c=fill, o=opacity: {"color": s, "weight": 1, "fillColor": c,
                                                                    "fillOpacity": o},
            marker=folium.CircleMarker(radius=7, fill=True, color=stroke, fill_color=fill, fill_opacity=0.8),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(m)
    return drawn


def _building_layer(m: Any, district: District, scores: Any, bounds: _Bounds, *, popups: bool) -> None:
    """Footprints coloured by status, in their own pane above coverage and markers: every one clickable."""
    import folium

    b = district.buildings.reset_index(drop=True)
    if not len(b):
        return
    status = building_status(district, scores)
    props = {
        "building_index": pd.Series(range(len(b)), index=b.index),
        "status": b["building_id"].map(status).fillna("unknown").astype(object),
        "tooltip": b["building_id"].map(escape_text).astype(object) + " " + b["name"].map(escape_text).astype(object),
    }
    if popups:
        props["popup"] = (_popup_html(b, ["building_id", "site_id", "building_number", "year_built", "floors"],
                                      title=b["name"].fillna(b["building_id"]))
                          + "<div>Status: " + props["status"].map(lambda s: STATUS_LABELS.get(s, s)) + "</div>")
    frame = _geojson_frame(b, props)
    bounds.extend(frame)
    if not len(frame):
        return
    folium.map.CustomPane(BUILDING_PANE, z_index=620, pointer_events=True).add_to(m)
    folium.GeoJson(
        frame.__geo_interface__, name="Buildings", pane=BUILDING_PANE,
        style_function=lambda f: {"color": "#263238", "weight": 1,
                                  "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#9e9e9e"),
                                  "fillOpacity": 0.6},
        highlight_function=lambda _f: {"weight": 3},
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False) if popups else None,
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(m)


def _asset_layers(m: Any, district: District, bounds: _Bounds, *, sites: frozenset[str] | None) -> None:
    """Located doors, cameras, repeaters, AEDs and equipment as lettered markers."""
    import folium

    for table, (label, letter, colour, columns) in ASSET_STYLES.items():
        assets = district.table(table)
        if assets is None or not len(assets):
            continue
        located = assets[assets["located"].fillna(False).astype(bool)] if "located" in assets else assets
        located = _for_sites(located, sites, district)
        key = columns[0]
        frame = _geojson_frame(located, {"popup": _popup_html(located, columns[1:], title=located[key]),
                                         "tooltip": located[key].map(escape_text).astype(object),
                                         "building_index": _building_index(district, located)})
        if not len(frame):
            continue
        bounds.extend(frame)
        shape = " square" if table == "doors" else ""
        icon = folium.DivIcon(html=f'<div class="fp-icon{shape}" style="background:{colour}">{html.escape(letter)}</div>',
                              icon_size=(18, 18), icon_anchor=(9, 9), class_name="fp-marker")
        folium.GeoJson(
            frame.__geo_interface__, name=label, show=table != "doors",
            marker=folium.Marker(icon=icon),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
            tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
        ).add_to(m)


def build_map(district: District, *, coverage: Any = None, scores: Any = None,
              tiles: str = "none", detail_sites: Collection[str] | None = None,
              building_popups: bool = True, note: str | None = None) -> Any:
    """A folium map of the district: footprints by status, assets, coverage layers and gaps.

    Parameters
    ----------
    district
        The district (any metric CRS; drawn in EPSG:4326).
    coverage
        A ``Coverage`` (its ``layers`` dict of GeoDataFrames) or such a dict; optional.
    scores
        ``Scores`` (or a buildings x measures status frame) to colour footprints; optional.
    tiles
        ``"none"`` (blank background, no request anywhere), ``"openstreetmap"`` or a URL template
        of the district's own tile server.
    detail_sites
        Sites whose coverage layers and assets are drawn (``None``: every site; empty: none,
        footprints only: a large district's overview).
    building_popups
        A pop-up on each footprint (``map.html``); the app shows the scorecard below instead.
    note
        A line for the legend, e.g. where the layers left out of an overview are.

    Returns
    -------
    folium.Map
        With a layer control and a legend; every user string escaped. Footprint, asset and
        coverage features carry ``building_index`` (row position in ``district.buildings``, or
        null) for click handling; footprints sit in their own pane above the rest.
    """
    import folium

    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    _offline(m)
    _tiles(m, tiles)
    bounds = _Bounds()
    sites = None if detail_sites is None else frozenset(str(s) for s in detail_sites)
    _context_layers(m, district, bounds)
    coverage_names = _coverage_layers(m, district, getattr(coverage, "layers", coverage) or {}, bounds, sites=sites)
    _building_layer(m, district, scores, bounds, popups=building_popups)
    _asset_layers(m, district, bounds, sites=sites)
    overlays = sum(isinstance(child, folium.GeoJson) for child in m._children.values())
    folium.LayerControl(collapsed=overlays > 8).add_to(m)
    # A Map's root is always its Figure; branca annotates ``get_root`` as returning ``Element``.
    root = cast(folium.Figure, m.get_root())
    root.html.add_child(folium.Element(_legend_html(coverage_names, note)))
    bounds.fit(m)
    return m


def export_map(district: District, *, coverage: Any = None, scores: Any = None) -> Any:
    """The district's ``map.html`` map, its size bounded for a large district.

    Parameters
    ----------
    district, coverage, scores
        As for ``build_map``.

    Returns
    -------
    folium.Map
        Every layer; or, above ``settings.map_detail_sites`` sites (the app's Map page uses the
        same value), an overview of every footprint by status with its pop-up, and a legend note
        that coverage, gaps, camera views and assets are in ``coverage.gpkg`` (a 770-school
        district's full page was 79 MB and took over 500 MB to build).
    """
    sites = len(district.sites)
    if sites <= settings.map_detail_sites:
        return build_map(district, coverage=coverage, scores=scores)
    note = (f"Overview of {sites} sites: coverage, gaps, camera views and assets are not drawn above "
            f"{settings.map_detail_sites} sites; they are in coverage.gpkg.")
    return build_map(district, coverage=coverage, scores=scores, detail_sites=[], note=note)


def map_html(m: Any) -> str:
    """The map as one self-contained HTML page: scripts and styles inlined, no external request.

    Only tiles (when configured) are fetched from elsewhere.
    """
    _offline(m)
    js, css = leaflet_assets()
    js_uri, css_uri = _asset_uris()
    page = m.get_root().render()
    page = page.replace(f'<script src="{js_uri}"></script>', f"<script>{js}</script>", 1)
    page = page.replace(f'<link rel="stylesheet" href="{css_uri}"/>', f"<style>{css}</style>", 1)
    return page
