"""Coverage geometry: camera views, responder radio, AED/kit reach, two-way comm and panic alarms."""

from facility_planner.geo.config import CoverageConfig, load_coverage_config
from facility_planner.geo.coverage import (
    COVERAGE_FACTS,
    Coverage,
    compute_coverage,
    room_communication,
)

__all__ = ["COVERAGE_FACTS", "Coverage", "CoverageConfig", "compute_coverage",
           "load_coverage_config", "room_communication"]
