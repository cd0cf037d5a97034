"""Sign-in, the user's role and districts, server-side checks and the audit trail (Streamlit edge).

With ``[auth]`` in ``.streamlit/secrets.toml`` the app signs users in through ``st.login``
(OpenID Connect); their role and districts come from the roles table in the store when one is
configured (``[store] location`` in secrets or ``FACILITY_PLANNER_STORE``), else from ``[roles]``
in secrets, else from a mapped ID-token group claim (``[access]``). Without ``[auth]`` the app is
the single-user tool: the role is a sidebar setting and every district is visible.

``current_user()`` is the one place the identity comes from; every page, download and action
asks ``allowed``/``require`` here, on the server, whatever the browser shows.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from facility_planner import access
from facility_planner.access import AccessDenied, AccessSettings, User
from facility_planner.errors import FacilityPlannerError

log = logging.getLogger(__name__)
LOCAL_EMAIL = "local user"
SIGNED_IN_KEY = "_fp_signed_in"


def _md(text: object) -> str:
    """User text (names and e-mails from ID tokens, what an admin typed) made literal markdown."""
    from facility_planner.ui.pages import md

    return md(text)


# --- configuration ------------------------------------------------------------------------------

def _secret(name: str) -> dict[str, Any]:
    try:
        section = st.secrets.get(name)
    except Exception:  # no secrets.toml at all
        return {}
    return _plain(section) if section is not None else {}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def configured() -> bool:
    """Whether sign-in is on (an ``[auth]`` section in secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def store_location() -> str | None:
    """The store holding the roles table and the audit trail, if one is configured."""
    location = _secret("store").get("location") or os.environ.get("FACILITY_PLANNER_STORE")
    return str(location) if location else None


@st.cache_resource(show_spinner=False)
def _open_store(location: str | None) -> Any:
    from facility_planner.store import open_store

    return open_store(location=location)


def store() -> Any | None:
    """The store of roles and audit events: the configured one; with sign-in on and none
    configured, the default embedded store; in the single-user tool without one, None."""
    location = store_location()
    if location is None and not configured():
        return None
    return _open_store(location)


def settings() -> AccessSettings:
    return AccessSettings.from_mapping(_secret("access"))


def _grant_lookup() -> Callable[[str], Any]:
    if store_location() is not None:
        lookup: Callable[[str], Any] = _open_store(store_location()).grant_for
        return lookup
    table = access.grants_from_table(_secret("roles"))
    return table.get


# --- identity -----------------------------------------------------------------------------------

def _claims() -> dict[str, Any]:
    user: Any = st.user
    if not getattr(user, "is_logged_in", False):
        return {}
    return {str(k): v for k, v in user.to_dict().items()}


def current_user() -> User:
    """Who is using the app now (computed on the server every run, never taken from the browser)."""
    if not configured():
        role = st.session_state.get("role", os.environ.get("FACILITY_PLANNER_ROLE", "admin"))
        return access.with_role(User(LOCAL_EMAIL, "admin", (access.ALL_DISTRICTS,), name=LOCAL_EMAIL,
                                     via="single-user"), str(role))
    claims = _claims()
    if not claims:
        return User("", None)
    if access.session_expired(claims, now=time.time(), settings=settings()):
        return User(str(claims.get("email") or ""), None, name="", signed_in=True, via="expired")
    return access.resolve_user(claims, grant_for=_grant_lookup(), settings=settings())


def allowed(action: str) -> bool:
    return access.may(current_user(), action)


def require(action: str) -> User:
    """Stop this run with a plain message unless the user may ``action`` (recorded as refused)."""
    user = current_user()
    try:
        access.require(user, action)
    except AccessDenied as err:
        record("refused", target=action, after=str(err), user=user)
        st.error(_md(err))
        st.stop()
    return user


def guarded(page: Callable[[], None], action: str) -> Callable[[], None]:
    """A page function that first checks ``action`` on the server."""
    def run() -> None:
        require(action)
        page()

    run.__name__ = getattr(page, "__name__", "page")
    return run


# --- the gate -----------------------------------------------------------------------------------

def gate() -> User:
    """Sign-in (when configured) and the plain pages for signed-out, expired and unknown users.

    Returns the user when the app may be shown; otherwise draws that page and stops the run.
    """
    if not configured():
        return current_user()
    claims = _claims()
    if not claims:
        _signed_out_page()
    if access.session_expired(claims, now=time.time(), settings=settings()):
        st.session_state.pop(SIGNED_IN_KEY, None)
        _expired_page()
    try:
        user = current_user()
    except FacilityPlannerError as err:  # the roles table cannot be read (store down, bad [roles])
        log.warning("Roles could not be read: %s", err)
        st.error(f"Sign-in is configured but the roles cannot be read: {_md(err)}")
        st.stop()
    if not user.known:
        _unknown_user_page(user)
    _record_sign_in(user, claims)
    st.session_state["role"] = user.role
    return user


def _signed_out_page() -> None:
    st.title("facility-planner")
    st.write("Sign in with your district account to continue.")
    st.button("Sign in", on_click=st.login, key="sign_in", type="primary")
    st.stop()


def _expired_page() -> None:
    st.title("Your sign-in has expired")
    st.write("For the safety of school data, sign-ins last a working day. Sign in again to continue.")
    st.button("Sign in again", on_click=st.login, key="sign_in_again", type="primary")
    st.stop()


def _unknown_user_page(user: User) -> None:
    st.title("Ask your administrator for access")
    st.write(f"You are signed in as {_md(user.email or 'an account without an e-mail address')}, "
             "but this account has no role in facility-planner. Ask your district's administrator "
             "to grant you one, then sign in again.")
    st.button("Sign out", on_click=sign_out, key="sign_out_unknown")
    st.stop()


def _record_sign_in(user: User, claims: Mapping[str, Any]) -> None:
    """One ``sign_in`` event per sign-in (per ID token), however many sessions it opens."""
    token = f"{claims.get('sub', '')}@{claims.get('iat', '')}"
    if st.session_state.get(SIGNED_IN_KEY) == token:
        return
    st.session_state[SIGNED_IN_KEY] = token
    trail = store()
    if trail is None:
        return
    if any(e.target == token for e in trail.audit_events(user=user.email, action="sign_in")):
        return
    record("sign_in", target=token, after=f"{user.role} of {', '.join(user.districts)}", user=user)


def sign_out() -> None:
    record("sign_out", target=current_user().email)
    st.session_state.pop(SIGNED_IN_KEY, None)
    st.logout()


# --- audit trail --------------------------------------------------------------------------------

def _district_label(user: User) -> str | None:
    return None if user.state_wide or not user.districts else ", ".join(user.districts)


def record(action: str, *, target: str, before: Any = None, after: Any = None, user: User | None = None,
           district: str | None = None) -> None:
    """One audit event (who, when, what, from what to what) in the store; nothing without one."""
    trail = store()
    if trail is None:
        return
    from facility_planner.store import AuditEvent

    user = user or current_user()
    trail.record(AuditEvent(user.email or "(unknown)", action, str(target), before, after,
                            district=district or _district_label(user)))


def record_edits(kind: str, before: pd.DataFrame, after: pd.DataFrame, *, keys: tuple[str, ...]) -> int:
    """An ``edit``/``cost``/``weight`` event for every changed cell; returns how many."""
    changes = access.changed_cells(before, after, keys=keys)
    for change in changes:
        record(kind, target=change["target"], before=change["before"], after=change["after"])
    return len(changes)


def record_table_change(kind: str, original: pd.DataFrame, edited: pd.DataFrame, *,
                        keys: tuple[str, ...], state_key: str) -> None:
    """Record the cells of an always-on editor that changed since the last run (exactly once)."""
    last = st.session_state.get(f"_fp_audited_{state_key}", original)
    if record_edits(kind, last, edited, keys=keys):
        st.session_state[f"_fp_audited_{state_key}"] = edited.copy()


def download_button(label: str, data: bytes | Callable[[], bytes], *, file_name: str, mime: str,
                    key: str | None = None, action: str = "export") -> None:
    """A download button drawn only for users who may ``action``; each download is recorded."""
    if not allowed(action):
        return
    payload = data() if callable(data) else data
    st.download_button(label, payload, file_name=file_name, mime=mime, key=key,
                       on_click=lambda: record(action, target=file_name, after=f"{len(payload)} bytes"))


# --- district scoping ---------------------------------------------------------------------------

def scoped(ws: Any) -> Any:
    """The workspace limited to the user's districts (the same object for a state user)."""
    user = current_user()
    district = access.scope_district(user, ws.district)
    if district is ws.district:
        return ws
    report, hidden = access.scope_report(ws.report, full=ws.district, scoped=district)
    dropped = len(ws.district.sites) - len(district.sites)
    notice = ws.notice
    if dropped or hidden:
        notice = (f"{notice} " if notice else "") + (
            f"{dropped} site(s) and {hidden} validation problem(s) of other districts are not shown.")
    from facility_planner.ui.state import digest

    return dataclasses.replace(ws, district=district, report=report, notice=notice.strip(), shared=False,
                               digest=digest(ws.digest or ws.label, "scope", *user.districts))


def scope_session_workspace() -> None:
    """Make the session's workspace the user's districts only (run by the shell every run)."""
    from facility_planner.ui import state

    ws = state.workspace()
    user = current_user()
    mark = (id(ws), user.districts)
    if st.session_state.get("_fp_scope") == mark:
        return
    new = scoped(ws)
    if new is not ws:
        state.set_workspace(new)
    st.session_state["_fp_scope"] = (id(new), user.districts)


# --- sidebar and the admin page -----------------------------------------------------------------

def sidebar_identity(user: User) -> None:
    """Who is signed in (or that this is the single-user tool), and sign-out."""
    if not configured():
        st.caption("Single-user tool: no sign-in, the role below is a local setting. To share the app, "
                   "turn sign-in on (README, 'Sign-in').")
        return
    st.write(f"Signed in as {_md(user.name or user.email)}")
    where = "all (state-wide)" if user.state_wide else ", ".join(user.districts)
    st.caption(f"Role: {user.role}; districts: {_md(where)}")
    st.button("Sign out", on_click=sign_out, key="sign_out")


def _grants_frame(trail: Any | None) -> pd.DataFrame:
    if trail is not None and store_location() is not None:
        rows = [{"email": g.email, "role": g.role, "districts": ", ".join(g.districts)} for g in trail.grants()]
    else:
        rows = [{"email": g.email, "role": g.role, "districts": ", ".join(g.districts)}
                for g in access.grants_from_table(_secret("roles")).values()]
    return pd.DataFrame(rows, columns=["email", "role", "districts"])


def _grant_form(user: User, trail: Any) -> None:
    with st.form("grant_form", clear_on_submit=True):
        st.markdown("**Grant or change a role**")
        email = st.text_input("E-mail", key="grant_email")
        role = st.selectbox("Role", access.ROLES, key="grant_role")
        districts = st.text_input("Districts (comma-separated; * for every district)",
                                  value="" if user.state_wide else ", ".join(user.districts), key="grant_districts")
        if st.form_submit_button("Grant"):
            grant_role(email, role=role, districts=[d.strip() for d in districts.split(",") if d.strip()],
                       trail=trail)
    revoke = st.selectbox("Revoke the role of", [""] + _grants_frame(trail)["email"].tolist(), key="revoke_email")
    if st.button("Revoke", key="revoke") and revoke:
        revoke_role(revoke, trail=trail)


def grant_role(email: str, *, role: str, districts: list[str], trail: Any) -> None:
    """Grant (server-checked: admins only, and a district admin only within their districts)."""
    user = require("manage_roles")
    email = email.strip().lower()
    try:
        grant = access.parse_grant(email or "(no e-mail)", {"role": role, "districts": districts})
        if not email or "@" not in email:
            raise AccessDenied("Give the e-mail address the person signs in with.")
        if not user.state_wide and not all(user.sees(d) for d in grant.districts):
            raise AccessDenied("You may grant only your own districts: "
                               f"{', '.join(user.districts)}.")
    except AccessDenied as err:
        st.error(_md(err))
        return
    trail.grant(email, role=grant.role, districts=grant.districts, by=user.email)  # the store audits it
    st.success(_md(f"{email} is now {grant.role} of {', '.join(grant.districts)}."))


def revoke_role(email: str, *, trail: Any) -> None:
    user = require("manage_roles")
    before = trail.grant_for(email)
    if before is None:
        return
    if not user.state_wide and not all(user.sees(d) for d in before.districts):
        st.error(_md(f"You may revoke only roles within your districts: {', '.join(user.districts)}."))
        return
    trail.revoke(email, by=user.email)  # the store audits it
    st.success(_md(f"{email} no longer has a role."))


def _audit_frame(user: User, trail: Any) -> pd.DataFrame:
    events = trail.audit_events()
    if not user.state_wide:
        events = [e for e in events if e.district and any(user.sees(d.strip()) for d in e.district.split(","))]
    rows = [{"at": e.at, "user": e.user, "action": e.action, "target": e.target, "before": e.before,
             "after": e.after, "district": e.district} for e in events]
    return pd.DataFrame(rows, columns=["at", "user", "action", "target", "before", "after", "district"])


def _titles(frame: pd.DataFrame) -> dict[str, str]:
    """Column titles in the users' words (the frame, and the CSV download, keep the field names)."""
    from facility_planner.ui.labels import title

    return {str(c): title(str(c)) for c in frame.columns}


def admin_page() -> None:
    """Roles (grant, revoke) and the audit trail (view, export as CSV). Administrators only."""
    user = require("manage_roles")
    st.title("Access")
    trail = store()
    st.subheader("Roles")
    grants = _grants_frame(trail)
    st.dataframe(grants, hide_index=True, width="stretch", column_config=_titles(grants))
    if trail is not None and store_location() is not None:
        _grant_form(user, trail)
    else:
        st.caption("Roles come from [roles] in .streamlit/secrets.toml; configure a store "
                   "([store] location) to manage them here.")
    st.subheader("Audit trail")
    if trail is None:
        st.info("No store is configured, so nothing is recorded (single-user tool).")
        return
    frame = _audit_frame(user, trail)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=_titles(frame))
    from facility_planner.io.exports import write_csv

    buffer = io.BytesIO()
    write_csv(buffer, frame)
    download_button("Download the audit trail (CSV)", buffer.getvalue(), file_name="audit.csv",
                    mime="text/csv", key="dl_audit", action="audit")
