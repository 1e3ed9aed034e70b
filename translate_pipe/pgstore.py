"""PostgreSQL storage (``--db postgresql://user@host:port/dbname``) for teams whose drivers and
reviewers share one database: the :class:`~translate_pipe.store.SharedStore` part of the store,
on psycopg 3 (the ``postgres`` extra; imported only when a PostgreSQL database is opened).

The schema is not written twice: :func:`postgres_schema` renders the SQLite schema that
``store.MIGRATIONS`` build (tables, constraints, foreign keys, indexes, browsing views) into
PostgreSQL: ``INTEGER PRIMARY KEY`` becomes an identity column, ``INTEGER`` ``BIGINT``, ``REAL``
``DOUBLE PRECISION``, and a table without an integer key gets an identity ``rowid`` column (so
"ORDER BY rowid", insertion order, means the same on both).  The schema version is
``store.SCHEMA_VERSION``, recorded in ``translate_pipe_schema``; a newer translate-pipe adds
the tables, columns, indexes and views it lacks (additive steps only), under an advisory lock
so that concurrent drivers apply it once.

Several drivers may write at once: ids come from identity columns, every "insert if new" is
``INSERT ... ON CONFLICT DO NOTHING`` (documents, segments, translations per (run, segment)),
a run's documents are registered one driver at a time (an advisory lock for that short
transaction) and segments written in a fixed order (by document and start), so two writers
never wait on each other in a cycle, and a glossary's new version is made under a row lock on
the glossary.  Every SQL statement of PostgreSQL lives here (the rest is in
:mod:`translate_pipe.store`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import GlossaryError, StoreError
from .records import (
    GlossaryInfo,
    RefSetInfo,
    RunDocument,
    RunInfo,
    SegmentTranslation,
    StoredTerm,
    StoredTranslation,
    Term,
    VersionInfo,
)
from .store import (
    _TERM_COLUMNS,
    _TRANSLATION_COLUMNS,
    SCHEMA_VERSION,
    ChunkRows,
    DatabaseURL,
    Store,
    _is_zombie,
    _now,
    _run_info,
    _stored_term,
    _page_translations,
    _stored_translation,
    text_sha256,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PgSchema", "PgStore", "postgres_schema"]

Row = dict[str, Any]
SCHEMA_TABLE = "translate_pipe_schema"
_LOCK_KEY = 0x7472_7069  # pg_advisory_xact_lock key of schema changes ("trpi")
_DOCUMENTS_LOCK = _LOCK_KEY + 1  # ... and of registering a run's documents
STALE_HEARTBEAT_SECONDS = Store.STALE_HEARTBEAT_SECONDS


# -- the schema, rendered from SQLite's ---------------------------------------------------------
@dataclass
class PgTable:
    name: str
    columns: dict[str, str]  # column name -> its PostgreSQL definition
    constraints: list[str]  # PRIMARY KEY / UNIQUE / CHECK clauses


@dataclass
class PgSchema:
    tables: list[PgTable] = field(default_factory=list)
    foreign_keys: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)  # (table, columns, ALTER ...)
    indexes: list[str] = field(default_factory=list)
    views: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE VIEW ...)

    def create_table(self, table: PgTable) -> str:
        body = [f"{_q(c)} {d}" for c, d in table.columns.items()] + table.constraints
        return f"CREATE TABLE {_q(table.name)} (\n    " + ",\n    ".join(body) + "\n)"


_REFERENCES = re.compile(
    r"\s+REFERENCES\s+\"?\w+\"?\s*\([^)]*\)(\s+ON\s+(DELETE|UPDATE)\s+(CASCADE|SET\s+NULL|SET\s+DEFAULT|RESTRICT|NO\s+ACTION))*",
    re.IGNORECASE,
)
_TYPES = {"REAL": "DOUBLE PRECISION", "FLOAT": "DOUBLE PRECISION", "TEXT": "TEXT", "BLOB": "BYTEA"}


def _q(name: str) -> str:
    return f'"{name}"'


def _unbracket(sql: str) -> str:
    """sqlite-utils quotes names as [name]; PostgreSQL as "name"."""
    return re.sub(r"\[(\w+)\]", r'"\1"', sql)


def _split_top(body: str) -> list[str]:
    """Split a CREATE TABLE body at its top-level commas."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(body):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return [p for p in parts if p]


def _column(item: str) -> tuple[str, str]:
    """(name, PostgreSQL definition) of a SQLite column definition.  Ids (``id``, ``*_id``,
    references) are BIGINT, an ``INTEGER PRIMARY KEY`` that references nothing an identity
    column; other integers stay INTEGER (so offsets fit PostgreSQL's substr in the views)."""
    match = re.match(r'\s*("[^"]+"|\w+)\s*(.*)$', item, re.DOTALL)
    if match is None:
        raise StoreError(f"cannot render the column definition {item!r} for PostgreSQL")
    name, rest = match.group(1).strip('"'), match.group(2)
    is_id = name == "id" or name.endswith("_id") or _REFERENCES.search(rest) is not None
    rest = _REFERENCES.sub("", rest).strip()
    type_match = re.match(r"(\w+)(.*)$", rest, re.DOTALL)
    if type_match is None or type_match.group(1).upper() in ("NOT", "PRIMARY", "DEFAULT", "UNIQUE", "CHECK"):
        return name, "TEXT " + rest if rest else "TEXT"  # no declared type: TEXT
    sql_type, tail = type_match.group(1).upper(), type_match.group(2)
    if sql_type in ("INTEGER", "INT"):
        if re.match(r"\s*PRIMARY\s+KEY\b", tail, re.IGNORECASE) and not _REFERENCES.search(match.group(2)):
            return name, "BIGINT GENERATED BY DEFAULT AS IDENTITY" + tail
        return name, ("BIGINT" if is_id else "INTEGER") + tail
    return name, _TYPES.get(sql_type, sql_type) + tail


def postgres_schema() -> PgSchema:
    """translate-pipe's schema at ``SCHEMA_VERSION`` in PostgreSQL, rendered from the SQLite
    one that ``store.MIGRATIONS`` build on an in-memory database."""
    schema = PgSchema()
    with Store(":memory:") as sqlite:
        conn = sqlite.conn
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ):
            body = _unbracket(sql)[sql.index("(") + 1 : sql.rindex(")")]
            table = PgTable(name, {}, [])
            for item in _split_top(body):
                head = item.split(None, 1)[0].upper()
                if head == "FOREIGN":
                    continue  # from foreign_key_list below
                if head in ("PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT"):
                    table.constraints.append(item)
                    continue
                column, definition = _column(item)
                table.columns[column] = definition
            if not any("GENERATED BY DEFAULT AS IDENTITY" in d for d in table.columns.values()):
                table.columns["rowid"] = "BIGINT GENERATED ALWAYS AS IDENTITY"  # insertion order
            schema.tables.append(table)
            keys: dict[int, list[tuple[str, str, str, str]]] = {}
            for fk in conn.execute(f"PRAGMA foreign_key_list({_q(name)})"):
                keys.setdefault(fk[0], []).append((fk[2], fk[3], fk[4], fk[6]))
            for parts in keys.values():
                other, on_delete = parts[0][0], parts[0][3]
                cols = ", ".join(_q(p[1]) for p in parts)
                refs = ", ".join(_q(p[2]) for p in parts)
                action = f" ON DELETE {on_delete}" if on_delete and on_delete != "NO ACTION" else ""
                schema.foreign_keys.append(
                    (name, tuple(p[1] for p in parts), f"ALTER TABLE {_q(name)} ADD FOREIGN KEY ({cols}) REFERENCES {_q(other)} ({refs}){action}")
                )
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        ):
            schema.indexes.append(re.sub(r"^CREATE INDEX (IF NOT EXISTS )?", "CREATE INDEX IF NOT EXISTS ", _unbracket(sql)))
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name"):
            schema.views.append((name, _unbracket(sql)))
    return schema


# -- the store ----------------------------------------------------------------------------------
class PgStore:
    """The :class:`~translate_pipe.store.SharedStore` on a PostgreSQL database.

    ``create``: make translate-pipe's tables if the database has none (commands that store
    something); otherwise such a database is an error (read-only commands change nothing)."""

    def __init__(self, db: DatabaseURL, *, create: bool = True) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise StoreError(
                "a postgresql:// database needs the psycopg driver: pip install 'translate-pipe[postgres]'"
            ) from exc
        self.url = db
        self.path = str(db)  # for messages, as Store.path
        self._error: type[Exception] = psycopg.Error
        self._depth = 0
        try:
            self.conn: psycopg.Connection[dict[str, Any]] = psycopg.connect(
                db.url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self.path}: {_first_line(exc)}") from None
        try:
            self._migrate(create)
        except BaseException:
            self.conn.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested calls join it (as :meth:`Store.transaction`)."""
        if self._depth:
            yield
            return
        self._depth += 1
        try:
            with self._errors(), self.conn.transaction():
                yield
        finally:
            self._depth -= 1

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's errors as StoreError (one line, with the database)."""
        try:
            yield
        except StoreError:
            raise
        except self._error as exc:
            raise StoreError(f"{self.path}: {_first_line(exc)}") from None

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        with self._errors():
            return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        with self._errors():
            return int(self.conn.execute(sql, params).rowcount)  # type: ignore[arg-type]

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._errors(), self.conn.cursor() as cur:
                cur.executemany(sql, rows)  # type: ignore[arg-type]

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk insert with COPY (the word links are the bulk of a run: tens per segment)."""
        if rows:
            names = ", ".join(_q(c) for c in columns)
            with self._errors(), self.conn.cursor() as cur, cur.copy(f"COPY {_q(table)} ({names}) FROM STDIN") as copy:  # type: ignore[arg-type]
                for row in rows:
                    copy.write_row(row)

    def _migrate(self, create: bool) -> None:
        """Make the schema, or add what a newer translate-pipe has (once: under an advisory lock)."""
        with self.transaction():
            self._execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            exists = self._value("SELECT to_regclass(%s) IS NOT NULL", (SCHEMA_TABLE,))
            current = int(self._value(f"SELECT coalesce(max(version), 0) FROM {SCHEMA_TABLE}") or 0) if exists else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"database {self.path} has schema version {current}, newer than this "
                    f"translate-pipe understands ({SCHEMA_VERSION}); upgrade translate-pipe"
                )
            if current == SCHEMA_VERSION:
                return
            schema = postgres_schema()
            have: dict[str, set[str]] = {
                r["table_name"]: set()
                for r in self._rows(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                    "AND table_type = 'BASE TABLE'"
                )
            }
            if not exists:
                if not create:
                    raise StoreError(
                        f"{self.path} holds no translate-pipe tables yet; nothing has been stored there "
                        "(translate or glossary import make them)"
                    )
                clash = sorted({t.name for t in schema.tables} & set(have))
                if clash:
                    raise StoreError(
                        f"{self.path} already has tables named like translate-pipe's ({', '.join(clash)}); "
                        "use another database or schema (options=-csearch_path=NAME in the URL)"
                    )
                self._execute(f"CREATE TABLE {SCHEMA_TABLE} (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
            for r in self._rows(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            ):
                if r["table_name"] in have:
                    have[r["table_name"]].add(r["column_name"])
            for view, _ in schema.views:
                self._execute(f"DROP VIEW IF EXISTS {_q(view)}")
            new_tables, new_columns = set(), set()
            for table in schema.tables:
                if table.name not in have:
                    self._execute(schema.create_table(table))
                    new_tables.add(table.name)
                    continue
                for column, definition in table.columns.items():  # additive steps of a newer schema
                    if column not in have[table.name]:
                        self._execute(f"ALTER TABLE {_q(table.name)} ADD COLUMN {_q(column)} {definition}")
                        new_columns.add((table.name, column))
            for table_name, columns, statement in schema.foreign_keys:
                if table_name in new_tables or any((table_name, c) in new_columns for c in columns):
                    self._execute(statement)
            for statement in schema.indexes + [sql for _, sql in schema.views]:
                self._execute(statement)
            self._execute(f"INSERT INTO {SCHEMA_TABLE} (version, applied_at) VALUES (%s, %s)", (SCHEMA_VERSION, _now()))

    # -- documents and segments -------------------------------------------------------------
    def add_document(self, text: str, source_lang: str, path: str | None) -> int:
        """The id of the document with this text, inserting it if new (safe against a
        concurrent insert of the same text)."""
        sha = text_sha256(text)
        rows = self._rows(
            "INSERT INTO documents (sha256, source_lang, path, text, created_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (sha256, source_lang) DO NOTHING RETURNING id",
            (sha, source_lang, path, text, _now()),
        )
        if rows:
            return int(rows[0]["id"])
        return int(self._value("SELECT id FROM documents WHERE sha256 = %s AND source_lang = %s", (sha, source_lang)))

    def document_text(self, document_id: int) -> str:
        rows = self._rows("SELECT text FROM documents WHERE id = %s", (document_id,))
        if not rows:
            raise StoreError(f"no document {document_id}")
        return str(rows[0]["text"])

    def add_segments(self, document_id: int, segments: Sequence[Any]) -> list[int]:
        """Ids of these segments of a document, inserting the new ones (one statement; in
        document order, so that concurrent writers lock the same rows in the same order)."""
        if not segments:
            return []
        rows = sorted({(s.start, s.end, s.paragraph, s.text) for s in segments})
        self._execute(
            'INSERT INTO segments (document_id, start, "end", paragraph, text) SELECT %s, * FROM '
            "unnest(%s::integer[], %s::integer[], %s::integer[], %s::text[]) "
            'ON CONFLICT (document_id, start, "end") DO NOTHING',
            (document_id, *(list(column) for column in zip(*rows))),
        )
        ids = {
            (r["start"], r["end"]): int(r["id"])
            for r in self._rows(
                'SELECT id, start, "end" FROM segments WHERE document_id = %s AND start BETWEEN %s AND %s',
                (document_id, min(s.start for s in segments), max(s.start for s in segments)),
            )
        }
        return [ids[(s.start, s.end)] for s in segments]

    # -- runs -------------------------------------------------------------------------------
    def start_run(
        self,
        *,
        model_name: str,
        model_version: str,
        model_checksum: str,
        source_lang: str,
        target_lang: str,
        settings: Row,
        glossary_id: int | None = None,
        glossary_version: int | None = None,
        kind: str = "translate",
        parent_run_id: int | None = None,
    ) -> int:
        rows = self._rows(
            "INSERT INTO runs (kind, parent_run_id, model_name, model_version, model_checksum, source_lang, "
            "target_lang, settings, glossary_id, glossary_version, started_at, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'running') RETURNING id",
            (
                kind, parent_run_id, model_name, model_version, model_checksum, source_lang, target_lang,
                json.dumps(settings, sort_keys=True), glossary_id, glossary_version, _now(),
            ),
        )
        return int(rows[0]["id"])

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        self._execute(
            "UPDATE runs SET status = %s, finished_at = %s, error = %s WHERE id = %s", (status, _now(), error, run_id)
        )

    def run(self, run_id: int) -> RunInfo:
        rows = self._rows("SELECT * FROM runs WHERE id = %s", (run_id,))
        if not rows:
            raise StoreError(f"no run {run_id} in the database; `translate-pipe runs` lists them")
        return self._live_status(_run_info(rows[0]))

    def runs(self) -> list[RunInfo]:
        return [self._live_status(_run_info(r)) for r in self._rows("SELECT * FROM runs ORDER BY id")]

    def run_documents(self, run_id: int) -> list[RunDocument]:
        return [
            RunDocument(r["document_id"], r["path"], r["output_path"])
            for r in self._rows(
                "SELECT document_id, path, output_path FROM run_documents WHERE run_id = %s ORDER BY position",
                (run_id,),
            )
        ]

    def run_counts(self, run_id: int) -> tuple[int, dict[str, int]]:
        segments = int(self._value("SELECT count(*) FROM translations WHERE run_id = %s", (run_id,)))
        outcomes = {
            r["status"]: int(r["n"])
            for r in self._rows(
                "SELECT a.status, count(*) AS n FROM term_alignments a JOIN translations t ON t.id = a.translation_id "
                "WHERE t.run_id = %s GROUP BY a.status ORDER BY a.status COLLATE \"C\"",
                (run_id,),
            )
        }
        return segments, outcomes

    def claim_run(self, run_id: int, reopen: bool = False) -> None:
        """As :meth:`Store.claim_run`; the run's row is locked while it is claimed."""
        with self.transaction():
            status = self._value("SELECT status FROM runs WHERE id = %s FOR UPDATE", (run_id,))
            claimed = self._value("SELECT count(*) FROM run_processes WHERE run_id = %s", (run_id,))
            if claimed and status == "running" and self.run(run_id).status == "running":
                raise StoreError(f"run {run_id} is still running (process {self._process(run_id)}); wait for it")
            self._execute(
                "INSERT INTO run_processes (run_id, pid, host, heartbeat_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (run_id) DO UPDATE SET pid = excluded.pid, host = excluded.host, "
                "heartbeat_at = excluded.heartbeat_at",
                (run_id, os.getpid(), socket.gethostname(), _now()),
            )
            if reopen:
                self._execute(
                    "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = %s", (run_id,)
                )

    def _process(self, run_id: int) -> str:
        rows = self._rows("SELECT pid, host FROM run_processes WHERE run_id = %s", (run_id,))
        return f"{rows[0]['pid']} on {rows[0]['host']}" if rows else "unknown"

    def _live_status(self, info: RunInfo) -> RunInfo:
        """As :meth:`Store._live_status`: a ``running`` run whose process is gone is ``interrupted``."""
        if info.status != "running":
            return info
        rows = self._rows("SELECT pid, host, heartbeat_at FROM run_processes WHERE run_id = %s", (info.id,))
        if not rows:
            return info
        r = rows[0]
        if r["host"] == socket.gethostname():
            try:
                os.kill(int(r["pid"]), 0)
                alive = not _is_zombie(int(r["pid"]))
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        else:
            age = _dt.datetime.now(_dt.timezone.utc) - _dt.datetime.fromisoformat(r["heartbeat_at"])
            alive = age.total_seconds() < STALE_HEARTBEAT_SECONDS
        return info if alive else replace(info, status="interrupted")

    def register_run_documents(
        self, run_id: int, docs: Sequence[tuple[str, str, str | None, str | None]]
    ) -> list[int]:
        """As :meth:`Store.register_run_documents`.  Registrations take turns (an advisory
        lock until commit), so two drivers registering the same texts in different orders
        never wait on each other in a cycle; ids follow the run's order, as in SQLite."""
        with self.transaction():
            self._execute("SELECT pg_advisory_xact_lock(%s)", (_DOCUMENTS_LOCK,))
            ids = [self.add_document(text, source_lang, path) for text, source_lang, path, _ in docs]
            self._many(
                "INSERT INTO run_documents (run_id, document_id, position, path, output_path) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id, position) DO NOTHING",
                [(run_id, i, position, d[2], d[3]) for position, (i, d) in enumerate(zip(ids, docs))],
            )
        return ids

    def write_chunk(
        self,
        run_id: int,
        items: Sequence[tuple[int, SegmentTranslation, Sequence[str]]],
        glossary_version: int | None = None,
        done: int | None = None,
    ) -> int:
        """As :meth:`Store.write_chunk`: one transaction, idempotent per (run, segment)."""
        with self.transaction():
            rows = ChunkRows(glossary_version)
            by_doc: dict[int, list[tuple[SegmentTranslation, Sequence[str]]]] = {}
            for document_id, st, alts in items:
                by_doc.setdefault(document_id, []).append((st, alts))
            stored = 0
            for document_id in sorted(by_doc):
                results = by_doc[document_id]
                segment_ids = self.add_segments(document_id, [st.segment for st, _ in results])
                columns = list(zip(*(
                    (segment_id, st.segment.index, st.target, st.score, int(st.truncated), st.origin, st.tm_unit_id)
                    for segment_id, (st, _) in zip(segment_ids, results)
                )))
                inserted = {
                    int(r["segment_id"]): int(r["id"])
                    for r in self._rows(
                        "INSERT INTO translations (run_id, segment_id, segment_index, target, score, truncated, origin, "
                        "tm_unit_id) SELECT %s, * FROM unnest(%s::bigint[], %s::integer[], %s::text[], "
                        "%s::double precision[], %s::integer[], %s::text[], %s::bigint[]) "
                        "ON CONFLICT (run_id, segment_id) DO NOTHING RETURNING id, segment_id",
                        (run_id, *(list(c) for c in columns)),
                    )
                }
                new_ids = [inserted.pop(segment_id, None) for segment_id in segment_ids]
                for translation_id, (st, alts) in zip(new_ids, results):
                    if translation_id is None:
                        continue  # already stored by this run
                    stored += 1
                    rows.add(translation_id, st, alts)
            self._copy("alignments", ("translation_id", "src_start", "src_end", "tgt_start", "tgt_end"), rows.links)
            self._copy(
                "term_alignments",
                ("translation_id", "term_id", "glossary_version", "source_term", "target_term", "src_start", "src_end",
                 "tgt_start", "tgt_end", "method", "status", "reason"),
                rows.terms,
            )
            self._copy("translation_extras", ("translation_id", "data"), rows.extras)
            self._execute(
                "UPDATE run_processes SET heartbeat_at = %s, done = coalesce(%s, done) WHERE run_id = %s",
                (_now(), done, run_id),
            )
        return stored

    def add_run_files(self, run_id: int, files: Mapping[int, tuple[bytes, str]]) -> None:
        """As Store.add_run_files (schema 6): the original bytes of a run's formatted documents
        (by position) and where each one's translation is written."""
        self._many(
            "INSERT INTO run_document_files (run_id, position, data, output_path) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run_id, position) DO NOTHING",
            [(run_id, position, data, output) for position, (data, output) in sorted(files.items())],
        )

    def run_files(self, run_id: int) -> dict[int, tuple[bytes, str]]:
        """:meth:`add_run_files`' files of a run: position -> (original bytes, output path)."""
        return {
            int(r["position"]): (bytes(r["data"]), str(r["output_path"]))
            for r in self._rows(
                "SELECT position, data, output_path FROM run_document_files WHERE run_id = %s ORDER BY position",
                (run_id,),
            )
        }

    def segments_done(self, run_id: int) -> int:
        return int(self._value("SELECT coalesce(max(done), 0) FROM run_processes WHERE run_id = %s", (run_id,)) or 0)

    # -- stored translations ----------------------------------------------------------------
    def translations(self, run_id: int, document_id: int | None = None) -> list[StoredTranslation]:
        sql = f"SELECT {_TRANSLATION_COLUMNS} FROM translations t JOIN segments s ON s.id = t.segment_id WHERE t.run_id = %s"
        params: list[Any] = [run_id]
        if document_id is not None:
            sql += " AND s.document_id = %s"
            params.append(document_id)
        return [_stored_translation(r) for r in self._rows(sql + " ORDER BY s.document_id, t.segment_index", params)]

    def alignment(self, translation_id: int) -> list[tuple[int, int, int, int]]:
        return [
            (r["src_start"], r["src_end"], r["tgt_start"], r["tgt_end"])
            for r in self._rows(
                "SELECT src_start, src_end, tgt_start, tgt_end FROM alignments WHERE translation_id = %s ORDER BY rowid",
                (translation_id,),
            )
        ]

    def term_alignments(self, translation_id: int) -> list[Row]:
        return self._rows(
            "SELECT term_id, glossary_version, source_term, target_term, src_start, src_end, "
            "tgt_start, tgt_end, method, status, reason FROM term_alignments WHERE translation_id = %s "
            "ORDER BY src_start, rowid",
            (translation_id,),
        )

    def translation_origins(self, run_id: int) -> dict[int, tuple[str, int | None]]:
        return {
            r["id"]: (r["origin"], r["tm_unit_id"])
            for r in self._rows("SELECT id, origin, tm_unit_id FROM translations WHERE run_id = %s", (run_id,))
        }

    def run_translation(
        self, run_id: int, document_id: int, segment_index: int, start: int | None = None
    ) -> tuple[SegmentTranslation, tuple[str, ...]]:
        """One stored translation of a run, by document and segment index (``start``, where
        the segment starts, when known)."""
        if start is None:
            start = self._value(
                "SELECT s.start FROM translations t JOIN segments s ON s.id = t.segment_id "
                "WHERE t.run_id = %s AND s.document_id = %s AND t.segment_index = %s",
                (run_id, document_id, segment_index),
            )
        found = None if start is None else next(self.iter_translations(run_id, document_id, 1, int(start) - 1), None)
        if found is not None and found[0].segment.index != segment_index:
            found = None
        if found is None:
            raise StoreError(f"run {run_id} has no translation of segment {segment_index} of document {document_id}")
        return found

    def iter_translations(
        self, run_id: int, document_id: int, page: int = 500, after: int = -1
    ) -> Iterator[tuple[SegmentTranslation, tuple[str, ...]]]:
        """As :meth:`Store.iter_translations`."""
        while True:
            rows = self._rows(
                f"SELECT {_TRANSLATION_COLUMNS}, t.score, t.origin, t.tm_unit_id FROM segments s JOIN translations t "
                "ON t.segment_id = s.id AND t.run_id = %s "
                "WHERE s.document_id = %s AND s.start > %s ORDER BY s.start LIMIT %s",
                (run_id, document_id, after, page),
            )
            if not rows:
                return
            ids = [int(r["translation_id"]) for r in rows]
            yield from _page_translations(
                rows,
                (
                    (a["translation_id"], a["src_start"], a["src_end"], a["tgt_start"], a["tgt_end"])
                    for a in self._rows(
                        "SELECT translation_id, src_start, src_end, tgt_start, tgt_end FROM alignments "
                        "WHERE translation_id = ANY(%s) ORDER BY rowid",
                        (ids,),
                    )
                ),
                self._rows(
                    "SELECT translation_id, term_id, source_term, target_term, src_start, src_end, tgt_start, tgt_end, "
                    "method, status, reason FROM term_alignments WHERE translation_id = ANY(%s) ORDER BY rowid",
                    (ids,),
                ),
                (
                    (a["translation_id"], a["data"])
                    for a in self._rows("SELECT translation_id, data FROM translation_extras WHERE translation_id = ANY(%s)", (ids,))
                ),
            )
            after = int(rows[-1]["start"])

    # -- glossaries -------------------------------------------------------------------------
    def _version(self, glossary_id: int) -> int:
        return int(
            self._value("SELECT coalesce(max(version), 0) FROM glossary_versions WHERE glossary_id = %s", (glossary_id,))
        )

    def glossary(self, name: str) -> GlossaryInfo:
        rows = self._rows("SELECT id, name, source_lang, target_lang FROM glossaries WHERE name = %s", (name,))
        if not rows:
            raise GlossaryError(
                f"no glossary named {name!r}; create it with `translate-pipe glossary import FILE "
                f"--name {name}` or `glossary add {name} SOURCE TARGET`"
            )
        r = rows[0]
        return GlossaryInfo(
            id=r["id"], name=r["name"], source_lang=r["source_lang"], target_lang=r["target_lang"],
            version=self._version(r["id"]),
        )

    def glossaries(self) -> list[GlossaryInfo]:
        return [self.glossary(r["name"]) for r in self._rows('SELECT name FROM glossaries ORDER BY name COLLATE "C"')]

    def ensure_glossary(self, name: str, source_lang: str, target_lang: str) -> GlossaryInfo:
        self._execute(
            "INSERT INTO glossaries (name, source_lang, target_lang, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            (name, source_lang, target_lang, _now()),
        )
        info = self.glossary(name)
        if (info.source_lang, info.target_lang) != (source_lang, target_lang):
            raise GlossaryError(
                f"glossary {name!r} is {info.source_lang}->{info.target_lang}, not {source_lang}->{target_lang}"
            )
        return info

    def glossary_terms(self, glossary_id: int, version: int | None = None) -> list[StoredTerm]:
        if version is None:
            version = self._version(glossary_id)
        rows = self._rows(
            f"SELECT {_TERM_COLUMNS} FROM glossary_terms g JOIN term_revisions r ON r.term_id = g.id "
            "WHERE g.glossary_id = %s AND r.version = (SELECT max(version) FROM term_revisions "
            "WHERE term_id = g.id AND version <= %s) ORDER BY g.source COLLATE \"C\", g.context COLLATE \"C\"",
            (glossary_id, version),
        )
        return [_stored_term(r) for r in rows]

    def apply_glossary_changes(
        self, glossary_id: int, terms: Iterable[Term], *, author: str, action: str, summary: str
    ) -> int | None:
        """As :meth:`Store.apply_glossary_changes`; the glossary's row is locked meanwhile, so
        two writers make two versions, one after the other."""
        with self.transaction():
            self._execute("SELECT id FROM glossaries WHERE id = %s FOR UPDATE", (glossary_id,))
            current = {(st.term.source, st.term.context): st for st in self.glossary_terms(glossary_id)}
            version = self._version(glossary_id) + 1
            changed = 0
            for term in terms:
                old = current.get((term.source, term.context))
                if old is not None and old.term == term:
                    continue
                if old is None:
                    term_id = int(
                        self._rows(
                            "INSERT INTO glossary_terms (glossary_id, source, context) VALUES (%s, %s, %s) RETURNING id",
                            (glossary_id, term.source, term.context),
                        )[0]["id"]
                    )
                else:
                    term_id = old.id
                self._execute(
                    "INSERT INTO term_revisions (term_id, version, target, variants, note, domain, status, "
                    "target_plural, source_plurals, blocked_in) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (term_id, version) DO UPDATE SET target = excluded.target, variants = excluded.variants, "
                    "note = excluded.note, domain = excluded.domain, status = excluded.status, "
                    "target_plural = excluded.target_plural, source_plurals = excluded.source_plurals, "
                    "blocked_in = excluded.blocked_in",
                    (
                        term_id, version, term.target, json.dumps(list(term.variants), ensure_ascii=False), term.note,
                        term.domain, term.status, term.target_plural,
                        json.dumps(list(term.source_plurals), ensure_ascii=False),
                        json.dumps(list(term.blocked_in), ensure_ascii=False),
                    ),
                )
                current[(term.source, term.context)] = StoredTerm(id=term_id, version=version, term=term)
                changed += 1
            if not changed:
                return None
            self._execute(
                "INSERT INTO glossary_versions (glossary_id, version, created_at, author, action, summary) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (glossary_id, version, _now(), author, action, summary),
            )
            return version

    def term_history(self, glossary_id: int, source: str, context: str = "") -> list[StoredTerm]:
        rows = self._rows(
            f"SELECT {_TERM_COLUMNS} FROM glossary_terms g JOIN term_revisions r ON r.term_id = g.id "
            "WHERE g.glossary_id = %s AND g.source = %s AND g.context = %s ORDER BY r.version",
            (glossary_id, source, context),
        )
        return [_stored_term(r) for r in rows]

    def glossary_log(self, glossary_id: int) -> list[VersionInfo]:
        return [
            VersionInfo(**r)
            for r in self._rows(
                "SELECT version, created_at, author, action, summary FROM glossary_versions "
                "WHERE glossary_id = %s ORDER BY version",
                (glossary_id,),
            )
        ]

    def term_changes(self, glossary_id: int, version: int) -> list[tuple[str, str]]:
        return [
            (r["source"], r["context"])
            for r in self._rows(
                "SELECT g.source, g.context FROM term_revisions r JOIN glossary_terms g ON g.id = r.term_id "
                "WHERE g.glossary_id = %s AND r.version = %s ORDER BY g.source COLLATE \"C\", g.context COLLATE \"C\"",
                (glossary_id, version),
            )
        ]

    def acknowledge(self, term_id: int, code: str, version: int, author: str) -> None:
        self._execute(
            "INSERT INTO lint_acks (term_id, code, version, author, created_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (term_id, code) DO UPDATE SET version = excluded.version, author = excluded.author, "
            "created_at = excluded.created_at",
            (term_id, code, version, author, _now()),
        )

    def acknowledgements(self, glossary_id: int) -> dict[tuple[str, str, str], int]:
        return {
            (r["source"], r["context"], r["code"]): int(r["version"])
            for r in self._rows(
                "SELECT g.source, g.context, a.code, a.version FROM lint_acks a "
                "JOIN glossary_terms g ON g.id = a.term_id WHERE g.glossary_id = %s",
                (glossary_id,),
            )
        }

    # -- caches read by a run -----------------------------------------------------------------
    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]:
        if not sources:
            return {}
        rows = self._rows(
            "SELECT source, renderings FROM term_renderings WHERE model = %s AND source = ANY(%s)",
            (model, list(sources)),
        )
        return {r["source"]: list(json.loads(r["renderings"])) for r in rows}

    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None:
        self._many(
            "INSERT INTO term_renderings (model, source, renderings) VALUES (%s, %s, %s) "
            "ON CONFLICT (model, source) DO UPDATE SET renderings = excluded.renderings",
            [(model, s, json.dumps(list(r), ensure_ascii=False)) for s, r in renderings.items()],
        )

    # -- retranslate: the latest translation of each segment made with a glossary ---------------
    def glossary_translations(self, glossary_id: int) -> list[tuple[StoredTranslation, int]]:
        """As :meth:`Store.glossary_translations`."""
        rows = self._rows(
            f"SELECT {_TRANSLATION_COLUMNS}, r.glossary_version FROM translations t "
            "JOIN segments s ON s.id = t.segment_id JOIN runs r ON r.id = t.run_id "
            "WHERE r.status = 'completed' AND r.glossary_id = %s AND t.id = ("
            "SELECT max(t2.id) FROM translations t2 JOIN runs r2 ON r2.id = t2.run_id "
            "WHERE t2.segment_id = t.segment_id AND r2.status = 'completed' AND r2.glossary_id = %s) "
            "ORDER BY s.document_id, s.start",
            (glossary_id, glossary_id),
        )
        return [(_stored_translation(r), int(r["glossary_version"] or 0)) for r in rows]

    def last_writer(self, output_path: str) -> int | None:
        """The latest completed run that wrote ``output_path``, if any."""
        value = self._value(
            "SELECT max(d.run_id) FROM run_documents d JOIN runs r ON r.id = d.run_id "
            "WHERE d.output_path = %s AND r.status = 'completed'",
            (output_path,),
        )
        return None if value is None else int(value)

    # -- references ---------------------------------------------------------------------------
    def add_refset(self, document_id: int, name: str, path: str | None, lines: Sequence[str]) -> bool:
        """As :meth:`Store.add_refset`: True when it replaced one of the same name (the stored
        scores of every run over that document are dropped then)."""
        with self.transaction():
            replaced = self._execute("DELETE FROM refsets WHERE document_id = %s AND name = %s", (document_id, name)) > 0
            if replaced:
                self._execute(
                    "DELETE FROM scores WHERE run_id IN (SELECT run_id FROM run_documents WHERE document_id = %s)",
                    (document_id,),
                )
            refset_id = int(
                self._rows(
                    "INSERT INTO refsets (document_id, name, path, created_at) VALUES (%s, %s, %s, %s) RETURNING id",
                    (document_id, name, path, _now()),
                )[0]["id"]
            )
            self._many(
                "INSERT INTO reference_lines (refset_id, line, text) VALUES (%s, %s, %s)",
                [(refset_id, i, line) for i, line in enumerate(lines)],
            )
        return replaced

    def refsets(self, document_id: int) -> list[tuple[str, list[str]]]:
        """(name, lines) of every reference set of a document, by name."""
        out: dict[str, list[str]] = {}
        for r in self._rows(
            "SELECT s.name, l.text FROM refsets s JOIN reference_lines l ON l.refset_id = s.id "
            'WHERE s.document_id = %s ORDER BY s.name COLLATE "C", l.line',
            (document_id,),
        ):
            out.setdefault(r["name"], []).append(r["text"])
        return list(out.items())

    def refset_list(self) -> list[RefSetInfo]:
        """Every reference set, by document and name."""
        return [
            RefSetInfo(**r)
            for r in self._rows(
                "SELECT s.document_id, d.path AS document_path, s.name, s.path, "
                "(SELECT count(*) FROM reference_lines l WHERE l.refset_id = s.id) AS lines, s.created_at "
                'FROM refsets s JOIN documents d ON d.id = s.document_id ORDER BY s.document_id, s.name COLLATE "C"'
            )
        ]

    # -- the review loop: imports of reviewed files, post-edits, translation memory, scores ------
    def review_imports(self, run_id: int) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, run_id, path, format, sha256, reviewer, imported_at, units, edited, hter, hter_signature "
            "FROM review_imports WHERE run_id = %s ORDER BY id",
            (run_id,),
        )

    def add_review_import(
        self,
        *,
        run_id: int,
        path: str,
        fmt: str,
        sha256: str,
        reviewer: str,
        units: int,
        post_edits: Sequence[dict[str, Any]],
        hter: float | None,
        hter_signature: str,
        tm_units: Sequence[dict[str, Any]],
    ) -> int:
        """As :meth:`Store.add_review_import`: one review file in ONE transaction."""
        now = _now()
        with self.transaction():
            import_id = int(
                self._rows(
                    "INSERT INTO review_imports (run_id, path, format, sha256, reviewer, imported_at, units, edited, "
                    "hter, hter_signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (run_id, path, fmt, sha256, reviewer, now, units, len(post_edits), hter, hter_signature),
                )[0]["id"]
            )
            ids = [
                int(
                    self._rows(
                        "INSERT INTO post_edits (translation_id, import_id, target, reviewer, state, approved, "
                        "created_at, hter, hter_signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                        (pe["translation_id"], import_id, pe["target"], reviewer, pe["state"], int(pe["approved"]),
                         now, pe["hter"], hter_signature),
                    )[0]["id"]
                )
                for pe in post_edits
            ]
            self.add_tm_units(
                [{**u, "post_edit_id": ids[u["post_edit"]], "author": reviewer, "origin": "review"} for u in tm_units]
            )
        return import_id

    def post_edits(self, run_id: int, latest: bool = True) -> list[dict[str, Any]]:
        """As :meth:`Store.post_edits`."""
        sql = (
            "SELECT p.id, p.translation_id, p.import_id, p.target, p.reviewer, p.state, p.approved, p.created_at, "
            "p.hter, p.hter_signature, t.target AS mt, t.segment_index, s.document_id, s.text AS source, "
            "s.start AS source_start FROM post_edits p JOIN translations t ON t.id = p.translation_id "
            "JOIN segments s ON s.id = t.segment_id WHERE t.run_id = %s"
        )
        if latest:
            sql += " AND p.id = (SELECT max(p2.id) FROM post_edits p2 WHERE p2.translation_id = p.translation_id)"
        return self._rows(sql + " ORDER BY s.document_id, t.segment_index, p.id", (run_id,))

    def glossary_post_edits(self, glossary_id: int) -> list[dict[str, Any]]:
        """As :meth:`Store.glossary_post_edits`: the latest post-edit of every translation made
        by a run with this glossary."""
        return self._rows(
            "SELECT p.id, p.translation_id, p.target, t.target AS mt, t.run_id, t.segment_index, "
            "s.document_id, s.start AS source_start, s.text AS source FROM post_edits p "
            "JOIN translations t ON t.id = p.translation_id JOIN segments s ON s.id = t.segment_id "
            "JOIN runs r ON r.id = t.run_id WHERE r.glossary_id = %s AND p.id = (SELECT max(p2.id) FROM "
            "post_edits p2 WHERE p2.translation_id = p.translation_id) ORDER BY p.id",
            (glossary_id,),
        )

    def add_tm_units(self, units: Sequence[dict[str, Any]]) -> int:
        """As :meth:`Store.add_tm_units`: same source and target, one unit (the newest kept)."""
        now = _now()
        with self.transaction():
            for u in units:
                self._execute(
                    "INSERT INTO tm_units (source_lang, target_lang, source, source_norm, target, origin, "
                    "post_edit_id, author, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (source_lang, target_lang, source, target) DO UPDATE SET "
                    "source_norm = excluded.source_norm, origin = excluded.origin, "
                    "post_edit_id = excluded.post_edit_id, author = excluded.author, created_at = excluded.created_at",
                    (u["source_lang"], u["target_lang"], u["source"], u["source_norm"], u["target"], u["origin"],
                     u.get("post_edit_id"), u.get("author", ""), u.get("created_at") or now),
                )
        return len(units)

    def save_scores(
        self, run_id: int, refset: str, level: str, rows: Sequence[tuple[str, float | None, str, Row]]
    ) -> None:
        """As :meth:`Store.save_scores` (a stored score is replaced)."""
        with self.transaction():
            for metric, value, signature, details in rows:
                self._execute(
                    "INSERT INTO scores (run_id, metric, value, signature, refset, level, details, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, metric, refset, level) DO UPDATE "
                    "SET value = excluded.value, signature = excluded.signature, "
                    "details = excluded.details, created_at = excluded.created_at",
                    (run_id, metric, value, signature, refset, level, json.dumps(details, ensure_ascii=False), _now()),
                )
            self._execute(
                "INSERT INTO score_references (score_id, refset_id) SELECT sc.id, rs.id FROM scores sc "
                "JOIN run_documents rd ON rd.run_id = sc.run_id JOIN refsets rs ON rs.document_id = rd.document_id "
                "WHERE sc.run_id = %s AND rs.name = ANY(%s) ON CONFLICT DO NOTHING",
                (run_id, refset.split("+")),
            )

    def scores(self, run_id: int, refset: str | None = None) -> list[Row]:
        """Stored scores of a run as rows (``details`` decoded)."""
        sql = "SELECT metric, value, signature, refset, level, details, created_at FROM scores WHERE run_id = %s"
        params: list[Any] = [run_id]
        if refset is not None:
            sql += " AND refset = %s"
            params.append(refset)
        rows = self._rows(sql + " ORDER BY id", params)
        for r in rows:
            r["details"] = json.loads(r["details"])
        return rows

    def tm_units(self, source_lang: str, target_lang: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, source, source_norm, target, origin, author, created_at FROM tm_units "
            "WHERE source_lang = %s AND target_lang = %s ORDER BY created_at COLLATE \"C\" DESC, id DESC",
            (source_lang, target_lang),
        )

    def tm_unit_pages(self, source_lang: str, target_lang: str, page: int) -> Iterator[list[tuple[Any, ...]]]:
        """As :meth:`Store.tm_unit_pages` (streamed from the server)."""
        from psycopg.rows import tuple_row

        batch: list[tuple[Any, ...]] = []
        with self._errors(), self.conn.cursor(row_factory=tuple_row) as cur:
            for row in cur.stream(
                "SELECT source_norm, id, source, target, origin, author, created_at FROM tm_units "
                'WHERE source_lang = %s AND target_lang = %s ORDER BY source_norm, created_at COLLATE "C" DESC, id DESC',
                (source_lang, target_lang),
            ):
                batch.append(row)
                if len(batch) >= page:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def tm_exact(self, source_lang: str, target_lang: str, source_norm: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, source, source_norm, target, origin, author, created_at FROM tm_units "
            "WHERE source_lang = %s AND target_lang = %s AND source_norm = %s ORDER BY created_at COLLATE \"C\" DESC, id DESC",
            (source_lang, target_lang, source_norm),
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
