"""The documentation says what the code does."""

from __future__ import annotations

from pathlib import Path

from facility_planner.model import TABLES, schema_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_inventory_format_doc_is_generated_from_the_schema():
    doc = (ROOT / "docs" / "inventory-format.md").read_text(encoding="utf-8")
    assert doc == schema_markdown(), "regenerate: python -c 'from facility_planner.model import schema_markdown; print(schema_markdown())' > docs/inventory-format.md"


def test_readme_documents_setup_cli_formats_and_summary():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for needle in ("make run", "make test", "facility-planner validate", "facility-planner assess",
                   "facility-planner template", "facility-planner demo-data", "summary.json",
                   "minimum_measures", "pass_tiers", "rejected_rows", "docs/inventory-format.md"):
        assert needle in readme, needle
    for name in TABLES:
        assert f"`{name}`" in readme, name
