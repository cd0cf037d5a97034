"""Plain records of the assessment store, importable without SQLAlchemy.

``Grant`` (who may do what, in which districts) and ``AuditEvent`` (who did what, when, from what
to what) are read by the app's access code (``facility_planner.access``); ``SnapshotInfo`` describes
one saved assessment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

#: The roles in the users' words (README "Roles").
ROLES = ("planner", "facilities", "finance", "admin")
#: ``Grant.districts`` value meaning every district (a state user).
ALL_DISTRICTS = "*"
StoreKind = Literal["sqlite", "postgis"]


def utc_now() -> datetime:
    """The current time in UTC, to the microsecond."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Grant:
    """A user's role and the districts they may see; ``districts == ("*",)`` means every district."""

    email: str
    role: str
    districts: tuple[str, ...]

    def covers(self, district: str | None) -> bool:
        """True when this grant lets its user see ``district`` (None: only a state user)."""
        if ALL_DISTRICTS in self.districts:
            return True
        return district is not None and district in self.districts


@dataclass(frozen=True)
class AuditEvent:
    """One action in the audit trail: who, what, on what, from what to what, when, in which district.

    ``before`` and ``after`` are JSON-ready values (text, numbers, lists, dicts or None);
    ``at`` None means "now" when recorded.
    """

    user: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    at: datetime | None = None
    district: str | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    """One saved assessment: its id, when and by whom, what it covers and what it was made from.

    ``repeat_of`` is the id of an earlier snapshot of the same district made from the same inputs
    (inventory, maps, rules, costs, risk and coverage settings, date and budget), else None.
    """

    id: int
    saved_at: datetime
    kind: StoreKind
    district: str
    inputs_hash: str
    inventory_hash: str = ""
    settings_hash: str = ""
    as_of: date | None = None
    user: str = ""
    role: str = ""
    buildings: int = 0
    sites: int = 0
    projects: int = 0
    app_version: str = ""
    repeat_of: int | None = None
    figures: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO text)."""
        return {"id": self.id, "saved_at": self.saved_at.isoformat(), "kind": self.kind,
                "district": self.district, "as_of": self.as_of.isoformat() if self.as_of else None,
                "user": self.user, "role": self.role, "buildings": self.buildings,
                "sites": self.sites, "projects": self.projects, "inputs_hash": self.inputs_hash,
                "inventory_hash": self.inventory_hash, "settings_hash": self.settings_hash,
                "app_version": self.app_version, "repeat_of": self.repeat_of,
                "figures": self.figures}
