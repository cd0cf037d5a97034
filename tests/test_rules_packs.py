"""Rules packs: the shipped packs load, a malformed pack is refused naming rule and field."""

from __future__ import annotations

import copy

import pytest
import yaml

from facility_planner.errors import RulesPackError
from facility_planner.rules import PACK_DIR, default_packs, load_pack, parse_pack, rules_frame

COPS_IDS = ["M1", "M2", "M3", "M4", "A1", "A2", "C1", "C2", "C3", "C4"]


def test_shipped_packs_load():
    cops, pass7, ten = default_packs()
    assert (cops.id, pass7.id, ten.id) == ("cops_minimum", "pass_k12", "ten_actions")
    assert list(cops.groups) == COPS_IDS
    assert {r.group for r in cops.rules} == set(COPS_IDS)
    assert pass7.edition == 7
    assert list(ten.groups) == [f"EA{i}" for i in range(1, 11)]
    assert all(r.scope == "site" for r in ten.rules)


def test_every_rule_has_source_and_retrofit_rules_have_measure():
    frame = rules_frame(default_packs())
    assert frame["source"].str.len().min() > 10
    assert frame["id"].is_unique
    building_facts_rules = frame[(frame["scope"] == "building") & (frame["op"] != "checklist")]
    assert building_facts_rules["measure"].notna().all()


def test_pass_layers_components_tiers():
    for edition, layers in {7: {"district_wide", "digital_infrastructure", "campus_perimeter",
                                "building_perimeter", "classroom_interior"},
                            6: {"district_wide", "property_perimeter", "parking_lot_perimeter",
                                "building_perimeter", "classroom_interior"}}.items():
        pack = load_pack("pass_k12", edition=edition)
        assert {r.layer for r in pack.rules} == layers
        assert {r.tier for r in pack.rules} == {1, 2, 3, 4}
        assert all(r.source for r in pack.rules)
    six = load_pack("pass_k12", edition=6)
    assert "people" not in {r.component for r in six.rules}
    assert six.rule("PASS-CP-VS-2").layer == "parking_lot_perimeter"
    assert six.rule("PASS-CP-AR-1").layer == "property_perimeter"
    assert six.rule("PASS-CL-AR-1").tier == 2
    assert load_pack("pass_k12").rule("PASS-CL-AR-1").tier == 1
    with pytest.raises(RulesPackError, match="no edition 5"):
        load_pack("pass_k12", edition=5)


def test_demo_checklist_ids_exist():
    ids = {r.id for r in load_pack("pass_k12").rules}
    for rid in ("PASS-DW-PP-1", "PASS-DW-PP-2", "PASS-DW-PE-1", "PASS-CP-PP-1", "PASS-BP-PP-1",
                "PASS-BP-CM-1", "PASS-CL-PP-1", "PASS-DI-PP-1"):
        assert rid in ids


def _cops() -> dict:
    return yaml.safe_load((PACK_DIR / "cops_minimum.yaml").read_text())


def _refused(data: dict, tmp_path, *parts: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RulesPackError) as err:
        load_pack(path)
    message = str(err.value)
    for part in parts:
        assert part in message, message
    return message


def test_missing_field_names_rule_and_field(tmp_path):
    data = _cops()
    del data["rules"][2]["weight"]
    _refused(data, tmp_path, "bad.yaml", "'M2-LOCKS'", "rule 3", "'weight'")


def test_bad_op_names_rule_and_field(tmp_path):
    data = _cops()
    data["rules"][0]["op"] = "=>"
    _refused(data, tmp_path, "'M1-BUILDING'", "'op'", "'=>'")


def test_duplicate_id_refused(tmp_path):
    data = _cops()
    data["rules"][1]["id"] = data["rules"][0]["id"]
    _refused(data, tmp_path, "'M1-BUILDING'", "rule 2", "'id'", "duplicate")


@pytest.mark.parametrize(("rule_index", "change", "field"), [
    (0, {"fact": "no_such_fact"}, "'fact'"),
    (0, {"threshold": None}, "'threshold'"),
    (1, {"partial_threshold": 150}, "'partial_threshold'"),
    (8, {"threshold": 3}, "'threshold'"),          # A2-CAMERAS: present takes no threshold
    (0, {"scope": "campus"}, "'scope'"),
    (0, {"weight": 0}, "'weight'"),
    (0, {"group": "M9"}, "'group'"),
    (0, {"colour": "red"}, "'colour'"),
    (0, {"fact": "classroom_doors_lockable_unknown"}, "'fact'"),
])
def test_schema_errors(tmp_path, rule_index, change, field):
    data = _cops()
    data["rules"][rule_index].update(change)
    rid = data["rules"][rule_index]["id"]
    _refused(data, tmp_path, f"'{rid}'", field)


def test_tiers_pack_needs_layer_component_tier(tmp_path):
    data = yaml.safe_load((PACK_DIR / "pass_k12.yaml").read_text())
    broken = copy.deepcopy(data)
    del broken["rules"][0]["layer"]
    _refused(broken, tmp_path, "'PASS-DW-PP-1'", "'layer'")
    broken = copy.deepcopy(data)
    broken["rules"][0]["layer"] = "moat"
    _refused(broken, tmp_path, "'PASS-DW-PP-1'", "'layer'", "moat")
    broken = copy.deepcopy(data)
    broken["rules"][0]["tier"] = 5
    _refused(broken, tmp_path, "'PASS-DW-PP-1'", "'tier'")
    broken = copy.deepcopy(data)
    broken["rules"][0]["fact"] = "panic_alarms"   # checklist rules take no fact
    _refused(broken, tmp_path, "'PASS-DW-PP-1'", "'fact'")


def test_not_a_pack(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(RulesPackError, match="expected a mapping"):
        load_pack(path)
    path.write_text("id: [unclosed\n")
    with pytest.raises(RulesPackError, match="not valid YAML"):
        load_pack(path)
    with pytest.raises(RulesPackError, match="file not found"):
        load_pack(tmp_path / "missing.yaml")
    with pytest.raises(RulesPackError, match="pack header"):
        parse_pack({"id": "x", "title": "t", "source": "s", "kind": "bogus", "rules": []})
