"""Operations: bounded reads, UTF-16 inputs, foreign databases, backups, db check, streamed JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from translate_pipe.store import MIGRATIONS, Store

from . import test_pipeline
from .test_pipeline import DOC, cli

package_file = test_pipeline.package_file  # the fixtures of the end-to-end tests
env = test_pipeline.env


@pytest.mark.parametrize(
    "args,message",
    [
        (["translate", "/dev/zero", "--max-input-size", "64K"], "/dev/zero: larger than the input size limit of 64K"),
        (["refs", "import", "{doc}", "/dev/zero", "--max-input-size", "1M"], "reference file /dev/zero: larger than the input size limit of 1M"),
        (["glossary", "import", "/dev/zero", "--name", "g", "--format", "csv", "--max-input-size", "1K"], "/dev/zero: larger than the input size limit of 1K"),
    ],
    ids=["translate", "refs-import", "glossary-import"],
)
def test_endless_stream_is_refused_at_the_limit(env: dict[str, Any], args: list[str], message: str) -> None:
    r = cli(env, *[a.format(doc=env["doc"]) for a in args])
    assert r.exit_code == 1
    assert message in r.output and "--max-input-size" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_stdin_over_the_limit(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", "--max-input-size", "1K", input=DOC.encode() * 200)
    assert r.exit_code == 1 and "<stdin>: larger than the input size limit of 1K" in r.output


@pytest.mark.parametrize("size", ["0", "12Q", "-5", "K"])
def test_bad_size_is_a_usage_error(env: dict[str, Any], size: str) -> None:
    r = cli(env, "translate", str(env["doc"]), "--max-input-size", size)
    assert r.exit_code == 2 and "not a size" in r.output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"], ids=["native-bom", "le-bom", "be-bom"])
def test_utf16_with_bom_is_decoded(env: dict[str, Any], encoding: str) -> None:
    doc = env["tmp"] / "u16.ar.txt"
    data = DOC.encode(encoding)
    if encoding != "utf-16":  # explicit byte orders carry no BOM by themselves
        data = "\ufeff".encode(encoding) + data
    doc.write_bytes(data)
    r = cli(env, "translate", str(doc), "-o", str(env["out"]), "--json")
    assert r.exit_code == 0, r.output
    plain = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json")
    targets = [[s["target"] for s in d["segments"]] for d in json.loads(r.stdout)["documents"]]
    assert targets == [[s["target"] for s in d["segments"]] for d in json.loads(plain.stdout)["documents"]]


def test_json_is_streamed_in_the_json_dumps_layout(env: dict[str, Any]) -> None:
    other = env["tmp"] / "other.ar.txt"
    other.write_text(DOC.replace("\n", " \n"), encoding="utf-8")
    r = cli(env, "translate", str(env["doc"]), str(other), "-o", str(env["out"]), "--json", "--n-best", "2")
    assert r.exit_code == 0, r.output
    assert r.stdout == json.dumps(json.loads(r.stdout), ensure_ascii=False, indent=2) + "\n"


def _foreign(path: Path, table: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute(f"INSERT INTO {table} (name) VALUES ('x')")


@pytest.mark.parametrize(
    "table,args,message",
    [
        ("people", ["runs"], "is not a translate-pipe database (it holds other tables: people)"),
        ("people", ["glossary", "add", "g", "a", "b"], "give --init to add translate-pipe's tables"),
        ("documents", ["runs"], "is not a translate-pipe database (it holds other tables: documents)"),
        ("documents", ["--init", "runs"], "already has tables named like translate-pipe's (documents)"),
    ],
    ids=["read-only", "write", "schema-0-with-our-names", "init-cannot-clash"],
)
def test_foreign_database_is_left_alone(env: dict[str, Any], table: str, args: list[str], message: str) -> None:
    _foreign(env["db"], table)
    before = env["db"].read_bytes()
    r = cli(env, *args)
    assert r.exit_code == 1 and message in r.output
    assert env["db"].read_bytes() == before
    with sqlite3.connect(env["db"]) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [table]


def test_init_adds_our_tables_beside_others(env: dict[str, Any]) -> None:
    _foreign(env["db"], "people")
    r = cli(env, "--init", "glossary", "add", "g", "سوريا", "Syria")
    assert r.exit_code == 0, r.output
    with sqlite3.connect(env["db"]) as conn:
        assert conn.execute("SELECT name FROM people").fetchall() == [("x",)]
    assert cli(env, "glossary", "list").exit_code == 0  # ours from now on


def test_migration_backs_up_first(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        for version in (1, 2):
            conn.executescript(MIGRATIONS[version])
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO glossaries (name, source_lang, target_lang, created_at) VALUES ('g', 'ar', 'en', 'now')")
    with Store(db) as store:
        assert store.glossaries()[0].name == "g"
    backup = tmp_path / "old.db.schema-2.bak"
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        assert conn.execute("SELECT name FROM glossaries").fetchall() == [("g",)]


def test_db_check_and_backup(env: dict[str, Any]) -> None:
    assert cli(env, "translate", str(env["doc"]), "-o", str(env["out"])).exit_code == 0
    r = cli(env, "db", "check")
    assert r.exit_code == 0 and r.output.strip().endswith("ok (integrity and foreign keys)")
    copy = env["tmp"] / "copy.db"
    r = cli(env, "db", "backup", str(copy))
    assert r.exit_code == 0, r.output
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM translations").fetchone() == (3,)
    r = cli(env, "db", "backup", str(copy))
    assert r.exit_code == 1 and "exists; choose a new file" in r.output


def test_db_check_reports_a_broken_foreign_key(env: dict[str, Any]) -> None:
    assert cli(env, "translate", str(env["doc"]), "-o", str(env["out"])).exit_code == 0
    with sqlite3.connect(env["db"]) as conn:  # foreign keys are off on this connection
        conn.execute("DELETE FROM runs")
    r = cli(env, "db", "check")
    assert r.exit_code == 1
    assert "translations row 1: no row in runs for foreign key" in r.output


def test_unsplittable_word_is_refused_before_the_run(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", "--json", input=("سوريا " + "ب" * 3000 + "\n").encode())
    assert r.exit_code == 1
    assert "<stdin>: segment 0 (characters 0-3006) is a single word" not in r.output  # the word alone is the segment
    assert "is a single word of 3000 characters" in r.output and "--max-source-tokens 200" in r.output
    with Store(env["db"]) as store:
        assert store.runs() == []


@pytest.mark.parametrize("also_stdout", [False, True], ids=["file-only", "file-and-stdout"])
def test_json_file_holds_the_json_result(env: dict[str, Any], also_stdout: bool) -> None:
    """--json-file PATH writes what --json prints (byte for byte), and the report stays on
    stderr; with --json as well, both get it."""
    reference = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json")
    target = env["tmp"] / "reports" / "run.json"
    r = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json-file", str(target),
            *(["--json"] if also_stdout else []))
    assert r.exit_code == 0, r.output
    data = json.loads(target.read_text(encoding="utf-8"))
    expected = json.loads(reference.stdout)
    assert data["run_id"] == expected["run_id"] + 1
    assert target.read_text(encoding="utf-8") == reference.stdout.replace(
        f'"run_id": {expected["run_id"]},', f'"run_id": {data["run_id"]},', 1)
    if also_stdout:
        assert r.stdout == target.read_text(encoding="utf-8")
    else:
        assert not r.stdout.strip().startswith("{")
        assert f"-> {target}" in r.stderr


# The tables schema 5 databases got on first use (store.py before schema 6), as they were made.
SCHEMA5_LAZY = """
CREATE TABLE IF NOT EXISTS run_processes (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS translation_extras (
    translation_id INTEGER PRIMARY KEY REFERENCES translations(id) ON DELETE CASCADE,
    data TEXT NOT NULL
);
CREATE TABLE [term_renderings] ([model] TEXT, [source] TEXT, [renderings] TEXT, PRIMARY KEY ([model], [source]));
INSERT INTO documents VALUES (1, 'x', 'ar', 'a.txt', 'أ ب', 'now');
INSERT INTO segments VALUES (1, 1, 0, 3, 0, 'أ ب');
INSERT INTO runs (id, model_name, model_version, model_checksum, source_lang, target_lang, settings, started_at, status)
    VALUES (1, 'm', '1', 'c', 'ar', 'en', '{}', 'now', 'running');
INSERT INTO translations (id, run_id, segment_id, segment_index, target) VALUES (1, 1, 1, 0, 'A B');
INSERT INTO run_processes VALUES (1, 999999999, 'elsewhere', '2000-01-01T00:00:00+00:00', 1);
INSERT INTO translation_extras VALUES (1, '{"alternatives": ["A C"]}');
INSERT INTO term_renderings VALUES ('c', 'أ', '["A"]');
"""


@pytest.mark.parametrize("lazy", [False, True], ids=["never-translated", "with-first-use-tables"])
def test_migration_from_schema_5(tmp_path: Path, lazy: bool) -> None:
    """A schema-5 database, with or without the tables earlier versions made on first use,
    migrates to schema 6: backed up first, those tables and their rows kept, the new ones added."""
    from translate_pipe.store import BROWSING, SCHEMA_VERSION

    db = tmp_path / "v5.db"
    with sqlite3.connect(db) as conn:
        for version in range(1, 6):
            conn.executescript(MIGRATIONS[version])
        conn.executescript(BROWSING + ";" + (SCHEMA5_LAZY if lazy else ""))
        conn.execute("PRAGMA user_version = 5")
    with Store(db) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (6,)
        assert {"term_renderings", "run_processes", "translation_extras", "run_document_files"} <= set(
            store.db.table_names())
        assert store.check() == []
        if lazy:
            assert store.run(1).status == "interrupted"  # its process (on another host) went quiet
            assert store.segments_done(1) == 1
            assert store.get_renderings("c", ["أ"]) == {"أ": ["A"]}
            assert [alts for _, alts in store.iter_translations(1, 1)] == [("A C",)]
        else:
            assert store.segments_done(1) == 0 and store.get_renderings("c", ["أ"]) == {}
        store.put_renderings("c", {"ب": ["B"]})
        assert store.get_renderings("c", ["ب"]) == {"ب": ["B"]}
    with sqlite3.connect(tmp_path / "v5.db.schema-5.bak") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (5,)


OPENER = """
import sys, time
from pathlib import Path
from translate_pipe.store import Store
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
with Store(sys.argv[1]) as store:
    print(store.count("runs"))
"""


def test_processes_that_create_one_database_at_once_all_open_it(tmp_path: Path) -> None:
    """Four processes released together on a database that does not exist yet: one creates
    and migrates it, the others wait for it (none fails with "database is locked", as the
    switch to WAL did when it came before the busy timeout)."""
    import os
    import subprocess
    import sys

    db, go = tmp_path / "new.db", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [
        subprocess.Popen([sys.executable, "-c", OPENER, str(db), str(go)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert [(p.returncode, out.strip(), err) for p, (out, err) in zip(procs, results)] == [(0, "0", "")] * 4
    with Store(db) as store:
        assert store.check() == []


def test_opening_waits_for_another_process_that_holds_the_database(tmp_path: Path) -> None:
    """A database still in rollback-journal mode (as when another process has just created it)
    and locked for writing by another connection: opening it waits for the lock (busy timeout)
    instead of failing at once with "database is locked" on the switch to WAL."""
    import os
    import subprocess
    import sys
    import time

    db, go = tmp_path / "t.db", tmp_path / "go"
    Store(db).close()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA journal_mode = DELETE")
    other.execute("BEGIN IMMEDIATE")  # a writer is busy (as a migration would be)
    go.touch()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", OPENER, str(db), str(go)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # the opener has started and is waiting for the lock
    other.execute("COMMIT")
    other.close()
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out.strip(), err) == (0, "0", "")
