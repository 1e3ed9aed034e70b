"""Peak memory of ``translate`` as the input grows (issue 14: it must stay flat).

    python -m bench.bench_memory [--sizes 2k,20k,200k,50MB,10MB-line] [--chunk-segments 512]
                                 [--beam-size 1] [--package PKG]

Each size is a fresh ``python -m translate_pipe translate`` child process on a generated file
of Arabic sentences (``2k`` = 2,000 lines, ``50MB`` = lines up to 50 MB; ``10MB-line`` = one
line of 10 MB, the words of the same sentences without punctuation); its peak RSS is read
from ``os.wait4`` (the child's own ``ru_maxrss``).  The model is the tiny memorising package
of the tests (built once, cached under ``$TRANSLATE_PIPE_FIXTURE_CACHE``), so the figures are
the pipeline's memory -- reading, segmentation, reuse planning, chunks, storage, output -- and
not a large model's; alignment is ``--align attention`` and the beam 1 (``--beam-size``) to
keep the long runs short.  The sentences are the tiny model's three, so most segments are
repeats of an earlier one (copied from the store, not decoded): the decoding of a real model
is not what these figures measure.

Prints one line per size: lines, MB, segments, seconds, peak RSS in MiB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_input(path: Path, size: str) -> int:
    """Write the input for ``size``; returns its number of lines."""
    from tests.tinymodel import TINY_PAIRS

    sentences = [ar for ar, _ in TINY_PAIRS]
    n = 0
    if size.upper().endswith("MB-LINE"):
        import re

        words = [w for s in sentences for w in re.sub(r"[^\w\s]", " ", s).split()]
        limit = int(size[:-7]) * 1_000_000
        written = 0
        with path.open("w", encoding="utf-8") as out:
            while written < limit:
                word = words[n % len(words)] + " "
                out.write(word)
                written += len(word.encode("utf-8"))
                n += 1
            out.write("\n")
        return 1
    if size.upper().endswith("MB"):
        limit, lines = int(size[:-2]) * 1_000_000, None
    else:
        limit, lines = None, int(size.lower().replace("k", "000"))
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while (lines is None or n < lines) and (limit is None or written < limit):
            line = f"{sentences[n % len(sentences)]}\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return n


def measure(package_dir: Path, db: Path, path: Path, chunk: int, beam: int) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one translate child process."""
    cmd = [
        sys.executable, "-m", "translate_pipe", "--db", str(db), "--packages-dir", str(package_dir),
        "translate", str(path), "-o", str(path.parent / "out"), "--align", "attention",
        "--chunk-segments", str(chunk), "--beam-size", str(beam), "--max-input-size", "1G",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"translate failed: {proc.stderr.read().decode() if proc.stderr else status}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2k,20k,200k,50MB")
    parser.add_argument("--chunk-segments", type=int, default=512)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--package", type=Path, help="an .argosmodel [default: the tests' tiny package]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp_name:
        tmp = Path(tmp_name)
        package = args.package
        if package is None:
            from tests.tinymodel import TINY_PAIRS, build_package

            package = build_package(TINY_PAIRS, tmp / "pkg")
        packages = tmp / "packages"
        subprocess.run(
            [sys.executable, "-m", "translate_pipe", "--packages-dir", str(packages), "--db", str(tmp / "x.db"),
             "models", "install", "--from-file", str(package)],
            check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        )
        print(
            f"settings: {'tiny test model' if args.package is None else args.package.name}, --align attention, "
            f"--beam-size {args.beam_size}, --chunk-segments {args.chunk_segments}, --threads 1 (default)"
        )
        print(f"{'input':>9} {'lines':>8} {'MB':>7} {'segments':>9} {'seconds':>8} {'peak RSS MiB':>13}")
        for size in args.sizes.split(","):
            path = tmp / f"in-{size}.ar.txt"
            lines = make_input(path, size)
            db = tmp / f"{size}.db"
            seconds, rss = measure(packages, db, path, args.chunk_segments, args.beam_size)
            import sqlite3

            with sqlite3.connect(db) as conn:
                segments = conn.execute("SELECT count(*) FROM translations").fetchone()[0]
            mb = path.stat().st_size / 1_000_000
            print(f"{size:>9} {lines:>8} {mb:>7.1f} {segments:>9} {seconds:>8.1f} {rss:>13.0f}", flush=True)
            path.unlink()
            db.unlink()


if __name__ == "__main__":
    main()
