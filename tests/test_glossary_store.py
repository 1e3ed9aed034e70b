"""Glossary store: versions, history, reconstruction of past versions, diff; through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from translate_pipe import api
from translate_pipe.cli import app
from translate_pipe.errors import GlossaryError
from translate_pipe.records import Term
from translate_pipe.store import Store

CSV = """source,target,variants,note,domain
مناطق خفض التصعيد,de-escalation zones,مناطق تخفيف التصعيد,plural,syria
وقف إطلاق النار,ceasefire,,,diplomacy
أستانا,Astana,,,syria
"""


@pytest.fixture()
def store() -> Store:
    return Store(":memory:")


@pytest.fixture()
def imported(store: Store, tmp_path: Path) -> Store:
    f = tmp_path / "g.csv"
    f.write_text(CSV, encoding="utf-8")
    api.glossary_import(store, "dip", f, author="alice")
    return store


def test_import_creates_version_1(imported: Store) -> None:
    info = imported.glossary("dip")
    assert info.version == 1
    assert [st.term.source for st in imported.glossary_terms(info.id)] == [
        "أستانا",
        "مناطق خفض التصعيد",
        "وقف إطلاق النار",
    ]


def test_reimport_same_file_changes_nothing(imported: Store, tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    assert api.glossary_import(imported, "dip", f, author="bob") == (None, 3)
    assert imported.glossary("dip").version == 1


def test_every_change_is_a_version_and_past_versions_are_exact(imported: Store) -> None:
    api.glossary_add(imported, "dip", "أستانا", "Nur-Sultan", author="bob")  # v2
    api.glossary_add(imported, "dip", "مجلس الأمن", "Security Council", author="bob", domain="un")  # v3
    api.glossary_remove(imported, "dip", "وقف إطلاق النار", author="carol")  # v4
    api.glossary_add(imported, "dip", "أستانا", "Astana", author="dave")  # v5
    gid = imported.glossary("dip").id
    states = {
        v: {st.term.source: (st.term.target, st.term.status) for st in imported.glossary_terms(gid, v)}
        for v in range(1, 6)
    }
    assert states[1] == {
        "أستانا": ("Astana", "approved"),
        "مناطق خفض التصعيد": ("de-escalation zones", "approved"),
        "وقف إطلاق النار": ("ceasefire", "approved"),
    }
    assert states[2]["أستانا"] == ("Nur-Sultan", "approved")
    assert "مجلس الأمن" not in states[2] and states[3]["مجلس الأمن"] == ("Security Council", "approved")
    assert states[4]["وقف إطلاق النار"] == ("ceasefire", "deprecated")
    assert states[5]["أستانا"] == ("Astana", "approved")
    log = imported.glossary_log(gid)
    assert [(v.version, v.author, v.action) for v in log] == [
        (1, "alice", "import"),
        (2, "bob", "update"),
        (3, "bob", "add"),
        (4, "carol", "deprecate"),
        (5, "dave", "update"),
    ]


def test_update_keeps_fields_not_given(imported: Store) -> None:
    api.glossary_add(imported, "dip", "مناطق خفض التصعيد", "de-escalation areas", author="x")
    (st,) = [s for s in api.glossary_terms(imported, "dip") if s.term.source == "مناطق خفض التصعيد"]
    assert st.term == Term(
        "مناطق خفض التصعيد", "de-escalation areas", ("مناطق تخفيف التصعيد",), "plural", "syria"
    )


def test_diff(imported: Store) -> None:
    api.glossary_add(imported, "dip", "أستانا", "Nur-Sultan", author="x")
    api.glossary_remove(imported, "dip", "وقف إطلاق النار", author="x")
    api.glossary_add(imported, "dip", "حمص", "Homs", author="x")
    changes = [(c.change, c.source) for c in api.glossary_diff(imported, "dip", 1, 4)]
    assert changes == [("changed", "أستانا"), ("added", "حمص"), ("deprecated", "وقف إطلاق النار")]


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda s: api.glossary_add(s, "dip", " أستانا", "Astana", author="x"), "leading or trailing spaces"),
        (lambda s: api.glossary_add(s, "dip", "أستانا", "", author="x"), "target is empty"),
        (lambda s: api.glossary_remove(s, "dip", "غير موجود", author="x"), "has no term"),
        (lambda s: api.glossary_terms(s, "nope"), "no glossary named 'nope'"),
        (lambda s: api.glossary_diff(s, "dip", 1, 9), "versions 1 to 1"),
    ],
    ids=["untrimmed", "empty-target", "unknown-term", "unknown-glossary", "bad-version"],
)
def test_errors(imported: Store, call, message: str) -> None:
    with pytest.raises(GlossaryError, match=message):
        call(imported)


def test_malformed_import_stores_nothing(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("source,target,variants,note,domain\nأستانا,Astana,,,\n,empty,,,\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match="line 3"):
        api.glossary_import(store, "dip", f, author="x")
    assert store.glossaries() == []


# -- the same through the command line --------------------------------------------------------
runner = CliRunner()


def cli(db: Path, *args: str, input: str | None = None):
    return runner.invoke(app, ["--db", str(db), *args], input=input)


def test_cli_glossary_workflow(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    f = tmp_path / "g.csv"
    f.write_text(CSV, encoding="utf-8")
    assert cli(db, "glossary", "import", str(f), "--name", "dip", "--author", "alice").exit_code == 0
    r = cli(db, "glossary", "add", "dip", "مذكرة تفاهم", "memorandum of understanding", "--variant", "مذكرة التفاهم", "--note", "n")
    assert r.exit_code == 0, r.output
    assert "added (version 2)" in r.output
    r = cli(db, "glossary", "remove", "dip", "أستانا")
    assert r.exit_code == 0 and "deprecated (version 3)" in r.output
    r = cli(db, "glossary", "list", "dip", "--json")
    assert [t["source"] for t in json.loads(r.output)] == ["مذكرة تفاهم", "مناطق خفض التصعيد", "وقف إطلاق النار"]
    r = cli(db, "glossary", "list", "dip", "--version", "1", "--json")
    assert [t["source"] for t in json.loads(r.output)] == ["أستانا", "مناطق خفض التصعيد", "وقف إطلاق النار"]
    r = cli(db, "glossary", "log", "dip", "--json")
    assert [(v["version"], v["author"], v["action"]) for v in json.loads(r.output)][0] == (1, "alice", "import")
    r = cli(db, "glossary", "diff", "dip", "1", "3", "--json")
    assert [(c["change"], c["source"]) for c in json.loads(r.output)] == [
        ("deprecated", "أستانا"),
        ("added", "مذكرة تفاهم"),
    ]
    r = cli(db, "glossary", "show", "dip", "أستانا", "--json")
    assert [h["status"] for h in json.loads(r.output)["history"]] == ["approved", "deprecated"]
    text = "وقالت الخارجية إن مناطق خفض تصعيد جديدة ستنشأ بعد وقف\nإطلاق النار."
    r = cli(db, "glossary", "match", "dip", "-", "--json", input=text)
    assert r.exit_code == 0, r.output
    got = [(m["source"], m["start"], m["end"], m["text"]) for m in json.loads(r.output)]
    assert got == [
        ("مناطق خفض التصعيد", 18, 33, "مناطق خفض تصعيد"),
        ("وقف إطلاق النار", 50, 65, "وقف\nإطلاق النار"),
    ]
    found = json.loads(r.output)
    assert [text[m["start"] : m["end"]] for m in found] == [m["text"] for m in found]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "po", "tbx"])
def test_cli_export_import_roundtrip(tmp_path: Path, fmt: str) -> None:
    db = tmp_path / "t.db"
    f = tmp_path / "g.csv"
    f.write_text(CSV, encoding="utf-8")
    cli(db, "glossary", "import", str(f), "--name", "dip")
    cli(db, "glossary", "remove", "dip", "أستانا")
    out = tmp_path / f"out.{fmt}"
    r = cli(db, "glossary", "export", "dip", "--format", fmt, "-o", str(out), "--deprecated")
    assert r.exit_code == 0, r.output
    r = cli(db, "glossary", "import", str(out), "--name", "copy")
    assert r.exit_code == 0, r.output
    a = json.loads(cli(db, "glossary", "list", "dip", "--deprecated", "--json").output)
    b = json.loads(cli(db, "glossary", "list", "copy", "--deprecated", "--json").output)
    strip = lambda rows: [{k: v for k, v in t.items() if k not in ("id", "version")} for t in rows]  # noqa: E731
    assert strip(a) == strip(b)


def test_cli_lint_exit_codes(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    f = tmp_path / "g.csv"
    f.write_text(CSV, encoding="utf-8")
    cli(db, "glossary", "import", str(f), "--name", "dip")
    assert cli(db, "glossary", "lint", "dip").exit_code == 0
    cli(db, "glossary", "add", "dip", "الأمم المتحدة", "United Nations")
    cli(db, "glossary", "add", "dip", "الامم المتحدة", "UN")  # same key, other target
    r = cli(db, "glossary", "lint", "dip", "--json")
    assert r.exit_code == 1
    assert any(i["level"] == "error" for i in json.loads(r.output))


def test_cli_unknown_glossary_is_one_line_exit_1(tmp_path: Path) -> None:
    assert cli(tmp_path / "t.db", "glossary", "add", "other", "أستانا", "Astana").exit_code == 0
    r = cli(tmp_path / "t.db", "glossary", "list", "nope")
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0
    assert "no glossary named 'nope'" in r.output
