"""Small exception types whose messages are written for the people who use the tool."""

from __future__ import annotations


class FacilityPlannerError(Exception):
    """Base class: every error a user may see. ``str(err)`` is a complete sentence."""


class InputError(FacilityPlannerError):
    """A file cannot be used as a whole (wrong type, unreadable, missing sheet or CRS).

    Row-level problems are not raised: they go to the validation report.
    """

    def __init__(self, message: str, *, file: str | None = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None) -> None:
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        where = ", ".join(
            part for part in (
                f"file {file}" if file else "",
                f"sheet {sheet}" if sheet else "",
                f"row {row}" if row is not None else "",
                f"column {column}" if column else "",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class UploadRejected(InputError):
    """An upload breaks a safety limit (size, zip member count, unsafe member names)."""


class MissingCRSError(InputError):
    """A map file has no coordinate reference system and none was given."""


class RulesPackError(FacilityPlannerError):
    """A rules pack or catalog is malformed; the message names the rule (or item) and field."""


class ConfigError(FacilityPlannerError):
    """A configuration file (coverage parameters, cost catalog) is malformed."""


class OptionalDependencyError(FacilityPlannerError):
    """An optional package is needed for this feature; the message says what to install."""


class StoreError(FacilityPlannerError):
    """The assessment store cannot be used (database down, wrong password, read-only file, disk
    full, a store made by a newer version, an unknown snapshot). ``str(err)`` is one sentence."""


class StoreVersionError(StoreError):
    """The store was made by a newer facility-planner (its schema is ahead of this version)."""


class StoreUpgradeNeeded(StoreError):
    """A store of an older schema was opened read-only: it must be opened once with write access."""
