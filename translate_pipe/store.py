"""SQLite storage: the schema, its migrations and every SQL statement of the project.

Built on sqlite-utils: reads are ``db.query`` (rows as dicts, turned into the records of
:mod:`translate_pipe.records` here, never positional tuples), writes are ``table.insert`` /
``insert_all`` / ``upsert``, single rows by primary key are ``table.get``.  The database is
injected: :class:`Store` takes a path, ``":memory:"`` or an open ``sqlite_utils.Database``,
so tests use an in-memory database.  :meth:`Store.open_existing` opens a database only if it
exists (read-only commands never create one).

Writes that belong together happen in one transaction (:meth:`Store.transaction`, which
sqlite-utils' own writes join as savepoints), so an interrupted run never leaves a
half-written document behind.

The whole schema is ``MIGRATIONS`` below, one entry per ``PRAGMA user_version``; a new table
is a new migration there.

Schema overview (see ``MIGRATIONS``)::

    documents        one row per distinct text (sha256 of the UTF-8 text + source language)
    segments         character spans of a document (unique per document/start/end)
    runs             one translation run: model, settings, times, status, glossary version
    run_documents    which documents a run translated, from which path, to which output
    translations     one target text per (run, segment)
    alignments       word links of a translation, as character spans on both sides
    term_alignments  which glossary term produced which target span, and how
    glossaries, glossary_versions, glossary_terms, term_revisions   versioned glossaries
    refsets, reference_lines   reference translations tied to documents (one row per line;
                     ``references_`` before schema 5)
    scores           stored metric values with their signatures
    score_references which reference sets a stored score used (schema 5)
    review_imports, post_edits, tm_units   the review loop and translation memory (schema 5)
    term_renderings  the constrainer's cache of the model's renderings of terms (schema 6)
    run_processes, translation_extras, run_document_files   resume and bookkeeping (schema 6)

Schema 5 also adds browsing views and an index on every foreign key; see ``docs/database.md``.

:class:`SharedStore` is what a ``translate`` run and the commands a team shares (runs, the
glossary, review export and import, TM export and import) need from a store; :class:`Store` (SQLite) and
:class:`translate_pipe.pgstore.PgStore` (PostgreSQL, ``--db postgresql://...``) both fit it.
:func:`open_shared` picks one by the database given: a path or a :class:`DatabaseURL`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
import datetime as _dt
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .errors import GlossaryError, StoreError
from .records import (
    GlossaryInfo,
    RefSetInfo,
    RunDocument,
    RunInfo,
    Segment,
    SegmentTranslation,
    StoredTerm,
    StoredTranslation,
    Term,
    TermMatch,
    TermOutcome,
    VersionInfo,
)

if TYPE_CHECKING:
    from types import ModuleType

    import sqlite_utils

    from .tm import Seen


def _sqlite_utils() -> ModuleType:
    """``sqlite_utils``, imported without numpy and pandas when nothing loaded them yet.

    sqlite-utils imports numpy (and pandas) at import time only to map their scalar types to
    column types; numpy alone was 60% of its import, and most of the start-up of a command
    such as ``glossary list``.  The store never hands numpy or pandas values to sqlite-utils
    (every value is turned into a Python one here), so while ``sqlite_utils.db`` is imported
    the two are made unimportable (``sys.modules[name] = None``), then restored: anything
    imported later (CTranslate2) gets numpy as usual.
    """
    import sys

    if "sqlite_utils.db" not in sys.modules:
        blocked = [name for name in ("numpy", "pandas") if name not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            import sqlite_utils.db  # noqa: F401
        finally:
            for name in blocked:
                if sys.modules.get(name, 0) is None:
                    del sys.modules[name]
    import sqlite_utils

    return sqlite_utils


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "DatabaseURL",
    "SharedStore",
    "GlossaryInfo",
    "RunDocument",
    "RunInfo",
    "SeenStore",
    "Store",
    "StoredTerm",
    "StoredTranslation",
    "VersionInfo",
    "database_target",
    "open_shared",
    "text_sha256",
]

Row = dict[str, Any]  # a row as sqlite-utils returns it

SCHEMA_VERSION = 6

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    source_lang TEXT NOT NULL,
    path TEXT,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (sha256, source_lang)
);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (document_id, start, "end")
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'translate',
    parent_run_id INTEGER REFERENCES runs(id),
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_checksum TEXT NOT NULL,
    source_lang TEXT NOT NULL,
    target_lang TEXT NOT NULL,
    settings TEXT NOT NULL,
    glossary_id INTEGER REFERENCES glossaries(id),
    glossary_version INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    error TEXT
);
CREATE TABLE run_documents (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    position INTEGER NOT NULL,
    path TEXT,
    output_path TEXT,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE translations (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(id),
    segment_index INTEGER NOT NULL,
    target TEXT NOT NULL,
    score REAL,
    UNIQUE (run_id, segment_id)
);
CREATE TABLE alignments (
    translation_id INTEGER NOT NULL REFERENCES translations(id) ON DELETE CASCADE,
    src_start INTEGER NOT NULL,
    src_end INTEGER NOT NULL,
    tgt_start INTEGER NOT NULL,
    tgt_end INTEGER NOT NULL
);
CREATE INDEX alignments_translation ON alignments(translation_id);
CREATE TABLE glossaries (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_lang TEXT NOT NULL,
    target_lang TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE glossary_versions (
    glossary_id INTEGER NOT NULL REFERENCES glossaries(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (glossary_id, version)
);
CREATE TABLE glossary_terms (
    id INTEGER PRIMARY KEY,
    glossary_id INTEGER NOT NULL REFERENCES glossaries(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    UNIQUE (glossary_id, source, context)
);
CREATE TABLE term_revisions (
    term_id INTEGER NOT NULL REFERENCES glossary_terms(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    target TEXT NOT NULL,
    variants TEXT NOT NULL,
    note TEXT NOT NULL,
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (term_id, version)
);
CREATE TABLE term_alignments (
    translation_id INTEGER NOT NULL REFERENCES translations(id) ON DELETE CASCADE,
    term_id INTEGER REFERENCES glossary_terms(id),
    glossary_version INTEGER,
    source_term TEXT NOT NULL,
    target_term TEXT NOT NULL,
    src_start INTEGER NOT NULL,
    src_end INTEGER NOT NULL,
    tgt_start INTEGER,
    tgt_end INTEGER,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('enforced', 'present', 'failed')),
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX term_alignments_translation ON term_alignments(translation_id);
CREATE TABLE refsets (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (document_id, name)
);
CREATE TABLE references_ (
    refset_id INTEGER NOT NULL REFERENCES refsets(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (refset_id, line)
);
CREATE TABLE scores (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    value REAL,
    signature TEXT NOT NULL,
    refset TEXT NOT NULL,
    level TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (run_id, metric, refset, level)
);
""",
    # 2: translations that reached the output length bound (--max-length) are marked;
    #    lint warnings acknowledged per term (valid while the term stays at that revision)
    2: """
ALTER TABLE translations ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;
CREATE TABLE lint_acks (
    term_id INTEGER NOT NULL REFERENCES glossary_terms(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (term_id, code)
);
""",
    # 3: a term placed without locating the model's own rendering is "inserted", not "enforced"
    3: """
CREATE TABLE term_alignments_v3 (
    translation_id INTEGER NOT NULL REFERENCES translations(id) ON DELETE CASCADE,
    term_id INTEGER REFERENCES glossary_terms(id),
    glossary_version INTEGER,
    source_term TEXT NOT NULL,
    target_term TEXT NOT NULL,
    src_start INTEGER NOT NULL,
    src_end INTEGER NOT NULL,
    tgt_start INTEGER,
    tgt_end INTEGER,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('enforced', 'present', 'inserted', 'failed')),
    reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO term_alignments_v3 SELECT * FROM term_alignments;
DROP TABLE term_alignments;
ALTER TABLE term_alignments_v3 RENAME TO term_alignments;
CREATE INDEX term_alignments_translation ON term_alignments(translation_id);
""",
    # 4: glossary number and blocking contexts (issue 9): defaults keep older revisions valid
    4: """
ALTER TABLE term_revisions ADD COLUMN target_plural TEXT NOT NULL DEFAULT '';
ALTER TABLE term_revisions ADD COLUMN source_plurals TEXT NOT NULL DEFAULT '[]';
ALTER TABLE term_revisions ADD COLUMN blocked_in TEXT NOT NULL DEFAULT '[]';
""",
}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


_PIECE = 1 << 20  # characters encoded at a time (a document may be tens of megabytes)


def text_sha256(text: str) -> str:
    """SHA-256 of the UTF-8 text, encoded a piece at a time (no second copy of the text)."""
    digest = hashlib.sha256()
    for i in range(0, len(text), _PIECE):
        digest.update(text[i : i + _PIECE].encode("utf-8"))
    return digest.hexdigest()


# -- the store interface shared by SQLite and PostgreSQL ------------------------------------------
@dataclass(frozen=True)
class DatabaseURL:
    """A PostgreSQL database, as given to ``--db``: ``postgresql://user[:password]@host:port/dbname``."""

    url: str

    def __str__(self) -> str:
        """The URL with its password hidden (it is printed in messages)."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def database_target(value: str | Path) -> Path | DatabaseURL:
    """``--db`` as given: a ``postgresql://`` URL, else a SQLite file path."""
    text = str(value)
    if text.startswith(POSTGRES_SCHEMES):
        return DatabaseURL(text)
    return Path(value)


class SharedStore(Protocol):
    """What ``translate`` (pipeline.translate/resume) and the commands a team shares (runs,
    glossary, review export and import, TM export and import) need from a store.  :class:`Store` and
    :class:`translate_pipe.pgstore.PgStore` fit it; the other commands take a :class:`Store`."""

    def close(self) -> None: ...
    def __enter__(self) -> SharedStore: ...
    def __exit__(self, *exc: object) -> None: ...
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    # runs
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
    ) -> int: ...
    def claim_run(self, run_id: int, reopen: bool = False) -> None: ...
    def register_run_documents(
        self, run_id: int, docs: Sequence[tuple[str, str, str | None, str | None]]
    ) -> list[int]: ...
    def add_run_files(self, run_id: int, files: Mapping[int, tuple[bytes, str]]) -> None: ...
    def run_files(self, run_id: int) -> dict[int, tuple[bytes, str]]: ...
    def write_chunk(
        self,
        run_id: int,
        items: Sequence[tuple[int, SegmentTranslation, Sequence[str]]],
        glossary_version: int | None = None,
        done: int | None = None,
    ) -> int: ...
    def segments_done(self, run_id: int) -> int: ...
    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None: ...
    def run(self, run_id: int) -> RunInfo: ...
    def runs(self) -> list[RunInfo]: ...
    def run_documents(self, run_id: int) -> list[RunDocument]: ...
    def run_counts(self, run_id: int) -> tuple[int, dict[str, int]]: ...
    def document_text(self, document_id: int) -> str: ...

    # stored translations
    def iter_translations(
        self, run_id: int, document_id: int, page: int = 500, after: int = -1
    ) -> Iterator[tuple[SegmentTranslation, tuple[str, ...]]]: ...
    def run_translation(
        self, run_id: int, document_id: int, segment_index: int, start: int | None = None
    ) -> tuple[SegmentTranslation, tuple[str, ...]]: ...
    def translations(self, run_id: int, document_id: int | None = None) -> list[StoredTranslation]: ...
    def alignment(self, translation_id: int) -> list[tuple[int, int, int, int]]: ...
    def term_alignments(self, translation_id: int) -> list[Row]: ...
    def translation_origins(self, run_id: int) -> dict[int, tuple[str, int | None]]: ...

    # glossaries
    def glossary(self, name: str) -> GlossaryInfo: ...
    def glossaries(self) -> list[GlossaryInfo]: ...
    def ensure_glossary(self, name: str, source_lang: str, target_lang: str) -> GlossaryInfo: ...
    def glossary_terms(self, glossary_id: int, version: int | None = None) -> list[StoredTerm]: ...
    def apply_glossary_changes(
        self, glossary_id: int, terms: Iterable[Term], *, author: str, action: str, summary: str
    ) -> int | None: ...
    def term_history(self, glossary_id: int, source: str, context: str = "") -> list[StoredTerm]: ...
    def glossary_log(self, glossary_id: int) -> list[VersionInfo]: ...
    def term_changes(self, glossary_id: int, version: int) -> list[tuple[str, str]]: ...
    def acknowledge(self, term_id: int, code: str, version: int, author: str) -> None: ...
    def acknowledgements(self, glossary_id: int) -> dict[tuple[str, str, str], int]: ...

    # caches read by a run: the model's renderings of terms, the translation memory
    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]: ...
    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None: ...
    def tm_units(self, source_lang: str, target_lang: str) -> list[dict[str, Any]]: ...
    def tm_exact(self, source_lang: str, target_lang: str, source_norm: str) -> list[dict[str, Any]]: ...
    def tm_unit_pages(self, source_lang: str, target_lang: str, page: int) -> Iterator[list[tuple[Any, ...]]]: ...

    # documents, references and retranslate
    def add_document(self, text: str, source_lang: str, path: str | None) -> int: ...
    def add_refset(self, document_id: int, name: str, path: str | None, lines: Sequence[str]) -> bool: ...
    def refsets(self, document_id: int) -> list[tuple[str, list[str]]]: ...
    def refset_list(self) -> list[RefSetInfo]: ...
    def glossary_translations(self, glossary_id: int) -> list[tuple[StoredTranslation, int]]: ...
    def last_writer(self, output_path: str) -> int | None: ...

    # the review loop: review import, tm import, glossary suggest
    def review_imports(self, run_id: int) -> list[dict[str, Any]]: ...
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
    ) -> int: ...
    def post_edits(self, run_id: int, latest: bool = True) -> list[dict[str, Any]]: ...
    def glossary_post_edits(self, glossary_id: int) -> list[dict[str, Any]]: ...
    def add_tm_units(self, units: Sequence[dict[str, Any]]) -> int: ...
    def save_scores(
        self, run_id: int, refset: str, level: str, rows: Sequence[tuple[str, float | None, str, Row]]
    ) -> None: ...
    def scores(self, run_id: int, refset: str | None = None) -> list[Row]: ...


def open_shared(db: Path | DatabaseURL, *, create: bool = True, init: bool = False, hint: str = "") -> SharedStore:
    """The store of ``db``: SQLite for a path (as :class:`Store` / :meth:`Store.open_existing`),
    PostgreSQL for a :class:`DatabaseURL` (psycopg is imported only then)."""
    if isinstance(db, DatabaseURL):
        from .pgstore import PgStore

        return PgStore(db, create=create)
    return Store(db, init=init) if create else Store.open_existing(db, hint, init=init)


class Store:
    """All database access.  ``Store(":memory:")`` or ``Store(sqlite_utils.Database(...))`` for tests."""

    def __init__(self, db: str | Path | sqlite_utils.Database, *, init: bool = False) -> None:
        """``init``: add our tables to a database that holds other tables (refused otherwise)."""
        sqlite_utils = _sqlite_utils()

        if isinstance(db, sqlite_utils.Database):
            self.db = db
            self.path = "(injected)"
        else:
            self.path = str(db)
            if self.path != ":memory:":
                parent = Path(self.path).parent
                try:
                    parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the database folder {parent}: {exc.strerror}") from exc
            try:
                self.db = sqlite_utils.Database(sqlite3.connect(self.path, isolation_level=None))
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        self.conn: sqlite3.Connection = self.db.conn
        try:
            # first: another process may be creating or migrating this database right now, and
            # every statement below (even the switch to WAL) must wait for it, not fail
            self.db.execute("PRAGMA busy_timeout = 5000")
            self._check_ours(init)
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.path not in (":memory:", "(injected)"):
                self._use_wal()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc

    def _use_wal(self, wait: float = 5.0) -> None:
        """Switch to WAL.  The switch needs the database to itself, and SQLite does not wait
        for that (no busy handler: the connection holds a read lock while asking), so while
        another process creates or migrates the database it is retried, for up to ``wait`` s."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @classmethod
    def open_existing(cls, path: str | Path, hint: str = "", *, init: bool = False) -> Store:
        """Open ``path`` only if it exists: read-only commands never create a database.

        The error says where it looked and how to point at another database (``hint``).
        """
        if str(path) != ":memory:" and not Path(path).is_file():
            where = f"{path} ({Path(path).resolve()})" if not Path(path).is_absolute() else str(path)
            raise StoreError(f"no database at {where}{'; ' + hint if hint else ''}")
        return cls(path, init=init)

    # -- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        current = self._value("PRAGMA user_version")
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this "
                f"translate-pipe understands ({SCHEMA_VERSION}); upgrade translate-pipe"
            )
        if current == SCHEMA_VERSION:
            return
        if current > 0:
            self.backup_before_migration(current)  # issue 14: a copy before the schema changes
        # Schema 5 rebuilds a table (SQLite's documented 12-step ALTER): foreign keys are off
        # while migrating, and checked before each step commits.  The browsing views and the
        # foreign-key indexes (BROWSING) are dropped before each step and made again after the
        # last one, so a step may rebuild any table they read.
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            for version in range(current + 1, SCHEMA_VERSION + 1):
                with self.transaction():
                    if self._value("PRAGMA user_version") >= version:
                        continue  # another process (started at the same time) made this step
                    for view in BROWSING_VIEWS:
                        self.conn.execute(f"DROP VIEW IF EXISTS {view}")
                    for statement in _split_sql(MIGRATIONS[version]):
                        self.conn.execute(statement)
                    if version == SCHEMA_VERSION and version >= REVIEW_SCHEMA:
                        for statement in _split_sql(BROWSING):
                            self.conn.execute(statement)
                    broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"cannot migrate {self.path} to schema {version}: {len(broken)} row(s) "
                            f"break a foreign key (first: table {broken[0][0]}, row {broken[0][1]}); "
                            "nothing was changed"
                        )
                    self.conn.execute(f"PRAGMA user_version = {version}")
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (nested calls join;
        sqlite-utils' own writes inside join as savepoints)."""
        if self.conn.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        else:
            self.db.execute("COMMIT")

    def _insert(self, table: str, record: Row) -> int:
        """Insert one row; returns its id."""
        pk = self.db.table(table).insert(record).last_pk
        if pk is None:
            raise StoreError(f"inserting into {table} returned no id")
        return int(pk)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.db.query(sql, params))

    def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        for row in self.db.query(sql, params):
            return next(iter(row.values()))
        return None

    def count(self, table: str) -> int:
        if table not in self.db.table_names():
            raise StoreError(f"no table {table}")
        return self.db[table].count

    # -- documents and segments -------------------------------------------------------------
    def add_document(self, text: str, source_lang: str, path: str | None) -> int:
        """Return the id of the document with this text, inserting it if new."""
        sha = text_sha256(text)
        found = self._value("SELECT id FROM documents WHERE sha256 = ? AND source_lang = ?", (sha, source_lang))
        if found is not None:
            return int(found)
        # Never the str itself as a parameter: Python would keep a UTF-8 copy inside it for as
        # long as the text lives (the whole run).  Where SQLite's incremental I/O is available
        # (Python 3.11), a text of the right length is made and written a piece at a time;
        # else the UTF-8 bytes are bound and stored as TEXT.
        blobopen = getattr(self.conn, "blobopen", None)
        with self.transaction():
            if blobopen is None:
                cursor = self.conn.execute(
                    "INSERT INTO documents (sha256, source_lang, path, text, created_at) "
                    "VALUES (?, ?, ?, CAST(? AS TEXT), ?)",
                    (sha, source_lang, path, text.encode("utf-8"), _now()),
                )
                return int(cursor.lastrowid or 0)
            size = sum(len(text[i : i + _PIECE].encode("utf-8")) for i in range(0, len(text), _PIECE))
            cursor = self.conn.execute(
                "INSERT INTO documents (sha256, source_lang, path, text, created_at) "
                "VALUES (?, ?, ?, CAST(zeroblob(?) AS TEXT), ?)",
                (sha, source_lang, path, size, _now()),
            )
            document_id = int(cursor.lastrowid or 0)
            with blobopen("documents", "text", document_id) as blob:
                for i in range(0, len(text), _PIECE):
                    blob.write(text[i : i + _PIECE].encode("utf-8"))
            return document_id

    def document_text(self, document_id: int) -> str:
        import sqlite_utils.db

        try:
            return str(self.db.table("documents").get(document_id)["text"])
        except sqlite_utils.db.NotFoundError:
            raise StoreError(f"no document {document_id}") from None

    def add_segments(self, document_id: int, segments: Sequence[Segment]) -> list[int]:
        """Ids of these segments of a document, inserting the new ones."""
        self.db.table("segments").insert_all(
            (
                {"document_id": document_id, "start": s.start, "end": s.end, "paragraph": s.paragraph, "text": s.text}
                for s in segments
            ),
            ignore=True,
        )
        if not segments:
            return []
        # only the span of these segments: a chunk of a long document reads its own rows
        ids = {
            (r["start"], r["end"]): int(r["id"])
            for r in self.db.query(
                'SELECT id, start, "end" FROM segments WHERE document_id = ? AND start BETWEEN ? AND ?',
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
        with self.transaction():
            return self._insert(
                "runs",
                {
                    "kind": kind,
                    "parent_run_id": parent_run_id,
                    "model_name": model_name,
                    "model_version": model_version,
                    "model_checksum": model_checksum,
                    "source_lang": source_lang,
                    "target_lang": target_lang,
                    "settings": json.dumps(settings, sort_keys=True),
                    "glossary_id": glossary_id,
                    "glossary_version": glossary_version,
                    "started_at": _now(),
                    "status": "running",
                },
            )

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        with self.transaction():
            self.db.table("runs").update(run_id, {"status": status, "finished_at": _now(), "error": error})

    def run(self, run_id: int) -> RunInfo:
        import sqlite_utils.db

        try:
            row = self.db.table("runs").get(run_id)
        except sqlite_utils.db.NotFoundError:
            raise StoreError(f"no run {run_id} in the database; `translate-pipe runs` lists them") from None
        return self._live_status(_run_info(row))

    def runs(self) -> list[RunInfo]:
        return [self._live_status(_run_info(r)) for r in self.db.query("SELECT * FROM runs ORDER BY id")]

    def write_document_result(
        self,
        *,
        run_id: int,
        position: int,
        text: str,
        source_lang: str,
        path: str | None,
        output_path: str | None,
        results: Sequence[SegmentTranslation],
        glossary_version: int | None = None,
    ) -> int:
        """Store one translated document in ONE transaction; returns the document id."""
        with self.transaction():
            document_id = self.add_document(text, source_lang, path)
            segment_ids = self.add_segments(document_id, [r.segment for r in results])
            self.db.table("run_documents").insert(
                {
                    "run_id": run_id,
                    "document_id": document_id,
                    "position": position,
                    "path": path,
                    "output_path": output_path,
                }
            )
            self.db.table("translations").insert_all(
                {
                    "run_id": run_id,
                    "segment_id": segment_id,
                    "segment_index": st.segment.index,
                    "target": st.target,
                    "score": st.score,
                    "truncated": int(st.truncated),
                    "origin": st.origin,  # schema 5: mt | tm | repeat
                    "tm_unit_id": st.tm_unit_id,
                }
                for segment_id, st in zip(segment_ids, results)
            )
            ids = {
                r["segment_id"]: r["id"]
                for r in self.db.query("SELECT id, segment_id FROM translations WHERE run_id = ?", (run_id,))
            }
            # The word links are the bulk of a run (tens per segment): they go through one
            # executemany, 2.5 x faster than insert_all with its per-value conversions (2000 segments x
            # 20 links each: 0.8 s vs 2.0 s on the CI machine; the old raw-SQL store took 0.75-1.1 s).
            links: list[tuple[int, int, int, int, int]] = []
            terms: list[tuple[object, ...]] = []
            for segment_id, st in zip(segment_ids, results):
                translation_id = int(ids[segment_id])
                links.extend((translation_id, *link) for link in st.alignment)
                terms.extend(
                    (
                        translation_id,
                        o.match.term_id,
                        glossary_version,
                        o.match.source,
                        o.match.target,
                        o.match.start,
                        o.match.end,
                        o.target_start,
                        o.target_end,
                        o.method,
                        o.status,
                        o.reason,
                    )
                    for o in st.terms
                )
            self.conn.executemany(
                "INSERT INTO alignments (translation_id, src_start, src_end, tgt_start, tgt_end) VALUES (?, ?, ?, ?, ?)",
                links,
            )
            self.conn.executemany(
                "INSERT INTO term_alignments (translation_id, term_id, glossary_version, source_term, target_term, "
                "src_start, src_end, tgt_start, tgt_end, method, status, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                terms,
            )
        return document_id

    def add_run_files(self, run_id: int, files: Mapping[int, tuple[bytes, str]]) -> None:
        """The original bytes of a run's formatted documents (by position in the run) and the
        file each one's translation is written to, stored before anything is translated, so
        that a resumed run writes them too (schema 6)."""
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO run_document_files (run_id, position, data, output_path) VALUES (?, ?, ?, ?)",
                [(run_id, position, data, output) for position, (data, output) in sorted(files.items())],
            )

    def run_files(self, run_id: int) -> dict[int, tuple[bytes, str]]:
        """:meth:`add_run_files`' files of a run: position -> (original bytes, output path)."""
        return {
            int(position): (bytes(data), str(output))
            for position, data, output in self.conn.execute(
                "SELECT position, data, output_path FROM run_document_files WHERE run_id = ? ORDER BY position",
                (run_id,),
            )
        }

    def run_documents(self, run_id: int) -> list[RunDocument]:
        """The documents of a run, in order."""
        return [
            RunDocument(r["document_id"], r["path"], r["output_path"])
            for r in self.db.query(
                "SELECT document_id, path, output_path FROM run_documents WHERE run_id = ? ORDER BY position",
                (run_id,),
            )
        ]

    def last_writer(self, output_path: str) -> int | None:
        """The latest completed run that wrote ``output_path``, if any."""
        value = self._value(
            "SELECT max(d.run_id) FROM run_documents d JOIN runs r ON r.id = d.run_id "
            "WHERE d.output_path = ? AND r.status = 'completed'",
            (output_path,),
        )
        return None if value is None else int(value)

    def run_counts(self, run_id: int) -> tuple[int, dict[str, int]]:
        """(number of translated segments, term outcomes by status) of a run."""
        segments = int(self._value("SELECT count(*) FROM translations WHERE run_id = ?", (run_id,)))
        outcomes = {
            r["status"]: int(r["n"])
            for r in self.db.query(
                "SELECT a.status, count(*) AS n FROM term_alignments a JOIN translations t ON t.id = a.translation_id "
                "WHERE t.run_id = ? GROUP BY a.status ORDER BY a.status",
                (run_id,),
            )
        }
        return segments, outcomes

    def translations(self, run_id: int, document_id: int | None = None) -> list[StoredTranslation]:
        sql = f"SELECT {_TRANSLATION_COLUMNS} FROM translations t JOIN segments s ON s.id = t.segment_id WHERE t.run_id = ?"
        params: list[Any] = [run_id]
        if document_id is not None:
            sql += " AND s.document_id = ?"
            params.append(document_id)
        sql += " ORDER BY s.document_id, t.segment_index"
        return [_stored_translation(r) for r in self.db.query(sql, params)]

    def alignment(self, translation_id: int) -> list[tuple[int, int, int, int]]:
        return [
            (r["src_start"], r["src_end"], r["tgt_start"], r["tgt_end"])
            for r in self.db.query(
                "SELECT src_start, src_end, tgt_start, tgt_end FROM alignments WHERE translation_id = ? ORDER BY rowid",
                (translation_id,),
            )
        ]

    def term_alignments(self, translation_id: int) -> list[Row]:
        """The stored term outcomes of a translation, as rows."""
        return self._rows(
            "SELECT term_id, glossary_version, source_term, target_term, src_start, src_end, "
            "tgt_start, tgt_end, method, status, reason FROM term_alignments WHERE translation_id = ? "
            "ORDER BY src_start",
            (translation_id,),
        )

    def glossary_translations(self, glossary_id: int) -> list[tuple[StoredTranslation, int]]:
        """For every segment translated with this glossary by a completed run, its latest
        translation and the glossary version that run used."""
        sql = (
            f"SELECT {_TRANSLATION_COLUMNS}, r.glossary_version FROM translations t "
            "JOIN segments s ON s.id = t.segment_id JOIN runs r ON r.id = t.run_id "
            "WHERE r.status = 'completed' AND r.glossary_id = ? AND t.id = ("
            "SELECT max(t2.id) FROM translations t2 JOIN runs r2 ON r2.id = t2.run_id "
            "WHERE t2.segment_id = t.segment_id AND r2.status = 'completed' AND r2.glossary_id = ?) "
            "ORDER BY s.document_id, s.start"
        )
        return [
            (_stored_translation(r), int(r["glossary_version"] or 0))
            for r in self.db.query(sql, (glossary_id, glossary_id))
        ]

    # -- glossaries -------------------------------------------------------------------------
    def _version(self, glossary_id: int) -> int:
        return int(
            self._value("SELECT coalesce(max(version), 0) FROM glossary_versions WHERE glossary_id = ?", (glossary_id,))
        )

    def glossary(self, name: str) -> GlossaryInfo:
        rows = self._rows("SELECT id, name, source_lang, target_lang FROM glossaries WHERE name = ?", (name,))
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
        return [self.glossary(r["name"]) for r in self.db.query("SELECT name FROM glossaries ORDER BY name")]

    def ensure_glossary(self, name: str, source_lang: str, target_lang: str) -> GlossaryInfo:
        rows = self._rows("SELECT source_lang, target_lang FROM glossaries WHERE name = ?", (name,))
        if not rows:
            self.db.table("glossaries").insert(
                {"name": name, "source_lang": source_lang, "target_lang": target_lang, "created_at": _now()}
            )
        elif (rows[0]["source_lang"], rows[0]["target_lang"]) != (source_lang, target_lang):
            raise GlossaryError(
                f"glossary {name!r} is {rows[0]['source_lang']}->{rows[0]['target_lang']}, "
                f"not {source_lang}->{target_lang}"
            )
        return self.glossary(name)

    def glossary_terms(self, glossary_id: int, version: int | None = None) -> list[StoredTerm]:
        """The terms of a glossary as they stood at ``version`` (default: current), deprecated included."""
        if version is None:
            version = self._version(glossary_id)
        rows = self.db.query(
            f"SELECT {_TERM_COLUMNS} FROM glossary_terms g JOIN term_revisions r ON r.term_id = g.id "
            "WHERE g.glossary_id = ? AND r.version = (SELECT max(version) FROM term_revisions "
            "WHERE term_id = g.id AND version <= ?) ORDER BY g.source, g.context",
            (glossary_id, version),
        )
        return [_stored_term(r) for r in rows]

    def apply_glossary_changes(
        self,
        glossary_id: int,
        terms: Iterable[Term],
        *,
        author: str,
        action: str,
        summary: str,
    ) -> int | None:
        """Write the given terms as a new version; unchanged terms are skipped.

        Returns the new version number, or None when nothing changed (no version is made).
        Runs in one transaction: all or nothing.
        """
        with self.transaction():
            current = {(st.term.source, st.term.context): st for st in self.glossary_terms(glossary_id)}
            version = self._version(glossary_id) + 1
            changed = 0
            for term in terms:
                old = current.get((term.source, term.context))
                if old is not None and old.term == term:
                    continue
                if old is None:
                    term_id = self._insert(
                        "glossary_terms", {"glossary_id": glossary_id, "source": term.source, "context": term.context}
                    )
                else:
                    term_id = old.id
                self.db.table("term_revisions").upsert(
                    {
                        "term_id": term_id,
                        "version": version,
                        "target": term.target,
                        "variants": json.dumps(list(term.variants), ensure_ascii=False),
                        "note": term.note,
                        "domain": term.domain,
                        "status": term.status,
                        # issue 9 (number, blocking contexts)
                        "target_plural": term.target_plural,
                        "source_plurals": json.dumps(list(term.source_plurals), ensure_ascii=False),
                        "blocked_in": json.dumps(list(term.blocked_in), ensure_ascii=False),
                    },
                    pk=("term_id", "version"),
                )
                current[(term.source, term.context)] = StoredTerm(id=term_id, version=version, term=term)
                changed += 1
            if not changed:
                return None
            self.db.table("glossary_versions").insert(
                {
                    "glossary_id": glossary_id,
                    "version": version,
                    "created_at": _now(),
                    "author": author,
                    "action": action,
                    "summary": summary,
                }
            )
            return version

    def term_history(self, glossary_id: int, source: str, context: str = "") -> list[StoredTerm]:
        """Every revision of one term, oldest first."""
        rows = self.db.query(
            f"SELECT {_TERM_COLUMNS} FROM glossary_terms g JOIN term_revisions r ON r.term_id = g.id "
            "WHERE g.glossary_id = ? AND g.source = ? AND g.context = ? ORDER BY r.version",
            (glossary_id, source, context),
        )
        return [_stored_term(r) for r in rows]

    def glossary_log(self, glossary_id: int) -> list[VersionInfo]:
        return [
            VersionInfo(**r)
            for r in self.db.query(
                "SELECT version, created_at, author, action, summary FROM glossary_versions "
                "WHERE glossary_id = ? ORDER BY version",
                (glossary_id,),
            )
        ]

    def term_changes(self, glossary_id: int, version: int) -> list[tuple[str, str]]:
        """(source, context) of the terms changed in exactly this version."""
        return [
            (r["source"], r["context"])
            for r in self.db.query(
                "SELECT g.source, g.context FROM term_revisions r JOIN glossary_terms g ON g.id = r.term_id "
                "WHERE g.glossary_id = ? AND r.version = ? ORDER BY g.source, g.context",
                (glossary_id, version),
            )
        ]

    def acknowledge(self, term_id: int, code: str, version: int, author: str) -> None:
        """Record that the warning ``code`` of a term is acknowledged at this revision."""
        with self.transaction():
            self.db.table("lint_acks").upsert(
                {"term_id": term_id, "code": code, "version": version, "author": author, "created_at": _now()},
                pk=("term_id", "code"),
            )

    def acknowledgements(self, glossary_id: int) -> dict[tuple[str, str, str], int]:
        """(source, context, code) -> the term revision the warning was acknowledged at."""
        return {
            (r["source"], r["context"], r["code"]): int(r["version"])
            for r in self.db.query(
                "SELECT g.source, g.context, a.code, a.version FROM lint_acks a "
                "JOIN glossary_terms g ON g.id = a.term_id WHERE g.glossary_id = ?",
                (glossary_id,),
            )
        }

    # -- references and scores --------------------------------------------------------------
    def add_refset(self, document_id: int, name: str, path: str | None, lines: Sequence[str]) -> bool:
        """Store a reference set; returns True when it replaced one of the same name.

        Replacing a reference drops the stored scores of every run over that document, so they
        are recomputed against the new reference.
        """
        with self.transaction():
            replaced = self.db.execute(
                "DELETE FROM refsets WHERE document_id = ? AND name = ?", (document_id, name)
            ).rowcount > 0
            if replaced:
                self.db.execute(
                    "DELETE FROM scores WHERE run_id IN (SELECT run_id FROM run_documents WHERE document_id = ?)",
                    (document_id,),
                )
            refset_id = self._insert(
                "refsets", {"document_id": document_id, "name": name, "path": path, "created_at": _now()}
            )
            self.db.table("reference_lines").insert_all(
                {"refset_id": refset_id, "line": i, "text": line} for i, line in enumerate(lines)
            )
        return replaced

    def refsets(self, document_id: int) -> list[tuple[str, list[str]]]:
        """(name, lines) of every reference set of a document, by name."""
        out: dict[str, list[str]] = {}
        for r in self.db.query(
            "SELECT s.name, l.text FROM refsets s JOIN reference_lines l ON l.refset_id = s.id "
            "WHERE s.document_id = ? ORDER BY s.name, l.line",
            (document_id,),
        ):
            out.setdefault(r["name"], []).append(r["text"])
        return list(out.items())

    def refset_list(self) -> list[RefSetInfo]:
        """Every reference set, by document and name."""
        return [
            RefSetInfo(**r)
            for r in self.db.query(
                "SELECT s.document_id, d.path AS document_path, s.name, s.path, "
                "(SELECT count(*) FROM reference_lines l WHERE l.refset_id = s.id) AS lines, s.created_at "
                "FROM refsets s JOIN documents d ON d.id = s.document_id ORDER BY s.document_id, s.name"
            )
        ]

    def save_scores(
        self, run_id: int, refset: str, level: str, rows: Sequence[tuple[str, float | None, str, Row]]
    ) -> None:
        with self.transaction():
            for metric, value, signature, details in rows:
                self.db.execute(
                    "INSERT INTO scores (run_id, metric, value, signature, refset, level, details, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, metric, refset, level) DO UPDATE "
                    "SET value = excluded.value, signature = excluded.signature, "
                    "details = excluded.details, created_at = excluded.created_at",
                    (run_id, metric, value, signature, refset, level, json.dumps(details, ensure_ascii=False), _now()),
                )
            self.link_score_refsets(run_id, refset.split("+"))  # schema 5: scores -> refsets

    def scores(self, run_id: int, refset: str | None = None) -> list[Row]:
        """Stored scores of a run as rows (``details`` decoded)."""
        sql = "SELECT metric, value, signature, refset, level, details, created_at FROM scores WHERE run_id = ?"
        params: list[Any] = [run_id]
        if refset is not None:
            sql += " AND refset = ?"
            params.append(refset)
        rows = self._rows(sql + " ORDER BY id", params)
        for r in rows:
            r["details"] = json.loads(r["details"])
        return rows

    # == review loop, translation memory, browsing (schema 5, issue 12) ======================
    # Everything below belongs to the review loop: post-edits with HTER, the translation memory,
    # translation origins ('mt' | 'tm' | 'repeat') and the links of scores to reference sets.
    def translation_origins(self, run_id: int) -> dict[int, tuple[str, int | None]]:
        """translation id -> (origin, tm unit id) for a run."""
        return {
            r["id"]: (r["origin"], r["tm_unit_id"])
            for r in self.db.query("SELECT id, origin, tm_unit_id FROM translations WHERE run_id = ?", [run_id])
        }

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
        """Store one review file in ONE transaction: the import, its post-edits (each dict has
        translation_id, target, state, approved, hter) and the translation-memory units of the
        approved ones (dicts with source_lang, target_lang, source, source_norm, target and the
        ``post_edit`` index into ``post_edits``)."""
        now = _now()
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO review_imports (run_id, path, format, sha256, reviewer, imported_at, units, edited, "
                "hter, hter_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, path, fmt, sha256, reviewer, now, units, len(post_edits), hter, hter_signature),
            )
            import_id = int(cur.lastrowid or 0)
            ids = []
            for pe in post_edits:
                cur = self.conn.execute(
                    "INSERT INTO post_edits (translation_id, import_id, target, reviewer, state, approved, "
                    "created_at, hter, hter_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (pe["translation_id"], import_id, pe["target"], reviewer, pe["state"], int(pe["approved"]),
                     now, pe["hter"], hter_signature),
                )
                ids.append(int(cur.lastrowid or 0))
            self.add_tm_units(
                [{**u, "post_edit_id": ids[u["post_edit"]], "author": reviewer, "origin": "review"} for u in tm_units]
            )
        return import_id

    def post_edits(self, run_id: int, latest: bool = True) -> list[dict[str, Any]]:
        """Post-edits of a run's translations (the latest per translation unless ``latest=False``)."""
        sql = (
            "SELECT p.id, p.translation_id, p.import_id, p.target, p.reviewer, p.state, p.approved, p.created_at, "
            "p.hter, p.hter_signature, t.target AS mt, t.segment_index, s.document_id, s.text AS source, "
            "s.start AS source_start FROM post_edits p JOIN translations t ON t.id = p.translation_id "
            "JOIN segments s ON s.id = t.segment_id WHERE t.run_id = ?"
        )
        if latest:
            sql += " AND p.id = (SELECT max(p2.id) FROM post_edits p2 WHERE p2.translation_id = p.translation_id)"
        return list(self.db.query(sql + " ORDER BY s.document_id, t.segment_index, p.id", [run_id]))

    def glossary_post_edits(self, glossary_id: int) -> list[dict[str, Any]]:
        """The latest post-edit of every translation made by a run with this glossary."""
        return list(
            self.db.query(
                "SELECT p.id, p.translation_id, p.target, t.target AS mt, t.run_id, t.segment_index, "
                "s.document_id, s.start AS source_start, s.text AS source FROM post_edits p "
                "JOIN translations t ON t.id = p.translation_id JOIN segments s ON s.id = t.segment_id "
                "JOIN runs r ON r.id = t.run_id WHERE r.glossary_id = ? AND p.id = (SELECT max(p2.id) FROM "
                "post_edits p2 WHERE p2.translation_id = p.translation_id) ORDER BY p.id",
                [glossary_id],
            )
        )

    def review_imports(self, run_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM review_imports WHERE run_id = ? ORDER BY id", [run_id]))

    def add_tm_units(self, units: Sequence[dict[str, Any]]) -> int:
        """Insert or refresh translation-memory units (same source and target: one unit, newest
        author/time/origin kept); returns how many were written."""
        now = _now()
        with self.transaction():
            for u in units:
                self.conn.execute(
                    "INSERT INTO tm_units (source_lang, target_lang, source, source_norm, target, origin, "
                    "post_edit_id, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (source_lang, target_lang, source, target) DO UPDATE SET "
                    "source_norm = excluded.source_norm, origin = excluded.origin, "
                    "post_edit_id = excluded.post_edit_id, author = excluded.author, created_at = excluded.created_at",
                    (u["source_lang"], u["target_lang"], u["source"], u["source_norm"], u["target"], u["origin"],
                     u.get("post_edit_id"), u.get("author", ""), u.get("created_at") or now),
                )
        return len(units)

    def tm_units(self, source_lang: str, target_lang: str) -> list[dict[str, Any]]:
        """Every unit of a language pair, newest first (the first one of a source wins)."""
        return list(
            self.db.query(
                "SELECT id, source, source_norm, target, origin, author, created_at FROM tm_units "
                "WHERE source_lang = ? AND target_lang = ? ORDER BY created_at DESC, id DESC",
                [source_lang, target_lang],
            )
        )

    def tm_unit_pages(self, source_lang: str, target_lang: str, page: int) -> Iterator[list[tuple[Any, ...]]]:
        """Every unit of a language pair as (source_norm, id, source, target, origin, author,
        created_at), by normalised source and newest first, ``page`` rows at a time."""
        rows = self.conn.execute(
            "SELECT source_norm, id, source, target, origin, author, created_at FROM tm_units "
            "WHERE source_lang = ? AND target_lang = ? ORDER BY source_norm, created_at DESC, id DESC",
            (source_lang, target_lang),
        )
        while batch := rows.fetchmany(page):
            yield batch

    def tm_exact(self, source_lang: str, target_lang: str, source_norm: str) -> list[dict[str, Any]]:
        """Units whose normalised source is ``source_norm``, newest first."""
        return list(
            self.db.query(
                "SELECT id, source, source_norm, target, origin, author, created_at FROM tm_units "
                "WHERE source_lang = ? AND target_lang = ? AND source_norm = ? ORDER BY created_at DESC, id DESC",
                [source_lang, target_lang, source_norm],
            )
        )

    def link_score_refsets(self, run_id: int, refset_names: Sequence[str]) -> None:
        """Tie a run's stored scores to the reference sets (by name, per document) they used."""
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO score_references (score_id, refset_id) SELECT sc.id, rs.id FROM scores sc "
                "JOIN run_documents rd ON rd.run_id = sc.run_id JOIN refsets rs ON rs.document_id = rd.document_id "
                f"WHERE sc.run_id = ? AND rs.name IN ({', '.join('?' for _ in refset_names)})",
                [run_id, *refset_names],
            )

    def view_names(self) -> list[str]:
        return sorted(self.db.view_names())

    # -- the model's own renderings of glossary terms (a cache for the constrainer) -----------
    # A cache, not a record (schema 6): its rows can be deleted at any time.
    RENDERINGS = "term_renderings"

    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]:
        """Cached n-best renderings of term sources by the model with this checksum."""
        if not sources:
            return {}
        marks = ", ".join("?" for _ in sources)
        rows = self._rows(
            f"SELECT source, renderings FROM {self.RENDERINGS} WHERE model = ? AND source IN ({marks})",
            [model, *sources],
        )
        return {r["source"]: list(json.loads(r["renderings"])) for r in rows}

    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None:
        with self.transaction():
            self.db.table(self.RENDERINGS).insert_all(
                (
                    {"model": model, "source": s, "renderings": json.dumps(list(r), ensure_ascii=False)}
                    for s, r in renderings.items()
                ),
                pk=("model", "source"),
                replace=True,
            )

    # -- operations (issue 14): chunked writes, resume, liveness, checks, backups -------------
    # run_processes and translation_extras: see schema 6 (OPS_SQL below)
    STALE_HEARTBEAT_SECONDS = 600  # a run on another host without a heartbeat this long is interrupted

    def claim_run(self, run_id: int, reopen: bool = False) -> None:
        """Record this process as the one running ``run_id`` (refused while another live
        process runs it); ``reopen``: mark the run ``running`` again (it is being resumed)."""
        import os
        import socket

        with self.transaction():
            claimed = self._value("SELECT count(*) FROM run_processes WHERE run_id = ?", (run_id,))
            if claimed and self.run(run_id).status == "running":
                raise StoreError(f"run {run_id} is still running (process {self._process(run_id)}); wait for it")
            self.db.execute(
                "INSERT INTO run_processes (run_id, pid, host, heartbeat_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET pid = excluded.pid, host = excluded.host, "
                "heartbeat_at = excluded.heartbeat_at",
                (run_id, os.getpid(), socket.gethostname(), _now()),
            )
            if reopen:
                self.db.table("runs").update(run_id, {"status": "running", "finished_at": None, "error": None})

    def _process(self, run_id: int) -> str:
        rows = self._rows("SELECT pid, host FROM run_processes WHERE run_id = ?", (run_id,))
        return f"{rows[0]['pid']} on {rows[0]['host']}" if rows else "unknown"

    def _live_status(self, info: RunInfo) -> RunInfo:
        """A ``running`` run whose process is gone (same host: no such pid; another host: no
        heartbeat for ``STALE_HEARTBEAT_SECONDS``) is shown as ``interrupted``."""
        import dataclasses
        import os
        import socket

        if info.status != "running":
            return info
        rows = self._rows("SELECT pid, host, heartbeat_at FROM run_processes WHERE run_id = ?", (info.id,))
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
            alive = age.total_seconds() < self.STALE_HEARTBEAT_SECONDS
        return info if alive else dataclasses.replace(info, status="interrupted")

    def register_run_documents(
        self, run_id: int, docs: Sequence[tuple[str, str, str | None, str | None]]
    ) -> list[int]:
        """Store the documents of a run before anything is translated: (text, source_lang,
        path, output_path) in run order.  Returns their ids; a resumed run finds them again."""
        with self.transaction():
            ids = []
            for position, (text, source_lang, path, output_path) in enumerate(docs):
                document_id = self.add_document(text, source_lang, path)
                self.db.execute(
                    "INSERT OR IGNORE INTO run_documents (run_id, document_id, position, path, output_path) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (run_id, document_id, position, path, output_path),
                )
                ids.append(document_id)
        return ids

    def write_chunk(
        self,
        run_id: int,
        items: Sequence[tuple[int, SegmentTranslation, Sequence[str]]],
        glossary_version: int | None = None,
        done: int | None = None,
    ) -> int:
        """Store translated segments of a run, (document id, translation, alternatives) each,
        in ONE transaction with the run's heartbeat and ``done``, the number of the run's
        segments processed so far (where a resumed run continues).  Idempotent per (run,
        segment): a segment the run already holds is skipped.  Returns the number stored."""
        with self.transaction():
            stored = 0
            rows = ChunkRows(glossary_version)
            by_doc: dict[int, list[tuple[SegmentTranslation, Sequence[str]]]] = {}
            for document_id, st, alts in items:
                by_doc.setdefault(document_id, []).append((st, alts))
            new: list[tuple[int, SegmentTranslation, Sequence[str]]] = []  # (segment id, ...) not stored yet
            for document_id, results in by_doc.items():
                segment_ids = self.add_segments(document_id, [st.segment for st, _ in results])
                have = self._run_translation_ids(run_id, segment_ids)
                for segment_id, (st, alts) in zip(segment_ids, results):
                    if segment_id not in have:  # already stored by this run: skipped
                        have[segment_id] = 0
                        new.append((segment_id, st, alts))
            # one statement for the chunk's translations, one query for their ids
            self.conn.executemany(
                "INSERT INTO translations (run_id, segment_id, segment_index, target, score, truncated, "
                "origin, tm_unit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, segment_id, st.segment.index, st.target, st.score, int(st.truncated), st.origin, st.tm_unit_id)
                    for segment_id, st, _ in new
                ],
            )
            ids = self._run_translation_ids(run_id, [segment_id for segment_id, _, _ in new])
            for segment_id, st, alts in new:
                translation_id = ids[segment_id]
                stored += 1
                rows.add(translation_id, st, alts)
            self.conn.executemany(
                "INSERT INTO alignments (translation_id, src_start, src_end, tgt_start, tgt_end) VALUES (?, ?, ?, ?, ?)",
                rows.links,
            )
            self.conn.executemany(
                "INSERT INTO term_alignments (translation_id, term_id, glossary_version, source_term, target_term, "
                "src_start, src_end, tgt_start, tgt_end, method, status, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows.terms,
            )
            if rows.extras:
                self.conn.executemany("INSERT INTO translation_extras (translation_id, data) VALUES (?, ?)", rows.extras)
            self.conn.execute(
                "UPDATE run_processes SET heartbeat_at = ?, done = coalesce(?, done) WHERE run_id = ?",
                (_now(), done, run_id),
            )
        return stored

    def _run_translation_ids(self, run_id: int, segment_ids: Sequence[int]) -> dict[int, int]:
        """segment id -> translation id of the run's translations of these segments (one range
        query over the segment ids, filtered)."""
        if not segment_ids:
            return {}
        wanted = set(segment_ids)
        rows = self.conn.execute(
            "SELECT segment_id, id FROM translations WHERE run_id = ? AND segment_id BETWEEN ? AND ?",
            (run_id, min(wanted), max(wanted)),
        )
        return {int(sid): int(tid) for sid, tid in rows if sid in wanted}

    def segments_done(self, run_id: int) -> int:
        """Segments of the run processed and committed (0 for a run never claimed)."""
        return int(self._value("SELECT coalesce(max(done), 0) FROM run_processes WHERE run_id = ?", (run_id,)) or 0)

    def run_translation(
        self, run_id: int, document_id: int, segment_index: int, start: int | None = None
    ) -> tuple[SegmentTranslation, tuple[str, ...]]:
        """One stored translation of a run, by document and segment index (``start``, where
        the segment starts, when known, finds it through the segments' index)."""
        if start is None:
            start = self._value(
                "SELECT s.start FROM translations t JOIN segments s ON s.id = t.segment_id "
                "WHERE t.run_id = ? AND s.document_id = ? AND t.segment_index = ?",
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
        """The stored translations of one document of a run, in document order (segments
        starting after character ``after``), with their word links, term outcomes and
        alternatives, read ``page`` segments at a time."""
        while True:
            rows = self._rows(
                # CROSS JOIN: walk the document's segments in order (their index), so that each
                # page costs its own rows, not the whole run
                f"SELECT {_TRANSLATION_COLUMNS}, t.score, t.origin, t.tm_unit_id FROM segments s CROSS JOIN translations t "
                "ON t.segment_id = s.id AND t.run_id = ? "
                "WHERE s.document_id = ? AND s.start > ? ORDER BY s.start LIMIT ?",
                (run_id, document_id, after, page),
            )
            if not rows:
                return
            ids = [int(r["translation_id"]) for r in rows]
            marks = ", ".join("?" for _ in ids)
            yield from _page_translations(
                rows,
                self.conn.execute(
                    f"SELECT translation_id, src_start, src_end, tgt_start, tgt_end FROM alignments "
                    f"WHERE translation_id IN ({marks}) ORDER BY rowid",
                    ids,
                ),
                self.db.query(
                    "SELECT translation_id, term_id, source_term, target_term, src_start, src_end, tgt_start, tgt_end, "
                    f"method, status, reason FROM term_alignments WHERE translation_id IN ({marks}) ORDER BY rowid",
                    ids,
                ),
                self.conn.execute(
                    f"SELECT translation_id, data FROM translation_extras WHERE translation_id IN ({marks})", ids
                ),
            )
            after = int(rows[-1]["start"])

    # -- operations (issue 14): foreign databases, backups, checks ------------------------------
    def _check_ours(self, init: bool) -> None:
        """Refuse a database that holds tables but is not a translate-pipe one (user_version 0)
        unless ``init``: we would add our tables to someone else's database."""
        if self._value("PRAGMA user_version") != 0:
            return
        tables = [
            r["name"]
            for r in self.db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        ]
        if not tables:
            return
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        if not init:
            raise StoreError(
                f"{self.path} is not a translate-pipe database (it holds other tables: {shown}); "
                "point --db at another file, or give --init to add translate-pipe's tables to it"
            )
        ours = {"documents", "segments", "runs", "translations", "glossaries", "scores", "refsets"}
        clash = sorted(ours & set(tables))
        if clash:
            raise StoreError(
                f"{self.path} already has tables named like translate-pipe's ({', '.join(clash)}); "
                "--init cannot add ours beside them: use another --db file"
            )

    def backup_before_migration(self, current: int) -> Path | None:
        """Copy the database (SQLite's online backup) to ``NAME.schema-N.bak`` next to it before
        its schema is changed; returns the copy's path (None for in-memory databases)."""
        if self.path in (":memory:", "(injected)"):
            return None
        target = Path(f"{self.path}.schema-{current}.bak")
        if target.exists():  # an earlier copy (or another process's) is kept
            target = Path(f"{self.path}.schema-{current}.{_now().replace(':', '')}.bak")
        self.backup(target)
        return target

    def backup(self, target: str | Path) -> None:
        """A consistent copy of the database at ``target`` (SQLite's online backup API; safe
        while other processes write).  ``target`` must not exist."""
        target = Path(target)
        if target.exists():
            raise StoreError(f"{target} exists; choose a new file for the backup")
        try:
            with contextlib.closing(sqlite3.connect(target)) as dest:
                self.conn.backup(dest)
        except sqlite3.Error as exc:
            with contextlib.suppress(OSError):
                target.unlink()
            raise StoreError(f"cannot back up {self.path} to {target}: {exc}") from exc

    def check(self) -> list[str]:
        """Problems found by ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``
        (empty when the database is sound)."""
        problems = [str(r[0]) for r in self.conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [
            f"{r[0]} row {r[1]}: no row in {r[2]} for foreign key {r[3]}"
            for r in self.conn.execute("PRAGMA foreign_key_check")
        ]
        return problems


_TERM_COLUMNS = (
    "g.id, g.source, g.context, r.version, r.target, r.variants, r.note, r.domain, r.status, "
    "r.target_plural, r.source_plurals, r.blocked_in"
)
_TRANSLATION_COLUMNS = (
    't.id AS translation_id, t.run_id, s.document_id, t.segment_index, s.start, s."end" AS "end", '
    "s.text, s.paragraph, t.target, t.truncated"
)


class SeenStore:
    """The texts a run has met (a :class:`translate_pipe.tm.SeenIndex`), by digest, in a
    private temporary database of its own (SQLite keeps it in a temporary file, with a
    bounded page cache), so planning the reuse of a run of any size takes bounded memory.
    Its own connection: usable from whichever thread iterates the run's chunks."""

    BATCH = 500  # digests per lookup (SQLite's bound on parameters is far higher)

    def __init__(self) -> None:
        self.conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self.conn.execute(
            "CREATE TABLE seen (digest BLOB PRIMARY KEY, doc INTEGER NOT NULL, idx INTEGER NOT NULL, "
            "start INTEGER NOT NULL, tm_unit_id INTEGER, tm_target TEXT) WITHOUT ROWID"
        )
        self.conn.execute(
            "CREATE TABLE memory (source_norm TEXT PRIMARY KEY, id INTEGER NOT NULL, source TEXT NOT NULL, "
            "target TEXT NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL, created_at TEXT NOT NULL)"
        )

    def copy_memory(self, store: SharedStore, source_lang: str, target_lang: str) -> None:
        """Copy the newest translation-memory unit of each normalised source of a language
        pair from ``store`` (read a page at a time), so that exact lookups during the run
        (:meth:`memory_exact`) need neither the store's connection nor memory."""
        self.conn.execute("BEGIN")
        for page in store.tm_unit_pages(source_lang, target_lang, self.BATCH):
            self.conn.executemany("INSERT OR IGNORE INTO memory VALUES (?, ?, ?, ?, ?, ?, ?)", page)  # newest first
        self.conn.execute("COMMIT")

    def memory_exact(self, source_norm: str) -> dict[str, Any] | None:
        """The copied unit (:meth:`copy_memory`) of a normalised source, or None."""
        row = self.conn.execute(
            "SELECT id, source, source_norm, target, origin, author, created_at FROM memory WHERE source_norm = ?",
            (source_norm,),
        ).fetchone()
        if row is None:
            return None
        return dict(zip(("id", "source", "source_norm", "target", "origin", "author", "created_at"), row))

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, Seen]:
        from .tm import Seen

        found: dict[bytes, Seen] = {}
        for i in range(0, len(digests), self.BATCH):
            part = digests[i : i + self.BATCH]
            marks = ", ".join("?" for _ in part)
            for digest, doc, idx, start, unit, target in self.conn.execute(
                f"SELECT digest, doc, idx, start, tm_unit_id, tm_target FROM seen WHERE digest IN ({marks})", part
            ):
                found[bytes(digest)] = Seen(doc, idx, start, unit, target)
        return found

    def add(self, entries: Sequence[tuple[bytes, Seen]]) -> None:
        self.conn.execute("BEGIN")
        self.conn.executemany(
            "INSERT OR IGNORE INTO seen (digest, doc, idx, start, tm_unit_id, tm_target) VALUES (?, ?, ?, ?, ?, ?)",
            [(d, e.doc, e.index, e.start, e.tm_unit_id, e.tm_target) for d, e in entries],
        )
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def _run_info(r: Row) -> RunInfo:
    return RunInfo(
        id=r["id"],
        kind=r["kind"],
        model_name=r["model_name"],
        model_version=r["model_version"],
        model_checksum=r["model_checksum"],
        source_lang=r["source_lang"],
        target_lang=r["target_lang"],
        settings=json.loads(r["settings"]),
        glossary_id=r["glossary_id"],
        glossary_version=r["glossary_version"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        status=r["status"],
        parent_run_id=r["parent_run_id"],
        error=r["error"],
    )


def _stored_term(r: Row) -> StoredTerm:
    """A row of ``_TERM_COLUMNS``."""
    return StoredTerm(
        id=r["id"],
        version=r["version"],
        term=Term(
            source=r["source"],
            context=r["context"],
            target=r["target"],
            variants=tuple(json.loads(r["variants"])),
            note=r["note"],
            domain=r["domain"],
            status=r["status"],
            target_plural=r["target_plural"],
            source_plurals=tuple(json.loads(r["source_plurals"])),
            blocked_in=tuple(json.loads(r["blocked_in"])),
        ),
    )


def _stored_translation(r: Row) -> StoredTranslation:
    """A row of ``_TRANSLATION_COLUMNS``."""
    return StoredTranslation(
        translation_id=r["translation_id"],
        run_id=r["run_id"],
        document_id=r["document_id"],
        segment=Segment(index=r["segment_index"], start=r["start"], end=r["end"], text=r["text"], paragraph=r["paragraph"]),
        target=r["target"],
        truncated=bool(r["truncated"]),
    )


def _page_translations(
    rows: Sequence[Row],
    links: Iterable[Sequence[Any]],
    outcomes: Iterable[Mapping[str, Any]],
    extras: Iterable[Sequence[Any]],
) -> Iterator[tuple[SegmentTranslation, tuple[str, ...]]]:
    """A page of stored translations (``rows``: ``_TRANSLATION_COLUMNS`` and score, origin,
    tm_unit_id), with their word links (translation_id, src_start, src_end, tgt_start,
    tgt_end), term outcomes (term_alignments rows) and extras (translation_id, JSON data);
    each store reads these in its own SQL dialect."""
    linked: dict[int, list[tuple[int, int, int, int]]] = {}
    for a in links:
        linked.setdefault(int(a[0]), []).append((a[1], a[2], a[3], a[4]))
    found: dict[int, list[TermOutcome]] = {}
    text_of = {int(r["translation_id"]): (int(r["start"]), str(r["text"])) for r in rows}
    for o in outcomes:
        start, text = text_of[o["translation_id"]]
        match = TermMatch(
            source=o["source_term"], target=o["target_term"], start=o["src_start"], end=o["src_end"],
            text=text[o["src_start"] - start : o["src_end"] - start], term_id=o["term_id"],
        )
        found.setdefault(int(o["translation_id"]), []).append(
            TermOutcome(match, o["tgt_start"], o["tgt_end"], o["status"], o["method"], o["reason"])
        )
    extra_of = {int(a[0]): json.loads(a[1]) for a in extras}
    for r in rows:
        tid = int(r["translation_id"])
        st = _stored_translation(r)
        extra = extra_of.get(tid, {})
        terms = tuple(found.get(tid, ()))
        if "forms" in extra:
            terms = tuple(
                replace(o, match=replace(o.match, number=f[0], target_form=f[1])) for o, f in zip(terms, extra["forms"])
            )
        yield (
            SegmentTranslation(
                segment=st.segment,
                target=st.target,
                alignment=tuple(linked.get(tid, ())),
                terms=terms,
                score=r["score"],
                truncated=st.truncated,
                origin=r["origin"],
                tm_unit_id=r["tm_unit_id"],
            ),
            tuple(extra.get("alternatives", ())),
        )


class ChunkRows:
    """The rows a chunk's new translations add besides their own (word links, term outcomes,
    extras: alternatives and number forms), built once for both stores."""

    def __init__(self, glossary_version: int | None) -> None:
        self.glossary_version = glossary_version
        self.links: list[tuple[int, int, int, int, int]] = []
        self.terms: list[tuple[object, ...]] = []
        self.extras: list[tuple[int, str]] = []

    def add(self, translation_id: int, st: SegmentTranslation, alts: Sequence[str]) -> None:
        self.links.extend((translation_id, *link) for link in st.alignment)
        self.terms.extend(
            (
                translation_id, o.match.term_id, self.glossary_version, o.match.source, o.match.target,
                o.match.start, o.match.end, o.target_start, o.target_end, o.method, o.status, o.reason,
            )
            for o in st.terms
        )
        forms = [[o.match.number, o.match.target_form] for o in st.terms]
        extra: dict[str, object] = {}
        if alts:
            extra["alternatives"] = list(alts)
        if any(f != ["singular", "approved"] for f in forms):
            extra["forms"] = forms
        if extra:
            self.extras.append((translation_id, json.dumps(extra, ensure_ascii=False)))


def _is_zombie(pid: int) -> bool:
    """A process that exited but was not reaped yet (its parent still holds it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# == schema 5 (issue 12): review loop, translation memory, browsable database ==================
# Additive, except two steps SQLite can only do by rebuilding: ``runs`` gets its glossary
# version declared as a foreign key (12-step rebuild, foreign keys off while migrating), and
# ``references_`` is renamed ``reference_lines``.  Documented in docs/database.md.
REVIEW_SCHEMA = 5  # the step that adds the review loop; BROWSING exists from it on
_REVIEW_SQL = """
CREATE TABLE runs_v2 (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'translate',
    parent_run_id INTEGER REFERENCES runs(id),
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_checksum TEXT NOT NULL,
    source_lang TEXT NOT NULL,
    target_lang TEXT NOT NULL,
    settings TEXT NOT NULL,
    glossary_id INTEGER REFERENCES glossaries(id),
    glossary_version INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    error TEXT,
    FOREIGN KEY (glossary_id, glossary_version) REFERENCES glossary_versions(glossary_id, version)
);
INSERT INTO runs_v2 (id, kind, parent_run_id, model_name, model_version, model_checksum, source_lang,
    target_lang, settings, glossary_id, glossary_version, started_at, finished_at, status, error)
    SELECT id, kind, parent_run_id, model_name, model_version, model_checksum, source_lang, target_lang,
    settings, glossary_id, glossary_version, started_at, finished_at, status, error FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs;
ALTER TABLE references_ RENAME TO reference_lines;
CREATE TABLE score_references (
    score_id INTEGER NOT NULL REFERENCES scores(id) ON DELETE CASCADE,
    refset_id INTEGER NOT NULL REFERENCES refsets(id) ON DELETE CASCADE,
    PRIMARY KEY (score_id, refset_id)
);
INSERT OR IGNORE INTO score_references (score_id, refset_id)
    SELECT sc.id, rs.id FROM scores sc JOIN run_documents rd ON rd.run_id = sc.run_id
    JOIN refsets rs ON rs.document_id = rd.document_id
    WHERE '+' || sc.refset || '+' LIKE '%+' || rs.name || '+%';
CREATE TABLE review_imports (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    units INTEGER NOT NULL,
    edited INTEGER NOT NULL,
    hter REAL,
    hter_signature TEXT NOT NULL
);
CREATE TABLE post_edits (
    id INTEGER PRIMARY KEY,
    translation_id INTEGER NOT NULL REFERENCES translations(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES review_imports(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    state TEXT NOT NULL,
    approved INTEGER NOT NULL CHECK (approved IN (0, 1)),
    created_at TEXT NOT NULL,
    hter REAL NOT NULL,
    hter_signature TEXT NOT NULL
);
CREATE TABLE tm_units (
    id INTEGER PRIMARY KEY,
    source_lang TEXT NOT NULL,
    target_lang TEXT NOT NULL,
    source TEXT NOT NULL,
    source_norm TEXT NOT NULL,
    target TEXT NOT NULL,
    origin TEXT NOT NULL,
    post_edit_id INTEGER REFERENCES post_edits(id) ON DELETE SET NULL,
    author TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (source_lang, target_lang, source, target)
);
ALTER TABLE translations ADD COLUMN origin TEXT NOT NULL DEFAULT 'mt' CHECK (origin IN ('mt', 'tm', 'repeat'));
ALTER TABLE translations ADD COLUMN tm_unit_id INTEGER REFERENCES tm_units(id) ON DELETE SET NULL;
"""

if MIGRATIONS.setdefault(REVIEW_SCHEMA, _REVIEW_SQL) is not _REVIEW_SQL:  # a merge gave two steps one number
    raise StoreError(f"schema step {REVIEW_SCHEMA} is defined twice; renumber the review loop's step (store.py)")

# == schema 6 (issue 14): operations ===========================================================
# Tables that earlier versions made on first use (so a database may already hold them, hence
# IF NOT EXISTS; their columns are the same), and the original files of formatted documents.
#   term_renderings      the model's own renderings of glossary terms (the constrainer's cache)
#   run_processes        the process (pid, host) running a run, its heartbeat and segments done
#   translation_extras   what translations/term_alignments have no column for: the other
#                        hypotheses (--n-best) and each term's number and target form (JSON)
#   run_document_files   a run's formatted documents (.docx, .odt, .html, ...) as read, and where
#                        each translation is written: a resumed run writes them again
OPS_SCHEMA = 6
_OPS_SQL = """
CREATE TABLE IF NOT EXISTS term_renderings (
    model TEXT,
    source TEXT,
    renderings TEXT,
    PRIMARY KEY (model, source)
);
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
CREATE TABLE run_document_files (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    data BLOB NOT NULL,
    output_path TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
"""

if MIGRATIONS.setdefault(OPS_SCHEMA, _OPS_SQL) is not _OPS_SQL:  # a merge gave two steps one number
    raise StoreError(f"schema step {OPS_SCHEMA} is defined twice; renumber the operations step (store.py)")

# Indexes on every foreign key and the views people browse (docs/database.md): made after
# the last migration step (see Store._migrate), so later steps may rebuild the tables.
BROWSING_VIEWS = ("translations_with_source", "current_glossary", "term_applications", "post_edits_with_hter")
BROWSING = """
CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_run_id);
CREATE INDEX IF NOT EXISTS runs_glossary_version ON runs(glossary_id, glossary_version);
CREATE INDEX IF NOT EXISTS run_documents_document ON run_documents(document_id);
CREATE INDEX IF NOT EXISTS translations_segment ON translations(segment_id);
CREATE INDEX IF NOT EXISTS translations_tm_unit ON translations(tm_unit_id);
CREATE INDEX IF NOT EXISTS term_alignments_term ON term_alignments(term_id);
CREATE INDEX IF NOT EXISTS score_references_refset ON score_references(refset_id);
CREATE INDEX IF NOT EXISTS review_imports_run ON review_imports(run_id);
CREATE INDEX IF NOT EXISTS post_edits_translation ON post_edits(translation_id);
CREATE INDEX IF NOT EXISTS post_edits_import ON post_edits(import_id);
CREATE INDEX IF NOT EXISTS tm_units_lookup ON tm_units(source_lang, target_lang, source_norm);
CREATE INDEX IF NOT EXISTS tm_units_post_edit ON tm_units(post_edit_id);
CREATE VIEW translations_with_source AS
    SELECT t.id AS translation_id, t.run_id, r.status AS run_status, r.started_at AS run_started_at,
        s.document_id, d.path AS document_path, t.segment_index, s.paragraph, s.start AS source_start,
        s."end" AS source_end, s.text AS source, t.target, t.origin, t.tm_unit_id, t.truncated,
        t.score AS model_score
    FROM translations t JOIN segments s ON s.id = t.segment_id JOIN documents d ON d.id = s.document_id
    JOIN runs r ON r.id = t.run_id;
CREATE VIEW current_glossary AS
    SELECT g.name AS glossary, gt.id AS term_id, gt.source, gt.context, tr.target, tr.variants, tr.note,
        tr.domain, tr.status, tr.version AS changed_in_version,
        (SELECT max(v.version) FROM glossary_versions v WHERE v.glossary_id = g.id) AS glossary_version
    FROM glossary_terms gt JOIN glossaries g ON g.id = gt.glossary_id
    JOIN term_revisions tr ON tr.term_id = gt.id
    WHERE tr.version = (SELECT max(version) FROM term_revisions WHERE term_id = gt.id);
CREATE VIEW term_applications AS
    SELECT ta.rowid AS id, t.run_id, ta.translation_id, s.document_id, d.path AS document_path,
        t.segment_index, ta.term_id, ta.glossary_version, ta.source_term, ta.target_term AS approved_target,
        substr(d.text, ta.src_start + 1, ta.src_end - ta.src_start) AS source_text,
        CASE WHEN ta.tgt_start IS NULL THEN NULL
            ELSE substr(t.target, ta.tgt_start + 1, ta.tgt_end - ta.tgt_start) END AS target_text,
        ta.status, ta.method, ta.reason, t.target AS translation
    FROM term_alignments ta JOIN translations t ON t.id = ta.translation_id
    JOIN segments s ON s.id = t.segment_id JOIN documents d ON d.id = s.document_id;
CREATE VIEW post_edits_with_hter AS
    SELECT p.id AS post_edit_id, t.run_id, p.translation_id, s.document_id, d.path AS document_path,
        t.segment_index, s.text AS source, t.target AS mt, p.target AS post_edit, p.hter, p.hter_signature,
        p.reviewer, p.state, p.approved, p.created_at, p.import_id, ri.path AS review_file
    FROM post_edits p JOIN translations t ON t.id = p.translation_id JOIN segments s ON s.id = t.segment_id
    JOIN documents d ON d.id = s.document_id JOIN review_imports ri ON ri.id = p.import_id
"""
