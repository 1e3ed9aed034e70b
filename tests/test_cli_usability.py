"""What a newcomer trips over (issue 11, part 3): one test per point."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from translate_pipe import __version__
from translate_pipe.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_version_matches_the_project() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert declared is not None
    assert r.output == f"translate-pipe {declared.group(1)}\n" == f"translate-pipe {__version__}\n"
