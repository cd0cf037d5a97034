"""Who may do what, and on which districts: roles, the permission matrix and district scoping.

Pure: no Streamlit, no files. The app (``facility_planner.ui.auth``) and the CLI find out who the
user is and where the grants live (the store's roles table, else ``[roles]`` in
``.streamlit/secrets.toml``), then ask this module.

Roles, in the users' words: a **planner** views; **facilities** uploads and edits data;
**finance** plans (unit costs, risk weights) and exports; an **admin** does all and manages roles.
A grant names the districts a user may see; ``("*",)`` is a state-wide grant (every district).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pandas as pd

from facility_planner.errors import FacilityPlannerError
from facility_planner.model import District, ValidationReport

ROLES: tuple[str, ...] = ("planner", "facilities", "finance", "admin")
#: A grant's districts for every district (a state user).
ALL_DISTRICTS = "*"
#: The permission matrix: action -> roles that may do it. Checked on the server for every page,
#: download and store write.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "upload": frozenset({"facilities", "admin"}),
    "edit": frozenset({"facilities", "admin"}),
    "plan": frozenset({"finance", "admin"}),
    "export": frozenset({"finance", "admin"}),
    "save": frozenset({"facilities", "finance", "admin"}),
    "delete": frozenset({"admin"}),
    "manage_roles": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
}
#: What each action is, for messages and the README table.
ACTION_WORDS: dict[str, str] = {
    "view": "view maps, scorecards and plans",
    "upload": "upload inventories and maps",
    "edit": "edit inventory cells",
    "plan": "change unit costs and risk weights",
    "export": "download exports",
    "save": "save assessments to the store",
    "delete": "delete saved assessments",
    "manage_roles": "grant and revoke roles",
    "audit": "view and export the audit trail",
}


class AccessDenied(FacilityPlannerError):
    """The user's role (or districts) does not allow this; ``str(err)`` says who may."""


class GrantLike(Protocol):
    """A roles-table row: the store's ``Grant`` or one read from secrets."""

    @property
    def email(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def districts(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class RoleGrant:
    """A grant read from ``[roles]`` or a group mapping (the store's ``Grant`` has the same fields)."""

    email: str
    role: str
    districts: tuple[str, ...] = (ALL_DISTRICTS,)


@dataclass(frozen=True)
class User:
    """Who is using the tool: e-mail, role (None = not granted) and districts.

    ``signed_in`` is False for the single-user tool (no ``[auth]``), where the role is a local
    setting and every district is visible.
    """

    email: str
    role: str | None
    districts: tuple[str, ...] = ()
    name: str = ""
    signed_in: bool = False
    via: str = ""

    @property
    def state_wide(self) -> bool:
        return ALL_DISTRICTS in self.districts

    @property
    def known(self) -> bool:
        return self.role in ROLES

    def sees(self, district_name: object) -> bool:
        """Whether rows of this district (a ``sites.district`` value) are visible."""
        if self.state_wide:
            return True
        if district_name is None or (not isinstance(district_name, str) and pd.isna(district_name)):
            return False
        return str(district_name).strip().casefold() in {d.casefold() for d in self.districts}


def may(user: User, action: str) -> bool:
    """Whether ``user``'s role allows ``action`` (an unknown action is never allowed)."""
    return user.role is not None and user.role in PERMISSIONS.get(action, frozenset())


def who_may(action: str) -> list[str]:
    return [r for r in ROLES if r in PERMISSIONS.get(action, frozenset())]


def require(user: User, action: str) -> None:
    """Raise ``AccessDenied`` unless ``user`` may do ``action``."""
    if may(user, action):
        return
    words = ACTION_WORDS.get(action, action)
    roles = " and ".join(who_may(action)) or "nobody"
    if not user.known:
        raise AccessDenied(f"{user.email or 'This account'} has no role here: ask your administrator "
                           "for access.")
    raise AccessDenied(f"Your role ({user.role}) may not {words}: {roles} may.")


# --- roles tables -------------------------------------------------------------------------------

def _districts(value: Any) -> tuple[str, ...]:
    if value is None:
        return (ALL_DISTRICTS,)
    items = [value] if isinstance(value, str) else list(value)
    out = tuple(str(v).strip() for v in items if str(v).strip())
    if not out:
        raise AccessDenied("A grant must name at least one district, or \"*\" for every district.")
    return out


def parse_grant(email: str, value: Any) -> RoleGrant:
    """One ``[roles]`` entry: ``"facilities"`` or ``{role = "finance", districts = ["North"]}``.

    A plain role string grants every district (the single-district deployment of old).
    """
    if isinstance(value, str):
        role, districts = value, None
    elif isinstance(value, Mapping):
        role, districts = value.get("role", ""), value.get("districts")
    else:
        raise AccessDenied(f"[roles] {email}: expected a role or a table with role and districts.")
    role = str(role).strip().lower()
    if role not in ROLES:
        raise AccessDenied(f"[roles] {email}: unknown role {role!r}; one of {', '.join(ROLES)}.")
    return RoleGrant(email.strip().lower(), role, _districts(districts))


def grants_from_table(table: Mapping[str, Any]) -> dict[str, RoleGrant]:
    """The ``[roles]`` table of secrets as grants by lower-case e-mail."""
    return {str(k).strip().lower(): parse_grant(str(k), v) for k, v in table.items()}


@dataclass(frozen=True)
class AccessSettings:
    """``[access]`` in secrets: group claims, a default for unlisted users, session length."""

    groups_claim: str = "groups"
    group_roles: Mapping[str, RoleGrant] = field(default_factory=dict)
    default_role: str | None = None
    session_minutes: float = 480.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> AccessSettings:
        raw = dict(raw or {})
        groups = {str(g): parse_grant(str(g), v) for g, v in dict(raw.get("group_roles", {})).items()}
        default = raw.get("default_role")
        if default is not None and str(default) not in ROLES:
            raise AccessDenied(f"[access] default_role: unknown role {default!r}; one of {', '.join(ROLES)}.")
        minutes = float(raw.get("session_minutes", cls.session_minutes))
        if not minutes > 0:
            raise AccessDenied("[access] session_minutes must be more than 0.")
        return cls(groups_claim=str(raw.get("groups_claim", "groups")), group_roles=groups,
                   default_role=None if default is None else str(default), session_minutes=minutes)


def resolve_user(claims: Mapping[str, Any], *, grant_for: Callable[[str], GrantLike | None],
                 settings: AccessSettings | None = None, via: str = "") -> User:
    """The ``User`` of a signed-in identity: its e-mail's grant, else its first mapped group claim,
    else the default role (if any), else a user with no role.

    An e-mail the provider says is not verified (``email_verified = false``) gets no role.
    """
    settings = settings or AccessSettings()
    email = str(claims.get("email") or "").strip().lower()
    name = str(claims.get("name") or email)
    if not email or claims.get("email_verified") is False:
        return User(email, None, (), name=name, signed_in=True, via=via)
    grant = grant_for(email)
    if grant is not None and grant.role in ROLES:
        return User(email, grant.role, tuple(grant.districts), name=name, signed_in=True, via=via or "grant")
    groups = claims.get(settings.groups_claim) or ()
    groups = [groups] if isinstance(groups, str) else [str(g) for g in groups]
    for group, mapped in settings.group_roles.items():
        if group in groups:
            return User(email, mapped.role, mapped.districts, name=name, signed_in=True, via=f"group {group}")
    if settings.default_role:
        return User(email, settings.default_role, (ALL_DISTRICTS,), name=name, signed_in=True, via="default")
    return User(email, None, (), name=name, signed_in=True, via=via)


def session_expired(claims: Mapping[str, Any], *, now: float, settings: AccessSettings) -> bool:
    """Whether a sign-in is older than ``session_minutes`` (from the ID token's ``iat``), or
    past the token's ``exp`` when it has no ``iat``."""
    issued = claims.get("iat")
    if isinstance(issued, (int, float)):
        return now >= float(issued) + settings.session_minutes * 60
    expires = claims.get("exp")
    return isinstance(expires, (int, float)) and now >= float(expires)


# --- district scoping ---------------------------------------------------------------------------

def visible_sites(user: User, district: District) -> list[str]:
    """Site ids of ``district`` on districts the user is granted (all for a state user).

    A site with a blank ``district`` is visible to state-wide users only.
    """
    sites = district.sites
    ids = [str(s) for s in sites["site_id"]]
    if user.state_wide:
        return ids
    names = sites["district"] if "district" in sites else [None] * len(sites)
    return [site for site, name in zip(ids, names, strict=True) if user.sees(name)]


def scope_district(user: User, district: District) -> District:
    """The part of ``district`` the user may see (the same object for a state user).

    Buildings without a site are visible to state-wide users only.
    """
    if user.state_wide:
        return district
    return district.subset(visible_sites(user, district))


def scope_report(report: ValidationReport, *, full: District, scoped: District) -> tuple[ValidationReport, int]:
    """The validation report limited to rows of the scoped district; and how many problems and
    rejected rows were held back (they belong to other districts or cannot be traced to a row)."""
    if len(full.buildings) == len(scoped.buildings) and len(full.sites) == len(scoped.sites):
        return report, 0
    rows = {(name, int(r)) for name in ("sites", "buildings", "rooms", "doors", "cameras", "repeaters",
                                        "aeds", "equipment", "programs", "checklist")
            for r in pd.to_numeric(scoped.table(name).get("source_row", pd.Series(dtype=float)),
                                   errors="coerce").dropna()}
    site_ids = set(scoped.sites["site_id"].astype(str))
    building_ids = set(scoped.buildings["building_id"].astype(str))
    rejected: dict[str, pd.DataFrame] = {}
    kept_rejected: set[tuple[str, int]] = set()
    hidden = 0
    for sheet, frame in report.rejected.items():
        mask = pd.Series(False, index=frame.index)
        for column, ids in (("site_id", site_ids), ("building_id", building_ids)):
            if column in frame:
                mask |= frame[column].astype(str).isin(ids)
        hidden += int((~mask).sum())
        if mask.any():
            rejected[sheet] = frame[mask].reset_index(drop=True)
            kept_rejected |= {(sheet, int(r)) for r in pd.to_numeric(frame.loc[mask, "source_row"],
                                                                     errors="coerce").dropna()}
    problems = [p for p in report.problems
                if p.sheet is not None and p.row is not None and ((p.sheet, p.row) in rows
                                                                   or (p.sheet, p.row) in kept_rejected)]
    hidden += len(report.problems) - len(problems)
    return ValidationReport(problems=problems, rejected=rejected), hidden


def scope_assessment(user: User, assessment: Any) -> Any:
    """The assessment limited to the user's districts: the same object when it already is, else
    the assessment run again on the visible part (roll-ups then cover only what the user sees)."""
    from facility_planner.assess import assess

    scoped = scope_district(user, assessment.district)
    if scoped is assessment.district or len(scoped.sites) == len(assessment.district.sites):
        return assessment
    report, _hidden = scope_report(assessment.report, full=assessment.district, scoped=scoped)
    return assess(scoped, report, settings=assessment.settings, budget=assessment.budget,
                  years=len(assessment.budget) if assessment.budget else 1, as_of=assessment.as_of)


def _district_of(item: Any) -> Any:
    if isinstance(item, Mapping):
        return item.get("district")
    return getattr(item, "district", None)


def scope_items(user: User, items: Iterable[Any]) -> list[Any]:
    """Items (snapshots, audit events, roll-up rows) whose ``district`` the user may see."""
    return [item for item in items if user.sees(_district_of(item))]


def permission_table(roles: Sequence[str] = ROLES) -> list[dict[str, str]]:
    """The permission matrix as rows (action, what, one column per role with yes/no)."""
    return [{"action": action, "what": ACTION_WORDS[action],
             **{role: "yes" if role in allowed else "no" for role in roles}}
            for action, allowed in PERMISSIONS.items()]


def with_role(user: User, role: str) -> User:
    """The single-user tool's user with the role picked in the sidebar."""
    return replace(user, role=role if role in ROLES else ROLES[0])


def changed_cells(before: pd.DataFrame, after: pd.DataFrame, *, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Every cell that differs between two versions of a table, matched on ``keys`` columns:
    ``{"target": "key=...; column", "column", "before", "after"}``; added and removed rows too.

    Used by the audit trail so each edit is recorded once, from what to what.
    """
    def keyed(frame: pd.DataFrame) -> dict[tuple[str, ...], dict[str, Any]]:
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for position, row in enumerate(frame.to_dict("records")):
            key = tuple("" if _blank(row.get(k)) else str(row.get(k)) for k in keys)
            out[key if any(key) else (f"new row {position + 1}",)] = row
        return out

    old, new = keyed(before), keyed(after)
    changes: list[dict[str, Any]] = []
    for key in [*old, *(k for k in new if k not in old)]:
        label = ", ".join(key)
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            changes.append({"target": label, "column": "(row)", "before": None if a is None else _text(a),
                            "after": None if b is None else _text(b)})
            continue
        for column in dict.fromkeys([*a, *b]):
            if not _same(a.get(column), b.get(column)):
                changes.append({"target": f"{label}: {column}", "column": column,
                                "before": _plain_value(a.get(column)), "after": _plain_value(b.get(column))})
    return changes


def _blank(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _same(a: Any, b: Any) -> bool:
    if _blank(a) and _blank(b):
        return True
    if _blank(a) or _blank(b):
        return False
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _plain_value(value: Any) -> str | None:
    return None if _blank(value) else str(value)


def _text(row: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in row.items() if not _blank(v))


# --- the command line: writes to a shared store -------------------------------------------------

class GrantSource(Protocol):
    def grants(self) -> Sequence[GrantLike]: ...
    def grant_for(self, email: str) -> GrantLike | None: ...


def store_user(store: GrantSource, email: str | None) -> User:
    """The CLI's user of a store: ``--user`` / ``FACILITY_PLANNER_USER`` looked up in its grants.

    A store with no grants at all is a personal one: its local user may do everything.
    """
    if not store.grants():
        return User(email or "local user", "admin", (ALL_DISTRICTS,), via="personal store")
    if not email:
        return User("", None)
    grant = store.grant_for(email)
    if grant is None or grant.role not in ROLES:
        return User(email.strip().lower(), None)
    return User(email.strip().lower(), grant.role, tuple(grant.districts), via="store grant")


def require_in_store(store: GrantSource, email: str | None, action: str) -> User:
    """Raise ``AccessDenied`` unless ``email`` may ``action`` on this store (see ``store_user``)."""
    user = store_user(store, email)
    if not user.email and not user.known:
        raise AccessDenied("This store has a roles table: say who you are with --user EMAIL "
                           "(or FACILITY_PLANNER_USER).")
    require(user, action)
    return user
