"""The ``facility-planner history`` command (list, show, diff, rollup, delete) and the ``--save``
step of ``assess``: thin printing over the store API, the same calls the app's History page makes."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from facility_planner.store.records import SnapshotInfo


def current_user() -> str:
    """Who is saving: ``FACILITY_PLANNER_USER``, else the login name."""
    return os.environ.get("FACILITY_PLANNER_USER") or getpass.getuser()


def current_role() -> str:
    """The role a command runs in: ``FACILITY_PLANNER_ROLE``, else admin (single-user install)."""
    return os.environ.get("FACILITY_PLANNER_ROLE", "admin")


def save_assessment(assessment: Any, *, store: str | None, summary_path: Path | None = None,
                    workbook: Path | None = None, user: str | None = None, role: str | None = None,
                    district: str | None = None) -> SnapshotInfo:
    """Save an assessment to the store, add ``snapshot`` {id, saved_at, kind} to summary.json and,
    when the district has an earlier snapshot, a Comparison sheet to the workbook (written again
    from ``assessment``, streamed, rather than loaded whole: a large district's workbook holds
    millions of cells).

    ``user`` and ``role`` default to ``current_user()`` and ``current_role()``; ``district`` to
    the sites' district column (a state run passes its district folder's name)."""
    from facility_planner.io.exports import add_summary_entry, write_workbook
    from facility_planner.store import open_store

    with open_store(store) as s:
        info = s.save(assessment, user=user or current_user(), role=role or current_role(), district=district)
        earlier = [i for i in s.snapshots(district=info.district) if i.id < info.id]
        if workbook is not None and workbook.exists() and earlier:
            write_workbook(workbook, assessment, comparison=comparison(s, earlier[-1].id, info.id))
    if summary_path is not None and summary_path.exists():
        add_summary_entry(summary_path, "snapshot", {"id": info.id, "saved_at": info.saved_at.isoformat(),
                                                     "kind": info.kind, "district": info.district,
                                                     "repeat_of": info.repeat_of})
    return info


def comparison(store: Any, a: int, b: int) -> tuple[pd.DataFrame, str]:
    """The Comparison sheet's table and title for snapshot ``a`` -> ``b``."""
    from facility_planner.store.compare import comparison_table

    diff = store.diff(a, b)
    title = (f"What changed from snapshot {a} ({diff.a.as_of}) to snapshot {b} ({diff.b.as_of}), "
             f"{diff.b.district}")
    return comparison_table(diff), title


def add_comparison(store: Any, a: int, b: int, workbook: Path | bytes) -> bytes | None:
    """Write the Comparison sheet of snapshot ``a`` -> ``b`` into an assessment workbook."""
    from facility_planner.io.exports import add_comparison_sheet

    table, title = comparison(store, a, b)
    return add_comparison_sheet(workbook, table, title=title)


def add_save_options(p: argparse.ArgumentParser) -> None:
    """``--save`` and ``--store`` of ``assess``."""
    p.add_argument("--save", action="store_true", help="save the assessment as a snapshot in the store")
    p.add_argument("--store", metavar="URL_OR_PATH",
                   help="store: a SQLite file or postgresql://user:password@host/db "
                        "(default: store.sqlite in the user's data folder, or FACILITY_PLANNER_STORE)")


def _print_frame(frame: pd.DataFrame, *, as_json: bool) -> None:
    if as_json:
        clean = frame.astype(object).where(frame.notna(), None)
        print(json.dumps(clean.to_dict("records"), indent=2, default=str))
    else:
        with pd.option_context("display.max_rows", 500, "display.max_columns", 40, "display.width", 200):
            print(frame.to_string(index=False) if len(frame) else "(nothing)")


def _cmd_list(store: Any, args: argparse.Namespace) -> None:
    infos = store.snapshots(district=args.district)
    if args.json:
        print(json.dumps([i.as_dict() for i in infos], indent=2, default=str))
        return
    for i in infos:
        score = i.figures.get("score_mean")
        repeat = f", same inputs as {i.repeat_of}" if i.repeat_of else ""
        print(f"{i.id:>5}  {i.saved_at:%Y-%m-%d %H:%M}  {i.district}  as of {i.as_of}  by {i.user} ({i.role})  "
              f"{i.buildings} building(s)  score {'-' if score is None else f'{score:.1f}'}{repeat}")
    if not infos:
        print("no snapshots yet: run `facility-planner assess ... --save`")


def _cmd_show(store: Any, args: argparse.Namespace) -> None:
    snap = store.load(args.id, layers=False)
    if args.json:
        buildings = snap.buildings.astype(object).where(snap.buildings.notna(), None)
        print(json.dumps({"snapshot": snap.info.as_dict(), "summary": snap.summary,
                          "buildings": buildings.to_dict("records")}, indent=2, default=str))
        return
    i = snap.info
    print(f"snapshot {i.id}: {i.district}, as of {i.as_of}, saved {i.saved_at:%Y-%m-%d %H:%M} UTC by {i.user} "
          f"({i.role}), {i.kind} store")
    print(f"inventory {i.inventory_hash[:12]}, settings {i.settings_hash[:12]}, budget: "
          f"{snap.summary.get('budget', {}).get('method')}")
    measures = [c for c in snap.buildings.columns if c[:1] in "MAC" and c[1:].isdigit()]
    _print_frame(snap.buildings[["building_id", "site_id", "measure_score", "pass_overall", "risk", *measures]],
                 as_json=False)


def _cmd_diff(store: Any, args: argparse.Namespace) -> None:
    diff = store.diff(args.a, args.b)
    if args.json:
        print(json.dumps(diff.as_dict(), indent=2, default=str))
    else:
        print("\n".join(diff.lines()))


def _cmd_rollup(store: Any, args: argparse.Namespace) -> None:
    frame = store.rollup(level=args.level, district=args.district, every_snapshot=args.every_snapshot)
    _print_frame(frame, as_json=args.json)


def _cmd_delete(store: Any, args: argparse.Namespace) -> None:
    from facility_planner.access import require_in_store

    require_in_store(store, os.environ.get("FACILITY_PLANNER_USER"), "delete")
    store.delete(args.id, reason=args.reason, user=current_user())
    print(json.dumps({"deleted": args.id}) if args.json else f"deleted snapshot {args.id} ({args.reason})")


def _run(args: argparse.Namespace) -> int:
    from facility_planner.errors import StoreUpgradeNeeded
    from facility_planner.store import open_store

    try:
        store = open_store(args.store, readonly=args.action != "delete")
    except StoreUpgradeNeeded:  # an older store: migrate it (needs write access) and go on
        store = open_store(args.store)
    with store:
        args.history_handler(store, args)
    return 0


def add_history_parser(sub: Any) -> None:
    """``facility-planner history list|show ID|diff A B|rollup|delete ID --reason ...``."""
    history = sub.add_parser("history", help="saved assessments: list, show, diff, roll up, delete")
    actions = history.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="URL_OR_PATH", help="the store (default: the user's store)")
    common.add_argument("--json", action="store_true", help="print JSON")
    p = actions.add_parser("list", parents=[common], help="every snapshot, oldest first")
    p.add_argument("--district", help="only this district")
    p.set_defaults(history_handler=_cmd_list)
    p = actions.add_parser("show", parents=[common], help="one snapshot: who, when, what, per building")
    p.add_argument("id", type=int)
    p.set_defaults(history_handler=_cmd_show)
    p = actions.add_parser("diff", parents=[common], help="what changed from snapshot A to snapshot B")
    p.add_argument("a", type=int)
    p.add_argument("b", type=int)
    p.set_defaults(history_handler=_cmd_diff)
    p = actions.add_parser("rollup", parents=[common], help="the same figures per building, site, district or state")
    p.add_argument("--level", choices=("building", "site", "district", "state"), default="district")
    p.add_argument("--district", help="only this district")
    p.add_argument("--every-snapshot", action="store_true", help="one row per snapshot (trends)")
    p.set_defaults(history_handler=_cmd_rollup)
    p = actions.add_parser("delete", parents=[common], help="delete a snapshot (a reason is required)")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True, help="why (kept in the store with who and when)")
    p.set_defaults(history_handler=_cmd_delete)
    history.set_defaults(handler=_run)
