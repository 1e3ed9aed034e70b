"""Glossary hygiene: entries with invisible or control characters never reach a translation."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from . import test_pipeline
from .test_pipeline import cli

package_file = test_pipeline.package_file  # the fixtures of the end-to-end tests
env = test_pipeline.env

# one row per class of character: (id, target, what the message names)
BAD = [
    ("rlo-override", "joint \u202egnikrow\u202c group", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("rli-isolate", "joint \u2067group\u2069", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("rlm-mark", "joint\u200f group", "U+200F RIGHT-TO-LEFT MARK"),
    ("zero-width-space", "joint\u200bgroup", "U+200B ZERO WIDTH SPACE"),
    ("zero-width-joiner", "joint\u200dgroup", "U+200D ZERO WIDTH JOINER"),
    ("bom", "\ufeffjoint group", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("newline", "joint\ngroup", "U+000A control character"),
    ("carriage-return", "joint\rgroup", "U+000D control character"),
    ("line-separator", "joint\u2028group", "U+2028 LINE SEPARATOR"),
    ("bell", "joint\x07group", "U+0007 control character"),
    ("escape", "joint\x1b[31mgroup", "U+001B control character"),
]
IDS = [row[0] for row in BAD]


@pytest.mark.parametrize("target,named", [row[1:] for row in BAD], ids=IDS)
def test_add_refuses(env: dict[str, Any], target: str, named: str) -> None:
    r = cli(env, "glossary", "add", "g", "فريق العمل", target)
    assert r.exit_code == 1, r.output
    assert f"the target of 'فريق العمل' contains {named}" in r.output
    with sqlite3.connect(env["db"]) as conn:  # nothing was stored, not even the glossary
        assert conn.execute("SELECT (SELECT count(*) FROM glossaries) + (SELECT count(*) FROM term_revisions)").fetchone() == (0,)


@pytest.mark.parametrize("target,named", [row[1:] for row in BAD], ids=IDS)
def test_import_refuses_naming_the_entry(env: dict[str, Any], target: str, named: str) -> None:
    path = env["tmp"] / "g.tsv"
    path.write_text(f"source\ttarget\nسوريا\tSyria\nفريق العمل\t{target}\n", encoding="utf-8", newline="")
    r = cli(env, "glossary", "import", str(path), "--name", "g")
    assert r.exit_code == 1
    if named.startswith(("U+000A", "U+000D", "U+2028")):  # a line break ends the row: the entry is cut
        assert "g.tsv: line" in r.output
    else:
        assert "line 3" in r.output and named in r.output


@pytest.mark.parametrize("field", ["source", "note", "domain", "context"])
def test_every_field_is_checked(env: dict[str, Any], field: str) -> None:
    args = {"source": ["فريق\u200bالعمل", "working group"], "note": ["فريق العمل", "working group", "--note", "a\u202eb"],
            "domain": ["فريق العمل", "working group", "--domain", "a\x00b"], "context": ["فريق العمل", "working group", "--context", "x\ty"]}
    r = cli(env, "glossary", "add", "g", *args[field])
    assert r.exit_code == 1 and f"the {field} of" in r.output


def test_note_may_span_lines(env: dict[str, Any]) -> None:
    r = cli(env, "glossary", "add", "g", "فريق العمل", "working group", "--note", "first line\nsecond line")
    assert r.exit_code == 0, r.output


def test_translate_refuses_an_existing_bad_entry_and_lint_reports_it(env: dict[str, Any]) -> None:
    assert cli(env, "glossary", "add", "g", "سوريا", "Syria").exit_code == 0
    with sqlite3.connect(env["db"]) as conn:  # a database written before the checks existed
        conn.execute("UPDATE term_revisions SET target = 'Syr\u202eia'")
    r = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--glossary", "g")
    assert r.exit_code == 1
    assert "glossary 'g': the target of 'سوريا' contains U+202E RIGHT-TO-LEFT OVERRIDE" in r.output
    assert not Path(env["out"]).exists() or not any(Path(env["out"]).iterdir())
    lint = cli(env, "glossary", "lint", "g")
    assert "control-character" in lint.output or "U+202E" in lint.output


def test_po_unterminated_string_names_the_line(env: dict[str, Any]) -> None:
    path = env["tmp"] / "g.po"
    path.write_text('msgid ""\nmsgstr ""\n"Language: en\\n"\n\nmsgid "مذكرة تفاهم\nmsgstr "memorandum of understanding"\n', encoding="utf-8")
    r = cli(env, "glossary", "import", str(path), "--name", "g")
    assert r.exit_code == 1
    assert "g.po: line 5: unterminated string" in r.output
