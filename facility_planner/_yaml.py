"""The one reader of the YAML policy files (rules packs, cost catalog, risk, coverage parameters).

Every file is read the same way: parsed with PyYAML's safe loader, merged over the shipped file
where a district overrides it (``merge``), then checked against its pydantic model
(``validated``), so every error names the file, the key and what was expected.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from facility_planner.errors import ConfigError, FacilityPlannerError

M = TypeVar("M", bound=BaseModel)
#: Largest policy file read (bytes): policy is a few hundred lines, never megabytes.
MAX_POLICY_BYTES = 2 * 1024 * 1024


def read_yaml(path: str | Path, *, what: str, error: type[FacilityPlannerError] = ConfigError,
              max_bytes: int = MAX_POLICY_BYTES) -> Any:
    """Parse a YAML file; ``error`` (``ConfigError``) naming ``what`` and the file when it can't.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, in the users' words (``"Cost catalog"``): starts every message.
    error
        The exception raised (``RulesPackError`` for rules packs).
    max_bytes
        Larger files are refused.
    """
    import yaml

    path = Path(path)
    try:
        if not path.is_file():
            raise error(f"{what} {path.name} cannot be read: file not found.")
        if path.stat().st_size > max_bytes:
            raise error(f"{what} {path.name}: larger than {max_bytes} bytes.")
        text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise error(f"{what} {path.name} cannot be read: {exc.strerror}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path.name}: not valid YAML ({exc}).") from None


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` overridden key by key, recursively (a district's file over the shipped one)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def key_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a YAML key path: ``measures.cameras.options.bda.low``."""
    return ".".join(str(part) for part in loc)


def problem_text(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``key: what was expected (got value)``."""
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    shown = "" if error["type"] == "missing" or isinstance(got, Mapping | list) else f" (got {got!r})"
    where = key_path(tuple(error["loc"]))
    return f"`{where}`: {message}{shown}" if where else f"{message}{shown}"


def validated(model: type[M], data: Any, *, what: str) -> M:
    """``data`` checked against ``model``; ``ConfigError`` naming ``what``, every key and the
    expected value otherwise (the first three problems, and how many there are)."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = [problem_text(e) for e in err.errors()]
        more = f" ({len(problems)} problems)" if len(problems) > 3 else ""
        raise ConfigError(f"{what}: " + "; ".join(problems[:3]) + f"{more}.") from None


def config_name(what: str, *sources: object) -> str:
    """``what`` and the file name of the first source given as a path (the file a user wrote)."""
    for source in sources:
        if isinstance(source, str | Path):
            return f"{what} {Path(source).name}"
    return what
