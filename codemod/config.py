"""`.codemod.toml`: found by walking up from the target, or named with --config."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

CONFIG_NAME = ".codemod.toml"
DEFAULT_HELPER = "github.com/multigres/multigres/go/test/utils"
STYLES = ("auto", "t-context")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    helper_import: str = DEFAULT_HELPER
    style: str = "auto"  # "auto": the guide's helpers where they fit; "t-context": t.Context() everywhere
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    unsafe: bool = False
    # sleep-then-assert timing, as Go expressions
    unit_wait: str = "5*time.Second"
    unit_tick: str = "10*time.Millisecond"
    integration_wait: str = "30*time.Second"
    integration_tick: str = "1*time.Second"
    # Folders whose tests are end-to-end / integration tests (longer waits, -short skips, timings).
    end_to_end_folders: tuple[str, ...] = ("endtoend", "e2e", "integration")
    # `[per-file-ignores]`: (glob, transform ids) — those transforms do not run on matching files.
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # `[transform.<id>]` tables: each transform reads its own with `options_for(id)`.
    transform_options: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    source: str | None = field(default=None, compare=False)

    def ignored_in(self, path: str) -> frozenset[str]:
        """Transform ids `[per-file-ignores]` turns off for `path` (globs as in `exclude`)."""
        posix = Path(path).as_posix()
        name = Path(path).name
        return frozenset(
            tid
            for pattern, ids in self.per_file_ignores
            if fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(name, pattern)
            for tid in ids
        )

    def options_for(self, transform_id: str) -> dict[str, object]:
        """The `[transform.<id>]` table of `.codemod.toml` (lists come back as tuples)."""
        for tid, items in self.transform_options:
            if tid == transform_id:
                return dict(items)
        return {}


def resolved(path: Path) -> Path:
    """`path.resolve()`, or the absolute path when it cannot be resolved (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return path.absolute()


def find_config(start: Path) -> Path | None:
    current = resolved(start)
    if _is_file(current):
        current = current.parent
    for directory in (current, *current.parents):
        candidate = directory / CONFIG_NAME
        if _is_file(candidate):
            return candidate
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder we may not look into: discovery names it
        return False


def _strings(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{key} must be a list of strings")


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    settings = Settings(source=str(path))
    known = {
        "helper-import",
        "style",
        "select",
        "ignore",
        "exclude",
        "sleep",
        "transform",
        "end-to-end-folders",
        "per-file-ignores",
    }
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): {', '.join(sorted(unknown))}")
    if "helper-import" in data:
        if not isinstance(data["helper-import"], str):
            raise ConfigError(f"{path}: helper-import must be a string")
        settings = replace(settings, helper_import=data["helper-import"])
    if "style" in data:
        if data["style"] not in STYLES:
            raise ConfigError(f"{path}: style must be one of {', '.join(STYLES)}")
        settings = replace(settings, style=data["style"])
    if "select" in data:
        settings = replace(settings, select=_strings(data["select"], "select"))
    if "ignore" in data:
        settings = replace(settings, ignore=_strings(data["ignore"], "ignore"))
    if "exclude" in data:
        settings = replace(settings, exclude=_strings(data["exclude"], "exclude"))
    if "end-to-end-folders" in data:
        settings = replace(
            settings, end_to_end_folders=_strings(data["end-to-end-folders"], "end-to-end-folders")
        )
    settings = replace(settings, transform_options=_transform_tables(path, data.get("transform", {})))
    settings = replace(settings, per_file_ignores=_per_file_ignores(path, data.get("per-file-ignores", {})))
    sleep = data.get("sleep", {})
    if not isinstance(sleep, dict):
        raise ConfigError(f"{path}: [sleep] must be a table")
    for key in ("unit-wait", "unit-tick", "integration-wait", "integration-tick"):
        if key in sleep:
            if not isinstance(sleep[key], str):
                raise ConfigError(f"{path}: sleep.{key} must be a Go duration expression string")
            try:
                go_duration(sleep[key])
            except ValueError as exc:
                raise ConfigError(
                    f"{path}: sleep.{key} = {sleep[key]!r} is not a Go duration expression "
                    f'such as "10*time.Millisecond": {exc}'
                ) from None
            settings = replace(settings, **{key.replace("-", "_"): sleep[key]})
    return settings


def _per_file_ignores(path: Path, table: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`"glob" = ["id", ...]` pairs; ids checked against the known transforms (`all` allowed)."""
    from codemod.transform import all_transforms  # late: transforms import this module

    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [per-file-ignores] must map globs to lists of transform ids")
    known = set(all_transforms()) | {"all"}
    out = []
    for pattern, ids in table.items():
        names = _strings(ids, f"per-file-ignores.{pattern!r}")
        unknown = [i for i in names if i not in known]
        if unknown:
            raise ConfigError(
                f"{path}: per-file-ignores {pattern!r}: unknown transform id(s) {', '.join(unknown)}"
            )
        out.append((str(pattern), names))
    return tuple(out)


def _transform_tables(path: Path, tables: object) -> tuple[tuple[str, tuple[tuple[str, object], ...]], ...]:
    """`[transform.<id>]` tables, checked against the known transform ids, frozen for the cache key."""
    from codemod.transform import all_transforms  # late: transforms import this module

    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: [transform] must hold one table per transform id")
    known = all_transforms()
    out = []
    for tid, table in sorted(tables.items()):
        if tid not in known:
            raise ConfigError(f"{path}: [transform.{tid}]: unknown transform id (see `codemod list`)")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [transform.{tid}] must be a table")
        items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in table.items()))
        out.append((tid, items))
    return tuple(out)


_UNITS = {
    "time.Nanosecond": 1,
    "time.Microsecond": 10**3,
    "time.Millisecond": 10**6,
    "time.Second": 10**9,
    "time.Minute": 60 * 10**9,
    "time.Hour": 3600 * 10**9,
}
_TOKEN = re.compile(r"\s*(time\.[A-Za-z]+|\d[\d_]*(?:\.\d+)?|[-+*/()]|\S+)")


def go_duration(expression: str) -> float:
    """Nanoseconds of a Go constant duration expression (`5*time.Second`, `time.Minute + 30*time.Second`,
    `time.Duration(500) * time.Millisecond`). ValueError says what is wrong; the value must be positive."""
    tokens = _TOKEN.findall(expression.strip())
    position = 0
    has_unit = False

    def peek() -> str:
        return tokens[position] if position < len(tokens) else ""

    def take(expected: str | None = None) -> str:
        nonlocal position
        token = peek()
        if not token:
            raise ValueError("it ends too early")
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, found {token!r}")
        position += 1
        return token

    def factor() -> float:
        nonlocal has_unit
        token = take()
        if token == "(":
            value = expr()
            take(")")
            return value
        if token == "time.Duration":
            has_unit = True
            take("(")
            value = expr()
            take(")")
            return value
        if token in _UNITS:
            has_unit = True
            return float(_UNITS[token])
        if token[0].isdigit():
            return float(token.replace("_", ""))
        raise ValueError(f"unexpected {token!r}")

    def term() -> float:
        value = factor()
        while peek() in ("*", "/"):
            operator, right = take(), factor()
            if operator == "/" and right == 0:
                raise ValueError("division by zero")
            value = value * right if operator == "*" else value / right
        return value

    def expr() -> float:
        value = term()
        while peek() in ("+", "-"):
            value = value + term() if take() == "+" else value - term()
        return value

    if not tokens:
        raise ValueError("it is empty")
    total = expr()
    if position != len(tokens):
        raise ValueError(f"unexpected {peek()!r}")
    if not has_unit:
        raise ValueError("it has no time unit (a bare number is nanoseconds)")
    if total <= 0:
        raise ValueError("it must be positive")
    return total
