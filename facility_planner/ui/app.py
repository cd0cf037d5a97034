"""App shell: page config, the sign-in gate, the sidebar and navigation. Called by ``app.py``."""

from __future__ import annotations

import functools
import importlib
import threading

import streamlit as st

from facility_planner import settings
from facility_planner.access import User
from facility_planner.ui import auth, history, pages, state

#: The roles in the users' words; matches ``facility_planner.access.PERMISSIONS``.
ROLE_HELP = ("Planners view; facilities managers upload and edit data; finance and admin plan (edit unit "
             "costs and risk weights) and export; admin may also upload and edit data, and manages roles.")


def sidebar(user: User | None = None) -> None:
    """Who is signed in (or the single-user role picker), and the map tiles setting."""
    with st.sidebar:
        if auth.configured():
            auth.sidebar_identity(user or auth.current_user())
        else:
            current = state.role()
            st.selectbox("Role", state.ROLES, index=state.ROLES.index(current) if current in state.ROLES else 0,
                         key="role", help=ROLE_HELP)
            auth.sidebar_identity(auth.current_user())
        tiles = ["none", "openstreetmap"]
        if settings.map_tiles not in tiles:
            tiles.append(settings.map_tiles)
        st.selectbox("Map background", tiles, index=tiles.index(settings.map_tiles), key="tiles",
                     help="'none' sends no request anywhere; a district's own tile server is set with "
                          "FACILITY_PLANNER_MAP_TILES.")


#: (page function, title, url path, the action a user needs to open it).
PAGES = (
    (pages.data_page, "Data", "data", "view"),
    (pages.map_page, "Map", "map", "view"),
    (pages.scorecards_page, "Scorecards", "scorecards", "view"),
    (pages.plan_page, "Plan", "plan", "view"),
    (pages.export_page, "Export", "export", "export"),
    (history.history_page, "History", "history", "view"),
    (auth.admin_page, "Access", "access", "manage_roles"),
)


#: Libraries a page needs that take long to import (altair: about a second, on the Plan page's chart).
#: Never a Streamlit component (streamlit_folium): a component declared outside a script run is
#: registered wrongly and its frame never shows.
SLOW_IMPORTS = ("altair",)


@functools.cache
def warm_up() -> None:
    """Once per server process: import the slow libraries in the background, so the first Plan
    page of the first session does not wait for them."""
    def load() -> None:
        for name in SLOW_IMPORTS:
            importlib.import_module(name)

    threading.Thread(target=load, name="facility-planner-warm-up", daemon=True).start()


def shell() -> User:
    """Page config, the gate (stops for signed-out, expired and unknown users), district scoping
    and the sidebar; the user the pages run for."""
    st.set_page_config(page_title="facility-planner", layout="wide")
    warm_up()
    user = auth.gate()
    auth.scope_session_workspace()
    sidebar(user)
    return user


def run_page(path: str) -> None:
    """One page by its url path, through the same server-side check as navigation."""
    fn, _title, _path, action = next(p for p in PAGES if p[2] == path)
    pages.timed(auth.guarded(fn, action))()


#: The page the app opens on; ``/`` sends the browser to its own address (``/map``).
HOME = "map"


def _home(by_path: dict[str, st.Page]) -> None:
    """The app's root address: go to the home page by its own URL, keeping the query string.

    Streamlit serves its default page at ``/`` only, whatever its ``url_path``, so a Map page
    that were the default would answer ``/map`` with "Page not found". The default page is this
    hidden one instead, and every page, Map included, has a URL of its own.

    Opened at ``/plan``, Streamlit's frontend first asks ``/plan/_stcore/health`` (a 404) and then
    ``/_stcore/health``, because the server might sit under a base path (streamlit#7074, open).
    It reads the base path from ``window.__streamlit`` when a host page sets it, but the server
    serves a static ``index.html`` and no option sets it; the probe costs one round trip.
    """
    target = by_path.get(HOME) or next(iter(by_path.values()))
    st.switch_page(target, query_params=st.query_params.to_dict())


def main() -> None:
    user = shell()
    from facility_planner import access

    visible = {path: st.Page(pages.timed(auth.guarded(fn, action)), title=title, url_path=path)
               for fn, title, path, action in PAGES if access.may(user, action)}
    home = st.Page(lambda: _home(visible), title="facility-planner", url_path="home", default=True,
                   visibility="hidden")
    st.navigation([home, *visible.values()]).run()
