"""The pure access rules: permission matrix, grants from secrets and groups, sessions, district
scoping of districts, reports and assessments, cell diffs for the audit trail, CLI writes."""

from __future__ import annotations

import pandas as pd
import pytest

from facility_planner import access
from facility_planner.access import AccessDenied, AccessSettings, User
from facility_planner.ui import state

TWO_DISTRICTS = {
    "sites.csv": b"site_id,name,district,threat_level,enrollment\n"
                 b"N-01,North Elementary,North CSD,medium,300\nS-01,South High,South CSD,low,900\n",
    "buildings.csv": b"building_id,site_id,name,occupancy,lon,lat\n"
                     b"N-01-A,N-01,North main,300,-93.40,42.03\nS-01-A,S-01,South main,900,-93.45,42.01\n",
    "doors.csv": b"door_id,building_id,role,lock_from_inside\nND1,N-01-A,classroom,N\nSD1,S-01-A,exterior_primary,Y\n"
                 b"SD2,S-01-Z,classroom,N\n",
}


@pytest.fixture(scope="module")
def two() -> state.Workspace:
    return state.load_inputs(TWO_DISTRICTS, label="two districts")


def test_permission_matrix_in_the_users_words() -> None:
    planner, facilities, finance, admin = (User("x@d.org", r, ("*",)) for r in access.ROLES)
    assert [a for a in access.PERMISSIONS if access.may(planner, a)] == ["view"]
    assert {a for a in access.PERMISSIONS if access.may(facilities, a)} == {"view", "upload", "edit", "save"}
    assert {a for a in access.PERMISSIONS if access.may(finance, a)} == {"view", "plan", "export", "save"}
    assert all(access.may(admin, a) for a in access.PERMISSIONS)
    assert not access.may(admin, "no such action")
    # the app's older table agrees for the actions it knows
    for role, actions in state.PERMISSIONS.items():
        assert actions == {a for a in actions if access.may(User("x", role), a)}


def test_require_says_who_may() -> None:
    with pytest.raises(AccessDenied, match=r"Your role \(planner\) may not download exports: finance and admin may"):
        access.require(User("p@d.org", "planner", ("*",)), "export")
    with pytest.raises(AccessDenied, match="ask your administrator"):
        access.require(User("eve@d.org", None), "view")
    access.require(User("f@d.org", "finance", ("*",)), "export")


def test_grants_from_secrets_keep_the_old_sketch_and_add_districts() -> None:
    table = access.grants_from_table({"Pat@District.Example.org": "facilities",
                                      "lee@district.example.org": {"role": "finance", "districts": ["North CSD"]}})
    assert table["pat@district.example.org"] == access.RoleGrant("pat@district.example.org", "facilities", ("*",))
    assert table["lee@district.example.org"].districts == ("North CSD",)
    with pytest.raises(AccessDenied, match="unknown role 'owner'"):
        access.grants_from_table({"a@b.org": "owner"})
    with pytest.raises(AccessDenied, match="at least one district"):
        access.grants_from_table({"a@b.org": {"role": "planner", "districts": []}})


def test_resolve_user_by_email_group_default_and_unknown() -> None:
    grants = access.grants_from_table({"pat@d.org": "facilities"})
    settings = AccessSettings.from_mapping({"group_roles": {"planners": {"role": "planner", "districts": ["North CSD"]}}})
    pat = access.resolve_user({"email": "PAT@d.org"}, grant_for=grants.get, settings=settings)
    assert (pat.role, pat.districts, pat.signed_in) == ("facilities", ("*",), True)
    gus = access.resolve_user({"email": "gus@d.org", "groups": ["staff", "planners"]}, grant_for=grants.get,
                              settings=settings)
    assert (gus.role, gus.districts, gus.via) == ("planner", ("North CSD",), "group planners")
    eve = access.resolve_user({"email": "eve@d.org", "groups": ["staff"]}, grant_for=grants.get, settings=settings)
    assert not eve.known
    unverified = access.resolve_user({"email": "pat@d.org", "email_verified": False}, grant_for=grants.get)
    assert not unverified.known
    default = AccessSettings.from_mapping({"default_role": "planner"})
    assert access.resolve_user({"email": "eve@d.org"}, grant_for=grants.get, settings=default).role == "planner"
    with pytest.raises(AccessDenied, match="default_role"):
        AccessSettings.from_mapping({"default_role": "boss"})


def test_session_expires_after_session_minutes() -> None:
    settings = AccessSettings.from_mapping({"session_minutes": 60})
    assert not access.session_expired({"iat": 1000}, now=1000 + 3599, settings=settings)
    assert access.session_expired({"iat": 1000}, now=1000 + 3600, settings=settings)
    assert access.session_expired({"exp": 50}, now=60, settings=settings)
    assert not access.session_expired({}, now=60, settings=settings)


def test_scope_district_keeps_only_granted_districts(two: state.Workspace) -> None:
    d = two.district
    north = User("n@d.org", "planner", ("North CSD",))
    scoped = access.scope_district(north, d)
    assert scoped.sites["site_id"].tolist() == ["N-01"]
    assert scoped.buildings["building_id"].tolist() == ["N-01-A"]
    assert scoped.doors["door_id"].tolist() == ["ND1"]
    both = User("s@d.org", "planner", ("south csd", "North CSD"))  # district names match ignoring case
    assert sorted(access.scope_district(both, d).buildings["building_id"]) == ["N-01-A", "S-01-A"]
    assert access.scope_district(User("st@d.org", "planner", ("*",)), d) is d
    assert len(access.scope_district(User("o@d.org", "planner", ("Other",)), d).buildings) == 0


def test_scope_report_hides_other_districts_problems(two: state.Workspace) -> None:
    assert two.report.rejected, "the door on an unknown building is rejected"
    north = User("n@d.org", "planner", ("North CSD",))
    scoped = access.scope_district(north, two.district)
    report, hidden = access.scope_report(two.report, full=two.district, scoped=scoped)
    assert hidden >= 1
    shown = report.rejected_frame()
    assert "SD2" not in shown.to_string()
    assert all(p.sheet is not None and p.row is not None for p in report.problems)
    same, none_hidden = access.scope_report(two.report, full=two.district, scoped=two.district)
    assert same is two.report and none_hidden == 0


def test_scope_assessment_reruns_on_the_visible_part(two: state.Workspace) -> None:
    from facility_planner.assess import assess

    full = assess(two.district, two.report, budget=100_000.0)
    south = access.scope_assessment(User("s@d.org", "finance", ("South CSD",)), full)
    assert south.risk.index.tolist() == ["S-01-A"] or south.risk["site_id"].tolist() == ["S-01"]
    assert set(south.projects["building_id"]) <= {"S-01-A"}
    assert access.scope_assessment(User("st@d.org", "finance", ("*",)), full) is full


def test_scope_items_filters_snapshots_by_district() -> None:
    items = [{"id": 1, "district": "North CSD"}, {"id": 2, "district": "South CSD"}, {"id": 3, "district": None}]
    assert [i["id"] for i in access.scope_items(User("n", "planner", ("North CSD",)), items)] == [1]
    assert [i["id"] for i in access.scope_items(User("s", "planner", ("*",)), items)] == [1, 2, 3]


def test_changed_cells_from_what_to_what() -> None:
    before = pd.DataFrame({"door_id": ["D1", "D2"], "role": ["classroom", "office"], "lock": ["N", None]})
    after = pd.DataFrame({"door_id": ["D1", "D2", "D3"], "role": ["classroom", "interior", "office"],
                          "lock": ["N", "Y", None]})
    changes = access.changed_cells(before, after, keys=("door_id",))
    assert [(c["target"], c["before"], c["after"]) for c in changes] == [
        ("D2: role", "office", "interior"), ("D2: lock", None, "Y"), ("D3", None, "door_id=D3; role=office")]
    assert access.changed_cells(before, before.copy(), keys=("door_id",)) == []
    numbers = pd.DataFrame({"item": ["a"], "value": [1.0]})
    assert access.changed_cells(numbers, numbers.assign(value=1), keys=("item",)) == []


def test_permission_table_rows() -> None:
    rows = access.permission_table()
    assert rows[0] == {"action": "view", "what": access.ACTION_WORDS["view"], "planner": "yes",
                       "facilities": "yes", "finance": "yes", "admin": "yes"}
    assert {r["action"] for r in rows} == set(access.PERMISSIONS)


def test_cli_writes_need_a_role_once_the_store_has_grants(tmp_path) -> None:
    from facility_planner.store import open_store

    store = open_store(location=str(tmp_path / "s.sqlite"))
    assert access.require_in_store(store, None, "save").role == "admin"  # personal store
    store.grant("ada@d.org", role="admin", districts=["*"], by="setup")
    store.grant("sam@d.org", role="planner", districts=["North CSD"], by="ada@d.org")
    with pytest.raises(AccessDenied, match="--user"):
        access.require_in_store(store, None, "save")
    with pytest.raises(AccessDenied, match="planner"):
        access.require_in_store(store, "sam@d.org", "save")
    with pytest.raises(AccessDenied, match="ask your administrator"):
        access.require_in_store(store, "eve@d.org", "save")
    assert access.require_in_store(store, "ADA@d.org", "manage_roles").state_wide


def test_readme_role_table_is_the_permission_matrix() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for row in access.permission_table():
        line = "| " + " | ".join([row["action"], row["what"], *(row[r] for r in access.ROLES)]) + " |"
        assert line in readme, line
