"""Sign-in on, under AppTest: every role x page x action, refused on the server (not only hidden);
two districts, each user sees only theirs; the audit trail records each action exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from facility_planner import access
from facility_planner.store import open_store
from facility_planner.ui import state
from tests.test_access import TWO_DISTRICTS

TIMEOUT = 120
D = "district.example.org"
PEOPLE = {
    "planner": f"sam@{D}", "facilities": f"pat@{D}", "finance": f"lee@{D}", "admin": f"ada@{D}",
}
PAGES = ("data", "map", "scorecards", "plan", "export", "access")
TITLES = {"data": "Data", "map": "Map", "scorecards": "Scorecards", "plan": "Plan", "export": "Export",
          "access": "Access"}
PAGE_ACTION = {"data": "view", "map": "view", "scorecards": "view", "plan": "view", "export": "export",
               "access": "manage_roles"}
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "facility-planner", "client_secret": "s",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration"}


@pytest.fixture(scope="module")
def two() -> state.Workspace:
    return state.load_inputs(TWO_DISTRICTS, label="two districts")


@pytest.fixture()
def store_path(tmp_path: Path) -> str:
    path = str(tmp_path / "store.sqlite")
    store = open_store(location=path)
    for role, email in PEOPLE.items():
        store.grant(email, role=role, districts=["*"], by="setup")
    store.grant(f"north@{D}", role="planner", districts=["North CSD"], by="setup")
    store.grant(f"south@{D}", role="finance", districts=["South CSD"], by="setup")
    return path


def signed_in(script: str, email: str | None, *, store: str | None, workspace: state.Workspace | None = None,
              secrets: dict | None = None, claims: dict | None = None) -> AppTest:
    """An AppTest of ``script`` after the shell, with sign-in on and ``email`` signed in."""
    at = AppTest.from_string("from facility_planner.ui import app, auth, pages\napp.shell()\n" + script,
                             default_timeout=TIMEOUT)
    at.secrets = {"auth": AUTH, **({"store": {"location": store}} if store else {}), **(secrets or {})}
    if email is None:
        at.user = {"is_logged_in": False}
    else:
        at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0], "sub": email,
                   "iat": int(time.time()), **(claims or {})}
    if workspace is not None:
        at.session_state["workspace"] = workspace
    return at


def page(name: str, email: str | None, **kw) -> AppTest:
    return signed_in(f"app.run_page({name!r})\n", email, **kw)


def events(store: str, **filters: str) -> list:
    return open_store(location=store).audit_events(**filters)


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", [*access.ROLES, "unknown"])
def test_every_role_on_every_page(role: str, name: str, store_path: str, two: state.Workspace) -> None:
    email = PEOPLE.get(role, f"eve@{D}")
    at = page(name, email, store=store_path, workspace=two).run()
    assert not at.exception, at.exception
    titles = [t.value for t in at.title]
    if role == "unknown":
        assert titles == ["Ask your administrator for access"]
        assert not at.sidebar.button or [b.label for b in at.button] == ["Sign out"]
        return
    allowed = access.may(access.User(email, role, ("*",)), PAGE_ACTION[name])
    if allowed:
        assert titles == [TITLES[name]], (role, name, titles, [e.value for e in at.error])
    else:
        assert titles == [], titles
        assert any("may not" in e.value for e in at.error)
        refused = events(store_path, user=email, action="refused")
        assert [e.target for e in refused] == [PAGE_ACTION[name]]
    assert not [s for s in at.sidebar.selectbox if s.label == "Role"]  # no role picker with sign-in on
    assert any(f"Role: {role}" in c.value for c in at.sidebar.caption)


def test_signed_out_sees_only_the_sign_in_button(store_path: str) -> None:
    at = page("map", None, store=store_path).run()
    assert [b.label for b in at.button] == ["Sign in"]
    assert [t.value for t in at.title] == ["facility-planner"]
    assert "workspace" not in at.session_state  # nothing of the district was even loaded


def test_expired_session_shows_nothing_but_sign_in_again(store_path: str) -> None:
    at = page("data", PEOPLE["admin"], store=store_path, claims={"iat": int(time.time()) - 9 * 3600}).run()
    assert [t.value for t in at.title] == ["Your sign-in has expired"]
    assert [b.label for b in at.button] == ["Sign in again"]
    assert "workspace" not in at.session_state


def test_the_role_in_session_state_is_not_trusted(store_path: str, two: state.Workspace) -> None:
    """A planner whose session state claims admin is still refused: identity comes from sign-in."""
    at = page("export", PEOPLE["planner"], store=store_path, workspace=two)
    at.session_state["role"] = "admin"
    at.run()
    assert [t.value for t in at.title] == []
    assert not at.get("download_button")
    assert at.session_state["role"] == "planner"


def test_roles_from_secrets_without_a_store(two: state.Workspace, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACILITY_PLANNER_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # the default store (audit trail) lands here
    roles = {"roles": {f"lee@{D}": {"role": "finance", "districts": ["South CSD"]}, f"pat@{D}": "facilities"},
             "access": {"group_roles": {"planners": "planner"}}}
    at = page("export", f"lee@{D}", store=None, workspace=two, secrets=roles).run()
    assert [t.value for t in at.title] == ["Export"]
    assert any("Role: finance; districts: South CSD" in c.value for c in at.sidebar.caption)
    at = page("export", f"gus@{D}", store=None, workspace=two, secrets=roles, claims={"groups": ["planners"]}).run()
    assert [t.value for t in at.title] == []
    at = page("data", f"eve@{D}", store=None, workspace=two, secrets=roles).run()
    assert [t.value for t in at.title] == ["Ask your administrator for access"]


# --- district scoping ---------------------------------------------------------------------------

@pytest.mark.parametrize(("email", "sites"), [(f"north@{D}", ["N-01"]), (f"south@{D}", ["S-01"]),
                                             (PEOPLE["admin"], ["N-01", "S-01"])])
def test_each_user_sees_only_their_districts(email: str, sites: list[str], store_path: str,
                                             two: state.Workspace) -> None:
    at = page("scorecards", email, store=store_path, workspace=two).run()
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    assert sorted(ws.district.sites["site_id"]) == sites
    assert sorted(at.selectbox(key="scorecard_site").options) == sites
    buildings = at.selectbox(key="scorecard_building").options
    assert sorted(buildings) == sorted(f"{s}-A" for s in sites)
    shown = " ".join(str(df.value.to_string()) for df in at.dataframe)
    for other in {"N-01", "S-01"} - set(sites):
        assert other not in shown
    at = page("map", email, store=store_path, workspace=two).run()  # the map draws the same part
    assert sorted(at.session_state["workspace"].district.buildings["building_id"]) == sorted(buildings)


def test_an_upload_with_other_districts_is_scoped_and_audited_once(store_path: str) -> None:
    # a facilities manager of North only
    open_store(location=store_path).grant(f"nf@{D}", role="facilities", districts=["North CSD"], by="setup")
    at = page("data", f"nf@{D}", store=store_path).run()
    at.file_uploader(key="upload_inventory").set_value([(n, b, "text/csv") for n, b in TWO_DISTRICTS.items()])
    at.run()
    at.button(key="use_upload").click().run()
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    assert ws.district.sites["site_id"].tolist() == ["N-01"]
    assert "1 site(s)" in ws.notice and "other districts are not shown" in ws.notice
    at.run()  # a rerun reads nothing again
    uploads = events(store_path, user=f"nf@{D}", action="upload")
    assert len(uploads) == 1 and uploads[0].district == "North CSD"


# --- actions: refused on the server, audited exactly once when allowed --------------------------

UPLOAD = "from facility_planner.ui import state\npages._upload_form(state.workspace())\n"


@pytest.mark.parametrize("role", access.ROLES)
def test_upload_is_refused_on_the_server(role: str, store_path: str) -> None:
    """The upload form run for every role (as if the widget had been shown): only facilities and
    admin get the file read."""
    at = signed_in(UPLOAD, PEOPLE[role], store=store_path).run()
    at.file_uploader(key="upload_inventory").set_value([(n, b, "text/csv") for n, b in TWO_DISTRICTS.items()])
    at.run()
    at.button(key="use_upload").click().run()  # as if the button were pressed, whatever the role
    read = "upload_digest" in at.session_state
    assert read == (role in ("facilities", "admin"))
    assert len(events(store_path, user=PEOPLE[role], action="upload")) == (1 if read else 0)
    if not read:
        assert any("may not upload" in e.value for e in at.error)


def test_cell_edits_are_audited_once_each(store_path: str, two: state.Workspace) -> None:
    email = PEOPLE["facilities"]
    at = page("data", email, store=store_path, workspace=two).run()
    at.selectbox(key=f"fix_sheet_{two.digest}").set_value("doors").run()
    editor = f"edit_{two.digest}_doors"
    at.session_state[editor] = {"edited_rows": {0: {"role": "office"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="apply_fixes").click().run()
    assert not at.exception, at.exception
    edits = events(store_path, user=email, action="edit")
    # the user's own file and spreadsheet row (ND1 is row 2 of doors.csv)
    assert [(e.target, e.before, e.after) for e in edits] == [("2: role", "classroom", "office")]
    at.run()
    assert len(events(store_path, user=email, action="edit")) == 1


def test_apply_fixes_refused_for_a_planner_on_the_server(store_path: str, two: state.Workspace) -> None:
    script = "pages._inline_fixes(state.workspace())\n"
    at = signed_in("from facility_planner.ui import state\n" + script, PEOPLE["planner"], store=store_path,
                   workspace=two).run()
    at.button(key="apply_fixes").click().run()
    assert any("may not edit" in e.value for e in at.error)
    assert events(store_path, user=PEOPLE["planner"], action="edit") == []


@pytest.mark.parametrize("role", access.ROLES)
def test_cost_edits_only_for_finance_and_admin_audited_once(role: str, store_path: str,
                                                            two: state.Workspace) -> None:
    email = PEOPLE[role]
    at = page("plan", email, store=store_path, workspace=two).run()
    assert not at.exception, at.exception
    has_editor = "cost_editor" in at.session_state or any(
        getattr(e, "key", None) == "cost_editor" for e in at.get("arrow_data_editor"))
    if role not in ("finance", "admin"):
        assert not has_editor
        assert at.session_state["plan"]["cost_override"] is None
        return
    at.session_state["cost_editor"] = {"edited_rows": {0: {"value": 1.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.run()
    costs = events(store_path, user=email, action="cost")
    assert len(costs) == 1, costs
    assert costs[0].after == "1.0" and costs[0].before not in (None, "1.0")
    assert at.session_state["plan"]["cost_override"] is not None


def test_weight_edits_audited_once(store_path: str, two: state.Workspace) -> None:
    email = PEOPLE["finance"]
    at = page("plan", email, store=store_path, workspace=two).run()
    at.session_state["risk_editor"] = {"edited_rows": {0: {"value": 9.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.run()
    weights = events(store_path, user=email, action="weight")
    assert len(weights) == 1 and weights[0].after == "9.0"


@pytest.mark.parametrize("role", access.ROLES)
def test_export_downloads_only_for_finance_and_admin(role: str, store_path: str, two: state.Workspace) -> None:
    at = signed_in("pages.export_page()\n", PEOPLE[role], store=store_path, workspace=two).run()
    assert not at.exception, at.exception
    prepare = [b for b in at.button if b.key == "prepare_exports"]
    assert bool(prepare) == (role in ("finance", "admin"))
    if prepare:
        prepare[0].click().run()
        assert not at.exception, at.exception
    buttons = at.get("download_button")
    assert bool(buttons) == (role in ("finance", "admin"))


def test_sign_in_is_recorded_once_per_sign_in(store_path: str, two: state.Workspace) -> None:
    email = PEOPLE["finance"]
    claims = {"iat": int(time.time())}
    for _ in range(2):  # two sessions (page reloads) of the same sign-in
        at = page("map", email, store=store_path, workspace=two, claims=claims).run()
        at.run()
    assert len(events(store_path, user=email, action="sign_in")) == 1
    page("map", email, store=store_path, workspace=two, claims={"iat": claims["iat"] + 5}).run()
    assert len(events(store_path, user=email, action="sign_in")) == 2


def test_admin_grants_and_revokes_audited_once_by_the_store(store_path: str) -> None:
    admin = PEOPLE["admin"]
    at = page("access", admin, store=store_path).run()
    at.text_input(key="grant_email").input(f"new@{D}")
    at.selectbox(key="grant_role").set_value("facilities")
    at.text_input(key="grant_districts").input("North CSD")
    form_submit = [b for b in at.button if b.label == "Grant"][0]
    form_submit.click().run()
    assert not at.exception, at.exception
    assert open_store(location=store_path).grant_for(f"new@{D}").districts == ("North CSD",)
    grants = events(store_path, user=admin, action="grant")
    assert [(e.target, e.after) for e in grants] == [(f"new@{D}", {"role": "facilities", "districts": ["North CSD"]})]
    at.selectbox(key="revoke_email").set_value(f"new@{D}")
    at.button(key="revoke").click().run()
    assert open_store(location=store_path).grant_for(f"new@{D}") is None
    assert len(events(store_path, user=admin, action="revoke")) == 1
    assert at.get("download_button")  # the audit trail is exportable


def test_district_admin_grants_only_within_their_districts(store_path: str) -> None:
    open_store(location=store_path).grant(f"na@{D}", role="admin", districts=["North CSD"], by="setup")
    at = page("access", f"na@{D}", store=store_path).run()
    at.text_input(key="grant_email").input(f"x@{D}")
    at.text_input(key="grant_districts").input("South CSD")
    [b for b in at.button if b.label == "Grant"][0].click().run()
    assert any("only your own districts" in e.value for e in at.error)
    assert open_store(location=store_path).grant_for(f"x@{D}") is None


def test_single_user_tool_says_so_and_keeps_the_role_picker(two: state.Workspace) -> None:
    at = AppTest.from_string("from facility_planner.ui import app\napp.shell()\napp.run_page('export')\n",
                             default_timeout=TIMEOUT)
    at.session_state["workspace"] = two
    at.session_state["role"] = "planner"
    at.run()
    assert any("Single-user tool" in c.value for c in at.sidebar.caption)
    assert at.selectbox(key="role").value == "planner"
    assert [t.value for t in at.title] == []  # the planner is refused the Export page here too
    at.selectbox(key="role").set_value("finance").run()
    assert [t.value for t in at.title] == ["Export"]


# --- history: snapshots of other districts never listed; saves and CLI writes need a role --------

@pytest.fixture()
def two_snapshots(store_path: str, two: state.Workspace) -> str:
    from facility_planner.assess import assess

    store = open_store(location=store_path)
    for site in ("N-01", "S-01"):
        part = two.district.subset([site])
        store.save(assess(part, budget=100_000.0), user="setup", role="admin")
    return store_path


@pytest.mark.parametrize(("email", "districts"), [(f"north@{D}", ["North CSD"]), (f"south@{D}", ["South CSD"]),
                                                 (PEOPLE["admin"], ["North CSD", "South CSD"])])
def test_history_lists_only_the_users_districts(email: str, districts: list[str], two_snapshots: str) -> None:
    at = page("history", email, store=two_snapshots).run()
    assert not at.exception, at.exception
    listed = at.dataframe[0].value
    assert sorted(listed["district"]) == districts
    for other in {"North CSD", "South CSD"} - set(districts):
        assert all(other not in str(df.value.to_string()) for df in at.dataframe)


def test_cli_save_and_delete_need_a_role(two_snapshots: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from facility_planner import cli

    inventory = tmp_path / "inv"
    inventory.mkdir()
    for name, data in TWO_DISTRICTS.items():
        (inventory / name).write_bytes(data)
    args = ["assess", str(inventory), "--out", str(tmp_path / "out"), "--save", "--store", two_snapshots]
    monkeypatch.setenv("FACILITY_PLANNER_USER", PEOPLE["planner"])
    assert cli.main(args) == 1
    assert "may not save assessments" in capsys.readouterr().err
    assert (tmp_path / "out" / "summary.json").exists()  # the files are still written
    monkeypatch.setenv("FACILITY_PLANNER_USER", PEOPLE["finance"])
    assert cli.main(["history", "delete", "1", "--reason", "test", "--store", two_snapshots]) == 1
    assert "may not delete saved assessments" in capsys.readouterr().err
    monkeypatch.setenv("FACILITY_PLANNER_USER", PEOPLE["facilities"])
    assert cli.main(args) == 0
    saves = events(two_snapshots, user=PEOPLE["facilities"], action="save")
    assert len(saves) == 1


def test_names_from_the_id_token_are_shown_literally(store_path: str, two: state.Workspace) -> None:
    at = page("map", PEOPLE["planner"], store=store_path, workspace=two,
              claims={"name": "[click](http://evil.example) <img src=x>"}).run()
    shown = [m.value for m in at.sidebar.markdown if "Signed in as" in m.value]
    assert shown == [r"Signed in as \[click\]\(http\://evil\.example\) \<img src=x\>"]
