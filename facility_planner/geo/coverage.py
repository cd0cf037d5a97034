"""Coverage of a district: cameras, responder radio, AED and kit reach, two-way comm and panic alarms.

``compute_coverage`` is pure: it takes a ``District`` and returns map layers (GeoDataFrames in the
district's CRS) and a ``FactTable`` of coverage percentages per building for the scoring rules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner.geo._arrays import NONE, Fact, Frame, index_of, timed
from facility_planner.geo.cameras import (
    camera_notes,
    camera_ranges,
    camera_views,
    corridor_watch,
    entrance_watch,
    outdoor_watch,
    perimeter_watch,
)
from facility_planner.geo.config import CoverageConfig, load_coverage_config
from facility_planner.geo.local import LocalFrames
from facility_planner.geo.radio import radio_coverage
from facility_planner.geo.reach import aed_status, asset_reach, kit_places, walk_grid
from facility_planner.geo.units import units_needed
from facility_planner.model import District, FactTable

#: Facts ``compute_coverage`` measures (name -> description); percent 0-100 unless said otherwise.
COVERAGE_FACTS: dict[str, str] = {
    "camera_entrance_coverage": "Located exterior doors seen by a camera at recognize density or better "
                                "(IEC 62676-4); evidence: ids of doors not seen.",
    "camera_entrance_coverage_unknown": "Exterior doors not located, so not judged (count; evidence: ids).",
    "camera_perimeter_coverage": "Footprint perimeter inside an exterior camera's view.",
    "camera_outdoor_coverage": "Parking and outdoor area of the building's site inside a camera view.",
    "corridor_camera_coverage": "Mapped corridor area inside an interior camera's observe zone.",
    "cameras_not_drawn": "Cameras of the building that draw no view (count; evidence: ids and why).",
    "radio_area_coverage": "Floor area at or above -95 dBm, lowest floor (IFC 510: 95%); estimated "
                           "from the outdoor signal where the building has no repeater.",
    "radio_critical_coverage": "Critical-area floor space at or above -95 dBm (NFPA 1225: 99%); the "
                               "whole floor when critical areas are not mapped.",
    "radio_outdoor_coverage": "Floor area the outdoor signal alone reaches at -95 dBm (no repeater).",
    "radio_needed": "1 when the outdoor signal alone misses the general threshold, else 0.",
    "aed_reach_coverage": "Floor area within the configured walk of a located AED in service: walked "
                          "along corridors where floor plans give them, else straight line with a "
                          "detour factor (evidence and layers say which).",
    "kit_reach_coverage": "Floor area within the configured walk of a located stop-the-bleed kit "
                          "(walked along corridors where floor plans give them).",
    "kit_place_coverage": "Recommended places (gym, auditorium, office, library) present in the "
                          "building that hold a stop-the-bleed kit.",
}


@dataclass
class Coverage:
    """Result of ``compute_coverage``.

    ``layers``: name -> GeoDataFrame in the district's CRS (plain-typed columns with ids);
    ``facts``: coverage facts indexed by every ``building_id``; ``site_facts``: the outdoor figure
    per site; ``room_comm``: classrooms, offices and large spaces with/without two-way
    communication and panic alarms; ``config`` and ``as_of``: what the figures assumed.
    """

    layers: dict[str, gpd.GeoDataFrame]
    facts: FactTable
    site_facts: FactTable
    room_comm: pd.DataFrame
    config: CoverageConfig
    as_of: date

    def assumptions(self) -> pd.DataFrame:
        """Every parameter used, with its value and source."""
        return pd.DataFrame(self.config.assumptions())


def _fact_table(index: pd.Index, facts: dict[str, Fact]) -> FactTable:
    values = pd.DataFrame({k: f.values for k, f in facts.items()}, index=index, dtype=float)
    evidence = pd.DataFrame({k: pd.Series(f.evidence, index=index, dtype=object) for k, f in facts.items()},
                            index=index)
    subjects = pd.DataFrame({k: f.subjects for k, f in facts.items()}, index=index, dtype=float)
    return FactTable(values, evidence, subjects)


def room_communication(district: District, *, config: CoverageConfig) -> gpd.GeoDataFrame:
    """Classrooms, offices and large-capacity spaces, with or without two-way comm and panic alarms.

    ``two_way_comm`` is the room's answer, or True when an intercom station is recorded in the
    room; ``panic_alarm`` is True when one is recorded in the room, False when the equipment sheet
    has rows but none for this room, <NA> when no equipment is inventoried at all.
    """
    comm = config.communication
    rooms = district.rooms.reset_index(drop=True)
    r_type = rooms["room_type"].astype("string")
    capacity = pd.to_numeric(rooms["capacity"], errors="coerce")
    category = pd.Series(pd.NA, index=rooms.index, dtype="string")
    category = category.mask(r_type.isin(comm.large_space_types.value).fillna(False)
                             | (capacity >= comm.large_space_min_capacity.value).fillna(False),
                             "large_space")
    category = category.mask(r_type.isin(comm.office_types.value).fillna(False), "office")
    category = category.mask(r_type.isin(comm.classroom_types.value).fillna(False), "classroom")
    keep = category.notna().to_numpy(dtype=bool)
    eq = district.equipment
    eq_type = eq["type"].astype("string")
    in_room = eq["room_id"].astype("string")
    intercom_rooms = set(in_room[(eq_type == "intercom_station").fillna(False)].dropna())
    alarm_rooms = set(in_room[(eq_type == "panic_alarm").fillna(False)].dropna())
    alarm_buildings = eq.loc[(eq_type == "panic_alarm").fillna(False).to_numpy(), "building_id"] \
        .astype("string").value_counts()
    room_id = rooms["room_id"].astype("string")
    intercom = room_id.isin(intercom_rooms).fillna(False)
    two_way = rooms["two_way_comm"].astype("boolean").mask(intercom, True)
    alarm = pd.array(room_id.isin(alarm_rooms).fillna(False).to_numpy(), dtype="boolean")
    if not len(eq):
        alarm = pd.array([pd.NA] * len(rooms), dtype="boolean")
    b_site = dict(zip(district.buildings["building_id"].astype(str),
                      district.buildings["site_id"].astype("string"), strict=True))
    out = pd.DataFrame({
        "room_id": room_id, "building_id": rooms["building_id"].astype("string"),
        "site_id": rooms["building_id"].astype("string").map(b_site).astype("string"),
        "room_number": rooms["room_number"].astype("string"), "room_type": r_type,
        "category": category, "floor": rooms["floor"].astype("Int64"),
        "capacity": rooms["capacity"].astype("Int64"), "two_way_comm": two_way,
        "intercom_station": intercom.astype("boolean"), "panic_alarm": alarm,
        "panic_alarms_in_building": rooms["building_id"].astype("string").map(alarm_buildings)
        .fillna(0).astype("Int64"),
    })
    missing = np.where(out["two_way_comm"].fillna(True).to_numpy(dtype=bool), "", "two-way comm")
    alarm_missing = np.where(out["panic_alarm"].fillna(True).to_numpy(dtype=bool), "", "panic alarm")
    out["missing"] = pd.Series([", ".join(p for p in pair if p) for pair in zip(missing, alarm_missing, strict=True)],
                               dtype="string")
    unknown = np.where(out["two_way_comm"].isna().to_numpy(), "two-way comm", "")
    unknown_alarm = np.where(out["panic_alarm"].isna().to_numpy(), "panic alarm", "")
    out["unknown"] = pd.Series([", ".join(p for p in pair if p) for pair in zip(unknown, unknown_alarm, strict=True)],
                               dtype="string")
    return gpd.GeoDataFrame(out[keep].reset_index(drop=True),
                            geometry=gpd.GeoSeries(rooms.geometry.values[keep], crs=district.crs),
                            crs=district.crs)


#: Buildings measured at once by ``compute_coverage`` (whole sites per chunk): caps peak memory.
CHUNK_BUILDINGS = 2000
#: Added to the longest camera range and AED/kit reach when deciding which campuses are close
#: enough to touch each other's figures (so chunking never changes a figure).
CHUNK_MARGIN_M = 10.0
#: Side of the grid cells chunks are cut from (m); a chunk takes whole cells in grid order, and
#: splits a cell denser than the chunk size.
CHUNK_CELL_M = 2000.0

_BUILDING_TABLES = ("rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls")
_SITE_TABLES = ("programs", "checklist", "site_boundaries", "parking")


@dataclass(frozen=True)
class SiteChunk:
    """Whole sites measured together: ``sites`` are measured and reported; ``halo`` are the
    sites within reach of them (measured as context only, so that a camera or obstacle next door
    still counts, and reported by their own chunk); ``buildings`` are buildings with no site.
    No sites at all means the whole district in one piece."""

    sites: list[str]
    halo: list[str]
    buildings: list[str]
    #: The local frames of the whole district (``LocalFrames.plan``): every campus is measured in
    #: the same frame in every chunk as in one whole run, so chunking changes no figure.
    frames: LocalFrames | None = field(default=None, compare=False, repr=False)

    @property
    def whole(self) -> bool:
        """True when this chunk is the whole district (no cut at all)."""
        return not self.sites and not self.buildings


def compute_coverage(district: District, *, config: CoverageConfig | None = None,
                     as_of: date | None = None, profile: dict[str, float] | None = None,
                     chunk_buildings: int | None = CHUNK_BUILDINGS) -> Coverage:
    """Measure camera, radio, AED/kit and communication coverage of every building.

    Parameters
    ----------
    district
        The district (``model.make_district``).
    config
        Coverage parameters; default ``load_coverage_config()``.
    as_of
        Day on which AED pads and batteries must be in date; default today.
    profile
        When given, filled with the wall time (s) of each stage (benchmarks).
    chunk_buildings
        Sites are measured in chunks of whole sites of at most about this many buildings (None:
        all at once), each with a halo of the sites within reach; facts and layers are joined.
        The figures are the same; only the peak memory changes. Rows not tied to a known site or
        building make it one chunk.
    """
    config = config or load_coverage_config()
    as_of = as_of or date.today()
    chunks = _site_chunks(district, chunk_buildings, reach_m=_longest_reach(district, config))
    if len(chunks) > 1:
        with timed(profile, "local frames"):  # the whole district's frames, for every chunk
            plan = district_frames(district, config=config).plan()
        chunks = [dataclasses.replace(chunk, frames=plan) for chunk in chunks]
    if len(chunks) <= 1:
        return _coverage_of(district, config=config, as_of=as_of, profile=profile)
    parts = [chunk_coverage(district, chunk, config=config, as_of=as_of, profile=profile)
             for chunk in chunks]
    return join_coverage(parts, district)


def site_chunks(district: District, *, chunk_buildings: int | None = CHUNK_BUILDINGS,
                config: CoverageConfig | None = None) -> list[SiteChunk]:
    """The chunks ``compute_coverage`` measures ``district`` in (see ``SiteChunk``)."""
    config = config or load_coverage_config()
    chunks = _site_chunks(district, chunk_buildings, reach_m=_longest_reach(district, config))
    if len(chunks) <= 1:
        return chunks
    plan = district_frames(district, config=config).plan()
    return [dataclasses.replace(chunk, frames=plan) for chunk in chunks]


def district_frames(district: District, *, config: CoverageConfig) -> LocalFrames:
    """The local frames ``compute_coverage`` measures ``district`` in (``geo.local``)."""
    return LocalFrames.of(district, reach_m=_longest_reach(district, config) + CHUNK_MARGIN_M)


def chunk_coverage(district: District, chunk: SiteChunk, *, config: CoverageConfig, as_of: date,
                   profile: dict[str, float] | None = None) -> Coverage:
    """Coverage of the sites of one chunk: measured with its halo, reported without it."""
    if chunk.whole:
        return _coverage_of(district, config=config, as_of=as_of, profile=profile)
    part = district.subset([*chunk.sites, *chunk.halo], building_ids=chunk.buildings)
    cov = _coverage_of(part, config=config, as_of=as_of, profile=profile, plan=chunk.frames)
    if not chunk.halo:
        return cov
    core = pd.array(chunk.sites, dtype="string")

    def keep(frame: pd.DataFrame) -> np.ndarray:
        site = frame["site_id"].astype("string")
        mask: np.ndarray = (site.isin(core).fillna(False) | site.isna()).to_numpy(dtype=bool)
        return mask

    b = part.buildings
    core_b = pd.Index(b["building_id"].astype("string")[keep(b)], name="building_id")
    core_s = cov.site_facts.values.index.intersection(pd.Index(core, name="site_id"))
    return Coverage(
        layers={name: layer[keep(layer)].reset_index(drop=True) for name, layer in cov.layers.items()},
        facts=_pick_facts(cov.facts, core_b), site_facts=_pick_facts(cov.site_facts, core_s),
        room_comm=cov.room_comm[keep(cov.room_comm)].reset_index(drop=True),
        config=config, as_of=as_of)


def join_coverage(parts: list[Coverage], district: District) -> Coverage:
    """The coverage of a whole district from the coverage of its chunks (``chunk_coverage``)."""
    frame = Frame.of(district)
    return Coverage(
        layers={name: _concat_layers([p.layers[name] for p in parts]) for name in parts[0].layers},
        facts=_concat_facts([p.facts for p in parts], frame.building_ids),
        site_facts=_concat_facts([p.site_facts for p in parts], frame.site_ids),
        room_comm=pd.concat([p.room_comm for p in parts], ignore_index=True),
        config=parts[0].config, as_of=parts[0].as_of)


def _pick_facts(table: FactTable, index: pd.Index) -> FactTable:
    return FactTable(table.values.loc[index], table.evidence.loc[index], table.subjects.loc[index])


def _longest_reach(district: District, config: CoverageConfig) -> float:
    """How far any camera view or AED/kit reach can extend from its asset (m)."""
    ranges = camera_ranges(district.cameras, config=config.cameras)["range_m"].to_numpy(dtype=float)
    longest = float(np.nanmax(ranges)) if np.isfinite(ranges).any() else 0.0
    return max(longest, config.aeds.reach_m, config.kits.reach_m)


def _cut_whole(district: District, frame: Frame) -> bool:
    """True when some row belongs to no known site or building (it could touch any campus)."""
    known_sites = set(frame.site_ids)
    for name in _BUILDING_TABLES:
        if (index_of(district.table(name)["building_id"], frame.building_ids) < 0).any():
            return True
    for name in ("sites", *_SITE_TABLES):
        sites = district.table(name)["site_id"].astype("string")
        if sites.isna().any() or not set(sites).issubset(known_sites):
            return True
    return False


def _site_chunks(district: District, chunk_buildings: int | None, *,
                 reach_m: float = 0.0, cell_m: float = CHUNK_CELL_M) -> list[SiteChunk]:
    """Chunks of whole sites of at most ``chunk_buildings`` buildings (one site bigger than that
    is a chunk alone), cut from grid cells of ``cell_m`` in grid order, each with the halo of
    sites within ``reach_m`` (+ margin) of one of its sites. However densely campuses stand, a
    chunk's own sites stay bounded; its halo holds only the direct neighbours of its sites. One
    whole chunk when the district is small or has rows that belong to no known site or building."""
    b = district.buildings
    if chunk_buildings is None or len(b) <= chunk_buildings:
        return [SiteChunk([], [], [])]
    frame = Frame.of(district)
    if _cut_whole(district, frame):
        return [SiteChunk([], [], [])]
    n_sites = len(frame.site_ids)
    per_site = np.bincount(frame.building_site[frame.building_site >= 0], minlength=n_sites)
    boxes = _site_extents(district, frame.site_ids)
    centre = _centres(boxes)
    cx, cy = np.floor(centre[:, 0] / cell_m), np.floor(centre[:, 1] / cell_m)
    order = np.lexsort((centre[:, 0], cy, cx))  # grid order (columns of cells), then west to east
    chunk_of = np.zeros(n_sites, dtype=int)
    chunk_of[order] = _even_cuts(per_site[order], chunk_buildings)
    current = int(chunk_of.max()) if n_sites else 0
    left, right = _neighbour_pairs(boxes, reach_m=reach_m + CHUNK_MARGIN_M)
    cross = chunk_of[left] != chunk_of[right]
    halo = pd.Series(right[cross]).groupby(chunk_of[left[cross]]).unique()
    ids = np.asarray(frame.site_ids, dtype=object)
    chunks = []
    for c in range(current + 1):
        own = ids[np.flatnonzero(chunk_of == c)].tolist()
        near = ids[np.sort(halo.get(c, np.array([], dtype=int)))].tolist()
        chunks.append(SiteChunk(own, near, []))
    no_site = b.loc[frame.building_site < 0, "building_id"].astype("string").tolist()
    if no_site:
        chunks[-1] = SiteChunk(chunks[-1].sites, chunks[-1].halo, no_site)
    return chunks


def _even_cuts(sizes: np.ndarray, most: int) -> np.ndarray:
    """The chunk (0, 1, ...) of each of a run of sites of ``sizes`` buildings, cut in order into
    as few chunks of at most ``most`` buildings as cutting at even shares allows (a site bigger
    than ``most`` alone): chunks of near-equal size, so that no small last chunk trails a
    district (a worker that has only it to run waits for the others)."""
    total = int(sizes.sum())
    middle = np.cumsum(sizes) - sizes / 2  # each site goes where its middle building falls
    for n_chunks in range(max(1, -(-total // most)), len(sizes) + 1):
        chunk = np.minimum((middle * n_chunks / max(total, 1)).astype(int), n_chunks - 1)
        chunk = np.unique(chunk, return_inverse=True)[1].reshape(-1)  # no empty chunk
        per_chunk = np.bincount(chunk, weights=sizes)
        sites = np.bincount(chunk)
        if ((per_chunk <= most) | (sites == 1)).all():
            return chunk
    return np.arange(len(sizes))


def _centres(boxes: np.ndarray) -> np.ndarray:
    """Centre (x, y) of each site's extent; sites with nothing mapped sort last."""
    out = np.full((len(boxes), 2), np.inf)
    drawn = ~pd.isna(boxes)
    if drawn.any():
        bounds = shapely.bounds(boxes[drawn].astype(object))
        out[drawn] = np.column_stack([(bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2])
    return out


def _site_extents(district: District, site_ids: pd.Index) -> np.ndarray:
    """The bounding box of everything drawn on each site (None when nothing is)."""
    site_of_building = dict(zip(district.buildings["building_id"], district.buildings["site_id"], strict=True))
    parts = [district.buildings[["site_id", "geometry"]], district.site_boundaries[["site_id", "geometry"]],
             district.parking[["site_id", "geometry"]]]
    for name in ("doors", "cameras", "repeaters", "aeds", "equipment"):
        table = district.table(name)
        parts.append(gpd.GeoDataFrame({"site_id": table["building_id"].map(site_of_building)},
                                      geometry=table.geometry, crs=table.crs))
    shapes = pd.concat([p[p.geometry.notna() & p["site_id"].notna()] for p in parts], ignore_index=True)
    position = index_of(shapes["site_id"].astype("string"), site_ids)
    bounds = pd.DataFrame(shapely.bounds(shapes.geometry.values), columns=["x0", "y0", "x1", "y1"])
    extent = bounds[~bounds.isna().any(axis=1)].groupby(position[~bounds.isna().any(axis=1).to_numpy()])
    extent = extent.agg({"x0": "min", "y0": "min", "x1": "max", "y1": "max"})
    boxes = np.full(len(site_ids), None, dtype=object)
    boxes[extent.index.to_numpy()] = shapely.box(extent["x0"], extent["y0"], extent["x1"], extent["y1"])
    return boxes


def _neighbour_pairs(boxes: np.ndarray, *, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of sites whose extents come within ``reach_m`` of each other (both ways)."""
    grown = shapely.buffer(boxes, reach_m / 2, cap_style="square", join_style="mitre")
    left, right = shapely.STRtree(grown).query(grown, predicate="intersects")
    return left, right


def _concat_layers(layers: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    filled = [layer for layer in layers if len(layer)]
    if not filled:
        return layers[0]
    return pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0]


def _concat_facts(tables: list[FactTable], index: pd.Index) -> FactTable:
    def joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(frames).reindex(index)
    return FactTable(joined([t.values for t in tables]), joined([t.evidence for t in tables]),
                     joined([t.subjects for t in tables]))


def _coverage_of(district: District, *, config: CoverageConfig, as_of: date,
                 profile: dict[str, float] | None, plan: LocalFrames | None = None) -> Coverage:
    """``compute_coverage`` of one chunk (or the whole district), each campus group measured in
    its own local frame (``geo.local``; ``plan``: the whole district's, for a chunk of it);
    layers come back in the district's CRS."""
    with timed(profile, "local frames"):
        frames = plan.on(district) if plan is not None else district_frames(district, config=config)
        if not frames.n_groups:
            return _measure(district, config=config, as_of=as_of, profile=profile)
        local = frames.project(district)
    cov = _measure(local, config=config, as_of=as_of, profile=profile)
    with timed(profile, "local frames"):
        kept = {"room_comm": ("room_id", district.rooms), "aeds": ("aed_id", district.aeds)}
        restored = frames.restore({name: layer for name, layer in cov.layers.items() if name not in kept},
                                  crs=district.crs, check_valid=_SLIVER_LAYERS)
        layers = {name: _with_geometry_of(layer, *kept[name], crs=district.crs) if name in kept else
                  restored[name] for name, layer in cov.layers.items()}
        true_heading = pd.Series(district.cameras["heading_deg"].to_numpy(dtype=float),
                                 index=district.cameras["camera_id"].astype("string").to_numpy())
        true_heading = true_heading[~true_heading.index.duplicated()]
        views = layers["camera_views"]
        views["heading_deg"] = views["camera_id"].astype("string").map(true_heading).to_numpy(dtype=float)
    return dataclasses.replace(cov, layers=layers)


#: Layers whose polygons may need mending after the map back (views drawn from rays).
_SLIVER_LAYERS = ("camera_views", "camera_zones", "blind_spots", "aed_reach", "kit_reach")


def _with_geometry_of(layer: gpd.GeoDataFrame, key: str, source: gpd.GeoDataFrame, *,
                      crs: str) -> gpd.GeoDataFrame:
    """``layer`` with the run-CRS geometry of the same ``key`` in ``source`` (rooms, AEDs: drawn
    as they are, so nothing to map back); the first row of a key repeated in ``source`` wins."""
    ids = source[key].astype("string")
    # Both key columns coded together: the layer's keys are the source's, so one factorize.
    codes, _ = pd.factorize(pd.concat([ids, layer[key].astype("string")], ignore_index=True))
    source_code, layer_code = codes[:len(ids)], codes[len(ids):]
    first_row = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    code, first = np.unique(source_code, return_index=True)  # the first row of each key
    first_row[code[code >= 0]] = first[code >= 0]
    at = np.where(layer_code >= 0, first_row[np.maximum(layer_code, 0)] if len(first_row) else -1, -1)
    shapes = np.asarray(source.geometry.values, dtype=object)
    geoms = np.full(len(layer), None, dtype=object)
    geoms[at >= 0] = shapes[at[at >= 0]]
    return layer.set_geometry(gpd.GeoSeries(geoms, index=layer.index, crs=crs), crs=crs)


def _measure(district: District, *, config: CoverageConfig, as_of: date,
             profile: dict[str, float] | None) -> Coverage:
    """The measurement of ``_coverage_of`` in one metric frame."""
    frame = Frame.of(district)
    facts: dict[str, Fact] = {}

    views = camera_views(district, config=config.cameras, profile=profile)
    unknown_site, notes = camera_notes(frame, views.cameras)
    with timed(profile, "entrances (join)"):
        entrance, entrance_unknown, uncovered = entrance_watch(district, frame, views, config=config.cameras)
    with timed(profile, "perimeter (join)"):
        perimeter, unwatched = perimeter_watch(district, frame, views, config=config.cameras)
    with timed(profile, "outdoor (unions)"):
        outdoor, outdoor_blind, site_pct = outdoor_watch(district, frame, views, config=config.cameras)
    with timed(profile, "corridors (unions)"):
        corridor, corridor_blind = corridor_watch(district, frame, views, config=config.cameras)
    for fact in (entrance, perimeter, outdoor, corridor):
        fact.values[unknown_site] = np.nan
    not_drawn = Fact(frame.n)
    not_drawn.values = np.array([len(n) for n in notes], dtype=float)
    not_drawn.subjects = not_drawn.values.copy()
    not_drawn.evidence = notes
    facts.update(camera_entrance_coverage=entrance, camera_entrance_coverage_unknown=entrance_unknown,
                 camera_perimeter_coverage=perimeter, camera_outdoor_coverage=outdoor,
                 corridor_camera_coverage=corridor, cameras_not_drawn=not_drawn)

    with timed(profile, "radio"):
        radio, radio_layer = radio_coverage(district, frame, config=config.radio)
    facts.update(radio)

    with timed(profile, "AED and kit reach (walking grid)"):
        grid = walk_grid(district, frame, config=config.indoor_walk)
    with timed(profile, "AED and kit reach (unions)"):
        aeds = district.aeds.reset_index(drop=True)
        status = aed_status(aeds, as_of=as_of)
        stair_s = config.indoor_walk.stair_seconds_per_floor.value
        aed_fact, aed_discs, aed_gaps = asset_reach(
            district, frame, aeds, id_column="aed_id", in_service=status["in_service"].to_numpy(),
            reach_m=config.aeds.reach_m, quad_segs=config.aeds.quad_segs.value, label="AED",
            grid=grid, walk_m=config.aeds.walk_m, stair_m=stair_s * config.aeds.walk_speed_m_s.value)
        eq = district.equipment.reset_index(drop=True)
        kits = eq[(eq["type"] == "stop_the_bleed_kit").fillna(False).to_numpy()].reset_index(drop=True)
        kit_fact, kit_discs, kit_gaps = asset_reach(
            district, frame, kits, id_column="equipment_id", in_service=np.ones(len(kits), dtype=bool),
            reach_m=config.kits.reach_m, quad_segs=config.aeds.quad_segs.value, label="stop-the-bleed kit",
            grid=grid, walk_m=config.kits.walk_m, stair_m=stair_s * config.kits.walk_speed_m_s.value)
        facts.update(aed_reach_coverage=aed_fact, kit_reach_coverage=kit_fact,
                     kit_place_coverage=kit_places(district, frame, kits, config=config.kits))

    with timed(profile, "units needed (AEDs, entrance cameras)"):
        units = units_needed(frame, aeds=aeds, in_service=status["in_service"].to_numpy(), unreached=aed_gaps,
                             unseen=uncovered, config=config, crs=district.crs)

    with timed(profile, "room communication"):
        room_comm = room_communication(district, config=config)

    with timed(profile, "facts and layers"):
        fact_table = _fact_table(frame.building_ids, facts)
        site_table = _fact_table(frame.site_ids, {"camera_outdoor_coverage": _site_fact(site_pct)})
        aed_points = aeds[["aed_id", "building_id", "room_id", "located"]].copy()
        aed_points["site_id"] = _sites_of(aeds["building_id"], frame)
        aed_points["status"] = status["status"].to_numpy()
        aed_points["in_service"] = status["in_service"].to_numpy()
        aed_points["expiry_known"] = status["expiry_known"].to_numpy()
        aed_points["pads_expiry"] = aeds["pads_expiry"].dt.strftime("%Y-%m-%d").astype("string")
        aed_points["battery_expiry"] = aeds["battery_expiry"].dt.strftime("%Y-%m-%d").astype("string")
        aed_points = gpd.GeoDataFrame(aed_points, geometry=aeds.geometry.values, crs=district.crs)
        blind = pd.concat([outdoor_blind, corridor_blind], ignore_index=True)
        layers = {
            "cameras": views.cameras, "camera_views": views.views, "camera_zones": views.zones,
            "blind_spots": gpd.GeoDataFrame(blind, geometry="geometry", crs=district.crs),
            "unwatched_perimeter": unwatched, "uncovered_entrances": uncovered,
            "radio_coverage": radio_layer, "aeds": aed_points, "aed_reach": aed_discs,
            "aed_unreached": aed_gaps, "kit_reach": kit_discs, "kit_unreached": kit_gaps,
            "room_comm": room_comm, "units_needed": units,
        }
    return Coverage(layers=layers, facts=fact_table, site_facts=site_table,
                    room_comm=pd.DataFrame(room_comm.drop(columns="geometry")), config=config, as_of=as_of)


def _site_fact(pct: np.ndarray) -> Fact:
    fact = Fact(len(pct))
    fact.values = pct
    fact.subjects = np.isfinite(pct).astype(float)
    return fact


def _sites_of(building_ids: pd.Series, frame: Frame) -> pd.Series:
    b = index_of(building_ids, frame.building_ids)
    s = np.where(b >= 0, frame.building_site[np.maximum(b, 0)] if frame.n else -1, -1)
    ids = np.asarray(frame.site_ids, dtype=object)
    return pd.Series(np.where(s >= 0, ids[np.maximum(s, 0)] if len(ids) else NONE, NONE),
                     index=building_ids.index, dtype="string")
