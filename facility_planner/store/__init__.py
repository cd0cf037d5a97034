"""The assessment store: history year over year, district and state roll-ups.

One API over two back ends with the same behaviour: an embedded SQLite file (the default, under
the user's data folder) and PostgreSQL/PostGIS for a shared deployment. See ``open_store``.

``Grant`` and ``AuditEvent`` (roles and the audit trail, issue 10) live in ``records`` and import
without SQLAlchemy; ``Store``, ``open_store`` and the comparison types load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facility_planner.store.records import ALL_DISTRICTS, ROLES, AuditEvent, Grant, SnapshotInfo

if TYPE_CHECKING:
    from facility_planner.store.compare import SnapshotDiff
    from facility_planner.store.engine import default_store_path
    from facility_planner.store.snapshot import Snapshot
    from facility_planner.store.store import Store, open_store

_LAZY = {"Store": "store", "open_store": "store", "Snapshot": "snapshot", "SnapshotDiff": "compare",
         "default_store_path": "engine"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"facility_planner.store.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'facility_planner.store' has no attribute {name!r}")


__all__ = ["ALL_DISTRICTS", "ROLES", "AuditEvent", "Grant", "Snapshot", "SnapshotDiff", "SnapshotInfo",
           "Store", "default_store_path", "open_store"]
