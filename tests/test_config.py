"""`.codemod.toml`: per-transform tables and the end-to-end folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.config import ConfigError, load_settings


def test_transform_tables_are_per_id(tmp_path: Path) -> None:
    config = tmp_path / ".codemod.toml"
    config.write_text(
        'end-to-end-folders = ["acceptance"]\n'
        '[transform.hardcoded-port]\nport-helper = "x.Free"\nlist = ["a"]\n'
    )
    settings = load_settings(config)
    assert settings.options_for("hardcoded-port") == {"port-helper": "x.Free", "list": ("a",)}
    assert settings.options_for("test-context") == {}
    assert settings.end_to_end_folders == ("acceptance",)
    hash(repr(settings))  # part of the cache key


def test_unknown_transform_table_is_named(tmp_path: Path) -> None:
    config = tmp_path / ".codemod.toml"
    config.write_text("[transform.no-such-rule]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"transform\.no-such-rule"):
        load_settings(config)
