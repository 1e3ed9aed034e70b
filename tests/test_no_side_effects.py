"""Commands that need no model create no directory; nothing imports argostranslate.

argostranslate's ``settings`` module creates ``~/.config``, ``~/.local/share`` and a download
cache when imported; translate-pipe reads its settings in one lazy place
(:func:`translate_pipe.models.argos_settings`) and never imports it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from translate_pipe import models

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "translate_pipe").rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_module_imports_argostranslate(path: Path) -> None:
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.append(node.module)
    assert not [m for m in imported if m.split(".")[0] == "argostranslate"]


COMMANDS = [
    ["--help"],
    ["models", "list"],
    ["models", "list", "--json"],
    ["glossary", "list", "diplomatic"],
    ["translate", "--help"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_command_leaves_an_empty_home_empty(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_", "TRANSLATE_PIPE_"))}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "translate_pipe", "--db", str(tmp_path / "t.db"), *args],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert list(home.iterdir()) == []
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(
    "env,settings_json,packages_dir,index_url",
    [
        ({}, None, "H/.local/share/argos-translate/packages", models.ARGOS_DEFAULT_INDEX),
        ({"XDG_DATA_HOME": "/data"}, None, "/data/argos-translate/packages", models.ARGOS_DEFAULT_INDEX),
        ({"ARGOS_PACKAGES_DIR": "/p", "ARGOS_PACKAGE_INDEX": "http://i"}, None, "/p", "http://i/"),
        ({}, '{"ARGOS_PACKAGES_DIR": "/from-json", "ARGOS_PACKAGE_INDEX": "http://j/"}', "/from-json", "http://j/"),
        ({"ARGOS_PACKAGES_DIR": "/env"}, '{"ARGOS_PACKAGES_DIR": "/from-json"}', "/env", models.ARGOS_DEFAULT_INDEX),
        ({}, "{broken", "H/.local/share/argos-translate/packages", models.ARGOS_DEFAULT_INDEX),
    ],
    ids=["defaults", "xdg-data-home", "environment", "settings-json", "environment-wins", "broken-settings-json"],
)
def test_argos_settings_as_argostranslate_resolves_them(
    tmp_path: Path, env: dict[str, str], settings_json: str | None, packages_dir: str, index_url: str
) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "argos-translate"
    if settings_json is not None:
        config.mkdir(parents=True)
        (config / "settings.json").write_text(settings_json, encoding="utf-8")
    before = sorted(home.rglob("*")) if home.exists() else []
    old_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        settings = models.argos_settings(env)
    finally:
        if old_home is not None:
            os.environ["HOME"] = old_home
    assert str(settings.packages_dir) == packages_dir.replace("H/", f"{home}/")
    assert settings.index_url == index_url
    assert (sorted(home.rglob("*")) if home.exists() else []) == before  # nothing created
