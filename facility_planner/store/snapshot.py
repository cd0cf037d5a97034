"""An assessment as the store keeps it: content hashes, per-building rows, Parquet blobs and map
features, and back. Pure functions over the ``Assessment`` (no database here)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from facility_planner.io.exports import COVERAGE_METRICS, plain_value
from facility_planner.store.records import SnapshotInfo

if TYPE_CHECKING:
    import geopandas as gpd

    from facility_planner.assess import Assessment

RISK_FACTORS = ("occupancy", "consequence", "threat_level", "threat", "vulnerability")
TABLE_FORMAT = "parquet"
#: Coverage layers are kept as blobs named ``layer:<name>`` (``layers.encode_layer``).
LAYER_PREFIX = "layer:"
#: The feature layer of building footprints (rows of ``snapshot_features``).
FOOTPRINTS = "buildings"


class Blob(NamedTuple):
    """One row of ``snapshot_tables``: a table or layer's name, its format, rows and bytes."""

    name: str
    format: str
    rows: int
    data: bytes


@dataclass
class Snapshot:
    """A saved assessment read back: what ``Store.load`` returns.

    ``buildings``: one row per building (ids, name, measure score, PASS overall tier, risk, a
    column per minimum measure, ``pass_<layer>`` tiers, coverage percentages and risk factors);
    ``sites``: the site roll-up; ``results``: every rule result with its evidence; ``projects``,
    ``data_needed``, ``facts`` (values), ``site_facts``; ``problems`` and ``rejected``: the
    validation report; ``settings``: rules packs, cost catalog, risk and coverage settings in
    force; ``summary``: district figures and the budget (portfolio, method, gap); ``layers``:
    the coverage map layers (empty when loaded with ``layers=False``); ``footprints``: the
    building footprints.
    """

    info: SnapshotInfo
    buildings: pd.DataFrame
    sites: pd.DataFrame
    results: pd.DataFrame
    projects: pd.DataFrame
    data_needed: pd.DataFrame
    facts: pd.DataFrame
    site_facts: pd.DataFrame
    problems: pd.DataFrame
    rejected: pd.DataFrame
    settings: dict[str, Any]
    summary: dict[str, Any]
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    footprints: gpd.GeoDataFrame | None = None


def to_parquet(frame: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes (categoricals, nullable integers and list cells kept)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


def from_parquet(data: bytes, *, columns: list[str] | None = None) -> pd.DataFrame:
    """Parquet bytes back to a frame (optionally only some columns: those the table has; a
    snapshot saved without a budget has no ``selected`` column, for instance)."""
    import pyarrow.parquet as pq

    if columns is not None:
        present = set(pq.read_schema(io.BytesIO(data)).names)
        columns = [c for c in columns if c in present]
    return pd.read_parquet(io.BytesIO(data), columns=columns)


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON; NaN becomes null."""
    return json.dumps(plain_value(value, nested=True), sort_keys=True, separators=(",", ":"), default=str)


def _hash_frame(digest: Any, frame: pd.DataFrame) -> None:
    import geopandas as gpd
    import shapely

    plain = frame
    if isinstance(frame, gpd.GeoDataFrame):
        geometry = np.asarray(frame.geometry.values)
        coords, index = shapely.get_coordinates(geometry, return_index=True)
        digest.update(coords.tobytes())
        digest.update(index.tobytes())
        digest.update(shapely.get_type_id(geometry).tobytes())
        plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    digest.update(",".join(map(str, plain.columns)).encode())
    if len(plain):
        try:
            hashed = pd.util.hash_pandas_object(plain, index=False, categorize=True)
        except TypeError:  # cells of lists: hash their text
            hashed = pd.util.hash_pandas_object(plain.astype(str), index=False)
        digest.update(hashed.to_numpy().tobytes())


def inventory_hash(assessment: Assessment) -> str:
    """SHA-256 of the district's tables and geometries as read (the inventory's content)."""
    digest = hashlib.sha256()
    district = assessment.district
    for f in dataclasses.fields(district):
        value = getattr(district, f.name)
        if isinstance(value, pd.DataFrame):
            digest.update(f.name.encode())
            _hash_frame(digest, value.drop(columns=[c for c in ("source_row",) if c in value]))
    digest.update(str(district.crs).encode())
    return digest.hexdigest()


def settings_record(assessment: Assessment) -> dict[str, Any]:
    """The policy in force: rules packs (ids, versions, every rule), costs, risk, coverage."""
    s = assessment.settings
    return {
        "pass_edition": s.edition,
        "rules_packs": [p.model_dump(mode="json") for p in s.packs],
        "cost_catalog": dataclasses.asdict(s.catalog),
        "risk": dataclasses.asdict(s.risk),
        "coverage": s.coverage.model_dump(mode="json"),
    }


def input_hashes(assessment: Assessment, settings_json: str) -> tuple[str, str, str]:
    """(inventory, settings, inputs) hashes; inputs also covers the date and the budget."""
    inventory = inventory_hash(assessment)
    settings = hashlib.sha256(settings_json.encode()).hexdigest()
    run = f"{inventory}|{settings}|{assessment.as_of.isoformat()}|{assessment.budget}"
    return inventory, settings, hashlib.sha256(run.encode()).hexdigest()


def district_name(assessment: Assessment) -> str:
    """The district key: the sites' ``district`` column (one name, or names joined), else "district"."""
    sites = assessment.district.sites
    if "district" in sites:
        names = sorted({str(v) for v in sites["district"].dropna() if str(v).strip()})
        if names:
            return " + ".join(names)
    return "district"


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (NaN/NA -> null); '{}' for a frame without columns."""
    if frame.shape[1] == 0:
        return ["{}"] * len(frame)
    text = frame.to_json(orient="records", lines=True, date_format="iso", double_precision=4)
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    return lines


#: The JSON text columns of ``snapshot_buildings`` and the prefix of their keys as frame columns.
BUILDING_JSON = {"measures": "", "pass_layers": "pass_", "pass_tiers": "tier:", "coverage": "", "risk_factors": ""}
#: The columns of every per-building frame (``Store.buildings``) before the JSON parts.
BUILDING_HEAD = ["building_id", "site_id", "name", "measure_score", "pass_overall", "risk"]
#: The bulk table holding one snapshot's per-building figures as columns: diffs, roll-ups and
#: trends read it instead of parsing the JSON of ``snapshot_buildings`` (snapshots saved before
#: it existed have only those rows, and are read from them).
FIGURES = "building_figures"


def _building_parts(assessment: Assessment) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Per building (index: building_id as text): the head columns, and the frames kept as the
    JSON columns of ``snapshot_buildings`` (``BUILDING_JSON``; their own column names)."""
    district, scores = assessment.district, assessment.scores
    ids = pd.Index(district.buildings["building_id"].astype(str), name="building_id")
    b = district.buildings.set_index(ids)
    tiers = _component_tiers(scores.pass_tiers, ids)
    cov_values = assessment.coverage.facts.values if assessment.coverage is not None else pd.DataFrame(index=ids)
    risk = assessment.risk.reindex(ids)
    head = pd.DataFrame({
        "building_id": ids.to_numpy(dtype=object),
        "site_id": _object_texts(b["site_id"].astype(object)).to_numpy(),
        "name": (_object_texts(b["name"].astype(object)).to_numpy() if "name" in b
                 else np.full(len(ids), None, dtype=object)),
        "measure_score": scores.measure_scores["score"].reindex(ids).to_numpy(dtype=float),
        "pass_overall": scores.pass_overall.reindex(ids).astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        "risk": risk["risk"].to_numpy(dtype=float) if "risk" in risk else np.full(len(ids), np.nan),
    }, index=ids)
    parts = {"measures": scores.minimum_measures.reindex(ids), "pass_layers": scores.pass_layer_tiers.reindex(ids),
             "pass_tiers": tiers.reindex(ids),
             "coverage": cov_values.reindex(ids)[[c for c in COVERAGE_METRICS if c in cov_values]],
             "risk_factors": risk[[c for c in RISK_FACTORS if c in risk]]}
    return head, parts


def _component_tiers(pass_tiers: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """PASS tiers per building, one column per ``layer.component`` (sorted; columns without a tier dropped)."""
    if not len(pass_tiers):
        return pd.DataFrame(index=ids)
    tiers = (pass_tiers.groupby(["building_id", "layer", "component"], sort=False, observed=True)["tier"]
             .first().unstack(["layer", "component"]))
    tiers.columns = pd.Index([f"{layer}.{component}" for layer, component in tiers.columns])
    tiers.index = tiers.index.astype(str)
    return tiers[sorted(tiers.columns)].dropna(axis=1, how="all").reindex(ids)


def _wide(head: pd.DataFrame, parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The head and the parts side by side (part columns with their ``BUILDING_JSON`` prefix);
    a name taken twice keeps its first column."""
    frames = [head, *(part.add_prefix(BUILDING_JSON[key]) if BUILDING_JSON[key] else part
                      for key, part in parts.items())]
    frame = pd.concat([f.reset_index(drop=True) for f in frames], axis=1)
    return frame.loc[:, ~frame.columns.duplicated()]


def building_tables(assessment: Assessment) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The per-building figures twice: one ``snapshot_buildings`` row per building (figures as
    JSON text, for SQL and GIS users) and one frame (the ``building_figures`` table: ids, name,
    measure score, PASS overall tier, risk, a column per minimum measure with the statuses as
    categories, ``pass_<layer>`` tiers, ``tier:<layer.component>``, coverage and risk factors),
    which diffs, roll-ups and trends read."""
    head, parts = _building_parts(assessment)
    texts = [_json_lines(part.astype(object) if key == "measures" else part) for key, part in parts.items()]
    records = head.astype(object).where(head.notna(), None).to_dict("records")
    for record, ov in zip(records, head["pass_overall"], strict=True):
        record["pass_overall"] = _int(ov)
    rows = [{**record, **dict(zip(parts, row, strict=True))}
            for record, row in zip(records, zip(*texts, strict=True), strict=True)]
    return rows, _wide(head, parts)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def site_rows(assessment: Assessment) -> list[dict[str, Any]]:
    """One ``snapshot_sites`` row per site: the site roll-up figures (and Ten Actions) as JSON."""
    rollup = assessment.scores.site_rollup
    names = rollup["name"] if "name" in rollup else pd.Series(None, index=rollup.index)
    figures = _json_lines(rollup.drop(columns=[c for c in ("name",) if c in rollup]))
    return [{"site_id": str(sid), "name": _text(name), "figures": fig}
            for sid, name, fig in zip(rollup.index, names, figures, strict=True)]


def bulk_tables(assessment: Assessment) -> dict[str, pd.DataFrame]:
    """The large tables, kept as Parquet blobs: rule results, projects, facts, data needed, validation."""
    report = assessment.report
    problems = report.to_frame().astype(object)
    rejected = report.rejected_frame().astype("string")
    tables = {
        "results": assessment.scores.results,
        "projects": assessment.projects,
        "data_needed": assessment.data_needed,
        "facts": assessment.facts.values.reset_index(),
        "site_facts": assessment.site_facts.values.reset_index(),
        "problems": problems.where(problems.notna(), None).astype("string"),
        "rejected": rejected,
    }
    if assessment.coverage is not None:
        tables["coverage_facts"] = assessment.coverage.facts.values.reset_index()
    return tables


def summary_record(assessment: Assessment) -> dict[str, Any]:
    """District figures, budget and totals kept with the snapshot (and shown by ``history``)."""
    rollup = assessment.scores.district_rollup
    projects = assessment.projects
    selected = projects["selected"].astype(bool) if "selected" in projects else pd.Series(False, index=projects.index)
    budget = (assessment.portfolio.as_dict() if assessment.portfolio is not None
              else {"limit": None, "method": "none: no budget given"})
    risk = assessment.risk["risk"] if "risk" in assessment.risk else pd.Series(dtype=float)
    return {
        "district": rollup.iloc[0].to_dict() if len(rollup) else {},
        "budget": budget,
        "risk_total": float(risk.sum()),
        "projects_cost": float(projects["cost"].sum()) if len(projects) else 0.0,
        "selected_cost": float(projects.loc[selected, "cost"].sum()) if len(projects) else 0.0,
        "selected_risk_reduction": float(projects.loc[selected, "risk_reduction"].sum()) if len(projects) else 0.0,
        "data_needed": len(assessment.data_needed),
        "validation_errors": len(assessment.report.errors),
        "rejected_rows": assessment.report.rejected_count,
        "timings_s": assessment.timings,
    }


def table_blobs(tables: dict[str, pd.DataFrame]) -> Iterator[Blob]:
    """Each bulk table as a Parquet blob, one at a time."""
    for name, frame in tables.items():
        yield Blob(name, TABLE_FORMAT, len(frame), to_parquet(frame))


def layer_blobs(coverage: Any) -> Iterator[Blob]:
    """Each coverage layer as a blob (``layers.encode_layer``: geometry exactly as measured;
    object columns, such as lists, as text: ``_object_texts``), one at a time."""
    from facility_planner.store.layers import encode_layer

    for name, raw in coverage.layers.items():
        layer = raw.reset_index(drop=True)
        objects = [c for c in layer.columns if c != layer.geometry.name and layer[c].dtype == object]
        if objects:
            layer = layer.assign(**{c: _object_texts(layer[c]) for c in objects})
        fmt, data = encode_layer(layer)
        yield Blob(f"{LAYER_PREFIX}{name}", fmt, len(layer), data)


def _object_texts(values: pd.Series) -> pd.Series:
    """Cells of any kind as text (lists joined with ``; ``, missing as None), each distinct value
    converted once."""
    cache: dict[tuple[type, Any], str | None] = {}

    def text(value: Any) -> str | None:
        plain = plain_value(value)
        return None if plain is None else str(plain)

    out: list[str | None] = []
    for value in values:
        try:
            key = (type(value), value)
            if key not in cache:
                cache[key] = text(value)
            out.append(cache[key])
        except TypeError:  # unhashable: lists, dicts
            out.append(text(value))
    return pd.Series(out, index=values.index, dtype=object)


def layer_from_blob(fmt: str, data: bytes) -> gpd.GeoDataFrame:
    """A coverage layer back from its blob (either format: ``layers.decode_layer``)."""
    from facility_planner.store.layers import decode_layer

    return decode_layer(fmt, data)


def feature_rows(layers: dict[str, gpd.GeoDataFrame], srid: int | None, *,
                 hex_wkb: bool = False) -> Iterable[tuple[str, int, str | None, str | None, str, Any]]:
    """(layer, feature, building_id, site_id, attrs JSON, EWKB) for every feature of every layer."""
    import shapely

    for name, layer in layers.items():
        if not len(layer):
            continue
        geoms = np.asarray(layer.geometry.values)
        if srid:
            geoms = shapely.set_srid(geoms, srid)
        wkb = shapely.to_wkb(geoms, hex=hex_wkb, include_srid=bool(srid))
        attrs = pd.DataFrame(layer.drop(columns=layer.geometry.name))
        bids = attrs["building_id"].astype(object) if "building_id" in attrs else pd.Series(None, index=attrs.index)
        sids = attrs["site_id"].astype(object) if "site_id" in attrs else pd.Series(None, index=attrs.index)
        for i, (a, b, s) in enumerate(zip(_json_lines(attrs), bids, sids, strict=True)):
            yield name, i, _text(b), _text(s), a, wkb[i]


def layers_from_rows(rows: Iterable[Any], crs: str | None) -> dict[str, gpd.GeoDataFrame]:
    """Rebuild the layers from ``(layer, feature, attrs, ewkb)`` rows ordered by layer and feature."""
    import geopandas as gpd
    import shapely

    grouped: dict[str, tuple[list[str], list[Any]]] = {}
    for layer, _feature, attrs, geom in rows:
        attrs_list, geoms = grouped.setdefault(layer, ([], []))
        attrs_list.append(attrs)
        geoms.append(None if geom is None else bytes(geom))
    out = {}
    for layer, (attrs_list, geoms) in grouped.items():
        frame = pd.read_json(io.StringIO("\n".join(attrs_list)), lines=True, dtype=False)
        out[layer] = gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(np.array(geoms, dtype=object)), crs=crs)
    return out


def _json_column(texts: list[str], *, prefix: str = "") -> pd.DataFrame:
    """A column of JSON objects (one per row) parsed at once into columns."""
    if not texts:
        return pd.DataFrame()
    frame = pd.read_json(io.StringIO("\n".join(texts)), lines=True, dtype=False)
    frame.index = pd.RangeIndex(len(texts))
    return frame.add_prefix(prefix) if prefix else frame


def buildings_frame(rows: Iterable[Any]) -> pd.DataFrame:
    """``snapshot_buildings`` rows as one wide frame (measures, ``pass_<layer>``, ``tier:<layer.component>``,
    coverage, risk factors)."""
    rows = list(rows)
    head = ["snapshot_id", "building_id", "site_id", "name", "measure_score", "pass_overall", "risk"]
    if not rows:
        return pd.DataFrame(columns=head)
    base = pd.DataFrame([tuple(getattr(r, c) for c in head) for r in rows], columns=head)
    parts = [base, _json_column([r.measures for r in rows]),
             _json_column([r.pass_layers for r in rows], prefix="pass_"),
             _json_column([r.pass_tiers for r in rows], prefix="tier:"),
             _json_column([r.coverage for r in rows]), _json_column([r.risk_factors for r in rows])]
    frame = pd.concat(parts, axis=1)
    return frame.loc[:, ~frame.columns.duplicated()]
