"""The database people browse: migration of a real schema-1 database to the current schema, foreign keys
and their indexes, the views, and Datasette serving them over HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from translate_pipe.store import SCHEMA_VERSION, Store

from .reviewloop import make_env, ok, translate

SCHEMA1 = Path(__file__).parent / "data" / "review" / "schema1.db"
VIEWS = ["current_glossary", "post_edits_with_hter", "term_applications", "translations_with_source"]


@pytest.fixture()
def migrated(tmp_path: Path) -> Path:
    copy = tmp_path / "schema1-copy.db"
    shutil.copyfile(SCHEMA1, copy)
    with Store(copy):
        pass
    return copy


def test_migration_from_schema_1_keeps_every_row(migrated: Path) -> None:
    before = sqlite3.connect(f"file:{SCHEMA1}?mode=ro", uri=True)
    after = sqlite3.connect(migrated)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 1
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    for table in ("documents", "segments", "runs", "run_documents", "translations", "alignments", "glossaries",
                  "glossary_versions", "glossary_terms", "term_revisions", "term_alignments", "refsets", "scores"):
        assert after.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()[0][:3] == \
            before.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()[0][:3], table
        assert after.execute(f"SELECT count(*) FROM {table}").fetchone() == \
            before.execute(f"SELECT count(*) FROM {table}").fetchone(), table
    assert after.execute("SELECT * FROM reference_lines").fetchall() == before.execute("SELECT * FROM references_").fetchall()
    assert after.execute("SELECT name FROM sqlite_master WHERE name = 'references_'").fetchall() == []
    assert after.execute("PRAGMA foreign_key_check").fetchall() == []
    assert after.execute("SELECT DISTINCT origin FROM translations").fetchall() == [("mt",)]
    # scores are now tied to the reference sets they used
    assert after.execute("SELECT count(*) FROM score_references").fetchone()[0] == after.execute(
        "SELECT count(*) FROM scores").fetchone()[0]


def test_runs_declare_the_glossary_version_as_a_foreign_key(migrated: Path) -> None:
    with Store(migrated) as store:
        fks = store.conn.execute("PRAGMA foreign_key_list(runs)").fetchall()
        assert ("glossary_versions", "glossary_id", "glossary_id") in {(f[2], f[3], f[4]) for f in fks}
        assert ("glossary_versions", "glossary_version", "version") in {(f[2], f[3], f[4]) for f in fks}
        with pytest.raises(sqlite3.IntegrityError):
            store.conn.execute("UPDATE runs SET glossary_version = 99 WHERE id = 1")


def _tables(db: Path) -> list[str]:
    with Store(db) as store:
        return sorted(store.db.table_names())


TABLES = [
    "documents", "segments", "runs", "run_documents", "translations", "alignments", "glossaries", "glossary_versions",
    "glossary_terms", "term_revisions", "term_alignments", "refsets", "reference_lines", "scores", "score_references",
    "review_imports", "post_edits", "tm_units", "lint_acks",
    "term_renderings", "run_processes", "translation_extras", "run_document_files",  # schema 6
]


@pytest.mark.parametrize("table", TABLES)
def test_every_foreign_key_is_indexed(migrated: Path, table: str) -> None:
    conn = sqlite3.connect(migrated)
    fks: dict[int, list[str]] = {}
    for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
        fks.setdefault(row[0], []).append(row[3])
    indexes = [
        [r[2] for r in conn.execute(f"PRAGMA index_info('{ix[1]}')")]
        for ix in conn.execute(f"PRAGMA index_list({table})")
    ]
    # an INTEGER PRIMARY KEY is the rowid itself: the table is its index
    rowid = [[r[1]] for r in conn.execute(f"PRAGMA table_info({table})") if r[5] == 1 and r[2].upper() == "INTEGER"]
    for cols in fks.values():
        assert any(ix[: len(cols)] == cols for ix in indexes + rowid), f"{table}({', '.join(cols)}) has no index"


def test_the_schema_lists_every_table(migrated: Path) -> None:
    assert _tables(migrated) == sorted(TABLES)


def test_views_of_the_migrated_database(migrated: Path) -> None:
    with Store(migrated) as store:
        assert store.view_names() == VIEWS
        rows = list(store.db.query("SELECT source_term, approved_target, source_text, target_text, status FROM term_applications"))
        assert rows == [
            {"source_term": "وقف إطلاق النار", "approved_target": "ceasefire", "source_text": "وقف إطلاق النار",
             "target_text": "Ceasefire", "status": "present"},
            {"source_term": "أستانا", "approved_target": "Astana", "source_text": "أستانا", "target_text": "Astana",
             "status": "present"},
        ]
        tr = list(store.db.query("SELECT document_path, segment_index, source, target FROM translations_with_source"))
        assert tr[0] == {"document_path": "bulletin.ar.txt", "segment_index": 0, "source": "وقف إطلاق النار في حمص.",
                         "target": "Ceasefire in Homs."}
        assert [r["source"] for r in store.db.query("SELECT source FROM current_glossary ORDER BY source")] == [
            "أستانا", "وقف إطلاق النار"]


@pytest.fixture()
def reviewed_db(tmp_path: Path, template_package: Path) -> Path:
    """A fresh database with a run, a review import and its post-edits."""
    env = make_env(tmp_path, template_package)
    run = translate(env, "doc1.ar.txt")
    po = tmp_path / "r.po"
    ok(env, "review", "export", str(run["run_id"]), "-o", str(po))
    text = po.read_text(encoding="utf-8").replace("prisoner exchange", "exchange of prisoners")
    po.write_text(text.replace("#, fuzzy\n", ""), encoding="utf-8")
    ok(env, "review", "import", str(po), "--reviewer", "A. Haddad")
    return Path(env["db"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def datasette(reviewed_db: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(reviewed_db), "--host", "127.0.0.1", "--port", str(port),
         "--setting", "sql_time_limit_ms", "5000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"datasette exited: {proc.stdout.read().decode() if proc.stdout else ''}") from None
                time.sleep(0.2)
        yield base + "/" + reviewed_db.stem
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read()) if url.endswith(".json") or ".json?" in url else response.read().decode()


@pytest.mark.parametrize("view", VIEWS)
def test_datasette_serves_the_views(datasette: str, view: str) -> None:
    html = _get(f"{datasette}/{view}")
    assert view in html
    data = _get(f"{datasette}/{view}.json?_shape=array")
    assert data, f"{view} is empty"
    if view == "post_edits_with_hter":
        assert {r["reviewer"] for r in data} == {"A. Haddad"}
        # every unit approved; four of them corrected
        assert sorted((r["mt"] != r["post_edit"], r["hter"] > 0, r["approved"]) for r in data) == [
            (False, False, 1)] + [(True, True, 1)] * 4
        assert all(r["source"] and r["document_path"].endswith("doc1.ar.txt") for r in data)
    if view == "translations_with_source":
        assert [r["origin"] for r in data] == ["mt", "mt", "mt", "mt", "repeat"]


def test_a_later_step_may_rebuild_a_table_the_views_read(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from translate_pipe import store as store_mod

    rebuild = (
        "CREATE TABLE term_alignments_new AS SELECT * FROM term_alignments; DROP TABLE term_alignments; "
        "ALTER TABLE term_alignments_new RENAME TO term_alignments"
    )
    monkeypatch.setitem(store_mod.MIGRATIONS, SCHEMA_VERSION + 1, rebuild)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Store(migrated) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert store.view_names() == VIEWS
        assert len(list(store.db.query("SELECT * FROM term_applications"))) == 2
        assert "term_alignments_term" in {r[1] for r in store.conn.execute("PRAGMA index_list(term_alignments)")}
