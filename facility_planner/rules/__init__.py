"""Rules packs: YAML files of rules a district can edit or replace, checked against a schema.

A pack is a mapping with ``id, title, source, kind`` and a list of ``rules``. ``kind`` says how
its results roll up: ``measures`` (rules combine into measures by ``group``: COPS M1-C4),
``tiers`` (PASS: layers x components x tiers 1-4) or ``actions`` (Ten Essential Actions per site).

Fields of a rule
----------------
id, title, source
    Unique id; what it asks, in our own words; the document and section it comes from.
scope
    ``building`` (reads building facts) or ``site`` (reads site facts; results apply to every
    building of the site where tiers are rolled up).
layer, component, tier
    PASS position (required in ``tiers`` packs, empty elsewhere); ``tier`` 1-4.
group
    Rules of one group combine into one status (a COPS measure ``M2``, an action ``EA1``).
measure
    Gap code a retrofit closes (``classroom_locks``, ``cameras``...): the cost catalog's key.
fact, op, threshold, partial_threshold
    The test. ``op`` is one of ``>=, >, <=, <, ==`` (compare the fact with ``threshold``),
    ``present`` (the fact, a count, is above 0; no threshold) or ``checklist`` (no fact: the answer
    to this rule id in the ``checklist`` sheet). ``partial_threshold`` (optional, comparison ops
    other than ``==``): a value that misses ``threshold`` but passes ``partial_threshold`` with
    the same op is ``partial`` (``>= 100`` with ``partial_threshold: 50``: 50-99.9 % is partial).
weight
    Positive number: the rule's share in a building's measure score.
editions, by_edition
    PASS: the editions a rule belongs to (default all of the pack's), and per-edition overrides
    of ``layer`` and ``tier`` (``by_edition: {6: {layer: property_perimeter}}``).

A pack that breaks the schema is refused with ``RulesPackError`` naming the pack, the rule (id
and position) and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from facility_planner._yaml import read_yaml
from facility_planner.errors import RulesPackError
from facility_planner.facts import UNKNOWN_SUFFIX, fact_spec

PACK_DIR = Path(__file__).parent
PACK_NAMES = ("cops_minimum", "pass_k12", "ten_actions")
OPS = (">=", ">", "<=", "<", "==", "present", "checklist")
Op = Literal[">=", ">", "<=", "<", "==", "present", "checklist"]
MAX_PACK_BYTES = 2 * 1024 * 1024


class EditionOverride(BaseModel):
    """Per-edition layer or tier of a PASS rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    layer: str | None = None
    tier: int | None = Field(default=None, ge=1, le=4)


class Rule(BaseModel):
    """One rule of a pack (see the module docstring for the fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    scope: Literal["building", "site"]
    layer: str | None = None
    component: str | None = None
    tier: int | None = Field(default=None, ge=1, le=4)
    group: str | None = None
    measure: str | None = None
    fact: str | None = None
    op: Op
    threshold: float | None = None
    partial_threshold: float | None = None
    weight: float = Field(gt=0)
    editions: tuple[int, ...] | None = None
    by_edition: dict[int, EditionOverride] = Field(default_factory=dict)
    note: str | None = None

    @field_validator("id")
    @classmethod
    def _strip_id(cls, value: str) -> str:
        return value.strip()

    def check(self) -> list[tuple[str, str]]:
        """Problems the schema cannot see: (field, message)."""
        problems = []
        if self.op == "checklist":
            if self.fact is not None:
                problems.append(("fact", "a checklist rule reads the checklist sheet; leave fact empty"))
        elif not self.fact:
            problems.append(("fact", f"required for op {self.op!r}"))
        elif self.fact.endswith(UNKNOWN_SUFFIX) or fact_spec(self.fact, scope=self.scope) is None:
            problems.append(("fact", f"no {self.scope} fact named {self.fact!r}"))
        if self.op in (">=", ">", "<=", "<", "==") and self.threshold is None:
            problems.append(("threshold", f"required for op {self.op!r}"))
        if self.op in ("present", "checklist") and self.threshold is not None:
            problems.append(("threshold", f"op {self.op!r} takes no threshold"))
        if self.partial_threshold is not None:
            if self.op not in (">=", ">", "<=", "<"):
                problems.append(("partial_threshold", f"not allowed with op {self.op!r}"))
            elif self.threshold is not None and (
                    (self.op in (">=", ">") and self.partial_threshold >= self.threshold)
                    or (self.op in ("<=", "<") and self.partial_threshold <= self.threshold)):
                problems.append(("partial_threshold",
                                 "must be a weaker bar than threshold (below it for >=, >; above it for <=, <)"))
        return problems


class RulesPack(BaseModel):
    """A validated pack; ``edition`` is the PASS edition selected (None for other packs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    title: str
    source: str
    kind: Literal["measures", "tiers", "actions"]
    version: int | str = 1
    note: str | None = None
    edition: int | None = None
    layers: dict[int, tuple[str, ...]] = Field(default_factory=dict)
    components: tuple[str, ...] = ()
    groups: dict[str, str] = Field(default_factory=dict)
    rules: tuple[Rule, ...]

    def for_edition(self, edition: int) -> RulesPack:
        """The pack for one PASS edition: its rules only, with that edition's layer and tier."""
        if not self.layers:
            return self
        if edition not in self.layers:
            raise RulesPackError(f"Rules pack {self.id!r} has no edition {edition} "
                                 f"(editions: {', '.join(map(str, sorted(self.layers)))}).")
        rules = []
        for rule in self.rules:
            if rule.editions is not None and edition not in rule.editions:
                continue
            override = rule.by_edition.get(edition, EditionOverride())
            rules.append(rule.model_copy(update={
                "layer": override.layer or rule.layer, "tier": override.tier or rule.tier,
                "editions": (edition,), "by_edition": {}}))
        return self.model_copy(update={"edition": edition, "rules": tuple(rules)})

    @property
    def layer_order(self) -> tuple[str, ...]:
        """Layers of the selected edition, in order (empty for non-tier packs)."""
        if not self.layers:
            return ()
        return self.layers[self.edition if self.edition is not None else max(self.layers)]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def _describe(raw_rules: Any, loc: tuple[Any, ...]) -> tuple[str, str]:
    """(where, field) of a pydantic error location inside the pack."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        rule_id = None
        if isinstance(raw_rules, list) and index < len(raw_rules) and isinstance(raw_rules[index], dict):
            rule_id = raw_rules[index].get("id")
        where = f"rule {rule_id!r} (rule {index + 1})" if rule_id else f"rule {index + 1} (no id)"
        field = ".".join(str(p) for p in loc[2:]) or "rule"
        return where, field
    return "pack header", ".".join(str(p) for p in loc) or "pack"


def _pack_problems(pack: RulesPack, rule: Rule) -> list[tuple[str, str]]:
    """Problems of a rule against its pack's kind, groups, components and layers: (field, message)."""
    problems = []
    if pack.groups and rule.group is not None and rule.group not in pack.groups:
        problems.append(("group", f"{rule.group!r} is not one of the pack's groups ({', '.join(pack.groups)})"))
    if pack.kind == "actions" and rule.scope != "site":
        problems.append(("scope", "an actions pack is scored per site: use scope site"))
    if pack.kind == "measures" and not rule.group:
        problems.append(("group", "required in a measures pack (the measure id, e.g. M2)"))
    if pack.kind == "tiers":
        problems += _tier_problems(pack, rule)
    return problems


def _tier_problems(pack: RulesPack, rule: Rule) -> list[tuple[str, str]]:
    """Problems of a rule of a tiers (PASS) pack: position, component, editions and layers."""
    problems = [(field, "required in a tiers pack") for field in ("layer", "component", "tier")
                if getattr(rule, field) is None]
    if pack.components and rule.component not in pack.components:
        problems.append(("component", f"{rule.component!r} is not one of {', '.join(pack.components)}"))
    for ed in rule.editions or tuple(pack.layers):
        if pack.layers and ed not in pack.layers:
            problems.append(("editions", f"edition {ed} is not one of the pack's"))
            continue
        override = rule.by_edition.get(ed, EditionOverride())
        layer = override.layer or rule.layer
        if pack.layers and layer not in pack.layers[ed]:
            problems.append(("layer" if not override.layer else f"by_edition.{ed}.layer",
                             f"{layer!r} is not a layer of edition {ed} ({', '.join(pack.layers[ed])})"))
    return problems


def parse_pack(data: Any, *, name: str = "rules pack", edition: int | None = None) -> RulesPack:
    """Validate a pack given as a mapping (parsed YAML); see ``load_pack``."""
    if not isinstance(data, dict):
        raise RulesPackError(f"Rules pack {name}: expected a mapping with id, title, source, kind "
                             "and rules at the top.")
    raw_rules = data.get("rules")
    try:
        pack = RulesPack.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where, field = _describe(raw_rules, tuple(first["loc"]))
        got = first.get("input")
        shown = "" if first["type"] == "missing" or isinstance(got, dict) else f" (got {got!r})"
        raise RulesPackError(f"Rules pack {name}, {where}, field {field!r}: "
                             f"{first['msg']}{shown}.") from None

    seen: dict[str, int] = {}
    for index, rule in enumerate(pack.rules):
        problems = ([("id", f"duplicate id, already used by rule {seen[rule.id] + 1}")]
                    if rule.id in seen else [])
        seen[rule.id] = index
        problems += [*rule.check(), *_pack_problems(pack, rule)]
        if problems:
            field, message = problems[0]
            raise RulesPackError(f"Rules pack {name}, rule {rule.id!r} (rule {index + 1}), "
                                 f"field {field!r}: {message}.")
    if pack.kind == "tiers" and pack.layers:
        chosen = edition if edition is not None else (pack.edition or max(pack.layers))
        return pack.for_edition(chosen)
    return pack


def load_pack(path_or_name: str | Path, *, edition: int | None = None) -> RulesPack:
    """Load and validate a rules pack.

    Parameters
    ----------
    path_or_name
        A shipped pack's name (``cops_minimum``, ``pass_k12``, ``ten_actions``) or the path of a
        YAML file.
    edition
        PASS edition to select (6 or 7); default the pack's ``edition`` or its latest.

    Raises
    ------
    RulesPackError
        The file is missing, not YAML, or a rule breaks the schema (message names rule and field).
    """
    if isinstance(path_or_name, str) and path_or_name in PACK_NAMES:
        path = PACK_DIR / f"{path_or_name}.yaml"
    else:
        path = Path(path_or_name)
    data = read_yaml(path, what="Rules pack", error=RulesPackError, max_bytes=MAX_PACK_BYTES)
    return parse_pack(data, name=path.name, edition=edition)


def default_packs(edition: int = 7) -> list[RulesPack]:
    """The three shipped packs: COPS minimum measures, PASS K-12 (``edition`` 6 or 7), Ten Actions."""
    return [load_pack("cops_minimum"), load_pack("pass_k12", edition=edition), load_pack("ten_actions")]


def rules_frame(packs: Iterable[RulesPack]) -> pd.DataFrame:
    """All rules of ``packs`` as a DataFrame (one row per rule, a ``pack`` column)."""
    rows = [{"pack": p.id, **r.model_dump(exclude={"by_edition"})} for p in packs for r in p.rules]
    return pd.DataFrame(rows)


__all__ = ["OPS", "PACK_NAMES", "EditionOverride", "Rule", "RulesPack", "default_packs",
           "load_pack", "parse_pack", "rules_frame"]
