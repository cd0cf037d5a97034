"""Connecting to a store: the SQLite file or the PostgreSQL/PostGIS database, its schema
migrations (alembic, run on open), and database errors turned into one plain sentence."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from facility_planner.errors import StoreError, StoreUpgradeNeeded, StoreVersionError
from facility_planner.store.records import StoreKind
from facility_planner.store.schema import SCHEMA_HEAD

#: Set on every SQLite connection. WAL lets readers work while one process saves; the busy
#: timeout makes a second writer wait for the first instead of failing.
SQLITE_PRAGMAS: dict[str, Any] = {"busy_timeout": 30000, "foreign_keys": "ON", "synchronous": "NORMAL"}
_PG_PREFIXES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def default_store_path() -> Path:
    """The default store file: ``store.sqlite`` in the user's data folder
    (``FACILITY_PLANNER_STORE`` overrides it)."""
    env = os.environ.get("FACILITY_PLANNER_STORE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("facility-planner", appauthor=False)) / "store.sqlite"


def is_postgres(location: str) -> bool:
    return location.startswith(_PG_PREFIXES)


def redact(location: str) -> str:
    """A database URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", location)


def make_engine(location: str, *, readonly: bool) -> tuple[sa.Engine, StoreKind]:
    """An engine for a PostgreSQL URL or a SQLite file path."""
    if is_postgres(location):
        url = sa.make_url(location).set(drivername="postgresql+psycopg")
        args: dict[str, Any] = {"connect_timeout": 10}
        if readonly:
            options = str(url.query.get("options", ""))
            args["options"] = f"{options} -c default_transaction_read_only=on".strip()
        return sa.create_engine(url, connect_args=args, pool_pre_ping=True), "postgis"
    path = Path(location).expanduser()
    if readonly and not path.exists():
        raise StoreError(f"There is no store at {path}: save an assessment first.")
    if not readonly:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"The store's folder {path.parent} cannot be created ({err.strerror}).") from err
    target = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    engine = sa.create_engine("sqlite://", creator=_sqlite_creator(target), poolclass=sa.pool.NullPool)
    _sqlite_events(engine, readonly=readonly)
    return engine, "sqlite"


def _sqlite_creator(target: str) -> Any:
    import sqlite3

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(target, uri=True, timeout=SQLITE_PRAGMAS["busy_timeout"] / 1000,
                               isolation_level=None, check_same_thread=False)
    return connect


def _sqlite_events(engine: sa.Engine, *, readonly: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for name, value in SQLITE_PRAGMAS.items():
            cursor.execute(f"PRAGMA {name} = {value}")
        if not readonly:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # Writers take the lock up front, so two savers queue (busy timeout) instead of deadlocking.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def plain_errors(location: str, kind: StoreKind) -> Iterator[None]:
    """Turn a database failure into a ``StoreError`` whose message is one plain sentence."""
    try:
        yield
    except StoreError:
        raise
    except sa.exc.DBAPIError as err:
        raise StoreError(_sentence(err, location, kind)) from err
    except sa.exc.SQLAlchemyError as err:
        raise StoreError(f"The store {redact(location)} cannot be used: {type(err).__name__}.") from err
    except OSError as err:
        raise StoreError(f"The store {redact(location)} cannot be used: {err.strerror or err}.") from err


def _sentence(err: sa.exc.DBAPIError, location: str, kind: StoreKind) -> str:
    text = str(getattr(err, "orig", err) or err).lower()
    where = redact(location)
    if kind == "sqlite":
        if "readonly" in text or "read-only" in text:
            return f"The store file {where} is read-only: save to a store you may write to (--store)."
        if "full" in text:
            return f"The disk holding the store {where} is full: free some space and save again."
        if "locked" in text or "busy" in text:
            return f"The store {where} is busy with another save: try again in a moment."
        if "not a database" in text or "malformed" in text:
            return f"The file {where} is not a facility-planner store (or is damaged)."
        if "unable to open" in text:
            return f"The store file {where} cannot be opened: check the folder exists and may be written."
        return f"The store {where} cannot be used: {text.splitlines()[0]}."
    if "password" in text or "authentication" in text:
        return f"The store database {where} refused the user name or password."
    if "does not exist" in text and "database" in text:
        return f"The store database {where} does not exist: create it first."
    if "refused" in text or "timeout" in text or "could not connect" in text or "connection" in text:
        return f"The store database {where} is not answering: check it is running and reachable."
    if "read-only" in text or "read only" in text:
        return f"The store database {where} is open read-only: this action needs write access."
    if "postgis" in text or "geometry" in text:
        return f"The store database {where} lacks PostGIS: run CREATE EXTENSION postgis in it."
    if "no space" in text or "disk full" in text:
        return f"The disk of the store database {where} is full."
    return f"The store database {where} cannot be used: {text.splitlines()[0]}."


def migrate(engine: sa.Engine, *, readonly: bool, location: str) -> str:
    """Bring the schema up to ``SCHEMA_HEAD`` (alembic, in one transaction); return the revision.

    Refuses a store whose revision this version does not know (made by a newer version).
    """
    from alembic.migration import MigrationContext

    options: dict[str, Any] = {} if readonly else {"sqlite_begin": "IMMEDIATE"}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if conn.dialect.name == "postgresql" and not readonly:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7310092)"))
        schema = None
        if conn.dialect.name == "postgresql":  # the version table of this store's own schema
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
        current = MigrationContext.configure(conn, opts={"version_table_schema": schema}).get_current_revision()
        if current == SCHEMA_HEAD:
            return current
        _check_known(current, location)
        if readonly:
            raise StoreUpgradeNeeded(f"The store {redact(location)} was made by an older version: open it once "
                             "with write access so it can be upgraded.")
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = conn
        config.attributes["version_table_schema"] = schema
        command.upgrade(config, SCHEMA_HEAD)
    return SCHEMA_HEAD


def _check_known(revision: str | None, location: str) -> None:
    if revision is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except (CommandError, KeyError) as err:
        raise StoreVersionError(
            f"The store {redact(location)} was made by a newer version of facility-planner (schema "
            f"{revision}): upgrade facility-planner to use it.") from err


def alembic_config() -> Any:
    """The alembic configuration of the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config
