"""Coverage parameters: a pydantic model of ``coverage.yaml``, every value with its ``source``."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from facility_planner._yaml import read_yaml, validated

T = TypeVar("T")

DEFAULT_CONFIG_PATH = Path(__file__).with_name("coverage.yaml")
DENSITY_LEVELS = ("detect", "observe", "recognize", "identify")
#: Sections added after districts began keeping their own ``coverage.yaml``: taken whole from the
#: packaged file when a district's file has none.
LATER_SECTIONS = ("new_units",)


class Sourced(BaseModel, Generic[T]):
    """A parameter value and where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: T
    source: str = Field(min_length=3)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def _require_positive(self, *names: str) -> None:
        """Raise, naming every one of ``names`` whose value is not above 0."""
        bad = [name for name in names if getattr(self, name).value <= 0]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be positive")


class CameraConfig(_Section):
    densities_px_per_m: Sourced[dict[str, float]]
    entrance_level: Sourced[str]
    perimeter_level: Sourced[str]
    outdoor_level: Sourced[str]
    corridor_level: Sourced[str]
    derived_range_level: Sourced[str]
    stated_range_level: Sourced[str]
    rays_per_degree: Sourced[float]
    mount_clearance_m: Sourced[float]
    target_tolerance_m: Sourced[float]
    perimeter_step_m: Sourced[float]
    perimeter_offset_m: Sourced[float]
    interior_camera_floor: Sourced[int]
    drawn_statuses: Sourced[list[str]]
    unknown_status_drawn: Sourced[bool]

    @field_validator("densities_px_per_m")
    @classmethod
    def _densities(cls, v: Sourced[dict[str, float]]) -> Sourced[dict[str, float]]:
        if not v.value or any(d <= 0 for d in v.value.values()):
            raise ValueError("densities must be a non-empty mapping of level -> positive px/m")
        return v

    @model_validator(mode="after")
    def _levels_known(self) -> CameraConfig:
        levels = self.densities_px_per_m.value
        for name in ("entrance_level", "perimeter_level", "outdoor_level", "corridor_level",
                     "derived_range_level", "stated_range_level"):
            if getattr(self, name).value not in levels:
                raise ValueError(f"{name} must be one of {sorted(levels)}")
        self._require_positive("rays_per_degree", "perimeter_step_m")
        return self

    @property
    def levels(self) -> list[str]:
        """Density levels from the loosest (lowest px/m, longest range) to the strictest."""
        return sorted(self.densities_px_per_m.value, key=self.densities_px_per_m.value.__getitem__)

    def rank(self, level: str) -> int:
        return self.levels.index(level)


class RadioConfig(_Section):
    frequency_mhz: Sourced[float]
    eirp_dbm: Sourced[float]
    threshold_dbm: Sourced[float]
    general_share_pct: Sourced[float]
    critical_share_pct: Sourced[float]
    critical_room_types: Sourced[list[str]]
    distance_power_coefficient: Sourced[float]
    distance_power_coefficient_with_walls: Sourced[float]
    floor_loss_db: Sourced[list[float]]
    floor_loss_db_per_extra_floor: Sourced[float]
    wall_loss_db: Sourced[dict[str, float]]
    unknown_wall_loss_db: Sourced[float]
    repeater_floor: Sourced[int]
    cells_per_floor: Sourced[int]
    cell_size_m: Sourced[float | None]
    min_distance_m: Sourced[float]
    outdoor_signal_dbm: Sourced[float]
    building_entry_loss_db: Sourced[float]
    indoor_loss_db_per_m: Sourced[float]

    @model_validator(mode="after")
    def _positive(self) -> RadioConfig:
        self._require_positive("frequency_mhz", "cells_per_floor", "min_distance_m")
        if self.cell_size_m.value is not None and self.cell_size_m.value <= 0:
            raise ValueError("cell_size_m must be positive or null")
        return self


class WalkConfig(_Section):
    walk_seconds: Sourced[float]
    walk_speed_m_s: Sourced[float]
    detour_factor: Sourced[float]

    @model_validator(mode="after")
    def _positive(self) -> WalkConfig:
        if min(self.walk_seconds.value, self.walk_speed_m_s.value) <= 0 or self.detour_factor.value < 1:
            raise ValueError("walk_seconds and walk_speed_m_s must be positive, detour_factor >= 1")
        return self

    @property
    def reach_m(self) -> float:
        """Straight-line reach: walk time x speed / detour factor."""
        return self.walk_seconds.value * self.walk_speed_m_s.value / self.detour_factor.value

    @property
    def walk_m(self) -> float:
        """Walking distance along corridors (no detour factor: the path already follows them)."""
        return self.walk_seconds.value * self.walk_speed_m_s.value


class AEDConfig(WalkConfig):
    quad_segs: Sourced[int]


class KitConfig(WalkConfig):
    recommended_places: Sourced[list[str]]


class IndoorWalkConfig(_Section):
    """Walking inside buildings with floor plans: the grid, door openings and stairs."""

    cell_size_m: Sourced[float]
    door_width_m: Sourced[float]
    door_snap_m: Sourced[float]
    stair_seconds_per_floor: Sourced[float]

    @model_validator(mode="after")
    def _positive(self) -> IndoorWalkConfig:
        if min(self.cell_size_m.value, self.door_width_m.value, self.door_snap_m.value) <= 0 \
                or self.stair_seconds_per_floor.value < 0:
            raise ValueError("cell_size_m, door_width_m and door_snap_m must be positive, "
                             "stair_seconds_per_floor >= 0")
        return self


class CommunicationConfig(_Section):
    classroom_types: Sourced[list[str]]
    office_types: Sourced[list[str]]
    large_space_types: Sourced[list[str]]
    large_space_min_capacity: Sourced[int]


class NewUnitsConfig(_Section):
    """How new units are counted where a gap is geometric: AEDs to bring a footprint within reach,
    cameras to see the unseen exterior entrances (``geo.units``)."""

    camera_resolution_px: Sourced[int]
    camera_hfov_deg: Sourced[float]
    camera_mount_offset_m: Sourced[float]
    camera_mount_step_m: Sourced[float]
    camera_margin_deg: Sourced[float]
    aed_step_m: Sourced[float]
    aed_tolerance_m2: Sourced[float]

    @model_validator(mode="after")
    def _positive(self) -> NewUnitsConfig:
        self._require_positive("camera_resolution_px", "camera_mount_offset_m", "camera_mount_step_m",
                               "aed_step_m", "aed_tolerance_m2")
        if not 0 < self.camera_hfov_deg.value < 180 or not 0 <= 2 * self.camera_margin_deg.value \
                < self.camera_hfov_deg.value:
            raise ValueError("camera_hfov_deg must be between 0 and 180 and wider than twice camera_margin_deg")
        return self


class CoverageConfig(_Section):
    """All coverage parameters (see ``coverage.yaml``); read values as ``config.radio.eirp_dbm.value``."""

    cameras: CameraConfig
    radio: RadioConfig
    aeds: AEDConfig
    kits: KitConfig
    indoor_walk: IndoorWalkConfig
    communication: CommunicationConfig
    new_units: NewUnitsConfig

    def with_values(self, section: str, **values: object) -> CoverageConfig:
        """A copy with some values of one section changed (sources kept), validated again."""
        data = self.model_dump()
        for key, value in values.items():
            data[section][key]["value"] = value
        return CoverageConfig.model_validate(data)

    def assumptions(self) -> list[dict[str, object]]:
        """Every parameter as ``{"parameter", "value", "source"}`` rows, for the app and exports."""
        rows: list[dict[str, object]] = []
        for section_name in type(self).model_fields:
            section = getattr(self, section_name)
            for name in type(section).model_fields:
                item = getattr(section, name)
                rows.append({"parameter": f"{section_name}.{name}", "value": item.value,
                             "source": item.source})
        return rows


def load_coverage_config(path: str | Path | None = None) -> CoverageConfig:
    """Read coverage parameters from YAML (default: the packaged ``coverage.yaml``).

    A district's file written before a section was added (``LATER_SECTIONS``) takes that whole
    section from the packaged file; every other section must be complete, each value with its
    ``source``.

    Raises
    ------
    ConfigError
        When the file is missing, is not YAML, or a value or its ``source`` is missing or wrong.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    data = read_yaml(path, what="Coverage configuration")
    if isinstance(data, dict) and path != DEFAULT_CONFIG_PATH and any(s not in data for s in LATER_SECTIONS):
        shipped = read_yaml(DEFAULT_CONFIG_PATH, what="Coverage configuration")
        data = {**{s: shipped[s] for s in LATER_SECTIONS}, **data}
    return validated(CoverageConfig, data, what=f"Coverage configuration {path.name}")
