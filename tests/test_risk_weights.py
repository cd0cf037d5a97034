"""The risk model as an editable table: rows with sources, edits back to a ``risk.yaml`` override."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facility_planner.errors import ConfigError
from facility_planner.model import make_district
from facility_planner.planning import building_risk, load_risk_config
from facility_planner.planning.risk import RISK_TABLE_COLUMNS, risk_override, risk_table


def _district():
    sites = pd.DataFrame({"site_id": ["S1"], "threat_level": ["medium"]})
    buildings = pd.DataFrame({"building_id": ["B1"], "site_id": ["S1"], "occupancy": [450],
                              "lon": [-77.0], "lat": [38.9]})
    return make_district({"sites": sites, "buildings": buildings})


def _results() -> pd.DataFrame:
    rows = [("M1", "cops_minimum", "unmet"), ("PASS-1", "pass_k12", "met")]
    return pd.DataFrame([{"building_id": "B1", "site_id": "S1", "rule_id": rule, "pack": pack, "status": status,
                          "weight": 1.0, "measure": None, "evidence": [], "source": "test"}
                         for rule, pack, status in rows])


def _edit(table: pd.DataFrame, key: str, value: object) -> pd.DataFrame:
    out = table.astype({"value": object})
    out.loc[out["yaml_key"] == key, "value"] = value
    return out


def _value(table: pd.DataFrame, key: str) -> float:
    return float(table.loc[table["yaml_key"] == key, "value"].iloc[0])


def test_table_lists_every_factor_with_its_source():
    config = load_risk_config()
    table = risk_table(config, packs=["cops_minimum", "pass_k12"])
    assert tuple(table.columns) == RISK_TABLE_COLUMNS
    assert table["yaml_key"].is_unique
    # 10 band scores + 9 finite band limits + unknown, 3 threat levels + unknown, 4 vulnerability, 2 packs
    assert len(table) == 10 + 9 + 1 + 4 + 4 + 2
    assert _value(table, "threat.levels.low") == 3 and _value(table, "threat.levels.high") == 8
    assert _value(table, "consequence.bands.6.score") == 7
    assert _value(table, "consequence.bands.6.max_occupancy") == 700
    assert _value(table, "vulnerability.partial_share") == 0.5
    assert _value(table, "vulnerability.pack_weights.pass_k12") == 1.0  # not in risk.yaml: weighs 1
    band = table[table["yaml_key"] == "consequence.bands.6.score"].iloc[0]
    assert band["item"] == "occupancy 401-700" and band["unit"] == "1-10"
    assert "FEMA 426/452" in table.loc[table["area"] == "threat", "source"].iloc[0]
    assert (table["source"].str.len() > 0).all()


def test_unchanged_table_gives_no_override_and_full_table_round_trips():
    config = load_risk_config()
    table = risk_table(config)
    assert risk_override(table, table) is None
    again = load_risk_config(risk_override(table))
    assert again.bands == config.bands and again.threat_levels == config.threat_levels
    assert (again.v_min, again.v_max, again.partial_share, again.unknown_share) == (1, 10, 0.5, 0.5)


def test_threat_edit_changes_risk_hand_worked():
    table = risk_table(load_risk_config())
    override = risk_override(_edit(table, "threat.levels.medium", 8.0), table)
    assert override == {"threat": {"levels": {"medium": 8.0}}}
    config = load_risk_config(override)
    assert config.threat_levels == {"low": 3.0, "medium": 8.0, "high": 8.0}
    # occupancy 450 -> consequence 7; one of two equal rules unmet -> vulnerability 1 + 9 x 0.5 = 5.5
    before = building_risk(_results(), _district()).loc["B1"]
    after = building_risk(_results(), _district(), config=config).loc["B1"]
    assert before["risk"] == pytest.approx(7 * 5 * 5.5)
    assert after["threat"] == 8 and after["risk"] == pytest.approx(7 * 8 * 5.5)


def test_band_edit_writes_the_whole_list():
    table = risk_table(load_risk_config())
    edited = _edit(_edit(table, "consequence.bands.6.score", 9.0), "consequence.bands.5.max_occupancy", 450.0)
    override = risk_override(edited, table)
    bands = override["consequence"]["bands"]
    assert len(bands) == 10 and bands[-1] == {"max_occupancy": np.inf, "score": 10.0}
    assert bands[5] == {"max_occupancy": 450.0, "score": 6.0} and bands[6] == {"max_occupancy": 700.0, "score": 9.0}
    # occupancy 450 now falls in the 6-point band (<= 450)
    risk = building_risk(_results(), _district(), config=load_risk_config(override)).loc["B1"]
    assert risk["consequence"] == 6


def test_pack_multiplier_scales_a_pack():
    table = risk_table(load_risk_config(), packs=["cops_minimum", "pass_k12"])
    override = risk_override(_edit(table, "vulnerability.pack_weights.pass_k12", 3.0), table)
    assert override == {"vulnerability": {"pack_weights": {"pass_k12": 3.0}}}
    risk = building_risk(_results(), _district(), config=load_risk_config(override)).loc["B1"]
    # unmet weight 1 of total 1 + 3: vulnerability 1 + 9 x 1/4
    assert risk["vulnerability"] == pytest.approx(1 + 9 / 4)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("threat.levels.medium", -2.0, "threat, threat_level medium, score: expected a number from 1 to 10, got -2"),
    ("threat.levels.high", "lots", "expected a number from 1 to 10, got 'lots'"),
    ("threat.unknown", None, "threat_level unknown, score: expected a number from 1 to 10, got nothing"),
    ("threat.levels.low", 11.0, "from 1 to 10, got 11"),
    ("vulnerability.partial_share", 1.5, "partial rule, share of a gap: expected a number from 0 to 1"),
    ("vulnerability.pack_weights.pass_k12", -1.0, "expected a number of at least 0, got -1"),
    ("consequence.bands.2.max_occupancy", 10.0, "band upper limits must rise from band to band"),
])
def test_invalid_edits_are_refused_with_the_row_named(key: str, value: object, message: str):
    table = risk_table(load_risk_config(), packs=["pass_k12"])
    with pytest.raises(ConfigError, match="Risk weights: ") as err:
        risk_override(_edit(table, key, value), table)
    assert message in str(err.value)


def test_minimum_above_maximum_is_refused():
    table = risk_table(load_risk_config())
    with pytest.raises(ConfigError, match="maximum must exceed its minimum"):
        risk_override(_edit(table, "vulnerability.minimum", 10.0), table)
    with pytest.raises(ConfigError, match="maximum must exceed its minimum"):
        load_risk_config({"vulnerability": {"minimum": 10}})
