"""A dual or plural term comes out of constrained translation in the plural, end to end.

A tiny real Argos package is trained to render the terms of these sentences in the SINGULAR
whatever their number in Arabic ("two memorandum of understanding").  Through the CLI, with a
glossary whose entry has ``target_plural`` (and one without, whose plural is derived with
inflect), the output carries the plural form, ``translate --json`` reports number and
target_form per term, and a singular match keeps the approved singular.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from translate_pipe.cli import app
from translate_pipe.records import Term
from translate_pipe.store import MIGRATIONS, SCHEMA_VERSION, Store

from .tinymodel import build_package

runner = CliRunner()

# (Arabic, English with the term in the singular, Arabic term words, English rendering)
SENTENCES = [
    (
        "وقع الطرفان مذكرتي تفاهم في أستانا.",
        "The two sides signed two memorandum of understanding in Astana.",
        "مذكرتي تفاهم",
        "memorandum of understanding",
    ),
    (
        "أعلنت روسيا إنشاء منطقتي خفض التصعيد في سوريا.",
        "Russia announced the creation of two de-escalation zone in Syria.",
        "منطقتي خفض التصعيد",
        "de-escalation zone",
    ),
    (
        "وقعت الحكومة مذكرة تفاهم مع الأردن.",
        "The government signed a memorandum of understanding with Jordan.",
        "مذكرة تفاهم",
        "memorandum of understanding",
    ),
    (
        "وقعت الدول الثلاث مذكرات تفاهم في جنيف.",
        "The three states signed memorandum of understanding in Geneva.",
        "مذكرات تفاهم",
        "memorandum of understanding",
    ),
]

GLOSSARY_CSV = (
    "source,target,variants,note,domain,target_plural\n"
    "مذكرة تفاهم,memorandum of understanding,,,diplomacy,memoranda of understanding\n"
    "منطقة خفض التصعيد,de-escalation zone,,,syria,\n"
)


def _word_index(text: str, char: int) -> int:
    return len(text[:char].split())


def _pairs_and_links() -> tuple[list[tuple[str, str]], list[list[tuple[int, int]]]]:
    """Term words linked to their rendering; every other target word to the last source word."""
    pairs, links = [], []
    for ar, en, ar_term, en_term in SENTENCES:
        s0, t0 = _word_index(ar, ar.index(ar_term)), _word_index(en, en.index(en_term))
        lk = [
            (s, t)
            for s in range(s0, s0 + len(ar_term.split()))
            for t in range(t0, t0 + len(en_term.split()))
        ]
        linked = {t for _, t in lk}
        last = len(ar.split()) - 1
        lk += [(last, t) for t in range(len(en.split())) if t not in linked]
        pairs.append((ar, en))
        links.append(lk)
    return pairs, links


@pytest.fixture(scope="session")
def number_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pairs, links = _pairs_and_links()
    return build_package(pairs, tmp_path_factory.mktemp("number-package"), alignment=links)


def _cli(env: dict[str, Path], *args: str, input: str | None = None) -> Any:
    return runner.invoke(app, ["--db", str(env["db"]), "--packages-dir", str(env["packages"]), *args], input=input)


@pytest.fixture()
def env(tmp_path: Path, number_package: Path) -> dict[str, Path]:
    env = {"db": tmp_path / "t.db", "packages": tmp_path / "packages", "out": tmp_path / "out"}
    assert _cli(env, "models", "install", "--from-file", str(number_package)).exit_code == 0
    (tmp_path / "g.csv").write_text(GLOSSARY_CSV, encoding="utf-8")
    r = _cli(env, "glossary", "import", str(tmp_path / "g.csv"), "--name", "g")
    assert r.exit_code == 0, r.output
    doc = tmp_path / "doc.ar.txt"
    doc.write_text("\n".join(s[0] for s in SENTENCES) + "\n", encoding="utf-8")
    env["doc"] = doc
    return env


def test_model_renders_terms_in_the_singular(env: dict[str, Path]) -> None:
    r = _cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json")
    assert r.exit_code == 0, r.output
    targets = [s["target"] for s in json.loads(r.stdout)["documents"][0]["segments"]]
    assert targets == [s[1] for s in SENTENCES]


# (segment index, number, target_form, the form that must be in the output)
EXPECTED = [
    (0, "dual", "plural", "memoranda of understanding"),
    (1, "dual", "derived-plural", "de-escalation zones"),
    (2, "singular", "approved", "memorandum of understanding"),
    (3, "plural", "plural", "memoranda of understanding"),
]


def test_dual_and_plural_matches_come_out_in_the_plural(env: dict[str, Path]) -> None:
    r = _cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--glossary", "g", "--json")
    assert r.exit_code == 0, r.output
    segments = json.loads(r.stdout)["documents"][0]["segments"]
    got = []
    for seg in segments:
        (term,) = seg["terms"]
        assert term["status"] in {"present", "enforced"}
        placed = seg["target"][term["target_start"] : term["target_end"]]
        assert placed in (term["target"], term["target"][0].upper() + term["target"][1:])  # sentence start
        got.append((seg["index"], term["number"], term["target_form"], term["target"]))
    assert got == EXPECTED
    assert "memorandum of understanding" not in segments[0]["target"]
    assert "memorandum of understanding" not in segments[3]["target"]
    assert "memorandum of understanding" in segments[2]["target"]
    # only the term changes: the model's singular rendering is replaced by the plural
    assert [seg["target"] for seg in segments] == [
        "The two sides signed two memoranda of understanding in Astana.",
        "Russia announced the creation of two de-escalation zones in Syria.",
        "The government signed a memorandum of understanding with Jordan.",
        "The three states signed memoranda of understanding in Geneva.",
    ]


def test_glossary_match_reports_number(env: dict[str, Path]) -> None:
    r = _cli(env, "glossary", "match", "g", str(env["doc"]), "--json")
    assert r.exit_code == 0, r.output
    found = [(m["text"], m["number"], m["target"], m["target_form"]) for m in json.loads(r.stdout)]
    assert found == [
        ("مذكرتي تفاهم", "dual", "memoranda of understanding", "plural"),
        ("منطقتي خفض التصعيد", "dual", "de-escalation zones", "derived-plural"),
        ("مذكرة تفاهم", "singular", "memorandum of understanding", "approved"),
        ("مذكرات تفاهم", "plural", "memoranda of understanding", "plural"),
    ]


def test_glossary_add_number_fields_round_trip_through_the_store(tmp_path: Path) -> None:
    env = {"db": tmp_path / "t.db", "packages": tmp_path / "p"}
    r = _cli(
        env,
        "glossary", "add", "g", "مجلس الأمن", "Security Council",
        "--target-plural", "Security Councils", "--plural", "مجالس الأمن",
        "--not-in", "مجلس الأمن القومي", "--not-in", "مجلس الأمن الوطني",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = _cli(env, "glossary", "list", "g", "--json")
    assert r.exit_code == 0, r.output
    (term,) = json.loads(r.stdout)
    assert (term["target_plural"], term["source_plurals"], term["blocked_in"]) == (
        "Security Councils",
        ["مجالس الأمن"],
        ["مجلس الأمن القومي", "مجلس الأمن الوطني"],
    )
    r = _cli(env, "glossary", "match", "g", "-", "--json", input="مجلس الأمن القومي ومجالس الأمن")
    assert r.exit_code == 0, r.output
    assert [(m["text"], m["number"], m["target"]) for m in json.loads(r.stdout)] == [
        ("مجالس الأمن", "plural", "Security Councils")
    ]


def test_migration_keeps_an_older_database_working(tmp_path: Path) -> None:
    """A schema-1 database with a glossary opens, gains the new columns, keeps its terms."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[1])
    conn.execute("INSERT INTO glossaries (id, name, source_lang, target_lang, created_at) VALUES (1, 'g', 'ar', 'en', '2026-01-01')")
    conn.execute(
        "INSERT INTO glossary_versions (glossary_id, version, created_at, author, action, summary) "
        "VALUES (1, 1, '2026-01-01', 'a', 'import', 'x')"
    )
    conn.execute("INSERT INTO glossary_terms (id, glossary_id, source, context) VALUES (1, 1, 'هدنة', '')")
    conn.execute(
        "INSERT INTO term_revisions (term_id, version, target, variants, note, domain, status) "
        "VALUES (1, 1, 'truce', '[]', '', '', 'approved')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store(path) as store:
        (st,) = store.glossary_terms(1)
        assert st.term == Term("هدنة", "truce")
        version = store.apply_glossary_changes(
            1, [Term("هدنة", "truce", target_plural="truces")], author="a", action="update", summary="y"
        )
        assert version == 2
        assert store.glossary_terms(1)[0].term.target_plural == "truces"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
