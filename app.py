"""facility-planner web app: navigation, sign-in and role only; pages live in facility_planner/ui.

Roles: planners view; facilities managers upload and edit; finance exports; admin does all.
Without sign-in the role is a local setting (sidebar; default from FACILITY_PLANNER_ROLE, else
admin for a single-user install). Optional sign-in with OpenID Connect through ``st.login``: add to
``.streamlit/secrets.toml`` (never commit it)::

    [auth]
    redirect_uri = "https://planner.example.org/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://login.example.org/.well-known/openid-configuration"

    [roles]            # e-mail -> role; anyone else signed in is a planner
    "pat@district.example.org" = "facilities"
    "lee@district.example.org" = "finance"
"""

from __future__ import annotations

from facility_planner.ui.app import main

main()
