"""The package's layering, kept true: the imports that must never exist, and commands that
create nothing outside the project."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "translate_pipe"
STAGES = ("arabic", "segment", "glossary", "align", "formats", "engine", "score")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(absolute module imported, at module level?) for every import in the file, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    top_level = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] if node.module is None or base == "translate_pipe" else []
            found += [(n, id(node) in top_level) for n in [base, *names]]
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def internal(target: str) -> str | None:
    """``translate_pipe.store`` -> ``store``; ``translate_pipe.formats.po`` -> ``formats``."""
    parts = target.split(".")
    return parts[1] if parts[0] == "translate_pipe" and len(parts) > 1 else None


def forbidden(module: str) -> set[str]:
    own = internal(module) or ""
    if own == "cli":
        return {"store", "pipeline", "models", "engine"}
    if own in STAGES:
        return {"store", "pipeline", "api", "cli"}
    return set()


@pytest.mark.parametrize("module", sorted(MODULES), ids=sorted(MODULES))
def test_never_imported(module: str) -> None:
    path = MODULES[module]
    own = internal(module)
    for target, _ in imports(path):
        used = internal(target)
        if own in ("records", "errors"):
            assert used is None and target != "translate_pipe", f"{module} imports {target}"
        else:
            assert used not in forbidden(module), f"{module} imports {target}"


@pytest.mark.parametrize("module", sorted(MODULES), ids=sorted(MODULES))
def test_argostranslate_settings_only_lazily_in_models(module: str) -> None:
    for target, top_level in imports(MODULES[module]):
        if target.startswith("argostranslate.settings"):
            assert module == "translate_pipe.models" and not top_level, f"{module} imports {target}"


@pytest.mark.parametrize("module", sorted(MODULES), ids=sorted(MODULES))
def test_ray_only_lazily_in_cluster(module: str) -> None:
    """Ray (issue 15) is imported only when a command asks for a cluster: inside functions of
    cluster.py, which is itself imported only lazily."""
    for target, top_level in imports(MODULES[module]):
        if target == "ray" or target.startswith("ray."):
            assert module == "translate_pipe.cluster" and not top_level, f"{module} imports {target}"
        if target == "translate_pipe.cluster":
            assert not top_level, f"{module} imports {target} at module level"


# -- nothing outside the project --------------------------------------------------------------
CSV = "source,target\nأستانا,Astana\nموسكو,Moscow\n"
DOC = "قال في أستانا.\n"
SCRIPT = """
import json, sys
from typer.testing import CliRunner
from translate_pipe.cli import app
codes = []
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(app, args)
    codes.append([args, r.exit_code, r.output[-300:]])
print(json.dumps(codes))
"""
COMMANDS = [
    ["glossary", "import", "g.csv", "--name", "g"],
    ["glossary", "add", "g", "سوريا", "Syria"],
    ["glossary", "list", "g", "--json"],
    ["glossary", "show", "g", "سوريا"],
    ["glossary", "lint", "g"],
    ["glossary", "log", "g"],
    ["glossary", "diff", "g", "0", "2"],
    ["glossary", "export", "g", "--format", "po", "-o", "g.po"],
    ["glossary", "match", "g", "doc.ar.txt"],
    ["glossary", "remove", "g", "سوريا"],
    ["refs", "import", "doc.ar.txt", "ref.en.txt"],
    ["runs"],
    ["score", "--hyp", "hyp.en.txt", "--refs", "ref.en.txt", "--json"],
]


def test_commands_without_models_create_nothing_outside_the_project(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / "g.csv").write_text(CSV, encoding="utf-8")
    (project / "doc.ar.txt").write_text(DOC, encoding="utf-8")
    (project / "ref.en.txt").write_text("He said in Astana.\n", encoding="utf-8")
    (project / "hyp.en.txt").write_text("He said in Astana.\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_", "TRANSLATE_PIPE_DB"))}
    env.update(HOME=str(home), PYTHONPATH=str(PACKAGE.parent))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(COMMANDS)], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [(args, code) for args, code, _ in results] == [(args, 0) for args in COMMANDS], results
    assert sorted(p.name for p in home.rglob("*")) == []
    assert (project / "outputs" / "translate_pipe.db").is_file()
