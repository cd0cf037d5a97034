"""Bad cost catalogs and risk files are refused with the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from facility_planner.errors import ConfigError
from facility_planner.planning.catalog import cost_override, cost_table, load_catalog
from facility_planner.planning.risk import load_risk_config


def _write(tmp_path: Path, text: str, name: str = "district.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ("measures:\n  cameras:\n    low: cheap\n", "`measures.cameras.low`: Input should be a valid number"),
    ("measures:\n  cameras:\n    low: -5\n", "`measures.cameras.low`: Input should be greater than or equal to 0 (got -5)"),
    ("measures:\n  cameras:\n    typcal: 2000\n", "`measures.cameras.typcal`: Extra inputs are not permitted"),
    ("measures:\n  panic_alarm:\n    quantity: rooms\n",
     "`measures.panic_alarm.quantity`: Input should be 'evidence_count', 'units_needed', 'building', 'gross_area_sqft' or 'floors' (got 'rooms')"),
    ("measures:\n  classroom_locks:\n    options:\n      wireless:\n        lifetime_years: 0\n",
     "`measures.classroom_locks.options.wireless.lifetime_years`: Input should be greater than 0 (got 0)"),
    ("grants:\n  SVPP:\n    local_match: 1.5\n", "`grants.SVPP.local_match`: Input should be less than or equal to 1 (got 1.5)"),
    ("measures:\n  cameras:\n    high: 100\n", "measures.cameras: expected low <= typical <= high, got 1080, 1850, 100"),
    ("measures:\n  cameras:\n    grants: [XYZ]\n", "measures.cameras: grant 'XYZ' is not defined under `grants`"),
    ("measures:\n  cameras:\n    requires: [moats]\n", "measures.cameras.requires: 'moats' has no costs"),
    ("discount_rate:\n  value: soon\n", "`discount_rate"),
])
def test_a_bad_catalog_names_file_key_and_expected_value(tmp_path: Path, text: str, expected: str):
    with pytest.raises(ConfigError) as err:
        load_catalog(_write(tmp_path, text))
    message = str(err.value)
    assert message.startswith("Cost catalog district.yaml")
    assert expected in message


def test_a_new_measure_needs_its_required_fields(tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        load_catalog(_write(tmp_path, "measures:\n  moat:\n    unit: metre\n    low: 1\n"))
    message = str(err.value)
    assert "Cost catalog district.yaml, measures.moat" in message
    for key in ("typical", "high", "lifetime_years"):
        assert f"`{key}`: Field required" in message


def test_a_catalog_that_is_not_a_mapping_or_not_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_catalog(_write(tmp_path, "- cameras\n"))
    with pytest.raises(ConfigError, match="district.yaml: not valid YAML"):
        load_catalog(_write(tmp_path, "measures: [unclosed\n"))
    with pytest.raises(ConfigError, match="missing.yaml cannot be read: file not found"):
        load_catalog(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("text", "expected"), [
    ("threat:\n  levels:\n    high: 12\n", "`threat.levels.high`: Input should be less than or equal to 10 (got 12)"),
    ("threat:\n  unknown: high\n", "`threat.unknown`: Input should be a valid number"),
    ("vulnerability:\n  partial_share: 2\n", "`vulnerability.partial_share`: Input should be less than or equal to 1 (got 2)"),
    ("vulnerability:\n  minimum: 9\n  maximum: 3\n", "vulnerability maximum must exceed its minimum, got 9 and 3"),
    ("vulnerability:\n  pack_weights:\n    cops_minimum: -1\n",
     "`vulnerability.pack_weights.cops_minimum`: Input should be greater than or equal to 0 (got -1)"),
    ("consequence:\n  bands:\n    - {max_occupancy: 10}\n", "`consequence.bands.0.score`: Field required"),
    ("consequence:\n  bands: []\n", "`consequence.bands`: List should have at least 1 item"),
    ("portfolio:\n  year_discont: 0.1\n", "`portfolio.year_discont`: Extra inputs are not permitted"),
])
def test_a_bad_risk_file_names_file_key_and_expected_value(tmp_path: Path, text: str, expected: str):
    with pytest.raises(ConfigError) as err:
        load_risk_config(_write(tmp_path, text, "risk.yaml"))
    message = str(err.value)
    assert message.startswith("Risk configuration risk.yaml")
    assert expected in message


def test_a_risk_file_that_is_not_a_mapping(tmp_path: Path):
    with pytest.raises(ConfigError, match="Risk configuration risk.yaml: expected a mapping"):
        load_risk_config(_write(tmp_path, "- 3\n", "risk.yaml"))


def test_a_good_override_file_loads(tmp_path: Path):
    config = load_risk_config(_write(tmp_path, "threat:\n  levels:\n    high: 9\n", "risk.yaml"))
    assert config.threat_levels == {"low": 3.0, "medium": 5.0, "high": 9.0}
    catalog = load_catalog(_write(tmp_path, "measures:\n  cameras:\n    typical: 2000\n"))
    assert catalog.options["cameras"][0].typical == 2000


def test_cost_table_round_trip_through_the_override():
    table = cost_table()
    assert set(table["parameter"]) == {"unit_cost_low", "unit_cost_typical", "unit_cost_high"}
    assert cost_override(table, table) is None
    row = table.index[(table["item"] == "classroom_locks:mechanical")
                      & (table["parameter"] == "unit_cost_typical")][0]
    edited = table.copy()
    edited.loc[row, "value"] = 480.0
    override = cost_override(edited, table)
    assert override == {"measures": {"classroom_locks": {"options": {"mechanical": {"typical": 480.0}}}}}
    mech = next(o for o in load_catalog(override).options["classroom_locks"] if o.option == "mechanical")
    assert mech.typical == 480.0 and mech.low == 410.0


def test_cost_override_refuses_a_bad_edit():
    table = cost_table()
    edited = table.astype({"value": object})
    edited.loc[0, "value"] = "lots"
    with pytest.raises(ConfigError, match="Unit costs, .*expected a number of dollars, got 'lots'"):
        cost_override(edited, table)
    edited.loc[0, "value"] = 10**9  # low above typical and high
    with pytest.raises(ConfigError, match="expected low <= typical <= high"):
        cost_override(edited, table)
