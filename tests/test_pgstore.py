"""The PostgreSQL store (``--db postgresql://...``) on a real server (Debian's postgresql,
started once per session by tests/pgserver.py on a free 127.0.0.1 port).

The same ``translate`` stored in SQLite and in PostgreSQL gives the same rows and the same
``--json``; two driver processes writing runs into one database at once do not collide; the
schema is made once by concurrent openers and completed by a newer translate-pipe; commands
PostgreSQL does not support fail with one line.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from translate_pipe.cli import app
from translate_pipe.errors import StoreError
from translate_pipe.pgstore import PgStore, postgres_schema
from translate_pipe.records import Segment, SegmentTranslation
from translate_pipe.store import SCHEMA_VERSION, DatabaseURL, Store, database_target

from .pgserver import new_database, running_postgres
from .tinymodel import TINY_PAIRS

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "glossaries" / "diplomatic.csv"
runner = CliRunner()

# three documents of the tiny model's sentences (repeats inside and across documents)
SENTENCES = [ar for ar, _ in TINY_PAIRS]
DOCS = {
    "a.ar.txt": "\n".join(SENTENCES) + "\n",
    "b.ar.txt": f"{SENTENCES[2]}\n\n{SENTENCES[0]} {SENTENCES[1]}\n",
    "c.ar.txt": f"{SENTENCES[1]}\n{SENTENCES[2]}\n{SENTENCES[0]}\n",
}
OPTIONS = ["--glossary", "diplomatic", "--allow-failures", "--chunk-segments", "2", "--n-best", "2"]

# the stored rows compared between SQLite and PostgreSQL (ids included: both count from 1)
# when things were stored (ISO, and PO headers' "2026-11-25 18:17+0000"): differs between the stores
TIME = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|\+0000|Z)?"
ROWS = {
    "runs": "SELECT id, kind, parent_run_id, model_name, model_version, model_checksum, source_lang, target_lang, "
    "settings, glossary_id, glossary_version, status, error FROM runs ORDER BY id",
    "documents": "SELECT id, sha256, source_lang, path, text FROM documents ORDER BY id",
    "run_documents": "SELECT run_id, document_id, position, path, output_path FROM run_documents ORDER BY run_id, position",
    "segments": 'SELECT id, document_id, start, "end", paragraph, text FROM segments ORDER BY id',
    "translations": "SELECT id, run_id, segment_id, segment_index, target, score, truncated, origin, tm_unit_id "
    "FROM translations ORDER BY id",
    "alignments": "SELECT translation_id, src_start, src_end, tgt_start, tgt_end FROM alignments ORDER BY rowid",
    "term_alignments": "SELECT translation_id, term_id, glossary_version, source_term, target_term, src_start, src_end, "
    "tgt_start, tgt_end, method, status, reason FROM term_alignments ORDER BY rowid",
    "translation_extras": "SELECT translation_id, data FROM translation_extras ORDER BY translation_id",
    "glossary_terms": "SELECT id, glossary_id, source, context FROM glossary_terms ORDER BY id",
    "term_revisions": "SELECT term_id, version, target, variants, note, domain, status, target_plural, "
    "source_plurals, blocked_in FROM term_revisions ORDER BY term_id, version",
    "run_processes": "SELECT run_id, done FROM run_processes ORDER BY run_id",
    "review_imports": "SELECT id, run_id, format, sha256, reviewer, units, edited, hter, hter_signature "
    "FROM review_imports ORDER BY id",
    "post_edits": "SELECT id, translation_id, import_id, target, reviewer, state, approved, hter, hter_signature "
    "FROM post_edits ORDER BY id",
    "tm_units": "SELECT id, source_lang, target_lang, source, source_norm, target, origin, post_edit_id, author "
    "FROM tm_units ORDER BY id",
    "scores": "SELECT id, run_id, metric, value, signature, refset, level, details FROM scores ORDER BY id",
    "refsets": "SELECT id, document_id, name, path FROM refsets ORDER BY id",
    "reference_lines": "SELECT refset_id, line, text FROM reference_lines ORDER BY refset_id, line",
    "score_references": "SELECT score_id, refset_id FROM score_references ORDER BY score_id, refset_id",
}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture()
def pg_url(pg_server: str) -> str:
    """A new empty database for each test."""
    return new_database(pg_server)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, tiny_package: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pg")
    packages = root / "packages"
    r = runner.invoke(app, ["--db", str(root / "x.db"), "--packages-dir", str(packages), "models", "install",
                            "--from-file", str(tiny_package)])
    assert r.exit_code == 0, r.output
    inputs = []
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
        inputs.append(str(root / name))
    return {"root": root, "packages": packages, "inputs": inputs}


def cli(work: dict[str, Any], db: str, *args: str) -> Any:
    return runner.invoke(app, ["--db", db, "--packages-dir", str(work["packages"]), *args])


def stored_rows(db: str) -> dict[str, list[tuple[Any, ...]]]:
    if db.startswith("postgresql://"):
        with psycopg.connect(db) as conn:
            return {t: [tuple(r) for r in conn.execute(sql).fetchall()] for t, sql in ROWS.items()}
    with sqlite3.connect(db) as conn:
        return {t: [tuple(r) for r in conn.execute(sql).fetchall()] for t, sql in ROWS.items()}


def without_times(data: Any) -> Any:
    """JSON with the times a run was made at dropped (they differ between two runs)."""
    if isinstance(data, dict):
        return {k: without_times(v) for k, v in data.items() if k not in ("started_at", "finished_at", "created_at")}
    if isinstance(data, list):
        return [without_times(v) for v in data]
    return data


def run_everything(work: dict[str, Any], db: str, out: Path) -> dict[str, Any]:
    """The shared commands on one database; their outputs (JSON parsed)."""
    got: dict[str, Any] = {}
    r = cli(work, db, "glossary", "import", str(GLOSSARY), "--name", "diplomatic", "--author", "tester")
    assert r.exit_code == 0, r.output
    r = cli(work, db, "glossary", "add", "diplomatic", "الوزارة", "the ministry", "--author", "tester")
    assert r.exit_code == 0, r.output
    r = cli(work, db, "translate", *work["inputs"], "-o", str(out), "--json", *OPTIONS)
    assert r.exit_code == 0, r.output
    got["translate"] = json.loads(r.stdout)
    for doc in got["translate"]["documents"]:
        doc["output"] = Path(doc["output"]).name
    got["outputs"] = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}
    for name, args in (
        ("runs", ["runs", "--json"]),
        ("runs show", ["runs", "show", "1", "--json"]),
        ("glossary list", ["glossary", "list", "--json"]),
        ("glossary terms", ["glossary", "list", "diplomatic", "--json"]),
        ("glossary log", ["glossary", "log", "diplomatic", "--json"]),
        ("glossary diff", ["glossary", "diff", "diplomatic", "1", "2", "--json"]),
        ("glossary show", ["glossary", "show", "diplomatic", "الوزارة", "--json"]),
        ("glossary lint", ["glossary", "lint", "diplomatic", "--json"]),
        ("glossary match", ["glossary", "match", "diplomatic", work["inputs"][0], "--json"]),
    ):
        r = cli(work, db, *args)
        assert r.exit_code == 0, (name, r.output)
        got[name] = without_times(json.loads(r.stdout.replace(str(out), "OUT")))
    r = cli(work, db, "review", "export", "1", "--format", "xliff")
    assert r.exit_code == 0, r.output
    got["review export"] = re.sub(TIME, "TIME", r.stdout)
    # a reviewer approves every unit, correcting each target the same way
    reviewed = re.sub(
        r'(<target [^>]*state=")[^"]*(">)([^<]*)(</target>)', r"\1final\2\3 Reviewed.\4", r.stdout
    )
    (out / "run1.reviewed.xlf").write_text(reviewed, encoding="utf-8")
    r = cli(work, db, "review", "import", str(out / "run1.reviewed.xlf"), "--reviewer", "rev", "--json")
    assert r.exit_code == 0, r.output
    got["review import"] = json.loads(r.stdout)
    (out / "run1.reviewed.xlf").unlink()
    for name, args in (
        ("glossary ack", ["glossary", "ack", "diplomatic", "الائتلاف الوطني السوري", "--author", "tester"]),
        ("glossary lint after ack", ["glossary", "lint", "diplomatic", "--json"]),
        ("glossary remove", ["glossary", "remove", "diplomatic", "الوزارة", "--author", "tester"]),
        ("glossary export", ["glossary", "export", "diplomatic", "--format", "po"]),
        ("tm export", ["tm", "export", "-o", str(out / "memory.tmx")]),
        ("tm import", ["tm", "import", str(out / "memory.tmx"), "--author", "tester"]),
        ("glossary suggest", ["glossary", "suggest", "diplomatic", "--min-count", "2", "--json"]),
        ("review export after import", ["review", "export", "1", "--format", "po"]),
    ):
        r = cli(work, db, *args)
        assert r.exit_code == 0, (name, r.output)
        got[name] = re.sub(TIME, "TIME", r.stdout.replace(str(out), "OUT"))
    got["tm"] = re.sub(TIME, "TIME", (out / "memory.tmx").read_text(encoding="utf-8"))
    (out / "memory.tmx").unlink()
    # references, scores, the HTML report, then a retranslation after the glossary edits
    for i, (name, text) in enumerate(DOCS.items()):
        lines = [line for line in text.split("\n") if line.strip()]
        for ar, en in TINY_PAIRS:
            lines = [line.replace(ar, en) for line in lines]
        (out / f"{name}.ref").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        r = cli(work, db, "refs", "import", work["inputs"][i], str(out / f"{name}.ref"), "--name", "ref")
        assert r.exit_code == 0, r.output
        (out / f"{name}.ref").unlink()
    for name, args in (
        ("refs list", ["refs", "list", "--json"]),
        ("score", ["score", "--run", "1", "--glossary", "diplomatic", "--json"]),
        ("report", ["report", "1", "-o", str(out / "report.html")]),
        ("retranslate", ["retranslate", "--glossary", "diplomatic", "--allow-failures", "--json"]),
        ("runs after retranslate", ["runs", "--json"]),
    ):
        r = cli(work, db, *args)
        assert r.exit_code == 0, (name, r.output)
        got[name] = re.sub(TIME, "TIME", r.stdout.replace(str(out), "OUT"))
    got["report.html"] = re.sub(TIME, "TIME", (out / "report.html").read_text(encoding="utf-8"))
    (out / "report.html").unlink()
    got["outputs after retranslate"] = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}
    return got


def test_same_run_in_sqlite_and_postgresql(work: dict[str, Any], pg_url: str, tmp_path: Path) -> None:
    sqlite_db = str(tmp_path / "t.db")
    in_sqlite = run_everything(work, sqlite_db, tmp_path / "out")  # the same outputs: the same rows
    in_pg = run_everything(work, pg_url, tmp_path / "out")
    for key in in_sqlite:
        assert in_pg[key] == in_sqlite[key], key
    rows_sqlite, rows_pg = stored_rows(sqlite_db), stored_rows(pg_url)
    for table in ROWS:
        assert rows_pg[table] == rows_sqlite[table], table
    # the run has what the comparison is about: alignments, term outcomes, alternatives
    assert rows_pg["alignments"] and rows_pg["term_alignments"] and rows_pg["translation_extras"]
    assert {r[-2] for r in rows_pg["term_alignments"]} & {"present", "enforced", "inserted"}
    assert rows_pg["post_edits"] and rows_pg["tm_units"] and rows_pg["scores"] and rows_pg["score_references"]
    assert [r[1] for r in rows_pg["runs"]] == ["translate", "retranslate"]
    assert in_pg["runs"][0]["status"] == "completed"


def test_two_drivers_write_into_one_database_at_once(work: dict[str, Any], pg_url: str, tmp_path: Path) -> None:
    """Two translate processes on the same inputs, held at the start of their runs until both
    are there (the test locks ``runs``), then released together: two runs, every segment
    stored once per run, the shared documents and segments stored once."""
    r = cli(work, pg_url, "glossary", "import", str(GLOSSARY), "--name", "diplomatic")
    assert r.exit_code == 0, r.output
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gate = psycopg.connect(pg_url)  # a transaction holding the lock until both drivers wait on it
    gate.execute("LOCK TABLE runs IN EXCLUSIVE MODE")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "translate_pipe", "--db", pg_url, "--packages-dir", str(work["packages"]),
             "translate", *work["inputs"], "-o", str(tmp_path / f"out{i}"), "--json", *OPTIONS, "--chunk-segments", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for i in range(2)
    ]
    try:
        deadline = time.monotonic() + 240
        while gate.execute("SELECT count(*) FROM pg_locks WHERE relation = 'runs'::regclass AND NOT granted"
                           ).fetchone() != (2,):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "the drivers never met"
            time.sleep(0.1)
        gate.commit()
        results = [p.communicate(timeout=300) for p in procs]
    finally:
        gate.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err
    outs = [json.loads(out) for out, _ in results]
    assert sorted(o["run_id"] for o in outs) == [1, 2]
    assert outs[0]["documents"] == [{**d, "output": d["output"].replace("out1", "out0")} for d in outs[1]["documents"]]
    n_segments = sum(len(d["segments"]) for d in outs[0]["documents"])
    with psycopg.connect(pg_url) as conn:
        per_run = conn.execute("SELECT run_id, count(*), count(DISTINCT segment_id) FROM translations GROUP BY run_id "
                               "ORDER BY run_id").fetchall()
        assert per_run == [(1, n_segments, n_segments), (2, n_segments, n_segments)]
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (len(DOCS),)
        assert conn.execute("SELECT count(*), count(DISTINCT (document_id, start, \"end\")) FROM segments").fetchone() \
            == (n_segments, n_segments)
        assert conn.execute("SELECT status FROM runs ORDER BY id").fetchall() == [("completed",), ("completed",)]
        assert conn.execute("SELECT max(started_at) < min(finished_at) FROM runs").fetchone() == (True,)  # overlapped
        links = conn.execute("SELECT t.run_id, count(*) FROM alignments a JOIN translations t ON t.id = a.translation_id "
                             "GROUP BY t.run_id ORDER BY t.run_id").fetchall()
        assert links[0][1] == links[1][1] > 0


def test_an_interrupted_run_resumes_in_postgresql(work: dict[str, Any], pg_url: str, tmp_path: Path) -> None:
    """A run cut after two chunks (its later rows gone, marked failed) is completed by
    ``translate --resume`` to the same --json and rows as the uninterrupted run."""
    assert cli(work, pg_url, "glossary", "import", str(GLOSSARY), "--name", "diplomatic").exit_code == 0
    r = cli(work, pg_url, "translate", *work["inputs"], "-o", str(tmp_path / "out"), "--json", *OPTIONS)
    assert r.exit_code == 0, r.output
    whole, rows = json.loads(r.stdout), stored_rows(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM translations WHERE id > 4")  # the first two chunks of 2 stay
        conn.execute("UPDATE run_processes SET done = 4")
        conn.execute("UPDATE runs SET status = 'failed', error = 'killed'")
    r = cli(work, pg_url, "translate", "--resume", "1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == whole
    again = stored_rows(pg_url)
    for table in ("runs", "documents", "segments", "run_documents"):
        assert again[table] == rows[table], table
    for table in ("translations", "alignments", "term_alignments", "translation_extras"):  # new ids after 4
        assert len(again[table]) == len(rows[table]), table
    assert [t[2:] for t in again["translations"]] == [t[2:] for t in rows["translations"]]


@pytest.mark.parametrize("drivers", [2, 4])
def test_drivers_writing_the_same_documents_at_the_same_moment(pg_url: str, drivers: int) -> None:
    """The store itself, several threads (one connection each) released together at every step:
    each registers the same documents and writes the same segments, chunk by chunk, twice (a
    retried chunk).  Ids never collide and each run holds each segment exactly once."""
    text = "".join(f"جملة رقم {i}.\n" for i in range(40))
    segments = [Segment(i, i * 12, i * 12 + 11, text[i * 12 : i * 12 + 11], i) for i in range(40)]
    PgStore(DatabaseURL(pg_url)).close()  # the schema (made once; tested above)
    barrier = threading.Barrier(drivers)
    errors: list[BaseException] = []
    run_ids: list[int] = []

    def drive(n: int) -> None:
        try:
            with PgStore(DatabaseURL(pg_url)) as store:
                barrier.wait()
                with store.transaction():
                    run_id = store.start_run(model_name="m", model_version="1", model_checksum="c", source_lang="ar",
                                             target_lang="en", settings={"driver": n})
                    store.claim_run(run_id)
                    [document_id, other] = store.register_run_documents(
                        run_id, [(text, "ar", "a.txt", None), (f"نص {n}", "ar", None, None)]
                    )
                run_ids.append(run_id)
                for start in range(0, 40, 8):
                    chunk = [
                        (document_id, SegmentTranslation(s, f"sentence {s.index}", ((0, 4, 0, 8),)), ())
                        for s in segments[start : start + 8]
                    ]
                    barrier.wait()
                    assert store.write_chunk(run_id, chunk, done=start + 8) == 8
                    assert store.write_chunk(run_id, chunk, done=start + 8) == 0  # retried: nothing twice
                store.finish_run(run_id, "completed")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=drive, args=(n,)) for n in range(drivers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(run_ids) == list(range(1, drivers + 1))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (1 + drivers,)
        assert conn.execute("SELECT count(*) FROM segments").fetchone() == (40,)
        assert conn.execute("SELECT run_id, count(DISTINCT segment_id), count(*) FROM translations GROUP BY run_id "
                            "ORDER BY run_id").fetchall() == [(r, 40, 40) for r in range(1, drivers + 1)]
        assert conn.execute("SELECT count(*) FROM alignments").fetchone() == (40 * drivers,)
        assert conn.execute("SELECT run_id, done FROM run_processes ORDER BY run_id").fetchall() == [
            (r, 40) for r in range(1, drivers + 1)
        ]


def test_the_schema_is_made_once_by_concurrent_openers(pg_url: str) -> None:
    errors: list[BaseException] = []

    def open_and_close() -> None:
        try:
            PgStore(DatabaseURL(pg_url)).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    PgStore(DatabaseURL(pg_url)).close()  # once more: nothing to do
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM translate_pipe_schema").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )}
    assert tables == {t.name for t in postgres_schema().tables} | {"translate_pipe_schema"}


def test_a_newer_schema_adds_the_missing_tables_and_columns(pg_url: str) -> None:
    """A database made by an older translate-pipe (here: one step older, without a table and a
    column) is completed, its rows kept."""
    with PgStore(DatabaseURL(pg_url)) as store:
        store.ensure_glossary("g", "ar", "en")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE translation_extras")
        conn.execute("ALTER TABLE translations DROP COLUMN tm_unit_id CASCADE")  # and the view that shows it
        conn.execute("UPDATE translate_pipe_schema SET version = %s", (SCHEMA_VERSION - 1,))
    with PgStore(DatabaseURL(pg_url)) as store:
        assert [g.name for g in store.glossaries()] == ["g"]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('translation_extras') IS NOT NULL").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'translations' "
                            "AND column_name = 'tm_unit_id'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM information_schema.table_constraints WHERE table_name IN "
                            "('translations', 'translation_extras') AND constraint_type = 'FOREIGN KEY'").fetchone() == (4,)
        assert conn.execute("SELECT to_regclass('translations_with_source') IS NOT NULL").fetchone() == (True,)
        assert conn.execute("SELECT version FROM translate_pipe_schema ORDER BY version").fetchall() == [
            (SCHEMA_VERSION - 1,), (SCHEMA_VERSION,)
        ]


def test_formatted_documents_of_a_run_round_trip(pg_url: str) -> None:
    """Schema 6's run_document_files (a resumed run writes .docx/.html outputs from them): bytes kept."""
    data = bytes(range(256)) * 3
    with PgStore(DatabaseURL(pg_url)) as store:
        run_id = store.start_run(model_name="m", model_version="1", model_checksum="c", source_lang="ar",
                                 target_lang="en", settings={})
        store.add_run_files(run_id, {1: (data, "out/b.en.docx"), 0: (b"<html/>", "out/a.en.html")})
        store.add_run_files(run_id, {0: (b"other", "elsewhere")})  # stored once, as in SQLite
        assert store.run_files(run_id) == {0: (b"<html/>", "out/a.en.html"), 1: (data, "out/b.en.docx")}


def test_a_newer_database_is_refused(pg_url: str) -> None:
    PgStore(DatabaseURL(pg_url)).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE translate_pipe_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this translate-pipe understands"):
        PgStore(DatabaseURL(pg_url))


def test_read_only_commands_leave_an_empty_database_alone(work: dict[str, Any], pg_url: str) -> None:
    r = cli(work, pg_url, "runs")
    assert r.exit_code == 1
    assert "holds no translate-pipe tables yet" in r.stderr and "Traceback" not in r.output
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('runs')").fetchone() == (None,)


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["db", "check"], "db check"),
        (["db", "backup", "x.db"], "db backup"),
        (["serve"], "serve"),
    ],
)
def test_commands_postgresql_does_not_support_say_so(work: dict[str, Any], args: list[str], command: str) -> None:
    r = cli(work, "postgresql://nobody:secret@127.0.0.1:9/none", *args)
    assert r.exit_code == 1, r.output
    line = r.stderr.strip()
    assert line == (
        f"translate-pipe: error: `{command}` needs a SQLite database (--db FILE); a PostgreSQL database "
        "(postgresql://nobody:***@127.0.0.1:9/none) works with every command but serve and db"
    )


def test_an_unreachable_server_is_one_line(work: dict[str, Any]) -> None:
    r = cli(work, "postgresql://nobody@127.0.0.1:9/none", "runs")
    assert r.exit_code == 1
    assert r.stderr.startswith("translate-pipe: error: cannot connect to postgresql://nobody@127.0.0.1:9/none: ")
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("outputs/t.db", Path("outputs/t.db")),
        ("postgresql://u@h:5432/d", DatabaseURL("postgresql://u@h:5432/d")),
        ("postgres://u@h/d", DatabaseURL("postgres://u@h/d")),
        ("postgresql.db", Path("postgresql.db")),
    ],
)
def test_db_is_a_file_or_a_url(value: str, expected: Path | DatabaseURL) -> None:
    assert database_target(value) == expected


def test_store_and_pgstore_fit_the_shared_interface() -> None:
    """The type checker proves it (api.open_shared_store returns either as SharedStore); here
    the methods of the protocol exist on both, their parameters beginning with the protocol's."""
    import inspect

    from translate_pipe.store import SharedStore

    names = [n for n, v in vars(SharedStore).items() if callable(v) and not n.startswith("_")]
    assert len(names) > 30
    for name in names:
        wanted = list(inspect.signature(getattr(SharedStore, name)).parameters)
        for cls in (Store, PgStore):
            assert list(inspect.signature(getattr(cls, name)).parameters)[: len(wanted)] == wanted, (cls, name)


def test_psycopg_is_imported_only_lazily_by_the_postgresql_store() -> None:
    """SQLite users need no driver: psycopg is imported inside pgstore's functions, nowhere else."""
    from .test_layers import MODULES, imports

    for module, path in MODULES.items():
        for target, top_level in imports(path):
            if target.split(".")[0] == "psycopg":
                assert module == "translate_pipe.pgstore" and not top_level, f"{module} imports {target}"
