"""The house rules the README's architecture section states, checked on the source.

- the pure core (model, facts, rules, scoring, geo, planning) imports no edge (io, mapping, assess,
  cli, ui, store) and no edge library (streamlit, folium, openpyxl);
- only ``facility_planner/ui`` (and ``app.py``) import streamlit;
- the UI reaches the library through its public API: no facts, scoring or geo internals, no private
  names of other modules;
- no function is longer than ``MAX_FUNCTION_LINES`` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "facility_planner"
MAX_FUNCTION_LINES = 80
#: Functions being split on other branches right now (issue 13); the lead empties this after merging.
LONG_FUNCTIONS_BEING_SPLIT: set[tuple[str, str]] = set()
CORE = ("facility_planner.model", "facility_planner.facts", "facility_planner.rules",
        "facility_planner.scoring", "facility_planner.geo", "facility_planner.planning",
        "facility_planner.errors", "facility_planner.settings", "facility_planner._yaml")
EDGES = ("facility_planner.io", "facility_planner.mapping", "facility_planner.assess",
         "facility_planner.cli", "facility_planner.ui", "facility_planner.store",
         "facility_planner.demo", "facility_planner.distributed", "facility_planner.access")
EDGE_LIBRARIES = ("streamlit", "streamlit_folium", "folium", "openpyxl")
#: Library modules the UI may not import: it calls ``assess`` (and the public planning, rules,
#: io and mapping functions) instead of running stages itself.
UI_FORBIDDEN = ("facility_planner.facts", "facility_planner.scoring", "facility_planner.geo",
                "facility_planner.cli", "facility_planner.demo", "facility_planner.distributed")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import of ``path``, relative ones resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((base, [alias.name for alias in node.names]))
    return out


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_sources_are_found() -> None:
    names = {_module_name(p) for p in _sources()}
    assert {"facility_planner.scoring", "facility_planner.planning.optimise",
            "facility_planner.ui.state"} <= names


@pytest.mark.parametrize("path", [p for p in _sources() if _within(_module_name(p), CORE)],
                         ids=lambda p: _module_name(p))
def test_the_core_imports_no_edge(path: Path) -> None:
    bad = [name for name, _ in _imports(path)
           if _within(name, EDGES) or name.split(".")[0] in EDGE_LIBRARIES]
    assert not bad, f"{_module_name(path)} is pure core but imports {bad}"


def test_only_the_ui_imports_streamlit() -> None:
    bad = [(_module_name(p), name) for p in _sources() if not _within(_module_name(p), ("facility_planner.ui",))
           for name, _ in _imports(p) if name.split(".")[0] in ("streamlit", "streamlit_folium")]
    assert not bad, f"streamlit outside facility_planner/ui: {bad}"


def test_the_ui_uses_the_public_api_only() -> None:
    problems = []
    for path in _sources():
        if not _within(_module_name(path), ("facility_planner.ui",)):
            continue
        for name, names in _imports(path):
            if not name.startswith("facility_planner") or _within(name, ("facility_planner.ui",)):
                continue
            if _within(name, UI_FORBIDDEN):
                problems.append(f"{_module_name(path)} imports {name}")
            private = [n for n in names if n.startswith("_")]
            private += [part for part in name.split(".") if part.startswith("_")]
            if private:
                problems.append(f"{_module_name(path)} imports private {name}: {private}")
    assert not problems, "; ".join(problems)


def test_app_py_only_starts_the_ui() -> None:
    names = [name for name, _ in _imports(ROOT / "app.py") if name.startswith("facility_planner")]
    assert names and all(_within(n, ("facility_planner.ui",)) for n in names), names


def _long_functions() -> list[tuple[str, str, int]]:
    found = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append((rel, node.name, lines))
    return found


def test_no_function_is_over_80_lines() -> None:
    long = [f"{rel}:{name} ({lines} lines)" for rel, name, lines in _long_functions()
            if (rel, name) not in LONG_FUNCTIONS_BEING_SPLIT]
    assert not long, "split into named steps: " + ", ".join(long)


def test_the_long_function_allowlist_is_not_stale() -> None:
    still_long = {(rel, name) for rel, name, _ in _long_functions()}
    stale = sorted(LONG_FUNCTIONS_BEING_SPLIT - still_long)
    assert not stale, f"split already: remove from LONG_FUNCTIONS_BEING_SPLIT: {stale}"


def test_the_package_is_typed_and_versioned() -> None:
    from importlib.metadata import version

    import facility_planner

    assert (PACKAGE / "py.typed").is_file()
    assert facility_planner.__version__ == version("facility-planner")
