"""Reading the YAML policy files (catalogs, risk and coverage parameters) with user-facing errors."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from facility_planner.errors import ConfigError


def read_yaml(path: str | Path, *, what: str) -> Any:
    """Parse a YAML file; ``ConfigError`` naming ``what`` and the file when it can't be read."""
    import yaml

    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{what} {path.name} cannot be read: {exc.strerror}.") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path.name} is not valid YAML: {exc}.") from exc


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` overridden key by key, recursively (a district's file over the shipped one)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
