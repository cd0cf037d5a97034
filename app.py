"""facility-planner web app: the shell (sign-in gate, sidebar, navigation); pages live in facility_planner/ui.

Roles: planners view; facilities managers upload and edit; finance plans and exports; admin does all
and manages roles (table: README "Sign-in and roles"). Without ``[auth]`` the app is the single-user
tool: the role is a sidebar setting (default FACILITY_PLANNER_ROLE, else admin). Sign-in with OpenID
Connect through ``st.login``: add to ``.streamlit/secrets.toml`` (never commit it)::

    [auth]
    redirect_uri = "https://planner.example.org/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://login.example.org/.well-known/openid-configuration"

    [roles]            # e-mail -> role (every district), or a table with districts
    "pat@district.example.org" = "facilities"
    "lee@district.example.org" = { role = "finance", districts = ["Story County CSD"] }

    [access]           # optional: ID-token groups -> roles, a default role, session length
    group_roles = { "security-planners" = { role = "planner", districts = ["Story County CSD"] } }
    session_minutes = 480

    [store]            # optional: roles table and audit trail in the store (else the default file)
    location = "postgresql://planner@db.example.org/facility_planner"

Anyone signed in without a grant sees only "ask your administrator".
"""

from __future__ import annotations

from facility_planner.ui.app import main

main()
