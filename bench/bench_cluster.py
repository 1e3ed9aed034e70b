"""Issue 15: what a Ray cluster costs on one machine, and where SQLite's single writer stops.

    python -m bench.bench_cluster [--segments 120] [--actors 2] [--store-segments 50000]
    python -m bench.bench_cluster --store-only

1. **Local vs Ray-local throughput**, same machine, same segments, same model
   (``bench/make_bench_model.py``'s realistic random package: 6+6 layers, d512, int8; it
   never emits ``</s>``, so every segment decodes ``--max-length`` 48 tokens: the same work on
   every path), beam 4, ``--align predict``, storage included, through ``pipeline.translate``
   (what ``api.translate`` calls); wall time, and CPU time (this process, plus the actors'
   processes: less sensitive to a shared machine's load than wall time):

   * local, 1 thread, then Ray, 1 actor x 1 thread (the cluster's overhead);
   * local, ``--actors`` threads, then Ray, ``--actors`` actors x 1 thread (the same cores).

   A local Ray instance with ``--actors`` CPUs is started first (its start is timed apart;
   its own daemons' CPU is not counted); the runs alternate between local and Ray so that the load of a shared machine weighs on
   both alike.
   Each Ray run's wall time includes starting its actors (each loads the model once).

2. **SQLite single-writer inserts** through ``Store.write_chunk`` (what the driver does with
   every chunk that comes back): realistic rows (a ~25-word segment and translation, one word
   link per target word, a glossary term outcome on 30% of the segments), 512 segments per
   transaction, a file database in WAL mode.  Figure: segments/s.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.bench_translate import arabic_lines, build_package, install

ROOT = Path(__file__).resolve().parent.parent


# -- 1. local vs Ray-local --------------------------------------------------------------------
def one_run(tmp: Path, packages: Path, text_file: Path, label: str, threads: int, joined: Any, n: int) -> dict[str, Any]:
    """One run through ``pipeline.translate`` (as ``api.translate`` calls it), locally or on
    ``joined``; wall time, and CPU time of this process plus (Ray) the actors' processes."""
    from translate_pipe import api, cluster, pipeline
    from translate_pipe.files import InputDoc
    from translate_pipe.models import find_package
    from translate_pipe.records import DecodeOptions
    from translate_pipe.store import Store

    package = find_package(packages, "ar", "en")
    settings = pipeline.TranslateSettings(decode=DecodeOptions(max_length=48), intra_threads=threads)
    made: list[cluster.RayDecoder] = []

    def factory(engine: Any, s: Any, constrainer: Any) -> cluster.RayDecoder:
        made.append(cluster.RayDecoder(joined, engine, s, constrainer))
        return made[-1]

    start, cpu = time.perf_counter(), time.process_time()
    with Store(tmp / f"{label}.db") as store:
        pipeline.translate(
            store, lambda f, t: api.load_engine(package, threads=threads),
            [InputDoc(str(text_file), text_file.read_text(encoding="utf-8"))], from_code="ar", to_code="en",
            settings=settings, decoder=factory if joined is not None else None,
        )
    wall, driver_cpu = time.perf_counter() - start, time.process_time() - cpu
    actors_cpu = made[0].stats.actor_cpu if made else 0.0
    print(f"  {label}: {wall:.1f} s, CPU {driver_cpu:.1f} s here + {actors_cpu:.1f} s in actors", flush=True)
    return {"label": label, "wall": wall, "rate": n / wall, "cpu": driver_cpu, "actors": actors_cpu}


def bench_throughput(args: argparse.Namespace, tmp: Path) -> None:
    import ray

    from translate_pipe import cluster

    pkg = Path(args.package) if args.package else build_package(tmp)
    packages = tmp / "packages"
    install(pkg, packages)
    lines = arabic_lines(args.segments)
    text_file = tmp / "input.ar.txt"
    text_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    n = len(lines)
    print(f"{n} segments, 48 target tokens each, beam 4, align predict")

    start = time.perf_counter()
    temp = tempfile.mkdtemp(prefix="tp-ray-")
    ray.init(num_cpus=args.actors, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
             logging_level=logging.ERROR)
    print(f"ray.init (local instance, {args.actors} CPUs): {time.perf_counter() - start:.1f} s")
    results = []
    try:
        address = str(ray.get_runtime_context().gcs_address)
        # local and Ray runs interleaved, so that a shared machine's load drifts over both alike
        for n_cores in sorted({1, args.actors}):
            label = "local-1" if n_cores == 1 else f"local-{n_cores}threads"
            results.append(one_run(tmp, packages, text_file, label, n_cores, None, n))
            joined = cluster.connect(address, actors=n_cores, threads_per_actor=1)
            results.append(one_run(tmp, packages, text_file, f"ray-{n_cores}x1", 1, joined, n))
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    base = results[0]["wall"]
    print(f"{'run':<16} {'wall s':>8} {'seg/s':>7} {'x local-1':>9} {'CPU s driver+actors':>20}")
    for r in results:
        print(
            f"{r['label']:<16} {r['wall']:8.1f} {r['rate']:7.2f} {base / r['wall']:9.2f} "
            f"{r['cpu']:9.1f} + {r['actors']:8.1f}"
        )


# -- 2. SQLite single writer --------------------------------------------------------------------
def bench_store(args: argparse.Namespace, tmp: Path) -> None:
    from translate_pipe import api
    from translate_pipe.records import Segment, SegmentTranslation, TermMatch, TermOutcome
    from translate_pipe.store import Store

    rng = random.Random(7)
    words_ar = [w for line in arabic_lines(200) for w in line.split()]
    words_en = ["the", "minister", "said", "that", "talks", "on", "the", "ceasefire", "in", "the", "region", "will", "continue", "next", "week", "with"]
    db = tmp / "store.db"
    total, per_doc, chunk = args.store_segments, 5000, 512
    with Store(db) as store:
        api.glossary_import(store, "diplomatic", ROOT / "glossaries" / "diplomatic.csv", author="bench")
        info = store.glossary("diplomatic")
        terms = store.glossary_terms(info.id)
        store.ensure_ops_tables()
        run_id = store.start_run(
            model_name="bench", model_version="1", model_checksum="0" * 64, source_lang="ar", target_lang="en",
            settings={}, glossary_id=info.id, glossary_version=info.version,
        )
        store.claim_run(run_id)
        # documents and their segments (what the driver reads before decoding)
        docs: list[tuple[int, list[Segment]]] = []
        texts = []
        for d in range((total + per_doc - 1) // per_doc):
            segs, parts, pos = [], [], 0
            for i in range(min(per_doc, total - d * per_doc)):
                text = " ".join(rng.choice(words_ar) for _ in range(25)) + "."
                segs.append(Segment(i, pos, pos + len(text), text, i))
                parts.append(text)
                pos += len(text) + 1
            texts.append("\n".join(parts) + "\n")
            docs.append((0, segs))
        ids = store.register_run_documents(run_id, [(t, "ar", f"doc{d}.txt", None) for d, t in enumerate(texts)])
        items: list[tuple[int, SegmentTranslation, tuple[str, ...]]] = []
        links = terms_n = 0
        for document_id, (_, segs) in zip(ids, docs):
            for seg in segs:
                target_words = [rng.choice(words_en) for _ in range(28)]
                target = " ".join(target_words) + "."
                alignment, t = [], 0
                src_words = seg.text.split()
                s = seg.start
                src_spans = []
                for w in src_words:
                    src_spans.append((s, s + len(w)))
                    s += len(w) + 1
                for k, w in enumerate(target_words):
                    ss, se = src_spans[min(k, len(src_spans) - 1)]
                    alignment.append((ss, se, t, t + len(w)))
                    t += len(w) + 1
                outcomes: tuple[TermOutcome, ...] = ()
                if rng.random() < 0.3:
                    st = rng.choice(terms)
                    ss, se = src_spans[3]
                    match = TermMatch(st.term.source, st.term.target, ss, se, seg.text[ss - seg.start : se - seg.start], st.id)
                    outcomes = (TermOutcome(match, 10, 10 + len(st.term.target), "enforced", "rendering"),)
                links += len(alignment)
                terms_n += len(outcomes)
                items.append((document_id, SegmentTranslation(seg, target, tuple(alignment), outcomes, -0.5), ()))
        elapsed, cpu = write_all(store, run_id, items, info.version, chunk)
        stored = store.count("translations")
        # the same segments again as a second run without word links: what the links cost
        bare = [(d, replace(st, alignment=()), alts) for d, st, alts in items]
        run2 = store.start_run(
            model_name="bench", model_version="1", model_checksum="0" * 64, source_lang="ar", target_lang="en",
            settings={}, glossary_id=info.id, glossary_version=info.version,
        )
        store.claim_run(run2)
        store.register_run_documents(run2, [(t, "ar", f"doc{d}.txt", None) for d, t in enumerate(texts)])
        bare_elapsed, bare_cpu = write_all(store, run2, bare, info.version, chunk)
    size = db.stat().st_size + sum(p.stat().st_size for p in tmp.glob("store.db-*"))
    print(
        f"SQLite single writer, Store.write_chunk, {chunk} segments per transaction, WAL: {stored} segments "
        f"({links / stored:.0f} word links and {terms_n / stored:.2f} term outcomes per segment) in {elapsed:.2f} s "
        f"(CPU {cpu:.2f} s): {stored / elapsed:,.0f} segments/s ({stored / cpu:,.0f} per CPU second), "
        f"{links / elapsed:,.0f} links/s; database {size / 2**20:.0f} MiB"
    )
    print(
        f"  the same segments without word links (segments already stored): {len(bare) / bare_elapsed:,.0f} segments/s "
        f"({len(bare) / bare_cpu:,.0f} per CPU second)"
    )


def write_all(store: Any, run_id: int, items: list[Any], version: int, chunk: int) -> tuple[float, float]:
    """(wall, CPU) seconds to store ``items`` ``chunk`` at a time, as the driver does."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(items), chunk):
        store.write_chunk(run_id, items[i : i + chunk], version, done=min(i + chunk, len(items)))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", help="an .argosmodel (default: build the realistic random one)")
    parser.add_argument("--segments", type=int, default=120)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--store-segments", type=int, default=50_000)
    parser.add_argument("--store-only", action="store_true", help="only the SQLite figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as name:
        tmp = Path(name)
        bench_store(args, tmp)
        if not args.store_only:
            bench_throughput(args, tmp)


if __name__ == "__main__":
    main()
