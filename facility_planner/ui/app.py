"""App shell: page config, sign-in and role, navigation. Called by the repository's ``app.py``."""

from __future__ import annotations

from typing import Any

import streamlit as st

from facility_planner import settings
from facility_planner.ui import history, pages, state

#: The roles in the users' words; matches ``state.PERMISSIONS``.
ROLE_HELP = ("Planners view; facilities managers upload and edit data; finance and admin plan (edit "
             "unit costs and risk weights) and export; admin may also upload and edit data.")


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def _signed_in_role() -> str | None:
    """Role of the signed-in user from ``[roles]`` in secrets (planner by default); None if not signed in."""
    user: Any = st.user
    if not getattr(user, "is_logged_in", False):
        return None
    email = str(user.get("email", "") or "")
    try:
        roles = dict(st.secrets.get("roles", {}))
    except Exception:
        roles = {}
    found = roles.get(email, "planner")
    return found if found in state.ROLES else "planner"


def sidebar() -> None:
    """Sign-in (when configured), the role, and the map tiles setting."""
    with st.sidebar:
        if _auth_configured():
            signed = _signed_in_role()
            if signed is None:
                st.button("Sign in", on_click=st.login, key="sign_in")
                st.session_state["role"] = "planner"
            else:
                st.write(f"Signed in as {st.user.get('name') or st.user.get('email')}")
                st.session_state["role"] = signed
                st.button("Sign out", on_click=st.logout, key="sign_out")
            st.caption(f"Role: {st.session_state['role']}")
        else:
            current = state.role()
            st.selectbox("Role", state.ROLES, index=state.ROLES.index(current) if current in state.ROLES else 0,
                         key="role", help=ROLE_HELP)
        tiles = ["none", "openstreetmap"]
        if settings.map_tiles not in tiles:
            tiles.append(settings.map_tiles)
        st.selectbox("Map background", tiles, index=tiles.index(settings.map_tiles), key="tiles",
                     help="'none' sends no request anywhere; a district's own tile server is set with "
                          "FACILITY_PLANNER_MAP_TILES.")


PAGES = (
    (pages.data_page, "Data", "data"),
    (pages.map_page, "Map", "map"),
    (pages.scorecards_page, "Scorecards", "scorecards"),
    (pages.plan_page, "Plan", "plan"),
    (pages.export_page, "Export", "export"),
    (history.history_page, "History", "history"),
)


def main() -> None:
    st.set_page_config(page_title="facility-planner", layout="wide")
    sidebar()
    nav = st.navigation([st.Page(fn, title=title, url_path=path, default=(path == "map"))  # default: served at /
                         for fn, title, path in PAGES])
    nav.run()
