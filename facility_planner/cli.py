"""The ``facility-planner`` command: validate, assess, template, demo-data.

The CLI is an edge: it reads files into bytes, calls the same library functions as the app, and
prints. Errors reach the user as one sentence and an exit code, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from facility_planner import __version__
from facility_planner.errors import FacilityPlannerError
from facility_planner.model import ValidationReport

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


_DOLLARS = re.compile(r"\$?\s*(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
                      r"\s*(?P<unit>[kKmM]?)")
_DOLLAR_FORMS = "250000, 250,000, $250,000, 250k or 1.2m"


def parse_dollars(text: str) -> float:
    """An amount of dollars as people write it: ``250000``, ``250,000``, ``$250,000``, ``250k``,
    ``1.2m`` (k = thousand, m = million). Anything else is a usage error naming the forms."""
    match = _DOLLARS.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an amount of dollars; write it as {_DOLLAR_FORMS}")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match["unit"].lower()]
    return float(match["number"].replace(",", "")) * scale


def _map_sources(paths: Sequence[str]) -> list[tuple[str, bytes]]:
    """Read map files named on the command line into (file name, bytes) pairs."""
    from facility_planner.errors import InputError

    sources = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise InputError("the map file does not exist or is not a file.", file=name)
        sources.append((path.name, path.read_bytes()))
    return sources


def _load(args: argparse.Namespace):
    from facility_planner.io.load import load_district

    inventory = Path(args.inventory)
    if not inventory.exists():
        from facility_planner.errors import InputError

        raise InputError("the inventory does not exist: give an .xlsx workbook or a folder of CSV files.",
                         file=str(inventory))
    return load_district(inventory, maps=_map_sources(args.map or []), crs=args.crs,
                         map_crs=args.map_crs, dxf_layers=args.cad_layer)


def format_report(report: ValidationReport, *, limit: int | None = None) -> str:
    """The validation report as aligned text lines, errors first."""
    lines = []
    problems = sorted(report.problems, key=lambda p: (p.severity != "error", p.file or "", p.sheet or "",
                                                     p.row or 0, p.column or ""))
    for problem in problems[:limit]:
        where = " ".join(part for part in (
            problem.file or "",
            f"sheet={problem.sheet}" if problem.sheet else "",
            f"row={problem.row}" if problem.row is not None else "",
            f"column={problem.column}" if problem.column else "",
        ) if part)
        lines.append(f"{problem.severity.upper():7} {where}: {problem.message}")
    if limit is not None and len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more (use --all to list every problem)")
    summary = (f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
               f"{report.rejected_count} row(s) could not be used")
    cells = sum(p.count for p in report.problems)
    if cells > len(report.problems):
        summary += (f"; {cells:,} problem rows in all (validate --problems FILE.csv writes every "
                    "one; assess writes problems.csv)")
    lines.append(summary)
    return "\n".join(lines)


def _cmd_validate(args: argparse.Namespace) -> int:
    _district, report = _load(args)
    if args.json:
        rejected = report.rejected_frame().astype(object)
        payload = {"errors": [p.as_dict() for p in report.errors],
                   "warnings": [p.as_dict() for p in report.warnings],
                   "rejected_rows": rejected.where(rejected.notna(), None).to_dict("records")}
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(format_report(report, limit=None if args.all else 200))
    from facility_planner.io.exports import write_csv

    if args.rejected:
        write_csv(args.rejected, report.rejected_frame())
        print(f"rejected rows written to {args.rejected}", file=sys.stderr)
    if args.problems:
        write_csv(args.problems, report.cells_frame())
        print(f"every problem, one line per row, written to {args.problems}", file=sys.stderr)
    return EXIT_INVALID if report.errors else EXIT_OK


def _cmd_assess(args: argparse.Namespace) -> int:
    from facility_planner.assess import assess, load_settings, write_outputs

    started = time.perf_counter()
    district, report = _load(args)
    from facility_planner.pipeline import available_memory, check_fits, district_rows

    check_fits(Path(args.inventory).name, district_rows(district), available_memory())
    settings = load_settings(rules=args.rules or None, costs=args.costs, coverage=args.coverage,
                             edition=args.edition)
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    budgets = list(args.budget) if args.budget else None
    result = assess(district, report, settings=settings, budget=budgets, years=args.years, as_of=as_of)
    written = write_outputs(result, Path(args.out), crs=args.out_crs)
    if any(p.count > 1 for p in report.problems):  # the workbook lists repeated problems once
        from facility_planner.io.exports import write_csv

        written["problems"] = Path(args.out) / "problems.csv"
        write_csv(written["problems"], report.cells_frame())
    print(format_report(report, limit=20))
    for path in written.values():
        print(f"wrote {path}")
    if args.save or args.store:
        from facility_planner.access import require_in_store
        from facility_planner.store import open_store
        from facility_planner.store.commands import save_assessment

        with open_store(args.store) as shared:  # a store with a roles table: the user must be granted
            require_in_store(shared, os.environ.get("FACILITY_PLANNER_USER"), "save")
        info = save_assessment(result, store=args.store, summary_path=written["summary.json"],
                               workbook=written["assessment.xlsx"])
        print(f"saved snapshot {info.id} ({info.kind} store)"
              + (f": same inputs as snapshot {info.repeat_of}" if info.repeat_of else ""))
    if result.portfolio is not None:
        p = result.portfolio
        print(f"budget {sum(p.budget):,.0f}: {len(p.selected)} project(s) chosen, cost {p.total_cost:,.0f}, "
              f"risk reduction {p.total_risk_reduction:,.1f} ({p.method}, gap {p.gap:.2%})")
    print(f"assessed {len(district.buildings)} building(s) in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def _state_store(args: argparse.Namespace) -> str:
    """The store a state run saves into (checked on this machine before any work: the user must
    be granted saving; workers then open it by the same path or URL)."""
    from facility_planner.access import require_in_store
    from facility_planner.store import default_store_path, open_store

    given = args.store or str(default_store_path())
    location = given if "://" in given else str(Path(given).resolve())
    with open_store(location) as shared:
        require_in_store(shared, os.environ.get("FACILITY_PLANNER_USER"), "save")
    return location


def _cmd_assess_state(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from facility_planner.assess import load_settings
    from facility_planner.pipeline import RunOptions, find_districts, run_state
    from facility_planner.store.commands import current_role, current_user

    sources = find_districts(args.folder)
    settings = load_settings(rules=args.rules or None, costs=args.costs, coverage=args.coverage,
                             edition=args.edition)
    options = RunOptions(settings=settings, as_of=date.fromisoformat(args.as_of) if args.as_of else date.today(),
                         budget=[float(b) for b in args.budget] if args.budget else None, years=args.years,
                         chunk_buildings=args.chunk_buildings, out_dir=Path(args.out))
    if args.save or args.store:
        options = replace(options, store=_state_store(args), saved_by=(current_user(), current_role()))
    state_budget = [float(b) for b in args.state_budget] if args.state_budget else None
    results, paths = run_state(sources, options, workers=args.workers, scheduler=args.scheduler,
                               state_budget=state_budget, show=print)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"error: district {r.name}: {r.error}", file=sys.stderr)
    for path in paths.values():
        print(f"wrote {path}")
    print(f"assessed {len(results) - len(failed)} of {len(results)} district(s); "
          f"district outputs in {Path(args.out) / 'districts'}, map layers in {Path(args.out) / 'layers'}")
    if options.store is not None:
        saved = [r.row["snapshot_id"] for r in results if "snapshot_id" in r.row]
        print(f"saved {len(saved)} snapshot(s) to the store, one per district"
              + (f" ({min(saved)}-{max(saved)})" if saved else ""))
    return EXIT_INVALID if failed else EXIT_OK


def _cmd_template(args: argparse.Namespace) -> int:
    from facility_planner.io.template import write_template

    write_template(Path(args.out))
    print(f"wrote {args.out}")
    return EXIT_OK


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from facility_planner.demo import write_demo_data

    out = write_demo_data(Path(args.out_dir), schools=args.schools, seed=args.seed, fmt=args.format,
                          layout=args.layout)
    print(f"wrote a synthetic district of {args.schools} school(s) to {out}")
    return EXIT_OK


def _cmd_roles(args: argparse.Namespace) -> int:
    """List, grant or revoke roles in a store's roles table (admins only, once it has one)."""
    from facility_planner import access
    from facility_planner.store import open_store

    store = open_store(location=args.store, readonly=args.action == "list")
    who = args.user or os.environ.get("FACILITY_PLANNER_USER") or None
    if args.action == "list":
        rows = [{"email": g.email, "role": g.role, "districts": list(g.districts)} for g in store.grants()]
        if args.json:
            print(json.dumps(rows, indent=2))
        for row in [] if args.json else rows:
            print(f"{row['email']:40} {row['role']:11} {', '.join(row['districts'])}")
        return EXIT_OK
    if not args.email:
        print("error: give the e-mail address to grant or revoke", file=sys.stderr)
        return EXIT_USAGE
    user = access.require_in_store(store, who, "manage_roles")
    if args.action == "grant":
        if not args.role:
            print("error: --role is needed to grant", file=sys.stderr)
            return EXIT_USAGE
        grant = access.parse_grant(args.email, {"role": args.role, "districts": args.district or None})
        if not user.state_wide and not all(user.sees(d) for d in grant.districts):
            raise access.AccessDenied(f"You may grant only your own districts: {', '.join(user.districts)}.")
        store.grant(grant.email, role=grant.role, districts=grant.districts, by=user.email)
        print(f"{grant.email} is now {grant.role} of {', '.join(grant.districts)}")
    else:
        store.revoke(args.email, by=user.email)
        print(f"{args.email.strip().lower()} no longer has a role")
    return EXIT_OK


def _add_inputs(p: argparse.ArgumentParser) -> None:
    """Inventory, maps, CRS and CAD layers (validate and assess)."""
    p.add_argument("inventory", help="inventory workbook (.xlsx) or a folder of CSV files")
    p.add_argument("--map", action="append", metavar="MAP",
                   help="campus map: GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, zipped "
                        "FileGDB or DXF (repeatable)")
    p.add_argument("--crs", help="metric CRS for the analysis, e.g. EPSG:32618 (default: the UTM zone of the data)")
    p.add_argument("--map-crs", help="CRS of map files that carry none (DXF), and of x/y columns")
    p.add_argument("--cad-layer", action="append", metavar="NAME",
                   help="CAD layer of a DXF drawing to read footprints from (repeatable; default: "
                        "layers named like buildings/footprints, rooms, walls, parking, site)")

def _add_policy(p: argparse.ArgumentParser) -> None:
    """Packs, catalogs, budget, date and output folder (assess and assess-state)."""
    p.add_argument("--rules", action="append", metavar="PACK", help="rules pack YAML (repeatable; default: the three shipped packs)")
    p.add_argument("--edition", type=int, choices=(6, 7), default=7, help="PASS edition whose layers to use (default 7)")
    p.add_argument("--costs", metavar="CATALOG", help="cost catalog YAML that overrides the shipped one")
    p.add_argument("--coverage", metavar="CONFIG", help="coverage parameters YAML that overrides the shipped one")
    p.add_argument("--budget", nargs="+", metavar="USD", type=parse_dollars,
                   help=f"budget in dollars ({_DOLLAR_FORMS}); with --years, one figure per year or one for every year")
    p.add_argument("--years", type=int, default=1, help="phase the plan over N years (default 1)")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="assessment date (default: today)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facility-planner",
        description="School facility security planning: validate inventories, assess buildings "
                    "against the COPS minimum measures and PASS tiers, and plan retrofits to a budget.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check an inventory and maps; exit 1 if any error")
    _add_inputs(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--all", action="store_true", help="list every problem (default: the first 200)")
    p.add_argument("--rejected", metavar="CSV", help="write the rows that could not be used to this CSV")
    p.add_argument("--problems", metavar="CSV", help="write every problem to this CSV, one line per row "
                   "(a problem repeated in many rows is listed once on screen)")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("assess", help="score, map and plan; write assessment.xlsx, coverage.gpkg, map.html, summary.json")
    _add_inputs(p)
    _add_policy(p)
    p.add_argument("--out-crs", metavar="CRS", help="CRS of coverage.gpkg (default EPSG:4326)")
    from facility_planner.store.commands import add_history_parser, add_save_options

    add_save_options(p)
    p.set_defaults(handler=_cmd_assess)

    _add_state_parser(sub)

    _add_roles_parser(sub)

    p = sub.add_parser("template", help="write a blank inventory workbook with drop-downs")
    p.add_argument("out", metavar="OUT.xlsx")
    p.set_defaults(handler=_cmd_template)

    p = sub.add_parser("demo-data", help="write a synthetic district of N schools")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--schools", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="inventory as a workbook or CSV folder")
    p.add_argument("--layout", choices=("city", "rural", "mixed"), default="mixed",
                   help="city: urban density, shared campuses and addresses; rural: km apart; mixed (default): a town among farms")
    p.set_defaults(handler=_cmd_demo_data)

    add_history_parser(sub)
    return parser


def _add_state_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`assess-state`: a folder of districts on Dask."""
    p = sub.add_parser("assess-state", help="assess a folder of districts (one sub-folder each) on Dask")
    p.add_argument("folder", help="state folder: one sub-folder per district with its inventory and maps")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core; 1 = no Dask)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS)")
    p.add_argument("--chunk-buildings", type=int, default=2000, metavar="N",
                   help="buildings measured per task (whole sites; default 2000)")
    p.add_argument("--state-budget", nargs="+", metavar="USD", type=parse_dollars,
                   help="one budget for the whole state: a state plan over every district's projects")
    _add_policy(p)
    from facility_planner.store.commands import add_save_options

    add_save_options(p)
    p.set_defaults(handler=_cmd_assess_state)


def _add_roles_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`roles`: list, grant or revoke roles in a store."""
    p = sub.add_parser("roles", help="list, grant or revoke roles in a store (admins only)")
    p.add_argument("action", choices=("list", "grant", "revoke"))
    p.add_argument("email", nargs="?", help="the e-mail address the person signs in with")
    p.add_argument("--role", choices=("planner", "facilities", "finance", "admin"))
    p.add_argument("--district", action="append", metavar="NAME",
                   help="a district the grant covers (repeatable; default every district: '*')")
    p.add_argument("--store", metavar="PATH|URL", help="the store (default: FACILITY_PLANNER_STORE or the user's data folder)")
    p.add_argument("--user", metavar="EMAIL", help="who you are (default FACILITY_PLANNER_USER); must be an admin "
                   "once the store has a roles table")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.set_defaults(handler=_cmd_roles)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``facility-planner`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except FacilityPlannerError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as err:  # a file that cannot be read or written: not a usage error
        print(f"error: {err.filename or 'a file'}: {err.strerror or err}.", file=sys.stderr)
        return EXIT_INVALID
    except ValueError as err:
        if os.environ.get("FACILITY_PLANNER_DEBUG"):
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - last line of defence: no traceback reaches a user
        if os.environ.get("FACILITY_PLANNER_DEBUG"):
            traceback.print_exc()
        print(f"error: unexpected failure ({type(err).__name__}: {err}). "
              "Set FACILITY_PLANNER_DEBUG=1 for details and report it.", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
