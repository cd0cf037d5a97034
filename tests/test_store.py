"""The assessment store on both back ends (``store_url`` is parametrised: SQLite and PostGIS)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from facility_planner.errors import StoreError, StoreVersionError
from facility_planner.store import AuditEvent, Grant, open_store
from facility_planner.store.records import utc_now
from facility_planner.store.schema import SCHEMA_HEAD
from tests.conftest import SAMPLE_DOOR_BUILDING


@pytest.fixture
def store(store_url):
    with open_store(store_url) as s:
        yield s


def test_save_load_round_trip_keeps_everything(store, sample_assessment):
    a = sample_assessment
    info = store.save(a, user="pat@district.org", role="planner")
    assert info.kind == store.kind and info.buildings == len(a.district.buildings) and info.repeat_of is None
    assert info.as_of.isoformat() == "2026-11-28" and info.district == "Sample Community School District"
    snap = store.load(info.id)
    assert snap.info == info
    results = a.scores.results
    assert len(snap.results) == len(results)
    assert snap.results["status"].astype(str).tolist() == results["status"].astype(str).tolist()
    assert [list(e) for e in snap.results["evidence"]] == [list(e) for e in results["evidence"]]
    assert snap.projects["project_id"].tolist() == a.projects["project_id"].tolist()
    assert snap.projects["selected"].tolist() == a.projects["selected"].tolist()
    np.testing.assert_allclose(snap.projects["cost"], a.projects["cost"])
    by_id = snap.buildings.set_index("building_id")
    mm = a.scores.minimum_measures
    assert (by_id.loc[mm.index, mm.columns].astype(str) == mm.astype(str)).all().all()
    np.testing.assert_allclose(by_id.loc[a.risk.index, "risk"], a.risk["risk"])
    assert {p["id"] for p in snap.settings["rules_packs"]} == {p.id for p in a.settings.packs}
    assert snap.settings["cost_catalog"] and snap.settings["risk"] and snap.settings["coverage"]
    assert snap.summary["budget"]["method"] == a.portfolio.method
    assert set(snap.layers) == set(a.coverage.layers)
    assert snap.footprints["building_id"].tolist() == a.district.buildings["building_id"].tolist()
    assert snap.footprints.crs == a.district.buildings.crs
    assert snap.footprints.geometry.geom_equals_exact(a.district.buildings.geometry.reset_index(drop=True),
                                                      1e-6).all()
    for name, layer in snap.layers.items():
        original = a.coverage.layers[name]
        assert len(layer) == len(original) and layer.crs == original.crs
        before = original.geometry.reset_index(drop=True)
        same = layer.geometry.geom_equals_identical(before) | (layer.geometry.isna() & before.isna())
        assert same.all(), name  # every coordinate as measured, bit for bit
    assert len(snap.sites) == len(a.district.sites)


def test_saving_twice_never_overwrites_and_recognises_the_same_inputs(store, sample_assessment,
                                                                       fixed_assessment):
    first = store.save(sample_assessment, user="a", role="planner")
    second = store.save(sample_assessment, user="b", role="planner")
    third = store.save(fixed_assessment, user="a", role="planner")
    assert first.id != second.id and second.repeat_of == first.id
    assert third.repeat_of is None and third.inventory_hash != first.inventory_hash
    assert third.settings_hash == first.settings_hash
    assert [s.id for s in store.snapshots()] == [first.id, second.id, third.id]
    assert store.load(first.id).info.user == "a"


def test_diff_names_the_fixed_doors_building_and_measure(store, sample_assessment, fixed_assessment):
    a = store.save(sample_assessment, user="a", role="planner")
    b = store.save(fixed_assessment, user="a", role="planner")
    diff = store.diff(a.id, b.id)
    where = SAMPLE_DOOR_BUILDING
    moved = diff.measures.set_index(["building_id", "measure"])
    assert moved.loc[(where, "A1"), ["before", "after", "change"]].tolist() == ["partial", "met", "gained"]
    assert set(diff.measures["building_id"]) == {where}
    rules = diff.rules[diff.rules["building_id"] == where]
    assert "A1-ENTRY-DOORS" in set(rules["rule_id"])
    assert f"{where}: A1 partial -> met (gained)" in diff.lines()
    row = diff.buildings.set_index("building_id").loc[where]
    assert row["gained"] == ["A1"] and row["lost"] == []
    projects = diff.projects[diff.projects["building_id"] == where]
    access = projects[projects["measure"].astype(str).str.contains("access_control")]
    assert (access["state"] == "closed").all()
    assert diff.totals["closed"] == len(diff.projects[diff.projects["state"] == "closed"])
    doc = diff.as_dict()
    assert doc["a"]["id"] == a.id and any(m["building_id"] == where for m in doc["measures"])


def test_marked_done_projects_show_in_the_diff(store, sample_assessment, fixed_assessment):
    a = store.save(sample_assessment, user="a", role="planner")
    chosen = sample_assessment.projects[sample_assessment.projects["selected"]].iloc[0]
    store.mark_project(a.district, chosen["project_id"], user="fin@d.org", building_id=chosen["building_id"],
                       note="invoice 12")
    b = store.save(fixed_assessment, user="a", role="planner")
    row = store.diff(a.id, b.id).projects.set_index("project_id").loc[chosen["project_id"]]
    assert row["mark"] == "done"
    marks = store.project_marks(district=a.district)
    assert marks["project_id"].tolist() == [chosen["project_id"]]
    assert store.audit_events(action="mark project done")[0].user == "fin@d.org"


def test_rollup_has_the_same_figures_at_every_level(store, sample_assessment, fixed_assessment):
    store.save(sample_assessment, user="a", role="planner")
    store.save(fixed_assessment, user="a", role="planner", district="Other District")
    building = store.rollup(level="building")
    site = store.rollup(level="site")
    district = store.rollup(level="district")
    state = store.rollup(level="state")
    assert len(building) == 2 * len(sample_assessment.district.buildings)
    assert len(district) == 2 and len(state) == 1
    assert state["buildings"].iat[0] == district["buildings"].sum() == site["buildings"].sum()
    assert state["districts"].iat[0] == 2
    np.testing.assert_allclose(state["risk_total"].iat[0], district["risk_total"].sum())
    for col in ("score_mean", "M2_met_pct", "risk_total", "pass_overall_min", "review_due"):
        assert col in site and col in district and col in state
    one = district.set_index("district").loc["Sample Community School District"]
    np.testing.assert_allclose(one["score_mean"], sample_assessment.scores.measure_scores["score"].mean())
    assert not one["review_due"]
    trend = store.rollup(level="district", every_snapshot=True)
    assert len(trend) == 2 and "as_of" in trend


def test_review_due_after_a_year(sample_assessment):
    from datetime import date

    from facility_planner.store.compare import rollup_frame

    frame = pd.DataFrame({"snapshot_id": [1], "building_id": ["B"], "site_id": ["S"], "district": ["D"],
                          "measure_score": [50.0], "pass_overall": [1], "risk": [3.0], "M1": ["met"],
                          "as_of": [date(2025, 1, 1)]})
    assert rollup_frame(frame, [], level="district", today=date(2026, 6, 1))["review_due"].iat[0]
    assert not rollup_frame(frame, [], level="district", today=date(2025, 6, 1))["review_due"].iat[0]


def test_delete_needs_a_reason_keeps_a_tombstone_and_audits(store, sample_assessment):
    keep = store.save(sample_assessment, user="a", role="planner")
    gone = store.save(sample_assessment, user="a", role="planner")
    with pytest.raises(StoreError, match="reason"):
        store.delete(gone.id, reason=" ", user="admin@d.org")
    store.delete(gone.id, reason="saved by mistake", user="admin@d.org")
    assert [s.id for s in store.snapshots()] == [keep.id]
    with pytest.raises(StoreError, match=f"no snapshot {gone.id}"):
        store.load(gone.id)
    tomb = store.deletions()
    assert tomb["snapshot_id"].tolist() == [gone.id] and tomb["reason"].iat[0] == "saved by mistake"
    event = store.audit_events(action="delete snapshot")[0]
    assert event.user == "admin@d.org" and event.after == {"reason": "saved by mistake"}
    assert store.load(keep.id).info.id == keep.id


def test_grants_are_case_insensitive_replaced_revoked_and_audited(store):
    store.grant("Pat@District.org", role="facilities", districts=["North", "South"], by="admin@d.org")
    store.grant("state@ia.gov", role="planner", districts=["*"], by="admin@d.org")
    assert store.grant_for("pat@district.ORG") == Grant("pat@district.org", "facilities", ("North", "South"))
    assert store.grant_for("state@ia.gov").covers("Anywhere")
    assert not store.grant_for("pat@district.org").covers("East")
    store.grant("pat@district.org", role="finance", districts=["North"], by="admin@d.org")
    assert [g.role for g in store.grants()] == ["finance", "planner"]
    store.revoke("PAT@district.org", by="admin@d.org")
    assert store.grant_for("pat@district.org") is None
    events = [(e.action, e.target) for e in store.audit_events(user="admin@d.org")]
    assert events == [("grant", "pat@district.org"), ("grant", "state@ia.gov"), ("grant", "pat@district.org"),
                      ("revoke", "pat@district.org")]
    changed = store.audit_events(action="grant")[2]
    assert changed.before == {"role": "facilities", "districts": ["North", "South"]}
    assert changed.after == {"role": "finance", "districts": ["North"]}
    with pytest.raises(StoreError, match="no role"):
        store.grant("x@d.org", role="superuser", districts=["North"], by="admin@d.org")


def test_audit_trail_records_and_filters(store, sample_assessment):
    store.record(AuditEvent(user="u@d.org", action="export", target="assessment.xlsx", district="North"))
    past = utc_now() - timedelta(days=3)
    store.record(AuditEvent(user="v@d.org", action="edit cell", target="doors!B7", before="N", after="Y", at=past))
    info = store.save(sample_assessment, user="u@d.org", role="planner")
    events = store.audit_events()
    assert [e.action for e in events] == ["edit cell", "export", "save"]
    assert events[0].before == "N" and events[0].after == "Y" and events[0].at == past
    assert [e.action for e in store.audit_events(user="u@d.org")] == ["export", "save"]
    assert store.audit_events(action="save")[0].target == f"snapshot {info.id}"
    assert len(store.audit_events(since=utc_now() - timedelta(days=1))) == 2
    assert all(e.at.tzinfo is not None for e in events)


def test_readonly_store_reads_but_refuses_writes(store_url, sample_assessment):
    with open_store(store_url) as s:
        info = s.save(sample_assessment, user="a", role="planner")
    with open_store(store_url, readonly=True) as ro:
        assert [s.id for s in ro.snapshots()] == [info.id]
        assert ro.load(info.id, layers=False).info.id == info.id
        with pytest.raises(StoreError, match="read-only"):
            ro.save(sample_assessment, user="a", role="planner")
        with pytest.raises(StoreError, match="read-only"):
            ro.grant("x@d.org", role="planner", districts=["*"], by="a")


def _engine(url: str) -> sa.Engine:
    from facility_planner.store.engine import make_engine

    return make_engine(url, readonly=False)[0]


def test_store_of_the_previous_schema_migrates_with_nothing_lost(store_url, sample_assessment):
    from alembic import command

    from facility_planner.store.engine import alembic_config

    with open_store(store_url) as s:
        info = s.save(sample_assessment, user="a", role="planner")
        before = s.load(info.id)
    engine = _engine(store_url)
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")  # the schema before roles and the audit trail
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        assert "grants" not in sa.inspect(conn).get_table_names()
    engine.dispose()
    with open_store(store_url) as s:
        assert s.revision == SCHEMA_HEAD
        after = s.load(info.id)
        assert after.info == before.info and len(after.results) == len(before.results)
        assert after.buildings.equals(before.buildings)
        s.grant("a@d.org", role="admin", districts=["*"], by="setup")
        assert s.grant_for("a@d.org").role == "admin"


def test_store_of_schema_0003_upgrades_with_every_layer_identical(store_url, sample_assessment):
    """Downgrading to 0003 rewrites compact layers as GeoParquet (what 0003 reads); upgrading
    again reads the same layers, coordinate for coordinate."""
    import geopandas as gpd
    import shapely
    from alembic import command

    from facility_planner.store.engine import alembic_config
    from facility_planner.store.layers import XY_FORMAT

    with open_store(store_url) as s:
        info = s.save(sample_assessment, user="a", role="planner")
        before = s.load(info.id)
    engine = _engine(store_url)
    formats = sa.text("SELECT name, format, data FROM snapshot_tables WHERE name LIKE 'layer:%'")
    with engine.connect() as conn:
        assert XY_FORMAT in {r.format for r in conn.execute(formats)}
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0003"
        for row in conn.execute(formats):  # as schema 0003 reads them: GeoParquet
            assert row.format == "parquet"
            assert len(gpd.read_parquet(io.BytesIO(bytes(row.data)))) == len(before.layers[row.name[6:]])
    engine.dispose()
    with open_store(store_url) as s:
        assert s.revision == SCHEMA_HEAD
        after = s.load(info.id)
        later = s.save(sample_assessment, user="a", role="planner")
        assert later.repeat_of == info.id
    assert set(after.layers) == set(before.layers) == set(sample_assessment.coverage.layers)
    for name, layer in after.layers.items():
        x, y = (np.asarray(f.geometry.values, dtype=object) for f in (before.layers[name], layer))
        assert (shapely.equals_identical(x, y) | (pd.isna(x) & pd.isna(y))).all(), name
        pd.testing.assert_frame_equal(pd.DataFrame(layer.drop(columns=layer.geometry.name)),
                                      pd.DataFrame(before.layers[name].drop(columns=layer.geometry.name)))


def test_store_made_by_a_newer_version_is_refused_in_one_sentence(store_url):
    open_store(store_url).close()
    engine = _engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreVersionError) as err:
        open_store(store_url)
    message = str(err.value)
    assert "newer version" in message and message.count(".") >= 1 and "\n" not in message


def test_comparison_sheet_is_added_and_neutralises_formulas(tmp_path):
    import io

    from openpyxl import Workbook, load_workbook

    from facility_planner.io.exports import add_comparison_sheet
    from facility_planner.store.compare import COMPARISON_COLUMNS

    buffer = io.BytesIO()
    Workbook().save(buffer)
    frame = pd.DataFrame([["=HYPERLINK(\"x\")", "S", "measure", "A1", "partial", "met", "gained", None],
                          ["B2", "S", "project", "B2:locks", "chosen", "closed", "", 1200.0]],
                         columns=COMPARISON_COLUMNS)
    data = add_comparison_sheet(buffer.getvalue(), frame, title="What changed")
    data = add_comparison_sheet(data, frame, title="What changed")  # replaced, not duplicated
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames.count("Comparison") == 1
    ws = wb["Comparison"]
    assert ws["A1"].value == "What changed" and ws["A3"].value == "'=HYPERLINK(\"x\")"
    assert ws["H4"].value == 1200.0


def test_history_list_upgrades_an_older_store(tmp_path, sample_assessment, capsys):
    from alembic import command

    from facility_planner.cli import main
    from facility_planner.errors import StoreUpgradeNeeded
    from facility_planner.store.engine import alembic_config

    path = str(tmp_path / "old.sqlite")
    with open_store(path) as s:
        info = s.save(sample_assessment, user="a", role="planner")
    engine = _engine(path)
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    engine.dispose()
    with pytest.raises(StoreUpgradeNeeded):
        open_store(path, readonly=True)
    assert main(["history", "list", "--store", path, "--json"]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [info.id]
    with open_store(path, readonly=True) as ro:
        assert ro.revision == SCHEMA_HEAD


def test_footprints_are_real_geometries_in_the_database(store, sample_assessment):
    info = store.save(sample_assessment, user="a", role="planner")
    with store._engine.connect() as conn:
        if store.kind == "postgis":  # a PostGIS geometry column: SQL functions and a spatial index work
            srid, kind, area = conn.execute(sa.text(
                "SELECT min(ST_SRID(geom)), min(ST_GeometryType(geom)), sum(ST_Area(geom)) "
                "FROM snapshot_features WHERE snapshot_id = :s"), {"s": info.id}).one()
            assert srid == 32615 and kind in ("ST_Polygon", "ST_MultiPolygon")
        else:  # EWKB blobs shapely reads back
            import shapely

            blobs = conn.execute(sa.text("SELECT geom FROM snapshot_features WHERE snapshot_id = :s"),
                                 {"s": info.id}).scalars().all()
            geoms = shapely.from_wkb(blobs)
            assert shapely.get_srid(geoms).min() == 32615
            area = float(shapely.area(geoms).sum())
    np.testing.assert_allclose(area, sample_assessment.district.buildings.area.sum(), rtol=1e-9)


def test_table_blobs_are_not_compressed_twice(store, sample_assessment):
    """Parquet blobs are zstd already: PostgreSQL keeps them as they are (revision 0003), and they read back."""
    info = store.save(sample_assessment, user="a", role="planner")
    if store.kind == "postgis":
        with store._engine.connect() as conn:
            storage = conn.execute(sa.text(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'snapshot_tables'::regclass "
                "AND attname = 'data'")).scalar_one()
        assert storage == "e"
    assert len(store.load(info.id).results) == len(sample_assessment.scores.results)


def _same_values(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """The same columns and cells, rows in any order (numbers to 1e-3: the JSON rows kept 4
    decimals; text as text)."""
    assert list(before.columns) == list(after.columns)
    assert len(before) == len(after)
    keys = [k for k in ("snapshot_id", "building_id", "district", "site_id", "rule_id", "measure", "component",
                        "metric", "project_id") if k in before]
    before, after = (f.sort_values(keys, kind="stable", ignore_index=True) for f in (before, after))
    for col in before.columns:
        x, y = before[col].reset_index(drop=True), after[col].reset_index(drop=True)
        assert (x.isna() == y.isna()).all(), col
        filled = x.notna()
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            np.testing.assert_allclose(x[filled].astype(float), y[filled].astype(float), atol=1e-3, err_msg=col)
        else:
            assert x[filled].astype(str).tolist() == y[filled].astype(str).tolist(), col


def test_snapshot_saved_before_the_figures_table_reads_the_same(store, sample_assessment, fixed_assessment):
    """A snapshot saved by the previous version has per-building JSON rows only (no
    ``building_figures`` table): load, buildings, diff and roll-ups read it the same."""
    from facility_planner.store import schema
    from facility_planner.store.snapshot import FIGURES

    a = store.save(sample_assessment, user="a", role="planner")
    b = store.save(fixed_assessment, user="a", role="planner")
    new = (store.load(a.id).buildings, store.buildings(), store.diff(a.id, b.id), store.rollup(level="site"))
    with store._engine.begin() as conn:
        gone = conn.execute(sa.delete(schema.snapshot_tables).where(schema.snapshot_tables.c.name == FIGURES))
        assert gone.rowcount == 2
    old = (store.load(a.id).buildings, store.buildings(), store.diff(a.id, b.id), store.rollup(level="site"))
    for before, after in zip(new[:2], old[:2], strict=True):
        _same_values(before, after)
    assert set(new[1]["snapshot_id"]) == {a.id, b.id} and {"district", "as_of", "saved_at"} <= set(new[1].columns)
    for part in ("measures", "rules", "tiers", "coverage", "projects"):
        _same_values(getattr(new[2], part), getattr(old[2], part))
    _same_values(new[2].buildings.drop(columns=["gained", "lost"]), old[2].buildings.drop(columns=["gained", "lost"]))
    gained = [dict(zip(d.buildings["building_id"], d.buildings["gained"], strict=True)) for d in (new[2], old[2])]
    assert gained[0] == gained[1] and gained[0][SAMPLE_DOOR_BUILDING] == ["A1"]
    assert new[2].totals == pytest.approx(old[2].totals)
    _same_values(new[3], old[3])


def test_figures_table_has_every_building_figure_as_a_column(store, sample_assessment):
    """The ``building_figures`` table: one row per building, statuses as categories, the
    same figures the JSON rows hold; diffs and roll-ups read only it."""
    from facility_planner.store.snapshot import FIGURES

    info = store.save(sample_assessment, user="a", role="planner")
    figures = store.table(info.id, FIGURES)
    a = sample_assessment
    assert figures["building_id"].tolist() == a.district.buildings["building_id"].astype(str).tolist()
    mm = a.scores.minimum_measures
    for m in mm.columns:
        assert isinstance(figures[m].dtype, pd.CategoricalDtype)
        assert figures[m].astype(str).tolist() == mm.loc[figures["building_id"], m].astype(str).tolist()
    assert any(c.startswith("tier:") for c in figures) and any(c.startswith("pass_") for c in figures)
    np.testing.assert_allclose(figures["risk"], a.risk.loc[figures["building_id"], "risk"])
