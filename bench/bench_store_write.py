"""Stored segments per second through the store layer (``write_chunk``), SQLite and PostgreSQL.

    python -m bench.bench_store_write [--segments 20000] [--links 20] [--chunk 512] [--drivers 1 2]

Writes a run the way ``translate`` does (start, claim, register the document, then chunks of
``--chunk`` translated segments with ``--links`` word links and one term outcome each, one
transaction per chunk), into a SQLite file and into a PostgreSQL database on a server started
for the bench (Debian's postgresql, as tests/pgserver.py; fsync off, like the tests: the
figure is the store's own cost, not the disk's).  With ``--drivers 2``, two threads (one
connection each) write two runs of the same document at once into PostgreSQL.  No model.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from tests.pgserver import new_database, running_postgres, server_bin, server_version
from translate_pipe.pgstore import PgStore
from translate_pipe.records import Segment, SegmentTranslation, TermMatch, TermOutcome
from translate_pipe.store import DatabaseURL, SharedStore, Store


def items(n: int, links: int) -> tuple[str, list[SegmentTranslation]]:
    text = "".join(f"هذه الجملة رقم {i:07d} من النص.\n" for i in range(n))
    width = len(text) // n
    out = []
    for i in range(n):
        seg = Segment(i, i * width, (i + 1) * width - 1, text[i * width : (i + 1) * width - 1], i)
        term = TermOutcome(TermMatch("الجملة", "sentence", seg.start + 4, seg.start + 10, "الجملة", None), 4, 12,
                           "present", "model", "")
        out.append(SegmentTranslation(seg, f"This is sentence number {i:07d} of the text.",
                                      tuple((k, k + 1, k, k + 2) for k in range(links)), (term,), -0.5))
    return text, out


def write_run(store: SharedStore, text: str, translations: list[SegmentTranslation], chunk: int) -> None:
    with store.transaction():
        run_id = store.start_run(model_name="bench", model_version="1", model_checksum="c", source_lang="ar",
                                 target_lang="en", settings={})
        store.claim_run(run_id)
        [document_id] = store.register_run_documents(run_id, [(text, "ar", "bench.txt", None)])
    for start in range(0, len(translations), chunk):
        part = translations[start : start + chunk]
        store.write_chunk(run_id, [(document_id, st, ()) for st in part], done=start + len(part))
    store.finish_run(run_id, "completed")


def timed(label: str, n: int, runs: int, work: list[threading.Thread]) -> None:
    t0 = time.perf_counter()
    for t in work:
        t.start()
    for t in work:
        t.join()
    dt = time.perf_counter() - t0
    print(f"{label:<34} {n * runs:>8} segments in {dt:6.2f} s = {n * runs / dt:8.0f} segments/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20000)
    parser.add_argument("--links", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--drivers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    text, translations = items(args.segments, args.links)
    print(f"{args.segments} segments, {args.links} word links and 1 term outcome each, chunks of {args.chunk}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"

        def sqlite_run() -> None:
            with Store(db) as store:
                write_run(store, text, translations, args.chunk)

        timed("SQLite (WAL, one driver)", args.segments, 1, [threading.Thread(target=sqlite_run)])
    bindir = server_bin()
    print(server_version(bindir) if bindir else "PostgreSQL: not installed")
    with running_postgres() as server:
        for drivers in args.drivers:
            url = DatabaseURL(new_database(server))
            PgStore(url).close()  # the schema, not timed

            def pg_run(url: DatabaseURL = url) -> None:
                with PgStore(url) as store:
                    write_run(store, text, translations, args.chunk)

            timed(f"PostgreSQL ({drivers} driver{'s' if drivers > 1 else ''} at once)", args.segments, drivers,
                  [threading.Thread(target=pg_run) for _ in range(drivers)])


if __name__ == "__main__":
    main()
